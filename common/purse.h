/*
 * purse.h - the electronic purse's cryptographic messages (DESIGN §2.1),
 * one implementation for the card (applet/wallet.c), the issuer and the
 * merchant (host/), so both sides compute the same bytes.
 *
 * All integers are big-endian. MACs are AES-CMAC with the card's K_load;
 * signatures are ECDSA P-256 / SHA-256 as r || s.
 *
 *   K_load = KDF(master load key, serial), SP 800-108 counter mode, CMAC,
 *            label "ECARD-LOAD", 16 bytes
 *   S1 = CMAC(K_load, "LREQ" || serial || counter || amount || challenge || balance)
 *   S2 = CMAC(K_load, "LAUT" || serial || counter || amount || challenge)
 *   S3 = CMAC(K_load, "LDON" || serial || new counter || amount || new balance)
 *   certificate = kind(1) || id(8) || public key(65)
 *                 || ECDSA_CA("ECRT" || kind || id || key)
 *                 kind 01 a card (id = its serial), 02 a merchant (id = its
 *                 merchant id); every use names the kind it takes, so a
 *                 merchant's key never passes for a card's
 *   seal = CMAC(K_load, "PSEL" || serial || CA public key || currency ||
 *               maximum balance || card certificate): the wallet's answer to
 *               the last block of its personalization, by which the issuer
 *               knows the card holds its K_load and exactly what it sent
 *   debit request = amount(4) || currency(2) || merchant id(8) || challenge(16)
 *                   || merchant certificate || ECDSA_merchant(first 30 bytes)
 *   debit record = serial(8) || counter(4) || amount(4) || currency(2)
 *                  || merchant id(8) || challenge(16) || balance after(4)
 *   record signature = ECDSA_card("EDEB" || record)
 */
#ifndef ECARD_PURSE_H
#define ECARD_PURSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto.h"

#define PURSE_SERIAL_LEN 8
#define PURSE_ID_LEN 8
#define PURSE_KEY_LEN 16		/* K_load */
#define PURSE_MASTER_KEY_LEN 32		/* issuer master load key (AES-256) */
#define PURSE_MAC_LEN 16
#define PURSE_CHALLENGE_LEN 16
#define PURSE_CERT_LEN (1 + PURSE_ID_LEN + CRYPTO_EC_PUB_LEN + CRYPTO_EC_SIG_LEN)

/* Where a certificate's id and key are. */
#define PURSE_CERT_ID_OFF 1
#define PURSE_CERT_PUB_OFF (PURSE_CERT_ID_OFF + PURSE_ID_LEN)

/* Certificate kinds. (The first version had none: a merchant could sign
 * "debit records" with its own key, and images of it are refused.) */
#define PURSE_CERT_CARD 0x01
#define PURSE_CERT_MERCHANT 0x02
#define PURSE_DEBIT_SIGNED_LEN 30
#define PURSE_DEBIT_REQUEST_LEN (PURSE_DEBIT_SIGNED_LEN + PURSE_CERT_LEN + CRYPTO_EC_SIG_LEN)
#define PURSE_DEBIT_RECORD_LEN 46

/* A load as both sides see it. */
struct purse_load {
	uint8_t serial[PURSE_SERIAL_LEN];
	uint32_t counter;	/* the card's counter at INITIALIZE LOAD */
	uint32_t amount;
	uint8_t challenge[PURSE_CHALLENGE_LEN];
	uint32_t balance;	/* the balance at INITIALIZE LOAD */
};

struct purse_debit_request {
	uint32_t amount;
	uint16_t currency;
	uint8_t merchant_id[PURSE_ID_LEN];
	uint8_t challenge[PURSE_CHALLENGE_LEN];
	uint8_t cert[PURSE_CERT_LEN];
	uint8_t signature[CRYPTO_EC_SIG_LEN];
};

struct purse_debit_record {
	uint8_t serial[PURSE_SERIAL_LEN];
	uint32_t counter;
	uint32_t amount;
	uint16_t currency;
	uint8_t merchant_id[PURSE_ID_LEN];
	uint8_t challenge[PURSE_CHALLENGE_LEN];
	uint32_t balance;
};

int purse_derive_kload(const uint8_t master[PURSE_MASTER_KEY_LEN],
		       const uint8_t serial[PURSE_SERIAL_LEN], uint8_t kload[PURSE_KEY_LEN]);

int purse_s1(const uint8_t kload[PURSE_KEY_LEN], const struct purse_load *l,
	     uint8_t mac[PURSE_MAC_LEN]);
int purse_s2(const uint8_t kload[PURSE_KEY_LEN], const struct purse_load *l,
	     uint8_t mac[PURSE_MAC_LEN]);
int purse_s3(const uint8_t kload[PURSE_KEY_LEN], const uint8_t serial[PURSE_SERIAL_LEN],
	     uint32_t new_counter, uint32_t amount, uint32_t new_balance,
	     uint8_t mac[PURSE_MAC_LEN]);

/* Certificates of a kind (PURSE_CERT_CARD, PURSE_CERT_MERCHANT); -1 for
 * another kind. */
int purse_cert_make(const uint8_t ca_priv[CRYPTO_EC_PRIV_LEN], uint8_t kind,
		    const uint8_t id[PURSE_ID_LEN], const uint8_t pub[CRYPTO_EC_PUB_LEN],
		    uint8_t cert[PURSE_CERT_LEN]);
/* 1 when the CA signed it as a certificate of this kind (and fills id and
 * pub when non-NULL), 0 when not. */
int purse_cert_check(const uint8_t ca_pub[CRYPTO_EC_PUB_LEN], uint8_t kind,
		     const uint8_t cert[PURSE_CERT_LEN], uint8_t id[PURSE_ID_LEN],
		     uint8_t pub[CRYPTO_EC_PUB_LEN]);

/* The personalization seal (above). */
int purse_perso_seal(const uint8_t kload[PURSE_KEY_LEN], const uint8_t serial[PURSE_SERIAL_LEN],
		     const uint8_t ca_pub[CRYPTO_EC_PUB_LEN], uint16_t currency,
		     uint32_t max_balance, const uint8_t cert[PURSE_CERT_LEN],
		     uint8_t mac[PURSE_MAC_LEN]);

/* Debit request: encode (signing with the merchant key) and decode. */
int purse_debit_request_make(const struct purse_debit_request *req_unsigned,
			     const uint8_t merchant_priv[CRYPTO_EC_PRIV_LEN],
			     uint8_t out[PURSE_DEBIT_REQUEST_LEN]);
bool purse_debit_request_parse(const uint8_t *buf, size_t len, struct purse_debit_request *req);
/* 1 when the certificate comes from the CA, names the request's merchant,
 * and the merchant signed the request; 0 otherwise. */
int purse_debit_request_check(const uint8_t ca_pub[CRYPTO_EC_PUB_LEN],
			      const struct purse_debit_request *req);

void purse_debit_record_encode(const struct purse_debit_record *r,
			       uint8_t out[PURSE_DEBIT_RECORD_LEN]);
bool purse_debit_record_parse(const uint8_t *buf, size_t len, struct purse_debit_record *r);
int purse_debit_record_sign(const uint8_t card_priv[CRYPTO_EC_PRIV_LEN],
			    const uint8_t record[PURSE_DEBIT_RECORD_LEN],
			    uint8_t sig[CRYPTO_EC_SIG_LEN]);
/* Offline check of a debit: the card certificate from the CA, its id the
 * record's serial, the signature by the card. 1 valid, 0 not. */
int purse_debit_record_check(const uint8_t ca_pub[CRYPTO_EC_PUB_LEN],
			     const uint8_t card_cert[PURSE_CERT_LEN],
			     const uint8_t record[PURSE_DEBIT_RECORD_LEN],
			     const uint8_t sig[CRYPTO_EC_SIG_LEN]);
/* The signature alone, under a card key known to be certified (a
 * certificate checked once for many records). 1 valid, 0 not. */
int purse_debit_record_verify(const uint8_t card_pub[CRYPTO_EC_PUB_LEN],
			      const uint8_t record[PURSE_DEBIT_RECORD_LEN],
			      const uint8_t sig[CRYPTO_EC_SIG_LEN]);
/* The same with a verifier of the card's key (crypto.h), for many records. */
int purse_debit_record_verify_with(struct crypto_ec_verifier *card,
				   const uint8_t record[PURSE_DEBIT_RECORD_LEN],
				   const uint8_t sig[CRYPTO_EC_SIG_LEN]);

#endif
