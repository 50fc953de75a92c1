/*
 * wallet.h - the card holder's side of ecard's applets: the wallet (purse
 * data, log, top-up), the card-wide PIN and the profile (DESIGN §2,
 * command formats in applet/applets.h).
 *
 * Every function sends its APDUs through a struct ec_pcsc, so the same
 * code runs against a reader through pcscd and against an in-process card
 * (vcard-daemon/inproc.h). A status word other than 9000 gives EC_ERR_CARD with
 * the status word in err->sw and its meaning in err->text.
 *
 * PINs are passed as text (4 to 8 ASCII digits; a PUK is exactly 8) and
 * turned into 8-byte blocks here, checked before anything is sent, so a
 * typo never costs a try. Callers wipe their copies of the text.
 */
#ifndef ECARD_WALLET_H
#define ECARD_WALLET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "issuer.h"
#include "pcsc.h"
#include "purse.h"

#define EC_AID_LEN 8
extern const uint8_t ec_wallet_aid[EC_AID_LEN];
extern const uint8_t ec_profile_aid[EC_AID_LEN];

/* How long the clients try to reach a card again after a lost answer. */
#define EC_RECOVER_TIMEOUT_MS 5000u

/* ---- plain exchanges, shared by the clients ---- */

/*
 * Send one command APDU. EC_OK when the transport worked, whatever the
 * status word: *sw holds it, data and *data_len the answer without it (data
 * may be NULL when no answer is expected). name names the command in
 * error messages ("GET PURSE DATA").
 */
enum ec_status ec_exchange(struct ec_pcsc *pc, const char *name, const uint8_t *cmd,
			   size_t cmd_len, uint8_t *data, size_t cap, size_t *data_len,
			   uint16_t *sw, struct ec_error *err);
/* The same, but a status word other than 9000 gives EC_ERR_CARD. */
enum ec_status ec_command(struct ec_pcsc *pc, const char *name, const uint8_t *cmd,
			  size_t cmd_len, uint8_t *data, size_t cap, size_t *data_len,
			  struct ec_error *err);

/*
 * After an answer was lost (card removed or reset, link broken): reach the
 * card again and SELECT the wallet, for up to timeout_ms. Through pcscd
 * this reconnects to the same reader (SCardReconnect, then a new
 * connection); with any other transport the SELECT is simply retried.
 */
enum ec_status ec_wallet_reselect(struct ec_pcsc *pc, unsigned timeout_ms, struct ec_error *err);

/* ---- wallet ---- */

struct ec_purse_data {
	uint8_t version;
	uint8_t serial[PURSE_SERIAL_LEN];
	uint16_t currency;
	uint32_t balance;
	uint32_t max_balance;
	uint32_t counter;
};

enum ec_log_type {
	EC_LOG_LOAD = 1,
	EC_LOG_DEBIT = 2,
};

/* READ LOG's answer: type(1) || counter(4) || amount(4) || balance(4) || merchant id(8). */
#define EC_LOG_ENTRY_LEN 21

struct ec_log_entry {
	uint8_t type;		/* enum ec_log_type */
	uint32_t counter;
	uint32_t amount;
	uint32_t balance;	/* after the transaction */
	uint8_t merchant_id[PURSE_ID_LEN];	/* zero for loads */
};

struct ec_load_result {
	struct purse_load load;	/* what INITIALIZE LOAD said */
	uint32_t counter;	/* after the credit */
	uint32_t balance;	/* after the credit */
	uint8_t s3[PURSE_MAC_LEN];
	bool recovered;		/* CREDIT's answer was lost and found again */
};

enum ec_status ec_wallet_select(struct ec_pcsc *pc, struct ec_error *err);
/* GET PURSE DATA (the wallet selected). */
enum ec_status ec_wallet_purse_data(struct ec_pcsc *pc, struct ec_purse_data *pd,
				    struct ec_error *err);
/*
 * READ LOG entry index (0 = newest; the wallet selected). *present is false
 * when there is no entry at that index (the card answered 6A83, 6A86, 6A88
 * or no data): the log has been read to its end.
 */
enum ec_status ec_wallet_log(struct ec_pcsc *pc, unsigned index, struct ec_log_entry *entry,
			     bool *present, struct ec_error *err);
/* GET CARD CERTIFICATE (the wallet selected). */
enum ec_status ec_wallet_card_cert(struct ec_pcsc *pc, uint8_t cert[PURSE_CERT_LEN],
				   struct ec_error *err);

/*
 * A whole top-up with the issuer's keys at hand: SELECT, GET PURSE DATA
 * (the issuer's currency), INITIALIZE LOAD, ec_issuer_authorize_load(),
 * CREDIT, ec_issuer_check_s3(). When CREDIT's answer is lost, the card is
 * reached again and asked for its last load (GET LAST TRANSACTION P1 01):
 * a valid S3 for this load means it was credited; otherwise the same S2 is
 * sent again, which the card accepts because it keeps the pending load
 * and which can never credit twice.
 */
enum ec_status ec_wallet_load(struct ec_pcsc *pc, const struct ec_issuer *issuer,
			      uint32_t amount, struct ec_load_result *result,
			      struct ec_error *err);

/* ---- card-wide PIN (no application needs to be selected) ---- */

#define EC_PIN_BLOCK_LEN 8
#define EC_PIN_MIN_DIGITS 4
#define EC_PIN_MAX_DIGITS 8
#define EC_PUK_DIGITS 8
/* Room for the longest PIN or PUK text and its terminator. */
#define EC_PIN_TEXT_MAX 16

/* 4..8 ASCII digits padded with FF; EC_ERR_ARG otherwise. */
enum ec_status ec_pin_block(const char *pin, uint8_t block[EC_PIN_BLOCK_LEN],
			    struct ec_error *err);
/* Exactly 8 ASCII digits. */
enum ec_status ec_puk_block(const char *puk, uint8_t block[EC_PIN_BLOCK_LEN],
			    struct ec_error *err);

/*
 * Where the clients get a PIN from when an operation needs one: fill pin
 * (EC_PIN_TEXT_MAX bytes) with the digits and return 0, or return -1 to
 * cancel (the callback may explain why in err). The caller wipes pin.
 */
typedef int (*ec_pin_fn)(void *arg, char pin[EC_PIN_TEXT_MAX], struct ec_error *err);

/* VERIFY (00 20 00 81). On a wrong PIN *tries_left (may be NULL) is set. */
enum ec_status ec_pin_verify(struct ec_pcsc *pc, const char *pin, int *tries_left,
			     struct ec_error *err);
/* VERIFY without data: EC_OK when verified in this session; otherwise
 * EC_ERR_CARD with *tries_left from 63Cx. */
enum ec_status ec_pin_status(struct ec_pcsc *pc, int *tries_left, struct ec_error *err);
/* CHANGE REFERENCE DATA (00 24 00 81). */
enum ec_status ec_pin_change(struct ec_pcsc *pc, const char *old_pin, const char *new_pin,
			     int *tries_left, struct ec_error *err);
/* RESET RETRY COUNTER (00 2C 00 81) with the PUK, setting a new PIN. */
enum ec_status ec_pin_unblock(struct ec_pcsc *pc, const char *puk, const char *new_pin,
			      int *tries_left, struct ec_error *err);

/* ---- profile ---- */

#define EC_PROFILE_FIELDS 11
#define EC_PROFILE_VALUE_MAX 64

struct ec_profile_field {
	uint8_t id;		/* 01..0B */
	const char *name;	/* "username", "card-number"... */
	bool private_class;	/* released under the private policy */
};

extern const struct ec_profile_field ec_profile_fields[EC_PROFILE_FIELDS];

/* A field by name ("email") or by id in hex ("0A", "0x0a", "a"). */
const struct ec_profile_field *ec_profile_field_find(const char *name_or_id);

enum ec_profile_policy {
	EC_POLICY_NEVER = 0,	/* released without a PIN */
	EC_POLICY_SESSION = 1,	/* once per card session */
	EC_POLICY_ALWAYS = 2,	/* a fresh PIN verification every time */
};

/* "never", "session", "always" (or 0, 1, 2); -1 when unknown. */
int ec_profile_policy_parse(const char *text);
const char *ec_profile_policy_name(uint8_t policy);

enum ec_status ec_profile_select(struct ec_pcsc *pc, struct ec_error *err);
/* GET FIELD: value receives the bytes and a terminating NUL (cap must be
 * at least EC_PROFILE_VALUE_MAX + 1). A field the policy keeps back gives
 * EC_ERR_CARD with err->sw 6982. */
enum ec_status ec_profile_get_field(struct ec_pcsc *pc, uint8_t id, char *value, size_t cap,
				    size_t *len, struct ec_error *err);
/* PUT FIELD (a fresh VERIFY must come right before); len 0 clears. */
enum ec_status ec_profile_put_field(struct ec_pcsc *pc, uint8_t id, const char *value,
				    size_t len, struct ec_error *err);
enum ec_status ec_profile_get_policy(struct ec_pcsc *pc, uint8_t *general, uint8_t *private_class,
				     struct ec_error *err);
/* SET POLICY (a fresh VERIFY must come right before). */
enum ec_status ec_profile_set_policy(struct ec_pcsc *pc, uint8_t general, uint8_t private_class,
				     struct ec_error *err);

#endif
