/*
 * scp03.h - GlobalPlatform Secure Channel Protocol '03' (Card Specification
 * 2.3.1 Amendment D v1.1.1): what both ends of the channel share.
 *
 * The host (off-card entity, libecard's GP client: host/scp03_host.h) and
 * the card (the issuer security domain in vcard: vcard/scp03_card.h) build
 * on this one module for every derivation, cryptogram, MAC and cipher step,
 * so the two sides cannot disagree on a byte. A struct scp03_session owned
 * by the caller holds everything a session needs: the session keys S-ENC,
 * S-MAC and S-RMAC, the challenges, the MAC chaining value and the
 * encryption counter. The module keeps no state of its own and allocates
 * nothing. SCP02 (host/scp02.h) shares the APDU rules and command layouts.
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

#include "gp_proto.h"	/* INITIALIZE UPDATE, EXTERNAL AUTHENTICATE */

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
/* The largest data field a secured short command or answer can carry. */
#define SCP03_SHORT_DATA_MAX 255
#define SCP03_SHORT_RESPONSE_MAX 256

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

/*
 * ---- the steps of a session, shared by both roles ----
 *
 * host/scp03_host.c and vcard/scp03_card.c build their halves of the
 * protocol from these, so that a check, a derivation or a MAC is written
 * once for both. They do not look at the session's role or state: the
 * role's functions check those first.
 */

/* An AES key length SCP03 uses: 16, 24 or 32. */
bool scp03_key_len_ok(size_t len);

/* "i": b1-b4 RFU, b8 reserved, and R-ENCRYPTION only together with R-MAC. */
bool scp03_i_param_valid(uint8_t i_param);

/*
 * level is one of the six of Table 7-3, and usable: the card's "i" supports
 * its response half (R-MAC, R-ENCRYPTION).
 */
bool scp03_level_allowed(uint8_t level, uint8_t i_param);

/* A status word whose answer is protected (section 6.2.5): 9000, 62xx, 63xx. */
bool scp03_sw_is_success(uint16_t sw);

/*
 * A failed check ends the session for good: the keys go, so that nothing
 * more can be secured or accepted under them, and every later call sees
 * SCP03_ABORTED. Returns st so that callers can "return scp03_abort(...)".
 */
enum scp03_status scp03_abort(struct scp03_session *s, enum scp03_status st);

/*
 * EXTERNAL AUTHENTICATE is through: the session is open at level, the
 * command's full C-MAC is the MAC chaining value, and the encryption
 * counter starts again (the first command after it uses 1).
 */
void scp03_open(struct scp03_session *s, uint8_t level, const uint8_t mac[16]);

/*
 * At a level without C-MAC a command goes as it is, on either side: copy
 * cmd to out (SCP03_ERR_LENGTH, nothing changed, when cap is short) and
 * wait for its answer. cmd and out may overlap.
 */
enum scp03_status scp03_pass_command(struct scp03_session *s,
				     const uint8_t *cmd, size_t cmd_len,
				     uint8_t *out, size_t cap, size_t *out_len);

/*
 * Section 6.2.1: S-ENC, S-MAC and S-RMAC (and key_len) from the static keys
 * and the host || card challenge already in s. keys->len must be valid.
 */
enum scp03_status scp03_derive_session_keys(struct scp03_session *s,
					    const struct scp03_keys *keys);

/*
 * Section 6.2.2.2 / 6.2.2.3: the card (SCP03_DC_CARD_CRYPTOGRAM) or host
 * (SCP03_DC_HOST_CRYPTOGRAM) cryptogram from S-MAC and both challenges.
 */
enum scp03_status scp03_cryptogram(const struct scp03_session *s, uint8_t constant,
				   uint8_t out[SCP03_CRYPTOGRAM_LEN]);

/*
 * The full 16-byte C-MAC (section 6.2.4) of a command whose secured header
 * is mcla ins p1 p2 lc (mcla from scp03_mac_cla) and whose data before the
 * MAC is body, chained from chain: the MAC chaining value, or zeros for
 * EXTERNAL AUTHENTICATE (section 6.2.3). Its first 8 bytes go on the wire;
 * all 16 are the next chaining value.
 */
enum scp03_status scp03_command_cmac(const struct scp03_session *s,
				     const uint8_t chain[16], uint8_t mcla,
				     uint8_t ins, uint8_t p1, uint8_t p2,
				     uint8_t lc, const uint8_t *body, size_t body_len,
				     uint8_t mac[16]);

/*
 * The full 16-byte R-MAC of section 6.2.5: CMAC(S-RMAC, MAC chaining value
 * || data || SW), data as sent (after R-ENCRYPTION). The first 8 bytes go on
 * the wire.
 */
enum scp03_status scp03_response_mac(const struct scp03_session *s,
				     const uint8_t *data, size_t data_len,
				     const uint8_t sw[2], uint8_t mac[16]);

/*
 * The length of len bytes of command (response false) or answer (true)
 * data once secured at the session's level: padded to whole blocks,
 * (len / 16 + 1) * 16, when the level encrypts that direction (C-DECRYPTION,
 * R-ENCRYPTION) and there is data; else len.
 */
size_t scp03_secured_len(const struct scp03_session *s, bool response, size_t len);

/*
 * The data of a command (response false, section 6.2.6) or an answer (true,
 * 6.2.7) as the session's level sends it: when the level encrypts that
 * direction and there is data, padding method 2 (section 4.1.4) then
 * AES-CBC with S-ENC and the ICV of the current encryption counter; else
 * the data as it is. out gets scp03_secured_len() bytes, which must fit cap
 * (SCP03_ERR_LENGTH, nothing written). The ICV is that of enc_counter as it
 * stands: a command is counted before its data is secured, its answer
 * uses the same count. in and out may overlap.
 */
enum scp03_status scp03_secure_data(const struct scp03_session *s, bool response,
				    const uint8_t *in, size_t len, uint8_t *out,
				    size_t cap);

/*
 * The reverse, on received data whose MAC has been checked (so that a
 * padding error is no oracle): when the level encrypts that direction and
 * there is data, decrypt len bytes (a multiple of 16, else
 * SCP03_ERR_FORMAT) and strip the padding (SCP03_ERR_PADDING when it is
 * not 80 00..); else copy them. out holds len bytes, *plain_len gets the
 * plain length. On failure nothing decrypted is left in out.
 */
enum scp03_status scp03_plain_data(const struct scp03_session *s, bool response,
				   const uint8_t *in, size_t len, uint8_t *out,
				   size_t *plain_len);

#endif
