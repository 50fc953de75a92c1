/*
 * ledger.c - the issuer's books (ledger.h).
 */
#include "ledger.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"

bool ledger_name_ok(const char *name)
{
	size_t n = strlen(name);
	const char *colon = strchr(name, ':');

	if (n == 0 || n >= LEDGER_NAME_MAX || !colon || colon == name || !colon[1])
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      strchr("-_.:@", *p)))
			return false;
	return true;
}

static bool is_bank(const char *name)
{
	return strncmp(name, "bank:", 5) == 0;
}

/*
 * The issuer's own accounts (issuer:, loads:, world:) take a posting from
 * nearly every top-up: a running balance there would be one row that
 * every transaction locks until its commit, one top-up at a time. Their
 * balance is the sum of their postings instead; every other account
 * (a bank's, a card's, a merchant's) keeps its running balance.
 */
bool ledger_summed(const char *name)
{
	return strncmp(name, "issuer:", 7) == 0 || strncmp(name, "loads:", 6) == 0 ||
	       strncmp(name, "world:", 6) == 0;
}

enum ec_status ledger_post(struct store *st, const char *ref, const struct ledger_line *lines,
			   size_t n, bool *posted, struct ec_error *err)
{
	struct store_result r;
	char now[24], amount[24];
	long long sum = 0;
	enum ec_status s;

	if (posted)
		*posted = false;
	if (n < 2 || !ref[0] || strlen(ref) >= LEDGER_REF_MAX)
		return ec_error_set(err, EC_ERR_ARG, "a posting has 2 lines or more and a reference.");
	for (size_t i = 0; i < n; i++) {
		if (!ledger_name_ok(lines[i].account))
			return ec_error_set(err, EC_ERR_ARG, "\"%s\" is not an account name.",
					    lines[i].account);
		sum += lines[i].amount;
	}
	if (sum != 0)
		return ec_error_set(err, EC_ERR_ARG, "the posting %s does not balance (%lld).", ref, sum);

	/* The reference first: a second booking of it stops here. */
	snprintf(now, sizeof(now), "%lld", db_now_ms());
	const char *pr[] = { ref, now };
	s = store_exec(st, "INSERT INTO ledger_refs (ref, created) VALUES ($1, $2)"
			   " ON CONFLICT (ref) DO NOTHING RETURNING ref",
		       pr, 2, &r, err);
	if (s != EC_OK)
		return s;
	bool fresh = r.rows == 1;
	store_result_free(&r);
	if (!fresh)
		return EC_OK;

	for (size_t i = 0; i < n; i++) {
		snprintf(amount, sizeof(amount), "%lld", lines[i].amount);
		const char *pu[] = { lines[i].account, amount, ref };
		const char *pn[] = { lines[i].account, amount, now };
		const char *pa[] = { lines[i].account, now };
		if (ledger_summed(lines[i].account)) {
			/* Made once; its balance is its postings'. */
			if ((s = store_write(st, "INSERT INTO accounts (name, balance, created) VALUES ($1, 0, $2)"
						 " ON CONFLICT (name) DO NOTHING",
					     pa, 2, err)) != EC_OK ||
			    (s = store_write(st, "INSERT INTO postings (ref, account, amount) VALUES ($3, $1, $2)",
					     pu, 3, err)) != EC_OK)
				return s;
			continue;
		}
		if (lines[i].amount >= 0 || !is_bank(lines[i].account)) {
			/* The account, made if need be, and its new balance at once. */
			if ((s = store_write(st, "INSERT INTO accounts (name, balance, created) VALUES ($1, $2, $3)"
						 " ON CONFLICT (name) DO UPDATE SET balance = accounts.balance + $2",
					     pn, 3, err)) != EC_OK ||
			    (s = store_write(st, "INSERT INTO postings (ref, account, amount) VALUES ($3, $1, $2)",
					     pu, 3, err)) != EC_OK)
				return s;
			continue;
		}
		s = store_exec(st, "INSERT INTO accounts (name, balance, created) VALUES ($1, 0, $2)"
				   " ON CONFLICT (name) DO NOTHING",
			       pa, 2, NULL, err);
		if (s != EC_OK)
			return s;
		/* A bank account never goes below zero. */
		long long have;
		const char *pb[] = { lines[i].account };
		s = store_exec(st, store_kind(st) == STORE_POSTGRESQL
				       ? "SELECT balance FROM accounts WHERE name = $1 FOR UPDATE"
				       : "SELECT balance FROM accounts WHERE name = $1",
			       pb, 1, &r, err);
		if (s != EC_OK)
			return s;
		have = store_cell_ll(&r, 0, 0, 0);
		store_result_free(&r);
		if (have + lines[i].amount < 0)
			return ec_error_set(err, EC_ERR_CHECK, "%s holds %lld, less than the %lld asked of it.",
					    lines[i].account, have, -lines[i].amount);
		if ((s = store_write(st, "UPDATE accounts SET balance = balance + $2 WHERE name = $1",
				     pu, 2, err)) != EC_OK ||
		    (s = store_write(st, "INSERT INTO postings (ref, account, amount) VALUES ($3, $1, $2)",
				     pu, 3, err)) != EC_OK)
			return s;
	}
	if (posted)
		*posted = true;
	return EC_OK;
}

enum ec_status ledger_reverse(struct store *st, const char *ref, const char *new_ref,
			      bool *posted, struct ec_error *err)
{
	struct store_result r;
	const char *p[] = { ref };
	enum ec_status s = store_exec(st, "SELECT account, amount FROM postings WHERE ref = $1 ORDER BY id",
				      p, 1, &r, err);

	if (posted)
		*posted = false;
	if (s != EC_OK)
		return s;
	size_t rows = r.rows;
	struct ledger_line *lines = rows ? calloc(rows, sizeof(*lines)) : NULL;
	if (!lines) {
		store_result_free(&r);
		return rows ? ec_error_set(err, EC_ERR_FILE, "out of memory reversing %s.", ref) : EC_OK;
	}
	for (size_t i = 0; i < r.rows; i++) {
		lines[i].account = store_cell(&r, i, 0) ? store_cell(&r, i, 0) : "";
		lines[i].amount = -(store_cell_ll(&r, i, 1, 0));
	}
	s = ledger_post(st, new_ref, lines, r.rows, posted, err);
	free(lines);
	store_result_free(&r);
	return s;
}

enum ec_status ledger_balance(struct store *st, const char *account, long long *balance,
			      struct ec_error *err)
{
	struct store_result r;
	const char *p[] = { account };
	enum ec_status s = ledger_summed(account)
				   ? store_exec(st, "SELECT COALESCE(sum(amount), 0) FROM postings WHERE account = $1",
						p, 1, &r, err)
				   : store_exec(st, "SELECT balance FROM accounts WHERE name = $1", p, 1, &r, err);

	*balance = 0;
	if (s != EC_OK)
		return s;
	if (store_cell(&r, 0, 0))
		*balance = strtoll(store_cell(&r, 0, 0), NULL, 10);
	store_result_free(&r);
	return EC_OK;
}

enum ec_status ledger_accounts(struct store *st, struct ledger_account **out, size_t *count,
			       long long *sum, struct ec_error *err)
{
	struct store_result r;
	enum ec_status s = store_exec(st,
				      "SELECT a.name, CASE WHEN a.name LIKE 'issuer:%' OR a.name LIKE 'loads:%'"
				      " OR a.name LIKE 'world:%' THEN (SELECT COALESCE(sum(p.amount), 0)"
				      " FROM postings p WHERE p.account = a.name) ELSE a.balance END"
				      " FROM accounts a ORDER BY a.name",
				      NULL, 0, &r, err);

	*out = NULL;
	*count = 0;
	*sum = 0;
	if (s != EC_OK)
		return s;
	*out = calloc(r.rows ? r.rows : 1, sizeof(**out));
	if (!*out) {
		store_result_free(&r);
		return ec_error_set(err, EC_ERR_FILE, "out of memory listing accounts.");
	}
	for (size_t i = 0; i < r.rows; i++) {
		snprintf((*out)[i].name, sizeof((*out)[i].name), "%s",
			 store_cell(&r, i, 0) ? store_cell(&r, i, 0) : "");
		(*out)[i].balance = store_cell_ll(&r, i, 1, 0);
		*sum += (*out)[i].balance;
	}
	*count = r.rows;
	store_result_free(&r);
	return EC_OK;
}
