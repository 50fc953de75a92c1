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
