/*
 * merchant.c - merchant key file and the merchant side of a purchase (see
 * merchant.h).
 *
 * The rule that shapes ec_merchant_pay(): DEBIT is sent once per call.
 * When its answer is lost, the card itself tells whether it was debited
 * (its last debit record carries the challenge of the request), so the
 * merchant never has to guess and the holder is never charged twice.
 */
#include "merchant.h"

#include <stdio.h>
#include <string.h>

#include "amount.h"
#include "cursor.h"
#include "exchange.h"
#include "hex.h"
#include "iso7816.h"
#include "keyfile.h"
#include "sw.h"

#define DEBIT_RESPONSE_LEN (PURSE_DEBIT_RECORD_LEN + CRYPTO_EC_SIG_LEN)

enum ec_status ec_merchant_init(const struct ec_issuer *issuer, const uint8_t id[PURSE_ID_LEN],
				const char *path, struct ec_error *err)
{
	struct ec_merchant m;
	struct ec_keyfile kf;
	char id_hex[2 * PURSE_ID_LEN + 1], line[128];

	if (!issuer || !id || !path || !*path)
		return ec_error_set(err, EC_ERR_ARG, "ec_merchant_init was called without its arguments.");
	memset(&m, 0, sizeof(m));
	memcpy(m.id, id, PURSE_ID_LEN);
	if (crypto_ec_generate(m.priv, m.pub) != 0) {
		ec_merchant_wipe(&m);
		return ec_error_set(err, EC_ERR_CRYPTO,
				    "generating the merchant key pair failed: check the OpenSSL installation.");
	}
	enum ec_status st = ec_issuer_sign_merchant(issuer, m.id, m.pub, m.cert, err);
	if (st != EC_OK) {
		ec_merchant_wipe(&m);
		return st;
	}

	hex_encode(id, PURSE_ID_LEN, id_hex);
	snprintf(line, sizeof(line), "ecard merchant %s: key pair and certificate from the issuer CA. Secret.",
		 id_hex);
	ec_keyfile_init(&kf);
	ec_keyfile_add_comment(&kf, line);
	ec_keyfile_add_hex(&kf, "merchant_id", m.id, PURSE_ID_LEN);
	ec_keyfile_add_hex(&kf, "private_key", m.priv, CRYPTO_EC_PRIV_LEN);
	ec_keyfile_add_hex(&kf, "public_key", m.pub, CRYPTO_EC_PUB_LEN);
	ec_keyfile_add_hex(&kf, "certificate", m.cert, PURSE_CERT_LEN);
	ec_keyfile_add_hex(&kf, "issuer_ca_public_key", issuer->ca_pub, CRYPTO_EC_PUB_LEN);
	ec_keyfile_add_u32(&kf, "currency", issuer->currency);
	st = ec_keyfile_write(&kf, path, EC_KEYFILE_SECRET, err);
	ec_keyfile_wipe(&kf);
	ec_merchant_wipe(&m);
	return st;
}

/* The certificate must be the CA's and name this merchant and key. */
static enum ec_status check_merchant(const char *path, const struct ec_merchant *m,
				     struct ec_error *err)
{
	uint8_t id[PURSE_ID_LEN], pub[CRYPTO_EC_PUB_LEN], derived[CRYPTO_EC_PUB_LEN];

	if (crypto_ec_public(m->priv, derived) != 0 ||
	    memcmp(derived, m->pub, CRYPTO_EC_PUB_LEN) != 0)
		return ec_error_set(err, EC_ERR_FORMAT,
				    "the private and public keys in %s do not belong together: the file is damaged, restore it from a backup.",
				    path);
	if (purse_cert_check(m->ca_pub, PURSE_CERT_MERCHANT, m->cert, id, pub) != 1)
		return ec_error_set(err, EC_ERR_CHECK,
				    "the certificate in %s is not signed by the issuer CA key in the same file: make the merchant file again with \"ecard merchant init\".",
				    path);
	if (memcmp(id, m->id, PURSE_ID_LEN) != 0 || memcmp(pub, m->pub, CRYPTO_EC_PUB_LEN) != 0)
		return ec_error_set(err, EC_ERR_CHECK,
				    "the certificate in %s is for another merchant id or key: make the merchant file again with \"ecard merchant init\".",
				    path);
	if (!ec_currency_by_numeric(m->currency))
		return ec_error_set(err, EC_ERR_FORMAT,
				    "%s names currency %u, which ecard does not know: the file is damaged.",
				    path, (unsigned)m->currency);
	return EC_OK;
}

enum ec_status ec_merchant_load(const char *path, struct ec_merchant *merchant,
				struct ec_error *err)
{
	struct ec_keyfile kf;
	uint32_t currency = 0;

	memset(merchant, 0, sizeof(*merchant));
	if (!path || !*path)
		return ec_error_set(err, EC_ERR_ARG, "no merchant file was given.");
	enum ec_status st = ec_keyfile_read(&kf, path, true, err);
	if (st == EC_OK)
		st = ec_keyfile_get_hex(&kf, path, "merchant_id", merchant->id, PURSE_ID_LEN, err);
	if (st == EC_OK)
		st = ec_keyfile_get_hex(&kf, path, "private_key", merchant->priv,
					CRYPTO_EC_PRIV_LEN, err);
	if (st == EC_OK)
		st = ec_keyfile_get_hex(&kf, path, "public_key", merchant->pub, CRYPTO_EC_PUB_LEN,
					err);
	if (st == EC_OK)
		st = ec_keyfile_get_hex(&kf, path, "certificate", merchant->cert, PURSE_CERT_LEN,
					err);
	if (st == EC_OK)
		st = ec_keyfile_get_hex(&kf, path, "issuer_ca_public_key", merchant->ca_pub,
					CRYPTO_EC_PUB_LEN, err);
	if (st == EC_OK)
		st = ec_keyfile_get_u32(&kf, path, "currency", &currency, err);
	ec_keyfile_wipe(&kf);
	if (st == EC_OK && currency > UINT16_MAX)
		st = ec_error_set(err, EC_ERR_FORMAT, "%s names currency %lu, which is not an ISO 4217 code: the file is damaged.",
				  path, (unsigned long)currency);
	if (st == EC_OK) {
		merchant->currency = (uint16_t)currency;
		st = check_merchant(path, merchant, err);
	}
	if (st != EC_OK)
		ec_merchant_wipe(merchant);
	return st;
}

void ec_merchant_wipe(struct ec_merchant *merchant)
{
	crypto_wipe(merchant, sizeof(*merchant));
}

/* Ask for the PIN and VERIFY it; the PIN text is wiped on every path. */
static enum ec_status verify_pin(struct ec_pcsc *pc, ec_pin_fn get_pin, void *pin_arg,
				 struct ec_error *err)
{
	char pin[EC_PIN_TEXT_MAX];
	enum ec_status st;

	if (!get_pin)
		return ec_error_set(err, EC_ERR_ARG, "a payment needs the holder's PIN, and no way to ask for it was given.");
	if (err) {
		err->status = EC_OK;
		err->text[0] = '\0';
	}
	memset(pin, 0, sizeof(pin));
	if (get_pin(pin_arg, pin, err) != 0) {
		/* Keep the callback's own explanation when it gave one. */
		if (err && err->text[0] != '\0') {
			if (err->status == EC_OK)
				err->status = EC_ERR_CANCELLED;
			st = err->status;
		} else {
			st = ec_error_set(err, EC_ERR_CANCELLED, "no PIN was given: nothing was debited.");
		}
	} else {
		pin[EC_PIN_TEXT_MAX - 1] = '\0';
		st = ec_pin_verify(pc, pin, NULL, err);
		if (st == EC_ERR_CARD && err) {
			/* Say what matters to the merchant first; keep the SW. */
			char why[EC_ERROR_TEXT_MAX];
			uint16_t sw = err->sw;
			snprintf(why, sizeof(why), "%s", err->text);
			ec_error_card(err, sw, "nothing was debited: %s", why);
		}
	}
	crypto_wipe(pin, sizeof(pin));
	return st;
}

enum ec_status ec_merchant_check_debit(const struct ec_merchant *m,
				      const uint8_t serial[PURSE_SERIAL_LEN],
				      const struct purse_debit_request *req, const uint8_t *answer,
				      size_t len, struct ec_payment *res, struct ec_error *err)
{
	const uint8_t *sig = answer + PURSE_DEBIT_RECORD_LEN;
	struct purse_debit_record rec;

	if (len != DEBIT_RESPONSE_LEN || !purse_debit_record_parse(answer, PURSE_DEBIT_RECORD_LEN, &rec))
		return ec_error_set(err, EC_ERR_FORMAT, "the card's debit record cannot be read: is this an ecard wallet?");
	if (purse_debit_record_check(m->ca_pub, res->card_cert, answer, sig) != 1)
		return ec_error_set(err, EC_ERR_CHECK,
				    "the card's signature over the debit record does not verify under its certified key: do not accept this payment, and keep the card's answer for the issuer.");

	const char *field = NULL;
	if (rec.amount != req->amount)
		field = "amount";
	else if (rec.currency != req->currency)
		field = "currency";
	else if (memcmp(rec.merchant_id, req->merchant_id, PURSE_ID_LEN) != 0)
		field = "merchant id";
	else if (memcmp(rec.challenge, req->challenge, PURSE_CHALLENGE_LEN) != 0)
		field = "challenge";
	else if (memcmp(rec.serial, serial, PURSE_SERIAL_LEN) != 0)
		field = "card serial";
	if (field)
		return ec_error_set(err, EC_ERR_CHECK,
				    "the card signed a debit record whose %s differs from the request: do not accept this payment, and keep the card's answer for the issuer.",
				    field);

	res->record = rec;
	memcpy(res->record_bytes, answer, PURSE_DEBIT_RECORD_LEN);
	memcpy(res->signature, sig, CRYPTO_EC_SIG_LEN);
	return EC_OK;
}

/*
 * DEBIT's answer was lost: reach the card again and read its last debit.
 * EC_OK with answer filled when that debit is ours; EC_ERR_NOT_DONE when
 * the card shows no debit or another one; any other status when the
 * outcome cannot be known.
 */
static enum ec_status recover_debit(struct ec_pcsc *pc, const struct purse_debit_request *req,
				    uint8_t answer[DEBIT_RESPONSE_LEN], struct ec_error *err)
{
	static const uint8_t last_debit[] = { WALLET_CLA, WALLET_INS_GET_LAST_TRANSACTION, WALLET_LAST_DEBIT,
					      0x00, 0x00 };
	char why[EC_ERROR_TEXT_MAX], sw_text[EC_SW_TEXT_MAX];
	struct purse_debit_record rec;
	size_t len;
	uint16_t sw;

	enum ec_status st = ec_wallet_reselect(pc, EC_RECOVER_TIMEOUT_MS, err);
	if (st == EC_OK)
		st = ec_exchange(pc, "GET LAST TRANSACTION", last_debit, sizeof(last_debit), answer,
				 DEBIT_RESPONSE_LEN, &len, &sw, err);
	if (st != EC_OK) {
		snprintf(why, sizeof(why), "%s", err ? err->text : "");
		return ec_error_set(err, st,
				    "the answer to DEBIT was lost and the card could not be asked again, so whether it was debited is unknown: check the card's last transaction (\"ecard log\") before charging again; %s",
				    why);
	}
	if (sw == SW_OK && len == DEBIT_RESPONSE_LEN &&
	    purse_debit_record_parse(answer, PURSE_DEBIT_RECORD_LEN, &rec)) {
		if (memcmp(rec.challenge, req->challenge, PURSE_CHALLENGE_LEN) == 0)
			return EC_OK;
		return ec_error_set(err, EC_ERR_NOT_DONE,
				    "the answer to DEBIT was lost and the card's last debit is an earlier one: this payment did not take place and nothing was debited; run the payment again.");
	}
	if (sw == SW_CONDITIONS || sw == SW_RECORD_NOT_FOUND || sw == SW_REF_DATA_NOT_FOUND)
		return ec_error_set(err, EC_ERR_NOT_DONE,
				    "the answer to DEBIT was lost and the card has no debit on record: this payment did not take place and nothing was debited; run the payment again.");
	return ec_error_card(err, sw,
			     "the answer to DEBIT was lost and the card answered GET LAST TRANSACTION with SW %04X (%s), so whether it was debited is unknown: check \"ecard log\" before charging again.",
			     sw, ec_sw_describe(sw, sw_text, sizeof(sw_text)));
}

enum ec_status ec_merchant_pay(const struct ec_merchant *merchant, struct ec_pcsc *pc,
			       uint32_t amount, uint16_t currency, ec_pin_fn get_pin,
			       void *pin_arg, struct ec_payment *result, struct ec_error *err)
{
	uint8_t cmd[5 + PURSE_DEBIT_REQUEST_LEN + 1] = { WALLET_CLA, WALLET_INS_DEBIT, 0x00, 0x00,
							 PURSE_DEBIT_REQUEST_LEN };
	uint8_t answer[DEBIT_RESPONSE_LEN], id[PURSE_ID_LEN];
	char text[EC_AMOUNT_TEXT_MAX], have[EC_AMOUNT_TEXT_MAX];
	struct purse_debit_request req;
	struct ec_purse_data pd;
	size_t len;
	uint16_t sw;

	_Static_assert(PURSE_DEBIT_REQUEST_LEN <= 255, "DEBIT must fit a short APDU");
	if (!merchant || !pc || !result)
		return ec_error_set(err, EC_ERR_ARG, "ec_merchant_pay was called without its arguments.");
	memset(result, 0, sizeof(*result));
	if (amount == 0)
		return ec_error_set(err, EC_ERR_ARG, "the amount to pay must be more than zero.");
	if (currency != merchant->currency)
		return ec_error_set(err, EC_ERR_ARG,
				    "the merchant's certificate is for currency %u, not %u: use the currency of the issuer.",
				    (unsigned)merchant->currency, (unsigned)currency);

	enum ec_status st = ec_wallet_select(pc, err);
	if (st == EC_OK)
		st = ec_wallet_purse_data(pc, &pd, err);
	if (st != EC_OK)
		return st;
	if (pd.currency != currency)
		return ec_error_set(err, EC_ERR_CHECK,
				    "the card's wallet is in currency %u, the payment in %u: this card cannot pay here; nothing was debited.",
				    (unsigned)pd.currency, (unsigned)currency);
	if (pd.balance < amount)
		return ec_error_set(err, EC_ERR_CHECK,
				    "the card's balance of %s is less than %s: nothing was debited; top the card up first.",
				    ec_amount_format(pd.balance, pd.currency, have, sizeof(have)),
				    ec_amount_format(amount, currency, text, sizeof(text)));
	result->balance_before = pd.balance;

	/* The card must be one the issuer certified before the holder types a PIN. */
	st = ec_wallet_card_cert(pc, result->card_cert, err);
	if (st != EC_OK)
		return st;
	if (purse_cert_check(merchant->ca_pub, PURSE_CERT_CARD, result->card_cert, id, NULL) != 1)
		return ec_error_set(err, EC_ERR_CHECK,
				    "the card's certificate is not signed by this merchant's issuer: the card is from another issuer or forged; nothing was debited.");
	if (memcmp(id, pd.serial, PURSE_SERIAL_LEN) != 0)
		return ec_error_set(err, EC_ERR_CHECK,
				    "the card's certificate names another card serial than the card's own: the card is forged; nothing was debited.");

	memset(&req, 0, sizeof(req));
	req.amount = amount;
	req.currency = currency;
	memcpy(req.merchant_id, merchant->id, PURSE_ID_LEN);
	memcpy(req.cert, merchant->cert, PURSE_CERT_LEN);
	if (crypto_random(req.challenge, PURSE_CHALLENGE_LEN) != 0 ||
	    purse_debit_request_make(&req, merchant->priv, cmd + 5) != 0)
		return ec_error_set(err, EC_ERR_CRYPTO,
				    "making the signed debit request failed: check the OpenSSL installation.");
	cmd[5 + PURSE_DEBIT_REQUEST_LEN] = 0x00;

	/* The wallet consumes a fresh verification: VERIFY right before DEBIT. */
	st = verify_pin(pc, get_pin, pin_arg, err);
	if (st != EC_OK && st != EC_ERR_CARD && st != EC_ERR_ARG && st != EC_ERR_CANCELLED) {
		char why[EC_ERROR_TEXT_MAX];
		snprintf(why, sizeof(why), "%s", err ? err->text : "");
		return ec_error_set(err, st, "the PIN could not be checked, so nothing was debited: %s", why);
	}
	if (st != EC_OK)
		return st;

	st = ec_exchange(pc, "DEBIT", cmd, sizeof(cmd), answer, sizeof(answer), &len, &sw, err);
	if (st != EC_OK || (sw == SW_OK && len != DEBIT_RESPONSE_LEN)) {
		st = recover_debit(pc, &req, answer, err);
		if (st != EC_OK)
			return st;
		result->recovered = true;
	} else if (sw != SW_OK) {
		return ec_error_sw(err, "DEBIT", sw);
	}
	return ec_merchant_check_debit(merchant, pd.serial, &req, answer, sizeof(answer), result, err);
}
