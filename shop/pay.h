/*
 * pay.h - an order paid from the card (DESIGN §8): the shop is the GP
 * SERAM remote agent of the payment, the holder's agent (`ecard agent
 * --listen`) relays, the card signs.
 *
 * The order page asks the shop for a payment session (POST
 * /api/orders/ID/pay) and hands its id, with the shop's own URL, to the
 * holder's agent. The session then runs on the shop's SERAM endpoints:
 *
 *   1. SELECT the wallet, GET PURSE DATA, GET CARD CERTIFICATE (checked
 *      against the issuer's CA: a card of another issuer or a forged one
 *      is refused before anyone types a PIN); GET LAST TRANSACTION when
 *      an earlier DEBIT for this order has no known outcome; VERIFY
 *      without data (the PIN tries left).
 *   2. A notification "pay/verify-pin/SHOP" and the DEBIT with a request
 *      the shop signed with its merchant key, for the order's total and
 *      a fresh challenge. The agent asks the holder for the PIN through
 *      pinentry, showing the amount it reads from that DEBIT, and sends
 *      VERIFY itself: the PIN goes to the card only.
 *   3. The card's signed record is checked at once (offline, against the
 *      issuer's CA, every field as requested); the order is paid and the
 *      record kept for settlement with the issuer, in one transaction.
 *      A DEBIT refused for want of a fresh PIN is followed by VERIFY
 *      without data: fewer tries than before is a wrong PIN (asked again,
 *      3 DEBITs at most), as many is a holder who cancelled.
 *
 * A DEBIT whose answer never came (the link or the card failed) is
 * settled by the card's last transaction before anything else: the same
 * challenge means the card paid, and the order is paid once; another
 * record or none means it did not. The agent comes back to the same
 * session (a handshake with the same id) after a broken link or a card
 * that failed; a new payment session for the order asks the card too.
 */
#ifndef ECARD_SHOP_PAY_H
#define ECARD_SHOP_PAY_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "merchant.h"
#include "ota.h"
#include "sales.h"
#include "store.h"
#include "web.h"

#define PAY_DEBITS_MAX 3		/* DEBITs sent for one payment session */
#define PAY_SESSION_TTL_MS (15LL * 60 * 1000)

#define PAY_WAITING "waiting"		/* for the agent */
#define PAY_READING "reading"
#define PAY_DEBIT "debit"		/* DEBIT sent */
#define PAY_PIN "pin"			/* asking for the tries left */
#define PAY_RECOVER "recover"		/* asking for the last transaction */
#define PAY_PAID "paid"
#define PAY_FAILED "failed"

struct pay_config {
	const struct ec_merchant *merchant;	/* NULL: no payments */
	const char *shop_name;
};

struct payment {
	long long id;
	long long sale;
	char session[SERAM_SESSION_ID_MAX + 1];
	char state[16];
	char message[DB_MESSAGE_MAX];
};

/*
 * A payment session for an order awaiting payment, for its customer:
 * EC_ERR_CHECK when the order is not awaiting payment.
 */
enum ec_status pay_start(struct store *st, const struct sale *sale, struct payment *out,
			 struct ec_error *err);
/* The newest payment session of an order; EC_ERR_NOT_FOUND for none. */
enum ec_status pay_last(struct store *st, long long sale, struct payment *out,
			struct ec_error *err);

/* The SERAM endpoints of the payments (as ota_handshake, ota_report). */
int pay_handshake(struct store *st, const struct pay_config *cfg, const char *session_id,
		  const char *body, size_t len, char **answer, struct ota_outcome *out,
		  struct ec_error *err);
int pay_report(struct store *st, const struct pay_config *cfg, const char *session_id,
	       const char *report_key, const char *body, size_t len, char **answer,
	       struct ota_outcome *out, struct ec_error *err);

/* ---- records for settlement ---- */

/* The verified records not sent to the issuer yet, as JSON lines in the
 * format of `ecard pay --json` (at most max of them); *count of them. */
enum ec_status pay_unsettled(struct store *st, size_t max, char **lines, size_t *count,
			     struct ec_error *err);
/* Those records (the first count unsettled ones) were taken by the issuer. */
enum ec_status pay_mark_settled(struct store *st, const char *lines, struct ec_error *err);

/* ---- the pages' side (pages.c) ---- */

/* On an order's page: the button that pays, or what paid it. */
void pay_section(struct web_page *p, struct sb *b, const struct sale *s);
/* POST /api/orders/ID/pay: a payment session for the page's script. */
void pay_start_page(struct web_page *p, long long sale);
/* /static/shop.js: paying and filling forms through the holder's agent. */
extern const char pay_script[];

#endif
