/*
 * exchange.c - one command to the card, its answer taken apart (see
 * exchange.h).
 */
#include "exchange.h"

#include <stdio.h>
#include <string.h>

#include "crypto.h"
#include "cursor.h"
#include "iso7816.h"

/* The answer in resp (n bytes, status word last) to the caller; resp is
 * wiped either way. */
static enum ec_status split_answer(const char *name, uint8_t *resp, size_t n, uint8_t *data,
				   size_t cap, size_t *data_len, uint16_t *sw,
				   struct ec_error *err)
{
	enum ec_status st = EC_OK;
	size_t len = n >= 2 ? n - 2 : 0;

	if (n < 2)
		st = ec_error_set(err, EC_ERR_BAD_RESPONSE,
				  "the card's answer to %s has no status word: the card or the reader is misbehaving.",
				  name);
	else if (len > 0 && data && len > cap)
		st = ec_error_set(err, EC_ERR_FORMAT,
				  "the card's answer to %s has %zu bytes, more than the %zu expected: is this the right card?",
				  name, len, cap);
	if (st == EC_OK) {
		*sw = ec_response_sw(resp, n);
		if (len > 0 && data)
			memcpy(data, resp, len);
		if (data_len)
			*data_len = data ? len : 0;
	}
	crypto_wipe(resp, n);
	return st;
}

/* A status word other than 9000 as an error (the answer's data void). */
static enum ec_status want_ok(enum ec_status st, const char *name, uint16_t sw,
			      size_t *data_len, struct ec_error *err)
{
	if (st != EC_OK || sw == SW_OK)
		return st;
	if (data_len)
		*data_len = 0;
	return ec_error_sw(err, name, sw);
}

enum ec_status ec_exchange(struct ec_pcsc *pc, const char *name, const uint8_t *cmd,
			   size_t cmd_len, uint8_t *data, size_t cap, size_t *data_len,
			   uint16_t *sw, struct ec_error *err)
{
	uint8_t resp[EC_EXCHANGE_RESP_MAX];
	size_t n = 0;

	*sw = 0;
	if (data_len)
		*data_len = 0;
	enum ec_status st = ec_transmit(pc, cmd, cmd_len, resp, sizeof(resp), &n);
	if (st == EC_ERR_BUFFER)
		return ec_error_set(err, EC_ERR_FORMAT,
				    "the card's answer to %s is longer than %d bytes, longer than any answer it should give: is this the right card?",
				    name, EC_EXCHANGE_RESP_MAX);
	if (st != EC_OK)
		return ec_error_transport(err, pc, st, name);
	return split_answer(name, resp, n, data, cap, data_len, sw, err);
}

enum ec_status ec_command(struct ec_pcsc *pc, const char *name, const uint8_t *cmd,
			  size_t cmd_len, uint8_t *data, size_t cap, size_t *data_len,
			  struct ec_error *err)
{
	uint16_t sw;
	enum ec_status st = ec_exchange(pc, name, cmd, cmd_len, data, cap, data_len, &sw, err);
	return want_ok(st, name, sw, data_len, err);
}

bool ec_is_link_failure(enum ec_status st)
{
	switch (st) {
	case EC_ERR_PCSC:
	case EC_ERR_NOT_CONNECTED:
	case EC_ERR_BUFFER:
	case EC_ERR_TOO_LONG:
	case EC_ERR_TOO_MANY_ROUNDS:
	case EC_ERR_BAD_RESPONSE:
	case EC_ERR_CARD_LOST:
		return true;
	default:
		return false;
	}
}

enum ec_status ec_gp_exchange(struct ec_gp_session *s, const char *name, const uint8_t *cmd,
			      size_t cmd_len, uint8_t *data, size_t cap, size_t *data_len,
			      uint16_t *sw, struct ec_error *err)
{
	uint8_t resp[EC_EXCHANGE_RESP_MAX];
	size_t n = 0;

	*sw = 0;
	if (data_len)
		*data_len = 0;
	if (!s || !s->open)
		return ec_error_set(err, EC_ERR_ARG,
				    "the secure channel is not open for %s: open it first.", name);
	struct ec_pcsc *pc = s->pc;	/* a failed exchange wipes the session */
	enum ec_status st = ec_gp_transmit(s, cmd, cmd_len, resp, sizeof(resp), &n, err);
	if (st != EC_OK) {
		/* The link's failures get a sentence naming the command. */
		if (ec_is_link_failure(st))
			ec_error_transport(err, pc, st, name);
		return st;
	}
	return split_answer(name, resp, n, data, cap, data_len, sw, err);
}

enum ec_status ec_gp_command(struct ec_gp_session *s, const char *name, const uint8_t *cmd,
			     size_t cmd_len, uint8_t *data, size_t cap, size_t *data_len,
			     struct ec_error *err)
{
	uint16_t sw;
	enum ec_status st = ec_gp_exchange(s, name, cmd, cmd_len, data, cap, data_len, &sw, err);
	return want_ok(st, name, sw, data_len, err);
}

enum ec_status ec_select(struct ec_pcsc *pc, uint8_t channel, const uint8_t *aid,
			 size_t aid_len, bool fci, const char *name, uint16_t *sw,
			 struct ec_error *err)
{
	uint8_t cmd[6 + ISO_AID_MAX];
	struct writer w;

	*sw = 0;
	if (channel > 19)
		return ec_error_set(err, EC_ERR_ARG, "logical channel %u does not exist: use 0 to 19.",
				    channel);
	if (aid_len > ISO_AID_MAX)
		return ec_error_set(err, EC_ERR_ARG, "an AID has at most 16 bytes.");
	writer_init(&w, cmd, sizeof(cmd));
	writer_u8(&w, iso_cla(0x00, channel));
	writer_u8(&w, ISO_INS_SELECT);
	writer_u8(&w, ISO_SELECT_BY_AID);
	writer_u8(&w, 0x00);	/* first or only occurrence, FCI */
	writer_u8(&w, (uint8_t)aid_len);
	writer_bytes(&w, aid, aid_len);
	if (fci)
		writer_u8(&w, 0x00);
	return ec_exchange(pc, name, cmd, w.len, NULL, 0, NULL, sw, err);
}

enum ec_status ec_select_app(struct ec_pcsc *pc, const uint8_t *aid, size_t aid_len,
			     const char *what, struct ec_error *err)
{
	char name[48];
	uint16_t sw;

	snprintf(name, sizeof(name), "SELECT %s", what);
	enum ec_status st = ec_select(pc, 0, aid, aid_len, false, name, &sw, err);
	if (st != EC_OK)
		return st;
	if (sw == SW_FILE_NOT_FOUND)
		return ec_error_card(err, sw,
				     "the card has no ecard %s application (SELECT answered SW 6A82): use a card made by ecard-vcard --new, or choose another card with --reader.",
				     what);
	if (sw != SW_OK)
		return ec_error_sw(err, name, sw);
	return EC_OK;
}
