/*
 * scp02.h - the host side of GlobalPlatform Secure Channel Protocol '02'
 * (Card Specification 2.3.1 Appendix E), for the cards in the field that
 * still speak it. ecard's own card speaks SCP03 only (vcard/scp03_card.h).
 *
 * Supported: explicit initiation (INITIALIZE UPDATE + EXTERNAL
 * AUTHENTICATE) with the C-MAC on the modified APDU and an ICV of zero for
 * EXTERNAL AUTHENTICATE, with or without ICV encryption: "i" = 15 and 55
 * (and 05, 45, 14, 54 by the same rules). Security levels 00, 01 (C-MAC)
 * and 03 (C-MAC + C-DECRYPTION). Implicit initiation, the C-MAC on the
 * unmodified APDU and R-MAC are not supported: such an "i" or level is
 * EC_ERR_ARG. With a single base key ("i" b1 = 0) the caller passes the
 * base key as all three keys.
 *
 * Like scp03.h, a failed check aborts: the session keys are wiped, and the
 * caller closes the channel and opens a new one. Buffers are caller-owned.
 */
#ifndef ECARD_SCP02_H
#define ECARD_SCP02_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define EC_SCP02_KEY_LEN 16		/* two-key triple DES */
#define EC_SCP02_HOST_CHALLENGE_LEN 8
#define EC_SCP02_CARD_CHALLENGE_LEN 6
#define EC_SCP02_CRYPTOGRAM_LEN 8
#define EC_SCP02_MAC_LEN 8
#define EC_SCP02_KDD_LEN 10
#define EC_SCP02_INIT_UPDATE_CMD_LEN 14
#define EC_SCP02_INIT_UPDATE_RESP_LEN 28
#define EC_SCP02_EXT_AUTH_CMD_LEN 21

/* Bits of the SCP02 "i" parameter (Table E-1). */
#define EC_SCP02_I_THREE_KEYS 0x01
#define EC_SCP02_I_CMAC_UNMODIFIED 0x02
#define EC_SCP02_I_EXPLICIT 0x04
#define EC_SCP02_I_ICV_MAC_OVER_AID 0x08
#define EC_SCP02_I_ICV_ENCRYPTION 0x10
#define EC_SCP02_I_R_MAC 0x20
#define EC_SCP02_I_PSEUDO_RANDOM 0x40

/* Security levels, P1 of EXTERNAL AUTHENTICATE (Table D-8/E-12). */
#define EC_SCP02_LEVEL_C_MAC 0x01
#define EC_SCP02_LEVEL_C_DEC 0x02

/* The card's static keys. */
struct ec_scp02_keys {
	uint8_t enc[EC_SCP02_KEY_LEN];
	uint8_t mac[EC_SCP02_KEY_LEN];
	uint8_t dek[EC_SCP02_KEY_LEN];
	uint8_t kvn;
};

/* The answer to INITIALIZE UPDATE (Table E-8). */
struct ec_scp02_init_response {
	uint8_t kdd[EC_SCP02_KDD_LEN];
	uint8_t kvn;
	uint8_t scp_id;			/* 02 */
	uint16_t seq;			/* sequence counter */
	uint8_t card_challenge[EC_SCP02_CARD_CHALLENGE_LEN];
	uint8_t card_cryptogram[EC_SCP02_CRYPTOGRAM_LEN];
};

enum ec_scp02_state {
	EC_SCP02_CLOSED = 0,
	EC_SCP02_CHALLENGED,	/* INITIALIZE UPDATE built, answer awaited */
	EC_SCP02_INITIALIZED,	/* card cryptogram checked */
	EC_SCP02_OPEN,		/* EXTERNAL AUTHENTICATE built */
	EC_SCP02_ABORTED,	/* a check failed: keys wiped */
};

struct ec_scp02 {
	enum ec_scp02_state state;
	uint8_t i_param;
	uint8_t level;
	uint8_t kvn;
	uint8_t cla;		/* CLA of INITIALIZE UPDATE: its logical channel */
	uint16_t seq;
	uint8_t s_enc[EC_SCP02_KEY_LEN];
	uint8_t s_mac[EC_SCP02_KEY_LEN];
	uint8_t s_dek[EC_SCP02_KEY_LEN];
	uint8_t host_challenge[EC_SCP02_HOST_CHALLENGE_LEN];
	uint8_t card_challenge[EC_SCP02_CARD_CHALLENGE_LEN];
	uint8_t icv[EC_SCP02_MAC_LEN];	/* the last C-MAC */
};

/*
 * Start a session with a card whose "i" is i_param (SCP02 does not say it in
 * its answer; 0x15 and 0x55 are the common ones): check i_param, build
 * INITIALIZE UPDATE (cla 80..83 or C0..CF, P1 = kvn) into out.
 */
enum ec_status ec_scp02_initialize_update(struct ec_scp02 *s, uint8_t i_param,
					  uint8_t cla, uint8_t kvn,
					  const uint8_t host_challenge[EC_SCP02_HOST_CHALLENGE_LEN],
					  uint8_t *out, size_t cap, size_t *out_len);

/* Parse the data of the answer (status word removed): EC_ERR_FORMAT when
 * it is not 28 bytes or not SCP02. */
enum ec_status ec_scp02_parse_initialize_update_response(const uint8_t *data, size_t len,
							 struct ec_scp02_init_response *out);

/*
 * Derive the session keys from the sequence counter (E.4.1) and check the
 * card cryptogram (E.4.2.1). A mismatch is EC_ERR_CHECK and aborts.
 */
enum ec_status ec_scp02_check_card(struct ec_scp02 *s, const struct ec_scp02_keys *keys,
				   const struct ec_scp02_init_response *rsp);

/* Build EXTERNAL AUTHENTICATE for level 00, 01 or 03; the session is open
 * from here on (a card that refuses it has aborted its side). */
enum ec_status ec_scp02_external_authenticate(struct ec_scp02 *s, uint8_t level,
					      uint8_t *out, size_t cap, size_t *out_len);

/*
 * Secure a plain short command APDU: C-MAC over the modified command and
 * the plain data, chained from the previous C-MAC (encrypted with the first
 * half of S-MAC when "i" asks for it), then the data encrypted for level 03.
 * A command with Le gets Le = 00. Level 00 sends commands as they are.
 */
enum ec_status ec_scp02_wrap(struct ec_scp02 *s, const uint8_t *cmd, size_t cmd_len,
			     uint8_t *out, size_t cap, size_t *out_len);

/*
 * Sensitive data for PUT KEY: triple DES ECB under the session DEK
 * (E.4.7); len a multiple of 8, in and out may be the same buffer.
 */
enum ec_status ec_scp02_encrypt_sensitive(const struct ec_scp02 *s, const uint8_t *in,
					  size_t len, uint8_t *out);

/* Wipe every secret and return to EC_SCP02_CLOSED. */
void ec_scp02_close(struct ec_scp02 *s);

#endif
