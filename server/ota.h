/*
 * ota.h - the SERAM remote agent's logic, without HTTP: what ecard-server
 * answers to a handshake and to each report, and the jobs it runs on a
 * card through whatever local agent relays the APDUs.
 *
 * A session: handshake (the card's identity in seId) -> POLLING report ->
 * [ramStartCommand, SELECT ISD + INITIALIZE UPDATE] -> EXTERNAL
 * AUTHENTICATE and the job's commands, each wrapped with SCP03 at the job's
 * level (03 at least: C-MAC and C-DECRYPTION; 33 adds R-MAC and R-ENC) ->
 * ... -> ramStopCommand. The card's keys come from the issuer's master keys
 * (KDF3 with the card's KDD, key version 01), or the public test keys when
 * the server is told to accept them.
 *
 * Every report is handled in one store transaction that reads the session
 * and its job, checks the card's answers, writes the job's progress and
 * the session's next step, and only then gives the next order: a server
 * that dies loses nothing, and another instance can take the next report.
 * The secure channel's state is re-derived each time from the card's
 * INITIALIZE UPDATE answer and the static keys, so no session key is
 * stored.
 *
 * Batching: a job's commands whose answers are only checked afterwards (a
 * whole LOAD sequence) go out in orders of up to max_batch_commands
 * commands and max_batch_bytes bytes of APDUs.
 *
 * Resume: a job that had commands out when its session broke starts its
 * next session with GET DATA DF70 (gp.h); the load goes on from the block
 * the card expects, or, on a card without DF70, starts over from INSTALL
 * [for load]. When the last block or the INSTALL may have gone through
 * unreported, GET STATUS tells.
 *
 * A top-up job talks to the wallet instead, without the card manager's
 * channel (its commands carry their own MACs): topup.h.
 */
#ifndef ECARD_SERVER_OTA_H
#define ECARD_SERVER_OTA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "error.h"
#include "issuer.h"
#include "store.h"

/* Consecutive failed sessions after which a job is given up. */
#define OTA_MAX_FAILURES 5

struct ota_config {
	const struct ec_issuer *issuer;	/* NULL: no issuer keys */
	bool test_keys;			/* accept cards on the public test keys */
	size_t max_batch_commands;	/* 0: 1024 */
	size_t max_batch_bytes;		/* of APDUs; 0: 256 KiB */
	long delay_ms;			/* the delay put in orders; -1: none */
	long long_poll_ms;		/* how long a poll waits for a job (<= 30 s) */
};

/* What one request did, for the metrics and the log. */
struct ota_outcome {
	int http_status;
	size_t apdus_out;		/* in the order */
	size_t apdus_in;		/* answers in the report */
	bool replayed;			/* a report sent again: its order again */
	bool session_started;
	bool session_ended;
	bool session_failed;
	int jobs_done;
	int jobs_failed;
	long long job;			/* the job worked on, 0 none */
	char message[DB_MESSAGE_MAX];	/* how the session ended */
};

/*
 * POST /handshake: body is a ramHandshakeCommand. On 200 *answer is the
 * ramHandshakeResponse (malloc'd); 400 malformed, 406 nothing acceptable
 * offered, 500 store failure (err says why).
 */
int ota_handshake(struct store *st, const struct ota_config *cfg, const char *session_id,
		  const char *body, size_t len, char **answer, struct ota_outcome *out,
		  struct ec_error *err);

/*
 * POST /remoteManagement: body is a remoteManagementReport; on 200 *answer
 * is the remoteManagementOrder. 404 for a session that does not exist or
 * has ended, 400 for a report that does not answer the last order.
 * report_key (may be NULL) is the request's Idempotency-Key: a report that
 * comes again with the key of the last one (a client's retry after its
 * order was lost) gets that order again and changes nothing.
 */
int ota_report(struct store *st, const struct ota_config *cfg, const char *session_id,
	       const char *report_key, const char *body, size_t len, char **answer,
	       struct ota_outcome *out, struct ec_error *err);

/*
 * Long polling (the binding's HTTP Polling): whether the report of this
 * session is a poll with nothing to do yet, the card having no pending
 * job; the HTTP side then waits, without a transaction, up to
 * long_poll_ms for one to come before it hands the report to ota_report().
 */
bool ota_poll_would_idle(struct store *st, const char *session_id, const char *body, size_t len);

/* ---- jobs ---- */

struct ota_load_args {
	const char *cap_path;
	const uint8_t *install;		/* module AID to install, NULL: load only */
	size_t install_len;
	const uint8_t *instance;	/* instance AID, NULL: the module's */
	size_t instance_len;
	uint8_t level;			/* 0: 03 */
};

/* Queue jobs for a card; *id gets the new job's number. */
enum ec_status ota_add_load(struct store *st, const char *card, const struct ota_load_args *a,
			    long long *id, struct ec_error *err);
enum ec_status ota_add_delete(struct store *st, const char *card, const uint8_t *aid,
			      size_t aid_len, uint8_t level, long long *id, struct ec_error *err);
/*
 * Issue a new card (perso_job.h; needs the server's --issuer): its wallet
 * makes its key pair, which the issuer certifies, and gets its K_load,
 * limits and certificate; its profile gets the holder's name and e-mail
 * address; its card manager gets its own keys. All at level 33. Then the
 * card is the holder's (holder, 0 none) and the centre's order (0 none)
 * is filled.
 */
enum ec_status ota_add_personalize(struct store *st, const char *card, long long holder,
				   long long order, const char *name, const char *email, long long *id,
				   struct ec_error *err);
/* Lock an application on the card (its SELECT then fails: a blocked
 * card's wallet), or unlock it (SET STATUS through the card manager). */
enum ec_status ota_add_lock(struct store *st, const char *card, const uint8_t *aid, size_t aid_len,
			    bool lock, long long *id, struct ec_error *err);
/* Replace the card's current key set (the test keys, say) with its own:
 * the issuer's master keys diversified with its KDD, version 01 (needs the
 * server's --issuer), at level 33. */
enum ec_status ota_add_put_keys(struct store *st, const char *card, long long *id,
				struct ec_error *err);
/* Load amount ("20.00", "20.00 EUR": the issuer's currency) onto the
 * card's wallet online (topup.h; needs the server's --issuer), paid from
 * the ledger account from (NULL: issuer:grants, ledger.h): held when the
 * job starts, booked to card:SERIAL when the card proves the credit, given
 * back when the job ends without it, kept in flight while in doubt. */
enum ec_status ota_add_topup(struct store *st, const char *card, const char *amount,
			     const char *from, long long *id, struct ec_error *err);
/* Cancel a pending job: EC_ERR_ARG when it has ended already, or when it is
 * a top-up whose CREDIT went out unconfirmed (only the card can end it). */
enum ec_status ota_cancel(struct store *st, long long id, struct ec_error *err);

/* The number of commands a job sends when it starts from nothing. */
enum ec_status ota_job_commands(struct store *st, const struct db_job *job, size_t *count,
				struct ec_error *err);

#endif
