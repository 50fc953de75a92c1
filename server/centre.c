/*
 * centre.c - the issuer centre's routes (web.h): the holders' pages, the
 * staff's, and the JSON endpoints.
 *
 *   GET  /centre/                     welcome (signed in: to /centre/cards)
 *   GET  /centre/signup, POST         sign up
 *   GET  /centre/login, POST          log in (rate-limited)
 *   POST /centre/logout
 *   GET  /centre/cards                a holder's bank account, cards, orders
 *   POST /centre/orders               order a card
 *   GET  /centre/cards/SERIAL         a card: balance, loads, purchases, top-ups
 *   POST /centre/cards/SERIAL/top-up  top up from the holder's bank account
 *   GET  /centre/staff                staff: orders, cards, merchants
 *   GET  /centre/staff/fraud          staff: the fraud report
 *   POST /centre/staff/merchants      staff: onboard a merchant
 *   POST /centre/staff/orders/ID/issue  staff: issue a new card for an order
 *   POST /centre/staff/cards/SERIAL/block, .../unblock
 *   POST /api/settlement              a merchant's records (Bearer token), JSON
 *   GET  /api/fraud[?card=SERIAL]     staff: the fraud report, JSON
 *   GET  /api/cards/SERIAL            a holder's card, JSON
 *
 * Every POST from a page needs the session's CSRF token in its "csrf"
 * field, and, when the browser says where it comes from (Origin), this
 * server's own origin. A card that is not the holder's is answered 404,
 * as one that does not exist.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "amount.h"
#include "cards.h"
#include "db.h"
#include "hex.h"
#include "holders.h"
#include "ledger.h"
#include "ota.h"
#include "settle.h"
#include "web.h"

#define HTML "text/html; charset=utf-8"
#define JSON "application/json"


static const char style_css[] =
	"body{font-family:sans-serif;max-width:48em;margin:1em auto;padding:0 1em;color:#222}\n"
	"header{display:flex;justify-content:space-between;align-items:center;border-bottom:1px solid #ccc}\n"
	"header form{display:inline}\n"
	"table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.2em .5em;border-bottom:1px solid #eee}\n"
	"td.n,th.n{text-align:right}\n"
	".error{color:#a00;font-weight:bold}.ok{color:#060}\n"
	"label{display:block;margin:.5em 0}input{font-size:1em}\n"
	"code{word-break:break-all}\n";

/* On a card's page: while a top-up runs, look again every second and a
 * half, and show the page anew once it has ended. */
static const char app_js[] =
	"'use strict';\n"
	"(function () {\n"
	"  var jobs = document.getElementById('jobs');\n"
	"  if (!jobs || jobs.dataset.pending !== '1') return;\n"
	"  var url = '/api/cards/' + encodeURIComponent(jobs.dataset.serial);\n"
	"  var timer = setInterval(function () {\n"
	"    fetch(url, {credentials: 'same-origin'}).then(function (r) {\n"
	"      return r.ok ? r.json() : null;\n"
	"    }).then(function (card) {\n"
	"      if (card && card.pending_jobs === 0) { clearInterval(timer); location.reload(); }\n"
	"    }).catch(function () {});\n"
	"  }, 1500);\n"
	"})();\n";

/* ---- answers ---- */

static void json_error(struct web_page *p, int status, const char *text)
{
	web_json(p, status, json_pack("{s:s}", "error", text));
}

static void money(long long minor, uint16_t currency, char *out, size_t cap)
{
	char t[EC_AMOUNT_TEXT_MAX];
	unsigned long long a = minor < 0 ? (unsigned long long)-minor : (unsigned long long)minor;
	if (a > UINT32_MAX)
		snprintf(out, cap, "%lld (minor units)", minor);
	else
		snprintf(out, cap, "%s%s", minor < 0 ? "-" : "",
			 ec_amount_format((uint32_t)a, currency, t, sizeof(t)));
}

static uint16_t currency(const struct web_page *p)
{
	return p->cfg->issuer ? p->cfg->issuer->currency : 978;
}

static void head(struct web_page *p, struct sb *b, const char *title)
{
	sb_put(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
		  "<meta name=\"viewport\" content=\"width=device-width\">"
		  "<link rel=\"stylesheet\" href=\"/centre/style.css\"><title>");
	sb_html(b, title);
	sb_put(b, " - SmartCentre</title></head><body><header><h1><a href=\"/centre/\">SmartCentre</a></h1><nav>");
	if (p->signed_in) {
		sb_html(b, p->who.name);
		sb_put(b, " | <a href=\"/centre/cards\">my cards</a>");
		if (p->who.staff)
			sb_put(b, " | <a href=\"/centre/staff\">staff</a>");
		sb_put(b, " | <form method=\"post\" action=\"/centre/logout\"><input type=\"hidden\" name=\"csrf\" value=\"");
		sb_html(b, p->sess.csrf);
		sb_put(b, "\"><button id=\"logout\">log out</button></form>");
	} else {
		sb_put(b, "<a href=\"/centre/login\">log in</a> | <a href=\"/centre/signup\">sign up</a>");
	}
	sb_put(b, "</nav></header><main>\n<h2>");
	sb_html(b, title);
	sb_put(b, "</h2>\n");
}

static void foot(struct sb *b)
{
	sb_put(b, "</main><script src=\"/centre/app.js\"></script></body></html>\n");
}

static void csrf_field(struct web_page *p, struct sb *b)
{
	sb_put(b, "<input type=\"hidden\" name=\"csrf\" value=\"");
	sb_html(b, p->sess.csrf);
	sb_put(b, "\">");
}

static void error_page(struct web_page *p, int status, const char *text)
{
	struct sb b = { 0 };
	head(p, &b, status == 404 ? "Not found" : status == 403 ? "Refused" : "Error");
	sb_put(&b, "<p class=\"error\" id=\"error\">");
	sb_html(&b, text);
	sb_put(&b, "</p>");
	foot(&b);
	web_answer(p, status, HTML, &b);
}
/* A form's POST: a session, its CSRF token, our own origin. */
static bool form_ok(struct web_page *p)
{
	if (!web_form_ok(p)) {
		error_page(p, 403, "This form has expired or did not come from this site: load the page again.");
		return false;
	}
	return true;
}

static bool need_holder(struct web_page *p)
{
	if (p->signed_in)
		return true;
	if (strcmp(p->rq->method, "GET") == 0)
		web_redirect(p, "/centre/login");
	else
		error_page(p, 403, "Log in first.");
	return false;
}

static bool need_staff(struct web_page *p)
{
	if (!need_holder(p))
		return false;
	if (!p->who.staff) {
		error_page(p, 403, "This page is for the issuer's staff.");
		return false;
	}
	return true;
}

/* ---- sign up, log in, log out ---- */

static void account_form(struct web_page *p, bool signup, int status, const char *error,
			 const char *email, const char *name)
{
	struct sb b = { 0 };

	head(p, &b, signup ? "Sign up" : "Log in");
	if (error) {
		sb_put(&b, "<p class=\"error\" id=\"error\">");
		sb_html(&b, error);
		sb_put(&b, "</p>");
	}
	sb_printf(&b, "<form method=\"post\" action=\"/centre/%s\">", signup ? "signup" : "login");
	csrf_field(p, &b);
	sb_put(&b, "<label>E-mail <input type=\"email\" name=\"email\" id=\"email\" required maxlength=\"255\" value=\"");
	sb_html(&b, email ? email : "");
	sb_put(&b, "\"></label>");
	if (signup) {
		sb_put(&b, "<label>Name <input name=\"name\" id=\"name\" required maxlength=\"80\" value=\"");
		sb_html(&b, name ? name : "");
		sb_put(&b, "\"></label>");
	}
	sb_printf(&b, "<label>Password <input type=\"password\" name=\"password\" id=\"password\" required minlength=\"%d\" maxlength=\"%d\"></label>",
		  signup ? HOLDER_PASSWORD_MIN : 1, HOLDER_PASSWORD_MAX);
	sb_printf(&b, "<button id=\"submit\">%s</button></form>", signup ? "Sign up" : "Log in");
	foot(&b);
	web_answer(p, status, HTML, &b);
}

static void start_signed_in(struct web_page *p, const struct holder *h)
{
	struct ec_error err;

	if (web_sign_in(p, h->id, &err) != EC_OK) {
		error_page(p, 500, "The session could not be made.");
		return;
	}
	web_redirect(p, "/centre/cards");
}

static void signup(struct web_page *p)
{
	char email[HOLDER_EMAIL_MAX + 2], name[HOLDER_NAME_MAX * 4 + 1], pw[HOLDER_PASSWORD_MAX + 2];
	struct ec_error err;
	struct holder h;

	if (!form_ok(p))
		return;
	bool have = web_field(p->rq->body, p->rq->len, "email", email, sizeof(email)) &
		    web_field(p->rq->body, p->rq->len, "name", name, sizeof(name)) &
		    web_field(p->rq->body, p->rq->len, "password", pw, sizeof(pw));
	if (!have) {
		account_form(p, true, 400, "Give an e-mail address, a name and a password.", email, name);
		return;
	}
	enum ec_status s = holders_add(p->st, email, name, pw, p->cfg->signup_bank, p->rq->client,
				       &h, &err);
	memset(pw, 0, sizeof(pw));
	if (s == EC_OK)
		start_signed_in(p, &h);
	else
		account_form(p, true, s == EC_ERR_EXISTS ? 409 : s == EC_ERR_LIMIT ? 429 : s == EC_ERR_ARG ? 422 : 500,
			     err.text, email, name);
}

static void login(struct web_page *p)
{
	char email[HOLDER_EMAIL_MAX + 2], pw[HOLDER_PASSWORD_MAX + 2];
	struct ec_error err;
	struct holder h;

	if (!form_ok(p))
		return;
	if (!web_field(p->rq->body, p->rq->len, "email", email, sizeof(email)) ||
	    !web_field(p->rq->body, p->rq->len, "password", pw, sizeof(pw))) {
		account_form(p, false, 400, "Give your e-mail address and your password.", email, NULL);
		return;
	}
	enum ec_status s = holders_login(p->st, email, pw, p->rq->client, &h, &err);
	memset(pw, 0, sizeof(pw));
	if (s == EC_OK)
		start_signed_in(p, &h);
	else
		account_form(p, false, s == EC_ERR_CHECK ? 401 : s == EC_ERR_LIMIT ? 429 : 500, err.text,
			     email, NULL);
}

static void logout(struct web_page *p)
{
	if (!form_ok(p))
		return;
	web_sign_out(p);
	web_redirect(p, "/centre/");
}

/* ---- a holder's pages ---- */

static void card_row(struct web_page *p, struct sb *b, const struct card_info *c)
{
	char bal[64];
	sb_printf(b, "<tr><td><a href=\"/centre/cards/%s\">%s</a></td><td>", c->serial, c->serial);
	sb_html(b, c->state);
	if (c->reported) {
		money(c->balance, currency(p), bal, sizeof(bal));
		sb_put(b, "</td><td class=\"n\">");
		sb_html(b, bal);
	} else {
		sb_put(b, "</td><td class=\"n\">not reported yet");
	}
	sb_put(b, "</td></tr>");
}

static void cards_page(struct web_page *p)
{
	struct sb b = { 0 };
	struct ec_error err;
	struct card_info *cards = NULL;
	struct card_order *orders = NULL;
	size_t nc = 0, no = 0;
	char bank[LEDGER_NAME_MAX], text[64];
	long long held = 0;

	holder_bank(p->who.id, bank);
	if (ledger_balance(p->st, bank, &held, &err) != EC_OK ||
	    cards_list(p->st, p->who.id, &cards, &nc, &err) != EC_OK ||
	    orders_list(p->st, p->who.id, &orders, &no, &err) != EC_OK) {
		free(cards);
		error_page(p, 500, "The store could not be read.");
		return;
	}
	head(p, &b, "My cards");
	money(held, currency(p), text, sizeof(text));
	sb_put(&b, "<p>Your bank account holds <b id=\"bank\">");
	sb_html(&b, text);
	sb_put(&b, "</b>.</p>");
	if (nc) {
		sb_put(&b, "<table id=\"cards\"><tr><th>card</th><th>state</th><th class=\"n\">balance</th></tr>");
		for (size_t i = 0; i < nc; i++)
			card_row(p, &b, &cards[i]);
		sb_put(&b, "</table>");
	} else {
		sb_put(&b, "<p id=\"cards\">You have no card yet.</p>");
	}
	sb_put(&b, "<h3>Orders</h3>");
	if (no) {
		sb_put(&b, "<table id=\"orders\"><tr><th>order</th><th>state</th><th>card</th></tr>");
		for (size_t i = 0; i < no; i++) {
			sb_printf(&b, "<tr><td>%lld</td><td>", orders[i].id);
			sb_html(&b, orders[i].state);
			sb_put(&b, "</td><td>");
			sb_html(&b, orders[i].serial);
			sb_put(&b, "</td></tr>");
		}
		sb_put(&b, "</table>");
	}
	sb_put(&b, "<form method=\"post\" action=\"/centre/orders\">");
	csrf_field(p, &b);
	sb_put(&b, "<button id=\"order\">Order a card</button></form>");
	foot(&b);
	free(cards);
	free(orders);
	web_answer(p, 200, HTML, &b);
}

static void order(struct web_page *p)
{
	struct ec_error err;
	long long id;

	if (!form_ok(p) || !need_holder(p))
		return;
	if (orders_add(p->st, p->who.id, &id, &err) != EC_OK) {
		error_page(p, 500, "The order could not be stored.");
		return;
	}
	web_redirect(p, "/centre/cards");
}

/* The holder's card named in the path, or an answer given (404). */
static bool own_card(struct web_page *p, const char *serial, struct card_info *c, bool json)
{
	struct ec_error err;

	if (card_serial_ok(serial) && cards_get(p->st, serial, c, &err) == EC_OK &&
	    (c->holder == p->who.id || p->who.staff))
		return true;
	if (json)
		json_error(p, 404, "no such card");
	else
		error_page(p, 404, "There is no such card.");
	return false;
}

static size_t pending_topups(struct web_page *p, const struct card_info *c, struct db_job **jobs,
			     size_t *n)
{
	struct ec_error err;
	size_t pending = 0;

	*jobs = NULL;
	*n = 0;
	if (!c->se_id[0] || db_job_list(p->st, c->se_id, jobs, n, &err) != EC_OK)
		return 0;
	for (size_t i = 0; i < *n; i++)
		pending += db_job_pending(&(*jobs)[i]);
	return pending;
}

static void card_page(struct web_page *p, const char *serial, const char *notice, int status)
{
	struct sb b = { 0 };
	struct card_info c;
	struct db_job *jobs;
	size_t nj;
	char t1[64], t2[64];
	struct ec_error err;

	if (!own_card(p, serial, &c, false))
		return;
	size_t pending = pending_topups(p, &c, &jobs, &nj);
	head(p, &b, "Card");
	sb_printf(&b, "<p>Card <b id=\"serial\">%s</b> is <b id=\"state\">", c.serial);
	sb_html(&b, c.state);
	sb_put(&b, "</b>.</p>");
	if (notice) {
		sb_printf(&b, "<p class=\"%s\" id=\"notice\">", status < 300 ? "ok" : "error");
		sb_html(&b, notice);
		sb_put(&b, "</p>");
	}
	sb_put(&b, "<table>");
	if (c.reported) {
		money(c.balance, currency(p), t1, sizeof(t1));
		sb_put(&b, "<tr><th>balance, as the card last said</th><td class=\"n\" id=\"balance\">");
		sb_html(&b, t1);
		sb_printf(&b, "</td></tr><tr><th>card counter</th><td class=\"n\">%lld</td></tr>", c.counter);
	}
	money(c.loaded, currency(p), t1, sizeof(t1));
	money(c.settled, currency(p), t2, sizeof(t2));
	sb_put(&b, "<tr><th>loaded</th><td class=\"n\" id=\"loaded\">");
	sb_html(&b, t1);
	sb_put(&b, "</td></tr><tr><th>purchases settled</th><td class=\"n\" id=\"settled\">");
	sb_html(&b, t2);
	sb_put(&b, "</td></tr>");
	long long unsettled = card_unsettled(&c);
	if (unsettled >= 0) {
		money(unsettled, currency(p), t1, sizeof(t1));
		sb_put(&b, "<tr><th>purchases not settled yet</th><td class=\"n\" id=\"unsettled\">");
		sb_html(&b, t1);
		sb_put(&b, "</td></tr>");
	} else if (c.reported) {
		sb_put(&b, "<tr><th>purchases not settled yet</th><td class=\"n\" id=\"unsettled\">"
			   "known at the card's next contact</td></tr>");
	}
	sb_put(&b, "</table>");

	sb_printf(&b, "<h3>Top-ups</h3><div id=\"jobs\" data-serial=\"%s\" data-pending=\"%d\">",
		  c.serial, pending ? 1 : 0);
	bool any = false;
	for (size_t i = nj; i-- > 0;) {
		if (strcmp(jobs[i].kind, "top-up") != 0)
			continue;
		if (!any)
			sb_put(&b, "<table><tr><th>job</th><th>state</th><th>what happened</th></tr>");
		any = true;
		sb_printf(&b, "<tr><td>%lld</td><td class=\"job-state\">", jobs[i].id);
		sb_html(&b, jobs[i].state);
		sb_put(&b, "</td><td>");
		sb_html(&b, jobs[i].message[0] ? jobs[i].message : "waits for the card's next contact");
		sb_put(&b, "</td></tr>");
	}
	sb_put(&b, any ? "</table>" : "<p>None yet.</p>");
	if (pending)
		sb_put(&b, "<p>A top-up is waiting for your card: present it to your card agent"
			   " (<code>ecard agent</code>). <a href=\"\">Refresh</a></p>");
	sb_put(&b, "</div>");
	db_job_list_free(jobs, nj);
	if (strcmp(c.state, CARD_ACTIVE) == 0 && c.se_id[0]) {
		sb_printf(&b, "<form method=\"post\" action=\"/centre/cards/%s/top-up\">", c.serial);
		csrf_field(p, &b);
		sb_put(&b, "<label>Amount <input name=\"amount\" id=\"amount\" required inputmode=\"decimal\" placeholder=\"20.00\"></label>"
			   "<button id=\"top-up\">Top up from my bank account</button></form>");
	}

	/* Loads and settled purchases, newest first. */
	struct store_result r;
	const char *ps[] = { c.serial };
	if (store_exec(p->st, "SELECT counter, amount, created FROM card_loads WHERE serial = $1"
			      " ORDER BY counter DESC LIMIT 50", ps, 1, &r, &err) == EC_OK) {
		sb_put(&b, "<h3>Loads</h3><table id=\"loads\"><tr><th>counter</th><th class=\"n\">amount</th></tr>");
		for (size_t i = 0; i < r.rows; i++) {
			money(store_cell_ll(&r, i, 1, 0),
			      currency(p), t1, sizeof(t1));
			sb_printf(&b, "<tr><td>%s</td><td class=\"n\">", store_cell(&r, i, 0) ? store_cell(&r, i, 0) : "");
			sb_html(&b, t1);
			sb_put(&b, "</td></tr>");
		}
		sb_put(&b, "</table>");
		store_result_free(&r);
	}
	if (store_exec(p->st, "SELECT d.counter, d.amount, m.name FROM debits d"
			      " JOIN merchants m ON m.id = d.merchant WHERE d.serial = $1 AND d.state = 'paid'"
			      " ORDER BY d.counter DESC LIMIT 50", ps, 1, &r, &err) == EC_OK) {
		sb_put(&b, "<h3>Purchases settled</h3><table id=\"purchases\"><tr><th>counter</th><th>where</th><th class=\"n\">amount</th></tr>");
		for (size_t i = 0; i < r.rows; i++) {
			money(store_cell_ll(&r, i, 1, 0),
			      currency(p), t1, sizeof(t1));
			sb_printf(&b, "<tr><td>%s</td><td>", store_cell(&r, i, 0) ? store_cell(&r, i, 0) : "");
			sb_html(&b, store_cell(&r, i, 2));
			sb_put(&b, "</td><td class=\"n\">");
			sb_html(&b, t1);
			sb_put(&b, "</td></tr>");
		}
		sb_put(&b, "</table>");
		store_result_free(&r);
	}
	foot(&b);
	web_answer(p, status, HTML, &b);
}

static void top_up(struct web_page *p, const char *serial)
{
	char amount[EC_AMOUNT_TEXT_MAX + 1], bank[LEDGER_NAME_MAX], text[64], held_text[64];
	struct card_info c;
	struct ec_error err;
	uint32_t minor;
	long long held, id;

	if (!form_ok(p) || !need_holder(p) || !own_card(p, serial, &c, false))
		return;
	if (!p->cfg->issuer) {
		card_page(p, serial, "This server has no issuer keys: it cannot top up.", 503);
		return;
	}
	if (strcmp(c.state, CARD_ACTIVE) != 0 || !c.se_id[0]) {
		card_page(p, serial, "This card cannot be topped up.", 409);
		return;
	}
	enum ec_amount_status as = web_field(p->rq->body, p->rq->len, "amount", amount, sizeof(amount))
					   ? ec_amount_parse(amount, currency(p), &minor)
					   : EC_AMOUNT_SYNTAX;
	if (as != EC_AMOUNT_OK || minor == 0) {
		card_page(p, serial, as == EC_AMOUNT_OK ? "Give an amount above zero." : ec_amount_strerror(as), 422);
		return;
	}
	holder_bank(c.holder, bank);
	if (ledger_balance(p->st, bank, &held, &err) != EC_OK) {
		card_page(p, serial, "The bank could not be asked.", 500);
		return;
	}
	if (held < (long long)minor) {
		char msg[200];
		money(minor, currency(p), text, sizeof(text));
		money(held, currency(p), held_text, sizeof(held_text));
		snprintf(msg, sizeof(msg), "Your bank account holds %s, less than %s.", held_text, text);
		card_page(p, serial, msg, 422);
		return;
	}
	ec_amount_format(minor, currency(p), text, sizeof(text));
	if (ota_add_topup(p->st, c.se_id, text, bank, &id, &err) != EC_OK) {
		card_page(p, serial, err.text, 422);
		return;
	}
	char to[128];
	snprintf(to, sizeof(to), "/centre/cards/%s", c.serial);
	web_redirect(p, to);
}

static void card_json(struct web_page *p, const char *serial)
{
	struct card_info c;
	struct db_job *jobs;
	size_t nj;

	if (!p->signed_in) {
		json_error(p, 401, "log in first");
		return;
	}
	if (!own_card(p, serial, &c, true))
		return;
	size_t pending = pending_topups(p, &c, &jobs, &nj);
	json_t *o = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I}", "serial", c.serial, "state", c.state,
			      "books_minor", (json_int_t)c.books, "loaded_minor", (json_int_t)c.loaded,
			      "settled_minor", (json_int_t)c.settled, "pending_jobs", (json_int_t)pending);
	if (c.reported) {
		json_object_set_new(o, "balance_minor", json_integer(c.balance));
		json_object_set_new(o, "counter", json_integer(c.counter));
	}
	if (card_unsettled(&c) >= 0)
		json_object_set_new(o, "unsettled_minor", json_integer(card_unsettled(&c)));
	json_t *list = json_array();
	for (size_t i = 0; i < nj; i++)
		json_array_append_new(list, json_pack("{s:I, s:s, s:s, s:s}", "id", (json_int_t)jobs[i].id,
						      "kind", jobs[i].kind, "state", jobs[i].state,
						      "message", jobs[i].message));
	json_object_set_new(o, "jobs", list);
	db_job_list_free(jobs, nj);
	web_json(p, 200, o);
}

/* ---- staff ---- */

static void staff_page(struct web_page *p, const char *notice, const char *token)
{
	struct sb b = { 0 };
	struct ec_error err;
	struct card_info *cards = NULL;
	struct card_order *orders = NULL;
	struct settle_merchant *ms = NULL;
	size_t nc = 0, no = 0, nm = 0;
	char t[64];

	if (cards_list(p->st, 0, &cards, &nc, &err) != EC_OK ||
	    orders_list(p->st, 0, &orders, &no, &err) != EC_OK ||
	    settle_merchants(p->st, &ms, &nm, &err) != EC_OK) {
		free(cards);
		free(orders);
		error_page(p, 500, "The store could not be read.");
		return;
	}
	head(p, &b, "Staff");
	if (notice) {
		sb_put(&b, "<p class=\"ok\" id=\"notice\">");
		sb_html(&b, notice);
		sb_put(&b, "</p>");
	}
	if (token) {
		sb_put(&b, "<p>The merchant's upload token, shown this once: <code id=\"token\">");
		sb_html(&b, token);
		sb_put(&b, "</code></p>");
	}
	sb_put(&b, "<p><a href=\"/centre/staff/fraud\">The fraud report</a></p><h3>Cards</h3><table id=\"all-cards\">"
		   "<tr><th>card</th><th>state</th><th class=\"n\">books</th><th></th></tr>");
	for (size_t i = 0; i < nc; i++) {
		bool blocked = strcmp(cards[i].state, CARD_BLOCKED) == 0;
		money(cards[i].books, currency(p), t, sizeof(t));
		sb_printf(&b, "<tr><td><a href=\"/centre/cards/%s\">%s</a></td><td>", cards[i].serial,
			  cards[i].serial);
		sb_html(&b, cards[i].state);
		sb_put(&b, "</td><td class=\"n\">");
		sb_html(&b, t);
		sb_printf(&b, "</td><td><form method=\"post\" action=\"/centre/staff/cards/%s/%s\">",
			  cards[i].serial, blocked ? "unblock" : "block");
		csrf_field(p, &b);
		sb_printf(&b, "<button>%s</button></form></td></tr>", blocked ? "unblock" : "block");
	}
	sb_put(&b, "</table><h3>Orders</h3><table id=\"all-orders\"><tr><th>order</th><th>holder</th><th>state</th><th></th></tr>");
	for (size_t i = 0; i < no; i++) {
		sb_printf(&b, "<tr><td>%lld</td><td>%lld</td><td>", orders[i].id, orders[i].holder);
		sb_html(&b, orders[i].state);
		sb_put(&b, "</td><td>");
		if (strcmp(orders[i].state, ORDER_WAITING) == 0 || strcmp(orders[i].state, ORDER_FAILED) == 0) {
			sb_printf(&b, "<form method=\"post\" action=\"/centre/staff/orders/%lld/issue\">",
				  orders[i].id);
			csrf_field(p, &b);
			sb_printf(&b, "<input name=\"se_id\" id=\"se-id-%lld\" required placeholder=\"new card's id\">"
				      "<button id=\"issue-%lld\">issue</button></form>",
				  orders[i].id, orders[i].id);
		} else {
			sb_html(&b, orders[i].serial[0] ? orders[i].serial : orders[i].se_id);
		}
		sb_put(&b, "</td></tr>");
	}
	sb_put(&b, "</table><h3>Merchants</h3><table id=\"merchants\"><tr><th>id</th><th>name</th><th class=\"n\">paid</th></tr>");
	for (size_t i = 0; i < nm; i++) {
		money(ms[i].paid, currency(p), t, sizeof(t));
		sb_printf(&b, "<tr><td>%s</td><td>", ms[i].id);
		sb_html(&b, ms[i].name);
		sb_put(&b, "</td><td class=\"n\">");
		sb_html(&b, t);
		sb_put(&b, "</td></tr>");
	}
	sb_put(&b, "</table><form method=\"post\" action=\"/centre/staff/merchants\">");
	csrf_field(p, &b);
	sb_put(&b, "<label>Name <input name=\"name\" required maxlength=\"80\"></label>"
		   "<label>Merchant certificate (hex) <input name=\"certificate\" required></label>"
		   "<button>Onboard</button></form>");
	foot(&b);
	free(cards);
	free(orders);
	free(ms);
	web_answer(p, 200, HTML, &b);
}

static void onboard(struct web_page *p)
{
	char name[SETTLE_NAME_MAX * 4], hex[2 * PURSE_CERT_LEN + 2], token[2 * SETTLE_TOKEN_LEN + 1];
	uint8_t cert[PURSE_CERT_LEN];
	struct ec_error err;

	if (!form_ok(p) || !need_staff(p))
		return;
	if (!p->cfg->issuer) {
		error_page(p, 503, "This server has no issuer keys: it cannot check certificates.");
		return;
	}
	if (!web_field(p->rq->body, p->rq->len, "name", name, sizeof(name)) ||
	    !web_field(p->rq->body, p->rq->len, "certificate", hex, sizeof(hex)) ||
	    hex_decode(hex, cert, sizeof(cert)) != (long)sizeof(cert)) {
		error_page(p, 422, "Give the merchant's name and its certificate in hex.");
		return;
	}
	enum ec_status s = settle_merchant_add(p->st, p->cfg->issuer->ca_pub, name, cert, token, &err);
	if (s != EC_OK) {
		error_page(p, s == EC_ERR_EXISTS ? 409 : 422, err.text);
		return;
	}
	staff_page(p, "Merchant onboarded.", token);
	memset(token, 0, sizeof(token));
}

/* An agent's card identity: 1 to SERAM_SE_ID_MAX letters, digits, "-_.:". */
static bool se_id_ok(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n > SERAM_SE_ID_MAX)
		return false;
	for (; *id; id++)
		if (!((*id >= '0' && *id <= '9') || (*id >= 'A' && *id <= 'Z') ||
		      (*id >= 'a' && *id <= 'z') || strchr("-_.:", *id)))
			return false;
	return true;
}

/* Staff give an order a new card: the card's agent identity, and a
 * personalize job for its next contact. */
static void issue(struct web_page *p, long long order_id)
{
	char se_id[SERAM_SE_ID_MAX + 2], id[24], job_text[24], now[24];
	struct card_order *orders = NULL, *o = NULL;
	struct holder h;
	struct ec_error err;
	size_t n = 0;
	long long job;

	if (!form_ok(p) || !need_staff(p))
		return;
	if (!p->cfg->issuer) {
		error_page(p, 503, "This server has no issuer keys: it cannot issue cards.");
		return;
	}
	if (!web_field(p->rq->body, p->rq->len, "se_id", se_id, sizeof(se_id)) ||
	    !se_id_ok(se_id)) {
		error_page(p, 422, "Give the new card's identity, as its agent presents it (hex).");
		return;
	}
	if (orders_list(p->st, 0, &orders, &n, &err) != EC_OK) {
		error_page(p, 500, "The store could not be read.");
		return;
	}
	for (size_t i = 0; i < n; i++)
		if (orders[i].id == order_id)
			o = &orders[i];
	if (!o || (strcmp(o->state, ORDER_WAITING) != 0 && strcmp(o->state, ORDER_FAILED) != 0) ||
	    holders_get(p->st, o->holder, &h, &err) != EC_OK) {
		free(orders);
		error_page(p, o ? 409 : 404, o ? "This order is being issued or was issued." : "There is no such order.");
		return;
	}
	enum ec_status s = store_begin(p->st, &err);
	if (s == EC_OK)
		s = ota_add_personalize(p->st, se_id, h.id, o->id, h.name, h.email, &job, &err);
	snprintf(id, sizeof(id), "%lld", o->id);
	snprintf(job_text, sizeof(job_text), "%lld", job);
	snprintf(now, sizeof(now), "%lld", db_now_ms());
	const char *pu[] = { id, ORDER_ISSUING, se_id, job_text, now };
	if (s == EC_OK)
		s = store_exec(p->st, "UPDATE card_orders SET state = $2, se_id = $3, job = $4, updated = $5"
				      " WHERE id = $1", pu, 5, NULL, &err);
	if (s == EC_OK)
		s = store_commit(p->st, &err);
	else
		store_rollback(p->st);
	free(orders);
	if (s != EC_OK) {
		error_page(p, 500, err.text);
		return;
	}
	web_redirect(p, "/centre/staff");
}

static void block(struct web_page *p, const char *serial, bool blocked)
{
	struct ec_error err;
	long long job;

	if (!form_ok(p) || !need_staff(p))
		return;
	enum ec_status s = store_begin(p->st, &err);
	if (s == EC_OK && (s = cards_set_blocked(p->st, serial, blocked, &job, &err)) == EC_OK)
		s = store_commit(p->st, &err);
	else if (s != EC_OK)
		store_rollback(p->st);
	if (s != EC_OK) {
		error_page(p, s == EC_ERR_NOT_FOUND ? 404 : 500, err.text);
		return;
	}
	web_redirect(p, "/centre/staff");
}

static void fraud_page(struct web_page *p, bool json)
{
	struct ec_error err;
	char card[CARD_SERIAL_HEX + 1], *text;
	size_t n;
	const char *serial = NULL;

	if (json && !(p->signed_in && p->who.staff)) {
		json_error(p, p->signed_in ? 403 : 401, "the fraud report is for the issuer's staff");
		return;
	}
	if (!json && !need_staff(p))
		return;
	if (web_field(p->rq->query, strlen(p->rq->query), "card", card, sizeof(card))) {
		if (!card_serial_ok(card)) {
			if (json)
				json_error(p, 400, "card takes a serial: 16 upper-case hex digits");
			else
				error_page(p, 400, "card takes a serial: 16 upper-case hex digits.");
			return;
		}
		serial = card;
	}
	if (fraud_report(p->st, serial, &text, &n, &err) != EC_OK) {
		error_page(p, 500, "The store could not be read.");
		return;
	}
	if (json) {
		struct sb b = { 0 };
		sb_put(&b, text);
		free(text);
		web_answer(p, 200, JSON, &b);
		return;
	}
	json_t *list = json_loads(text, 0, NULL);
	free(text);
	struct sb b = { 0 };
	head(p, &b, "Fraud report");
	sb_printf(&b, "<p>%zu entries.</p><table id=\"fraud\"><tr><th>kind</th><th>card</th><th>counter</th><th>what</th></tr>", n);
	size_t i;
	json_t *e;
	json_array_foreach(list, i, e) {
		sb_put(&b, "<tr><td>");
		sb_html(&b, json_string_value(json_object_get(e, "kind")));
		sb_put(&b, "</td><td>");
		sb_html(&b, json_string_value(json_object_get(e, "serial")));
		sb_put(&b, "</td><td>");
		if (json_is_integer(json_object_get(e, "counter")))
			sb_printf(&b, "%lld", (long long)json_integer_value(json_object_get(e, "counter")));
		sb_put(&b, "</td><td>");
		sb_html(&b, json_string_value(json_object_get(e, "detail")));
		sb_put(&b, "</td></tr>");
	}
	sb_put(&b, "</table>");
	json_decref(list);
	foot(&b);
	web_answer(p, 200, HTML, &b);
}

/* ---- a merchant's upload ---- */

#define PROBLEMS_LISTED 1000

static void settlement(struct web_page *p)
{
	struct settle_merchant m;
	struct ec_error err;
	const char *auth = p->rq->authorization;

	if (!p->cfg->issuer) {
		json_error(p, 503, "this server has no issuer keys");
		return;
	}
	if (!auth || strncmp(auth, "Bearer ", 7) != 0 ||
	    settle_merchant_by_token(p->st, auth + 7, &m, &err) != EC_OK) {
		json_error(p, 401, "give a merchant's upload token: Authorization: Bearer TOKEN");
		return;
	}
	const char *type = p->rq->content_type;
	if (!type || (strncmp(type, "application/json", 16) != 0 &&
		      strncmp(type, "application/x-ndjson", 20) != 0)) {
		json_error(p, 415, "the records go as application/json (or application/x-ndjson)");
		return;
	}
	struct settle_item *items;
	size_t n;
	enum ec_status s = settle_parse(p->rq->body, p->rq->len, WEB_UPLOAD_RECORDS, &items, &n, &err);
	if (s != EC_OK) {
		json_error(p, s == EC_ERR_ARG ? 413 : 400, err.text);
		return;
	}
	enum settle_outcome *out = calloc(n ? n : 1, sizeof(*out));
	struct settle_options o = { .ca_pub = p->cfg->issuer->ca_pub,
				    .currency = p->cfg->issuer->currency,
				    .merchant = m.id,
				    .threads = 1 };
	struct settle_counts counts;
	s = out ? settle_items(p->st, &o, items, n, out, &counts, &err) : EC_ERR_FILE;
	free(items);
	if (s != EC_OK) {
		free(out);
		json_error(p, 500, "the records could not be settled; send them again");
		return;
	}
	json_t *res = json_pack("{s:s, s:I, s:I}", "merchant", m.id, "records",
				(json_int_t)counts.records, "paid_minor",
				(json_int_t)counts.paid_amount);
	for (int i = 0; i < SETTLE_OUTCOMES; i++)
		json_object_set_new(res, settle_outcome_name((enum settle_outcome)i),
				    json_integer((json_int_t)counts.outcome[i]));
	json_t *problems = json_array();
	for (size_t i = 0; i < n && json_array_size(problems) < PROBLEMS_LISTED; i++)
		if (out[i] != SETTLE_PAID && out[i] != SETTLE_DUPLICATE)
			json_array_append_new(problems, json_pack("{s:I, s:s}", "index", (json_int_t)i,
								  "outcome", settle_outcome_name(out[i])));
	json_object_set_new(res, "problems", problems);
	free(out);
	web_json(p, 200, res);
}

/* ---- routing ---- */

bool web_path(const char *path, size_t *body_max)
{
	*body_max = strcmp(path, "/api/settlement") == 0 ? WEB_UPLOAD_MAX : WEB_FORM_MAX;
	return strcmp(path, "/") == 0 || strncmp(path, "/centre/", 8) == 0 ||
	       strcmp(path, "/centre") == 0 || strncmp(path, "/api/", 5) == 0;
}

static void static_file(struct web_page *p, const char *text, const char *type)
{
	struct sb b = { 0 };
	sb_put(&b, text);
	web_answer(p, 200, type, &b);
}

/* "/centre/cards/SERIAL[/rest]": SERIAL into serial, rest or "". */
static bool split_serial(const char *path, const char *prefix, char serial[CARD_SERIAL_HEX + 1],
			 const char **rest)
{
	size_t n = strlen(prefix);
	if (strncmp(path, prefix, n) != 0)
		return false;
	const char *s = path + n, *slash = strchr(s, '/');
	size_t len = slash ? (size_t)(slash - s) : strlen(s);
	if (len == 0 || len > CARD_SERIAL_HEX)
		len = CARD_SERIAL_HEX;	/* too long: not a serial, 404 below */
	snprintf(serial, CARD_SERIAL_HEX + 1, "%.*s", (int)len, s);
	*rest = slash ? slash : "";
	return true;
}

static void route(struct web_page *p)
{
	const char *path = p->rq->path, *rest;
	bool get = strcmp(p->rq->method, "GET") == 0 || strcmp(p->rq->method, "HEAD") == 0;
	bool post = strcmp(p->rq->method, "POST") == 0;
	char serial[CARD_SERIAL_HEX + 1];

	if (get && (strcmp(path, "/") == 0 || strcmp(path, "/centre") == 0)) {
		web_redirect(p, "/centre/");
		return;
	}
	if (get && strcmp(path, "/centre/style.css") == 0) {
		static_file(p, style_css, "text/css; charset=utf-8");
		return;
	}
	if (get && strcmp(path, "/centre/app.js") == 0) {
		static_file(p, app_js, "text/javascript; charset=utf-8");
		return;
	}
	if (post && strcmp(path, "/api/settlement") == 0) {
		settlement(p);
		return;
	}
	if (get && strcmp(path, "/api/fraud") == 0) {
		fraud_page(p, true);
		return;
	}
	if (get && split_serial(path, "/api/cards/", serial, &rest) && !*rest) {
		card_json(p, serial);
		return;
	}
	if (strncmp(path, "/api/", 5) == 0) {
		json_error(p, get || post ? 404 : 405, "no such endpoint");
		return;
	}
	if (!get && !post) {
		error_page(p, 405, "This server takes GET and POST.");
		return;
	}
	if (get && strcmp(path, "/centre/") == 0) {
		if (p->signed_in) {
			web_redirect(p, "/centre/cards");
			return;
		}
		struct sb b = { 0 };
		head(p, &b, "Welcome");
		sb_put(&b, "<p>SmartCentre is your card issuer's site: get a card, top it up from your"
			   " bank account, and see what you did with it.</p>");
		foot(&b);
		web_answer(p, 200, HTML, &b);
		return;
	}
	if (strcmp(path, "/centre/signup") == 0 || strcmp(path, "/centre/login") == 0) {
		bool up = strcmp(path, "/centre/signup") == 0;
		if (!web_ensure_session(p)) {
			error_page(p, 500, "The session could not be made.");
			return;
		}
		if (get) {
			account_form(p, up, 200, NULL, NULL, NULL);
			return;
		}
		if (up)
			signup(p);
		else
			login(p);
		return;
	}
	if (post && strcmp(path, "/centre/logout") == 0) {
		logout(p);
		return;
	}
	if (strcmp(path, "/centre/cards") == 0 && get) {
		if (need_holder(p))
			cards_page(p);
		return;
	}
	if (strcmp(path, "/centre/orders") == 0 && post) {
		order(p);
		return;
	}
	if (split_serial(path, "/centre/cards/", serial, &rest)) {
		if (get && !*rest) {
			if (need_holder(p))
				card_page(p, serial, NULL, 200);
			return;
		}
		if (post && strcmp(rest, "/top-up") == 0) {
			top_up(p, serial);
			return;
		}
	}
	if (strcmp(path, "/centre/staff") == 0 && get) {
		if (need_staff(p))
			staff_page(p, NULL, NULL);
		return;
	}
	if (strcmp(path, "/centre/staff/fraud") == 0 && get) {
		fraud_page(p, false);
		return;
	}
	if (strcmp(path, "/centre/staff/merchants") == 0 && post) {
		onboard(p);
		return;
	}
	if (post && strncmp(path, "/centre/staff/orders/", 21) == 0) {
		char *end;
		long long id = strtoll(path + 21, &end, 10);
		if (id > 0 && strcmp(end, "/issue") == 0) {
			issue(p, id);
			return;
		}
	}
	if (post && split_serial(path, "/centre/staff/cards/", serial, &rest) &&
	    (strcmp(rest, "/block") == 0 || strcmp(rest, "/unblock") == 0))
		{
			block(p, serial, strcmp(rest, "/block") == 0);
			return;
		}
	error_page(p, 404, "There is no such page.");
}

void web_handle(struct store *st, const struct web_config *cfg, const struct web_request *rq,
		struct web_response *rs)
{
	struct web_page p = { .cfg = cfg };

	web_page_open(&p, st, rq, rs);
	route(&p);
	web_page_close(&p);
}
