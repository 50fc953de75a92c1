/*
 * pcsc.h - libecard's PC/SC transport: reader listing and selection,
 * connection, and APDU exchange with the ISO 7816 T=0 response rules.
 *
 * Everything lives in a struct ec_pcsc that the caller owns; the library
 * keeps no state of its own. Sending is split in two layers so that the
 * response rules can be tested without pcscd:
 *
 *   ec_transmit()          GET RESPONSE on 61xx, resend with Le on 6Cxx,
 *                          bounds on size and rounds, concatenation
 *        |
 *   pc->raw_transmit()     one exchange, as SCardTransmit does it; by
 *                          default ec_raw_scard_transmit(), a test puts a
 *                          scripted card here
 *
 * Reader selection (ec_find_reader, ec_connect) takes one string:
 *   - NULL or ""        the first reader that holds a card (a responsive
 *                       one if there is any);
 *   - decimal digits    an index into the listing ("0" is the first reader);
 *   - anything else     a reader name: an exact match wins, otherwise the
 *                       string must occur, case-sensitively, inside exactly
 *                       one reader name (so a prefix such as "Virtual PCD"
 *                       works when it is unique).
 *
 * Functions return an enum ec_status. EC_ERR_PCSC means a PC/SC call failed;
 * its code is kept in pc->last_rv and ec_strerror() turns either into one
 * sentence for the user.
 */
#ifndef ECARD_PCSC_H
#define ECARD_PCSC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <winscard.h>

#include "log.h"

/* pcsc-lite serves at most 16 readers per context. */
#define EC_MAX_READERS 16
#define EC_READER_NAME_MAX MAX_READERNAME
#define EC_ATR_MAX MAX_ATR_SIZE

/* A short command (4 + 1 + 255 + 1) and an extended one (4 + 3 + 65535 + 2). */
#define EC_APDU_SHORT_MAX 261
#define EC_APDU_MAX (4 + 3 + 65535 + 2)
/* A short response (256 + SW) and an extended one (65536 + SW). */
#define EC_RESPONSE_SHORT_MAX 258
#define EC_RESPONSE_MAX (65536 + 2)

/*
 * Default bounds of ec_transmit: a response of at most EC_RESPONSE_MAX bytes
 * built from at most 256 GET RESPONSE rounds (enough for 64 KiB in 256-byte
 * pieces), so a card that keeps answering 61xx is stopped.
 */
#define EC_DEFAULT_MAX_GET_RESPONSE 256u

enum ec_status {
	EC_OK = 0,
	EC_ERR_PCSC,		/* a PC/SC call failed: the code is in last_rv */
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
	/* The purse, issuer and merchant clients add these: */
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
};

/*
 * What went wrong, for the clients built on the transport (wallet, issuer,
 * merchant): the status, the card's status word behind EC_ERR_CARD (0
 * otherwise), and one sentence for the user that says what happened and
 * what to do. The caller owns it; NULL where a function takes one means
 * "status only".
 */
#define EC_ERROR_TEXT_MAX 384

struct ec_error {
	enum ec_status status;
	uint16_t sw;
	char text[EC_ERROR_TEXT_MAX];
};

struct ec_pcsc;

/*
 * One exchange with the card. On entry *resp_len is the capacity of resp; on
 * success it holds the length of the answer, status word included. Returns a
 * PC/SC code (SCARD_S_SUCCESS on success), like SCardTransmit, so that a
 * fake card can inject any PC/SC failure.
 */
typedef long (*ec_raw_transmit_fn)(struct ec_pcsc *pc, const uint8_t *cmd,
				   size_t cmd_len, uint8_t *resp,
				   size_t *resp_len);

struct ec_pcsc {
	SCARDCONTEXT context;
	bool has_context;
	SCARDHANDLE card;
	bool connected;
	DWORD protocol;		/* SCARD_PROTOCOL_T0 or _T1 once connected */
	DWORD preferred_protocols;	/* what the last connect asked for */
	char reader[EC_READER_NAME_MAX];	/* the connected reader */

	ec_raw_transmit_fn raw_transmit;
	void *raw_arg;		/* for a replacement raw_transmit's own use */

	size_t max_response;	/* bound on a whole response, SW included */
	unsigned max_get_response;	/* bound on GET RESPONSE rounds */

	long last_rv;		/* the PC/SC code behind the last EC_ERR_PCSC */
	const struct logger *log;	/* NULL: silent */
};

struct ec_reader_info {
	char name[EC_READER_NAME_MAX];
	bool card_present;
	bool card_mute;		/* present but it did not answer the reset */
	bool in_use;		/* another application has it open */
	uint8_t atr[EC_ATR_MAX];
	size_t atr_len;		/* 0 when there is no card */
};

/*
 * Fill in defaults (SCardTransmit as raw transmit, default bounds) without
 * touching PC/SC; a unit test then replaces raw_transmit and never calls
 * ec_establish().
 */
void ec_pcsc_init(struct ec_pcsc *pc, const struct logger *log);

/* SCardEstablishContext; fails with SCARD_E_NO_SERVICE when pcscd is down. */
enum ec_status ec_establish(struct ec_pcsc *pc);

/* Disconnect (leaving the card as it is) and release the context. */
void ec_release(struct ec_pcsc *pc);

/*
 * List the readers in pcscd's order, with whether each holds a card (a
 * status query with no wait). *count is the number of entries filled in; no
 * reader at all gives EC_OK with *count 0. More readers than cap fills cap
 * entries and returns EC_ERR_BUFFER.
 */
enum ec_status ec_list_readers(struct ec_pcsc *pc, struct ec_reader_info *out,
			       size_t cap, size_t *count);

/*
 * Resolve a reader selection string (see the top of this file) to a full
 * reader name. No reader at all gives EC_ERR_NO_READERS.
 */
enum ec_status ec_find_reader(struct ec_pcsc *pc, const char *spec,
			      char *name, size_t name_cap);

/*
 * Connect in shared mode to the reader with exactly this name. protocols is
 * SCARD_PROTOCOL_T0, SCARD_PROTOCOL_T1 or both; 0 means both. An open
 * connection is closed first (leaving the card as it is).
 */
enum ec_status ec_connect_name(struct ec_pcsc *pc, const char *name,
			       DWORD protocols);

/* ec_find_reader() and ec_connect_name() in one call. */
enum ec_status ec_connect(struct ec_pcsc *pc, const char *spec,
			  DWORD protocols);

/* disposition: SCARD_LEAVE_CARD, SCARD_RESET_CARD, SCARD_UNPOWER_CARD... */
enum ec_status ec_disconnect(struct ec_pcsc *pc, DWORD disposition);

/*
 * Reconnect to the same reader with the same protocols; initialization is
 * SCARD_LEAVE_CARD (after another application reset the card), or
 * SCARD_RESET_CARD / SCARD_UNPOWER_CARD to start the card afresh.
 */
enum ec_status ec_reconnect(struct ec_pcsc *pc, DWORD initialization);

/* The card's ATR as SCardStatus reports it. */
enum ec_status ec_get_atr(struct ec_pcsc *pc, uint8_t *atr, size_t cap,
			  size_t *atr_len);

/*
 * Send one C-APDU and build the whole R-APDU: the data of every part, then
 * the last status word. On SW 61xx the card is sent GET RESPONSE (CLA 00
 * with the command's logical channel, INS C0, Le = xx, 00 meaning 256) and
 * the pieces are concatenated; on 6Cxx the same command is sent once more
 * with Le = xx. Extended-length commands are sent as they are and are never
 * rewritten. A response longer than resp_cap gives EC_ERR_BUFFER, one longer
 * than pc->max_response EC_ERR_TOO_LONG, more than pc->max_get_response
 * rounds EC_ERR_TOO_MANY_ROUNDS; nothing is written beyond resp_cap.
 */
enum ec_status ec_transmit(struct ec_pcsc *pc, const uint8_t *cmd,
			   size_t cmd_len, uint8_t *resp, size_t resp_cap,
			   size_t *resp_len);

/* The default raw transmit: SCardTransmit with the active protocol's PCI. */
long ec_raw_scard_transmit(struct ec_pcsc *pc, const uint8_t *cmd,
			   size_t cmd_len, uint8_t *resp, size_t *resp_len);

/* The status word at the end of an R-APDU (0 if it is shorter than two bytes). */
uint16_t ec_response_sw(const uint8_t *resp, size_t resp_len);

/*
 * One sentence saying what a PC/SC code means and what to do. Codes without
 * a sentence of their own get pcsc-lite's text and the hex code, written to
 * buf (or, for ec_pcsc_strerror, to a per-thread buffer that the next call
 * from the same thread overwrites).
 */
const char *ec_pcsc_strerror_r(long rv, char *buf, size_t buflen);
const char *ec_pcsc_strerror(long rv);

/* One sentence for a status; EC_ERR_PCSC is described from pc->last_rv. */
const char *ec_strerror(const struct ec_pcsc *pc, enum ec_status st);

/*
 * Fill err (when not NULL) with st and a sentence made from fmt, and return
 * st, so a failing function can end with "return ec_error_set(...)".
 */
enum ec_status ec_error_set(struct ec_error *err, enum ec_status st, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* "the card refused WHAT: SW xxxx (meaning)."; EC_ERR_CARD with err->sw. */
enum ec_status ec_error_sw(struct ec_error *err, const char *what, uint16_t sw);
/* "WHAT failed: <ec_strerror>"; returns st. */
enum ec_status ec_error_transport(struct ec_error *err, const struct ec_pcsc *pc,
				  enum ec_status st, const char *what);

#endif
