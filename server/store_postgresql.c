/*
 * store_postgresql.c - the store on PostgreSQL through libpq (store.h):
 * parameters and results as text, one connection per struct store.
 *
 * A transaction costs round trips, and each one two context switches on
 * both sides: BEGIN waits to go out with the transaction's first
 * statement, and store_write()s wait for the next statement or the
 * COMMIT, all sent in libpq's pipeline mode and answered together. A
 * report of ecard-server (BEGIN + read the session, read the job, two
 * writes + COMMIT) takes three round trips instead of six.
 */
#include "store.h"

#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

/* Statements prepared on this connection, by the address of their text
 * (the callers' SQL is all string literals). */
#define PREPARED_MAX 256

struct pg_store {
	struct store base;
	PGconn *conn;
	const char *prepared[PREPARED_MAX];
	size_t nprepared;
	/* Statements first met in a pipeline, where PQprepare cannot run:
	 * prepared at the next transaction's start. */
	const char *wanted[PREPARED_MAX];
	size_t wanted_n[PREPARED_MAX];
	size_t nwanted;
	bool begin_pending;	/* BEGIN goes out with the next statement */
	size_t queued;		/* statements sent in pipeline mode, their results unread */
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

/* The name of sql's prepared statement, if it is one. */
static bool prepared_lookup(const struct pg_store *s, const char *sql, char name[32])
{
	for (size_t i = 0; i < s->nprepared; i++)
		if (s->prepared[i] == sql) {
			snprintf(name, 32, "ecard%zu", i);
			return true;
		}
	return false;
}

/* The name of sql's prepared statement, preparing it the first time; false
 * when it cannot be (the statement then runs unprepared). */
static bool prepared_name(struct pg_store *s, const char *sql, size_t n, char name[32])
{
	if (prepared_lookup(s, sql, name))
		return true;
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

/* Remember a statement met in a pipeline, to prepare it later. */
static void want_prepared(struct pg_store *s, const char *sql, size_t n)
{
	for (size_t i = 0; i < s->nwanted; i++)
		if (s->wanted[i] == sql)
			return;
	if (s->nwanted + s->nprepared < PREPARED_MAX) {
		s->wanted[s->nwanted] = sql;
		s->wanted_n[s->nwanted++] = n;
	}
}

/* Prepare what pipelines met (outside a pipeline and a transaction). */
static void prepare_wanted(struct pg_store *s)
{
	char name[32];
	for (size_t i = 0; i < s->nwanted; i++)
		prepared_name(s, s->wanted[i], s->wanted_n[i], name);
	s->nwanted = 0;
}

/* Rows of r (PGRES_TUPLES_OK) into res. */
static enum ec_status copy_rows(PGresult *r, struct store_result *res, struct ec_error *err)
{
	size_t rows = (size_t)PQntuples(r), cols = (size_t)PQnfields(r);

	res->cells = calloc(rows * cols > 0 ? rows * cols : 1, sizeof(*res->cells));
	if (!res->cells)
		return ec_error_set(err, EC_ERR_FILE, "out of memory reading a query.");
	res->rows = rows;
	res->cols = cols;
	for (size_t i = 0; i < rows; i++)
		for (size_t c = 0; c < cols; c++) {
			if (PQgetisnull(r, (int)i, (int)c))
				continue;
			char *v = strdup(PQgetvalue(r, (int)i, (int)c));
			if (!v) {
				store_result_free(res);
				return ec_error_set(err, EC_ERR_FILE, "out of memory reading a query.");
			}
			res->cells[i * cols + c] = v;
		}
	return EC_OK;
}

static bool is_ok(PGresult *r)
{
	ExecStatusType t = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
	return t == PGRES_COMMAND_OK || t == PGRES_TUPLES_OK;
}

/* Send one statement (prepared when it can be) without waiting. */
static bool send_statement(struct pg_store *s, const char *sql, const char *const *params, size_t n)
{
	char name[32];
	/* PQprepare waits for its answer: not in pipeline mode. */
	bool prepare = n > 0 && (PQpipelineStatus(s->conn) == PQ_PIPELINE_OFF &&
				 PQtransactionStatus(s->conn) != PQTRANS_INERROR
				 ? prepared_name(s, sql, n, name) : prepared_lookup(s, sql, name));
	if (n > 0 && !prepare)
		want_prepared(s, sql, n);
	if (PQpipelineStatus(s->conn) == PQ_PIPELINE_OFF && !PQenterPipelineMode(s->conn))
		return false;
	if (s->begin_pending) {
		if (!PQsendQueryParams(s->conn, "BEGIN", 0, NULL, NULL, NULL, NULL, 0))
			return false;
		s->begin_pending = false;
		s->queued++;
	}
	int ok = prepare ? PQsendQueryPrepared(s->conn, name, (int)n, params, NULL, NULL, 0)
			 : PQsendQueryParams(s->conn, sql, (int)n, NULL, params, NULL, NULL, 0);
	if (ok)
		s->queued++;
	return ok;
}

/*
 * Answer everything sent: a sync, then each statement's result in order.
 * The first failure goes to err; the results of the last nlast statements
 * to last[] (the caller clears them). Leaves pipeline mode.
 */
static enum ec_status drain(struct pg_store *s, PGresult **last, size_t nlast,
			    struct ec_error *err)
{
	enum ec_status st = EC_OK;
	size_t first_kept = s->queued - nlast;
	PGresult *r;

	for (size_t i = 0; i < nlast; i++)
		last[i] = NULL;
	if (!PQpipelineSync(s->conn))
		st = failed(s, NULL, err);
	for (size_t i = 0; i < s->queued; i++) {
		r = PQgetResult(s->conn);
		if (st == EC_OK && !is_ok(r)) {
			st = failed(s, r, err);	/* clears r */
			r = NULL;
		}
		if (i >= first_kept)
			last[i - first_kept] = r;
		else
			PQclear(r);
		while ((r = PQgetResult(s->conn)) != NULL)	/* the statement's end */
			PQclear(r);
	}
	s->queued = 0;
	/* The sync's own result. */
	while ((r = PQgetResult(s->conn)) != NULL) {
		bool sync = PQresultStatus(r) == PGRES_PIPELINE_SYNC;
		PQclear(r);
		if (sync)
			break;
	}
	if (!PQexitPipelineMode(s->conn) && st == EC_OK)
		st = failed(s, NULL, err);
	return st;
}

/* A transaction's end: sent after whatever waits, or at once. */
static enum ec_status finish(struct pg_store *s, const char *sql, struct ec_error *err)
{
	if (s->begin_pending && s->queued == 0) {
		s->begin_pending = false;	/* nothing was done */
		return EC_OK;
	}
	if (s->queued == 0) {
		PGresult *r = PQexec(s->conn, sql);
		if (!is_ok(r))
			return failed(s, r, err);
		PQclear(r);
		return EC_OK;
	}
	if (!PQsendQueryParams(s->conn, sql, 0, NULL, NULL, NULL, NULL, 0))
		return failed(s, NULL, err);
	s->queued++;
	enum ec_status st = drain(s, NULL, 0, err);
	/* A statement failed: the transaction is aborted, and COMMIT did not
	 * run. End it. */
	if (PQtransactionStatus(s->conn) != PQTRANS_IDLE)
		PQclear(PQexec(s->conn, "ROLLBACK"));
	return st;
}

static enum ec_status exec_pg(struct store *st, const char *sql, const char *const *params,
			      size_t n, struct store_result *res, struct ec_error *err)
{
	struct pg_store *s = (struct pg_store *)st;
	PGresult *r;
	enum ec_status status;

	if (strcmp(sql, "BEGIN") == 0 && s->queued == 0 && !s->begin_pending &&
	    PQtransactionStatus(s->conn) == PQTRANS_IDLE) {
		prepare_wanted(s);
		s->begin_pending = true;
		return EC_OK;
	}
	if (strcmp(sql, "COMMIT") == 0 || strcmp(sql, "ROLLBACK") == 0)
		return finish(s, sql, err);
	if (s->begin_pending || s->queued) {
		if (!send_statement(s, sql, params, n)) {
			status = failed(s, NULL, err);
			drain(s, NULL, 0, err);
			return status;
		}
		status = drain(s, &r, 1, err);
		if (status != EC_OK) {
			PQclear(r);
			return status;
		}
	} else {
		char name[32];
		/* Transaction control and parameterless one-offs go as they are. */
		bool prepare = n > 0 && PQtransactionStatus(s->conn) != PQTRANS_INERROR &&
			       prepared_name(s, sql, n, name);
		r = prepare ? PQexecPrepared(s->conn, name, (int)n, params, NULL, NULL, 0)
			    : PQexecParams(s->conn, sql, (int)n, NULL, params, NULL, NULL, 0);
		if (!is_ok(r))
			return failed(s, r, err);
	}
	status = EC_OK;
	if (res && PQresultStatus(r) == PGRES_TUPLES_OK)
		status = copy_rows(r, res, err);
	PQclear(r);
	return status;
}

/* The statements together, in one round trip. */
static enum ec_status batch_pg(struct store *st, const struct store_stmt *stmts, size_t n,
			       struct store_result *res, struct ec_error *err)
{
	struct pg_store *s = (struct pg_store *)st;
	PGresult *r[STORE_BATCH_MAX];
	char name[32];
	enum ec_status status = EC_OK;

	if (n > STORE_BATCH_MAX)
		return ec_error_set(err, EC_ERR_ARG, "too many statements in one batch.");
	/* Prepared first: PQprepare waits for its answer. */
	if (PQpipelineStatus(s->conn) == PQ_PIPELINE_OFF && PQtransactionStatus(s->conn) != PQTRANS_INERROR)
		for (size_t i = 0; i < n; i++)
			if (stmts[i].n > 0)
				prepared_name(s, stmts[i].sql, stmts[i].n, name);
	for (size_t i = 0; i < n; i++)
		if (!send_statement(s, stmts[i].sql, stmts[i].params, stmts[i].n)) {
			status = failed(s, NULL, err);
			drain(s, NULL, 0, err);
			return status;
		}
	status = drain(s, r, n, err);
	for (size_t i = 0; i < n; i++) {
		if (status == EC_OK && res && PQresultStatus(r[i]) == PGRES_TUPLES_OK)
			status = copy_rows(r[i], &res[i], err);
		PQclear(r[i]);
	}
	if (status != EC_OK && res)
		for (size_t i = 0; i < n; i++)
			store_result_free(&res[i]);
	return status;
}

/* In a transaction, the write waits to go out with what comes next. */
static enum ec_status write_pg(struct store *st, const char *sql, const char *const *params,
			       size_t n, struct ec_error *err)
{
	struct pg_store *s = (struct pg_store *)st;

	if (!s->begin_pending && s->queued == 0 && PQtransactionStatus(s->conn) == PQTRANS_IDLE)
		return exec_pg(st, sql, params, n, NULL, err);
	if (!send_statement(s, sql, params, n)) {
		enum ec_status status = failed(s, NULL, err);
		drain(s, NULL, 0, err);
		return status;
	}
	return EC_OK;
}

static enum ec_status script_pg(struct store *st, const char *sql, struct ec_error *err)
{
	struct pg_store *s = (struct pg_store *)st;

	/* What waits goes first, in the transaction it belongs to. */
	if (s->begin_pending || s->queued) {
		enum ec_status status = send_statement(s, "SELECT 1", NULL, 0) ? drain(s, NULL, 0, err)
									     : failed(s, NULL, err);
		if (status != EC_OK)
			return status;
	}
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
	.write = write_pg,
	.batch = batch_pg,
	.begin_sql = "BEGIN",
	.relaxed_sql = "SET LOCAL synchronous_commit TO off",
};
