/*
 * holders.c - holders, passwords, sessions, rate limits and card orders
 * (holders.h).
 */
#include "holders.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <argon2.h>

#include "crypto.h"
#include "db.h"
#include "hex.h"
#include "utf8.h"
#include "web.h"

/* argon2id with the parameters OWASP gives for it (19 MiB, 2 passes). */
#define ARGON_T 2
#define ARGON_M 19456
#define ARGON_P 1
#define ARGON_SALT 16
#define ARGON_HASH 32

static void num(char *buf, size_t cap, long long v)
{
	snprintf(buf, cap, "%lld", v);
}

static bool text_ok(const char *s, size_t max)
{
	return web_text_ok(s, 1, max, false);
}

bool holder_email_ok(const char *email)
{
	if (!text_ok(email, HOLDER_EMAIL_MAX))
		return false;
	const char *at = strchr(email, '@');
	if (!at || at == email || strchr(at + 1, '@') || !strchr(at + 1, '.') || at[1] == '.' ||
	    email[strlen(email) - 1] == '.')
		return false;
	return strpbrk(email, " \"<>(),;:\\[]") == NULL;
}

bool holder_name_ok(const char *name)
{
	return text_ok(name, HOLDER_NAME_MAX);
}

bool holder_password_ok(const char *password)
{
	size_t n = password ? strlen(password) : 0;
	return n >= HOLDER_PASSWORD_MIN && n <= HOLDER_PASSWORD_MAX;
}

void holder_bank(long long id, char out[LEDGER_NAME_MAX])
{
	snprintf(out, LEDGER_NAME_MAX, "bank:holder-%lld", id);
}

enum ec_status holder_password_hash(const char *password, char out[HOLDER_HASH_MAX],
				    struct ec_error *err)
{
	uint8_t salt[ARGON_SALT];

	if (crypto_random(salt, sizeof(salt)) != 0)
		return ec_error_set(err, EC_ERR_CRYPTO, "the random generator failed.");
	if (argon2id_hash_encoded(ARGON_T, ARGON_M, ARGON_P, password, strlen(password), salt,
				  sizeof(salt), ARGON_HASH, out, HOLDER_HASH_MAX) != ARGON2_OK)
		return ec_error_set(err, EC_ERR_CRYPTO, "the password could not be hashed.");
	return EC_OK;
}

bool holder_password_check(const char *encoded, const char *password)
{
	return encoded && strncmp(encoded, "$argon2id$", 10) == 0 &&
	       argon2id_verify(encoded, password, strlen(password)) == ARGON2_OK;
}

/* A hash no password matches, checked for accounts that do not exist so
 * that they take as long as those that do. */
static char decoy[HOLDER_HASH_MAX];
static pthread_once_t decoy_once = PTHREAD_ONCE_INIT;

static void decoy_make(void)
{
	uint8_t secret[32];
	char text[65];
	struct ec_error err;

	crypto_random(secret, sizeof(secret));
	hex_encode(secret, sizeof(secret), text);
	if (holder_password_hash(text, decoy, &err) != EC_OK)
		decoy[0] = '\0';
	crypto_wipe(secret, sizeof(secret));
	crypto_wipe(text, sizeof(text));
}

static void lower(char *dst, const char *src, size_t cap)
{
	size_t i = 0;
	for (; src[i] && i + 1 < cap; i++)
		dst[i] = src[i] >= 'A' && src[i] <= 'Z' ? (char)(src[i] + 32) : src[i];
	dst[i] = '\0';
}

/* ---- attempts, for the rate limits ---- */

static enum ec_status attempts(struct store *st, const char *who, long long *n, struct ec_error *err)
{
	struct store_result r;
	char since[24];

	num(since, sizeof(since), db_now_ms() - LOGIN_WINDOW_MS);
	const char *p[] = { who, since };
	enum ec_status s = store_exec(st, "SELECT count(*) FROM web_attempts WHERE who = $1 AND at > $2",
				      p, 2, &r, err);
	if (s != EC_OK)
		return s;
	*n = store_cell_ll(&r, 0, 0, 0);
	store_result_free(&r);
	return EC_OK;
}

static enum ec_status attempt(struct store *st, const char *who, struct ec_error *err)
{
	char now[24], old[24];

	num(now, sizeof(now), db_now_ms());
	num(old, sizeof(old), db_now_ms() - LOGIN_WINDOW_MS);
	const char *p[] = { who, now };
	const char *pd[] = { who, old };
	enum ec_status s = store_exec(st, "INSERT INTO web_attempts (who, at) VALUES ($1, $2)", p, 2,
				      NULL, err);
	if (s == EC_OK)
		s = store_exec(st, "DELETE FROM web_attempts WHERE who = $1 AND at < $2", pd, 2, NULL,
			       err);
	return s;
}

/* ---- holders ---- */

#define HOLDER_COLUMNS "id, email, name, staff, created, password"

static void holder_from_row(const struct store_result *r, size_t i, struct holder *h)
{
	memset(h, 0, sizeof(*h));
	h->id = store_cell_ll(r, i, 0, 0);
	snprintf(h->email, sizeof(h->email), "%s", store_cell(r, i, 1) ? store_cell(r, i, 1) : "");
	snprintf(h->name, sizeof(h->name), "%s", store_cell(r, i, 2) ? store_cell(r, i, 2) : "");
	h->staff = store_cell_ll(r, i, 3, 0) != 0;
	h->created = store_cell_ll(r, i, 4, 0);
}

enum ec_status holders_add(struct store *st, const char *email, const char *name,
			   const char *password, long long bank_start, const char *client,
			   struct holder *out, struct ec_error *err)
{
	char mail[HOLDER_EMAIL_MAX + 1], hash[HOLDER_HASH_MAX], now[24], who[80];
	struct store_result r;
	long long n;
	enum ec_status s;

	if (!holder_email_ok(email))
		return ec_error_set(err, EC_ERR_ARG, "that is not an e-mail address.");
	if (!holder_name_ok(name))
		return ec_error_set(err, EC_ERR_ARG, "a name is 1 to %d characters of text.",
				    HOLDER_NAME_MAX);
	if (!holder_password_ok(password))
		return ec_error_set(err, EC_ERR_ARG, "a password has %d to %d characters.",
				    HOLDER_PASSWORD_MIN, HOLDER_PASSWORD_MAX);
	snprintf(who, sizeof(who), "signup:%s", client ? client : "");
	if ((s = attempts(st, who, &n, err)) != EC_OK)
		return s;
	if (n >= SIGNUP_MAX_PER_ADDRESS)
		return ec_error_set(err, EC_ERR_LIMIT, "too many accounts from this address lately: try again later.");
	lower(mail, email, sizeof(mail));
	if ((s = holder_password_hash(password, hash, err)) != EC_OK)
		return s;
	num(now, sizeof(now), db_now_ms());
	const char *p[] = { mail, name, hash, now };
	if ((s = store_begin(st, err)) != EC_OK)
		return s;
	s = store_exec(st, "INSERT INTO holders (email, name, password, staff, created)"
			   " VALUES ($1, $2, $3, 0, $4) RETURNING " HOLDER_COLUMNS,
		       p, 4, &r, err);
	if (s == EC_ERR_EXISTS)
		ec_error_set(err, EC_ERR_EXISTS, "an account with that e-mail address exists already.");
	if (s == EC_OK) {
		holder_from_row(&r, 0, out);
		store_result_free(&r);
		s = attempt(st, who, err);
	}
	if (s == EC_OK && bank_start > 0) {
		char bank[LEDGER_NAME_MAX], ref[LEDGER_REF_MAX];
		holder_bank(out->id, bank);
		snprintf(ref, sizeof(ref), "signup/%lld", out->id);
		struct ledger_line l[2] = { { LEDGER_DEPOSITS, -bank_start }, { bank, bank_start } };
		s = ledger_post(st, ref, l, 2, NULL, err);
	}
	if (s == EC_OK)
		return store_commit(st, err);
	store_rollback(st);
	return s;
}

enum ec_status holders_login(struct store *st, const char *email, const char *password,
			     const char *client, struct holder *out, struct ec_error *err)
{
	char mail[HOLDER_EMAIL_MAX + 1], account[HOLDER_EMAIL_MAX + 16], address[80];
	struct store_result r;
	long long by_account, by_address;
	enum ec_status s;

	if (!email || !password || strlen(email) > HOLDER_EMAIL_MAX ||
	    strlen(password) > HOLDER_PASSWORD_MAX)
		return ec_error_set(err, EC_ERR_CHECK, "wrong e-mail address or password.");
	lower(mail, email, sizeof(mail));
	snprintf(account, sizeof(account), "login:%s", mail);
	snprintf(address, sizeof(address), "from:%s", client ? client : "");
	if ((s = attempts(st, account, &by_account, err)) != EC_OK ||
	    (s = attempts(st, address, &by_address, err)) != EC_OK)
		return s;
	if (by_account >= LOGIN_MAX_PER_ACCOUNT || by_address >= LOGIN_MAX_PER_ADDRESS)
		return ec_error_set(err, EC_ERR_LIMIT,
				    "too many failed log-ins: try again in %lld minutes.",
				    LOGIN_WINDOW_MS / 60000);
	const char *p[] = { mail };
	if ((s = store_exec(st, "SELECT " HOLDER_COLUMNS " FROM holders WHERE email = $1", p, 1, &r,
			    err)) != EC_OK)
		return s;
	bool ok;
	if (r.rows == 1) {
		ok = holder_password_check(store_cell(&r, 0, 5), password);
		if (ok)
			holder_from_row(&r, 0, out);
	} else {
		pthread_once(&decoy_once, decoy_make);
		holder_password_check(decoy, password);
		ok = false;
	}
	store_result_free(&r);
	if (!ok) {
		if ((s = store_begin(st, err)) != EC_OK)
			return s;
		if ((s = attempt(st, account, err)) == EC_OK && (s = attempt(st, address, err)) == EC_OK)
			s = store_commit(st, err);
		else
			store_rollback(st);
		if (s != EC_OK)
			return s;
		return ec_error_set(err, EC_ERR_CHECK, "wrong e-mail address or password.");
	}
	const char *pa[] = { account };
	return store_exec(st, "DELETE FROM web_attempts WHERE who = $1", pa, 1, NULL, err);
}

static enum ec_status holder_where(struct store *st, const char *sql, const char *arg,
				   struct holder *out, struct ec_error *err)
{
	struct store_result r;
	const char *p[] = { arg };
	enum ec_status s = store_exec(st, sql, p, 1, &r, err);

	if (s != EC_OK)
		return s;
	if (r.rows != 1) {
		store_result_free(&r);
		return ec_error_set(err, EC_ERR_NOT_FOUND, "no such holder.");
	}
	holder_from_row(&r, 0, out);
	store_result_free(&r);
	return EC_OK;
}

enum ec_status holders_get(struct store *st, long long id, struct holder *out,
			   struct ec_error *err)
{
	char text[24];
	num(text, sizeof(text), id);
	return holder_where(st, "SELECT " HOLDER_COLUMNS " FROM holders WHERE id = $1", text, out, err);
}

enum ec_status holders_find(struct store *st, const char *email, struct holder *out,
			    struct ec_error *err)
{
	char mail[HOLDER_EMAIL_MAX + 1];
	lower(mail, email, sizeof(mail));
	return holder_where(st, "SELECT " HOLDER_COLUMNS " FROM holders WHERE email = $1", mail, out,
			    err);
}

enum ec_status holders_set_staff(struct store *st, const char *email, bool staff,
				 struct ec_error *err)
{
	struct holder h;
	enum ec_status s = holders_find(st, email, &h, err);

	if (s != EC_OK)
		return s;
	const char *p[] = { h.email, staff ? "1" : "0" };
	return store_exec(st, "UPDATE holders SET staff = $2 WHERE email = $1", p, 2, NULL, err);
}

/* ---- sessions ---- */

static enum ec_status token(char out[WEB_TOKEN_HEX], struct ec_error *err)
{
	uint8_t b[32];
	if (crypto_random(b, sizeof(b)) != 0)
		return ec_error_set(err, EC_ERR_CRYPTO, "the random generator failed.");
	hex_encode(b, sizeof(b), out);
	crypto_wipe(b, sizeof(b));
	return EC_OK;
}

static void cookie_key(const char *cookie, char out[WEB_TOKEN_HEX])
{
	uint8_t h[CRYPTO_SHA256_LEN];
	crypto_sha256(cookie, strlen(cookie), h);
	hex_encode(h, sizeof(h), out);
}

enum ec_status sessions_new(struct store *st, long long holder, char cookie[WEB_TOKEN_HEX],
			    struct web_session *out, struct ec_error *err)
{
	char h[24], now[24], expires[24];
	long long t = db_now_ms();
	enum ec_status s;

	memset(out, 0, sizeof(*out));
	if ((s = token(cookie, err)) != EC_OK || (s = token(out->csrf, err)) != EC_OK)
		return s;
	cookie_key(cookie, out->key);
	out->holder = holder;
	out->expires = t + (holder ? SESSION_TTL_MS : SESSION_ANON_TTL_MS);
	num(h, sizeof(h), holder);
	num(now, sizeof(now), t);
	num(expires, sizeof(expires), out->expires);
	const char *p[] = { out->key, holder ? h : NULL, out->csrf, now, expires };
	s = store_exec(st, "INSERT INTO web_sessions (id, holder, csrf, created, expires)"
			   " VALUES ($1, $2, $3, $4, $5)",
		       p, 5, NULL, err);
	/* Sessions that ended go now and then: at about one new one in 64. */
	if (s == EC_OK && (cookie[0] == '0' && cookie[1] < '4')) {
		const char *pe[] = { now };
		s = store_exec(st, "DELETE FROM web_sessions WHERE expires < $1", pe, 1, NULL, err);
	}
	return s;
}

enum ec_status sessions_get(struct store *st, const char *cookie, struct web_session *out,
			    struct ec_error *err)
{
	struct store_result r;
	enum ec_status s;

	memset(out, 0, sizeof(*out));
	if (!cookie || strlen(cookie) != WEB_TOKEN_HEX - 1)
		return ec_error_set(err, EC_ERR_NOT_FOUND, "no session.");
	cookie_key(cookie, out->key);
	const char *p[] = { out->key };
	if ((s = store_exec(st, "SELECT holder, csrf, expires FROM web_sessions WHERE id = $1", p, 1,
			    &r, err)) != EC_OK)
		return s;
	if (r.rows != 1 || store_cell_ll(&r, 0, 2, 0) < db_now_ms()) {
		store_result_free(&r);
		return ec_error_set(err, EC_ERR_NOT_FOUND, "no session, or it has expired.");
	}
	out->holder = store_cell_ll(&r, 0, 0, 0);
	snprintf(out->csrf, sizeof(out->csrf), "%s", store_cell(&r, 0, 1) ? store_cell(&r, 0, 1) : "");
	out->expires = store_cell_ll(&r, 0, 2, 0);
	store_result_free(&r);
	return EC_OK;
}

enum ec_status sessions_end(struct store *st, const char *cookie, struct ec_error *err)
{
	char key[WEB_TOKEN_HEX];

	if (!cookie || strlen(cookie) != WEB_TOKEN_HEX - 1)
		return EC_OK;
	cookie_key(cookie, key);
	const char *p[] = { key };
	return store_exec(st, "DELETE FROM web_sessions WHERE id = $1", p, 1, NULL, err);
}

bool sessions_csrf_ok(const struct web_session *s, const char *token_text)
{
	size_t n = strlen(s->csrf);
	return token_text && n == WEB_TOKEN_HEX - 1 && strlen(token_text) == n &&
	       crypto_equal(s->csrf, token_text, n);
}

/* ---- card orders ---- */

enum ec_status orders_add(struct store *st, long long holder, long long *id, struct ec_error *err)
{
	struct store_result r;
	char h[24], now[24];

	num(h, sizeof(h), holder);
	num(now, sizeof(now), db_now_ms());
	const char *p[] = { h, ORDER_WAITING, now };
	enum ec_status s = store_exec(st,
				      "INSERT INTO card_orders (holder, state, created, updated)"
				      " VALUES ($1, $2, $3, $3) RETURNING id",
				      p, 3, &r, err);
	if (s != EC_OK)
		return s;
	*id = store_cell_ll(&r, 0, 0, 0);
	store_result_free(&r);
	return EC_OK;
}

enum ec_status orders_list(struct store *st, long long holder, struct card_order **out,
			   size_t *count, struct ec_error *err)
{
	struct store_result r;
	char h[24];
	const char *p[] = { h };
	enum ec_status s;

	*out = NULL;
	*count = 0;
	num(h, sizeof(h), holder);
	s = store_exec(st, holder ? "SELECT id, holder, state, se_id, job, serial, created FROM card_orders"
				    " WHERE holder = $1 ORDER BY id DESC"
				  : "SELECT id, holder, state, se_id, job, serial, created FROM card_orders"
				    " ORDER BY id DESC",
		       p, holder ? 1 : 0, &r, err);
	if (s != EC_OK)
		return s;
	*out = calloc(r.rows ? r.rows : 1, sizeof(**out));
	if (!*out) {
		store_result_free(&r);
		return ec_error_set(err, EC_ERR_FILE, "out of memory listing orders.");
	}
	for (size_t i = 0; i < r.rows; i++) {
		struct card_order *o = &(*out)[i];
		o->id = store_cell_ll(&r, i, 0, 0);
		o->holder = store_cell_ll(&r, i, 1, 0);
		snprintf(o->state, sizeof(o->state), "%s", store_cell(&r, i, 2) ? store_cell(&r, i, 2) : "");
		snprintf(o->se_id, sizeof(o->se_id), "%s", store_cell(&r, i, 3) ? store_cell(&r, i, 3) : "");
		o->job = store_cell_ll(&r, i, 4, 0);
		snprintf(o->serial, sizeof(o->serial), "%s", store_cell(&r, i, 5) ? store_cell(&r, i, 5) : "");
		o->created = store_cell_ll(&r, i, 6, 0);
	}
	*count = r.rows;
	store_result_free(&r);
	return EC_OK;
}
