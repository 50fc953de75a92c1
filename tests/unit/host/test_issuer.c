/*
 * test_issuer.c - the issuer (host/issuer_keys.c, host/issuer.c): the key
 * directory made, read back and never overwritten, and the issuer's steps
 * of a load: S2 only for a genuine S1, the maximum balance, the S3
 * receipt. The card's side of the load is played with common/purse.c.
 */
#include <criterion/criterion.h>

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto.h"
#include "host_fixture.h"
#include "cursor.h"
#include "issuer.h"
#include "keyfile.h"
#include "purse.h"
#include "test_support.h"

#define EUR 978

/* ---- issuer ---- */

TestSuite(issuer, .init = ts_tmpdir_init, .fini = ts_tmpdir_fini);

Test(issuer, init_and_load_round_trip)
{
	char dir[128], path[160];
	struct ec_issuer is;
	struct ec_error err = { 0 };
	uint8_t pub[CRYPTO_EC_PUB_LEN], published[CRYPTO_EC_PUB_LEN];

	umask(022);
	ts_issuer_new("issuer", &is, dir, sizeof(dir));
	cr_assert_eq(ts_file_mode(dir), 0700);
	snprintf(path, sizeof(path), "%s/master.key", dir);
	cr_assert_eq(ts_file_mode(path), 0600);
	snprintf(path, sizeof(path), "%s/ca.key", dir);
	cr_assert_eq(ts_file_mode(path), 0600);
	snprintf(path, sizeof(path), "%s/ca.pub", dir);
	cr_assert_eq(ts_file_mode(path), 0644);
	snprintf(path, sizeof(path), "%s/issuer.conf", dir);
	cr_assert_eq(ts_file_mode(path), 0644);

	cr_assert_eq(is.currency, EUR);
	cr_assert_eq(is.max_balance, 50000);
	cr_assert_eq(crypto_ec_public(is.ca_priv, pub), 0);
	cr_assert_arr_eq(pub, is.ca_pub, CRYPTO_EC_PUB_LEN);
	cr_assert_eq(ec_issuer_load_ca_public(dir, published, &err), EC_OK);
	cr_assert_arr_eq(published, is.ca_pub, CRYPTO_EC_PUB_LEN);

	static const uint8_t zero[PURSE_MASTER_KEY_LEN];
	cr_assert(memcmp(is.master_key, zero, sizeof(zero)) != 0, "a master key was made");

	/* Two issuers never share keys. */
	struct ec_issuer other;
	char dir2[128];
	ts_issuer_new("issuer2", &other, dir2, sizeof(dir2));
	cr_assert(memcmp(is.master_key, other.master_key, PURSE_MASTER_KEY_LEN) != 0);
	cr_assert(memcmp(is.ca_pub, other.ca_pub, CRYPTO_EC_PUB_LEN) != 0);
	ec_issuer_wipe(&is);
	ec_issuer_wipe(&other);
}

Test(issuer, refuses_to_overwrite_an_issuer_directory)
{
	char dir[128], path[160];
	struct ec_issuer is, again;
	struct ec_error err = { 0 };

	ts_issuer_new("issuer", &is, dir, sizeof(dir));
	cr_assert_eq(ec_issuer_init(dir, EUR, 50000, &err), EC_ERR_EXISTS);
	cr_assert_eq(ec_issuer_load(dir, &again, &err), EC_OK);
	cr_assert_arr_eq(again.master_key, is.master_key, PURSE_MASTER_KEY_LEN, "keys untouched");

	/* An empty directory is adopted and made private. */
	ts_tmp_path(dir, sizeof(dir), "empty");
	cr_assert_eq(mkdir(dir, 0755), 0);
	cr_assert_eq(ec_issuer_init(dir, EUR, 100, &err), EC_OK, "%s", err.text);
	cr_assert_eq(ts_file_mode(dir), 0700);

	/* A bad currency creates nothing. */
	ts_tmp_path(dir, sizeof(dir), "bad");
	cr_assert_eq(ec_issuer_init(dir, 999, 100, &err), EC_ERR_ARG);
	cr_assert_eq(ec_issuer_init(dir, EUR, 0, &err), EC_ERR_ARG);
	struct stat st;
	cr_assert_neq(stat(dir, &st), 0);

	/* A loose secret stops the load. */
	ts_tmp_path(dir, sizeof(dir), "issuer");
	snprintf(path, sizeof(path), "%s/master.key", dir);
	cr_assert_eq(chmod(path, 0640), 0);
	cr_assert_eq(ec_issuer_load(dir, &again, &err), EC_ERR_INSECURE);
}

/* What a card with this issuer's keys answers to INITIALIZE LOAD. */
static void card_init_load(const struct ec_issuer *is, const uint8_t master[PURSE_MASTER_KEY_LEN],
			   uint32_t amount, uint32_t balance, struct purse_load *l,
			   uint8_t answer[WALLET_INIT_LOAD_RESPONSE_LEN])
{
	uint8_t kload[PURSE_KEY_LEN];
	(void)is;
	memcpy(l->serial, "\x01\x02\x03\x04\x05\x06\x07\x08", PURSE_SERIAL_LEN);
	l->counter = 7;
	l->amount = amount;
	l->balance = balance;
	cr_assert_eq(crypto_random(l->challenge, PURSE_CHALLENGE_LEN), 0);
	cr_assert_eq(purse_derive_kload(master, l->serial, kload), 0);
	memcpy(answer, l->challenge, 16);
	memcpy(answer + 16, l->serial, 8);
	store_be32(answer + 24, l->counter);
	store_be32(answer + 28, l->balance);
	cr_assert_eq(purse_s1(kload, l, answer + 32), 0);
}

Test(issuer, authorize_load_gives_s2_only_for_a_genuine_s1)
{
	char dir[128];
	struct ec_issuer is;
	struct ec_error err = { 0 };
	struct purse_load l, got;
	uint8_t answer[WALLET_INIT_LOAD_RESPONSE_LEN], s2[PURSE_MAC_LEN], want[PURSE_MAC_LEN];
	uint8_t kload[PURSE_KEY_LEN];
	static const uint8_t untouched[PURSE_MAC_LEN];

	ts_issuer_new("issuer", &is, dir, sizeof(dir));
	card_init_load(&is, is.master_key, 2000, 500, &l, answer);

	cr_assert_eq(ec_issuer_authorize_load(&is, answer, sizeof(answer), 2000, &got, s2, &err),
		     EC_OK, "%s", err.text);
	cr_assert_eq(purse_derive_kload(is.master_key, l.serial, kload), 0);
	cr_assert_eq(purse_s2(kload, &l, want), 0);
	cr_assert_arr_eq(s2, want, PURSE_MAC_LEN, "S2 is purse_s2 of the card's load");
	cr_assert_arr_eq(got.serial, l.serial, PURSE_SERIAL_LEN);
	cr_assert_eq(got.counter, 7);
	cr_assert_eq(got.balance, 500);
	cr_assert_eq(got.amount, 2000);

	/* Every single bit of S1 matters. */
	for (size_t bit = 0; bit < 8 * PURSE_MAC_LEN; bit += 13) {
		uint8_t forged[WALLET_INIT_LOAD_RESPONSE_LEN];
		memcpy(forged, answer, sizeof(forged));
		forged[32 + bit / 8] ^= (uint8_t)(1u << (bit % 8));
		memset(s2, 0, sizeof(s2));
		cr_assert_eq(ec_issuer_authorize_load(&is, forged, sizeof(forged), 2000, &got, s2, &err),
			     EC_ERR_CHECK);
		cr_assert_arr_eq(s2, untouched, PURSE_MAC_LEN, "no S2 for a forged S1");
		cr_assert_not_null(strstr(err.text, "S1"), "%s", err.text);
	}
	/* Another amount than the card was asked for, or an altered balance. */
	memset(s2, 0, sizeof(s2));
	cr_assert_eq(ec_issuer_authorize_load(&is, answer, sizeof(answer), 2001, &got, s2, &err),
		     EC_ERR_CHECK);
	cr_assert_arr_eq(s2, untouched, PURSE_MAC_LEN);
	answer[31] ^= 1;
	cr_assert_eq(ec_issuer_authorize_load(&is, answer, sizeof(answer), 2000, &got, s2, &err),
		     EC_ERR_CHECK);
	answer[31] ^= 1;
	/* A card of another issuer. */
	uint8_t other_master[PURSE_MASTER_KEY_LEN];
	cr_assert_eq(crypto_random(other_master, sizeof(other_master)), 0);
	card_init_load(&is, other_master, 2000, 500, &l, answer);
	cr_assert_eq(ec_issuer_authorize_load(&is, answer, sizeof(answer), 2000, &got, s2, &err),
		     EC_ERR_CHECK);
	/* Wrong length, zero amount. */
	cr_assert_eq(ec_issuer_authorize_load(&is, answer, sizeof(answer) - 1, 2000, &got, s2, &err),
		     EC_ERR_FORMAT);
	cr_assert_eq(ec_issuer_authorize_load(&is, answer, sizeof(answer), 0, &got, s2, &err),
		     EC_ERR_ARG);
	ec_issuer_wipe(&is);
}

Test(issuer, authorize_load_respects_the_maximum_balance)
{
	char dir[128];
	struct ec_issuer is;
	struct ec_error err = { 0 };
	struct purse_load l, got;
	uint8_t answer[WALLET_INIT_LOAD_RESPONSE_LEN], s2[PURSE_MAC_LEN];

	ts_issuer_new("issuer", &is, dir, sizeof(dir));
	card_init_load(&is, is.master_key, 10000, 40000, &l, answer);
	cr_assert_eq(ec_issuer_authorize_load(&is, answer, sizeof(answer), 10000, &got, s2, &err),
		     EC_OK, "exactly the maximum is fine: %s", err.text);
	card_init_load(&is, is.master_key, 10001, 40000, &l, answer);
	cr_assert_eq(ec_issuer_authorize_load(&is, answer, sizeof(answer), 10001, &got, s2, &err),
		     EC_ERR_CHECK);
	cr_assert_not_null(strstr(err.text, "500.00 EUR"), "%s", err.text);
	ec_issuer_wipe(&is);
}

Test(issuer, s3_receipt_is_checked)
{
	char dir[128];
	struct ec_issuer is;
	struct ec_error err = { 0 };
	struct purse_load l;
	uint8_t answer[WALLET_INIT_LOAD_RESPONSE_LEN], receipt[WALLET_CREDIT_RESPONSE_LEN];
	uint8_t kload[PURSE_KEY_LEN];
	uint32_t counter, balance;

	ts_issuer_new("issuer", &is, dir, sizeof(dir));
	card_init_load(&is, is.master_key, 2000, 500, &l, answer);
	cr_assert_eq(purse_derive_kload(is.master_key, l.serial, kload), 0);
	store_be32(receipt, 8);
	store_be32(receipt + 4, 2500);
	cr_assert_eq(purse_s3(kload, l.serial, 8, 2000, 2500, receipt + 8), 0);
	cr_assert_eq(ec_issuer_check_s3(&is, &l, receipt, sizeof(receipt), &counter, &balance, &err),
		     EC_OK, "%s", err.text);
	cr_assert_eq(counter, 8);
	cr_assert_eq(balance, 2500);

	receipt[20] ^= 0x80;
	cr_assert_eq(ec_issuer_check_s3(&is, &l, receipt, sizeof(receipt), NULL, NULL, &err),
		     EC_ERR_CHECK);
	/* A genuine receipt of an earlier load of the same amount. */
	store_be32(receipt, 7);
	cr_assert_eq(purse_s3(kload, l.serial, 7, 2000, 2500, receipt + 8), 0);
	cr_assert_eq(ec_issuer_check_s3(&is, &l, receipt, sizeof(receipt), NULL, NULL, &err),
		     EC_ERR_CHECK);
	cr_assert_eq(ec_issuer_check_s3(&is, &l, receipt, 10, NULL, NULL, &err), EC_ERR_FORMAT);
	ec_issuer_wipe(&is);
}
