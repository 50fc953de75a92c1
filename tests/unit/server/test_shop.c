/*
 * test_shop.c - ecard-shop (shop/) over real HTTP on loopback: the
 * catalogue and its search, baskets, accounts and orders, every route fed
 * bad input (SQL metacharacters and the search engine's own syntax, markup
 * in names and addresses, a wrong CSRF token, another site's Origin,
 * another customer's order), and orders paid from a personalized card in
 * memory through `ecard agent` in process, playing the browser path: the
 * right PIN, a wrong one then the right one, no PIN, a link cut at every
 * exchange, a card that fails in the middle of DEBIT, a relay that alters
 * the card's answer. The thesis's own defects are each shown absent.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "agent.h"
#include "agent_listen.h"
#include "amount.h"
#include "catalogue.h"
#include "crypto.h"
#include "gp_keys.h"
#include "hex.h"
#include "holders.h"
#include "host_fixture.h"
#include "http.h"
#include "merchant.h"
#include "pay.h"
#include "perso.h"
#include "profile.h"
#include "pin_client.h"
#include "pinentry.h"
#include "purse.h"
#include "sales.h"
#include "settle.h"
#include "shop.h"
#include "test_support.h"
#include "wallet.h"
#include "web_client.h"

#define PIN "1234"

static struct ts_card card;
static struct ec_issuer issuer;
static struct ec_merchant merchant;
static struct shop_config cfg;
static struct http_site site;
static struct http_server *srv;
static struct store *db;
static char db_url[600], base[64], card_id[32];
static ec_raw_transmit_fn card_transmit;
static void *card_arg;

/* The card's side of the link, for the tests that break it. */
static struct {
	bool fail_debit;	/* the next DEBIT fails... */
	bool after;		/* ...after the card ran it (its answer lost), or before */
	bool corrupt;		/* the relay flips a bit of DEBIT's answer */
	int debits;		/* DEBITs that reached the card */
} link_plan;

static long card_link(struct ec_pcsc *pc, const uint8_t *cmd, size_t len, uint8_t *resp,
		      size_t *resp_len)
{
	bool debit = len >= 2 && cmd[0] == 0x80 && cmd[1] == 0x44;
	if (debit && link_plan.fail_debit && !link_plan.after) {
		link_plan.fail_debit = false;
		return SCARD_E_NO_SMARTCARD;
	}
	pc->raw_arg = card_arg;
	long rv = card_transmit(pc, cmd, len, resp, resp_len);
	card_arg = pc->raw_arg;
	if (debit && rv == SCARD_S_SUCCESS)
		link_plan.debits++;
	if (debit && link_plan.fail_debit) {
		link_plan.fail_debit = false;
		return SCARD_E_NO_SMARTCARD;
	}
	if (debit && link_plan.corrupt && *resp_len > 10)
		resp[10] ^= 0x01;
	return rv;
}

static enum ec_status card_back(void *arg, struct ec_pcsc *pc)
{
	(void)arg;
	(void)pc;
	vc_card_power_down(&card.card);
	return vc_card_power_up(&card.card) == VC_OK ? EC_OK : EC_ERR_CARD_LOST;
}

static struct ec_purse_data purse(void)
{
	struct ec_purse_data pd;
	struct ec_error err = { 0 };
	cr_assert_eq(ec_wallet_select(&card.pc, &err), EC_OK, "%s", err.text);
	cr_assert_eq(ec_wallet_purse_data(&card.pc, &pd, &err), EC_OK, "%s", err.text);
	return pd;
}

/* The cut loop pays many orders: keep the card able to. */
static void top_up_if_low(void)
{
	struct ec_error err = { 0 };
	struct ec_load_result lr;
	uint32_t balance = purse().balance;
	if (balance < 25000)
		cr_assert_eq(ec_wallet_load(&card.pc, &issuer, 50000 - balance, &lr, &err), EC_OK, "%s",
			     err.text);
}

static void setup(void)
{
	struct ec_error err = { 0 };
	struct ec_gp_keys test;
	struct ec_load_result lr;
	char path[512], dir[512];
	static const uint8_t id[PURSE_ID_LEN] = { 0x53, 0x4D, 0x41, 0x52, 0x54, 0x00, 0x00, 0x01 };

	ts_tmpdir_init();
	ts_issuer_new("issuer", &issuer, dir, sizeof(dir));
	cr_assert_eq(ec_merchant_init(&issuer, id, ts_tmp_path(path, sizeof(path), "shop.merchant"), &err),
		     EC_OK, "%s", err.text);
	cr_assert_eq(ec_merchant_load(path, &merchant, &err), EC_OK, "%s", err.text);
	ts_card_open(&card, 0, NULL);
	ec_gp_default_keys(&test, 0);
	cr_assert_eq(ec_personalize(&issuer, &card.pc, NULL, &test, NULL, NULL, &err), EC_OK, "%s",
		     err.text);
	cr_assert_eq(ec_wallet_load(&card.pc, &issuer, 30000, &lr, &err), EC_OK, "%s", err.text);
	card_transmit = card.pc.raw_transmit;
	card_arg = card.pc.raw_arg;
	card.pc.raw_transmit = card_link;
	memset(&link_plan, 0, sizeof(link_plan));
	cr_assert_eq(ec_agent_card_id(&card.pc, card_id, &err), EC_OK, "%s", err.text);

	/* SQLite in the test's directory, or the PostgreSQL an integration
	 * test started (ECARD_TEST_SHOP_DB), emptied for each test. */
	const char *pg = getenv("ECARD_TEST_SHOP_DB");
	if (pg && pg[0])
		snprintf(db_url, sizeof(db_url), "%s", pg);
	else
		snprintf(db_url, sizeof(db_url), "sqlite:%s", ts_tmp_path(path, sizeof(path), "shop.db"));
	cr_assert_eq(store_open(db_url, &db, &err), EC_OK, "%s", err.text);
	if (store_kind(db) == STORE_POSTGRESQL)
		cr_assert_eq(store_script(db, "DROP SCHEMA public CASCADE; CREATE SCHEMA public;", &err), EC_OK,
			     "%s", err.text);
	cr_assert_eq(shop_migrate(db, &err), EC_OK, "%s", err.text);
	cr_assert_eq(catalogue_seed(db, 300, 7, NULL, NULL, &err), EC_OK, "%s", err.text);

	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.name, sizeof(cfg.name), "SmartMarket");
	cfg.currency = merchant.currency;
	cfg.agent_url = "http://127.0.0.1:8855";
	cfg.insecure = true;
	cfg.pay.merchant = &merchant;
	shop_site(&cfg, &site);
	struct http_options o = { .db_url = db_url, .insecure = true, .threads = 2, .quiet = true,
				  .site = &site };
	cr_assert_eq(http_start(&o, &srv, &err), EC_OK, "%s", err.text);
	snprintf(base, sizeof(base), "http://127.0.0.1:%u", (unsigned)http_port(srv));
	web_base = base;
}

static void teardown(void)
{
	http_stop(srv);
	store_close(db);
	ec_merchant_wipe(&merchant);
	ec_issuer_wipe(&issuer);
	ts_card_close(&card);
	ts_tmpdir_fini();
}

TestSuite(shop, .init = setup, .fini = teardown, .timeout = 180);

/* ---- helpers ---- */

static long long count_of(const char *sql)
{
	struct ec_error err = { 0 };
	struct store_result r;
	cr_assert_eq(store_exec(db, sql, NULL, 0, &r, &err), EC_OK, "%s", err.text);
	long long n = store_cell_ll(&r, 0, 0, -1);
	store_result_free(&r);
	return n;
}

#define rows(table) count_of("SELECT count(*) FROM " table)

struct snapshot {
	long long holders, products, basket, sales, payments, records;
};

static struct snapshot snap(void)
{
	return (struct snapshot){ rows("holders"), rows("products"), rows("basket"), rows("sales"),
				  rows("payments"), rows("debit_records") };
}

static void assert_unchanged(const struct snapshot *a, const char *what)
{
	struct snapshot b = snap();
	cr_assert(memcmp(a, &b, sizeof(b)) == 0,
		  "%s changed the store: holders %lld/%lld products %lld/%lld basket %lld/%lld sales %lld/%lld",
		  what, a->holders, b.holders, a->products, b.products, a->basket, b.basket, a->sales,
		  b.sales);
}

static void expect(struct browser *b, const char *path, long status, const char *text)
{
	struct reply r = get(b, path);
	cr_assert_eq(r.status, status, "GET %s: %ld", path, r.status);
	if (text)
		cr_assert(strstr(r.body, text), "GET %s lacks %s: %s", path, text, r.body);
	done(&r);
}

static void sign_up(struct browser *b, const char *email, const char *name)
{
	char f[512];
	expect(b, "/signup", 200, "csrf");
	snprintf(f, sizeof(f), "email=%s&name=%s&password=correct+horse+battery", email, name);
	struct reply r = post(b, "/signup", f, NULL);
	cr_assert_eq(r.status, 303, "%ld: %s", r.status, r.body);
	done(&r);
	expect(b, "/account", 200, NULL);
}

/* An order of two products, awaiting payment: its id. */
static long long place_order(struct browser *b, const char *email)
{
	char f[256];
	expect(b, "/product/5", 200, "Add to basket");
	struct reply r = post(b, "/basket/add", "product=5&quantity=2", NULL);
	cr_assert_eq(r.status, 303, "%ld %s", r.status, r.body);
	done(&r);
	r = post(b, "/basket/add", "product=9&quantity=1", NULL);
	done(&r);
	expect(b, "/checkout", 200, "Place the order");
	snprintf(f, sizeof(f), "name=Carol+Holder&street=1+High+Street&town=Leeds&county=&postcode=LS1+1AA&email=%s",
		 email);
	r = post(b, "/checkout", f, NULL);
	cr_assert_eq(r.status, 303, "%ld %s", r.status, r.body);
	long long id = strtoll(r.location + 8, NULL, 10);
	cr_assert_gt(id, 0, "%s", r.location);
	done(&r);
	return id;
}

/* A new customer with such an order. */
static long long order_something(struct browser *b, const char *email)
{
	sign_up(b, email, "Carol");
	return place_order(b, email);
}

static long long total_of(long long sale)
{
	struct sale s;
	struct ec_error err = { 0 };
	cr_assert_eq(sale_get(db, sale, &s, NULL, NULL, &err), EC_OK, "%s", err.text);
	return s.total;
}

static const char *state_of(long long sale)
{
	static struct sale s;
	struct ec_error err = { 0 };
	cr_assert_eq(sale_get(db, sale, &s, NULL, NULL, &err), EC_OK, "%s", err.text);
	return s.state;
}

/* The page's call that opens a payment session: its id. */
static void open_payment(struct browser *b, long long sale, char sid[SERAM_SESSION_ID_MAX + 1],
			 char server[256])
{
	char path[64], form[128];
	snprintf(path, sizeof(path), "/orders/%lld", sale);
	expect(b, path, 200, "pay-button");
	snprintf(path, sizeof(path), "/api/orders/%lld/pay", sale);
	snprintf(form, sizeof(form), "csrf=%s", b->csrf);
	struct reply r = request("POST", path, b->cookie, "application/x-www-form-urlencoded", form,
				 strlen(form), NULL);
	cr_assert_eq(r.status, 201, "%ld %s", r.status, r.body);
	json_t *j = json_loads(r.body, 0, NULL);
	cr_assert_not_null(j, "%s", r.body);
	snprintf(sid, SERAM_SESSION_ID_MAX + 1, "%s", json_string_value(json_object_get(j, "sessionId")));
	snprintf(server, 256, "%s", json_string_value(json_object_get(j, "server")));
	json_decref(j);
	done(&r);
	cr_assert(seram_session_id_ok(sid));
}

/* The holder at the agent: the PINs typed, one per "pay/verify-pin" ("" cancels). */
struct holder_at_agent {
	const char *pins[8];
	size_t asked;
	uint32_t amount_seen;
	char shop_seen[64];
};

static bool verify_pin(void *arg, struct ec_pcsc *pc, const char *text, const struct seram_order *order,
		       size_t next)
{
	struct holder_at_agent *h = arg;
	struct purse_debit_request req;
	struct ec_error err = { 0 };
	int tries;

	if (strncmp(text, "pay/verify-pin/", 15) != 0)
		return true;
	cr_assert(ec_agent_debit_in_order(order, next, &req), "a DEBIT follows the PIN's notification");
	h->amount_seen = req.amount;
	snprintf(h->shop_seen, sizeof(h->shop_seen), "%s", text + 15);
	const char *pin = h->asked < 8 && h->pins[h->asked] ? h->pins[h->asked] : "";
	h->asked++;
	if (pin[0])
		ec_pin_verify(pc, pin, &tries, &err);
	return true;
}

/* Run the agent on the session, as `ecard agent --listen` does for a page. */
static enum ec_status run_agent(const char *sid, const char *server, struct holder_at_agent *h,
				bool (*cut)(void *, size_t, bool), void *cut_arg, struct ec_error *err)
{
	struct ec_agent_options opt = { .nservers = 1, .retry_s = 20, .response_timeout_s = 10,
					.session_id = sid, .act = verify_pin, .act_arg = h,
					.reconnect = card_back, .card_retries = 3, .cut = cut,
					.cut_arg = cut_arg };
	struct ec_agent_stats stats;
	opt.servers[0] = server;
	return ec_agent_run(&card.pc, &opt, &stats, err);
}

/* ---- the catalogue ---- */

Test(shop, catalogue_categories_products_and_pages)
{
	struct browser b = { 0 };
	struct reply r = get(&b, "/");
	cr_assert_eq(r.status, 200);
	cr_assert(strstr(r.body, "300 products"), "%s", r.body);
	cr_assert(strstr(r.body, "href=\"/category/"));
	cr_assert(strstr(r.body, "id=\"next\""), "a second page");
	done(&r);
	expect(&b, "/?page=13", 200, "id=\"previous\"");
	expect(&b, "/category/1", 200, "products");
	expect(&b, "/product/1", 200, "Add to basket");
	/* What is not there is 404; what is not a number is not a page. */
	const char *missing[] = { "/product/0", "/product/999999", "/product/1x", "/product/-1",
				  "/category/77", "/category/abc", "/product/99999999999999999999",
				  "/nothing", "/admin/../etc/passwd" };
	for (size_t i = 0; i < sizeof(missing) / sizeof(missing[0]); i++)
		expect(&b, missing[i], 404, NULL);
	r = request("DELETE", "/product/1", NULL, NULL, NULL, 0, NULL);
	cr_assert_eq(r.status, 405);
	done(&r);
	/* CSS and script are served with the page's CSP, which lets the
	 * script reach the holder's agent and nothing else. */
	r = get(&b, "/static/shop.js");
	cr_assert_eq(r.status, 200);
	cr_assert(strstr(r.body, "/v1/session"));
	done(&r);
}

Test(shop, search_finds_every_word_and_is_harmless_with_sql_and_fts_syntax)
{
	struct ec_error err = { 0 };
	struct product *list;
	size_t n;

	cr_assert_eq(catalogue_search(db, "oak", 0, 500, &list, &n, &err), EC_OK, "%s", err.text);
	cr_assert_gt(n, 5);
	for (size_t i = 0; i < n; i++)
		cr_assert(strstr(list[i].name, "Oak") || strstr(list[i].description, "Oak"), "%s", list[i].name);
	free(list);
	/* Words are prefixes, every one must match, case does not matter. */
	cr_assert_eq(catalogue_search(db, "TEAP oak", 0, 500, &list, &n, &err), EC_OK);
	for (size_t i = 0; i < n; i++)
		cr_assert(strstr(list[i].name, "Teapot") && strstr(list[i].name, "Oak"), "%s", list[i].name);
	free(list);

	struct snapshot s = snap();
	const char *hostile[] = {
		"' OR 1=1 --", "\"", "\"\"\"", "*", "oak*", "NEAR(oak teapot)", "oak OR 1", "-oak",
		"name:oak", "oak AND NOT teapot", "^oak", "'; DROP TABLE products; --",
		"%27%20OR%20%271%27%3D%271", "\\", "()", "{oak}", "oak:*", "a & b | !c", "\xC3\xA9t\xC3\xA9",
	};
	struct browser b = { 0 };
	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		cr_assert_eq(catalogue_search(db, hostile[i], 0, 50, &list, &n, &err), EC_OK,
			     "search \"%s\": %s", hostile[i], err.text);
		free(list);
		char *q = curl_easy_escape(NULL, hostile[i], 0);
		char path[512];
		snprintf(path, sizeof(path), "/search?q=%s", q);
		struct reply r = get(&b, path);
		cr_assert_eq(r.status, 200, "%s: %ld", hostile[i], r.status);
		done(&r);
		snprintf(path, sizeof(path), "/api/search?q=%s", q);
		r = get(&b, path);
		cr_assert_eq(r.status, 200);
		json_t *j = json_loads(r.body, 0, NULL);
		cr_assert(json_is_array(json_object_get(j, "products")), "%s", r.body);
		json_decref(j);
		done(&r);
		curl_free(q);
	}
	assert_unchanged(&s, "hostile searches");
	cr_assert_eq(rows("products"), 300);
	/* "' OR 1=1 --" is the words "or" and "1": nothing, not everything. */
	cr_assert_eq(catalogue_search(db, "' OR 1=1 --", 0, 500, &list, &n, &err), EC_OK);
	cr_assert_eq(n, 0);
	free(list);
	/* A search typed into the box is escaped where the page shows it. */
	struct reply r = get(&b, "/search?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E");
	cr_assert(strstr(r.body, "&lt;script&gt;alert(1)&lt;/script&gt;"), "%s", r.body);
	done(&r);
}

/* ---- accounts, baskets, orders ---- */

Test(shop, basket_follows_the_customer_into_the_log_in_and_orders_are_private)
{
	struct browser b = { 0 }, other = { 0 };
	struct reply r;

	/* Anonymous: a session is made for the form, the basket lives in it. */
	expect(&b, "/product/3", 200, "Add to basket");
	r = post(&b, "/basket/add", "product=3&quantity=4", NULL);
	cr_assert_eq(r.status, 303);
	done(&r);
	r = post(&b, "/basket/add", "product=3&quantity=95", NULL);
	done(&r);
	r = post(&b, "/basket/add", "product=3&quantity=10", NULL);	/* capped at 99 */
	cr_assert_eq(r.status, 303);
	done(&r);
	expect(&b, "/basket", 200, "value=\"99\"");
	char before[sizeof(b.cookie)];
	snprintf(before, sizeof(before), "%s", b.cookie);
	sign_up(&b, "dave%40example.org", "Dave");
	cr_assert_str_neq(b.cookie, before, "a new session at log-in");
	expect(&b, "/basket", 200, "value=\"99\"");
	cr_assert_eq(rows("basket"), 1, "the basket moved, it was not copied");
	r = post(&b, "/basket/set", "product=3&quantity=1", NULL);
	done(&r);
	expect(&b, "/basket", 200, "value=\"1\"");

	/* Bad input to the basket: nothing changes. */
	struct snapshot s = snap();
	const char *bad[] = { "product=99999&quantity=1", "product=3&quantity=-1", "product=3&quantity=1e3",
			      "product=x&quantity=1", "quantity=1", "product=3", "product=3&quantity=0" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = post(&b, "/basket/add", bad[i], NULL);
		cr_assert_geq(r.status, 400, "%s: %ld", bad[i], r.status);
		done(&r);
	}
	assert_unchanged(&s, "bad basket forms");

	/* The checkout refuses a bad address and keeps the basket. */
	expect(&b, "/checkout", 200, "Place the order");
	const char *addresses[] = {
		"name=&street=1+High+St&town=Leeds&postcode=LS1&email=d%40example.org",
		"name=Dave&street=1+High+St&town=Leeds&postcode=LS1&email=not-an-address",
		"name=Dave&street=1%0AHigh+St&town=Leeds&postcode=LS1&email=d%40example.org",
		"name=Dave&street=1+High+St&town=Leeds&email=d%40example.org",
		"name=Dave&street=1+High+St&town=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA&postcode=LS1&email=d%40example.org",
	};
	for (size_t i = 0; i < sizeof(addresses) / sizeof(addresses[0]); i++) {
		r = post(&b, "/checkout", addresses[i], NULL);
		cr_assert_eq(r.status, 422, "%s: %ld", addresses[i], r.status);
		done(&r);
	}
	assert_unchanged(&s, "bad addresses");
	/* Markup in the address is kept as text and shown escaped. */
	r = post(&b, "/checkout",
		 "name=%3Cimg+src%3Dx+onerror%3Dalert(1)%3E&street=1+High+St&town=Leeds&postcode=LS1&email=d%40example.org",
		 NULL);
	cr_assert_eq(r.status, 303, "%ld %s", r.status, r.body);
	char order[sizeof(r.location)];
	snprintf(order, sizeof(order), "%s", r.location);
	done(&r);
	cr_assert_eq(rows("basket"), 0, "the order took the basket");
	r = get(&b, order);
	cr_assert_eq(r.status, 200);
	cr_assert(strstr(r.body, "&lt;img src=x onerror=alert(1)&gt;"), "%s", r.body);
	cr_assert_null(strstr(r.body, "<img"));
	cr_assert(strstr(r.body, SALE_AWAITING));
	done(&r);

	/* Another customer sees neither the order nor its state. */
	sign_up(&other, "eve%40example.org", "Eve");
	expect(&other, order, 404, NULL);
	char api[sizeof(order) + 8];
	snprintf(api, sizeof(api), "/api%s", order);
	expect(&other, api, 404, NULL);
	expect(&b, api, 200, SALE_AWAITING);
	/* Nor can it open a payment of it. */
	char pay[sizeof(order) + 16], form[128];
	snprintf(pay, sizeof(pay), "/api%s/pay", order);
	snprintf(form, sizeof(form), "csrf=%s", other.csrf);
	r = request("POST", pay, other.cookie, "application/x-www-form-urlencoded", form, strlen(form), NULL);
	cr_assert_eq(r.status, 404);
	done(&r);
	/* Nobody signed in: the account pages send to the log-in. */
	struct browser anon = { 0 };
	r = get(&anon, "/account");
	cr_assert_eq(r.status, 303);
	cr_assert_str_eq(r.location, "/login");
	done(&r);
}

Test(shop, forms_need_the_csrf_token_and_this_site_as_origin)
{
	struct browser b = { 0 };
	struct reply r;

	sign_up(&b, "fay%40example.org", "Fay");
	expect(&b, "/product/2", 200, NULL);
	struct snapshot s = snap();
	r = post(&b, "/basket/add", "product=2&quantity=1", "0000");
	cr_assert_eq(r.status, 403);
	done(&r);
	r = request("POST", "/basket/add", b.cookie, "application/x-www-form-urlencoded",
		    "product=2&quantity=1", 20, NULL);
	cr_assert_eq(r.status, 403, "no token at all");
	done(&r);
	char form[256];
	snprintf(form, sizeof(form), "csrf=%s&product=2&quantity=1", b.csrf);
	r = request("POST", "/basket/add", b.cookie, "application/x-www-form-urlencoded", form,
		    strlen(form), "Origin: https://evil.example");
	cr_assert_eq(r.status, 403, "another site's page");
	done(&r);
	r = request("POST", "/basket/add", NULL, "application/x-www-form-urlencoded", form, strlen(form),
		    NULL);
	cr_assert_eq(r.status, 403, "no session");
	done(&r);
	/* A token of another session does not pass either. */
	struct browser c = { 0 };
	expect(&c, "/product/2", 200, NULL);
	r = post(&b, "/basket/add", "product=2&quantity=1", c.csrf);
	cr_assert_eq(r.status, 403);
	done(&r);
	assert_unchanged(&s, "forged forms");
	/* A customer is not staff. */
	r = post(&b, "/admin/products", "category=X&name=Y&price=1.00&stock=1", NULL);
	cr_assert_eq(r.status, 403);
	done(&r);
	expect(&b, "/admin", 403, NULL);
	assert_unchanged(&s, "a customer on the staff's routes");
	/* And the right token, from this site, passes. */
	snprintf(form, sizeof(form), "Origin: %s", base);
	char body[256];
	snprintf(body, sizeof(body), "csrf=%s&product=2&quantity=1", b.csrf);
	r = request("POST", "/basket/add", b.cookie, "application/x-www-form-urlencoded", body,
		    strlen(body), form);
	cr_assert_eq(r.status, 303, "%ld", r.status);
	done(&r);
}

Test(shop, staff_add_products_whose_markup_is_shown_as_text)
{
	struct browser b = { 0 };
	struct ec_error err = { 0 };
	struct reply r;

	sign_up(&b, "gus%40example.org", "Gus");
	cr_assert_eq(holders_set_staff(db, "gus@example.org", true, &err), EC_OK, "%s", err.text);
	expect(&b, "/admin", 200, "Add a product");
	r = post(&b, "/admin/products",
		 "category=Lab&name=%3Cscript%3Ealert(%27x%27)%3C%2Fscript%3E+Kettle&description=%22quoted%22+%26+%3Cb%3Ebold%3C%2Fb%3E&price=12.50&stock=3",
		 NULL);
	cr_assert_eq(r.status, 201, "%ld %s", r.status, r.body);
	long long id = 0;
	const char *t = strstr(r.body, "Product ");
	cr_assert_not_null(t);
	id = strtoll(t + 8, NULL, 10);
	done(&r);
	char path[64];
	snprintf(path, sizeof(path), "/product/%lld", id);
	r = get(&b, path);
	cr_assert_eq(r.status, 200);
	cr_assert(strstr(r.body, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; Kettle"), "%s", r.body);
	cr_assert(strstr(r.body, "&quot;quoted&quot; &amp; &lt;b&gt;bold&lt;/b&gt;"));
	cr_assert(strstr(r.body, "12.50 EUR"));
	cr_assert_null(strstr(r.body, "<script>"));
	done(&r);
	/* It is found by its words. */
	r = get(&b, "/search?q=kettle");
	cr_assert(strstr(r.body, path), "%s", r.body);
	done(&r);
	/* Bad products are refused, nothing added. */
	struct snapshot s = snap();
	const char *bad[] = { "category=Lab&name=&price=1.00&stock=1", "category=Lab&name=X&price=-1&stock=1",
			      "category=Lab&name=X&price=1.005&stock=1", "category=Lab&name=X&price=abc&stock=1",
			      "category=&name=X&price=1.00&stock=1", "category=Lab&name=X&price=1.00&stock=-5",
			      "category=Lab&name=X%0AY&price=1.00&stock=1", "category=Lab&name=X&price=0&stock=1" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = post(&b, "/admin/products", bad[i], NULL);
		cr_assert_geq(r.status, 400, "%s: %ld", bad[i], r.status);
		done(&r);
	}
	assert_unchanged(&s, "bad products");
}

/* ---- the thesis's own defects ---- */

Test(shop, no_sql_injection_in_sign_up_and_no_plaintext_passwords)
{
	struct browser b = { 0 };
	struct reply r;
	struct ec_error err = { 0 };

	/* The thesis built its sign-up SQL from the form: here each field is
	 * a parameter, stored as typed. */
	sign_up(&b, "robert%40example.org", "Robert%27)%3B+DROP+TABLE+holders%3B--");
	cr_assert_eq(rows("holders"), 1);
	struct store_result q;
	cr_assert_eq(store_exec(db, "SELECT name, password FROM holders", NULL, 0, &q, &err), EC_OK);
	cr_assert_str_eq(store_cell(&q, 0, 0), "Robert'); DROP TABLE holders;--");
	cr_assert(strncmp(store_cell(&q, 0, 1), "$argon2id$", 10) == 0, "%s", store_cell(&q, 0, 1));
	store_result_free(&q);
	struct browser x = { 0 };
	expect(&x, "/signup", 200, NULL);
	struct snapshot s = snap();
	r = post(&x, "/signup", "email=%27+OR+%271%27%3D%271&name=x&password=correct+horse+battery", NULL);
	cr_assert_eq(r.status, 422, "not an e-mail address: %ld", r.status);
	done(&r);
	assert_unchanged(&s, "an injection in the address");
	/* Logging in with an injection is a wrong password. */
	expect(&x, "/login", 200, NULL);
	r = post(&x, "/login", "email=robert%40example.org%27--&password=%27+OR+%271%27%3D%271", NULL);
	cr_assert_eq(r.status, 401);
	done(&r);
	r = post(&x, "/login", "email=robert%40example.org&password=%27+OR+%271%27%3D%271", NULL);
	cr_assert_eq(r.status, 401);
	done(&r);
	/* The password is nowhere in the database file, in any form. */
	if (store_kind(db) != STORE_SQLITE)
		return;
	store_close(db);
	char path[512];
	size_t len;
	FILE *f = fopen(ts_tmp_path(path, sizeof(path), "shop.db"), "rb");
	cr_assert_not_null(f);
	uint8_t *file = malloc(16 << 20);
	cr_assert_not_null(file);
	len = fread(file, 1, 16 << 20, f);
	fclose(f);
	cr_assert_gt(len, 0);
	cr_assert_null(memmem(file, len, "correct horse battery", 21));
	cr_assert_null(memmem(file, len, "correct+horse", 13));
	free(file);
	cr_assert_eq(store_open(db_url, &db, &err), EC_OK);
}

Test(shop, nonces_are_unpredictable_and_each_card_has_its_own_keys)
{
	struct ec_error err = { 0 };
	struct sale s = { .id = 1, .customer = 1, .total = 100 };
	snprintf(s.state, sizeof(s.state), SALE_AWAITING);
	enum { N = 64 };
	char ids[N][SERAM_SESSION_ID_MAX + 1];
	struct browser b[3] = { 0 };
	char cookies[3][sizeof(b[0].cookie)];

	/* Payment sessions: random UUIDs, never the same twice. */
	for (int i = 0; i < N; i++) {
		struct payment p;
		cr_assert_eq(pay_start(db, &s, &p, &err), EC_OK, "%s", err.text);
		snprintf(ids[i], sizeof(ids[i]), "%s", p.session);
		cr_assert_eq(ids[i][14], '4', "a version 4 (random) UUID: %s", ids[i]);
		for (int k = 0; k < i; k++)
			cr_assert_str_neq(ids[i], ids[k]);
	}
	/* Session cookies: 32 random bytes each. */
	for (int i = 0; i < 3; i++) {
		expect(&b[i], "/signup", 200, NULL);
		memcpy(cookies[i], b[i].cookie, sizeof(cookies[i]));
		cr_assert_eq(strlen(cookies[i]), 64);
		for (int k = 0; k < i; k++) {
			int same = 0;
			for (int c = 0; c < 64; c++)
				same += cookies[i][c] == cookies[k][c];
			cr_assert_lt(same, 24, "two session tokens alike: %s %s", cookies[i], cookies[k]);
		}
	}
	/* Debit challenges: the wallet signs what the shop's CSPRNG chose,
	 * 16 bytes, about half their bits apart from one payment to the next. */
	uint8_t ch[2][PURSE_CHALLENGE_LEN];
	for (int i = 0; i < 2; i++) {
		struct purse_debit_request req = { .amount = 1, .currency = merchant.currency };
		uint8_t bytes[PURSE_DEBIT_REQUEST_LEN];
		memcpy(req.merchant_id, merchant.id, PURSE_ID_LEN);
		memcpy(req.cert, merchant.cert, PURSE_CERT_LEN);
		cr_assert_eq(crypto_random(req.challenge, PURSE_CHALLENGE_LEN), 0);
		cr_assert_eq(purse_debit_request_make(&req, merchant.priv, bytes), 0);
		memcpy(ch[i], req.challenge, PURSE_CHALLENGE_LEN);
	}
	int diff = 0;
	for (int i = 0; i < PURSE_CHALLENGE_LEN; i++)
		diff += __builtin_popcount(ch[0][i] ^ ch[1][i]);
	cr_assert(diff > 24 && diff < 104, "%d bits apart", diff);

	/* One global key: the thesis's cards shared one. Here two cards of
	 * one issuer have their own load keys and key pairs. */
	struct ts_card other;
	struct ec_gp_keys test;
	ts_card_open(&other, 0, NULL);
	ec_gp_default_keys(&test, 0);
	cr_assert_eq(ec_personalize(&issuer, &other.pc, NULL, &test, NULL, NULL, &err), EC_OK, "%s", err.text);
	uint8_t cert1[PURSE_CERT_LEN], cert2[PURSE_CERT_LEN], pub1[CRYPTO_EC_PUB_LEN], pub2[CRYPTO_EC_PUB_LEN];
	uint8_t id1[PURSE_ID_LEN], id2[PURSE_ID_LEN], kl1[PURSE_KEY_LEN], kl2[PURSE_KEY_LEN];
	cr_assert_eq(ec_wallet_select(&card.pc, &err), EC_OK);
	cr_assert_eq(ec_wallet_card_cert(&card.pc, cert1, &err), EC_OK);
	cr_assert_eq(ec_wallet_select(&other.pc, &err), EC_OK);
	cr_assert_eq(ec_wallet_card_cert(&other.pc, cert2, &err), EC_OK);
	cr_assert_eq(purse_cert_check(issuer.ca_pub, PURSE_CERT_CARD, cert1, id1, pub1), 1);
	cr_assert_eq(purse_cert_check(issuer.ca_pub, PURSE_CERT_CARD, cert2, id2, pub2), 1);
	cr_assert(memcmp(id1, id2, PURSE_ID_LEN) != 0);
	cr_assert(memcmp(pub1, pub2, CRYPTO_EC_PUB_LEN) != 0, "each card made its own key pair");
	cr_assert_eq(purse_derive_kload(issuer.master_key, id1, kl1), 0);
	cr_assert_eq(purse_derive_kload(issuer.master_key, id2, kl2), 0);
	cr_assert(memcmp(kl1, kl2, PURSE_KEY_LEN) != 0, "each card its own K_load");
	ts_card_close(&other);
}

/* ---- paying ---- */

Test(shop, an_order_is_paid_from_the_card_with_its_pin_once)
{
	struct browser b = { 0 };
	struct ec_error err = { 0 };
	char sid[SERAM_SESSION_ID_MAX + 1], server[256];
	long long sale = order_something(&b, "hal%40example.org");
	long long total = total_of(sale);
	uint32_t before = purse().balance;

	open_payment(&b, sale, sid, server);
	char expected[300];
	snprintf(expected, sizeof(expected), "%s/gp/seram", base);
	cr_assert_str_eq(server, expected, "the shop's own URL");
	struct holder_at_agent h = { .pins = { PIN } };
	cr_assert_eq(run_agent(sid, server, &h, NULL, NULL, &err), EC_OK, "%s", err.text);
	cr_assert_eq(h.asked, 1);
	cr_assert_eq(h.amount_seen, (uint32_t)total, "the holder is shown what the card will sign");
	cr_assert_str_eq(h.shop_seen, "SmartMarket");
	cr_assert_str_eq(state_of(sale), SALE_PAID);
	cr_assert_eq(purse().balance, before - (uint32_t)total);
	cr_assert_eq(link_plan.debits, 1);
	cr_assert_eq(rows("debit_records"), 1);
	char path[64];
	snprintf(path, sizeof(path), "/orders/%lld", sale);
	expect(&b, path, 200, "id=\"paid\"");

	/* The session has ended: the agent cannot come back to it. */
	cr_assert_neq(run_agent(sid, server, &h, NULL, NULL, &err), EC_OK);
	cr_assert_eq(link_plan.debits, 1);
	/* Nor can the order be paid again. */
	char form[128];
	snprintf(path, sizeof(path), "/api/orders/%lld/pay", sale);
	snprintf(form, sizeof(form), "csrf=%s", b.csrf);
	struct reply r = request("POST", path, b.cookie, "application/x-www-form-urlencoded", form,
				 strlen(form), NULL);
	cr_assert_eq(r.status, 409);
	done(&r);

	/* The record goes to the issuer: it verifies and pays the shop once. */
	char *lines;
	size_t n;
	cr_assert_eq(pay_unsettled(db, 100, &lines, &n, &err), EC_OK);
	cr_assert_eq(n, 1);
	struct settle_item *items;
	size_t count;
	cr_assert_eq(settle_parse(lines, strlen(lines), 100, &items, &count, &err), EC_OK, "%s", err.text);
	cr_assert_eq(count, 1);
	cr_assert(items[0].usable);
	cr_assert_eq(purse_debit_record_check(issuer.ca_pub, items[0].cert, items[0].record,
					      items[0].signature), 1);
	free(items);
	cr_assert_eq(pay_mark_settled(db, lines, &err), EC_OK);
	free(lines);
	cr_assert_eq(pay_unsettled(db, 100, &lines, &n, &err), EC_OK);
	cr_assert_eq(n, 0);
	free(lines);
}

Test(shop, a_wrong_pin_then_the_right_one_pays_once_and_no_pin_pays_nothing)
{
	struct browser b = { 0 };
	struct ec_error err = { 0 };
	char sid[SERAM_SESSION_ID_MAX + 1], server[256];
	long long sale = order_something(&b, "ida%40example.org");
	uint32_t before = purse().balance;

	/* No PIN given: nothing debited, the order still awaits payment. */
	open_payment(&b, sale, sid, server);
	struct holder_at_agent none = { .pins = { "" } };
	cr_assert_neq(run_agent(sid, server, &none, NULL, NULL, &err), EC_OK);
	cr_assert(strstr(err.text, "did not give the PIN"), "%s", err.text);
	cr_assert_str_eq(state_of(sale), SALE_AWAITING);
	cr_assert_eq(purse().balance, before);
	cr_assert_eq(link_plan.debits, 1, "DEBIT reached the card and was refused");
	char path[64];
	snprintf(path, sizeof(path), "/orders/%lld", sale);
	expect(&b, path, 200, "did not give the PIN");

	/* A wrong PIN, then the right one. */
	open_payment(&b, sale, sid, server);
	struct holder_at_agent h = { .pins = { "0000", PIN } };
	cr_assert_eq(run_agent(sid, server, &h, NULL, NULL, &err), EC_OK, "%s", err.text);
	cr_assert_eq(h.asked, 2);
	cr_assert_str_eq(state_of(sale), SALE_PAID);
	cr_assert_eq(purse().balance, before - (uint32_t)total_of(sale));
	cr_assert_eq(rows("debit_records"), 1);
	int tries;
	card_back(NULL, &card.pc);
	cr_assert_eq(ec_pin_status(&card.pc, &tries, &err), EC_ERR_CARD);
	cr_assert_eq(tries, 3, "the right PIN gave the tries back");

}

Test(shop, three_wrong_pins_end_the_payment_with_nothing_debited)
{
	struct browser b = { 0 };
	struct ec_error err = { 0 };
	char sid[SERAM_SESSION_ID_MAX + 1], server[256];
	long long sale = order_something(&b, "jo%40example.org");
	uint32_t before = purse().balance;

	open_payment(&b, sale, sid, server);
	struct holder_at_agent h = { .pins = { "0000", "1111", "2222", PIN } };
	cr_assert_neq(run_agent(sid, server, &h, NULL, NULL, &err), EC_OK);
	cr_assert_eq(h.asked, PAY_DEBITS_MAX);
	cr_assert_str_eq(state_of(sale), SALE_AWAITING);
	cr_assert_eq(purse().balance, before);
	cr_assert_eq(rows("debit_records"), 0);
}

/* Lose one message of the agent's: the request before the server has it,
 * or the answer after the server acted. */
struct cut_plan {
	size_t at;
	bool answered, done;
};

static bool cut_once(void *arg, size_t exchange, bool answered)
{
	struct cut_plan *c = arg;
	if (c->done || exchange != c->at || answered != c->answered)
		return false;
	c->done = true;
	return true;
}

Test(shop, a_link_cut_at_every_exchange_charges_once)
{
	struct ec_error err = { 0 };
	int cuts_past_the_end = 0;
	struct browser b = { 0 };
	sign_up(&b, "cut%40example.org", "Cut");

	for (size_t at = 1; at <= 4; at++) {
		for (int answered = 0; answered < 2; answered++) {
			char sid[SERAM_SESSION_ID_MAX + 1], server[256];
			long long sale = place_order(&b, "cut%40example.org");
			top_up_if_low();
			uint32_t before = purse().balance;
			int debits = link_plan.debits;
			long long records = rows("debit_records");
			open_payment(&b, sale, sid, server);
			struct holder_at_agent h = { .pins = { PIN, PIN, PIN } };
			struct cut_plan plan = { at, answered != 0, false };
			enum ec_status st = run_agent(sid, server, &h, cut_once, &plan, &err);
			cr_assert_eq(st, EC_OK, "cut at %zu/%d: %s", at, answered, err.text);
			if (!plan.done)
				cuts_past_the_end++;
			cr_assert_str_eq(state_of(sale), SALE_PAID, "cut at %zu/%d", at, answered);
			cr_assert_eq(purse().balance, before - (uint32_t)total_of(sale), "charged once");
			cr_assert_eq(link_plan.debits, debits + 1);
			cr_assert_eq(rows("debit_records"), records + 1);
		}
	}
	cr_assert_eq(cuts_past_the_end, 0, "every cut fell in a payment (a payment is 4 exchanges)");
}

Test(shop, a_card_that_fails_in_the_middle_of_debit_is_charged_once)
{
	struct ec_error err = { 0 };

	for (int after = 0; after < 2; after++) {
		struct browser b = { 0 };
		char email[64], sid[SERAM_SESSION_ID_MAX + 1], server[256];
		snprintf(email, sizeof(email), "pulled%d%%40example.org", after);
		long long sale = order_something(&b, email);
		uint32_t before = purse().balance;
		int debits = link_plan.debits;
		open_payment(&b, sale, sid, server);
		/* The card leaves the reader with DEBIT: before it ran it, or
		 * after (debited, its answer lost). The agent gets it back and
		 * returns to the session, which asks the card where it stands. */
		link_plan.fail_debit = true;
		link_plan.after = after != 0;
		struct holder_at_agent h = { .pins = { PIN, PIN } };
		cr_assert_eq(run_agent(sid, server, &h, NULL, NULL, &err), EC_OK, "%s", err.text);
		cr_assert_str_eq(state_of(sale), SALE_PAID);
		cr_assert_eq(purse().balance, before - (uint32_t)total_of(sale), "charged once");
		cr_assert_eq(link_plan.debits, debits + 1, "one DEBIT ran on the card");
		cr_assert_eq(h.asked, after ? 1u : 2u, "the PIN asked again only when DEBIT never ran");
		char path[64];
		snprintf(path, sizeof(path), "/orders/%lld", sale);
		expect(&b, path, 200, after ? "read again from the card" : "paid by card");
	}
}

Test(shop, an_answer_the_relay_altered_is_never_taken_for_a_payment)
{
	struct browser b = { 0 };
	struct ec_error err = { 0 };
	char sid[SERAM_SESSION_ID_MAX + 1], server[256];
	long long sale = order_something(&b, "kim%40example.org");
	uint32_t before = purse().balance;

	open_payment(&b, sale, sid, server);
	/* A relay that alters DEBIT's answer: the record does not verify, so
	 * the shop reads the card's own last transaction, which does. */
	link_plan.corrupt = true;
	struct holder_at_agent h = { .pins = { PIN } };
	cr_assert_eq(run_agent(sid, server, &h, NULL, NULL, &err), EC_OK, "%s", err.text);
	link_plan.corrupt = false;
	cr_assert_str_eq(state_of(sale), SALE_PAID);
	cr_assert_eq(purse().balance, before - (uint32_t)total_of(sale));
	cr_assert_eq(rows("debit_records"), 1);
	char *lines;
	size_t n;
	struct settle_item *items;
	size_t count;
	cr_assert_eq(pay_unsettled(db, 10, &lines, &n, &err), EC_OK);
	cr_assert_eq(settle_parse(lines, strlen(lines), 100, &items, &count, &err), EC_OK);
	cr_assert_eq(purse_debit_record_check(issuer.ca_pub, items[0].cert, items[0].record,
					      items[0].signature), 1, "only a valid record is kept");
	free(items);
	free(lines);
}

/* ---- the agent in the browser path (ecard agent --listen) ---- */

static struct ec_listener *listener;
static char agent_base[64], pin_log[512], pin_answers[512];

static void quiet(void *arg, const char *line)
{
	(void)arg;
	(void)line;
}

/* What the holder will answer the pinentry dialogs, in turn. */
static void holder_answers(const char *answers)
{
	FILE *f = fopen(pin_answers, "w");
	cr_assert_not_null(f);
	fputs(answers, f);
	fclose(f);
	f = fopen(pin_log, "w");
	cr_assert_not_null(f);
	fclose(f);
}

/* What pinentry showed and was asked. */
static char *shown(void)
{
	static char text[16384];
	FILE *f = fopen(pin_log, "r");
	size_t n = f ? fread(text, 1, sizeof(text) - 1, f) : 0;
	if (f)
		fclose(f);
	text[n] = '\0';
	return text;
}

static int times(const char *text, const char *what)
{
	int n = 0;
	for (const char *p = strstr(text, what); p; p = strstr(p + 1, what))
		n++;
	return n;
}

static void start_agent(void)
{
	struct ec_error err = { 0 };
	ts_tmp_path(pin_log, sizeof(pin_log), "pinentry.log");
	ts_tmp_path(pin_answers, sizeof(pin_answers), "pinentry.answers");
	setenv("ECARD_TEST_PINENTRY_LOG", pin_log, 1);
	setenv("ECARD_TEST_PINENTRY_ANSWERS", pin_answers, 1);
	holder_answers("");
	struct ec_listen_options lo = { .host = "127.0.0.1", .norigins = 1, .pc = &card.pc,
					.reconnect = card_back, .retry_s = 10, .log = quiet };
	lo.origins[0] = base;	/* the shop, as its pages' Origin names it */
	lo.pinentry.program = FAKE_PINENTRY;
	lo.pinentry.timeout_s = 10;
	cr_assert_eq(ec_listen_start(&lo, &listener, &err), EC_OK, "%s", err.text);
	snprintf(agent_base, sizeof(agent_base), "http://127.0.0.1:%u", (unsigned)ec_listen_port(listener));
}

/* A page's call to the agent: from origin, with body (NULL: a preflight). */
static struct reply agent_call(const char *path, const char *origin, const char *body,
			       const char *more_headers)
{
	char headers[512];
	snprintf(headers, sizeof(headers), "Origin: %s%s%s", origin, more_headers ? "\n" : "",
		 more_headers ? more_headers : "");
	web_base = agent_base;
	struct reply r = request(body ? "POST" : "OPTIONS", path, NULL, body ? "application/json" : NULL,
				 body, body ? strlen(body) : 0, headers);
	web_base = base;
	return r;
}

static void pay_through_agent(struct browser *b, long long sale, long expect_status)
{
	char sid[SERAM_SESSION_ID_MAX + 1], server[256], json[512];
	open_payment(b, sale, sid, server);
	snprintf(json, sizeof(json), "{\"server\":\"%s\",\"sessionId\":\"%s\"}", server, sid);
	struct reply r = agent_call("/v1/session", base, json, NULL);
	cr_assert_eq(r.status, expect_status, "%ld %s; pinentry: %s", r.status, r.body, shown());
	done(&r);
}

Test(shop, the_listening_agent_answers_only_allowed_sites_about_their_own_server)
{
	struct browser b = { 0 };
	char sid[SERAM_SESSION_ID_MAX + 1], server[256], json[512];

	start_agent();
	long long sale = order_something(&b, "lee%40example.org");
	open_payment(&b, sale, sid, server);

	/* The preflight of an allowed page, Private Network Access included. */
	struct reply r = agent_call("/v1/session", base, NULL,
				    "Access-Control-Request-Method: POST\nAccess-Control-Request-Headers: content-type\n"
				    "Access-Control-Request-Private-Network: true");
	cr_assert_eq(r.status, 204, "%ld", r.status);
	char want[128];
	snprintf(want, sizeof(want), "Access-Control-Allow-Origin: %s", base);
	cr_assert(strstr(r.headers, want), "%s", r.headers);
	cr_assert(strstr(r.headers, "Access-Control-Allow-Private-Network: true"), "%s", r.headers);
	cr_assert(strstr(r.headers, "Access-Control-Allow-Methods: POST"));
	done(&r);

	/* Another site: refused, and told nothing it could read. */
	snprintf(json, sizeof(json), "{\"server\":\"%s\",\"sessionId\":\"%s\"}", server, sid);
	r = agent_call("/v1/session", "https://evil.example", NULL, "Access-Control-Request-Private-Network: true");
	cr_assert_eq(r.status, 403);
	cr_assert_null(strstr(r.headers, "Access-Control-Allow"), "%s", r.headers);
	done(&r);
	r = agent_call("/v1/session", "https://evil.example", json, NULL);
	cr_assert_eq(r.status, 403);
	cr_assert_null(strstr(r.headers, "Access-Control-Allow"));
	done(&r);
	r = agent_call("/v1/session", "null", json, NULL);
	cr_assert_eq(r.status, 403);
	done(&r);
	/* An allowed page whose name was rebound to loopback (another Host). */
	r = agent_call("/v1/session", base, json, "Host: shop.example");
	cr_assert_eq(r.status, 421);
	done(&r);
	/* An allowed page cannot point the agent at another server. */
	const char *servers[] = { "http://127.0.0.1:1/gp/seram", "https://evil.example/gp/seram", ".evil.example/x",
				  "@evil.example/", "/../x?y=1", "0/gp/seram" };
	for (size_t i = 0; i < sizeof(servers) / sizeof(servers[0]); i++) {
		char s[256];
		if (strncmp(servers[i], "http", 4) == 0)
			snprintf(s, sizeof(s), "%s", servers[i]);
		else
			snprintf(s, sizeof(s), "%s%s", base, servers[i]);
		snprintf(json, sizeof(json), "{\"server\":\"%s\",\"sessionId\":\"%s\"}", s, sid);
		r = agent_call("/v1/session", base, json, NULL);
		cr_assert_eq(r.status, 403, "%s: %ld", s, r.status);
		done(&r);
	}
	/* Bad bodies. */
	const char *bodies[] = { "{}", "[]", "not json", "{\"server\":1,\"sessionId\":2}",
				 "{\"server\":\"x\",\"sessionId\":\"../../etc\"}" };
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		r = agent_call("/v1/session", base, bodies[i], NULL);
		cr_assert_eq(r.status, 400, "%s: %ld", bodies[i], r.status);
		done(&r);
	}
	cr_assert_str_eq(shown(), "", "the holder was asked nothing for any of these");

	/* The holder says no to the site: nothing is run. */
	holder_answers("no\n");
	snprintf(json, sizeof(json), "{\"server\":\"%s\",\"sessionId\":\"%s\"}", server, sid);
	r = agent_call("/v1/session", base, json, NULL);
	cr_assert_eq(r.status, 403);
	done(&r);
	cr_assert_eq(times(shown(), "CONFIRM"), 1);
	cr_assert_eq(times(shown(), "GETPIN"), 0);
	cr_assert_str_eq(state_of(sale), SALE_AWAITING);
	cr_assert_eq(link_plan.debits, 0);
	ec_listen_stop(listener);
}

Test(shop, a_page_pays_through_the_listening_agent_with_the_pin_from_pinentry)
{
	struct browser b = { 0 };
	start_agent();
	long long sale = order_something(&b, "max%40example.org");
	uint32_t before = purse().balance;
	char amount[EC_AMOUNT_TEXT_MAX];
	ec_amount_format((uint32_t)total_of(sale), merchant.currency, amount, sizeof(amount));

	holder_answers("yes\npin " PIN "\n");
	pay_through_agent(&b, sale, 200);
	cr_assert_str_eq(state_of(sale), SALE_PAID);
	cr_assert_eq(purse().balance, before - (uint32_t)total_of(sale));
	const char *log = shown();
	char want[256];
	snprintf(want, sizeof(want), "SETDESC The web site %s wants to use your card", base);
	cr_assert(strstr(log, want), "%s", log);
	snprintf(want, sizeof(want), "Pay %s to SmartMarket (merchant 534D415254000001), for the web site %s?",
		 amount, base);
	cr_assert(strstr(log, want), "the PIN dialog shows what the card signs: %s", log);
	cr_assert_null(strstr(log, PIN), "the PIN is nowhere but in the answer");

	/* The site is known now; a wrong PIN, then the right one. */
	long long sale2 = place_order(&b, "max%40example.org");
	holder_answers("pin 0000\npin " PIN "\n");
	pay_through_agent(&b, sale2, 200);
	log = shown();
	cr_assert_eq(times(log, "CONFIRM"), 0, "asked once per site");
	cr_assert_eq(times(log, "GETPIN"), 2);
	cr_assert(strstr(log, "Wrong PIN: wrong PIN, 2 tries left"), "%s", log);
	cr_assert_str_eq(state_of(sale2), SALE_PAID);

	/* The holder cancels: the page is told, nothing is paid. */
	long long sale3 = place_order(&b, "max%40example.org");
	top_up_if_low();
	holder_answers("cancel\n");
	uint32_t now = purse().balance;
	pay_through_agent(&b, sale3, 409);
	cr_assert_str_eq(state_of(sale3), SALE_AWAITING);
	cr_assert_eq(purse().balance, now);
	char path[64];
	snprintf(path, sizeof(path), "/api/orders/%lld", sale3);
	expect(&b, path, 200, "did not give the PIN");
	ec_listen_stop(listener);
}

Test(shop, fill_from_card_gives_the_fields_the_holder_agreed_to_under_the_card_policy)
{
	struct ec_error err = { 0 };
	int tries;
	const struct {
		const char *name, *value;
	} fields[] = { { "forename", "Ada" }, { "surname", "Lovelace" }, { "street", "12 <b>St</b> James's Square" },
		       { "town", "London" }, { "postcode", "SW1Y 4LE" }, { "email", "ada@example.org" },
		       { "card-number", "4000 0012 3456 7899" } };

	cr_assert_eq(ec_profile_select(&card.pc, &err), EC_OK, "%s", err.text);
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		cr_assert_eq(ec_pin_verify(&card.pc, PIN, &tries, &err), EC_OK, "%s", err.text);
		cr_assert_eq(ec_profile_put_field(&card.pc, ec_profile_field_find(fields[i].name)->id,
						  fields[i].value, strlen(fields[i].value), &err),
			     EC_OK, "%s", err.text);
	}
	card_back(NULL, &card.pc);	/* a new card session: no PIN verified */
	start_agent();

	const char *ask = "{\"fields\":[\"forename\",\"surname\",\"street\",\"town\",\"county\",\"postcode\",\"email\"]}";
	holder_answers("yes\n");
	struct reply r = agent_call("/v1/fill", base, ask, NULL);
	cr_assert_eq(r.status, 200, "%ld %s", r.status, r.body);
	json_t *j = json_loads(r.body, 0, NULL);
	json_t *f = json_object_get(j, "fields");
	cr_assert_str_eq(json_string_value(json_object_get(f, "forename")), "Ada");
	cr_assert_str_eq(json_string_value(json_object_get(f, "street")), "12 <b>St</b> James's Square");
	cr_assert_str_eq(json_string_value(json_object_get(f, "email")), "ada@example.org");
	cr_assert_null(json_object_get(f, "county"), "an empty field is left out");
	cr_assert_null(json_object_get(f, "card-number"), "only what was asked");
	json_decref(j);
	done(&r);
	const char *log = shown();
	char want[256];
	snprintf(want, sizeof(want), "The web site %s asks for these details from your card:", base);
	cr_assert(strstr(log, want), "%s", log);
	cr_assert(strstr(log, "forename, surname, street, town, county, postcode, email"), "%s", log);
	cr_assert_eq(times(log, "GETPIN"), 0, "general fields need no PIN");

	/* A private field follows the card's policy: the PIN each time. */
	for (int round = 0; round < 2; round++) {
		holder_answers("yes\npin " PIN "\n");
		r = agent_call("/v1/fill", base, "{\"fields\":[\"card-number\"]}", NULL);
		cr_assert_eq(r.status, 200, "%ld %s", r.status, r.body);
		cr_assert(strstr(r.body, "4000 0012 3456 7899"), "%s", r.body);
		done(&r);
		cr_assert_eq(times(shown(), "GETPIN"), 1, "round %d", round);
		cr_assert(strstr(shown(), "card-number (private)"));
	}
	/* The PIN cancelled: the private field is left out. */
	holder_answers("yes\ncancel\n");
	r = agent_call("/v1/fill", base, "{\"fields\":[\"forename\",\"card-number\"]}", NULL);
	cr_assert_eq(r.status, 200);
	cr_assert(strstr(r.body, "Ada"));
	cr_assert_null(strstr(r.body, "4000"), "%s", r.body);
	done(&r);
	/* The holder says no: nothing. */
	holder_answers("no\n");
	r = agent_call("/v1/fill", base, ask, NULL);
	cr_assert_eq(r.status, 403);
	cr_assert_null(strstr(r.body, "Ada"));
	done(&r);
	/* Another site, unknown fields, bad bodies. */
	r = agent_call("/v1/fill", "https://evil.example", ask, NULL);
	cr_assert_eq(r.status, 403);
	done(&r);
	holder_answers("");
	const char *bad[] = { "{\"fields\":[\"shoe-size\"]}", "{\"fields\":[]}", "{\"fields\":\"forename\"}",
			      "{\"fields\":[\"FORENAME\"]}", "{}" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = agent_call("/v1/fill", base, bad[i], NULL);
		cr_assert_eq(r.status, 400, "%s: %ld", bad[i], r.status);
		done(&r);
	}
	cr_assert_str_eq(shown(), "", "nothing asked for bad requests");
	ec_listen_stop(listener);
}

Test(shop, pinentry_is_spoken_to_in_assuan_and_a_missing_program_is_an_error)
{
	struct ec_error err = { 0 };
	char pin[EC_PIN_TEXT_MAX];
	bool yes = true;

	start_agent();	/* the fake pinentry's files */
	struct ec_pinentry pe = { .program = FAKE_PINENTRY, .title = "T%1", .timeout_s = 5 };
	holder_answers("pin 12%2534\nno\n");
	cr_assert_eq(ec_pinentry_getpin(&pe, "line one\nline 100%", "PIN:", pin, sizeof(pin), &err), EC_OK,
		     "%s", err.text);
	cr_assert_str_eq(pin, "12%34", "the answer's %%-escapes decoded");
	cr_assert_eq(ec_pinentry_confirm(&pe, "sure?", &yes, &err), EC_OK);
	cr_assert_not(yes);
	const char *log = shown();
	cr_assert(strstr(log, "SETTITLE T%1\n"), "%s", log);
	cr_assert(strstr(log, "SETDESC line one\nline 100%\n"), "the description's %%-escapes: %s", log);
	/* Too long an answer is refused and wiped. */
	holder_answers("pin 123456789012345678901234567890\n");
	cr_assert_eq(ec_pinentry_getpin(&pe, "x", "PIN:", pin, sizeof(pin), &err), EC_ERR_ARG);
	cr_assert_str_eq(pin, "");
	/* No such program. */
	pe.program = "/nonexistent/pinentry";
	cr_assert_eq(ec_pinentry_getpin(&pe, "x", "PIN:", pin, sizeof(pin), &err), EC_ERR_FILE);
	cr_assert(strstr(err.text, "/nonexistent/pinentry"), "%s", err.text);
	ec_listen_stop(listener);
}

Test(shop, an_order_cancelled_before_the_card_pays_is_not_debited)
{
	struct browser b = { 0 }, other = { 0 };
	struct ec_error err = { 0 };
	char sid[SERAM_SESSION_ID_MAX + 1], server[256], path[64];
	long long sale = order_something(&b, "nia%40example.org");
	uint32_t before = purse().balance;

	/* A payment session is open when the customer cancels the order. */
	open_payment(&b, sale, sid, server);
	sign_up(&other, "oz%40example.org", "Oz");
	snprintf(path, sizeof(path), "/orders/%lld/cancel", sale);
	struct reply r = post(&other, path, "", NULL);
	cr_assert_eq(r.status, 404, "another customer's order");
	done(&r);
	snprintf(path, sizeof(path), "/orders/%lld", sale);
	expect(&b, path, 200, "Cancel the order");
	snprintf(path, sizeof(path), "/orders/%lld/cancel", sale);
	r = post(&b, path, "", "0000");
	cr_assert_eq(r.status, 403, "the CSRF token");
	done(&r);
	r = post(&b, path, "", NULL);
	cr_assert_eq(r.status, 303, "%ld %s", r.status, r.body);
	done(&r);
	cr_assert_str_eq(state_of(sale), SALE_CANCELLED);
	struct holder_at_agent h = { .pins = { PIN } };
	cr_assert_neq(run_agent(sid, server, &h, NULL, NULL, &err), EC_OK);
	cr_assert(strstr(err.text, "no longer awaiting payment"), "%s", err.text);
	cr_assert_eq(h.asked, 0, "no PIN asked for a cancelled order");
	cr_assert_eq(purse().balance, before);
	cr_assert_eq(link_plan.debits, 0);
	/* No new payment, and no second cancel. */
	char form[128];
	snprintf(path, sizeof(path), "/api/orders/%lld/pay", sale);
	snprintf(form, sizeof(form), "csrf=%s", b.csrf);
	r = request("POST", path, b.cookie, "application/x-www-form-urlencoded", form, strlen(form), NULL);
	cr_assert_eq(r.status, 409);
	done(&r);
	snprintf(path, sizeof(path), "/orders/%lld/cancel", sale);
	r = post(&b, path, "", NULL);
	cr_assert_eq(r.status, 409);
	done(&r);
}
