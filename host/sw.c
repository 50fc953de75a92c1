/*
 * sw.c - ISO 7816-4 status words as sentences (see sw.h).
 *
 * Exact status words are looked up first, then the family of SW1, so a
 * specific meaning (6982, 6A82...) always wins over the family's generic
 * one. The texts for 6400 and 6985 follow the meaning ecard's wallet gives
 * them (insufficient funds; a load authorisation that does not apply).
 */
#include "sw.h"

#include <stdarg.h>
#include <stdio.h>

struct sw_text {
	uint16_t sw;
	const char *text;
};

static const struct sw_text exact[] = {
	{ 0x9000, "success" },
	{ 0x6200, "warning: no information given, the card's memory is unchanged" },
	{ 0x6281, "warning: part of the returned data may be corrupted" },
	{ 0x6282, "warning: the end of the file or record was reached before Le bytes were read" },
	{ 0x6283, "warning: the selected file or application is invalidated (locked)" },
	{ 0x6284, "warning: the file control information is not formatted according to ISO 7816-4" },
	{ 0x6300, "verification failed (no further information given)" },
	{ 0x6381, "warning: the file was filled up by the last write" },
	{ 0x6400, "insufficient funds: the wallet balance is lower than the amount" },
	{ 0x6581, "memory failure: the card could not write its persistent memory" },
	{ 0x6700, "wrong length: Lc or Le does not fit the command" },
	{ 0x6881, "logical channel not supported by the card or the application" },
	{ 0x6882, "secure messaging not supported" },
	{ 0x6883, "the last command of a chain was expected" },
	{ 0x6884, "command chaining not supported" },
	{ 0x6982, "security status not satisfied: verify the PIN or open a secure channel first" },
	{ 0x6983, "authentication method blocked: the PIN (or key) is blocked, unblock the PIN with the PUK" },
	{ 0x6984, "referenced data not usable (invalidated)" },
	{ 0x6985, "conditions of use not satisfied: the command is out of sequence or no longer applies" },
	{ 0x6986, "command not allowed: no application or file is selected" },
	{ 0x6A80, "incorrect parameters in the command data" },
	{ 0x6A81, "function not supported" },
	{ 0x6A82, "file or application not found" },
	{ 0x6A84, "not enough memory space on the card" },
	{ 0x6A86, "incorrect parameters P1-P2" },
	{ 0x6A88, "referenced data or key not found" },
	{ 0x6B00, "wrong parameters P1-P2 (offset outside the file)" },
	{ 0x6D00, "instruction not supported or invalid" },
	{ 0x6E00, "class (CLA) not supported" },
	{ 0x6F00, "the card failed with no precise diagnosis" },
};

/* Generic meanings by SW1, for status words without an entry above. */
static const struct sw_text family[] = {
	{ 0x62, "warning: the card's memory is unchanged" },
	{ 0x63, "warning: the card's memory has changed" },
	{ 0x64, "execution error: the card's memory is unchanged" },
	{ 0x65, "execution error: the card's memory has changed" },
	{ 0x66, "security-related error" },
	{ 0x67, "wrong length" },
	{ 0x68, "a function in CLA is not supported" },
	{ 0x69, "command not allowed" },
	{ 0x6A, "wrong parameters" },
	{ 0x6B, "wrong parameters P1-P2" },
	{ 0x6D, "instruction not supported or invalid" },
	{ 0x6E, "class (CLA) not supported" },
	{ 0x6F, "the card failed with no precise diagnosis" },
};

/* Format into buf, or NULL when there is no buffer or the text was cut. */
static const char *format(char *buf, size_t buflen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static const char *format(char *buf, size_t buflen, const char *fmt, ...)
{
	if (!buf || buflen == 0)
		return NULL;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, buflen, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= buflen)
		return NULL;
	return buf;
}

int ec_sw_is_pin_query(const uint8_t *cmd, size_t len)
{
	/* CLA 20 P1 P2, with no Lc or with Lc = 0 (ISO 7816-4 §11.5.6). */
	return len >= 4 && cmd[1] == 0x20 && (len == 4 || (len == 5 && cmd[4] == 0));
}

/* 63Cx and 6983 after the commands that check a PIN or a PUK. */
static const char *describe_pin_answer(const uint8_t *cmd, size_t len, uint16_t sw, char *buf,
				       size_t buflen)
{
	const char *what;
	unsigned tries = sw & 0x0F;
	const char *text = NULL;

	if (len < 4)
		return NULL;
	if (ec_sw_is_pin_query(cmd, len)) {
		if (sw == 0x9000)
			return "the PIN is verified";
		if ((sw & 0xFFF0) != 0x63C0)
			return NULL;
		text = format(buf, buflen, "the PIN is not verified; %u %s left", tries,
			      tries == 1 ? "try" : "tries");
		return text ? text : "the PIN is not verified";
	}
	switch (cmd[1]) {
	case 0x20:
		what = "wrong PIN";
		break;
	case 0x24:
		what = "wrong current PIN";
		break;
	case 0x2C:
		if (sw == 0x6983)
			return "the PUK is blocked: the PIN can no longer be unblocked";
		what = "wrong PUK";
		break;
	default:
		return NULL;
	}
	if ((sw & 0xFFF0) != 0x63C0)
		return NULL;
	if (tries == 0)
		text = cmd[1] == 0x2C ? format(buf, buflen, "wrong PUK, no tries left: the PUK is now blocked")
				      : format(buf, buflen, "%s, no tries left: the PIN is now blocked", what);
	else
		text = format(buf, buflen, "%s, %u %s left", what, tries, tries == 1 ? "try" : "tries");
	return text ? text : what;
}

const char *ec_sw_describe_command(const uint8_t *cmd, size_t len, uint16_t sw, char *buf,
				   size_t buflen)
{
	const char *text = cmd ? describe_pin_answer(cmd, len, sw, buf, buflen) : NULL;
	return text ? text : ec_sw_describe(sw, buf, buflen);
}

const char *ec_sw_describe(uint16_t sw, char *buf, size_t buflen)
{
	unsigned sw1 = sw >> 8, sw2 = sw & 0xFF;
	const char *text;

	for (size_t i = 0; i < sizeof(exact) / sizeof(exact[0]); i++)
		if (exact[i].sw == sw)
			return exact[i].text;

	if (sw1 == 0x61) {
		/* 6100 is the largest announcement a short Le can take. */
		text = sw2 == 0 ?
			format(buf, buflen, "success, 256 or more bytes are waiting for GET RESPONSE") :
			format(buf, buflen, "success, %u bytes are waiting for GET RESPONSE", sw2);
		return text ? text : "success, more bytes are waiting for GET RESPONSE";
	}
	if (sw1 == 0x63 && (sw2 & 0xF0) == 0xC0) {
		unsigned tries = sw2 & 0x0F;
		if (tries == 0)
			text = format(buf, buflen, "wrong PIN, no tries left: the PIN is now blocked");
		else
			text = format(buf, buflen, "wrong PIN, %u %s left", tries,
				      tries == 1 ? "try" : "tries");
		return text ? text : "wrong PIN (or verification failed), the counter has changed";
	}
	if (sw1 == 0x6C) {
		text = format(buf, buflen, "wrong Le: the card has %u bytes, send the command again with Le=%02X",
			      sw2 == 0 ? 256u : sw2, sw2);
		return text ? text : "wrong Le: send the command again with the Le the card gave";
	}

	for (size_t i = 0; i < sizeof(family) / sizeof(family[0]); i++)
		if (family[i].sw == sw1)
			return family[i].text;

	text = format(buf, buflen, "status word %04X is not defined by ISO 7816-4: see the application's documentation", sw);
	return text ? text : "a status word not defined by ISO 7816-4: see the application's documentation";
}
