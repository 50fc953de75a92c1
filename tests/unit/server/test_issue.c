/*
 * test_issue.c - issuing a card over the air (server/perso_job.h): a
 * personalize job, relayed by `ecard agent` in process to a new card in
 * memory, makes the card its holder's with its own key pair certified by
 * the issuer, its K_load, limits and profile, and its own card manager
 * keys; nothing secret goes in clear; and a link cut at any exchange, in
 * either direction, still ends with one card issued, sealed and known.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "cards.h"
#include "gp.h"
#include "hex.h"
#include "holders.h"
#include "ota_fixture.h"
#include "perso_job.h"
#include "profile.h"
#include "purse.h"
#include "test_support.h"
#include "topup.h"
#include "wallet.h"

static long long holder_id;

static void start_issuer(void)
{
	struct ec_error err = { 0 };
	struct holder h;

	with_issuer = true;
	start(0);
	with_issuer = false;
	cr_assert_eq(holders_add(db, "hana@example.org", "Hana Ito", "correct horse battery", 0,
				 "test", &h, &err), EC_OK, "%s", err.text);
	holder_id = h.id;
}

static void stop_issuer(void)
{
	ec_issuer_wipe(&issuer);
	stop();
}

static long long queue_issue(long long order)
{
	struct ec_error err = { 0 };
	long long id;
	cr_assert_eq(ota_add_personalize(db, card_id, holder_id, order, "Hana Ito", "hana@example.org",
					 &id, &err), EC_OK, "%s", err.text);
	return id;
}

/* The card is issued, sealed, known, and its holder's. */
static void assert_issued(long long job_id, char serial_out[CARD_SERIAL_HEX])
{
	struct ec_error err = { 0 };
	struct ec_purse_data pd;
	uint8_t cert[PURSE_CERT_LEN], id[PURSE_ID_LEN], pub[CRYPTO_EC_PUB_LEN];
	struct db_job j;

	job(job_id, &j);
	cr_assert_str_eq(j.state, "done", "%s", j.message);
	cr_assert(strstr(j.message, "issued"), "%s", j.message);
	db_job_free(&j);
	cr_assert_eq(ec_wallet_select(&card.pc, &err), EC_OK, "%s", err.text);
	cr_assert_eq(ec_wallet_purse_data(&card.pc, &pd, &err), EC_OK, "%s", err.text);
	cr_assert_eq(pd.currency, issuer.currency);
	cr_assert_eq(pd.max_balance, issuer.max_balance);
	cr_assert_eq(ec_wallet_card_cert(&card.pc, cert, &err), EC_OK, "%s", err.text);
	cr_assert_eq(purse_cert_check(issuer.ca_pub, PURSE_CERT_CARD, cert, id, pub), 1);
	cr_assert_arr_eq(id, pd.serial, PURSE_SERIAL_LEN);
	char serial[CARD_SERIAL_HEX], certhex[2 * PURSE_CERT_LEN + 1];
	hex_encode(pd.serial, PURSE_SERIAL_LEN, serial);
	hex_encode(cert, PURSE_CERT_LEN, certhex);
	struct card_info ci;
	cr_assert_eq(cards_get(db, serial, &ci, &err), EC_OK, "%s", err.text);
	cr_assert_eq(ci.holder, holder_id);
	cr_assert_str_eq(ci.se_id, card_id);
	struct store_result r;
	const char *p[] = { serial };
	cr_assert_eq(store_exec(db, "SELECT certificate FROM cards WHERE serial = $1", p, 1, &r, &err),
		     EC_OK);
	cr_assert_str_eq(store_cell(&r, 0, 0), certhex, "the centre knows the card's certificate");
	store_result_free(&r);
	/* The test keys no longer open the card manager. */
	struct ec_gp_session s;
	struct ec_gp_keys test;
	struct ec_gp_options o;
	ec_gp_options_init(&o);
	ec_gp_default_keys(&test, 0);
	memset(&s, 0, sizeof(s));
	cr_assert_neq(ec_gp_connect(&s, &card.pc, &test, &o, &err), EC_OK,
		      "the test keys still open the card");
	ec_gp_close(&s);
	if (serial_out)
		snprintf(serial_out, CARD_SERIAL_HEX, "%s", serial);
}

TestSuite(issue, .timeout = 180);

Test(issue, a_new_card_is_issued_over_the_air_with_nothing_in_clear)
{
	struct ec_agent_options opt;
	struct ec_agent_stats stats;
	struct ec_error err = { 0 };
	struct recording rec = { 0 };
	char serial[CARD_SERIAL_HEX];
	long long order;

	start_issuer();
	cr_assert_eq(orders_add(db, holder_id, &order, &err), EC_OK, "%s", err.text);
	long long id = queue_issue(order);
	agent_options(&opt);
	opt.tap = record;
	opt.tap_arg = &rec;
	cr_assert_eq(ec_agent_run(&card.pc, &opt, &stats, &err), EC_OK, "%s", err.text);
	cr_assert_eq(stats.jobs_done, 1);
	assert_issued(id, serial);
	/* The order is filled. */
	struct card_order *orders;
	size_t n;
	cr_assert_eq(orders_list(db, holder_id, &orders, &n, &err), EC_OK);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(orders[0].state, ORDER_ISSUED);
	cr_assert_str_eq(orders[0].serial, serial);
	free(orders);

	/* Nothing of the card's secrets or of its new key pair went in clear:
	 * not K_load, not the card's public key (the answers are encrypted),
	 * not the certificate, not the holder's address. */
	uint8_t raw[PURSE_SERIAL_LEN], kload[PURSE_KEY_LEN], cert[PURSE_CERT_LEN];
	cr_assert_eq(hex_decode(serial, raw, sizeof(raw)), (long)sizeof(raw));
	cr_assert_eq(purse_derive_kload(issuer.master_key, raw, kload), 0);
	cr_assert_eq(ec_wallet_select(&card.pc, &err), EC_OK);
	cr_assert_eq(ec_wallet_card_cert(&card.pc, cert, &err), EC_OK);
	cr_assert(rec.len > 0);
	cr_assert_not(seen(&rec, kload, sizeof(kload)), "K_load went in clear");
	cr_assert_not(seen(&rec, cert + PURSE_CERT_PUB_OFF, 32), "the card's key went in clear");
	cr_assert_not(seen(&rec, cert + PURSE_CERT_PUB_OFF + CRYPTO_EC_PUB_LEN, 32),
		      "the certificate went in clear");
	cr_assert_not(seen(&rec, (const uint8_t *)"hana@example.org", 16), "the address went in clear");
	free(rec.bytes);
	opt.tap = NULL;

	/* The profile holds the holder's name and address. */
	char value[EC_PROFILE_VALUE_MAX + 1];
	size_t vlen;
	cr_assert_eq(ec_profile_select(&card.pc, &err), EC_OK, "%s", err.text);
	cr_assert_eq(ec_profile_get_field(&card.pc, PROFILE_FIELD_EMAIL, value, sizeof(value), &vlen, &err), EC_OK,
		     "%s", err.text);
	cr_assert_str_eq(value, "hana@example.org");
	cr_assert_eq(ec_profile_get_field(&card.pc, PROFILE_FIELD_SURNAME, value, sizeof(value), &vlen, &err), EC_OK);
	cr_assert_str_eq(value, "Ito");

	/* The card works with its own keys: a top-up over the air (its
	 * K_load proves itself in S1 and S3). */
	long long t;
	cr_assert_eq(ota_add_topup(db, card_id, "12.00", NULL, &t, &err), EC_OK, "%s", err.text);
	cr_assert_eq(ec_agent_run(&card.pc, &opt, &stats, &err), EC_OK, "%s", err.text);
	struct db_job j;
	job(t, &j);
	cr_assert_str_eq(j.state, "done", "%s", j.message);
	db_job_free(&j);
	/* A second personalization of the same card is refused by the card. */
	long long again = queue_issue(0);
	ec_agent_run(&card.pc, &opt, &stats, &err);
	job(again, &j);
	cr_assert_str_eq(j.state, "failed", "%s", j.message);
	cr_assert(strstr(j.message, "6985"), "%s", j.message);
	db_job_free(&j);
	stop_issuer();
}

/* Cut at each exchange, before the request and after the answer. */
Test(issue, a_cut_at_every_exchange_still_issues_one_card)
{
	size_t points = 0;

	for (int answered = 0; answered <= 1; answered++) {
		for (size_t at = 1;; at++) {
			struct ec_agent_options opt;
			struct ec_agent_stats stats;
			struct ec_error err = { 0 };
			struct cut_plan plan = { .at = at, .answered = answered };

			start_issuer();
			long long id = queue_issue(0);
			agent_options(&opt);
			opt.cut = cut_once;
			opt.cut_arg = &plan;
			cr_assert_eq(ec_agent_run(&card.pc, &opt, &stats, &err), EC_OK,
				     "cut at %zu (%s): %s", at, answered ? "answer" : "request", err.text);
			assert_issued(id, NULL);
			bool was_cut = plan.done;
			stop_issuer();
			if (!was_cut)
				break;
			points++;
		}
	}
	cr_log_info("issuance cut at %zu points: one card issued each time", points);
	cr_assert_geq(points, 8);
}

Test(issue, the_progress_and_the_resume_points)
{
	struct perso_progress p = { 0 }, q;
	struct ec_error err = { 0 };

	cr_assert_eq(perso_resume(3, &p), 0, "no key pair known: from the start");
	p.certified = true;
	memset(p.serial, 0x5A, sizeof(p.serial));
	memset(p.cert, 0xC3, sizeof(p.cert));
	cr_assert_eq(perso_resume(4, &p), PERSO_KEYGEN + 1, "the key pair known: the wallet's blocks");
	p.sealed = true;
	cr_assert_eq(perso_resume(7, &p), PERSO_SEAL + 1);
	cr_assert_eq(perso_resume(PERSO_PUT_KEY, &p), PERSO_PUT_KEY);
	char *text = perso_save(&p);
	cr_assert_eq(perso_load(text, &q, &err), EC_OK);
	cr_assert(q.certified && q.sealed);
	cr_assert_arr_eq(q.cert, p.cert, sizeof(p.cert));
	free(text);
	cr_assert_eq(perso_load("{\"certified\": true}", &q, &err), EC_ERR_FORMAT);
	cr_assert_eq(perso_load("{\"sealed\": true}", &q, &err), EC_ERR_FORMAT);
	cr_assert_eq(perso_load("[", &q, &err), EC_ERR_FORMAT);
	cr_assert_eq(perso_stage_end(0), 2);
	cr_assert_eq(perso_stage_end(2), 6);
	cr_assert_eq(perso_stage_end(6), PERSO_COMMANDS);
}
