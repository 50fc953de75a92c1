/*
 * scp03_card.c - the card (security domain) side of GlobalPlatform SCP03:
 * the answer to INITIALIZE UPDATE, the check of EXTERNAL AUTHENTICATE, and
 * the checking of secured commands and securing of their answers; see
 * scp03_card.h for the flow and common/scp03.h for the rules on failures.
 *
 * The host's side is host/scp03_host.c. Both run their derivations,
 * cryptograms, MACs and encryption through common/scp03.c, so this file
 * only holds the card's order of steps and its checks; section numbers
 * refer to Amendment D v1.1.1. Intermediate secrets (plain data, full
 * MACs) live on the stack and are wiped before returning.
 */
#include "scp03_card.h"

#include <string.h>

#include "crypto.h"
#include "cursor.h"

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
	    out_len == NULL || !scp03_key_len_ok(keys->len) || params->kdd == NULL ||
	    !scp03_i_param_valid(params->i_param))
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
	if (a.ins != GP_INS_INITIALIZE_UPDATE || a.lc != SCP03_CHALLENGE_LEN ||
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
		st = scp03_derive_session_keys(s, keys);
	if (st == SCP03_OK)
		st = scp03_cryptogram(s, SCP03_DC_CARD_CRYPTOGRAM, card_cryptogram);
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
		return scp03_abort(s, st);
	if (a.ins != GP_INS_EXTERNAL_AUTHENTICATE || a.p2 != 0x00 ||
	    a.lc != SCP03_CRYPTOGRAM_LEN + SCP03_MAC_LEN)
		return scp03_abort(s, SCP03_ERR_FORMAT);

	st = scp03_cryptogram(s, SCP03_DC_HOST_CRYPTOGRAM, expected);
	if (st == SCP03_OK)
		st = scp03_command_cmac(s, zero_chain, scp03_mac_cla(a.cla), a.ins,
					a.p1, a.p2, (uint8_t)a.lc, a.data,
					SCP03_CRYPTOGRAM_LEN, mac);
	if (st != SCP03_OK)
		return scp03_abort(s, st);
	cryptogram_ok = crypto_equal(expected, a.data, SCP03_CRYPTOGRAM_LEN);
	mac_ok = crypto_equal(mac, a.data + SCP03_CRYPTOGRAM_LEN, SCP03_MAC_LEN);
	crypto_wipe(expected, sizeof(expected));
	if (!cryptogram_ok) {
		crypto_wipe(mac, sizeof(mac));
		return scp03_abort(s, SCP03_ERR_CRYPTOGRAM);
	}
	if (!mac_ok) {
		crypto_wipe(mac, sizeof(mac));
		return scp03_abort(s, SCP03_ERR_MAC);
	}
	if (!scp03_level_allowed(a.p1, s->i_param)) {
		crypto_wipe(mac, sizeof(mac));
		return scp03_abort(s, SCP03_ERR_LEVEL);
	}
	scp03_open(s, a.p1, mac);
	crypto_wipe(mac, sizeof(mac));
	return SCP03_OK;
}

enum scp03_status scp03_card_unwrap_command(struct scp03_session *s,
					    const uint8_t *cmd, size_t cmd_len,
					    uint8_t *out, size_t cap, size_t *out_len)
{
	uint8_t plain[SCP03_SHORT_DATA_MAX];
	uint8_t mac[16];
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
		return scp03_pass_command(s, cmd, cmd_len, out, cap, out_len);
	}
	/* With C-MAC required, a command that cannot carry one is a security
	 * error like a wrong one (section 5.6). */
	if (st != SCP03_OK || a.lc < SCP03_MAC_LEN)
		return scp03_abort(s, SCP03_ERR_FORMAT);
	if (cap < cmd_len - SCP03_MAC_LEN)
		return SCP03_ERR_LENGTH;
	if (s->enc_counter == UINT32_MAX)
		return scp03_abort(s, SCP03_ERR_COUNTER);
	body_len = a.lc - SCP03_MAC_LEN;

	s->enc_counter++;
	st = scp03_command_cmac(s, s->mac_chain, scp03_mac_cla(a.cla), a.ins, a.p1,
				a.p2, (uint8_t)a.lc, a.data, body_len, mac);
	if (st != SCP03_OK)
		return scp03_abort(s, st);
	match = crypto_equal(mac, a.data + body_len, SCP03_MAC_LEN);
	if (!match) {
		crypto_wipe(mac, sizeof(mac));
		return scp03_abort(s, SCP03_ERR_MAC);
	}
	memcpy(s->mac_chain, mac, sizeof(s->mac_chain));
	crypto_wipe(mac, sizeof(mac));

	st = scp03_plain_data(s, false, a.data, body_len, plain, &plain_len);
	if (st != SCP03_OK)
		return scp03_abort(s, st);

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
	uint8_t body[SCP03_SHORT_RESPONSE_MAX];
	uint8_t mac[16];
	uint8_t sw_bytes[2];
	size_t body_len;
	enum scp03_status st = SCP03_OK;

	if (s == NULL || out == NULL || out_len == NULL ||
	    (data_len > 0 && data == NULL))
		return SCP03_ERR_ARG;
	if (s->role != SCP03_CARD || s->state != SCP03_OPEN || !s->response_due)
		return SCP03_ERR_STATE;
	store_be16(sw_bytes, sw);

	if (!(s->level & SCP03_LEVEL_R_MAC) || !scp03_sw_is_success(sw)) {
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

	body_len = scp03_secured_len(s, true, data_len);
	if (body_len + SCP03_MAC_LEN > SCP03_SHORT_RESPONSE_MAX)
		return SCP03_ERR_LENGTH;
	if (cap < body_len + SCP03_MAC_LEN + 2)
		return SCP03_ERR_LENGTH;

	st = scp03_secure_data(s, true, data, data_len, body, sizeof(body));
	if (st == SCP03_OK)
		st = scp03_response_mac(s, body, body_len, sw_bytes, mac);
	if (st != SCP03_OK) {
		crypto_wipe(body, sizeof(body));
		return scp03_abort(s, st);
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
