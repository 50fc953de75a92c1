/*
 * bench_shop.c - the shop's figures for `make bench`, all in this
 * process: ecard-shop's HTTP side on loopback with PRODUCTS products, and
 * its clients.
 *
 * pages: the latency of catalogue pages (the front page, categories, at
 *   random pages of them), product pages and searches (one or two words of
 *   the catalogue's vocabulary, whole or as prefixes), one request at a
 *   time on a kept-alive connection, beside the shop's stylesheet, which
 *   touches no database: the floor of the HTTP stack. Goals: p95 within
 *   10 ms for a page, 20 ms for a search.
 *
 * checkouts: CARDS cards the issuer personalized, in memory, each with its
 *   SERAM local agent (host/agent.h) in one of THREADS threads, pay
 *   CHECKOUTS orders end to end: the payment session, the wallet read and
 *   its certificate checked, the DEBIT request signed by the shop, the
 *   PIN verified by the agent, the card's signature, the record checked
 *   and kept, the order paid. Goal: 200 checkouts a second. Every order
 *   must end paid, with one record each, and the cards charged exactly
 *   the orders' totals.
 *
 * usage: bench_shop DB_URL [PRODUCTS [CHECKOUTS [CARDS [THREADS]]]]
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "agent.h"
#include "bench_util.h"
#include "catalogue.h"
#include "gp_keys.h"
#include "holders.h"
#include "http.h"
#include "merchant.h"
#include "pay.h"
#include "perso.h"
#include "pin_client.h"
#include "sales.h"
#include "shop.h"
#include "store.h"
#include "wallet.h"

#define SAMPLES 1000
#define PIN "1234"

static char base[64];

/* ---- pages ---- */

struct sink {
	size_t len;
	char cookie[128];
};

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	((struct sink *)arg)->len += size * n;
	return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	struct sink *s = arg;
	size_t k = size * n;
	if (k > 24 && strncasecmp(p, "Set-Cookie: __Host-ecard=", 25) == 0)
		snprintf(s->cookie, sizeof(s->cookie), "__Host-ecard=%.*s", (int)strcspn(p + 25, ";\r\n"), p + 25);
	return k;
}

/* One GET on the kept-alive handle: its time in ms. */
static double get(CURL *h, const char *path)
{
	char url[512];
	long status = 0;
	snprintf(url, sizeof(url), "%s%s", base, path);
	curl_easy_setopt(h, CURLOPT_URL, url);
	double t0 = bench_now();
	if (curl_easy_perform(h) != CURLE_OK)
		bench_die("a page could not be read: ", url);
	double ms = (bench_now() - t0) * 1e3;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200)
		bench_die("a page was not 200: ", url);
	return ms;
}

static const char *const words[] = {
	"oak", "teapot", "classic", "steel", "lamp", "card", "garden", "vintage", "compact", "bamb",
	"wool", "glass", "novel", "kite", "tent", "pen", "mat", "tray", "smart", "cera",
};
#define WORDS (sizeof(words) / sizeof(words[0]))

static void report(const char *what, double *v, size_t n, double goal_p95)
{
	double p50 = bench_percentile(v, n, 50), p95 = bench_percentile(v, n, 95),
	       p99 = bench_percentile(v, n, 99);
	printf("  %-34s p50 %6.2f ms  p95 %6.2f ms  p99 %6.2f ms", what, p50, p95, p99);
	if (goal_p95 > 0)
		printf("  (goal p95 <= %.0f ms: %s)", goal_p95, p95 <= goal_p95 ? "met" : "MISSED");
	printf("\n");
}

static bool pages(size_t products, long long categories)
{
	CURL *h = curl_easy_init();
	struct sink s = { 0 };
	double *t = calloc(SAMPLES, sizeof(double));
	char path[256];
	bool met = true;
	unsigned seed = 7;

	if (!h || !t)
		bench_die("", "out of memory");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &s);
	curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
	/* A visitor with a session, as after a first page with a form. */
	get(h, "/product/1");
	curl_easy_setopt(h, CURLOPT_COOKIE, s.cookie);
	for (int i = 0; i < 50; i++)
		get(h, "/");	/* warm */

	for (size_t i = 0; i < SAMPLES; i++)
		t[i] = get(h, "/static/style.css");
	report("the stylesheet (no database)", t, SAMPLES, 0);
	size_t per_page = CATALOGUE_PAGE;
	for (size_t i = 0; i < SAMPLES; i++) {
		long long c = rand_r(&seed) % (categories + 1);
		size_t pages_in = (products / (size_t)(c ? categories : 1) + per_page - 1) / per_page;
		long long page = 1 + rand_r(&seed) % (long long)(pages_in > 1 ? pages_in - (c ? 1 : 0) : 1);
		if (c)
			snprintf(path, sizeof(path), "/category/%lld?page=%lld", c, page);
		else
			snprintf(path, sizeof(path), "/?page=%lld", page);
		t[i] = get(h, path);
	}
	report("catalogue pages", t, SAMPLES, 10);
	met &= bench_percentile(t, SAMPLES, 95) <= 10;
	for (size_t i = 0; i < SAMPLES; i++) {
		snprintf(path, sizeof(path), "/product/%lld", 1 + (long long)(rand_r(&seed) % products));
		t[i] = get(h, path);
	}
	report("product pages", t, SAMPLES, 10);
	met &= bench_percentile(t, SAMPLES, 95) <= 10;
	for (size_t i = 0; i < SAMPLES; i++) {
		if (rand_r(&seed) % 2)
			snprintf(path, sizeof(path), "/search?q=%s", words[rand_r(&seed) % WORDS]);
		else
			snprintf(path, sizeof(path), "/search?q=%s+%s", words[rand_r(&seed) % WORDS],
				 words[rand_r(&seed) % WORDS]);
		t[i] = get(h, path);
	}
	report("searches (1 or 2 words)", t, SAMPLES, 20);
	met &= bench_percentile(t, SAMPLES, 95) <= 20;
	for (size_t i = 0; i < SAMPLES; i++) {
		snprintf(path, sizeof(path), "/api/search?q=%s", words[rand_r(&seed) % WORDS]);
		t[i] = get(h, path);
	}
	report("searches, JSON", t, SAMPLES, 20);
	met &= bench_percentile(t, SAMPLES, 95) <= 20;
	free(t);
	curl_easy_cleanup(h);
	return met;
}

/* ---- checkouts ---- */

struct order {
	long long sale;
	long long total;
	char sid[SERAM_SESSION_ID_MAX + 1];
	double seconds;
	bool paid;
};

static struct bench_card *cards;
static struct order *orders;
static size_t ncards, norders, nthreads;
static char server[128];

static bool verify_pin(void *arg, struct ec_pcsc *pc, const char *text, const struct seram_order *order,
		       size_t next)
{
	struct purse_debit_request req;
	struct ec_error err;
	int tries;
	(void)arg;
	if (strncmp(text, "pay/verify-pin/", 15) != 0)
		return true;
	if (!ec_agent_debit_in_order(order, next, &req))
		return true;
	enum ec_status st = ec_pin_verify(pc, PIN, &tries, &err);
	return st == EC_OK || st == EC_ERR_CARD;
}

static void *payer(void *arg)
{
	size_t t = (size_t)(uintptr_t)arg;
	/* Thread t pays orders t, t + T, ...; with card (order index % cards). */
	for (size_t i = t; i < norders; i += nthreads) {
		struct bench_card *c = &cards[i % ncards];
		struct ec_agent_options opt = { .nservers = 1, .retry_s = 30, .response_timeout_s = 30,
						.card_retries = 1, .session_id = orders[i].sid,
						.act = verify_pin };
		struct ec_agent_stats stats;
		struct ec_error err;
		opt.servers[0] = server;
		double t0 = bench_now();
		enum ec_status st = ec_agent_run(&c->pc, &opt, &stats, &err);
		orders[i].seconds = bench_now() - t0;
		orders[i].paid = st == EC_OK;
		if (st != EC_OK)
			fprintf(stderr, "bench_shop: order %lld: %s\n", orders[i].sale, err.text);
	}
	return NULL;
}

static uint32_t balance(struct bench_card *c)
{
	struct ec_purse_data pd;
	struct ec_error err;
	if (ec_wallet_select(&c->pc, &err) != EC_OK || ec_wallet_purse_data(&c->pc, &pd, &err) != EC_OK)
		bench_die("a balance: ", err.text);
	return pd.balance;
}

static bool checkouts(struct store *st, const struct ec_issuer *issuer)
{
	struct ec_error err;
	struct ec_gp_keys test;
	struct holder who;

	cards = calloc(ncards, sizeof(*cards));
	orders = calloc(norders, sizeof(*orders));
	uint32_t *before = calloc(ncards, sizeof(*before));
	long long *charged = calloc(ncards, sizeof(*charged));
	if (!cards || !orders || !before || !charged)
		bench_die("", "out of memory");
	double t0 = bench_now();
	ec_gp_default_keys(&test, 0);
	for (size_t i = 0; i < ncards; i++) {
		struct ec_load_result lr;
		bench_card_make(&cards[i], 0x5000 + (uint32_t)i, 0);
		if (ec_personalize(issuer, &cards[i].pc, NULL, &test, NULL, NULL, &err) != EC_OK ||
		    ec_wallet_load(&cards[i].pc, issuer, issuer->max_balance, &lr, &err) != EC_OK)
			bench_die("a card: ", err.text);
		before[i] = balance(&cards[i]);
	}
	/* The orders: one customer's, of one to three products each. */
	if (holders_add(st, "bench@example.org", "Bench", "correct horse battery", 0, "bench", &who, &err) != EC_OK &&
	    holders_find(st, "bench@example.org", &who, &err) != EC_OK)
		bench_die("a customer: ", err.text);
	struct address to = { .name = "Bench Customer", .street = "1 High Street", .town = "Leeds",
			      .postcode = "LS1 1AA", .email = "bench@example.org" };
	/* Cheap products (10.00 at most), so that each card pays its share. */
	struct store_result cheap;
	if (store_exec(st, "SELECT id FROM products WHERE price <= 1000 ORDER BY id", NULL, 0, &cheap, &err) != EC_OK ||
	    cheap.rows == 0)
		bench_die("", "no cheap products");
	unsigned seed = 11;
	for (size_t i = 0; i < norders; i++) {
		char session[WEB_TOKEN_HEX];
		struct sale s;
		struct payment p;
		snprintf(session, sizeof(session), "bench-basket-%zu", i);
		for (int k = 0; k < 1 + (int)(i % 3); k++)
			if (basket_add(st, session, store_cell_ll(&cheap, rand_r(&seed) % cheap.rows, 0, 1), 1,
				       &err) != EC_OK)
				bench_die("a basket: ", err.text);
		if (sale_place(st, session, who.id, &to, &s, &err) != EC_OK ||
		    pay_start(st, &s, &p, &err) != EC_OK)
			bench_die("an order: ", err.text);
		orders[i].sale = s.id;
		orders[i].total = s.total;
		snprintf(orders[i].sid, sizeof(orders[i].sid), "%s", p.session);
		charged[i % ncards] += s.total;
		if ((uint64_t)charged[i % ncards] > before[i % ncards])
			bench_die("", "the cards cannot pay that many orders: give more cards");
	}
	store_result_free(&cheap);
	printf("  (%zu cards personalized and loaded, %zu orders placed in %.1f s)\n", ncards, norders,
	       bench_now() - t0);

	pthread_t *th = calloc(nthreads, sizeof(*th));
	t0 = bench_now();
	for (size_t t = 0; t < nthreads; t++)
		pthread_create(&th[t], NULL, payer, (void *)(uintptr_t)t);
	for (size_t t = 0; t < nthreads; t++)
		pthread_join(th[t], NULL);
	double secs = bench_now() - t0;
	free(th);

	/* Every order paid once; the cards charged their totals exactly. */
	size_t paid = 0;
	double *lat = calloc(norders, sizeof(double));
	for (size_t i = 0; i < norders; i++) {
		paid += orders[i].paid;
		lat[i] = orders[i].seconds * 1e3;
	}
	bool exact = true;
	for (size_t i = 0; i < ncards; i++)
		exact &= before[i] - balance(&cards[i]) == (uint64_t)charged[i];
	struct store_result r;
	long long records = -1, sales_paid = -1;
	if (store_exec(st, "SELECT count(*) FROM debit_records", NULL, 0, &r, &err) == EC_OK) {
		records = store_cell_ll(&r, 0, 0, -1);
		store_result_free(&r);
	}
	if (store_exec(st, "SELECT count(*) FROM sales WHERE state = 'paid'", NULL, 0, &r, &err) == EC_OK) {
		sales_paid = store_cell_ll(&r, 0, 0, -1);
		store_result_free(&r);
	}
	double rate = (double)norders / secs;
	printf("  %zu checkouts by %zu cards in %zu threads: %.2f s, %.0f checkouts/s (goal >= 200: %s),"
	       " each p50 %.1f ms p99 %.1f ms; %zu paid, %lld records, %lld orders paid, cards charged %s\n",
	       norders, ncards, nthreads, secs, rate, rate >= 200 ? "met" : "MISSED",
	       bench_percentile(lat, norders, 50), bench_percentile(lat, norders, 99), paid, records,
	       sales_paid, exact ? "exactly their orders" : "WRONG");
	free(lat);
	for (size_t i = 0; i < ncards; i++)
		bench_card_free(&cards[i]);
	free(cards);
	free(orders);
	free(before);
	free(charged);
	return paid == norders && exact && records == (long long)norders && sales_paid == (long long)norders;
}

int main(int argc, char **argv)
{
	bench_name = "bench_shop";
	char dir[] = "/tmp/ecard-bench-shop-XXXXXX", issuer_dir[128], path[160];
	struct ec_error err = { 0 };
	struct ec_issuer issuer;
	struct ec_merchant merchant;
	struct store *st;
	static const uint8_t id[PURSE_ID_LEN] = { 0x53, 0x4D, 0x41, 0x52, 0x54, 0x00, 0x00, 0x01 };

	if (argc < 2)
		bench_die("", "usage: bench_shop DB_URL [PRODUCTS [CHECKOUTS [CARDS [THREADS]]]]");
	size_t products = argc > 2 ? (size_t)atol(argv[2]) : 10000;
	norders = argc > 3 ? (size_t)atol(argv[3]) : 2000;
	ncards = argc > 4 ? (size_t)atol(argv[4]) : 64;
	nthreads = argc > 5 ? (size_t)atol(argv[5]) : 8;
	if (!products || !norders || !ncards || !nthreads || !mkdtemp(dir))
		bench_die("", "usage: bench_shop DB_URL [PRODUCTS [CHECKOUTS [CARDS [THREADS]]]]");
	curl_global_init(CURL_GLOBAL_DEFAULT);
	snprintf(issuer_dir, sizeof(issuer_dir), "%s/issuer", dir);
	snprintf(path, sizeof(path), "%s/shop.merchant", dir);
	if (ec_issuer_init(issuer_dir, 978, 100000, &err) != EC_OK ||
	    ec_issuer_load(issuer_dir, &issuer, &err) != EC_OK ||
	    ec_merchant_init(&issuer, id, path, &err) != EC_OK || ec_merchant_load(path, &merchant, &err) != EC_OK)
		bench_die("", err.text);
	if (store_open(argv[1], &st, &err) != EC_OK || shop_migrate(st, &err) != EC_OK)
		bench_die("", err.text);
	struct store_result r;
	if (store_exec(st, "SELECT count(*) FROM products", NULL, 0, &r, &err) != EC_OK)
		bench_die("", err.text);
	long long have = store_cell_ll(&r, 0, 0, 0);
	store_result_free(&r);
	if (have < (long long)products) {
		double t0 = bench_now();
		if (catalogue_seed(st, products - (size_t)have, 1, NULL, NULL, &err) != EC_OK)
			bench_die("the catalogue: ", err.text);
		printf("  (%zu products seeded in %.1f s)\n", products - (size_t)have, bench_now() - t0);
	}
	struct category *cats;
	size_t ncats;
	if (catalogue_categories(st, &cats, &ncats, &err) != EC_OK)
		bench_die("", err.text);
	free(cats);

	static struct shop_config cfg;
	struct http_site site;
	snprintf(cfg.name, sizeof(cfg.name), "SmartMarket");
	cfg.currency = 978;
	cfg.agent_url = "http://127.0.0.1:8855";
	cfg.insecure = true;
	cfg.pay.merchant = &merchant;
	shop_site(&cfg, &site);
	bool pg = strncmp(argv[1], "postgres", 8) == 0;
	struct http_options o = { .db_url = argv[1], .insecure = true, .threads = pg ? 4 : 2, .quiet = true,
				  .site = &site };
	struct http_server *srv;
	if (http_start(&o, &srv, &err) != EC_OK)
		bench_die("", err.text);
	snprintf(base, sizeof(base), "http://127.0.0.1:%u", (unsigned)http_port(srv));
	snprintf(server, sizeof(server), "%s/gp/seram", base);

	printf("ecard-shop with %zu products, %s:\n", products, pg ? "PostgreSQL" : "SQLite");
	bool ok = pages(products, (long long)ncats);
	printf("checkouts end to end (payment session, PIN, DEBIT signed by the shop and by the card,"
	       " record checked and kept, order paid):\n");
	bool paid = checkouts(st, &issuer);
	http_stop(srv);
	store_close(st);
	ec_merchant_wipe(&merchant);
	ec_issuer_wipe(&issuer);
	char rm[200];
	snprintf(rm, sizeof(rm), "rm -rf %s", dir);
	if (system(rm) != 0)
		fprintf(stderr, "bench_shop: %s was not removed\n", dir);
	(void)ok;
	return paid ? 0 : 1;
}
