/*
 * wallet_fixture.h - a personalized wallet on an in-memory card, for the
 * wallet and profile tests. The test plays the issuer (master load key, CA)
 * and a merchant with keys of its own, using only common/purse.h, so the
 * card is checked against the specification and not against the host code.
 * Personalization reaches the wallet the only way it can: STORE DATA in
 * the card manager's secure channel, here opened on logical channel 1 with
 * the test keys by the host's GlobalPlatform client over the card in
 * process (the wallet stays selected on channel 0).
 *
 * Included by one test file each: everything here is static (inline, so a
 * test that does not use a helper does not warn about it).
 */
#ifndef ECARD_TEST_WALLET_FIXTURE_H
#define ECARD_TEST_WALLET_FIXTURE_H

#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "applets.h"
#include "card.h"
#include "cursor.h"
#include "exchange.h"
#include "gp.h"
#include "hex.h"
#include "inproc.h"
#include "purse.h"

#define FX_IMAGE (256u * 1024u)
#define FX_CURRENCY 978u
#define FX_MAX 100000u		/* 1000.00 */

struct fx {
	struct vc_storage *st;		/* tearing wrapper around memory */
	struct vc_card card;
	uint8_t master[PURSE_MASTER_KEY_LEN];
	uint8_t ca_priv[CRYPTO_EC_PRIV_LEN], ca_pub[CRYPTO_EC_PUB_LEN];
	uint8_t merchant_id[PURSE_ID_LEN];
	uint8_t merchant_priv[CRYPTO_EC_PRIV_LEN], merchant_pub[CRYPTO_EC_PUB_LEN];
	uint8_t merchant_cert[PURSE_CERT_LEN];
	uint8_t serial[PURSE_SERIAL_LEN];
	uint8_t kload[PURSE_KEY_LEN];
	uint8_t rsp[VC_RSP_MAX];
	size_t rsp_len;		/* data only */
	uint16_t sw;		/* 0 after a power loss */
	/* The card manager's secure channel personalization goes through. */
	struct ec_pcsc pc;
	struct ec_gp_session gp;
	uint8_t perso_channel;
	uint8_t perso_block;
};

static struct fx fx;

#define SELECT_WALLET "00 A4 04 00 08 F045434152445701 00"
#define SELECT_PROFILE "00 A4 04 00 08 F045434152445001 00"
#define VERIFY_1234 "00 20 00 81 08 31323334FFFFFFFF"

static inline uint16_t fx_send_bytes(const uint8_t *cmd, size_t len)
{
	size_t n;
	enum vc_status st = vc_card_process(&fx.card, cmd, len, fx.rsp, &n);
	if (st == VC_ERR_POWER_LOST) {
		fx.rsp_len = 0;
		fx.sw = 0;
		return 0;
	}
	cr_assert_eq(st, VC_OK);
	fx.rsp_len = n - 2;
	fx.sw = (uint16_t)(fx.rsp[n - 2] << 8 | fx.rsp[n - 1]);
	return fx.sw;
}

static inline uint16_t fx_send(const char *hex)
{
	uint8_t cmd[600];
	long n = hex_decode(hex, cmd, sizeof(cmd));
	cr_assert_geq(n, 4, "bad test APDU %s", hex);
	return fx_send_bytes(cmd, (size_t)n);
}

/* Send header || data || Le 00 (short case 4, or case 3 when !le). */
static inline uint16_t fx_send_data(uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2,
			     const uint8_t *data, size_t len, bool le)
{
	uint8_t cmd[600];
	cr_assert_leq(len, 255);
	cmd[0] = cla;
	cmd[1] = ins;
	cmd[2] = p1;
	cmd[3] = p2;
	size_t n = 4;
	if (len) {
		cmd[n++] = (uint8_t)len;
		memcpy(cmd + n, data, len);
		n += len;
	}
	if (le)
		cmd[n++] = 0;
	return fx_send_bytes(cmd, n);
}

static inline void fx_power_cycle(void)
{
	vc_card_power_down(&fx.card);
	cr_assert_eq(vc_card_power_up(&fx.card), VC_OK);
}

static inline void fx_select_wallet(void)
{
	cr_assert_eq(fx_send(SELECT_WALLET), 0x9000);
}

/*
 * Open logical channel 1, the card manager's secure channel on it (SCP03,
 * C-MAC and command encryption, the test keys) and INSTALL [for
 * personalization] of the wallet.
 */
static inline void fx_perso_begin(void)
{
	struct ec_gp_options opt;
	struct ec_gp_keys keys;
	struct ec_error err = { 0 };
	static const uint8_t wallet[] = { WALLET_AID };

	cr_assert_eq(fx_send("00 70 00 00 01"), 0x9000, "a channel for the card manager");
	fx.perso_channel = fx.rsp[0];
	ec_pcsc_init(&fx.pc, NULL);
	vc_inproc_attach(&fx.pc, &fx.card);
	ec_gp_options_init(&opt);
	opt.scp = EC_GP_SCP03;
	opt.level = EC_GP_LEVEL_C_MAC | EC_GP_LEVEL_C_DEC;
	opt.channel = fx.perso_channel;
	ec_gp_default_keys(&keys, 0);
	cr_assert_eq(ec_gp_connect(&fx.gp, &fx.pc, &keys, &opt, &err), EC_OK, "%s", err.text);
	cr_assert_eq(ec_gp_install_for_personalization(&fx.gp, wallet, sizeof(wallet), "INSTALL",
						       &err), EC_OK, "%s", err.text);
	fx.perso_block = 0;
}

/* Close the card manager's channel and its logical channel. */
static inline void fx_perso_end(void)
{
	uint8_t close[4] = { 0x00, ISO_INS_MANAGE_CHANNEL, 0x80, fx.perso_channel };
	ec_gp_close(&fx.gp);
	cr_assert_eq(fx_send_bytes(close, sizeof(close)), 0x9000);
}

/* STORE DATA of TLVs through the card manager (its channel opened first
 * when it is not open); the answer in fx.rsp as for fx_send. */
static inline uint16_t fx_store(uint8_t p1, const uint8_t *tlvs, size_t len)
{
	uint8_t cmd[5 + 255];
	struct ec_error err = { 0 };
	if (!ec_gp_is_open(&fx.gp))
		fx_perso_begin();
	cr_assert_leq(len, 239);
	cmd[0] = iso_cla(GP_CLA, fx.perso_channel);
	cmd[1] = GP_INS_STORE_DATA;
	cmd[2] = p1;
	cmd[3] = fx.perso_block++;
	cmd[4] = (uint8_t)len;
	memcpy(cmd + 5, tlvs, len);
	cr_assert_eq(ec_gp_exchange(&fx.gp, "STORE DATA", cmd, 5 + len, fx.rsp, sizeof(fx.rsp),
				    &fx.rsp_len, &fx.sw, &err), EC_OK, "%s", err.text);
	return fx.sw;
}

/* The same STORE DATA sent to the wallet itself, in clear on channel 0, as
 * anyone talking to the card could: the wallet refuses it. */
static inline uint16_t fx_store_direct(uint8_t p1, const uint8_t *tlvs, size_t len)
{
	return fx_send_data(WALLET_CLA, WALLET_INS_STORE_DATA, p1, 0x00, tlvs, len, false);
}

/* STORE DATA C0: the card makes its key pair; fx.serial gets the serial,
 * pub the public key. */
static inline void fx_generate(uint8_t pub[CRYPTO_EC_PUB_LEN])
{
	static const uint8_t generate[] = { WALLET_TAG_GENERATE, 0x00 };
	cr_assert_eq(fx_store(0x00, generate, sizeof(generate)), 0x9000);
	cr_assert_eq(fx.rsp_len, WALLET_KEY_PAIR_RESPONSE_LEN);
	memcpy(fx.serial, fx.rsp, PURSE_SERIAL_LEN);
	memcpy(pub, fx.rsp + PURSE_SERIAL_LEN, CRYPTO_EC_PUB_LEN);
}

static inline size_t fx_tlv(uint8_t *out, uint8_t tag, const void *value, size_t len)
{
	size_t n = 0;
	out[n++] = tag;
	if (len > 127)
		out[n++] = 0x81;
	out[n++] = (uint8_t)len;
	memcpy(out + n, value, len);
	return n + len;
}

/* Personalization, exactly as common/wallet_proto.h describes it; the
 * wallet's seal is checked. */
static inline void fx_personalize(void)
{
	uint8_t pub[CRYPTO_EC_PUB_LEN], cert[PURSE_CERT_LEN], tlvs[300], limits[6];
	uint8_t seal[PURSE_MAC_LEN];
	fx_select_wallet();
	fx_generate(pub);
	cr_assert_eq(purse_derive_kload(fx.master, fx.serial, fx.kload), 0);
	cr_assert_eq(purse_cert_make(fx.ca_priv, PURSE_CERT_CARD, fx.serial, pub, cert), 0);

	store_be16(limits, FX_CURRENCY);
	store_be32(limits + 2, FX_MAX);
	size_t n = fx_tlv(tlvs, WALLET_TAG_KLOAD, fx.kload, PURSE_KEY_LEN);
	n += fx_tlv(tlvs + n, WALLET_TAG_CA_PUB, fx.ca_pub, CRYPTO_EC_PUB_LEN);
	n += fx_tlv(tlvs + n, WALLET_TAG_LIMITS, limits, sizeof(limits));
	cr_assert_eq(fx_store(0x00, tlvs, n), 0x9000);
	n = fx_tlv(tlvs, WALLET_TAG_CERT, cert, sizeof(cert));
	cr_assert_eq(fx_store(WALLET_STORE_DATA_LAST, tlvs, n), 0x9000);
	cr_assert_eq(fx.rsp_len, PURSE_MAC_LEN, "the last block answers the seal");
	cr_assert_eq(purse_perso_seal(fx.kload, fx.serial, fx.ca_pub, FX_CURRENCY, FX_MAX, cert,
				      seal), 0);
	cr_assert_arr_eq(fx.rsp, seal, PURSE_MAC_LEN, "the seal verifies under K_load");
	fx_perso_end();
}

static inline void fx_boot(bool personalize)
{
	struct vc_storage *mem;
	memset(&fx, 0, sizeof(fx));
	cr_assert_eq(vc_storage_mem_create(FX_IMAGE, &mem), VC_OK);
	cr_assert_eq(vc_card_create(mem, NULL, ecard_applets, ecard_applet_count, NULL), VC_OK);
	cr_assert_eq(vc_storage_tear_create(mem, &fx.st), VC_OK);
	vc_card_init(&fx.card, fx.st, NULL);
	for (size_t i = 0; i < ecard_applet_count; i++)
		vc_card_register(&fx.card, ecard_applets[i]);
	cr_assert_eq(vc_card_power_up(&fx.card), VC_OK);

	cr_assert_eq(crypto_random(fx.master, sizeof(fx.master)), 0);
	cr_assert_eq(crypto_ec_generate(fx.ca_priv, fx.ca_pub), 0);
	memcpy(fx.merchant_id, "\x4D\x45\x52\x43\x48\x00\x00\x01", PURSE_ID_LEN);
	cr_assert_eq(crypto_ec_generate(fx.merchant_priv, fx.merchant_pub), 0);
	cr_assert_eq(purse_cert_make(fx.ca_priv, PURSE_CERT_MERCHANT, fx.merchant_id, fx.merchant_pub,
				     fx.merchant_cert), 0);
	if (personalize)
		fx_personalize();
}

static inline void fx_setup(void)
{
	fx_boot(true);
}

static inline void fx_teardown(void)
{
	ec_gp_close(&fx.gp);
	vc_card_free(&fx.card);
	vc_storage_destroy(fx.st);
}

struct fx_purse {
	uint32_t balance, max, counter;
	uint16_t currency;
};

static inline struct fx_purse fx_purse(void)
{
	struct fx_purse p;
	cr_assert_eq(fx_send("80 5C 00 00 00"), 0x9000);
	cr_assert_eq(fx.rsp_len, 23);
	cr_assert_eq(fx.rsp[0], 0x01);
	cr_assert_arr_eq(fx.rsp + 1, fx.serial, PURSE_SERIAL_LEN);
	p.currency = load_be16(fx.rsp + 9);
	p.balance = load_be32(fx.rsp + 11);
	p.max = load_be32(fx.rsp + 15);
	p.counter = load_be32(fx.rsp + 19);
	return p;
}

/* INITIALIZE LOAD; fills l from the answer and checks S1. */
static inline uint16_t fx_init_load(uint32_t amount, struct purse_load *l)
{
	uint8_t a[4], s1[PURSE_MAC_LEN];
	store_be32(a, amount);
	uint16_t sw = fx_send_data(0x80, 0x40, 0, 0, a, 4, true);
	if (sw != 0x9000)
		return sw;
	cr_assert_eq(fx.rsp_len, 48);
	memcpy(l->challenge, fx.rsp, 16);
	memcpy(l->serial, fx.rsp + 16, 8);
	l->counter = load_be32(fx.rsp + 24);
	l->balance = load_be32(fx.rsp + 28);
	l->amount = amount;
	cr_assert_eq(purse_s1(fx.kload, l, s1), 0);
	cr_assert_arr_eq(s1, fx.rsp + 32, PURSE_MAC_LEN, "S1 proves the card");
	return sw;
}

static inline uint16_t fx_credit(const uint8_t s2[PURSE_MAC_LEN])
{
	return fx_send_data(0x80, 0x42, 0, 0, s2, PURSE_MAC_LEN, true);
}

/* A whole top-up; checks S3. */
static inline void fx_load(uint32_t amount)
{
	struct purse_load l;
	uint8_t s2[PURSE_MAC_LEN], s3[PURSE_MAC_LEN];
	cr_assert_eq(fx_init_load(amount, &l), 0x9000);
	cr_assert_eq(purse_s2(fx.kload, &l, s2), 0);
	cr_assert_eq(fx_credit(s2), 0x9000);
	cr_assert_eq(fx.rsp_len, 24);
	uint32_t counter = load_be32(fx.rsp), balance = load_be32(fx.rsp + 4);
	cr_assert_eq(counter, l.counter + 1);
	cr_assert_eq(balance, l.balance + amount);
	cr_assert_eq(purse_s3(fx.kload, fx.serial, counter, amount, balance, s3), 0);
	cr_assert_arr_eq(s3, fx.rsp + 8, PURSE_MAC_LEN, "S3 is the card's receipt");
}

/* A signed debit request of this test's merchant. */
static inline void fx_debit_request(uint32_t amount, uint8_t out[PURSE_DEBIT_REQUEST_LEN])
{
	struct purse_debit_request r = { .amount = amount, .currency = FX_CURRENCY };
	memcpy(r.merchant_id, fx.merchant_id, PURSE_ID_LEN);
	cr_assert_eq(crypto_random(r.challenge, sizeof(r.challenge)), 0);
	memcpy(r.cert, fx.merchant_cert, PURSE_CERT_LEN);
	cr_assert_eq(purse_debit_request_make(&r, fx.merchant_priv, out), 0);
}

static inline uint16_t fx_send_debit(const uint8_t req[PURSE_DEBIT_REQUEST_LEN])
{
	return fx_send_data(0x80, 0x44, 0, 0, req, PURSE_DEBIT_REQUEST_LEN, true);
}

/* VERIFY then DEBIT; on success checks the signed record offline. */
static inline uint16_t fx_pay(uint32_t amount)
{
	uint8_t req[PURSE_DEBIT_REQUEST_LEN];
	fx_debit_request(amount, req);
	cr_assert_eq(fx_send(VERIFY_1234), 0x9000);
	uint16_t sw = fx_send_debit(req);
	if (sw != 0x9000)
		return sw;
	cr_assert_eq(fx.rsp_len, PURSE_DEBIT_RECORD_LEN + CRYPTO_EC_SIG_LEN);
	uint8_t rec[PURSE_DEBIT_RECORD_LEN + CRYPTO_EC_SIG_LEN], cert[PURSE_CERT_LEN];
	memcpy(rec, fx.rsp, sizeof(rec));
	cr_assert_eq(fx_send("80 4A 00 00 00"), 0x9000);
	cr_assert_eq(fx.rsp_len, PURSE_CERT_LEN);
	memcpy(cert, fx.rsp, sizeof(cert));
	cr_assert_eq(purse_debit_record_check(fx.ca_pub, cert, rec, rec + PURSE_DEBIT_RECORD_LEN), 1,
		     "the debit verifies offline");
	struct purse_debit_record r;
	cr_assert(purse_debit_record_parse(rec, PURSE_DEBIT_RECORD_LEN, &r));
	cr_assert_eq(r.amount, amount);
	cr_assert_arr_eq(r.challenge, req + 14, PURSE_CHALLENGE_LEN);
	memcpy(fx.rsp, rec, sizeof(rec));
	fx.rsp_len = sizeof(rec);
	return 0x9000;
}

#endif
