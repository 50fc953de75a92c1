/*
 * store.h - the small interface ecard-server keeps its state behind: one
 * SQL database, SQLite (a file, the default) or PostgreSQL, reached through
 * the same calls. Everything above (db.c) is one code path: statements with
 * $1..$n parameters, values passed and read as text (NULL for SQL NULL),
 * in transactions that lock what they read for writing.
 *
 *   sqlite:PATH           created on first use, WAL journal
 *   postgresql://...      any libpq connection URI (postgres:// too)
 *
 * A struct store is one connection: use it from one thread at a time.
 */
#ifndef ECARD_SERVER_STORE_H
#define ECARD_SERVER_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

enum store_kind {
	STORE_SQLITE,
	STORE_POSTGRESQL,
};

struct store;

struct store_result {
	size_t rows;
	size_t cols;
	char **cells;		/* rows * cols, row-major; NULL for SQL NULL */
};

/* Open a connection to url (see above). */
enum ec_status store_open(const char *url, struct store **out, struct ec_error *err);
void store_close(struct store *st);
enum store_kind store_kind(const struct store *st);

/*
 * A transaction that will write: SQLite takes the write lock at once
 * (BEGIN IMMEDIATE), PostgreSQL locks the rows the statements select with
 * store_lock_clause(). A busy database is waited for a few seconds.
 */
enum ec_status store_begin(struct store *st, struct ec_error *err);
enum ec_status store_commit(struct store *st, struct ec_error *err);
void store_rollback(struct store *st);

/* " FOR UPDATE" on PostgreSQL, "" on SQLite (whose lock is the whole file). */
const char *store_lock_clause(const struct store *st);

/*
 * Run one statement with n text parameters. res (may be NULL) receives the
 * rows it returns; free it with store_result_free. A failed statement is
 * EC_ERR_FILE with the database's message in err; a broken constraint is
 * EC_ERR_EXISTS.
 */
enum ec_status store_exec(struct store *st, const char *sql, const char *const *params,
			  size_t n, struct store_result *res, struct ec_error *err);
void store_result_free(struct store_result *res);

static inline const char *store_cell(const struct store_result *res, size_t row, size_t col)
{
	return row < res->rows && col < res->cols ? res->cells[row * res->cols + col] : NULL;
}

/* Run a script of statements without parameters (migrations). */
enum ec_status store_script(struct store *st, const char *sql, struct ec_error *err);

/* Backends (store.c dispatches on the URL). */
struct store_ops {
	enum store_kind kind;
	enum ec_status (*open)(const char *target, struct store **out, struct ec_error *err);
	void (*close)(struct store *st);
	enum ec_status (*exec)(struct store *st, const char *sql, const char *const *params,
			       size_t n, struct store_result *res, struct ec_error *err);
	enum ec_status (*script)(struct store *st, const char *sql, struct ec_error *err);
	const char *begin_sql;
};

struct store {
	const struct store_ops *ops;
};

extern const struct store_ops store_sqlite_ops;
extern const struct store_ops store_postgresql_ops;

#endif
