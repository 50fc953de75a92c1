/*
 * card.h - the virtual card: power, APDU dispatch, logical channels, the
 * applet registry and the card-wide PIN, on top of persistent memory.
 *
 * A front-end (vpcd, the CCID simulator, or a test) owns a struct vc_card,
 * powers it up, feeds it command APDUs and gets response APDUs back. When
 * a tear cuts the power in the middle of a command, vc_card_process()
 * returns VC_ERR_POWER_LOST and sends nothing: the front-end must make the
 * card disappear and power it up again, which runs recovery.
 */
#ifndef VCARD_CARD_H
#define VCARD_CARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "applet.h"
#include "gp_proto.h"
#include "log.h"
#include "nvm.h"
#include "pin.h"

#define VC_CHANNELS 4		/* basic channel + 3 supplementary */
#define VC_MAX_INSTANCES 16
#define VC_MAX_APPLET_TYPES 16
#define VC_RSP_MAX (VC_APDU_MAX_NE + 2)
#define VC_ATR_MAX 33

struct vc_card_options {
	uint8_t serial[8];
	bool serial_set;	/* otherwise a random serial */
	const char *pin;	/* digits; NULL = transport PIN 1234 */
	const char *puk;	/* 8 digits; NULL = 12345678 */
	uint32_t journal_size;	/* 0 = default */
	uint8_t scp03_i;	/* the card manager's SCP03 "i": 0 or 0x70, or 0x10 */
};

/* An instance's state and privileges are GlobalPlatform's (GP_APP_*,
 * GP_PRIV_* in gp_proto.h). */
struct vc_instance {
	bool used;
	uint8_t aid[VC_AID_MAX];
	uint8_t aid_len;
	uint32_t owner;
	const struct vc_applet *type;	/* native implementation (NULL: inert) */
	uint8_t *transient;
	uint8_t state;			/* VC_APP_* */
	uint8_t privileges[3];
	uint8_t module_aid[VC_AID_MAX];	/* the module it is an instance of */
	uint8_t module_aid_len;
	uint8_t elf_aid[VC_AID_MAX];	/* its load file; empty for built-ins */
	uint8_t elf_aid_len;
};

/* What vc_card_install_instance() records beside the applet itself. */
struct vc_install_info {
	uint8_t state;			/* 0 = GP_APP_SELECTABLE */
	uint8_t privileges[3];
	const uint8_t *elf_aid;
	size_t elf_aid_len;
};

struct vc_channel {
	bool open;
	int selected;		/* instance index, -1 = none */
	/* Response bytes left for GET RESPONSE after a 61xx. */
	uint8_t *pending;
	size_t pending_len;
	size_t pending_off;
};

struct vc_card {
	struct vc_storage *st;	/* not owned */
	struct vc_nvm nvm;
	const struct logger *log;
	bool powered;

	const struct vc_applet *types[VC_MAX_APPLET_TYPES];
	size_t n_types;

	/* Session state: lost at every power-up and reset. */
	struct vc_instance inst[VC_MAX_INSTANCES];
	struct vc_channel chan[VC_CHANNELS];
	struct vc_pin_session pin_session;

	/* Persistent platform objects (offsets into the image). */
	struct vc_nvm_object card_obj;
	struct vc_nvm_object pin_obj;
	struct vc_nvm_object registry_obj;

	/* Response data a front-end can carry in one frame; 0 = VC_APDU_MAX_NE.
	 * Anything beyond waits for GET RESPONSE behind 61xx. */
	size_t max_rsp_data;

	/* The card life cycle, as the card manager keeps it (0 before it was
	 * selected the first time: nothing is restricted). */
	uint8_t life_cycle;

	uint8_t rsp_buf[VC_RSP_MAX];
	unsigned long apdus;	/* commands processed since power-up */
	unsigned long writes_before;	/* physical writes of the earlier power-ups */
};

/*
 * Factory: format empty storage as a new card: platform objects, PIN and
 * PUK, and one instance of each applet type given.
 */
enum vc_status vc_card_create(struct vc_storage *st, const struct vc_card_options *opt,
			      const struct vc_applet *const *applets, size_t n_applets,
			      const struct logger *log);

/* Set the card up on its storage; applet types must be registered before
 * the first power-up so that instances find their implementation. */
void vc_card_init(struct vc_card *card, struct vc_storage *st, const struct logger *log);
enum vc_status vc_card_register(struct vc_card *card, const struct vc_applet *type);
void vc_card_free(struct vc_card *card);

/* Power-up: recovery, then a clean session. */
enum vc_status vc_card_power_up(struct vc_card *card);
void vc_card_power_down(struct vc_card *card);
/* Warm reset: a new session, no recovery needed. */
void vc_card_reset(struct vc_card *card);

/* The answer to reset (historical bytes announce extended length and
 * logical channels). */
size_t vc_card_atr(uint8_t atr[VC_ATR_MAX]);
/* The ATR for a reader at TPDU level that runs T=0 only (QEMU's): T=0,
 * and no extended Lc/Le in the card capabilities. */
size_t vc_card_atr_t0(uint8_t atr[VC_ATR_MAX]);

/*
 * Process one command APDU. rsp receives data || SW1 SW2 (at most
 * VC_RSP_MAX bytes). Returns VC_OK, or VC_ERR_POWER_LOST when the card lost
 * power during the command (rsp is then meaningless and must not be sent).
 */
enum vc_status vc_card_process(struct vc_card *card, const uint8_t *cmd, size_t cmd_len,
			       uint8_t *rsp, size_t *rsp_len);

/* Install an instance of a registered applet type (platform transaction). */
enum vc_status vc_card_install(struct vc_card *card, const uint8_t *type_aid, size_t type_len,
			       const uint8_t *aid, size_t aid_len,
			       const uint8_t *params, size_t params_len);
/*
 * The same with GlobalPlatform's details, for the card manager: the module
 * need not have a native implementation (the instance is then inert), and
 * the caller may already hold the transaction (in_tx: nothing committed
 * here).
 */
enum vc_status vc_card_install_instance(struct vc_card *card, const uint8_t *module_aid,
					size_t module_len, const uint8_t *aid, size_t aid_len,
					const uint8_t *params, size_t params_len,
					const struct vc_install_info *info, bool in_tx);
/* Registry slot of an instance by exact AID, or -1. */
int vc_card_find_instance(const struct vc_card *card, const uint8_t *aid, size_t aid_len);
/* Change an instance's life cycle state (inside the caller's transaction). */
enum vc_status vc_card_set_state(struct vc_card *card, int slot, uint8_t state);
/* Remove an instance and free its persistent objects (caller's transaction). */
enum vc_status vc_card_remove_instance(struct vc_card *card, int slot);
/* Reload the registry into RAM after a committed change. */
enum vc_status vc_card_reload(struct vc_card *card);
/* After a life cycle change: every channel deselects the application it
 * may no longer select, so a session opened before the change ends too. */
void vc_card_drop_unselectable(struct vc_card *card);

void vc_card_serial(const struct vc_card *card, uint8_t serial[8]);
/* Physical writes to the image since power-up. */
unsigned long vc_card_writes(const struct vc_card *card);
/* Physical writes since vc_card_init(), over every power-up: what an
 * operation writes is the difference, whatever powered the card down and
 * up in between (pcscd powers an idle card off). */
unsigned long vc_card_writes_total(const struct vc_card *card);

#endif
