/*
 * web_client.h - a small browser for the tests of the issuer centre's and
 * the shop's pages, over real HTTP with libcurl: requests with the session
 * cookie, forms with the last page's CSRF token. Failures fail the test.
 */
#ifndef ECARD_TEST_WEB_CLIENT_H
#define ECARD_TEST_WEB_CLIENT_H

#include <stddef.h>

#include "holders.h"

/* The site's base URL ("http://127.0.0.1:PORT"), set by the test. */
extern const char *web_base;

struct reply {
	long status;
	char *body;
	size_t len;
	char cookie[WEB_TOKEN_HEX + 8];	/* a Set-Cookie's value; "-" cleared */
	char location[256];
	char headers[4096];	/* every header line, as received */
};

/* One request; header (may be NULL): header lines as curl takes them,
 * several separated by newlines. */
struct reply request(const char *method, const char *path, const char *cookie, const char *type,
		     const char *body, size_t len, const char *header);

/* A browser: its session cookie and the last page's CSRF token. */
struct browser {
	char cookie[WEB_TOKEN_HEX + 8];
	char csrf[WEB_TOKEN_HEX + 8];
};

/* Take the reply's cookie and CSRF token into the browser. */
void keep(struct browser *b, const struct reply *r);
struct reply get(struct browser *b, const char *path);
/* A form: "name=value&..." (urlencoded by the caller), with the CSRF token
 * (csrf NULL: the browser's). */
struct reply post(struct browser *b, const char *path, const char *fields, const char *csrf);
/* Free the reply's body. */
void done(struct reply *r);

#endif
