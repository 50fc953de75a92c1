/*
 * scp03_host.c - the host (off-card entity) side of GlobalPlatform SCP03:
 * INITIALIZE UPDATE, the check of the card's cryptogram, EXTERNAL
 * AUTHENTICATE, and the securing of commands and checking of answers; see
 * scp03_host.h for the flow and common/scp03.h for the rules on failures.
 *
 * The card's side is vcard/scp03_card.c. Both run their derivations,
 * cryptograms, MACs and encryption through common/scp03.c, so this file
 * only holds the host's order of steps and its checks; section numbers
 * refer to Amendment D v1.1.1. Intermediate secrets (plain data, full
 * MACs) live on the stack and are wiped before returning.
 */
#include "scp03_host.h"

#include <string.h>

#include "crypto.h"
#include "cursor.h"

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

	if (s == NULL || keys == NULL || rsp == NULL || !scp03_key_len_ok(keys->len))
		return SCP03_ERR_ARG;
	if (s->role != SCP03_HOST || s->state != SCP03_CHALLENGED)
		return SCP03_ERR_STATE;
	if (rsp->scp_id != 0x03 || !scp03_i_param_valid(rsp->i_param))
		return scp03_abort(s, SCP03_ERR_FORMAT);
	s->kvn = rsp->kvn;
	s->i_param = rsp->i_param;
	memcpy(s->card_challenge, rsp->card_challenge, SCP03_CHALLENGE_LEN);
	st = scp03_derive_session_keys(s, keys);
	if (st == SCP03_OK)
		st = scp03_cryptogram(s, SCP03_DC_CARD_CRYPTOGRAM, expected);
	if (st != SCP03_OK)
		return scp03_abort(s, st);
	match = crypto_equal(expected, rsp->card_cryptogram, SCP03_CRYPTOGRAM_LEN);
	crypto_wipe(expected, sizeof(expected));
	if (!match)
		return scp03_abort(s, SCP03_ERR_CRYPTOGRAM);
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
	if (!scp03_level_allowed(level, s->i_param))
		return SCP03_ERR_LEVEL;
	if (cap < SCP03_EXT_AUTH_CMD_LEN)
		return SCP03_ERR_LENGTH;
	if (scp03_secure_cla(s->cla, &wire_cla) != SCP03_OK)
		return SCP03_ERR_STATE;

	/* Section 6.2.3: the C-MAC of EXTERNAL AUTHENTICATE chains from zero. */
	st = scp03_cryptogram(s, SCP03_DC_HOST_CRYPTOGRAM, host_cryptogram);
	if (st == SCP03_OK)
		st = scp03_command_cmac(s, zero_chain, scp03_mac_cla(s->cla),
					GP_INS_EXTERNAL_AUTHENTICATE, level, 0x00,
					SCP03_CRYPTOGRAM_LEN + SCP03_MAC_LEN,
					host_cryptogram, SCP03_CRYPTOGRAM_LEN, mac);
	if (st != SCP03_OK)
		return scp03_abort(s, st);

	out[0] = wire_cla;
	out[1] = GP_INS_EXTERNAL_AUTHENTICATE;
	out[2] = level;
	out[3] = 0x00;
	out[4] = SCP03_CRYPTOGRAM_LEN + SCP03_MAC_LEN;
	memcpy(out + 5, host_cryptogram, SCP03_CRYPTOGRAM_LEN);
	memcpy(out + 5 + SCP03_CRYPTOGRAM_LEN, mac, SCP03_MAC_LEN);
	*out_len = SCP03_EXT_AUTH_CMD_LEN;

	scp03_open(s, level, mac);
	crypto_wipe(mac, sizeof(mac));
	return SCP03_OK;
}

enum scp03_status scp03_host_wrap_command(struct scp03_session *s,
					  const uint8_t *cmd, size_t cmd_len,
					  uint8_t *out, size_t cap, size_t *out_len)
{
	uint8_t body[SCP03_SHORT_DATA_MAX];
	uint8_t mac[16];
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

	/* Authenticated only: commands go as they are. */
	if (!(s->level & SCP03_LEVEL_C_MAC))
		return scp03_pass_command(s, cmd, cmd_len, out, cap, out_len);
	if (scp03_secure_cla(a.cla, &wire_cla) != SCP03_OK)
		return SCP03_ERR_FORMAT;
	if (s->enc_counter == UINT32_MAX)
		return SCP03_ERR_COUNTER;

	/* Sizes first, so that a command that cannot be sent changes nothing. */
	body_len = scp03_secured_len(s, false, a.lc);
	if (body_len + SCP03_MAC_LEN > SCP03_SHORT_DATA_MAX)
		return SCP03_ERR_LENGTH;
	total = 5 + body_len + SCP03_MAC_LEN + (a.has_le ? 1 : 0);
	if (cap < total)
		return SCP03_ERR_LENGTH;

	/* Section 6.2.6: every command counts, with or without data. */
	s->enc_counter++;
	st = scp03_secure_data(s, false, a.data, a.lc, body, sizeof(body));
	if (st == SCP03_OK)
		st = scp03_command_cmac(s, s->mac_chain, scp03_mac_cla(a.cla), a.ins,
					a.p1, a.p2, (uint8_t)(body_len + SCP03_MAC_LEN),
					body, body_len, mac);
	if (st != SCP03_OK) {
		crypto_wipe(body, sizeof(body));
		return scp03_abort(s, st);
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
	uint8_t plain[SCP03_SHORT_RESPONSE_MAX];
	uint8_t sw_bytes[2];
	uint8_t mac[16];
	size_t body_len, plain_len;
	uint16_t sw;
	enum scp03_status st;
	bool match;

	if (s == NULL || resp == NULL || out == NULL || out_len == NULL)
		return SCP03_ERR_ARG;
	if (s->role != SCP03_HOST || s->state != SCP03_OPEN || !s->response_due)
		return SCP03_ERR_STATE;
	if (resp_len < 2)
		return scp03_abort(s, SCP03_ERR_FORMAT);
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
	if (!scp03_sw_is_success(sw)) {
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
		return scp03_abort(s, SCP03_ERR_FORMAT);
	body_len = resp_len - 2 - SCP03_MAC_LEN;
	if (body_len > SCP03_SHORT_RESPONSE_MAX)
		return scp03_abort(s, SCP03_ERR_FORMAT);
	/* The plain answer is never longer than the secured one minus its MAC. */
	if (cap < body_len + 2)
		return SCP03_ERR_LENGTH;

	/* Section 6.2.5: CMAC(S-RMAC, chaining value || data || SW). */
	st = scp03_response_mac(s, resp, body_len, sw_bytes, mac);
	if (st != SCP03_OK)
		return scp03_abort(s, st);
	match = crypto_equal(mac, resp + body_len, SCP03_MAC_LEN);
	crypto_wipe(mac, sizeof(mac));
	if (!match)
		return scp03_abort(s, SCP03_ERR_MAC);

	st = scp03_plain_data(s, true, resp, body_len, plain, &plain_len);
	if (st != SCP03_OK)
		return scp03_abort(s, st);
	memcpy(out, plain, plain_len);
	out[plain_len] = sw_bytes[0];
	out[plain_len + 1] = sw_bytes[1];
	*out_len = plain_len + 2;
	s->response_due = false;
	crypto_wipe(plain, sizeof(plain));
	return SCP03_OK;
}
