/*
 * web.h - the issuer centre's web side without HTTP (DESIGN §7): a request
 * as the HTTP layer read it, the answer it should give, and the tools the
 * pages are made with: form fields, HTML escaping, cookies.
 *
 * Every page is plain HTML that works without JavaScript; forms are
 * POSTed as application/x-www-form-urlencoded with the session's CSRF
 * token. Answers carry a Content-Security-Policy that allows only the
 * server's own script and style, so markup that slipped into a page
 * could not run.
 */
#ifndef ECARD_SERVER_WEB_H
#define ECARD_SERVER_WEB_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "error.h"
#include "holders.h"
#include "issuer.h"
#include "store.h"

/* Request bodies: forms, and a merchant's upload of records. */
#define WEB_FORM_MAX (64 * 1024)
#define WEB_UPLOAD_MAX (32 * 1024 * 1024)
#define WEB_UPLOAD_RECORDS 50000

/* The session cookie (a __Host- cookie: Secure, Path=/, no Domain). */
#define WEB_COOKIE "__Host-ecard"

struct web_request {
	const char *method;		/* "GET", "POST", ... */
	const char *path;		/* without the query */
	const char *query;		/* after '?', "" none */
	const char *body;
	size_t len;
	const char *cookie;		/* the session cookie's value, NULL none */
	const char *content_type;	/* NULL none */
	const char *authorization;	/* NULL none */
	const char *origin;		/* NULL none */
	const char *host;		/* NULL none */
	const char *client;		/* the client's address, as text */
};

struct web_response {
	int status;
	const char *content_type;	/* static */
	char *body;			/* malloc'd */
	size_t len;
	char set_cookie[256];		/* "" none */
	char location[512];		/* "" none: for 303 */
	/* The Content-Security-Policy's connect-src beyond 'self' (static,
	 * NULL none): the shop's pages talk to the holder's agent. */
	const char *connect_src;
};

struct web_config {
	const struct ec_issuer *issuer;	/* NULL: no top-ups, no settlement */
	long long signup_bank;		/* minor units a new holder's bank account gets */
};

/* Whether the HTTP layer should give path to web_handle(), and the
 * largest body it takes for it. */
bool web_path(const char *path, size_t *body_max);

/* Answer one request: rs filled, rs->body malloc'd (free it). */
void web_handle(struct store *st, const struct web_config *cfg, const struct web_request *rq,
		struct web_response *rs);

/* ---- tools for the pages ---- */

/* A growing text. On running out of memory it stays empty and failed. */
struct sb {
	char *text;
	size_t len, cap;
	bool failed;
};
void sb_put(struct sb *b, const char *s);
void sb_printf(struct sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* s with & < > " ' escaped, for HTML text and quoted attributes. */
void sb_html(struct sb *b, const char *s);

/* min to max bytes of UTF-8 text without control characters (tab, CR and
 * LF allowed when lines is true). */
bool web_text_ok(const char *s, size_t min, size_t max, bool lines);
/* A field of a urlencoded form (or query), decoded into out (cap bytes):
 * false when it is missing, too long, or not UTF-8 text without NUL. */
bool web_field(const char *form, size_t len, const char *name, char *out, size_t cap);

/* The value of cookie name in a Cookie header, into out. */
bool web_cookie(const char *header, const char *name, char *out, size_t cap);

/* ---- pages ---- */

/*
 * One request being answered, by the issuer centre (centre.c) or the shop:
 * the store, the request and its answer, the visitor's session (one is
 * made before log-in when a form needs its CSRF token) and, signed in,
 * the account.
 */
struct web_page {
	struct store *st;
	const struct web_config *cfg;	/* the issuer centre's; NULL elsewhere */
	const void *site;		/* another site's own configuration */
	const struct web_request *rq;
	struct web_response *rs;
	struct web_session sess;
	bool have_session;
	struct holder who;		/* when signed in */
	bool signed_in;
	char cookie[WEB_TOKEN_HEX];	/* a new session's, to set */
};

/* Start answering rq: rs cleared, the session of its cookie looked up. */
void web_page_open(struct web_page *p, struct store *st, const struct web_request *rq,
		   struct web_response *rs);
/* Finish: an answer that was never given becomes a 500. */
void web_page_close(struct web_page *p);
/* Give b (its text taken) as the answer; out of memory is a 500. */
void web_answer(struct web_page *p, int status, const char *type, struct sb *b);
void web_redirect(struct web_page *p, const char *to);
/* A JSON answer; o is taken. */
void web_json(struct web_page *p, int status, json_t *o);
/* Make sure there is a session (one before log-in if need be). */
bool web_ensure_session(struct web_page *p);
/* Whether the request comes from this server's own pages (an Origin
 * naming this host, or none: browsers send it on every cross-site POST). */
bool web_same_origin(const struct web_page *p);
/* A form's POST: a session, its CSRF token in field "csrf", our origin. */
bool web_form_ok(struct web_page *p);
/* Signed in as holder: a new session replaces the one before, so a token
 * planted before log-in is worth nothing after. */
enum ec_status web_sign_in(struct web_page *p, long long holder, struct ec_error *err);
void web_sign_out(struct web_page *p);

#endif
