/*
 * test_crypto.c - known-answer tests for common/crypto.c.
 *
 * Expected values come from the published standards (FIPS 197, SP 800-38A,
 * SP 800-38B / RFC 4493, FIPS 81, SP 800-67, FIPS 180 examples, RFC 6979)
 * rather than from OpenSSL itself, so that a wrong algorithm name or
 * parameter in the wrapper cannot agree with its own output. The SP 800-108
 * KDF, which has no published vector in OpenSSL's default layout, is checked
 * against the same construction built by hand from CMAC.
 */
#include <criterion/criterion.h>

#include <stdint.h>
#include <string.h>

#include "crypto.h"
#include "hex.h"

/* ---- helpers ---- */

/* Decode a hex string (spaces allowed between bytes) into out; the test
 * aborts on malformed text or overflow, which would be a typo in a vector. */
static size_t unhex(const char *text, uint8_t *out, size_t cap)
{
	long n = hex_decode(text, out, cap);

	cr_assert(n >= 0, "bad hex in vector, or vector too long: %s", text);
	return (size_t)n;
}

/* Assert that len bytes at got equal the hex text expected. */
static void check_hex(const uint8_t *got, size_t len, const char *expected,
		      const char *what)
{
	uint8_t want[512];
	char shown[2 * sizeof(want) + 1];
	size_t n = unhex(expected, want, sizeof(want));

	cr_assert_eq(n, len, "%s: vector has %zu bytes, result %zu", what, n,
		     len);
	hex_encode(got, len, shown);
	cr_assert(memcmp(got, want, len) == 0, "%s: got %s, want %s", what,
		  shown, expected);
}

/* ---- AES-ECB, FIPS 197 appendix C ---- */

static const char fips197_pt[] = "00112233445566778899aabbccddeeff";

static void check_ecb(const char *key_hex, const char *ct_hex)
{
	uint8_t key[32], pt[16], buf[16];
	size_t keylen = unhex(key_hex, key, sizeof(key));

	unhex(fips197_pt, pt, sizeof(pt));
	cr_assert_eq(crypto_aes_ecb_encrypt(key, keylen, pt, 16, buf), 0);
	check_hex(buf, 16, ct_hex, "ECB encrypt");
	/* in place: in and out are the same buffer */
	cr_assert_eq(crypto_aes_ecb_decrypt(key, keylen, buf, 16, buf), 0);
	check_hex(buf, 16, fips197_pt, "ECB decrypt in place");
}

Test(aes_ecb, fips197_c1_aes128)
{
	check_ecb("000102030405060708090a0b0c0d0e0f",
		  "69c4e0d86a7b0430d8cdb78070b4c55a");
}

Test(aes_ecb, fips197_c2_aes192)
{
	check_ecb("000102030405060708090a0b0c0d0e0f1011121314151617",
		  "dda97ca4864cdfe06eaf70a0ec0d7191");
}

Test(aes_ecb, fips197_c3_aes256)
{
	check_ecb("000102030405060708090a0b0c0d0e0f"
		  "101112131415161718191a1b1c1d1e1f",
		  "8ea2b7ca516745bfeafc49904b496089");
}

Test(aes_ecb, multi_block_is_blockwise)
{
	uint8_t key[16], pt[32], ct[32];

	unhex("000102030405060708090a0b0c0d0e0f", key, sizeof(key));
	unhex(fips197_pt, pt, 16);
	memcpy(pt + 16, pt, 16);
	cr_assert_eq(crypto_aes_ecb_encrypt(key, 16, pt, 32, ct), 0);
	check_hex(ct, 32, "69c4e0d86a7b0430d8cdb78070b4c55a"
			  "69c4e0d86a7b0430d8cdb78070b4c55a", "ECB 2 blocks");
}

/* ---- AES-CBC, SP 800-38A F.2 ---- */

static const char sp38a_pt[] =
	"6bc1bee22e409f96e93d7e117393172a"
	"ae2d8a571e03ac9c9eb76fac45af8e51"
	"30c81c46a35ce411e5fbc1191a0a52ef"
	"f69f2445df4f9b17ad2b417be66c3710";
static const char sp38a_iv[] = "000102030405060708090a0b0c0d0e0f";
static const char sp38a_key128[] = "2b7e151628aed2a6abf7158809cf4f3c";
static const char sp38a_key192[] =
	"8e73b0f7da0e6452c810f32b809079e562f8ead2522c6b7b";
static const char sp38a_key256[] =
	"603deb1015ca71be2b73aef0857d7781"
	"1f352c073b6108d72d9810a30914dff4";

static void check_cbc(const char *key_hex, const char *ct_hex)
{
	uint8_t key[32], iv[16], pt[64], buf[64];
	size_t keylen = unhex(key_hex, key, sizeof(key));

	unhex(sp38a_iv, iv, sizeof(iv));
	unhex(sp38a_pt, pt, sizeof(pt));
	cr_assert_eq(crypto_aes_cbc_encrypt(key, keylen, iv, pt, 64, buf), 0);
	check_hex(buf, 64, ct_hex, "CBC encrypt");
	cr_assert_eq(crypto_aes_cbc_decrypt(key, keylen, iv, buf, 64, buf), 0);
	check_hex(buf, 64, sp38a_pt, "CBC decrypt in place");
}

Test(aes_cbc, sp800_38a_f21_f22_aes128)
{
	check_cbc(sp38a_key128,
		  "7649abac8119b246cee98e9b12e9197d"
		  "5086cb9b507219ee95db113a917678b2"
		  "73bed6b8e3c1743b7116e69e22229516"
		  "3ff1caa1681fac09120eca307586e1a7");
}

Test(aes_cbc, sp800_38a_f23_f24_aes192)
{
	check_cbc(sp38a_key192,
		  "4f021db243bc633d7178183a9fa071e8"
		  "b4d9ada9ad7dedf4e5e738763f69145a"
		  "571b242012fb7ae07fa9baac3df102e0"
		  "08b0e27988598881d920a9e64f5615cd");
}

Test(aes_cbc, sp800_38a_f25_f26_aes256)
{
	check_cbc(sp38a_key256,
		  "f58c4c04d6e5f1ba779eabfb5f7bfbd6"
		  "9cfc4e967edb808d679f777bc6702c7d"
		  "39f23369a9d9bacfa530e26304231461"
		  "b2eb05e2c39be9fcda6c19078c6a9d1b");
}

Test(aes_cbc, in_place_encrypt_matches)
{
	uint8_t key[16], iv[16], buf[64];

	unhex(sp38a_key128, key, sizeof(key));
	unhex(sp38a_iv, iv, sizeof(iv));
	unhex(sp38a_pt, buf, sizeof(buf));
	cr_assert_eq(crypto_aes_cbc_encrypt(key, 16, iv, buf, 64, buf), 0);
	check_hex(buf, 16, "7649abac8119b246cee98e9b12e9197d",
		  "CBC encrypt in place");
}

Test(aes, rejects_bad_key_length)
{
	uint8_t key[33] = { 0 }, iv[16] = { 0 }, in[16] = { 0 }, out[16];
	static const size_t bad[] = { 0, 8, 15, 17, 20, 31, 33 };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t kl = bad[i];

		cr_assert_eq(crypto_aes_ecb_encrypt(key, kl, in, 16, out), -1,
			     "ECB keylen %zu", kl);
		cr_assert_eq(crypto_aes_ecb_decrypt(key, kl, in, 16, out), -1,
			     "ECB keylen %zu", kl);
		cr_assert_eq(crypto_aes_cbc_encrypt(key, kl, iv, in, 16, out),
			     -1, "CBC keylen %zu", kl);
		cr_assert_eq(crypto_aes_cbc_decrypt(key, kl, iv, in, 16, out),
			     -1, "CBC keylen %zu", kl);
	}
}

Test(aes, rejects_partial_block)
{
	uint8_t key[16] = { 0 }, iv[16] = { 0 }, in[32] = { 0 }, out[32];

	cr_assert_eq(crypto_aes_ecb_encrypt(key, 16, in, 15, out), -1);
	cr_assert_eq(crypto_aes_ecb_decrypt(key, 16, in, 17, out), -1);
	cr_assert_eq(crypto_aes_cbc_encrypt(key, 16, iv, in, 1, out), -1);
	cr_assert_eq(crypto_aes_cbc_decrypt(key, 16, iv, in, 31, out), -1);
}

/* ---- AES-CMAC, RFC 4493 and SP 800-38B appendix D ---- */

/* The four message lengths used by both documents: 0, 16, 40, 64 bytes. */
static const size_t cmac_lens[4] = { 0, 16, 40, 64 };

static void check_cmac(const char *key_hex, const char *const tags[4])
{
	uint8_t key[32], msg[64], mac[16];
	size_t keylen = unhex(key_hex, key, sizeof(key));

	unhex(sp38a_pt, msg, sizeof(msg));	/* the same message blocks */
	for (size_t i = 0; i < 4; i++) {
		cr_assert_eq(crypto_aes_cmac(key, keylen, msg, cmac_lens[i],
					     mac), 0);
		check_hex(mac, 16, tags[i], "CMAC");
	}
}

Test(aes_cmac, rfc4493_aes128_examples_1_to_4)
{
	static const char *const tags[4] = {
		"bb1d6929e95937287fa37d129b756746",
		"070a16b46b4d4144f79bdd9dd04a287c",
		"dfa66747de9ae63030ca32611497c827",
		"51f0bebf7e3b9d92fc49741779363cfe",
	};

	check_cmac(sp38a_key128, tags);
}

Test(aes_cmac, sp800_38b_d2_aes192)
{
	static const char *const tags[4] = {
		"d17ddf46adaacde531cac483de7a9367",
		"9e99a7bf31e710900662f65e617c5184",
		"8a1de5be2eb31aad089a82e6ee908b0e",
		"a1d5df0eed790f794d77589659f39a11",
	};

	check_cmac(sp38a_key192, tags);
}

Test(aes_cmac, sp800_38b_d3_aes256)
{
	static const char *const tags[4] = {
		"028962f61b7bf89efc6b551f4667d983",
		"28a7023f452e8f82bd4bf28d8c37c35c",
		"aaf3d8f1de5640c232f5b169b9c911e6",
		"e1992190549f6ed5696a2c056c315410",
	};

	check_cmac(sp38a_key256, tags);
}

Test(aes_cmac, empty_message_may_be_null)
{
	uint8_t key[16], mac[16];

	unhex(sp38a_key128, key, sizeof(key));
	cr_assert_eq(crypto_aes_cmac(key, 16, NULL, 0, mac), 0);
	check_hex(mac, 16, "bb1d6929e95937287fa37d129b756746", "CMAC(NULL)");
}

Test(aes_cmac, rejects_bad_key_length)
{
	uint8_t key[32] = { 0 }, mac[16];

	cr_assert_eq(crypto_aes_cmac(key, 0, "x", 1, mac), -1);
	cr_assert_eq(crypto_aes_cmac(key, 15, "x", 1, mac), -1);
	cr_assert_eq(crypto_aes_cmac(key, 20, "x", 1, mac), -1);
	cr_assert_eq(crypto_aes_cmac(key, 31, "x", 1, mac), -1);
}

/* ---- SHA-256, FIPS 180 examples ---- */

Test(sha256, abc)
{
	uint8_t out[32];

	cr_assert_eq(crypto_sha256("abc", 3, out), 0);
	check_hex(out, 32, "ba7816bf8f01cfea414140de5dae2223"
			   "b00361a396177a9cb410ff61f20015ad", "SHA-256(abc)");
}

Test(sha256, empty)
{
	static const char want[] = "e3b0c44298fc1c149afbf4c8996fb924"
				   "27ae41e4649b934ca495991b7852b855";
	uint8_t out[32];

	cr_assert_eq(crypto_sha256("", 0, out), 0);
	check_hex(out, 32, want, "SHA-256()");
	cr_assert_eq(crypto_sha256(NULL, 0, out), 0);
	check_hex(out, 32, want, "SHA-256(NULL)");
}

Test(sha256, two_blocks)
{
	static const char msg[] =
		"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	uint8_t out[32];

	cr_assert_eq(crypto_sha256(msg, strlen(msg), out), 0);
	check_hex(out, 32, "248d6a61d20638b8e5c026930c3e6039"
			   "a33ce45964ff2167f6ecedd419db06c1", "SHA-256(448 bits)");
}

/* ---- CRC-32 ---- */

Test(crc32, check_value)
{
	cr_assert_eq(crypto_crc32(0, "123456789", 9), 0xCBF43926u);
}

Test(crc32, chains)
{
	static const char text[] = "The quick brown fox jumps over the lazy dog";
	size_t len = strlen(text);
	uint32_t whole = crypto_crc32(0, text, len);

	cr_assert_eq(whole, 0x414FA339u);	/* widely published value */
	for (size_t cut = 0; cut <= len; cut++) {
		uint32_t crc = crypto_crc32(0, text, cut);

		crc = crypto_crc32(crc, text + cut, len - cut);
		cr_assert_eq(crc, whole, "split at %zu", cut);
	}
}

Test(crc32, empty_is_identity)
{
	cr_assert_eq(crypto_crc32(0, NULL, 0), 0u);
	cr_assert_eq(crypto_crc32(0xCBF43926u, "", 0), 0xCBF43926u);
}

/* ---- Triple DES ---- */

/*
 * FIPS 81 appendix B (ECB) and C (CBC): single DES with key 0123456789ABCDEF
 * over "Now is the time for all ". EDE with K || K (two-key) or K || K || K
 * (three-key) is single DES under K, which is how SCP02's retail MAC runs
 * its single-DES steps, so these vectors check both key lengths.
 */
static const char fips81_key[] = "0123456789ABCDEF";
static const char fips81_pt[] = "4E6F772069732074 68652074696D6520 666F7220616C6C20";
static const char fips81_ecb[] = "3FA40E8A984D4815 6A271787AB8883F9 893D51EC4B563B53";
static const char fips81_iv[] = "1234567890ABCDEF";
static const char fips81_cbc[] = "E5C7CDDE872BF27C 43E934008C389C0F 683788499A7C05F6";

/* The key K repeated n times (n = 2 or 3). */
static size_t repeated_des_key(uint8_t key[24], int n)
{
	uint8_t k[8];

	unhex(fips81_key, k, sizeof(k));
	for (int i = 0; i < n; i++)
		memcpy(key + 8 * i, k, 8);
	return (size_t)n * 8;
}

Test(des3, fips81_ecb_as_two_and_three_key)
{
	uint8_t key[24], pt[24], buf[24];

	unhex(fips81_pt, pt, sizeof(pt));
	for (int n = 2; n <= 3; n++) {
		size_t keylen = repeated_des_key(key, n);

		cr_assert_eq(crypto_des3_ecb_encrypt(key, keylen, pt, 24, buf), 0);
		check_hex(buf, 24, fips81_ecb, "DES-EDE ECB encrypt");
		cr_assert_eq(crypto_des3_ecb_decrypt(key, keylen, buf, 24, buf), 0);
		check_hex(buf, 24, fips81_pt, "DES-EDE ECB decrypt in place");
	}
}

Test(des3, fips81_cbc_as_two_and_three_key)
{
	uint8_t key[24], iv[8], pt[24], buf[24];

	unhex(fips81_iv, iv, sizeof(iv));
	unhex(fips81_pt, pt, sizeof(pt));
	for (int n = 2; n <= 3; n++) {
		size_t keylen = repeated_des_key(key, n);

		cr_assert_eq(crypto_des3_cbc_encrypt(key, keylen, iv, pt, 24, buf), 0);
		check_hex(buf, 24, fips81_cbc, "DES-EDE CBC encrypt");
		cr_assert_eq(crypto_des3_cbc_decrypt(key, keylen, iv, buf, 24, buf), 0);
		check_hex(buf, 24, fips81_pt, "DES-EDE CBC decrypt in place");
	}
}

/* SP 800-67 Rev. 1, the three-key TDEA example (its plaintext has the typo). */
Test(des3, sp800_67_three_key_example)
{
	uint8_t key[24], pt[24], buf[24];

	unhex("0123456789ABCDEF 23456789ABCDEF01 456789ABCDEF0123", key, 24);
	unhex("5468652071756663 6B2062726F776E20 666F78206A756D70", pt, 24);
	cr_assert_eq(crypto_des3_ecb_encrypt(key, 24, pt, 24, buf), 0);
	check_hex(buf, 24, "A826FD8CE53B855F CCE21C8112256FE6 68D5C05DD9B6B900",
		  "TDEA ECB encrypt");
	cr_assert_eq(crypto_des3_ecb_decrypt(key, 24, buf, 24, buf), 0);
	check_hex(buf, 24, "5468652071756663 6B2062726F776E20 666F78206A756D70",
		  "TDEA ECB decrypt");
}

/*
 * Two-key TDEA with K1 != K2: the GlobalPlatform default test key
 * 404142..4F has the published key check value 8BAF47 (the first bytes of
 * the key's encryption of eight zero bytes), and K1 || K2 must equal the
 * three-key K1 || K2 || K1.
 */
Test(des3, two_key_is_k1_k2_k1)
{
	uint8_t k16[16], k24[24], zero[16] = { 0 }, a[16], b[16];

	unhex("404142434445464748494A4B4C4D4E4F", k16, 16);
	memcpy(k24, k16, 16);
	memcpy(k24 + 16, k16, 8);
	cr_assert_eq(crypto_des3_ecb_encrypt(k16, 16, zero, 8, a), 0);
	check_hex(a, 3, "8BAF47", "KCV of 404142..4F");
	cr_assert_eq(crypto_des3_cbc_encrypt(k16, 16, zero, zero, 16, a), 0);
	cr_assert_eq(crypto_des3_cbc_encrypt(k24, 24, zero, zero, 16, b), 0);
	cr_assert(memcmp(a, b, 16) == 0);
}

Test(des3, rejects_bad_key_length_and_partial_block)
{
	uint8_t key[24] = { 1 }, iv[8] = { 0 }, buf[16] = { 0 };

	cr_assert_eq(crypto_des3_ecb_encrypt(key, 8, buf, 8, buf), -1);
	cr_assert_eq(crypto_des3_ecb_encrypt(key, 32, buf, 8, buf), -1);
	cr_assert_eq(crypto_des3_ecb_encrypt(key, 16, buf, 12, buf), -1);
	cr_assert_eq(crypto_des3_cbc_encrypt(key, 16, NULL, buf, 8, buf), -1);
	cr_assert_eq(crypto_des3_cbc_decrypt(key, 24, iv, buf, 7, buf), -1);
	cr_assert_eq(crypto_des3_ecb_encrypt(key, 16, buf, 0, buf), 0);
}

/* ---- SP 800-108 KDF in counter mode with CMAC ---- */

/*
 * The same KDF built from CMAC by hand: block i is
 * CMAC(K, [i]_32 || label || 00 || context || [L]_32), L = outlen in bits.
 */
static void kdf_by_hand(const uint8_t *key, size_t keylen,
			const uint8_t *label, size_t labellen,
			const uint8_t *context, size_t contextlen,
			uint8_t *out, size_t outlen)
{
	uint8_t input[256];
	uint8_t block[16];
	uint32_t bits = (uint32_t)outlen * 8;
	size_t n;

	cr_assert(4 + labellen + 1 + contextlen + 4 <= sizeof(input));
	for (uint32_t i = 1; (size_t)(i - 1) * 16 < outlen; i++) {
		n = 0;
		input[n++] = (uint8_t)(i >> 24);
		input[n++] = (uint8_t)(i >> 16);
		input[n++] = (uint8_t)(i >> 8);
		input[n++] = (uint8_t)i;
		memcpy(input + n, label, labellen);
		n += labellen;
		input[n++] = 0x00;
		memcpy(input + n, context, contextlen);
		n += contextlen;
		input[n++] = (uint8_t)(bits >> 24);
		input[n++] = (uint8_t)(bits >> 16);
		input[n++] = (uint8_t)(bits >> 8);
		input[n++] = (uint8_t)bits;
		cr_assert_eq(crypto_aes_cmac(key, keylen, input, n, block), 0);

		size_t off = (size_t)(i - 1) * 16;
		size_t take = outlen - off < 16 ? outlen - off : 16;

		memcpy(out + off, block, take);
	}
}

static void check_kdf(const char *key_hex, const char *label,
		      const char *context, size_t outlen)
{
	uint8_t key[32], got[64], want[64];
	size_t keylen = unhex(key_hex, key, sizeof(key));
	size_t ll = strlen(label), cl = strlen(context);

	cr_assert(outlen <= sizeof(got));
	cr_assert_eq(crypto_kdf_ctr_cmac(key, keylen, label, ll, context, cl,
					 got, outlen), 0);
	kdf_by_hand(key, keylen, (const uint8_t *)label, ll,
		    (const uint8_t *)context, cl, want, outlen);
	cr_assert(memcmp(got, want, outlen) == 0,
		  "KDF keylen %zu outlen %zu differs from the hand-built one",
		  keylen, outlen);
}

Test(kdf, aes128_one_block)
{
	check_kdf(sp38a_key128, "ecard session", "card-0001", 16);
}

Test(kdf, aes128_two_blocks)
{
	/* 32 bytes need the counter to reach 2, and L = 256 in both blocks */
	check_kdf(sp38a_key128, "ecard session", "card-0001", 32);
}

Test(kdf, aes192_and_aes256_truncated)
{
	check_kdf(sp38a_key192, "enc", "ctx", 20);
	check_kdf(sp38a_key256, "mac", "a longer context string", 48);
	check_kdf(sp38a_key256, "x", "y", 1);
}

Test(kdf, empty_label_and_context)
{
	check_kdf(sp38a_key128, "", "", 16);
	check_kdf(sp38a_key128, "label", "", 16);
	check_kdf(sp38a_key128, "", "context", 16);
}

Test(kdf, inputs_change_output)
{
	uint8_t key[16], a[16], b[16];

	unhex(sp38a_key128, key, sizeof(key));
	cr_assert_eq(crypto_kdf_ctr_cmac(key, 16, "A", 1, "C", 1, a, 16), 0);
	cr_assert_eq(crypto_kdf_ctr_cmac(key, 16, "B", 1, "C", 1, b, 16), 0);
	cr_assert(memcmp(a, b, 16) != 0);
	/* label/context boundary is fixed by the 00 separator */
	cr_assert_eq(crypto_kdf_ctr_cmac(key, 16, "AC", 2, "", 0, b, 16), 0);
	cr_assert(memcmp(a, b, 16) != 0);
}

Test(kdf, rejects_bad_key_length_and_empty_output)
{
	uint8_t key[32] = { 0 }, out[16];

	cr_assert_eq(crypto_kdf_ctr_cmac(key, 15, "l", 1, "c", 1, out, 16), -1);
	cr_assert_eq(crypto_kdf_ctr_cmac(key, 0, "l", 1, "c", 1, out, 16), -1);
	cr_assert_eq(crypto_kdf_ctr_cmac(key, 16, "l", 1, "c", 1, out, 0), -1);
}

/* ---- P-256 ECDSA ---- */

/* RFC 6979 A.2.5: the P-256 key pair and its SHA-256 signatures. */
static const char rfc6979_priv[] =
	"C9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721";
static const char rfc6979_pub[] =
	"04"
	"60FED4BA255A9D31C961EB74C6356D68C049B8923B61FA6CE669622E60F29FB6"
	"7903FE1008B8BC99A41AE9E95628BC64F2F1B20C2D7E9F5177A3C294D4462299";
static const char rfc6979_sig_sample[] =
	"EFD48B2AACB6A8FD1140DD9CD45E81D69D2C877B56AAF991C34D0EA84EAF3716"
	"F7CB1C942D657C41D436C7A1B6E29F65F3E900DBB9AFF4064DC4AB2F843ACDA8";
static const char rfc6979_sig_test[] =
	"F1ABB023518351CD71D881567B1EA663ED3EFCF6C5132B354F28D3B0B7D38367"
	"019F4113742A2B14BD25926B49C649155F267E60D3814B4C0CC84250E46F0083";

static const char p256_order[] =
	"FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551";

Test(ecdsa, generate_sign_verify)
{
	static const char msg[] = "select applet A0000005272101";
	uint8_t priv[32], pub[65], pub2[65], sig[64];

	cr_assert_eq(crypto_ec_generate(priv, pub), 0);
	cr_assert_eq(pub[0], 0x04);
	cr_assert_eq(crypto_ec_public(priv, pub2), 0);
	cr_assert(memcmp(pub, pub2, sizeof(pub)) == 0,
		  "crypto_ec_public disagrees with crypto_ec_generate");
	cr_assert_eq(crypto_ecdsa_sign(priv, msg, sizeof(msg) - 1, sig), 0);
	cr_assert_eq(crypto_ecdsa_verify(pub, msg, sizeof(msg) - 1, sig), 1);
	crypto_wipe(priv, sizeof(priv));
}

Test(ecdsa, flipped_bits_fail)
{
	uint8_t msg[40], priv[32], pub[65], sig[64];

	memset(msg, 0x5A, sizeof(msg));
	cr_assert_eq(crypto_ec_generate(priv, pub), 0);
	cr_assert_eq(crypto_ecdsa_sign(priv, msg, sizeof(msg), sig), 0);
	cr_assert_eq(crypto_ecdsa_verify(pub, msg, sizeof(msg), sig), 1);

	for (size_t i = 0; i < sizeof(msg); i += 7) {
		msg[i] ^= 0x01;
		cr_assert_eq(crypto_ecdsa_verify(pub, msg, sizeof(msg), sig), 0,
			     "message bit at byte %zu", i);
		msg[i] ^= 0x01;
	}
	for (size_t i = 0; i < sizeof(sig); i += 5) {
		sig[i] ^= 0x80;
		cr_assert_eq(crypto_ecdsa_verify(pub, msg, sizeof(msg), sig), 0,
			     "signature bit at byte %zu", i);
		sig[i] ^= 0x80;
	}
	/* Any change to the key, including its format byte: 0, not -1. */
	for (size_t i = 0; i < sizeof(pub); i += 4) {
		pub[i] ^= 0x02;
		cr_assert_eq(crypto_ecdsa_verify(pub, msg, sizeof(msg), sig), 0,
			     "key bit at byte %zu", i);
		pub[i] ^= 0x02;
	}
	cr_assert_eq(crypto_ecdsa_verify(pub, msg, sizeof(msg), sig), 1);
}

Test(ecdsa, signatures_are_randomised)
{
	uint8_t priv[32], pub[65], s1[64], s2[64];

	cr_assert_eq(crypto_ec_generate(priv, pub), 0);
	cr_assert_eq(crypto_ecdsa_sign(priv, "m", 1, s1), 0);
	cr_assert_eq(crypto_ecdsa_sign(priv, "m", 1, s2), 0);
	cr_assert(memcmp(s1, s2, sizeof(s1)) != 0);
	cr_assert_eq(crypto_ecdsa_verify(pub, "m", 1, s1), 1);
	cr_assert_eq(crypto_ecdsa_verify(pub, "m", 1, s2), 1);
}

Test(ecdsa, empty_message)
{
	uint8_t priv[32], pub[65], sig[64];

	cr_assert_eq(crypto_ec_generate(priv, pub), 0);
	cr_assert_eq(crypto_ecdsa_sign(priv, NULL, 0, sig), 0);
	cr_assert_eq(crypto_ecdsa_verify(pub, "", 0, sig), 1);
	cr_assert_eq(crypto_ecdsa_verify(pub, "x", 1, sig), 0);
}

Test(ecdsa, rfc6979_public_key)
{
	uint8_t priv[32], pub[65];

	unhex(rfc6979_priv, priv, sizeof(priv));
	cr_assert_eq(crypto_ec_public(priv, pub), 0);
	check_hex(pub, 65, rfc6979_pub, "RFC 6979 A.2.5 public key");
}

Test(ecdsa, rfc6979_signatures_verify)
{
	uint8_t pub[65], sig[64];

	unhex(rfc6979_pub, pub, sizeof(pub));
	unhex(rfc6979_sig_sample, sig, sizeof(sig));
	cr_assert_eq(crypto_ecdsa_verify(pub, "sample", 6, sig), 1);
	cr_assert_eq(crypto_ecdsa_verify(pub, "Sample", 6, sig), 0);
	unhex(rfc6979_sig_test, sig, sizeof(sig));
	cr_assert_eq(crypto_ecdsa_verify(pub, "test", 4, sig), 1);
	cr_assert_eq(crypto_ecdsa_verify(pub, "sample", 6, sig), 0);
}

Test(ecdsa, rfc6979_key_signs_verifiably)
{
	uint8_t priv[32], pub[65], sig[64];

	unhex(rfc6979_priv, priv, sizeof(priv));
	unhex(rfc6979_pub, pub, sizeof(pub));
	cr_assert_eq(crypto_ecdsa_sign(priv, "sample", 6, sig), 0);
	cr_assert_eq(crypto_ecdsa_verify(pub, "sample", 6, sig), 1);
}

Test(ecdsa, scalar_range)
{
	uint8_t priv[32], pub[65], sig[64];

	memset(priv, 0, sizeof(priv));
	cr_assert_eq(crypto_ec_public(priv, pub), -1, "priv = 0");
	cr_assert_eq(crypto_ecdsa_sign(priv, "m", 1, sig), -1, "priv = 0");

	unhex(p256_order, priv, sizeof(priv));
	cr_assert_eq(crypto_ec_public(priv, pub), -1, "priv = n");
	cr_assert_eq(crypto_ecdsa_sign(priv, "m", 1, sig), -1, "priv = n");

	priv[31] += 1;
	cr_assert_eq(crypto_ec_public(priv, pub), -1, "priv = n + 1");
	memset(priv, 0xFF, sizeof(priv));
	cr_assert_eq(crypto_ec_public(priv, pub), -1, "priv = 2^256 - 1");

	/* 1 gives the generator G, n - 1 gives -G = (Gx, p - Gy). */
	memset(priv, 0, sizeof(priv));
	priv[31] = 1;
	cr_assert_eq(crypto_ec_public(priv, pub), 0, "priv = 1");
	check_hex(pub, 65, "04"
		  "6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296"
		  "4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5",
		  "1 * G");
	unhex(p256_order, priv, sizeof(priv));
	priv[31] -= 1;
	cr_assert_eq(crypto_ec_public(priv, pub), 0, "priv = n - 1");
	check_hex(pub, 65, "04"
		  "6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296"
		  "B01CBD1C01E58065711814B583F061E9D431CCA994CEA1313449BF97C840AE0A",
		  "(n - 1) * G");
}

Test(ecdsa, out_of_range_r_s_are_invalid)
{
	uint8_t pub[65], good[64], sig[64], order[32];

	unhex(rfc6979_pub, pub, sizeof(pub));
	unhex(rfc6979_sig_sample, good, sizeof(good));
	unhex(p256_order, order, sizeof(order));

	memcpy(sig, good, 64);
	memset(sig, 0, 32);
	cr_assert_eq(crypto_ecdsa_verify(pub, "sample", 6, sig), 0, "r = 0");
	memcpy(sig, good, 64);
	memset(sig + 32, 0, 32);
	cr_assert_eq(crypto_ecdsa_verify(pub, "sample", 6, sig), 0, "s = 0");
	memcpy(sig, good, 64);
	memcpy(sig, order, 32);
	cr_assert_eq(crypto_ecdsa_verify(pub, "sample", 6, sig), 0, "r = n");
	memcpy(sig, good, 64);
	memcpy(sig + 32, order, 32);
	cr_assert_eq(crypto_ecdsa_verify(pub, "sample", 6, sig), 0, "s = n");
	memset(sig, 0xFF, 64);
	cr_assert_eq(crypto_ecdsa_verify(pub, "sample", 6, sig), 0, "r,s max");
}

Test(ecdsa, malformed_public_keys_are_invalid)
{
	uint8_t pub[65], sig[64];

	unhex(rfc6979_sig_sample, sig, sizeof(sig));

	memset(pub, 0, sizeof(pub));
	cr_assert_eq(crypto_ecdsa_verify(pub, "sample", 6, sig), 0, "zeros");
	pub[0] = 0x04;
	cr_assert_eq(crypto_ecdsa_verify(pub, "sample", 6, sig), 0, "04 || 0");
	memset(pub + 1, 0xFF, 64);
	cr_assert_eq(crypto_ecdsa_verify(pub, "sample", 6, sig), 0,
		     "coordinates >= p");

	unhex(rfc6979_pub, pub, sizeof(pub));
	pub[0] = 0x02;		/* compressed marker on a 65-byte key */
	cr_assert_eq(crypto_ecdsa_verify(pub, "sample", 6, sig), 0, "02");
	unhex(rfc6979_pub, pub, sizeof(pub));
	pub[64] ^= 0x01;	/* Y no longer matches X */
	cr_assert_eq(crypto_ecdsa_verify(pub, "sample", 6, sig), 0, "off curve");
}

/* ---- randomness, comparison, wiping ---- */

Test(random, draws_differ)
{
	uint8_t a[32], b[32];
	static const uint8_t zero[32];

	cr_assert_eq(crypto_random(a, sizeof(a)), 0);
	cr_assert_eq(crypto_random(b, sizeof(b)), 0);
	cr_assert(memcmp(a, b, sizeof(a)) != 0);
	cr_assert(memcmp(a, zero, sizeof(a)) != 0);
	cr_assert_eq(crypto_random(a, 0), 0);
}

Test(equal, equal_and_unequal)
{
	uint8_t a[32], b[32];

	memset(a, 0x3C, sizeof(a));
	memcpy(b, a, sizeof(b));
	cr_assert(crypto_equal(a, b, sizeof(a)));
	b[31] ^= 0x01;
	cr_assert(!crypto_equal(a, b, sizeof(a)));
	b[31] ^= 0x01;
	b[0] ^= 0x80;
	cr_assert(!crypto_equal(a, b, sizeof(a)));
	cr_assert(crypto_equal(a, b, 0));
}

Test(wipe, clears)
{
	uint8_t buf[24];
	static const uint8_t zero[24];

	memset(buf, 0xA5, sizeof(buf));
	crypto_wipe(buf, sizeof(buf));
	cr_assert(memcmp(buf, zero, sizeof(buf)) == 0);
}
