/*
 * scp03.c - the part of GlobalPlatform SCP03 both roles share: the KDF,
 * cryptograms and session keys, C-MAC and R-MAC, the encryption counter
 * and its ICV, Key-DEK, APDU parsing and the command layouts; see scp03.h
 * for the flow and the rules on failures. The host runs its half in
 * host/scp03_host.c, the card in vcard/scp03_card.c, both on top of this.
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

/* ---- small helpers ---- */

bool scp03_key_len_ok(size_t len)
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

bool scp03_level_allowed(uint8_t level, uint8_t i_param)
{
	if (!level_valid(level))
		return false;
	if ((level & SCP03_LEVEL_R_MAC) && !(i_param & SCP03_I_R_MAC))
		return false;
	if ((level & SCP03_LEVEL_R_ENC) && !(i_param & SCP03_I_R_ENC))
		return false;
	return true;
}

bool scp03_i_param_valid(uint8_t i_param)
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

enum scp03_status scp03_abort(struct scp03_session *s, enum scp03_status st)
{
	wipe_keys(s);
	s->state = SCP03_ABORTED;
	s->level = 0;
	s->response_due = false;
	return st;
}

void scp03_open(struct scp03_session *s, uint8_t level, const uint8_t mac[16])
{
	memcpy(s->mac_chain, mac, sizeof(s->mac_chain));
	s->level = level;
	s->enc_counter = 0;
	s->response_due = false;
	s->state = SCP03_OPEN;
}

enum scp03_status scp03_pass_command(struct scp03_session *s,
				     const uint8_t *cmd, size_t cmd_len,
				     uint8_t *out, size_t cap, size_t *out_len)
{
	if (cap < cmd_len)
		return SCP03_ERR_LENGTH;
	memmove(out, cmd, cmd_len);
	*out_len = cmd_len;
	s->response_due = true;
	return SCP03_OK;
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
	uint8_t msg[16 + 5 + SCP03_SHORT_RESPONSE_MAX + 2 + SCP03_SHORT_DATA_MAX];
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

bool scp03_sw_is_success(uint16_t sw)
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

	if (key == NULL || !scp03_key_len_ok(keylen) || out == NULL || outlen == 0 ||
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

	if (keys == NULL || !scp03_key_len_ok(keys->len) || seq > SCP03_SEQ_MAX ||
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

	if (key == NULL || !scp03_key_len_ok(keylen) || out == NULL)
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

	if (keys == NULL || !scp03_key_len_ok(keys->len) || len % BLOCK != 0 ||
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

void scp03_initialize_update_command(uint8_t cla, uint8_t kvn,
				     const uint8_t host_challenge[SCP03_CHALLENGE_LEN],
				     uint8_t out[SCP03_INIT_UPDATE_CMD_LEN])
{
	out[0] = cla;
	out[1] = GP_INS_INITIALIZE_UPDATE;
	out[2] = kvn;
	out[3] = 0x00;
	out[4] = SCP03_CHALLENGE_LEN;
	memcpy(out + 5, host_challenge, SCP03_CHALLENGE_LEN);
	out[13] = 0x00;
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

enum scp03_status scp03_derive_session_keys(struct scp03_session *s,
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

enum scp03_status scp03_cryptogram(const struct scp03_session *s, uint8_t constant,
				   uint8_t out[SCP03_CRYPTOGRAM_LEN])
{
	uint8_t context[2 * SCP03_CHALLENGE_LEN];

	memcpy(context, s->host_challenge, SCP03_CHALLENGE_LEN);
	memcpy(context + SCP03_CHALLENGE_LEN, s->card_challenge, SCP03_CHALLENGE_LEN);
	return scp03_kdf(s->s_mac, s->key_len, constant, context, sizeof(context),
			 out, SCP03_CRYPTOGRAM_LEN);
}

/* ---- MACs and encryption, shared by both roles ---- */

enum scp03_status scp03_command_cmac(const struct scp03_session *s,
				     const uint8_t chain[16], uint8_t mcla,
				     uint8_t ins, uint8_t p1, uint8_t p2,
				     uint8_t lc, const uint8_t *body, size_t body_len,
				     uint8_t mac[16])
{
	const uint8_t header[5] = { mcla, ins, p1, p2, lc };

	return chained_cmac(s->s_mac, s->key_len, chain, header, sizeof(header),
			    body, body_len, mac);
}

enum scp03_status scp03_response_mac(const struct scp03_session *s,
				     const uint8_t *data, size_t data_len,
				     const uint8_t sw[2], uint8_t mac[16])
{
	return chained_cmac(s->s_rmac, s->key_len, s->mac_chain, data, data_len,
			    sw, 2, mac);
}

/* Whether the level encrypts commands (C-DECRYPTION) or answers (R-ENCRYPTION). */
static bool encrypts(const struct scp03_session *s, bool response)
{
	return (s->level & (response ? SCP03_LEVEL_R_ENC : SCP03_LEVEL_C_DEC)) != 0;
}

size_t scp03_secured_len(const struct scp03_session *s, bool response, size_t len)
{
	if (encrypts(s, response) && len > 0)
		return (len / BLOCK + 1) * BLOCK;
	return len;
}

enum scp03_status scp03_secure_data(const struct scp03_session *s, bool response,
				    const uint8_t *in, size_t len, uint8_t *out,
				    size_t cap)
{
	uint8_t icv[BLOCK];
	size_t padded;
	enum scp03_status st;

	if (!encrypts(s, response) || len == 0) {
		if (len > cap)
			return SCP03_ERR_LENGTH;
		if (len > 0)
			memmove(out, in, len);
		return SCP03_OK;
	}
	padded = pad80(in, len, out, cap);
	if (padded == 0)
		return SCP03_ERR_LENGTH;
	st = counter_icv(s, response, icv);
	if (st == SCP03_OK &&
	    crypto_aes_cbc_encrypt(s->s_enc, s->key_len, icv, out, padded, out) != 0)
		st = SCP03_ERR_CRYPTO;
	return st;
}

enum scp03_status scp03_plain_data(const struct scp03_session *s, bool response,
				   const uint8_t *in, size_t len, uint8_t *out,
				   size_t *plain_len)
{
	uint8_t icv[BLOCK];
	enum scp03_status st;
	long n = -1;

	if (!encrypts(s, response) || len == 0) {
		if (len > 0)
			memmove(out, in, len);
		*plain_len = len;
		return SCP03_OK;
	}
	if (len % BLOCK != 0)
		return SCP03_ERR_FORMAT;
	st = counter_icv(s, response, icv);
	if (st == SCP03_OK &&
	    crypto_aes_cbc_decrypt(s->s_enc, s->key_len, icv, in, len, out) != 0)
		st = SCP03_ERR_CRYPTO;
	if (st == SCP03_OK) {
		n = unpad80(out, len);
		if (n < 0)
			st = SCP03_ERR_PADDING;
	}
	if (st != SCP03_OK) {
		crypto_wipe(out, len);
		return st;
	}
	*plain_len = (size_t)n;
	return SCP03_OK;
}
