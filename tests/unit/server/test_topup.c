/*
 * test_topup.c - the top-up job of ecard-server (server/topup.h), relayed
 * by `ecard agent` in process to a personalized card in memory: the
 * amount reaches the wallet exactly once whether the link is cut at any
 * exchange, the card is torn at any write, or the relay alters CREDIT or
 * hides the card's receipt; and the judge of the card's answers, on
 * answers made with the card's K_load, in the cases a live card seldom
 * shows (a replayed answer, another card, a counter that moved).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "cards.h"
#include "cursor.h"
#include "hex.h"
#include "iso7816.h"
#include "ledger.h"
#include "ota_fixture.h"
#include "perso.h"
#include "purse.h"
#include "test_support.h"
#include "topup.h"
#include "wallet.h"

#define AMOUNT 2000u	/* 20.00 EUR */

/* A server with the issuer's keys and a card that issuer personalized. */
static void start_personalized(void)
{
	struct ec_error err = { 0 };
	struct ec_gp_keys test;

	with_issuer = true;
	start(0);
	with_issuer = false;
	ec_gp_default_keys(&test, 0);
	cr_assert_eq(ec_personalize(&issuer, &card.pc, NULL, &test, NULL, NULL, &err), EC_OK, "%s",
		     err.text);
}

static void stop_personalized(void)
{
	ec_issuer_wipe(&issuer);
	stop();
}

static struct ec_purse_data purse(void)
{
	struct ec_purse_data pd;
	struct ec_error err = { 0 };
	cr_assert_eq(ec_wallet_select(&card.pc, &err), EC_OK, "%s", err.text);
	cr_assert_eq(ec_wallet_purse_data(&card.pc, &pd, &err), EC_OK, "%s", err.text);
	return pd;
}

static long long queue_topup_from(const char *amount, const char *from)
{
	struct ec_error err = { 0 };
	long long id;
	cr_assert_eq(ota_add_topup(db, card_id, amount, from, &id, &err), EC_OK, "%s", err.text);
	return id;
}

static long long queue_topup(const char *amount)
{
	return queue_topup_from(amount, NULL);
}

/* ---- the books ---- */

#define ALICE "bank:alice"

static void deposit(const char *account, long long amount)
{
	struct ec_error err = { 0 };
	struct ledger_line l[2] = { { LEDGER_DEPOSITS, -amount }, { account, amount } };
	static int n;
	char ref[32];
	snprintf(ref, sizeof(ref), "test-deposit/%d", ++n);
	cr_assert_eq(store_begin(db, &err), EC_OK, "%s", err.text);
	cr_assert_eq(ledger_post(db, ref, l, 2, NULL, &err), EC_OK, "%s", err.text);
	cr_assert_eq(store_commit(db, &err), EC_OK, "%s", err.text);
}

static long long balance_of(const char *account)
{
	struct ec_error err = { 0 };
	long long b;
	cr_assert_eq(ledger_balance(db, account, &b, &err), EC_OK, "%s", err.text);
	return b;
}

/* The books balance, nothing is left in flight, and they hold for the
 * card what the card holds. */
static void assert_books(const char *when, uint32_t card_balance)
{
	struct ledger_account *acc;
	struct ec_error err = { 0 };
	size_t n;
	long long sum;
	char account[LEDGER_NAME_MAX] = "card:";

	cr_assert_eq(ledger_accounts(db, &acc, &n, &sum, &err), EC_OK, "%s", err.text);
	free(acc);
	cr_assert_eq(sum, 0, "%s: the books do not balance (%lld)", when, sum);
	cr_assert_eq(balance_of(LEDGER_IN_FLIGHT), 0, "%s: %lld in flight", when,
		     balance_of(LEDGER_IN_FLIGHT));
	struct ec_purse_data pd = purse();
	cr_assert_eq(pd.balance, card_balance, "%s: the card holds %u", when, pd.balance);
	hex_encode(pd.serial, PURSE_SERIAL_LEN, account + 5);
	cr_assert_eq(balance_of(account), (long long)pd.balance, "%s: the books say %lld for the card, it holds %u",
		     when, balance_of(account), pd.balance);
}

static void assert_job(long long id, const char *state, const char *says)
{
	struct db_job j;
	job(id, &j);
	cr_assert_str_eq(j.state, state, "%s", j.message);
	if (says)
		cr_assert(strstr(j.message, says), "\"%s\" in: %s", says, j.message);
	db_job_free(&j);
}

Test(topup, credited_once_with_the_new_balance_and_refused_above_the_maximum)
{
	struct ec_agent_options opt;
	struct ec_agent_stats stats;
	struct ec_error err = { 0 };

	start_personalized();
	deposit(ALICE, 10000);
	long long first = queue_topup_from("20.00", ALICE);
	long long second = queue_topup("5.50 EUR");
	agent_options(&opt);
	cr_assert_eq(ec_agent_run(&card.pc, &opt, &stats, &err), EC_OK, "%s", err.text);
	cr_assert_eq(stats.jobs_done, 2);
	cr_assert_eq(stats.sessions, 1);
	/* Handshake, poll, INITIALIZE LOAD, CREDIT x 2 jobs, no more. */
	cr_assert_leq(stats.exchanges, 6, "%zu exchanges", stats.exchanges);
	assert_job(first, "done", "credited 20.00 EUR, balance 20.00 EUR at counter 1");
	assert_job(second, "done", "credited 5.50 EUR, balance 25.50 EUR at counter 2");
	struct ec_purse_data pd = purse();
	cr_assert_eq(pd.balance, 2550);
	cr_assert_eq(pd.counter, 2);
	assert_books("two top-ups", 2550);
	cr_assert_eq(balance_of(ALICE), 8000);
	cr_assert_eq(balance_of(LEDGER_GRANTS), -550);

	/* More than the bank account holds: refused before the card is asked. */
	long long poor = queue_topup_from("90.00", ALICE);
	cr_assert_eq(ec_agent_run(&card.pc, &opt, &stats, &err), EC_ERR_CARD);
	assert_job(poor, "failed", "less than");
	cr_assert_eq(balance_of(ALICE), 8000);
	assert_books("a top-up the bank refused", 2550);

	/* 500.00 is the most a card holds: the card refuses, nothing is
	 * authorised, nothing changes. */
	long long big = queue_topup("480.00");
	cr_assert_eq(ec_agent_run(&card.pc, &opt, &stats, &err), EC_ERR_CARD);
	assert_job(big, "failed", "INITIALIZE LOAD");
	pd = purse();
	cr_assert_eq(pd.balance, 2550);
	cr_assert_eq(pd.counter, 2);
	assert_books("a top-up the card refused: its money given back", 2550);
	cr_assert_eq(balance_of(LEDGER_GRANTS), -550);

	/* Bad amounts are refused when queued. */
	long long id;
	cr_assert_eq(ota_add_topup(db, card_id, "0.00", NULL, &id, &err), EC_ERR_ARG);
	cr_assert_eq(ota_add_topup(db, card_id, "-5", NULL, &id, &err), EC_ERR_ARG);
	cr_assert_eq(ota_add_topup(db, card_id, "5 XYZ", NULL, &id, &err), EC_ERR_ARG);
	cr_assert_eq(ota_add_topup(db, card_id, "5.00 USD", NULL, &id, &err), EC_OK, "%s", err.text);
	/* ...and one in another currency than the issuer's when it runs. */
	cr_assert_eq(ec_agent_run(&card.pc, &opt, &stats, &err), EC_ERR_CARD);
	assert_job(id, "failed", "USD");
	cr_assert_eq(purse().balance, 2550);
	cr_assert_eq(ota_add_topup(db, card_id, "5.00", "nobody", &id, &err), EC_ERR_ARG,
		     "an account name is kind:owner");
	stop_personalized();
}

/* A card, 20.00 in Alice's bank, a top-up of it queued, and the agent's
 * options with plan's cut (none when NULL). */
static long long paid_topup(struct ec_agent_options *opt, struct cut_plan *plan)
{
	start_personalized();
	deposit(ALICE, AMOUNT);
	long long id = queue_topup_from("20.00", ALICE);
	agent_options(opt);
	opt->cut = plan ? cut_once : NULL;
	opt->cut_arg = plan;
	return id;
}

/* Cut at each exchange, before the request and after the answer. */
Test(topup, a_cut_at_every_exchange_credits_exactly_once, .timeout = 120)
{
	size_t points = 0;

	for (int answered = 0; answered <= 1; answered++) {
		for (size_t at = 1;; at++) {
			struct ec_agent_options opt;
			struct ec_agent_stats stats;
			struct ec_error err = { 0 };
			struct cut_plan plan = { .at = at, .answered = answered };

			long long id = paid_topup(&opt, &plan);
			cr_assert_eq(ec_agent_run(&card.pc, &opt, &stats, &err), EC_OK, "cut at %zu (%s): %s",
				     at, answered ? "answer" : "request", err.text);
			assert_books("cut", AMOUNT);
			cr_assert_eq(balance_of(ALICE), 0);
			assert_job(id, "done", "credited 20.00 EUR");
			struct ec_purse_data pd = purse();
			cr_assert_eq(pd.balance, AMOUNT, "cut at %zu: balance %u", at, pd.balance);
			cr_assert_eq(pd.counter, 1, "cut at %zu: counter %u", at, pd.counter);
			bool was_cut = plan.done;
			stop_personalized();
			if (!was_cut)
				break;
			points++;
		}
	}
	cr_log_info("top-up cut at %zu points: credited once each time", points);
	cr_assert_geq(points, 6);
}

/* The session ends after CREDIT went out unanswered, for good: the job is
 * in doubt, cannot be cancelled, and the next contact settles it. */
Test(topup, a_credit_in_doubt_waits_for_the_card)
{
	struct ec_agent_options opt;
	struct ec_agent_stats stats;
	struct ec_error err = { 0 };
	struct cut_plan plan = { .at = 3, .answered = true, .from_then_on = true };
	struct db_job j;

	start_personalized();
	long long id = queue_topup("20.00");
	agent_options(&opt);
	opt.cut = cut_once;
	opt.cut_arg = &plan;
	opt.retry_s = 1;
	cr_assert_eq(ec_agent_run(&card.pc, &opt, &stats, &err), EC_ERR_NETWORK, "%s", err.text);
	job(id, &j);
	cr_assert_str_eq(j.state, "running");
	cr_assert(j.progress && strstr(j.progress, "challenge"), "an authorised load: %s",
		  j.progress ? j.progress : "(none)");
	db_job_free(&j);
	cr_assert_eq(ota_cancel(db, id, &err), EC_ERR_ARG);
	cr_assert(strstr(err.text, "only the card can end it"), "%s", err.text);
	cr_assert_eq(balance_of(LEDGER_IN_FLIGHT), AMOUNT, "held while in doubt");

	opt.cut = NULL;
	cr_assert_eq(ec_agent_run(&card.pc, &opt, &stats, &err), EC_OK, "%s", err.text);
	assert_job(id, "done", "credited 20.00 EUR");
	cr_assert_eq(purse().balance, AMOUNT);
	assert_books("in doubt, then settled", AMOUNT);
	stop_personalized();
}

Test(topup, a_tear_at_every_write_credits_at_most_once_and_the_job_finishes, .timeout = 300)
{
	unsigned long k, points = 0;

	for (k = 1;; k++) {
		struct ec_agent_options opt;
		struct ec_agent_stats stats;
		struct ec_error err = { 0 };

		long long id = paid_topup(&opt, NULL);
		opt.reconnect = power_cycle;
		struct vc_tear_plan plan = { .tear_at = k, .partial = VC_TEAR_PARTIAL_RANDOM, .seed = k };
		vc_tear_arm(card.storage, &plan);
		enum ec_status st = ec_agent_run(&card.pc, &opt, &stats, &err);
		/* The agent's power cycle disarms the tear: a second session tells. */
		bool torn = stats.sessions > 1 || vc_tear_torn(card.storage);
		vc_tear_disarm(card.storage);
		cr_assert_eq(st, EC_OK, "tear at write %lu: %s", k, err.text);
		assert_job(id, "done", "credited 20.00 EUR");
		struct ec_purse_data pd = purse();
		cr_assert_eq(pd.balance, AMOUNT, "tear at write %lu: balance %u", k, pd.balance);
		cr_assert_eq(pd.counter, 1, "tear at write %lu: counter %u", k, pd.counter);
		assert_books("tear", AMOUNT);
		cr_assert_eq(balance_of(ALICE), 0);
		stop_personalized();
		if (!torn)
			break;
		points++;
	}
	cr_log_info("top-up torn at each of %lu writes: credited once each time", points);
	cr_assert_geq(points, 2);
}

/* ---- a dishonest relay ---- */

struct relay {
	int alter_credits;	/* CREDIT commands to spoil */
	int hide_receipts;	/* CREDIT answers to replace with a failure */
	uint8_t last_ins;
};

static void dishonest(void *arg, bool command, uint8_t *apdu, size_t *len, size_t cap)
{
	struct relay *r = arg;
	(void)cap;
	if (command) {
		r->last_ins = *len > 1 ? apdu[1] : 0;
		if (r->last_ins == 0x42 && r->alter_credits > 0 && *len > 6) {
			r->alter_credits--;
			apdu[6] ^= 0x01;	/* a byte of S2 */
		}
		return;
	}
	if (r->last_ins == 0x42 && r->hide_receipts > 0 && *len > 2) {
		r->hide_receipts--;
		apdu[0] = 0x6F;		/* "no precise diagnosis" */
		apdu[1] = 0x00;
		*len = 2;
	}
}

Test(topup, an_altered_credit_credits_nothing_then_an_honest_contact_credits_once)
{
	struct ec_agent_options opt;
	struct ec_agent_stats stats;
	struct ec_error err = { 0 };
	struct relay r = { .alter_credits = 100 };
	struct db_job j;

	start_personalized();
	long long id = queue_topup("20.00");
	agent_options(&opt);
	opt.card_retries = 0;
	opt.tap = dishonest;
	opt.tap_arg = &r;
	cr_assert_neq(ec_agent_run(&card.pc, &opt, &stats, &err), EC_OK);
	job(id, &j);
	cr_assert_str_eq(j.state, "running", "%s", j.message);
	cr_assert_eq(j.failures, 1);
	cr_assert_eq(100 - r.alter_credits, 3, "three CREDIT tries in the session");
	db_job_free(&j);
	cr_assert_eq(purse().balance, 0, "nothing credited");

	opt.tap = NULL;
	cr_assert_eq(ec_agent_run(&card.pc, &opt, &stats, &err), EC_OK, "%s", err.text);
	assert_job(id, "done", "credited 20.00 EUR");
	cr_assert_eq(purse().balance, AMOUNT);
	assert_books("altered, then honest", AMOUNT);
	stop_personalized();
}

/* The relay hides the card's receipt: the server asks the card, whose last
 * load proves the credit; nothing is loaded again. */
Test(topup, a_hidden_receipt_is_found_on_the_card_and_nothing_is_loaded_twice)
{
	struct ec_agent_options opt;
	struct ec_agent_stats stats;
	struct ec_error err = { 0 };
	struct relay r = { .hide_receipts = 1 };

	start_personalized();
	long long id = queue_topup("20.00");
	agent_options(&opt);
	opt.tap = dishonest;
	opt.tap_arg = &r;
	cr_assert_eq(ec_agent_run(&card.pc, &opt, &stats, &err), EC_OK, "%s", err.text);
	cr_assert_eq(r.hide_receipts, 0);
	assert_job(id, "done", "credited 20.00 EUR");
	struct ec_purse_data pd = purse();
	cr_assert_eq(pd.balance, AMOUNT);
	cr_assert_eq(pd.counter, 1);
	assert_books("receipt hidden", AMOUNT);
	stop_personalized();
}

/* Cancelled after its money was held but before any S2 went out: the
 * money goes back. */
Test(topup, a_cancelled_top_up_gives_its_money_back)
{
	struct ec_agent_options opt;
	struct ec_agent_stats stats;
	struct ec_error err = { 0 };
	struct cut_plan plan = { .at = 2, .answered = true, .from_then_on = true };

	long long id = paid_topup(&opt, &plan);
	opt.retry_s = 1;
	cr_assert_eq(ec_agent_run(&card.pc, &opt, &stats, &err), EC_ERR_NETWORK, "%s", err.text);
	cr_assert_eq(balance_of(ALICE), 0, "held");
	cr_assert_eq(balance_of(LEDGER_IN_FLIGHT), AMOUNT);
	cr_assert_eq(ota_cancel(db, id, &err), EC_OK, "%s", err.text);
	cr_assert_eq(balance_of(ALICE), AMOUNT, "given back");
	assert_books("cancelled", 0);
	stop_personalized();
}

/* ---- the judge, on answers made with the card's K_load ---- */

Test(topup, the_card_is_known_by_its_top_ups_and_a_blocked_card_is_locked_at_its_next_contact)
{
	struct ec_agent_options opt;
	struct ec_agent_stats stats;
	struct ec_error err = { 0 };
	struct card_info ci;
	char serial_hex[CARD_SERIAL_HEX];
	long long lock;

	start_personalized();
	queue_topup("20.00");
	agent_options(&opt);
	cr_assert_eq(ec_agent_run(&card.pc, &opt, &stats, &err), EC_OK, "%s", err.text);
	struct ec_purse_data pd = purse();
	hex_encode(pd.serial, PURSE_SERIAL_LEN, serial_hex);
	/* The top-up made the card known: its agent's identity, what it
	 * said of its balance (proven by its MACs), the load. */
	cr_assert_eq(cards_get(db, serial_hex, &ci, &err), EC_OK, "%s", err.text);
	cr_assert_str_eq(ci.se_id, card_id);
	cr_assert(ci.reported);
	cr_assert_eq(ci.balance, 2000);
	cr_assert_eq(ci.counter, 1);
	cr_assert_eq(ci.loads, 1);
	cr_assert_eq(ci.books, 2000);

	cr_assert_eq(store_begin(db, &err), EC_OK);
	cr_assert_eq(cards_set_blocked(db, serial_hex, true, &lock, &err), EC_OK, "%s", err.text);
	cr_assert_eq(store_commit(db, &err), EC_OK);
	cr_assert_eq(ec_agent_run(&card.pc, &opt, &stats, &err), EC_OK, "%s", err.text);
	assert_job(lock, "done", "");
	/* The wallet cannot be selected any more: no purchase can happen. */
	cr_assert_neq(ec_wallet_select(&card.pc, &err), EC_OK);

	long long unlock;
	cr_assert_eq(cards_set_blocked(db, serial_hex, false, &unlock, &err), EC_OK, "%s", err.text);
	cr_assert_gt(unlock, lock);
	cr_assert_eq(ec_agent_run(&card.pc, &opt, &stats, &err), EC_OK, "%s", err.text);
	assert_job(unlock, "done", "");
	pd = purse();
	cr_assert_eq(pd.balance, 2000, "the wallet is back as it was");
	stop_personalized();
}

static const uint8_t serial[PURSE_SERIAL_LEN] = { 1, 2, 3, 4, 0xCA, 0xFE, 0x00, 0x42 };

/* INITIALIZE LOAD's answer for a card at counter and balance, + 9000. */
static void init_answer(const struct ec_issuer *is, uint32_t counter, uint32_t balance,
			uint8_t fill, struct seram_apdu_list *l)
{
	struct purse_load pl = { .counter = counter, .amount = AMOUNT, .balance = balance };
	uint8_t kload[PURSE_KEY_LEN], a[WALLET_INIT_LOAD_RESPONSE_LEN + 2];

	memcpy(pl.serial, serial, sizeof(serial));
	memset(pl.challenge, fill, sizeof(pl.challenge));
	cr_assert_eq(purse_derive_kload(is->master_key, serial, kload), 0);
	memcpy(a, pl.challenge, PURSE_CHALLENGE_LEN);
	memcpy(a + 16, serial, PURSE_SERIAL_LEN);
	store_be32(a + 24, counter);
	store_be32(a + 28, balance);
	cr_assert_eq(purse_s1(kload, &pl, a + 32), 0);
	a[48] = 0x90;
	a[49] = 0x00;
	seram_apdu_list_add(l, a, sizeof(a));
}

/* Judge SELECT's 9000 and INITIALIZE LOAD's answer (GET LAST TRANSACTION
 * not asked: only INITIALIZE LOAD speaks). */
static enum topup_verdict judge(const struct ec_issuer *is, struct topup *t, const char *card_name,
				uint32_t counter, uint32_t balance, uint8_t fill)
{
	static const uint8_t ok[] = { 0x90, 0x00 };
	struct seram_apdu_list l = { 0 };
	struct ec_error err = { 0 };

	seram_apdu_list_add(&l, ok, 2);
	init_answer(is, counter, balance, fill, &l);
	enum topup_verdict v = topup_judge_ask(is, card_name, t, false, &l, &err);
	seram_apdu_list_free(&l);
	return v;
}

Test(topup, the_judge_believes_only_what_the_card_proves)
{
	struct ec_issuer is;
	char dir[512];
	struct topup t, base_t;

	ts_tmpdir_init();
	ts_issuer_new("issuer", &is, dir, sizeof(dir));

	/* Authorised at counter 7, balance 10.00. */
	memset(&base_t, 0, sizeof(base_t));
	base_t.amount = AMOUNT;
	cr_assert_eq(judge(&is, &base_t, "CAFE0042", 7, 1000, 0xAA), TOPUP_AUTHORISE);
	cr_assert(base_t.authorised);
	cr_assert_eq(base_t.load.counter, 7);

	/* Saved and read back as it was. */
	char *text = topup_save(&base_t);
	struct ec_error err = { 0 };
	cr_assert_eq(topup_load(text, AMOUNT, &t, &err), EC_OK, "%s", err.text);
	cr_assert_eq(memcmp(&t.load, &base_t.load, sizeof(t.load)), 0);
	free(text);

	/* Still at counter 7: not credited, a new S2 for the new load. */
	t = base_t;
	cr_assert_eq(judge(&is, &t, "CAFE0042", 7, 1000, 0xBB), TOPUP_AUTHORISE);
	cr_assert_eq(t.load.challenge[0], 0xBB);
	/* One operation later, the amount added: it was credited. */
	t = base_t;
	cr_assert_eq(judge(&is, &t, "CAFE0042", 8, 3000, 0xBB), TOPUP_CREDITED);
	cr_assert(t.done);
	cr_assert_eq(t.balance, 3000);
	/* One operation later, less money: a debit ended the pending load. */
	t = base_t;
	cr_assert_eq(judge(&is, &t, "CAFE0042", 8, 400, 0xBB), TOPUP_AUTHORISE);
	cr_assert_eq(t.load.counter, 8);
	/* Further on without a receipt: left to the books, never loaded again. */
	t = base_t;
	cr_assert_eq(judge(&is, &t, "CAFE0042", 10, 3000, 0xBB), TOPUP_UNRESOLVED);
	/* An answer older than the load: replayed. */
	t = base_t;
	cr_assert_eq(judge(&is, &t, "CAFE0042", 6, 1000, 0xBB), TOPUP_WAIT);
	/* Another card of the issuer than the session's. */
	memset(&t, 0, sizeof(t));
	t.amount = AMOUNT;
	cr_assert_eq(judge(&is, &t, "0BADCAFE", 7, 1000, 0xBB), TOPUP_WAIT);
	cr_assert_not(t.authorised);
	ec_issuer_wipe(&is);
	ts_tmpdir_fini();
}
