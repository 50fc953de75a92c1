/*
 * topup.h - an online top-up run by ecard-server as a job (DESIGN §2.1 and
 * §7): the wallet's INITIALIZE LOAD -> the issuer's S2 -> CREDIT -> the
 * card's receipt S3, relayed by any SERAM local agent, and how the server
 * decides from what the card says whether the amount is on the card.
 *
 * The amount goes on the card exactly once whatever the relay does,
 * because the server only believes what the card's MACs (with the card's
 * K_load) prove:
 *   - credited: a receipt S3 for this amount at counter c0 + 1, where c0 is
 *     the counter of the load S2 was given for (a counter value happens
 *     once on a card), or a fresh INITIALIZE LOAD answer (S1) at c0 + 1
 *     whose balance is the old one plus the amount;
 *   - not credited, and never to be: S1 at counter c0 (nothing happened
 *     since, and this INITIALIZE LOAD replaced the pending load), or at
 *     c0 + 1 with another balance (one debit happened, which ended the
 *     pending load). A new S2 is then given for the new INITIALIZE LOAD.
 * Anything else (no answer, a refusal, a MAC that does not verify) proves
 * nothing: the job waits for another contact, and the card's pending load
 * can still be credited only once. When the counter moved further with no
 * receipt shown, the job ends unresolved and the issuer's books decide.
 *
 * The wallet's commands go in clear: they carry their own MACs, so a relay
 * can read the balance but can neither alter nor replay a load.
 */
#ifndef ECARD_SERVER_TOPUP_H
#define ECARD_SERVER_TOPUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "issuer.h"
#include "purse.h"
#include "seram.h"

struct topup {
	uint32_t amount;	/* minor units of the issuer's currency */
	bool authorised;	/* an S2 went out: the card may hold the amount */
	struct purse_load load;	/* the load that S2 was for */
	bool done;
	uint32_t counter;	/* when done: the card's counter and balance after it */
	uint32_t balance;
};

/* The job's progress between sessions, as JSON (malloc'd; NULL when out of
 * memory). text NULL or "" is a top-up that has not started. */
char *topup_save(const struct topup *t);
enum ec_status topup_load(const char *text, uint32_t amount, struct topup *t,
			  struct ec_error *err);

/* The commands to ask the card where it stands: SELECT the wallet, GET LAST
 * TRANSACTION (load) when with_last, INITIALIZE LOAD of the amount. */
enum ec_status topup_ask(const struct topup *t, bool with_last, struct seram_apdu_list *out);
/* CREDIT with the S2 of t->load (made again from the issuer's keys). */
enum ec_status topup_credit(const struct ec_issuer *issuer, const struct topup *t,
			    struct seram_apdu_list *out, struct ec_error *err);

enum topup_verdict {
	TOPUP_CREDITED,		/* proven on the card: t->done, counter, balance */
	TOPUP_AUTHORISE,	/* t->load is a new load: send CREDIT */
	TOPUP_ASK_AGAIN,	/* GET LAST TRANSACTION stopped the list: ask without it */
	TOPUP_REFUSED,		/* the card refused the load before any S2: nothing credited */
	TOPUP_WAIT,		/* nothing proven: try at another contact */
	TOPUP_UNRESOLVED,	/* the counter moved past the load without its receipt */
};

/*
 * Judge the answers to topup_ask() (answers[i] the i-th command's, "" for
 * a command the agent did not run): card is the card's identity in the
 * session (the last 4 bytes of its serial, in hex); err->text says why for
 * every verdict but CREDITED and AUTHORISE.
 */
enum topup_verdict topup_judge_ask(const struct ec_issuer *issuer, const char *card,
				   struct topup *t, bool with_last,
				   const struct seram_apdu_list *answers, struct ec_error *err);
/* Judge CREDIT's answer: CREDITED, or WAIT (ask the card again). */
enum topup_verdict topup_judge_credit(const struct ec_issuer *issuer, struct topup *t,
				      const struct seram_apdu_list *answers, struct ec_error *err);

#endif
