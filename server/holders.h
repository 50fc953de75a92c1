/*
 * holders.h - the issuer centre's people (DESIGN §7): card holders and
 * staff, their passwords (argon2id, Debian's libargon2), their web
 * sessions, the rate limit on log-ins, and their card orders.
 *
 * A session is a random 32-byte token in an HttpOnly, Secure,
 * SameSite=Strict cookie; the store keeps only its SHA-256, so a copy of
 * the database opens no session. Each session has its own CSRF token,
 * which every form sends back. A session exists before log-in too (the
 * log-in form needs its CSRF token); logging in replaces it with a new
 * one, so a token planted before log-in is worth nothing after.
 *
 * Log-in attempts that fail are counted per account and per client
 * address over a window; past the limit, further attempts are refused
 * without looking at the password (EC_ERR_LIMIT) until the window moves
 * on. An unknown account costs the same hashing as a known one.
 */
#ifndef ECARD_SERVER_HOLDERS_H
#define ECARD_SERVER_HOLDERS_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "ledger.h"
#include "seram.h"
#include "store.h"

#define HOLDER_EMAIL_MAX 255		/* bytes, without the NUL */
#define HOLDER_NAME_MAX 80
#define HOLDER_PASSWORD_MIN 10
#define HOLDER_PASSWORD_MAX 128
#define HOLDER_HASH_MAX 160		/* an argon2id encoded hash */
#define WEB_TOKEN_HEX 65		/* a session or CSRF token: 32 bytes in hex */

/* The rate limit: failures within the window, per account and address. */
#define LOGIN_WINDOW_MS (15LL * 60 * 1000)
#define LOGIN_MAX_PER_ACCOUNT 5
#define LOGIN_MAX_PER_ADDRESS 20
#define SIGNUP_MAX_PER_ADDRESS 10	/* per window */

/* How long a session lives: signed in, and before. */
#define SESSION_TTL_MS (8LL * 3600 * 1000)
#define SESSION_ANON_TTL_MS (3600LL * 1000)

/*
 * The tables of accounts, sessions and attempts as first published, for
 * the migrations of each program that keeps accounts (the issuer centre's
 * holders, the shop's customers). Never change it: a change is a new
 * migration in each program.
 */
#define HOLDERS_TABLES_V1 \
	"CREATE TABLE holders (" \
	" id @ID@," \
	" email TEXT NOT NULL UNIQUE," \
	" name TEXT NOT NULL," \
	" password TEXT NOT NULL," \
	" staff INTEGER NOT NULL DEFAULT 0," \
	" created BIGINT NOT NULL);" \
	"CREATE TABLE web_sessions (" \
	" id TEXT PRIMARY KEY," \
	" holder BIGINT," \
	" csrf TEXT NOT NULL," \
	" created BIGINT NOT NULL," \
	" expires BIGINT NOT NULL);" \
	"CREATE INDEX web_sessions_by_expiry ON web_sessions (expires);" \
	"CREATE TABLE web_attempts (" \
	" who TEXT NOT NULL," \
	" at BIGINT NOT NULL);" \
	"CREATE INDEX web_attempts_by_who ON web_attempts (who, at);"

struct holder {
	long long id;
	char email[HOLDER_EMAIL_MAX + 1];
	char name[HOLDER_NAME_MAX + 1];
	bool staff;
	long long created;
};

/* Forms: an e-mail address (something@domain, no spaces or controls), a
 * name (1 to 80 bytes of UTF-8 text), a password (10 to 128 bytes). */
bool holder_email_ok(const char *email);
bool holder_name_ok(const char *name);
bool holder_password_ok(const char *password);

/* The holder's (simulated) bank account in the ledger: bank:holder-ID. */
void holder_bank(long long id, char out[LEDGER_NAME_MAX]);

/* argon2id, encoded with its parameters and salt. */
enum ec_status holder_password_hash(const char *password, char out[HOLDER_HASH_MAX],
				    struct ec_error *err);
bool holder_password_check(const char *encoded, const char *password);

/*
 * Sign up: a new holder with the e-mail address in lower case, and
 * bank_start minor units put in the holder's bank account (the simulated
 * bank's welcome). EC_ERR_EXISTS for an address taken, EC_ERR_LIMIT when
 * client signed up too many accounts lately, EC_ERR_ARG for a bad form.
 */
enum ec_status holders_add(struct store *st, const char *email, const char *name,
			   const char *password, long long bank_start, const char *client,
			   struct holder *out, struct ec_error *err);
/* Log in: EC_ERR_CHECK for a wrong address or password (one answer for
 * both), EC_ERR_LIMIT when rate-limited. */
enum ec_status holders_login(struct store *st, const char *email, const char *password,
			     const char *client, struct holder *out, struct ec_error *err);
enum ec_status holders_get(struct store *st, long long id, struct holder *out,
			   struct ec_error *err);
enum ec_status holders_find(struct store *st, const char *email, struct holder *out,
			    struct ec_error *err);
enum ec_status holders_set_staff(struct store *st, const char *email, bool staff,
				 struct ec_error *err);

/* ---- sessions ---- */

struct web_session {
	char key[WEB_TOKEN_HEX];	/* the SHA-256 of the cookie, hex */
	long long holder;		/* 0: not signed in */
	char csrf[WEB_TOKEN_HEX];
	long long expires;
};

/* A new session (holder 0: before log-in); cookie receives its token. */
enum ec_status sessions_new(struct store *st, long long holder, char cookie[WEB_TOKEN_HEX],
			    struct web_session *out, struct ec_error *err);
/* The session of a cookie: EC_ERR_NOT_FOUND for none, or one expired. */
enum ec_status sessions_get(struct store *st, const char *cookie, struct web_session *out,
			    struct ec_error *err);
enum ec_status sessions_end(struct store *st, const char *cookie, struct ec_error *err);
/* Whether token is the session's CSRF token (constant time). */
bool sessions_csrf_ok(const struct web_session *s, const char *token);

/* ---- card orders ---- */

#define ORDER_WAITING "waiting"		/* for staff to pick a card */
#define ORDER_ISSUING "issuing"		/* a personalize job runs */
#define ORDER_ISSUED "issued"
#define ORDER_FAILED "failed"

struct card_order {
	long long id;
	long long holder;
	char state[16];
	char se_id[SERAM_SE_ID_MAX + 1];	/* "" none yet */
	long long job;
	char serial[17];			/* "" none yet */
	long long created;
};

enum ec_status orders_add(struct store *st, long long holder, long long *id, struct ec_error *err);
/* A holder's orders (holder 0: everyone's), newest first. */
enum ec_status orders_list(struct store *st, long long holder, struct card_order **out,
			   size_t *count, struct ec_error *err);

#endif
