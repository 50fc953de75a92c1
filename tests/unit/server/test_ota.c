/*
 * test_ota.c - ecard-server's remote agent and `ecard agent` in one
 * process: the server's HTTP side on loopback with an SQLite store in a
 * temporary directory, the agent on a card in memory. Loads and installs
 * a CAP file at levels 03 and 33, deletes, cuts the link at every exchange
 * (the report lost before it reaches the server, or the order lost on its
 * way back) and checks that each job completes once, that the card takes
 * every LOAD block exactly once, and that a relay that alters or replays an
 * APDU gets the job refused until an honest contact.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "gp.h"
#include "ota_fixture.h"
#include "scp03.h"
#include "seram.h"


/* ---- the messages ---- */

Test(seram, report_round_trip_and_the_spec_s_other_names)
{
	struct seram_report r = { .status = SERAM_PROCESSED, .executed = 2 };
	struct seram_report back;
	struct ec_error err = { 0 };
	static const uint8_t sw[] = { 0x90, 0x00 };

	struct seram_apdu_list *l = seram_report_add(&r);
	seram_apdu_list_add(l, sw, 2);
	seram_apdu_list_add(l, NULL, 0);
	char *text = seram_report_encode(&r);
	cr_assert(strstr(text, "\"executedSeRamCommands\":2"), "%s", text);
	cr_assert(strstr(text, "\"listOfRAPDU\":[\"9000\",\"\"]"), "%s", text);
	cr_assert_eq(seram_report_parse(text, strlen(text), &back, &err), EC_OK, "%s", err.text);
	cr_assert_eq(back.executed, 2);
	cr_assert_eq(back.count, 1);
	cr_assert_eq(back.responses[0].count, 2);
	cr_assert_eq(back.responses[0].items[1].len, 0);
	free(text);
	seram_report_free(&r);
	seram_report_free(&back);

	/* The example's spelling of the count, and a bad status. */
	const char *ex = "{\"localAgentStatus\":{\"localAgentStatusEnum\":\"POLLING\",\"executeRamCommands\":0}}";
	cr_assert_eq(seram_report_parse(ex, strlen(ex), &back, &err), EC_OK, "%s", err.text);
	cr_assert_eq(back.status, SERAM_POLLING);
	seram_report_free(&back);
	const char *bad = "{\"localAgentStatus\":{\"localAgentStatusEnum\":\"SLEEPING\"}}";
	cr_assert_eq(seram_report_parse(bad, strlen(bad), &back, &err), EC_ERR_FORMAT);
	seram_report_free(&back);
	const char *odd = "{\"localAgentStatus\":{\"localAgentStatusEnum\":\"PROCESSED\"},"
			  "\"ramResponses\":[{\"ramResponseType\":\"seRamResponse\",\"listOfRAPDU\":[\"900\"]}]}";
	cr_assert_eq(seram_report_parse(odd, strlen(odd), &back, &err), EC_ERR_FORMAT,
		     "an odd number of hex digits");
	seram_report_free(&back);
}

Test(seram, order_names_sent_and_accepted)
{
	struct seram_order o = { .delay = 0 }, back;
	struct ec_error err = { 0 };
	static const uint8_t apdu[] = { 0x00, 0xA4, 0x04, 0x00 };

	seram_order_add(&o, SERAM_CMD_START);
	struct seram_command *c = seram_order_add(&o, SERAM_CMD_SE_RAM);
	seram_apdu_list_add(&c->apdus, apdu, sizeof(apdu));
	seram_order_add(&o, SERAM_CMD_STOP);
	char *text = seram_order_encode(&o);
	cr_assert(strstr(text, "\"ramStartCommand\""), "%s", text);
	cr_assert(strstr(text, "\"ramStopCommand\""), "%s", text);
	cr_assert(strstr(text, "\"00A40400\""), "%s", text);
	free(text);
	seram_order_free(&o);

	const char *ex = "{\"ramCommands\":[{\"ramCommandType\":\"startCommand\"},"
			 "{\"ramCommandType\":\"stopCommand\"}]}";
	cr_assert_eq(seram_order_parse(ex, strlen(ex), &back, &err), EC_OK, "%s", err.text);
	cr_assert_eq(back.count, 2);
	cr_assert_eq(back.commands[0].type, SERAM_CMD_START);
	cr_assert_eq(back.commands[1].type, SERAM_CMD_STOP);
	cr_assert_eq(back.delay, -1, "no delay given");
	seram_order_free(&back);

	struct seram_handshake_response hr;
	const char *hs = "{\"chosenTransportProtocol\":\"HTTPS\",\"chosenDataProtocol\":\"application/json\","
			 "\"chosenVersion\":\"2.0.0\"}";
	cr_assert_eq(seram_handshake_response_parse(hs, strlen(hs), &hr, &err), EC_OK, "%s", err.text);
	cr_assert_str_eq(hr.format, "application/json");
}

/* ---- over the air, in process ---- */

static void load_and_install_at(uint8_t level)
{
	struct ec_agent_options opt;
	struct ec_agent_stats stats;
	struct ec_error err = { 0 };
	struct db_job j;

	make_cap(20000);
	long long id = queue_load(level, true);
	agent_options(&opt);
	cr_assert_eq(ec_agent_run(&card.pc, &opt, &stats, &err), EC_OK, "%s", err.text);
	cr_assert_eq(stats.jobs_done, 1);
	cr_assert_eq(stats.sessions, 1);
	job(id, &j);
	cr_assert_str_eq(j.state, "done", "%s", j.message);
	cr_assert_eq(j.blocks_sent, (long)loads_at_card);
	cr_assert_eq(stats.load_blocks, loads_at_card);
	/* Handshake, poll, INITIALIZE UPDATE, one batch, the stop. */
	cr_assert_leq(stats.exchanges, 5, "%zu exchanges", stats.exchanges);
	db_job_free(&j);
	assert_selectable(instance, sizeof(instance));
}

Test(ota, load_and_install_at_level_03, .init = NULL)
{
	start(0);
	load_and_install_at(0x03);
	stop();
}

Test(ota, load_and_install_at_level_33)
{
	start(0);
	load_and_install_at(0x33);
	stop();
}

Test(ota, no_job_ends_the_session_and_delete_runs)
{
	struct ec_agent_options opt;
	struct ec_agent_stats stats;
	struct ec_error err = { 0 };
	struct db_job j;
	long long id;

	start(0);
	agent_options(&opt);
	cr_assert_eq(ec_agent_run(&card.pc, &opt, &stats, &err), EC_OK, "%s", err.text);
	cr_assert_eq(stats.apdus, 0, "nothing to do: nothing sent to the card");
	make_cap(3000);
	queue_load(0x03, true);
	cr_assert_eq(ota_add_delete(db, card_id, pkg, sizeof(pkg), 0x03, &id, &err), EC_OK, "%s",
		     err.text);
	cr_assert_eq(ec_agent_run(&card.pc, &opt, &stats, &err), EC_OK, "%s", err.text);
	cr_assert_eq(stats.jobs_done, 2);
	job(id, &j);
	cr_assert_str_eq(j.state, "done", "%s", j.message);
	db_job_free(&j);
	stop();
}

/* ---- cuts ---- */


/* A 64 KiB load in orders of about 8 KiB, cut at every exchange, both ways. */
Test(ota, a_cut_at_every_exchange_resumes_without_resending, .timeout = 300)
{
	size_t exchanges = 0;

	for (int answered = 0; answered <= 1; answered++) {
		for (size_t at = 1;; at++) {
			struct ec_agent_options opt;
			struct ec_agent_stats stats;
			struct ec_error err = { 0 };
			struct cut_plan plan = { .at = at, .answered = answered };
			struct db_job j;

			start(8192);
			make_cap(64 * 1024);
			long long id = queue_load(0x03, true);
			agent_options(&opt);
			opt.cut = cut_once;
			opt.cut_arg = &plan;
			cr_assert_eq(ec_agent_run(&card.pc, &opt, &stats, &err), EC_OK,
				     "cut at %zu (%s): %s", at, answered ? "answer" : "request", err.text);
			job(id, &j);
			cr_assert_str_eq(j.state, "done", "cut at %zu: %s", at, j.message);
			size_t commands = 0;
			cr_assert_eq(ota_job_commands(db, &j, &commands, &err), EC_OK);
			size_t blocks = commands - 2;
			cr_assert_eq(loads_at_card, blocks,
				     "cut at %zu (%s): the card took %zu LOAD commands for %zu blocks",
				     at, answered ? "answer" : "request", loads_at_card, blocks);
			assert_selectable(instance, sizeof(instance));
			db_job_free(&j);
			bool was_cut = plan.done;
			if (!was_cut)
				exchanges = stats.exchanges;
			stop();
			if (!was_cut)
				break;
			cr_assert_eq(stats.retries, 1, "cut at %zu: one new session", at);
		}
	}
	cr_assert_geq(exchanges, 10, "the load took %zu exchanges", exchanges);
	cr_log_info("64 KiB load in 8 KiB orders: %zu exchanges, each cut both ways", exchanges);
}

/* ---- a malicious relay ---- */

static void flip_last_command_byte(void *arg, bool command, uint8_t *apdu, size_t *len, size_t cap)
{
	int *left = arg;
	(void)cap;
	/* Alter the 3rd LOAD block's MAC. */
	if (command && *len > 8 && apdu[1] == 0xE8 && apdu[3] == 2 && (*left)-- > 0)
		apdu[*len - 1] ^= 0x01;
}

/*
 * A load at level 33 relayed by a relay that plays tap (which must make
 * the card refuse): the session fails and the job waits, its record then
 * in *bad (the caller checks and frees it); an honest relay then finishes
 * the job and the application answers.
 */
static void dishonest_then_honest(ec_agent_tap_fn tap, void *tap_arg, struct db_job *bad)
{
	struct ec_agent_options opt;
	struct ec_agent_stats stats;
	struct ec_error err = { 0 };
	struct db_job j;

	start(0);
	make_cap(8000);
	long long id = queue_load(0x33, true);
	agent_options(&opt);
	opt.card_retries = 0;
	opt.tap = tap;
	opt.tap_arg = tap_arg;
	cr_assert_neq(ec_agent_run(&card.pc, &opt, &stats, &err), EC_OK);
	job(id, bad);
	cr_assert_str_eq(bad->state, "running", "not done, not given up: %s", bad->message);

	opt.tap = NULL;
	opt.card_retries = 2;
	cr_assert_eq(ec_agent_run(&card.pc, &opt, &stats, &err), EC_OK, "%s", err.text);
	job(id, &j);
	cr_assert_str_eq(j.state, "done", "%s", j.message);
	db_job_free(&j);
	assert_selectable(instance, sizeof(instance));
	stop();
}

Test(ota, an_altered_command_fails_the_session_then_an_honest_contact_finishes)
{
	struct db_job bad;
	int tamper = 1;

	dishonest_then_honest(flip_last_command_byte, &tamper, &bad);
	cr_assert_eq(bad.failures, 1);
	db_job_free(&bad);
}


/* A batched load and install, torn at each of its writes in turn. */
Test(ota, a_tear_at_every_write_of_a_batched_load, .timeout = 600)
{
	unsigned long k, points = 0, resent = 0;
	size_t blocks = 0;

	for (k = 1;; k++) {
		struct ec_agent_options opt;
		struct ec_agent_stats stats;
		struct ec_error err = { 0 };
		struct db_job j;

		start(4096);
		make_cap(6000);
		long long id = queue_load(0x03, true);
		agent_options(&opt);
		opt.reconnect = power_cycle;
		struct vc_tear_plan plan = { .tear_at = k, .partial = VC_TEAR_PARTIAL_RANDOM, .seed = k };
		vc_tear_arm(card.storage, &plan);
		enum ec_status st = ec_agent_run(&card.pc, &opt, &stats, &err);
		bool torn = stats.sessions > 1 || vc_tear_torn(card.storage);
		vc_tear_disarm(card.storage);
		cr_assert_eq(st, EC_OK, "tear at write %lu: %s", k, err.text);
		job(id, &j);
		cr_assert_str_eq(j.state, "done", "tear at write %lu: %s", k, j.message);
		size_t commands = 0;
		cr_assert_eq(ota_job_commands(db, &j, &commands, &err), EC_OK);
		blocks = commands - 2;
		/* The block being written when the power went is the only one
		 * that may go twice: the card did not keep it. */
		cr_assert_geq(loads_at_card, blocks);
		cr_assert_leq(loads_at_card, blocks + 1, "tear at write %lu: %zu LOAD commands for %zu blocks",
			      k, loads_at_card, blocks);
		resent += loads_at_card - blocks;
		assert_selectable(instance, sizeof(instance));
		db_job_free(&j);
		stop();
		if (!torn)
			break;
		points++;
	}
	cr_log_info("torn at each of %lu writes of a %zu-block load and install; %lu torn blocks sent again",
		    points, blocks, resent);
	cr_assert_gt(points, blocks, "several writes a block");
}

/* ---- what the relay sees ---- */


Test(ota, the_agent_relays_no_key_material)
{
	struct ec_agent_options opt;
	struct ec_agent_stats stats;
	struct ec_error err = { 0 };
	struct recording rec = { 0 };
	struct ec_gp_keys keys;

	start(0);
	make_cap(8000);
	queue_load(0x33, true);
	agent_options(&opt);
	opt.tap = record;
	opt.tap_arg = &rec;
	cr_assert_eq(ec_agent_run(&card.pc, &opt, &stats, &err), EC_OK, "%s", err.text);
	cr_assert_gt(rec.len, 8000, "the whole load went through the tap");

	/* The static keys, and the session keys of the session it relayed:
	 * from the host challenge in INITIALIZE UPDATE and the card's. */
	ec_gp_default_keys(&keys, 0);
	cr_assert_not(seen(&rec, keys.enc, keys.len));
	cr_assert_not(seen(&rec, keys.mac, keys.len));
	cr_assert_not(seen(&rec, keys.dek, keys.len));
	const uint8_t iu_head[] = { 0x80, 0x50, 0x00, 0x00, 0x08 };
	const uint8_t *iu = memmem(rec.bytes, rec.len, iu_head, sizeof(iu_head));
	cr_assert_not_null(iu, "INITIALIZE UPDATE was relayed");
	struct scp03_session s;
	struct scp03_keys k = { .len = keys.len };
	memcpy(k.enc, keys.enc, keys.len);
	memcpy(k.mac, keys.mac, keys.len);
	memcpy(k.dek, keys.dek, keys.len);
	memset(&s, 0, sizeof(s));
	memcpy(s.host_challenge, iu + 5, 8);
	/* The answer follows the command (14 bytes with Le): KDD(10) KVN
	 * SCP i, then the card challenge. */
	memcpy(s.card_challenge, iu + 14 + 13, 8);
	cr_assert_eq(scp03_derive_session_keys(&s, &k), SCP03_OK);
	cr_assert_not(seen(&rec, s.s_enc, s.key_len), "S-ENC never crosses the relay");
	cr_assert_not(seen(&rec, s.s_mac, s.key_len), "S-MAC never crosses the relay");
	cr_assert_not(seen(&rec, s.s_rmac, s.key_len), "S-RMAC never crosses the relay");
	/* The session keys are the real ones: they make the card's cryptogram. */
	uint8_t cryptogram[SCP03_CRYPTOGRAM_LEN];
	cr_assert_eq(scp03_cryptogram(&s, SCP03_DC_CARD_CRYPTOGRAM, cryptogram), SCP03_OK);
	cr_assert(seen(&rec, cryptogram, sizeof(cryptogram)), "the derivation matches the session");
	free(rec.bytes);
	stop();
}

/* ---- the card's own keys ---- */

Test(ota, put_keys_gives_the_card_its_own_keys_and_the_next_job_uses_them)
{
	struct ec_agent_options opt;
	struct ec_agent_stats stats;
	struct ec_error err = { 0 };
	struct recording rec = { 0 };
	struct db_job j;
	long long id;

	with_issuer = true;
	start(0);
	with_issuer = false;
	cr_assert_eq(ota_add_put_keys(db, card_id, &id, &err), EC_OK, "%s", err.text);
	agent_options(&opt);
	opt.tap = record;
	opt.tap_arg = &rec;
	cr_assert_eq(ec_agent_run(&card.pc, &opt, &stats, &err), EC_OK, "%s", err.text);
	job(id, &j);
	cr_assert_str_eq(j.state, "done", "%s", j.message);
	db_job_free(&j);

	/* The new keys never crossed the relay in clear. */
	const uint8_t iu_head[] = { 0x80, 0x50, 0x00, 0x00, 0x08 };
	const uint8_t *iu = memmem(rec.bytes, rec.len, iu_head, sizeof(iu_head));
	cr_assert_not_null(iu);
	uint8_t kdd[EC_GP_KDD_LEN];
	memcpy(kdd, iu + 14, sizeof(kdd));
	struct ec_gp_keys own;
	cr_assert_eq(ec_issuer_card_keys(&issuer, kdd, &own, &err), EC_OK, "%s", err.text);
	cr_assert_not(seen(&rec, own.enc, own.len));
	cr_assert_not(seen(&rec, own.mac, own.len));
	cr_assert_not(seen(&rec, own.dek, own.len));
	free(rec.bytes);
	opt.tap = NULL;

	/* The card now opens with its own keys (version 01) only: a load
	 * goes through with them. */
	make_cap(5000);
	long long load = queue_load(0x33, true);
	cr_assert_eq(ec_agent_run(&card.pc, &opt, &stats, &err), EC_OK, "%s", err.text);
	job(load, &j);
	cr_assert_str_eq(j.state, "done", "%s", j.message);
	db_job_free(&j);
	assert_selectable(instance, sizeof(instance));
	ec_issuer_wipe(&issuer);
	stop();
}

/* A card without DF70 (a real Java Card): after a cut, the load starts
 * over from INSTALL [for load] and block 0, and still finishes. */
Test(ota, a_card_without_df70_starts_the_load_over_and_finishes)
{
	struct ec_agent_options opt;
	struct ec_agent_stats stats;
	struct ec_error err = { 0 };
	struct cut_plan plan = { .at = 5, .answered = false, .from_then_on = true };
	struct db_job j;

	start(4096);
	no_df70 = true;
	make_cap(20000);
	long long id = queue_load(0x03, true);
	agent_options(&opt);
	opt.cut = cut_once;
	opt.cut_arg = &plan;
	/* The link goes for good after the second batch ran on the card: the
	 * agent gives up; the next contact is a new session. */
	opt.retry_s = 1;
	cr_assert_eq(ec_agent_run(&card.pc, &opt, &stats, &err), EC_ERR_NETWORK, "%s", err.text);
	cr_assert(plan.done);
	opt.cut = NULL;
	cr_assert_eq(ec_agent_run(&card.pc, &opt, &stats, &err), EC_OK, "%s", err.text);
	job(id, &j);
	cr_assert_str_eq(j.state, "done", "%s", j.message);
	size_t commands = 0;
	cr_assert_eq(ota_job_commands(db, &j, &commands, &err), EC_OK);
	cr_assert_gt(loads_at_card, commands - 2, "blocks the card had went again: %zu for %zu",
		     loads_at_card, commands - 2);
	db_job_free(&j);
	assert_selectable(instance, sizeof(instance));
	stop();
}

/* A relay that replays an earlier command in place of the next one. */
static void replay_second_load(void *arg, bool command, uint8_t *apdu, size_t *len, size_t cap)
{
	struct recording *r = arg;
	(void)cap;
	if (!command || *len < 5 || apdu[1] != 0xE8)
		return;
	if (apdu[3] == 1 && !r->bytes) {
		r->bytes = malloc(*len);
		memcpy(r->bytes, apdu, *len);
		r->len = *len;
	} else if (apdu[3] == 2 && r->bytes) {
		memcpy(apdu, r->bytes, r->len);
		*len = r->len;
	}
}

Test(ota, a_replayed_command_is_refused_then_an_honest_contact_finishes)
{
	struct recording rec = { 0 };
	struct db_job bad;

	dishonest_then_honest(replay_second_load, &rec, &bad);
	cr_assert(strstr(bad.message, "6982"), "the card refused the replay: %s", bad.message);
	db_job_free(&bad);
	free(rec.bytes);
}
