/*
 * scp03.c - GlobalPlatform SCP03 for both the host and the card; see
 * scp03.h for the flow and the rules on failures.
 *
 * Section numbers refer to Amendment D v1.1.1. Every primitive (AES-CBC,
 * AES-ECB, AES-CMAC, randomness, constant-time comparison) comes from the
 * crypto module; this file only composes them as the amendment says.
 * Intermediate secrets (padded plain text, full MACs of a failed check)
 * live on the stack and are wiped before returning.
 */
#include "scp03.h"

#include <string.h>

#include "crypto.h"
#include "cursor.h"

#define BLOCK CRYPTO_AES_BLOCK

/* The largest data field a secured short command or answer can carry. */
#define SHORT_DATA_MAX 255
#define SHORT_RESPONSE_MAX 256

/* INITIALIZE UPDATE and EXTERNAL AUTHENTICATE instruction bytes. */
#define INS_INITIALIZE_UPDATE 0x50
#define INS_EXTERNAL_AUTHENTICATE 0x82

/* ---- small helpers ---- */

static bool key_len_ok(size_t len)
{
	return len == 16 || len == 24 || len == 32;
}

/* The six security levels of Table 7-3. */
static bool level_valid(uint8_t level)
{
	switch (level) {
	case 0x00:
	case SCP03_LEVEL_C_MAC:
	case SCP03_LEVEL_C_MAC | SCP03_LEVEL_C_DEC:
	case SCP03_LEVEL_C_MAC | SCP03_LEVEL_R_MAC:
	case SCP03_LEVEL_C_MAC | SCP03_LEVEL_C_DEC | SCP03_LEVEL_R_MAC:
	case SCP03_LEVEL_C_MAC | SCP03_LEVEL_C_DEC | SCP03_LEVEL_R_MAC |
		SCP03_LEVEL_R_ENC:
		return true;
	default:
		return false;
	}
}

/* A level is usable only when the card's "i" supports its response half. */
static bool level_allowed(uint8_t level, uint8_t i_param)
{
	if (!level_valid(level))
		return false;
	if ((level & SCP03_LEVEL_R_MAC) && !(i_param & SCP03_I_R_MAC))
		return false;
	if ((level & SCP03_LEVEL_R_ENC) && !(i_param & SCP03_I_R_ENC))
		return false;
	return true;
}

/* "i": b1-b4 RFU, b8 reserved, and R-ENCRYPTION only together with R-MAC. */
static bool i_param_valid(uint8_t i_param)
{
	if (i_param & 0x8F)
		return false;
	if ((i_param & SCP03_I_R_ENC) && !(i_param & SCP03_I_R_MAC))
		return false;
	return true;
}

static void wipe_keys(struct scp03_session *s)
{
	crypto_wipe(s->s_enc, sizeof(s->s_enc));
	crypto_wipe(s->s_mac, sizeof(s->s_mac));
	crypto_wipe(s->s_rmac, sizeof(s->s_rmac));
	crypto_wipe(s->mac_chain, sizeof(s->mac_chain));
}

/*
 * A failed check ends the session for good: the keys go, so that nothing
 * more can be secured or accepted under them, and every later call sees
 * SCP03_ABORTED. Returns st so that callers can "return abort_with(...)".
 */
static enum scp03_status abort_with(struct scp03_session *s, enum scp03_status st)
{
	wipe_keys(s);
	s->state = SCP03_ABORTED;
	s->level = 0;
	s->response_due = false;
	return st;
}

/*
 * ISO/IEC 9797-1 padding method 2 (section 4.1.4): 80 then zeros up to a
 * whole block, always at least one byte. Returns the padded length, or 0
 * when it would exceed cap.
 */
static size_t pad80(const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
	size_t padded = (len / BLOCK + 1) * BLOCK;

	if (padded > cap)
		return 0;
	if (len > 0)
		memmove(out, in, len);
	out[len] = 0x80;
	memset(out + len + 1, 0, padded - len - 1);
	return padded;
}

/* Length of the plain text inside a padded block run, or -1 if the padding
 * is not 80 00.. (the data was MACed first, so this is no padding oracle). */
static long unpad80(const uint8_t *buf, size_t len)
{
	size_t i = len;

	while (i > 0 && buf[i - 1] == 0x00)
		i--;
	if (i == 0 || buf[i - 1] != 0x80 || len - i >= BLOCK)
		return -1;
	return (long)(i - 1);
}

/*
 * The ICV of section 6.2.6 / 6.2.7: the encryption counter as a 16-byte
 * big-endian block, its first byte set to 80 for responses, encrypted
 * with S-ENC.
 */
static enum scp03_status counter_icv(const struct scp03_session *s, bool response,
				     uint8_t icv[BLOCK])
{
	uint8_t block[BLOCK] = { 0 };

	store_be32(block + BLOCK - 4, s->enc_counter);
	if (response)
		block[0] = 0x80;
	if (crypto_aes_ecb_encrypt(s->s_enc, s->key_len, block, BLOCK, icv) != 0)
		return SCP03_ERR_CRYPTO;
	return SCP03_OK;
}

/*
 * CMAC over chain || header || data with key (section 6.2.4 for commands,
 * 6.2.5 for answers, where the header is empty and the status word is the
 * last part of data2).
 */
static enum scp03_status chained_cmac(const uint8_t *key, size_t keylen,
				      const uint8_t chain[16],
				      const uint8_t *part1, size_t len1,
				      const uint8_t *part2, size_t len2,
				      uint8_t mac[16])
{
	uint8_t msg[16 + 5 + SHORT_RESPONSE_MAX + 2 + SHORT_DATA_MAX];
	struct writer w;
	enum scp03_status st = SCP03_OK;

	writer_init(&w, msg, sizeof(msg));
	writer_bytes(&w, chain, 16);
	writer_bytes(&w, part1, len1);
	writer_bytes(&w, part2, len2);
	if (!writer_ok(&w))
		st = SCP03_ERR_LENGTH;
	else if (crypto_aes_cmac(key, keylen, msg, w.len, mac) != 0)
		st = SCP03_ERR_CRYPTO;
	crypto_wipe(msg, sizeof(msg));	/* plain command data may be secret */
	return st;
}

/* The C-MAC of a command whose secured header is mcla ins p1 p2 lc. */
static enum scp03_status command_cmac(const struct scp03_session *s,
				      const uint8_t chain[16], uint8_t mcla,
				      uint8_t ins, uint8_t p1, uint8_t p2,
				      uint8_t lc, const uint8_t *body, size_t body_len,
				      uint8_t mac[16])
{
	const uint8_t header[5] = { mcla, ins, p1, p2, lc };

	return chained_cmac(s->s_mac, s->key_len, chain, header, sizeof(header),
			    body, body_len, mac);
}

static bool sw_is_success(uint16_t sw)
{
	uint8_t sw1 = (uint8_t)(sw >> 8);

	return sw == 0x9000 || sw1 == 0x62 || sw1 == 0x63;
}

/* ---- building blocks ---- */

enum scp03_status scp03_kdf(const uint8_t *key, size_t keylen, uint8_t constant,
			    const uint8_t *context, size_t context_len,
			    uint8_t *out, size_t outlen)
{
	uint8_t input[16 + 64];
	uint8_t block[BLOCK];
	uint16_t bits = (uint16_t)(outlen * 8);
	enum scp03_status st = SCP03_OK;

	if (key == NULL || !key_len_ok(keylen) || out == NULL || outlen == 0 ||
	    outlen > 2 * BLOCK || context_len > sizeof(input) - 16 ||
	    (context_len > 0 && context == NULL))
		return SCP03_ERR_ARG;

	/* label = 11 x 00 || constant, separator 00, L, i, context */
	memset(input, 0, 11);
	input[11] = constant;
	input[12] = 0x00;
	store_be16(input + 13, bits);
	if (context_len > 0)
		memcpy(input + 16, context, context_len);
	for (size_t done = 0, i = 1; done < outlen; i++) {
		size_t take = outlen - done < BLOCK ? outlen - done : BLOCK;

		input[15] = (uint8_t)i;
		if (crypto_aes_cmac(key, keylen, input, 16 + context_len, block) != 0) {
			st = SCP03_ERR_CRYPTO;
			break;
		}
		memcpy(out + done, block, take);
		done += take;
	}
	crypto_wipe(block, sizeof(block));
	if (st != SCP03_OK)
		crypto_wipe(out, outlen);
	return st;
}

enum scp03_status scp03_pseudo_random_challenge(const struct scp03_keys *keys,
						uint32_t seq, const uint8_t *aid,
						size_t aid_len,
						uint8_t out[SCP03_CHALLENGE_LEN])
{
	uint8_t context[SCP03_SEQ_LEN + SCP03_AID_MAX];

	if (keys == NULL || !key_len_ok(keys->len) || seq > SCP03_SEQ_MAX ||
	    aid == NULL || aid_len < SCP03_AID_MIN || aid_len > SCP03_AID_MAX)
		return SCP03_ERR_ARG;
	context[0] = (uint8_t)(seq >> 16);
	context[1] = (uint8_t)(seq >> 8);
	context[2] = (uint8_t)seq;
	memcpy(context + SCP03_SEQ_LEN, aid, aid_len);
	return scp03_kdf(keys->enc, keys->len, SCP03_DC_CARD_CHALLENGE, context,
			 SCP03_SEQ_LEN + aid_len, out, SCP03_CHALLENGE_LEN);
}

enum scp03_status scp03_kcv(const uint8_t *key, size_t keylen,
			    uint8_t out[SCP03_KCV_LEN])
{
	uint8_t ones[BLOCK], enc[BLOCK];

	if (key == NULL || !key_len_ok(keylen) || out == NULL)
		return SCP03_ERR_ARG;
	memset(ones, 0x01, sizeof(ones));
	if (crypto_aes_ecb_encrypt(key, keylen, ones, BLOCK, enc) != 0)
		return SCP03_ERR_CRYPTO;
	memcpy(out, enc, SCP03_KCV_LEN);
	return SCP03_OK;
}

static enum scp03_status dek_crypt(const struct scp03_keys *keys, const uint8_t *in,
				   size_t len, uint8_t *out, bool encrypt)
{
	static const uint8_t zero_icv[BLOCK];
	int rc;

	if (keys == NULL || !key_len_ok(keys->len) || len % BLOCK != 0 ||
	    (len > 0 && (in == NULL || out == NULL)))
		return SCP03_ERR_ARG;
	if (encrypt)
		rc = crypto_aes_cbc_encrypt(keys->dek, keys->len, zero_icv, in, len, out);
	else
		rc = crypto_aes_cbc_decrypt(keys->dek, keys->len, zero_icv, in, len, out);
	return rc == 0 ? SCP03_OK : SCP03_ERR_CRYPTO;
}

enum scp03_status scp03_dek_encrypt(const struct scp03_keys *keys,
				    const uint8_t *in, size_t len, uint8_t *out)
{
	return dek_crypt(keys, in, len, out, true);
}

enum scp03_status scp03_dek_decrypt(const struct scp03_keys *keys,
				    const uint8_t *in, size_t len, uint8_t *out)
{
	return dek_crypt(keys, in, len, out, false);
}

enum scp03_status scp03_parse_apdu(const uint8_t *cmd, size_t len,
				   struct scp03_apdu *out)
{
	struct cursor c;
	uint8_t lc = 0;

	memset(out, 0, sizeof(*out));
	cursor_init(&c, cmd, len);
	cursor_u8(&c, &out->cla);
	cursor_u8(&c, &out->ins);
	cursor_u8(&c, &out->p1);
	cursor_u8(&c, &out->p2);
	if (!cursor_ok(&c))
		return SCP03_ERR_FORMAT;
	if (cursor_remaining(&c) == 0)
		return SCP03_OK;			/* case 1 */
	if (cursor_remaining(&c) == 1) {		/* case 2 */
		out->has_le = true;
		cursor_u8(&c, &out->le);
		return SCP03_OK;
	}
	/* A zero first length byte starts an extended length field. */
	if (!cursor_u8(&c, &lc) || lc == 0)
		return SCP03_ERR_FORMAT;
	out->lc = lc;
	if (!cursor_bytes(&c, lc, &out->data))
		return SCP03_ERR_FORMAT;
	if (cursor_remaining(&c) == 1) {		/* case 4 */
		out->has_le = true;
		cursor_u8(&c, &out->le);
	}
	return cursor_done(&c) ? SCP03_OK : SCP03_ERR_FORMAT;
}

/*
 * CLA codings (GP Card Spec 2.3.1 section 11.1.4): b8-b6 = 000 or 100 with
 * the channel in b2-b1 and secure messaging in b4-b3; b7 = 1 for channels
 * 4-19 in b4-b1 with secure messaging in b6. Everything else (b8-b6 = 001
 * or 101, and FF) is not a GlobalPlatform class.
 */
static bool further_class(uint8_t cla)
{
	return (cla & 0x40) != 0;
}

enum scp03_status scp03_secure_cla(uint8_t cla, uint8_t *out)
{
	if (cla == 0xFF || (cla & 0x60) == 0x20)
		return SCP03_ERR_FORMAT;
	if (further_class(cla)) {
		if (cla & 0x20)
			return SCP03_ERR_FORMAT;
		*out = (uint8_t)(cla | 0x20);
	} else {
		if (cla & 0x0C)
			return SCP03_ERR_FORMAT;
		*out = (uint8_t)(cla | 0x04);
	}
	return SCP03_OK;
}

uint8_t scp03_plain_cla(uint8_t cla)
{
	if (further_class(cla))
		return (uint8_t)(cla & ~0x20);
	return (uint8_t)(cla & ~0x0C);
}

const char *scp03_strerror(enum scp03_status st)
{
	switch (st) {
	case SCP03_OK:
		return "success";
	case SCP03_ERR_ARG:
		return "invalid argument to the secure channel";
	case SCP03_ERR_STATE:
		return "the secure channel is not in a state that allows this";
	case SCP03_ERR_FORMAT:
		return "malformed secure channel message";
	case SCP03_ERR_LENGTH:
		return "the secured message does not fit a short APDU or the buffer";
	case SCP03_ERR_NO_KEY:
		return "no key set with the requested key version";
	case SCP03_ERR_LEVEL:
		return "security level not supported";
	case SCP03_ERR_CRYPTOGRAM:
		return "authentication cryptogram mismatch";
	case SCP03_ERR_MAC:
		return "MAC mismatch";
	case SCP03_ERR_PADDING:
		return "bad padding in decrypted data";
	case SCP03_ERR_COUNTER:
		return "counter exhausted";
	case SCP03_ERR_CRYPTO:
		return "cryptographic operation failed";
	}
	return "unknown secure channel status";
}

void scp03_close(struct scp03_session *s)
{
	if (s != NULL)
		crypto_wipe(s, sizeof(*s));
}

/* ---- session keys and cryptograms, shared by both roles ---- */

/* Section 6.2.1: S-ENC, S-MAC and S-RMAC from host || card challenge. */
static enum scp03_status derive_session_keys(struct scp03_session *s,
					     const struct scp03_keys *keys)
{
	uint8_t context[2 * SCP03_CHALLENGE_LEN];
	enum scp03_status st;

	memcpy(context, s->host_challenge, SCP03_CHALLENGE_LEN);
	memcpy(context + SCP03_CHALLENGE_LEN, s->card_challenge, SCP03_CHALLENGE_LEN);
	s->key_len = keys->len;
	st = scp03_kdf(keys->enc, keys->len, SCP03_DC_S_ENC, context,
		       sizeof(context), s->s_enc, keys->len);
	if (st == SCP03_OK)
		st = scp03_kdf(keys->mac, keys->len, SCP03_DC_S_MAC, context,
			       sizeof(context), s->s_mac, keys->len);
	if (st == SCP03_OK)
		st = scp03_kdf(keys->mac, keys->len, SCP03_DC_S_RMAC, context,
			       sizeof(context), s->s_rmac, keys->len);
	return st;
}

/* Section 6.2.2.2 / 6.2.2.3: the card (00) or host (01) cryptogram. */
static enum scp03_status cryptogram(const struct scp03_session *s, uint8_t constant,
				    uint8_t out[SCP03_CRYPTOGRAM_LEN])
{
	uint8_t context[2 * SCP03_CHALLENGE_LEN];

	memcpy(context, s->host_challenge, SCP03_CHALLENGE_LEN);
	memcpy(context + SCP03_CHALLENGE_LEN, s->card_challenge, SCP03_CHALLENGE_LEN);
	return scp03_kdf(s->s_mac, s->key_len, constant, context, sizeof(context),
			 out, SCP03_CRYPTOGRAM_LEN);
}

/* ---- host ---- */

enum scp03_status scp03_host_initialize_update(struct scp03_session *s, uint8_t cla,
					       uint8_t kvn,
					       const uint8_t host_challenge[SCP03_CHALLENGE_LEN],
					       uint8_t *out, size_t cap,
					       size_t *out_len)
{
	uint8_t secured;

	if (s == NULL || host_challenge == NULL || out == NULL || out_len == NULL)
		return SCP03_ERR_ARG;
	/* The class must be able to carry secure messaging later on. */
	if (scp03_secure_cla(cla, &secured) != SCP03_OK)
		return SCP03_ERR_ARG;
	if (cap < SCP03_INIT_UPDATE_CMD_LEN)
		return SCP03_ERR_LENGTH;
	scp03_close(s);
	s->role = SCP03_HOST;
	s->state = SCP03_CHALLENGED;
	s->cla = cla;
	memcpy(s->host_challenge, host_challenge, SCP03_CHALLENGE_LEN);

	scp03_initialize_update_command(cla, kvn, host_challenge, out);
	*out_len = SCP03_INIT_UPDATE_CMD_LEN;
	return SCP03_OK;
}

size_t scp03_secured_command(uint8_t wire_cla, const struct scp03_apdu *a,
			     const uint8_t *body, size_t body_len,
			     const uint8_t mac[SCP03_MAC_LEN], uint8_t *out)
{
	out[0] = wire_cla;
	out[1] = a->ins;
	out[2] = a->p1;
	out[3] = a->p2;
	out[4] = (uint8_t)(body_len + SCP03_MAC_LEN);
	memmove(out + 5, body, body_len);
	memcpy(out + 5 + body_len, mac, SCP03_MAC_LEN);
	size_t n = 5 + body_len + SCP03_MAC_LEN;
	if (a->has_le)
		out[n++] = 0x00;
	return n;
}

void scp03_initialize_update_command(uint8_t cla, uint8_t kvn,
				     const uint8_t host_challenge[SCP03_CHALLENGE_LEN],
				     uint8_t out[SCP03_INIT_UPDATE_CMD_LEN])
{
	out[0] = cla;
	out[1] = INS_INITIALIZE_UPDATE;
	out[2] = kvn;
	out[3] = 0x00;
	out[4] = SCP03_CHALLENGE_LEN;
	memcpy(out + 5, host_challenge, SCP03_CHALLENGE_LEN);
	out[13] = 0x00;
}

enum scp03_status scp03_parse_initialize_update_response(const uint8_t *data, size_t len,
							 struct scp03_init_response *out)
{
	struct cursor c;
	const uint8_t *seq;

	if (out == NULL)
		return SCP03_ERR_ARG;
	memset(out, 0, sizeof(*out));
	cursor_init(&c, data, len);
	cursor_copy(&c, out->kdd, SCP03_KDD_LEN);
	cursor_u8(&c, &out->kvn);
	cursor_u8(&c, &out->scp_id);
	cursor_u8(&c, &out->i_param);
	cursor_copy(&c, out->card_challenge, SCP03_CHALLENGE_LEN);
	cursor_copy(&c, out->card_cryptogram, SCP03_CRYPTOGRAM_LEN);
	if (!cursor_ok(&c) || out->scp_id != 0x03)
		return SCP03_ERR_FORMAT;
	/* The counter is there exactly when the challenge is pseudo-random. */
	if (out->i_param & SCP03_I_PSEUDO_RANDOM) {
		if (!cursor_bytes(&c, SCP03_SEQ_LEN, &seq))
			return SCP03_ERR_FORMAT;
		out->has_seq = true;
		out->seq = ((uint32_t)seq[0] << 16) | ((uint32_t)seq[1] << 8) | seq[2];
	}
	return cursor_done(&c) ? SCP03_OK : SCP03_ERR_FORMAT;
}

enum scp03_status scp03_host_check_card(struct scp03_session *s,
					const struct scp03_keys *keys,
					const struct scp03_init_response *rsp)
{
	uint8_t expected[SCP03_CRYPTOGRAM_LEN];
	enum scp03_status st;
	bool match;

	if (s == NULL || keys == NULL || rsp == NULL || !key_len_ok(keys->len))
		return SCP03_ERR_ARG;
	if (s->role != SCP03_HOST || s->state != SCP03_CHALLENGED)
		return SCP03_ERR_STATE;
	if (rsp->scp_id != 0x03 || !i_param_valid(rsp->i_param))
		return abort_with(s, SCP03_ERR_FORMAT);
	s->kvn = rsp->kvn;
	s->i_param = rsp->i_param;
	memcpy(s->card_challenge, rsp->card_challenge, SCP03_CHALLENGE_LEN);
	st = derive_session_keys(s, keys);
	if (st == SCP03_OK)
		st = cryptogram(s, SCP03_DC_CARD_CRYPTOGRAM, expected);
	if (st != SCP03_OK)
		return abort_with(s, st);
	match = crypto_equal(expected, rsp->card_cryptogram, SCP03_CRYPTOGRAM_LEN);
	crypto_wipe(expected, sizeof(expected));
	if (!match)
		return abort_with(s, SCP03_ERR_CRYPTOGRAM);
	s->state = SCP03_INITIALIZED;
	return SCP03_OK;
}

enum scp03_status scp03_host_external_authenticate(struct scp03_session *s, uint8_t level,
						   uint8_t *out, size_t cap, size_t *out_len)
{
	static const uint8_t zero_chain[16];
	uint8_t host_cryptogram[SCP03_CRYPTOGRAM_LEN];
	uint8_t mac[16];
	uint8_t wire_cla;
	enum scp03_status st;

	if (s == NULL || out == NULL || out_len == NULL)
		return SCP03_ERR_ARG;
	if (s->role != SCP03_HOST || s->state != SCP03_INITIALIZED)
		return SCP03_ERR_STATE;
	if (!level_allowed(level, s->i_param))
		return SCP03_ERR_LEVEL;
	if (cap < SCP03_EXT_AUTH_CMD_LEN)
		return SCP03_ERR_LENGTH;
	if (scp03_secure_cla(s->cla, &wire_cla) != SCP03_OK)
		return SCP03_ERR_STATE;

	/* Section 6.2.3: the C-MAC of EXTERNAL AUTHENTICATE chains from zero. */
	st = cryptogram(s, SCP03_DC_HOST_CRYPTOGRAM, host_cryptogram);
	if (st == SCP03_OK)
		st = command_cmac(s, zero_chain, scp03_mac_cla(s->cla),
				  INS_EXTERNAL_AUTHENTICATE, level, 0x00,
				  SCP03_CRYPTOGRAM_LEN + SCP03_MAC_LEN,
				  host_cryptogram, SCP03_CRYPTOGRAM_LEN, mac);
	if (st != SCP03_OK)
		return abort_with(s, st);

	out[0] = wire_cla;
	out[1] = INS_EXTERNAL_AUTHENTICATE;
	out[2] = level;
	out[3] = 0x00;
	out[4] = SCP03_CRYPTOGRAM_LEN + SCP03_MAC_LEN;
	memcpy(out + 5, host_cryptogram, SCP03_CRYPTOGRAM_LEN);
	memcpy(out + 5 + SCP03_CRYPTOGRAM_LEN, mac, SCP03_MAC_LEN);
	*out_len = SCP03_EXT_AUTH_CMD_LEN;

	memcpy(s->mac_chain, mac, sizeof(s->mac_chain));
	s->level = level;
	s->enc_counter = 0;	/* the first command after this one uses 1 */
	s->response_due = false;
	s->state = SCP03_OPEN;
	crypto_wipe(mac, sizeof(mac));
	return SCP03_OK;
}

enum scp03_status scp03_host_wrap_command(struct scp03_session *s,
					  const uint8_t *cmd, size_t cmd_len,
					  uint8_t *out, size_t cap, size_t *out_len)
{
	uint8_t body[SHORT_DATA_MAX];
	uint8_t icv[BLOCK], mac[16];
	struct scp03_apdu a;
	size_t body_len, total;
	uint8_t wire_cla;
	enum scp03_status st;

	if (s == NULL || cmd == NULL || out == NULL || out_len == NULL)
		return SCP03_ERR_ARG;
	if (s->role != SCP03_HOST || s->state != SCP03_OPEN)
		return SCP03_ERR_STATE;
	st = scp03_parse_apdu(cmd, cmd_len, &a);
	if (st != SCP03_OK)
		return st;

	if (!(s->level & SCP03_LEVEL_C_MAC)) {
		/* Authenticated only: commands go as they are. */
		if (cap < cmd_len)
			return SCP03_ERR_LENGTH;
		memmove(out, cmd, cmd_len);
		*out_len = cmd_len;
		s->response_due = true;
		return SCP03_OK;
	}
	if (scp03_secure_cla(a.cla, &wire_cla) != SCP03_OK)
		return SCP03_ERR_FORMAT;
	if (s->enc_counter == UINT32_MAX)
		return SCP03_ERR_COUNTER;

	/* Sizes first, so that a command that cannot be sent changes nothing. */
	body_len = a.lc;
	if ((s->level & SCP03_LEVEL_C_DEC) && a.lc > 0)
		body_len = (a.lc / BLOCK + 1) * BLOCK;
	if (body_len + SCP03_MAC_LEN > SHORT_DATA_MAX)
		return SCP03_ERR_LENGTH;
	total = 5 + body_len + SCP03_MAC_LEN + (a.has_le ? 1 : 0);
	if (cap < total)
		return SCP03_ERR_LENGTH;

	/* Section 6.2.6: every command counts, with or without data. */
	s->enc_counter++;
	if ((s->level & SCP03_LEVEL_C_DEC) && a.lc > 0) {
		pad80(a.data, a.lc, body, sizeof(body));
		st = counter_icv(s, false, icv);
		if (st == SCP03_OK &&
		    crypto_aes_cbc_encrypt(s->s_enc, s->key_len, icv, body, body_len,
					   body) != 0)
			st = SCP03_ERR_CRYPTO;
	} else {
		if (a.lc > 0)
			memcpy(body, a.data, a.lc);
		st = SCP03_OK;
	}
	if (st == SCP03_OK)
		st = command_cmac(s, s->mac_chain, scp03_mac_cla(a.cla), a.ins, a.p1,
				  a.p2, (uint8_t)(body_len + SCP03_MAC_LEN), body,
				  body_len, mac);
	if (st != SCP03_OK) {
		crypto_wipe(body, sizeof(body));
		return abort_with(s, st);
	}

	/* cmd and out may overlap: everything needed from cmd is in body. */
	*out_len = scp03_secured_command(wire_cla, &a, body, body_len, mac, out);

	memcpy(s->mac_chain, mac, sizeof(s->mac_chain));
	s->response_due = true;
	crypto_wipe(body, sizeof(body));
	crypto_wipe(mac, sizeof(mac));
	return SCP03_OK;
}

enum scp03_status scp03_host_unwrap_response(struct scp03_session *s,
					     const uint8_t *resp, size_t resp_len,
					     uint8_t *out, size_t cap, size_t *out_len)
{
	uint8_t plain[SHORT_RESPONSE_MAX];
	uint8_t sw_bytes[2];
	uint8_t icv[BLOCK], mac[16];
	size_t body_len, plain_len;
	uint16_t sw;
	enum scp03_status st;
	bool match;

	if (s == NULL || resp == NULL || out == NULL || out_len == NULL)
		return SCP03_ERR_ARG;
	if (s->role != SCP03_HOST || s->state != SCP03_OPEN || !s->response_due)
		return SCP03_ERR_STATE;
	if (resp_len < 2)
		return abort_with(s, SCP03_ERR_FORMAT);
	sw_bytes[0] = resp[resp_len - 2];
	sw_bytes[1] = resp[resp_len - 1];
	sw = load_be16(sw_bytes);

	if (!(s->level & SCP03_LEVEL_R_MAC)) {
		if (cap < resp_len)
			return SCP03_ERR_LENGTH;
		memmove(out, resp, resp_len);
		*out_len = resp_len;
		s->response_due = false;
		return SCP03_OK;
	}
	if (!sw_is_success(sw)) {
		/*
		 * An error answer is never MACed; whatever data came with it
		 * is not authenticated, so only the status word is passed on.
		 */
		if (cap < 2)
			return SCP03_ERR_LENGTH;
		out[0] = sw_bytes[0];
		out[1] = sw_bytes[1];
		*out_len = 2;
		s->response_due = false;
		return SCP03_OK;
	}
	if (resp_len < 2 + SCP03_MAC_LEN)
		return abort_with(s, SCP03_ERR_FORMAT);
	body_len = resp_len - 2 - SCP03_MAC_LEN;
	if (body_len > SHORT_RESPONSE_MAX)
		return abort_with(s, SCP03_ERR_FORMAT);
	/* The plain answer is never longer than the secured one minus its MAC. */
	if (cap < body_len + 2)
		return SCP03_ERR_LENGTH;

	/* Section 6.2.5: CMAC(S-RMAC, chaining value || data || SW). */
	st = chained_cmac(s->s_rmac, s->key_len, s->mac_chain, resp, body_len,
			  sw_bytes, 2, mac);
	if (st != SCP03_OK)
		return abort_with(s, st);
	match = crypto_equal(mac, resp + body_len, SCP03_MAC_LEN);
	crypto_wipe(mac, sizeof(mac));
	if (!match)
		return abort_with(s, SCP03_ERR_MAC);

	plain_len = body_len;
	if ((s->level & SCP03_LEVEL_R_ENC) && body_len > 0) {
		long n;

		if (body_len % BLOCK != 0)
			return abort_with(s, SCP03_ERR_FORMAT);
		st = counter_icv(s, true, icv);
		if (st == SCP03_OK &&
		    crypto_aes_cbc_decrypt(s->s_enc, s->key_len, icv, resp, body_len,
					   plain) != 0)
			st = SCP03_ERR_CRYPTO;
		if (st != SCP03_OK)
			return abort_with(s, st);
		n = unpad80(plain, body_len);
		if (n < 0) {
			crypto_wipe(plain, sizeof(plain));
			return abort_with(s, SCP03_ERR_PADDING);
		}
		plain_len = (size_t)n;
	} else if (body_len > 0) {
		memcpy(plain, resp, body_len);
	}
	memcpy(out, plain, plain_len);
	out[plain_len] = sw_bytes[0];
	out[plain_len + 1] = sw_bytes[1];
	*out_len = plain_len + 2;
	s->response_due = false;
	crypto_wipe(plain, sizeof(plain));
	return SCP03_OK;
}

/* ---- card ---- */

enum scp03_status scp03_card_initialize_update(struct scp03_session *s,
					       const struct scp03_keys *keys,
					       const struct scp03_card_params *params,
					       const uint8_t *cmd, size_t cmd_len,
					       uint8_t *out, size_t cap, size_t *out_len)
{
	uint8_t card_cryptogram[SCP03_CRYPTOGRAM_LEN];
	struct scp03_apdu a;
	uint8_t secured;
	bool pseudo;
	size_t len;
	enum scp03_status st;
	struct writer w;

	if (s == NULL || keys == NULL || params == NULL || out == NULL ||
	    out_len == NULL || !key_len_ok(keys->len) || params->kdd == NULL ||
	    !i_param_valid(params->i_param))
		return SCP03_ERR_ARG;
	pseudo = (params->i_param & SCP03_I_PSEUDO_RANDOM) != 0;
	if (pseudo && (params->seq > SCP03_SEQ_MAX || params->aid == NULL ||
		       params->aid_len < SCP03_AID_MIN ||
		       params->aid_len > SCP03_AID_MAX))
		return SCP03_ERR_ARG;

	/* A new INITIALIZE UPDATE ends whatever session there was. */
	scp03_close(s);
	st = scp03_parse_apdu(cmd, cmd_len, &a);
	if (st != SCP03_OK)
		return st;
	/* The class must be one that can carry secure messaging later on. */
	if (a.ins != INS_INITIALIZE_UPDATE || a.lc != SCP03_CHALLENGE_LEN ||
	    a.p2 != 0x00 || scp03_secure_cla(a.cla, &secured) != SCP03_OK)
		return SCP03_ERR_FORMAT;
	if (a.p1 != 0x00 && a.p1 != keys->kvn)
		return SCP03_ERR_NO_KEY;
	len = pseudo ? SCP03_INIT_UPDATE_RESP_SEQ_LEN : SCP03_INIT_UPDATE_RESP_LEN;
	if (cap < len)
		return SCP03_ERR_LENGTH;

	s->role = SCP03_CARD;
	s->cla = a.cla;
	s->kvn = keys->kvn;
	s->i_param = params->i_param;
	memcpy(s->host_challenge, a.data, SCP03_CHALLENGE_LEN);
	if (pseudo)
		st = scp03_pseudo_random_challenge(keys, params->seq, params->aid,
						   params->aid_len, s->card_challenge);
	else if (crypto_random(s->card_challenge, SCP03_CHALLENGE_LEN) != 0)
		st = SCP03_ERR_CRYPTO;
	if (st == SCP03_OK)
		st = derive_session_keys(s, keys);
	if (st == SCP03_OK)
		st = cryptogram(s, SCP03_DC_CARD_CRYPTOGRAM, card_cryptogram);
	if (st != SCP03_OK) {
		scp03_close(s);
		return st;
	}

	writer_init(&w, out, cap);
	writer_bytes(&w, params->kdd, SCP03_KDD_LEN);
	writer_u8(&w, keys->kvn);
	writer_u8(&w, 0x03);
	writer_u8(&w, params->i_param);
	writer_bytes(&w, s->card_challenge, SCP03_CHALLENGE_LEN);
	writer_bytes(&w, card_cryptogram, SCP03_CRYPTOGRAM_LEN);
	if (pseudo) {
		writer_u8(&w, (uint8_t)(params->seq >> 16));
		writer_u8(&w, (uint8_t)(params->seq >> 8));
		writer_u8(&w, (uint8_t)params->seq);
	}
	*out_len = w.len;
	s->state = SCP03_INITIALIZED;
	return SCP03_OK;
}

enum scp03_status scp03_card_external_authenticate(struct scp03_session *s,
						   const uint8_t *cmd, size_t cmd_len)
{
	static const uint8_t zero_chain[16];
	uint8_t expected[SCP03_CRYPTOGRAM_LEN];
	uint8_t mac[16];
	struct scp03_apdu a;
	enum scp03_status st;
	bool cryptogram_ok, mac_ok;

	if (s == NULL || cmd == NULL)
		return SCP03_ERR_ARG;
	if (s->role != SCP03_CARD || s->state != SCP03_INITIALIZED)
		return SCP03_ERR_STATE;
	/* From here on any failure means the host must start again. */
	st = scp03_parse_apdu(cmd, cmd_len, &a);
	if (st != SCP03_OK)
		return abort_with(s, st);
	if (a.ins != INS_EXTERNAL_AUTHENTICATE || a.p2 != 0x00 ||
	    a.lc != SCP03_CRYPTOGRAM_LEN + SCP03_MAC_LEN)
		return abort_with(s, SCP03_ERR_FORMAT);

	st = cryptogram(s, SCP03_DC_HOST_CRYPTOGRAM, expected);
	if (st == SCP03_OK)
		st = command_cmac(s, zero_chain, scp03_mac_cla(a.cla), a.ins, a.p1,
				  a.p2, (uint8_t)a.lc, a.data, SCP03_CRYPTOGRAM_LEN,
				  mac);
	if (st != SCP03_OK)
		return abort_with(s, st);
	cryptogram_ok = crypto_equal(expected, a.data, SCP03_CRYPTOGRAM_LEN);
	mac_ok = crypto_equal(mac, a.data + SCP03_CRYPTOGRAM_LEN, SCP03_MAC_LEN);
	crypto_wipe(expected, sizeof(expected));
	if (!cryptogram_ok) {
		crypto_wipe(mac, sizeof(mac));
		return abort_with(s, SCP03_ERR_CRYPTOGRAM);
	}
	if (!mac_ok) {
		crypto_wipe(mac, sizeof(mac));
		return abort_with(s, SCP03_ERR_MAC);
	}
	if (!level_allowed(a.p1, s->i_param)) {
		crypto_wipe(mac, sizeof(mac));
		return abort_with(s, SCP03_ERR_LEVEL);
	}
	memcpy(s->mac_chain, mac, sizeof(s->mac_chain));
	crypto_wipe(mac, sizeof(mac));
	s->level = a.p1;
	s->enc_counter = 0;
	s->response_due = false;
	s->state = SCP03_OPEN;
	return SCP03_OK;
}

enum scp03_status scp03_card_unwrap_command(struct scp03_session *s,
					    const uint8_t *cmd, size_t cmd_len,
					    uint8_t *out, size_t cap, size_t *out_len)
{
	uint8_t plain[SHORT_DATA_MAX];
	uint8_t icv[BLOCK], mac[16];
	struct scp03_apdu a;
	size_t body_len, plain_len, n;
	enum scp03_status st;
	bool match;

	if (s == NULL || cmd == NULL || out == NULL || out_len == NULL)
		return SCP03_ERR_ARG;
	if (s->role != SCP03_CARD || s->state != SCP03_OPEN)
		return SCP03_ERR_STATE;
	st = scp03_parse_apdu(cmd, cmd_len, &a);

	if (!(s->level & SCP03_LEVEL_C_MAC)) {
		if (st != SCP03_OK)
			return st;
		if (cap < cmd_len)
			return SCP03_ERR_LENGTH;
		memmove(out, cmd, cmd_len);
		*out_len = cmd_len;
		s->response_due = true;
		return SCP03_OK;
	}
	/* With C-MAC required, a command that cannot carry one is a security
	 * error like a wrong one (section 5.6). */
	if (st != SCP03_OK || a.lc < SCP03_MAC_LEN)
		return abort_with(s, SCP03_ERR_FORMAT);
	if (cap < cmd_len - SCP03_MAC_LEN)
		return SCP03_ERR_LENGTH;
	if (s->enc_counter == UINT32_MAX)
		return abort_with(s, SCP03_ERR_COUNTER);
	body_len = a.lc - SCP03_MAC_LEN;

	s->enc_counter++;
	st = command_cmac(s, s->mac_chain, scp03_mac_cla(a.cla), a.ins, a.p1, a.p2,
			  (uint8_t)a.lc, a.data, body_len, mac);
	if (st != SCP03_OK)
		return abort_with(s, st);
	match = crypto_equal(mac, a.data + body_len, SCP03_MAC_LEN);
	if (!match) {
		crypto_wipe(mac, sizeof(mac));
		return abort_with(s, SCP03_ERR_MAC);
	}
	memcpy(s->mac_chain, mac, sizeof(s->mac_chain));
	crypto_wipe(mac, sizeof(mac));

	plain_len = body_len;
	if ((s->level & SCP03_LEVEL_C_DEC) && body_len > 0) {
		long m;

		if (body_len % BLOCK != 0)
			return abort_with(s, SCP03_ERR_FORMAT);
		st = counter_icv(s, false, icv);
		if (st == SCP03_OK &&
		    crypto_aes_cbc_decrypt(s->s_enc, s->key_len, icv, a.data, body_len,
					   plain) != 0)
			st = SCP03_ERR_CRYPTO;
		if (st != SCP03_OK)
			return abort_with(s, st);
		m = unpad80(plain, body_len);
		if (m < 0) {
			crypto_wipe(plain, sizeof(plain));
			return abort_with(s, SCP03_ERR_PADDING);
		}
		plain_len = (size_t)m;
	} else if (body_len > 0) {
		memcpy(plain, a.data, body_len);
	}

	/* The plain command: original class, plain Lc and data, Le as sent.
	 * cmd and out may overlap: what is still needed is in a and plain. */
	n = 0;
	out[n++] = scp03_plain_cla(a.cla);
	out[n++] = a.ins;
	out[n++] = a.p1;
	out[n++] = a.p2;
	if (plain_len > 0) {
		out[n++] = (uint8_t)plain_len;
		memcpy(out + n, plain, plain_len);
		n += plain_len;
	}
	if (a.has_le)
		out[n++] = a.le;
	*out_len = n;
	s->response_due = true;
	crypto_wipe(plain, sizeof(plain));
	return SCP03_OK;
}

enum scp03_status scp03_card_wrap_response(struct scp03_session *s,
					   const uint8_t *data, size_t data_len,
					   uint16_t sw, uint8_t *out, size_t cap,
					   size_t *out_len)
{
	uint8_t body[SHORT_RESPONSE_MAX];
	uint8_t icv[BLOCK], mac[16];
	uint8_t sw_bytes[2];
	size_t body_len;
	enum scp03_status st = SCP03_OK;

	if (s == NULL || out == NULL || out_len == NULL ||
	    (data_len > 0 && data == NULL))
		return SCP03_ERR_ARG;
	if (s->role != SCP03_CARD || s->state != SCP03_OPEN || !s->response_due)
		return SCP03_ERR_STATE;
	store_be16(sw_bytes, sw);

	if (!(s->level & SCP03_LEVEL_R_MAC) || !sw_is_success(sw)) {
		/* No protection, and for an error no data either (6.2.5). */
		size_t keep = (s->level & SCP03_LEVEL_R_MAC) ? 0 : data_len;

		if (cap < keep + 2)
			return SCP03_ERR_LENGTH;
		if (keep > 0)
			memmove(out, data, keep);
		out[keep] = sw_bytes[0];
		out[keep + 1] = sw_bytes[1];
		*out_len = keep + 2;
		s->response_due = false;
		return SCP03_OK;
	}

	body_len = data_len;
	if ((s->level & SCP03_LEVEL_R_ENC) && data_len > 0)
		body_len = (data_len / BLOCK + 1) * BLOCK;
	if (body_len + SCP03_MAC_LEN > SHORT_RESPONSE_MAX)
		return SCP03_ERR_LENGTH;
	if (cap < body_len + SCP03_MAC_LEN + 2)
		return SCP03_ERR_LENGTH;

	if ((s->level & SCP03_LEVEL_R_ENC) && data_len > 0) {
		pad80(data, data_len, body, sizeof(body));
		st = counter_icv(s, true, icv);
		if (st == SCP03_OK &&
		    crypto_aes_cbc_encrypt(s->s_enc, s->key_len, icv, body, body_len,
					   body) != 0)
			st = SCP03_ERR_CRYPTO;
	} else if (data_len > 0) {
		memcpy(body, data, data_len);
	}
	if (st == SCP03_OK)
		st = chained_cmac(s->s_rmac, s->key_len, s->mac_chain, body, body_len,
				  sw_bytes, 2, mac);
	if (st != SCP03_OK) {
		crypto_wipe(body, sizeof(body));
		return abort_with(s, st);
	}
	memcpy(out, body, body_len);
	memcpy(out + body_len, mac, SCP03_MAC_LEN);
	out[body_len + SCP03_MAC_LEN] = sw_bytes[0];
	out[body_len + SCP03_MAC_LEN + 1] = sw_bytes[1];
	*out_len = body_len + SCP03_MAC_LEN + 2;
	s->response_due = false;
	crypto_wipe(body, sizeof(body));
	crypto_wipe(mac, sizeof(mac));
	return SCP03_OK;
}
