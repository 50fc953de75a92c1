/*
 * error.c - libecard's statuses in words, and the struct ec_error helpers
 * every client fills its messages with (see error.h).
 */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>

#include "sw.h"

const char *ec_status_text(enum ec_status st)
{
	switch (st) {
	case EC_OK:
		return "the operation succeeded.";
	case EC_ERR_PCSC:
		return "a PC/SC call failed.";
	case EC_ERR_ARG:
		return "libecard was called with an argument it cannot use: this is a bug in the calling program.";
	case EC_ERR_NOT_CONNECTED:
		return "no card is connected: connect to a reader first.";
	case EC_ERR_NO_READERS:
		return "no smart-card reader is connected: plug one in (or start the virtual card) and try again.";
	case EC_ERR_NO_READER:
		return "no reader matches that name or index: list the readers and use a name or index shown there.";
	case EC_ERR_AMBIGUOUS_READER:
		return "that name matches several readers: give more of the name, or the reader's index.";
	case EC_ERR_NO_CARD:
		return "no reader holds a card: insert one (or start the virtual card) and try again.";
	case EC_ERR_BUFFER:
		return "the answer is larger than the buffer provided for it: the command asked for more data than the program can take.";
	case EC_ERR_TOO_LONG:
		return "the card's answer exceeds the limit on response size: the card is misbehaving, reset it and try again.";
	case EC_ERR_TOO_MANY_ROUNDS:
		return "the card kept announcing more data (61xx) past the limit on GET RESPONSE rounds: the card is misbehaving, reset it and try again.";
	case EC_ERR_BAD_RESPONSE:
		return "the card's answer has no status word: the card or the reader is misbehaving, reinsert the card and try again.";
	case EC_ERR_CARD:
		return "the card refused the command.";
	case EC_ERR_CHECK:
		return "a cryptographic check failed: the data was not made by the key it claims.";
	case EC_ERR_NOT_DONE:
		return "the card's answer was lost and the card did not carry the command out: nothing changed, run it again.";
	case EC_ERR_FILE:
		return "a file could not be read or written: check the path and its permissions.";
	case EC_ERR_INSECURE:
		return "a secret key file can be read by other users: make it readable by its owner only (chmod 600).";
	case EC_ERR_EXISTS:
		return "the file or directory exists already and was left as it is: choose another name.";
	case EC_ERR_FORMAT:
		return "a file or an answer is not in the expected format.";
	case EC_ERR_CRYPTO:
		return "the cryptographic library failed: check the OpenSSL installation.";
	case EC_ERR_CARD_LOST:
		return "the card lost power or left the reader in the middle of the command: once it is back, check whether the command took effect.";
	case EC_ERR_CANCELLED:
		return "no PIN was given: the operation was cancelled.";
	case EC_ERR_NOT_FOUND:
		return "there is no such record.";
	case EC_ERR_NETWORK:
		return "the server could not be reached, or its answer was lost.";
	case EC_ERR_LIMIT:
		return "too many attempts: wait a while before trying again.";
	}
	return "libecard reported an unknown status.";
}

enum ec_status ec_error_set(struct ec_error *err, enum ec_status st, const char *fmt, ...)
{
	if (!err)
		return st;
	err->status = st;
	err->sw = 0;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(err->text, sizeof(err->text), fmt, ap);
	va_end(ap);
	if (n < 0)
		snprintf(err->text, sizeof(err->text), "%s", ec_status_text(st));
	return st;
}

enum ec_status ec_error_card(struct ec_error *err, uint16_t sw, const char *fmt, ...)
{
	if (!err)
		return EC_ERR_CARD;
	err->status = EC_ERR_CARD;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(err->text, sizeof(err->text), fmt, ap);
	va_end(ap);
	if (n < 0)
		snprintf(err->text, sizeof(err->text), "%s", ec_status_text(EC_ERR_CARD));
	err->sw = sw;
	return EC_ERR_CARD;
}

enum ec_status ec_error_sw(struct ec_error *err, const char *what, uint16_t sw)
{
	char text[EC_SW_TEXT_MAX];

	return ec_error_card(err, sw, "the card refused %s: SW %04X (%s).", what, sw,
			     ec_sw_describe(sw, text, sizeof(text)));
}

enum ec_status ec_error_sw_command(struct ec_error *err, const char *what, const uint8_t *cmd,
				   size_t len, uint16_t sw)
{
	char text[EC_SW_TEXT_MAX];

	return ec_error_card(err, sw, "the card refused %s: SW %04X (%s).", what, sw,
			     ec_sw_describe_command(cmd, len, sw, text, sizeof(text)));
}

enum ec_status ec_error_refused(struct ec_error *err, const char *what, uint16_t sw,
				const char *hint)
{
	if (!hint)
		return ec_error_sw(err, what, sw);
	return ec_error_card(err, sw, "the card refused %s (SW %04X): %s", what, sw, hint);
}
