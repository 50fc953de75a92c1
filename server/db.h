/*
 * db.h - what ecard-server keeps in its store (store.h): the schema and its
 * versioned migrations, CAP files by their SHA-256, the job queue per card,
 * and the SERAM sessions. Nothing the server needs between two requests
 * lives anywhere else, so any number of instances can share one database.
 */
#ifndef ECARD_SERVER_DB_H
#define ECARD_SERVER_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "seram.h"
#include "store.h"

/* The schema version this build migrates to. */
#define DB_SCHEMA_VERSION 6

#define DB_KIND_MAX 16
#define DB_STATE_MAX 16
#define DB_MESSAGE_MAX 300

/* Job states. A job is pending while queued or running. */
#define DB_JOB_QUEUED "queued"
#define DB_JOB_RUNNING "running"
#define DB_JOB_DONE "done"
#define DB_JOB_FAILED "failed"
#define DB_JOB_CANCELLED "cancelled"

struct db_job {
	long long id;
	char card[SERAM_SE_ID_MAX + 1];
	char kind[DB_KIND_MAX];
	char state[DB_STATE_MAX];
	char *params;		/* JSON object, malloc'd */
	char file[65];		/* SHA-256 of the file it carries, hex; "" none */
	long next_cmd;		/* the first command the card has not confirmed */
	long sent_end;		/* past the last command ever sent to an agent */
	long sessions;		/* sessions that worked on it */
	long exchanges;		/* HTTP exchanges (reports) spent on it */
	long blocks_sent;	/* LOAD commands put in orders */
	long failures;		/* sessions that ended in an error, in a row */
	char message[DB_MESSAGE_MAX];
	char *progress;		/* the engine's state of the job, JSON, malloc'd; NULL none */
	long long created;	/* Unix time, ms */
	long long updated;
};

struct db_session {
	char id[SERAM_SESSION_ID_MAX + 1];
	char card[SERAM_SE_ID_MAX + 1];
	char se_type[SERAM_SE_TYPE_MAX + 1];
	char state[DB_STATE_MAX];	/* open, done, failed */
	long long job;			/* 0: none yet */
	char *step;			/* the engine's state, JSON, malloc'd */
	long orders;
	long long created;
	long long updated;
	char last_report[SERAM_SESSION_ID_MAX + 1];	/* Idempotency-Key of the last report */
	char *last_order;		/* the order that answered it, malloc'd */
};

long long db_now_ms(void);

/* Create or bring the schema up to DB_SCHEMA_VERSION; a newer schema than
 * this build knows is refused. */
enum ec_status db_migrate(struct store *st, struct ec_error *err);

/* Files: content-addressed, stored once. */
enum ec_status db_file_put(struct store *st, const char *name, const uint8_t *data, size_t len,
			   char sha256_hex[65], struct ec_error *err);
enum ec_status db_file_get(struct store *st, const char *sha256_hex, uint8_t **data,
			   size_t *len, struct ec_error *err);

/* Jobs. db_job_get with lock takes the row for the transaction's writes. */
enum ec_status db_job_add(struct store *st, struct db_job *job, struct ec_error *err);
enum ec_status db_job_get(struct store *st, long long id, bool lock, struct db_job *out,
			  struct ec_error *err);
/* The card's oldest pending job: EC_ERR_NOT_FOUND when it has none. */
enum ec_status db_job_next(struct store *st, const char *card, bool lock, struct db_job *out,
			   struct ec_error *err);
enum ec_status db_job_save(struct store *st, const struct db_job *job, struct ec_error *err);
/* Every job (card NULL) or a card's, oldest first. */
enum ec_status db_job_list(struct store *st, const char *card, struct db_job **out, size_t *count,
			   struct ec_error *err);
void db_job_free(struct db_job *job);
void db_job_list_free(struct db_job *jobs, size_t count);
bool db_job_pending(const struct db_job *job);

/* Sessions: EC_ERR_NOT_FOUND when there is no such session. */
enum ec_status db_session_get(struct store *st, const char *id, bool lock,
			      struct db_session *out, struct ec_error *err);
/* The session, locked for the transaction's writes, and its job when it
 * has one (*have_job), locked too: one exchange with the database. */
enum ec_status db_session_get_locked(struct store *st, const char *id, struct db_session *out,
				     struct db_job *job, bool *have_job, struct ec_error *err);
/* In a transaction: an id used already (EC_ERR_EXISTS) may be told by the
 * commit (store_write). */
enum ec_status db_session_insert(struct store *st, const struct db_session *s,
				 struct ec_error *err);
enum ec_status db_session_save(struct store *st, const struct db_session *s,
			       struct ec_error *err);
void db_session_free(struct db_session *s);

#endif
