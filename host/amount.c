/*
 * amount.c - currencies and amounts (see amount.h).
 *
 * Parsing reads the whole text first and only then decides, so an amount
 * that is both malformed and too precise is reported as malformed, and
 * nothing is ever computed from a half-read number. Arithmetic is done in
 * 64 bits and checked against UINT32_MAX before the result is stored.
 */
#include "amount.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ISO 4217 codes and minor units of the currencies ecard knows. */
static const struct ec_currency currencies[] = {
	{ 36, "AUD", 2 },
	{ 48, "BHD", 3 },
	{ 124, "CAD", 2 },
	{ 156, "CNY", 2 },
	{ 203, "CZK", 2 },
	{ 208, "DKK", 2 },
	{ 344, "HKD", 2 },
	{ 348, "HUF", 2 },
	{ 352, "ISK", 0 },
	{ 356, "INR", 2 },
	{ 392, "JPY", 0 },
	{ 410, "KRW", 0 },
	{ 414, "KWD", 3 },
	{ 484, "MXN", 2 },
	{ 554, "NZD", 2 },
	{ 578, "NOK", 2 },
	{ 702, "SGD", 2 },
	{ 710, "ZAR", 2 },
	{ 752, "SEK", 2 },
	{ 756, "CHF", 2 },
	{ 788, "TND", 3 },
	{ 826, "GBP", 2 },
	{ 840, "USD", 2 },
	{ 946, "RON", 2 },
	{ 949, "TRY", 2 },
	{ 975, "BGN", 2 },
	{ 978, "EUR", 2 },
	{ 985, "PLN", 2 },
	{ 986, "BRL", 2 },
};

#define N_CURRENCIES (sizeof(currencies) / sizeof(currencies[0]))

/* The largest exponent in the table bounds the powers of ten needed. */
#define MAX_EXPONENT 3

static const uint32_t pow10_table[MAX_EXPONENT + 1] = { 1, 10, 100, 1000 };

const struct ec_currency *ec_currency_by_numeric(uint16_t numeric)
{
	for (size_t i = 0; i < N_CURRENCIES; i++)
		if (currencies[i].numeric == numeric)
			return &currencies[i];
	return NULL;
}

const struct ec_currency *ec_currency_by_code(const char *code)
{
	if (!code || strlen(code) != 3)
		return NULL;
	for (size_t i = 0; i < N_CURRENCIES; i++)
		if (strcasecmp(currencies[i].code, code) == 0)
			return &currencies[i];
	return NULL;
}

const struct ec_currency *ec_currency_parse(const char *text)
{
	if (!text)
		return NULL;
	size_t len = strlen(text);
	if (len == 0 || len > 3)
		return NULL;
	if (text[0] >= '0' && text[0] <= '9') {
		unsigned v = 0;
		for (size_t i = 0; i < len; i++) {
			if (text[i] < '0' || text[i] > '9')
				return NULL;
			v = v * 10 + (unsigned)(text[i] - '0');
		}
		return ec_currency_by_numeric((uint16_t)v);
	}
	return ec_currency_by_code(text);
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_letter(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

enum ec_amount_status ec_amount_parse(const char *text, uint16_t currency, uint32_t *minor)
{
	const struct ec_currency *cur = ec_currency_by_numeric(currency);
	const char *p = text;
	uint64_t whole = 0, fraction = 0;
	unsigned decimals = 0;
	bool too_big = false;

	if (!text || *text == '\0')
		return EC_AMOUNT_EMPTY;
	/* No blank around the amount: " 5" is more likely a slip (a shell
	 * variable, a copied cell) than an amount anyone meant. */
	if (is_blank(*p))
		return EC_AMOUNT_SYNTAX;
	if (*p == '-')
		return EC_AMOUNT_NEGATIVE;
	if (!is_digit(*p))
		return EC_AMOUNT_SYNTAX;

	for (; is_digit(*p); p++) {
		whole = whole * 10 + (uint64_t)(*p - '0');
		/* Keep reading the digits, but stop the number from wrapping. */
		if (whole > UINT32_MAX) {
			too_big = true;
			whole = UINT32_MAX + (uint64_t)1;
		}
	}
	if (*p == '.') {
		p++;
		if (!is_digit(*p))
			return EC_AMOUNT_SYNTAX;
		for (; is_digit(*p); p++) {
			decimals++;
			/* Beyond MAX_EXPONENT the amount is refused anyway. */
			if (decimals <= MAX_EXPONENT)
				fraction = fraction * 10 + (uint64_t)(*p - '0');
		}
	}
	const char *blanks = p;
	while (is_blank(*p))
		p++;

	/* An optional currency code, which must be the expected one; blanks
	 * only between the number and the code. */
	const char *code = p;
	while (is_letter(*p))
		p++;
	size_t code_len = (size_t)(p - code);
	if (*p != '\0' || (code_len == 0 && p != blanks))
		return EC_AMOUNT_SYNTAX;
	if (!cur)
		return EC_AMOUNT_UNKNOWN_CURRENCY;
	if (code_len > 0 && (code_len != 3 || strncasecmp(code, cur->code, 3) != 0))
		return EC_AMOUNT_CURRENCY;

	if (decimals > cur->exponent)
		return EC_AMOUNT_PRECISION;
	if (too_big)
		return EC_AMOUNT_OVERFLOW;
	uint64_t value = whole * pow10_table[cur->exponent] +
			 fraction * pow10_table[cur->exponent - decimals];
	if (value > UINT32_MAX)
		return EC_AMOUNT_OVERFLOW;
	*minor = (uint32_t)value;
	return EC_AMOUNT_OK;
}

const char *ec_amount_strerror(enum ec_amount_status st)
{
	switch (st) {
	case EC_AMOUNT_OK:
		return "it is a valid amount";
	case EC_AMOUNT_EMPTY:
		return "no amount was given";
	case EC_AMOUNT_SYNTAX:
		return "write it as digits with an optional decimal point, like 12.50 (no sign, no spaces around it, no thousands separator, a dot and not a comma)";
	case EC_AMOUNT_NEGATIVE:
		return "an amount cannot be negative";
	case EC_AMOUNT_PRECISION:
		return "it has more decimals than the currency's smallest unit";
	case EC_AMOUNT_OVERFLOW:
		return "it is larger than the card can count (4294967295 minor units)";
	case EC_AMOUNT_CURRENCY:
		return "its currency code is not the currency in use";
	case EC_AMOUNT_UNKNOWN_CURRENCY:
		return "the currency in use is not one ecard knows, so its decimals are unknown";
	}
	return "it is not a valid amount";
}

const char *ec_amount_format_number(uint32_t minor, uint16_t currency, char *buf, size_t buflen)
{
	const struct ec_currency *cur = ec_currency_by_numeric(currency);
	int n;

	if (!buf || buflen == 0)
		return "";
	if (!cur || cur->exponent == 0) {
		n = snprintf(buf, buflen, "%lu", (unsigned long)minor);
	} else {
		uint32_t unit = pow10_table[cur->exponent];
		n = snprintf(buf, buflen, "%lu.%0*lu", (unsigned long)(minor / unit),
			     (int)cur->exponent, (unsigned long)(minor % unit));
	}
	if (n < 0 || (size_t)n >= buflen) {
		buf[0] = '\0';
		return buf;
	}
	return buf;
}

const char *ec_amount_format(uint32_t minor, uint16_t currency, char *buf, size_t buflen)
{
	const struct ec_currency *cur = ec_currency_by_numeric(currency);
	char number[EC_AMOUNT_TEXT_MAX];
	int n;

	if (!buf || buflen == 0)
		return "";
	ec_amount_format_number(minor, currency, number, sizeof(number));
	if (cur)
		n = snprintf(buf, buflen, "%s %s", number, cur->code);
	else
		n = snprintf(buf, buflen, "%s minor units of currency %u", number,
			     (unsigned)currency);
	if (n < 0 || (size_t)n >= buflen)
		buf[0] = '\0';
	return buf;
}
