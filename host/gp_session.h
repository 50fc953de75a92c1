/*
 * gp_session.h - a GlobalPlatform secure channel over a PC/SC connection:
 * open it with INITIALIZE UPDATE and EXTERNAL AUTHENTICATE, then send plain
 * command APDUs through it and get plain, verified answers back.
 *
 * The protocol is SCP02 (host/scp02.h) or SCP03 (host/scp03_host.h), chosen by
 * the card's answer to INITIALIZE UPDATE, or forced by the caller, in which
 * case a card offering the other one is refused (so an attacker in the
 * middle cannot downgrade SCP03 to SCP02). Master keys can be diversified
 * with the card's key diversification data (host/gp_keys.h).
 *
 * The session lives in a caller-owned struct ec_gp_session. Once a check
 * fails (the card's cryptogram, a response MAC) or the transport fails in
 * the middle of a command, the session closes itself, since the two ends'
 * MAC chains can no longer agree: open a new one to go on.
 */
#ifndef ECARD_GP_SESSION_H
#define ECARD_GP_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gp_keys.h"
#include "pcsc.h"
#include "scp02.h"
#include "scp03.h"

enum ec_gp_scp {
	EC_GP_SCP_ANY = 0,	/* whichever the card answers with */
	EC_GP_SCP02 = 0x02,
	EC_GP_SCP03 = 0x03,
};

/* Security levels (P1 of EXTERNAL AUTHENTICATE); SCP02 takes 00 01 03. */
#define EC_GP_LEVEL_AUTHENTICATED 0x00
#define EC_GP_LEVEL_C_MAC 0x01
#define EC_GP_LEVEL_C_DEC 0x02
#define EC_GP_LEVEL_R_MAC 0x10
#define EC_GP_LEVEL_R_ENC 0x20

struct ec_gp_options {
	enum ec_gp_scp scp;
	uint8_t level;		/* one of 00 01 03 11 13 33 */
	uint8_t scp02_i;	/* the card's SCP02 "i" (not in its answer) */
	enum ec_gp_kdf kdf;	/* the keys given are master keys to diversify */
	uint8_t channel;	/* logical channel 0..19 */
	/* 8 bytes; NULL draws them from the CSPRNG. Only tests fix them. */
	const uint8_t *host_challenge;
};

struct ec_gp_session {
	struct ec_pcsc *pc;
	enum ec_gp_scp scp;	/* the protocol in use once open */
	bool open;
	uint8_t level;
	uint8_t kvn;		/* the key version the card used */
	uint8_t i_param;
	uint8_t kdd[EC_GP_KDD_LEN];
	bool has_seq;		/* SCP03 with a pseudo-random card challenge */
	uint32_t seq;		/* sequence counter (SCP02: 2 bytes, SCP03: 3) */
	struct ec_gp_keys keys;	/* the card's keys (diversified), for DEK use */
	struct scp03_session scp03;
	struct ec_scp02 scp02;
};

/* Defaults: any protocol, C-MAC, SCP02 "i" 55, no diversification,
 * basic channel, random host challenge. */
void ec_gp_options_init(struct ec_gp_options *opt);

/*
 * Open a secure channel with the security domain currently selected on pc
 * (the caller SELECTs it). keys->kvn goes into INITIALIZE UPDATE (0: the
 * card's first key set); opt NULL means the defaults. On failure err says
 * why in one sentence, e.g. that the card's cryptogram does not match
 * (wrong keys) with EC_ERR_CHECK, and the session is closed.
 */
enum ec_status ec_gp_open(struct ec_gp_session *s, struct ec_pcsc *pc,
			  const struct ec_gp_keys *keys, const struct ec_gp_options *opt,
			  struct ec_error *err);

/*
 * Send one plain short command APDU through the channel: secure it for the
 * session's level, send it with ec_transmit, check and strip the answer.
 * resp gets the plain data and the status word (whatever the status word:
 * that is the caller's to judge, as with ec_transmit). It also receives the
 * secured answer first, so give it room for the plain data plus 26 bytes
 * (padding, R-MAC, status word). An answer that fails its R-MAC check
 * gives EC_ERR_CHECK; that, or a failed exchange (the card may or may not
 * have run the command), closes the session. A command that cannot be
 * secured (too long, a CLA with secure messaging already) gives EC_ERR_ARG
 * and leaves the session open.
 */
enum ec_status ec_gp_transmit(struct ec_gp_session *s, const uint8_t *cmd, size_t cmd_len,
			      uint8_t *resp, size_t resp_cap, size_t *resp_len,
			      struct ec_error *err);

/* Wipe the session's keys and state. The card's side ends with the next
 * SELECT or INITIALIZE UPDATE, or a reset. */
void ec_gp_close(struct ec_gp_session *s);

static inline bool ec_gp_is_open(const struct ec_gp_session *s)
{
	return s->open;
}

#endif
