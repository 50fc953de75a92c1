/*
 * crypto.h - the one crypto module of ecard, a thin layer over OpenSSL 3 EVP.
 *
 * Card and host code call only these functions: no other file includes an
 * OpenSSL header. Buffers are caller-owned, sizes are explicit, nothing is
 * allocated that outlives a call. Every function returns 0 on success and
 * -1 on failure (bad key length, provider error), except where stated.
 */
#ifndef ECARD_CRYPTO_H
#define ECARD_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CRYPTO_AES_BLOCK 16
#define CRYPTO_SHA256_LEN 32
#define CRYPTO_EC_PRIV_LEN 32	/* P-256 private scalar, big-endian */
#define CRYPTO_EC_PUB_LEN 65	/* uncompressed point 04 || X || Y */
#define CRYPTO_EC_SIG_LEN 64	/* r || s, 32 bytes each, big-endian */

/* CSPRNG (OpenSSL's DRBG). */
int crypto_random(void *buf, size_t len);

/* Constant-time equality of two secrets of the same length. */
bool crypto_equal(const void *a, const void *b, size_t len);
/* Erase a secret in a way the compiler cannot drop. */
void crypto_wipe(void *buf, size_t len);

int crypto_sha256(const void *msg, size_t len, uint8_t out[CRYPTO_SHA256_LEN]);

/*
 * AES with 16, 24 or 32 byte keys, no padding: len must be a multiple of 16.
 * in and out may be the same buffer.
 */
int crypto_aes_ecb_encrypt(const uint8_t *key, size_t keylen,
			   const uint8_t *in, size_t len, uint8_t *out);
int crypto_aes_ecb_decrypt(const uint8_t *key, size_t keylen,
			   const uint8_t *in, size_t len, uint8_t *out);
int crypto_aes_cbc_encrypt(const uint8_t *key, size_t keylen,
			   const uint8_t iv[CRYPTO_AES_BLOCK],
			   const uint8_t *in, size_t len, uint8_t *out);
int crypto_aes_cbc_decrypt(const uint8_t *key, size_t keylen,
			   const uint8_t iv[CRYPTO_AES_BLOCK],
			   const uint8_t *in, size_t len, uint8_t *out);

/*
 * Triple DES (TDEA, SP 800-67) in encrypt-decrypt-encrypt form, no padding:
 * len must be a multiple of 8. keylen is 16 (two-key K1 || K2, as
 * GlobalPlatform SCP02 and EMV use it) or 24 (three keys). Single DES is
 * only in OpenSSL's legacy provider; a caller that needs one DES step with
 * key K passes K || K, which EDE reduces to DES under K. in and out may be
 * the same buffer.
 */
#define CRYPTO_DES_BLOCK 8

int crypto_des3_ecb_encrypt(const uint8_t *key, size_t keylen,
			    const uint8_t *in, size_t len, uint8_t *out);
int crypto_des3_ecb_decrypt(const uint8_t *key, size_t keylen,
			    const uint8_t *in, size_t len, uint8_t *out);
int crypto_des3_cbc_encrypt(const uint8_t *key, size_t keylen,
			    const uint8_t iv[CRYPTO_DES_BLOCK],
			    const uint8_t *in, size_t len, uint8_t *out);
int crypto_des3_cbc_decrypt(const uint8_t *key, size_t keylen,
			    const uint8_t iv[CRYPTO_DES_BLOCK],
			    const uint8_t *in, size_t len, uint8_t *out);

/* AES-CMAC (NIST SP 800-38B), full 16-byte tag. */
int crypto_aes_cmac(const uint8_t *key, size_t keylen,
		    const void *msg, size_t len, uint8_t mac[CRYPTO_AES_BLOCK]);

/*
 * NIST SP 800-108 KDF in counter mode with AES-CMAC as PRF, the fixed input
 * being  i(4 bytes) || label || 00 || context || L(4 bytes, bits),
 * i.e. OpenSSL's KBKDF with its defaults. outlen bytes are derived.
 */
int crypto_kdf_ctr_cmac(const uint8_t *key, size_t keylen,
			const void *label, size_t labellen,
			const void *context, size_t contextlen,
			uint8_t *out, size_t outlen);

/* ECDSA over P-256 with SHA-256. */
int crypto_ec_generate(uint8_t priv[CRYPTO_EC_PRIV_LEN],
		       uint8_t pub[CRYPTO_EC_PUB_LEN]);
/* Derive the public point of a private scalar (checks the scalar's range). */
int crypto_ec_public(const uint8_t priv[CRYPTO_EC_PRIV_LEN],
		     uint8_t pub[CRYPTO_EC_PUB_LEN]);
int crypto_ecdsa_sign(const uint8_t priv[CRYPTO_EC_PRIV_LEN],
		      const void *msg, size_t len,
		      uint8_t sig[CRYPTO_EC_SIG_LEN]);
/* 1 when the signature is valid, 0 when it is not (or the key is not a
 * point on the curve), -1 on an internal error. */
int crypto_ecdsa_verify(const uint8_t pub[CRYPTO_EC_PUB_LEN],
			const void *msg, size_t len,
			const uint8_t sig[CRYPTO_EC_SIG_LEN]);

/*
 * One public key, made ready to check many signatures (a card's records):
 * NULL when pub is not an uncompressed point on P-256 (or out of memory).
 * A verifier is used by one thread at a time.
 */
struct crypto_ec_verifier;
struct crypto_ec_verifier *crypto_ec_verifier_new(const uint8_t pub[CRYPTO_EC_PUB_LEN]);
/* As crypto_ecdsa_verify() with the verifier's key. */
int crypto_ec_verifier_check(struct crypto_ec_verifier *v, const void *msg, size_t len,
			     const uint8_t sig[CRYPTO_EC_SIG_LEN]);
void crypto_ec_verifier_free(struct crypto_ec_verifier *v);

/* CRC-32 (IEEE 802.3), used for integrity of journal records, not security. */
uint32_t crypto_crc32(uint32_t crc, const void *data, size_t len);

#endif
