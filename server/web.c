/*
 * web.c - the tools the issuer centre's pages are made with (web.h).
 */
#include "web.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "utf8.h"

static bool sb_grow(struct sb *b, size_t more)
{
	if (b->failed)
		return false;
	if (b->len + more + 1 <= b->cap)
		return true;
	size_t cap = b->cap ? b->cap : 1024;
	while (cap < b->len + more + 1)
		cap *= 2;
	char *n = realloc(b->text, cap);
	if (!n) {
		free(b->text);
		*b = (struct sb){ .failed = true };
		return false;
	}
	b->text = n;
	b->cap = cap;
	return true;
}

void sb_put(struct sb *b, const char *s)
{
	size_t n = strlen(s);
	if (!sb_grow(b, n))
		return;
	memcpy(b->text + b->len, s, n + 1);
	b->len += n;
}

void sb_printf(struct sb *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !sb_grow(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->text + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void sb_html(struct sb *b, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': sb_put(b, "&amp;"); break;
		case '<': sb_put(b, "&lt;"); break;
		case '>': sb_put(b, "&gt;"); break;
		case '"': sb_put(b, "&quot;"); break;
		case '\'': sb_put(b, "&#39;"); break;
		default: {
			char c[2] = { *s, '\0' };
			sb_put(b, c);
		}
		}
	}
}

/* Decode a urlencoded value of n bytes: '+' is a space, %XX a byte. */
static bool url_decode(const char *v, size_t n, char *out, size_t cap)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		char c = v[i];
		if (c == '+') {
			c = ' ';
		} else if (c == '%') {
			if (i + 2 >= n)
				return false;
			int hi = hex_digit_value(v[i + 1]), lo = hex_digit_value(v[i + 2]);
			if (hi < 0 || lo < 0)
				return false;
			c = (char)(hi << 4 | lo);
			i += 2;
		}
		if (c == '\0' || k + 1 >= cap)
			return false;
		out[k++] = c;
	}
	out[k] = '\0';
	return utf8_valid((const uint8_t *)out, k);
}

bool web_field(const char *form, size_t len, const char *name, char *out, size_t cap)
{
	size_t nlen = strlen(name);

	if (cap)
		out[0] = '\0';
	for (size_t at = 0; form && at < len;) {
		const char *amp = memchr(form + at, '&', len - at);
		size_t end = amp ? (size_t)(amp - form) : len;
		const char *eq = memchr(form + at, '=', end - at);
		if (eq && (size_t)(eq - (form + at)) == nlen && memcmp(form + at, name, nlen) == 0) {
			size_t v = (size_t)(eq - form) + 1;
			return url_decode(form + v, end - v, out, cap);
		}
		at = end + 1;
	}
	return false;
}

bool web_cookie(const char *header, const char *name, char *out, size_t cap)
{
	size_t nlen = strlen(name);

	for (const char *p = header; p && *p;) {
		while (*p == ' ' || *p == ';')
			p++;
		const char *end = strchr(p, ';');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if (n > nlen && memcmp(p, name, nlen) == 0 && p[nlen] == '=') {
			size_t v = n - nlen - 1;
			if (v + 1 > cap)
				return false;
			memcpy(out, p + nlen + 1, v);
			out[v] = '\0';
			return true;
		}
		p += n;
	}
	return false;
}

bool web_text_ok(const char *s, size_t min, size_t max, bool lines)
{
	size_t n = s ? strlen(s) : 0;

	if (n < min || n > max || !utf8_valid((const uint8_t *)s, n))
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if ((*p < 0x20 || *p == 0x7F) && !(lines && (*p == '\t' || *p == '\r' || *p == '\n')))
			return false;
	return true;
}

/* ---- pages ---- */

#define COOKIE_ATTRS "; Path=/; HttpOnly; Secure; SameSite=Strict"

void web_page_open(struct web_page *p, struct store *st, const struct web_request *rq,
		   struct web_response *rs)
{
	struct ec_error err;

	p->st = st;
	p->rq = rq;
	p->rs = rs;
	p->have_session = p->signed_in = false;
	memset(rs, 0, sizeof(*rs));
	if (rq->cookie && sessions_get(st, rq->cookie, &p->sess, &err) == EC_OK) {
		p->have_session = true;
		if (p->sess.holder && holders_get(st, p->sess.holder, &p->who, &err) == EC_OK)
			p->signed_in = true;
	}
}

void web_page_close(struct web_page *p)
{
	if (!p->rs->body) {
		p->rs->status = 500;
		p->rs->body = strdup("");
		p->rs->content_type = "text/plain";
	}
}

void web_answer(struct web_page *p, int status, const char *type, struct sb *b)
{
	p->rs->status = b->failed ? 500 : status;
	p->rs->content_type = type;
	p->rs->body = b->text;
	p->rs->len = b->len;
	if (b->failed) {
		p->rs->body = strdup("out of memory");
		p->rs->len = p->rs->body ? strlen(p->rs->body) : 0;
		p->rs->content_type = "text/plain";
	}
	*b = (struct sb){ 0 };
}

void web_redirect(struct web_page *p, const char *to)
{
	struct sb b = { 0 };
	snprintf(p->rs->location, sizeof(p->rs->location), "%s", to);
	sb_put(&b, "");
	web_answer(p, 303, "text/plain", &b);
}

void web_json(struct web_page *p, int status, json_t *o)
{
	struct sb b = { 0 };
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	sb_put(&b, text ? text : "{}");
	free(text);
	web_answer(p, o && text ? status : 500, "application/json", &b);
}

static void set_cookie(struct web_page *p)
{
	snprintf(p->rs->set_cookie, sizeof(p->rs->set_cookie), WEB_COOKIE "=%s" COOKIE_ATTRS,
		 p->cookie);
}

bool web_ensure_session(struct web_page *p)
{
	struct ec_error err;

	if (p->have_session)
		return true;
	if (sessions_new(p->st, 0, p->cookie, &p->sess, &err) != EC_OK)
		return false;
	p->have_session = true;
	set_cookie(p);
	return true;
}

bool web_same_origin(const struct web_page *p)
{
	const char *o = p->rq->origin;
	if (!o || strcmp(o, "null") == 0)
		return o == NULL;
	const char *h = strstr(o, "://");
	return h && p->rq->host && strcmp(h + 3, p->rq->host) == 0;
}

bool web_form_ok(struct web_page *p)
{
	char token[WEB_TOKEN_HEX + 1];

	return p->have_session && web_same_origin(p) &&
	       web_field(p->rq->body, p->rq->len, "csrf", token, sizeof(token)) &&
	       sessions_csrf_ok(&p->sess, token);
}

enum ec_status web_sign_in(struct web_page *p, long long holder, struct ec_error *err)
{
	struct ec_error ignored;

	if (p->have_session)
		sessions_end(p->st, p->rq->cookie, &ignored);
	p->have_session = false;
	enum ec_status s = sessions_new(p->st, holder, p->cookie, &p->sess, err);
	if (s != EC_OK)
		return s;
	p->have_session = true;
	set_cookie(p);
	return EC_OK;
}

void web_sign_out(struct web_page *p)
{
	struct ec_error err;

	sessions_end(p->st, p->rq->cookie, &err);
	p->have_session = p->signed_in = false;
	snprintf(p->rs->set_cookie, sizeof(p->rs->set_cookie), WEB_COOKIE "=; Max-Age=0" COOKIE_ATTRS);
}
