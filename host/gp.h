/*
 * gp.h - a GlobalPlatform card manager client (DESIGN §3, §5): what
 * `ecard gp` does to a card, as plain functions over a secure channel
 * opened with gp_session.h.
 *
 *   selection     SELECT of the issuer security domain (ISD)
 *   information   GET DATA: CPLC 9F7F, card recognition data 66, key
 *                 information E0, sequence counter C1
 *   registry      GET STATUS of the ISD, the applications and the load
 *                 files (with their modules)
 *   content       INSTALL [for load] + LOAD of a CAP file in blocks,
 *                 INSTALL [for install (and make selectable)], DELETE
 *   keys          PUT KEY of a whole key set (ENC, MAC, DEK)
 *   life cycles   SET STATUS of an application (lock, unlock) or the card
 *
 * Resuming an interrupted load (beyond the specification). GlobalPlatform
 * discards a partly loaded file when the load breaks. ecard's card
 * (vcard) keeps it across a dropped link or a tear, and tells where it
 * stands in a proprietary GET DATA, tag DF70 ("load progress"), which it
 * answers inside and outside a secure channel:
 *
 *   DF 70 L  active(1)      01 while a load is in progress, else 00
 *            next_block(1)  the P2 (block number, modulo 256) it expects
 *            received(4)    bytes of the load file data block it holds
 *                           (the C4 tag and length of block 0 not counted)
 *            total(4)       the length that block 0's C4 header announced
 *            aid_len(1)     and the AID of the load file (0 and nothing
 *            aid            when no load is in progress)
 *
 * It then takes the remaining LOAD blocks in a new secure channel, without
 * a new INSTALL [for load]. ec_gp_load_resume() reads DF70 and continues
 * when the card holds a prefix of this load file cut the way this run
 * cuts it; otherwise (no such load, another block size, a card that does
 * not know DF70) it starts the load file over from INSTALL [for load] and
 * block 0, which every GlobalPlatform card accepts.
 *
 * The caller owns everything; nothing is allocated. Functions return an
 * ec_status and fill a struct ec_error with one sentence; a status word
 * other than the expected one is EC_ERR_CARD with err->sw set. A lost
 * exchange closes the secure channel (gp_session.h): open a new one.
 */
#ifndef ECARD_GP_H
#define ECARD_GP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cap.h"
#include "gp_keys.h"
#include "gp_proto.h"
#include "gp_session.h"
#include "pcsc.h"

#define EC_GP_AID_MAX 16

/* The ISD of GlobalPlatform cards: A0 00 00 01 51 00 00 00. */
extern const uint8_t ec_gp_isd_aid[GP_ISD_AID_LEN];

struct ec_gp_aid {
	uint8_t len;		/* 0: none */
	uint8_t bytes[EC_GP_AID_MAX];
};

/* Set an AID from bytes: EC_ERR_ARG when len is not 1 to 16. */
enum ec_status ec_gp_aid_set(struct ec_gp_aid *aid, const uint8_t *bytes, size_t len);

/* ---- selection and secure channel ---- */

/*
 * SELECT the ISD: aid (aid_len bytes) when given, else A000000151000000,
 * and when the card does not know that one (6A82), an empty SELECT, which
 * selects the default application, the ISD on GlobalPlatform cards.
 */
enum ec_status ec_gp_select_isd(struct ec_pcsc *pc, const uint8_t *aid, size_t aid_len,
				struct ec_error *err);

/* ec_gp_select_isd() with the default AID, then ec_gp_open(). */
enum ec_status ec_gp_connect(struct ec_gp_session *s, struct ec_pcsc *pc,
			     const struct ec_gp_keys *keys, const struct ec_gp_options *opt,
			     struct ec_error *err);

/* ---- GET DATA ---- */

/* Card Production Life Cycle data (GP 2.3.1 table H-6): 42 bytes. */
#define EC_GP_CPLC_LEN 42

struct ec_gp_cplc {
	uint8_t raw[EC_GP_CPLC_LEN];
	uint16_t ic_fabricator;
	uint16_t ic_type;
	uint16_t os_id;
	uint16_t os_release_date;	/* YDDD: last digit of the year, day */
	uint16_t os_release_level;
	uint16_t ic_fabrication_date;
	uint32_t ic_serial;
	uint16_t ic_batch;
	uint16_t module_fabricator;
	uint16_t module_packaging_date;
	uint16_t icc_manufacturer;
	uint16_t ic_embedding_date;
	uint16_t prepersonalizer;
	uint16_t prepersonalization_date;
	uint32_t prepersonalization_equipment;
	uint16_t personalizer;
	uint16_t personalization_date;
	uint32_t personalization_equipment;
};

/* Card recognition data (GP 2.3.1 H.2): the version and the protocols. */
#define EC_GP_CARD_DATA_MAX 128
#define EC_GP_SCP_MAX 4

struct ec_gp_card_data {
	uint8_t raw[EC_GP_CARD_DATA_MAX];	/* the value of tag 66 */
	size_t raw_len;
	uint8_t gp_version[4];	/* from OID 1.2.840.114283.2.v.v.v */
	size_t gp_version_len;	/* 0: not given */
	size_t scp_count;
	struct {
		uint8_t scp;	/* 02, 03 */
		uint8_t i;	/* its "i" */
	} scps[EC_GP_SCP_MAX];
};

/* Key information template E0: one entry per key. */
#define EC_GP_KEY_INFO_MAX 32

struct ec_gp_key_entry {
	uint8_t id;		/* 1 ENC, 2 MAC, 3 DEK for a secure channel set */
	uint8_t version;	/* the key set's KVN */
	uint8_t type;		/* 80 triple DES, 88 AES, ... */
	uint8_t length;		/* bytes */
};

struct ec_gp_key_info {
	size_t count;
	struct ec_gp_key_entry keys[EC_GP_KEY_INFO_MAX];
};

/*
 * GET DATA of tag (9F7F, 0066, 00E0, 00C1, DF70...). Through s when it is
 * open, otherwise as a plain command on pc (cards answer these outside a
 * secure channel; pass s NULL). On a status word other than 9000, *sw has
 * it and the function returns EC_ERR_CARD; data is what the card sent,
 * tag and length included.
 */
enum ec_status ec_gp_get_data(struct ec_pcsc *pc, struct ec_gp_session *s, uint16_t tag,
			      uint8_t *data, size_t cap, size_t *len, uint16_t *sw,
			      struct ec_error *err);

/* The same, parsed. EC_ERR_FORMAT when the answer is not well formed. */
enum ec_status ec_gp_get_cplc(struct ec_pcsc *pc, struct ec_gp_session *s,
			      struct ec_gp_cplc *out, struct ec_error *err);
enum ec_status ec_gp_get_card_data(struct ec_pcsc *pc, struct ec_gp_session *s,
				   struct ec_gp_card_data *out, struct ec_error *err);
enum ec_status ec_gp_get_key_info(struct ec_pcsc *pc, struct ec_gp_session *s,
				  struct ec_gp_key_info *out, struct ec_error *err);
enum ec_status ec_gp_get_sequence_counter(struct ec_pcsc *pc, struct ec_gp_session *s,
					  uint32_t *out, struct ec_error *err);

/* The parsers alone, for answers obtained otherwise (and tests). */
enum ec_status ec_gp_parse_cplc(const uint8_t *data, size_t len, struct ec_gp_cplc *out);
enum ec_status ec_gp_parse_card_data(const uint8_t *data, size_t len,
				     struct ec_gp_card_data *out);
enum ec_status ec_gp_parse_key_info(const uint8_t *data, size_t len, struct ec_gp_key_info *out);

/* ---- GET STATUS ---- */

enum ec_gp_status_scope {
	EC_GP_SCOPE_ISD = GP_STATUS_ISD,
	EC_GP_SCOPE_APPS = GP_STATUS_APPS,	/* applications and security domains */
	EC_GP_SCOPE_LOAD_FILES = GP_STATUS_LOAD_FILES,
	EC_GP_SCOPE_LOAD_FILES_MODULES = GP_STATUS_LOAD_FILES_MODULES,	/* with their modules */
};

#define EC_GP_MODULES_MAX 16
#define EC_GP_STATUS_MAX 48

/* One entry of the registry (GP 2.3.1 table 11-36, tag E3). */
struct ec_gp_registry_entry {
	struct ec_gp_aid aid;
	uint8_t life_cycle;
	uint8_t privileges[3];
	uint8_t privileges_len;		/* 0: not given */
	struct ec_gp_aid load_file;	/* C4: an application's load file */
	struct ec_gp_aid domain;	/* CC: its associated security domain */
	bool has_version;
	uint8_t version[2];		/* CE: a load file's version */
	size_t module_count;		/* 84: a load file's modules */
	struct ec_gp_aid modules[EC_GP_MODULES_MAX];
};

/* About 20 KiB: keep it off small stacks. */
struct ec_gp_registry {
	size_t count;
	struct ec_gp_registry_entry entries[EC_GP_STATUS_MAX];
};

/*
 * GET STATUS of one scope, of the AIDs that start with prefix (NULL or
 * prefix_len 0: all), in the TLV format (P2 02), asking for the next part
 * (P2 03) while the card answers 6310. A card that answers 6A88 has none:
 * EC_OK with out->count 0. A card that does not know the TLV format (6A86)
 * is asked again in the old one (P2 00). EC_ERR_BUFFER when the card lists
 * more than EC_GP_STATUS_MAX entries (out has the first ones).
 */
enum ec_status ec_gp_get_status(struct ec_gp_session *s, enum ec_gp_status_scope scope,
				const uint8_t *prefix, size_t prefix_len,
				struct ec_gp_registry *out, struct ec_error *err);

/* Parse one answer of GET STATUS (P2 02: E3 entries; P2 00: the old
 * format) and append its entries to out. */
enum ec_status ec_gp_parse_status(const uint8_t *data, size_t len, bool tlv,
				  enum ec_gp_status_scope scope, struct ec_gp_registry *out);

/* Names of life cycle states: "SECURED", "SELECTABLE", "LOCKED"...; an
 * application specific state is written into buf as "SELECTABLE (xx)". */
const char *ec_gp_card_state_name(uint8_t state);
const char *ec_gp_app_state_name(uint8_t state, char *buf, size_t buflen);

/* ---- loading ---- */

/* The smallest LOAD block ec_gp_load accepts: room for block 0's C4
 * header and some data. */
#define EC_GP_BLOCK_MIN 16

/*
 * The largest LOAD block (plain data of one command) for this session and
 * a reader that takes command APDUs of at most reader_max bytes (0:
 * unknown, a short APDU of 5 + 255). Data plus its 8-byte C-MAC must fit
 * Lc = 255, so 247; with C-DECRYPTION the data padded to the cipher's
 * block (16 for SCP03, 8 for SCP02, at least one byte of padding) plus
 * the C-MAC must fit, so 239. A smaller reader_max shrinks it the same
 * way. 0 when nothing fits.
 */
size_t ec_gp_block_size(const struct ec_gp_session *s, size_t reader_max);

/*
 * The largest command APDU the reader takes, as PC/SC reports it
 * (SCardGetAttrib SCARD_ATTR_MAXINPUT); 0 when the reader does not say,
 * pc is not a PC/SC connection, or the call fails.
 */
size_t ec_gp_reader_max_command(struct ec_pcsc *pc);

/* Called before the first block (blocks_done = the first block to send)
 * and after each block: blocks_done of blocks, bytes_done of bytes of the
 * LOAD data (C4 header included). */
typedef void (*ec_gp_progress_fn)(void *arg, size_t blocks_done, size_t blocks,
				  size_t bytes_done, size_t bytes);

struct ec_gp_load_options {
	size_t block_size;	/* 0: ec_gp_block_size(s, ec_gp_reader_max_command()) */
	bool no_hash;		/* leave the SHA-256 out of INSTALL [for load] */
	const uint8_t *domain;	/* security domain to load to; NULL: the ISD */
	size_t domain_len;
	ec_gp_progress_fn progress;
	void *progress_arg;
};

enum ec_gp_load_start {
	EC_GP_LOAD_FRESH = 0,		/* INSTALL [for load], then block 0 */
	EC_GP_LOAD_RESUMED,		/* on from where the card stood */
	EC_GP_LOAD_RESTARTED,		/* the card held part of this file, cut
					   otherwise: started over */
	EC_GP_LOAD_ALREADY_DONE,	/* the card held the whole file already */
};

struct ec_gp_load_result {
	enum ec_gp_load_start start;
	bool card_resumes;	/* the card answered DF70 */
	size_t block_size;
	size_t blocks;		/* of the whole load */
	size_t first_block;	/* sent first by this run */
	size_t blocks_done;	/* what the card has taken, when it stopped */
};

/* The answer to GET DATA DF70. */
struct ec_gp_load_progress {
	bool supported;		/* false: the card does not know DF70 */
	bool active;
	uint8_t next_block;
	uint32_t received;
	uint32_t total;
	struct ec_gp_aid aid;
};

/*
 * Ask the card where its load stands (GET DATA DF70 through s). A card
 * that answers anything but 9000 and a well-formed DF70 (6A88, 6D00,
 * 6A86...) does not know the tag: EC_OK with supported false, so the
 * loader starts over as GlobalPlatform does. Only a broken link or a
 * failed R-MAC is an error.
 */
enum ec_status ec_gp_get_load_progress(struct ec_gp_session *s, struct ec_gp_load_progress *out,
				       struct ec_error *err);
enum ec_status ec_gp_parse_load_progress(const uint8_t *data, size_t len,
					 struct ec_gp_load_progress *out);

/*
 * Load the CAP file's load file: INSTALL [for load] with the SHA-256 of
 * the load file data block, then LOAD blocks 0 to n-1 (P2 the block
 * number modulo 256). res (may be NULL) says what was done. When the link
 * drops, the error is the transport's (EC_ERR_PCSC...) and says to run
 * again with --resume; res->blocks_done tells how far it got.
 */
enum ec_status ec_gp_load(struct ec_gp_session *s, const struct ec_cap *cap,
			  const struct ec_gp_load_options *opt, struct ec_gp_load_result *res,
			  struct ec_error *err);

/*
 * Go on with a load a broken link or a tear interrupted, in a new secure
 * channel: see the top of this file. When no load is in progress and the
 * card already lists this load file (the previous run's last block got
 * through, only its answer was lost), res->start is EC_GP_LOAD_ALREADY_DONE
 * and nothing is sent, unless the card's version of it differs (then
 * EC_ERR_CARD). Works against any card; without DF70 it is ec_gp_load().
 */
enum ec_status ec_gp_load_resume(struct ec_gp_session *s, const struct ec_cap *cap,
				 const struct ec_gp_load_options *opt,
				 struct ec_gp_load_result *res, struct ec_error *err);

/* ---- INSTALL, DELETE ---- */

/* One-byte BER length inside C9. */
#define EC_GP_PARAMS_MAX 127

struct ec_gp_install {
	struct ec_gp_aid package;	/* the load file */
	struct ec_gp_aid module;	/* the applet class in it */
	struct ec_gp_aid aid;		/* the new instance; len 0: the module's */
	uint8_t privileges[3];
	uint8_t privileges_len;		/* 1 or 3; 0: one byte 00 */
	const uint8_t *params;		/* the application's own, sent in C9 */
	size_t params_len;		/* up to EC_GP_PARAMS_MAX */
	bool selectable;		/* INSTALL [for install and make selectable] */
};

enum ec_status ec_gp_install(struct ec_gp_session *s, const struct ec_gp_install *in,
			     struct ec_error *err);

/*
 * INSTALL [for personalization] of the application aid: the STORE DATA
 * that follow in this secure channel go to it (GP 2.3.1 §11.5.2.3). what
 * names the command in messages ("INSTALL [for personalization] of the
 * wallet").
 */
enum ec_status ec_gp_install_for_personalization(struct ec_gp_session *s, const uint8_t *aid,
						 size_t aid_len, const char *what,
						 struct ec_error *err);

/*
 * The most a STORE DATA carries in the secure channel: 239 bytes, what is
 * left once command encryption has padded it, whatever the level. A block
 * encrypted with the DEK is a multiple of 16 within that, so its plain
 * data is at most 223 bytes before padding.
 */
#define EC_GP_STORE_DATA_MAX 239u
#define EC_GP_STORE_DATA_DEK_MAX (EC_GP_STORE_DATA_MAX / 16u * 16u - 1u)

/*
 * STORE DATA block number block with data (GP 2.3.1 §11.11); p1 carries
 * GP_P1_LAST_BLOCK for the last one. With encrypt the data is padded
 * 80 00.. and encrypted with the static DEK in AES-CBC (SCP03 only), and
 * P1 says so for the security domain to decrypt. The answer's data goes
 * to answer (cap bytes); with answer NULL none is expected, and an answer
 * with data is EC_ERR_FORMAT. Every buffer that held data is wiped.
 */
enum ec_status ec_gp_store_data(struct ec_gp_session *s, uint8_t p1, uint8_t block, bool encrypt,
				const uint8_t *data, size_t len, uint8_t *answer, size_t cap,
				size_t *answer_len, const char *what, struct ec_error *err);

/* DELETE an application or a load file; related: with the load file's
 * applications (P2 80). */
enum ec_status ec_gp_delete(struct ec_gp_session *s, const uint8_t *aid, size_t aid_len,
			    bool related, struct ec_error *err);

/* ---- PUT KEY ---- */

/*
 * Add a key set (replace_kvn 0) or replace the set replace_kvn, with
 * keys->enc/mac/dek at version keys->kvn (01..7F). In SCP03 the keys are
 * AES (16, 24 or 32 bytes, type 88), encrypted with the static DEK in
 * AES-CBC with a zero ICV (a 24-byte key padded with zeros to 32); in
 * SCP02 they are 16-byte triple DES keys (type 80) encrypted with the
 * session DEK in ECB. Each goes with its key check value; the card's
 * answer (KVN and the KCVs) is checked against them: EC_ERR_CHECK when it
 * differs. kcv_out (may be NULL) gets the three KCVs.
 */
enum ec_status ec_gp_put_key(struct ec_gp_session *s, const struct ec_gp_keys *keys,
			     uint8_t replace_kvn, uint8_t kcv_out[3][EC_GP_KCV_LEN],
			     struct ec_error *err);

/* ---- SET STATUS ---- */

/* The card life cycle states to give are gp_proto.h's GP_CARD_*. */

/* Lock (P2 80) or unlock (P2 00) an application: SET STATUS P1 40. */
enum ec_status ec_gp_set_app_lock(struct ec_gp_session *s, const uint8_t *aid, size_t aid_len,
				  bool lock, struct ec_error *err);

/* Move the card's life cycle to state: SET STATUS P1 80. */
enum ec_status ec_gp_set_card_state(struct ec_gp_session *s, uint8_t state,
				    struct ec_error *err);

#endif
