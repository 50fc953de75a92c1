/*
 * store.c - the store's dispatch on the URL and what both backends share.
 */
#include "store.h"

#include <stdlib.h>
#include <string.h>

enum ec_status store_open(const char *url, struct store **out, struct ec_error *err)
{
	*out = NULL;
	if (!url)
		return ec_error_set(err, EC_ERR_ARG, "no database was given (--db sqlite:PATH or --db postgresql://...).");
	if (strncmp(url, "sqlite:", 7) == 0 && url[7])
		return store_sqlite_ops.open(url + 7, out, err);
	if (strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0)
		return store_postgresql_ops.open(url, out, err);
	return ec_error_set(err, EC_ERR_ARG,
			    "\"%s\" is not a database this server knows: give sqlite:PATH or postgresql://...",
			    url);
}

void store_close(struct store *st)
{
	if (st)
		st->ops->close(st);
}

enum store_kind store_kind(const struct store *st)
{
	return st->ops->kind;
}

enum ec_status store_begin(struct store *st, struct ec_error *err)
{
	return st->ops->exec(st, st->ops->begin_sql, NULL, 0, NULL, err);
}

enum ec_status store_relax(struct store *st, struct ec_error *err)
{
	if (!st->ops->relaxed_sql)
		return EC_OK;
	return store_write(st, st->ops->relaxed_sql, NULL, 0, err);
}

enum ec_status store_commit(struct store *st, struct ec_error *err)
{
	return st->ops->exec(st, "COMMIT", NULL, 0, NULL, err);
}

void store_rollback(struct store *st)
{
	struct ec_error ignored;
	st->ops->exec(st, "ROLLBACK", NULL, 0, NULL, &ignored);
}

const char *store_lock_clause(const struct store *st)
{
	return st->ops->kind == STORE_POSTGRESQL ? " FOR UPDATE" : "";
}

enum ec_status store_exec(struct store *st, const char *sql, const char *const *params,
			  size_t n, struct store_result *res, struct ec_error *err)
{
	if (res)
		memset(res, 0, sizeof(*res));
	return st->ops->exec(st, sql, params, n, res, err);
}

enum ec_status store_exec_batch(struct store *st, const struct store_stmt *stmts, size_t n,
				struct store_result *res, struct ec_error *err)
{
	enum ec_status s = EC_OK;

	if (res)
		memset(res, 0, n * sizeof(*res));
	if (st->ops->batch)
		return st->ops->batch(st, stmts, n, res, err);
	for (size_t i = 0; i < n && s == EC_OK; i++)
		s = st->ops->exec(st, stmts[i].sql, stmts[i].params, stmts[i].n, res ? &res[i] : NULL, err);
	if (s != EC_OK && res)
		for (size_t i = 0; i < n; i++)
			store_result_free(&res[i]);
	return s;
}

enum ec_status store_write(struct store *st, const char *sql, const char *const *params,
			   size_t n, struct ec_error *err)
{
	if (st->ops->write)
		return st->ops->write(st, sql, params, n, err);
	return st->ops->exec(st, sql, params, n, NULL, err);
}

enum ec_status store_script(struct store *st, const char *sql, struct ec_error *err)
{
	return st->ops->script(st, sql, err);
}

void store_result_free(struct store_result *res)
{
	if (!res || !res->cells)
		return;
	for (size_t i = 0; i < res->rows * res->cols; i++)
		free(res->cells[i]);
	free(res->cells);
	memset(res, 0, sizeof(*res));
}
