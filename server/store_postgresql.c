/*
 * store_postgresql.c - the store on PostgreSQL through libpq (store.h):
 * parameters and results as text, one connection per struct store.
 */
#include "store.h"

#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

/* Statements prepared on this connection, by the address of their text
 * (the callers' SQL is all string literals). */
#define PREPARED_MAX 64

struct pg_store {
	struct store base;
	PGconn *conn;
	const char *prepared[PREPARED_MAX];
	size_t nprepared;
};

/* The first line of libpq's message, without its trailing newline. */
static void first_line(const char *msg, char *out, size_t cap)
{
	size_t n = strcspn(msg ? msg : "", "\n");
	if (n >= cap)
		n = cap - 1;
	memcpy(out, msg ? msg : "", n);
	out[n] = '\0';
}

static enum ec_status open_pg(const char *url, struct store **out, struct ec_error *err)
{
	struct pg_store *s = calloc(1, sizeof(*s));
	char line[256];

	if (!s)
		return ec_error_set(err, EC_ERR_FILE, "out of memory opening the database.");
	s->base.ops = &store_postgresql_ops;
	s->conn = PQconnectdb(url);
	if (!s->conn || PQstatus(s->conn) != CONNECTION_OK) {
		first_line(s->conn ? PQerrorMessage(s->conn) : "out of memory", line, sizeof(line));
		ec_error_set(err, EC_ERR_FILE, "PostgreSQL could not be reached: %s.", line);
		PQfinish(s->conn);
		free(s);
		return EC_ERR_FILE;
	}
	/* Notices (e.g. "relation already exists, skipping") stay quiet. */
	PGresult *r = PQexec(s->conn, "SET client_min_messages TO warning");
	PQclear(r);
	*out = &s->base;
	return EC_OK;
}

static void close_pg(struct store *st)
{
	struct pg_store *s = (struct pg_store *)st;
	PQfinish(s->conn);
	free(s);
}

static enum ec_status failed(struct pg_store *s, PGresult *r, struct ec_error *err)
{
	const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
	char line[256];
	/* Class 23: integrity constraint violation. */
	enum ec_status st = state && strncmp(state, "23", 2) == 0 ? EC_ERR_EXISTS : EC_ERR_FILE;

	first_line(r ? PQresultErrorMessage(r) : PQerrorMessage(s->conn), line, sizeof(line));
	if (!line[0])
		first_line(PQerrorMessage(s->conn), line, sizeof(line));
	PQclear(r);
	return ec_error_set(err, st, "the database refused a statement: %s.", line);
}

/* The name of sql's prepared statement, preparing it the first time; NULL
 * when it cannot be (the statement then runs unprepared). */
static bool prepared_name(struct pg_store *s, const char *sql, size_t n, char name[32])
{
	for (size_t i = 0; i < s->nprepared; i++)
		if (s->prepared[i] == sql) {
			snprintf(name, 32, "ecard%zu", i);
			return true;
		}
	if (s->nprepared == PREPARED_MAX)
		return false;
	snprintf(name, 32, "ecard%zu", s->nprepared);
	PGresult *r = PQprepare(s->conn, name, sql, (int)n, NULL);
	bool ok = r && PQresultStatus(r) == PGRES_COMMAND_OK;
	PQclear(r);
	if (ok)
		s->prepared[s->nprepared++] = sql;
	return ok;
}

static enum ec_status exec_pg(struct store *st, const char *sql, const char *const *params,
			      size_t n, struct store_result *res, struct ec_error *err)
{
	struct pg_store *s = (struct pg_store *)st;
	char name[32];
	/* Transaction control and parameterless one-offs go as they are. */
	bool prepare = n > 0 && PQtransactionStatus(s->conn) != PQTRANS_INERROR &&
		       prepared_name(s, sql, n, name);
	PGresult *r = prepare ? PQexecPrepared(s->conn, name, (int)n, params, NULL, NULL, 0)
			      : PQexecParams(s->conn, sql, (int)n, NULL, params, NULL, NULL, 0);
	ExecStatusType t = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;

	if (t != PGRES_COMMAND_OK && t != PGRES_TUPLES_OK)
		return failed(s, r, err);
	if (res && t == PGRES_TUPLES_OK) {
		size_t rows = (size_t)PQntuples(r), cols = (size_t)PQnfields(r);
		res->cells = calloc(rows * cols > 0 ? rows * cols : 1, sizeof(*res->cells));
		if (!res->cells) {
			PQclear(r);
			return ec_error_set(err, EC_ERR_FILE, "out of memory reading a query.");
		}
		res->rows = rows;
		res->cols = cols;
		for (size_t i = 0; i < rows; i++)
			for (size_t c = 0; c < cols; c++) {
				if (PQgetisnull(r, (int)i, (int)c))
					continue;
				char *v = strdup(PQgetvalue(r, (int)i, (int)c));
				if (!v) {
					PQclear(r);
					store_result_free(res);
					return ec_error_set(err, EC_ERR_FILE, "out of memory reading a query.");
				}
				res->cells[i * cols + c] = v;
			}
	}
	PQclear(r);
	return EC_OK;
}

static enum ec_status script_pg(struct store *st, const char *sql, struct ec_error *err)
{
	struct pg_store *s = (struct pg_store *)st;
	PGresult *r = PQexec(s->conn, sql);

	if (!r || PQresultStatus(r) != PGRES_COMMAND_OK)
		return failed(s, r, err);
	PQclear(r);
	return EC_OK;
}

const struct store_ops store_postgresql_ops = {
	.kind = STORE_POSTGRESQL,
	.open = open_pg,
	.close = close_pg,
	.exec = exec_pg,
	.script = script_pg,
	.begin_sql = "BEGIN",
};
