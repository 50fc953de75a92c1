/*
 * scp03_card.h - the card (security domain) side of GlobalPlatform SCP03:
 * what the issuer security domain (isd.c) runs to answer a host's
 * INITIALIZE UPDATE and EXTERNAL AUTHENTICATE and to check and secure the
 * commands and answers of the channel.
 *
 * The host's side is host/scp03_host.h; what both share (the session,
 * keys, KDF, MACs, the rules on levels and failures) is common/scp03.h.
 *
 * Card:  scp03_card_initialize_update -> scp03_card_external_authenticate
 *        then per command scp03_card_unwrap_command / scp03_card_wrap_response.
 */
#ifndef ECARD_SCP03_CARD_H
#define ECARD_SCP03_CARD_H

#include <stddef.h>
#include <stdint.h>

#include "scp03.h"

/* What the card's security domain puts into its INITIALIZE UPDATE answer. */
struct scp03_card_params {
	const uint8_t *kdd;	/* SCP03_KDD_LEN bytes of key diversification data */
	uint8_t i_param;	/* e.g. 0x70 or 0x10: pseudo-random challenge */
	/*
	 * With a pseudo-random challenge: the key set's sequence counter
	 * after the increment this INITIALIZE UPDATE triggers. The caller
	 * increments and stores it first, and refuses the command itself
	 * once the counter has reached SCP03_SEQ_MAX.
	 */
	uint32_t seq;
	const uint8_t *aid;	/* the invoking application (its security domain) */
	size_t aid_len;		/* SCP03_AID_MIN..SCP03_AID_MAX */
};

/*
 * Answer INITIALIZE UPDATE: check the command (P1 must be 0 or keys->kvn,
 * else SCP03_ERR_NO_KEY), make the card challenge (pseudo-random from
 * params->seq and params->aid when params->i_param says so, else from the
 * CSPRNG), derive the session keys and write the answer's data (29 bytes,
 * or 32 with the sequence counter) to out. Any previous session ends.
 */
enum scp03_status scp03_card_initialize_update(struct scp03_session *s,
					       const struct scp03_keys *keys,
					       const struct scp03_card_params *params,
					       const uint8_t *cmd, size_t cmd_len,
					       uint8_t *out, size_t cap, size_t *out_len);

/*
 * Check EXTERNAL AUTHENTICATE: its C-MAC (chaining value zero), the host
 * cryptogram and the security level. On success the session is open at
 * that level and the command's C-MAC is the MAC chaining value; its answer
 * (9000) is not secured. On failure the session is aborted.
 */
enum scp03_status scp03_card_external_authenticate(struct scp03_session *s,
						   const uint8_t *cmd, size_t cmd_len);

/*
 * Check and strip a secured command for the current level: verify the
 * C-MAC (with the MAC chaining value), decrypt the data (C-DECRYPTION),
 * and write the plain command (CLA without the secure messaging bits, the
 * plain Lc and data, Le as received) to out; cap must be at least
 * cmd_len - 8. The check applies whatever CLA says (section 5.6): a
 * command without a valid C-MAC aborts the session.
 */
enum scp03_status scp03_card_unwrap_command(struct scp03_session *s,
					    const uint8_t *cmd, size_t cmd_len,
					    uint8_t *out, size_t cap, size_t *out_len);

/*
 * Secure the answer to the last unwrapped command: data (may be empty)
 * and the status word go to out as data' || R-MAC || SW, data' being
 * encrypted with R-ENCRYPTION. With an error status word (not 9000, 62xx
 * or 63xx) only the status word is sent, as section 6.2.5 requires.
 */
enum scp03_status scp03_card_wrap_response(struct scp03_session *s,
					   const uint8_t *data, size_t data_len,
					   uint16_t sw, uint8_t *out, size_t cap,
					   size_t *out_len);

#endif
