/*
 * test_wallet.c - the wallet applet's protocol and security rules, in
 * process: personalization, top-up (S1, S2, S3, replay, wrong S2, maximum),
 * purchase (merchant certificate and signature, fresh PIN, funds, currency,
 * offline verification), GET LAST TRANSACTION, the log and the counter;
 * a fresh PIN pays only on the wallet's channel, and a card lock ends a
 * wallet session opened before it.
 */
#include "wallet_fixture.h"

#include "gp_proto.h"
#include "profile_proto.h"
#include "scp03_host.h"
#include "wallet_proto.h"

TestSuite(wallet, .init = fx_setup, .fini = fx_teardown);

static void boot_blank(void)
{
	fx_boot(false);
}

TestSuite(perso, .init = boot_blank, .fini = fx_teardown);

/* ---- personalization ---- */

Test(perso, purse_commands_wait_for_personalization)
{
	fx_select_wallet();
	cr_assert_eq(fx_send("80 5C 00 00 00"), 0x6985);
	cr_assert_eq(fx_send("80 40 00 00 04 00000064 00"), 0x6985);
	cr_assert_eq(fx_send("80 4A 00 00 00"), 0x6985);
}

Test(perso, last_block_needs_everything)
{
	fx_select_wallet();
	uint8_t tlv[40];
	size_t n = fx_tlv(tlv, 0xC1, fx.kload, PURSE_KEY_LEN);
	cr_assert_eq(fx_store(0x80, tlv, n), 0x6985, "no key pair, CA, limits or certificate");
	cr_assert_eq(fx_send("80 5C 00 00 00"), 0x6985);
	fx_personalize();
	cr_assert_eq(fx_purse().max, FX_MAX);
}

Test(perso, certificate_must_match_the_card)
{
	uint8_t pub[CRYPTO_EC_PUB_LEN], cert[PURSE_CERT_LEN], tlv[200], other[8] = { 9 };
	fx_select_wallet();
	fx_generate(pub);
	/* Another card's serial. */
	cr_assert_eq(purse_cert_make(fx.ca_priv, PURSE_CERT_CARD, other, pub, cert), 0);
	cr_assert_eq(fx_store(0x00, tlv, fx_tlv(tlv, 0xC4, cert, sizeof(cert))), 0x6A80);
	/* Another key. */
	cr_assert_eq(purse_cert_make(fx.ca_priv, PURSE_CERT_CARD, fx.serial, fx.merchant_pub, cert),
		     0);
	cr_assert_eq(fx_store(0x00, tlv, fx_tlv(tlv, 0xC4, cert, sizeof(cert))), 0x6A80);
	/* The right serial and key, but a merchant's certificate. */
	cr_assert_eq(purse_cert_make(fx.ca_priv, PURSE_CERT_MERCHANT, fx.serial, pub, cert), 0);
	cr_assert_eq(fx_store(0x00, tlv, fx_tlv(tlv, 0xC4, cert, sizeof(cert))), 0x6A80);
	/* Wrong lengths and unknown tags. */
	cr_assert_eq(fx_store(0x00, tlv, fx_tlv(tlv, 0xC1, fx.kload, 15)), 0x6A80);
	cr_assert_eq(fx_store(0x00, tlv, fx_tlv(tlv, 0xC9, fx.kload, 16)), 0x6A80);
	cr_assert_eq(fx_store(0x00, (const uint8_t *)"\xC1\x20", 2), 0x6A80, "truncated TLV");
}

Test(perso, certificate_from_another_ca_refused_at_the_last_block)
{
	uint8_t pub[CRYPTO_EC_PUB_LEN], cert[PURSE_CERT_LEN], tlv[300], limits[6] = { 0x03, 0xD2, 0, 0, 0x27, 0x10 };
	uint8_t rogue_priv[32], rogue_pub[65];
	cr_assert_eq(crypto_ec_generate(rogue_priv, rogue_pub), 0);
	fx_select_wallet();
	fx_generate(pub);
	cr_assert_eq(purse_cert_make(rogue_priv, PURSE_CERT_CARD, fx.serial, pub, cert), 0);
	size_t n = fx_tlv(tlv, 0xC1, fx.kload, 16);
	n += fx_tlv(tlv + n, 0xC2, fx.ca_pub, 65);
	n += fx_tlv(tlv + n, 0xC3, limits, 6);
	cr_assert_eq(fx_store(0x00, tlv, n), 0x9000);
	cr_assert_eq(fx_store(0x80, tlv, fx_tlv(tlv, 0xC4, cert, sizeof(cert))), 0x6A80);
	cr_assert_eq(fx_send("80 5C 00 00 00"), 0x6985, "still not personalized");
}

/*
 * The attack on the first version: between the issuer's blocks, a second
 * client on another channel selects the wallet and sends a plain STORE
 * DATA with a K_load of its own; the issuer's personalization then goes
 * on and reports success, and the attacker credits whatever it likes. The
 * wallet now takes personalization from its card manager's channel only,
 * and the seal of the last block would show a replaced K_load.
 */
Test(perso, a_second_client_cannot_slip_its_own_k_load_in)
{
	uint8_t pub[CRYPTO_EC_PUB_LEN], cert[PURSE_CERT_LEN], tlv[300], limits[6];
	uint8_t own[PURSE_KEY_LEN] = { 0xA7 };
	fx_select_wallet();
	fx_generate(pub);
	cr_assert_eq(purse_derive_kload(fx.master, fx.serial, fx.kload), 0);
	cr_assert_eq(fx_store(0x00, tlv, fx_tlv(tlv, 0xC1, fx.kload, 16)), 0x9000);

	/* The attacker: on channel 0, where the wallet is selected, and on a
	 * channel of its own. */
	cr_assert_eq(fx_store_direct(0x00, tlv, fx_tlv(tlv, 0xC1, own, 16)), 0x6982);
	cr_assert_eq(fx_send("00 A4 04 00 08 A000000151000000 00"), 0x9000,
		     "channel 0 leaves the wallet (it is not multi-selectable)");
	cr_assert_eq(fx_send("00 70 00 00 01"), 0x9000);
	uint8_t ch = fx.rsp[0];
	uint8_t select[] = { ch, 0xA4, 0x04, 0x00, 0x08, WALLET_AID };
	cr_assert_eq(fx_send_bytes(select, sizeof(select)), 0x9000);
	size_t n = fx_tlv(tlv, 0xC1, own, 16);
	cr_assert_eq(fx_send_data(0x80 | ch, 0xE2, 0x00, 0x05, tlv, n, false), 0x6982);
	cr_assert_eq(fx_send_data(0x80 | ch, 0xE2, 0x80, 0x05, tlv, n, false), 0x6982,
		     "nor as a last block");
	cr_assert_eq(fx_send_data(0x80 | ch, 0xE4, 0x00, 0x00, NULL, 0, true), 0x6D00,
		     "GENERATE KEY PAIR of the first version is gone");
	uint8_t close[] = { 0x00, 0x70, 0x80, ch };
	cr_assert_eq(fx_send_bytes(close, sizeof(close)), 0x9000);

	/* The issuer goes on; the wallet holds the issuer's K_load. */
	store_be16(limits, FX_CURRENCY);
	store_be32(limits + 2, FX_MAX);
	n = fx_tlv(tlv, 0xC2, fx.ca_pub, 65);
	n += fx_tlv(tlv + n, 0xC3, limits, 6);
	cr_assert_eq(fx_store(0x00, tlv, n), 0x9000);
	cr_assert_eq(purse_cert_make(fx.ca_priv, PURSE_CERT_CARD, fx.serial, pub, cert), 0);
	cr_assert_eq(fx_store(0x80, tlv, fx_tlv(tlv, 0xC4, cert, sizeof(cert))), 0x9000);
	uint8_t seal[PURSE_MAC_LEN];
	cr_assert_eq(purse_perso_seal(fx.kload, fx.serial, fx.ca_pub, FX_CURRENCY, FX_MAX, cert,
				      seal), 0);
	cr_assert_arr_eq(fx.rsp, seal, PURSE_MAC_LEN);
	fx_perso_end();
	fx_select_wallet();
	fx_load(1000);	/* S1 and S3 under the issuer's K_load */
	cr_assert_eq(fx_purse().balance, 1000);
}

Test(wallet, personalization_is_closed_afterwards)
{
	uint8_t tlv[40];
	cr_assert_eq(fx_store(0x80, tlv, fx_tlv(tlv, 0xC1, fx.kload, 16)), 0x6985);
	cr_assert_eq(fx_store_direct(0x80, tlv, fx_tlv(tlv, 0xC1, fx.kload, 16)), 0x6982);
}

Test(wallet, fresh_purse)
{
	struct fx_purse p = fx_purse();
	cr_assert_eq(p.balance, 0);
	cr_assert_eq(p.counter, 0);
	cr_assert_eq(p.currency, FX_CURRENCY);
	cr_assert_eq(p.max, FX_MAX);
	cr_assert_eq(fx_send("80 46 00 00 00"), 0x6A83, "no debit yet");
	cr_assert_eq(fx_send("80 48 00 00 00"), 0x6A83, "empty log");
}

/* ---- load ---- */

Test(wallet, load_credits_and_counts)
{
	fx_load(2000);
	fx_load(550);
	struct fx_purse p = fx_purse();
	cr_assert_eq(p.balance, 2550);
	cr_assert_eq(p.counter, 2);
	cr_assert_eq(fx_send("80 46 01 00 00"), 0x9000);
	cr_assert_eq(fx.rsp_len, 24);
	cr_assert_eq(load_be32(fx.rsp), 2);
	cr_assert_eq(load_be32(fx.rsp + 4), 2550);
	fx_power_cycle();
	fx_select_wallet();
	cr_assert_eq(fx_purse().balance, 2550, "persistent");
}

Test(wallet, replayed_s2_refused)
{
	struct purse_load l;
	uint8_t s2[16];
	cr_assert_eq(fx_init_load(1000, &l), 0x9000);
	cr_assert_eq(purse_s2(fx.kload, &l, s2), 0);
	cr_assert_eq(fx_credit(s2), 0x9000);
	cr_assert_eq(fx_credit(s2), 0x6985);
	/* Even after a new INITIALIZE LOAD the old S2 is worthless. */
	struct purse_load l2;
	cr_assert_eq(fx_init_load(1000, &l2), 0x9000);
	cr_assert_eq(fx_credit(s2), 0x6982);
	struct fx_purse p = fx_purse();
	cr_assert_eq(p.balance, 1000);
	cr_assert_eq(p.counter, 1);
}

Test(wallet, wrong_s2_refused_and_pending_cleared)
{
	struct purse_load l;
	uint8_t s2[16];
	cr_assert_eq(fx_init_load(1000, &l), 0x9000);
	cr_assert_eq(purse_s2(fx.kload, &l, s2), 0);
	s2[3] ^= 0x40;
	cr_assert_eq(fx_credit(s2), 0x6982);
	s2[3] ^= 0x40;
	cr_assert_eq(fx_credit(s2), 0x6985, "the pending load is gone");
	cr_assert_eq(fx_purse().balance, 0);
}

Test(wallet, s2_for_another_amount_refused)
{
	struct purse_load l;
	uint8_t s2[16];
	cr_assert_eq(fx_init_load(1000, &l), 0x9000);
	l.amount = 100000;
	cr_assert_eq(purse_s2(fx.kload, &l, s2), 0);
	cr_assert_eq(fx_credit(s2), 0x6982);
	cr_assert_eq(fx_purse().balance, 0);
}

Test(wallet, retransmitted_s2_after_a_lost_command)
{
	struct purse_load l;
	uint8_t s2[16];
	cr_assert_eq(fx_init_load(700, &l), 0x9000);
	cr_assert_eq(purse_s2(fx.kload, &l, s2), 0);
	/* The link drops: the card is reset, the pending load survives. */
	fx_power_cycle();
	fx_select_wallet();
	cr_assert_eq(fx_credit(s2), 0x9000);
	cr_assert_eq(fx_purse().balance, 700);
}

Test(wallet, maximum_balance)
{
	struct purse_load l;
	fx_load(FX_MAX - 100);
	unsigned long writes = vc_card_writes(&fx.card);
	cr_assert_eq(fx_init_load(101, &l), 0x6985);
	cr_assert_eq(fx_init_load(0xFFFFFFFF, &l), 0x6985);
	cr_assert_eq(vc_card_writes(&fx.card), writes, "nothing changed");
	fx_load(100);
	cr_assert_eq(fx_purse().balance, FX_MAX);
	cr_assert_eq(fx_init_load(1, &l), 0x6985);
}

Test(wallet, load_argument_checks)
{
	cr_assert_eq(fx_send("80 40 00 00 04 00000000 00"), 0x6A80, "zero amount");
	cr_assert_eq(fx_send("80 40 00 00 03 000001 00"), 0x6700);
	cr_assert_eq(fx_send("80 40 01 00 04 00000001 00"), 0x6A86);
	cr_assert_eq(fx_send("80 42 00 00 0F 000102030405060708090A0B0C0D0E 00"), 0x6700);
	cr_assert_eq(fx_send("80 42 00 00 10 000102030405060708090A0B0C0D0E0F 00"), 0x6985,
		     "no load pending");
}

/* ---- debit ---- */

Test(wallet, pay_debits_signs_and_logs)
{
	fx_load(5000);
	cr_assert_eq(fx_pay(1250), 0x9000);
	struct purse_debit_record r;
	cr_assert(purse_debit_record_parse(fx.rsp, PURSE_DEBIT_RECORD_LEN, &r));
	cr_assert_eq(r.counter, 2);
	cr_assert_eq(r.balance, 3750);
	cr_assert_eq(r.currency, FX_CURRENCY);
	cr_assert_arr_eq(r.serial, fx.serial, 8);
	cr_assert_arr_eq(r.merchant_id, fx.merchant_id, 8);
	struct fx_purse p = fx_purse();
	cr_assert_eq(p.balance, 3750);
	cr_assert_eq(p.counter, 2);
}

Test(wallet, get_last_transaction_repeats_without_debiting)
{
	fx_load(5000);
	cr_assert_eq(fx_pay(999), 0x9000);
	uint8_t first[110];
	memcpy(first, fx.rsp, sizeof(first));
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(fx_send("80 46 00 00 00"), 0x9000);
		cr_assert_eq(fx.rsp_len, 110);
		cr_assert_arr_eq(fx.rsp, first, 110, "the same signed record");
	}
	cr_assert_eq(fx_purse().balance, 4001);
	cr_assert_eq(fx_send("80 46 02 00 00"), 0x6A86);
}

Test(wallet, debit_needs_a_fresh_pin)
{
	uint8_t req[PURSE_DEBIT_REQUEST_LEN];
	fx_load(5000);
	fx_debit_request(100, req);
	cr_assert_eq(fx_send_debit(req), 0x6982, "no VERIFY");
	cr_assert_eq(fx_send(VERIFY_1234), 0x9000);
	cr_assert_eq(fx_send_debit(req), 0x9000);
	fx_debit_request(100, req);
	cr_assert_eq(fx_send_debit(req), 0x6982, "the VERIFY was spent by the first debit");
	cr_assert_eq(fx_send("00 20 00 81"), 0x9000, "the session stays verified");
	cr_assert_eq(fx_purse().balance, 4900);
}

Test(wallet, altered_request_refused)
{
	uint8_t req[PURSE_DEBIT_REQUEST_LEN];
	fx_load(5000);
	static const size_t spots[] = { 3, 5, 7, 20, 40, 200, 230 };	/* amount .. signature */
	for (size_t i = 0; i < sizeof(spots) / sizeof(spots[0]); i++) {
		fx_debit_request(100, req);
		req[spots[i]] ^= 0x01;
		cr_assert_eq(fx_send(VERIFY_1234), 0x9000);
		uint16_t sw = fx_send_debit(req);
		cr_assert(sw == 0x6982 || (spots[i] == 5 && sw == 0x6A80), "byte %zu: %04X", spots[i], sw);
	}
	struct fx_purse p = fx_purse();
	cr_assert_eq(p.balance, 5000);
	cr_assert_eq(p.counter, 1);
}

Test(wallet, merchant_certificate_from_another_ca_refused)
{
	uint8_t rogue_priv[32], rogue_pub[65], req[PURSE_DEBIT_REQUEST_LEN];
	struct purse_debit_request r = { .amount = 100, .currency = FX_CURRENCY };
	fx_load(5000);
	cr_assert_eq(crypto_ec_generate(rogue_priv, rogue_pub), 0);
	memcpy(r.merchant_id, fx.merchant_id, 8);
	cr_assert_eq(purse_cert_make(rogue_priv, PURSE_CERT_MERCHANT, fx.merchant_id, fx.merchant_pub,
				     r.cert), 0);
	cr_assert_eq(purse_debit_request_make(&r, fx.merchant_priv, req), 0);
	cr_assert_eq(fx_send(VERIFY_1234), 0x9000);
	cr_assert_eq(fx_send_debit(req), 0x6982);
	/* A genuine certificate of another merchant id than the request's. */
	uint8_t other[8] = { 1, 2, 3 };
	memcpy(r.merchant_id, other, 8);
	memcpy(r.cert, fx.merchant_cert, PURSE_CERT_LEN);
	cr_assert_eq(purse_debit_request_make(&r, fx.merchant_priv, req), 0);
	cr_assert_eq(fx_send(VERIFY_1234), 0x9000);
	cr_assert_eq(fx_send_debit(req), 0x6982);
	cr_assert_eq(fx_purse().balance, 5000);
}

/* A genuine certificate from the issuer's CA for the merchant's id and
 * key, but of the card kind: no merchant. */
Test(wallet, a_card_certificate_cannot_pass_for_a_merchant)
{
	uint8_t req[PURSE_DEBIT_REQUEST_LEN];
	struct purse_debit_request r = { .amount = 100, .currency = FX_CURRENCY };
	fx_load(5000);
	memcpy(r.merchant_id, fx.merchant_id, 8);
	cr_assert_eq(purse_cert_make(fx.ca_priv, PURSE_CERT_CARD, fx.merchant_id, fx.merchant_pub,
				     r.cert), 0);
	cr_assert_eq(purse_debit_request_make(&r, fx.merchant_priv, req), 0);
	cr_assert_eq(fx_send(VERIFY_1234), 0x9000);
	cr_assert_eq(fx_send_debit(req), 0x6982);
	cr_assert_eq(fx_purse().balance, 5000);
}

Test(wallet, insufficient_funds_change_nothing)
{
	uint8_t req[PURSE_DEBIT_REQUEST_LEN];
	fx_load(500);
	fx_debit_request(501, req);
	cr_assert_eq(fx_send(VERIFY_1234), 0x9000);
	unsigned long writes = vc_card_writes(&fx.card);
	cr_assert_eq(fx_send_debit(req), 0x6400);
	cr_assert_eq(vc_card_writes(&fx.card), writes);
	struct fx_purse p = fx_purse();
	cr_assert_eq(p.balance, 500);
	cr_assert_eq(p.counter, 1);
	cr_assert_eq(fx_pay(500), 0x9000, "exactly the balance is fine");
	cr_assert_eq(fx_purse().balance, 0);
}

Test(wallet, debit_argument_checks)
{
	uint8_t req[PURSE_DEBIT_REQUEST_LEN];
	struct purse_debit_request r = { .amount = 100, .currency = 840 };
	fx_load(500);
	memcpy(r.merchant_id, fx.merchant_id, 8);
	memcpy(r.cert, fx.merchant_cert, PURSE_CERT_LEN);
	cr_assert_eq(purse_debit_request_make(&r, fx.merchant_priv, req), 0);
	cr_assert_eq(fx_send(VERIFY_1234), 0x9000);
	cr_assert_eq(fx_send_debit(req), 0x6A80, "another currency");
	r.currency = FX_CURRENCY;
	r.amount = 0;
	cr_assert_eq(purse_debit_request_make(&r, fx.merchant_priv, req), 0);
	cr_assert_eq(fx_send_debit(req), 0x6A80, "zero amount");
	cr_assert_eq(fx_send_data(0x80, 0x44, 0, 0, req, PURSE_DEBIT_REQUEST_LEN - 1, true), 0x6700);
	cr_assert_eq(fx_send("80 44 00 00 00"), 0x6700);
	cr_assert_eq(fx_purse().balance, 500);
}

Test(wallet, pending_load_voided_by_a_debit)
{
	struct purse_load l;
	uint8_t s2[16];
	fx_load(1000);
	cr_assert_eq(fx_init_load(500, &l), 0x9000);
	cr_assert_eq(fx_pay(100), 0x9000);
	cr_assert_eq(purse_s2(fx.kload, &l, s2), 0);
	cr_assert_eq(fx_credit(s2), 0x6985);
	cr_assert_eq(fx_purse().balance, 900);
}

/* ---- the fresh PIN is for the application it was entered for ---- */

static const uint8_t wallet_aid[] = { WALLET_AID };
static const uint8_t profile_aid[] = { PROFILE_AID };
static const uint8_t pin_1234[ISO_PIN_BLOCK_LEN] = { '1', '2', '3', '4', 0xFF, 0xFF, 0xFF, 0xFF };

static uint16_t select_on(uint8_t channel, const uint8_t *aid, size_t len)
{
	return fx_send_data(iso_cla(0x00, channel), ISO_INS_SELECT, ISO_SELECT_BY_AID, 0x00, aid,
			    len, true);
}

static uint16_t verify_on(uint8_t channel)
{
	return fx_send_data(iso_cla(0x00, channel), ISO_INS_VERIFY, 0x00, ISO_PIN_REFERENCE,
			    pin_1234, sizeof(pin_1234), false);
}

static uint16_t wallet_on(uint8_t channel, uint8_t ins, const uint8_t *data, size_t len)
{
	return fx_send_data(iso_cla(WALLET_CLA, channel), ins, 0x00, 0x00, data, len, true);
}

/* The profile on the basic channel, the wallet on channel 1. */
static void wallet_on_channel_1(void)
{
	cr_assert_eq(select_on(0, profile_aid, sizeof(profile_aid)), SW_OK);
	cr_assert_eq(fx_send_data(0x00, ISO_INS_MANAGE_CHANNEL, 0x00, 1, NULL, 0, false), SW_OK);
	cr_assert_eq(select_on(1, wallet_aid, sizeof(wallet_aid)), SW_OK);
}

Test(wallet, pin_entered_for_the_profile_pays_nothing_on_another_channel)
{
	uint8_t req[PURSE_DEBIT_REQUEST_LEN];
	fx_load(5000);
	wallet_on_channel_1();
	cr_assert_eq(verify_on(0), SW_OK, "entered with the profile selected");
	fx_debit_request(100, req);
	cr_assert_eq(wallet_on(1, WALLET_INS_DEBIT, req, sizeof(req)), SW_SECURITY_STATUS);
	cr_assert_eq(verify_on(1), SW_OK, "entered on the wallet's channel");
	cr_assert_eq(wallet_on(1, WALLET_INS_DEBIT, req, sizeof(req)), SW_OK);
	cr_assert_eq(wallet_on(1, WALLET_INS_GET_PURSE_DATA, NULL, 0), SW_OK);
	cr_assert_eq(load_be32(fx.rsp + 11), 4900, "one debit");
}

Test(wallet, pin_entered_before_a_selection_change_pays_nothing)
{
	uint8_t req[PURSE_DEBIT_REQUEST_LEN];
	fx_load(5000);
	cr_assert_eq(fx_send(VERIFY_1234), SW_OK, "entered with the wallet selected");
	cr_assert_eq(fx_send(SELECT_PROFILE), SW_OK);
	fx_select_wallet();
	fx_debit_request(100, req);
	cr_assert_eq(fx_send_debit(req), SW_SECURITY_STATUS, "the wallet was selected again since");
	cr_assert_eq(fx_purse().balance, 5000);
}

Test(wallet, pin_entered_on_the_wallets_channel_pays_once)
{
	uint8_t req[PURSE_DEBIT_REQUEST_LEN];
	fx_load(5000);
	wallet_on_channel_1();
	cr_assert_eq(verify_on(1), SW_OK);
	fx_debit_request(100, req);
	cr_assert_eq(wallet_on(1, WALLET_INS_DEBIT, req, sizeof(req)), SW_OK);
	fx_debit_request(100, req);
	cr_assert_eq(wallet_on(1, WALLET_INS_DEBIT, req, sizeof(req)), SW_SECURITY_STATUS,
		     "spent by the first debit");
}

/* ---- a locked card ---- */

/* Change the card's life cycle through the card manager on the basic
 * channel, in a secure channel with the test keys (C-MAC). */
static uint16_t set_card_life_cycle(uint8_t state)
{
	static const uint8_t isd_aid[] = { GP_ISD_AID };
	struct scp03_session host = { 0 };
	struct scp03_keys keys = { .kvn = GP_TEST_KVN, .len = 16 };
	struct scp03_init_response ir;
	uint8_t challenge[SCP03_CHALLENGE_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	uint8_t set_status[] = { GP_CLA, GP_INS_SET_STATUS, GP_SET_STATUS_CARD, state };
	uint8_t cmd[64];
	size_t n;
	for (uint8_t i = 0; i < keys.len; i++)
		keys.enc[i] = keys.mac[i] = keys.dek[i] = (uint8_t)(GP_TEST_KEY_FIRST + i);
	cr_assert_eq(select_on(0, isd_aid, sizeof(isd_aid)), SW_OK);
	cr_assert_eq(scp03_host_initialize_update(&host, GP_CLA, GP_TEST_KVN, challenge, cmd,
						  sizeof(cmd), &n), SCP03_OK);
	cr_assert_eq(fx_send_bytes(cmd, n), SW_OK);
	cr_assert_eq(scp03_parse_initialize_update_response(fx.rsp, fx.rsp_len, &ir), SCP03_OK);
	cr_assert_eq(scp03_host_check_card(&host, &keys, &ir), SCP03_OK);
	cr_assert_eq(scp03_host_external_authenticate(&host, SCP03_LEVEL_C_MAC, cmd, sizeof(cmd), &n),
		     SCP03_OK);
	cr_assert_eq(fx_send_bytes(cmd, n), SW_OK);
	cr_assert_eq(scp03_host_wrap_command(&host, set_status, sizeof(set_status), cmd, sizeof(cmd),
					     &n), SCP03_OK);
	uint16_t sw = fx_send_bytes(cmd, n);
	scp03_close(&host);
	return sw;
}

/* GP 2.3.1: on a locked card only the card manager can be selected. A
 * wallet selected before the lock, on another channel, is deselected with
 * the lock, not left paying. */
Test(wallet, card_lock_ends_the_wallet_session_on_every_channel)
{
	uint8_t req[PURSE_DEBIT_REQUEST_LEN];
	fx_load(5000);
	wallet_on_channel_1();
	cr_assert_eq(verify_on(1), SW_OK);
	cr_assert_eq(set_card_life_cycle(GP_CARD_LOCKED), SW_OK);

	fx_debit_request(100, req);
	cr_assert_eq(wallet_on(1, WALLET_INS_DEBIT, req, sizeof(req)), SW_INS_NOT_SUPPORTED,
		     "no application on channel 1 any more");
	cr_assert_eq(wallet_on(1, WALLET_INS_GET_PURSE_DATA, NULL, 0), SW_INS_NOT_SUPPORTED);
	cr_assert_eq(select_on(1, wallet_aid, sizeof(wallet_aid)), SW_FILE_NOT_FOUND);
	cr_assert_eq(select_on(0, wallet_aid, sizeof(wallet_aid)), SW_FILE_NOT_FOUND);

	cr_assert_eq(set_card_life_cycle(GP_CARD_SECURED), SW_OK);
	cr_assert_eq(select_on(1, wallet_aid, sizeof(wallet_aid)), SW_OK);
	cr_assert_eq(wallet_on(1, WALLET_INS_GET_PURSE_DATA, NULL, 0), SW_OK);
	cr_assert_eq(load_be32(fx.rsp + 11), 5000, "nothing was debited");
}

/* ---- log and counter ---- */

Test(wallet, log_keeps_the_last_sixteen_newest_first)
{
	fx_load(90000);
	for (uint32_t i = 1; i <= 20; i++)
		cr_assert_eq(fx_pay(i), 0x9000);
	uint32_t balance = fx_purse().balance;
	for (uint8_t idx = 0; idx < WALLET_LOG_ENTRIES; idx++) {
		char cmd[32];
		snprintf(cmd, sizeof(cmd), "80 48 %02X 00 00", idx);
		cr_assert_eq(fx_send(cmd), 0x9000);
		cr_assert_eq(fx.rsp_len, WALLET_LOG_ENTRY_LEN);
		cr_assert_eq(fx.rsp[0], 0x02, "a debit");
		cr_assert_eq(load_be32(fx.rsp + 1), 21u - idx, "counter");
		cr_assert_eq(load_be32(fx.rsp + 5), 20u - idx, "amount");
		cr_assert_eq(load_be32(fx.rsp + 9), balance, "balance after");
		cr_assert_arr_eq(fx.rsp + 13, fx.merchant_id, 8);
		balance += 20u - idx;
	}
	cr_assert_eq(fx_send("80 48 10 00 00"), 0x6A83);
}

Test(wallet, counter_is_strictly_monotonic)
{
	uint32_t last = fx_purse().counter;
	for (int i = 0; i < 6; i++) {
		if (i % 2)
			cr_assert_eq(fx_pay(10), 0x9000);
		else
			fx_load(100);
		uint32_t now = fx_purse().counter;
		cr_assert_eq(now, last + 1);
		last = now;
	}
	/* Refused operations do not move it. */
	uint8_t req[PURSE_DEBIT_REQUEST_LEN];
	fx_debit_request(100000, req);
	cr_assert_eq(fx_send(VERIFY_1234), 0x9000);
	cr_assert_eq(fx_send_debit(req), 0x6400);
	cr_assert_eq(fx_purse().counter, last);
}

Test(wallet, class_and_instruction_checks)
{
	cr_assert_eq(fx_send("00 5C 00 00 00"), 0x6E00);
	cr_assert_eq(fx_send("80 99 00 00 00"), 0x6D00);
	cr_assert_eq(fx_send("80 5C 01 00 00"), 0x6A86);
	cr_assert_eq(fx_send("80 48 00 01 00"), 0x6A86);
}
