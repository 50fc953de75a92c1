/*
 * scp03_host.h - the host (off-card entity) side of GlobalPlatform SCP03:
 * what libecard's GP client (gp_session.c) runs to open a secure channel
 * to a card and to send commands through it.
 *
 * The card's side is vcard/scp03_card.h; what both share (the session,
 * keys, KDF, MACs, the rules on levels and failures) is common/scp03.h.
 *
 * Host:  scp03_host_initialize_update -> (card answers)
 *        scp03_parse_initialize_update_response -> scp03_host_check_card
 *        -> scp03_host_external_authenticate -> (card answers 9000)
 *        then per command scp03_host_wrap_command / scp03_host_unwrap_response.
 */
#ifndef ECARD_SCP03_HOST_H
#define ECARD_SCP03_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scp03.h"

/* The answer to INITIALIZE UPDATE (Table 7-2). */
struct scp03_init_response {
	uint8_t kdd[SCP03_KDD_LEN];	/* key diversification data */
	uint8_t kvn;
	uint8_t scp_id;			/* 03 */
	uint8_t i_param;
	uint8_t card_challenge[SCP03_CHALLENGE_LEN];
	uint8_t card_cryptogram[SCP03_CRYPTOGRAM_LEN];
	bool has_seq;			/* present with a pseudo-random challenge */
	uint32_t seq;			/* sequence counter, 3 bytes */
};

/*
 * Start a session: build INITIALIZE UPDATE (cla 80..83 or C0..CF, P1 = kvn,
 * 0 for the card's choice, data = the 8-byte host challenge, Le 00) into
 * out (SCP03_INIT_UPDATE_CMD_LEN bytes). Any previous session in s ends.
 */
enum scp03_status scp03_host_initialize_update(struct scp03_session *s, uint8_t cla,
					       uint8_t kvn,
					       const uint8_t host_challenge[SCP03_CHALLENGE_LEN],
					       uint8_t *out, size_t cap,
					       size_t *out_len);

/* Parse the data of the card's answer (status word removed). */
enum scp03_status scp03_parse_initialize_update_response(const uint8_t *data, size_t len,
							 struct scp03_init_response *out);

/*
 * Derive the session keys from the card's static keys (already diversified
 * if the card's keys are) and check the card cryptogram. A mismatch gives
 * SCP03_ERR_CRYPTOGRAM and aborts: the keys are wrong, or the answer is
 * not from the card.
 */
enum scp03_status scp03_host_check_card(struct scp03_session *s,
					const struct scp03_keys *keys,
					const struct scp03_init_response *rsp);

/*
 * Build EXTERNAL AUTHENTICATE with the host cryptogram and its C-MAC for
 * the security level (one of 00 01 03 11 13 33; the R- levels only when
 * the card's "i" supports them). The session is open from here on: a card
 * that refuses the command has aborted its side, so the caller closes.
 */
enum scp03_status scp03_host_external_authenticate(struct scp03_session *s, uint8_t level,
						   uint8_t *out, size_t cap, size_t *out_len);

/*
 * Secure a plain short command APDU (case 1 to 4) for the current level:
 * encrypt its data (C-DECRYPTION), set the secure messaging bit in CLA, add
 * 8 to Lc and append the C-MAC; a command with Le gets Le = 00, since the
 * secured answer is longer than the plain one. With level 00 the command
 * goes as it is. A CLA that already shows secure messaging is refused.
 */
enum scp03_status scp03_host_wrap_command(struct scp03_session *s,
					  const uint8_t *cmd, size_t cmd_len,
					  uint8_t *out, size_t cap, size_t *out_len);

/*
 * Check and strip the card's answer to the last wrapped command: resp is the
 * whole R-APDU, status word included; out gets the plain data and the status
 * word. With R-MAC, an answer with an error status word carries no MAC
 * (section 6.2.5): out gets the status word alone.
 */
enum scp03_status scp03_host_unwrap_response(struct scp03_session *s,
					     const uint8_t *resp, size_t resp_len,
					     uint8_t *out, size_t cap, size_t *out_len);

#endif
