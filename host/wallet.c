/*
 * wallet.c - the holder-side clients of the wallet, the card-wide PIN and
 * the profile (see wallet.h), and the plain exchange helpers the issuer
 * and merchant code share.
 *
 * Each client builds its APDU with a writer, sends it with ec_command(),
 * and parses the answer with a cursor that must end exactly where the
 * format ends: an answer one byte short or long is a format error, never
 * a guess. Buffers that held a PIN, a PUK or S2 are wiped before return.
 */
#include "wallet.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "amount.h"
#include "cursor.h"
#include "hex.h"

const uint8_t ec_wallet_aid[EC_AID_LEN] = { 0xF0, 0x45, 0x43, 0x41, 0x52, 0x44, 0x57, 0x01 };
const uint8_t ec_profile_aid[EC_AID_LEN] = { 0xF0, 0x45, 0x43, 0x41, 0x52, 0x44, 0x50, 0x01 };

#define SW_OK 0x9000
#define SW_FILE_NOT_FOUND 0x6A82
#define SW_WRONG_PARAMS_P1P2 0x6A86
#define SW_RECORD_NOT_FOUND 0x6A83
#define SW_REF_DATA_NOT_FOUND 0x6A88

#define INS_SELECT 0xA4
#define INS_VERIFY 0x20
#define INS_CHANGE_REFERENCE_DATA 0x24
#define INS_RESET_RETRY_COUNTER 0x2C
#define PIN_REFERENCE 0x81

#define INS_GET_PURSE_DATA 0x5C
#define INS_INITIALIZE_LOAD 0x40
#define INS_CREDIT 0x42
#define INS_GET_LAST_TRANSACTION 0x46
#define INS_READ_LOG 0x48
#define INS_GET_CARD_CERTIFICATE 0x4A
#define LAST_TRANSACTION_LOAD 0x01

#define INS_GET_FIELD 0xCA
#define INS_PUT_FIELD 0xDA
#define INS_GET_POLICY 0x30
#define INS_SET_POLICY 0x32
#define FIELD_P1 0x01

#define PURSE_DATA_LEN 23
#define PURSE_DATA_VERSION 1
#define RECONNECT_PAUSE_MS 200

/* ---- exchanges ---- */

enum ec_status ec_exchange(struct ec_pcsc *pc, const char *name, const uint8_t *cmd,
			   size_t cmd_len, uint8_t *data, size_t cap, size_t *data_len,
			   uint16_t *sw, struct ec_error *err)
{
	uint8_t resp[EC_RESPONSE_SHORT_MAX];
	size_t len = 0;

	if (data_len)
		*data_len = 0;
	*sw = 0;
	enum ec_status st = ec_transmit(pc, cmd, cmd_len, resp, sizeof(resp), &len);
	if (st == EC_ERR_BUFFER)
		return ec_error_set(err, EC_ERR_FORMAT,
				    "the card's answer to %s is longer than any answer of an ecard applet: is this the right card?",
				    name);
	if (st != EC_OK)
		return ec_error_transport(err, pc, st, name);
	*sw = ec_response_sw(resp, len);
	size_t n = len - 2;
	if (data && n > 0) {
		if (n > cap) {
			crypto_wipe(resp, sizeof(resp));
			return ec_error_set(err, EC_ERR_FORMAT,
					    "the card's answer to %s has %zu bytes, more than the %zu expected: is this an ecard card?",
					    name, n, cap);
		}
		memcpy(data, resp, n);
	}
	if (data_len)
		*data_len = data ? n : 0;
	crypto_wipe(resp, sizeof(resp));
	return EC_OK;
}

enum ec_status ec_command(struct ec_pcsc *pc, const char *name, const uint8_t *cmd,
			  size_t cmd_len, uint8_t *data, size_t cap, size_t *data_len,
			  struct ec_error *err)
{
	uint16_t sw;
	enum ec_status st = ec_exchange(pc, name, cmd, cmd_len, data, cap, data_len, &sw, err);
	if (st != EC_OK)
		return st;
	if (sw != SW_OK) {
		if (data_len)
			*data_len = 0;
		return ec_error_sw(err, name, sw);
	}
	return EC_OK;
}

static enum ec_status select_aid(struct ec_pcsc *pc, const uint8_t aid[EC_AID_LEN],
				 const char *name, struct ec_error *err)
{
	uint8_t cmd[5 + EC_AID_LEN] = { 0x00, INS_SELECT, 0x04, 0x00, EC_AID_LEN };
	uint16_t sw;

	memcpy(cmd + 5, aid, EC_AID_LEN);
	enum ec_status st = ec_exchange(pc, name, cmd, sizeof(cmd), NULL, 0, NULL, &sw, err);
	if (st != EC_OK)
		return st;
	if (sw == SW_FILE_NOT_FOUND) {
		ec_error_set(err, EC_ERR_CARD,
			     "the card has no ecard %s application (SELECT answered SW 6A82): use a card made by ecard-vcard --new, or choose another card with --reader.",
			     aid == ec_wallet_aid ? "wallet" : "profile");
		if (err)
			err->sw = sw;
		return EC_ERR_CARD;
	}
	if (sw != SW_OK)
		return ec_error_sw(err, name, sw);
	return EC_OK;
}

enum ec_status ec_wallet_select(struct ec_pcsc *pc, struct ec_error *err)
{
	return select_aid(pc, ec_wallet_aid, "SELECT wallet", err);
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

enum ec_status ec_wallet_purse_data(struct ec_pcsc *pc, struct ec_purse_data *pd,
				    struct ec_error *err)
{
	static const uint8_t cmd[] = { 0x80, INS_GET_PURSE_DATA, 0x00, 0x00, 0x00 };
	uint8_t data[PURSE_DATA_LEN];
	size_t len;
	struct cursor c;

	enum ec_status st = ec_command(pc, "GET PURSE DATA", cmd, sizeof(cmd), data, sizeof(data),
				       &len, err);
	if (st != EC_OK)
		return st;
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
				    len, PURSE_DATA_LEN);
	if (pd->version != PURSE_DATA_VERSION)
		return ec_error_set(err, EC_ERR_FORMAT,
				    "the card's wallet is version %u, this ecard knows version %d: use a newer ecard.",
				    pd->version, PURSE_DATA_VERSION);
	return EC_OK;
}

enum ec_status ec_wallet_log(struct ec_pcsc *pc, unsigned index, struct ec_log_entry *entry,
			     bool *present, struct ec_error *err)
{
	uint8_t cmd[5] = { 0x80, INS_READ_LOG, 0x00, 0x00, 0x00 };
	uint8_t data[EC_LOG_ENTRY_LEN];
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
	if (sw == SW_RECORD_NOT_FOUND || sw == SW_WRONG_PARAMS_P1P2 || sw == SW_REF_DATA_NOT_FOUND ||
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
				    index, len, EC_LOG_ENTRY_LEN);
	*present = true;
	return EC_OK;
}

enum ec_status ec_wallet_card_cert(struct ec_pcsc *pc, uint8_t cert[PURSE_CERT_LEN],
				   struct ec_error *err)
{
	static const uint8_t cmd[] = { 0x80, INS_GET_CARD_CERTIFICATE, 0x00, 0x00, 0x00 };
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
	static const uint8_t last_load[] = { 0x80, INS_GET_LAST_TRANSACTION, LAST_TRANSACTION_LOAD,
					     0x00, 0x00 };
	uint8_t data[EC_CREDIT_RESPONSE_LEN];
	size_t len;
	uint16_t sw;

	enum ec_status st = ec_wallet_reselect(pc, EC_RECOVER_TIMEOUT_MS, err);
	if (st != EC_OK)
		goto unknown;
	st = ec_exchange(pc, "GET LAST TRANSACTION", last_load, sizeof(last_load), data,
			 sizeof(data), &len, &sw, err);
	if (st != EC_OK)
		goto unknown;
	if (sw == SW_OK && len == EC_CREDIT_RESPONSE_LEN &&
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
	uint8_t init[10] = { 0x80, INS_INITIALIZE_LOAD, 0x00, 0x00, 0x04 };
	uint8_t credit[5 + PURSE_MAC_LEN + 1] = { 0x80, INS_CREDIT, 0x00, 0x00, PURSE_MAC_LEN };
	uint8_t answer[EC_INIT_LOAD_RESPONSE_LEN], s2[PURSE_MAC_LEN];
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

	uint8_t receipt[EC_CREDIT_RESPONSE_LEN];
	st = ec_exchange(pc, "CREDIT", credit, sizeof(credit), receipt, sizeof(receipt), &len, &sw,
			 err);
	if (st != EC_OK || (sw == SW_OK && len != EC_CREDIT_RESPONSE_LEN)) {
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

/* ---- PIN ---- */

static bool all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

enum ec_status ec_pin_block(const char *pin, uint8_t block[EC_PIN_BLOCK_LEN],
			    struct ec_error *err)
{
	size_t n = pin ? strnlen(pin, EC_PIN_TEXT_MAX) : 0;
	if (n < EC_PIN_MIN_DIGITS || n > EC_PIN_MAX_DIGITS || !all_digits(pin, n))
		return ec_error_set(err, EC_ERR_ARG,
				    "a PIN is %d to %d digits (0-9) and nothing else: type it again; nothing was sent to the card.",
				    EC_PIN_MIN_DIGITS, EC_PIN_MAX_DIGITS);
	memset(block, 0xFF, EC_PIN_BLOCK_LEN);
	memcpy(block, pin, n);
	return EC_OK;
}

enum ec_status ec_puk_block(const char *puk, uint8_t block[EC_PIN_BLOCK_LEN],
			    struct ec_error *err)
{
	size_t n = puk ? strnlen(puk, EC_PIN_TEXT_MAX) : 0;
	if (n != EC_PUK_DIGITS || !all_digits(puk, n))
		return ec_error_set(err, EC_ERR_ARG,
				    "a PUK is exactly %d digits (0-9): type it again; nothing was sent to the card.",
				    EC_PUK_DIGITS);
	memcpy(block, puk, EC_PUK_DIGITS);
	return EC_OK;
}

/* Send a PIN command; 63Cx fills *tries_left. */
static enum ec_status pin_command(struct ec_pcsc *pc, const char *name, const uint8_t *cmd,
				  size_t len, int *tries_left, struct ec_error *err)
{
	uint16_t sw;
	enum ec_status st = ec_exchange(pc, name, cmd, len, NULL, 0, NULL, &sw, err);
	if (st != EC_OK)
		return st;
	if ((sw & 0xFFF0) == 0x63C0 && tries_left)
		*tries_left = sw & 0x0F;
	if (sw != SW_OK)
		return ec_error_sw(err, name, sw);
	return EC_OK;
}

enum ec_status ec_pin_verify(struct ec_pcsc *pc, const char *pin, int *tries_left,
			     struct ec_error *err)
{
	uint8_t cmd[5 + EC_PIN_BLOCK_LEN] = { 0x00, INS_VERIFY, 0x00, PIN_REFERENCE,
					      EC_PIN_BLOCK_LEN };
	enum ec_status st = ec_pin_block(pin, cmd + 5, err);
	if (st == EC_OK)
		st = pin_command(pc, "VERIFY", cmd, sizeof(cmd), tries_left, err);
	crypto_wipe(cmd, sizeof(cmd));
	return st;
}

enum ec_status ec_pin_status(struct ec_pcsc *pc, int *tries_left, struct ec_error *err)
{
	static const uint8_t cmd[] = { 0x00, INS_VERIFY, 0x00, PIN_REFERENCE };
	return pin_command(pc, "VERIFY (PIN status)", cmd, sizeof(cmd), tries_left, err);
}

enum ec_status ec_pin_change(struct ec_pcsc *pc, const char *old_pin, const char *new_pin,
			     int *tries_left, struct ec_error *err)
{
	uint8_t cmd[5 + 2 * EC_PIN_BLOCK_LEN] = { 0x00, INS_CHANGE_REFERENCE_DATA, 0x00,
						  PIN_REFERENCE, 2 * EC_PIN_BLOCK_LEN };
	enum ec_status st = ec_pin_block(old_pin, cmd + 5, err);
	if (st == EC_OK)
		st = ec_pin_block(new_pin, cmd + 5 + EC_PIN_BLOCK_LEN, err);
	if (st == EC_OK)
		st = pin_command(pc, "CHANGE REFERENCE DATA", cmd, sizeof(cmd), tries_left, err);
	crypto_wipe(cmd, sizeof(cmd));
	return st;
}

enum ec_status ec_pin_unblock(struct ec_pcsc *pc, const char *puk, const char *new_pin,
			      int *tries_left, struct ec_error *err)
{
	uint8_t cmd[5 + 2 * EC_PIN_BLOCK_LEN] = { 0x00, INS_RESET_RETRY_COUNTER, 0x00,
						  PIN_REFERENCE, 2 * EC_PIN_BLOCK_LEN };
	enum ec_status st = ec_puk_block(puk, cmd + 5, err);
	if (st == EC_OK)
		st = ec_pin_block(new_pin, cmd + 5 + EC_PIN_BLOCK_LEN, err);
	if (st == EC_OK)
		st = pin_command(pc, "RESET RETRY COUNTER", cmd, sizeof(cmd), tries_left, err);
	crypto_wipe(cmd, sizeof(cmd));
	return st;
}

/* ---- profile ---- */

const struct ec_profile_field ec_profile_fields[EC_PROFILE_FIELDS] = {
	{ 0x01, "username", false },
	{ 0x02, "password", true },
	{ 0x03, "forename", false },
	{ 0x04, "surname", false },
	{ 0x05, "street", false },
	{ 0x06, "town", false },
	{ 0x07, "county", false },
	{ 0x08, "postcode", false },
	{ 0x09, "card-number", true },
	{ 0x0A, "email", false },
	{ 0x0B, "phone", false },
};

const struct ec_profile_field *ec_profile_field_find(const char *name_or_id)
{
	if (!name_or_id)
		return NULL;
	for (size_t i = 0; i < EC_PROFILE_FIELDS; i++)
		if (strcasecmp(ec_profile_fields[i].name, name_or_id) == 0)
			return &ec_profile_fields[i];

	const char *p = name_or_id;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		p += 2;
	uint8_t id;
	size_t n = strlen(p);
	char two[3] = { '0', '0', '\0' };
	if (n == 0 || n > 2)
		return NULL;
	memcpy(two + 2 - n, p, n);
	if (hex_decode(two, &id, 1) != 1)
		return NULL;
	for (size_t i = 0; i < EC_PROFILE_FIELDS; i++)
		if (ec_profile_fields[i].id == id)
			return &ec_profile_fields[i];
	return NULL;
}

static const char *const policy_names[] = { "never", "session", "always" };

int ec_profile_policy_parse(const char *text)
{
	if (!text)
		return -1;
	for (int i = 0; i < 3; i++)
		if (strcasecmp(text, policy_names[i]) == 0 ||
		    (text[0] == (char)('0' + i) && text[1] == '\0'))
			return i;
	return -1;
}

const char *ec_profile_policy_name(uint8_t policy)
{
	return policy <= EC_POLICY_ALWAYS ? policy_names[policy] : "unknown";
}

enum ec_status ec_profile_select(struct ec_pcsc *pc, struct ec_error *err)
{
	return select_aid(pc, ec_profile_aid, "SELECT profile", err);
}

enum ec_status ec_profile_get_field(struct ec_pcsc *pc, uint8_t id, char *value, size_t cap,
				    size_t *len, struct ec_error *err)
{
	uint8_t cmd[5] = { 0x00, INS_GET_FIELD, FIELD_P1, id, 0x00 };
	uint8_t data[EC_PROFILE_VALUE_MAX];
	size_t n;

	*len = 0;
	if (cap < EC_PROFILE_VALUE_MAX + 1)
		return ec_error_set(err, EC_ERR_ARG, "the buffer for a profile field is too small: this is a bug in the calling program.");
	enum ec_status st = ec_command(pc, "GET FIELD", cmd, sizeof(cmd), data, sizeof(data), &n,
				       err);
	if (st == EC_OK) {
		memcpy(value, data, n);
		value[n] = '\0';
		*len = n;
	}
	crypto_wipe(data, sizeof(data));
	return st;
}

enum ec_status ec_profile_put_field(struct ec_pcsc *pc, uint8_t id, const char *value,
				    size_t len, struct ec_error *err)
{
	uint8_t cmd[5 + EC_PROFILE_VALUE_MAX] = { 0x00, INS_PUT_FIELD, FIELD_P1, id, 0x00 };

	if (len > EC_PROFILE_VALUE_MAX)
		return ec_error_set(err, EC_ERR_ARG,
				    "a profile value is at most %d bytes (this one has %zu): shorten it.",
				    EC_PROFILE_VALUE_MAX, len);
	cmd[4] = (uint8_t)len;
	if (len)
		memcpy(cmd + 5, value, len);
	/* An empty value is sent without Lc, the way the profile clears a field. */
	enum ec_status st = ec_command(pc, "PUT FIELD", cmd, len ? 5 + len : 4, NULL, 0, NULL,
				       err);
	crypto_wipe(cmd, sizeof(cmd));
	return st;
}

enum ec_status ec_profile_get_policy(struct ec_pcsc *pc, uint8_t *general, uint8_t *private_class,
				     struct ec_error *err)
{
	static const uint8_t cmd[] = { 0x80, INS_GET_POLICY, 0x00, 0x00, 0x00 };
	uint8_t data[2];
	size_t n;

	enum ec_status st = ec_command(pc, "GET POLICY", cmd, sizeof(cmd), data, sizeof(data), &n,
				       err);
	if (st != EC_OK)
		return st;
	if (n != 2)
		return ec_error_set(err, EC_ERR_FORMAT,
				    "the profile's policy has %zu bytes instead of 2: is this an ecard profile?",
				    n);
	*general = data[0];
	*private_class = data[1];
	return EC_OK;
}

enum ec_status ec_profile_set_policy(struct ec_pcsc *pc, uint8_t general, uint8_t private_class,
				     struct ec_error *err)
{
	uint8_t cmd[7] = { 0x80, INS_SET_POLICY, 0x00, 0x00, 0x02, general, private_class };

	if (general > EC_POLICY_ALWAYS || private_class > EC_POLICY_ALWAYS)
		return ec_error_set(err, EC_ERR_ARG, "a release policy is never, session or always.");
	return ec_command(pc, "SET POLICY", cmd, sizeof(cmd), NULL, 0, NULL, err);
}
