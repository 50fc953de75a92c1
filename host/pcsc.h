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
 * Functions return an enum ec_status (error.h). EC_ERR_PCSC means a PC/SC
 * call failed; its code is kept in pc->last_rv and ec_strerror() turns
 * either into one sentence for the user.
 */
#ifndef ECARD_PCSC_H
#define ECARD_PCSC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <winscard.h>

#include "error.h"
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

	/* Called with true before each PC/SC call that waits on pcscd, the
	 * reader or the card, and with false after it: a caller bounds the
	 * wait there (ecard's --timeout), per call, so a long load is timed
	 * APDU by APDU. NULL: none. */
	void (*on_wait)(void *arg, bool begin);
	void *wait_arg;
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

/* One sentence for a status (error.h), with EC_ERR_PCSC described from
 * pc->last_rv. */
const char *ec_strerror(const struct ec_pcsc *pc, enum ec_status st);

/* "WHAT failed: <ec_strerror>"; returns st. */
enum ec_status ec_error_transport(struct ec_error *err, const struct ec_pcsc *pc,
				  enum ec_status st, const char *what);

#endif
