/*
 * applet.h - what a card application sees of the platform.
 *
 * Applets are portable C: one file each, a process() that switches on INS,
 * handlers that open with guard clauses returning a status word. They never
 * see the storage medium; they get persistent objects, transactions,
 * transient memory, the CSPRNG (crypto.h) and the card-wide PIN through
 * the functions below, always with the context the platform passes in.
 *
 * Rules the platform enforces:
 *  - vc_obj_write() works only inside a transaction; a transaction still
 *    open when process() returns is aborted.
 *  - install() runs inside the platform's own transaction (the registry
 *    entry and the applet's objects commit together): it must not call
 *    vc_tx_begin().
 *  - a write that fails with VC_ERR_POWER_LOST means the card is dead:
 *    return at once (any status word; nothing more reaches the reader).
 */
#ifndef VCARD_APPLET_H
#define VCARD_APPLET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "apdu.h"
#include "storage.h"

#define VC_AID_MAX 16

struct vc_card;

struct vc_applet_ctx {
	struct vc_card *card;
	uint32_t owner;		/* persistent owner id of this instance */
	uint8_t channel;	/* logical channel of the current command */
	uint8_t *transient;	/* cleared on reset and on deselect */
	size_t transient_size;
	const uint8_t *aid;
	uint8_t aid_len;
	/* Set only by the card manager when it hands the application its
	 * personalization (STORE DATA in the issuer's secure channel), the one
	 * way personalization data may reach an application (DESIGN §3):
	 * applets refuse STORE DATA without it. */
	bool from_security_domain;
};

/* The response an applet builds: data only; the status word is returned. */
struct vc_response {
	uint8_t *data;
	size_t cap;
	size_t len;
};

struct vc_applet {
	const char *name;
	uint8_t aid[VC_AID_MAX];	/* default instance AID */
	uint8_t aid_len;
	size_t transient_size;
	uint16_t (*install)(struct vc_applet_ctx *ctx, const uint8_t *params, size_t len);
	/* May add data (FCI) to rsp; anything but 9000 refuses the selection. */
	uint16_t (*select)(struct vc_applet_ctx *ctx, struct vc_response *rsp);
	void (*deselect)(struct vc_applet_ctx *ctx);
	uint16_t (*process)(struct vc_applet_ctx *ctx, const struct vc_apdu *cmd,
			    struct vc_response *rsp);
};

/* Transactions. */
enum vc_status vc_tx_begin(struct vc_applet_ctx *ctx);
enum vc_status vc_tx_commit(struct vc_applet_ctx *ctx);
enum vc_status vc_tx_abort(struct vc_applet_ctx *ctx);

/* Persistent objects of this instance, zero-filled at allocation. */
struct vc_obj {
	uint32_t off;
	uint32_t size;
};

enum vc_status vc_obj_alloc(struct vc_applet_ctx *ctx, uint16_t tag, uint32_t size,
			    struct vc_obj *obj);
enum vc_status vc_obj_find(struct vc_applet_ctx *ctx, uint16_t tag, struct vc_obj *obj);
enum vc_status vc_obj_read(struct vc_applet_ctx *ctx, const struct vc_obj *obj,
			   uint32_t off, void *buf, size_t len);
enum vc_status vc_obj_write(struct vc_applet_ctx *ctx, const struct vc_obj *obj,
			    uint32_t off, const void *buf, size_t len);

/* The card-wide PIN. */
bool vc_pin_verified(struct vc_applet_ctx *ctx);
/* True once per successful VERIFY, for the instance that was selected on
 * the channel VERIFY came on, on that channel, until a selection change
 * there. Consumes it whoever asks, so each critical operation needs a
 * VERIFY of its own, entered for it. */
bool vc_pin_take_fresh(struct vc_applet_ctx *ctx);

/* The card serial number (8 bytes). */
void vc_card_serial_of(struct vc_applet_ctx *ctx, uint8_t serial[8]);

/* Append to a response; false (and nothing appended) when it does not fit. */
bool vc_rsp_append(struct vc_response *rsp, const void *data, size_t len);

#endif
