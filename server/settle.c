/*
 * settle.c - merchants and settlement (settle.h).
 *
 * A chunk of records is settled in two passes: first the checks that need
 * no database (form, currency, merchant, certificate and signature), on
 * as many threads as asked, since ECDSA verification is most of the
 * work; then, in one transaction, what the books say (paid before, the
 * card known and not blocked, enough loaded), the records written, and one
 * posting per card and merchant.
 */
#include "settle.h"

#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cards.h"
#include "db.h"
#include "hex.h"
#include "ledger.h"
#include "utf8.h"
#include "web.h"	/* struct sb */

#define DEFAULT_CHUNK 1000
#define MAX_THREADS 16

static const char *const outcome_names[SETTLE_OUTCOMES] = {
	"paid", "duplicate", "malformed", "other-merchant", "no-such-merchant", "currency",
	FRAUD_FORGED, FRAUD_UNKNOWN, FRAUD_BLOCKED, FRAUD_OVERSPEND, FRAUD_CLONE,
};

const char *settle_outcome_name(enum settle_outcome o)
{
	return o < SETTLE_OUTCOMES ? outcome_names[o] : "?";
}

bool settle_name_ok(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n >= SETTLE_NAME_MAX || !utf8_valid((const uint8_t *)name, n))
		return false;
	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		if (*p < 0x20 || *p == 0x7F)
			return false;
	return true;
}

static void token_hash(const char *token, char out[2 * CRYPTO_SHA256_LEN + 1])
{
	uint8_t h[CRYPTO_SHA256_LEN];

	crypto_sha256(token, strlen(token), h);
	hex_encode(h, sizeof(h), out);
}

enum ec_status settle_merchant_add(struct store *st, const uint8_t ca_pub[CRYPTO_EC_PUB_LEN],
				   const char *name, const uint8_t cert[PURSE_CERT_LEN],
				   char token[2 * SETTLE_TOKEN_LEN + 1], struct ec_error *err)
{
	uint8_t id[PURSE_ID_LEN], pub[CRYPTO_EC_PUB_LEN], secret[SETTLE_TOKEN_LEN];
	char idhex[SETTLE_ID_HEX], certhex[2 * PURSE_CERT_LEN + 1], hash[2 * CRYPTO_SHA256_LEN + 1];
	char now[24];

	token[0] = '\0';
	if (!settle_name_ok(name))
		return ec_error_set(err, EC_ERR_ARG,
				    "a merchant's name is 1 to 80 characters of text, without control characters.");
	if (purse_cert_check(ca_pub, PURSE_CERT_MERCHANT, cert, id, pub) != 1)
		return ec_error_set(err, EC_ERR_CHECK,
				    "that is not a merchant certificate from this issuer's CA.");
	if (crypto_random(secret, sizeof(secret)) != 0)
		return ec_error_set(err, EC_ERR_CRYPTO, "the random generator failed.");
	hex_encode(secret, sizeof(secret), token);
	crypto_wipe(secret, sizeof(secret));
	token_hash(token, hash);
	hex_encode(id, sizeof(id), idhex);
	hex_encode(cert, PURSE_CERT_LEN, certhex);
	snprintf(now, sizeof(now), "%lld", db_now_ms());
	const char *p[] = { idhex, name, certhex, hash, now };
	enum ec_status s = store_exec(st,
				      "INSERT INTO merchants (id, name, certificate, token, created)"
				      " VALUES ($1, $2, $3, $4, $5)",
				      p, 5, NULL, err);
	if (s == EC_ERR_EXISTS)
		ec_error_set(err, EC_ERR_EXISTS, "merchant %s is onboarded already.", idhex);
	if (s != EC_OK)
		crypto_wipe(token, 2 * SETTLE_TOKEN_LEN + 1);
	return s;
}

#define MERCHANT_COLUMNS                                                                  \
	"m.id, m.name, m.created,"                                                          \
	" (SELECT balance FROM accounts WHERE name = 'merchant:' || m.id),"                 \
	" (SELECT count(*) FROM debits WHERE merchant = m.id AND state = 'paid')"

static void merchant_from_row(const struct store_result *r, size_t i, struct settle_merchant *m)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->id, sizeof(m->id), "%s", store_cell(r, i, 0) ? store_cell(r, i, 0) : "");
	snprintf(m->name, sizeof(m->name), "%s", store_cell(r, i, 1) ? store_cell(r, i, 1) : "");
	m->created = store_cell_ll(r, i, 2, 0);
	m->paid = store_cell_ll(r, i, 3, 0);
	m->records = store_cell_ll(r, i, 4, 0);
}

enum ec_status settle_merchant_by_token(struct store *st, const char *token,
					struct settle_merchant *out, struct ec_error *err)
{
	char hash[2 * CRYPTO_SHA256_LEN + 1];
	struct store_result r;

	if (!token || strlen(token) != 2 * SETTLE_TOKEN_LEN)
		return ec_error_set(err, EC_ERR_NOT_FOUND, "no merchant has that token.");
	/* Looked up by its hash: the token itself is never compared. */
	token_hash(token, hash);
	const char *p[] = { hash };
	enum ec_status s = store_exec(st, "SELECT " MERCHANT_COLUMNS " FROM merchants m WHERE m.token = $1",
				      p, 1, &r, err);
	if (s != EC_OK)
		return s;
	if (r.rows != 1) {
		store_result_free(&r);
		return ec_error_set(err, EC_ERR_NOT_FOUND, "no merchant has that token.");
	}
	merchant_from_row(&r, 0, out);
	store_result_free(&r);
	return EC_OK;
}

enum ec_status settle_merchants(struct store *st, struct settle_merchant **out, size_t *count,
				struct ec_error *err)
{
	struct store_result r;
	enum ec_status s = store_exec(st, "SELECT " MERCHANT_COLUMNS " FROM merchants m ORDER BY m.id",
				      NULL, 0, &r, err);

	*out = NULL;
	*count = 0;
	if (s != EC_OK)
		return s;
	*out = calloc(r.rows ? r.rows : 1, sizeof(**out));
	if (!*out) {
		store_result_free(&r);
		return ec_error_set(err, EC_ERR_FILE, "out of memory listing merchants.");
	}
	for (size_t i = 0; i < r.rows; i++)
		merchant_from_row(&r, i, &(*out)[i]);
	*count = r.rows;
	store_result_free(&r);
	return EC_OK;
}

/* ---- reading an upload ---- */

static bool hex_member(json_t *o, const char *key, uint8_t *out, size_t len)
{
	json_t *v = json_object_get(o, key);
	const char *s = json_is_string(v) ? json_string_value(v) : NULL;

	return s && strlen(s) == 2 * len && hex_decode(s, out, len) == (long)len;
}

static void read_item(json_t *o, struct settle_item *it)
{
	memset(it, 0, sizeof(*it));
	it->usable = json_is_object(o) && hex_member(o, "record", it->record, PURSE_DEBIT_RECORD_LEN) &&
		     hex_member(o, "signature", it->signature, CRYPTO_EC_SIG_LEN) &&
		     hex_member(o, "card_certificate", it->cert, PURSE_CERT_LEN);
}

static enum ec_status add_items(json_t *array, size_t max, struct settle_item **items,
				size_t *count, struct ec_error *err)
{
	size_t n = json_array_size(array);

	if (*count + n > max)
		return ec_error_set(err, EC_ERR_ARG, "more than %zu records in one upload.", max);
	struct settle_item *grown = realloc(*items, (*count + n + 1) * sizeof(**items));
	if (!grown)
		return ec_error_set(err, EC_ERR_FILE, "out of memory reading records.");
	*items = grown;
	for (size_t i = 0; i < n; i++)
		read_item(json_array_get(array, i), &grown[(*count)++]);
	return EC_OK;
}

enum ec_status settle_parse(const char *text, size_t len, size_t max, struct settle_item **items,
			    size_t *count, struct ec_error *err)
{
	size_t at = 0;
	enum ec_status s = EC_OK;

	*items = NULL;
	*count = 0;
	while (s == EC_OK) {
		while (at < len && strchr(" \t\r\n", text[at]))
			at++;
		if (at == len)
			break;
		json_error_t je;
		json_t *v = json_loadb(text + at, len - at, JSON_DISABLE_EOF_CHECK, &je);
		if (!v) {
			s = ec_error_set(err, EC_ERR_FORMAT, "the upload is not JSON (at byte %zu: %s).",
					 at + (size_t)je.position, je.text);
			break;
		}
		at += (size_t)je.position;
		json_t *records = json_is_object(v) ? json_object_get(v, "records") : NULL;
		if (json_is_array(v)) {
			s = add_items(v, max, items, count, err);
		} else if (json_is_array(records)) {
			s = add_items(records, max, items, count, err);
		} else if (json_is_object(v)) {
			json_t *one = json_array();
			json_array_append(one, v);
			s = add_items(one, max, items, count, err);
			json_decref(one);
		} else {
			s = ec_error_set(err, EC_ERR_FORMAT,
					 "the upload must be an array of records, {\"records\": [...]}, or one record a line.");
		}
		json_decref(v);
	}
	if (s == EC_OK && *count == 0 && !*items)
		*items = calloc(1, sizeof(**items));
	if (s != EC_OK || !*items) {
		free(*items);
		*items = NULL;
		*count = 0;
		if (s == EC_OK)
			s = ec_error_set(err, EC_ERR_FILE, "out of memory reading records.");
	}
	return s;
}

/* ---- first pass: the checks without the database ---- */

struct merchant_set {
	char (*ids)[SETTLE_ID_HEX];
	size_t n;
};

static int cmp_id(const void *a, const void *b)
{
	return strcmp(a, b);
}

static enum ec_status load_merchants(struct store *st, struct merchant_set *set,
				     struct ec_error *err)
{
	struct store_result r;
	enum ec_status s = store_exec(st, "SELECT id FROM merchants ORDER BY id", NULL, 0, &r, err);

	set->ids = NULL;
	set->n = 0;
	if (s != EC_OK)
		return s;
	set->ids = calloc(r.rows ? r.rows : 1, sizeof(*set->ids));
	if (!set->ids) {
		store_result_free(&r);
		return ec_error_set(err, EC_ERR_FILE, "out of memory reading merchants.");
	}
	for (size_t i = 0; i < r.rows; i++)
		snprintf(set->ids[i], SETTLE_ID_HEX, "%s", store_cell(&r, i, 0) ? store_cell(&r, i, 0) : "");
	set->n = r.rows;
	store_result_free(&r);
	qsort(set->ids, set->n, SETTLE_ID_HEX, cmp_id);
	return EC_OK;
}

/* The card certificates checked, per thread, with their keys ready to
 * verify: a place for each by a hash of the certificate, the newest one
 * kept where two meet. */
#define CERT_CACHE 4096

struct cert_cache {
	struct {
		uint8_t cert[PURSE_CERT_LEN];
		struct crypto_ec_verifier *key;	/* NULL: not a card certificate of the CA */
		bool used;
	} e[CERT_CACHE];
};

static void cert_cache_free(struct cert_cache *cc)
{
	for (size_t i = 0; i < CERT_CACHE; i++)
		crypto_ec_verifier_free(cc->e[i].key);
	free(cc);
}

/* The verifier of a certificate's key: NULL when the CA did not certify it
 * as a card's. */
static struct crypto_ec_verifier *cert_key(struct cert_cache *cc, const uint8_t *ca_pub,
					   const uint8_t *cert)
{
	/* FNV-1a of the CA's signature, which differs for every certificate. */
	uint32_t h = 2166136261u;
	for (size_t i = PURSE_CERT_LEN - CRYPTO_EC_SIG_LEN; i < PURSE_CERT_LEN; i++)
		h = (h ^ cert[i]) * 16777619u;
	size_t k = h % CERT_CACHE;
	if (cc->e[k].used && memcmp(cc->e[k].cert, cert, PURSE_CERT_LEN) == 0)
		return cc->e[k].key;
	uint8_t id[PURSE_ID_LEN], pub[CRYPTO_EC_PUB_LEN];
	crypto_ec_verifier_free(cc->e[k].key);
	cc->e[k].used = true;
	memcpy(cc->e[k].cert, cert, PURSE_CERT_LEN);
	cc->e[k].key = purse_cert_check(ca_pub, PURSE_CERT_CARD, cert, id, pub) == 1
			       ? crypto_ec_verifier_new(pub) : NULL;
	return cc->e[k].key;
}

struct check_job {
	struct cert_cache *cc;
	const struct settle_options *o;
	const struct merchant_set *merchants;
	const struct settle_item *items;
	enum settle_outcome *verdict;	/* SETTLE_PAID: passes the first pass */
	size_t from, to, step;
};

static enum settle_outcome check_one(const struct check_job *j, struct cert_cache *cc,
				     const struct settle_item *it)
{
	struct purse_debit_record rec;
	char merchant[SETTLE_ID_HEX];
	struct crypto_ec_verifier *key;

	if (!it->usable || !purse_debit_record_parse(it->record, PURSE_DEBIT_RECORD_LEN, &rec))
		return SETTLE_MALFORMED;
	if (rec.currency != j->o->currency)
		return SETTLE_CURRENCY;
	hex_encode(rec.merchant_id, PURSE_ID_LEN, merchant);
	if (j->o->merchant && strcmp(merchant, j->o->merchant) != 0)
		return SETTLE_OTHER_MERCHANT;
	if (!bsearch(merchant, j->merchants->ids, j->merchants->n, SETTLE_ID_HEX, cmp_id))
		return SETTLE_NO_MERCHANT;
	/* The certificate names the record's card, and the card signed it. */
	if (!(key = cert_key(cc, j->o->ca_pub, it->cert)) ||
	    memcmp(it->cert + PURSE_CERT_ID_OFF, rec.serial, PURSE_SERIAL_LEN) != 0 ||
	    purse_debit_record_verify_with(key, it->record, it->signature) != 1)
		return SETTLE_FORGED;
	return SETTLE_PAID;
}

static void *check_range(void *arg)
{
	struct check_job *j = arg;

	for (size_t i = j->from; i < j->to; i += j->step)
		j->verdict[i] = check_one(j, j->cc, &j->items[i]);
	return NULL;
}

/* The first pass of a chunk, on its own threads, while the caller goes on
 * (with the second pass of the chunk before). */
struct check_run {
	pthread_t th[MAX_THREADS];
	struct check_job jobs[MAX_THREADS];
	bool running[MAX_THREADS];
	unsigned t;
};

static void check_start(struct check_run *cr, struct cert_cache **caches,
			const struct settle_options *o, const struct merchant_set *merchants,
			const struct settle_item *items, size_t from, size_t to,
			enum settle_outcome *verdict)
{
	unsigned t = o->threads ? o->threads : 1;

	if (t > MAX_THREADS)
		t = MAX_THREADS;
	if (to - from < 64)
		t = 1;
	cr->t = t;
	for (unsigned k = 0; k < t; k++) {
		cr->jobs[k] = (struct check_job){ caches[k], o, merchants, items, verdict, from + k, to, t };
		cr->running[k] = pthread_create(&cr->th[k], NULL, check_range, &cr->jobs[k]) == 0;
		if (!cr->running[k])
			check_range(&cr->jobs[k]);	/* no thread: here, now */
	}
}

static void check_wait(struct check_run *cr)
{
	for (unsigned k = 0; k < cr->t; k++)
		if (cr->running[k])
			pthread_join(cr->th[k], NULL);
	cr->t = 0;
}

/* ---- second pass: the books ---- */

/* A card seen in a chunk: what the books let it spend, what it paid. */
struct card_seen {
	char serial[CARD_SERIAL_HEX];	/* "" a free place */
	enum settle_outcome hold;	/* SETTLE_PAID: may be paid */
	long long books;		/* left to pay from */
	long long paid;			/* in this chunk */
};

/* What a merchant is paid in a chunk. */
struct merchant_paid {
	char id[SETTLE_ID_HEX];
	long long amount;
};

struct pass {
	struct store *st;
	struct card_seen *cards;	/* open addressing, by the serial's hash */
	size_t capcards, ncards;
	struct merchant_paid *merchants;
	size_t nmerchants, capmerchants;
	char batch[33];
};

static size_t serial_hash(const char *serial)
{
	uint32_t h = 2166136261u;
	for (const char *c = serial; *c; c++)
		h = (h ^ (uint8_t)*c) * 16777619u;
	return h;
}

/* The chunk starts with nothing seen; room for chunk cards at most. */
static enum ec_status pass_reset(struct pass *p, size_t chunk, struct ec_error *err)
{
	size_t cap = 64;
	while (cap < 2 * chunk)
		cap *= 2;
	if (cap != p->capcards) {
		free(p->cards);
		p->cards = calloc(cap, sizeof(*p->cards));
		p->capcards = p->cards ? cap : 0;
		if (!p->cards)
			return ec_error_set(err, EC_ERR_FILE, "out of memory settling.");
	} else {
		memset(p->cards, 0, cap * sizeof(*p->cards));
	}
	p->ncards = 0;
	p->nmerchants = 0;
	return EC_OK;
}

/* The place of a card in the chunk's table (made empty if need be). */
static struct card_seen *card_slot(struct pass *p, const char *serial)
{
	size_t k = serial_hash(serial) & (p->capcards - 1);
	while (p->cards[k].serial[0] && strcmp(p->cards[k].serial, serial) != 0)
		k = (k + 1) & (p->capcards - 1);
	return &p->cards[k];
}

/*
 * Every card of the chunk's records that passed the first pass, with its
 * state and books, in one query: a card the issuer does not know stays
 * unknown.
 */
static enum ec_status cards_load(struct pass *p, const struct settle_item *items, size_t from,
				 size_t to, const enum settle_outcome *verdict, struct ec_error *err)
{
	struct sb list = { 0 };
	char serial[CARD_SERIAL_HEX];

	sb_put(&list, "[");
	for (size_t i = from; i < to; i++) {
		if (verdict[i] != SETTLE_PAID)
			continue;
		hex_encode(items[i].record, PURSE_SERIAL_LEN, serial);
		struct card_seen *c = card_slot(p, serial);
		if (c->serial[0])
			continue;
		snprintf(c->serial, sizeof(c->serial), "%s", serial);
		c->hold = SETTLE_UNKNOWN_CARD;
		p->ncards++;
		sb_printf(&list, "%s\"%s\"", p->ncards > 1 ? "," : "", serial);
	}
	sb_put(&list, "]");
	if (list.failed)
		return ec_error_set(err, EC_ERR_FILE, "out of memory settling.");
	struct store_result r;
	const char *pl[] = { list.text };
	enum ec_status s = store_exec(
		p->st,
		store_kind(p->st) == STORE_POSTGRESQL
			? "SELECT c.serial, c.state, a.balance FROM json_array_elements_text($1::json) AS j(v)"
			  " JOIN cards c ON c.serial = j.v LEFT JOIN accounts a ON a.name = 'card:' || c.serial"
			: "SELECT c.serial, c.state, a.balance FROM json_each($1) AS j"
			  " JOIN cards c ON c.serial = j.value LEFT JOIN accounts a ON a.name = 'card:' || c.serial",
		pl, 1, &r, err);
	free(list.text);
	if (s != EC_OK)
		return s;
	for (size_t i = 0; i < r.rows; i++) {
		const char *sv = store_cell(&r, i, 0), *state = store_cell(&r, i, 1);
		struct card_seen *c = sv ? card_slot(p, sv) : NULL;
		if (!c || !c->serial[0])
			continue;
		c->hold = state && strcmp(state, CARD_ACTIVE) == 0 ? SETTLE_PAID : SETTLE_BLOCKED_CARD;
		c->books = store_cell_ll(&r, i, 2, 0);
	}
	store_result_free(&r);
	return EC_OK;
}

static enum ec_status add_payment(struct pass *p, struct card_seen *card, const char *merchant,
				  long long amount, struct ec_error *err)
{
	card->books -= amount;
	card->paid += amount;
	for (size_t i = 0; i < p->nmerchants; i++)
		if (strcmp(p->merchants[i].id, merchant) == 0) {
			p->merchants[i].amount += amount;
			return EC_OK;
		}
	if (p->nmerchants == p->capmerchants) {
		size_t cap = p->capmerchants ? 2 * p->capmerchants : 16;
		struct merchant_paid *n = realloc(p->merchants, cap * sizeof(*n));
		if (!n)
			return ec_error_set(err, EC_ERR_FILE, "out of memory settling.");
		p->merchants = n;
		p->capmerchants = cap;
	}
	struct merchant_paid *m = &p->merchants[p->nmerchants++];
	snprintf(m->id, sizeof(m->id), "%s", merchant);
	m->amount = amount;
	return EC_OK;
}

static enum ec_status report_fraud(struct pass *p, enum settle_outcome why, const char *key_tail,
				   const struct settle_item *it, const struct purse_debit_record *rec,
				   const char *detail, struct ec_error *err)
{
	char key[160], serial[CARD_SERIAL_HEX], merchant[SETTLE_ID_HEX];
	char record[2 * PURSE_DEBIT_RECORD_LEN + 1], sig[2 * CRYPTO_EC_SIG_LEN + 1];
	char cert[2 * PURSE_CERT_LEN + 1];

	hex_encode(rec->serial, PURSE_SERIAL_LEN, serial);
	hex_encode(rec->merchant_id, PURSE_ID_LEN, merchant);
	hex_encode(it->record, PURSE_DEBIT_RECORD_LEN, record);
	hex_encode(it->signature, CRYPTO_EC_SIG_LEN, sig);
	hex_encode(it->cert, PURSE_CERT_LEN, cert);
	snprintf(key, sizeof(key), "%s/%s/%lu/%s", settle_outcome_name(why), serial,
		 (unsigned long)rec->counter, key_tail);
	struct fraud_entry e = { .kind = settle_outcome_name(why), .serial = serial,
				 .counter = rec->counter, .merchant = merchant, .amount = rec->amount,
				 .detail = detail, .record = record, .signature = sig,
				 .certificate = cert };
	return fraud_add(p->st, key, &e, err);
}

static const char *hold_detail(enum settle_outcome o)
{
	switch (o) {
	case SETTLE_UNKNOWN_CARD:
		return "a record of a card this issuer does not know: not paid";
	case SETTLE_BLOCKED_CARD:
		return "a record of a blocked card: not paid";
	case SETTLE_OVERSPEND:
		return "the card spends more than was loaded on it: not paid";
	default:
		return "";
	}
}

/* One record that passed the first pass. */
static enum ec_status settle_one(struct pass *p, const struct settle_item *it,
				 enum settle_outcome *out, long long *paid, struct ec_error *err)
{
	struct purse_debit_record rec;
	struct card_seen *card = NULL;
	char serial[CARD_SERIAL_HEX], merchant[SETTLE_ID_HEX], counter[16], amount[16], balance[16];
	char record[2 * PURSE_DEBIT_RECORD_LEN + 1], sig[2 * CRYPTO_EC_SIG_LEN + 1], now[24];
	struct store_result r;
	enum ec_status s;

	purse_debit_record_parse(it->record, PURSE_DEBIT_RECORD_LEN, &rec);
	hex_encode(rec.serial, PURSE_SERIAL_LEN, serial);
	hex_encode(rec.merchant_id, PURSE_ID_LEN, merchant);
	hex_encode(it->record, PURSE_DEBIT_RECORD_LEN, record);
	hex_encode(it->signature, CRYPTO_EC_SIG_LEN, sig);
	snprintf(counter, sizeof(counter), "%lu", (unsigned long)rec.counter);
	snprintf(amount, sizeof(amount), "%lu", (unsigned long)rec.amount);
	snprintf(balance, sizeof(balance), "%lu", (unsigned long)rec.balance);
	snprintf(now, sizeof(now), "%lld", db_now_ms());
	card = card_slot(p, serial);
	enum settle_outcome o = card->serial[0] ? card->hold : SETTLE_UNKNOWN_CARD;
	if (o == SETTLE_PAID && card->books < (long long)rec.amount)
		o = SETTLE_OVERSPEND;
	const char *state = o == SETTLE_PAID ? "paid" : settle_outcome_name(o);
	const char *pi[] = { serial, counter, merchant, amount, balance, record, sig, state, p->batch, now };
	s = store_exec(p->st,
		       "INSERT INTO debits (serial, counter, merchant, amount, balance, record,"
		       " signature, state, batch, created) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
		       " ON CONFLICT (serial, counter) DO NOTHING RETURNING counter",
		       pi, 10, &r, err);
	if (s != EC_OK)
		return s;
	bool fresh = r.rows == 1;
	store_result_free(&r);
	if (!fresh) {
		/* Its serial and counter came before: the same record, or a clone. */
		const char *ps[] = { serial, counter };
		s = store_exec(p->st, "SELECT record FROM debits WHERE serial = $1 AND counter = $2", ps,
			       2, &r, err);
		if (s != EC_OK)
			return s;
		bool same = store_cell(&r, 0, 0) && strcmp(store_cell(&r, 0, 0), record) == 0;
		store_result_free(&r);
		*out = same ? SETTLE_DUPLICATE : SETTLE_CLONE;
		if (same)
			return EC_OK;
		uint8_t h[CRYPTO_SHA256_LEN];
		char tail[2 * 8 + 1];
		crypto_sha256(it->record, PURSE_DEBIT_RECORD_LEN, h);
		hex_encode(h, 8, tail);
		return report_fraud(p, SETTLE_CLONE, tail, it, &rec,
				    "another record with the same card counter was paid: a cloned card", err);
	}
	*out = o;
	if (o != SETTLE_PAID)
		return report_fraud(p, o, "", it, &rec, hold_detail(o), err);
	*paid += rec.amount;
	return add_payment(p, card, merchant, rec.amount, err);
}

/* The chunk's payments in one posting: each card's total from its
 * account, each merchant's to its own. */
static enum ec_status post_payments(struct pass *p, struct ec_error *err)
{
	if (p->nmerchants == 0)
		return EC_OK;
	size_t max = p->ncards + p->nmerchants, n = 0;
	struct ledger_line *lines = calloc(max, sizeof(*lines));
	char (*names)[LEDGER_NAME_MAX] = calloc(max, sizeof(*names));
	enum ec_status s;

	if (!lines || !names) {
		s = ec_error_set(err, EC_ERR_FILE, "out of memory settling.");
		goto out;
	}
	for (size_t k = 0; k < p->capcards; k++)
		if (p->cards[k].serial[0] && p->cards[k].paid) {
			card_account(p->cards[k].serial, names[n]);
			lines[n].account = names[n];
			lines[n++].amount = -p->cards[k].paid;
		}
	for (size_t i = 0; i < p->nmerchants; i++) {
		snprintf(names[n], LEDGER_NAME_MAX, "merchant:%s", p->merchants[i].id);
		lines[n].account = names[n];
		lines[n++].amount = p->merchants[i].amount;
	}
	char ref[LEDGER_REF_MAX];
	snprintf(ref, sizeof(ref), "settle/%s", p->batch);
	s = ledger_post(p->st, ref, lines, n, NULL, err);
out:
	free(lines);
	free(names);
	return s;
}

static enum ec_status forged(struct pass *p, const struct settle_item *it, struct ec_error *err)
{
	struct purse_debit_record rec;
	uint8_t h[CRYPTO_SHA256_LEN];
	char tail[2 * 8 + 1];

	purse_debit_record_parse(it->record, PURSE_DEBIT_RECORD_LEN, &rec);
	crypto_sha256(it, offsetof(struct settle_item, usable), h);
	hex_encode(h, 8, tail);
	return report_fraud(p, SETTLE_FORGED, tail, it, &rec,
			    "the card certificate or the card's signature is not genuine: not paid", err);
}

static enum ec_status settle_chunk(struct pass *p, const struct settle_item *items, size_t from,
				   size_t to, enum settle_outcome *verdict,
				   struct settle_counts *counts, struct ec_error *err)
{
	uint8_t id[16];
	long long paid = 0;
	enum ec_status s;

	if (crypto_random(id, sizeof(id)) != 0)
		return ec_error_set(err, EC_ERR_CRYPTO, "the random generator failed.");
	hex_encode(id, sizeof(id), p->batch);
	if ((s = pass_reset(p, to - from, err)) != EC_OK || (s = store_begin(p->st, err)) != EC_OK)
		return s;
	s = cards_load(p, items, from, to, verdict, err);
	for (size_t i = from; i < to && s == EC_OK; i++) {
		if (verdict[i] == SETTLE_PAID)
			s = settle_one(p, &items[i], &verdict[i], &paid, err);
		else if (verdict[i] == SETTLE_FORGED)
			s = forged(p, &items[i], err);
	}
	if (s == EC_OK)
		s = post_payments(p, err);
	if (s == EC_OK)
		s = store_commit(p->st, err);
	if (s != EC_OK) {
		store_rollback(p->st);
		return s;
	}
	for (size_t i = from; i < to; i++)
		counts->outcome[verdict[i]]++;
	counts->records += to - from;
	counts->paid_amount += paid;
	return EC_OK;
}

enum ec_status settle_items(struct store *st, const struct settle_options *o,
			    const struct settle_item *items, size_t n, enum settle_outcome *outcomes,
			    struct settle_counts *counts, struct ec_error *err)
{
	struct merchant_set merchants;
	struct pass p = { .st = st };
	size_t chunk = o->chunk ? o->chunk : DEFAULT_CHUNK;
	enum settle_outcome *verdict = outcomes ? outcomes : calloc(n ? n : 1, sizeof(*verdict));
	enum ec_status s;

	struct cert_cache *caches[MAX_THREADS] = { 0 };
	unsigned threads = o->threads ? o->threads : 1;

	memset(counts, 0, sizeof(*counts));
	if (threads > MAX_THREADS)
		threads = MAX_THREADS;
	for (unsigned k = 0; k < threads; k++)
		caches[k] = calloc(1, sizeof(*caches[k]));
	bool have = verdict != NULL;
	for (unsigned k = 0; k < threads; k++)
		have = have && caches[k];
	s = have ? load_merchants(st, &merchants, err)
		 : ec_error_set(err, EC_ERR_FILE, "out of memory settling.");
	struct settle_options one = *o;
	one.threads = threads;
	/* The signatures of the next chunk are checked while the books take
	 * this one. */
	struct check_run next = { .t = 0 };
	if (s == EC_OK && n > 0) {
		check_start(&next, caches, &one, &merchants, items, 0, chunk < n ? chunk : n, verdict);
		check_wait(&next);
	}
	for (size_t from = 0; s == EC_OK && from < n; from += chunk) {
		size_t to = from + chunk < n ? from + chunk : n;
		if (to < n)
			check_start(&next, caches, &one, &merchants, items, to,
				    to + chunk < n ? to + chunk : n, verdict);
		s = settle_chunk(&p, items, from, to, verdict, counts, err);
		check_wait(&next);
	}
	for (unsigned k = 0; k < threads; k++)
		if (caches[k])
			cert_cache_free(caches[k]);
	if (have)
		free(merchants.ids);
	free(p.cards);
	free(p.merchants);
	if (verdict != outcomes)
		free(verdict);
	return s;
}
