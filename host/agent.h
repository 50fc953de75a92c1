/*
 * agent.h - the GP SERAM local agent (`ecard agent`): it presents the card
 * to the issuer's server (ecard-server or any SERAM remote agent), then
 * relays the APDUs of the orders to the card and the answers back. It
 * holds no key: what it relays is protected end to end by the server's
 * secure channel with the card.
 *
 * One session per run: handshake with the card's identity (its CPLC IC
 * serial number in hex), a POLLING report, then order -> APDUs -> report
 * until ramStopCommand. The APDUs of a seRamCommand run in order and stop
 * at the first answer other than 9000 or 61xx; the ones after get "".
 *
 * Transmission errors (the binding's section of that name): a request that
 * fails or gets no answer within 40 s is retried, for up to 5 minutes,
 * with a new session id for the same card (the server then asks the card
 * where it stands and goes on); with several server URLs the next one is
 * tried each time. A card that fails mid-order is reported
 * (UNAVAILABLE_SE), reconnected, and a new session is started.
 *
 * ecard-server sends notifications "job/ID/KIND/start/COMMANDS/BLOCKS",
 * "job/ID/KIND/done" and "job/ID/KIND/failed/TEXT" that the agent uses for
 * its progress line and exit status; a shop taking a payment (ecard-shop)
 * sends "pay/verify-pin/SHOP", "pay/done/TEXT", "pay/failed/TEXT" and
 * "pay/interrupted/TEXT"; other notifications are printed.
 *
 * The browser path: a page hands the agent a session that a shop opened
 * (ecard agent --listen); every handshake of the run then uses that
 * session id, and after a broken link or a card that failed the agent
 * comes back to the same session.
 */
#ifndef ECARD_AGENT_H
#define ECARD_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "pcsc.h"
#include "purse.h"
#include "seram.h"

#define EC_AGENT_SERVERS_MAX 8

struct ec_agent_progress {
	long long job;
	char kind[16];
	size_t commands;	/* of the job, as the server announced */
	size_t blocks;		/* LOAD blocks of the job, as announced (0: none) */
	size_t relayed;		/* commands of this job relayed so far */
	size_t load_blocks;	/* LOAD commands among them */
	size_t bytes;		/* command bytes relayed */
	double seconds;		/* since the agent started */
};

/*
 * A hook on every APDU relayed, for tests that play a malicious or broken
 * relay and for tools that record the traffic: it may change the bytes
 * (cap bytes of room) and len. command tells the direction.
 */
typedef void (*ec_agent_tap_fn)(void *arg, bool command, uint8_t *apdu, size_t *len, size_t cap);

struct ec_agent_options {
	const char *servers[EC_AGENT_SERVERS_MAX];	/* base URLs, tried in turn */
	size_t nservers;
	const char *ca_file;		/* CA certificates for HTTPS; NULL: the system's */
	const char *se_type;		/* NULL: "eSE" */
	long response_timeout_s;	/* 0: 40 */
	long retry_s;			/* 0: 300; how long to keep retrying */
	unsigned card_retries;		/* sessions restarted after the card failed (3) */
	/* Called after each order and at the end. */
	void (*progress)(void *arg, const struct ec_agent_progress *p);
	void *progress_arg;
	/* Called with each notification's text. */
	void (*notify)(void *arg, const char *text);
	void *notify_arg;
	ec_agent_tap_fn tap;
	void *tap_arg;
	/* The session id of every handshake (NULL: a new one each time). */
	const char *session_id;
	/*
	 * Called with each notification as the order is run, before the
	 * commands after it: it may act on the card (a shop's "pay/verify-pin"
	 * asks the holder for the PIN and sends VERIFY), seeing the order's
	 * later commands (from index next) to show what they will do. It
	 * returns false when the card failed under it: the rest of the order
	 * is not run, and the card is reconnected as after any failure.
	 */
	bool (*act)(void *arg, struct ec_pcsc *pc, const char *text, const struct seram_order *order,
		    size_t next);
	void *act_arg;
	/*
	 * For tests of the resume: called before each request is sent
	 * (answered false) and after each answer is received (answered
	 * true); returning true loses that message as a cut link would.
	 * exchange counts the requests of the run from 1.
	 */
	bool (*cut)(void *arg, size_t exchange, bool answered);
	void *cut_arg;
	/* How to get the card back after it failed; NULL: reset it through
	 * PC/SC (SCardReconnect), retried for up to 10 s while it is away. */
	enum ec_status (*reconnect)(void *arg, struct ec_pcsc *pc);
	void *reconnect_arg;
};

struct ec_agent_stats {
	size_t sessions;	/* handshakes made */
	size_t exchanges;	/* HTTP requests answered (handshakes included) */
	size_t retries;		/* requests that failed and were retried */
	size_t apdus;		/* APDUs sent to the card */
	size_t load_blocks;	/* LOAD commands among them */
	size_t jobs_done;
	size_t jobs_failed;
	double seconds;
	char card[32];		/* the identity presented */
};

/* The card's identity for the server: the CPLC IC serial number, 8 hex
 * digits (GET DATA 9F7F from the card manager). */
enum ec_status ec_agent_card_id(struct ec_pcsc *pc, char out[32], struct ec_error *err);

/*
 * Run sessions until the server stops one normally: EC_OK when every job
 * the server reported on is done, EC_ERR_CARD when one failed (err says
 * which), EC_ERR_NETWORK when the server stayed unreachable for retry_s,
 * EC_ERR_FORMAT when it answered something that is not SERAM.
 */
enum ec_status ec_agent_run(struct ec_pcsc *pc, const struct ec_agent_options *opt,
			    struct ec_agent_stats *stats, struct ec_error *err);

/*
 * The DEBIT request that the order's next card command (from index next)
 * sends, read into req: what the card will sign, which is what a PIN
 * prompt shows (amount, currency, merchant), whatever a notification says.
 */
bool ec_agent_debit_in_order(const struct seram_order *order, size_t next,
			     struct purse_debit_request *req);

#endif
