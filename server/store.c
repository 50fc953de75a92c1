/*
 * store.c - the store's dispatch on the URL and what both backends share.
 */
#include "store.h"

#include <stdio.h>
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

/* ---- migrations ---- */

static char *dialect(const struct store *st, const char *sql)
{
	const char *id = store_kind(st) == STORE_POSTGRESQL ? "BIGSERIAL PRIMARY KEY"
							    : "INTEGER PRIMARY KEY AUTOINCREMENT";
	size_t n = strlen(sql) + 64;
	char *out = malloc(n);
	size_t k = 0;

	if (!out)
		return NULL;
	for (const char *p = sql; *p;) {
		if (strncmp(p, "@ID@", 4) == 0) {
			size_t m = strlen(id);
			char *grown = realloc(out, n += m);
			if (!grown) {
				free(out);
				return NULL;
			}
			out = grown;
			memcpy(out + k, id, m);
			k += m;
			p += 4;
		} else if (strncmp(p, "@SQLITE@", 8) == 0 || strncmp(p, "@POSTGRESQL@", 12) == 0) {
			/* A section for one dialect, up to @END@. */
			bool pg = p[1] == 'P';
			p += pg ? 12 : 8;
			if (pg != (store_kind(st) == STORE_POSTGRESQL)) {
				const char *end = strstr(p, "@END@");
				p = end ? end : p + strlen(p);
			}
		} else if (strncmp(p, "@END@", 5) == 0) {
			p += 5;
		} else {
			out[k++] = *p++;
		}
	}
	out[k] = '\0';
	return out;
}

static enum ec_status schema_version(struct store *st, long *version, struct ec_error *err)
{
	struct store_result r;
	enum ec_status s = store_exec(st, "SELECT max(version) FROM schema_version", NULL, 0, &r, err);

	if (s != EC_OK)
		return s;
	const char *v = store_cell(&r, 0, 0);
	*version = v ? strtol(v, NULL, 10) : 0;
	store_result_free(&r);
	return EC_OK;
}

enum ec_status store_migrate(struct store *st, const char *const *migrations, size_t count,
			     const char *program, struct ec_error *err)
{
	enum ec_status s;
	long version;

	s = store_script(st, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)", err);
	if (s != EC_OK)
		return s;
	s = store_begin(st, err);
	if (s != EC_OK)
		return s;
	/* On PostgreSQL two instances starting together queue here. */
	if (store_kind(st) == STORE_POSTGRESQL &&
	    (s = store_exec(st, "LOCK TABLE schema_version IN EXCLUSIVE MODE", NULL, 0, NULL, err)) != EC_OK)
		goto fail;
	if ((s = schema_version(st, &version, err)) != EC_OK)
		goto fail;
	if (version > (long)count) {
		s = ec_error_set(err, EC_ERR_FORMAT,
				 "the database has schema version %ld, newer than this %s's %zu: it is another program's database, or it needs a newer %s.",
				 version, program, count, program);
		goto fail;
	}
	for (size_t v = (size_t)version; v < count; v++) {
		char *sql = dialect(st, migrations[v]), num[24];
		if (!sql) {
			s = ec_error_set(err, EC_ERR_FILE, "out of memory migrating the database.");
			goto fail;
		}
		s = store_script(st, sql, err);
		free(sql);
		if (s != EC_OK)
			goto fail;
		snprintf(num, sizeof(num), "%zu", v + 1);
		const char *p[] = { num };
		if ((s = store_exec(st, "INSERT INTO schema_version (version) VALUES ($1)", p, 1, NULL, err)) != EC_OK)
			goto fail;
	}
	return store_commit(st, err);
fail:
	store_rollback(st);
	return s;
}
