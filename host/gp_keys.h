/*
 * gp_keys.h - GlobalPlatform static key sets on the host: the card's ENC,
 * MAC and DEK keys, their key check values, and the diversification of
 * issuer master keys into one card's keys from the key diversification
 * data (KDD, the first 10 bytes of the INITIALIZE UPDATE answer).
 *
 * Diversification, with id = 01 (ENC), 02 (MAC) or 03 (DEK) and the KDD
 * bytes kdd[0..9]; the names are those GlobalPlatformPro uses:
 *
 *   EMV (EMV CPS / GP "CPG 2.0.4" style), two-key triple DES master keys:
 *     data = kdd[4..9] || F0 || id || kdd[4..9] || 0F || id      (16 bytes)
 *     key  = 3DES-ECB(master, data)
 *   VISA2, two-key triple DES master keys:
 *     data = kdd[0..1] || kdd[4..7] || F0 || id ||
 *            kdd[0..1] || kdd[4..7] || 0F || id                  (16 bytes)
 *     key  = 3DES-ECB(master, data)
 *   KDF3, AES-128/192/256 master keys (SP 800-108 counter mode with
 *   AES-CMAC, one-byte counter first):
 *     block j (j = 1, 2) = AES-CMAC(master, j || 00 00 00 || id || 00 || kdd[0..9])
 *     key  = the first len(master) bytes of block 1 || block 2
 *
 * The three keys of a set are each diversified from the matching master key
 * (one master key for all three: pass it three times).
 */
#ifndef ECARD_GP_KEYS_H
#define ECARD_GP_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define EC_GP_KEY_MAX 32
#define EC_GP_KDD_LEN 10
#define EC_GP_KCV_LEN 3

/* Key identifiers as diversification uses them. */
#define EC_GP_KEY_ID_ENC 0x01
#define EC_GP_KEY_ID_MAC 0x02
#define EC_GP_KEY_ID_DEK 0x03

/* A static key set: 16-byte triple DES keys for SCP02, AES for SCP03. */
struct ec_gp_keys {
	uint8_t enc[EC_GP_KEY_MAX];
	uint8_t mac[EC_GP_KEY_MAX];
	uint8_t dek[EC_GP_KEY_MAX];
	size_t len;		/* 16, 24 or 32, the same for all three */
	uint8_t kvn;		/* key version number, 0 = the card's choice */
};

enum ec_gp_kdf {
	EC_GP_KDF_NONE = 0,	/* the keys are the card's own */
	EC_GP_KDF_EMV,
	EC_GP_KDF_VISA2,
	EC_GP_KDF_KDF3,
};

/* GlobalPlatform's default test key set: 40 41 .. 4F for all three keys. */
void ec_gp_default_keys(struct ec_gp_keys *keys, uint8_t kvn);

/* Fill keys with one key (len 16, 24 or 32) for ENC, MAC and DEK. */
enum ec_status ec_gp_keys_from_master(struct ec_gp_keys *keys, const uint8_t *key,
				      size_t len, uint8_t kvn);

/*
 * Diversify one master key. EMV and VISA2 need a 16-byte key, KDF3 a 16, 24
 * or 32-byte one; out gets as many bytes as the master key has. EC_ERR_ARG
 * for a key length the method does not take, or EC_GP_KDF_NONE.
 */
enum ec_status ec_gp_diversify_key(enum ec_gp_kdf kdf, const uint8_t *master,
				   size_t len, uint8_t key_id,
				   const uint8_t kdd[EC_GP_KDD_LEN], uint8_t *out);

/* Diversify a whole set; out->kvn is master->kvn. out may be master.
 * EC_GP_KDF_NONE copies the set. */
enum ec_status ec_gp_diversify(enum ec_gp_kdf kdf, const struct ec_gp_keys *master,
			       const uint8_t kdd[EC_GP_KDD_LEN], struct ec_gp_keys *out);

/*
 * Key check values: triple DES (16 bytes) encrypts 8 zero bytes, AES
 * (16/24/32) encrypts 16 bytes of 01; the KCV is the first 3 bytes.
 */
enum ec_status ec_gp_kcv_des3(const uint8_t key[16], uint8_t out[EC_GP_KCV_LEN]);
enum ec_status ec_gp_kcv_aes(const uint8_t *key, size_t len, uint8_t out[EC_GP_KCV_LEN]);

/* "none", "emv", "visa2", "kdf3" <-> enum; parse returns -1 when unknown. */
const char *ec_gp_kdf_name(enum ec_gp_kdf kdf);
int ec_gp_kdf_parse(const char *name, enum ec_gp_kdf *out);

/* Erase a key set. */
void ec_gp_keys_wipe(struct ec_gp_keys *keys);

#endif
