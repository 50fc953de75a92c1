/*
 * test_perso.c - personalization of the wallet and the profile through
 * the card manager (DESIGN §3): ec_personalize() against an
 * in-process card (vcard-daemon/inproc.h) with the default SCP03 test keys, then
 * a top-up and a purchase with the card it made; and, driving the secure
 * channel by hand (host/gp_session.h), the refusals: STORE DATA outside a
 * secure channel, without INSTALL [for personalization], after
 * personalization, sent straight to the profile, and K_load encrypted
 * with a wrong DEK, which must leave nothing stored.
 *
 * Issuer keys and the merchant live in memory only, as in
 * tests/bench/bench_inproc.c.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "host_fixture.h"
#include "crypto.h"
#include "cursor.h"
#include "gp_keys.h"
#include "gp_session.h"
#include "hex.h"
#include "isd.h"
#include "issuer.h"
#include "merchant.h"
#include "perso.h"
#include "purse.h"
#include "scp03.h"
#include "wallet.h"

#define EUR 978
#define MAX_BALANCE 50000u
#define IMAGE_SIZE (256u * 1024u)

static const uint8_t card_serial[PURSE_SERIAL_LEN] = { 0x45, 0x43, 0x00, 0x00, 0x00, 0x00, 0x47, 0x50 };

static struct ts_card c;
static struct ec_issuer issuer;
static struct ec_merchant shop;
static struct ec_gp_keys keys;
static struct ec_gp_session sess;

/* Whether the card was issued: its card manager then has the card's own
 * keys, the issuer's master keys diversified with KDF3. */
static bool issued;

/* The data of the last answer (without its status word). */
static uint8_t rsp[512];
static size_t rsp_len;

static void setup(void)
{
	struct vc_card_options opt = { .serial_set = true };
	struct ec_error err = { 0 };

	memcpy(opt.serial, card_serial, sizeof(opt.serial));
	ts_card_open(&c, IMAGE_SIZE, &opt);

	memset(&issuer, 0, sizeof(issuer));
	issuer.currency = EUR;
	issuer.max_balance = MAX_BALANCE;
	cr_assert_eq(crypto_random(issuer.master_key, sizeof(issuer.master_key)), 0);
	cr_assert_eq(crypto_ec_generate(issuer.ca_priv, issuer.ca_pub), 0);
	issuer.isd_master.len = 16;
	issuer.isd_master.kvn = EC_ISSUER_ISD_KVN;
	cr_assert_eq(crypto_random(issuer.isd_master.enc, 16), 0);
	cr_assert_eq(crypto_random(issuer.isd_master.mac, 16), 0);
	cr_assert_eq(crypto_random(issuer.isd_master.dek, 16), 0);

	memset(&shop, 0, sizeof(shop));
	memcpy(shop.id, "SHOPGP01", PURSE_ID_LEN);
	cr_assert_eq(crypto_ec_generate(shop.priv, shop.pub), 0);
	cr_assert_eq(ec_issuer_sign_merchant(&issuer, shop.id, shop.pub, shop.cert, &err), EC_OK);
	memcpy(shop.ca_pub, issuer.ca_pub, CRYPTO_EC_PUB_LEN);
	shop.currency = EUR;

	ec_gp_default_keys(&keys, GP_TEST_KVN);
	memset(&sess, 0, sizeof(sess));
	issued = false;
}

static void teardown(void)
{
	ec_gp_close(&sess);
	ec_gp_keys_wipe(&keys);
	ec_issuer_wipe(&issuer);
	ec_merchant_wipe(&shop);
	ts_card_close(&c);
}

TestSuite(gp_perso, .init = setup, .fini = teardown, .timeout = 60);

/* ---- exchanges ---- */

/* A plain command; returns the status word, the data in rsp. */
static uint16_t plain_bytes(const uint8_t *cmd, size_t len)
{
	uint8_t out[EC_RESPONSE_SHORT_MAX];
	size_t n = 0;
	cr_assert_eq(ec_transmit(&c.pc, cmd, len, out, sizeof(out), &n), EC_OK);
	cr_assert_geq(n, 2);
	memcpy(rsp, out, n - 2);
	rsp_len = n - 2;
	return ec_response_sw(out, n);
}

static uint16_t plain(const char *hex)
{
	uint8_t cmd[300];
	long n = hex_decode(hex, cmd, sizeof(cmd));
	cr_assert_geq(n, 4, "bad hex in the test: %s", hex);
	return plain_bytes(cmd, (size_t)n);
}

static void select_isd(void)
{
	cr_assert_eq(plain("00 A4 04 00 08 A000000151000000 00"), 0x9000);
}

/* Issue the card (ec_personalize) with the test keys. */
static enum ec_status personalize(const struct ec_gp_options *opt,
				  const struct ec_profile_init *init, uint8_t *serial,
				  struct ec_error *err)
{
	enum ec_status st = ec_personalize(&issuer, &c.pc, opt, &keys, init, serial, err);
	if (st == EC_OK)
		issued = true;
	return st;
}

/* SELECT the card manager and open a secure channel at level, with the
 * keys the card has. */
static void open_channel(uint8_t level)
{
	struct ec_gp_options opt;
	struct ec_error err = { 0 };
	ec_gp_options_init(&opt);
	opt.scp = EC_GP_SCP03;
	opt.level = level;
	opt.kdf = issued ? EC_GP_KDF_KDF3 : EC_GP_KDF_NONE;
	select_isd();
	cr_assert_eq(ec_gp_open(&sess, &c.pc, issued ? &issuer.isd_master : &keys, &opt, &err),
		     EC_OK, "%s", err.text);
}

/* A command through the secure channel; the status word, data in rsp. */
static uint16_t sec_bytes(const uint8_t *cmd, size_t len)
{
	uint8_t out[512];
	size_t n = 0;
	struct ec_error err = { 0 };
	cr_assert_eq(ec_gp_transmit(&sess, cmd, len, out, sizeof(out), &n, &err), EC_OK, "%s",
		     err.text);
	cr_assert_geq(n, 2);
	memcpy(rsp, out, n - 2);
	rsp_len = n - 2;
	return ec_response_sw(out, n);
}

static uint16_t sec(const char *hex)
{
	uint8_t cmd[300];
	long n = hex_decode(hex, cmd, sizeof(cmd));
	cr_assert_geq(n, 4, "bad hex in the test: %s", hex);
	return sec_bytes(cmd, (size_t)n);
}

#define INSTALL_PERSO_WALLET "80 E6 20 00 0E 00 00 08 F045434152445701 00 00 00"
#define INSTALL_PERSO_PROFILE "80 E6 20 00 0E 00 00 08 F045434152445001 00 00 00"

/* STORE DATA with p1 and the TLVs in tlvs, through the secure channel. */
static uint16_t sec_store(uint8_t p1, uint8_t block, const uint8_t *tlvs, size_t len)
{
	uint8_t cmd[5 + 255] = { 0x80, 0xE2, p1, block, (uint8_t)len };
	cr_assert_leq(len, 239);
	memcpy(cmd + 5, tlvs, len);
	return sec_bytes(cmd, len ? 5 + len : 4);
}

/* STORE DATA P1 60: tlvs padded 80 00.. and encrypted under dek. */
static uint16_t sec_store_encrypted(uint8_t p1, uint8_t block, const uint8_t *tlvs, size_t len,
				    const uint8_t dek[16])
{
	uint8_t data[240];
	size_t n = len;
	struct scp03_keys k = { .len = 16 };
	memcpy(data, tlvs, len);
	data[n++] = 0x80;
	while (n % 16)
		data[n++] = 0x00;
	memcpy(k.dek, dek, 16);
	cr_assert_eq(scp03_dek_encrypt(&k, data, n, data), SCP03_OK);
	crypto_wipe(&k, sizeof(k));
	uint16_t sw = sec_store((uint8_t)(p1 | 0x60), block, data, n);
	crypto_wipe(data, sizeof(data));
	return sw;
}

/* ---- the purse afterwards ---- */

static int pin_1234(void *arg, char pin[EC_PIN_TEXT_MAX], struct ec_error *err)
{
	(void)arg;
	(void)err;
	snprintf(pin, EC_PIN_TEXT_MAX, "1234");
	return 0;
}

static struct ec_purse_data purse(void)
{
	struct ec_purse_data pd;
	struct ec_error err = { 0 };
	cr_assert_eq(ec_wallet_select(&c.pc, &err), EC_OK, "%s", err.text);
	cr_assert_eq(ec_wallet_purse_data(&c.pc, &pd, &err), EC_OK, "%s", err.text);
	return pd;
}

/* A top-up of 2000 and a purchase of 750 with the personalized card. */
static void load_and_pay(void)
{
	struct ec_load_result res;
	struct ec_payment p;
	struct ec_error err = { 0 };

	cr_assert_eq(ec_wallet_load(&c.pc, &issuer, 2000, &res, &err), EC_OK, "%s", err.text);
	cr_assert_eq(res.balance, 2000);
	cr_assert_eq(res.counter, 1);
	cr_assert_eq(ec_merchant_pay(&shop, &c.pc, 750, EUR, pin_1234, NULL, &p, &err), EC_OK, "%s",
		     err.text);
	cr_assert_eq(p.record.balance, 1250);
	cr_assert_eq(p.record.counter, 2);
	cr_assert_arr_eq(p.record.serial, card_serial, PURSE_SERIAL_LEN);
	cr_assert_eq(purse_debit_record_check(issuer.ca_pub, p.card_cert, p.record_bytes,
					      p.signature), 1);
	cr_assert_eq(purse().balance, 1250);
}

/* The wallet's certificate names this card and verifies under the CA. */
static void expect_certified(void)
{
	uint8_t cert[PURSE_CERT_LEN], id[PURSE_ID_LEN];
	struct ec_error err = { 0 };
	struct ec_purse_data pd = purse();
	cr_assert_eq(pd.currency, EUR);
	cr_assert_eq(pd.max_balance, MAX_BALANCE);
	cr_assert_eq(pd.balance, 0);
	cr_assert_arr_eq(pd.serial, card_serial, PURSE_SERIAL_LEN);
	cr_assert_eq(ec_wallet_card_cert(&c.pc, cert, &err), EC_OK, "%s", err.text);
	cr_assert_eq(purse_cert_check(issuer.ca_pub, PURSE_CERT_CARD, cert, id, NULL), 1);
	cr_assert_arr_eq(id, card_serial, PURSE_SERIAL_LEN);
}

static void expect_policy(uint8_t general, uint8_t private_class)
{
	uint8_t g = 0xFF, p = 0xFF;
	struct ec_error err = { 0 };
	cr_assert_eq(ec_profile_select(&c.pc, &err), EC_OK, "%s", err.text);
	cr_assert_eq(ec_profile_get_policy(&c.pc, &g, &p, &err), EC_OK, "%s", err.text);
	cr_assert_eq(g, general, "general policy %02X, expected %02X", g, general);
	cr_assert_eq(p, private_class, "private policy %02X, expected %02X", p, private_class);
}

/* GET FIELD id (the profile selected) gives exactly value. */
static void expect_field(uint8_t id, const char *value)
{
	char got[EC_PROFILE_VALUE_MAX + 1];
	size_t len = 99;
	struct ec_error err = { 0 };
	cr_assert_eq(ec_profile_get_field(&c.pc, id, got, sizeof(got), &len, &err), EC_OK,
		     "field %02X: %s", id, err.text);
	cr_assert_eq(len, strlen(value), "field %02X: %zu bytes, expected %zu", id, len,
		     strlen(value));
	cr_assert_str_eq(got, value);
}

/* ---- the whole flow ---- */

Test(gp_perso, personalizes_then_loads_and_pays)
{
	uint8_t serial[PURSE_SERIAL_LEN] = { 0 };
	struct ec_error err = { 0 };

	/* Not personalized: the purse is closed. */
	cr_assert_eq(plain("00 A4 04 00 08 F045434152445701 00"), 0x9000);
	cr_assert_eq(plain("80 5C 00 00 00"), 0x6985);

	cr_assert_eq(personalize(NULL, NULL, serial, &err), EC_OK,
		     "%s", err.text);
	cr_assert_arr_eq(serial, card_serial, PURSE_SERIAL_LEN);
	/* The card manager moved both applications to PERSONALIZED (0F). */
	open_channel(0x01);
	cr_assert_eq(sec("80 F2 40 02 0A 4F 08 F045434152445701 00"), 0x9000);
	cr_assert(memmem(rsp, rsp_len, "\x9F\x70\x01\x0F", 4), "wallet PERSONALIZED");
	cr_assert_eq(sec("80 F2 40 02 0A 4F 08 F045434152445001 00"), 0x9000);
	cr_assert(memmem(rsp, rsp_len, "\x9F\x70\x01\x0F", 4), "profile PERSONALIZED");
	ec_gp_close(&sess);
	expect_certified();
	load_and_pay();
	/* Without initial values the profile keeps its defaults, empty. */
	expect_policy(EC_POLICY_NEVER, EC_POLICY_ALWAYS);
	expect_field(0x0A, "");
}

Test(gp_perso, level_33_also_works)
{
	struct ec_gp_options opt;
	struct ec_error err = { 0 };

	ec_gp_options_init(&opt);
	opt.scp = EC_GP_SCP03;
	opt.level = 0x33;
	cr_assert_eq(personalize(&opt, NULL, NULL, &err), EC_OK,
		     "%s", err.text);
	expect_certified();
	load_and_pay();
}

Test(gp_perso, on_a_supplementary_logical_channel)
{
	struct ec_gp_options opt;
	struct ec_error err = { 0 };

	cr_assert_eq(plain("00 70 00 02 00"), 0x9000);
	ec_gp_options_init(&opt);
	opt.scp = EC_GP_SCP03;
	opt.level = 0x03;
	opt.channel = 2;
	cr_assert_eq(personalize(&opt, NULL, NULL, &err), EC_OK,
		     "%s", err.text);
	cr_assert_eq(plain("00 70 80 02 00"), 0x9000);
	expect_certified();
	load_and_pay();
}

Test(gp_perso, scp02_or_no_c_mac_is_refused_before_the_card_sees_anything)
{
	struct ec_gp_options opt;
	struct ec_error err = { 0 };

	ec_gp_options_init(&opt);
	opt.scp = EC_GP_SCP02;
	cr_assert_eq(personalize(&opt, NULL, NULL, &err),
		     EC_ERR_ARG);
	cr_assert_not_null(strstr(err.text, "SCP03"), "%s", err.text);
	opt.scp = EC_GP_SCP03;
	opt.level = 0x00;
	cr_assert_eq(personalize(&opt, NULL, NULL, &err),
		     EC_ERR_ARG);
	cr_assert_not_null(strstr(err.text, "C-MAC"), "%s", err.text);
	cr_assert_eq(plain("00 A4 04 00 08 F045434152445701 00"), 0x9000);
	cr_assert_eq(plain("80 5C 00 00 00"), 0x6985);
}

Test(gp_perso, profile_initial_fields_and_policy)
{
	struct ec_profile_init init = { .set_policy = true, .general = EC_POLICY_NEVER,
					.private_class = EC_POLICY_SESSION };
	struct ec_error err = { 0 };
	char long_value[EC_PROFILE_VALUE_MAX + 1];

	/* Every field, the longest values: several blocks of each kind. */
	memset(long_value, 'x', EC_PROFILE_VALUE_MAX);
	long_value[EC_PROFILE_VALUE_MAX] = '\0';
	init.values[0x01 - 1] = "ann";
	init.values[0x02 - 1] = "correct horse battery staple";
	init.values[0x03 - 1] = "Ann";
	init.values[0x04 - 1] = "Smith";
	init.values[0x05 - 1] = long_value;
	init.values[0x06 - 1] = "K\xC3\xB8" "benhavn";	/* UTF-8 */
	init.values[0x07 - 1] = long_value;
	init.values[0x08 - 1] = long_value;
	init.values[0x09 - 1] = "4000123412341234";
	init.values[0x0A - 1] = "ann@example.org";
	init.values[0x0B - 1] = long_value;
	cr_assert_eq(personalize(NULL, &init, NULL, &err), EC_OK,
		     "%s", err.text);

	expect_policy(EC_POLICY_NEVER, EC_POLICY_SESSION);
	expect_field(0x01, "ann");
	expect_field(0x03, "Ann");
	expect_field(0x04, "Smith");
	expect_field(0x05, long_value);
	expect_field(0x06, "K\xC3\xB8" "benhavn");
	expect_field(0x07, long_value);
	expect_field(0x08, long_value);
	expect_field(0x0A, "ann@example.org");
	expect_field(0x0B, long_value);
	/* Private fields: once per session, so not before the PIN. */
	cr_assert_eq(plain("00 CA 01 02 00"), 0x6982);
	cr_assert_eq(plain("00 20 00 81 08 31323334FFFFFFFF"), 0x9000);
	expect_field(0x02, "correct horse battery staple");
	expect_field(0x09, "4000123412341234");
	load_and_pay();
}

Test(gp_perso, values_the_card_would_refuse_are_refused_first)
{
	struct ec_profile_init init = { 0 };
	struct ec_error err = { 0 };
	char too_long[EC_PROFILE_VALUE_MAX + 2];

	memset(too_long, 'y', EC_PROFILE_VALUE_MAX + 1);
	too_long[EC_PROFILE_VALUE_MAX + 1] = '\0';
	init.values[0x0A - 1] = too_long;
	cr_assert_eq(personalize(NULL, &init, NULL, &err),
		     EC_ERR_ARG);
	init.values[0x0A - 1] = NULL;
	init.set_policy = true;
	init.general = 3;
	cr_assert_eq(personalize(NULL, &init, NULL, &err),
		     EC_ERR_ARG);
	/* Nothing reached the card: it personalizes as new. */
	init.general = EC_POLICY_SESSION;
	cr_assert_eq(personalize(NULL, &init, NULL, &err), EC_OK,
		     "%s", err.text);
	expect_policy(EC_POLICY_SESSION, EC_POLICY_NEVER);
}

/* ---- refusals ---- */

Test(gp_perso, store_data_outside_a_secure_channel_is_refused)
{
	select_isd();
	cr_assert_eq(plain(INSTALL_PERSO_WALLET), 0x6982);
	cr_assert_eq(plain("80 E2 00 00 02 C000"), 0x6982);
	cr_assert_eq(plain("80 E2 80 00 04 D0020000"), 0x6982);
	/* Neither application took anything. */
	cr_assert_eq(plain("00 A4 04 00 08 F045434152445701 00"), 0x9000);
	cr_assert_eq(plain("80 5C 00 00 00"), 0x6985);
	expect_policy(EC_POLICY_NEVER, EC_POLICY_ALWAYS);
}

Test(gp_perso, store_data_without_install_for_personalization_is_refused)
{
	open_channel(0x03);
	cr_assert_eq(sec("80 E2 00 00 02 C000"), 0x6985);
	cr_assert_eq(sec("80 E2 80 00 04 D0020000"), 0x6985);
	/* A new secure channel forgets an earlier INSTALL [for personalization]. */
	cr_assert_eq(sec(INSTALL_PERSO_PROFILE), 0x9000);
	open_channel(0x03);
	cr_assert_eq(sec("80 E2 80 00 04 D0020000"), 0x6985);
	ec_gp_close(&sess);
	expect_policy(EC_POLICY_NEVER, EC_POLICY_ALWAYS);
}

Test(gp_perso, a_second_personalization_is_refused)
{
	struct ec_profile_init init = { .set_policy = true, .general = EC_POLICY_SESSION,
					.private_class = EC_POLICY_ALWAYS };
	struct ec_error err = { 0 };

	init.values[0x0A - 1] = "ann@example.org";
	cr_assert_eq(personalize(NULL, &init, NULL, &err), EC_OK,
		     "%s", err.text);
	/* Again with the test keys: they no longer open the card manager. */
	cr_assert_neq(personalize(NULL, NULL, NULL, &err), EC_OK);
	/* Again with the card's own keys: the wallet refuses. */
	struct ec_gp_options opt;
	ec_gp_options_init(&opt);
	opt.level = 0x03;
	opt.kdf = EC_GP_KDF_KDF3;
	cr_assert_eq(ec_personalize(&issuer, &c.pc, &opt, &issuer.isd_master, NULL, NULL, &err),
		     EC_ERR_CARD);
	cr_assert_eq(err.sw, 0x6985);
	cr_assert_not_null(strstr(err.text, "personalized already"), "%s", err.text);

	open_channel(0x03);
	/* The card manager: no INSTALL [for personalization] in this channel. */
	cr_assert_eq(sec("80 E2 00 00 02 C000"), 0x6985);
	/* The wallet: a new key pair, or any key, no more. */
	cr_assert_eq(sec(INSTALL_PERSO_WALLET), 0x9000);
	cr_assert_eq(sec("80 E2 00 00 02 C000"), 0x6985);
	cr_assert_eq(sec("80 E2 00 01 08 C306 03D2 00000001"), 0x6985);
	/* The profile: its personalization closed with its last block. */
	cr_assert_eq(sec(INSTALL_PERSO_PROFILE), 0x9000);
	cr_assert_eq(sec("80 E2 80 00 07 0A05 6576696C21"), 0x6985);
	cr_assert_eq(sec("80 E2 80 01 04 D0020000"), 0x6985);
	ec_gp_close(&sess);

	expect_policy(EC_POLICY_SESSION, EC_POLICY_ALWAYS);
	cr_assert_eq(plain("00 20 00 81 08 31323334FFFFFFFF"), 0x9000);
	expect_field(0x0A, "ann@example.org");
	expect_certified();
	load_and_pay();
}

Test(gp_perso, kload_under_a_wrong_dek_is_refused_and_nothing_stored)
{
	uint8_t serial[PURSE_SERIAL_LEN], pub[CRYPTO_EC_PUB_LEN], cert[PURSE_CERT_LEN];
	uint8_t kload[PURSE_KEY_LEN], tlvs[160], wrong_dek[16];
	size_t n = 0;

	open_channel(0x03);
	cr_assert_eq(sec(INSTALL_PERSO_WALLET), 0x9000);
	cr_assert_eq(rsp_len, 1);
	cr_assert_eq(sec("80 E2 00 00 02 C000"), 0x9000);
	cr_assert_eq(rsp_len, PURSE_SERIAL_LEN + CRYPTO_EC_PUB_LEN);
	memcpy(serial, rsp, PURSE_SERIAL_LEN);
	memcpy(pub, rsp + PURSE_SERIAL_LEN, CRYPTO_EC_PUB_LEN);
	cr_assert_arr_eq(serial, card_serial, PURSE_SERIAL_LEN);
	cr_assert_eq(pub[0], 0x04);
	cr_assert_eq(purse_derive_kload(issuer.master_key, serial, kload), 0);
	cr_assert_eq(purse_cert_make(issuer.ca_priv, PURSE_CERT_CARD, serial, pub, cert), 0);

	tlvs[0] = 0xC1;
	tlvs[1] = PURSE_KEY_LEN;
	memcpy(tlvs + 2, kload, PURSE_KEY_LEN);
	for (int i = 0; i < 16; i++)
		wrong_dek[i] = (uint8_t)(0x40 + i);
	wrong_dek[15] ^= 0x01;
	cr_assert_eq(sec_store_encrypted(0x00, 1, tlvs, 2 + PURSE_KEY_LEN, wrong_dek), 0x6A80);

	/* The rest, with the certificate as last block: K_load is missing,
	 * so the wallet is incomplete and says so. */
	n = 0;
	tlvs[n++] = 0xC2;
	tlvs[n++] = CRYPTO_EC_PUB_LEN;
	memcpy(tlvs + n, issuer.ca_pub, CRYPTO_EC_PUB_LEN);
	n += CRYPTO_EC_PUB_LEN;
	tlvs[n++] = 0xC3;
	tlvs[n++] = 6;
	store_be16(tlvs + n, EUR);
	store_be32(tlvs + n + 2, MAX_BALANCE);
	n += 6;
	cr_assert_eq(sec_store(0x00, 2, tlvs, n), 0x9000);
	uint8_t cert_tlv[3 + PURSE_CERT_LEN] = { 0xC4, 0x81, PURSE_CERT_LEN };
	memcpy(cert_tlv + 3, cert, PURSE_CERT_LEN);
	cr_assert_eq(sec_store(0x80, 3, cert_tlv, sizeof(cert_tlv)), 0x6985);

	/* With the right DEK it is taken, and the wallet is complete. */
	tlvs[0] = 0xC1;
	tlvs[1] = PURSE_KEY_LEN;
	memcpy(tlvs + 2, kload, PURSE_KEY_LEN);
	cr_assert_eq(sec_store_encrypted(0x00, 4, tlvs, 2 + PURSE_KEY_LEN, keys.dek), 0x9000);
	cr_assert_eq(sec_store(0x80, 5, cert_tlv, sizeof(cert_tlv)), 0x9000);
	crypto_wipe(kload, sizeof(kload));
	crypto_wipe(tlvs, sizeof(tlvs));
	ec_gp_close(&sess);

	expect_certified();
	load_and_pay();
}

Test(gp_perso, wallet_store_data_checks)
{
	uint8_t pub[CRYPTO_EC_PUB_LEN], cert[PURSE_CERT_LEN];

	open_channel(0x03);
	cr_assert_eq(sec(INSTALL_PERSO_WALLET), 0x9000);
	/* One key pair per block, C0 has no value, unknown tags are refused. */
	cr_assert_eq(sec("80 E2 00 00 04 C000 C000"), 0x6A80);
	cr_assert_eq(sec("80 E2 00 00 03 C001 00"), 0x6A80);
	cr_assert_eq(sec("80 E2 00 00 02 C500"), 0x6A80);
	cr_assert_eq(sec("80 E2 20 00 02 C000"), 0x6A86);
	/* A DEK-encrypted block that does not decrypt to padded data. */
	cr_assert_eq(sec("80 E2 60 00 10 00112233445566778899AABBCCDDEEFF"), 0x6A80);

	cr_assert_eq(sec("80 E2 00 00 02 C000"), 0x9000);
	memcpy(pub, rsp + PURSE_SERIAL_LEN, CRYPTO_EC_PUB_LEN);
	/* A certificate in the block that makes a new key cannot be for it. */
	cr_assert_eq(purse_cert_make(issuer.ca_priv, PURSE_CERT_CARD, card_serial, pub, cert), 0);
	uint8_t block[2 + 3 + PURSE_CERT_LEN] = { 0xC0, 0x00, 0xC4, 0x81, PURSE_CERT_LEN };
	memcpy(block + 5, cert, PURSE_CERT_LEN);
	cr_assert_eq(sec_store(0x00, 1, block, sizeof(block)), 0x6A80);
	/* Refused in full: the key made by the first C0 is still the card's. */
	cr_assert_eq(sec_store(0x00, 2, block + 2, sizeof(block) - 2), 0x9000);
	ec_gp_close(&sess);

	/* The first version's factory way, in clear with the wallet selected,
	 * is gone: nothing but the card manager personalizes. */
	cr_assert_eq(plain("00 A4 04 00 08 F045434152445701 00"), 0x9000);
	cr_assert_eq(plain("80 E2 00 00 02 C000"), 0x6982);
	cr_assert_eq(plain("80 E4 00 00 00"), 0x6D00);
}

Test(gp_perso, store_data_sent_straight_to_the_profile_is_refused)
{
	struct ec_error err = { 0 };
	struct ec_profile_init init = { .set_policy = true, .general = EC_POLICY_ALWAYS,
					.private_class = EC_POLICY_ALWAYS };

	cr_assert_eq(plain("00 A4 04 00 08 F045434152445001 00"), 0x9000);
	cr_assert_eq(plain("80 E2 80 00 04 D0020000"), 0x6982);
	cr_assert_eq(plain("80 E2 00 00 07 0A05 6576696C21"), 0x6982);
	expect_policy(EC_POLICY_NEVER, EC_POLICY_ALWAYS);
	expect_field(0x0A, "");

	/* The profile selected on channel 1 while the card manager forwards
	 * on channel 0: that is the card manager's STORE DATA, and taken.
	 * (The profile is not multi-selectable: off channel 0 first.) */
	select_isd();
	cr_assert_eq(plain("00 70 00 01 00"), 0x9000);
	cr_assert_eq(plain("01 A4 04 00 08 F045434152445001 00"), 0x9000);
	init.values[0x0A - 1] = "ann@example.org";
	cr_assert_eq(personalize(NULL, &init, NULL, &err), EC_OK,
		     "%s", err.text);
	/* And sent on channel 1, where the profile is selected: refused. */
	cr_assert_eq(plain("81 E2 80 00 04 D0020000"), 0x6982);
	cr_assert_eq(plain("81 30 00 00 00"), 0x9000);
	cr_assert_eq(rsp_len, 2);
	cr_assert_eq(rsp[0], EC_POLICY_ALWAYS);
	cr_assert_eq(rsp[1], EC_POLICY_ALWAYS);
	cr_assert_eq(plain("00 70 80 01 00"), 0x9000);
}

Test(gp_perso, profile_store_data_checks)
{
	open_channel(0x03);
	cr_assert_eq(sec(INSTALL_PERSO_PROFILE), 0x9000);
	/* Unknown tag, field 0C, bad policy, long value, bad UTF-8, P1 bits. */
	cr_assert_eq(sec("80 E2 00 00 03 0C0141"), 0x6A80);
	cr_assert_eq(sec("80 E2 00 00 03 000141"), 0x6A80);
	cr_assert_eq(sec("80 E2 00 00 04 D0020300"), 0x6A80);
	cr_assert_eq(sec("80 E2 00 00 03 D00100"), 0x6A80);
	cr_assert_eq(sec("80 E2 00 00 03 0A01C3"), 0x6A80);
	cr_assert_eq(sec("80 E2 00 00 03 0A0180"), 0x6A80);
	cr_assert_eq(sec("80 E2 10 00 03 0A0141"), 0x6A86);
	uint8_t long_block[2 + EC_PROFILE_VALUE_MAX + 1] = { 0x0A, EC_PROFILE_VALUE_MAX + 1 };
	memset(long_block + 2, 'a', EC_PROFILE_VALUE_MAX + 1);
	cr_assert_eq(sec_store(0x00, 0, long_block, sizeof(long_block)), 0x6A80);
	/* A refused block changes nothing, even its good TLVs before the bad. */
	cr_assert_eq(sec("80 E2 00 00 07 0B0141 D0020300"), 0x6A80);
	/* Blocks before the last are applied, later ones override them; the
	 * last block may be empty. */
	cr_assert_eq(sec("80 E2 00 01 07 0A0142 D0020101"), 0x9000);
	cr_assert_eq(sec("80 E2 00 02 03 0A0143"), 0x9000);
	cr_assert_eq(sec("80 E2 80 03"), 0x9000);
	cr_assert_eq(sec("80 E2 80 04 03 0B0144"), 0x6985);
	ec_gp_close(&sess);

	expect_policy(EC_POLICY_SESSION, EC_POLICY_SESSION);
	cr_assert_eq(plain("00 CA 01 0A 00"), 0x6982);
	cr_assert_eq(plain("00 20 00 81 08 31323334FFFFFFFF"), 0x9000);
	expect_field(0x0A, "C");
	expect_field(0x0B, "");
	expect_field(0x01, "");
}

/* ---- attacks on issuance ---- */

/*
 * A relay between the issuer and the card (the over-the-air client, an
 * intermediary of any kind) that also talks to the card itself. What it
 * does is chosen per test; the issuer's own commands pass unchanged, since
 * the secure channel's C-MAC would catch any change.
 */
enum relay_act {
	RELAY_NOTHING,
	RELAY_SLIP_KLOAD,	/* after the DEK-encrypted K_load block, send its own */
	RELAY_ALTER_SEAL,	/* flip a bit of the last block's answer (no R-MAC at 03) */
};

static struct {
	ec_raw_transmit_fn inner;
	enum relay_act act;
	uint16_t slipped_sw[3];	/* the card's answers to the relay's own commands */
	bool done;
} relay;

static uint16_t relay_send(struct ec_pcsc *p, const char *hex)
{
	uint8_t cmd[64], out[300];
	size_t n = sizeof(out);
	long len = hex_decode(hex, cmd, sizeof(cmd));
	cr_assert_geq(len, 4);
	cr_assert_eq(relay.inner(p, cmd, (size_t)len, out, &n), SCARD_S_SUCCESS);
	return ec_response_sw(out, n);
}

static long relay_transmit(struct ec_pcsc *p, const uint8_t *cmd, size_t len, uint8_t *resp,
			   size_t *resp_len)
{
	bool store_data = len >= 4 && cmd[1] == GP_INS_STORE_DATA && (cmd[0] & 0x04);
	long rv = relay.inner(p, cmd, len, resp, resp_len);
	if (rv != SCARD_S_SUCCESS || relay.done || !store_data)
		return rv;
	if (relay.act == RELAY_SLIP_KLOAD &&
	    (cmd[2] & GP_STORE_DATA_ENCRYPTED) == GP_STORE_DATA_ENCRYPTED) {
		/* Its own channel (1, the first free one: the issuer is on 0), the
		 * wallet, and a K_load of its own in clear. */
		relay.slipped_sw[0] = relay_send(p, "00 70 00 00 01");
		relay.slipped_sw[1] = relay_send(p, "01 A4 04 00 08 F045434152445701 00");
		relay.slipped_sw[2] = relay_send(p, "81 E2 00 05 12 C1 10 "
						    "A7A7A7A7A7A7A7A7A7A7A7A7A7A7A7A7");
		relay_send(p, "00 70 80 01");
		relay.done = true;
	}
	if (relay.act == RELAY_ALTER_SEAL && (cmd[2] & GP_P1_LAST_BLOCK) &&
	    *resp_len == PURSE_MAC_LEN + 2) {
		resp[0] ^= 0x01;
		relay.done = true;
	}
	return rv;
}

static void relay_on(enum relay_act act)
{
	memset(&relay, 0, sizeof(relay));
	relay.inner = c.pc.raw_transmit;
	relay.act = act;
	c.pc.raw_transmit = relay_transmit;
}

/*
 * The critical finding against the first version: after the issuer's
 * DEK-encrypted K_load block, a second client opens a logical channel,
 * selects the wallet and sends a plain STORE DATA with its own K_load;
 * issuance reported success and the attacker could then credit any
 * amount. The wallet now refuses, and the card holds the issuer's K_load.
 */
Test(gp_perso, a_relay_cannot_slip_its_own_k_load_in)
{
	struct ec_error err = { 0 };

	relay_on(RELAY_SLIP_KLOAD);
	cr_assert_eq(personalize(NULL, NULL, NULL, &err), EC_OK, "%s", err.text);
	cr_assert(relay.done, "the relay had its turn");
	cr_assert_eq(relay.slipped_sw[0], 0x9000, "a channel of its own");
	cr_assert_eq(relay.slipped_sw[1], 0x9000, "the wallet selected there");
	cr_assert_eq(relay.slipped_sw[2], 0x6982, "its K_load refused");
	load_and_pay();	/* S1, S2 and S3 under the issuer's K_load */
}

/* The wallet's seal, altered on the way back, stops issuance. */
Test(gp_perso, an_altered_seal_stops_issuance)
{
	struct ec_error err = { 0 };

	relay_on(RELAY_ALTER_SEAL);
	cr_assert_eq(personalize(NULL, NULL, NULL, &err), EC_ERR_CHECK);
	cr_assert(relay.done);
	cr_assert_not_null(strstr(err.text, "seal"), "%s", err.text);
}

/*
 * The high finding: issued cards kept the public test keys 40..4F, with
 * which anyone could delete the wallet of a card holding value, or lock
 * or terminate the card. Issuance now ends with the card's own keys.
 */
Test(gp_perso, issuance_replaces_the_test_keys)
{
	struct ec_gp_options opt;
	struct ec_gp_keys test0, card;
	struct ec_gp_key_info info;
	struct ec_error err = { 0 };

	cr_assert_eq(personalize(NULL, NULL, NULL, &err), EC_OK, "%s", err.text);

	/* The test keys open nothing, whatever key version is asked for. */
	ec_gp_options_init(&opt);
	opt.level = 0x03;
	ec_gp_default_keys(&test0, 0);
	cr_assert_eq(ec_gp_connect(&sess, &c.pc, &test0, &opt, &err), EC_ERR_CHECK, "%s",
		     err.text);
	cr_assert_eq(ec_gp_connect(&sess, &c.pc, &keys, &opt, &err), EC_ERR_CARD, "%s", err.text);
	cr_assert_eq(err.sw, 0x6A88, "key set 30 is gone");

	/* The card's own keys: the issuer's master keys diversified. */
	open_channel(0x03);
	cr_assert_eq(ec_gp_get_key_info(&c.pc, &sess, &info, &err), EC_OK, "%s", err.text);
	cr_assert_eq(info.count, 3, "one key set");
	for (size_t i = 0; i < info.count; i++)
		cr_assert_eq(info.keys[i].version, EC_ISSUER_ISD_KVN);
	/* They are this card's only: derived from its KDD (00 00 || serial). */
	uint8_t kdd[EC_GP_KDD_LEN] = { 0 };
	memcpy(kdd + 2, card_serial, PURSE_SERIAL_LEN);
	cr_assert_eq(ec_issuer_card_keys(&issuer, kdd, &card, &err), EC_OK);
	cr_assert_arr_eq(sess.keys.enc, card.enc, 16);
	cr_assert(memcmp(card.enc, issuer.isd_master.enc, 16) != 0, "not the master key itself");
	ec_gp_keys_wipe(&card);
	ec_gp_keys_wipe(&test0);
	ec_gp_close(&sess);
	load_and_pay();
}
