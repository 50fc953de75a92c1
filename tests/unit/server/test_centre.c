/*
 * test_centre.c - the issuer centre's pages and endpoints (server/centre.c)
 * over real HTTP on loopback, with libcurl as the browser: sign-up and
 * log-in with their sessions, CSRF tokens and rate limits; every route fed
 * bad input (missing fields, wrong types, huge bodies, SQL metacharacters,
 * markup in names, a wrong CSRF token, a session that expired, another
 * holder's card), refused with nothing changed; a holder's online top-up
 * from the bank account through `ecard agent` to a card in memory; the
 * staff's pages; a merchant's upload of records.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "cards.h"
#include "hex.h"
#include "holders.h"
#include "ledger.h"
#include "merchant.h"
#include "ota_fixture.h"
#include "perso.h"
#include "settle.h"
#include "test_support.h"
#include "web_client.h"
#include "wallet.h"

/* ---- a holder ---- */

static void sign_up(struct browser *b, const char *email, const char *name)
{
	char f[512];
	done(&(struct reply){ .body = get(b, "/centre/signup").body });
	snprintf(f, sizeof(f), "email=%s&name=%s&password=correct+horse+battery", email, name);
	struct reply r = post(b, "/centre/signup", f, NULL);
	cr_assert_eq(r.status, 303, "%ld: %s", r.status, r.body);
	cr_assert_str_eq(r.location, "/centre/cards");
	done(&r);
	r = get(b, "/centre/cards");	/* the signed-in pages' CSRF token */
	cr_assert_eq(r.status, 200);
	done(&r);
}

/* ---- what the store holds, to see that nothing changed ---- */

/* (The store keeps statements by their text's address: each is a literal.) */
static long long count_of(const char *sql)
{
	struct ec_error err = { 0 };
	struct store_result r;
	cr_assert_eq(store_exec(db, sql, NULL, 0, &r, &err), EC_OK, "%s", err.text);
	long long n = strtoll(store_cell(&r, 0, 0), NULL, 10);
	store_result_free(&r);
	return n;
}

#define rows(table) count_of("SELECT count(*) FROM " table)

struct snapshot {
	long long holders, jobs, orders, postings, merchants, debits, cards;
};

static struct snapshot snap(void)
{
	return (struct snapshot){ rows("holders"), rows("jobs"), rows("card_orders"),
				  rows("postings"), rows("merchants"), rows("debits"), rows("cards") };
}

static void assert_unchanged(const struct snapshot *a, const char *what)
{
	struct snapshot b = snap();
	cr_assert(memcmp(a, &b, sizeof(b)) == 0,
		  "%s changed the store: holders %lld/%lld jobs %lld/%lld orders %lld/%lld postings %lld/%lld",
		  what, a->holders, b.holders, a->jobs, b.jobs, a->orders, b.orders, a->postings,
		  b.postings);
}

static void setup(void)
{
	with_issuer = true;
	start(0);
	with_issuer = false;
	web_base = base;
}

static void teardown(void)
{
	ec_issuer_wipe(&issuer);
	stop();
}

TestSuite(centre, .init = setup, .fini = teardown, .timeout = 120);

/* ---- tests ---- */

Test(centre, sign_up_log_in_and_out_with_fresh_sessions_and_hashed_passwords)
{
	struct browser b = { 0 };
	struct ec_error err = { 0 };

	struct reply r = get(&b, "/centre/login");
	cr_assert_eq(r.status, 200);
	done(&r);
	char before[sizeof(b.cookie)];
	snprintf(before, sizeof(before), "%s", b.cookie);
	cr_assert_eq(strlen(before), WEB_TOKEN_HEX - 1);
	sign_up(&b, "Alice%40Example.org", "Alice");
	cr_assert_str_neq(b.cookie, before, "log-in gives a new session");
	/* The session from before log-in is gone. */
	struct browser old = { 0 };
	snprintf(old.cookie, sizeof(old.cookie), "%s", before);
	r = get(&old, "/centre/cards");
	cr_assert_eq(r.status, 303);
	done(&r);

	r = get(&b, "/centre/cards");
	cr_assert_eq(r.status, 200);
	cr_assert(strstr(r.body, "100.00 EUR"), "the bank's welcome: %s", r.body);
	done(&r);
	/* argon2id, salted: the password is nowhere in the store. */
	struct store_result q;
	cr_assert_eq(store_exec(db, "SELECT email, password FROM holders", NULL, 0, &q, &err), EC_OK);
	cr_assert_eq(q.rows, 1);
	cr_assert_str_eq(store_cell(&q, 0, 0), "alice@example.org");
	cr_assert(strncmp(store_cell(&q, 0, 1), "$argon2id$", 10) == 0);
	cr_assert_null(strstr(store_cell(&q, 0, 1), "correct"));
	store_result_free(&q);
	/* Nor is the cookie: only its hash. */
	cr_assert_eq(store_exec(db, "SELECT id FROM web_sessions", NULL, 0, &q, &err), EC_OK);
	for (size_t i = 0; i < q.rows; i++)
		cr_assert_str_neq(store_cell(&q, i, 0), b.cookie);
	store_result_free(&q);

	/* Log out: the cookie is cleared and the session ends. */
	char live[sizeof(b.cookie)];
	snprintf(live, sizeof(live), "%s", b.cookie);
	r = post(&b, "/centre/logout", "", NULL);
	cr_assert_eq(r.status, 303);
	cr_assert_str_eq(r.cookie, "-");
	done(&r);
	snprintf(old.cookie, sizeof(old.cookie), "%s", live);
	r = get(&old, "/centre/cards");
	cr_assert_eq(r.status, 303);
	cr_assert_str_eq(r.location, "/centre/login");
	done(&r);

	/* Log in again, with the address in another case, from this site's
	 * own page as a browser says it (Origin). */
	r = get(&b, "/centre/login");
	done(&r);
	char form[256], origin[128];
	snprintf(form, sizeof(form), "csrf=%s&email=ALICE%%40example.org&password=correct+horse+battery",
		 b.csrf);
	snprintf(origin, sizeof(origin), "Origin: %s", base);
	r = request("POST", "/centre/login", b.cookie, "application/x-www-form-urlencoded", form,
		    strlen(form), origin);
	cr_assert_eq(r.status, 303, "%ld %s", r.status, r.body);
	keep(&b, &r);
	done(&r);
	r = get(&b, "/centre/cards");
	cr_assert_eq(r.status, 200);
	done(&r);
	/* The same address again is refused. */
	struct browser c = { 0 };
	done(&(struct reply){ .body = get(&c, "/centre/signup").body });
	struct snapshot s = snap();
	r = post(&c, "/centre/signup", "email=alice%40example.org&name=Eve&password=0123456789ab", NULL);
	cr_assert_eq(r.status, 409);
	done(&r);
	assert_unchanged(&s, "a second sign-up with one address");
}

Test(centre, log_in_is_rate_limited_per_account_and_per_address)
{
	struct browser b = { 0 };
	struct ec_error err = { 0 };
	struct reply r;

	sign_up(&b, "bob%40example.org", "Bob");
	struct browser x = { 0 };
	r = get(&x, "/centre/login");
	done(&r);
	for (int i = 0; i < LOGIN_MAX_PER_ACCOUNT; i++) {
		r = post(&x, "/centre/login", "email=bob%40example.org&password=wrong+password", NULL);
		cr_assert_eq(r.status, 401, "attempt %d: %ld", i, r.status);
		cr_assert(strstr(r.body, "wrong e-mail address or password"));
		done(&r);
	}
	/* Now even the right password is refused, without being tried. */
	r = post(&x, "/centre/login", "email=bob%40example.org&password=correct+horse+battery", NULL);
	cr_assert_eq(r.status, 429, "%ld", r.status);
	done(&r);
	/* An unknown address answers as a wrong password does. */
	r = post(&x, "/centre/login", "email=nobody%40example.org&password=whatever123", NULL);
	cr_assert_eq(r.status, 401);
	cr_assert(strstr(r.body, "wrong e-mail address or password"));
	done(&r);
	/* Per address: failures on many accounts from one client. */
	for (int i = 0; i < LOGIN_MAX_PER_ADDRESS; i++) {
		char f[128];
		snprintf(f, sizeof(f), "email=user%d%%40example.org&password=guess+guess", i);
		r = post(&x, "/centre/login", f, NULL);
		done(&r);
	}
	r = post(&x, "/centre/login", "email=carol%40example.org&password=guess+guess", NULL);
	cr_assert_eq(r.status, 429);
	done(&r);
	/* Once the window has passed, the right password works again. */
	cr_assert_eq(store_exec(db, "UPDATE web_attempts SET at = 0", NULL, 0, NULL, &err), EC_OK);
	r = post(&x, "/centre/login", "email=bob%40example.org&password=correct+horse+battery", NULL);
	cr_assert_eq(r.status, 303, "%ld", r.status);
	done(&r);
}

/* A card of the holder's, known by its top-ups' agent identity. */
static void give_card(const char *email, char serial[CARD_SERIAL_HEX])
{
	struct ec_error err = { 0 };
	struct ec_gp_keys test;
	struct ec_purse_data pd;
	struct holder h;

	ec_gp_default_keys(&test, 0);
	cr_assert_eq(ec_personalize(&issuer, &card.pc, NULL, &test, NULL, NULL, &err), EC_OK, "%s",
		     err.text);
	cr_assert_eq(ec_wallet_select(&card.pc, &err), EC_OK, "%s", err.text);
	cr_assert_eq(ec_wallet_purse_data(&card.pc, &pd, &err), EC_OK, "%s", err.text);
	hex_encode(pd.serial, PURSE_SERIAL_LEN, serial);
	cr_assert_eq(holders_find(db, email, &h, &err), EC_OK, "%s", err.text);
	cr_assert_eq(cards_add(db, serial, card_id, NULL, h.id, &err), EC_OK, "%s", err.text);
}

static int pin_1234(void *arg, char pin[EC_PIN_TEXT_MAX], struct ec_error *err)
{
	(void)arg;
	(void)err;
	snprintf(pin, EC_PIN_TEXT_MAX, "1234");
	return 0;
}

static long long balance_of(const char *account)
{
	struct ec_error err = { 0 };
	long long v;
	cr_assert_eq(ledger_balance(db, account, &v, &err), EC_OK, "%s", err.text);
	return v;
}

Test(centre, a_holder_tops_up_online_from_the_bank_exactly_once)
{
	struct browser b = { 0 }, eve = { 0 };
	struct ec_agent_options opt;
	struct ec_agent_stats stats;
	struct ec_error err = { 0 };
	char serial[CARD_SERIAL_HEX], path[128], bank[LEDGER_NAME_MAX];
	struct holder h;

	sign_up(&b, "dora%40example.org", "Dora");
	give_card("dora@example.org", serial);
	cr_assert_eq(holders_find(db, "dora@example.org", &h, &err), EC_OK);
	holder_bank(h.id, bank);

	snprintf(path, sizeof(path), "/centre/cards/%s/top-up", serial);
	struct reply r = post(&b, path, "amount=20.00", NULL);
	cr_assert_eq(r.status, 303, "%ld: %s", r.status, r.body);
	done(&r);
	snprintf(path, sizeof(path), "/centre/cards/%s", serial);
	r = get(&b, path);
	cr_assert(strstr(r.body, "data-pending=\"1\""), "%s", r.body);
	done(&r);
	/* The money is held as soon as the job starts, and goes to the card
	 * once the card proves the credit. */
	agent_options(&opt);
	cr_assert_eq(ec_agent_run(&card.pc, &opt, &stats, &err), EC_OK, "%s", err.text);
	cr_assert_eq(stats.jobs_done, 1);
	r = get(&b, path);
	cr_assert(strstr(r.body, "data-pending=\"0\""));
	cr_assert(strstr(r.body, "id=\"balance\">20.00 EUR<"), "%s", r.body);
	cr_assert(strstr(r.body, "credited 20.00 EUR"));
	done(&r);
	cr_assert_eq(balance_of(bank), 8000);
	char account[CARD_ACCOUNT_MAX];
	card_account(serial, account);
	cr_assert_eq(balance_of(account), 2000);
	/* The JSON view says the same. */
	snprintf(path, sizeof(path), "/api/cards/%s", serial);
	r = get(&b, path);
	cr_assert_eq(r.status, 200);
	json_t *o = json_loads(r.body, 0, NULL);
	cr_assert_eq(json_integer_value(json_object_get(o, "balance_minor")), 2000);
	cr_assert_eq(json_integer_value(json_object_get(o, "pending_jobs")), 0);
	cr_assert_eq(json_integer_value(json_object_get(o, "unsettled_minor")), 0);
	json_decref(o);
	done(&r);

	/* More than the bank holds, and amounts that are no amounts. */
	struct snapshot s = snap();
	snprintf(path, sizeof(path), "/centre/cards/%s/top-up", serial);
	const char *bad[] = { "amount=80.01", "amount=abc", "amount=-5", "amount=0",
			      "amount=1.234", "amount=", "amount=1e9", "amount=99999999999",
			      "amount=20.00%27%3B+DROP+TABLE+jobs%3B--", "" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = post(&b, path, bad[i], NULL);
		cr_assert_eq(r.status, 422, "%s: %ld", bad[i], r.status);
		done(&r);
	}
	assert_unchanged(&s, "bad top-ups");

	/* Another holder sees no such card, and cannot top it up. */
	sign_up(&eve, "eve%40example.org", "Eve");
	snprintf(path, sizeof(path), "/centre/cards/%s", serial);
	r = get(&eve, path);
	cr_assert_eq(r.status, 404);
	done(&r);
	snprintf(path, sizeof(path), "/api/cards/%s", serial);
	r = get(&eve, path);
	cr_assert_eq(r.status, 404);
	done(&r);
	s = snap();
	snprintf(path, sizeof(path), "/centre/cards/%s/top-up", serial);
	r = post(&eve, path, "amount=1.00", NULL);
	cr_assert_eq(r.status, 404);
	done(&r);
	assert_unchanged(&s, "another holder's top-up");

	struct ledger_account *acc;
	size_t n;
	long long sum;
	cr_assert_eq(ledger_accounts(db, &acc, &n, &sum, &err), EC_OK);
	free(acc);
	cr_assert_eq(sum, 0);
}

Test(centre, every_form_refuses_bad_input_and_changes_nothing)
{
	struct browser b = { 0 };
	struct ec_error err = { 0 };
	char serial[CARD_SERIAL_HEX], path[128];
	struct reply r;

	sign_up(&b, "fred%40example.org", "Fred");
	give_card("fred@example.org", serial);
	struct snapshot s = snap();
	snprintf(path, sizeof(path), "/centre/cards/%s/top-up", serial);
	const char *forms[] = { "/centre/orders", "/centre/logout", path, "/centre/signup",
				"/centre/login" };
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		/* A wrong token, none, one of another session. */
		r = post(&b, forms[i], "amount=1.00&email=x%40y.org&name=X&password=0123456789ab",
			 "00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF");
		cr_assert_eq(r.status, 403, "%s: %ld", forms[i], r.status);
		done(&r);
		char *form = "amount=1.00";
		r = request("POST", forms[i], b.cookie, "application/x-www-form-urlencoded", form,
			    strlen(form), NULL);
		cr_assert_eq(r.status, 403, "%s without a token: %ld", forms[i], r.status);
		done(&r);
		/* The right token from another site's page. */
		char f[256];
		snprintf(f, sizeof(f), "csrf=%s&amount=1.00", b.csrf);
		r = request("POST", forms[i], b.cookie, "application/x-www-form-urlencoded", f,
			    strlen(f), "Origin: https://evil.example");
		cr_assert_eq(r.status, 403, "%s from another origin: %ld", forms[i], r.status);
		done(&r);
	}
	assert_unchanged(&s, "forms without their token");
	/* Still signed in: the refusals logged nobody out. */
	r = get(&b, "/centre/cards");
	cr_assert_eq(r.status, 200);
	done(&r);

	/* A huge body; a form that is not UTF-8; fields with a NUL. */
	size_t big = 70 * 1024;
	char *huge = malloc(big + 1);
	memset(huge, 'a', big);
	memcpy(huge, "csrf=", 5);
	huge[big] = '\0';
	r = request("POST", "/centre/orders", b.cookie, "application/x-www-form-urlencoded", huge,
		    big, NULL);
	cr_assert_eq(r.status, 413);
	done(&r);
	free(huge);
	struct browser n = { 0 };
	r = get(&n, "/centre/signup");
	done(&r);
	const char *signups[] = {
		"email=a%40b.org&name=%C3%28&password=0123456789ab",	/* not UTF-8 */
		"email=a%40b.org&name=A%00B&password=0123456789ab",	/* NUL */
		"email=a%40b.org&name=A&password=short",		/* too short */
		"email=not-an-address&name=A&password=0123456789ab",
		"email=%27+OR+%271%27%3D%271&name=A&password=0123456789ab",
		"email=a%40b.org&password=0123456789ab",		/* no name */
		"email=a%40b.org&name=A%0D%0AB&password=0123456789ab",	/* a new line */
		"email=a%40b.org&name=A&password=0123456789ab%",	/* a cut escape */
	};
	for (size_t i = 0; i < sizeof(signups) / sizeof(signups[0]); i++) {
		r = post(&n, "/centre/signup", signups[i], NULL);
		cr_assert(r.status == 400 || r.status == 422, "%s: %ld", signups[i], r.status);
		done(&r);
	}
	assert_unchanged(&s, "bad sign-ups");

	/* SQL metacharacters and markup are data: stored as they are, shown
	 * escaped. */
	r = post(&n, "/centre/signup",
		 "email=o%27brien%40example.org&name=%3Cscript%3Ealert(1)%3C%2Fscript%3E+%27%3B+DROP+TABLE+holders%3B--&password=0123456789ab",
		 NULL);
	cr_assert_eq(r.status, 303, "%ld: %s", r.status, r.body);
	done(&r);
	r = get(&n, "/centre/cards");
	cr_assert(strstr(r.body, "&lt;script&gt;alert(1)&lt;/script&gt; &#39;; DROP TABLE holders;--"),
		  "%s", r.body);
	cr_assert_null(strstr(r.body, "<script>alert"));
	done(&r);
	cr_assert_eq(rows("holders"), s.holders + 1, "the holders table is there, one more");
	struct holder h;
	cr_assert_eq(holders_find(db, "o'brien@example.org", &h, &err), EC_OK, "%s", err.text);

	/* An expired session is no session. */
	cr_assert_eq(store_exec(db, "UPDATE web_sessions SET expires = 1", NULL, 0, NULL, &err), EC_OK);
	s = snap();
	r = get(&b, "/centre/cards");
	cr_assert_eq(r.status, 303);
	done(&r);
	snprintf(path, sizeof(path), "/centre/cards/%s/top-up", serial);
	r = post(&b, path, "amount=1.00", NULL);
	cr_assert_eq(r.status, 403);
	done(&r);
	r = request("GET", "/api/fraud", b.cookie, NULL, NULL, 0, NULL);
	cr_assert_eq(r.status, 401);
	done(&r);
	assert_unchanged(&s, "an expired session");

	/* Paths that are no pages, and methods that are not taken. */
	const char *paths[] = { "/centre/cards/XYZ", "/centre/cards/%27%20OR%201%3D1",
				"/centre/cards/0011223344556677", "/centre/nothing", "/api/nothing",
				"/centre/cards/00112233445566778899" };
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		r = request("GET", paths[i], NULL, NULL, NULL, 0, NULL);
		cr_assert(r.status == 404 || r.status == 303, "%s: %ld", paths[i], r.status);
		done(&r);
	}
	r = request("DELETE", "/centre/cards", NULL, NULL, NULL, 0, NULL);
	cr_assert_eq(r.status, 405);
	done(&r);
	assert_unchanged(&s, "paths that are no pages");
}

Test(centre, staff_onboard_merchants_block_cards_and_read_the_fraud_report)
{
	struct browser b = { 0 }, staff = { 0 };
	struct ec_error err = { 0 };
	char serial[CARD_SERIAL_HEX], path[128], mpath[256], certhex[2 * PURSE_CERT_LEN + 1];
	struct reply r;

	sign_up(&b, "gina%40example.org", "Gina");
	give_card("gina@example.org", serial);
	sign_up(&staff, "staff%40issuer.example", "Staff");
	/* Not staff yet: refused. */
	r = get(&staff, "/centre/staff");
	cr_assert_eq(r.status, 403);
	done(&r);
	r = get(&staff, "/api/fraud");
	cr_assert_eq(r.status, 403);
	done(&r);
	cr_assert_eq(holders_set_staff(db, "staff@issuer.example", true, &err), EC_OK, "%s", err.text);
	r = get(&staff, "/centre/staff");
	cr_assert_eq(r.status, 200);
	done(&r);

	/* Onboard a merchant with its certificate; the token is shown once. */
	struct ec_merchant m;
	ts_tmp_path(mpath, sizeof(mpath), "shop.merchant");
	static const uint8_t id[PURSE_ID_LEN] = { 0x53, 0x48, 0x4F, 0x50, 0, 0, 0, 1 };
	cr_assert_eq(ec_merchant_init(&issuer, id, mpath, &err), EC_OK, "%s", err.text);
	cr_assert_eq(ec_merchant_load(mpath, &m, &err), EC_OK, "%s", err.text);
	hex_encode(m.cert, PURSE_CERT_LEN, certhex);
	char f[1024];
	snprintf(f, sizeof(f), "name=The+%%3Cb%%3Eshop%%3C%%2Fb%%3E&certificate=%s", certhex);
	r = post(&staff, "/centre/staff/merchants", f, NULL);
	cr_assert_eq(r.status, 200, "%ld %s", r.status, r.body);
	const char *t = strstr(r.body, "<code id=\"token\">");
	cr_assert_not_null(t);
	char token[2 * SETTLE_TOKEN_LEN + 1];
	snprintf(token, sizeof(token), "%.*s", 2 * SETTLE_TOKEN_LEN, t + 17);
	cr_assert(strstr(r.body, "The &lt;b&gt;shop&lt;/b&gt;"));
	done(&r);
	/* A holder cannot onboard, nor can a card's certificate be a merchant's. */
	struct snapshot s = snap();
	r = post(&b, "/centre/staff/merchants", f, NULL);
	cr_assert_eq(r.status, 403);
	done(&r);
	r = post(&staff, "/centre/staff/merchants", "name=x&certificate=00", NULL);
	cr_assert_eq(r.status, 422);
	done(&r);
	assert_unchanged(&s, "refused onboardings");

	/* The card pays at the shop; the shop uploads the record. */
	char accs[CARD_ACCOUNT_MAX];
	card_account(serial, accs);
	struct ec_payment pay;
	struct ledger_line l[2] = { { LEDGER_GRANTS, -1000 }, { accs, 1000 } };
	struct ec_load_result lr;
	cr_assert_eq(ec_wallet_load(&card.pc, &issuer, 1000, &lr, &err), EC_OK, "%s", err.text);
	cr_assert_eq(ledger_post(db, "test-load/1", l, 2, NULL, &err), EC_OK, "%s", err.text);
	cr_assert_eq(ec_merchant_pay(&m, &card.pc, 250, 978, pin_1234, NULL, &pay, &err), EC_OK, "%s",
		     err.text);
	ec_merchant_wipe(&m);
	char rec[2 * PURSE_DEBIT_RECORD_LEN + 1], sig[2 * CRYPTO_EC_SIG_LEN + 1], upload[1024];
	hex_encode(pay.record_bytes, PURSE_DEBIT_RECORD_LEN, rec);
	hex_encode(pay.signature, CRYPTO_EC_SIG_LEN, sig);
	hex_encode(pay.card_cert, PURSE_CERT_LEN, certhex);
	snprintf(upload, sizeof(upload),
		 "{\"record\": \"%s\", \"signature\": \"%s\", \"card_certificate\": \"%s\"}\n", rec,
		 sig, certhex);

	/* Uploads: no token, a wrong one, another type, bad JSON, too big. */
	const char *json = "[]";
	r = request("POST", "/api/settlement", NULL, "application/json", json, 2, NULL);
	cr_assert_eq(r.status, 401);
	done(&r);
	r = request("POST", "/api/settlement", NULL, "application/json", json, 2,
		    "Authorization: Bearer 0000000000000000000000000000000000000000000000000000000000000000");
	cr_assert_eq(r.status, 401);
	done(&r);
	char auth[128];
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
	r = request("POST", "/api/settlement", NULL, "text/plain", json, 2, auth);
	cr_assert_eq(r.status, 415);
	done(&r);
	r = request("POST", "/api/settlement", NULL, "application/json", "[{", 2, auth);
	cr_assert_eq(r.status, 400);
	done(&r);
	r = request("POST", "/api/settlement", NULL, "application/json", json, 2, auth);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert(strstr(r.body, "\"records\":0"));
	done(&r);
	/* The record is paid once, however often it comes. */
	for (int i = 0; i < 2; i++) {
		r = request("POST", "/api/settlement", NULL, "application/x-ndjson", upload,
			    strlen(upload), auth);
		cr_assert_eq(r.status, 200, "%s", r.body);
		cr_assert(strstr(r.body, i ? "\"duplicate\":1" : "\"paid\":1"), "%s", r.body);
		done(&r);
	}
	char macc[LEDGER_NAME_MAX], idhex[SETTLE_ID_HEX];
	hex_encode(id, PURSE_ID_LEN, idhex);
	snprintf(macc, sizeof(macc), "merchant:%s", idhex);
	cr_assert_eq(balance_of(macc), 250);
	cr_assert_eq(balance_of(accs), 750);
	/* More than an upload may hold. */
	size_t big = WEB_UPLOAD_MAX + 1024;
	char *huge = malloc(big);
	memset(huge, ' ', big);
	huge[0] = '[';
	huge[big - 1] = ']';
	r = request("POST", "/api/settlement", NULL, "application/json", huge, big, auth);
	cr_assert_eq(r.status, 413);
	done(&r);
	free(huge);

	/* Block the card: a lock job for its next contact. */
	snprintf(path, sizeof(path), "/centre/staff/cards/%s/block", serial);
	s = snap();
	r = post(&b, path, "", NULL);
	cr_assert_eq(r.status, 403, "a holder cannot block");
	done(&r);
	assert_unchanged(&s, "a holder's block");
	r = post(&staff, path, "", NULL);
	cr_assert_eq(r.status, 303);
	done(&r);
	struct card_info ci;
	cr_assert_eq(cards_get(db, serial, &ci, &err), EC_OK);
	cr_assert_str_eq(ci.state, CARD_BLOCKED);
	cr_assert_eq(rows("jobs"), s.jobs + 1);
	/* The fraud report, as a page and as JSON. */
	r = get(&staff, "/centre/staff/fraud");
	cr_assert_eq(r.status, 200);
	done(&r);
	r = get(&staff, "/api/fraud?card=%27%3B--");
	cr_assert_eq(r.status, 400);
	done(&r);
	char q[64];
	snprintf(q, sizeof(q), "/api/fraud?card=%s", serial);
	r = get(&staff, q);
	cr_assert_eq(r.status, 200);
	json_t *list = json_loads(r.body, 0, NULL);
	cr_assert(json_is_array(list), "%s", r.body);
	json_decref(list);
	done(&r);
}

Test(centre, a_holder_orders_a_card_staff_issue_it_over_the_air_and_it_is_topped_up)
{
	struct browser b = { 0 }, staff = { 0 };
	struct ec_agent_options opt;
	struct ec_agent_stats stats;
	struct ec_error err = { 0 };
	struct reply r;

	sign_up(&b, "ines%40example.org", "Ines Ruiz");
	r = post(&b, "/centre/orders", "", NULL);
	cr_assert_eq(r.status, 303);
	done(&r);
	r = get(&b, "/centre/cards");
	cr_assert(strstr(r.body, "<td>waiting</td>"), "%s", r.body);
	done(&r);

	sign_up(&staff, "boss%40issuer.example", "Boss");
	cr_assert_eq(holders_set_staff(db, "boss@issuer.example", true, &err), EC_OK);
	r = get(&staff, "/centre/staff");
	const char *form = strstr(r.body, "/centre/staff/orders/");
	cr_assert_not_null(form, "%s", r.body);
	char path[128], f[128];
	snprintf(path, sizeof(path), "%.*s", (int)strcspn(form, "\""), form);
	done(&r);
	/* Bad card identities change nothing. */
	struct snapshot s = snap();
	r = post(&staff, path, "se_id=%3Cscript%3E", NULL);
	cr_assert_eq(r.status, 422);
	done(&r);
	r = post(&b, path, "se_id=ABCD", NULL);
	cr_assert_eq(r.status, 403, "a holder cannot issue");
	done(&r);
	assert_unchanged(&s, "refused issues");
	snprintf(f, sizeof(f), "se_id=%s", card_id);
	r = post(&staff, path, f, NULL);
	cr_assert_eq(r.status, 303, "%ld %s", r.status, r.body);
	done(&r);
	r = post(&staff, path, f, NULL);
	cr_assert_eq(r.status, 409, "an order is issued once");
	done(&r);

	/* The card's next contact issues it. */
	agent_options(&opt);
	cr_assert_eq(ec_agent_run(&card.pc, &opt, &stats, &err), EC_OK, "%s", err.text);
	cr_assert_eq(stats.jobs_done, 1);
	r = get(&b, "/centre/cards");
	cr_assert(strstr(r.body, "<td>issued</td>"), "%s", r.body);
	const char *link = strstr(r.body, "href=\"/centre/cards/");
	cr_assert_not_null(link);
	char serial[CARD_SERIAL_HEX];
	snprintf(serial, sizeof(serial), "%.*s", CARD_SERIAL_HEX - 1, link + 20);
	done(&r);
	/* Topped up online, from the bank. */
	snprintf(path, sizeof(path), "/centre/cards/%s/top-up", serial);
	r = post(&b, path, "amount=35.50", NULL);
	cr_assert_eq(r.status, 303, "%ld %s", r.status, r.body);
	done(&r);
	cr_assert_eq(ec_agent_run(&card.pc, &opt, &stats, &err), EC_OK, "%s", err.text);
	snprintf(path, sizeof(path), "/centre/cards/%s", serial);
	r = get(&b, path);
	cr_assert(strstr(r.body, "id=\"balance\">35.50 EUR<"), "%s", r.body);
	done(&r);
	r = get(&b, "/centre/cards");
	cr_assert(strstr(r.body, "id=\"bank\">64.50 EUR<"), "%s", r.body);
	done(&r);
}
