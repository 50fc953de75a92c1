/*
 * test_wallet.c - the holder's side of the wallet (host/wallet.c) and the
 * merchant's payments (host/merchant.c), end to end against an in-process
 * card (vcard-daemon/inproc.h): factory personalization, top-up, purchase,
 * balance and log, with answers lost on the way.
 *
 * The lost answers are made by a transport wrapped around the in-process
 * one: it lets the card process a command and then reports the card as
 * removed (SCARD_W_REMOVED_CARD) instead of returning the answer, or drops
 * the command before the card sees it. The clients must then find out
 * from the card what happened, and never debit or credit twice.
 */
#include <criterion/criterion.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "amount.h"
#include "host_fixture.h"
#include "crypto.h"
#include "cursor.h"
#include "exchange.h"
#include "issuer.h"
#include "merchant.h"
#include "perso.h"
#include "pin_client.h"
#include "purse.h"
#include "test_support.h"
#include "wallet.h"

#define EUR 978

static const uint8_t merchant_id[PURSE_ID_LEN] = { 0x4D, 0x45, 0x52, 0x43, 0x48, 0x00, 0x00, 0x07 };

/* ---- end to end, in process ---- */

static struct ts_card c;
static ec_raw_transmit_fn inner_transmit;
static struct ec_issuer issuer;
static struct ec_merchant shop;
static uint8_t serial[PURSE_SERIAL_LEN];

/* What the lossy transport does to the next command with this INS. */
enum loss {
	LOSE_NOTHING,
	LOSE_ANSWER,		/* the card processes it, the answer never arrives */
	LOSE_COMMAND,		/* the card never sees it */
};

static uint8_t lossy_ins;
static enum loss lossy_mode;
static unsigned lost_count;

static long lossy_transmit(struct ec_pcsc *p, const uint8_t *cmd, size_t cmd_len,
			   uint8_t *resp, size_t *resp_len)
{
	if (lossy_mode != LOSE_NOTHING && cmd_len >= 2 && cmd[1] == lossy_ins) {
		enum loss mode = lossy_mode;
		lossy_mode = LOSE_NOTHING;
		lost_count++;
		if (mode == LOSE_ANSWER) {
			long rv = inner_transmit(p, cmd, cmd_len, resp, resp_len);
			cr_assert_eq(rv, SCARD_S_SUCCESS);
			*resp_len = 0;
		}
		return SCARD_W_REMOVED_CARD;
	}
	return inner_transmit(p, cmd, cmd_len, resp, resp_len);
}

static void lose_next(uint8_t ins, enum loss mode)
{
	lossy_ins = ins;
	lossy_mode = mode;
}

static int pin_1234(void *arg, char pin[EC_PIN_TEXT_MAX], struct ec_error *err)
{
	(void)err;
	snprintf(pin, EC_PIN_TEXT_MAX, "%s", arg ? (const char *)arg : "1234");
	return 0;
}

static int pin_cancel(void *arg, char pin[EC_PIN_TEXT_MAX], struct ec_error *err)
{
	(void)arg;
	(void)pin;
	(void)err;
	return -1;
}

static void e2e_setup(void)
{
	char dir[128], path[128];
	struct ec_error err = { 0 };

	ts_tmpdir_init();
	ts_card_open(&c, 0, NULL);
	inner_transmit = c.pc.raw_transmit;
	c.pc.raw_transmit = lossy_transmit;
	lossy_mode = LOSE_NOTHING;
	lost_count = 0;

	ts_issuer_new("issuer", &issuer, dir, sizeof(dir));
	ts_tmp_path(path, sizeof(path), "shop.key");
	cr_assert_eq(ec_merchant_init(&issuer, merchant_id, path, &err), EC_OK, "%s", err.text);
	cr_assert_eq(ec_merchant_load(path, &shop, &err), EC_OK, "%s", err.text);

	struct ec_gp_keys test;
	ec_gp_default_keys(&test, 0);
	cr_assert_eq(ec_personalize(&issuer, &c.pc, NULL, &test, NULL, serial, &err), EC_OK, "%s",
		     err.text);
}

static void e2e_teardown(void)
{
	ec_issuer_wipe(&issuer);
	ec_merchant_wipe(&shop);
	ts_card_close(&c);
	ts_tmpdir_fini();
}

TestSuite(e2e, .init = e2e_setup, .fini = e2e_teardown);

static struct ec_purse_data purse(void)
{
	struct ec_purse_data pd;
	struct ec_error err = { 0 };
	cr_assert_eq(ec_wallet_select(&c.pc, &err), EC_OK, "%s", err.text);
	cr_assert_eq(ec_wallet_purse_data(&c.pc, &pd, &err), EC_OK, "%s", err.text);
	cr_assert_arr_eq(pd.serial, serial, PURSE_SERIAL_LEN);
	return pd;
}

static void load(uint32_t amount)
{
	struct ec_load_result res;
	struct ec_error err = { 0 };
	cr_assert_eq(ec_wallet_load(&c.pc, &issuer, amount, &res, &err), EC_OK, "%s", err.text);
	cr_assert_not(res.recovered);
}

static void pay(uint32_t amount, struct ec_payment *p)
{
	struct ec_error err = { 0 };
	cr_assert_eq(ec_merchant_pay(&shop, &c.pc, amount, EUR, pin_1234, NULL, p, &err), EC_OK,
		     "%s", err.text);
}

Test(e2e, personalized_card_is_certified_by_the_issuer)
{
	struct ec_error err = { 0 };
	uint8_t cert[PURSE_CERT_LEN], id[PURSE_ID_LEN];

	struct ec_purse_data pd = purse();
	cr_assert_eq(pd.version, 1);
	cr_assert_eq(pd.currency, EUR);
	cr_assert_eq(pd.balance, 0);
	cr_assert_eq(pd.max_balance, 50000);
	cr_assert_eq(pd.counter, 0);
	cr_assert_eq(ec_wallet_card_cert(&c.pc, cert, &err), EC_OK, "%s", err.text);
	cr_assert_eq(purse_cert_check(issuer.ca_pub, PURSE_CERT_CARD, cert, id, NULL), 1);
	cr_assert_arr_eq(id, serial, PURSE_SERIAL_LEN);

	/* Personalization happens once: with the card's own keys (the test
	 * keys no longer open it), the wallet refuses. */
	struct ec_gp_options opt;
	ec_gp_options_init(&opt);
	opt.level = 0x03;
	opt.kdf = EC_GP_KDF_KDF3;
	cr_assert_eq(ec_personalize(&issuer, &c.pc, &opt, &issuer.isd_master, NULL, NULL, &err),
		     EC_ERR_CARD);
	cr_assert_eq(err.sw, 0x6985);
	cr_assert_not_null(strstr(err.text, "6985"), "%s", err.text);
}

Test(e2e, load_pay_balance_and_log)
{
	struct ec_load_result res;
	struct ec_payment p;
	struct ec_error err = { 0 };
	struct ec_log_entry e;
	bool present;

	cr_assert_eq(ec_wallet_load(&c.pc, &issuer, 2000, &res, &err), EC_OK, "%s", err.text);
	cr_assert_eq(res.balance, 2000);
	cr_assert_eq(res.counter, 1);
	cr_assert_eq(res.load.counter, 0);
	cr_assert_arr_eq(res.load.serial, serial, PURSE_SERIAL_LEN);

	pay(750, &p);
	cr_assert_not(p.recovered);
	cr_assert_eq(p.record.amount, 750);
	cr_assert_eq(p.record.balance, 1250);
	cr_assert_eq(p.record.counter, 2);
	cr_assert_eq(p.record.currency, EUR);
	cr_assert_eq(p.balance_before, 2000);
	cr_assert_arr_eq(p.record.serial, serial, PURSE_SERIAL_LEN);
	cr_assert_arr_eq(p.record.merchant_id, merchant_id, PURSE_ID_LEN);
	/* What the merchant keeps verifies offline with the issuer's public key alone. */
	cr_assert_eq(purse_debit_record_check(issuer.ca_pub, p.card_cert, p.record_bytes,
					      p.signature), 1);

	struct ec_purse_data pd = purse();
	cr_assert_eq(pd.balance, 1250);
	cr_assert_eq(pd.counter, 2);

	cr_assert_eq(ec_wallet_log(&c.pc, 0, &e, &present, &err), EC_OK, "%s", err.text);
	cr_assert(present);
	cr_assert_eq(e.type, EC_LOG_DEBIT);
	cr_assert_eq(e.counter, 2);
	cr_assert_eq(e.amount, 750);
	cr_assert_eq(e.balance, 1250);
	cr_assert_arr_eq(e.merchant_id, merchant_id, PURSE_ID_LEN);
	cr_assert_eq(ec_wallet_log(&c.pc, 1, &e, &present, &err), EC_OK);
	cr_assert(present);
	cr_assert_eq(e.type, EC_LOG_LOAD);
	cr_assert_eq(e.counter, 1);
	cr_assert_eq(e.amount, 2000);
	cr_assert_eq(e.balance, 2000);
	cr_assert_eq(ec_wallet_log(&c.pc, 2, &e, &present, &err), EC_OK);
	cr_assert_not(present, "the log ends after two entries");

	char text[EC_AMOUNT_TEXT_MAX];
	cr_assert_str_eq(ec_amount_format(pd.balance, pd.currency, text, sizeof(text)), "12.50 EUR");
}

Test(e2e, load_driven_by_hand_with_authorize_load)
{
	static const uint8_t init[] = { 0x80, 0x40, 0x00, 0x00, 0x04, 0x00, 0x00, 0x03, 0xE8, 0x00 };
	uint8_t answer[64], credit[22] = { 0x80, 0x42, 0x00, 0x00, 0x10 }, receipt[64];
	struct ec_error err = { 0 };
	struct purse_load l;
	size_t n;
	uint32_t balance;

	cr_assert_eq(ec_wallet_select(&c.pc, &err), EC_OK);
	cr_assert_eq(ec_command(&c.pc, "INITIALIZE LOAD", init, sizeof(init), answer, sizeof(answer),
				&n, &err), EC_OK, "%s", err.text);
	cr_assert_eq(n, WALLET_INIT_LOAD_RESPONSE_LEN);
	cr_assert_eq(ec_issuer_authorize_load(&issuer, answer, n, 1000, &l, credit + 5, &err), EC_OK,
		     "%s", err.text);
	credit[21] = 0x00;
	cr_assert_eq(ec_command(&c.pc, "CREDIT", credit, sizeof(credit), receipt, sizeof(receipt), &n,
				&err), EC_OK, "%s", err.text);
	cr_assert_eq(ec_issuer_check_s3(&issuer, &l, receipt, n, NULL, &balance, &err), EC_OK);
	cr_assert_eq(balance, 1000);
	/* The same S2 a second time credits nothing. */
	cr_assert_eq(ec_command(&c.pc, "CREDIT", credit, sizeof(credit), receipt, sizeof(receipt), &n,
				&err), EC_ERR_CARD);
	cr_assert_eq(err.sw, 0x6985);
	cr_assert_eq(purse().balance, 1000);
}

Test(e2e, load_by_another_issuer_is_refused_and_credits_nothing)
{
	char dir[128];
	struct ec_issuer other;
	struct ec_load_result res;
	struct ec_error err = { 0 };

	ts_issuer_new("other", &other, dir, sizeof(dir));
	cr_assert_eq(ec_wallet_load(&c.pc, &other, 2000, &res, &err), EC_ERR_CHECK);
	cr_assert_not_null(strstr(err.text, "S1"), "%s", err.text);
	cr_assert_eq(purse().balance, 0);

	/* Above the card's maximum: refused before the card is asked, with the
	 * reason the card's bare 6985 would not give... */
	cr_assert_eq(ec_wallet_load(&c.pc, &issuer, 50001, &res, &err), EC_ERR_CHECK);
	cr_assert_not_null(strstr(err.text, "500.00 EUR"), "%s", err.text);
	/* ...which is what the card says when asked anyway. */
	static const uint8_t too_much[] = { 0x80, 0x40, 0x00, 0x00, 0x04, 0x00, 0x00, 0xC3, 0x51, 0x00 };
	cr_assert_eq(ec_command(&c.pc, "INITIALIZE LOAD", too_much, sizeof(too_much), NULL, 0, NULL,
				&err), EC_ERR_CARD);
	cr_assert_eq(err.sw, 0x6985);
	cr_assert_eq(purse().balance, 0);
	ec_issuer_wipe(&other);
}

Test(e2e, lost_credit_answer_is_recovered_and_credited_once)
{
	struct ec_load_result res;
	struct ec_error err = { 0 };

	load(1000);
	lose_next(0x42, LOSE_ANSWER);
	cr_assert_eq(ec_wallet_load(&c.pc, &issuer, 2000, &res, &err), EC_OK, "%s", err.text);
	cr_assert_eq(lost_count, 1);
	cr_assert(res.recovered);
	cr_assert_eq(res.balance, 3000);
	cr_assert_eq(res.counter, 2);
	struct ec_purse_data pd = purse();
	cr_assert_eq(pd.balance, 3000, "credited exactly once");
	cr_assert_eq(pd.counter, 2);
}

Test(e2e, lost_credit_command_is_sent_again_and_credited_once)
{
	struct ec_load_result res;
	struct ec_error err = { 0 };

	lose_next(0x42, LOSE_COMMAND);
	cr_assert_eq(ec_wallet_load(&c.pc, &issuer, 2000, &res, &err), EC_OK, "%s", err.text);
	cr_assert(res.recovered);
	cr_assert_eq(res.balance, 2000);
	cr_assert_eq(purse().balance, 2000);
	cr_assert_eq(purse().counter, 1);
}

Test(e2e, lost_debit_answer_recovers_the_same_record_and_debits_once)
{
	struct ec_payment first, p;
	struct ec_error err = { 0 };
	struct ec_log_entry e;
	bool present;

	load(2000);
	pay(750, &first);
	lose_next(0x44, LOSE_ANSWER);
	cr_assert_eq(ec_merchant_pay(&shop, &c.pc, 500, EUR, pin_1234, NULL, &p, &err), EC_OK, "%s",
		     err.text);
	cr_assert_eq(lost_count, 1, "the DEBIT answer was really dropped");
	cr_assert(p.recovered);
	cr_assert_eq(p.record.amount, 500);
	cr_assert_eq(p.record.balance, 750);
	cr_assert_eq(p.record.counter, 3);
	cr_assert_eq(purse_debit_record_check(issuer.ca_pub, p.card_cert, p.record_bytes,
					      p.signature), 1);

	struct ec_purse_data pd = purse();
	cr_assert_eq(pd.balance, 750, "debited exactly once");
	cr_assert_eq(pd.counter, 3);
	cr_assert_eq(ec_wallet_log(&c.pc, 0, &e, &present, &err), EC_OK);
	cr_assert(present && e.type == EC_LOG_DEBIT && e.amount == 500 && e.counter == 3);
	cr_assert_eq(ec_wallet_log(&c.pc, 1, &e, &present, &err), EC_OK);
	cr_assert(present && e.type == EC_LOG_DEBIT && e.amount == 750 && e.counter == 2);
	cr_assert_eq(ec_wallet_log(&c.pc, 2, &e, &present, &err), EC_OK);
	cr_assert(present && e.type == EC_LOG_LOAD);
	cr_assert_eq(ec_wallet_log(&c.pc, 3, &e, &present, &err), EC_OK);
	cr_assert_not(present, "one debit, one log entry");
}

Test(e2e, lost_debit_command_is_reported_as_not_done)
{
	struct ec_payment first, p;
	struct ec_error err = { 0 };

	load(2000);
	/* With no debit at all on the card yet. */
	lose_next(0x44, LOSE_COMMAND);
	cr_assert_eq(ec_merchant_pay(&shop, &c.pc, 500, EUR, pin_1234, NULL, &p, &err),
		     EC_ERR_NOT_DONE);
	cr_assert_not_null(strstr(err.text, "nothing was debited"), "%s", err.text);
	cr_assert_eq(purse().balance, 2000);

	/* With an earlier debit on record: its challenge is not ours. */
	pay(750, &first);
	lose_next(0x44, LOSE_COMMAND);
	cr_assert_eq(ec_merchant_pay(&shop, &c.pc, 500, EUR, pin_1234, NULL, &p, &err),
		     EC_ERR_NOT_DONE);
	cr_assert_eq(purse().balance, 1250);
	cr_assert_eq(purse().counter, 2);

	/* Running it again works. */
	pay(500, &p);
	cr_assert_eq(purse().balance, 750);
}

Test(e2e, payments_the_card_or_the_merchant_refuses)
{
	struct ec_payment p;
	struct ec_error err = { 0 };
	int tries = -1;

	load(1000);
	/* Not enough money: refused before the PIN is asked. */
	cr_assert_eq(ec_merchant_pay(&shop, &c.pc, 1001, EUR, pin_cancel, NULL, &p, &err),
		     EC_ERR_CHECK);
	cr_assert_not_null(strstr(err.text, "10.00 EUR"), "%s", err.text);
	/* No PIN given. */
	cr_assert_eq(ec_merchant_pay(&shop, &c.pc, 100, EUR, pin_cancel, NULL, &p, &err),
		     EC_ERR_CANCELLED);
	/* A wrong PIN. */
	cr_assert_eq(ec_merchant_pay(&shop, &c.pc, 100, EUR, pin_1234, "9999", &p, &err),
		     EC_ERR_CARD);
	cr_assert_eq(err.sw, 0x63C2);
	cr_assert_not_null(strstr(err.text, "2 tries left"), "%s", err.text);
	/* A malformed PIN never reaches the card. */
	cr_assert_eq(ec_merchant_pay(&shop, &c.pc, 100, EUR, pin_1234, "12", &p, &err), EC_ERR_ARG);
	cr_assert_eq(ec_pin_status(&c.pc, &tries, &err), EC_ERR_CARD);
	cr_assert_eq(tries, 2);
	/* Another currency. */
	cr_assert_eq(ec_merchant_pay(&shop, &c.pc, 100, 840, pin_1234, NULL, &p, &err), EC_ERR_ARG);
	cr_assert_eq(purse().balance, 1000);
	cr_assert_eq(purse().counter, 1);

	/* A merchant of another issuer does not accept this issuer's cards. */
	char dir[128], path[128];
	struct ec_issuer other;
	struct ec_merchant stranger;
	ts_issuer_new("other", &other, dir, sizeof(dir));
	ts_tmp_path(path, sizeof(path), "stranger.key");
	cr_assert_eq(ec_merchant_init(&other, merchant_id, path, &err), EC_OK);
	cr_assert_eq(ec_merchant_load(path, &stranger, &err), EC_OK);
	cr_assert_eq(ec_merchant_pay(&stranger, &c.pc, 100, EUR, pin_1234, NULL, &p, &err),
		     EC_ERR_CHECK);
	cr_assert_eq(purse().balance, 1000);
	ec_issuer_wipe(&other);
	ec_merchant_wipe(&stranger);
}
