/*
 * test_settle.c - the issuer centre's merchants, settlement and fraud
 * report (server/settle.h, server/cards.h), on an SQLite store, with debit
 * records signed by real wallets in memory: a soak of 10,000 purchases
 * uploaded in overlapping halves and again whole is paid exactly once, and
 * every forged, cloned, overspending, unknown-card and blocked-card record
 * ends up in the fraud report, once.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "applets.h"
#include "cards.h"
#include "db.h"
#include "hex.h"
#include "host_fixture.h"
#include "inproc.h"
#include "issuer.h"
#include "ledger.h"
#include "merchant.h"
#include "perso.h"
#include "settle.h"
#include "store.h"
#include "test_support.h"
#include "wallet.h"

#define EUR 978

static struct ec_issuer issuer;
static struct store *db;
static struct ec_merchant shop_a, shop_b;
static char token_a[2 * SETTLE_TOKEN_LEN + 1], token_b[2 * SETTLE_TOKEN_LEN + 1];

static const uint8_t id_a[PURSE_ID_LEN] = { 0x53, 0x48, 0x4F, 0x50, 0x00, 0x00, 0x00, 0x0A };
static const uint8_t id_b[PURSE_ID_LEN] = { 0x53, 0x48, 0x4F, 0x50, 0x00, 0x00, 0x00, 0x0B };

static void make_merchant(const uint8_t id[PURSE_ID_LEN], const char *file, const char *name,
			  struct ec_merchant *m, char *token)
{
	struct ec_error err = { 0 };
	char path[256];

	ts_tmp_path(path, sizeof(path), file);
	cr_assert_eq(ec_merchant_init(&issuer, id, path, &err), EC_OK, "%s", err.text);
	cr_assert_eq(ec_merchant_load(path, m, &err), EC_OK, "%s", err.text);
	cr_assert_eq(settle_merchant_add(db, issuer.ca_pub, name, m->cert, token, &err), EC_OK, "%s",
		     err.text);
}

static void setup(void)
{
	struct ec_error err = { 0 };
	char dir[256], url[300];

	ts_tmpdir_init();
	ts_issuer_new("issuer", &issuer, dir, sizeof(dir));
	snprintf(url, sizeof(url), "sqlite:%s/centre.db", ts_tmpdir());
	cr_assert_eq(store_open(url, &db, &err), EC_OK, "%s", err.text);
	cr_assert_eq(db_migrate(db, &err), EC_OK, "%s", err.text);
	make_merchant(id_a, "a.merchant", "Shop A", &shop_a, token_a);
	make_merchant(id_b, "b.merchant", "Shop <B> & 'Sons'", &shop_b, token_b);
}

static void teardown(void)
{
	store_close(db);
	ec_merchant_wipe(&shop_a);
	ec_merchant_wipe(&shop_b);
	ec_issuer_wipe(&issuer);
	ts_tmpdir_fini();
}

TestSuite(settle, .init = setup, .fini = teardown, .timeout = 240);

static const char *shop_a_id(void)
{
	static char hex[SETTLE_ID_HEX];
	hex_encode(id_a, PURSE_ID_LEN, hex);
	return hex;
}

static const char *shop_b_id(void)
{
	static char hex[SETTLE_ID_HEX];
	hex_encode(id_b, PURSE_ID_LEN, hex);
	return hex;
}

/* ---- cards ---- */

/* A card the issuer personalized, and its serial in hex. */
static void issue(struct ts_card *c, char serial[CARD_SERIAL_HEX])
{
	struct ec_error err = { 0 };
	struct ec_gp_keys test;
	struct ec_purse_data pd;

	ts_card_open(c, 0, NULL);
	ec_gp_default_keys(&test, 0);
	cr_assert_eq(ec_personalize(&issuer, &c->pc, NULL, &test, NULL, NULL, &err), EC_OK, "%s",
		     err.text);
	cr_assert_eq(ec_wallet_select(&c->pc, &err), EC_OK, "%s", err.text);
	cr_assert_eq(ec_wallet_purse_data(&c->pc, &pd, &err), EC_OK, "%s", err.text);
	hex_encode(pd.serial, PURSE_SERIAL_LEN, serial);
}

/* A copy of card src in dst: the same keys, counter and balance. */
static void clone_card(struct ts_card *src, struct ts_card *dst)
{
	ts_card_open(dst, 0, NULL);
	vc_card_free(&dst->card);
	memcpy(vc_storage_mem_bytes(dst->storage), vc_storage_mem_bytes(src->storage),
	       256u * 1024u);
	vc_card_init(&dst->card, dst->storage, NULL);
	for (size_t i = 0; i < ecard_applet_count; i++)
		cr_assert_eq(vc_card_register(&dst->card, ecard_applets[i]), VC_OK);
	cr_assert_eq(vc_card_power_up(&dst->card), VC_OK);
	vc_inproc_attach(&dst->pc, &dst->card);
}

/*
 * Load amount on the card with the issuer's keys and, when booked, book it
 * as the server does when a top-up's receipt comes: from the issuer's
 * grants to card:SERIAL, the load's counter, the card's balance.
 */
static void load(struct ts_card *c, const char *serial, uint32_t amount, bool booked)
{
	struct ec_error err = { 0 };
	struct ec_load_result res;

	cr_assert_eq(ec_wallet_load(&c->pc, &issuer, amount, &res, &err), EC_OK, "%s", err.text);
	if (!booked)
		return;
	char ref[64], account[CARD_ACCOUNT_MAX];
	snprintf(ref, sizeof(ref), "test-load/%s/%lu", serial, (unsigned long)res.counter);
	card_account(serial, account);
	struct ledger_line l[2] = { { LEDGER_GRANTS, -(long long)amount }, { account, amount } };
	cr_assert_eq(store_begin(db, &err), EC_OK, "%s", err.text);
	cr_assert_eq(ledger_post(db, ref, l, 2, NULL, &err), EC_OK, "%s", err.text);
	cr_assert_eq(cards_load_booked(db, serial, res.counter, amount, 0, &err), EC_OK, "%s", err.text);
	cr_assert_eq(cards_reported(db, serial, NULL, res.balance, res.counter, &err), EC_OK, "%s",
		     err.text);
	cr_assert_eq(store_commit(db, &err), EC_OK, "%s", err.text);
}

static int pin_1234(void *arg, char pin[EC_PIN_TEXT_MAX], struct ec_error *err)
{
	(void)arg;
	(void)err;
	snprintf(pin, EC_PIN_TEXT_MAX, "1234");
	return 0;
}

/* ---- records ---- */

struct file {
	char *text;
	size_t len, cap;
	size_t lines;
};

static void put_line(struct file *f, const char *line)
{
	size_t n = strlen(line);
	if (f->len + n + 2 > f->cap) {
		f->cap = 2 * (f->len + n + 2);
		f->text = realloc(f->text, f->cap);
		cr_assert_not_null(f->text);
	}
	memcpy(f->text + f->len, line, n);
	f->len += n;
	f->text[f->len++] = '\n';
	f->text[f->len] = '\0';
	f->lines++;
}

/* A payment's record as `ecard pay --json` prints it (the members settle
 * reads, and one it does not). */
static void put_payment(struct file *f, const struct ec_payment *p)
{
	char rec[2 * PURSE_DEBIT_RECORD_LEN + 1], sig[2 * CRYPTO_EC_SIG_LEN + 1];
	char cert[2 * PURSE_CERT_LEN + 1], line[1024];

	hex_encode(p->record_bytes, PURSE_DEBIT_RECORD_LEN, rec);
	hex_encode(p->signature, CRYPTO_EC_SIG_LEN, sig);
	hex_encode(p->card_cert, PURSE_CERT_LEN, cert);
	snprintf(line, sizeof(line),
		 "{\"counter\": %lu, \"record\": \"%s\", \"signature\": \"%s\", \"card_certificate\": \"%s\", \"recovered\": false}",
		 (unsigned long)p->record.counter, rec, sig, cert);
	put_line(f, line);
}

static struct ec_payment pay(struct ts_card *c, const struct ec_merchant *m, uint32_t amount)
{
	struct ec_error err = { 0 };
	struct ec_payment p;
	cr_assert_eq(ec_merchant_pay(m, &c->pc, amount, EUR, pin_1234, NULL, &p, &err), EC_OK, "%s",
		     err.text);
	return p;
}

/* Settle text (a slice of lines of f) as merchant (NULL: staff). */
static struct settle_counts upload(const char *text, size_t len, const char *merchant)
{
	struct ec_error err = { 0 };
	struct settle_item *items;
	size_t n;
	struct settle_counts counts;
	struct settle_options o = { .ca_pub = issuer.ca_pub, .currency = EUR, .merchant = merchant,
				    .threads = 2, .chunk = 700 };

	cr_assert_eq(settle_parse(text, len, 1000000, &items, &n, &err), EC_OK, "%s", err.text);
	cr_assert_eq(settle_items(db, &o, items, n, NULL, &counts, &err), EC_OK, "%s", err.text);
	cr_assert_eq(counts.records, n);
	free(items);
	return counts;
}

/* The byte offset of line k of f (k = lines: the end). */
static size_t line_at(const struct file *f, size_t k)
{
	size_t at = 0;
	for (size_t i = 0; i < k; i++)
		at = (size_t)(strchr(f->text + at, '\n') - f->text) + 1;
	return at;
}

static long long balance(const char *account)
{
	struct ec_error err = { 0 };
	long long b;
	cr_assert_eq(ledger_balance(db, account, &b, &err), EC_OK, "%s", err.text);
	return b;
}

static void assert_books_balance(void)
{
	struct ec_error err = { 0 };
	struct ledger_account *acc;
	size_t n;
	long long sum;
	cr_assert_eq(ledger_accounts(db, &acc, &n, &sum, &err), EC_OK, "%s", err.text);
	free(acc);
	cr_assert_eq(sum, 0, "the books balance");
}

static json_t *report(const char *serial)
{
	struct ec_error err = { 0 };
	char *text;
	size_t n;
	cr_assert_eq(fraud_report(db, serial, &text, &n, &err), EC_OK, "%s", err.text);
	json_t *list = json_loads(text, 0, NULL);
	free(text);
	cr_assert(json_is_array(list));
	cr_assert_eq(json_array_size(list), n);
	return list;
}

static size_t count_kind(json_t *list, const char *kind)
{
	size_t i, n = 0;
	json_t *e;
	json_array_foreach(list, i, e)
		n += strcmp(json_string_value(json_object_get(e, "kind")), kind) == 0;
	return n;
}

/* 10,000 records; ECARD_TEST_SOAK=N for fewer (the sanitizers' second
 * pass, after the full run). */
static size_t soak_records(void)
{
	const char *e = getenv("ECARD_TEST_SOAK");
	long n = e ? strtol(e, NULL, 10) : 0;
	return n >= 100 && n <= 10000 ? (size_t)n : 10000;
}

Test(settle, a_soak_of_records_each_paid_once_and_fraud_reported_once)
{
	const size_t soak = soak_records();
	struct ts_card a, b, clone, unknown, blocked;
	char sa[CARD_SERIAL_HEX], sb[CARD_SERIAL_HEX], su[CARD_SERIAL_HEX], sx[CARD_SERIAL_HEX];
	char ma[SETTLE_ID_HEX], mb[SETTLE_ID_HEX], acc[CARD_ACCOUNT_MAX];
	struct ec_error err = { 0 };
	struct file f = { 0 };
	long long paid_a = 0, paid_b = 0;

	hex_encode(id_a, PURSE_ID_LEN, ma);
	hex_encode(id_b, PURSE_ID_LEN, mb);
	issue(&a, sa);
	issue(&b, sb);
	issue(&unknown, su);
	issue(&blocked, sx);
	cr_assert_eq(cards_add(db, sa, NULL, NULL, 0, &err), EC_OK, "%s", err.text);
	cr_assert_eq(cards_add(db, sb, NULL, NULL, 0, &err), EC_OK, "%s", err.text);
	cr_assert_eq(cards_add(db, sx, NULL, NULL, 0, &err), EC_OK, "%s", err.text);

	/* The soak: card A pays 1 to 5 cents at two shops, 10,000 times,
	 * topped up whenever it runs low. */
	size_t genuine = 0;
	uint32_t left = 0;
	for (size_t i = 0; i < soak; i++) {
		uint32_t amount = 1 + (uint32_t)(i % 5);
		if (left < amount) {
			load(&a, sa, 20000, true);
			left += 20000;
		}
		const struct ec_merchant *m = i % 3 ? &shop_a : &shop_b;
		struct ec_payment p = pay(&a, m, amount);
		left -= amount;
		*(m == &shop_a ? &paid_a : &paid_b) += amount;
		put_payment(&f, &p);
		genuine++;
	}
	cr_assert_eq(f.lines, soak);

	/* Card B: 10.00 booked, but 40.00 more loaded behind the books'
	 * back; it spends 30.00 in three purchases: the last two overspend. */
	load(&b, sb, 1000, true);
	load(&b, sb, 4000, false);
	struct ec_payment pb[3];
	for (int i = 0; i < 3; i++) {
		pb[i] = pay(&b, &shop_a, 1000);
		put_payment(&f, &pb[i]);
	}
	paid_a += 1000;
	genuine++;

	/* A clone of card A spends the same counter again, elsewhere; the
	 * first of the two to come is paid, the other is the clone's. */
	clone_card(&a, &clone);
	struct ec_payment pc = pay(&clone, &shop_b, 5);
	put_payment(&f, &pc);
	struct ec_payment pa = pay(&a, &shop_a, 7);
	put_payment(&f, &pa);
	cr_assert_eq(pc.record.counter, pa.record.counter, "the clone reuses the counter");
	paid_b += 5;
	genuine++;

	/* A card the issuer does not know, and one it blocked. */
	load(&unknown, su, 500, false);
	struct ec_payment pu = pay(&unknown, &shop_a, 100);
	put_payment(&f, &pu);
	load(&blocked, sx, 500, true);
	struct ec_payment px = pay(&blocked, &shop_a, 100);
	put_payment(&f, &px);
	cr_assert_eq(cards_set_blocked(db, sx, true, NULL, &err), EC_OK, "%s", err.text);

	/* A forged record: card A's record with its amount raised. */
	struct ec_payment forged = pay(&a, &shop_a, 3);
	paid_a += 3;
	genuine++;
	put_payment(&f, &forged);
	forged.record_bytes[15] ^= 0x40;
	put_payment(&f, &forged);

	/* Upload as staff in overlapping halves, then all of it again. */
	size_t n = f.lines, cut1 = n * 6 / 10, cut2 = n * 4 / 10;
	size_t end1 = line_at(&f, cut1), from2 = line_at(&f, cut2);
	struct settle_counts c1 = upload(f.text, end1, NULL);
	struct settle_counts c2 = upload(f.text + from2, f.len - from2, NULL);
	struct settle_counts c3 = upload(f.text, f.len, NULL);
	size_t paid = c1.outcome[SETTLE_PAID] + c2.outcome[SETTLE_PAID] + c3.outcome[SETTLE_PAID];
	cr_assert_eq(paid, genuine, "each genuine record paid once: %zu of %zu", paid, genuine);
	cr_assert_eq(c3.outcome[SETTLE_PAID], 0);
	cr_assert_eq(c3.paid_amount, 0);
	cr_assert_eq(c2.outcome[SETTLE_DUPLICATE], cut1 - cut2, "the overlap is paid already");
	cr_assert_eq(c3.outcome[SETTLE_DUPLICATE] + c3.outcome[SETTLE_CLONE] + c3.outcome[SETTLE_FORGED],
		     n);
	cr_assert_eq(c3.outcome[SETTLE_CLONE], 1);
	cr_assert_eq(c3.outcome[SETTLE_FORGED], 1);

	/* The merchants got exactly what their genuine records say. */
	char name[LEDGER_NAME_MAX];
	snprintf(name, sizeof(name), "merchant:%s", ma);
	cr_assert_eq(balance(name), paid_a, "shop A: %lld, expected %lld", balance(name), paid_a);
	snprintf(name, sizeof(name), "merchant:%s", mb);
	cr_assert_eq(balance(name), paid_b, "shop B: %lld, expected %lld", balance(name), paid_b);
	assert_books_balance();

	/* Card A: loads - settled = its balance, everything being settled,
	 * but for the clone's purchase paid in the place of card A's. */
	struct card_info ci;
	struct ec_purse_data pd;
	cr_assert_eq(ec_wallet_select(&a.pc, &err), EC_OK, "%s", err.text);
	cr_assert_eq(ec_wallet_purse_data(&a.pc, &pd, &err), EC_OK, "%s", err.text);
	cr_assert_eq(cards_get(db, sa, &ci, &err), EC_OK, "%s", err.text);
	card_account(sa, acc);
	cr_assert_eq(ci.books, (long long)pd.balance + pa.record.amount - pc.record.amount,
		     "books %lld, card %lu", ci.books, (unsigned long)pd.balance);
	cr_assert_eq(ci.loaded - ci.settled, ci.books);
	cr_assert_eq(balance(acc), ci.books);

	/* The report: each fraud once, whatever how often it was uploaded. */
	json_t *r = report(NULL);
	cr_assert_eq(count_kind(r, FRAUD_FORGED), 1);
	cr_assert_eq(count_kind(r, FRAUD_CLONE), 1);
	cr_assert_eq(count_kind(r, FRAUD_OVERSPEND), 2);
	cr_assert_eq(count_kind(r, FRAUD_UNKNOWN), 1);
	cr_assert_eq(count_kind(r, FRAUD_BLOCKED), 1);
	/* The loads the books never saw leave gaps: card B's second, and the
	 * unknown card's. */
	cr_assert_eq(count_kind(r, FRAUD_GAP), 2);
	json_decref(r);
	r = report(sb);
	cr_assert_eq(count_kind(r, FRAUD_GAP), 1);
	cr_assert_eq(count_kind(r, FRAUD_OVERSPEND), 2);
	cr_assert_eq(json_array_size(r), 3);
	json_decref(r);
	/* Card B's two overspending purchases are held, not paid. */
	cr_assert_eq(cards_get(db, sb, &ci, &err), EC_OK, "%s", err.text);
	cr_assert_eq(ci.settled, 1000);
	cr_assert_eq(ci.held, 2000);
	cr_assert_eq(ci.books, 0);

	ts_card_close(&a);
	ts_card_close(&b);
	ts_card_close(&clone);
	ts_card_close(&unknown);
	ts_card_close(&blocked);
	free(f.text);
}

Test(settle, merchants_are_onboarded_with_a_merchant_certificate_only)
{
	struct ec_error err = { 0 };
	struct settle_merchant m;
	char token[2 * SETTLE_TOKEN_LEN + 1];
	struct ts_card c;
	char serial[CARD_SERIAL_HEX];
	uint8_t card_cert[PURSE_CERT_LEN];

	cr_assert_eq(settle_merchant_by_token(db, token_a, &m, &err), EC_OK, "%s", err.text);
	cr_assert_str_eq(m.name, "Shop A");
	cr_assert_eq(settle_merchant_by_token(db, token_b, &m, &err), EC_OK, "%s", err.text);
	cr_assert_str_eq(m.name, "Shop <B> & 'Sons'");
	/* A token is kept as its hash only, and a wrong one finds nobody. */
	struct store_result r;
	cr_assert_eq(store_exec(db, "SELECT token FROM merchants", NULL, 0, &r, &err), EC_OK);
	for (size_t i = 0; i < r.rows; i++) {
		cr_assert_str_neq(store_cell(&r, i, 0), token_a);
		cr_assert_str_neq(store_cell(&r, i, 0), token_b);
	}
	store_result_free(&r);
	char wrong[sizeof(token_a)];
	memcpy(wrong, token_a, sizeof(wrong));
	wrong[5] = wrong[5] == '0' ? '1' : '0';
	cr_assert_eq(settle_merchant_by_token(db, wrong, &m, &err), EC_ERR_NOT_FOUND);
	cr_assert_eq(settle_merchant_by_token(db, "' OR '1'='1", &m, &err), EC_ERR_NOT_FOUND);
	cr_assert_eq(settle_merchant_by_token(db, "", &m, &err), EC_ERR_NOT_FOUND);

	/* The same merchant twice; a card's certificate; another CA's. */
	cr_assert_eq(settle_merchant_add(db, issuer.ca_pub, "again", shop_a.cert, token, &err),
		     EC_ERR_EXISTS);
	issue(&c, serial);
	cr_assert_eq(ec_wallet_select(&c.pc, &err), EC_OK, "%s", err.text);
	cr_assert_eq(ec_wallet_card_cert(&c.pc, card_cert, &err), EC_OK, "%s", err.text);
	cr_assert_eq(settle_merchant_add(db, issuer.ca_pub, "a card", card_cert, token, &err),
		     EC_ERR_CHECK);
	struct ec_issuer other;
	char dir[256];
	ts_issuer_new("other", &other, dir, sizeof(dir));
	cr_assert_eq(settle_merchant_add(db, other.ca_pub, "elsewhere", shop_a.cert, token, &err),
		     EC_ERR_CHECK);
	ec_issuer_wipe(&other);
	/* Names: none, too long, control characters, not UTF-8. */
	char longname[100];
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	const char *bad[] = { "", longname, "tab\there", "new\nline", "\xC3\x28" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(settle_merchant_add(db, issuer.ca_pub, bad[i], card_cert, token, &err),
			     EC_ERR_ARG, "name %zu", i);
	struct settle_merchant *all;
	size_t n;
	cr_assert_eq(settle_merchants(db, &all, &n, &err), EC_OK, "%s", err.text);
	cr_assert_eq(n, 2);
	free(all);
	ts_card_close(&c);
}

Test(settle, uploads_are_read_in_three_forms_and_bad_elements_are_rejected)
{
	struct ec_error err = { 0 };
	struct settle_item *items;
	size_t n;
	struct ts_card c;
	char serial[CARD_SERIAL_HEX];
	struct file f = { 0 };

	issue(&c, serial);
	cr_assert_eq(cards_add(db, serial, NULL, NULL, 0, &err), EC_OK, "%s", err.text);
	load(&c, serial, 1000, true);
	struct ec_payment p = pay(&c, &shop_a, 250);
	put_payment(&f, &p);
	f.text[--f.len] = '\0';	/* the line without its newline */

	char *array = malloc(f.len + 64), *object = malloc(f.len + 64);
	sprintf(array, "[%s, {\"record\": \"00\"}, 7]", f.text);
	sprintf(object, "{\"records\": [%s]}", f.text);
	cr_assert_eq(settle_parse(array, strlen(array), 10, &items, &n, &err), EC_OK, "%s", err.text);
	cr_assert_eq(n, 3);
	cr_assert(items[0].usable);
	cr_assert_not(items[1].usable);
	cr_assert_not(items[2].usable);
	free(items);
	cr_assert_eq(settle_parse(object, strlen(object), 10, &items, &n, &err), EC_OK, "%s", err.text);
	cr_assert_eq(n, 1);
	cr_assert(items[0].usable);
	free(items);
	/* Not JSON; a number; too many. */
	cr_assert_eq(settle_parse("{\"records\": [", 13, 10, &items, &n, &err), EC_ERR_FORMAT);
	cr_assert_eq(settle_parse("42", 2, 10, &items, &n, &err), EC_ERR_FORMAT);
	cr_assert_eq(settle_parse(array, strlen(array), 2, &items, &n, &err), EC_ERR_ARG);
	cr_assert_eq(settle_parse("", 0, 10, &items, &n, &err), EC_OK);
	cr_assert_eq(n, 0);
	free(items);

	/* The record names shop A: shop B may not have it paid, nor may any
	 * issuer of another currency; the malformed ones are rejected. */
	struct settle_counts k = upload(array, strlen(array), shop_b_id());
	cr_assert_eq(k.outcome[SETTLE_OTHER_MERCHANT], 1);
	cr_assert_eq(k.outcome[SETTLE_MALFORMED], 2);
	cr_assert_eq(k.paid_amount, 0);
	struct settle_options usd = { .ca_pub = issuer.ca_pub, .currency = 840 };
	struct settle_counts kd;
	cr_assert_eq(settle_parse(object, strlen(object), 10, &items, &n, &err), EC_OK);
	cr_assert_eq(settle_items(db, &usd, items, n, NULL, &kd, &err), EC_OK, "%s", err.text);
	cr_assert_eq(kd.outcome[SETTLE_CURRENCY], 1);
	free(items);
	/* Shop A's own upload pays it. */
	k = upload(object, strlen(object), shop_a_id());
	cr_assert_eq(k.outcome[SETTLE_PAID], 1);
	cr_assert_eq(k.paid_amount, 250);
	free(array);
	free(object);
	free(f.text);
	ts_card_close(&c);
}

Test(settle, blocking_a_card_holds_its_records_and_queues_a_lock_job)
{
	struct ec_error err = { 0 };
	struct ts_card c;
	char serial[CARD_SERIAL_HEX];
	long long job;
	struct db_job j;

	issue(&c, serial);
	cr_assert_eq(cards_add(db, serial, "0A0B0C0D", NULL, 0, &err), EC_OK, "%s", err.text);
	load(&c, serial, 1000, true);
	cr_assert_eq(cards_set_blocked(db, serial, true, &job, &err), EC_OK, "%s", err.text);
	cr_assert_gt(job, 0);
	cr_assert_eq(db_job_get(db, job, false, &j, &err), EC_OK, "%s", err.text);
	cr_assert_str_eq(j.kind, "lock");
	cr_assert_str_eq(j.card, "0A0B0C0D");
	cr_assert_not_null(strstr(j.params, "F045434152445701"), "%s", j.params);
	db_job_free(&j);
	/* Blocked again: no second job. */
	long long again;
	cr_assert_eq(cards_set_blocked(db, serial, true, &again, &err), EC_OK, "%s", err.text);
	cr_assert_eq(again, 0);

	struct file f = { 0 };
	struct ec_payment p = pay(&c, &shop_a, 100);
	put_payment(&f, &p);
	struct settle_counts k = upload(f.text, f.len, NULL);
	cr_assert_eq(k.outcome[SETTLE_BLOCKED_CARD], 1);
	cr_assert_eq(k.paid_amount, 0);

	cr_assert_eq(cards_set_blocked(db, serial, false, &job, &err), EC_OK, "%s", err.text);
	cr_assert_eq(db_job_get(db, job, false, &j, &err), EC_OK, "%s", err.text);
	cr_assert_str_eq(j.kind, "unlock");
	db_job_free(&j);
	/* A card nobody knows cannot be blocked. */
	cr_assert_eq(cards_set_blocked(db, "0011223344556677", true, &job, &err), EC_ERR_NOT_FOUND);
	free(f.text);
	ts_card_close(&c);
}

Test(settle, a_card_holding_more_than_its_books_is_reported)
{
	struct ec_error err = { 0 };
	struct ts_card c;
	char serial[CARD_SERIAL_HEX];
	struct ec_load_result res;

	issue(&c, serial);
	load(&c, serial, 1000, true);
	/* 5.00 more, loaded with the issuer's keys but never booked. */
	cr_assert_eq(ec_wallet_load(&c.pc, &issuer, 500, &res, &err), EC_OK, "%s", err.text);
	json_t *r = report(serial);
	cr_assert_eq(count_kind(r, FRAUD_BALANCE), 0);
	json_decref(r);
	cr_assert_eq(store_begin(db, &err), EC_OK);
	cr_assert_eq(cards_reported(db, serial, NULL, res.balance, res.counter, &err), EC_OK, "%s",
		     err.text);
	cr_assert_eq(cards_reported(db, serial, NULL, res.balance, res.counter, &err), EC_OK, "%s",
		     err.text);
	cr_assert_eq(store_commit(db, &err), EC_OK);
	r = report(serial);
	cr_assert_eq(count_kind(r, FRAUD_BALANCE), 1, "reported once");
	json_t *e = json_array_get(r, 0);
	cr_assert_eq(json_integer_value(json_object_get(e, "amount_minor")), 500);
	json_decref(r);
	/* An older answer coming late does not replace a newer one. */
	struct card_info ci;
	cr_assert_eq(cards_reported(db, serial, NULL, 1000, 1, &err), EC_OK, "%s", err.text);
	cr_assert_eq(cards_get(db, serial, &ci, &err), EC_OK, "%s", err.text);
	cr_assert_eq(ci.balance, 1500);
	cr_assert_eq(ci.counter, 2);
	ts_card_close(&c);
}
