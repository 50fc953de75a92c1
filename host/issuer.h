/*
 * issuer.h - the card issuer's keys and its steps in the purse protocols
 * (DESIGN §2.1), as plain functions: the `ecard` command line calls them in
 * offline mode today, the issuer server will call the same ones later.
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

#include "gp_keys.h"
#include "gp_session.h"
#include "pcsc.h"
#include "purse.h"

#define EC_ISSUER_MASTER_FILE "master.key"
#define EC_ISSUER_CA_KEY_FILE "ca.key"
#define EC_ISSUER_CA_PUB_FILE "ca.pub"
#define EC_ISSUER_CONF_FILE "issuer.conf"

/* INITIALIZE LOAD's answer: challenge || serial || counter || balance || S1. */
#define EC_INIT_LOAD_RESPONSE_LEN (PURSE_CHALLENGE_LEN + PURSE_SERIAL_LEN + 4 + 4 + PURSE_MAC_LEN)
/* CREDIT's answer (and GET LAST TRANSACTION's for a load): counter || balance || S3. */
#define EC_CREDIT_RESPONSE_LEN (4 + 4 + PURSE_MAC_LEN)

struct ec_issuer {
	uint8_t master_key[PURSE_MASTER_KEY_LEN];
	uint8_t ca_priv[CRYPTO_EC_PRIV_LEN];
	uint8_t ca_pub[CRYPTO_EC_PUB_LEN];
	uint16_t currency;	/* ISO 4217 numeric */
	uint32_t max_balance;	/* minor units */
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
 * (EC_INIT_LOAD_RESPONSE_LEN bytes), derive the card's K_load, check S1 in
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
 * LAST TRANSACTION's for a load), EC_CREDIT_RESPONSE_LEN bytes. S3 must be
 * the card's MAC over the new counter, the amount and the new balance, and
 * the new counter must come after the load's. Fills the new counter and
 * balance (either pointer may be NULL).
 */
enum ec_status ec_issuer_check_s3(const struct ec_issuer *issuer, const struct purse_load *load,
				  const uint8_t *response, size_t response_len,
				  uint32_t *new_counter, uint32_t *new_balance,
				  struct ec_error *err);

/*
 * Factory personalization of a new card's wallet, in clear (DESIGN §2.1,
 * applets.h): SELECT the wallet, GENERATE KEY PAIR on the card, certify
 * the card's public key with the CA, then STORE DATA with K_load, the CA
 * public key, currency and maximum balance (P1 00), and STORE DATA with
 * the certificate (P1 80, the last block). serial (may be NULL) receives
 * the card's serial. A wallet that is personalized already refuses
 * (EC_ERR_CARD, SW 6985).
 */
enum ec_status ec_issuer_personalize(const struct ec_issuer *issuer, struct ec_pcsc *pc,
				     uint8_t serial[PURSE_SERIAL_LEN], struct ec_error *err);

/*
 * What the issuer writes into a new card's profile at personalization:
 * values[id - 1] is field id's initial value (UTF-8, at most
 * EC_PROFILE_VALUE_MAX bytes; NULL leaves the field empty), and with
 * set_policy the release policy of the general and the private fields
 * (EC_POLICY_*; without it the card keeps its defaults, never and always).
 * (wallet.h, which has the field table, includes this file: hence the
 * count of its own, which issuer.c checks against EC_PROFILE_FIELDS.)
 */
#define EC_ISSUER_PROFILE_FIELDS 11

struct ec_profile_init {
	const char *values[EC_ISSUER_PROFILE_FIELDS];
	bool set_policy;
	uint8_t general;
	uint8_t private_class;
};

/*
 * Personalization through the card manager (DESIGN §3), the way a card is
 * issued once it left the factory: SELECT the issuer security domain and
 * open an SCP03 secure channel with keys (gp NULL: the defaults with SCP03
 * at level 03, C-MAC and command encryption; gp->scp must be SCP03 or any,
 * which then means SCP03, and gp->level must include C-MAC; on
 * gp->channel, which the caller has opened when it is not 0). Then, in
 * the channel:
 *   INSTALL [for personalization] wallet,
 *   STORE DATA C0: the card generates its key pair, answers serial || key,
 *   STORE DATA P1 60: C1 K_load (derived from the serial), encrypted with
 *     the static DEK (AES-CBC, zero ICV, padded 80 00..),
 *   STORE DATA: C2 CA public key, C3 currency || maximum balance,
 *   STORE DATA P1 80 (last block): C4 the card certificate,
 *   INSTALL [for personalization] profile,
 *   STORE DATA: the initial fields and policy of initial (NULL: none),
 *     private fields (password, card number) in DEK-encrypted blocks, the
 *     last block with P1 bit 8, which closes the profile's personalization.
 * The serial in the card's C0 answer is trusted as it is: it came through
 * the authenticated channel, and the certificate binds it to the card's
 * key. serial (may be NULL) receives it. A wallet personalized already
 * refuses (EC_ERR_CARD, SW 6985) before anything was written. The session
 * is closed (and its keys wiped) on return.
 */
enum ec_status ec_issuer_personalize_gp(const struct ec_issuer *issuer, struct ec_pcsc *pc,
					const struct ec_gp_options *gp,
					const struct ec_gp_keys *keys,
					const struct ec_profile_init *initial,
					uint8_t serial[PURSE_SERIAL_LEN], struct ec_error *err);

/* Certify a merchant's public key: cert = id || pub || CA signature. */
enum ec_status ec_issuer_sign_merchant(const struct ec_issuer *issuer,
				       const uint8_t id[PURSE_ID_LEN],
				       const uint8_t pub[CRYPTO_EC_PUB_LEN],
				       uint8_t cert[PURSE_CERT_LEN], struct ec_error *err);

#endif
