/*
 * store_sqlite.c - the store on an SQLite file (store.h): WAL journal,
 * "$N" parameters rewritten to SQLite's "?N", prepared statements kept per
 * connection, a busy file waited for.
 */
#include "store.h"

#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#define CACHE_SLOTS 48
#define BUSY_WAIT_MS 10000

struct cached {
	const char *sql;	/* the caller's text, by address */
	sqlite3_stmt *stmt;
};

struct sqlite_store {
	struct store base;
	sqlite3 *db;
	struct cached cache[CACHE_SLOTS];
	size_t next_slot;
};

static enum ec_status fail(struct sqlite_store *s, struct ec_error *err, const char *what)
{
	int code = sqlite3_extended_errcode(s->db);
	enum ec_status st = (code & 0xFF) == SQLITE_CONSTRAINT ? EC_ERR_EXISTS : EC_ERR_FILE;
	return ec_error_set(err, st, "the database refused %s: %s.", what, sqlite3_errmsg(s->db));
}

static enum ec_status open_sqlite(const char *path, struct store **out, struct ec_error *err)
{
	struct sqlite_store *s = calloc(1, sizeof(*s));

	if (!s)
		return ec_error_set(err, EC_ERR_FILE, "out of memory opening the database.");
	s->base.ops = &store_sqlite_ops;
	if (sqlite3_open_v2(path, &s->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		ec_error_set(err, EC_ERR_FILE, "the database %s could not be opened: %s.", path,
			     s->db ? sqlite3_errmsg(s->db) : "out of memory");
		sqlite3_close(s->db);
		free(s);
		return EC_ERR_FILE;
	}
	sqlite3_busy_timeout(s->db, BUSY_WAIT_MS);
	char *msg = NULL;
	if (sqlite3_exec(s->db,
			 "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
			 " PRAGMA cache_size=-65536;",
			 NULL, NULL, &msg) != SQLITE_OK) {
		ec_error_set(err, EC_ERR_FILE, "the database %s could not be set up: %s.", path,
			     msg ? msg : "unknown error");
		sqlite3_free(msg);
		sqlite3_close(s->db);
		free(s);
		return EC_ERR_FILE;
	}
	*out = &s->base;
	return EC_OK;
}

static void close_sqlite(struct store *st)
{
	struct sqlite_store *s = (struct sqlite_store *)st;
	for (size_t i = 0; i < CACHE_SLOTS; i++)
		sqlite3_finalize(s->cache[i].stmt);
	sqlite3_close(s->db);
	free(s);
}

/* "$12" -> "?12": the rest of the text is left as it is. */
static char *rewrite(const char *sql)
{
	char *out = strdup(sql);
	for (char *p = out; p && *p; p++)
		if (*p == '$' && p[1] >= '1' && p[1] <= '9')
			*p = '?';
	return out;
}

static sqlite3_stmt *prepare(struct sqlite_store *s, const char *sql, bool *cached)
{
	for (size_t i = 0; i < CACHE_SLOTS; i++)
		if (s->cache[i].sql == sql && s->cache[i].stmt) {
			*cached = true;
			return s->cache[i].stmt;
		}
	char *text = rewrite(sql);
	sqlite3_stmt *stmt = NULL;
	if (!text || sqlite3_prepare_v2(s->db, text, -1, &stmt, NULL) != SQLITE_OK) {
		free(text);
		return NULL;
	}
	free(text);
	struct cached *slot = &s->cache[s->next_slot];
	s->next_slot = (s->next_slot + 1) % CACHE_SLOTS;
	sqlite3_finalize(slot->stmt);
	slot->sql = sql;
	slot->stmt = stmt;
	*cached = true;
	return stmt;
}

static enum ec_status add_row(struct sqlite_store *s, sqlite3_stmt *stmt, struct store_result *res,
			      struct ec_error *err)
{
	size_t cols = (size_t)sqlite3_column_count(stmt);
	char **cells = realloc(res->cells, (res->rows + 1) * cols * sizeof(*cells));

	if (!cells)
		return fail(s, err, "a query (out of memory)");
	res->cells = cells;
	res->cols = cols;
	for (size_t c = 0; c < cols; c++) {
		const unsigned char *v = sqlite3_column_text(stmt, (int)c);
		char *copy = v ? strdup((const char *)v) : NULL;
		cells[res->rows * cols + c] = copy;
		if (v && !copy) {
			for (size_t k = 0; k < c; k++)
				free(cells[res->rows * cols + k]);
			return fail(s, err, "a query (out of memory)");
		}
	}
	res->rows++;
	return EC_OK;
}

static enum ec_status exec_sqlite(struct store *st, const char *sql, const char *const *params,
				  size_t n, struct store_result *res, struct ec_error *err)
{
	struct sqlite_store *s = (struct sqlite_store *)st;
	bool cached = false;
	sqlite3_stmt *stmt = prepare(s, sql, &cached);
	enum ec_status status = EC_OK;
	int rc;

	if (!stmt)
		return fail(s, err, "a statement");
	for (size_t i = 0; i < n; i++) {
		rc = params[i] ? sqlite3_bind_text(stmt, (int)i + 1, params[i], -1, SQLITE_TRANSIENT)
			       : sqlite3_bind_null(stmt, (int)i + 1);
		if (rc != SQLITE_OK) {
			status = fail(s, err, "a parameter");
			goto out;
		}
	}
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (res && (status = add_row(s, stmt, res, err)) != EC_OK)
			goto out;
	}
	if (rc != SQLITE_DONE)
		status = fail(s, err, "a statement");
out:
	if (status != EC_OK && res)
		store_result_free(res);
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
	return status;
}

static enum ec_status script_sqlite(struct store *st, const char *sql, struct ec_error *err)
{
	struct sqlite_store *s = (struct sqlite_store *)st;
	char *msg = NULL;

	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		ec_error_set(err, EC_ERR_FILE, "the database refused a migration: %s.",
			     msg ? msg : "unknown error");
		sqlite3_free(msg);
		return EC_ERR_FILE;
	}
	return EC_OK;
}

const struct store_ops store_sqlite_ops = {
	.kind = STORE_SQLITE,
	.open = open_sqlite,
	.close = close_sqlite,
	.exec = exec_sqlite,
	.script = script_sqlite,
	.begin_sql = "BEGIN IMMEDIATE",
};
