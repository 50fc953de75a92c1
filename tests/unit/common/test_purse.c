/*
 * test_purse.c - the purse's messages (common/purse.h, DESIGN §2.1).
 *
 * Expected MAC inputs are written out byte by byte in the test, from the
 * layouts in purse.h, and MACed with crypto_aes_cmac directly, so that a
 * field in the wrong order, the wrong width or the wrong byte order in
 * purse.c cannot agree with itself. Signatures are checked both through
 * purse.c and directly with crypto_ecdsa_verify over the documented bytes.
 */
#include <criterion/criterion.h>

#include <stdint.h>
#include <string.h>

#include "crypto.h"
#include "cursor.h"
#include "hex.h"
#include "purse.h"

/* ---- helpers ---- */

static size_t unhex(const char *text, uint8_t *out, size_t cap)
{
	long n = hex_decode(text, out, cap);
	cr_assert(n >= 0, "bad hex in test: %s", text);
	return (size_t)n;
}

static void fill(uint8_t *p, size_t n, uint8_t first)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(first + i);
}

static void cmac(const uint8_t key[PURSE_KEY_LEN], const uint8_t *msg, size_t len,
		 uint8_t mac[PURSE_MAC_LEN])
{
	cr_assert_eq(crypto_aes_cmac(key, PURSE_KEY_LEN, msg, len, mac), 0);
}

static const uint8_t test_kload[PURSE_KEY_LEN] = {
	0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6,
	0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c,
};

/* A load with every field distinct and every byte of a u32 different, so
 * a swapped or truncated field shows. */
static struct purse_load test_load(void)
{
	struct purse_load l;
	fill(l.serial, sizeof(l.serial), 0x01);		/* 01..08 */
	l.counter = 0x0A0B0C0Du;
	l.amount = 0x11223344u;
	fill(l.challenge, sizeof(l.challenge), 0x20);	/* 20..2F */
	l.balance = 0x55667788u;
	return l;
}

/* ---- K_load ---- */

Test(kload, equals_the_sp800_108_kdf_with_label_ecard_load)
{
	uint8_t master[PURSE_MASTER_KEY_LEN], serial[PURSE_SERIAL_LEN];
	uint8_t got[PURSE_KEY_LEN], want[PURSE_KEY_LEN];
	fill(master, sizeof(master), 0x40);
	fill(serial, sizeof(serial), 0xA0);
	cr_assert_eq(purse_derive_kload(master, serial, got), 0);
	cr_assert_eq(crypto_kdf_ctr_cmac(master, 32, "ECARD-LOAD", 10, serial, 8, want, 16), 0);
	cr_assert_arr_eq(got, want, PURSE_KEY_LEN);
}

Test(kload, equals_one_cmac_block_of_the_fixed_input)
{
	/* SP 800-108 counter mode, one block for 128 bits:
	 * CMAC(master, 00000001 || "ECARD-LOAD" || 00 || serial || 00000080). */
	uint8_t master[PURSE_MASTER_KEY_LEN], serial[PURSE_SERIAL_LEN];
	uint8_t got[PURSE_KEY_LEN], want[PURSE_KEY_LEN], msg[64];
	fill(master, sizeof(master), 0x40);
	fill(serial, sizeof(serial), 0xA0);
	size_t n = unhex("00000001 4543415244 2D4C4F4144 00 A0A1A2A3A4A5A6A7 00000080", msg,
			 sizeof(msg));
	cr_assert_eq(n, 4 + 10 + 1 + 8 + 4);
	cr_assert_eq(crypto_aes_cmac(master, sizeof(master), msg, n, want), 0);
	cr_assert_eq(purse_derive_kload(master, serial, got), 0);
	cr_assert_arr_eq(got, want, PURSE_KEY_LEN);
}

Test(kload, differs_per_serial_and_per_master)
{
	uint8_t master[PURSE_MASTER_KEY_LEN], serial[PURSE_SERIAL_LEN];
	uint8_t k0[PURSE_KEY_LEN], k1[PURSE_KEY_LEN];
	fill(master, sizeof(master), 0x40);
	fill(serial, sizeof(serial), 0xA0);
	cr_assert_eq(purse_derive_kload(master, serial, k0), 0);
	cr_assert_eq(purse_derive_kload(master, serial, k1), 0);
	cr_assert_arr_eq(k0, k1, PURSE_KEY_LEN, "deterministic");

	for (size_t i = 0; i < PURSE_SERIAL_LEN; i++) {
		serial[i] ^= 0x01;
		cr_assert_eq(purse_derive_kload(master, serial, k1), 0);
		cr_assert_arr_neq(k0, k1, PURSE_KEY_LEN, "serial byte %zu", i);
		serial[i] ^= 0x01;
	}
	for (size_t i = 0; i < PURSE_MASTER_KEY_LEN; i++) {
		master[i] ^= 0x80;
		cr_assert_eq(purse_derive_kload(master, serial, k1), 0);
		cr_assert_arr_neq(k0, k1, PURSE_KEY_LEN, "master byte %zu", i);
		master[i] ^= 0x80;
	}
}

/* ---- S1, S2, S3 ---- */

Test(load_macs, s1_is_cmac_of_lreq_layout)
{
	struct purse_load l = test_load();
	uint8_t msg[64], want[PURSE_MAC_LEN], got[PURSE_MAC_LEN];
	size_t n = unhex("4C524551"				/* "LREQ" */
			 "0102030405060708"			/* serial */
			 "0A0B0C0D"				/* counter */
			 "11223344"				/* amount */
			 "202122232425262728292A2B2C2D2E2F"	/* challenge */
			 "55667788",				/* balance */
			 msg, sizeof(msg));
	cr_assert_eq(n, 40);
	cmac(test_kload, msg, n, want);
	cr_assert_eq(purse_s1(test_kload, &l, got), 0);
	cr_assert_arr_eq(got, want, PURSE_MAC_LEN);
}

Test(load_macs, s2_is_cmac_of_laut_layout)
{
	struct purse_load l = test_load();
	uint8_t msg[64], want[PURSE_MAC_LEN], got[PURSE_MAC_LEN];
	size_t n = unhex("4C415554"				/* "LAUT" */
			 "0102030405060708"
			 "0A0B0C0D"
			 "11223344"
			 "202122232425262728292A2B2C2D2E2F",
			 msg, sizeof(msg));
	cr_assert_eq(n, 36);
	cmac(test_kload, msg, n, want);
	cr_assert_eq(purse_s2(test_kload, &l, got), 0);
	cr_assert_arr_eq(got, want, PURSE_MAC_LEN);
}

Test(load_macs, s3_is_cmac_of_ldon_layout)
{
	uint8_t serial[PURSE_SERIAL_LEN], msg[64], want[PURSE_MAC_LEN], got[PURSE_MAC_LEN];
	fill(serial, sizeof(serial), 0x01);
	size_t n = unhex("4C444F4E"		/* "LDON" */
			 "0102030405060708"	/* serial */
			 "0A0B0C0E"		/* new counter */
			 "11223344"		/* amount */
			 "66888ACC",		/* new balance */
			 msg, sizeof(msg));
	cr_assert_eq(n, 24);
	cmac(test_kload, msg, n, want);
	cr_assert_eq(purse_s3(test_kload, serial, 0x0A0B0C0Eu, 0x11223344u, 0x66888ACCu, got), 0);
	cr_assert_arr_eq(got, want, PURSE_MAC_LEN);
}

Test(load_macs, s1_and_s2_differ_for_the_same_load)
{
	struct purse_load l = test_load();
	uint8_t s1[PURSE_MAC_LEN], s2[PURSE_MAC_LEN], s3[PURSE_MAC_LEN];
	cr_assert_eq(purse_s1(test_kload, &l, s1), 0);
	cr_assert_eq(purse_s2(test_kload, &l, s2), 0);
	cr_assert_arr_neq(s1, s2, PURSE_MAC_LEN);
	cr_assert_eq(purse_s3(test_kload, l.serial, l.counter, l.amount, l.balance, s3), 0);
	cr_assert_arr_neq(s3, s1, PURSE_MAC_LEN);
	cr_assert_arr_neq(s3, s2, PURSE_MAC_LEN);
}

typedef int (*load_mac_fn)(const uint8_t *, const struct purse_load *, uint8_t *);

/* Every field of the load (and the key) changes the MAC. */
static void load_mac_covers_fields(load_mac_fn f, bool covers_balance, const char *what)
{
	struct purse_load base = test_load(), l;
	uint8_t k[PURSE_KEY_LEN], ref[PURSE_MAC_LEN], mac[PURSE_MAC_LEN];
	cr_assert_eq(f(test_kload, &base, ref), 0);

	for (size_t i = 0; i < PURSE_SERIAL_LEN; i++) {
		l = base;
		l.serial[i] ^= 0x01;
		cr_assert_eq(f(test_kload, &l, mac), 0);
		cr_assert_arr_neq(mac, ref, PURSE_MAC_LEN, "%s: serial byte %zu", what, i);
	}
	for (size_t i = 0; i < PURSE_CHALLENGE_LEN; i++) {
		l = base;
		l.challenge[i] ^= 0x80;
		cr_assert_eq(f(test_kload, &l, mac), 0);
		cr_assert_arr_neq(mac, ref, PURSE_MAC_LEN, "%s: challenge byte %zu", what, i);
	}
	for (unsigned bit = 0; bit < 32; bit += 8) {
		l = base;
		l.counter ^= 1u << bit;
		cr_assert_eq(f(test_kload, &l, mac), 0);
		cr_assert_arr_neq(mac, ref, PURSE_MAC_LEN, "%s: counter bit %u", what, bit);
		l = base;
		l.amount ^= 1u << bit;
		cr_assert_eq(f(test_kload, &l, mac), 0);
		cr_assert_arr_neq(mac, ref, PURSE_MAC_LEN, "%s: amount bit %u", what, bit);
		l = base;
		l.balance ^= 1u << bit;
		cr_assert_eq(f(test_kload, &l, mac), 0);
		if (covers_balance)
			cr_assert_arr_neq(mac, ref, PURSE_MAC_LEN, "%s: balance bit %u", what, bit);
		else
			cr_assert_arr_eq(mac, ref, PURSE_MAC_LEN, "%s: balance is not MACed", what);
	}
	memcpy(k, test_kload, sizeof(k));
	k[15] ^= 0x01;
	cr_assert_eq(f(k, &base, mac), 0);
	cr_assert_arr_neq(mac, ref, PURSE_MAC_LEN, "%s: key", what);
}

Test(load_macs, s1_covers_every_field)
{
	load_mac_covers_fields(purse_s1, true, "S1");
}

Test(load_macs, s2_covers_every_field_but_the_balance)
{
	load_mac_covers_fields(purse_s2, false, "S2");
}

Test(load_macs, s3_covers_every_field)
{
	uint8_t serial[PURSE_SERIAL_LEN], k[PURSE_KEY_LEN], ref[PURSE_MAC_LEN], mac[PURSE_MAC_LEN];
	const uint32_t c = 0x0A0B0C0Eu, a = 0x11223344u, b = 0x66888ACCu;
	fill(serial, sizeof(serial), 0x01);
	cr_assert_eq(purse_s3(test_kload, serial, c, a, b, ref), 0);
	for (size_t i = 0; i < PURSE_SERIAL_LEN; i++) {
		serial[i] ^= 0x01;
		cr_assert_eq(purse_s3(test_kload, serial, c, a, b, mac), 0);
		cr_assert_arr_neq(mac, ref, PURSE_MAC_LEN, "serial byte %zu", i);
		serial[i] ^= 0x01;
	}
	for (unsigned bit = 0; bit < 32; bit += 8) {
		uint32_t x = 1u << bit;
		cr_assert_eq(purse_s3(test_kload, serial, c ^ x, a, b, mac), 0);
		cr_assert_arr_neq(mac, ref, PURSE_MAC_LEN, "counter bit %u", bit);
		cr_assert_eq(purse_s3(test_kload, serial, c, a ^ x, b, mac), 0);
		cr_assert_arr_neq(mac, ref, PURSE_MAC_LEN, "amount bit %u", bit);
		cr_assert_eq(purse_s3(test_kload, serial, c, a, b ^ x, mac), 0);
		cr_assert_arr_neq(mac, ref, PURSE_MAC_LEN, "balance bit %u", bit);
	}
	/* counter and balance swapped: the field order matters */
	cr_assert_eq(purse_s3(test_kload, serial, b, a, c, mac), 0);
	cr_assert_arr_neq(mac, ref, PURSE_MAC_LEN, "order");
	memcpy(k, test_kload, sizeof(k));
	k[0] ^= 0x01;
	cr_assert_eq(purse_s3(k, serial, c, a, b, mac), 0);
	cr_assert_arr_neq(mac, ref, PURSE_MAC_LEN, "key");
}

/* ---- certificates ---- */

struct keys {
	uint8_t ca_priv[CRYPTO_EC_PRIV_LEN], ca_pub[CRYPTO_EC_PUB_LEN];
	uint8_t ca2_priv[CRYPTO_EC_PRIV_LEN], ca2_pub[CRYPTO_EC_PUB_LEN];
	uint8_t priv[CRYPTO_EC_PRIV_LEN], pub[CRYPTO_EC_PUB_LEN];	/* subject */
	uint8_t priv2[CRYPTO_EC_PRIV_LEN], pub2[CRYPTO_EC_PUB_LEN];	/* another subject */
	uint8_t id[PURSE_ID_LEN], id2[PURSE_ID_LEN];
};

static struct keys K;

static void keys_setup(void)
{
	memset(&K, 0, sizeof(K));
	cr_assert_eq(crypto_ec_generate(K.ca_priv, K.ca_pub), 0);
	cr_assert_eq(crypto_ec_generate(K.ca2_priv, K.ca2_pub), 0);
	cr_assert_eq(crypto_ec_generate(K.priv, K.pub), 0);
	cr_assert_eq(crypto_ec_generate(K.priv2, K.pub2), 0);
	memcpy(K.id, "\x4D\x45\x52\x43\x48\x00\x00\x01", PURSE_ID_LEN);
	memcpy(K.id2, "\x4D\x45\x52\x43\x48\x00\x00\x02", PURSE_ID_LEN);
}

TestSuite(cert, .init = keys_setup);

Test(cert, layout_and_round_trip)
{
	uint8_t cert[PURSE_CERT_LEN], id[PURSE_ID_LEN], pub[CRYPTO_EC_PUB_LEN];
	uint8_t body[4 + 1 + PURSE_ID_LEN + CRYPTO_EC_PUB_LEN];
	cr_assert_eq(PURSE_CERT_LEN, 138);
	cr_assert_eq(purse_cert_make(K.ca_priv, PURSE_CERT_CARD, K.id, K.pub, cert), 0);
	cr_assert_eq(cert[0], 0x01, "the kind comes first: 01 a card");
	cr_assert_arr_eq(cert + 1, K.id, PURSE_ID_LEN);
	cr_assert_arr_eq(cert + 9, K.pub, CRYPTO_EC_PUB_LEN);

	/* The signature is the CA's over "ECRT" || kind || id || key. */
	memcpy(body, "ECRT", 4);
	body[4] = 0x01;
	memcpy(body + 5, K.id, PURSE_ID_LEN);
	memcpy(body + 13, K.pub, CRYPTO_EC_PUB_LEN);
	cr_assert_eq(crypto_ecdsa_verify(K.ca_pub, body, sizeof(body), cert + 74), 1);
	cr_assert_eq(crypto_ecdsa_verify(K.ca_pub, body + 4, sizeof(body) - 4, cert + 74), 0,
		     "the ECRT tag is part of the signed bytes");

	memset(id, 0xEE, sizeof(id));
	memset(pub, 0xEE, sizeof(pub));
	cr_assert_eq(purse_cert_check(K.ca_pub, PURSE_CERT_CARD, cert, id, pub), 1);
	cr_assert_arr_eq(id, K.id, PURSE_ID_LEN);
	cr_assert_arr_eq(pub, K.pub, CRYPTO_EC_PUB_LEN);
	cr_assert_eq(purse_cert_check(K.ca_pub, PURSE_CERT_CARD, cert, NULL, NULL), 1, "outputs are optional");
}

Test(cert, any_flipped_bit_is_refused)
{
	uint8_t cert[PURSE_CERT_LEN];
	cr_assert_eq(purse_cert_make(K.ca_priv, PURSE_CERT_CARD, K.id, K.pub, cert), 0);
	for (size_t i = 0; i < PURSE_CERT_LEN; i++) {
		for (unsigned b = 0; b < 8; b++) {
			cert[i] ^= (uint8_t)(1u << b);
			cr_assert_eq(purse_cert_check(K.ca_pub, PURSE_CERT_CARD, cert, NULL, NULL), 0,
				     "byte %zu bit %u", i, b);
			cert[i] ^= (uint8_t)(1u << b);
		}
	}
	cr_assert_eq(purse_cert_check(K.ca_pub, PURSE_CERT_CARD, cert, NULL, NULL), 1, "restored");
}

Test(cert, another_ca_is_refused)
{
	uint8_t cert[PURSE_CERT_LEN];
	cr_assert_eq(purse_cert_make(K.ca2_priv, PURSE_CERT_CARD, K.id, K.pub, cert), 0);
	cr_assert_eq(purse_cert_check(K.ca2_pub, PURSE_CERT_CARD, cert, NULL, NULL), 1);
	cr_assert_eq(purse_cert_check(K.ca_pub, PURSE_CERT_CARD, cert, NULL, NULL), 0);
	cr_assert_eq(purse_cert_make(K.ca_priv, PURSE_CERT_CARD, K.id, K.pub, cert), 0);
	cr_assert_eq(purse_cert_check(K.ca2_pub, PURSE_CERT_CARD, cert, NULL, NULL), 0);
}

Test(cert, subject_key_swapped_is_refused)
{
	uint8_t cert[PURSE_CERT_LEN];
	cr_assert_eq(purse_cert_make(K.ca_priv, PURSE_CERT_CARD, K.id, K.pub, cert), 0);
	memcpy(cert + PURSE_CERT_PUB_OFF, K.pub2, CRYPTO_EC_PUB_LEN);
	cr_assert_eq(purse_cert_check(K.ca_pub, PURSE_CERT_CARD, cert, NULL, NULL), 0);
}

/* ---- debit request ---- */

static struct purse_debit_request request(const uint8_t id[PURSE_ID_LEN],
					  const uint8_t cert[PURSE_CERT_LEN])
{
	struct purse_debit_request r;
	memset(&r, 0, sizeof(r));
	r.amount = 0x01020304u;
	r.currency = 0x03D2u;	/* 978 */
	memcpy(r.merchant_id, id, PURSE_ID_LEN);
	fill(r.challenge, sizeof(r.challenge), 0xC0);
	memcpy(r.cert, cert, PURSE_CERT_LEN);
	return r;
}

Test(cert, debit_request_layout_and_round_trip)
{
	uint8_t cert[PURSE_CERT_LEN], out[PURSE_DEBIT_REQUEST_LEN], head[64];
	cr_assert_eq(PURSE_DEBIT_REQUEST_LEN, 232);
	cr_assert_eq(purse_cert_make(K.ca_priv, PURSE_CERT_MERCHANT, K.id, K.pub, cert), 0);
	struct purse_debit_request r = request(K.id, cert), p;
	cr_assert_eq(purse_debit_request_make(&r, K.priv, out), 0);

	size_t n = unhex("01020304 03D2 4D45524348000001 C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF", head,
			 sizeof(head));
	cr_assert_eq(n, PURSE_DEBIT_SIGNED_LEN);
	cr_assert_arr_eq(out, head, n);
	cr_assert_arr_eq(out + 30, cert, PURSE_CERT_LEN);
	cr_assert_eq(crypto_ecdsa_verify(K.pub, out, 30, out + 168), 1,
		     "the merchant signs the first 30 bytes");

	memset(&p, 0x5A, sizeof(p));
	cr_assert(purse_debit_request_parse(out, sizeof(out), &p));
	cr_assert_eq(p.amount, r.amount);
	cr_assert_eq(p.currency, r.currency);
	cr_assert_arr_eq(p.merchant_id, K.id, PURSE_ID_LEN);
	cr_assert_arr_eq(p.challenge, r.challenge, PURSE_CHALLENGE_LEN);
	cr_assert_arr_eq(p.cert, cert, PURSE_CERT_LEN);
	cr_assert_arr_eq(p.signature, out + 168, CRYPTO_EC_SIG_LEN);
	cr_assert_eq(purse_debit_request_check(K.ca_pub, &p), 1);
}

Test(cert, debit_request_parse_needs_exact_length)
{
	uint8_t cert[PURSE_CERT_LEN], out[PURSE_DEBIT_REQUEST_LEN + 1] = { 0 };
	struct purse_debit_request p;
	cr_assert_eq(purse_cert_make(K.ca_priv, PURSE_CERT_MERCHANT, K.id, K.pub, cert), 0);
	struct purse_debit_request r = request(K.id, cert);
	cr_assert_eq(purse_debit_request_make(&r, K.priv, out), 0);
	cr_assert_not(purse_debit_request_parse(out, 231, &p));
	cr_assert_not(purse_debit_request_parse(out, 233, &p));
	cr_assert_not(purse_debit_request_parse(out, 0, &p));
	cr_assert(purse_debit_request_parse(out, 232, &p));
}

Test(cert, debit_request_check_refuses_tampering)
{
	uint8_t cert[PURSE_CERT_LEN], out[PURSE_DEBIT_REQUEST_LEN];
	struct purse_debit_request p, t;
	cr_assert_eq(purse_cert_make(K.ca_priv, PURSE_CERT_MERCHANT, K.id, K.pub, cert), 0);
	struct purse_debit_request r = request(K.id, cert);
	cr_assert_eq(purse_debit_request_make(&r, K.priv, out), 0);
	cr_assert(purse_debit_request_parse(out, sizeof(out), &p));
	cr_assert_eq(purse_debit_request_check(K.ca_pub, &p), 1);

	cr_assert_eq(purse_debit_request_check(K.ca2_pub, &p), 0, "another CA");

	t = p;
	t.amount ^= 1;
	cr_assert_eq(purse_debit_request_check(K.ca_pub, &t), 0, "amount");
	t = p;
	t.amount ^= 0x01000000u;
	cr_assert_eq(purse_debit_request_check(K.ca_pub, &t), 0, "amount high byte");
	t = p;
	t.currency ^= 1;
	cr_assert_eq(purse_debit_request_check(K.ca_pub, &t), 0, "currency");
	for (size_t i = 0; i < PURSE_CHALLENGE_LEN; i++) {
		t = p;
		t.challenge[i] ^= 0x01;
		cr_assert_eq(purse_debit_request_check(K.ca_pub, &t), 0, "challenge %zu", i);
	}
	t = p;
	t.merchant_id[7] ^= 0x01;
	cr_assert_eq(purse_debit_request_check(K.ca_pub, &t), 0, "merchant id");
	for (size_t i = 0; i < CRYPTO_EC_SIG_LEN; i++) {
		t = p;
		t.signature[i] ^= 0x10;
		cr_assert_eq(purse_debit_request_check(K.ca_pub, &t), 0, "signature %zu", i);
	}
	t = p;
	t.cert[100] ^= 0x01;
	cr_assert_eq(purse_debit_request_check(K.ca_pub, &t), 0, "certificate");
}

Test(cert, debit_request_cert_must_name_the_merchant)
{
	/* A genuine certificate of the same key, but for another id: the
	 * request names K.id, the certificate K.id2. */
	uint8_t cert2[PURSE_CERT_LEN], out[PURSE_DEBIT_REQUEST_LEN];
	struct purse_debit_request p;
	cr_assert_eq(purse_cert_make(K.ca_priv, PURSE_CERT_MERCHANT, K.id2, K.pub, cert2), 0);
	struct purse_debit_request r = request(K.id, cert2);
	cr_assert_eq(purse_debit_request_make(&r, K.priv, out), 0);
	cr_assert(purse_debit_request_parse(out, sizeof(out), &p));
	cr_assert_eq(purse_debit_request_check(K.ca_pub, &p), 0);

	/* The same request naming K.id2 passes: only the id differed. */
	r = request(K.id2, cert2);
	cr_assert_eq(purse_debit_request_make(&r, K.priv, out), 0);
	cr_assert(purse_debit_request_parse(out, sizeof(out), &p));
	cr_assert_eq(purse_debit_request_check(K.ca_pub, &p), 1);
}

Test(cert, debit_request_signed_by_another_key_is_refused)
{
	uint8_t cert[PURSE_CERT_LEN], out[PURSE_DEBIT_REQUEST_LEN];
	struct purse_debit_request p;
	cr_assert_eq(purse_cert_make(K.ca_priv, PURSE_CERT_MERCHANT, K.id, K.pub, cert), 0);
	struct purse_debit_request r = request(K.id, cert);
	cr_assert_eq(purse_debit_request_make(&r, K.priv2, out), 0);
	cr_assert(purse_debit_request_parse(out, sizeof(out), &p));
	cr_assert_eq(purse_debit_request_check(K.ca_pub, &p), 0);
}

/* ---- debit record ---- */

static struct purse_debit_record record(const uint8_t serial[PURSE_SERIAL_LEN])
{
	struct purse_debit_record r;
	memcpy(r.serial, serial, PURSE_SERIAL_LEN);
	r.counter = 0xA1A2A3A4u;
	r.amount = 0xB1B2B3B4u;
	r.currency = 0xC1C2u;
	fill(r.merchant_id, sizeof(r.merchant_id), 0xD0);
	fill(r.challenge, sizeof(r.challenge), 0xE0);
	r.balance = 0xF1F2F3F4u;
	return r;
}

Test(cert, debit_record_layout_and_round_trip)
{
	uint8_t out[PURSE_DEBIT_RECORD_LEN], want[64];
	struct purse_debit_record r = record(K.id), p;
	cr_assert_eq(PURSE_DEBIT_RECORD_LEN, 46);
	memset(out, 0x99, sizeof(out));
	purse_debit_record_encode(&r, out);

	size_t n = unhex("4D45524348000001"				/*  0..7  serial */
			 "A1A2A3A4"					/*  8..11 counter */
			 "B1B2B3B4"					/* 12..15 amount */
			 "C1C2"						/* 16..17 currency */
			 "D0D1D2D3D4D5D6D7"				/* 18..25 merchant */
			 "E0E1E2E3E4E5E6E7E8E9EAEBECEDEEEF"		/* 26..41 challenge */
			 "F1F2F3F4",					/* 42..45 balance */
			 want, sizeof(want));
	cr_assert_eq(n, PURSE_DEBIT_RECORD_LEN);
	cr_assert_arr_eq(out, want, n);
	cr_assert_arr_eq(out + 0, K.id, 8);
	cr_assert_eq(out[8], 0xA1);
	cr_assert_eq(out[11], 0xA4);
	cr_assert_eq(out[12], 0xB1);
	cr_assert_eq(out[15], 0xB4);
	cr_assert_eq(out[16], 0xC1);
	cr_assert_eq(out[17], 0xC2);
	cr_assert_eq(out[18], 0xD0);
	cr_assert_eq(out[25], 0xD7);
	cr_assert_eq(out[26], 0xE0);
	cr_assert_eq(out[41], 0xEF);
	cr_assert_eq(out[42], 0xF1);
	cr_assert_eq(out[45], 0xF4);

	memset(&p, 0, sizeof(p));
	cr_assert(purse_debit_record_parse(out, sizeof(out), &p));
	cr_assert_arr_eq(p.serial, r.serial, PURSE_SERIAL_LEN);
	cr_assert_eq(p.counter, r.counter);
	cr_assert_eq(p.amount, r.amount);
	cr_assert_eq(p.currency, r.currency);
	cr_assert_arr_eq(p.merchant_id, r.merchant_id, PURSE_ID_LEN);
	cr_assert_arr_eq(p.challenge, r.challenge, PURSE_CHALLENGE_LEN);
	cr_assert_eq(p.balance, r.balance);

	cr_assert_not(purse_debit_record_parse(out, 45, &p));
	cr_assert_not(purse_debit_record_parse(want, 47, &p));
}

Test(cert, debit_record_sign_and_check)
{
	uint8_t cert[PURSE_CERT_LEN], rec[PURSE_DEBIT_RECORD_LEN], sig[CRYPTO_EC_SIG_LEN];
	uint8_t body[4 + PURSE_DEBIT_RECORD_LEN];
	struct purse_debit_record r = record(K.id);
	purse_debit_record_encode(&r, rec);
	cr_assert_eq(purse_cert_make(K.ca_priv, PURSE_CERT_CARD, K.id, K.pub, cert), 0);
	cr_assert_eq(purse_debit_record_sign(K.priv, rec, sig), 0);

	/* ECDSA by the card over "EDEB" || record. */
	memcpy(body, "EDEB", 4);
	memcpy(body + 4, rec, sizeof(rec));
	cr_assert_eq(crypto_ecdsa_verify(K.pub, body, sizeof(body), sig), 1);
	cr_assert_eq(crypto_ecdsa_verify(K.pub, rec, sizeof(rec), sig), 0,
		     "the EDEB tag is part of the signed bytes");

	cr_assert_eq(purse_debit_record_check(K.ca_pub, cert, rec, sig), 1);
}

Test(cert, debit_record_check_refuses)
{
	uint8_t cert[PURSE_CERT_LEN], other[PURSE_CERT_LEN], rec[PURSE_DEBIT_RECORD_LEN];
	uint8_t sig[CRYPTO_EC_SIG_LEN];
	struct purse_debit_record r = record(K.id);
	purse_debit_record_encode(&r, rec);
	cr_assert_eq(purse_cert_make(K.ca_priv, PURSE_CERT_CARD, K.id, K.pub, cert), 0);
	cr_assert_eq(purse_debit_record_sign(K.priv, rec, sig), 0);
	cr_assert_eq(purse_debit_record_check(K.ca_pub, cert, rec, sig), 1);

	/* Another card's certificate (its own id and key). */
	cr_assert_eq(purse_cert_make(K.ca_priv, PURSE_CERT_CARD, K.id2, K.pub2, other), 0);
	cr_assert_eq(purse_debit_record_check(K.ca_pub, other, rec, sig), 0, "another card");
	/* A genuine certificate of the same key but another id: only the
	 * id = serial rule refuses it. */
	cr_assert_eq(purse_cert_make(K.ca_priv, PURSE_CERT_CARD, K.id2, K.pub, other), 0);
	cr_assert_eq(purse_debit_record_check(K.ca_pub, other, rec, sig), 0, "id != serial");
	/* A certificate from another CA. */
	cr_assert_eq(purse_cert_make(K.ca2_priv, PURSE_CERT_CARD, K.id, K.pub, other), 0);
	cr_assert_eq(purse_debit_record_check(K.ca_pub, other, rec, sig), 0, "another CA");
	cr_assert_eq(purse_debit_record_check(K.ca2_pub, cert, rec, sig), 0, "another CA key");

	for (size_t i = 0; i < PURSE_DEBIT_RECORD_LEN; i++) {
		rec[i] ^= 0x01;
		cr_assert_eq(purse_debit_record_check(K.ca_pub, cert, rec, sig), 0, "record byte %zu",
			     i);
		rec[i] ^= 0x01;
	}
	for (size_t i = 0; i < CRYPTO_EC_SIG_LEN; i++) {
		sig[i] ^= 0x01;
		cr_assert_eq(purse_debit_record_check(K.ca_pub, cert, rec, sig), 0, "sig byte %zu", i);
		sig[i] ^= 0x01;
	}
	cr_assert_eq(purse_debit_record_check(K.ca_pub, cert, rec, sig), 1, "restored");

	/* Signed by another key under the right certificate. */
	cr_assert_eq(purse_debit_record_sign(K.priv2, rec, sig), 0);
	cr_assert_eq(purse_debit_record_check(K.ca_pub, cert, rec, sig), 0, "another key");
}

/* The kind is part of what the CA signs: a certificate is good only for
 * what it was made for. */
Test(cert, kinds_are_not_interchangeable)
{
	uint8_t cert[PURSE_CERT_LEN];
	cr_assert_eq(purse_cert_make(K.ca_priv, PURSE_CERT_MERCHANT, K.id, K.pub, cert), 0);
	cr_assert_eq(cert[0], 0x02);
	cr_assert_eq(purse_cert_check(K.ca_pub, PURSE_CERT_MERCHANT, cert, NULL, NULL), 1);
	cr_assert_eq(purse_cert_check(K.ca_pub, PURSE_CERT_CARD, cert, NULL, NULL), 0,
		     "a merchant's certificate is no card's");
	cert[0] = PURSE_CERT_CARD;
	cr_assert_eq(purse_cert_check(K.ca_pub, PURSE_CERT_CARD, cert, NULL, NULL), 0,
		     "and relabelling it breaks the signature");
	cr_assert_eq(purse_cert_make(K.ca_priv, 0x03, K.id, K.pub, cert), -1, "no other kinds");
	cr_assert_eq(purse_cert_make(K.ca_priv, 0x00, K.id, K.pub, cert), -1);
}

/*
 * The attack of the first version: a merchant signs a "debit record" with
 * its own key, its merchant id standing as the card serial, and offers its
 * merchant certificate as the card's. It is refused.
 */
Test(cert, a_merchant_cannot_forge_a_card_debit)
{
	uint8_t mcert[PURSE_CERT_LEN], rec[PURSE_DEBIT_RECORD_LEN], sig[CRYPTO_EC_SIG_LEN];
	struct purse_debit_record r = record(K.id);	/* serial = the merchant's id */
	purse_debit_record_encode(&r, rec);
	cr_assert_eq(purse_cert_make(K.ca_priv, PURSE_CERT_MERCHANT, K.id, K.pub, mcert), 0);
	cr_assert_eq(purse_debit_record_sign(K.priv, rec, sig), 0);
	cr_assert_eq(purse_debit_record_check(K.ca_pub, mcert, rec, sig), 0);
}

/* A card's certificate cannot authorize a debit request. */
Test(cert, a_card_certificate_cannot_sign_debit_requests)
{
	uint8_t cert[PURSE_CERT_LEN], out[PURSE_DEBIT_REQUEST_LEN];
	struct purse_debit_request p;
	cr_assert_eq(purse_cert_make(K.ca_priv, PURSE_CERT_CARD, K.id, K.pub, cert), 0);
	struct purse_debit_request r = request(K.id, cert);
	cr_assert_eq(purse_debit_request_make(&r, K.priv, out), 0);
	cr_assert(purse_debit_request_parse(out, sizeof(out), &p));
	cr_assert_eq(purse_debit_request_check(K.ca_pub, &p), 0);
}

/* ---- personalization seal ---- */

Test(cert, seal_covers_everything_personalized)
{
	uint8_t kload[PURSE_KEY_LEN], serial[PURSE_SERIAL_LEN], cert[PURSE_CERT_LEN];
	uint8_t seal[PURSE_MAC_LEN], other[PURSE_MAC_LEN], msg[256];
	fill(kload, sizeof(kload), 0x10);
	fill(serial, sizeof(serial), 0x20);
	cr_assert_eq(purse_cert_make(K.ca_priv, PURSE_CERT_CARD, serial, K.pub, cert), 0);
	cr_assert_eq(purse_perso_seal(kload, serial, K.ca_pub, 978, 50000, cert, seal), 0);

	/* CMAC(K_load, "PSEL" || serial || CA key || currency || max || cert). */
	size_t n = 0;
	memcpy(msg, "PSEL", 4);
	n = 4;
	memcpy(msg + n, serial, sizeof(serial));
	n += sizeof(serial);
	memcpy(msg + n, K.ca_pub, CRYPTO_EC_PUB_LEN);
	n += CRYPTO_EC_PUB_LEN;
	store_be16(msg + n, 978);
	store_be32(msg + n + 2, 50000);
	n += 6;
	uint8_t whole[4 + PURSE_SERIAL_LEN + CRYPTO_EC_PUB_LEN + 6 + PURSE_CERT_LEN];
	memcpy(whole, msg, n);
	memcpy(whole + n, cert, PURSE_CERT_LEN);
	cr_assert_eq(crypto_aes_cmac(kload, sizeof(kload), whole, sizeof(whole), other), 0);
	cr_assert_arr_eq(seal, other, PURSE_MAC_LEN);

	/* Any part changed changes the seal. */
	cr_assert_eq(purse_perso_seal(kload, serial, K.ca_pub, 978, 50001, cert, other), 0);
	cr_assert(memcmp(seal, other, PURSE_MAC_LEN) != 0, "maximum");
	cr_assert_eq(purse_perso_seal(kload, serial, K.ca2_pub, 978, 50000, cert, other), 0);
	cr_assert(memcmp(seal, other, PURSE_MAC_LEN) != 0, "CA key");
	kload[0] ^= 1;
	cr_assert_eq(purse_perso_seal(kload, serial, K.ca_pub, 978, 50000, cert, other), 0);
	cr_assert(memcmp(seal, other, PURSE_MAC_LEN) != 0, "K_load");
}
