/*
 * topup.c - an online top-up as a job of ecard-server (topup.h).
 */
#include "topup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "crypto.h"
#include "cursor.h"
#include "hex.h"
#include "iso7816.h"
#include "wallet.h"
#include "wallet_proto.h"

char *topup_save(const struct topup *t)
{
	char serial[2 * PURSE_SERIAL_LEN + 1], challenge[2 * PURSE_CHALLENGE_LEN + 1];
	json_t *o;

	if (t->done) {
		o = json_pack("{s:b, s:I, s:I}", "credited", 1, "counter", (json_int_t)t->counter,
			      "balance", (json_int_t)t->balance);
	} else if (t->authorised) {
		hex_encode(t->load.serial, PURSE_SERIAL_LEN, serial);
		hex_encode(t->load.challenge, PURSE_CHALLENGE_LEN, challenge);
		o = json_pack("{s:s, s:I, s:I, s:s}", "serial", serial, "counter",
			      (json_int_t)t->load.counter, "balance", (json_int_t)t->load.balance,
			      "challenge", challenge);
	} else {
		o = json_object();
	}
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return text;
}

static bool u32_field(json_t *o, const char *key, uint32_t *out)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > UINT32_MAX)
		return false;
	*out = (uint32_t)json_integer_value(v);
	return true;
}

static bool hex_fixed(json_t *o, const char *key, uint8_t *out, size_t len)
{
	json_t *v = json_object_get(o, key);
	return json_is_string(v) && strlen(json_string_value(v)) == 2 * len &&
	       hex_decode(json_string_value(v), out, len) == (long)len;
}

enum ec_status topup_load(const char *text, uint32_t amount, struct topup *t,
			  struct ec_error *err)
{
	json_error_t je;
	bool ok = true;

	memset(t, 0, sizeof(*t));
	t->amount = amount;
	if (!text || !text[0])
		return EC_OK;
	json_t *o = json_loads(text, 0, &je);
	if (!json_is_object(o)) {
		ok = false;
	} else if (json_is_true(json_object_get(o, "credited"))) {
		t->done = true;
		ok = u32_field(o, "counter", &t->counter) && u32_field(o, "balance", &t->balance);
	} else if (json_object_get(o, "serial")) {
		t->authorised = true;
		t->load.amount = amount;
		ok = hex_fixed(o, "serial", t->load.serial, PURSE_SERIAL_LEN) &&
		     hex_fixed(o, "challenge", t->load.challenge, PURSE_CHALLENGE_LEN) &&
		     u32_field(o, "counter", &t->load.counter) &&
		     u32_field(o, "balance", &t->load.balance);
	}
	json_decref(o);
	if (!ok)
		return ec_error_set(err, EC_ERR_FORMAT, "the top-up's progress in the database is damaged.");
	return EC_OK;
}

/* ---- commands ---- */

enum ec_status topup_ask(const struct topup *t, bool with_last, struct seram_apdu_list *out)
{
	uint8_t select[5 + WALLET_AID_LEN + 1] = { 0x00, 0xA4, 0x04, 0x00, WALLET_AID_LEN };
	uint8_t last[5] = { WALLET_CLA, WALLET_INS_GET_LAST_TRANSACTION, WALLET_LAST_LOAD, 0x00, 0x00 };
	uint8_t init[10] = { WALLET_CLA, WALLET_INS_INITIALIZE_LOAD, 0x00, 0x00, 0x04 };
	enum ec_status s;

	memcpy(select + 5, ec_wallet_aid, WALLET_AID_LEN);
	select[5 + WALLET_AID_LEN] = 0x00;
	store_be32(init + 5, t->amount);
	init[9] = 0x00;
	if ((s = seram_apdu_list_add(out, select, sizeof(select))) != EC_OK)
		return s;
	if (with_last && (s = seram_apdu_list_add(out, last, sizeof(last))) != EC_OK)
		return s;
	return seram_apdu_list_add(out, init, sizeof(init));
}

/* S2 again for t->load: deterministic, so nothing secret is stored. */
static enum ec_status make_s2(const struct ec_issuer *issuer, const struct topup *t,
			      uint8_t s2[PURSE_MAC_LEN], struct ec_error *err)
{
	uint8_t kload[PURSE_KEY_LEN];
	int rc = purse_derive_kload(issuer->master_key, t->load.serial, kload);

	if (rc == 0)
		rc = purse_s2(kload, &t->load, s2);
	crypto_wipe(kload, sizeof(kload));
	if (rc != 0)
		return ec_error_set(err, EC_ERR_CRYPTO, "computing S2 failed: check the OpenSSL installation.");
	return EC_OK;
}

enum ec_status topup_credit(const struct ec_issuer *issuer, const struct topup *t,
			    struct seram_apdu_list *out, struct ec_error *err)
{
	uint8_t credit[5 + PURSE_MAC_LEN + 1] = { WALLET_CLA, WALLET_INS_CREDIT, 0x00, 0x00, PURSE_MAC_LEN };

	enum ec_status s = make_s2(issuer, t, credit + 5, err);
	if (s != EC_OK)
		return s;
	credit[5 + PURSE_MAC_LEN] = 0x00;
	s = seram_apdu_list_add(out, credit, sizeof(credit));
	crypto_wipe(credit, sizeof(credit));
	if (s != EC_OK)
		return ec_error_set(err, s, "out of memory building an order.");
	return EC_OK;
}

/* ---- judging the card's answers ---- */

/* The i-th answer's data and status word; false when there is none. */
static bool answer(const struct seram_apdu_list *a, size_t i, const uint8_t **data, size_t *len,
		   uint16_t *sw)
{
	if (!a || i >= a->count || a->items[i].len < 2)
		return false;
	*data = a->items[i].bytes;
	*len = a->items[i].len - 2;
	*sw = (uint16_t)(a->items[i].bytes[*len] << 8 | a->items[i].bytes[*len + 1]);
	return true;
}

/* A receipt S3 of this very load: the counter right after it. */
static bool receipt_proves(const struct ec_issuer *issuer, struct topup *t, const uint8_t *data,
			   size_t len)
{
	uint32_t counter, balance;
	struct ec_error ignored;

	if (ec_issuer_check_s3(issuer, &t->load, data, len, &counter, &balance, &ignored) != EC_OK ||
	    counter != t->load.counter + 1 || balance != t->load.balance + t->amount)
		return false;
	t->done = true;
	t->counter = counter;
	t->balance = balance;
	return true;
}

static bool same_card(const char *card, const uint8_t serial[PURSE_SERIAL_LEN])
{
	char tail[9];
	hex_encode(serial + PURSE_SERIAL_LEN - 4, 4, tail);
	return strcasecmp(card, tail) == 0;
}

enum topup_verdict topup_judge_ask(const struct ec_issuer *issuer, const char *card,
				   struct topup *t, bool with_last,
				   const struct seram_apdu_list *answers, struct ec_error *err)
{
	const uint8_t *data;
	size_t len;
	uint16_t sw;
	struct purse_load fresh;
	uint8_t s2[PURSE_MAC_LEN];
	size_t init_at = with_last ? 2 : 1;

	if (!answer(answers, 0, &data, &len, &sw)) {
		ec_error_set(err, EC_ERR_CARD, "the card did not answer SELECT of the wallet");
		return TOPUP_WAIT;
	}
	if (sw != SW_OK) {
		ec_error_set(err, EC_ERR_CARD, "the card has no wallet (SELECT: SW %04X)", sw);
		return t->authorised ? TOPUP_WAIT : TOPUP_REFUSED;
	}
	if (with_last && answer(answers, 1, &data, &len, &sw) && sw == SW_OK &&
	    receipt_proves(issuer, t, data, len))
		return TOPUP_CREDITED;
	if (!answer(answers, init_at, &data, &len, &sw)) {
		if (with_last)
			return TOPUP_ASK_AGAIN;	/* GET LAST TRANSACTION was refused */
		ec_error_set(err, EC_ERR_CARD, "the card did not answer INITIALIZE LOAD");
		return TOPUP_WAIT;
	}
	if (sw != SW_OK) {
		ec_error_sw(err, "INITIALIZE LOAD", sw);
		return t->authorised ? TOPUP_WAIT : TOPUP_REFUSED;
	}
	/* S1 checked with the K_load of the serial the card names. */
	if (ec_issuer_authorize_load(issuer, data, len, t->amount, &fresh, s2, err) != EC_OK)
		return TOPUP_WAIT;
	crypto_wipe(s2, sizeof(s2));
	if (!same_card(card, fresh.serial)) {
		char serial[2 * PURSE_SERIAL_LEN + 1];
		hex_encode(fresh.serial, PURSE_SERIAL_LEN, serial);
		ec_error_set(err, EC_ERR_CHECK,
			     "the wallet that answered (serial %s) is not on card %s: the relay presented another card",
			     serial, card);
		return TOPUP_WAIT;
	}
	if (t->authorised) {
		const struct purse_load *old = &t->load;
		if (memcmp(fresh.serial, old->serial, PURSE_SERIAL_LEN) != 0 || fresh.counter < old->counter) {
			ec_error_set(err, EC_ERR_CHECK,
				     "the card's INITIALIZE LOAD answer is older than the load it replaces: the relay replayed it");
			return TOPUP_WAIT;
		}
		if (fresh.counter == old->counter + 1 && fresh.balance == old->balance + t->amount) {
			/* One operation since, and it added exactly the amount. */
			t->done = true;
			t->counter = fresh.counter;
			t->balance = fresh.balance;
			return TOPUP_CREDITED;
		}
		if (fresh.counter > old->counter + 1) {
			ec_error_set(err, EC_ERR_CHECK,
				     "the card's counter went from %lu to %lu and it shows no receipt for this load: whether it was credited is left to the issuer's books",
				     (unsigned long)old->counter, (unsigned long)fresh.counter);
			return TOPUP_UNRESOLVED;
		}
		/* At the same counter, or one debit later: the old S2 can
		 * never be credited any more. */
	}
	t->authorised = true;
	t->load = fresh;
	return TOPUP_AUTHORISE;
}

enum topup_verdict topup_judge_credit(const struct ec_issuer *issuer, struct topup *t,
				      const struct seram_apdu_list *answers, struct ec_error *err)
{
	const uint8_t *data;
	size_t len;
	uint16_t sw;

	if (!answer(answers, 0, &data, &len, &sw)) {
		ec_error_set(err, EC_ERR_CARD, "the card did not answer CREDIT");
		return TOPUP_WAIT;
	}
	if (sw != SW_OK) {
		ec_error_sw(err, "CREDIT", sw);
		return TOPUP_WAIT;
	}
	if (!receipt_proves(issuer, t, data, len)) {
		ec_error_set(err, EC_ERR_CHECK,
			     "the card's receipt (S3) for CREDIT does not verify: the relay altered it");
		return TOPUP_WAIT;
	}
	return TOPUP_CREDITED;
}
