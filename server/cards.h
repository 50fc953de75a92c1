/*
 * cards.h - the cards an issuer knows (DESIGN §7): each card's wallet
 * serial, the identity its agent gives (seId), its holder, its state, and
 * what the card itself last said of its balance; the loads booked to it;
 * and the fraud report, whose entries settle.h and the card contacts add.
 *
 * The books (ledger.h) keep card:SERIAL = loads - settled purchases, so for
 * every card:
 *     books - balance the card reported = purchases not settled yet
 * which is never below zero for an honest card. A card that reports more
 * than its books hold made money: that goes in the fraud report.
 *
 * The functions run in the caller's transaction, like ledger.h's.
 */
#ifndef ECARD_SERVER_CARDS_H
#define ECARD_SERVER_CARDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "error.h"
#include "purse.h"
#include "store.h"

#define CARD_ACTIVE "active"
#define CARD_BLOCKED "blocked"

/* A wallet serial in hex, and its ledger account "card:SERIAL". */
#define CARD_SERIAL_HEX (2 * PURSE_SERIAL_LEN + 1)
#define CARD_ACCOUNT_MAX (5 + CARD_SERIAL_HEX)

struct card_info {
	char serial[CARD_SERIAL_HEX];
	char se_id[SERAM_SE_ID_MAX + 1];	/* "" unknown */
	long long holder;			/* 0 none */
	char state[DB_STATE_MAX];
	bool reported;				/* the card has told its balance */
	long long balance;			/* as the card last told it */
	long long counter;
	long long reported_at;			/* Unix time, ms */
	long long books;			/* card:SERIAL: loads - settled */
	long long loaded;			/* loads booked */
	long long settled;			/* purchases paid to merchants */
	long long held;				/* purchases held in the fraud report */
	long long loads;			/* their numbers */
	long long debits;
	long long last_debit;			/* the highest counter of a record received, 0 none */
};

/* Purchases not settled yet (books - the balance the card reported), when
 * the card's report is not older than the records received: -1 otherwise. */
long long card_unsettled(const struct card_info *c);

void card_account(const char *serial, char out[CARD_ACCOUNT_MAX]);
/* Whether text is a wallet serial in hex (16 digits). */
bool card_serial_ok(const char *text);

/* Know a card (or fill in what was unknown of it): se_id, certificate
 * (hex) and holder may be NULL / 0. */
enum ec_status cards_add(struct store *st, const char *serial, const char *se_id,
			 const char *certificate, long long holder, struct ec_error *err);
/*
 * The card told its balance and counter (authenticated by its MACs) at a
 * contact: kept, and checked against the books; a card holding more than
 * its books get a "balance" entry in the fraud report. Knows the card when
 * it was not known.
 */
enum ec_status cards_reported(struct store *st, const char *serial, const char *se_id,
			      uint32_t balance, uint32_t counter, struct ec_error *err);
/* A load proven on the card (its receipt's counter), for the counter
 * sequence the fraud report checks. Booked once per serial and counter. */
enum ec_status cards_load_booked(struct store *st, const char *serial, uint32_t counter,
				 uint32_t amount, long long job, struct ec_error *err);
/* EC_ERR_NOT_FOUND when the card is not known. */
enum ec_status cards_get(struct store *st, const char *serial, struct card_info *out,
			 struct ec_error *err);
/* Every card (holder 0) or a holder's, by serial. */
enum ec_status cards_list(struct store *st, long long holder, struct card_info **out,
			  size_t *count, struct ec_error *err);
/* Block (or unblock) a card: settlement then holds its records. A card
 * that is blocked gets a "lock" job for its next contact (when it has a
 * seId), which locks its wallet on the card itself. */
enum ec_status cards_set_blocked(struct store *st, const char *serial, bool blocked,
				 long long *lock_job, struct ec_error *err);

/* ---- the fraud report ---- */

/* Kinds of entries. */
#define FRAUD_FORGED "forged"		/* certificate or signature not the issuer's card's */
#define FRAUD_UNKNOWN "unknown-card"	/* a card the issuer does not know */
#define FRAUD_BLOCKED "blocked-card"	/* a record of a blocked card */
#define FRAUD_OVERSPEND "overspend"	/* spends more than was loaded on the card */
#define FRAUD_CLONE "clone"		/* two records for one counter */
#define FRAUD_GAP "counter-gap"		/* counters never seen */
#define FRAUD_BALANCE "balance"		/* the card holds more than its books */

struct fraud_entry {
	const char *kind;
	const char *serial;		/* NULL unknown */
	long long counter;		/* -1 none */
	const char *merchant;		/* NULL none */
	long long amount;		/* -1 none */
	const char *detail;
	const char *record;		/* hex, NULL none */
	const char *signature;
	const char *certificate;
};

/* Add an entry once: key names it (kind and what it is about), and the
 * same key again adds nothing. */
enum ec_status fraud_add(struct store *st, const char *key, const struct fraud_entry *e,
			 struct ec_error *err);
/*
 * The whole report as a JSON array (malloc'd text in *json): the stored
 * entries, newest first, then the counter gaps of every card (counters
 * between 1 and the highest seen that no load or record accounts for:
 * purchases not settled yet, or lost) and the cards whose books are below
 * the balance they reported. serial (NULL: every card) narrows it.
 */
enum ec_status fraud_report(struct store *st, const char *serial, char **json, size_t *entries,
			    struct ec_error *err);

#endif
