/*
 * settle.h - merchants and the settlement of what cards spent (DESIGN §7).
 *
 * Staff onboard a merchant with its certificate (of the merchant kind,
 * from the issuer's CA); the merchant gets an upload token, shown once and
 * kept as its SHA-256. Merchants then upload the debit records their
 * customers' cards signed, as `ecard pay --json` prints them: each
 * record, the card's signature and the card's certificate (hex). For each
 * record the issuer checks
 *   - its form, its currency, and that it names the uploading merchant;
 *   - the card certificate (the CA's, of the card kind, naming the
 *     record's serial) and the card's signature: else "forged";
 *   - that its card serial and counter were not paid already: the same
 *     record again is a duplicate, paid once; another record with them is
 *     a "clone";
 *   - that the card is known and not blocked, and that its books (loads -
 *     settled purchases, ledger.h) cover the amount: else the record is
 *     held ("unknown-card", "blocked-card", "overspend");
 * and pays the others from card:SERIAL to merchant:ID. Whatever is held or
 * forged goes in the fraud report (cards.h). Uploading a batch again, or
 * any part of it, pays nothing twice.
 */
#ifndef ECARD_SERVER_SETTLE_H
#define ECARD_SERVER_SETTLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "error.h"
#include "purse.h"
#include "store.h"

#define SETTLE_NAME_MAX 81
#define SETTLE_TOKEN_LEN 32			/* bytes, hex on the wire */
#define SETTLE_ID_HEX (2 * PURSE_ID_LEN + 1)

struct settle_merchant {
	char id[SETTLE_ID_HEX];
	char name[SETTLE_NAME_MAX];
	long long created;
	long long paid;		/* merchant:ID in the ledger */
	long long records;	/* debit records paid to it */
};

/* Whether name is a usable merchant name: 1 to 80 bytes of UTF-8, no
 * control characters. */
bool settle_name_ok(const char *name);

/*
 * Onboard a merchant: cert must be a merchant certificate from the CA
 * (ca_pub); its id names the merchant. token receives the merchant's
 * upload token (hex, 2 * SETTLE_TOKEN_LEN + 1): it is not kept, only its
 * hash. EC_ERR_EXISTS for a merchant id onboarded already.
 */
enum ec_status settle_merchant_add(struct store *st, const uint8_t ca_pub[CRYPTO_EC_PUB_LEN],
				   const char *name, const uint8_t cert[PURSE_CERT_LEN],
				   char token[2 * SETTLE_TOKEN_LEN + 1], struct ec_error *err);
/* The merchant a token belongs to: EC_ERR_NOT_FOUND for none. */
enum ec_status settle_merchant_by_token(struct store *st, const char *token,
					struct settle_merchant *out, struct ec_error *err);
enum ec_status settle_merchants(struct store *st, struct settle_merchant **out, size_t *count,
				struct ec_error *err);

/* One record of an upload. */
struct settle_item {
	uint8_t record[PURSE_DEBIT_RECORD_LEN];
	uint8_t signature[CRYPTO_EC_SIG_LEN];
	uint8_t cert[PURSE_CERT_LEN];
	bool usable;		/* the three were there, in hex, of their lengths */
};

/*
 * Read an upload: a JSON array of records, an object {"records": [...]},
 * or JSON lines (one record object a line). A record object has "record",
 * "signature" and "card_certificate" in hex; other members are ignored.
 * Elements of another form are items that are not usable. EC_ERR_FORMAT
 * when the text is none of these; EC_ERR_ARG beyond max items.
 */
enum ec_status settle_parse(const char *text, size_t len, size_t max, struct settle_item **items,
			    size_t *count, struct ec_error *err);

enum settle_outcome {
	SETTLE_PAID,
	SETTLE_DUPLICATE,	/* paid before: nothing more */
	SETTLE_MALFORMED,	/* rejected: not a record */
	SETTLE_OTHER_MERCHANT,	/* rejected: names another merchant than the uploader */
	SETTLE_NO_MERCHANT,	/* rejected: names a merchant not onboarded */
	SETTLE_CURRENCY,	/* rejected: another currency than the issuer's */
	SETTLE_FORGED,		/* in the fraud report, not paid */
	SETTLE_UNKNOWN_CARD,	/* held */
	SETTLE_BLOCKED_CARD,	/* held */
	SETTLE_OVERSPEND,	/* held */
	SETTLE_CLONE,		/* in the fraud report, not paid */
	SETTLE_OUTCOMES
};

const char *settle_outcome_name(enum settle_outcome o);

struct settle_options {
	const uint8_t *ca_pub;		/* the issuer's CA */
	uint16_t currency;		/* the issuer's */
	const char *merchant;		/* the uploader (hex id); NULL: staff, any merchant */
	unsigned threads;		/* checking signatures; 0: 1 */
	size_t chunk;			/* records per transaction; 0: 1000 */
};

struct settle_counts {
	size_t records;
	size_t outcome[SETTLE_OUTCOMES];
	long long paid_amount;		/* minor units paid by this call */
};

/*
 * Settle items in order, in transactions of o->chunk records; outcomes
 * (may be NULL) receives each item's. A failure of the store stops it:
 * what was committed before stays, and settling the same items again goes
 * on from there.
 */
enum ec_status settle_items(struct store *st, const struct settle_options *o,
			    const struct settle_item *items, size_t n, enum settle_outcome *outcomes,
			    struct settle_counts *counts, struct ec_error *err);

#endif
