/*
 * scp03.h - GlobalPlatform Secure Channel Protocol '03' (Card Specification
 * 2.3.1 Amendment D v1.1.1), both ends of the channel.
 *
 * The host (off-card entity, libecard's GP client) and the card (the issuer
 * security domain in vcard) run this one implementation, so the two sides
 * cannot disagree on a byte. A struct scp03_session owned by the caller holds
 * everything a session needs: the session keys S-ENC, S-MAC and S-RMAC, the
 * challenges, the MAC chaining value and the encryption counter. The module
 * keeps no state of its own and allocates nothing.
 *
 * Host:  scp03_host_initialize_update -> (card answers)
 *        scp03_parse_initialize_update_response -> scp03_host_check_card
 *        -> scp03_host_external_authenticate -> (card answers 9000)
 *        then per command scp03_host_wrap_command / scp03_host_unwrap_response.
 * Card:  scp03_card_initialize_update -> scp03_card_external_authenticate
 *        then per command scp03_card_unwrap_command / scp03_card_wrap_response.
 *
 * Security levels are those of Table 7-3: 00 (authenticated only), 01 (C-MAC),
 * 03 (C-MAC + C-DECRYPTION), 11 (C-MAC + R-MAC), 13 (C-MAC, C-DECRYPTION,
 * R-MAC) and 33 (all four). MACs and challenges are 8 bytes ("S8" mode);
 * commands are short APDUs (Lc and Le on one byte).
 *
 * Any failed check (cryptogram, C-MAC, R-MAC, padding, a malformed secured
 * message) aborts the session: the session keys are wiped, the state becomes
 * SCP03_ABORTED and every later call but scp03_close() fails with
 * SCP03_ERR_STATE. The card then answers its security error until a new
 * INITIALIZE UPDATE; the host closes the channel and may open a new one.
 * Errors that are the caller's (a buffer too small, an APDU that cannot be
 * wrapped) are reported before anything changes, so the session goes on.
 */
#ifndef ECARD_SCP03_H
#define ECARD_SCP03_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SCP03_KEY_MAX 32
#define SCP03_CHALLENGE_LEN 8
#define SCP03_CRYPTOGRAM_LEN 8
#define SCP03_MAC_LEN 8
#define SCP03_KDD_LEN 10
#define SCP03_SEQ_LEN 3
#define SCP03_SEQ_MAX 0xFFFFFFu
#define SCP03_AID_MIN 5
#define SCP03_AID_MAX 16
#define SCP03_KCV_LEN 3

/* INITIALIZE UPDATE: the command, and its answer without / with the
 * sequence counter (the latter with a pseudo-random card challenge). */
#define SCP03_INIT_UPDATE_CMD_LEN 14
#define SCP03_INIT_UPDATE_RESP_LEN 29
#define SCP03_INIT_UPDATE_RESP_SEQ_LEN 32
/* EXTERNAL AUTHENTICATE: header, host cryptogram and C-MAC. */
#define SCP03_EXT_AUTH_CMD_LEN 21

/* The largest short command APDU: header, Lc, 255 data bytes, Le. */
#define SCP03_APDU_MAX 261

/* Security level bits: P1 of EXTERNAL AUTHENTICATE. */
#define SCP03_LEVEL_C_MAC 0x01
#define SCP03_LEVEL_C_DEC 0x02
#define SCP03_LEVEL_R_MAC 0x10
#define SCP03_LEVEL_R_ENC 0x20

/* Bits of the "i" parameter (Table 5-1). */
#define SCP03_I_PSEUDO_RANDOM 0x10	/* card challenge from the sequence counter */
#define SCP03_I_R_MAC 0x20		/* R-MAC supported */
#define SCP03_I_R_ENC 0x40		/* R-ENCRYPTION supported (with R-MAC) */

/* Derivation constants of the data derivation scheme (Table 4-1). */
#define SCP03_DC_CARD_CRYPTOGRAM 0x00
#define SCP03_DC_HOST_CRYPTOGRAM 0x01
#define SCP03_DC_CARD_CHALLENGE 0x02
#define SCP03_DC_S_ENC 0x04
#define SCP03_DC_S_MAC 0x06
#define SCP03_DC_S_RMAC 0x07

enum scp03_status {
	SCP03_OK = 0,
	SCP03_ERR_ARG,		/* a parameter the function cannot use */
	SCP03_ERR_STATE,	/* not possible in the session's state (or aborted) */
	SCP03_ERR_FORMAT,	/* a malformed command or answer */
	SCP03_ERR_LENGTH,	/* the result does not fit a short APDU or the buffer */
	SCP03_ERR_NO_KEY,	/* INITIALIZE UPDATE names another key version */
	SCP03_ERR_LEVEL,	/* a security level SCP03 or this "i" does not allow */
	SCP03_ERR_CRYPTOGRAM,	/* the card or host cryptogram does not match */
	SCP03_ERR_MAC,		/* a C-MAC or R-MAC does not match */
	SCP03_ERR_PADDING,	/* decrypted data without its 80 00.. padding */
	SCP03_ERR_COUNTER,	/* sequence or encryption counter exhausted */
	SCP03_ERR_CRYPTO,	/* the crypto module failed */
};

/* One static key set of a security domain: Key-ENC, Key-MAC, Key-DEK. */
struct scp03_keys {
	uint8_t enc[SCP03_KEY_MAX];
	uint8_t mac[SCP03_KEY_MAX];
	uint8_t dek[SCP03_KEY_MAX];
	size_t len;		/* 16, 24 or 32: all three have the same length */
	uint8_t kvn;		/* key version number */
};

enum scp03_role {
	SCP03_HOST = 1,
	SCP03_CARD = 2,
};

enum scp03_state {
	SCP03_CLOSED = 0,	/* no session; a zeroed struct is in this state */
	SCP03_CHALLENGED,	/* host: INITIALIZE UPDATE sent, answer awaited */
	SCP03_INITIALIZED,	/* cryptogram done, EXTERNAL AUTHENTICATE next */
	SCP03_OPEN,		/* authenticated: messages are secured per level */
	SCP03_ABORTED,		/* a check failed: keys wiped, only close works */
};

struct scp03_session {
	enum scp03_role role;
	enum scp03_state state;
	uint8_t level;		/* current security level (SCP03_LEVEL_*) */
	uint8_t kvn;		/* key version of the session */
	uint8_t i_param;	/* the card's "i" */
	uint8_t cla;		/* CLA of INITIALIZE UPDATE: its logical channel */
	size_t key_len;
	uint8_t s_enc[SCP03_KEY_MAX];
	uint8_t s_mac[SCP03_KEY_MAX];
	uint8_t s_rmac[SCP03_KEY_MAX];
	uint8_t host_challenge[SCP03_CHALLENGE_LEN];
	uint8_t card_challenge[SCP03_CHALLENGE_LEN];
	uint8_t mac_chain[16];	/* the full C-MAC of the last command */
	uint32_t enc_counter;	/* counter of the last command, 0 before the first */
	bool response_due;	/* a command was secured; its response is next */
};

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

/* ---- building blocks ---- */

/*
 * The data derivation scheme of section 4.1.5: SP 800-108 KDF in counter
 * mode with AES-CMAC, each PRF input being 11 bytes 00 || constant || 00 ||
 * L (2 bytes, bits) || i (1 byte) || context. outlen is 1..32 bytes (L is
 * outlen * 8). key is 16, 24 or 32 bytes.
 */
enum scp03_status scp03_kdf(const uint8_t *key, size_t keylen, uint8_t constant,
			    const uint8_t *context, size_t context_len,
			    uint8_t *out, size_t outlen);

/*
 * The pseudo-random card challenge of section 6.2.2.1: the KDF with Key-ENC,
 * constant 02, L = 64 and context seq (3 bytes) || aid.
 */
enum scp03_status scp03_pseudo_random_challenge(const struct scp03_keys *keys,
						uint32_t seq, const uint8_t *aid,
						size_t aid_len,
						uint8_t out[SCP03_CHALLENGE_LEN]);

/* Key check value of an AES key: the first 3 bytes of E(key, 16 x 01). */
enum scp03_status scp03_kcv(const uint8_t *key, size_t keylen,
			    uint8_t out[SCP03_KCV_LEN]);

/*
 * Sensitive data (keys in PUT KEY and STORE DATA) under the static Key-DEK:
 * AES-CBC with a zero ICV, len a multiple of 16 (section 6.2.8). in and out
 * may be the same buffer.
 */
enum scp03_status scp03_dek_encrypt(const struct scp03_keys *keys,
				    const uint8_t *in, size_t len, uint8_t *out);
enum scp03_status scp03_dek_decrypt(const struct scp03_keys *keys,
				    const uint8_t *in, size_t len, uint8_t *out);

/*
 * A short command APDU split into its fields; data points into the parsed
 * buffer. Cases 1 to 4 with Lc and Le on one byte (Lc 1..255); an extended
 * length APDU is SCP03_ERR_FORMAT. SCP02 shares these rules.
 */
struct scp03_apdu {
	uint8_t cla, ins, p1, p2;
	const uint8_t *data;
	size_t lc;		/* 0 for cases 1 and 2 */
	bool has_le;		/* cases 2 and 4 */
	uint8_t le;
};

enum scp03_status scp03_parse_apdu(const uint8_t *cmd, size_t len,
				   struct scp03_apdu *out);

/*
 * The CLA of a secured command, keeping its logical channel: bit 3 set for
 * channels 0-3 (CLA 0x-/8x), bit 6 for channels 4-19 (CLA 4x/Cx), as GP
 * Tables 11-11 and 11-12 say. SCP03_ERR_FORMAT for a CLA that is not
 * ISO/GP first or further interindustry/proprietary coding, or that already
 * indicates secure messaging.
 */
enum scp03_status scp03_secure_cla(uint8_t cla, uint8_t *out);
/* The CLA of a secured command with the secure messaging bits cleared. */
uint8_t scp03_plain_cla(uint8_t cla);
/* The CLA over which C-MACs are computed: channel 0, bit 3 set. */
static inline uint8_t scp03_mac_cla(uint8_t cla)
{
	return (uint8_t)((cla & 0x80) | 0x04);
}

/*
 * The INITIALIZE UPDATE command, the same for SCP02 and SCP03: cla, INS 50,
 * P1 = kvn, P2 00, the 8-byte host challenge, Le 00. out holds
 * SCP03_INIT_UPDATE_CMD_LEN bytes.
 */
void scp03_initialize_update_command(uint8_t cla, uint8_t kvn,
				     const uint8_t host_challenge[SCP03_CHALLENGE_LEN],
				     uint8_t out[SCP03_INIT_UPDATE_CMD_LEN]);

/*
 * Lay out a secured command (the same for SCP02 and SCP03): wire_cla, the
 * header of a, Lc = body_len + 8, the body, the 8-byte MAC, and Le 00 when
 * a had an Le. out may overlap a's data: only a's header fields are read.
 * Returns the length written (body_len + 13 or + 14).
 */
size_t scp03_secured_command(uint8_t wire_cla, const struct scp03_apdu *a,
			     const uint8_t *body, size_t body_len,
			     const uint8_t mac[SCP03_MAC_LEN], uint8_t *out);

/* One sentence naming a status, for logs and error messages. */
const char *scp03_strerror(enum scp03_status st);

/* Wipe every secret and return to SCP03_CLOSED. Safe on any state. */
void scp03_close(struct scp03_session *s);

static inline bool scp03_is_open(const struct scp03_session *s)
{
	return s->state == SCP03_OPEN;
}

/* ---- host (off-card entity) ---- */

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

/* ---- card (security domain) ---- */

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
