/*
 * issuer.h - the card issuer's keys and its steps in the purse protocols
 * (DESIGN §2.1), as plain functions without card I/O: the `ecard` command
 * line calls them in offline mode today, the issuer server will call the
 * same ones later. The key directory is issuer_keys.c, the protocol steps
 * issuer.c; issuing a card (personalization) is perso.h.
 *
 * An issuer key directory, made by ec_issuer_init(), mode 0700:
 *
 *   master.key   secret (0600): master_load_key=<32 bytes hex>
 *                K_load of every card is derived from it and the card serial
 *   ca.key       secret (0600): ca_private_key=<32 bytes hex>
 *                               ca_public_key=<65 bytes hex>
 *                the CA that certifies card and merchant keys
 *   ca.pub       public (0644): ca_public_key=<65 bytes hex>
 *                hand this to merchants and verifiers
 *   isd.key      secret (0600): isd_master_enc=, isd_master_mac=,
 *                isd_master_dek=<16 bytes hex each>
 *                the card managers' master keys: issuance replaces each
 *                card's test keys with these, diversified with KDF3 from
 *                the card's key diversification data (its serial), at key
 *                version EC_ISSUER_ISD_KVN; whoever holds the directory
 *                manages the cards (ecard gp --issuer DIR)
 *   issuer.conf  public (0644): currency=<ISO 4217 numeric, decimal>
 *                               max_balance=<minor units, decimal>
 *
 * The issuer's part of a load: the card's INITIALIZE LOAD answer carries
 * S1, which only a card holding K_load can make; the issuer checks it and
 * answers S2, the authorisation the card's CREDIT needs; the card's CREDIT
 * answer carries S3, its receipt.
 *
 * struct ec_issuer holds secrets: ec_issuer_wipe() it when done.
 */
#ifndef ECARD_ISSUER_H
#define ECARD_ISSUER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "error.h"
#include "gp_keys.h"
#include "purse.h"
#include "wallet_proto.h"	/* the answers parsed here */

#define EC_ISSUER_MASTER_FILE "master.key"
#define EC_ISSUER_CA_KEY_FILE "ca.key"
#define EC_ISSUER_CA_PUB_FILE "ca.pub"
#define EC_ISSUER_CONF_FILE "issuer.conf"
#define EC_ISSUER_ISD_FILE "isd.key"

/* The key version of the card manager keys issuance puts on a card. */
#define EC_ISSUER_ISD_KVN 0x01

struct ec_issuer {
	uint8_t master_key[PURSE_MASTER_KEY_LEN];
	uint8_t ca_priv[CRYPTO_EC_PRIV_LEN];
	uint8_t ca_pub[CRYPTO_EC_PUB_LEN];
	uint16_t currency;	/* ISO 4217 numeric */
	uint32_t max_balance;	/* minor units */
	struct ec_gp_keys isd_master;	/* kvn EC_ISSUER_ISD_KVN */
};

/*
 * Create an issuer key directory with fresh keys. dir must not exist, or be
 * an empty directory of the caller's (its mode is then set to 0700); a
 * directory with anything in it gives EC_ERR_EXISTS and is left alone.
 * currency must be one amount.h knows; max_balance must not be 0.
 */
enum ec_status ec_issuer_init(const char *dir, uint16_t currency, uint32_t max_balance,
			      struct ec_error *err);

/* Read the whole directory, checking that the CA's private and public
 * keys belong together and that secrets are readable by the owner only. */
enum ec_status ec_issuer_load(const char *dir, struct ec_issuer *issuer, struct ec_error *err);

/* Read only ca.pub, which is all a verifier needs. */
enum ec_status ec_issuer_load_ca_public(const char *dir, uint8_t ca_pub[CRYPTO_EC_PUB_LEN],
					struct ec_error *err);

void ec_issuer_wipe(struct ec_issuer *issuer);

/*
 * The issuer's step of a load: parse the card's INITIALIZE LOAD answer
 * (WALLET_INIT_LOAD_RESPONSE_LEN bytes), derive the card's K_load, check S1 in
 * constant time and compute S2 for amount. A forged or altered answer, or
 * one for another amount, gives EC_ERR_CHECK and no S2; a load that would
 * take the balance above the issuer's maximum gives EC_ERR_CHECK too. On
 * success *load describes the load (needed to check S3).
 */
enum ec_status ec_issuer_authorize_load(const struct ec_issuer *issuer, const uint8_t *response,
					size_t response_len, uint32_t amount,
					struct purse_load *load, uint8_t s2[PURSE_MAC_LEN],
					struct ec_error *err);

/*
 * Check the card's receipt for load: response is CREDIT's answer (or GET
 * LAST TRANSACTION's for a load), WALLET_CREDIT_RESPONSE_LEN bytes. S3 must be
 * the card's MAC over the new counter, the amount and the new balance, and
 * the new counter must come after the load's. Fills the new counter and
 * balance (either pointer may be NULL).
 */
enum ec_status ec_issuer_check_s3(const struct ec_issuer *issuer, const struct purse_load *load,
				  const uint8_t *response, size_t response_len,
				  uint32_t *new_counter, uint32_t *new_balance,
				  struct ec_error *err);

/*
 * One card's card manager keys: the issuer's master keys diversified with
 * KDF3 from the card's key diversification data (INITIALIZE UPDATE's first
 * 10 bytes), at key version EC_ISSUER_ISD_KVN. out holds secrets.
 */
enum ec_status ec_issuer_card_keys(const struct ec_issuer *issuer,
				   const uint8_t kdd[EC_GP_KDD_LEN], struct ec_gp_keys *out,
				   struct ec_error *err);

/* Certify a merchant's public key: cert = id || pub || CA signature. */
enum ec_status ec_issuer_sign_merchant(const struct ec_issuer *issuer,
				       const uint8_t id[PURSE_ID_LEN],
				       const uint8_t pub[CRYPTO_EC_PUB_LEN],
				       uint8_t cert[PURSE_CERT_LEN], struct ec_error *err);

#endif
