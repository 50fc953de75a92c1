/*
 * wallet.c - the holder's side of the wallet (see wallet.h).
 *
 * Each command is built from wallet_proto.h, sent with exchange.h, and its
 * answer parsed with a cursor that must end exactly where the format ends:
 * an answer one byte short or long is a format error, never a guess. The
 * pin_client.c and profile.c clients follow the same pattern. Buffers that
 * held S2 are wiped before return.
 */
#include "wallet.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "amount.h"
#include "cursor.h"
#include "exchange.h"
#include "iso7816.h"

const uint8_t ec_wallet_aid[WALLET_AID_LEN] = { WALLET_AID };

#define RECONNECT_PAUSE_MS 200

enum ec_status ec_wallet_select(struct ec_pcsc *pc, struct ec_error *err)
{
	return ec_select_app(pc, ec_wallet_aid, sizeof(ec_wallet_aid), "wallet", err);
}

static unsigned long elapsed_ms(const struct timespec *since)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	long ms = (now.tv_sec - since->tv_sec) * 1000L + (now.tv_nsec - since->tv_nsec) / 1000000L;
	return ms < 0 ? 0 : (unsigned long)ms;
}

enum ec_status ec_wallet_reselect(struct ec_pcsc *pc, unsigned timeout_ms, struct ec_error *err)
{
	char reader[EC_READER_NAME_MAX];
	bool through_pcscd = pc->raw_transmit == ec_raw_scard_transmit;
	struct timespec start;
	enum ec_status st;

	snprintf(reader, sizeof(reader), "%s", pc->reader);
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		st = EC_OK;
		if (through_pcscd) {
			/*
			 * A reset card takes SCardReconnect; a removed one that came
			 * back needs a new connection to the same reader.
			 */
			st = pc->connected ? ec_reconnect(pc, SCARD_LEAVE_CARD) : EC_ERR_NOT_CONNECTED;
			if (st != EC_OK)
				st = ec_connect_name(pc, reader, pc->preferred_protocols);
			if (st != EC_OK)
				ec_error_transport(err, pc, st, "reconnecting to the card");
		}
		if (st == EC_OK) {
			st = ec_wallet_select(pc, err);
			/* The card answered: whatever it said, it is reachable. */
			if (st == EC_OK || st == EC_ERR_CARD)
				return st;
		}
		if (elapsed_ms(&start) >= timeout_ms)
			break;
		struct timespec pause = { 0, RECONNECT_PAUSE_MS * 1000000L };
		nanosleep(&pause, NULL);
	}
	char why[EC_ERROR_TEXT_MAX];
	snprintf(why, sizeof(why), "%s", err ? err->text : "");
	return ec_error_set(err, st, "the card could not be reached again within %u seconds: %s",
			    (timeout_ms + 999) / 1000, why);
}

/* ---- wallet ---- */

enum ec_status ec_wallet_purse_data_parse(const uint8_t *data, size_t len, uint16_t sw,
					  struct ec_purse_data *pd, struct ec_error *err)
{
	struct cursor c;

	/* Every wallet command but STORE DATA says 6985 before issuance. */
	if (sw == SW_CONDITIONS)
		return ec_error_refused(err, "GET PURSE DATA", sw,
					"the wallet is not personalized: the card must be issued first "
					"(ecard issuer personalize, or ecard-vcard --new --personalize).");
	if (sw != SW_OK)
		return ec_error_sw(err, "GET PURSE DATA", sw);
	cursor_init(&c, data, len);
	cursor_u8(&c, &pd->version);
	cursor_copy(&c, pd->serial, PURSE_SERIAL_LEN);
	cursor_u16(&c, &pd->currency);
	cursor_u32(&c, &pd->balance);
	cursor_u32(&c, &pd->max_balance);
	cursor_u32(&c, &pd->counter);
	if (!cursor_done(&c))
		return ec_error_set(err, EC_ERR_FORMAT,
				    "the card's purse data has %zu bytes instead of %d: is this an ecard wallet?",
				    len, WALLET_PURSE_DATA_LEN);
	if (pd->version != WALLET_PURSE_DATA_VERSION)
		return ec_error_set(err, EC_ERR_FORMAT,
				    "the card's wallet is version %u, this ecard knows version %d: use a newer ecard.",
				    pd->version, WALLET_PURSE_DATA_VERSION);
	return EC_OK;
}

enum ec_status ec_wallet_purse_data(struct ec_pcsc *pc, struct ec_purse_data *pd,
				    struct ec_error *err)
{
	static const uint8_t cmd[] = { WALLET_CLA, WALLET_INS_GET_PURSE_DATA, 0x00, 0x00, 0x00 };
	uint8_t data[WALLET_PURSE_DATA_LEN];
	size_t len;
	uint16_t sw;

	enum ec_status st = ec_exchange(pc, "GET PURSE DATA", cmd, sizeof(cmd), data, sizeof(data),
					&len, &sw, err);
	if (st != EC_OK)
		return st;
	return ec_wallet_purse_data_parse(data, len, sw, pd, err);
}

enum ec_status ec_wallet_log(struct ec_pcsc *pc, unsigned index, struct ec_log_entry *entry,
			     bool *present, struct ec_error *err)
{
	uint8_t cmd[5] = { WALLET_CLA, WALLET_INS_READ_LOG, 0x00, 0x00, 0x00 };
	uint8_t data[WALLET_LOG_ENTRY_LEN];
	size_t len;
	uint16_t sw;
	struct cursor c;

	*present = false;
	if (index > 0xFF)
		return EC_OK;
	cmd[2] = (uint8_t)index;
	enum ec_status st = ec_exchange(pc, "READ LOG", cmd, sizeof(cmd), data, sizeof(data), &len,
					&sw, err);
	if (st != EC_OK)
		return st;
	/* The ways a card says "no entry there": past the end of the log. */
	if (sw == SW_RECORD_NOT_FOUND || sw == SW_INCORRECT_P1P2 || sw == SW_REF_DATA_NOT_FOUND ||
	    (sw == SW_OK && len == 0))
		return EC_OK;
	if (sw != SW_OK)
		return ec_error_sw(err, "READ LOG", sw);
	cursor_init(&c, data, len);
	cursor_u8(&c, &entry->type);
	cursor_u32(&c, &entry->counter);
	cursor_u32(&c, &entry->amount);
	cursor_u32(&c, &entry->balance);
	cursor_copy(&c, entry->merchant_id, PURSE_ID_LEN);
	if (!cursor_done(&c))
		return ec_error_set(err, EC_ERR_FORMAT,
				    "log entry %u has %zu bytes instead of %d: is this an ecard wallet?",
				    index, len, WALLET_LOG_ENTRY_LEN);
	*present = true;
	return EC_OK;
}

enum ec_status ec_wallet_card_cert(struct ec_pcsc *pc, uint8_t cert[PURSE_CERT_LEN],
				   struct ec_error *err)
{
	static const uint8_t cmd[] = { WALLET_CLA, WALLET_INS_GET_CARD_CERTIFICATE, 0x00, 0x00, 0x00 };
	size_t len;

	enum ec_status st = ec_command(pc, "GET CARD CERTIFICATE", cmd, sizeof(cmd), cert,
				       PURSE_CERT_LEN, &len, err);
	if (st != EC_OK)
		return st;
	if (len != PURSE_CERT_LEN)
		return ec_error_set(err, EC_ERR_FORMAT,
				    "the card certificate has %zu bytes instead of %d: is this an ecard wallet?",
				    len, PURSE_CERT_LEN);
	return EC_OK;
}

/*
 * CREDIT's answer was lost. Ask the card for its last load first: a receipt
 * that verifies for this load (counter past the load's) means the credit
 * happened. Otherwise send the same S2 again: the card still holds the
 * pending load, and a used S2 is refused, so this can credit at most once.
 */
static enum ec_status recover_credit(struct ec_pcsc *pc, const struct ec_issuer *issuer,
				     const uint8_t *credit, size_t credit_len,
				     struct ec_load_result *res, struct ec_error *err)
{
	static const uint8_t last_load[] = { WALLET_CLA, WALLET_INS_GET_LAST_TRANSACTION, WALLET_LAST_LOAD,
					     0x00, 0x00 };
	uint8_t data[WALLET_CREDIT_RESPONSE_LEN];
	size_t len;
	uint16_t sw;

	enum ec_status st = ec_wallet_reselect(pc, EC_RECOVER_TIMEOUT_MS, err);
	if (st != EC_OK)
		goto unknown;
	st = ec_exchange(pc, "GET LAST TRANSACTION", last_load, sizeof(last_load), data,
			 sizeof(data), &len, &sw, err);
	if (st != EC_OK)
		goto unknown;
	if (sw == SW_OK && len == WALLET_CREDIT_RESPONSE_LEN &&
	    ec_issuer_check_s3(issuer, &res->load, data, len, &res->counter, &res->balance,
			       NULL) == EC_OK)
		goto done;

	st = ec_exchange(pc, "CREDIT", credit, credit_len, data, sizeof(data), &len, &sw, err);
	if (st != EC_OK)
		goto unknown;
	if (sw != SW_OK)
		return ec_error_sw(err, "CREDIT (sent again after its answer was lost)", sw);
	st = ec_issuer_check_s3(issuer, &res->load, data, len, &res->counter, &res->balance, err);
	if (st != EC_OK)
		return st;

done:
	memcpy(res->s3, data + 8, PURSE_MAC_LEN);
	res->recovered = true;
	return EC_OK;

unknown:
	{
		char why[EC_ERROR_TEXT_MAX];
		snprintf(why, sizeof(why), "%s", err ? err->text : "");
		return ec_error_set(err, st,
				    "the answer to CREDIT was lost and the card could not be asked again, so whether it was credited is unknown: check \"ecard log\" before loading again; %s",
				    why);
	}
}

enum ec_status ec_wallet_load(struct ec_pcsc *pc, const struct ec_issuer *issuer,
			      uint32_t amount, struct ec_load_result *result,
			      struct ec_error *err)
{
	uint8_t init[10] = { WALLET_CLA, WALLET_INS_INITIALIZE_LOAD, 0x00, 0x00, 0x04 };
	uint8_t credit[5 + PURSE_MAC_LEN + 1] = { WALLET_CLA, WALLET_INS_CREDIT, 0x00, 0x00, PURSE_MAC_LEN };
	uint8_t answer[WALLET_INIT_LOAD_RESPONSE_LEN], s2[PURSE_MAC_LEN];
	char have[EC_AMOUNT_TEXT_MAX], want[EC_AMOUNT_TEXT_MAX];
	struct ec_purse_data pd;
	size_t len;
	uint16_t sw;

	memset(result, 0, sizeof(*result));
	if (amount == 0)
		return ec_error_set(err, EC_ERR_ARG, "the amount to load must be more than zero.");
	enum ec_status st = ec_wallet_select(pc, err);
	if (st == EC_OK)
		st = ec_wallet_purse_data(pc, &pd, err);
	if (st != EC_OK)
		return st;
	if (pd.currency != issuer->currency) {
		const struct ec_currency *card = ec_currency_by_numeric(pd.currency);
		const struct ec_currency *iss = ec_currency_by_numeric(issuer->currency);
		snprintf(have, sizeof(have), "%s", card ? card->code : "an unknown currency");
		snprintf(want, sizeof(want), "%s", iss ? iss->code : "an unknown currency");
		return ec_error_set(err, EC_ERR_CHECK,
				    "the card's wallet is in %s but the issuer's keys are for %s: use the issuer directory that personalized this card.",
				    have, want);
	}

	/* The card refuses this with a bare 6985; say why before asking it. */
	if ((uint64_t)pd.balance + amount > pd.max_balance) {
		char max[EC_AMOUNT_TEXT_MAX];
		return ec_error_set(err, EC_ERR_CHECK,
				    "loading %s onto a balance of %s would go above the card's maximum of %s: load less.",
				    ec_amount_format(amount, pd.currency, want, sizeof(want)),
				    ec_amount_format(pd.balance, pd.currency, have, sizeof(have)),
				    ec_amount_format(pd.max_balance, pd.currency, max, sizeof(max)));
	}

	store_be32(init + 5, amount);
	init[9] = 0x00;
	st = ec_command(pc, "INITIALIZE LOAD", init, sizeof(init), answer, sizeof(answer), &len,
			err);
	if (st != EC_OK && st != EC_ERR_CARD) {
		/* Lost on the way (a tear, a reset): the card holds at most a
		 * pending load, which the next INITIALIZE LOAD replaces. */
		char why[EC_ERROR_TEXT_MAX];
		snprintf(why, sizeof(why), "%s", err ? err->text : "");
		return ec_error_set(err, st, "the answer to INITIALIZE LOAD was lost, so nothing was loaded: run the load again (%s)", why);
	}
	if (st != EC_OK)
		return st;
	st = ec_issuer_authorize_load(issuer, answer, len, amount, &result->load, s2, err);
	if (st != EC_OK)
		return st;

	memcpy(credit + 5, s2, PURSE_MAC_LEN);
	credit[5 + PURSE_MAC_LEN] = 0x00;
	crypto_wipe(s2, sizeof(s2));

	uint8_t receipt[WALLET_CREDIT_RESPONSE_LEN];
	st = ec_exchange(pc, "CREDIT", credit, sizeof(credit), receipt, sizeof(receipt), &len, &sw,
			 err);
	if (st != EC_OK || (sw == SW_OK && len != WALLET_CREDIT_RESPONSE_LEN)) {
		st = recover_credit(pc, issuer, credit, sizeof(credit), result, err);
	} else if (sw != SW_OK) {
		st = ec_error_sw(err, "CREDIT", sw);
	} else {
		st = ec_issuer_check_s3(issuer, &result->load, receipt, len, &result->counter,
					&result->balance, err);
		if (st == EC_OK)
			memcpy(result->s3, receipt + 8, PURSE_MAC_LEN);
	}
	crypto_wipe(credit, sizeof(credit));
	return st;
}
