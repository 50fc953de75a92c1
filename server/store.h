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
#include <stdlib.h>

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
/*
 * In a transaction: its loss in a crash of the machine or of the database
 * would be harmless (a SERAM session just opened, whose agent would be told
 * it does not exist and open another; a secure channel just asked for),
 * so PostgreSQL may answer its COMMIT before its log is on the disk. The
 * next durable commit takes it to the disk too.
 */
enum ec_status store_relax(struct store *st, struct ec_error *err);
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

/*
 * Statements run in order in one exchange with the database (PostgreSQL
 * pipelines them), each one's rows in res[i] (res may be NULL). The first
 * failure fails the batch; no result is then kept.
 */
#define STORE_BATCH_MAX 8
struct store_stmt {
	const char *sql;
	const char *const *params;
	size_t n;
};
enum ec_status store_exec_batch(struct store *st, const struct store_stmt *stmts, size_t n,
				struct store_result *res, struct ec_error *err);

/*
 * A statement whose rows are not wanted, in a transaction: the backend may
 * send it together with the next statement or the commit (PostgreSQL
 * pipelines them: one round trip for a transaction's writes and its
 * COMMIT), so its failure may be reported by either. Outside a
 * transaction it is store_exec().
 */
enum ec_status store_write(struct store *st, const char *sql, const char *const *params,
			   size_t n, struct ec_error *err);

static inline const char *store_cell(const struct store_result *res, size_t row, size_t col)
{
	return row < res->rows && col < res->cols ? res->cells[row * res->cols + col] : NULL;
}

/* A cell as a number (dflt for SQL NULL or no such cell). */
static inline long long store_cell_ll(const struct store_result *res, size_t row, size_t col,
				      long long dflt)
{
	const char *c = store_cell(res, row, col);
	return c ? strtoll(c, NULL, 10) : dflt;
}

/* Run a script of statements without parameters (migrations). */
enum ec_status store_script(struct store *st, const char *sql, struct ec_error *err);

/*
 * Create the schema or bring it up to date: migrations[N] takes it from
 * version N to N+1 ("@ID@" in it is the dialect's auto-numbered primary
 * key; "@SQLITE@ ... @END@" and "@POSTGRESQL@ ... @END@" are kept for
 * that dialect only), the version kept in table schema_version; one program's schema
 * per database. A version newer than count is refused (program names the
 * program in the message). Never edit a published migration: add one.
 */
enum ec_status store_migrate(struct store *st, const char *const *migrations, size_t count,
			     const char *program, struct ec_error *err);

/* Backends (store.c dispatches on the URL). */
struct store_ops {
	enum store_kind kind;
	enum ec_status (*open)(const char *target, struct store **out, struct ec_error *err);
	void (*close)(struct store *st);
	enum ec_status (*exec)(struct store *st, const char *sql, const char *const *params,
			       size_t n, struct store_result *res, struct ec_error *err);
	enum ec_status (*script)(struct store *st, const char *sql, struct ec_error *err);
	/* NULL: exec */
	enum ec_status (*write)(struct store *st, const char *sql, const char *const *params,
				size_t n, struct ec_error *err);
	/* NULL: exec, one after the other */
	enum ec_status (*batch)(struct store *st, const struct store_stmt *stmts, size_t n,
				struct store_result *res, struct ec_error *err);
	const char *begin_sql;
	const char *relaxed_sql;	/* in a transaction, makes its commit relaxed; NULL none */
};

struct store {
	const struct store_ops *ops;
};

extern const struct store_ops store_sqlite_ops;
extern const struct store_ops store_postgresql_ops;

#endif
