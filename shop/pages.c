/*
 * pages.c - the shop's pages (shop.h): plain HTML that works without
 * JavaScript, but for paying and filling a form from the card, which go
 * through the holder's agent.
 *
 *   GET  /                          categories, the search box, products
 *   GET  /search?q=WORDS[&page=N]   search
 *   GET  /category/ID[?page=N]      a category's products
 *   GET  /product/ID                a product, and the form to buy it
 *   GET  /basket                    the basket
 *   POST /basket/add, /basket/set   put a product in, change a quantity
 *   GET  /signup, POST              open an account
 *   GET  /login, POST               log in (rate-limited)
 *   POST /logout
 *   GET  /account                   a customer's orders
 *   GET  /checkout, POST            the delivery address; places the order
 *   GET  /orders/ID                 an order, paid from the card
 *   POST /orders/ID/cancel          an order not paid yet is cancelled
 *   GET  /admin                     staff: add products, orders to ship
 *   POST /admin/products            staff: add a product
 *   POST /admin/orders/ID/ship      staff: an order paid is shipped
 *   GET  /api/search?q=WORDS        search, JSON
 *   GET  /api/orders/ID             an order's state, JSON
 *
 * Every POST needs the session's CSRF token and, when the browser names
 * it, this site's origin. Another customer's order is answered 404.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "amount.h"
#include "catalogue.h"
#include "holders.h"
#include "pay.h"
#include "sales.h"
#include "shop.h"

#define HTML "text/html; charset=utf-8"

static const char style_css[] =
	"body{font-family:sans-serif;max-width:60em;margin:1em auto;padding:0 1em;color:#222}\n"
	"header{display:flex;justify-content:space-between;align-items:center;border-bottom:1px solid #ccc;flex-wrap:wrap}\n"
	"header form{display:inline}\n"
	"table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.2em .5em;border-bottom:1px solid #eee}\n"
	"td.n,th.n{text-align:right}\n"
	".error{color:#a00;font-weight:bold}.ok{color:#060;font-weight:bold}\n"
	"label{display:block;margin:.5em 0}input{font-size:1em}\n"
	"ul.products{list-style:none;padding:0;display:grid;grid-template-columns:repeat(auto-fill,minmax(14em,1fr));gap:1em}\n"
	"ul.products li{border:1px solid #ddd;padding:.5em}\n"
	".price{font-weight:bold}\n";

static const struct shop_config *cfg(const struct web_page *p)
{
	return p->site;
}

static void money(const struct web_page *p, struct sb *b, long long minor)
{
	char t[EC_AMOUNT_TEXT_MAX];
	if (minor < 0 || minor > UINT32_MAX)
		sb_printf(b, "%lld", minor);
	else
		sb_html(b, ec_amount_format((uint32_t)minor, cfg(p)->currency, t, sizeof(t)));
}

static void head(struct web_page *p, struct sb *b, const char *title)
{
	struct ec_error err;

	sb_put(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
		  "<meta name=\"viewport\" content=\"width=device-width\">"
		  "<link rel=\"stylesheet\" href=\"/static/style.css\"><title>");
	sb_html(b, title);
	sb_put(b, " - ");
	sb_html(b, cfg(p)->name);
	sb_put(b, "</title></head><body><header><h1><a href=\"/\">");
	sb_html(b, cfg(p)->name);
	sb_put(b, "</a></h1><form method=\"get\" action=\"/search\"><input name=\"q\" id=\"q\" "
		  "placeholder=\"search\" maxlength=\"200\"> <button id=\"search\">Search</button></form><nav>");
	size_t lines = 0;
	if (p->have_session) {
		struct basket_line *l;
		long long total;
		if (basket_get(p->st, p->sess.key, &l, &lines, &total, &err) == EC_OK)
			free(l);
	}
	sb_printf(b, "<a href=\"/basket\" id=\"basket-link\">basket (%zu)</a> | ", lines);
	if (p->signed_in) {
		sb_put(b, "<a href=\"/account\" id=\"account\">");
		sb_html(b, p->who.name);
		sb_put(b, "</a>");
		if (p->who.staff)
			sb_put(b, " | <a href=\"/admin\">admin</a>");
		sb_put(b, " | <form method=\"post\" action=\"/logout\"><input type=\"hidden\" name=\"csrf\" value=\"");
		sb_html(b, p->sess.csrf);
		sb_put(b, "\"><button id=\"logout\">log out</button></form>");
	} else {
		sb_put(b, "<a href=\"/login\" id=\"login\">log in</a> | <a href=\"/signup\">sign up</a>");
	}
	sb_put(b, "</nav></header><main>\n<h2>");
	sb_html(b, title);
	sb_put(b, "</h2>\n");
}

static void foot(struct web_page *p, struct sb *b)
{
	sb_put(b, "</main><script src=\"/static/shop.js\" id=\"shop-js\" data-agent=\"");
	sb_html(b, cfg(p)->agent_url ? cfg(p)->agent_url : "");
	sb_put(b, "\"></script></body></html>\n");
	if (cfg(p)->agent_src[0])
		p->rs->connect_src = cfg(p)->agent_src;
}

static void csrf_field(struct web_page *p, struct sb *b)
{
	sb_put(b, "<input type=\"hidden\" name=\"csrf\" value=\"");
	sb_html(b, p->sess.csrf);
	sb_put(b, "\">");
}

static void notice(struct sb *b, bool ok, const char *text)
{
	if (!text)
		return;
	sb_printf(b, "<p class=\"%s\" id=\"%s\">", ok ? "ok" : "error", ok ? "notice" : "error");
	sb_html(b, text);
	sb_put(b, "</p>");
}

static void error_page(struct web_page *p, int status, const char *text)
{
	struct sb b = { 0 };
	head(p, &b, status == 404 ? "Not found" : status == 403 ? "Refused" : "Error");
	notice(&b, false, text);
	foot(p, &b);
	web_answer(p, status, HTML, &b);
}

static bool form_ok(struct web_page *p)
{
	if (web_form_ok(p))
		return true;
	error_page(p, 403, "This form has expired or did not come from this site: load the page again.");
	return false;
}

static bool need_customer(struct web_page *p)
{
	if (p->signed_in)
		return true;
	if (strcmp(p->rq->method, "GET") == 0)
		web_redirect(p, "/login");
	else
		error_page(p, 403, "Log in first.");
	return false;
}

static bool need_staff(struct web_page *p)
{
	if (!need_customer(p))
		return false;
	if (!p->who.staff) {
		error_page(p, 403, "This page is for the shop's staff.");
		return false;
	}
	return true;
}

/* A number from the query or a form: false when missing or not in range. */
static bool number(const char *form, size_t len, const char *name, long long min, long long max,
		   long long *out)
{
	char t[24], *end;
	if (!web_field(form, len, name, t, sizeof(t)) || !t[0])
		return false;
	long long v = strtoll(t, &end, 10);
	if (*end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

static long long page_number(struct web_page *p)
{
	long long n = 1;
	number(p->rq->query, strlen(p->rq->query), "page", 1, 100000, &n);
	return n;
}

/* "/prefix/ID[rest]": the id (0 when it is not one), rest after it. */
static long long path_id(const char *path, const char *prefix, const char **rest)
{
	size_t n = strlen(prefix);
	char *end;
	if (strncmp(path, prefix, n) != 0 || path[n] < '1' || path[n] > '9')
		return 0;
	long long id = strtoll(path + n, &end, 10);
	*rest = end;
	return id > 0 && id < (1LL << 53) ? id : 0;
}

/* ---- the catalogue ---- */

static void product_list(struct web_page *p, struct sb *b, const struct product *list, size_t n)
{
	sb_put(b, "<ul class=\"products\">");
	for (size_t i = 0; i < n; i++) {
		sb_printf(b, "<li><a class=\"product\" href=\"/product/%lld\">", list[i].id);
		sb_html(b, list[i].name);
		sb_put(b, "</a><br><span class=\"price\">");
		money(p, b, list[i].price);
		sb_put(b, "</span> <small>");
		sb_html(b, list[i].category_name);
		sb_put(b, "</small></li>");
	}
	sb_put(b, "</ul>");
}

static void pager(struct sb *b, const char *base, long long page, bool more)
{
	sb_put(b, "<p class=\"pager\">");
	if (page > 1)
		sb_printf(b, "<a href=\"%spage=%lld\" id=\"previous\">previous</a> ", base, page - 1);
	if (more)
		sb_printf(b, "<a href=\"%spage=%lld\" id=\"next\">next</a>", base, page + 1);
	sb_put(b, "</p>");
}

static void categories_nav(struct web_page *p, struct sb *b)
{
	struct category *cats;
	size_t n;
	struct ec_error err;

	if (catalogue_categories(p->st, &cats, &n, &err) != EC_OK)
		return;
	sb_put(b, "<nav class=\"categories\">");
	for (size_t i = 0; i < n; i++) {
		sb_printf(b, "%s<a href=\"/category/%lld\">", i ? " | " : "", cats[i].id);
		sb_html(b, cats[i].name);
		sb_printf(b, "</a> (%lld)", cats[i].products);
	}
	sb_put(b, "</nav>");
	free(cats);
}

static void listing(struct web_page *p, long long category)
{
	struct sb b = { 0 };
	struct product *list;
	size_t n, total;
	struct category cat;
	struct ec_error err;
	long long page = page_number(p);
	char base[64];

	if (category && catalogue_category_get(p->st, category, &cat, &err) != EC_OK) {
		error_page(p, 404, "There is no such category.");
		return;
	}
	if (catalogue_list(p->st, category, (size_t)(page - 1) * CATALOGUE_PAGE, CATALOGUE_PAGE, &list,
			   &n, &total, &err) != EC_OK) {
		error_page(p, 500, "The catalogue could not be read.");
		return;
	}
	head(p, &b, category ? cat.name : "Welcome");
	categories_nav(p, &b);
	sb_printf(&b, "<p id=\"count\">%zu products</p>", total);
	product_list(p, &b, list, n);
	if (category)
		snprintf(base, sizeof(base), "/category/%lld?", category);
	else
		snprintf(base, sizeof(base), "/?");
	pager(&b, base, page, (size_t)page * CATALOGUE_PAGE < total);
	foot(p, &b);
	free(list);
	web_answer(p, 200, HTML, &b);
}

static void search(struct web_page *p, bool json)
{
	char q[801];
	struct product *list = NULL;
	size_t n = 0;
	struct ec_error err;
	long long page = page_number(p);

	if (!web_field(p->rq->query, strlen(p->rq->query), "q", q, sizeof(q)))
		q[0] = '\0';
	if (catalogue_search(p->st, q, (size_t)(page - 1) * CATALOGUE_PAGE, CATALOGUE_PAGE, &list,
			     &n, &err) != EC_OK) {
		if (json)
			web_json(p, 500, json_pack("{s:s}", "error", "the search failed"));
		else
			error_page(p, 500, "The search failed.");
		return;
	}
	if (json) {
		json_t *a = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(a, json_pack("{s:I,s:s,s:I,s:s}", "id", (json_int_t)list[i].id,
							   "name", list[i].name, "price",
							   (json_int_t)list[i].price, "category",
							   list[i].category_name));
		free(list);
		web_json(p, 200, json_pack("{s:o}", "products", a));
		return;
	}
	struct sb b = { 0 }, base = { 0 };
	head(p, &b, "Search");
	sb_put(&b, "<p id=\"searched\">Products for &#8220;");
	sb_html(&b, q);
	sb_put(&b, "&#8221;:</p>");
	if (n == 0)
		sb_put(&b, "<p id=\"none\">Nothing was found.</p>");
	product_list(p, &b, list, n);
	sb_put(&base, "/search?q=");
	for (const unsigned char *c = (const unsigned char *)q; *c; c++)
		sb_printf(&base, (*c >= '0' && *c <= '9') || ((*c | 32) >= 'a' && (*c | 32) <= 'z') ? "%c" : "%%%02X", *c);
	sb_put(&base, "&amp;");
	if (!base.failed)
		pager(&b, base.text, page, n == CATALOGUE_PAGE);
	free(base.text);
	foot(p, &b);
	free(list);
	web_answer(p, 200, HTML, &b);
}

static void product_page(struct web_page *p, long long id, const char *note, bool ok, int status)
{
	struct sb b = { 0 };
	struct product *pr = malloc(sizeof(*pr));
	struct ec_error err;

	if (!pr || catalogue_get(p->st, id, pr, &err) != EC_OK) {
		free(pr);
		error_page(p, 404, "There is no such product.");
		return;
	}
	if (!web_ensure_session(p)) {
		free(pr);
		error_page(p, 500, "The session could not be made.");
		return;
	}
	head(p, &b, pr->name);
	notice(&b, ok, note);
	sb_printf(&b, "<p><a href=\"/category/%lld\">", pr->category);
	sb_html(&b, pr->category_name);
	sb_put(&b, "</a></p><p id=\"description\">");
	sb_html(&b, pr->description);
	sb_put(&b, "</p><p class=\"price\" id=\"price\">");
	money(p, &b, pr->price);
	sb_printf(&b, "</p><p>%lld in stock</p>", pr->stock);
	sb_put(&b, "<form method=\"post\" action=\"/basket/add\">");
	csrf_field(p, &b);
	sb_printf(&b, "<input type=\"hidden\" name=\"product\" value=\"%lld\">"
		      "<label>Quantity <input type=\"number\" name=\"quantity\" id=\"quantity\" value=\"1\" min=\"1\" max=\"%d\"></label>"
		      "<button id=\"add\">Add to basket</button></form>",
		  pr->id, BASKET_QUANTITY_MAX);
	foot(p, &b);
	free(pr);
	web_answer(p, status, HTML, &b);
}

/* ---- the basket ---- */

static void basket_page(struct web_page *p, const char *note, bool ok, int status)
{
	struct sb b = { 0 };
	struct basket_line *lines = NULL;
	size_t n = 0;
	long long total = 0;
	struct ec_error err;

	if (p->have_session && basket_get(p->st, p->sess.key, &lines, &n, &total, &err) != EC_OK) {
		error_page(p, 500, "The basket could not be read.");
		return;
	}
	head(p, &b, "Basket");
	notice(&b, ok, note);
	if (n == 0) {
		sb_put(&b, "<p id=\"empty\">The basket is empty.</p>");
	} else {
		sb_put(&b, "<table id=\"lines\"><tr><th>product</th><th class=\"n\">each</th><th>quantity</th><th class=\"n\">price</th></tr>");
		for (size_t i = 0; i < n; i++) {
			sb_printf(&b, "<tr><td><a href=\"/product/%lld\">", lines[i].product);
			sb_html(&b, lines[i].name);
			sb_put(&b, "</a></td><td class=\"n\">");
			money(p, &b, lines[i].price);
			sb_put(&b, "</td><td><form method=\"post\" action=\"/basket/set\">");
			csrf_field(p, &b);
			sb_printf(&b, "<input type=\"hidden\" name=\"product\" value=\"%lld\">"
				      "<input type=\"number\" name=\"quantity\" value=\"%ld\" min=\"0\" max=\"%d\">"
				      " <button>change</button></form></td><td class=\"n\">",
				  lines[i].product, lines[i].quantity, BASKET_QUANTITY_MAX);
			money(p, &b, lines[i].price * lines[i].quantity);
			sb_put(&b, "</td></tr>");
		}
		sb_put(&b, "<tr><th>total</th><td></td><td></td><td class=\"n\" id=\"total\">");
		money(p, &b, total);
		sb_put(&b, "</td></tr></table><p><a href=\"/checkout\" id=\"checkout\">Check out</a></p>");
	}
	foot(p, &b);
	free(lines);
	web_answer(p, status, HTML, &b);
}

static void basket_change(struct web_page *p, bool add)
{
	long long product, quantity;
	struct ec_error err;

	if (!form_ok(p))
		return;
	if (!number(p->rq->body, p->rq->len, "product", 1, 1LL << 53, &product) ||
	    !number(p->rq->body, p->rq->len, "quantity", add ? 1 : 0, BASKET_QUANTITY_MAX, &quantity)) {
		basket_page(p, "Give a product and a quantity of 0 to 99.", false, 400);
		return;
	}
	enum ec_status s = add ? basket_add(p->st, p->sess.key, product, (long)quantity, &err)
			       : basket_set(p->st, p->sess.key, product, (long)quantity, &err);
	if (s == EC_OK)
		web_redirect(p, "/basket");
	else
		basket_page(p, err.text, false, s == EC_ERR_NOT_FOUND ? 404 : s == EC_ERR_LIMIT ? 409 : 400);
}

/* ---- accounts ---- */

static void account_form(struct web_page *p, bool signup, int status, const char *error,
			 const char *email, const char *name)
{
	struct sb b = { 0 };

	if (!web_ensure_session(p)) {
		error_page(p, 500, "The session could not be made.");
		return;
	}
	head(p, &b, signup ? "Sign up" : "Log in");
	notice(&b, false, error);
	sb_printf(&b, "<form method=\"post\" action=\"/%s\">", signup ? "signup" : "login");
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
	foot(p, &b);
	web_answer(p, status, HTML, &b);
}

/* Signed in: a new session, which takes the basket along. */
static void signed_in(struct web_page *p, const struct holder *h)
{
	struct ec_error err;
	char before[WEB_TOKEN_HEX];

	snprintf(before, sizeof(before), "%s", p->have_session ? p->sess.key : "");
	if (web_sign_in(p, h->id, &err) != EC_OK) {
		error_page(p, 500, "The session could not be made.");
		return;
	}
	if (before[0])
		basket_move(p->st, before, p->sess.key, &err);
	web_redirect(p, "/basket");
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
		memset(pw, 0, sizeof(pw));
		account_form(p, true, 400, "Give an e-mail address, a name and a password.", email, name);
		return;
	}
	enum ec_status s = holders_add(p->st, email, name, pw, 0, p->rq->client, &h, &err);
	memset(pw, 0, sizeof(pw));
	if (s == EC_OK)
		signed_in(p, &h);
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
		memset(pw, 0, sizeof(pw));
		account_form(p, false, 400, "Give your e-mail address and your password.", email, NULL);
		return;
	}
	enum ec_status s = holders_login(p->st, email, pw, p->rq->client, &h, &err);
	memset(pw, 0, sizeof(pw));
	if (s == EC_OK)
		signed_in(p, &h);
	else
		account_form(p, false, s == EC_ERR_CHECK ? 401 : s == EC_ERR_LIMIT ? 429 : 500, err.text,
			     email, NULL);
}

static void logout(struct web_page *p)
{
	if (!form_ok(p))
		return;
	web_sign_out(p);
	web_redirect(p, "/");
}

/* ---- orders ---- */

static void sale_rows(struct web_page *p, struct sb *b, const struct sale *s, size_t n, bool ship)
{
	sb_put(b, "<table id=\"orders\"><tr><th>order</th><th>state</th><th>to</th><th class=\"n\">total</th>");
	sb_put(b, ship ? "<th></th></tr>" : "</tr>");
	for (size_t i = 0; i < n; i++) {
		sb_printf(b, "<tr><td><a href=\"/orders/%lld\">%lld</a></td><td class=\"state\">", s[i].id,
			  s[i].id);
		sb_html(b, s[i].state);
		sb_put(b, "</td><td>");
		sb_html(b, s[i].to.name);
		sb_put(b, ", ");
		sb_html(b, s[i].to.town);
		sb_put(b, "</td><td class=\"n\">");
		money(p, b, s[i].total);
		sb_put(b, "</td>");
		if (ship && strcmp(s[i].state, SALE_PAID) == 0) {
			sb_printf(b, "<td><form method=\"post\" action=\"/admin/orders/%lld/ship\">", s[i].id);
			csrf_field(p, b);
			sb_put(b, "<button>shipped</button></form></td>");
		} else if (ship) {
			sb_put(b, "<td></td>");
		}
		sb_put(b, "</tr>");
	}
	sb_put(b, "</table>");
}

static void account_page(struct web_page *p)
{
	struct sb b = { 0 };
	struct sale *s;
	size_t n;
	struct ec_error err;

	if (!need_customer(p))
		return;
	if (sale_list(p->st, p->who.id, &s, &n, &err) != EC_OK) {
		error_page(p, 500, "The orders could not be read.");
		return;
	}
	head(p, &b, "Your orders");
	if (n)
		sale_rows(p, &b, s, n, false);
	else
		sb_put(&b, "<p>No orders yet.</p>");
	foot(p, &b);
	free(s);
	web_answer(p, 200, HTML, &b);
}

static void address_field(struct sb *b, const char *name, const char *label, const char *value,
			  int max, bool required)
{
	sb_printf(b, "<label>%s <input name=\"%s\" id=\"%s\" maxlength=\"%d\"%s value=\"", label, name,
		  name, max, required ? " required" : "");
	sb_html(b, value);
	sb_put(b, "\"></label>");
}

static void checkout_form(struct web_page *p, const struct address *a, const char *error, int status)
{
	struct sb b = { 0 };
	struct basket_line *lines;
	size_t n;
	long long total;
	struct ec_error err;

	if (!need_customer(p))
		return;
	if (basket_get(p->st, p->sess.key, &lines, &n, &total, &err) != EC_OK) {
		error_page(p, 500, "The basket could not be read.");
		return;
	}
	free(lines);
	if (n == 0) {
		web_redirect(p, "/basket");
		return;
	}
	head(p, &b, "Check out");
	notice(&b, false, error);
	sb_put(&b, "<p>To pay: <span class=\"price\" id=\"total\">");
	money(p, &b, total);
	sb_put(&b, "</span></p><p><button type=\"button\" id=\"fill\" hidden>Fill in from my card</button>"
		   " <span id=\"fill-status\"></span></p><form method=\"post\" action=\"/checkout\" id=\"address\">");
	csrf_field(p, &b);
	address_field(&b, "name", "Name", a ? a->name : p->who.name, ADDRESS_NAME_MAX, true);
	address_field(&b, "street", "Street address", a ? a->street : "", ADDRESS_FIELD_MAX, true);
	address_field(&b, "town", "Town", a ? a->town : "", ADDRESS_FIELD_MAX, true);
	address_field(&b, "county", "County", a ? a->county : "", ADDRESS_FIELD_MAX, false);
	address_field(&b, "postcode", "Postcode", a ? a->postcode : "", ADDRESS_FIELD_MAX, true);
	address_field(&b, "email", "E-mail", a ? a->email : p->who.email, ADDRESS_EMAIL_MAX, true);
	sb_put(&b, "<button id=\"place\">Place the order</button></form>");
	foot(p, &b);
	web_answer(p, status, HTML, &b);
}

static void checkout(struct web_page *p)
{
	struct address *a = calloc(1, sizeof(*a));
	struct sale s;
	struct ec_error err;
	char url[64];

	if (!a) {
		error_page(p, 500, "out of memory");
		return;
	}
	if (!form_ok(p) || !need_customer(p)) {
		free(a);
		return;
	}
	const char *body = p->rq->body;
	size_t len = p->rq->len;
	bool have = web_field(body, len, "name", a->name, sizeof(a->name)) &
		    web_field(body, len, "street", a->street, sizeof(a->street)) &
		    web_field(body, len, "town", a->town, sizeof(a->town)) &
		    web_field(body, len, "postcode", a->postcode, sizeof(a->postcode)) &
		    web_field(body, len, "email", a->email, sizeof(a->email));
	if (!web_field(body, len, "county", a->county, sizeof(a->county)))
		a->county[0] = '\0';
	enum ec_status st = have ? sale_place(p->st, p->sess.key, p->who.id, a, &s, &err)
				 : ec_error_set(&err, EC_ERR_ARG, "Fill in every field of the address (64 characters each at most).");
	if (st == EC_OK) {
		snprintf(url, sizeof(url), "/orders/%lld", s.id);
		web_redirect(p, url);
	} else {
		checkout_form(p, a, err.text, st == EC_ERR_ARG ? 422 : 500);
	}
	free(a);
}

/* The order, when it is the customer's (or staff look). */
static bool own_sale(struct web_page *p, long long id, struct sale *s, struct basket_line **lines,
		     size_t *n, bool json)
{
	struct ec_error err;

	if (!p->signed_in) {
		if (json)
			web_json(p, 401, json_pack("{s:s}", "error", "log in first"));
		else
			need_customer(p);
		return false;
	}
	if (sale_get(p->st, id, s, lines, n, &err) != EC_OK ||
	    (s->customer != p->who.id && !p->who.staff)) {
		if (lines)
			free(*lines);
		if (json)
			web_json(p, 404, json_pack("{s:s}", "error", "no such order"));
		else
			error_page(p, 404, "There is no such order.");
		return false;
	}
	return true;
}

static void sale_page(struct web_page *p, long long id)
{
	struct sb b = { 0 };
	struct sale s;
	struct basket_line *lines;
	size_t n;
	char title[48];

	if (!own_sale(p, id, &s, &lines, &n, false))
		return;
	snprintf(title, sizeof(title), "Order %lld", s.id);
	head(p, &b, title);
	sb_put(&b, "<p>State: <b id=\"state\">");
	sb_html(&b, s.state);
	sb_put(&b, "</b></p><table id=\"lines\"><tr><th>product</th><th>quantity</th><th class=\"n\">price</th></tr>");
	for (size_t i = 0; i < n; i++) {
		sb_put(&b, "<tr><td>");
		sb_html(&b, lines[i].name);
		sb_printf(&b, "</td><td>%ld</td><td class=\"n\">", lines[i].quantity);
		money(p, &b, lines[i].price * lines[i].quantity);
		sb_put(&b, "</td></tr>");
	}
	sb_put(&b, "<tr><th>total</th><td></td><td class=\"n\" id=\"total\">");
	money(p, &b, s.total);
	sb_put(&b, "</td></tr></table><h3>Delivery to</h3><p id=\"to\">");
	const char *parts[] = { s.to.name, s.to.street, s.to.town, s.to.county, s.to.postcode, s.to.email };
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		if (parts[i][0]) {
			sb_html(&b, parts[i]);
			sb_put(&b, "<br>");
		}
	sb_put(&b, "</p>");
	pay_section(p, &b, &s);
	if (strcmp(s.state, SALE_AWAITING) == 0 && s.customer == p->who.id) {
		sb_printf(&b, "<form method=\"post\" action=\"/orders/%lld/cancel\">", s.id);
		csrf_field(p, &b);
		sb_put(&b, "<button id=\"cancel\">Cancel the order</button></form>");
	}
	foot(p, &b);
	free(lines);
	web_answer(p, 200, HTML, &b);
}

static void sale_json(struct web_page *p, long long id)
{
	struct sale s;
	struct payment last;
	struct ec_error err;

	if (!own_sale(p, id, &s, NULL, NULL, true))
		return;
	bool have = pay_last(p->st, id, &last, &err) == EC_OK;
	web_json(p, 200, json_pack("{s:I,s:s,s:I,s:s,s:s}", "id", (json_int_t)s.id, "state", s.state,
				   "total", (json_int_t)s.total, "payment_state",
				   have ? last.state : "", "payment", have ? last.message : ""));
}

static void cancel(struct web_page *p, long long id)
{
	struct sale s;
	struct ec_error err;
	char url[64];

	if (!form_ok(p) || !own_sale(p, id, &s, NULL, NULL, false))
		return;
	if (s.customer != p->who.id) {
		error_page(p, 404, "There is no such order.");
		return;
	}
	if (sale_move(p->st, id, SALE_AWAITING, SALE_CANCELLED, &err) != EC_OK) {
		error_page(p, 409, "Only an order awaiting payment can be cancelled.");
		return;
	}
	snprintf(url, sizeof(url), "/orders/%lld", id);
	web_redirect(p, url);
}

/* ---- staff ---- */

static void admin_page(struct web_page *p, const char *note, bool ok, int status)
{
	struct sb b = { 0 };
	struct sale *s;
	size_t n;
	struct ec_error err;

	if (!need_staff(p))
		return;
	if (sale_list(p->st, 0, &s, &n, &err) != EC_OK) {
		error_page(p, 500, "The orders could not be read.");
		return;
	}
	head(p, &b, "Admin");
	notice(&b, ok, note);
	sb_put(&b, "<h3>Add a product</h3><form method=\"post\" action=\"/admin/products\">");
	csrf_field(p, &b);
	sb_printf(&b, "<label>Category <input name=\"category\" id=\"category\" required maxlength=\"%d\"></label>"
		      "<label>Name <input name=\"name\" id=\"name\" required maxlength=\"%d\"></label>"
		      "<label>Description <textarea name=\"description\" id=\"description\" maxlength=\"%d\"></textarea></label>"
		      "<label>Price <input name=\"price\" id=\"price\" required placeholder=\"12.50\"></label>"
		      "<label>Stock <input type=\"number\" name=\"stock\" id=\"stock\" value=\"10\" min=\"0\" max=\"%d\"></label>"
		      "<button id=\"add-product\">Add</button></form><h3>Orders</h3>",
		  CATEGORY_NAME_MAX, PRODUCT_NAME_MAX, PRODUCT_TEXT_MAX, PRODUCT_STOCK_MAX);
	sale_rows(p, &b, s, n, true);
	foot(p, &b);
	free(s);
	web_answer(p, status, HTML, &b);
}

static void add_product(struct web_page *p)
{
	struct product *pr = calloc(1, sizeof(*pr));
	char price[32];
	long long stock = 0;
	uint32_t minor;
	struct ec_error err;

	if (!pr) {
		error_page(p, 500, "out of memory");
		return;
	}
	if (!form_ok(p) || !need_staff(p)) {
		free(pr);
		return;
	}
	const char *body = p->rq->body;
	size_t len = p->rq->len;
	if (!web_field(body, len, "category", pr->category_name, sizeof(pr->category_name)) ||
	    !web_field(body, len, "name", pr->name, sizeof(pr->name)) ||
	    !web_field(body, len, "price", price, sizeof(price)) ||
	    !number(body, len, "stock", 0, PRODUCT_STOCK_MAX, &stock)) {
		free(pr);
		admin_page(p, "Give a category, a name, a price and a stock.", false, 400);
		return;
	}
	if (!web_field(body, len, "description", pr->description, sizeof(pr->description)))
		pr->description[0] = '\0';
	enum ec_amount_status as = ec_amount_parse(price, cfg(p)->currency, &minor);
	if (as != EC_AMOUNT_OK) {
		free(pr);
		admin_page(p, ec_amount_strerror(as), false, 422);
		return;
	}
	pr->price = minor;
	pr->stock = stock;
	enum ec_status s = catalogue_add(p->st, pr, &err);
	char note[64];
	snprintf(note, sizeof(note), "Product %lld added.", pr->id);
	free(pr);
	if (s == EC_OK)
		admin_page(p, note, true, 201);
	else
		admin_page(p, err.text, false, s == EC_ERR_ARG ? 422 : 500);
}

static void ship(struct web_page *p, long long id)
{
	struct ec_error err;

	if (!form_ok(p) || !need_staff(p))
		return;
	if (sale_move(p->st, id, SALE_PAID, SALE_SHIPPED, &err) == EC_OK)
		admin_page(p, "The order is shipped.", true, 200);
	else
		admin_page(p, err.text, false, 409);
}

/* ---- routes ---- */

static void static_file(struct web_page *p, const char *text, const char *type)
{
	struct sb b = { 0 };
	sb_put(&b, text);
	web_answer(p, 200, type, &b);
}

static void route(struct web_page *p)
{
	const char *path = p->rq->path, *rest;
	bool get = strcmp(p->rq->method, "GET") == 0 || strcmp(p->rq->method, "HEAD") == 0;
	bool post = strcmp(p->rq->method, "POST") == 0;
	long long id;

	if (!get && !post) {
		error_page(p, 405, "This site takes GET and POST.");
		return;
	}
	if (get && strcmp(path, "/static/style.css") == 0)
		static_file(p, style_css, "text/css");
	else if (get && strcmp(path, "/static/shop.js") == 0)
		static_file(p, pay_script, "text/javascript");
	else if (get && strcmp(path, "/") == 0)
		listing(p, 0);
	else if (get && strcmp(path, "/search") == 0)
		search(p, false);
	else if (get && strcmp(path, "/api/search") == 0)
		search(p, true);
	else if (get && (id = path_id(path, "/category/", &rest)) && !*rest)
		listing(p, id);
	else if (get && (id = path_id(path, "/product/", &rest)) && !*rest)
		product_page(p, id, NULL, true, 200);
	else if (get && strcmp(path, "/basket") == 0)
		basket_page(p, NULL, true, 200);
	else if (post && strcmp(path, "/basket/add") == 0)
		basket_change(p, true);
	else if (post && strcmp(path, "/basket/set") == 0)
		basket_change(p, false);
	else if (strcmp(path, "/signup") == 0)
		get ? account_form(p, true, 200, NULL, NULL, NULL) : signup(p);
	else if (strcmp(path, "/login") == 0)
		get ? account_form(p, false, 200, NULL, NULL, NULL) : login(p);
	else if (post && strcmp(path, "/logout") == 0)
		logout(p);
	else if (get && strcmp(path, "/account") == 0)
		account_page(p);
	else if (strcmp(path, "/checkout") == 0)
		get ? checkout_form(p, NULL, NULL, 200) : checkout(p);
	else if (get && (id = path_id(path, "/orders/", &rest)) && !*rest)
		sale_page(p, id);
	else if (post && (id = path_id(path, "/orders/", &rest)) && strcmp(rest, "/cancel") == 0)
		cancel(p, id);
	else if (get && (id = path_id(path, "/api/orders/", &rest)) && !*rest)
		sale_json(p, id);
	else if (post && (id = path_id(path, "/api/orders/", &rest)) && strcmp(rest, "/pay") == 0)
		pay_start_page(p, id);
	else if (get && strcmp(path, "/admin") == 0)
		admin_page(p, NULL, true, 200);
	else if (post && strcmp(path, "/admin/products") == 0)
		add_product(p);
	else if (post && (id = path_id(path, "/admin/orders/", &rest)) && strcmp(rest, "/ship") == 0)
		ship(p, id);
	else
		error_page(p, 404, "There is no such page.");
}

void shop_web_handle(struct store *st, const void *config, const struct web_request *rq,
		     struct web_response *rs)
{
	struct web_page p = { .site = config };

	web_page_open(&p, st, rq, rs);
	route(&p);
	web_page_close(&p);
}
