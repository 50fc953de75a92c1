/*
 * bench_settle.c - settlement figures for `make bench`: RECORDS debit
 * records (1,000,000 by default) of CARDS cards (1,000) at ten merchants,
 * each signed with its card's key and certified by a fresh issuer's CA,
 * settled into a store (SQLite by default) the way a merchant's uploads
 * and `ecard-server settle` are: every certificate and signature checked,
 * each record paid once and booked. The cards here are key pairs in
 * memory, since a card signing a million records would take the
 * benchmark's whole time; what is measured is the issuer's side.
 *
 * Prints the time to settle them all (goal: within 60 s) and, beside it,
 * the rate of ECDSA verification alone on the same threads, which bounds
 * it; and settles them all again to show that nothing is paid twice.
 *
 * usage: bench_settle [DB_URL [RECORDS [CARDS]]]
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "cards.h"
#include "crypto.h"
#include "db.h"
#include "hex.h"
#include "issuer.h"
#include "ledger.h"
#include "settle.h"
#include "store.h"

#define MERCHANTS 10
#define THREADS 2
#define GOAL_S 60.0

struct soft_card {
	uint8_t serial[PURSE_SERIAL_LEN];
	uint8_t priv[CRYPTO_EC_PRIV_LEN];
	uint8_t pub[CRYPTO_EC_PUB_LEN];
	uint8_t cert[PURSE_CERT_LEN];
};

static struct ec_issuer issuer;
static struct soft_card *cards;
static uint8_t merchant_ids[MERCHANTS][PURSE_ID_LEN];
static struct settle_item *items;
static size_t nrecords, ncards;

/* Record i: card i % ncards, its counter i / ncards + 1. */
struct gen {
	size_t from, step;
};

static void *generate(void *arg)
{
	struct gen *g = arg;
	for (size_t i = g->from; i < nrecords; i += g->step) {
		const struct soft_card *c = &cards[i % ncards];
		uint32_t counter = (uint32_t)(i / ncards + 1);
		struct purse_debit_record r = {
			.counter = counter, .amount = 1 + counter % 97, .currency = issuer.currency,
			.balance = 1000000,
		};
		memcpy(r.serial, c->serial, PURSE_SERIAL_LEN);
		memcpy(r.merchant_id, merchant_ids[i % MERCHANTS], PURSE_ID_LEN);
		crypto_random(r.challenge, sizeof(r.challenge));
		struct settle_item *it = &items[i];
		purse_debit_record_encode(&r, it->record);
		if (purse_debit_record_sign(c->priv, it->record, it->signature) != 0)
			bench_die("", "a record could not be signed");
		memcpy(it->cert, c->cert, PURSE_CERT_LEN);
		it->usable = true;
	}
	return NULL;
}

/* Verification alone: each thread with a verifier of each card's key made
 * first, as settlement keeps them. */
struct verify_job {
	size_t from, to, step, ok;
	struct crypto_ec_verifier **keys;
};

static void *verify(void *arg)
{
	struct verify_job *j = arg;
	for (size_t i = j->from; i < j->to; i += j->step)
		j->ok += purse_debit_record_verify_with(j->keys[i % ncards], items[i].record,
							items[i].signature) == 1;
	return NULL;
}

int main(int argc, char **argv)
{
	bench_name = "bench_settle";
	char dir[] = "/tmp/ecard-bench-settle-XXXXXX", issuer_dir[128], url[200];
	struct ec_error err = { 0 };
	struct store *st;

	if (!mkdtemp(dir))
		bench_die("", "no temporary directory");
	snprintf(url, sizeof(url), "%s", argc > 1 ? argv[1] : "");
	if (!url[0])
		snprintf(url, sizeof(url), "sqlite:%s/settle.db", dir);
	nrecords = argc > 2 ? (size_t)atol(argv[2]) : 1000000;
	ncards = argc > 3 ? (size_t)atol(argv[3]) : 1000;
	if (nrecords == 0 || ncards == 0)
		bench_die("", "usage: bench_settle [DB_URL [RECORDS [CARDS]]]");
	snprintf(issuer_dir, sizeof(issuer_dir), "%s/issuer", dir);
	if (ec_issuer_init(issuer_dir, 978, 50000000, &err) != EC_OK ||
	    ec_issuer_load(issuer_dir, &issuer, &err) != EC_OK)
		bench_die("", err.text);
	if (store_open(url, &st, &err) != EC_OK || db_migrate(st, &err) != EC_OK)
		bench_die("", err.text);

	/* Merchants, onboarded; cards, known, each loaded with enough. */
	double t0 = bench_now();
	for (int m = 0; m < MERCHANTS; m++) {
		uint8_t priv[CRYPTO_EC_PRIV_LEN], pub[CRYPTO_EC_PUB_LEN], cert[PURSE_CERT_LEN];
		char token[2 * SETTLE_TOKEN_LEN + 1], name[32];
		memcpy(merchant_ids[m], "BENCH\0\0", 7);
		merchant_ids[m][7] = (uint8_t)m;
		snprintf(name, sizeof(name), "shop %d", m);
		if (crypto_ec_generate(priv, pub) != 0 ||
		    purse_cert_make(issuer.ca_priv, PURSE_CERT_MERCHANT, merchant_ids[m], pub, cert) != 0 ||
		    settle_merchant_add(st, issuer.ca_pub, name, cert, token, &err) != EC_OK)
			bench_die("a merchant: ", err.text);
	}
	cards = calloc(ncards, sizeof(*cards));
	items = calloc(nrecords, sizeof(*items));
	if (!cards || !items)
		bench_die("", "out of memory");
	if (store_begin(st, &err) != EC_OK)
		bench_die("", err.text);
	size_t per_card = nrecords / ncards + 1;
	for (size_t c = 0; c < ncards; c++) {
		char serial[CARD_SERIAL_HEX], account[CARD_ACCOUNT_MAX], ref[64];
		crypto_random(cards[c].serial, PURSE_SERIAL_LEN);
		if (crypto_ec_generate(cards[c].priv, cards[c].pub) != 0 ||
		    purse_cert_make(issuer.ca_priv, PURSE_CERT_CARD, cards[c].serial, cards[c].pub,
				    cards[c].cert) != 0)
			bench_die("", "a card could not be made");
		hex_encode(cards[c].serial, PURSE_SERIAL_LEN, serial);
		card_account(serial, account);
		snprintf(ref, sizeof(ref), "bench-load/%s", serial);
		long long amount = (long long)per_card * 100;
		struct ledger_line l[2] = { { LEDGER_GRANTS, -amount }, { account, amount } };
		if (cards_add(st, serial, NULL, NULL, 0, &err) != EC_OK ||
		    ledger_post(st, ref, l, 2, NULL, &err) != EC_OK)
			bench_die("", err.text);
	}
	if (store_commit(st, &err) != EC_OK)
		bench_die("", err.text);
	pthread_t th[THREADS];
	struct gen g[THREADS];
	for (int k = 0; k < THREADS; k++) {
		g[k] = (struct gen){ (size_t)k, THREADS };
		pthread_create(&th[k], NULL, generate, &g[k]);
	}
	for (int k = 0; k < THREADS; k++)
		pthread_join(th[k], NULL);
	printf("settlement: %zu records of %zu cards at %d merchants signed in %.1f s\n", nrecords,
	       ncards, MERCHANTS, bench_now() - t0);

	/* ECDSA verification alone, on as many threads, over a sample. */
	size_t sample = nrecords < 100000 ? nrecords : 100000;
	struct verify_job vj[THREADS];
	for (int k = 0; k < THREADS; k++) {
		vj[k] = (struct verify_job){ (size_t)k, sample, THREADS, 0, calloc(ncards, sizeof(void *)) };
		for (size_t c = 0; c < ncards && vj[k].keys; c++)
			vj[k].keys[c] = crypto_ec_verifier_new(cards[c].pub);
	}
	t0 = bench_now();
	for (int k = 0; k < THREADS; k++)
		pthread_create(&th[k], NULL, verify, &vj[k]);
	size_t ok = 0;
	for (int k = 0; k < THREADS; k++) {
		pthread_join(th[k], NULL);
		ok += vj[k].ok;
	}
	double verify_rate = (double)sample / (bench_now() - t0);
	for (int k = 0; k < THREADS; k++) {
		for (size_t c = 0; c < ncards && vj[k].keys; c++)
			crypto_ec_verifier_free(vj[k].keys[c]);
		free(vj[k].keys);
	}
	if (ok != sample)
		bench_die("", "a record did not verify");

	struct settle_options o = { .ca_pub = issuer.ca_pub, .currency = issuer.currency,
				    .threads = THREADS, .chunk = 5000 };
	struct settle_counts counts, again;
	t0 = bench_now();
	if (settle_items(st, &o, items, nrecords, NULL, &counts, &err) != EC_OK)
		bench_die("", err.text);
	double secs = bench_now() - t0;
	t0 = bench_now();
	if (settle_items(st, &o, items, nrecords, NULL, &again, &err) != EC_OK)
		bench_die("", err.text);
	double secs_again = bench_now() - t0;
	struct ledger_account *acc;
	size_t nacc;
	long long sum;
	if (ledger_accounts(st, &acc, &nacc, &sum, &err) != EC_OK)
		bench_die("", err.text);
	free(acc);
	bool right = counts.outcome[SETTLE_PAID] == nrecords &&
		     again.outcome[SETTLE_DUPLICATE] == nrecords && again.paid_amount == 0 && sum == 0;
	printf("settlement: %zu records settled in %.1f s, %.0f records/s (goal: within %.0f s: %s);"
	       " ECDSA verification alone on %d threads: %.0f records/s\n",
	       nrecords, secs, nrecords / secs, GOAL_S, secs <= GOAL_S ? "met" : "MISSED", THREADS,
	       verify_rate);
	printf("settlement: the same records again in %.1f s: %zu duplicates, nothing paid twice;"
	       " the books %s\n",
	       secs_again, again.outcome[SETTLE_DUPLICATE], sum == 0 ? "balance" : "DO NOT BALANCE");
	store_close(st);
	ec_issuer_wipe(&issuer);
	free(cards);
	free(items);
	char cmd[96];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench_settle: %s was left behind\n", dir);
	return right ? 0 : 1;
}
