/*
 * db.c - ecard-server's schema and records (db.h), in SQL both SQLite and
 * PostgreSQL run: text, BIGINT and INTEGER columns, $N parameters,
 * RETURNING. File contents are kept as hex text, which both store alike.
 */
#include "db.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto.h"
#include "hex.h"
#include "holders.h"

long long db_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- schema ---- */

/*
 * Migration N takes the schema from version N-1 to N. "@ID@" is the
 * dialect's auto-numbered primary key. Never edit a published migration:
 * add the next one.
 */
static const char *const migrations[] = {
	/* 1: files, jobs, sessions */
	"CREATE TABLE files ("
	" sha256 TEXT PRIMARY KEY,"
	" name TEXT NOT NULL,"
	" size BIGINT NOT NULL,"
	" data TEXT NOT NULL,"
	" created BIGINT NOT NULL);"
	"CREATE TABLE jobs ("
	" id @ID@,"
	" card TEXT NOT NULL,"
	" kind TEXT NOT NULL,"
	" state TEXT NOT NULL,"
	" params TEXT NOT NULL,"
	" file TEXT REFERENCES files(sha256),"
	" next_cmd BIGINT NOT NULL DEFAULT 0,"
	" sent_end BIGINT NOT NULL DEFAULT 0,"
	" sessions BIGINT NOT NULL DEFAULT 0,"
	" exchanges BIGINT NOT NULL DEFAULT 0,"
	" blocks_sent BIGINT NOT NULL DEFAULT 0,"
	" failures BIGINT NOT NULL DEFAULT 0,"
	" message TEXT NOT NULL DEFAULT '',"
	" created BIGINT NOT NULL,"
	" updated BIGINT NOT NULL);"
	"CREATE INDEX jobs_by_card ON jobs (card, state, id);"
	"CREATE TABLE sessions ("
	" id TEXT PRIMARY KEY,"
	" card TEXT NOT NULL,"
	" se_type TEXT NOT NULL,"
	" state TEXT NOT NULL,"
	" job BIGINT,"
	" step TEXT NOT NULL,"
	" orders BIGINT NOT NULL DEFAULT 0,"
	" created BIGINT NOT NULL,"
	" updated BIGINT NOT NULL);",
	/* 2: the key of a session's last report and the order that answered
	 * it, so that a report sent twice (a client's retry) gets the same
	 * order */
	"ALTER TABLE sessions ADD COLUMN last_report TEXT;"
	"ALTER TABLE sessions ADD COLUMN last_order TEXT;",
	/* 3: what a job keeps between sessions beyond its counters (a
	 * top-up's authorised load) */
	"ALTER TABLE jobs ADD COLUMN progress TEXT;",
	/* 4: the issuer's books (ledger.h) */
	"CREATE TABLE accounts ("
	" name TEXT PRIMARY KEY,"
	" balance BIGINT NOT NULL DEFAULT 0,"
	" created BIGINT NOT NULL);"
	"CREATE TABLE ledger_refs ("
	" ref TEXT PRIMARY KEY,"
	" created BIGINT NOT NULL);"
	"CREATE TABLE postings ("
	" id @ID@,"
	" ref TEXT NOT NULL REFERENCES ledger_refs(ref),"
	" account TEXT NOT NULL REFERENCES accounts(name),"
	" amount BIGINT NOT NULL);"
	"CREATE INDEX postings_by_ref ON postings (ref);"
	"CREATE INDEX postings_by_account ON postings (account);",
	/* 5: the issuer centre's cards, merchants, settled debits and fraud
	 * report (cards.h, settle.h) */
	"CREATE TABLE cards ("
	" serial TEXT PRIMARY KEY,"
	" se_id TEXT,"
	" holder BIGINT,"
	" state TEXT NOT NULL,"
	" certificate TEXT,"
	" balance BIGINT,"
	" counter BIGINT,"
	" reported BIGINT,"
	" created BIGINT NOT NULL,"
	" updated BIGINT NOT NULL);"
	"CREATE INDEX cards_by_se ON cards (se_id);"
	"CREATE INDEX cards_by_holder ON cards (holder);"
	"CREATE TABLE card_loads ("
	" serial TEXT NOT NULL,"
	" counter BIGINT NOT NULL,"
	" amount BIGINT NOT NULL,"
	" job BIGINT,"
	" created BIGINT NOT NULL,"
	" PRIMARY KEY (serial, counter));"
	"CREATE TABLE merchants ("
	" id TEXT PRIMARY KEY,"
	" name TEXT NOT NULL,"
	" certificate TEXT NOT NULL,"
	" token TEXT NOT NULL UNIQUE,"
	" created BIGINT NOT NULL);"
	"CREATE TABLE debits ("
	" serial TEXT NOT NULL,"
	" counter BIGINT NOT NULL,"
	" merchant TEXT NOT NULL,"
	" amount BIGINT NOT NULL,"
	" balance BIGINT NOT NULL,"
	" record TEXT NOT NULL,"
	" signature TEXT NOT NULL,"
	" state TEXT NOT NULL,"
	" batch TEXT NOT NULL,"
	" created BIGINT NOT NULL,"
	" PRIMARY KEY (serial, counter));"
	"CREATE INDEX debits_by_merchant ON debits (merchant);"
	"CREATE TABLE fraud ("
	" id @ID@,"
	" key TEXT NOT NULL UNIQUE,"
	" kind TEXT NOT NULL,"
	" serial TEXT,"
	" counter BIGINT,"
	" merchant TEXT,"
	" amount BIGINT,"
	" detail TEXT NOT NULL,"
	" record TEXT,"
	" signature TEXT,"
	" certificate TEXT,"
	" created BIGINT NOT NULL);"
	"CREATE INDEX fraud_by_serial ON fraud (serial);",
	/* 6: the issuer centre's holders, their web sessions, attempts to log
	 * in or sign up (for the rate limits) and card orders (holders.h) */
	HOLDERS_TABLES_V1
	"CREATE TABLE card_orders ("
	" id @ID@,"
	" holder BIGINT NOT NULL,"
	" state TEXT NOT NULL,"
	" se_id TEXT,"
	" job BIGINT,"
	" serial TEXT,"
	" created BIGINT NOT NULL,"
	" updated BIGINT NOT NULL);"
	"CREATE INDEX card_orders_by_holder ON card_orders (holder);",
};

#define MIGRATIONS (sizeof(migrations) / sizeof(migrations[0]))
_Static_assert(MIGRATIONS == DB_SCHEMA_VERSION, "a migration for each schema version");

enum ec_status db_migrate(struct store *st, struct ec_error *err)
{
	return store_migrate(st, migrations, MIGRATIONS, "ecard-server", err);
}

/* ---- files ---- */

enum ec_status db_file_put(struct store *st, const char *name, const uint8_t *data, size_t len,
			   char sha256_hex[65], struct ec_error *err)
{
	uint8_t digest[CRYPTO_SHA256_LEN];
	char size[24], now[24];
	char *hex = malloc(2 * len + 1);

	if (!hex)
		return ec_error_set(err, EC_ERR_FILE, "out of memory storing %s.", name);
	if (crypto_sha256(data, len, digest) != 0) {
		free(hex);
		return ec_error_set(err, EC_ERR_CRYPTO, "SHA-256 failed.");
	}
	hex_encode(digest, sizeof(digest), sha256_hex);
	hex_encode(data, len, hex);
	snprintf(size, sizeof(size), "%zu", len);
	snprintf(now, sizeof(now), "%lld", db_now_ms());
	const char *p[] = { sha256_hex, name, size, hex, now };
	enum ec_status s = store_exec(st,
				      "INSERT INTO files (sha256, name, size, data, created) VALUES ($1, $2, $3, $4, $5)"
				      " ON CONFLICT (sha256) DO NOTHING",
				      p, 5, NULL, err);
	free(hex);
	return s;
}

enum ec_status db_file_get(struct store *st, const char *sha256_hex, uint8_t **data, size_t *len,
			   struct ec_error *err)
{
	struct store_result r;
	const char *p[] = { sha256_hex };
	enum ec_status s = store_exec(st, "SELECT data FROM files WHERE sha256 = $1", p, 1, &r, err);

	*data = NULL;
	*len = 0;
	if (s != EC_OK)
		return s;
	const char *hex = store_cell(&r, 0, 0);
	if (!hex) {
		store_result_free(&r);
		return ec_error_set(err, EC_ERR_NOT_FOUND, "the database has no file %s.", sha256_hex);
	}
	size_t n = strlen(hex) / 2;
	*data = malloc(n ? n : 1);
	if (!*data || hex_decode(hex, *data, n) != (long)n) {
		free(*data);
		*data = NULL;
		store_result_free(&r);
		return ec_error_set(err, EC_ERR_FORMAT, "the database's copy of file %s is damaged.",
				    sha256_hex);
	}
	*len = n;
	store_result_free(&r);
	return EC_OK;
}

/* ---- jobs ---- */

#define JOB_COLUMNS "id, card, kind, state, params, file, next_cmd, sent_end, sessions," \
	" exchanges, blocks_sent, failures, message, created, updated, progress"

static void copy(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src ? src : "");
}

static long num(const char *s)
{
	return s ? strtol(s, NULL, 10) : 0;
}

static enum ec_status job_from_row(const struct store_result *r, size_t row, struct db_job *j,
				   struct ec_error *err)
{
	memset(j, 0, sizeof(*j));
	j->id = store_cell_ll(r, row, 0, 0);
	copy(j->card, sizeof(j->card), store_cell(r, row, 1));
	copy(j->kind, sizeof(j->kind), store_cell(r, row, 2));
	copy(j->state, sizeof(j->state), store_cell(r, row, 3));
	j->params = strdup(store_cell(r, row, 4) ? store_cell(r, row, 4) : "{}");
	copy(j->file, sizeof(j->file), store_cell(r, row, 5));
	j->next_cmd = num(store_cell(r, row, 6));
	j->sent_end = num(store_cell(r, row, 7));
	j->sessions = num(store_cell(r, row, 8));
	j->exchanges = num(store_cell(r, row, 9));
	j->blocks_sent = num(store_cell(r, row, 10));
	j->failures = num(store_cell(r, row, 11));
	copy(j->message, sizeof(j->message), store_cell(r, row, 12));
	j->created = store_cell_ll(r, row, 13, 0);
	j->updated = store_cell_ll(r, row, 14, 0);
	const char *progress = store_cell(r, row, 15);
	j->progress = progress ? strdup(progress) : NULL;
	if (!j->params || (progress && !j->progress)) {
		db_job_free(j);
		return ec_error_set(err, EC_ERR_FILE, "out of memory reading a job.");
	}
	return EC_OK;
}

enum ec_status db_job_add(struct store *st, struct db_job *job, struct ec_error *err)
{
	struct store_result r;
	char now[24];

	job->created = job->updated = db_now_ms();
	snprintf(now, sizeof(now), "%lld", job->created);
	copy(job->state, sizeof(job->state), DB_JOB_QUEUED);
	const char *p[] = { job->card, job->kind, job->state, job->params ? job->params : "{}",
			    job->file[0] ? job->file : NULL, now };
	enum ec_status s = store_exec(st,
				      "INSERT INTO jobs (card, kind, state, params, file, created, updated)"
				      " VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
				      p, 6, &r, err);
	if (s != EC_OK)
		return s;
	job->id = store_cell_ll(&r, 0, 0, 0);
	store_result_free(&r);
	return EC_OK;
}

static enum ec_status one_job(struct store *st, const char *sql, const char *const *p, size_t n,
			      struct db_job *out, struct ec_error *err, const char *missing)
{
	struct store_result r;
	enum ec_status s = store_exec(st, sql, p, n, &r, err);

	memset(out, 0, sizeof(*out));
	if (s != EC_OK)
		return s;
	if (r.rows == 0) {
		store_result_free(&r);
		return ec_error_set(err, EC_ERR_NOT_FOUND, "%s", missing);
	}
	s = job_from_row(&r, 0, out, err);
	store_result_free(&r);
	return s;
}

enum ec_status db_job_get(struct store *st, long long id, bool lock, struct db_job *out,
			  struct ec_error *err)
{
	char num_id[24], missing[64];

	snprintf(num_id, sizeof(num_id), "%lld", id);
	snprintf(missing, sizeof(missing), "there is no job %lld.", id);
	const char *p[] = { num_id };
	if (lock && store_kind(st) == STORE_POSTGRESQL)
		return one_job(st, "SELECT " JOB_COLUMNS " FROM jobs WHERE id = $1 FOR UPDATE", p, 1,
			       out, err, missing);
	return one_job(st, "SELECT " JOB_COLUMNS " FROM jobs WHERE id = $1", p, 1, out, err, missing);
}

enum ec_status db_job_next(struct store *st, const char *card, bool lock, struct db_job *out,
			   struct ec_error *err)
{
	const char *p[] = { card };
	if (lock && store_kind(st) == STORE_POSTGRESQL)
		return one_job(st,
			       "SELECT " JOB_COLUMNS " FROM jobs WHERE card = $1 AND state IN ('queued', 'running')"
			       " ORDER BY id LIMIT 1 FOR UPDATE",
			       p, 1, out, err, "the card has no job waiting.");
	return one_job(st,
		       "SELECT " JOB_COLUMNS " FROM jobs WHERE card = $1 AND state IN ('queued', 'running')"
		       " ORDER BY id LIMIT 1",
		       p, 1, out, err, "the card has no job waiting.");
}

enum ec_status db_job_save(struct store *st, const struct db_job *j, struct ec_error *err)
{
	char f[9][24];

	snprintf(f[0], sizeof(f[0]), "%lld", j->id);
	snprintf(f[1], sizeof(f[1]), "%ld", j->next_cmd);
	snprintf(f[2], sizeof(f[2]), "%ld", j->sent_end);
	snprintf(f[3], sizeof(f[3]), "%ld", j->sessions);
	snprintf(f[4], sizeof(f[4]), "%ld", j->exchanges);
	snprintf(f[5], sizeof(f[5]), "%ld", j->blocks_sent);
	snprintf(f[6], sizeof(f[6]), "%ld", j->failures);
	snprintf(f[7], sizeof(f[7]), "%lld", db_now_ms());
	const char *p[] = { f[0], j->state, f[1], f[2], f[3], f[4], f[5], f[6], j->message, f[7],
			    j->progress };
	return store_write(st,
			   "UPDATE jobs SET state = $2, next_cmd = $3, sent_end = $4, sessions = $5,"
			   " exchanges = $6, blocks_sent = $7, failures = $8, message = $9, updated = $10,"
			   " progress = $11 WHERE id = $1",
			   p, 11, err);
}

enum ec_status db_job_list(struct store *st, const char *card, struct db_job **out, size_t *count,
			   struct ec_error *err)
{
	struct store_result r;
	const char *p[] = { card };
	enum ec_status s = card ? store_exec(st, "SELECT " JOB_COLUMNS " FROM jobs WHERE card = $1 ORDER BY id",
					     p, 1, &r, err)
				: store_exec(st, "SELECT " JOB_COLUMNS " FROM jobs ORDER BY id", NULL, 0, &r, err);

	*out = NULL;
	*count = 0;
	if (s != EC_OK)
		return s;
	*out = calloc(r.rows ? r.rows : 1, sizeof(**out));
	if (!*out) {
		store_result_free(&r);
		return ec_error_set(err, EC_ERR_FILE, "out of memory listing jobs.");
	}
	for (size_t i = 0; i < r.rows && s == EC_OK; i++) {
		s = job_from_row(&r, i, &(*out)[i], err);
		*count = i + 1;
	}
	store_result_free(&r);
	return s;
}

void db_job_free(struct db_job *job)
{
	free(job->params);
	free(job->progress);
	job->params = job->progress = NULL;
}

void db_job_list_free(struct db_job *jobs, size_t count)
{
	for (size_t i = 0; i < count; i++)
		db_job_free(&jobs[i]);
	free(jobs);
}

bool db_job_pending(const struct db_job *job)
{
	return strcmp(job->state, DB_JOB_QUEUED) == 0 || strcmp(job->state, DB_JOB_RUNNING) == 0;
}

/* ---- sessions ---- */

#define SESSION_COLUMNS "id, card, se_type, state, job, step, orders, created, updated," \
	" last_report, last_order"

static enum ec_status session_from_result(struct store_result *r, const char *id,
					  struct db_session *out, struct ec_error *err)
{
	memset(out, 0, sizeof(*out));
	if (r->rows == 0) {
		store_result_free(r);
		return ec_error_set(err, EC_ERR_NOT_FOUND, "there is no session %s.", id);
	}
	copy(out->id, sizeof(out->id), store_cell(r, 0, 0));
	copy(out->card, sizeof(out->card), store_cell(r, 0, 1));
	copy(out->se_type, sizeof(out->se_type), store_cell(r, 0, 2));
	copy(out->state, sizeof(out->state), store_cell(r, 0, 3));
	out->job = store_cell_ll(r, 0, 4, 0);
	out->step = strdup(store_cell(r, 0, 5) ? store_cell(r, 0, 5) : "{}");
	out->orders = num(store_cell(r, 0, 6));
	out->created = store_cell_ll(r, 0, 7, 0);
	out->updated = store_cell_ll(r, 0, 8, 0);
	copy(out->last_report, sizeof(out->last_report), store_cell(r, 0, 9));
	out->last_order = store_cell(r, 0, 10) ? strdup(store_cell(r, 0, 10)) : NULL;
	store_result_free(r);
	return out->step ? EC_OK : ec_error_set(err, EC_ERR_FILE, "out of memory reading a session.");
}

enum ec_status db_session_get(struct store *st, const char *id, bool lock,
			      struct db_session *out, struct ec_error *err)
{
	struct store_result r;
	const char *p[] = { id };
	enum ec_status s = store_exec(st,
				      lock && store_kind(st) == STORE_POSTGRESQL
					      ? "SELECT " SESSION_COLUMNS " FROM sessions WHERE id = $1 FOR UPDATE"
					      : "SELECT " SESSION_COLUMNS " FROM sessions WHERE id = $1",
				      p, 1, &r, err);

	memset(out, 0, sizeof(*out));
	if (s != EC_OK)
		return s;
	return session_from_result(&r, id, out, err);
}

enum ec_status db_session_get_locked(struct store *st, const char *id, struct db_session *out,
				     struct db_job *job, bool *have_job, struct ec_error *err)
{
	struct store_result r[2];
	const char *p[] = { id };
	bool pg = store_kind(st) == STORE_POSTGRESQL;
	/* Both in one exchange: the session first, then its job, each
	 * locked in that order. */
	struct store_stmt q[2] = {
		{ pg ? "SELECT " SESSION_COLUMNS " FROM sessions WHERE id = $1 FOR UPDATE"
		     : "SELECT " SESSION_COLUMNS " FROM sessions WHERE id = $1", p, 1 },
		{ pg ? "SELECT " JOB_COLUMNS " FROM jobs WHERE id = (SELECT job FROM sessions WHERE id = $1)"
		       " FOR UPDATE"
		     : "SELECT " JOB_COLUMNS " FROM jobs WHERE id = (SELECT job FROM sessions WHERE id = $1)",
		  p, 1 },
	};
	enum ec_status s = store_exec_batch(st, q, 2, r, err);

	memset(out, 0, sizeof(*out));
	memset(job, 0, sizeof(*job));
	*have_job = false;
	if (s != EC_OK)
		return s;
	if (r[1].rows > 0) {
		s = job_from_row(&r[1], 0, job, err);
		*have_job = s == EC_OK;
	}
	store_result_free(&r[1]);
	if (s != EC_OK) {
		store_result_free(&r[0]);
		return s;
	}
	s = session_from_result(&r[0], id, out, err);
	if (s != EC_OK && *have_job) {
		db_job_free(job);
		*have_job = false;
	}
	return s;
}

static void session_fields(const struct db_session *s, char f[4][24])
{
	snprintf(f[0], 24, "%lld", s->job);
	snprintf(f[1], 24, "%ld", s->orders);
	snprintf(f[2], 24, "%lld", s->created);
	snprintf(f[3], 24, "%lld", db_now_ms());
}

enum ec_status db_session_insert(struct store *st, const struct db_session *s,
				 struct ec_error *err)
{
	char f[4][24];

	session_fields(s, f);
	const char *p[] = { s->id, s->card, s->se_type, s->state, s->job ? f[0] : NULL,
			    s->step ? s->step : "{}", f[1], f[2], f[3] };
	return store_write(st,
			   "INSERT INTO sessions (id, card, se_type, state, job, step, orders, created, updated)"
			   " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
			   p, 9, err);
}

enum ec_status db_session_save(struct store *st, const struct db_session *s,
			       struct ec_error *err)
{
	char f[4][24];

	session_fields(s, f);
	const char *p[] = { s->id, s->state, s->job ? f[0] : NULL, s->step ? s->step : "{}", f[1],
			    f[3], s->last_report[0] ? s->last_report : NULL, s->last_order };
	return store_write(st,
			   "UPDATE sessions SET state = $2, job = $3, step = $4, orders = $5, updated = $6,"
			   " last_report = $7, last_order = $8 WHERE id = $1",
			   p, 8, err);
}

void db_session_free(struct db_session *s)
{
	free(s->step);
	free(s->last_order);
	s->step = NULL;
	s->last_order = NULL;
}
