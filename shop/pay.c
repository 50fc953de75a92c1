/*
 * pay.c - orders paid from the card through the holder's agent (pay.h).
 *
 * A payment session is one row of the payments table, locked for each
 * report: its state, the card it met, the signed DEBIT request it sent
 * (kept, so a request whose answer was lost is recognised in the card's
 * last transaction), the PIN tries the card last told, and the last
 * report's key and order (a report sent again gets the same order, and
 * nothing is done twice).
 */
#include "pay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "amount.h"
#include "crypto.h"
#include "cursor.h"
#include "db.h"
#include "hex.h"
#include "iso7816.h"
#include "purse.h"
#include "seram.h"
#include "shop.h"
#include "wallet.h"
#include "wallet_proto.h"

#define PAY_COLUMNS \
	"id, sale, customer, session, state, amount, se_id, serial, card_cert, request, counter_before," \
	" pin_tries, debits, unknown, message, last_key, last_order, expires"

#define DEBIT_ANSWER_LEN (PURSE_DEBIT_RECORD_LEN + CRYPTO_EC_SIG_LEN)

struct pay_row {
	long long id, sale, customer, amount, counter_before, expires;
	char session[SERAM_SESSION_ID_MAX + 1];
	char state[16];
	char se_id[SERAM_SE_ID_MAX + 1];
	char serial[2 * PURSE_SERIAL_LEN + 1];
	char card_cert[2 * PURSE_CERT_LEN + 1];
	char request[2 * PURSE_DEBIT_REQUEST_LEN + 1];
	int pin_tries;		/* -1: not known */
	int debits;
	bool unknown;		/* a DEBIT whose outcome is not known */
	char message[DB_MESSAGE_MAX];
	char last_key[SERAM_SESSION_ID_MAX + 1];
	char *last_order;
};

static void copy(char *out, size_t cap, const char *in)
{
	snprintf(out, cap, "%s", in ? in : "");
}

static void num(char *buf, size_t cap, long long v)
{
	snprintf(buf, cap, "%lld", v);
}

static void row_from(const struct store_result *r, size_t i, struct pay_row *p)
{
	memset(p, 0, sizeof(*p));
	p->id = store_cell_ll(r, i, 0, 0);
	p->sale = store_cell_ll(r, i, 1, 0);
	p->customer = store_cell_ll(r, i, 2, 0);
	copy(p->session, sizeof(p->session), store_cell(r, i, 3));
	copy(p->state, sizeof(p->state), store_cell(r, i, 4));
	p->amount = store_cell_ll(r, i, 5, 0);
	copy(p->se_id, sizeof(p->se_id), store_cell(r, i, 6));
	copy(p->serial, sizeof(p->serial), store_cell(r, i, 7));
	copy(p->card_cert, sizeof(p->card_cert), store_cell(r, i, 8));
	copy(p->request, sizeof(p->request), store_cell(r, i, 9));
	p->counter_before = store_cell_ll(r, i, 10, -1);
	p->pin_tries = (int)store_cell_ll(r, i, 11, -1);
	p->debits = (int)store_cell_ll(r, i, 12, 0);
	p->unknown = store_cell_ll(r, i, 13, 0) != 0;
	copy(p->message, sizeof(p->message), store_cell(r, i, 14));
	copy(p->last_key, sizeof(p->last_key), store_cell(r, i, 15));
	const char *o = store_cell(r, i, 16);
	p->last_order = o ? strdup(o) : NULL;
	p->expires = store_cell_ll(r, i, 17, 0);
}

static bool final(const char *state)
{
	return strcmp(state, PAY_PAID) == 0 || strcmp(state, PAY_FAILED) == 0;
}

/* ---- starting one ---- */

enum ec_status pay_start(struct store *st, const struct sale *sale, struct payment *out,
			 struct ec_error *err)
{
	char sid[37], id[24], cust[24], amount[24], now[24], exp[24];
	struct store_result r;

	if (strcmp(sale->state, SALE_AWAITING) != 0)
		return ec_error_set(err, EC_ERR_CHECK, "order %lld is %s, not awaiting payment.", sale->id,
				    sale->state);
	if (sale->total < 1 || sale->total > UINT32_MAX)
		return ec_error_set(err, EC_ERR_ARG, "order %lld's total cannot be paid by a card.", sale->id);
	if (seram_new_session_id(sid) != EC_OK)
		return ec_error_set(err, EC_ERR_CRYPTO, "the random generator failed.");
	long long t = db_now_ms();
	num(id, sizeof(id), sale->id);
	num(cust, sizeof(cust), sale->customer);
	num(amount, sizeof(amount), sale->total);
	num(now, sizeof(now), t);
	num(exp, sizeof(exp), t + PAY_SESSION_TTL_MS);
	const char *p[] = { id, cust, sid, PAY_WAITING, amount, now, exp };
	enum ec_status s = store_exec(st,
				      "INSERT INTO payments (sale, customer, session, state, amount, pin_tries, debits,"
				      " unknown, message, created, updated, expires)"
				      " VALUES ($1, $2, $3, $4, $5, -1, 0, 0, '', $6, $6, $7) RETURNING id",
				      p, 7, &r, err);
	if (s != EC_OK)
		return s;
	memset(out, 0, sizeof(*out));
	out->id = store_cell_ll(&r, 0, 0, 0);
	store_result_free(&r);
	out->sale = sale->id;
	copy(out->session, sizeof(out->session), sid);
	copy(out->state, sizeof(out->state), PAY_WAITING);
	return EC_OK;
}

enum ec_status pay_last(struct store *st, long long sale, struct payment *out,
			struct ec_error *err)
{
	char id[24];
	struct store_result r;
	num(id, sizeof(id), sale);
	const char *p[] = { id };
	enum ec_status s = store_exec(st,
				      "SELECT id, session, state, message FROM payments WHERE sale = $1"
				      " ORDER BY id DESC LIMIT 1",
				      p, 1, &r, err);
	if (s != EC_OK)
		return s;
	if (r.rows == 0) {
		store_result_free(&r);
		return ec_error_set(err, EC_ERR_NOT_FOUND, "order %lld has no payment session.", sale);
	}
	memset(out, 0, sizeof(*out));
	out->id = store_cell_ll(&r, 0, 0, 0);
	out->sale = sale;
	copy(out->session, sizeof(out->session), store_cell(&r, 0, 1));
	copy(out->state, sizeof(out->state), store_cell(&r, 0, 2));
	copy(out->message, sizeof(out->message), store_cell(&r, 0, 3));
	store_result_free(&r);
	return EC_OK;
}

/* ---- the SERAM side ---- */

static enum ec_status get_locked(struct store *st, const char *sid, struct pay_row *row,
				 struct ec_error *err)
{
	struct store_result r;
	const char *p[] = { sid };
	static const char *const sql[2] = {
		"SELECT " PAY_COLUMNS " FROM payments WHERE session = $1",
		"SELECT " PAY_COLUMNS " FROM payments WHERE session = $1 FOR UPDATE",
	};
	enum ec_status s = store_exec(st, sql[store_kind(st) == STORE_POSTGRESQL], p, 1, &r, err);
	if (s != EC_OK)
		return s;
	if (r.rows == 0) {
		store_result_free(&r);
		return ec_error_set(err, EC_ERR_NOT_FOUND, "there is no payment session %s.", sid);
	}
	row_from(&r, 0, row);
	store_result_free(&r);
	return EC_OK;
}

static enum ec_status save(struct store *st, const struct pay_row *row, struct ec_error *err)
{
	char id[24], cb[24], tries[24], debits[24], unknown[2], now[24];
	num(id, sizeof(id), row->id);
	num(cb, sizeof(cb), row->counter_before);
	num(tries, sizeof(tries), row->pin_tries);
	num(debits, sizeof(debits), row->debits);
	num(now, sizeof(now), db_now_ms());
	unknown[0] = row->unknown ? '1' : '0';
	unknown[1] = '\0';
	const char *p[] = { id, row->state, row->se_id, row->serial, row->card_cert, row->request, cb,
			    tries, debits, unknown, row->message, row->last_key, row->last_order, now };
	return store_write(st,
			   "UPDATE payments SET state = $2, se_id = $3, serial = $4, card_cert = $5,"
			   " request = $6, counter_before = CAST($7 AS BIGINT), pin_tries = CAST($8 AS INTEGER),"
			   " debits = CAST($9 AS INTEGER), unknown = CAST($10 AS INTEGER), message = $11,"
			   " last_key = $12, last_order = $13, updated = CAST($14 AS BIGINT) WHERE id = CAST($1 AS BIGINT)",
			   p, 14, err);
}

int pay_handshake(struct store *st, const struct pay_config *cfg, const char *session_id,
		  const char *body, size_t len, char **answer, struct ota_outcome *out,
		  struct ec_error *err)
{
	struct seram_handshake hs;
	struct pay_row row;
	int status = 500;

	(void)cfg;
	memset(out, 0, sizeof(*out));
	memset(&row, 0, sizeof(row));
	*answer = NULL;
	if (seram_handshake_parse(body, len, &hs, err) != EC_OK)
		return out->http_status = 400;
	if (!hs.offers_json || !hs.offers_https || !hs.offers_version) {
		ec_error_set(err, EC_ERR_ARG,
			     "the agent offers no data format, transport or version this shop speaks (application/json, HTTPS, 2.0.0).");
		return out->http_status = 406;
	}
	if (store_begin(st, err) != EC_OK)
		return out->http_status = 500;
	enum ec_status s = get_locked(st, session_id, &row, err);
	if (s != EC_OK) {
		status = s == EC_ERR_NOT_FOUND ? 404 : 500;
		goto done;
	}
	if (final(row.state) || row.expires < db_now_ms()) {
		ec_error_set(err, EC_ERR_NOT_FOUND, "payment session %s has ended.", session_id);
		status = 404;
		goto done;
	}
	/* The session is the card's that began it: another card coming back
	 * to it is refused. */
	if (row.se_id[0] && strcmp(row.se_id, hs.se[0].id) != 0) {
		ec_error_set(err, EC_ERR_EXISTS, "payment session %s belongs to another card.", session_id);
		status = 409;
		goto done;
	}
	copy(row.se_id, sizeof(row.se_id), hs.se[0].id);
	/* Back after a broken link or a card that failed: the card is asked
	 * where it stands before anything else. */
	if (strcmp(row.state, PAY_WAITING) != 0)
		copy(row.state, sizeof(row.state), row.unknown ? PAY_RECOVER : PAY_WAITING);
	row.last_key[0] = '\0';
	free(row.last_order);
	row.last_order = NULL;
	if ((s = save(st, &row, err)) != EC_OK || (s = store_commit(st, err)) != EC_OK) {
		status = 500;
		goto done;
	}
	free(row.last_order);
	struct seram_handshake_response r;
	snprintf(r.transport, sizeof(r.transport), SERAM_TRANSPORT_HTTPS);
	snprintf(r.format, sizeof(r.format), SERAM_FORMAT_JSON);
	snprintf(r.version, sizeof(r.version), SERAM_VERSION);
	*answer = seram_handshake_response_encode(&r);
	out->session_started = true;
	return out->http_status = *answer ? 200 : 500;
done:
	free(row.last_order);
	store_rollback(st);
	return out->http_status = status;
}

/* What one report brings and what its order will carry. */
struct step {
	struct store *st;
	const struct pay_config *cfg;
	struct pay_row *row;
	const struct seram_report *rep;
	struct seram_order order;
	struct ota_outcome *out;
};

static struct seram_apdu_list *se_command(struct step *c)
{
	struct seram_command *cmd = seram_order_add(&c->order, SERAM_CMD_SE_RAM);
	return cmd ? &cmd->apdus : NULL;
}

/* A notification for the agent: "pay/WHAT/TEXT". */
static void notify(struct step *c, const char *what, const char *text)
{
	char line[DB_MESSAGE_MAX + 64];
	struct seram_command *n = seram_order_add(&c->order, SERAM_CMD_NOTIFICATION);
	snprintf(line, sizeof(line), "pay/%s/%s", what, text);
	if (n)
		n->notification = strdup(line);
}

static void finish(struct step *c, const char *state, const char *message)
{
	copy(c->row->state, sizeof(c->row->state), state);
	copy(c->row->message, sizeof(c->row->message), message);
	notify(c, strcmp(state, PAY_PAID) == 0 ? "done" : "failed", message);
	seram_order_add(&c->order, SERAM_CMD_STOP);
	c->out->session_ended = true;
	c->out->session_failed = strcmp(state, PAY_PAID) != 0;
	copy(c->out->message, sizeof(c->out->message), message);
}

/* The answer i of seRamResponse k: its data (without SW), and its SW (0 none). */
static uint16_t answer_of(const struct seram_report *rep, size_t k, size_t i, const uint8_t **data,
			  size_t *len)
{
	*data = NULL;
	*len = 0;
	if (k >= rep->count || i >= rep->responses[k].count || rep->responses[k].items[i].len < 2)
		return 0;
	const struct seram_apdu *a = &rep->responses[k].items[i];
	*data = a->bytes;
	*len = a->len - 2;
	return (uint16_t)(a->bytes[a->len - 2] << 8 | a->bytes[a->len - 1]);
}

static enum ec_status add_select(struct seram_apdu_list *l)
{
	uint8_t select[5 + WALLET_AID_LEN + 1] = { 0x00, 0xA4, 0x04, 0x00, WALLET_AID_LEN };
	memcpy(select + 5, ec_wallet_aid, WALLET_AID_LEN);
	select[5 + WALLET_AID_LEN] = 0x00;
	return seram_apdu_list_add(l, select, sizeof(select));
}

static const uint8_t get_purse_data[] = { WALLET_CLA, WALLET_INS_GET_PURSE_DATA, 0x00, 0x00, 0x00 };
static const uint8_t get_cert[] = { WALLET_CLA, WALLET_INS_GET_CARD_CERTIFICATE, 0x00, 0x00, 0x00 };
static const uint8_t last_debit[] = { WALLET_CLA, WALLET_INS_GET_LAST_TRANSACTION, WALLET_LAST_DEBIT,
				      0x00, 0x00 };
static const uint8_t pin_status[] = { 0x00, ISO_INS_VERIFY, 0x00, ISO_PIN_REFERENCE };

/* Step 1: where the card stands (seRamCommands: [SELECT, PURSE DATA,
 * CERTIFICATE], [LAST DEBIT], [VERIFY without data]). */
static enum ec_status ask_card(struct step *c)
{
	struct seram_apdu_list *l = se_command(c);
	if (!l || add_select(l) != EC_OK || seram_apdu_list_add(l, get_purse_data, sizeof(get_purse_data)) != EC_OK ||
	    seram_apdu_list_add(l, get_cert, sizeof(get_cert)) != EC_OK)
		return EC_ERR_ARG;
	if (!(l = se_command(c)) || seram_apdu_list_add(l, last_debit, sizeof(last_debit)) != EC_OK)
		return EC_ERR_ARG;
	if (!(l = se_command(c)) || seram_apdu_list_add(l, pin_status, sizeof(pin_status)) != EC_OK)
		return EC_ERR_ARG;
	copy(c->row->state, sizeof(c->row->state), PAY_READING);
	return EC_OK;
}

/* Step 2: the PIN through the holder's agent, then DEBIT. */
static enum ec_status ask_debit(struct step *c)
{
	uint8_t cmd[5 + PURSE_DEBIT_REQUEST_LEN + 1] = { WALLET_CLA, WALLET_INS_DEBIT, 0x00, 0x00,
							 PURSE_DEBIT_REQUEST_LEN };
	if (hex_decode(c->row->request, cmd + 5, PURSE_DEBIT_REQUEST_LEN) != PURSE_DEBIT_REQUEST_LEN)
		return EC_ERR_FORMAT;
	cmd[sizeof(cmd) - 1] = 0x00;
	notify(c, "verify-pin", c->cfg->shop_name ? c->cfg->shop_name : "the shop");
	struct seram_apdu_list *l = se_command(c);
	if (!l || seram_apdu_list_add(l, cmd, sizeof(cmd)) != EC_OK)
		return EC_ERR_ARG;
	c->row->debits++;
	c->row->unknown = true;
	copy(c->row->state, sizeof(c->row->state), PAY_DEBIT);
	return EC_OK;
}

static bool request_of(const struct pay_row *row, struct purse_debit_request *req)
{
	uint8_t bytes[PURSE_DEBIT_REQUEST_LEN];
	return hex_decode(row->request, bytes, sizeof(bytes)) == PURSE_DEBIT_REQUEST_LEN &&
	       purse_debit_request_parse(bytes, sizeof(bytes), req);
}

/*
 * The card's signed record answers this payment's request: check it and
 * book it — the order paid, the record kept for settlement — or fail.
 */
static enum ec_status book(struct step *c, const uint8_t *answer, size_t len, bool recovered,
			   struct ec_error *err)
{
	struct purse_debit_request req;
	struct ec_payment pay;
	uint8_t serial[PURSE_SERIAL_LEN];
	char rec_hex[2 * PURSE_DEBIT_RECORD_LEN + 1], sig_hex[2 * CRYPTO_EC_SIG_LEN + 1];
	char sale[24], counter[24], amount[24], now[24];
	struct ec_error why;

	memset(&pay, 0, sizeof(pay));
	if (!request_of(c->row, &req) ||
	    hex_decode(c->row->serial, serial, sizeof(serial)) != PURSE_SERIAL_LEN ||
	    hex_decode(c->row->card_cert, pay.card_cert, PURSE_CERT_LEN) != PURSE_CERT_LEN)
		return ec_error_set(err, EC_ERR_FORMAT, "payment %lld's request is damaged.", c->row->id);
	if (ec_merchant_check_debit(c->cfg->merchant, serial, &req, answer, len, &pay, &why) != EC_OK) {
		if (!recovered) {
			/* Not the card's word (a relay altered it, or it was cut
			 * short): the card's own last transaction says whether
			 * it paid. */
			c->row->unknown = true;
			return ask_card(c) == EC_OK ? EC_OK : ec_error_set(err, EC_ERR_ARG, "out of memory.");
		}
		c->row->unknown = false;
		finish(c, PAY_FAILED, why.text);
		return EC_OK;
	}
	hex_encode(pay.record_bytes, PURSE_DEBIT_RECORD_LEN, rec_hex);
	hex_encode(pay.signature, CRYPTO_EC_SIG_LEN, sig_hex);
	num(sale, sizeof(sale), c->row->sale);
	num(counter, sizeof(counter), pay.record.counter);
	num(amount, sizeof(amount), pay.record.amount);
	num(now, sizeof(now), db_now_ms());
	const char *p[] = { c->row->serial, counter, sale, amount, rec_hex, sig_hex, c->row->card_cert, now };
	enum ec_status s = store_exec(c->st,
				      "INSERT INTO debit_records (serial, counter, sale, amount, record, signature,"
				      " card_cert, created) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
				      p, 8, NULL, err);
	if (s == EC_OK)
		s = sale_move(c->st, c->row->sale, SALE_AWAITING, SALE_PAID, err);
	if (s == EC_ERR_CHECK) {
		/* Paid by another session first, or cancelled while the
		 * card debited: the record stays, for the shop to refund. */
		c->row->unknown = false;
		finish(c, PAY_FAILED,
		       "the order was no longer awaiting payment when the card paid: the payment is kept for a refund.");
		return EC_OK;
	}
	if (s != EC_OK)
		return s;
	/* Earlier sessions of the order whose DEBIT was in doubt are settled. */
	const char *q[] = { sale };
	if ((s = store_write(c->st, "UPDATE payments SET unknown = 0 WHERE sale = $1", q, 1, err)) != EC_OK)
		return s;
	c->row->unknown = false;
	char msg[96];
	snprintf(msg, sizeof(msg), "paid by card %s, counter %u%s", c->row->serial, pay.record.counter,
		 recovered ? " (its answer was lost and read again from the card)" : "");
	finish(c, PAY_PAID, msg);
	return EC_OK;
}

/* Requests of earlier sessions of this order whose DEBIT is in doubt. */
static enum ec_status doubtful(struct store *st, const struct pay_row *row, struct store_result *r,
			       struct ec_error *err)
{
	char sale[24], id[24];
	num(sale, sizeof(sale), row->sale);
	num(id, sizeof(id), row->id);
	const char *p[] = { sale, id };
	return store_exec(st,
			  "SELECT request, serial, card_cert, counter_before FROM payments"
			  " WHERE sale = $1 AND unknown = 1 AND id <> CAST($2 AS BIGINT)",
			  p, 2, r, err);
}

/* Whether the card's last debit answers a request in doubt, this
 * session's or an earlier one's: then it is booked (*booked). */
static enum ec_status match_last(struct step *c, const uint8_t *data, size_t len, uint16_t sw,
				 bool *booked, struct ec_error *err)
{
	struct purse_debit_record rec;
	struct purse_debit_request req;
	struct store_result r;

	*booked = false;
	bool have = sw == 0x9000 && len == DEBIT_ANSWER_LEN &&
		    purse_debit_record_parse(data, PURSE_DEBIT_RECORD_LEN, &rec);
	if (c->row->unknown && have && request_of(c->row, &req) &&
	    memcmp(rec.challenge, req.challenge, PURSE_CHALLENGE_LEN) == 0) {
		*booked = true;
		return book(c, data, len, true, err);
	}
	enum ec_status s = doubtful(c->st, c->row, &r, err);
	if (s != EC_OK)
		return s;
	for (size_t i = 0; have && i < r.rows && !*booked; i++) {
		struct pay_row earlier = *c->row;
		copy(earlier.request, sizeof(earlier.request), store_cell(&r, i, 0));
		if (!request_of(&earlier, &req) ||
		    memcmp(rec.challenge, req.challenge, PURSE_CHALLENGE_LEN) != 0)
			continue;
		/* This session takes the earlier one's request, and books it. */
		copy(c->row->request, sizeof(c->row->request), earlier.request);
		copy(c->row->serial, sizeof(c->row->serial), store_cell(&r, i, 1));
		copy(c->row->card_cert, sizeof(c->row->card_cert), store_cell(&r, i, 2));
		*booked = true;
		s = book(c, data, len, true, err);
	}
	store_result_free(&r);
	return s;
}

static enum ec_status on_reading(struct step *c, struct ec_error *err)
{
	const struct seram_report *rep = c->rep;
	const uint8_t *data;
	size_t len;
	struct ec_purse_data pd;
	uint8_t cert[PURSE_CERT_LEN], id[PURSE_ID_LEN];
	char text[EC_AMOUNT_TEXT_MAX], have[EC_AMOUNT_TEXT_MAX], msg[DB_MESSAGE_MAX];
	struct ec_error why;

	uint16_t sw = answer_of(rep, 0, 0, &data, &len);
	if (sw != 0x9000) {
		finish(c, PAY_FAILED, sw ? "the card has no ecard wallet." : "the card did not answer.");
		return EC_OK;
	}
	sw = answer_of(rep, 0, 1, &data, &len);
	if (ec_wallet_purse_data_parse(data, len, sw, &pd, &why) != EC_OK) {
		finish(c, PAY_FAILED, why.text);
		return EC_OK;
	}
	sw = answer_of(rep, 0, 2, &data, &len);
	if (sw != 0x9000 || len != PURSE_CERT_LEN) {
		finish(c, PAY_FAILED, "the card gave no certificate.");
		return EC_OK;
	}
	memcpy(cert, data, PURSE_CERT_LEN);
	if (purse_cert_check(c->cfg->merchant->ca_pub, PURSE_CERT_CARD, cert, id, NULL) != 1 ||
	    memcmp(id, pd.serial, PURSE_SERIAL_LEN) != 0) {
		finish(c, PAY_FAILED, "the card is not one this shop's issuer certified: nothing was debited.");
		return EC_OK;
	}
	char serial_hex[2 * PURSE_SERIAL_LEN + 1];
	hex_encode(pd.serial, PURSE_SERIAL_LEN, serial_hex);
	if (c->row->serial[0] && strcmp(c->row->serial, serial_hex) != 0) {
		finish(c, PAY_FAILED, "another card came back to this payment: nothing was debited.");
		return EC_OK;
	}
	copy(c->row->serial, sizeof(c->row->serial), serial_hex);
	hex_encode(cert, PURSE_CERT_LEN, c->row->card_cert);

	/* A DEBIT in doubt, this session's or an earlier one's, first. */
	bool booked;
	sw = answer_of(rep, 1, 0, &data, &len);
	enum ec_status s = match_last(c, data, len, sw, &booked, err);
	if (s != EC_OK || booked)
		return s;
	if (c->row->unknown) {
		/* This session's DEBIT is not the card's last one: had it been
		 * done, the card's counter would have moved past it. */
		if (c->row->counter_before >= 0 && pd.counter > (uint32_t)c->row->counter_before) {
			c->row->unknown = true;
			finish(c, PAY_FAILED,
			       "the card has made other transactions since its DEBIT's answer was lost: the shop will check this payment with the issuer.");
			return EC_OK;
		}
		c->row->unknown = false;
	}

	uint16_t psw = answer_of(rep, 2, 0, &data, &len);
	if (psw == 0x6983 || psw == 0x63C0) {
		finish(c, PAY_FAILED, "the card's PIN is blocked: nothing was debited.");
		return EC_OK;
	}
	c->row->pin_tries = (psw & 0xFFF0) == 0x63C0 ? (psw & 0x0F) : -1;
	if (pd.currency != c->cfg->merchant->currency) {
		finish(c, PAY_FAILED, "the card's wallet is in another currency: nothing was debited.");
		return EC_OK;
	}
	if (pd.balance < (uint64_t)c->row->amount) {
		snprintf(msg, sizeof(msg), "the card holds %s, less than the %s to pay: nothing was debited.",
			 ec_amount_format(pd.balance, pd.currency, have, sizeof(have)),
			 ec_amount_format((uint32_t)c->row->amount, pd.currency, text, sizeof(text)));
		finish(c, PAY_FAILED, msg);
		return EC_OK;
	}
	/* The order may have been cancelled (or paid) meanwhile: then no
	 * DEBIT goes out. */
	char sale[24];
	struct store_result r;
	snprintf(sale, sizeof(sale), "%lld", c->row->sale);
	const char *q[] = { sale };
	enum ec_status qs = store_exec(c->st, "SELECT state FROM sales WHERE id = $1", q, 1, &r, err);
	if (qs != EC_OK)
		return qs;
	bool awaiting = r.rows == 1 && strcmp(store_cell(&r, 0, 0), SALE_AWAITING) == 0;
	store_result_free(&r);
	if (!awaiting) {
		finish(c, PAY_FAILED, "the order is no longer awaiting payment: nothing was debited.");
		return EC_OK;
	}
	c->row->counter_before = pd.counter;
	if (!c->row->request[0]) {
		struct purse_debit_request req;
		uint8_t bytes[PURSE_DEBIT_REQUEST_LEN];
		memset(&req, 0, sizeof(req));
		req.amount = (uint32_t)c->row->amount;
		req.currency = c->cfg->merchant->currency;
		memcpy(req.merchant_id, c->cfg->merchant->id, PURSE_ID_LEN);
		memcpy(req.cert, c->cfg->merchant->cert, PURSE_CERT_LEN);
		if (crypto_random(req.challenge, PURSE_CHALLENGE_LEN) != 0 ||
		    purse_debit_request_make(&req, c->cfg->merchant->priv, bytes) != 0)
			return ec_error_set(err, EC_ERR_CRYPTO, "making the signed debit request failed.");
		hex_encode(bytes, sizeof(bytes), c->row->request);
	}
	return ask_debit(c) == EC_OK ? EC_OK : ec_error_set(err, EC_ERR_ARG, "out of memory.");
}

static enum ec_status on_debit(struct step *c, struct ec_error *err)
{
	const uint8_t *data;
	size_t len;
	uint16_t sw = answer_of(c->rep, 0, 0, &data, &len);

	if (sw == 0x9000)
		return book(c, data, len, false, err);
	if (sw == 0) {
		/* No answer: the card failed or the agent could not reach it.
		 * Whether it debited is asked when the agent comes back. */
		seram_order_add(&c->order, SERAM_CMD_STOP);
		notify(c, "interrupted", "the card did not answer DEBIT");
		return EC_OK;
	}
	c->row->unknown = false;
	if (sw == 0x6982) {
		/* No fresh PIN: wrong, or not given. The tries left tell which. */
		struct seram_apdu_list *l = se_command(c);
		if (!l || seram_apdu_list_add(l, pin_status, sizeof(pin_status)) != EC_OK)
			return ec_error_set(err, EC_ERR_ARG, "out of memory.");
		copy(c->row->state, sizeof(c->row->state), PAY_PIN);
		return EC_OK;
	}
	char msg[120];
	if (sw == 0x6400)
		snprintf(msg, sizeof(msg), "the card holds too little: nothing was debited.");
	else if (sw == 0x6983)
		snprintf(msg, sizeof(msg), "the card's wallet or PIN is blocked: nothing was debited.");
	else
		snprintf(msg, sizeof(msg), "the card refused the payment (SW %04X): nothing was debited.", sw);
	finish(c, PAY_FAILED, msg);
	return EC_OK;
}

static enum ec_status on_pin(struct step *c, struct ec_error *err)
{
	const uint8_t *data;
	size_t len;
	uint16_t sw = answer_of(c->rep, 0, 0, &data, &len);
	int tries = (sw & 0xFFF0) == 0x63C0 ? (sw & 0x0F) : -1;

	(void)err;
	if (sw == 0x6983 || tries == 0) {
		finish(c, PAY_FAILED, "the PIN is blocked now: nothing was debited.");
		return EC_OK;
	}
	/* Fewer tries than before is a wrong PIN. So is a card that was
	 * verified in this session before (it answered 9000, tries not known)
	 * and is not any more: only a wrong VERIFY undoes it. A cancel sends
	 * no VERIFY and changes neither. */
	bool wrong = tries >= 0 && (c->row->pin_tries < 0 || tries < c->row->pin_tries);
	c->row->pin_tries = tries;
	if (!wrong) {
		finish(c, PAY_FAILED, "the holder did not give the PIN: nothing was debited.");
		return EC_OK;
	}
	if (c->row->debits >= PAY_DEBITS_MAX) {
		finish(c, PAY_FAILED, "the PIN was wrong too many times here: nothing was debited.");
		return EC_OK;
	}
	char msg[64];
	snprintf(msg, sizeof(msg), "wrong PIN, %d tries left", tries);
	copy(c->row->message, sizeof(c->row->message), msg);
	notify(c, "wrong-pin", msg);
	return ask_debit(c) == EC_OK ? EC_OK : ec_error_set(err, EC_ERR_ARG, "out of memory.");
}

static enum ec_status on_report(struct step *c, struct ec_error *err)
{
	const struct seram_report *rep = c->rep;

	if (rep->status == SERAM_UNAVAILABLE_SE || rep->status == SERAM_UNKNOWN_FAILURE ||
	    rep->status == SERAM_UNGRANTED_ACCESS) {
		/* The agent lost the card: it reconnects and comes back to the
		 * session, which then asks the card where it stands. */
		copy(c->row->state, sizeof(c->row->state), c->row->unknown ? PAY_RECOVER : PAY_WAITING);
		notify(c, "interrupted", rep->error ? rep->error : seram_status_name(rep->status));
		seram_order_add(&c->order, SERAM_CMD_STOP);
		return EC_OK;
	}
	if (strcmp(c->row->state, PAY_WAITING) == 0 || strcmp(c->row->state, PAY_RECOVER) == 0) {
		if (rep->count != 0) {
			ec_error_set(err, EC_ERR_ARG, "the report answers no order.");
			return EC_ERR_FORMAT;
		}
		seram_order_add(&c->order, SERAM_CMD_START);
		return ask_card(c) == EC_OK ? EC_OK : ec_error_set(err, EC_ERR_ARG, "out of memory.");
	}
	if (strcmp(c->row->state, PAY_READING) == 0)
		return on_reading(c, err);
	if (strcmp(c->row->state, PAY_DEBIT) == 0)
		return on_debit(c, err);
	if (strcmp(c->row->state, PAY_PIN) == 0)
		return on_pin(c, err);
	finish(c, PAY_FAILED, "the payment session is in an unknown state.");
	return EC_OK;
}

int pay_report(struct store *st, const struct pay_config *cfg, const char *session_id,
	       const char *report_key, const char *body, size_t len, char **answer,
	       struct ota_outcome *out, struct ec_error *err)
{
	struct seram_report rep;
	struct pay_row row;
	struct step c;
	int status = 500;

	memset(out, 0, sizeof(*out));
	memset(&row, 0, sizeof(row));
	*answer = NULL;
	if (!cfg->merchant) {
		ec_error_set(err, EC_ERR_NOT_FOUND, "this shop takes no card payments.");
		return out->http_status = 404;
	}
	if (seram_report_parse(body, len, &rep, err) != EC_OK) {
		seram_report_free(&rep);
		return out->http_status = 400;
	}
	for (size_t i = 0; i < rep.count; i++)
		out->apdus_in += rep.responses[i].count;
	if (store_begin(st, err) != EC_OK) {
		seram_report_free(&rep);
		return out->http_status = 500;
	}
	enum ec_status s = get_locked(st, session_id, &row, err);
	if (s != EC_OK) {
		status = s == EC_ERR_NOT_FOUND ? 404 : 500;
		goto fail;
	}
	const char *key = report_key ? report_key : "";
	if (key[0] && row.last_order && strcmp(row.last_key, key) == 0) {
		*answer = strdup(row.last_order);
		out->replayed = true;
		status = *answer ? 200 : 500;
		goto fail;	/* nothing to write */
	}
	if (final(row.state) || !row.se_id[0]) {
		ec_error_set(err, EC_ERR_NOT_FOUND, final(row.state) ? "payment session %s has ended."
								   : "payment session %s has had no handshake.",
			     session_id);
		status = 404;
		goto fail;
	}
	memset(&c, 0, sizeof(c));
	c.st = st;
	c.cfg = cfg;
	c.row = &row;
	c.rep = &rep;
	c.out = out;
	c.order.delay = 0;
	s = on_report(&c, err);
	if (s == EC_ERR_FORMAT) {
		status = 400;
		seram_order_free(&c.order);
		goto fail;
	}
	if (s == EC_OK) {
		*answer = seram_order_encode(&c.order);
		free(row.last_order);
		row.last_order = *answer ? strdup(*answer) : NULL;
		copy(row.last_key, sizeof(row.last_key), key);
		if (!*answer || !row.last_order)
			s = ec_error_set(err, EC_ERR_ARG, "out of memory.");
	}
	for (size_t i = 0; i < c.order.count; i++)
		if (c.order.commands[i].type == SERAM_CMD_SE_RAM)
			out->apdus_out += c.order.commands[i].apdus.count;
	seram_order_free(&c.order);
	if (s == EC_OK)
		s = save(st, &row, err);
	if (s == EC_OK)
		s = store_commit(st, err);
	else
		store_rollback(st);
	free(row.last_order);
	seram_report_free(&rep);
	if (s != EC_OK) {
		free(*answer);
		*answer = NULL;
		return out->http_status = 500;
	}
	return out->http_status = 200;
fail:
	free(row.last_order);
	store_rollback(st);
	seram_report_free(&rep);
	return out->http_status = status;
}

/* ---- settlement ---- */

enum ec_status pay_unsettled(struct store *st, size_t max, char **lines, size_t *count,
			     struct ec_error *err)
{
	char lim[24];
	struct store_result r;
	struct sb b = { 0 };
	num(lim, sizeof(lim), (long long)max);
	const char *p[] = { lim };
	enum ec_status s = store_exec(st,
				      "SELECT record, signature, card_cert FROM debit_records WHERE settled IS NULL"
				      " ORDER BY created, serial, counter LIMIT CAST($1 AS BIGINT)",
				      p, 1, &r, err);
	*lines = NULL;
	*count = 0;
	if (s != EC_OK)
		return s;
	sb_put(&b, "");
	for (size_t i = 0; i < r.rows; i++)
		sb_printf(&b, "{\"record\":\"%s\",\"signature\":\"%s\",\"card_certificate\":\"%s\"}\n",
			  store_cell(&r, i, 0), store_cell(&r, i, 1), store_cell(&r, i, 2));
	*count = r.rows;
	store_result_free(&r);
	if (b.failed)
		return ec_error_set(err, EC_ERR_FILE, "out of memory.");
	*lines = b.text;
	return EC_OK;
}

enum ec_status pay_mark_settled(struct store *st, const char *lines, struct ec_error *err)
{
	char now[24];
	num(now, sizeof(now), db_now_ms());
	enum ec_status s = store_begin(st, err);
	for (const char *l = lines; s == EC_OK && l && *l;) {
		const char *rec = strstr(l, "\"record\":\"");
		const char *end = strchr(l, '\n');
		if (!rec || (end && rec > end))
			break;
		char hex[2 * PURSE_DEBIT_RECORD_LEN + 1];
		snprintf(hex, sizeof(hex), "%.*s", 2 * PURSE_DEBIT_RECORD_LEN, rec + 10);
		const char *p[] = { hex, now };
		s = store_write(st, "UPDATE debit_records SET settled = CAST($2 AS BIGINT) WHERE record = $1",
				p, 2, err);
		l = end ? end + 1 : NULL;
	}
	if (s == EC_OK)
		return store_commit(st, err);
	store_rollback(st);
	return s;
}
