/*
 * amount.h - money as people write it and as the card keeps it.
 *
 * The wallet counts in unsigned 32-bit minor units of one ISO 4217
 * currency, named on the card by its numeric code (DESIGN §2). People type
 * and read major units with the alphabetic code: "12.50 EUR". This module
 * holds the table of currencies ecard knows (numeric code, alphabetic code,
 * number of decimals) and converts between the two forms, refusing rather
 * than rounding: "1.234" EUR, "-1", "", "12,50" and anything beyond
 * 2^32 - 1 minor units are errors, never a nearby amount.
 */
#ifndef ECARD_AMOUNT_H
#define ECARD_AMOUNT_H

#include <stddef.h>
#include <stdint.h>

struct ec_currency {
	uint16_t numeric;	/* ISO 4217 numeric code, e.g. 978 */
	char code[4];		/* ISO 4217 alphabetic code, e.g. "EUR" */
	uint8_t exponent;	/* decimals of the minor unit: 2 for EUR, 0 for JPY */
};

/* NULL when ecard does not know the currency. */
const struct ec_currency *ec_currency_by_numeric(uint16_t numeric);
/* The alphabetic code, in either case ("EUR", "eur"). */
const struct ec_currency *ec_currency_by_code(const char *code);
/* An alphabetic code or a numeric code in decimal ("978"). */
const struct ec_currency *ec_currency_parse(const char *text);

enum ec_amount_status {
	EC_AMOUNT_OK = 0,
	EC_AMOUNT_EMPTY,	/* nothing but blanks */
	EC_AMOUNT_SYNTAX,	/* not digits with an optional decimal point */
	EC_AMOUNT_NEGATIVE,	/* a minus sign */
	EC_AMOUNT_PRECISION,	/* more decimals than the currency has */
	EC_AMOUNT_OVERFLOW,	/* more than 2^32 - 1 minor units */
	EC_AMOUNT_CURRENCY,	/* a currency code other than the one expected */
	EC_AMOUNT_UNKNOWN_CURRENCY,	/* the currency is not in ecard's table */
};

/*
 * Parse an amount in major units of currency (numeric code): "12.50",
 * "12.5", "12", optionally followed by the currency's code ("12.50 EUR",
 * "12.50EUR"), which must then be that currency's. Blanks around the
 * parts are allowed. On success *minor holds the amount in minor units;
 * on failure it is left alone.
 */
enum ec_amount_status ec_amount_parse(const char *text, uint16_t currency, uint32_t *minor);

/* One phrase saying what is wrong with an amount, for "... : PHRASE." */
const char *ec_amount_strerror(enum ec_amount_status st);

/* Longest text: "4294967295" with a point, a blank, a code or a number. */
#define EC_AMOUNT_TEXT_MAX 48

/*
 * "12.50 EUR" into buf (EC_AMOUNT_TEXT_MAX bytes are always enough). A
 * currency ecard does not know is shown as "1250 minor units of currency
 * 999". Returns buf, or "" when buf is too small.
 */
const char *ec_amount_format(uint32_t minor, uint16_t currency, char *buf, size_t buflen);

/* The number alone in major units, "12.50" ("1250" for an unknown
 * currency), for machine-readable output next to the code. */
const char *ec_amount_format_number(uint32_t minor, uint16_t currency, char *buf, size_t buflen);

#endif
