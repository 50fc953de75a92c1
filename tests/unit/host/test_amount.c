/*
 * test_amount.c - amounts in major units with their currency (host/amount.c):
 * the currency table, parsing and formatting, and what cannot be
 * represented exactly.
 */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "amount.h"

#define EUR 978
#define JPY 392
#define KWD 414

/* ---- amounts ---- */

static uint32_t parse_ok(const char *text, uint16_t currency)
{
	uint32_t v = 0xDEADBEEF;
	enum ec_amount_status st = ec_amount_parse(text, currency, &v);
	cr_assert_eq(st, EC_AMOUNT_OK, "\"%s\": %s", text, ec_amount_strerror(st));
	return v;
}

static void parse_fails(const char *text, uint16_t currency, enum ec_amount_status want)
{
	uint32_t v = 0xDEADBEEF;
	enum ec_amount_status st = ec_amount_parse(text, currency, &v);
	cr_assert_eq(st, want, "\"%s\" gave %d (%s), want %d", text, st, ec_amount_strerror(st),
		     want);
	cr_assert_eq(v, 0xDEADBEEF, "\"%s\": a refused amount must leave the output alone", text);
}

Test(amount, currency_table)
{
	static const struct {
		uint16_t numeric;
		const char *code;
		uint8_t exponent;
	} want[] = {
		{ 978, "EUR", 2 }, { 840, "USD", 2 }, { 826, "GBP", 2 }, { 756, "CHF", 2 },
		{ 392, "JPY", 0 }, { 752, "SEK", 2 }, { 578, "NOK", 2 }, { 208, "DKK", 2 },
		{ 985, "PLN", 2 }, { 203, "CZK", 2 },
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct ec_currency *c = ec_currency_by_numeric(want[i].numeric);
		cr_assert_not_null(c, "%u missing", want[i].numeric);
		cr_assert_str_eq(c->code, want[i].code);
		cr_assert_eq(c->exponent, want[i].exponent, "%s", want[i].code);
		cr_assert_eq(ec_currency_by_code(want[i].code), c);
	}
	cr_assert_eq(ec_currency_by_code("eur"), ec_currency_by_numeric(978));
	cr_assert_eq(ec_currency_parse("978"), ec_currency_by_numeric(978));
	cr_assert_eq(ec_currency_parse("Usd"), ec_currency_by_numeric(840));
	cr_assert_null(ec_currency_by_numeric(999));
	cr_assert_null(ec_currency_by_code("EU"));
	cr_assert_null(ec_currency_by_code("EURO"));
	cr_assert_null(ec_currency_parse(""));
	cr_assert_null(ec_currency_parse("97a"));
	cr_assert_null(ec_currency_parse("9780"));
}

Test(amount, parses_major_units)
{
	cr_assert_eq(parse_ok("12.50", EUR), 1250);
	cr_assert_eq(parse_ok("12.5", EUR), 1250);
	cr_assert_eq(parse_ok("12", EUR), 1200);
	cr_assert_eq(parse_ok("0.01", EUR), 1);
	cr_assert_eq(parse_ok("0", EUR), 0);
	cr_assert_eq(parse_ok("007.05", EUR), 705);
	cr_assert_eq(parse_ok("12.50 EUR", EUR), 1250);
	cr_assert_eq(parse_ok("12.50EUR", EUR), 1250);
	cr_assert_eq(parse_ok("12.50 eur", EUR), 1250);
	cr_assert_eq(parse_ok("1234", JPY), 1234);
	cr_assert_eq(parse_ok("1234 JPY", JPY), 1234);
	cr_assert_eq(parse_ok("1.234", KWD), 1234);
	cr_assert_eq(parse_ok("1.2", KWD), 1200);
}

Test(amount, refuses_what_it_cannot_represent_exactly)
{
	parse_fails("", EUR, EC_AMOUNT_EMPTY);
	parse_fails("   ", EUR, EC_AMOUNT_SYNTAX);
	parse_fails(NULL, EUR, EC_AMOUNT_EMPTY);
	parse_fails("-1", EUR, EC_AMOUNT_NEGATIVE);
	parse_fails("-0.01", EUR, EC_AMOUNT_NEGATIVE);
	parse_fails("1.234", EUR, EC_AMOUNT_PRECISION);
	parse_fails("12.500", EUR, EC_AMOUNT_PRECISION);
	parse_fails("12.5", JPY, EC_AMOUNT_PRECISION);
	parse_fails("1.2345", KWD, EC_AMOUNT_PRECISION);
	parse_fails(" 5", EUR, EC_AMOUNT_SYNTAX);
	parse_fails("5 ", EUR, EC_AMOUNT_SYNTAX);
	parse_fails(" 12.50 ", EUR, EC_AMOUNT_SYNTAX);
	parse_fails("12.50 EUR ", EUR, EC_AMOUNT_SYNTAX);
	parse_fails("\t5", EUR, EC_AMOUNT_SYNTAX);
	parse_fails("12.", EUR, EC_AMOUNT_SYNTAX);
	parse_fails(".5", EUR, EC_AMOUNT_SYNTAX);
	parse_fails("12,50", EUR, EC_AMOUNT_SYNTAX);
	parse_fails("1 000", EUR, EC_AMOUNT_SYNTAX);
	parse_fails("+1", EUR, EC_AMOUNT_SYNTAX);
	parse_fails("1e3", EUR, EC_AMOUNT_SYNTAX);
	parse_fails("12.50 EUR x", EUR, EC_AMOUNT_SYNTAX);
	parse_fails("0x10", EUR, EC_AMOUNT_SYNTAX);
	parse_fails("12.50 USD", EUR, EC_AMOUNT_CURRENCY);
	parse_fails("12.50 EURO", EUR, EC_AMOUNT_CURRENCY);
	parse_fails("12.50", 999, EC_AMOUNT_UNKNOWN_CURRENCY);
}

Test(amount, bounds_of_32_bits)
{
	cr_assert_eq(parse_ok("42949672.95", EUR), UINT32_MAX);
	cr_assert_eq(parse_ok("4294967295", JPY), UINT32_MAX);
	parse_fails("42949672.96", EUR, EC_AMOUNT_OVERFLOW);
	parse_fails("42949673", EUR, EC_AMOUNT_OVERFLOW);
	parse_fails("4294967296", JPY, EC_AMOUNT_OVERFLOW);
	parse_fails("99999999999999999999999999", EUR, EC_AMOUNT_OVERFLOW);
	/* Too precise wins over too large: the first thing to fix. */
	parse_fails("99999999999999999999.123", EUR, EC_AMOUNT_PRECISION);
}

Test(amount, formats_with_the_code)
{
	char buf[EC_AMOUNT_TEXT_MAX];
	cr_assert_str_eq(ec_amount_format(1250, EUR, buf, sizeof(buf)), "12.50 EUR");
	cr_assert_str_eq(ec_amount_format(5, EUR, buf, sizeof(buf)), "0.05 EUR");
	cr_assert_str_eq(ec_amount_format(0, EUR, buf, sizeof(buf)), "0.00 EUR");
	cr_assert_str_eq(ec_amount_format(UINT32_MAX, EUR, buf, sizeof(buf)), "42949672.95 EUR");
	cr_assert_str_eq(ec_amount_format(1234, JPY, buf, sizeof(buf)), "1234 JPY");
	cr_assert_str_eq(ec_amount_format(1, KWD, buf, sizeof(buf)), "0.001 KWD");
	cr_assert_str_eq(ec_amount_format(1250, 999, buf, sizeof(buf)),
			 "1250 minor units of currency 999");
	cr_assert_str_eq(ec_amount_format_number(1250, EUR, buf, sizeof(buf)), "12.50");
	cr_assert_str_eq(ec_amount_format(1250, EUR, buf, 5), "", "a short buffer gets nothing, not a cut number");
}

Test(amount, format_and_parse_round_trip)
{
	static const uint16_t codes[] = { EUR, JPY, KWD };
	char buf[EC_AMOUNT_TEXT_MAX];
	for (size_t c = 0; c < 3; c++)
		for (uint64_t v = 0; v <= UINT32_MAX; v = v * 7 + 3) {
			ec_amount_format((uint32_t)v, codes[c], buf, sizeof(buf));
			cr_assert_eq(parse_ok(buf, codes[c]), (uint32_t)v, "%s", buf);
		}
}
