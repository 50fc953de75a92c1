/*
 * pcsc.c - libecard's PC/SC transport (see pcsc.h for the layering).
 *
 * This is the only file of libecard that calls pcsc-lite. Reader names come
 * from pcscd as a multi-string and are walked with explicit bounds; APDUs
 * are classified through the cursor, so the T=0 rules below never index a
 * command with a length they have not checked. The sentences for PC/SC
 * codes live here too; those for libecard's own statuses are in error.c.
 */
#include "pcsc.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "apdu_trace.h"
#include "cursor.h"
#include "iso7816.h"

#define SW1_MORE_DATA (SW_BYTES_REMAINING >> 8)
#define SW1_WRONG_LE (SW_WRONG_LE >> 8)

/* What the bytes after the header say about a command's Lc and Le. */
enum apdu_form {
	APDU_MALFORMED,		/* lengths do not add up: sent as it is */
	APDU_CASE1,		/* header only */
	APDU_CASE2,		/* header, Le */
	APDU_CASE3,		/* header, Lc, data */
	APDU_CASE4,		/* header, Lc, data, Le */
	APDU_EXTENDED,		/* extended Lc/Le: sent as it is */
};

static enum ec_status pcsc_failed(struct ec_pcsc *pc, const char *call, LONG rv)
{
	pc->last_rv = (long)rv;
	LOG_D(pc->log, "%s failed: %s (0x%08lX)", call, pcsc_stringify_error(rv),
	      (unsigned long)rv & 0xFFFFFFFFul);
	return EC_ERR_PCSC;
}

/* Around every PC/SC call that waits for pcscd, a reader or a card: the
 * caller's watchdog (ecard's --timeout) starts and stops there. */
static void wait_begin(struct ec_pcsc *pc)
{
	if (pc->on_wait)
		pc->on_wait(pc->wait_arg, true);
}

static void wait_end(struct ec_pcsc *pc)
{
	if (pc->on_wait)
		pc->on_wait(pc->wait_arg, false);
}

void ec_pcsc_init(struct ec_pcsc *pc, const struct logger *log)
{
	memset(pc, 0, sizeof(*pc));
	pc->raw_transmit = ec_raw_scard_transmit;
	pc->max_response = EC_RESPONSE_MAX;
	pc->max_get_response = EC_DEFAULT_MAX_GET_RESPONSE;
	pc->last_rv = SCARD_S_SUCCESS;
	pc->log = log;
}

enum ec_status ec_establish(struct ec_pcsc *pc)
{
	if (pc->has_context)
		return EC_OK;
	SCARDCONTEXT ctx;
	LONG rv;
	wait_begin(pc);
	rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx);
	wait_end(pc);
	if (rv != SCARD_S_SUCCESS)
		return pcsc_failed(pc, "SCardEstablishContext", rv);
	pc->context = ctx;
	pc->has_context = true;
	return EC_OK;
}

void ec_release(struct ec_pcsc *pc)
{
	if (pc->connected)
		(void)ec_disconnect(pc, SCARD_LEAVE_CARD);
	if (pc->has_context) {
		wait_begin(pc);
		SCardReleaseContext(pc->context);
		wait_end(pc);
		pc->has_context = false;
	}
}

/*
 * Split pcscd's multi-string ("a\0b\0\0") into the entries of out. The list
 * is trusted no further than len: a name without its terminator ends the walk.
 */
static size_t split_reader_names(const char *names, size_t len,
				 struct ec_reader_info *out, size_t cap,
				 size_t *total)
{
	size_t pos = 0, filled = 0;

	*total = 0;
	while (pos < len && names[pos] != '\0') {
		const char *end = memchr(names + pos, '\0', len - pos);
		if (!end)
			break;
		size_t n = (size_t)(end - (names + pos));
		if (filled < cap && n < sizeof(out[filled].name)) {
			memset(&out[filled], 0, sizeof(out[filled]));
			memcpy(out[filled].name, names + pos, n + 1);
			filled++;
		}
		(*total)++;
		pos += n + 1;
	}
	return filled;
}

enum ec_status ec_list_readers(struct ec_pcsc *pc, struct ec_reader_info *out,
			       size_t cap, size_t *count)
{
	char names[EC_MAX_READERS * EC_READER_NAME_MAX + 1];
	DWORD len = sizeof(names);
	SCARD_READERSTATE states[EC_MAX_READERS];
	size_t total;

	*count = 0;
	enum ec_status st = ec_establish(pc);
	if (st != EC_OK)
		return st;

	LONG rv;
	wait_begin(pc);
	rv = SCardListReaders(pc->context, NULL, names, &len);
	wait_end(pc);
	if (rv == SCARD_E_NO_READERS_AVAILABLE)
		return EC_OK;
	if (rv != SCARD_S_SUCCESS)
		return pcsc_failed(pc, "SCardListReaders", rv);
	if (len > sizeof(names))
		len = sizeof(names);

	if (cap > EC_MAX_READERS)
		cap = EC_MAX_READERS;
	size_t filled = split_reader_names(names, len, out, cap, &total);
	if (filled == 0)
		return EC_OK;

	/*
	 * UNAWARE as the known state makes pcscd report the present state at
	 * once; a zero timeout means a reader that has nothing new to say
	 * answers SCARD_E_TIMEOUT, which is not a failure here.
	 */
	memset(states, 0, sizeof(states));
	for (size_t i = 0; i < filled; i++) {
		states[i].szReader = out[i].name;
		states[i].dwCurrentState = SCARD_STATE_UNAWARE;
	}
	wait_begin(pc);
	rv = SCardGetStatusChange(pc->context, 0, states, (DWORD)filled);
	wait_end(pc);
	if (rv != SCARD_S_SUCCESS && rv != SCARD_E_TIMEOUT)
		return pcsc_failed(pc, "SCardGetStatusChange", rv);

	for (size_t i = 0; i < filled; i++) {
		DWORD ev = states[i].dwEventState;
		out[i].card_present = (ev & SCARD_STATE_PRESENT) != 0;
		out[i].card_mute = (ev & SCARD_STATE_MUTE) != 0;
		out[i].in_use = (ev & (SCARD_STATE_INUSE | SCARD_STATE_EXCLUSIVE)) != 0;
		out[i].atr_len = 0;
		if (out[i].card_present && states[i].cbAtr <= sizeof(out[i].atr)) {
			memcpy(out[i].atr, states[i].rgbAtr, states[i].cbAtr);
			out[i].atr_len = states[i].cbAtr;
		}
	}
	*count = filled;
	return filled < total ? EC_ERR_BUFFER : EC_OK;
}

static bool all_digits(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* Index of the reader a selection string names, or an error status. */
static enum ec_status pick_reader(const struct ec_reader_info *r, size_t n,
				  const char *spec, size_t *index)
{
	if (!spec || *spec == '\0') {
		/* Prefer a card that answered its reset over a mute one. */
		for (size_t i = 0; i < n; i++)
			if (r[i].card_present && !r[i].card_mute) {
				*index = i;
				return EC_OK;
			}
		for (size_t i = 0; i < n; i++)
			if (r[i].card_present) {
				*index = i;
				return EC_OK;
			}
		return EC_ERR_NO_CARD;
	}

	if (all_digits(spec)) {
		/* More digits than any index can have is simply out of range. */
		if (strlen(spec) > 4)
			return EC_ERR_NO_READER;
		size_t i = 0;
		for (const char *p = spec; *p; p++)
			i = i * 10 + (size_t)(*p - '0');
		if (i >= n)
			return EC_ERR_NO_READER;
		*index = i;
		return EC_OK;
	}

	for (size_t i = 0; i < n; i++)
		if (strcmp(r[i].name, spec) == 0) {
			*index = i;
			return EC_OK;
		}

	size_t matches = 0;
	for (size_t i = 0; i < n; i++)
		if (strstr(r[i].name, spec)) {
			*index = i;
			matches++;
		}
	if (matches == 0)
		return EC_ERR_NO_READER;
	if (matches > 1)
		return EC_ERR_AMBIGUOUS_READER;
	return EC_OK;
}

enum ec_status ec_find_reader(struct ec_pcsc *pc, const char *spec,
			      char *name, size_t name_cap)
{
	struct ec_reader_info readers[EC_MAX_READERS];
	size_t n, index = 0;

	enum ec_status st = ec_list_readers(pc, readers, EC_MAX_READERS, &n);
	if (st != EC_OK && st != EC_ERR_BUFFER)
		return st;
	if (n == 0)
		return EC_ERR_NO_READERS;
	st = pick_reader(readers, n, spec, &index);
	if (st != EC_OK)
		return st;
	size_t len = strlen(readers[index].name);
	if (len >= name_cap)
		return EC_ERR_BUFFER;
	memcpy(name, readers[index].name, len + 1);
	LOG_D(pc->log, "reader \"%s\" selected", name);
	return EC_OK;
}

enum ec_status ec_connect_name(struct ec_pcsc *pc, const char *name,
			       DWORD protocols)
{
	SCARDHANDLE card;
	DWORD active = 0;

	if (!name || strlen(name) >= sizeof(pc->reader))
		return EC_ERR_ARG;
	if (protocols == 0)
		protocols = SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1;
	enum ec_status st = ec_establish(pc);
	if (st != EC_OK)
		return st;
	if (pc->connected)
		(void)ec_disconnect(pc, SCARD_LEAVE_CARD);

	LONG rv;
	wait_begin(pc);
	rv = SCardConnect(pc->context, name, SCARD_SHARE_SHARED, protocols,
			       &card, &active);
	wait_end(pc);
	if (rv != SCARD_S_SUCCESS)
		return pcsc_failed(pc, "SCardConnect", rv);
	pc->card = card;
	pc->connected = true;
	pc->protocol = active;
	pc->preferred_protocols = protocols;
	memcpy(pc->reader, name, strlen(name) + 1);
	LOG_D(pc->log, "connected to \"%s\" with T=%d", name,
	      active == SCARD_PROTOCOL_T0 ? 0 : 1);
	return EC_OK;
}

enum ec_status ec_connect(struct ec_pcsc *pc, const char *spec,
			  DWORD protocols)
{
	char name[EC_READER_NAME_MAX];
	enum ec_status st = ec_find_reader(pc, spec, name, sizeof(name));
	if (st != EC_OK)
		return st;
	return ec_connect_name(pc, name, protocols);
}

enum ec_status ec_disconnect(struct ec_pcsc *pc, DWORD disposition)
{
	if (!pc->connected)
		return EC_OK;
	LONG rv;
	wait_begin(pc);
	rv = SCardDisconnect(pc->card, disposition);
	wait_end(pc);
	/* Whatever pcscd answers, this handle is not to be used again. */
	pc->connected = false;
	pc->protocol = 0;
	if (rv != SCARD_S_SUCCESS)
		return pcsc_failed(pc, "SCardDisconnect", rv);
	return EC_OK;
}

enum ec_status ec_reconnect(struct ec_pcsc *pc, DWORD initialization)
{
	DWORD active = 0;

	if (!pc->connected)
		return EC_ERR_NOT_CONNECTED;
	LONG rv;
	wait_begin(pc);
	rv = SCardReconnect(pc->card, SCARD_SHARE_SHARED,
				 pc->preferred_protocols, initialization, &active);
	wait_end(pc);
	if (rv != SCARD_S_SUCCESS)
		return pcsc_failed(pc, "SCardReconnect", rv);
	pc->protocol = active;
	return EC_OK;
}

enum ec_status ec_get_atr(struct ec_pcsc *pc, uint8_t *atr, size_t cap,
			  size_t *atr_len)
{
	char name[EC_READER_NAME_MAX];
	DWORD name_len = sizeof(name);
	DWORD state = 0, protocol = 0;
	BYTE buf[EC_ATR_MAX];
	DWORD len = sizeof(buf);

	*atr_len = 0;
	if (!pc->connected)
		return EC_ERR_NOT_CONNECTED;
	LONG rv;
	wait_begin(pc);
	rv = SCardStatus(pc->card, name, &name_len, &state, &protocol,
			      buf, &len);
	wait_end(pc);
	if (rv != SCARD_S_SUCCESS)
		return pcsc_failed(pc, "SCardStatus", rv);
	if (len > sizeof(buf) || len > cap)
		return EC_ERR_BUFFER;
	memcpy(atr, buf, len);
	*atr_len = len;
	return EC_OK;
}

long ec_raw_scard_transmit(struct ec_pcsc *pc, const uint8_t *cmd,
			   size_t cmd_len, uint8_t *resp, size_t *resp_len)
{
	const SCARD_IO_REQUEST *pci;

	if (!pc->connected)
		return SCARD_E_INVALID_HANDLE;
	switch (pc->protocol) {
	case SCARD_PROTOCOL_T0:
		pci = SCARD_PCI_T0;
		break;
	case SCARD_PROTOCOL_T1:
		pci = SCARD_PCI_T1;
		break;
	case SCARD_PROTOCOL_RAW:
		pci = SCARD_PCI_RAW;
		break;
	default:
		return SCARD_E_PROTO_MISMATCH;
	}
	DWORD len = (DWORD)*resp_len;
	LONG rv;
	wait_begin(pc);
	rv = SCardTransmit(pc->card, pci, cmd, (DWORD)cmd_len, NULL, resp,
				&len);
	wait_end(pc);
	*resp_len = rv == SCARD_S_SUCCESS ? (size_t)len : 0;
	return (long)rv;
}

/*
 * After a failed or empty answer: whether the card left the reader (or
 * lost power, which a reader sees as a removal or a reset) in the middle
 * of the command. pcscd notices within its polling period, so the state
 * is asked a few times over a second. Only through PC/SC itself.
 */
static bool card_left(struct ec_pcsc *pc)
{
	if (!pc->connected || pc->raw_transmit != ec_raw_scard_transmit)
		return false;
	for (int i = 0; i < 10; i++) {
		char name[EC_READER_NAME_MAX];
		DWORD name_len = sizeof(name), state = 0, protocol = 0, atr_len = EC_ATR_MAX;
		BYTE atr[EC_ATR_MAX];
		wait_begin(pc);
		LONG rv = SCardStatus(pc->card, name, &name_len, &state, &protocol, atr, &atr_len);
		wait_end(pc);
		if (rv == SCARD_W_REMOVED_CARD || rv == SCARD_W_RESET_CARD ||
		    rv == SCARD_E_NO_SMARTCARD || rv == SCARD_W_UNPOWERED_CARD)
			return true;
		if (rv != SCARD_S_SUCCESS)
			return false;
		struct timespec pause = { 0, 100 * 1000 * 1000 };
		nanosleep(&pause, NULL);
	}
	return false;
}

static enum apdu_form classify_apdu(const uint8_t *cmd, size_t len)
{
	struct cursor c;
	uint8_t p3;

	cursor_init(&c, cmd, len);
	if (!cursor_skip(&c, 4))
		return APDU_MALFORMED;
	if (cursor_remaining(&c) == 0)
		return APDU_CASE1;
	cursor_u8(&c, &p3);
	if (cursor_remaining(&c) == 0)
		return APDU_CASE2;
	if (p3 == 0)
		return APDU_EXTENDED;
	if (!cursor_skip(&c, p3))
		return APDU_MALFORMED;
	switch (cursor_remaining(&c)) {
	case 0:
		return APDU_CASE3;
	case 1:
		return APDU_CASE4;
	default:
		return APDU_MALFORMED;
	}
}

/*
 * GET RESPONSE goes to the logical channel the command used. The first
 * interindustry CLA (and GlobalPlatform's 8x) carries channels 0-3 in bits
 * 2-1; the further interindustry CLA (bit 7 set, and GlobalPlatform's Cx/Ex)
 * carries channels 4-19 in bits 4-1. Secure messaging and chaining bits are
 * not carried over: GET RESPONSE is a plain interindustry command.
 */
static uint8_t get_response_cla(uint8_t cla)
{
	return iso_cla(0x00, iso_cla_channel(cla));
}

/*
 * The command again with Le set to what the card asked for. Returns false
 * when the command has no short form to rewrite (extended or malformed).
 */
static bool with_le(const uint8_t *cmd, size_t len, uint8_t le,
		    uint8_t *out, size_t out_cap, size_t *out_len)
{
	struct writer w;

	writer_init(&w, out, out_cap);
	switch (classify_apdu(cmd, len)) {
	case APDU_CASE1:
	case APDU_CASE3:
		writer_bytes(&w, cmd, len);
		break;
	case APDU_CASE2:
	case APDU_CASE4:
		writer_bytes(&w, cmd, len - 1);
		break;
	case APDU_EXTENDED:
	case APDU_MALFORMED:
		return false;
	}
	writer_u8(&w, le);
	*out_len = w.len;
	return writer_ok(&w);
}

uint16_t ec_response_sw(const uint8_t *resp, size_t resp_len)
{
	if (resp_len < 2)
		return 0;
	return load_be16(resp + resp_len - 2);
}

enum ec_status ec_transmit(struct ec_pcsc *pc, const uint8_t *cmd,
			   size_t cmd_len, uint8_t *resp, size_t resp_cap,
			   size_t *resp_len)
{
	uint8_t resend[EC_APDU_SHORT_MAX];
	uint8_t get_response[5];
	const uint8_t *out = cmd;	/* what goes to the card this round */
	size_t out_len = cmd_len;
	size_t data_len = 0;		/* response data gathered so far */
	unsigned rounds = 0;

	if (resp_len)
		*resp_len = 0;
	if (!pc || !pc->raw_transmit || !cmd || !resp || !resp_len ||
	    cmd_len < 4 || cmd_len > EC_APDU_MAX)
		return EC_ERR_ARG;
	if (pc->raw_transmit == ec_raw_scard_transmit && !pc->connected)
		return EC_ERR_NOT_CONNECTED;

	/* Whichever bound is tighter decides which error an excess gets. */
	bool caller_bound = resp_cap <= pc->max_response;
	size_t limit = caller_bound ? resp_cap : pc->max_response;
	enum ec_status too_big = caller_bound ? EC_ERR_BUFFER : EC_ERR_TOO_LONG;
	if (limit < 2)
		return too_big;

	for (;;) {
		/*
		 * Each answer lands right after the data already gathered, over
		 * the previous status word, so the caller's buffer is the only
		 * one an extended response ever needs.
		 */
		size_t room = limit - data_len;
		size_t n = room;
		long rv = pc->raw_transmit(pc, out, out_len, resp + data_len, &n);
		if (rv == SCARD_E_INSUFFICIENT_BUFFER)
			return too_big;
		if ((rv != SCARD_S_SUCCESS || n < 2) && card_left(pc))
			return EC_ERR_CARD_LOST;
		if (rv != SCARD_S_SUCCESS)
			return pcsc_failed(pc, "transmit", (LONG)rv);
		if (n > room || n < 2)
			return EC_ERR_BAD_RESPONSE;

		uint8_t sw1 = resp[data_len + n - 2];
		uint8_t sw2 = resp[data_len + n - 1];
		if (pc->log && pc->log->level >= LOG_DEBUG) {
			char line[APDU_TRACE_LINE_MAX];
			LOG_D(pc->log, "%s", apdu_trace_line(out, out_len, resp + data_len, n, line,
							     sizeof(line)));
		}

		if (sw1 == SW1_WRONG_LE && out == cmd) {
			/*
			 * The card told the length to ask for: ask once more,
			 * and only once, since the resend is no longer cmd.
			 */
			size_t len;
			if (with_le(cmd, cmd_len, sw2, resend, sizeof(resend), &len)) {
				LOG_D(pc->log, "resending with Le %02X", sw2);
				out = resend;
				out_len = len;
				continue;
			}
		} else if (sw1 == SW1_WRONG_LE && out == get_response) {
			/* A wrong Le on GET RESPONSE: ask again, as a new round. */
			if (rounds >= pc->max_get_response)
				return EC_ERR_TOO_MANY_ROUNDS;
			rounds++;
			get_response[4] = sw2;
			continue;
		}

		data_len += n - 2;
		if (sw1 != SW1_MORE_DATA) {
			*resp_len = data_len + 2;
			return EC_OK;
		}

		if (rounds >= pc->max_get_response) {
			LOG_D(pc->log, "still 61%02X after %u GET RESPONSE rounds",
			      sw2, rounds);
			return EC_ERR_TOO_MANY_ROUNDS;
		}
		rounds++;
		get_response[0] = get_response_cla(cmd[0]);
		get_response[1] = ISO_INS_GET_RESPONSE;
		get_response[2] = 0x00;
		get_response[3] = 0x00;
		get_response[4] = sw2;	/* 00 asks for 256 bytes */
		out = get_response;
		out_len = sizeof(get_response);
	}
}

const char *ec_pcsc_strerror_r(long rv, char *buf, size_t buflen)
{
	switch (rv) {
	case SCARD_S_SUCCESS:
		return "the PC/SC operation succeeded.";
	case SCARD_E_NO_SERVICE:
		return "the PC/SC daemon pcscd is not running: start it (systemctl start pcscd) and try again.";
	case SCARD_E_SERVICE_STOPPED:
		return "the PC/SC daemon pcscd stopped during the operation: start it again (systemctl start pcscd) and retry.";
	case SCARD_F_COMM_ERROR:
		return "communication with the PC/SC daemon pcscd failed: restart it (systemctl restart pcscd) and try again.";
	case SCARD_E_NO_READERS_AVAILABLE:
		return "no smart-card reader is connected: plug one in (or start the virtual card) and try again.";
	case SCARD_E_UNKNOWN_READER:
		return "pcscd does not know this reader (it may have been unplugged): list the readers and use one that is there.";
	case SCARD_E_READER_UNAVAILABLE:
		return "the reader is not available (it may have been unplugged): reconnect it and try again.";
	case SCARD_E_NO_SMARTCARD:
		return "there is no card in the reader: insert one and try again.";
	case SCARD_W_REMOVED_CARD:
		return "the card was removed from the reader: insert it again and retry.";
	case SCARD_W_UNRESPONSIVE_CARD:
		return "the card does not answer the reader: check that it is inserted the right way round, or try another card.";
	case SCARD_W_UNPOWERED_CARD:
		return "the card is not powered: remove and reinsert it, then try again.";
	case SCARD_W_UNSUPPORTED_CARD:
		return "the reader cannot talk to this card (its ATR is not supported): try another card or reader.";
	case SCARD_W_RESET_CARD:
		return "another application reset the card: run the command again.";
	case SCARD_E_SHARING_VIOLATION:
		return "another application holds the card exclusively: close it and try again.";
	case SCARD_E_TIMEOUT:
		return "the reader or the card did not answer in time: check both and try again.";
	case SCARD_E_INSUFFICIENT_BUFFER:
		return "the card's answer was larger than the buffer provided for it: the command asked for more data than the program can take.";
	case SCARD_E_NOT_TRANSACTED:
		return "the reader could not exchange the command with the card: remove and reinsert the card, then try again.";
	case SCARD_E_INVALID_HANDLE:
		return "the connection to the card is no longer valid (the reader or the card went away): connect again and retry.";
	case SCARD_E_PROTO_MISMATCH:
		return "the card does not speak the requested protocol (T=0 or T=1): ask for the other one or for either.";
	case SCARD_E_NO_MEMORY:
		return "the PC/SC layer ran out of memory: close other applications and try again.";
	default:
		break;
	}
	if (!buf || buflen == 0)
		return "the PC/SC layer reported an error that ecard does not know.";
	snprintf(buf, buflen, "the PC/SC layer reported an error: %s (0x%08lX).",
		 pcsc_stringify_error((LONG)rv), (unsigned long)rv & 0xFFFFFFFFul);
	return buf;
}

const char *ec_pcsc_strerror(long rv)
{
	/* Per thread, like strerror's buffer, so the library stays reentrant. */
	static _Thread_local char text[160];
	return ec_pcsc_strerror_r(rv, text, sizeof(text));
}

const char *ec_strerror(const struct ec_pcsc *pc, enum ec_status st)
{
	if (st == EC_ERR_PCSC && pc)
		return ec_pcsc_strerror(pc->last_rv);
	return ec_status_text(st);
}

enum ec_status ec_error_transport(struct ec_error *err, const struct ec_pcsc *pc,
				  enum ec_status st, const char *what)
{
	return ec_error_set(err, st, "%s failed: %s", what, ec_strerror(pc, st));
}
