/*
 * wallet.h - the holder's side of the wallet (DESIGN §2.1; its APDUs are
 * in common/wallet_proto.h): purse data, log, card certificate, and a
 * whole top-up with the issuer's keys at hand. The card-wide PIN and the
 * profile have clients of their own (pin_client.h, profile.h), as the
 * card has (vcard/pin.c, applet/profile.c).
 *
 * Every function sends its APDUs through a struct ec_pcsc, so the same
 * code runs against a reader through pcscd and against an in-process card
 * (vcard-daemon/inproc.h). A status word other than 9000 gives EC_ERR_CARD
 * with the status word in err->sw and its meaning in err->text.
 */
#ifndef ECARD_WALLET_H
#define ECARD_WALLET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "issuer.h"
#include "pcsc.h"
#include "purse.h"
#include "wallet_proto.h"

extern const uint8_t ec_wallet_aid[WALLET_AID_LEN];

/* How long the clients try to reach a card again after a lost answer. */
#define EC_RECOVER_TIMEOUT_MS 5000u

/*
 * After an answer was lost (card removed or reset, link broken): reach the
 * card again and SELECT the wallet, for up to timeout_ms. Through pcscd
 * this reconnects to the same reader (SCardReconnect, then a new
 * connection); with any other transport the SELECT is simply retried.
 */
enum ec_status ec_wallet_reselect(struct ec_pcsc *pc, unsigned timeout_ms, struct ec_error *err);

struct ec_purse_data {
	uint8_t version;
	uint8_t serial[PURSE_SERIAL_LEN];
	uint16_t currency;
	uint32_t balance;
	uint32_t max_balance;
	uint32_t counter;
};

/* READ LOG's entry types. */
enum ec_log_type {
	EC_LOG_LOAD = WALLET_LOG_LOAD,
	EC_LOG_DEBIT = WALLET_LOG_DEBIT,
};

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
/* GET PURSE DATA's answer (data, its status word sw) read into pd, for a
 * caller that relays the command itself (a SERAM remote agent). */
enum ec_status ec_wallet_purse_data_parse(const uint8_t *data, size_t len, uint16_t sw,
					  struct ec_purse_data *pd, struct ec_error *err);
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

#endif
