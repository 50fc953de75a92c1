/*
 * issuer.c - the issuer's steps in the purse protocols (see issuer.h): it
 * authorises a load (checks S1, answers S2), checks the card's receipt
 * (S3) and certifies merchants. Pure functions of the issuer's keys and
 * the card's bytes: no card I/O, so the issuer server calls them as they
 * are.
 *
 * Every MAC and signature comes from common/purse.c, the code the card
 * runs too, so the two sides cannot drift apart. K_load is wiped before
 * every return that saw it.
 */
#include "issuer.h"

#include <string.h>

#include "amount.h"
#include "cursor.h"

enum ec_status ec_issuer_authorize_load(const struct ec_issuer *issuer, const uint8_t *response,
					size_t response_len, uint32_t amount,
					struct purse_load *load, uint8_t s2[PURSE_MAC_LEN],
					struct ec_error *err)
{
	uint8_t s1[PURSE_MAC_LEN], expected[PURSE_MAC_LEN], kload[PURSE_KEY_LEN];
	char text[EC_AMOUNT_TEXT_MAX], max_text[EC_AMOUNT_TEXT_MAX];
	struct purse_load l;
	struct cursor c;
	enum ec_status st = EC_OK;

	if (!issuer || !response || !load || !s2)
		return ec_error_set(err, EC_ERR_ARG, "ec_issuer_authorize_load was called without its arguments.");
	if (amount == 0)
		return ec_error_set(err, EC_ERR_ARG, "the amount to load must be more than zero.");

	memset(&l, 0, sizeof(l));
	cursor_init(&c, response, response_len);
	cursor_copy(&c, l.challenge, PURSE_CHALLENGE_LEN);
	cursor_copy(&c, l.serial, PURSE_SERIAL_LEN);
	cursor_u32(&c, &l.counter);
	cursor_u32(&c, &l.balance);
	cursor_copy(&c, s1, PURSE_MAC_LEN);
	if (!cursor_done(&c))
		return ec_error_set(err, EC_ERR_FORMAT,
				    "the INITIALIZE LOAD answer has %zu bytes instead of %d (challenge, serial, counter, balance, S1): give the card's whole answer.",
				    response_len, WALLET_INIT_LOAD_RESPONSE_LEN);
	l.amount = amount;

	if (purse_derive_kload(issuer->master_key, l.serial, kload) != 0 ||
	    purse_s1(kload, &l, expected) != 0) {
		st = ec_error_set(err, EC_ERR_CRYPTO, "computing the card's MAC failed: check the OpenSSL installation.");
		goto out;
	}
	if (!crypto_equal(s1, expected, PURSE_MAC_LEN)) {
		st = ec_error_set(err, EC_ERR_CHECK,
				  "S1 does not verify: the INITIALIZE LOAD answer was not made by a card of this issuer for %s, or was altered; no authorisation was given.",
				  ec_amount_format(amount, issuer->currency, text, sizeof(text)));
		goto out;
	}
	if ((uint64_t)l.balance + amount > issuer->max_balance) {
		st = ec_error_set(err, EC_ERR_CHECK,
				  "loading %s would take the balance above the issuer's maximum of %s: load less.",
				  ec_amount_format(amount, issuer->currency, text, sizeof(text)),
				  ec_amount_format(issuer->max_balance, issuer->currency, max_text,
						   sizeof(max_text)));
		goto out;
	}
	if (purse_s2(kload, &l, s2) != 0) {
		st = ec_error_set(err, EC_ERR_CRYPTO, "computing S2 failed: check the OpenSSL installation.");
		goto out;
	}
	*load = l;

out:
	crypto_wipe(kload, sizeof(kload));
	crypto_wipe(expected, sizeof(expected));
	return st;
}

enum ec_status ec_issuer_check_s3(const struct ec_issuer *issuer, const struct purse_load *load,
				  const uint8_t *response, size_t response_len,
				  uint32_t *new_counter, uint32_t *new_balance,
				  struct ec_error *err)
{
	uint8_t s3[PURSE_MAC_LEN], expected[PURSE_MAC_LEN], kload[PURSE_KEY_LEN];
	uint32_t counter = 0, balance = 0;
	struct cursor c;
	enum ec_status st = EC_OK;

	cursor_init(&c, response, response_len);
	cursor_u32(&c, &counter);
	cursor_u32(&c, &balance);
	cursor_copy(&c, s3, PURSE_MAC_LEN);
	if (!cursor_done(&c))
		return ec_error_set(err, EC_ERR_FORMAT,
				    "the card's load receipt has %zu bytes instead of %d (counter, balance, S3).",
				    response_len, WALLET_CREDIT_RESPONSE_LEN);

	if (purse_derive_kload(issuer->master_key, load->serial, kload) != 0 ||
	    purse_s3(kload, load->serial, counter, load->amount, balance, expected) != 0) {
		st = ec_error_set(err, EC_ERR_CRYPTO, "computing S3 failed: check the OpenSSL installation.");
		goto out;
	}
	if (!crypto_equal(s3, expected, PURSE_MAC_LEN)) {
		st = ec_error_set(err, EC_ERR_CHECK,
				  "the card's load receipt (S3) does not verify: it was not made by this card for this load.");
		goto out;
	}
	/* S3 has no challenge: only a counter past the load's tells this
	 * receipt from the one of an earlier load of the same amount. */
	if (counter <= load->counter) {
		st = ec_error_set(err, EC_ERR_CHECK,
				  "the card's load receipt is for an earlier load (counter %lu, this load started at %lu).",
				  (unsigned long)counter, (unsigned long)load->counter);
		goto out;
	}
	if (new_counter)
		*new_counter = counter;
	if (new_balance)
		*new_balance = balance;

out:
	crypto_wipe(kload, sizeof(kload));
	crypto_wipe(expected, sizeof(expected));
	return st;
}

enum ec_status ec_issuer_card_keys(const struct ec_issuer *issuer,
				   const uint8_t kdd[EC_GP_KDD_LEN], struct ec_gp_keys *out,
				   struct ec_error *err)
{
	if (ec_gp_diversify(EC_GP_KDF_KDF3, &issuer->isd_master, kdd, out) != EC_OK)
		return ec_error_set(err, EC_ERR_CRYPTO,
				    "deriving the card manager's keys failed: check the OpenSSL installation.");
	out->kvn = EC_ISSUER_ISD_KVN;
	return EC_OK;
}

enum ec_status ec_issuer_sign_merchant(const struct ec_issuer *issuer,
				       const uint8_t id[PURSE_ID_LEN],
				       const uint8_t pub[CRYPTO_EC_PUB_LEN],
				       uint8_t cert[PURSE_CERT_LEN], struct ec_error *err)
{
	if (purse_cert_make(issuer->ca_priv, PURSE_CERT_MERCHANT, id, pub, cert) != 0)
		return ec_error_set(err, EC_ERR_CRYPTO,
				    "signing the merchant certificate failed: check the OpenSSL installation.");
	return EC_OK;
}
