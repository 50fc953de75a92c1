/*
 * sales.h - what a customer buys in the shop: the basket of a web session
 * (kept by the session's key, so it exists before log-in and follows the
 * customer into the new session at log-in), and orders made from it with
 * the prices of the moment, a delivery address, and a state.
 *
 *   awaiting payment -> paid -> shipped
 *            \-> cancelled
 *
 * Only a payment (pay.c) moves an order to paid, and only once.
 */
#ifndef ECARD_SHOP_SALES_H
#define ECARD_SHOP_SALES_H

#include <stdbool.h>
#include <stddef.h>

#include "catalogue.h"
#include "error.h"
#include "store.h"

#define BASKET_QUANTITY_MAX 99
#define BASKET_LINES_MAX 50

#define SALE_AWAITING "awaiting payment"
#define SALE_PAID "paid"
#define SALE_SHIPPED "shipped"
#define SALE_CANCELLED "cancelled"
#define SALE_STATE_MAX 20

/* An address field holds what a card's profile field holds (64 bytes);
 * the name is forename and surname. */
#define ADDRESS_FIELD_MAX 64
#define ADDRESS_NAME_MAX (2 * ADDRESS_FIELD_MAX + 1)
#define ADDRESS_EMAIL_MAX 255

struct basket_line {
	long long product;
	char name[PRODUCT_NAME_MAX + 1];
	long long price;	/* each */
	long quantity;
};

struct address {
	char name[ADDRESS_NAME_MAX + 1];
	char street[ADDRESS_FIELD_MAX + 1];
	char town[ADDRESS_FIELD_MAX + 1];
	char county[ADDRESS_FIELD_MAX + 1];	/* may be "" */
	char postcode[ADDRESS_FIELD_MAX + 1];
	char email[ADDRESS_EMAIL_MAX + 1];
};

struct sale {
	long long id;
	long long customer;
	char state[SALE_STATE_MAX + 1];
	long long total;	/* minor units */
	struct address to;
	long long created;	/* Unix time, ms */
	long long updated;
};

/* Add quantity of product to the session's basket (capped at
 * BASKET_QUANTITY_MAX a line): EC_ERR_NOT_FOUND for no such product,
 * EC_ERR_LIMIT for a basket of BASKET_LINES_MAX lines, EC_ERR_ARG for a
 * quantity below 1. */
enum ec_status basket_add(struct store *st, const char *session, long long product,
			  long quantity, struct ec_error *err);
/* Set a line's quantity; 0 removes it. */
enum ec_status basket_set(struct store *st, const char *session, long long product,
			  long quantity, struct ec_error *err);
/* The basket with today's prices, by name; *out malloc'd (NULL when
 * empty); *total in minor units. */
enum ec_status basket_get(struct store *st, const char *session, struct basket_line **out,
			  size_t *count, long long *total, struct ec_error *err);
/* The basket of session from goes to session to (log-in makes a new one);
 * lines for the same product are added up. */
enum ec_status basket_move(struct store *st, const char *from, const char *to,
			   struct ec_error *err);

/* The fields of an address: name, street, town and postcode of 1 to 64
 * bytes (the name 129) of text on one line, county of 0 to 64, an
 * e-mail address. */
bool address_ok(const struct address *a, const char **why);

/*
 * An order for customer from the session's basket, to be delivered to
 * *to, awaiting payment; the basket is emptied. EC_ERR_ARG for an empty
 * basket or a bad address.
 */
enum ec_status sale_place(struct store *st, const char *session, long long customer,
			  const struct address *to, struct sale *out, struct ec_error *err);
/* An order and its lines (lines may be NULL); EC_ERR_NOT_FOUND. */
enum ec_status sale_get(struct store *st, long long id, struct sale *out,
			struct basket_line **lines, size_t *count, struct ec_error *err);
/* A customer's orders (0: everyone's), newest first; *out malloc'd. */
enum ec_status sale_list(struct store *st, long long customer, struct sale **out, size_t *count,
			 struct ec_error *err);
/* Move an order from state from to state to: EC_ERR_CHECK when it is not
 * in state from. In the caller's transaction when there is one. */
enum ec_status sale_move(struct store *st, long long id, const char *from, const char *to,
			 struct ec_error *err);

#endif
