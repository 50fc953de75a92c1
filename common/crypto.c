/*
 * crypto.c - the one crypto module of ecard: AES, Triple DES, CMAC,
 * SP 800-108 KDF, SHA-256, P-256 ECDSA, randomness and CRC-32 over
 * OpenSSL 3.
 *
 * Only the provider (EVP) interfaces and the EC/BN functions that OpenSSL 3.0
 * does not deprecate are used, so the build stays clean under -Werror.
 * Algorithms are fetched on every call instead of being cached: that keeps
 * the module free of global mutable state, at a cost that is negligible
 * next to a card's APDU round trip.
 */
#include "crypto.h"

#include <limits.h>
#include <pthread.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/obj_mac.h>
#include <openssl/params.h>
#include <openssl/rand.h>

/* EVP takes int lengths: long buffers go through in chunks of this size,
 * a multiple of the AES and DES blocks so that no chunk leaves a partial
 * block. */
#define CHUNK_MAX ((size_t)1 << 30)

/* The order n of the P-256 group, big-endian (FIPS 186-4, D.1.2.3). */
static const uint8_t p256_order[CRYPTO_EC_PRIV_LEN] = {
	0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00,
	0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
	0xBC, 0xE6, 0xFA, 0xAD, 0xA7, 0x17, 0x9E, 0x84,
	0xF3, 0xB9, 0xCA, 0xC2, 0xFC, 0x63, 0x25, 0x51,
};

/* OpenSSL's name for the curve, writable because OSSL_PARAM wants char *. */
#define P256_GROUP_NAME "prime256v1"

/*
 * Some OpenSSL calls may read their input even when the length is 0; a
 * caller's NULL for an empty message is legitimate, so give them a real,
 * empty buffer instead.
 */
static const void *or_empty(const void *p)
{
	static const uint8_t empty[1];

	return p != NULL ? p : empty;
}

/* ---- randomness and secrets ---- */

int crypto_random(void *buf, size_t len)
{
	uint8_t *p = buf;

	/*
	 * The private DRBG: callers draw keys and PIN salts as well as public
	 * challenges from here, and keys must not share a generator whose
	 * output is also shown to the world.
	 */
	while (len > 0) {
		size_t n = len < CHUNK_MAX ? len : CHUNK_MAX;

		if (RAND_priv_bytes(p, (int)n) != 1)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

bool crypto_equal(const void *a, const void *b, size_t len)
{
	if (len == 0)
		return true;
	return CRYPTO_memcmp(a, b, len) == 0;
}

void crypto_wipe(void *buf, size_t len)
{
	if (buf != NULL && len > 0)
		OPENSSL_cleanse(buf, len);
}

/* ---- SHA-256 ---- */

/* SHA-256 is looked up once: OpenSSL 3 takes locks to find an algorithm,
 * which cost more than hashing a short message. */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA2-256", NULL);
}

int crypto_sha256(const void *msg, size_t len, uint8_t out[CRYPTO_SHA256_LEN])
{
	unsigned int outlen = 0;

	pthread_once(&sha256_once, sha256_fetch);
	if (sha256_md == NULL)
		return -1;
	if (EVP_Digest(or_empty(msg), len, out, &outlen, sha256_md, NULL) == 1 &&
	    outlen == CRYPTO_SHA256_LEN)
		return 0;
	return -1;
}

/* ---- AES ---- */

/* The OpenSSL algorithm name for AES of this key length in this mode
 * ("ECB" or "CBC"), or NULL when the key length is not an AES one. */
static const char *aes_name(size_t keylen, const char *mode)
{
	static const char *const names[3][2] = {
		{ "AES-128-ECB", "AES-128-CBC" },
		{ "AES-192-ECB", "AES-192-CBC" },
		{ "AES-256-ECB", "AES-256-CBC" },
	};
	int cbc = strcmp(mode, "CBC") == 0;

	switch (keylen) {
	case 16:
		return names[0][cbc];
	case 24:
		return names[1][cbc];
	case 32:
		return names[2][cbc];
	default:
		return NULL;
	}
}

/*
 * Run a block cipher without padding in one direction; iv is NULL for ECB.
 * name is the OpenSSL algorithm (NULL when the caller found the key length
 * unusable), block its block size.
 */
static int block_crypt(const char *name, size_t block, const uint8_t *key,
		       const uint8_t *iv, const uint8_t *in, size_t len,
		       uint8_t *out, int enc)
{
	EVP_CIPHER *cipher = NULL;
	EVP_CIPHER_CTX *ctx = NULL;
	size_t done = 0;
	int outl;
	int rc = -1;

	if (name == NULL || key == NULL || len % block != 0)
		return -1;
	if (len == 0)
		return 0;
	if (in == NULL || out == NULL)
		return -1;
	cipher = EVP_CIPHER_fetch(NULL, name, NULL);
	ctx = EVP_CIPHER_CTX_new();
	if (cipher == NULL || ctx == NULL)
		goto out;
	if (EVP_CipherInit_ex2(ctx, cipher, key, iv, enc, NULL) != 1)
		goto out;
	/* Callers frame their own data: a padding block would break APDUs. */
	if (EVP_CIPHER_CTX_set_padding(ctx, 0) != 1)
		goto out;
	while (done < len) {
		size_t n = len - done < CHUNK_MAX ? len - done : CHUNK_MAX;

		if (EVP_CipherUpdate(ctx, out + done, &outl, in + done,
				     (int)n) != 1 || (size_t)outl != n)
			goto out;
		done += n;
	}
	/* Nothing is buffered (whole blocks, no padding), but Final is what
	 * reports a provider's late failure. */
	if (EVP_CipherFinal_ex(ctx, out + done, &outl) != 1 || outl != 0)
		goto out;
	rc = 0;
out:
	/* The context holds the key schedule; its free cleanses it. */
	EVP_CIPHER_CTX_free(ctx);
	EVP_CIPHER_free(cipher);
	if (rc != 0)
		OPENSSL_cleanse(out, len);	/* no half-processed output */
	return rc;
}

/* Run AES without padding in one direction; iv is NULL for ECB. */
static int aes_crypt(const char *mode, const uint8_t *key, size_t keylen,
		     const uint8_t *iv, const uint8_t *in, size_t len,
		     uint8_t *out, int enc)
{
	return block_crypt(aes_name(keylen, mode), CRYPTO_AES_BLOCK, key, iv,
			   in, len, out, enc);
}

int crypto_aes_ecb_encrypt(const uint8_t *key, size_t keylen,
			   const uint8_t *in, size_t len, uint8_t *out)
{
	return aes_crypt("ECB", key, keylen, NULL, in, len, out, 1);
}

int crypto_aes_ecb_decrypt(const uint8_t *key, size_t keylen,
			   const uint8_t *in, size_t len, uint8_t *out)
{
	return aes_crypt("ECB", key, keylen, NULL, in, len, out, 0);
}

int crypto_aes_cbc_encrypt(const uint8_t *key, size_t keylen,
			   const uint8_t iv[CRYPTO_AES_BLOCK],
			   const uint8_t *in, size_t len, uint8_t *out)
{
	if (iv == NULL)
		return -1;
	return aes_crypt("CBC", key, keylen, iv, in, len, out, 1);
}

int crypto_aes_cbc_decrypt(const uint8_t *key, size_t keylen,
			   const uint8_t iv[CRYPTO_AES_BLOCK],
			   const uint8_t *in, size_t len, uint8_t *out)
{
	if (iv == NULL)
		return -1;
	return aes_crypt("CBC", key, keylen, iv, in, len, out, 0);
}

/* ---- Triple DES ---- */

/*
 * The default provider's name for two- or three-key TDEA in this mode, or
 * NULL for any other key length. Both are EDE; the two-key form is the
 * three-key one with K3 = K1.
 */
static const char *des3_name(size_t keylen, int cbc)
{
	switch (keylen) {
	case 16:
		return cbc ? "DES-EDE-CBC" : "DES-EDE-ECB";
	case 24:
		return cbc ? "DES-EDE3-CBC" : "DES-EDE3-ECB";
	default:
		return NULL;
	}
}

int crypto_des3_ecb_encrypt(const uint8_t *key, size_t keylen,
			    const uint8_t *in, size_t len, uint8_t *out)
{
	return block_crypt(des3_name(keylen, 0), CRYPTO_DES_BLOCK, key, NULL,
			   in, len, out, 1);
}

int crypto_des3_ecb_decrypt(const uint8_t *key, size_t keylen,
			    const uint8_t *in, size_t len, uint8_t *out)
{
	return block_crypt(des3_name(keylen, 0), CRYPTO_DES_BLOCK, key, NULL,
			   in, len, out, 0);
}

int crypto_des3_cbc_encrypt(const uint8_t *key, size_t keylen,
			    const uint8_t iv[CRYPTO_DES_BLOCK],
			    const uint8_t *in, size_t len, uint8_t *out)
{
	if (iv == NULL)
		return -1;
	return block_crypt(des3_name(keylen, 1), CRYPTO_DES_BLOCK, key, iv,
			   in, len, out, 1);
}

int crypto_des3_cbc_decrypt(const uint8_t *key, size_t keylen,
			    const uint8_t iv[CRYPTO_DES_BLOCK],
			    const uint8_t *in, size_t len, uint8_t *out)
{
	if (iv == NULL)
		return -1;
	return block_crypt(des3_name(keylen, 1), CRYPTO_DES_BLOCK, key, iv,
			   in, len, out, 0);
}

/* ---- AES-CMAC ---- */

int crypto_aes_cmac(const uint8_t *key, size_t keylen,
		    const void *msg, size_t len, uint8_t mac[CRYPTO_AES_BLOCK])
{
	const char *cipher = aes_name(keylen, "CBC");
	EVP_MAC *alg = NULL;
	EVP_MAC_CTX *ctx = NULL;
	OSSL_PARAM params[2];
	size_t outl = 0;
	int rc = -1;

	if (cipher == NULL || key == NULL)
		return -1;
	/* OSSL_PARAM takes char *; the provider only reads the name. */
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_CIPHER,
						     (char *)cipher, 0);
	params[1] = OSSL_PARAM_construct_end();
	alg = EVP_MAC_fetch(NULL, "CMAC", NULL);
	if (alg == NULL)
		goto out;
	ctx = EVP_MAC_CTX_new(alg);
	if (ctx == NULL)
		goto out;
	if (EVP_MAC_init(ctx, key, keylen, params) != 1)
		goto out;
	if (EVP_MAC_update(ctx, or_empty(msg), len) != 1)
		goto out;
	if (EVP_MAC_final(ctx, mac, &outl, CRYPTO_AES_BLOCK) != 1 ||
	    outl != CRYPTO_AES_BLOCK)
		goto out;
	rc = 0;
out:
	EVP_MAC_CTX_free(ctx);	/* cleanses the key schedule */
	EVP_MAC_free(alg);
	return rc;
}

/* ---- SP 800-108 counter-mode KDF with CMAC ---- */

int crypto_kdf_ctr_cmac(const uint8_t *key, size_t keylen,
			const void *label, size_t labellen,
			const void *context, size_t contextlen,
			uint8_t *out, size_t outlen)
{
	const char *cipher = aes_name(keylen, "CBC");
	EVP_KDF *kdf = NULL;
	EVP_KDF_CTX *ctx = NULL;
	OSSL_PARAM params[7];
	size_t n = 0;
	int rc = -1;

	if (cipher == NULL || key == NULL || out == NULL)
		return -1;
	/*
	 * L is a 32-bit count of bits in the fixed input: a longer output
	 * could not be encoded, and an empty one is a caller's mistake.
	 */
	if (outlen == 0 || outlen > UINT32_MAX / 8)
		return -1;
	if ((labellen > 0 && label == NULL) ||
	    (contextlen > 0 && context == NULL))
		return -1;

	/* The casts drop const only because OSSL_PARAM has no const form;
	 * the provider copies and never writes these buffers. */
	params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_MODE,
						       (char *)"counter", 0);
	params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_MAC,
						       (char *)"CMAC", 0);
	params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_CIPHER,
						       (char *)cipher, 0);
	params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
							(void *)key, keylen);
	/* KBKDF calls the label "salt" and the context "info"; an empty one
	 * is simply left out, which is its default. */
	if (labellen > 0)
		params[n++] = OSSL_PARAM_construct_octet_string(
			OSSL_KDF_PARAM_SALT, (void *)label, labellen);
	if (contextlen > 0)
		params[n++] = OSSL_PARAM_construct_octet_string(
			OSSL_KDF_PARAM_INFO, (void *)context, contextlen);
	params[n] = OSSL_PARAM_construct_end();

	kdf = EVP_KDF_fetch(NULL, "KBKDF", NULL);
	if (kdf == NULL)
		goto out;
	ctx = EVP_KDF_CTX_new(kdf);
	if (ctx == NULL)
		goto out;
	if (EVP_KDF_derive(ctx, out, outlen, params) != 1)
		goto out;
	rc = 0;
out:
	EVP_KDF_CTX_free(ctx);	/* cleanses its copy of the key */
	EVP_KDF_free(kdf);
	if (rc != 0)
		OPENSSL_cleanse(out, outlen);
	return rc;
}

/* ---- P-256 ECDSA ---- */

/*
 * 1 when 0 < s < n for a big-endian scalar s, else 0. Written without
 * data-dependent branches because s is usually a private key.
 */
static int scalar_in_range(const uint8_t s[CRYPTO_EC_PRIV_LEN])
{
	uint32_t borrow = 0;
	uint32_t any = 0;

	for (int i = CRYPTO_EC_PRIV_LEN - 1; i >= 0; i--) {
		uint32_t d = (uint32_t)s[i] - p256_order[i] - borrow;

		borrow = d >> 31;	/* s - n went below zero here */
		any |= s[i];
	}
	/* (any + 255) >> 8 is 1 exactly when some byte was non-zero. */
	return (int)(borrow & ((any + 255) >> 8));
}

/*
 * OSSL_PARAM BIGNUMs are native-endian; turn a big-endian scalar into that.
 * The result lies in a caller's buffer so the caller can wipe it.
 */
static void scalar_to_native(const uint8_t be[CRYPTO_EC_PRIV_LEN],
			     uint8_t native[CRYPTO_EC_PRIV_LEN])
{
	const uint16_t one = 1;
	uint8_t first;

	memcpy(&first, &one, 1);
	for (size_t i = 0; i < CRYPTO_EC_PRIV_LEN; i++)
		native[i] = first == 1 ? be[CRYPTO_EC_PRIV_LEN - 1 - i] : be[i];
}

/*
 * Build an EVP_PKEY on P-256 from a private scalar and/or an uncompressed
 * public point (either may be NULL, not both). NULL on failure, which for
 * a public point includes "not on the curve": OpenSSL checks that on import.
 */
static EVP_PKEY *ec_pkey(const uint8_t *priv, const uint8_t *pub)
{
	char group[] = P256_GROUP_NAME;
	uint8_t native[CRYPTO_EC_PRIV_LEN];
	uint8_t point[CRYPTO_EC_PUB_LEN];
	OSSL_PARAM params[4];
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	size_t n = 0;
	int selection = 0;

	params[n++] = OSSL_PARAM_construct_utf8_string(
		OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
	if (priv != NULL) {
		scalar_to_native(priv, native);
		params[n++] = OSSL_PARAM_construct_BN(OSSL_PKEY_PARAM_PRIV_KEY,
						      native, sizeof(native));
		selection = EVP_PKEY_KEYPAIR;
	}
	if (pub != NULL) {
		memcpy(point, pub, sizeof(point));
		params[n++] = OSSL_PARAM_construct_octet_string(
			OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point));
		if (selection == 0)
			selection = EVP_PKEY_PUBLIC_KEY;
	}
	params[n] = OSSL_PARAM_construct_end();

	ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, selection, params) != 1)
		pkey = NULL;
	EVP_PKEY_CTX_free(ctx);
	OPENSSL_cleanse(native, sizeof(native));
	return pkey;
}

int crypto_ec_generate(uint8_t priv[CRYPTO_EC_PRIV_LEN],
		       uint8_t pub[CRYPTO_EC_PUB_LEN])
{
	EVP_PKEY *pkey;
	BIGNUM *d = NULL;
	size_t publen = 0;
	int rc = -1;

	pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", P256_GROUP_NAME);
	if (pkey == NULL)
		return -1;
	if (EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY, &d) != 1)
		goto out;
	if (BN_bn2binpad(d, priv, CRYPTO_EC_PRIV_LEN) != CRYPTO_EC_PRIV_LEN)
		goto out;
	/* OpenSSL's default point format is uncompressed; check it anyway,
	 * the header promises 04 || X || Y. */
	if (EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, pub,
					    CRYPTO_EC_PUB_LEN, &publen) != 1 ||
	    publen != CRYPTO_EC_PUB_LEN || pub[0] != 0x04)
		goto out;
	rc = 0;
out:
	BN_clear_free(d);
	EVP_PKEY_free(pkey);
	if (rc != 0)
		OPENSSL_cleanse(priv, CRYPTO_EC_PRIV_LEN);
	return rc;
}

/*
 * OpenSSL 3.0 does not compute the public point when a key is imported with
 * only its private part, so multiply the generator here. EC_POINT_mul (the
 * single-point form; only EC_POINTs_mul is deprecated in 3.0) runs the
 * constant-time ladder for a generator-only product of a CONSTTIME scalar.
 */
int crypto_ec_public(const uint8_t priv[CRYPTO_EC_PRIV_LEN],
		     uint8_t pub[CRYPTO_EC_PUB_LEN])
{
	EC_GROUP *group = NULL;
	EC_POINT *point = NULL;
	BN_CTX *bnctx = NULL;
	BIGNUM *d = NULL;
	int rc = -1;

	if (priv == NULL || pub == NULL || !scalar_in_range(priv))
		return -1;
	group = EC_GROUP_new_by_curve_name_ex(NULL, NULL, NID_X9_62_prime256v1);
	bnctx = BN_CTX_secure_new();
	d = BN_secure_new();
	if (group == NULL || bnctx == NULL || d == NULL)
		goto out;
	BN_set_flags(d, BN_FLG_CONSTTIME);
	if (BN_bin2bn(priv, CRYPTO_EC_PRIV_LEN, d) == NULL)
		goto out;
	point = EC_POINT_new(group);
	if (point == NULL)
		goto out;
	if (EC_POINT_mul(group, point, d, NULL, NULL, bnctx) != 1)
		goto out;
	if (EC_POINT_point2oct(group, point, POINT_CONVERSION_UNCOMPRESSED,
			       pub, CRYPTO_EC_PUB_LEN, bnctx) !=
	    CRYPTO_EC_PUB_LEN)
		goto out;
	rc = 0;
out:
	/* The point is public, but its intermediate values are not. */
	EC_POINT_clear_free(point);
	BN_clear_free(d);
	BN_CTX_free(bnctx);
	EC_GROUP_free(group);
	return rc;
}

int crypto_ecdsa_sign(const uint8_t priv[CRYPTO_EC_PRIV_LEN],
		      const void *msg, size_t len,
		      uint8_t sig[CRYPTO_EC_SIG_LEN])
{
	uint8_t pub[CRYPTO_EC_PUB_LEN];
	uint8_t der[80];	/* a P-256 DER signature is at most 72 bytes */
	size_t derlen = sizeof(der);
	const unsigned char *p = der;
	EVP_PKEY *pkey = NULL;
	EVP_MD_CTX *md = NULL;
	ECDSA_SIG *es = NULL;
	const BIGNUM *r, *s;
	int rc = -1;

	if (sig == NULL)
		return -1;
	/*
	 * crypto_ec_public also rejects a scalar out of range. The key given
	 * to OpenSSL carries its public point so that it is a whole key pair,
	 * not a half-populated one some provider code paths may trip on.
	 */
	if (crypto_ec_public(priv, pub) != 0)
		return -1;
	pkey = ec_pkey(priv, pub);
	md = EVP_MD_CTX_new();
	if (pkey == NULL || md == NULL)
		goto out;
	if (EVP_DigestSignInit_ex(md, NULL, "SHA2-256", NULL, NULL, pkey,
				  NULL) != 1)
		goto out;
	if (EVP_DigestSign(md, der, &derlen, or_empty(msg), len) != 1)
		goto out;
	es = d2i_ECDSA_SIG(NULL, &p, (long)derlen);
	if (es == NULL)
		goto out;
	ECDSA_SIG_get0(es, &r, &s);
	/* Fixed-width r || s: each left-padded with zeros to 32 bytes. */
	if (BN_bn2binpad(r, sig, 32) != 32 ||
	    BN_bn2binpad(s, sig + 32, 32) != 32)
		goto out;
	rc = 0;
out:
	ECDSA_SIG_free(es);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pkey);
	if (rc != 0)
		OPENSSL_cleanse(sig, CRYPTO_EC_SIG_LEN);
	return rc;
}

/*
 * A verifier keeps its key and a context set up for ECDSA verification of
 * a SHA-256 digest, so that checking many signatures of one key costs the
 * curve arithmetic and little else (OpenSSL 3 looks its algorithms up
 * anew for every context it makes).
 */
struct crypto_ec_verifier {
	EVP_PKEY *pkey;
	EVP_PKEY_CTX *ctx;
};

struct crypto_ec_verifier *crypto_ec_verifier_new(const uint8_t pub[CRYPTO_EC_PUB_LEN])
{
	struct crypto_ec_verifier *v;

	if (pub == NULL || pub[0] != 0x04)
		return NULL;
	v = OPENSSL_zalloc(sizeof(*v));
	if (v == NULL)
		return NULL;
	ERR_set_mark();
	v->pkey = ec_pkey(NULL, pub);
	if (v->pkey != NULL)
		v->ctx = EVP_PKEY_CTX_new_from_pkey(NULL, v->pkey, NULL);
	if (v->ctx == NULL || EVP_PKEY_verify_init(v->ctx) != 1) {
		ERR_pop_to_mark();
		crypto_ec_verifier_free(v);
		return NULL;
	}
	ERR_pop_to_mark();
	return v;
}

void crypto_ec_verifier_free(struct crypto_ec_verifier *v)
{
	if (v == NULL)
		return;
	EVP_PKEY_CTX_free(v->ctx);
	EVP_PKEY_free(v->pkey);
	OPENSSL_free(v);
}

/* One DER INTEGER of a 32-byte big-endian unsigned value. */
static size_t der_integer(const uint8_t v[32], uint8_t *out)
{
	size_t skip = 0;

	while (skip < 31 && v[skip] == 0)
		skip++;
	size_t n = 32 - skip, pad = v[skip] & 0x80 ? 1 : 0;
	out[0] = 0x02;
	out[1] = (uint8_t)(n + pad);
	out[2] = 0x00;
	memcpy(out + 2 + pad, v + skip, n);
	return 2 + pad + n;
}

int crypto_ec_verifier_check(struct crypto_ec_verifier *v, const void *msg, size_t len,
			     const uint8_t sig[CRYPTO_EC_SIG_LEN])
{
	uint8_t digest[CRYPTO_SHA256_LEN], der[2 + 2 * 35];
	int rc;

	if (v == NULL || sig == NULL)
		return -1;
	/* Out-of-range r or s are simply invalid signatures. */
	if (!scalar_in_range(sig) || !scalar_in_range(sig + 32))
		return 0;
	if (crypto_sha256(msg, len, digest) != 0)
		return -1;
	size_t n = der_integer(sig, der + 2);
	n += der_integer(sig + 32, der + 2 + n);
	der[0] = 0x30;
	der[1] = (uint8_t)n;
	/* Whatever OpenSSL queues while rejecting a signature is not an
	 * error of ours: the mark lets us drop exactly that. */
	ERR_set_mark();
	switch (EVP_PKEY_verify(v->ctx, der, n + 2, digest, sizeof(digest))) {
	case 1:
		rc = 1;
		break;
	case 0:
		rc = 0;
		break;
	default:
		rc = -1;
		break;
	}
	if (rc >= 0)
		ERR_pop_to_mark();
	else
		ERR_clear_last_mark();
	return rc;
}

int crypto_ecdsa_verify(const uint8_t pub[CRYPTO_EC_PUB_LEN],
			const void *msg, size_t len,
			const uint8_t sig[CRYPTO_EC_SIG_LEN])
{
	if (pub == NULL || sig == NULL)
		return -1;
	/* A key that is not a point on P-256 verifies nothing. */
	struct crypto_ec_verifier *v = crypto_ec_verifier_new(pub);
	if (v == NULL)
		return 0;
	int rc = crypto_ec_verifier_check(v, msg, len, sig);
	crypto_ec_verifier_free(v);
	return rc;
}

/* ---- CRC-32 ---- */

/*
 * Reflected CRC-32, polynomial 0xEDB88320, four bits at a time: a 16-entry
 * table is small enough to write out and needs no run-time initialisation.
 * Entry i is the CRC register after shifting the nibble i through 4 steps.
 */
static const uint32_t crc32_nibble[16] = {
	0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac,
	0x76dc4190, 0x6b6b51f4, 0x4db26158, 0x5005713c,
	0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c,
	0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c,
};

uint32_t crypto_crc32(uint32_t crc, const void *data, size_t len)
{
	const uint8_t *p = data;

	/* The pre- and post-inversion live here, so a caller chains blocks
	 * by passing the previous result, starting from 0. */
	crc = ~crc;
	for (size_t i = 0; i < len; i++) {
		crc ^= p[i];
		crc = (crc >> 4) ^ crc32_nibble[crc & 15];
		crc = (crc >> 4) ^ crc32_nibble[crc & 15];
	}
	return ~crc;
}
