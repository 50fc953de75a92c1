/*
 * ledger.h - the issuer's books (DESIGN §7), double entry in the store.
 *
 * A posting moves amounts (minor units of the issuer's currency) between
 * accounts and sums to zero. It carries a reference naming what it books
 * ("top-up/17/credit"), and a reference is booked once: the same one again
 * books nothing, so a step done again after a crash or a retried request
 * cannot book twice. Accounts come into being with their first posting;
 * their names say what they are:
 *   bank:NAME        a holder's (simulated) bank account: never below zero
 *   world:deposits   where bank money comes from
 *   issuer:grants    top-ups the issuer pays for itself
 *   loads:in-flight  top-ups paid for but not yet proven on their card
 *   card:SERIAL      what a card holds by the books (serial in hex)
 * The functions run in the caller's transaction (store_begin), whose
 * commit makes a posting and the state it accounts for one.
 */
#ifndef ECARD_SERVER_LEDGER_H
#define ECARD_SERVER_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "store.h"

#define LEDGER_NAME_MAX 64
#define LEDGER_REF_MAX 96

#define LEDGER_DEPOSITS "world:deposits"
#define LEDGER_GRANTS "issuer:grants"
#define LEDGER_IN_FLIGHT "loads:in-flight"

struct ledger_line {
	const char *account;
	long long amount;	/* minor units; + to the account, - from it */
};

/*
 * Book lines (2 or more, summing to zero) under ref. *posted
 * (may be NULL) tells whether this call booked them: false when ref was
 * booked already. A bank account that would go below zero refuses the
 * whole posting (EC_ERR_CHECK, nothing booked).
 */
enum ec_status ledger_post(struct store *st, const char *ref, const struct ledger_line *lines,
			   size_t n, bool *posted, struct ec_error *err);

/* Book the opposite of what ref booked, under new_ref (nothing when ref
 * was never booked; *posted as for ledger_post). */
enum ec_status ledger_reverse(struct store *st, const char *ref, const char *new_ref,
			      bool *posted, struct ec_error *err);

/* An account's balance (0 for one never booked). */
enum ec_status ledger_balance(struct store *st, const char *account, long long *balance,
			      struct ec_error *err);

/* Whether the account's balance is the sum of its postings (the issuer's
 * own accounts, issuer:, loads:, world:) rather than a running balance. */
bool ledger_summed(const char *name);
/* Whether name is a usable account name: kind:owner, letters, digits and
 * "-_.:@" only, at most LEDGER_NAME_MAX - 1 bytes. */
bool ledger_name_ok(const char *name);

struct ledger_account {
	char name[LEDGER_NAME_MAX];
	long long balance;
};

/* Every account, by name; and the sum of all balances, which is zero in
 * books that balance. */
enum ec_status ledger_accounts(struct store *st, struct ledger_account **out, size_t *count,
			       long long *sum, struct ec_error *err);

#endif
