/*
 * scp02.c - SCP02 host side: session keys from the sequence counter, the
 * card and host cryptograms (full triple DES MAC), the C-MAC (ISO 9797-1
 * MAC algorithm 3, the "retail MAC") with ICV chaining and encryption, and
 * command data encryption. See scp02.h for what is supported.
 *
 * Section numbers refer to GP Card Specification 2.3.1 Appendix E (and B
 * for the algorithms). OpenSSL 3 keeps single DES in its legacy provider,
 * so each single-DES step runs as two-key triple DES with K || K, which EDE
 * reduces to DES under K.
 */
#include "scp02.h"

#include <string.h>

#include "crypto.h"
#include "cursor.h"
#include "scp03.h"

#define DES_BLOCK CRYPTO_DES_BLOCK

/* Session key derivation constants (E.4.1). */
static const uint8_t dc_c_mac[2] = { 0x01, 0x01 };
static const uint8_t dc_enc[2] = { 0x01, 0x82 };
static const uint8_t dc_dek[2] = { 0x01, 0x81 };

/* The largest padded C-MAC input: header, Lc and 255 bytes, padded. */
#define MAC_INPUT_MAX 264

/* B.1.3 padding: 80 then zeros to a multiple of 8; 0 if it exceeds cap. */
static size_t pad80(const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
	size_t padded = (len / DES_BLOCK + 1) * DES_BLOCK;

	if (padded > cap)
		return 0;
	if (len > 0)
		memmove(out, in, len);
	out[len] = 0x80;
	memset(out + len + 1, 0, padded - len - 1);
	return padded;
}

/* K1 || K1 for the single-DES steps keyed with the first half of key. */
static void single_des_key(const uint8_t key[EC_SCP02_KEY_LEN], uint8_t k1k1[16])
{
	memcpy(k1k1, key, 8);
	memcpy(k1k1 + 8, key, 8);
}

/*
 * B.1.2.1 full triple DES MAC: triple DES CBC over the padded data with a
 * zero ICV; the MAC is the last block.
 */
static enum ec_status full_3des_mac(const uint8_t key[EC_SCP02_KEY_LEN],
				    const uint8_t *data, size_t len,
				    uint8_t mac[EC_SCP02_MAC_LEN])
{
	static const uint8_t zero_icv[DES_BLOCK];
	uint8_t buf[MAC_INPUT_MAX];
	size_t padded = pad80(data, len, buf, sizeof(buf));
	enum ec_status st = EC_OK;

	if (padded == 0)
		return EC_ERR_ARG;
	if (crypto_des3_cbc_encrypt(key, EC_SCP02_KEY_LEN, zero_icv, buf, padded, buf) != 0)
		st = EC_ERR_CRYPTO;
	else
		memcpy(mac, buf + padded - DES_BLOCK, EC_SCP02_MAC_LEN);
	crypto_wipe(buf, sizeof(buf));
	return st;
}

/*
 * B.1.2.2 single DES plus final triple DES MAC (ISO 9797-1 algorithm 3):
 * DES CBC under K1 from icv over every padded block but the last, then the
 * last block under triple DES K1 K2 K1 chained from there.
 */
static enum ec_status retail_mac(const uint8_t key[EC_SCP02_KEY_LEN],
				 const uint8_t icv[EC_SCP02_MAC_LEN],
				 const uint8_t *data, size_t len,
				 uint8_t mac[EC_SCP02_MAC_LEN])
{
	uint8_t buf[MAC_INPUT_MAX];
	uint8_t k1k1[16];
	uint8_t chain[DES_BLOCK];
	size_t padded = pad80(data, len, buf, sizeof(buf));
	enum ec_status st = EC_OK;

	if (padded == 0)
		return EC_ERR_ARG;
	single_des_key(key, k1k1);
	memcpy(chain, icv, DES_BLOCK);
	if (padded > DES_BLOCK) {
		size_t head = padded - DES_BLOCK;

		if (crypto_des3_cbc_encrypt(k1k1, sizeof(k1k1), icv, buf, head, buf) != 0)
			st = EC_ERR_CRYPTO;
		else
			memcpy(chain, buf + head - DES_BLOCK, DES_BLOCK);
	}
	if (st == EC_OK &&
	    crypto_des3_cbc_encrypt(key, EC_SCP02_KEY_LEN, chain,
				    buf + padded - DES_BLOCK, DES_BLOCK, mac) != 0)
		st = EC_ERR_CRYPTO;
	crypto_wipe(buf, sizeof(buf));
	crypto_wipe(k1k1, sizeof(k1k1));
	return st;
}

/* E.4.1: triple DES CBC of constant || counter || 12 x 00 with a zero ICV. */
static enum ec_status derive_key(const uint8_t key[EC_SCP02_KEY_LEN],
				 const uint8_t constant[2], uint16_t seq,
				 uint8_t out[EC_SCP02_KEY_LEN])
{
	static const uint8_t zero_icv[DES_BLOCK];
	uint8_t data[16] = { 0 };

	memcpy(data, constant, 2);
	store_be16(data + 2, seq);
	if (crypto_des3_cbc_encrypt(key, EC_SCP02_KEY_LEN, zero_icv, data,
				    sizeof(data), out) != 0)
		return EC_ERR_CRYPTO;
	return EC_OK;
}

static enum ec_status abort_with(struct ec_scp02 *s, enum ec_status st)
{
	crypto_wipe(s->s_enc, sizeof(s->s_enc));
	crypto_wipe(s->s_mac, sizeof(s->s_mac));
	crypto_wipe(s->s_dek, sizeof(s->s_dek));
	crypto_wipe(s->icv, sizeof(s->icv));
	s->state = EC_SCP02_ABORTED;
	s->level = 0;
	return st;
}

/*
 * The "i" values this host can run: explicit initiation, C-MAC on the
 * modified APDU, ICV zero for EXTERNAL AUTHENTICATE; ICV encryption, R-MAC
 * support (never asked for), the card challenge method and the number of
 * keys are free.
 */
static bool i_param_supported(uint8_t i_param)
{
	if (i_param & 0x80)
		return false;
	if (!(i_param & EC_SCP02_I_EXPLICIT))
		return false;
	if (i_param & (EC_SCP02_I_CMAC_UNMODIFIED | EC_SCP02_I_ICV_MAC_OVER_AID))
		return false;
	return true;
}

void ec_scp02_close(struct ec_scp02 *s)
{
	if (s != NULL)
		crypto_wipe(s, sizeof(*s));
}

enum ec_status ec_scp02_initialize_update(struct ec_scp02 *s, uint8_t i_param,
					  uint8_t cla, uint8_t kvn,
					  const uint8_t host_challenge[EC_SCP02_HOST_CHALLENGE_LEN],
					  uint8_t *out, size_t cap, size_t *out_len)
{
	uint8_t secured;

	if (s == NULL || host_challenge == NULL || out == NULL || out_len == NULL ||
	    !i_param_supported(i_param) || scp03_secure_cla(cla, &secured) != SCP03_OK)
		return EC_ERR_ARG;
	if (cap < EC_SCP02_INIT_UPDATE_CMD_LEN)
		return EC_ERR_BUFFER;
	ec_scp02_close(s);
	s->state = EC_SCP02_CHALLENGED;
	s->i_param = i_param;
	s->cla = cla;
	memcpy(s->host_challenge, host_challenge, EC_SCP02_HOST_CHALLENGE_LEN);

	/* The command is SCP03's, byte for byte. */
	scp03_initialize_update_command(cla, kvn, host_challenge, out);
	*out_len = EC_SCP02_INIT_UPDATE_CMD_LEN;
	return EC_OK;
}

enum ec_status ec_scp02_parse_initialize_update_response(const uint8_t *data, size_t len,
							 struct ec_scp02_init_response *out)
{
	struct cursor c;

	if (out == NULL)
		return EC_ERR_ARG;
	memset(out, 0, sizeof(*out));
	cursor_init(&c, data, len);
	cursor_copy(&c, out->kdd, EC_SCP02_KDD_LEN);
	cursor_u8(&c, &out->kvn);
	cursor_u8(&c, &out->scp_id);
	cursor_u16(&c, &out->seq);
	cursor_copy(&c, out->card_challenge, EC_SCP02_CARD_CHALLENGE_LEN);
	cursor_copy(&c, out->card_cryptogram, EC_SCP02_CRYPTOGRAM_LEN);
	if (!cursor_done(&c) || out->scp_id != 0x02)
		return EC_ERR_FORMAT;
	return EC_OK;
}

enum ec_status ec_scp02_check_card(struct ec_scp02 *s, const struct ec_scp02_keys *keys,
				   const struct ec_scp02_init_response *rsp)
{
	uint8_t data[EC_SCP02_HOST_CHALLENGE_LEN + 2 + EC_SCP02_CARD_CHALLENGE_LEN];
	uint8_t expected[EC_SCP02_CRYPTOGRAM_LEN];
	enum ec_status st;
	bool match;

	if (s == NULL || keys == NULL || rsp == NULL)
		return EC_ERR_ARG;
	if (s->state != EC_SCP02_CHALLENGED)
		return EC_ERR_ARG;
	s->kvn = rsp->kvn;
	s->seq = rsp->seq;
	memcpy(s->card_challenge, rsp->card_challenge, EC_SCP02_CARD_CHALLENGE_LEN);
	st = derive_key(keys->enc, dc_enc, rsp->seq, s->s_enc);
	if (st == EC_OK)
		st = derive_key(keys->mac, dc_c_mac, rsp->seq, s->s_mac);
	if (st == EC_OK)
		st = derive_key(keys->dek, dc_dek, rsp->seq, s->s_dek);
	if (st != EC_OK)
		return abort_with(s, st);

	/* E.4.2.1: host challenge || sequence counter || card challenge. */
	memcpy(data, s->host_challenge, EC_SCP02_HOST_CHALLENGE_LEN);
	store_be16(data + EC_SCP02_HOST_CHALLENGE_LEN, rsp->seq);
	memcpy(data + EC_SCP02_HOST_CHALLENGE_LEN + 2, rsp->card_challenge,
	       EC_SCP02_CARD_CHALLENGE_LEN);
	st = full_3des_mac(s->s_enc, data, sizeof(data), expected);
	if (st != EC_OK)
		return abort_with(s, st);
	match = crypto_equal(expected, rsp->card_cryptogram, EC_SCP02_CRYPTOGRAM_LEN);
	crypto_wipe(expected, sizeof(expected));
	if (!match)
		return abort_with(s, EC_ERR_CHECK);
	s->state = EC_SCP02_INITIALIZED;
	return EC_OK;
}

enum ec_status ec_scp02_external_authenticate(struct ec_scp02 *s, uint8_t level,
					      uint8_t *out, size_t cap, size_t *out_len)
{
	static const uint8_t zero_icv[EC_SCP02_MAC_LEN];
	uint8_t data[2 + EC_SCP02_CARD_CHALLENGE_LEN + EC_SCP02_HOST_CHALLENGE_LEN];
	uint8_t msg[5 + EC_SCP02_CRYPTOGRAM_LEN];
	uint8_t mac[EC_SCP02_MAC_LEN];
	uint8_t wire_cla;
	enum ec_status st;

	if (s == NULL || out == NULL || out_len == NULL)
		return EC_ERR_ARG;
	if (s->state != EC_SCP02_INITIALIZED)
		return EC_ERR_ARG;
	if (level != 0x00 && level != EC_SCP02_LEVEL_C_MAC &&
	    level != (EC_SCP02_LEVEL_C_MAC | EC_SCP02_LEVEL_C_DEC))
		return EC_ERR_ARG;
	if (cap < EC_SCP02_EXT_AUTH_CMD_LEN)
		return EC_ERR_BUFFER;
	if (scp03_secure_cla(s->cla, &wire_cla) != SCP03_OK)
		return EC_ERR_ARG;

	/* E.4.2.2: sequence counter || card challenge || host challenge. */
	store_be16(data, s->seq);
	memcpy(data + 2, s->card_challenge, EC_SCP02_CARD_CHALLENGE_LEN);
	memcpy(data + 2 + EC_SCP02_CARD_CHALLENGE_LEN, s->host_challenge,
	       EC_SCP02_HOST_CHALLENGE_LEN);
	msg[0] = scp03_mac_cla(s->cla);
	msg[1] = GP_INS_EXTERNAL_AUTHENTICATE;
	msg[2] = level;
	msg[3] = 0x00;
	msg[4] = EC_SCP02_CRYPTOGRAM_LEN + EC_SCP02_MAC_LEN;
	st = full_3des_mac(s->s_enc, data, sizeof(data), msg + 5);
	/* E.3.2: the C-MAC of EXTERNAL AUTHENTICATE starts from a zero ICV,
	 * which is never encrypted (E.3.4). */
	if (st == EC_OK)
		st = retail_mac(s->s_mac, zero_icv, msg, sizeof(msg), mac);
	if (st != EC_OK)
		return abort_with(s, st);

	out[0] = wire_cla;
	memcpy(out + 1, msg + 1, sizeof(msg) - 1);
	memcpy(out + sizeof(msg), mac, EC_SCP02_MAC_LEN);
	*out_len = EC_SCP02_EXT_AUTH_CMD_LEN;
	memcpy(s->icv, mac, sizeof(s->icv));
	s->level = level;
	s->state = EC_SCP02_OPEN;
	return EC_OK;
}

enum ec_status ec_scp02_wrap(struct ec_scp02 *s, const uint8_t *cmd, size_t cmd_len,
			     uint8_t *out, size_t cap, size_t *out_len)
{
	static const uint8_t zero_icv[DES_BLOCK];
	uint8_t msg[5 + 255];
	uint8_t body[256];
	uint8_t icv[EC_SCP02_MAC_LEN], mac[EC_SCP02_MAC_LEN];
	uint8_t k1k1[16];
	struct scp03_apdu a;
	size_t body_len, total;
	uint8_t wire_cla;
	enum ec_status st = EC_OK;

	if (s == NULL || cmd == NULL || out == NULL || out_len == NULL)
		return EC_ERR_ARG;
	if (s->state != EC_SCP02_OPEN)
		return EC_ERR_ARG;
	if (scp03_parse_apdu(cmd, cmd_len, &a) != SCP03_OK)
		return EC_ERR_ARG;
	if (!(s->level & EC_SCP02_LEVEL_C_MAC)) {
		if (cap < cmd_len)
			return EC_ERR_BUFFER;
		memmove(out, cmd, cmd_len);
		*out_len = cmd_len;
		return EC_OK;
	}
	if (scp03_secure_cla(a.cla, &wire_cla) != SCP03_OK)
		return EC_ERR_ARG;

	/* Sizes first: a command that cannot be secured changes nothing. */
	if (a.lc + EC_SCP02_MAC_LEN > 255)
		return EC_ERR_ARG;
	body_len = a.lc;
	if ((s->level & EC_SCP02_LEVEL_C_DEC) && a.lc > 0)
		body_len = (a.lc / DES_BLOCK + 1) * DES_BLOCK;
	if (body_len + EC_SCP02_MAC_LEN > 255)
		return EC_ERR_ARG;
	total = 5 + body_len + EC_SCP02_MAC_LEN + (a.has_le ? 1 : 0);
	if (cap < total)
		return EC_ERR_BUFFER;

	/* E.4.4, modified APDU: channel-free CLA with bit 3, Lc + 8, and the
	 * plain data: the C-MAC protects the data before encryption. */
	msg[0] = scp03_mac_cla(a.cla);
	msg[1] = a.ins;
	msg[2] = a.p1;
	msg[3] = a.p2;
	msg[4] = (uint8_t)(a.lc + EC_SCP02_MAC_LEN);
	if (a.lc > 0)
		memcpy(msg + 5, a.data, a.lc);

	/* E.3.4: the chained ICV is encrypted with DES under S-MAC's K1. */
	memcpy(icv, s->icv, sizeof(icv));
	if (s->i_param & EC_SCP02_I_ICV_ENCRYPTION) {
		single_des_key(s->s_mac, k1k1);
		if (crypto_des3_ecb_encrypt(k1k1, sizeof(k1k1), s->icv, DES_BLOCK, icv) != 0)
			st = EC_ERR_CRYPTO;
		crypto_wipe(k1k1, sizeof(k1k1));
	}
	if (st == EC_OK)
		st = retail_mac(s->s_mac, icv, msg, 5 + a.lc, mac);

	/* E.4.6: pad and encrypt the data with a zero ICV. */
	if (st == EC_OK && body_len > 0) {
		if (body_len != a.lc) {
			pad80(a.data, a.lc, body, sizeof(body));
			if (crypto_des3_cbc_encrypt(s->s_enc, EC_SCP02_KEY_LEN, zero_icv,
						    body, body_len, body) != 0)
				st = EC_ERR_CRYPTO;
		} else {
			memcpy(body, a.data, a.lc);
		}
	}
	crypto_wipe(msg, sizeof(msg));
	if (st != EC_OK) {
		crypto_wipe(body, sizeof(body));
		return abort_with(s, st);
	}

	/* The secured command's layout is SCP03's (both MACs are 8 bytes). */
	*out_len = scp03_secured_command(wire_cla, &a, body, body_len, mac, out);
	memcpy(s->icv, mac, sizeof(s->icv));
	crypto_wipe(body, sizeof(body));
	return EC_OK;
}

enum ec_status ec_scp02_encrypt_sensitive(const struct ec_scp02 *s, const uint8_t *in,
					  size_t len, uint8_t *out)
{
	if (s == NULL || in == NULL || out == NULL || len % DES_BLOCK != 0)
		return EC_ERR_ARG;
	if (s->state != EC_SCP02_INITIALIZED && s->state != EC_SCP02_OPEN)
		return EC_ERR_ARG;
	if (crypto_des3_ecb_encrypt(s->s_dek, EC_SCP02_KEY_LEN, in, len, out) != 0)
		return EC_ERR_CRYPTO;
	return EC_OK;
}
