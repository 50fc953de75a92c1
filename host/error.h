/*
 * error.h - how libecard says what went wrong: a status for programs, and
 * for people one sentence that says what happened and what to do.
 *
 * Every function of libecard returns an enum ec_status; those that can say
 * more fill a caller-owned struct ec_error (NULL where a function takes
 * one means "status only"). This header needs nothing but the C library,
 * so the parts of libecard that never talk to a card (CAP files, key
 * files, the issuer's keys, SCP02) do not pull in PC/SC.
 */
#ifndef ECARD_ERROR_H
#define ECARD_ERROR_H

#include <stddef.h>
#include <stdint.h>

enum ec_status {
	EC_OK = 0,
	EC_ERR_PCSC,		/* a PC/SC call failed: the code is in the ec_pcsc's last_rv */
	EC_ERR_ARG,		/* an argument the function cannot use */
	EC_ERR_NOT_CONNECTED,	/* no card connection is open */
	EC_ERR_NO_READERS,	/* no reader is attached at all */
	EC_ERR_NO_READER,	/* no reader matches the name or index */
	EC_ERR_AMBIGUOUS_READER,	/* the name matches several readers */
	EC_ERR_NO_CARD,		/* no reader holds a card */
	EC_ERR_BUFFER,		/* the response does not fit the caller's buffer */
	EC_ERR_TOO_LONG,	/* the response exceeds max_response */
	EC_ERR_TOO_MANY_ROUNDS,	/* the card never stopped answering 61xx */
	EC_ERR_BAD_RESPONSE,	/* the card's answer is shorter than a status word */
	/* The purse, issuer, merchant and GlobalPlatform clients add these: */
	EC_ERR_CARD,		/* the card answered a status word other than 9000 */
	EC_ERR_CHECK,		/* a MAC, signature, certificate or record check failed */
	EC_ERR_NOT_DONE,	/* an answer was lost and the card did not carry
				   the command out: nothing changed */
	EC_ERR_FILE,		/* a file or directory could not be read or written */
	EC_ERR_INSECURE,	/* a secret file can be read by other users */
	EC_ERR_EXISTS,		/* refused to overwrite a file or directory */
	EC_ERR_FORMAT,		/* a file or an answer is not in the expected format */
	EC_ERR_CRYPTO,		/* the crypto module failed */
	EC_ERR_CANCELLED,	/* the user gave no PIN */
	EC_ERR_CARD_LOST,	/* the card lost power or left the reader in the
				   middle of a command: its outcome is unknown */
	EC_ERR_NOT_FOUND,	/* no such job, session or record */
	EC_ERR_NETWORK,		/* a server could not be reached, or its answer was lost */
	EC_ERR_LIMIT,		/* too many attempts: refused without trying, for a while */
};

/*
 * What went wrong: the status, the card's status word behind EC_ERR_CARD
 * (0 otherwise), and one sentence for the user.
 */
#define EC_ERROR_TEXT_MAX 384

struct ec_error {
	enum ec_status status;
	uint16_t sw;
	char text[EC_ERROR_TEXT_MAX];
};

/*
 * One sentence for a status alone. EC_ERR_PCSC and EC_ERR_NO_READERS say
 * more with the PC/SC code at hand: ec_strerror() in pcsc.h.
 */
const char *ec_status_text(enum ec_status st);

/*
 * Fill err (when not NULL) with st and a sentence made from fmt, and return
 * st, so a failing function can end with "return ec_error_set(...)".
 */
enum ec_status ec_error_set(struct ec_error *err, enum ec_status st, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The card said no with sw, in a sentence of the caller's: EC_ERR_CARD
 * with err->sw set. */
enum ec_status ec_error_card(struct ec_error *err, uint16_t sw, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* "the card refused WHAT: SW xxxx (meaning)."; EC_ERR_CARD with err->sw. */
enum ec_status ec_error_sw(struct ec_error *err, const char *what, uint16_t sw);
/* The same, with the status word read in the light of the command that
 * got it (ec_sw_describe_command): "wrong PUK", not "wrong PIN". */
enum ec_status ec_error_sw_command(struct ec_error *err, const char *what, const uint8_t *cmd,
				   size_t len, uint16_t sw);
/* A refusal with a likelier cause than the status word's general meaning:
 * "the card refused WHAT (SW xxxx): HINT"; EC_ERR_CARD with err->sw. A
 * NULL hint is ec_error_sw(). */
enum ec_status ec_error_refused(struct ec_error *err, const char *what, uint16_t sw,
				const char *hint);
#endif
