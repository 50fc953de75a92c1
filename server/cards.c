/*
 * cards.c - the cards an issuer knows and the fraud report (cards.h).
 */
#include "cards.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ledger.h"
#include "ota.h"
#include "wallet_proto.h"

void card_account(const char *serial, char out[CARD_ACCOUNT_MAX])
{
	snprintf(out, CARD_ACCOUNT_MAX, "card:%s", serial);
}

bool card_serial_ok(const char *text)
{
	if (!text || strlen(text) != 2 * PURSE_SERIAL_LEN)
		return false;
	for (const char *p = text; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'F')))
			return false;
	return true;
}

static void num(char *buf, size_t cap, long long v)
{
	snprintf(buf, cap, "%lld", v);
}

/* Know a card; write (store_write) or exec, as the caller needs. */
static enum ec_status card_upsert(struct store *st, bool deferred, const char *serial,
				  const char *se_id, const char *certificate, long long holder,
				  struct ec_error *err)
{
	static const char sql[] =
		"INSERT INTO cards (serial, se_id, certificate, holder, state, created, updated)"
		" VALUES ($1, $2, $3, $4, $5, $6, $6)"
		" ON CONFLICT (serial) DO UPDATE SET"
		" se_id = COALESCE($2, cards.se_id),"
		" certificate = COALESCE($3, cards.certificate),"
		" holder = COALESCE($4, cards.holder), updated = $6";
	char now[24], h[24];

	if (!card_serial_ok(serial))
		return ec_error_set(err, EC_ERR_ARG, "\"%s\" is not a card serial (16 hex digits).", serial);
	num(now, sizeof(now), db_now_ms());
	num(h, sizeof(h), holder);
	const char *p[] = { serial, se_id && se_id[0] ? se_id : NULL, certificate, holder ? h : NULL,
			    CARD_ACTIVE, now };
	return deferred ? store_write(st, sql, p, 6, err) : store_exec(st, sql, p, 6, NULL, err);
}

enum ec_status cards_add(struct store *st, const char *serial, const char *se_id,
			 const char *certificate, long long holder, struct ec_error *err)
{
	return card_upsert(st, false, serial, se_id, certificate, holder, err);
}

enum ec_status cards_reported(struct store *st, const char *serial, const char *se_id,
			      uint32_t balance, uint32_t counter, struct ec_error *err)
{
	char now[24], b[24], c[24], account[CARD_ACCOUNT_MAX], key[64];
	enum ec_status s = card_upsert(st, true, serial, se_id, NULL, 0, err);

	if (s != EC_OK)
		return s;
	num(now, sizeof(now), db_now_ms());
	num(b, sizeof(b), balance);
	num(c, sizeof(c), counter);
	const char *p[] = { serial, b, c, now };
	/* Only a later counter replaces what is known: answers may come late. */
	s = store_write(st,
			"UPDATE cards SET balance = $2, counter = $3, reported = $4, updated = $4"
			" WHERE serial = $1 AND (counter IS NULL OR counter <= $3)",
			p, 4, err);
	if (s != EC_OK)
		return s;
	/* A card holding more than its books made money: reported once per
	 * counter, in the same exchange with the database as the rest. */
	card_account(serial, account);
	snprintf(key, sizeof(key), "%s/%s/%lu", FRAUD_BALANCE, serial, (unsigned long)counter);
	const char *pf[] = { key, FRAUD_BALANCE, serial, c, b, account, now, b, c };
	return store_write(st,
			   "INSERT INTO fraud (key, kind, serial, counter, amount, detail, created)"
			   " SELECT $1, $2, $3, CAST($4 AS BIGINT),"
			   " CAST($5 AS BIGINT) - COALESCE(a.balance, 0),"
			   " 'the card holds ' || $8 || ' at counter ' || $9 || ', its books only '"
			   " || COALESCE(a.balance, 0) || ': it made money', CAST($7 AS BIGINT)"
			   " FROM (SELECT 1 AS one) AS card LEFT JOIN accounts a ON a.name = $6"
			   " WHERE COALESCE(a.balance, 0) < CAST($5 AS BIGINT)"
			   " ON CONFLICT (key) DO NOTHING",
			   pf, 9, err);
}

enum ec_status cards_load_booked(struct store *st, const char *serial, uint32_t counter,
				 uint32_t amount, long long job, struct ec_error *err)
{
	char now[24], c[24], a[24], j[24];

	num(now, sizeof(now), db_now_ms());
	num(c, sizeof(c), counter);
	num(a, sizeof(a), amount);
	num(j, sizeof(j), job);
	const char *p[] = { serial, c, a, job ? j : NULL, now };
	return store_write(st,
			   "INSERT INTO card_loads (serial, counter, amount, job, created)"
			   " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (serial, counter) DO NOTHING",
			   p, 5, err);
}

#define CARD_COLUMNS                                                                         \
	"c.serial, c.se_id, c.holder, c.state, c.balance, c.counter, c.reported,"             \
	" (SELECT balance FROM accounts WHERE name = 'card:' || c.serial),"                    \
	" (SELECT COALESCE(sum(amount), 0) FROM card_loads WHERE serial = c.serial),"          \
	" (SELECT count(*) FROM card_loads WHERE serial = c.serial),"                          \
	" (SELECT COALESCE(sum(amount), 0) FROM debits WHERE serial = c.serial"                \
	"  AND state = 'paid'),"                                                               \
	" (SELECT COALESCE(sum(amount), 0) FROM debits WHERE serial = c.serial"                \
	"  AND state <> 'paid'),"                                                               \
	" (SELECT count(*) FROM debits WHERE serial = c.serial),"                               \
	" (SELECT COALESCE(max(counter), 0) FROM debits WHERE serial = c.serial)"

static void card_from_row(const struct store_result *r, size_t i, struct card_info *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->serial, sizeof(c->serial), "%s", store_cell(r, i, 0) ? store_cell(r, i, 0) : "");
	snprintf(c->se_id, sizeof(c->se_id), "%s", store_cell(r, i, 1) ? store_cell(r, i, 1) : "");
	c->holder = store_cell_ll(r, i, 2, 0);
	snprintf(c->state, sizeof(c->state), "%s", store_cell(r, i, 3) ? store_cell(r, i, 3) : "");
	c->reported = store_cell(r, i, 4) != NULL;
	c->balance = store_cell_ll(r, i, 4, 0);
	c->counter = store_cell_ll(r, i, 5, 0);
	c->reported_at = store_cell_ll(r, i, 6, 0);
	c->books = store_cell_ll(r, i, 7, 0);
	c->loaded = store_cell_ll(r, i, 8, 0);
	c->loads = store_cell_ll(r, i, 9, 0);
	c->settled = store_cell_ll(r, i, 10, 0);
	c->held = store_cell_ll(r, i, 11, 0);
	c->debits = store_cell_ll(r, i, 12, 0);
	c->last_debit = store_cell_ll(r, i, 13, 0);
}

long long card_unsettled(const struct card_info *c)
{
	if (!c->reported || c->counter < c->last_debit)
		return -1;
	return c->books - c->balance;
}

enum ec_status cards_get(struct store *st, const char *serial, struct card_info *out,
			 struct ec_error *err)
{
	struct store_result r;
	const char *p[] = { serial };
	enum ec_status s = store_exec(st, "SELECT " CARD_COLUMNS " FROM cards c WHERE c.serial = $1",
				      p, 1, &r, err);

	if (s != EC_OK)
		return s;
	if (r.rows == 0) {
		store_result_free(&r);
		return ec_error_set(err, EC_ERR_NOT_FOUND, "no card %s is known.", serial);
	}
	card_from_row(&r, 0, out);
	store_result_free(&r);
	return EC_OK;
}

enum ec_status cards_list(struct store *st, long long holder, struct card_info **out,
			  size_t *count, struct ec_error *err)
{
	struct store_result r;
	char h[24];
	const char *p[] = { h };
	enum ec_status s;

	*out = NULL;
	*count = 0;
	num(h, sizeof(h), holder);
	if (holder)
		s = store_exec(st, "SELECT " CARD_COLUMNS " FROM cards c WHERE c.holder = $1"
				   " ORDER BY c.serial", p, 1, &r, err);
	else
		s = store_exec(st, "SELECT " CARD_COLUMNS " FROM cards c ORDER BY c.serial", NULL, 0,
			       &r, err);
	if (s != EC_OK)
		return s;
	*out = calloc(r.rows ? r.rows : 1, sizeof(**out));
	if (!*out) {
		store_result_free(&r);
		return ec_error_set(err, EC_ERR_FILE, "out of memory listing cards.");
	}
	for (size_t i = 0; i < r.rows; i++)
		card_from_row(&r, i, &(*out)[i]);
	*count = r.rows;
	store_result_free(&r);
	return EC_OK;
}

enum ec_status cards_set_blocked(struct store *st, const char *serial, bool blocked,
				 long long *lock_job, struct ec_error *err)
{
	struct card_info c;
	char now[24];
	enum ec_status s = cards_get(st, serial, &c, err);

	if (lock_job)
		*lock_job = 0;
	if (s != EC_OK)
		return s;
	num(now, sizeof(now), db_now_ms());
	const char *p[] = { serial, blocked ? CARD_BLOCKED : CARD_ACTIVE, now };
	if ((s = store_exec(st, "UPDATE cards SET state = $2, updated = $3 WHERE serial = $1", p, 3,
			    NULL, err)) != EC_OK)
		return s;
	static const uint8_t wallet[] = { WALLET_AID };
	if (!c.se_id[0])
		return EC_OK;
	if (blocked && strcmp(c.state, CARD_BLOCKED) != 0)
		return ota_add_lock(st, c.se_id, wallet, sizeof(wallet), true, lock_job, err);
	if (!blocked && strcmp(c.state, CARD_BLOCKED) == 0)
		return ota_add_lock(st, c.se_id, wallet, sizeof(wallet), false, lock_job, err);
	return EC_OK;
}

/* ---- the fraud report ---- */

enum ec_status fraud_add(struct store *st, const char *key, const struct fraud_entry *e,
			 struct ec_error *err)
{
	char now[24], counter[24], amount[24];

	num(now, sizeof(now), db_now_ms());
	num(counter, sizeof(counter), e->counter);
	num(amount, sizeof(amount), e->amount);
	const char *p[] = { key, e->kind, e->serial, e->counter >= 0 ? counter : NULL, e->merchant,
			    e->amount >= 0 ? amount : NULL, e->detail, e->record, e->signature,
			    e->certificate, now };
	return store_write(st,
			   "INSERT INTO fraud (key, kind, serial, counter, merchant, amount, detail,"
			   " record, signature, certificate, created)"
			   " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
			   " ON CONFLICT (key) DO NOTHING",
			   p, 11, err);
}

static void set_text(json_t *o, const char *key, const char *v)
{
	json_object_set_new(o, key, v ? json_string(v) : json_null());
}

static void set_int(json_t *o, const char *key, const char *v)
{
	json_object_set_new(o, key, v ? json_integer(strtoll(v, NULL, 10)) : json_null());
}

static enum ec_status stored_entries(struct store *st, const char *serial, json_t *list,
				     struct ec_error *err)
{
	struct store_result r;
	const char *p[] = { serial };
	enum ec_status s = store_exec(st,
				      "SELECT id, kind, serial, counter, merchant, amount, detail, record,"
				      " signature, certificate, created FROM fraud"
				      " WHERE $1 IS NULL OR serial = $1 ORDER BY id DESC",
				      p, 1, &r, err);

	if (s != EC_OK)
		return s;
	for (size_t i = 0; i < r.rows; i++) {
		json_t *o = json_object();
		set_int(o, "id", store_cell(&r, i, 0));
		set_text(o, "kind", store_cell(&r, i, 1));
		set_text(o, "serial", store_cell(&r, i, 2));
		set_int(o, "counter", store_cell(&r, i, 3));
		set_text(o, "merchant", store_cell(&r, i, 4));
		set_int(o, "amount_minor", store_cell(&r, i, 5));
		set_text(o, "detail", store_cell(&r, i, 6));
		set_text(o, "record", store_cell(&r, i, 7));
		set_text(o, "signature", store_cell(&r, i, 8));
		set_text(o, "card_certificate", store_cell(&r, i, 9));
		set_int(o, "created", store_cell(&r, i, 10));
		json_array_append_new(list, o);
	}
	store_result_free(&r);
	return EC_OK;
}

/* Gaps in one card's counters: the rows are its counters, ascending. */
static void card_gaps(const char *serial, const struct store_result *r, size_t from, size_t to,
		      json_t *list)
{
	long long expect = 1;

	for (size_t i = from; i < to; i++) {
		long long c = store_cell_ll(r, i, 1, 0);
		if (c > expect) {
			char detail[160];
			json_t *o = json_object();
			snprintf(detail, sizeof(detail),
				 "counters %lld to %lld: no load or settled purchase (not settled yet, or lost)",
				 expect, c - 1);
			json_object_set_new(o, "kind", json_string(FRAUD_GAP));
			json_object_set_new(o, "serial", json_string(serial));
			json_object_set_new(o, "counter", json_integer(expect));
			json_object_set_new(o, "missing", json_integer(c - expect));
			json_object_set_new(o, "detail", json_string(detail));
			json_array_append_new(list, o);
		}
		if (c >= expect)
			expect = c + 1;
	}
}

static enum ec_status gaps(struct store *st, const char *serial, json_t *list,
			   struct ec_error *err)
{
	struct store_result r;
	const char *p[] = { serial };
	enum ec_status s = store_exec(st,
				      "SELECT serial, counter FROM ("
				      " SELECT serial, counter FROM card_loads"
				      " UNION SELECT serial, counter FROM debits) AS known"
				      " WHERE $1 IS NULL OR serial = $1 ORDER BY serial, counter",
				      p, 1, &r, err);

	if (s != EC_OK)
		return s;
	for (size_t i = 0; i < r.rows;) {
		size_t j = i;
		const char *card = store_cell(&r, i, 0) ? store_cell(&r, i, 0) : "";
		while (j < r.rows && strcmp(store_cell(&r, j, 0) ? store_cell(&r, j, 0) : "", card) == 0)
			j++;
		card_gaps(card, &r, i, j, list);
		i = j;
	}
	store_result_free(&r);
	return EC_OK;
}

enum ec_status fraud_report(struct store *st, const char *serial, char **json, size_t *entries,
			    struct ec_error *err)
{
	json_t *list = json_array();
	enum ec_status s;

	*json = NULL;
	if (!list)
		return ec_error_set(err, EC_ERR_FILE, "out of memory making the fraud report.");
	if ((s = stored_entries(st, serial, list, err)) != EC_OK ||
	    (s = gaps(st, serial, list, err)) != EC_OK) {
		json_decref(list);
		return s;
	}
	if (entries)
		*entries = json_array_size(list);
	*json = json_dumps(list, JSON_COMPACT);
	json_decref(list);
	if (!*json)
		return ec_error_set(err, EC_ERR_FILE, "out of memory making the fraud report.");
	return EC_OK;
}
