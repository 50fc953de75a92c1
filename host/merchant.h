/*
 * merchant.h - the merchant's side of a purchase (DESIGN §2.1): a key pair
 * certified by the issuer, signed debit requests, and offline checks of
 * what the card signs back.
 *
 * The merchant file, made by ec_merchant_init(), is a secret key file
 * (mode 0600, see keyfile.h):
 *
 *   merchant_id=<8 bytes hex>
 *   private_key=<32 bytes hex>           the merchant's ECDSA P-256 key
 *   public_key=<65 bytes hex>
 *   certificate=<137 bytes hex>          id || public key || issuer CA signature
 *   issuer_ca_public_key=<65 bytes hex>  to check card certificates offline
 *   currency=<ISO 4217 numeric, decimal> the issuer's currency
 *
 * A payment needs no connection to the issuer: the card certificate is
 * checked against the issuer CA key in the file, and the card's signature
 * over the debit record against the certificate. The merchant keeps the
 * record, its signature and the card certificate for settlement.
 */
#ifndef ECARD_MERCHANT_H
#define ECARD_MERCHANT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "issuer.h"
#include "pcsc.h"
#include "pin_client.h"
#include "purse.h"
#include "wallet.h"

struct ec_merchant {
	uint8_t id[PURSE_ID_LEN];
	uint8_t priv[CRYPTO_EC_PRIV_LEN];
	uint8_t pub[CRYPTO_EC_PUB_LEN];
	uint8_t cert[PURSE_CERT_LEN];
	uint8_t ca_pub[CRYPTO_EC_PUB_LEN];
	uint16_t currency;
};

/* A verified purchase. */
struct ec_payment {
	struct purse_debit_record record;
	uint8_t record_bytes[PURSE_DEBIT_RECORD_LEN];
	uint8_t signature[CRYPTO_EC_SIG_LEN];	/* the card's, over "EDEB" || record */
	uint8_t card_cert[PURSE_CERT_LEN];
	uint32_t balance_before;	/* from GET PURSE DATA before the debit */
	bool recovered;		/* DEBIT's answer was lost; GET LAST TRANSACTION gave it */
};

/*
 * Make a merchant: a fresh key pair, its certificate from the issuer's
 * CA, written with the CA public key and the currency to path (which must
 * not exist).
 */
enum ec_status ec_merchant_init(const struct ec_issuer *issuer, const uint8_t id[PURSE_ID_LEN],
				const char *path, struct ec_error *err);

/* Read a merchant file, checking that the certificate is the CA's, names
 * the merchant's id and key, and that the key pair belongs together. */
enum ec_status ec_merchant_load(const char *path, struct ec_merchant *merchant,
				struct ec_error *err);

void ec_merchant_wipe(struct ec_merchant *merchant);

/*
 * Take a payment of amount (minor units of currency) from the card:
 *   SELECT wallet, GET PURSE DATA (currency, serial, balance),
 *   GET CARD CERTIFICATE (checked against the issuer CA),
 *   a debit request with a fresh random challenge, signed,
 *   VERIFY with the PIN from get_pin, right before
 *   DEBIT,
 * then the offline checks: the card's signature over the record under its
 * certified key, and the record's amount, currency, merchant id, challenge
 * and serial equal to what was asked.
 *
 * When DEBIT's answer is lost (the transport fails, or the answer is cut
 * short), the card is reached again (ec_wallet_reselect) and asked for its
 * last debit (GET LAST TRANSACTION P1 00). A record carrying this
 * payment's challenge means the card was debited: it is checked and
 * returned with recovered set. Any other answer means it was not:
 * EC_ERR_NOT_DONE, and DEBIT is never sent a second time; running the
 * payment again is safe. Card refusals give EC_ERR_CARD (6400: not enough
 * money), failed checks EC_ERR_CHECK.
 */
/*
 * The offline checks of DEBIT's answer (record || signature, len bytes)
 * to req, sent to the card of that serial whose certificate, checked
 * against the CA already, is in res->card_cert: the card's signature under
 * its certified key, and every field as requested. On EC_OK res holds the
 * record and signature. EC_ERR_FORMAT, EC_ERR_CHECK otherwise.
 */
enum ec_status ec_merchant_check_debit(const struct ec_merchant *m,
				      const uint8_t serial[PURSE_SERIAL_LEN],
				      const struct purse_debit_request *req, const uint8_t *answer,
				      size_t len, struct ec_payment *res, struct ec_error *err);

enum ec_status ec_merchant_pay(const struct ec_merchant *merchant, struct ec_pcsc *pc,
			       uint32_t amount, uint16_t currency, ec_pin_fn get_pin,
			       void *pin_arg, struct ec_payment *result, struct ec_error *err);

#endif
