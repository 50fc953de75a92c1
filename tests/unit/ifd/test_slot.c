/*
 * test_slot.c - the driver's CCID command layer (ifd/commands.c) and
 * its slot layer (ifd/slot.c) against a scripted reader.
 *
 * The reader is a struct ifd_transport whose operations are test doubles:
 * a script lists, in order, every PC_to_RDR message the driver must send
 * (its type, bSlot, the bSeq that follows the previous one, and where it
 * matters its three parameter bytes and abData), every RDR_to_PC answer
 * the reader gives (built with ccid_build_response, echoing the slot and
 * sequence number of the last message sent unless a test wants a stale or
 * foreign one), raw bytes for malformed answers, transport errors, and
 * the class-specific ABORT request. Anything the driver does outside the
 * script fails the test where it happens, and a test ends by checking the
 * whole script was used.
 *
 * commands.c is held to its pairing rules: sequence numbers, stale answers,
 * time extensions, malformed answers, bStatus/bError, the abort sequence
 * after a timeout, an unplugged reader and the size limits. slot.c is held
 * to CCID 1.1 and ISO/IEC 7816-3 byte for byte: the voltage classes of
 * IccPowerOn, PPS and SetParameters from the ATR, S(IFS) at TPDU level,
 * the T=0 TPDU forms, T=1 blocks in XfrBlocks, and the command and
 * response chaining of the extended APDU level (§6.1.4 and §6.2.1).
 */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atr.h"
#include "ccid.h"
#include "commands.h"
#include "hex.h"
#include "slot.h"
#include "t1.h"
#include "test_support.h"
#include "transport.h"

/* ---- the scripted reader ---- */

#define SCRIPT_MAX 64

enum step_kind {
	STEP_SEND,	/* the driver must send this message */
	STEP_ANSWER,	/* the reader answers with a built message */
	STEP_RAW,	/* the reader answers with these bytes as they are */
	STEP_FAIL,	/* receive returns an IFD_TR_* error */
	STEP_ABORT,	/* the driver must issue the control ABORT request */
};

struct step {
	enum step_kind kind;
	uint8_t type;		/* SEND: expected type; ANSWER: type to send */
	uint8_t slot;		/* SEND, ABORT: expected bSlot */
	bool check_param;	/* SEND: compare bytes 7-9 */
	uint8_t param[3];
	bool check_data;	/* SEND: compare abData */
	uint8_t *data;		/* SEND: expected abData; ANSWER: abData; RAW: bytes */
	size_t len;
	int rc;			/* SEND: what send returns; FAIL: what receive returns */

	/* ANSWER: bStatus, bError, specific byte; bSeq and bSlot relative
	 * to the last message the driver sent. */
	uint8_t status, error, specific;
	int seq_offset, slot_offset;
	unsigned repeat;	/* ANSWER, RAW, FAIL: times given */
	unsigned given;

	/* What happened. */
	uint8_t *sent;		/* SEND: the message the driver sent */
	size_t sent_len;
	unsigned timeout_ms;	/* ANSWER, RAW, FAIL: receive's timeout (last time) */
	uint8_t abort_seq;	/* ABORT: the bSeq passed */
};

struct fake {
	struct ifd_transport tr;	/* first: the driver's pointer is ours */
	struct step steps[SCRIPT_MAX];
	size_t n, pos;
	uint8_t next_seq;	/* the bSeq the next message must carry */
	uint8_t last_slot, last_seq;
	uint8_t slot;		/* default bSlot of new steps */
	unsigned sends, receives, aborts;
};

static const char *kind_name(enum step_kind kind)
{
	static const char *const names[] = { "a message to send", "an answer", "raw bytes",
					     "a transport error", "an ABORT request" };
	return names[kind];
}

static struct step *add_step(struct fake *f, enum step_kind kind)
{
	cr_assert_lt(f->n, SCRIPT_MAX, "script too long");
	struct step *st = &f->steps[f->n++];

	memset(st, 0, sizeof(*st));
	st->kind = kind;
	st->slot = f->slot;
	st->repeat = 1;
	return st;
}

static uint8_t *heap_copy(const void *src, size_t len)
{
	uint8_t *p = malloc(len ? len : 1);

	cr_assert_not_null(p);
	if (len)
		memcpy(p, src, len);
	return p;
}

/* The driver must send a message of this type next... */
static struct step *expect_send(struct fake *f, uint8_t type)
{
	struct step *st = add_step(f, STEP_SEND);

	st->type = type;
	return st;
}

/* ...with these bytes 7 to 9... */
static void with_param(struct step *st, uint8_t p0, uint8_t p1, uint8_t p2)
{
	st->check_param = true;
	st->param[0] = p0;
	st->param[1] = p1;
	st->param[2] = p2;
}

/* ...and exactly this abData. */
static void with_data(struct step *st, const void *data, size_t len)
{
	st->check_data = true;
	st->data = heap_copy(data, len);
	st->len = len;
}

/* The reader answers the last message sent. */
static struct step *answer(struct fake *f, uint8_t type, uint8_t status, uint8_t error,
			   uint8_t specific, const void *data, size_t len)
{
	struct step *st = add_step(f, STEP_ANSWER);

	st->type = type;
	st->status = status;
	st->error = error;
	st->specific = specific;
	st->data = heap_copy(data, len);
	st->len = len;
	return st;
}

#define OK_STATUS CCID_STATUS(CCID_ICC_ACTIVE, CCID_CMD_OK)
#define TIME_EXTENSION CCID_STATUS(CCID_ICC_ACTIVE, CCID_CMD_TIME_EXTENSION)

static struct step *answer_data(struct fake *f, const void *data, size_t len, uint8_t chain)
{
	return answer(f, RDR_TO_PC_DATA_BLOCK, OK_STATUS, 0, chain, data, len);
}

static struct step *answer_slot_status(struct fake *f)
{
	return answer(f, RDR_TO_PC_SLOT_STATUS, OK_STATUS, 0, 0, NULL, 0);
}

static struct step *answer_failed(struct fake *f, uint8_t type, uint8_t icc, uint8_t error)
{
	return answer(f, type, CCID_STATUS(icc, CCID_CMD_FAILED), error, 0, NULL, 0);
}

static struct step *answer_raw(struct fake *f, const void *bytes, size_t len)
{
	struct step *st = add_step(f, STEP_RAW);

	st->data = heap_copy(bytes, len);
	st->len = len;
	return st;
}

static struct step *receive_fails(struct fake *f, int rc)
{
	struct step *st = add_step(f, STEP_FAIL);

	st->rc = rc;
	return st;
}

static struct step *expect_abort(struct fake *f)
{
	return add_step(f, STEP_ABORT);
}

static struct step *current(struct fake *f, enum step_kind kind, const char *what)
{
	cr_assert_lt(f->pos, f->n, "the driver %s after the script's end (step %zu)", what,
		     f->pos + 1);
	struct step *st = &f->steps[f->pos];
	bool receiving = kind != STEP_SEND && kind != STEP_ABORT;
	bool scripted_receive = st->kind != STEP_SEND && st->kind != STEP_ABORT;

	cr_assert(st->kind == kind || (receiving && scripted_receive),
		  "step %zu: the driver %s, the script expects %s", f->pos + 1, what,
		  kind_name(st->kind));
	return st;
}

static int fake_send(struct ifd_transport *t, const uint8_t *msg, size_t len)
{
	struct fake *f = (struct fake *)t;
	char *hex = malloc(2 * len + 1);

	cr_assert_not_null(hex);
	hex_encode(msg, len, hex);
	struct step *st = current(f, STEP_SEND, "sent a message");
	struct ccid_msg m;

	f->sends++;
	st->sent = heap_copy(msg, len);
	st->sent_len = len;
	cr_assert_eq(ccid_msg_decode(msg, len, &m), 0, "step %zu: not a CCID message: %s",
		     f->pos + 1, hex);
	cr_assert_eq(m.type, st->type, "step %zu: sent %s, expected %s (%s)", f->pos + 1,
		     ccid_msg_name(m.type), ccid_msg_name(st->type), hex);
	cr_assert_eq(m.slot, st->slot, "step %zu: bSlot %u, expected %u", f->pos + 1, m.slot,
		     st->slot);
	cr_assert_eq(m.seq, f->next_seq, "step %zu: bSeq %u, expected %u", f->pos + 1, m.seq,
		     f->next_seq);
	if (st->check_param)
		cr_assert_arr_eq(m.param, st->param, 3, "step %zu: bytes 7-9 of %s", f->pos + 1,
				 hex);
	if (st->check_data) {
		char *want = malloc(2 * st->len + 1);

		cr_assert_not_null(want);
		hex_encode(st->data, st->len, want);
		cr_assert(m.len == st->len && memcmp(m.data, st->data, st->len) == 0,
			  "step %zu: abData %s, expected %s", f->pos + 1, hex + 2 * CCID_HEADER_LEN,
			  want);
		free(want);
	}
	free(hex);
	f->last_slot = m.slot;
	f->last_seq = m.seq;
	f->next_seq++;
	f->pos++;
	return st->rc;
}

static int fake_receive(struct ifd_transport *t, uint8_t *buf, size_t cap, unsigned timeout_ms)
{
	struct fake *f = (struct fake *)t;
	struct step *st = current(f, STEP_ANSWER, "waited for an answer");
	int rc;

	f->receives++;
	st->timeout_ms = timeout_ms;
	switch (st->kind) {
	case STEP_ANSWER: {
		size_t n = ccid_build_response(st->type, (uint8_t)(f->last_slot + st->slot_offset),
					       (uint8_t)(f->last_seq + st->seq_offset), st->status,
					       st->error, st->specific, st->data, st->len, buf, cap);
		cr_assert_gt(n, 0, "step %zu: answer does not fit %zu bytes", f->pos + 1, cap);
		rc = (int)n;
		break;
	}
	case STEP_RAW:
		cr_assert_leq(st->len, cap);
		memcpy(buf, st->data, st->len);
		rc = (int)st->len;
		break;
	default:
		rc = st->rc;
		break;
	}
	if (++st->given == st->repeat)
		f->pos++;
	return rc;
}

static int fake_abort(struct ifd_transport *t, uint8_t slot, uint8_t seq)
{
	struct fake *f = (struct fake *)t;
	struct step *st = current(f, STEP_ABORT, "sent the ABORT request");

	f->aborts++;
	cr_assert_eq(slot, st->slot, "ABORT request for slot %u, expected %u", slot, st->slot);
	/* The PC_to_RDR_Abort that follows must carry the same bSeq. */
	cr_assert_eq(seq, f->next_seq, "ABORT request with bSeq %u, expected %u", seq,
		     f->next_seq);
	st->abort_seq = seq;
	f->pos++;
	return 0;
}

static int fake_interrupt(struct ifd_transport *t, uint8_t *buf, size_t cap, unsigned timeout_ms)
{
	(void)t;
	(void)buf;
	(void)cap;
	(void)timeout_ms;
	cr_assert_fail("the interrupt pipe is not the business of these units");
	return IFD_TR_IO;
}

static void fake_interrupt_cancel(struct ifd_transport *t)
{
	(void)t;
}

static void fake_close(struct ifd_transport *t)
{
	(void)t;
}

static const struct ifd_transport_ops fake_ops = {
	.send = fake_send,
	.receive = fake_receive,
	.interrupt = fake_interrupt,
	.interrupt_cancel = fake_interrupt_cancel,
	.abort = fake_abort,
	.close = fake_close,
};

/* The decoded message a SEND step received; it points into st->sent. */
static struct ccid_msg sent_msg(const struct step *st)
{
	struct ccid_msg m;

	cr_assert_not_null(st->sent, "that message was never sent");
	cr_assert_eq(ccid_msg_decode(st->sent, st->sent_len, &m), 0);
	return m;
}

/* ---- a reader, its command layer and one slot ---- */

struct rig {
	struct fake fake;
	struct ifd_ccid ccid;
	struct ifd_slot slot;
};

#define LEVEL_TPDU CCID_FEAT_LEVEL_TPDU
#define LEVEL_SHORT CCID_FEAT_LEVEL_SHORT_APDU
#define LEVEL_EXTENDED CCID_FEAT_LEVEL_EXTENDED_APDU
#define ALL_VOLTAGES (CCID_VOLTAGE_5V | CCID_VOLTAGE_3V | CCID_VOLTAGE_1_8V)

static struct rig *rig_new(uint32_t features, uint32_t max_message_length)
{
	struct rig *r = calloc(1, sizeof(*r));

	cr_assert_not_null(r);
	r->fake.tr.ops = &fake_ops;
	struct ccid_descriptor *d = &r->fake.tr.info.desc;
	d->bcd_ccid = 0x0110;
	d->max_slot_index = 1;
	d->voltage_support = ALL_VOLTAGES;
	d->protocols = 0x03;
	d->max_ifsd = 254;
	d->features = features;
	d->max_message_length = max_message_length;
	cr_assert_eq(ifd_ccid_init(&r->ccid, &r->fake.tr, NULL), IFD_CCID_OK);
	ifd_slot_init(&r->slot, &r->ccid, 0, NULL);
	return r;
}

static void rig_done(struct rig *r)
{
	struct fake *f = &r->fake;

	cr_expect_eq(f->pos, f->n, "the driver stopped at step %zu of %zu", f->pos + 1, f->n);
	for (size_t i = 0; i < f->n; i++) {
		free(f->steps[i].data);
		free(f->steps[i].sent);
	}
	ifd_ccid_free(&r->ccid);
	free(r);
}

static const uint8_t sw_ok[] = { 0x90, 0x00 };

/* ATRs. Each TCK is the XOR of T0 up to the last historical byte. */

/* T=0 only, no interface bytes, historical "EC". */
static const uint8_t atr_t0[] = { 0x3B, 0x02, 0x45, 0x43 };
/* TA1 = 96 (Fi 512, Di 32), TD1 T=1, TD2 T=1 with TA3 IFSC FE, TB3
 * BWI 4 CWI 5, TC3 CRC; historical "EC"; TCK
 * 92^96^81^71^FE^45^01^45^43 = 48. */
static const uint8_t atr_t1_fast[] = { 0x3B, 0x92, 0x96, 0x81, 0x71, 0xFE, 0x45,
				       0x01, 0x45, 0x43, 0x48 };
/* T=1 only with every default (IFSC 32, BWI 4, CWI 13, LRC); TCK 80^01. */
static const uint8_t atr_t1_plain[] = { 0x3B, 0x80, 0x01, 0x81 };
/* T=0 only with TA1 = 96: no TD1, so no TCK. */
static const uint8_t atr_t0_fast[] = { 0x3B, 0x10, 0x96 };
/* The same with a wrong TCK. */
static const uint8_t atr_bad_tck[] = { 0x3B, 0x80, 0x01, 0x00 };

/* Script a power up at the reader's voltage with this ATR, and run it. */
static void power_up_with(struct rig *r, const uint8_t *atr, size_t len)
{
	struct fake *f = &r->fake;

	expect_send(f, PC_TO_RDR_ICC_POWER_ON);
	answer_data(f, atr, len, 0);
	cr_assert_eq(ifd_slot_power_up(&r->slot), IFD_SLOT_OK);
}

/* ==== commands.c ==== */

Test(ccid_commands, seq_increments_and_wraps)
{
	struct rig *r = rig_new(LEVEL_SHORT, 271);
	struct fake *f = &r->fake;
	struct step *sent[3];
	uint8_t icc;

	r->ccid.seq = 0xFE;
	f->next_seq = 0xFE;
	for (int i = 0; i < 3; i++) {
		sent[i] = expect_send(f, PC_TO_RDR_GET_SLOT_STATUS);
		answer_slot_status(f);
	}
	for (int i = 0; i < 3; i++)
		cr_assert_eq(ifd_ccid_slot_status(&r->ccid, 0, &icc), IFD_CCID_OK);
	cr_expect_eq(sent_msg(sent[0]).seq, 0xFE);
	cr_expect_eq(sent_msg(sent[1]).seq, 0xFF);
	cr_expect_eq(sent_msg(sent[2]).seq, 0x00);
	cr_expect_eq(icc, CCID_ICC_ACTIVE);
	cr_expect_eq(r->ccid.seq, 0x01);
	rig_done(r);
}

Test(ccid_commands, stale_and_foreign_answers_are_discarded)
{
	struct rig *r = rig_new(LEVEL_SHORT, 271);
	struct fake *f = &r->fake;
	const uint8_t old[] = { 0x6F, 0x00 }, right[] = { 0x3B, 0x02, 0x45, 0x43 };
	uint8_t atr[33];
	size_t n = 0;

	r->ccid.seq = 7;
	f->next_seq = 7;
	expect_send(f, PC_TO_RDR_ICC_POWER_ON);
	answer_data(f, old, sizeof(old), 0)->seq_offset = -1;	/* an earlier command's */
	answer_data(f, old, sizeof(old), 0)->slot_offset = 1;	/* the other slot's */
	answer_data(f, old, sizeof(old), 0)->seq_offset = 1;	/* not even sent yet */
	answer_data(f, right, sizeof(right), 0);

	cr_assert_eq(ifd_ccid_power_on(&r->ccid, 0, CCID_POWER_AUTO, atr, sizeof(atr), &n),
		     IFD_CCID_OK);
	cr_assert_eq(n, sizeof(right));
	cr_expect_arr_eq(atr, right, n);
	cr_expect_eq(r->ccid.stale_discarded, 3);
	cr_expect_eq(r->ccid.malformed, 0);
	rig_done(r);
}

Test(ccid_commands, sixteen_stale_answers_are_tolerated)
{
	struct rig *r = rig_new(LEVEL_SHORT, 271);
	struct fake *f = &r->fake;
	uint8_t icc = 0xFF;

	expect_send(f, PC_TO_RDR_GET_SLOT_STATUS);
	answer_slot_status(f)->seq_offset = -1;
	f->steps[f->n - 1].repeat = 16;
	answer(f, RDR_TO_PC_SLOT_STATUS, CCID_STATUS(CCID_ICC_INACTIVE, CCID_CMD_OK), 0, 0, NULL,
	       0);

	cr_assert_eq(ifd_ccid_slot_status(&r->ccid, 0, &icc), IFD_CCID_OK);
	cr_expect_eq(icc, CCID_ICC_INACTIVE);
	cr_expect_eq(r->ccid.stale_discarded, 16);
	rig_done(r);
}

Test(ccid_commands, seventeen_stale_answers_are_a_protocol_error)
{
	struct rig *r = rig_new(LEVEL_SHORT, 271);
	struct fake *f = &r->fake;
	uint8_t rsp[16];
	size_t n = 99;

	expect_send(f, PC_TO_RDR_XFR_BLOCK);
	answer_data(f, sw_ok, 2, 0)->seq_offset = -3;
	f->steps[f->n - 1].repeat = 17;

	cr_assert_eq(ifd_ccid_xfr(&r->ccid, 0, 0, 0, sw_ok, 2, rsp, sizeof(rsp), &n, NULL),
		     IFD_CCID_PROTOCOL);
	cr_expect_eq(n, 0);
	cr_expect_eq(r->ccid.stale_discarded, 17);
	/* Not a timeout: no abort, and the next command goes out normally. */
	cr_expect_eq(f->aborts, 0);
	expect_send(f, PC_TO_RDR_XFR_BLOCK);
	answer_data(f, sw_ok, 2, 0);
	cr_assert_eq(ifd_ccid_xfr(&r->ccid, 0, 0, 0, sw_ok, 2, rsp, sizeof(rsp), &n, NULL),
		     IFD_CCID_OK);
	cr_expect_eq(n, 2);
	rig_done(r);
}

Test(ccid_commands, time_extensions_extend_the_wait_and_are_counted)
{
	struct rig *r = rig_new(LEVEL_SHORT, 271);
	struct fake *f = &r->fake;
	const uint8_t apdu[] = { 0x00, 0xB0, 0x00, 0x00, 0x02 };
	const uint8_t data[] = { 0x12, 0x34, 0x90, 0x00 };
	uint8_t rsp[16], chain = 0xEE;
	size_t n = 0;

	r->ccid.timeout_ms = 1000;
	expect_send(f, PC_TO_RDR_XFR_BLOCK);
	/* bError of a time extension is the multiplier; 0 counts as 1. A
	 * time extension may come in any answer type. */
	struct step *te0 = answer(f, RDR_TO_PC_DATA_BLOCK, TIME_EXTENSION, 0, 0, NULL, 0);
	struct step *te2 = answer(f, RDR_TO_PC_DATA_BLOCK, TIME_EXTENSION, 2, 0, NULL, 0);
	struct step *te5 = answer(f, RDR_TO_PC_SLOT_STATUS, TIME_EXTENSION, 5, 0, NULL, 0);
	struct step *last = answer_data(f, data, sizeof(data), 0);

	cr_assert_eq(ifd_ccid_xfr(&r->ccid, 0, 0, 0, apdu, sizeof(apdu), rsp, sizeof(rsp), &n,
				  &chain),
		     IFD_CCID_OK);
	cr_assert_eq(n, sizeof(data));
	cr_expect_arr_eq(rsp, data, n);
	cr_expect_eq(chain, 0);
	cr_expect_eq(r->ccid.time_extensions, 3);
	cr_expect_eq(te0->timeout_ms, 1000);
	cr_expect_eq(te2->timeout_ms, 1000);
	cr_expect_eq(te5->timeout_ms, 2000);
	cr_expect_eq(last->timeout_ms, 5000);
	/* The next command waits the normal time again. */
	expect_send(f, PC_TO_RDR_XFR_BLOCK);
	struct step *next = answer_data(f, sw_ok, 2, 0);
	cr_assert_eq(ifd_ccid_xfr(&r->ccid, 0, 0, 0, apdu, sizeof(apdu), rsp, sizeof(rsp), &n,
				  NULL),
		     IFD_CCID_OK);
	cr_expect_eq(next->timeout_ms, 1000);
	rig_done(r);
}

Test(ccid_commands, endless_time_extensions_end_in_a_timeout_and_an_abort)
{
	struct rig *r = rig_new(LEVEL_SHORT, 271);
	struct fake *f = &r->fake;
	uint8_t rsp[16];
	size_t n;

	expect_send(f, PC_TO_RDR_XFR_BLOCK);
	answer(f, RDR_TO_PC_DATA_BLOCK, TIME_EXTENSION, 1, 0, NULL, 0)->repeat = 1001;
	expect_abort(f);
	expect_send(f, PC_TO_RDR_ABORT);
	answer_slot_status(f);

	cr_assert_eq(ifd_ccid_xfr(&r->ccid, 0, 0, 0, sw_ok, 2, rsp, sizeof(rsp), &n, NULL),
		     IFD_CCID_TIMEOUT);
	cr_expect_eq(r->ccid.time_extensions, 1001);
	rig_done(r);
}

/* One malformed answer and what makes it malformed. */
struct bad_answer {
	const char *what;
	enum step_kind kind;	/* STEP_ANSWER or STEP_RAW */
	uint8_t type, status;
	uint8_t raw[16];
	size_t raw_len;
};

Test(ccid_commands, malformed_answers_are_protocol_errors)
{
	static const struct bad_answer bad[] = {
		{ "dwLength 5 with 2 bytes", STEP_RAW, 0, 0,
		  { 0x80, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x90, 0x00 }, 12 },
		{ "dwLength 0 with 2 bytes", STEP_RAW, 0, 0,
		  { 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x90, 0x00 }, 12 },
		{ "dwLength above 4 GB", STEP_RAW, 0, 0,
		  { 0x80, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0x00 }, 10 },
		{ "header cut short", STEP_RAW, 0, 0, { 0x80, 0x00, 0x00, 0x00, 0x00, 0x00 }, 6 },
		{ "nothing at all", STEP_RAW, 0, 0, { 0 }, 0 },
		{ "unknown type 99", STEP_ANSWER, 0x99, OK_STATUS, { 0 }, 0 },
		{ "a PC_to_RDR type", STEP_ANSWER, PC_TO_RDR_XFR_BLOCK, OK_STATUS, { 0 }, 0 },
		{ "an interrupt type", STEP_ANSWER, RDR_TO_PC_NOTIFY_SLOT_CHANGE, OK_STATUS, { 0 },
		  0 },
		{ "SlotStatus for XfrBlock", STEP_ANSWER, RDR_TO_PC_SLOT_STATUS, OK_STATUS, { 0 },
		  0 },
		{ "Parameters for XfrBlock", STEP_ANSWER, RDR_TO_PC_PARAMETERS, OK_STATUS, { 0 },
		  0 },
		{ "command status 3 (RFU)", STEP_ANSWER, RDR_TO_PC_DATA_BLOCK, 0xC0, { 0 }, 0 },
	};
	struct rig *r = rig_new(LEVEL_SHORT, 271);
	struct fake *f = &r->fake;
	uint8_t rsp[16];
	size_t n;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		expect_send(f, PC_TO_RDR_XFR_BLOCK);
		if (bad[i].kind == STEP_RAW)
			answer_raw(f, bad[i].raw, bad[i].raw_len);
		else
			answer(f, bad[i].type, bad[i].status, 0, 0, sw_ok, 2);
		n = 99;
		cr_expect_eq(ifd_ccid_xfr(&r->ccid, 0, 0, 0, sw_ok, 2, rsp, sizeof(rsp), &n, NULL),
			     IFD_CCID_PROTOCOL, "%s", bad[i].what);
		cr_expect_eq(n, 0, "%s", bad[i].what);
		cr_expect_eq(r->ccid.malformed, i + 1, "%s", bad[i].what);
	}
	/* Other commands check their own answer type. */
	struct ccid_params p = { .protocol = 0, .fi_di = 0x11, .waiting = 10 };
	expect_send(f, PC_TO_RDR_SET_PARAMETERS);
	answer_slot_status(f);
	cr_expect_eq(ifd_ccid_set_parameters(&r->ccid, 0, &p), IFD_CCID_PROTOCOL);
	expect_send(f, PC_TO_RDR_ICC_POWER_OFF);
	answer_data(f, NULL, 0, 0);
	cr_expect_eq(ifd_ccid_power_off(&r->ccid, 0), IFD_CCID_PROTOCOL);
	uint8_t atr[33];
	expect_send(f, PC_TO_RDR_ICC_POWER_ON);
	answer(f, RDR_TO_PC_ESCAPE, OK_STATUS, 0, 0, atr_t0, sizeof(atr_t0));
	cr_expect_eq(ifd_ccid_power_on(&r->ccid, 0, 0, atr, sizeof(atr), &n), IFD_CCID_PROTOCOL);
	/* Parameters whose structure does not fit its bProtocolNum. */
	expect_send(f, PC_TO_RDR_GET_PARAMETERS);
	answer(f, RDR_TO_PC_PARAMETERS, OK_STATUS, 0, 1, "\x11\x10\x00\x4D\x00", 5);
	cr_expect_eq(ifd_ccid_get_parameters(&r->ccid, 0, &p), IFD_CCID_PROTOCOL);
	/* And the reader is still usable. */
	expect_send(f, PC_TO_RDR_XFR_BLOCK);
	answer_data(f, sw_ok, 2, 0);
	cr_expect_eq(ifd_ccid_xfr(&r->ccid, 0, 0, 0, sw_ok, 2, rsp, sizeof(rsp), &n, NULL),
		     IFD_CCID_OK);
	cr_expect_eq(f->aborts, 0);
	rig_done(r);
}

/* QEMU's usb-ccid answers SetParameters with a Parameters message whose
 * dwLength is 0 and that carries the 7-byte structure all the same: taken,
 * the extra bytes ignored and reported once. The same extra bytes after a
 * DataBlock could be half of a card's answer: refused, and the refusal
 * logged with what the message said of itself. */
Test(ccid_commands, bytes_after_a_parameters_answer_are_ignored_and_reported_once)
{
	struct rig *r = rig_new(LEVEL_TPDU, 271);
	struct fake *f = &r->fake;
	struct ts_log_capture logs;
	struct ccid_params p = { .protocol = 0, .fi_di = 0x11, .waiting = 10 };
	/* 82, dwLength 0, slot, seq, bStatus 0, bError 0, bProtocolNum 0,
	 * then T=1's 7 bytes. */
	uint8_t qemu[17] = { 0x82, 0, 0, 0, 0, 0, 0, 0, 0, 0,
			     0x11, 0x00, 0x00, 0x0A, 0x00, 0xFE, 0x00 };
	uint8_t rsp[8];
	size_t n;

	ts_log_capture_init(&logs);
	r->ccid.log = &logs.logger;
	for (uint8_t seq = 0; seq < 2; seq++) {
		expect_send(f, PC_TO_RDR_SET_PARAMETERS);
		qemu[6] = seq;
		answer_raw(f, qemu, sizeof(qemu));
		cr_expect_eq(ifd_ccid_set_parameters(&r->ccid, 0, &p), IFD_CCID_OK);
	}
	cr_expect_eq(r->ccid.malformed, 0);
	const char *first = strstr(logs.text, "RDR_to_PC_Parameters with dwLength 0 and 7 more");
	cr_expect_not_null(first, "logged: %s", logs.text);
	cr_expect_null(first ? strstr(first + 40, "dwLength 0 and 7 more") : NULL,
		       "logged twice: %s", logs.text);

	/* A DataBlock saying 2 bytes and bringing 4. */
	uint8_t data[14] = { 0x80, 0x02, 0, 0, 0, 0, 2, 0, 0, 0, 0x90, 0x00, 0x90, 0x00 };
	expect_send(f, PC_TO_RDR_XFR_BLOCK);
	answer_raw(f, data, sizeof(data));
	cr_expect_eq(ifd_ccid_xfr(&r->ccid, 0, 0, 0, sw_ok, 2, rsp, sizeof(rsp), &n, NULL),
		     IFD_CCID_PROTOCOL);
	cr_expect_eq(r->ccid.malformed, 1);
	cr_expect_not_null(strstr(logs.text, "type 80 (RDR_to_PC_DataBlock), dwLength 2, 14 bytes"),
			   "logged: %s", logs.text);
	cr_expect_not_null(strstr(logs.text, "refused answer begins: 80 02 00 00 00 00 02"),
			   "logged: %s", logs.text);
	rig_done(r);
}

Test(ccid_commands, get_parameters_decodes_the_structure)
{
	struct rig *r = rig_new(LEVEL_TPDU, 271);
	struct fake *f = &r->fake;
	const uint8_t t1[] = { 0x96, 0x11, 0x02, 0x45, 0x03, 0xFE, 0x00 };
	struct ccid_params p;

	expect_send(f, PC_TO_RDR_GET_PARAMETERS);
	answer(f, RDR_TO_PC_PARAMETERS, OK_STATUS, 0, 1, t1, sizeof(t1));
	cr_assert_eq(ifd_ccid_get_parameters(&r->ccid, 0, &p), IFD_CCID_OK);
	cr_expect_eq(p.protocol, 1);
	cr_expect_eq(p.fi_di, 0x96);
	cr_expect_eq(p.tcck, 0x11);
	cr_expect_eq(p.guard_time, 0x02);
	cr_expect_eq(p.waiting, 0x45);
	cr_expect_eq(p.clock_stop, 0x03);
	cr_expect_eq(p.ifsc, 0xFE);
	rig_done(r);
}

Test(ccid_commands, failed_commands_by_icc_state_and_error)
{
	struct rig *r = rig_new(LEVEL_SHORT, 271);
	struct fake *f = &r->fake;
	uint8_t atr[33], rsp[16], icc = 0xFF;
	size_t n;

	expect_send(f, PC_TO_RDR_ICC_POWER_ON);
	answer_failed(f, RDR_TO_PC_DATA_BLOCK, CCID_ICC_ABSENT, CCID_ERR_ICC_MUTE);
	cr_expect_eq(ifd_ccid_power_on(&r->ccid, 0, 0, atr, sizeof(atr), &n), IFD_CCID_NO_CARD);

	expect_send(f, PC_TO_RDR_ICC_POWER_ON);
	answer_failed(f, RDR_TO_PC_DATA_BLOCK, CCID_ICC_INACTIVE, CCID_ERR_ICC_MUTE);
	cr_expect_eq(ifd_ccid_power_on(&r->ccid, 0, 0, atr, sizeof(atr), &n), IFD_CCID_MUTE);
	cr_expect_eq(r->ccid.last_error, CCID_ERR_ICC_MUTE);

	expect_send(f, PC_TO_RDR_XFR_BLOCK);
	answer_failed(f, RDR_TO_PC_DATA_BLOCK, CCID_ICC_ACTIVE, CCID_ERR_XFR_PARITY_ERROR);
	cr_expect_eq(ifd_ccid_xfr(&r->ccid, 0, 0, 0, sw_ok, 2, rsp, sizeof(rsp), &n, NULL),
		     IFD_CCID_FAILED);
	cr_expect_eq(r->ccid.last_error, CCID_ERR_XFR_PARITY_ERROR);

	expect_send(f, PC_TO_RDR_ICC_POWER_OFF);
	answer_failed(f, RDR_TO_PC_SLOT_STATUS, CCID_ICC_ACTIVE, CCID_ERR_HW_ERROR);
	cr_expect_eq(ifd_ccid_power_off(&r->ccid, 0), IFD_CCID_FAILED);
	cr_expect_eq(r->ccid.last_error, CCID_ERR_HW_ERROR);
	cr_expect_eq(r->ccid.last_status, CCID_STATUS(CCID_ICC_ACTIVE, CCID_CMD_FAILED));

	/* A bad-parameter offset (§6.2.6) is an error like any other. */
	struct ccid_params p = { .protocol = 1, .fi_di = 0x96 };
	expect_send(f, PC_TO_RDR_SET_PARAMETERS);
	answer_failed(f, RDR_TO_PC_PARAMETERS, CCID_ICC_ACTIVE, 0x0A);
	cr_expect_eq(ifd_ccid_set_parameters(&r->ccid, 0, &p), IFD_CCID_FAILED);
	cr_expect_eq(r->ccid.last_error, 0x0A);

	/* GetSlotStatus reports the ICC state even when it "fails". */
	expect_send(f, PC_TO_RDR_GET_SLOT_STATUS);
	answer_failed(f, RDR_TO_PC_SLOT_STATUS, CCID_ICC_ABSENT, CCID_ERR_ICC_MUTE);
	cr_expect_eq(ifd_ccid_slot_status(&r->ccid, 0, &icc), IFD_CCID_OK);
	cr_expect_eq(icc, CCID_ICC_ABSENT);
	cr_expect_eq(f->aborts, 0);
	rig_done(r);
}

Test(ccid_commands, timeout_sends_the_abort_sequence)
{
	struct rig *r = rig_new(LEVEL_SHORT, 271);
	struct fake *f = &r->fake;
	uint8_t rsp[16];
	size_t n = 99;

	r->ccid.seq = 0x40;
	f->next_seq = 0x40;
	f->slot = 1;
	struct step *xfr = expect_send(f, PC_TO_RDR_XFR_BLOCK);
	struct step *wait = receive_fails(f, IFD_TR_TIMEOUT);
	struct step *ctl = expect_abort(f);
	struct step *abort_msg = expect_send(f, PC_TO_RDR_ABORT);
	with_param(abort_msg, 0, 0, 0);
	with_data(abort_msg, NULL, 0);
	/* The late answer to the XfrBlock crosses the Abort: stale. */
	answer_data(f, sw_ok, 2, 0)->seq_offset = -1;
	struct step *abort_wait = answer_slot_status(f);

	cr_assert_eq(ifd_ccid_xfr(&r->ccid, 1, 0, 0, sw_ok, 2, rsp, sizeof(rsp), &n, NULL),
		     IFD_CCID_TIMEOUT);
	cr_expect_eq(n, 0);
	cr_expect_eq(sent_msg(xfr).seq, 0x40);
	cr_expect_eq(ctl->abort_seq, 0x41);
	cr_expect_eq(sent_msg(abort_msg).seq, 0x41);
	cr_expect_eq(sent_msg(abort_msg).slot, 1);
	cr_expect_eq(wait->timeout_ms, 5000);
	/* The abort is not waited for as long as a command. */
	cr_expect_leq(abort_wait->timeout_ms, 1000);
	cr_expect_eq(r->ccid.stale_discarded, 1);

	/* The next command goes on with the next bSeq. */
	struct step *next = expect_send(f, PC_TO_RDR_XFR_BLOCK);
	answer_data(f, sw_ok, 2, 0);
	cr_assert_eq(ifd_ccid_xfr(&r->ccid, 1, 0, 0, sw_ok, 2, rsp, sizeof(rsp), &n, NULL),
		     IFD_CCID_OK);
	cr_expect_eq(sent_msg(next).seq, 0x42);
	rig_done(r);
}

Test(ccid_commands, an_unanswered_abort_does_not_abort_again)
{
	struct rig *r = rig_new(LEVEL_SHORT, 271);
	struct fake *f = &r->fake;

	r->ccid.timeout_ms = 300;
	expect_send(f, PC_TO_RDR_ICC_POWER_OFF);
	receive_fails(f, IFD_TR_TIMEOUT);
	expect_abort(f);
	expect_send(f, PC_TO_RDR_ABORT);
	struct step *abort_wait = receive_fails(f, IFD_TR_TIMEOUT);

	cr_assert_eq(ifd_ccid_power_off(&r->ccid, 0), IFD_CCID_TIMEOUT);
	cr_expect_eq(f->aborts, 1);
	cr_expect_eq(abort_wait->timeout_ms, 300);
	cr_expect_eq(r->ccid.timeout_ms, 300);
	rig_done(r);
}

Test(ccid_commands, explicit_abort_uses_a_fresh_seq)
{
	struct rig *r = rig_new(LEVEL_SHORT, 271);
	struct fake *f = &r->fake;

	r->ccid.seq = 9;
	f->next_seq = 9;
	struct step *ctl = expect_abort(f);
	struct step *msg = expect_send(f, PC_TO_RDR_ABORT);
	answer_slot_status(f);
	cr_assert_eq(ifd_ccid_abort(&r->ccid, 0), IFD_CCID_OK);
	cr_expect_eq(ctl->abort_seq, 9);
	cr_expect_eq(sent_msg(msg).seq, 9);
	rig_done(r);
}

/* Every command after the reader went away. */
static void expect_all_gone(struct rig *r)
{
	struct fake *f = &r->fake;
	struct ccid_params p = { .protocol = 0, .fi_di = 0x11 };
	uint8_t buf[64], icc;
	size_t n;
	unsigned sends = f->sends, receives = f->receives, aborts = f->aborts;

	cr_expect_eq(ifd_ccid_power_on(&r->ccid, 0, 0, buf, sizeof(buf), &n), IFD_CCID_GONE);
	cr_expect_eq(ifd_ccid_power_off(&r->ccid, 0), IFD_CCID_GONE);
	cr_expect_eq(ifd_ccid_slot_status(&r->ccid, 0, &icc), IFD_CCID_GONE);
	cr_expect_eq(ifd_ccid_xfr(&r->ccid, 0, 0, 0, sw_ok, 2, buf, sizeof(buf), &n, NULL),
		     IFD_CCID_GONE);
	cr_expect_eq(ifd_ccid_get_parameters(&r->ccid, 0, &p), IFD_CCID_GONE);
	cr_expect_eq(ifd_ccid_set_parameters(&r->ccid, 0, &p), IFD_CCID_GONE);
	cr_expect_eq(ifd_ccid_escape(&r->ccid, 0, sw_ok, 2, buf, sizeof(buf), &n), IFD_CCID_GONE);
	cr_expect_eq(ifd_ccid_abort(&r->ccid, 0), IFD_CCID_GONE);
	cr_expect_eq(ifd_slot_power_up(&r->slot), IFD_SLOT_GONE);
	cr_expect_eq(f->sends, sends, "a message went to a reader that is gone");
	cr_expect_eq(f->receives, receives);
	cr_expect_eq(f->aborts, aborts);
}

Test(ccid_commands, reader_gone_on_receive_fails_everything_after)
{
	struct rig *r = rig_new(LEVEL_SHORT, 271);
	struct fake *f = &r->fake;
	uint8_t rsp[16];
	size_t n;

	expect_send(f, PC_TO_RDR_XFR_BLOCK);
	receive_fails(f, IFD_TR_GONE);
	cr_assert_eq(ifd_ccid_xfr(&r->ccid, 0, 0, 0, sw_ok, 2, rsp, sizeof(rsp), &n, NULL),
		     IFD_CCID_GONE);
	cr_expect(r->ccid.gone);
	cr_expect_eq(f->aborts, 0);
	expect_all_gone(r);
	rig_done(r);
}

Test(ccid_commands, reader_gone_on_send_fails_everything_after)
{
	struct rig *r = rig_new(LEVEL_SHORT, 271);
	struct fake *f = &r->fake;
	uint8_t icc;

	expect_send(f, PC_TO_RDR_GET_SLOT_STATUS)->rc = IFD_TR_GONE;
	cr_assert_eq(ifd_ccid_slot_status(&r->ccid, 0, &icc), IFD_CCID_GONE);
	expect_all_gone(r);
	rig_done(r);
}

Test(ccid_commands, data_beyond_the_reader_buffer_is_refused_unsent)
{
	struct rig *r = rig_new(LEVEL_SHORT, 271);
	struct fake *f = &r->fake;
	uint8_t data[300], rsp[16];
	size_t n = 99;

	memset(data, 0xA5, sizeof(data));
	cr_assert_eq(ifd_ccid_max_data(&r->ccid), 261);
	cr_expect_eq(ifd_ccid_xfr(&r->ccid, 0, 0, 0, data, 262, rsp, sizeof(rsp), &n, NULL),
		     IFD_CCID_INVALID);
	cr_expect_eq(n, 0);
	cr_expect_eq(ifd_ccid_escape(&r->ccid, 0, data, 262, rsp, sizeof(rsp), &n),
		     IFD_CCID_INVALID);
	cr_expect_eq(f->sends, 0);
	/* Exactly the buffer goes, with the bSeq the refused ones did not use. */
	struct step *st = expect_send(f, PC_TO_RDR_XFR_BLOCK);
	with_data(st, data, 261);
	answer_data(f, sw_ok, 2, 0);
	cr_expect_eq(ifd_ccid_xfr(&r->ccid, 0, 0, 0, data, 261, rsp, sizeof(rsp), &n, NULL),
		     IFD_CCID_OK);
	cr_expect_eq(sent_msg(st).seq, 0);
	rig_done(r);
}

Test(ccid_commands, no_descriptor_limit_means_the_largest_message)
{
	struct rig *r = rig_new(LEVEL_SHORT, 0);

	cr_expect_eq(ifd_ccid_max_data(&r->ccid), CCID_MAX_DATA);
	r->fake.tr.info.desc.max_message_length = CCID_HEADER_LEN;
	cr_expect_eq(ifd_ccid_max_data(&r->ccid), CCID_MAX_DATA);
	r->fake.tr.info.desc.max_message_length = CCID_HEADER_LEN + 1;
	cr_expect_eq(ifd_ccid_max_data(&r->ccid), 1);
	rig_done(r);
}

Test(ccid_commands, answer_larger_than_the_buffer)
{
	struct rig *r = rig_new(LEVEL_SHORT, 271);
	struct fake *f = &r->fake;
	const uint8_t ten[10] = { 1, 2, 3, 4, 5, 6, 7, 8, 0x90, 0x00 };
	uint8_t rsp[10] = { 0 };
	size_t n = 99;

	expect_send(f, PC_TO_RDR_XFR_BLOCK);
	answer_data(f, ten, sizeof(ten), 0);
	cr_expect_eq(ifd_ccid_xfr(&r->ccid, 0, 0, 0, sw_ok, 2, rsp, 9, &n, NULL),
		     IFD_CCID_TOO_BIG);
	cr_expect_eq(n, 0);
	cr_expect_eq(rsp[9], 0, "wrote past the caller's capacity");
	expect_send(f, PC_TO_RDR_ESCAPE);
	answer(f, RDR_TO_PC_ESCAPE, OK_STATUS, 0, 0, ten, sizeof(ten));
	cr_expect_eq(ifd_ccid_escape(&r->ccid, 0, sw_ok, 2, rsp, 4, &n), IFD_CCID_TOO_BIG);
	/* Exactly the buffer fits. */
	expect_send(f, PC_TO_RDR_XFR_BLOCK);
	answer_data(f, ten, sizeof(ten), 0);
	cr_expect_eq(ifd_ccid_xfr(&r->ccid, 0, 0, 0, sw_ok, 2, rsp, 10, &n, NULL), IFD_CCID_OK);
	cr_expect_eq(n, 10);
	cr_expect_arr_eq(rsp, ten, 10);
	cr_expect_eq(f->aborts, 0);
	rig_done(r);
}

/* ==== slot.c: power ==== */

Test(ifd_slot, power_up_lets_an_auto_voltage_reader_choose)
{
	struct rig *r = rig_new(LEVEL_SHORT | CCID_FEAT_AUTO_VOLTAGE, 271);
	struct fake *f = &r->fake;

	with_param(expect_send(f, PC_TO_RDR_ICC_POWER_ON), CCID_POWER_AUTO, 0, 0);
	answer_data(f, atr_t1_fast, sizeof(atr_t1_fast), 0);
	cr_assert_eq(ifd_slot_power_up(&r->slot), IFD_SLOT_OK);
	cr_expect(r->slot.powered);
	cr_expect(r->slot.atr_valid);
	cr_assert_eq(r->slot.atr_len, sizeof(atr_t1_fast));
	cr_expect_arr_eq(r->slot.atr, atr_t1_fast, sizeof(atr_t1_fast));
	cr_expect_eq(r->slot.parsed.ta1, 0x96);
	cr_expect_eq(r->slot.protocol, -1);
	rig_done(r);
}

Test(ifd_slot, power_up_without_voltage_support_bits_uses_auto)
{
	struct rig *r = rig_new(LEVEL_SHORT, 271);
	struct fake *f = &r->fake;

	f->tr.info.desc.voltage_support = 0;
	with_param(expect_send(f, PC_TO_RDR_ICC_POWER_ON), CCID_POWER_AUTO, 0, 0);
	answer_data(f, atr_t0, sizeof(atr_t0), 0);
	cr_assert_eq(ifd_slot_power_up(&r->slot), IFD_SLOT_OK);
	rig_done(r);
}

Test(ifd_slot, power_up_tries_the_lowest_class_first)
{
	struct rig *r = rig_new(LEVEL_SHORT, 271);
	struct fake *f = &r->fake;

	/* 1.8 V: wrong class; 3 V: mute; 5 V: the ATR. */
	with_param(expect_send(f, PC_TO_RDR_ICC_POWER_ON), CCID_POWER_1_8V, 0, 0);
	answer_failed(f, RDR_TO_PC_DATA_BLOCK, CCID_ICC_INACTIVE,
		      CCID_ERR_ICC_CLASS_NOT_SUPPORTED);
	expect_send(f, PC_TO_RDR_ICC_POWER_OFF);
	answer(f, RDR_TO_PC_SLOT_STATUS, CCID_STATUS(CCID_ICC_INACTIVE, CCID_CMD_OK), 0, 0, NULL,
	       0);
	with_param(expect_send(f, PC_TO_RDR_ICC_POWER_ON), CCID_POWER_3V, 0, 0);
	answer_failed(f, RDR_TO_PC_DATA_BLOCK, CCID_ICC_INACTIVE, CCID_ERR_ICC_MUTE);
	expect_send(f, PC_TO_RDR_ICC_POWER_OFF);
	answer(f, RDR_TO_PC_SLOT_STATUS, CCID_STATUS(CCID_ICC_INACTIVE, CCID_CMD_OK), 0, 0, NULL,
	       0);
	with_param(expect_send(f, PC_TO_RDR_ICC_POWER_ON), CCID_POWER_5V, 0, 0);
	answer_data(f, atr_t0, sizeof(atr_t0), 0);

	cr_assert_eq(ifd_slot_power_up(&r->slot), IFD_SLOT_OK);
	cr_expect(r->slot.powered);
	cr_expect_eq(r->slot.atr_len, sizeof(atr_t0));
	rig_done(r);
}

Test(ifd_slot, power_up_skips_the_classes_the_reader_lacks)
{
	struct rig *r = rig_new(LEVEL_SHORT, 271);
	struct fake *f = &r->fake;

	f->tr.info.desc.voltage_support = CCID_VOLTAGE_5V | CCID_VOLTAGE_3V;
	with_param(expect_send(f, PC_TO_RDR_ICC_POWER_ON), CCID_POWER_3V, 0, 0);
	answer_data(f, atr_t0, sizeof(atr_t0), 0);
	cr_assert_eq(ifd_slot_power_up(&r->slot), IFD_SLOT_OK);
	rig_done(r);
}

Test(ifd_slot, power_up_stops_at_other_errors)
{
	struct rig *r = rig_new(LEVEL_SHORT, 271);
	struct fake *f = &r->fake;

	/* No card: no point trying another voltage. */
	with_param(expect_send(f, PC_TO_RDR_ICC_POWER_ON), CCID_POWER_1_8V, 0, 0);
	answer_failed(f, RDR_TO_PC_DATA_BLOCK, CCID_ICC_ABSENT, CCID_ERR_ICC_MUTE);
	cr_expect_eq(ifd_slot_power_up(&r->slot), IFD_SLOT_NO_CARD);
	cr_expect_not(r->slot.powered);

	/* A bad ATR TS is not a voltage question either. */
	with_param(expect_send(f, PC_TO_RDR_ICC_POWER_ON), CCID_POWER_1_8V, 0, 0);
	answer_failed(f, RDR_TO_PC_DATA_BLOCK, CCID_ICC_ACTIVE, CCID_ERR_BAD_ATR_TS);
	cr_expect_eq(ifd_slot_power_up(&r->slot), IFD_SLOT_COMM);
	cr_expect_not(r->slot.powered);
	rig_done(r);
}

Test(ifd_slot, power_up_fails_when_no_class_works)
{
	struct rig *r = rig_new(LEVEL_SHORT, 271);
	struct fake *f = &r->fake;
	const uint8_t order[] = { CCID_POWER_1_8V, CCID_POWER_3V, CCID_POWER_5V };

	for (size_t i = 0; i < sizeof(order); i++) {
		with_param(expect_send(f, PC_TO_RDR_ICC_POWER_ON), order[i], 0, 0);
		answer_failed(f, RDR_TO_PC_DATA_BLOCK, CCID_ICC_INACTIVE,
			      CCID_ERR_ICC_CLASS_NOT_SUPPORTED);
		expect_send(f, PC_TO_RDR_ICC_POWER_OFF);
		answer_slot_status(f);
	}
	cr_expect_eq(ifd_slot_power_up(&r->slot), IFD_SLOT_COMM);
	cr_expect_not(r->slot.powered);
	rig_done(r);
}

Test(ifd_slot, empty_atr_is_an_error)
{
	struct rig *r = rig_new(LEVEL_SHORT | CCID_FEAT_AUTO_VOLTAGE, 271);
	struct fake *f = &r->fake;
	uint8_t rsp[16];
	size_t n;

	expect_send(f, PC_TO_RDR_ICC_POWER_ON);
	answer_data(f, NULL, 0, 0);
	cr_expect_eq(ifd_slot_power_up(&r->slot), IFD_SLOT_COMM);
	cr_expect_not(r->slot.powered);
	cr_expect_eq(ifd_slot_transmit(&r->slot, sw_ok, 2, rsp, sizeof(rsp), &n),
		     IFD_SLOT_NO_CARD);
	rig_done(r);
}

Test(ifd_slot, unparsable_atr_fails_at_tpdu_level)
{
	struct rig *r = rig_new(LEVEL_TPDU | CCID_FEAT_AUTO_VOLTAGE, 271);
	struct fake *f = &r->fake;
	const uint8_t apdu[] = { 0x00, 0xA4, 0x00, 0x00 };
	uint8_t rsp[16];
	size_t n;
	int selected = -1;

	expect_send(f, PC_TO_RDR_ICC_POWER_ON);
	answer_data(f, atr_bad_tck, sizeof(atr_bad_tck), 0);
	/* The driver would have to run a protocol it could not read: the
	 * card is deactivated and the slot left unpowered. */
	expect_send(f, PC_TO_RDR_ICC_POWER_OFF);
	answer(f, RDR_TO_PC_SLOT_STATUS, CCID_STATUS(CCID_ICC_INACTIVE, CCID_CMD_OK), 0, 0, NULL,
	       0);
	cr_expect_eq(ifd_slot_power_up(&r->slot), IFD_SLOT_COMM);
	cr_expect_not(r->slot.atr_valid);
	cr_expect_not(r->slot.powered);
	cr_expect_eq(ifd_slot_transmit(&r->slot, apdu, sizeof(apdu), rsp, sizeof(rsp), &n),
		     IFD_SLOT_NO_CARD);
	cr_expect_eq(ifd_slot_set_protocol(&r->slot, 0x03, &selected), IFD_SLOT_NO_CARD);
	rig_done(r);
}

Test(ifd_slot, unparsable_atr_is_accepted_at_apdu_level)
{
	struct rig *r = rig_new(LEVEL_SHORT | CCID_FEAT_AUTO_VOLTAGE, 271);
	struct fake *f = &r->fake;
	int selected = -1;

	power_up_with(r, atr_bad_tck, sizeof(atr_bad_tck));
	cr_expect(r->slot.powered);
	cr_expect_not(r->slot.atr_valid);
	cr_expect_eq(r->slot.atr_len, sizeof(atr_bad_tck));
	/* The reader runs the protocol: nothing to negotiate, no SetParameters
	 * built from an ATR we could not read. */
	f->tr.info.desc.protocols = 0x02;
	cr_expect_eq(ifd_slot_set_protocol(&r->slot, 0x03, &selected), IFD_SLOT_OK);
	cr_expect_eq(selected, 1);
	cr_expect_eq(f->sends, 1);
	rig_done(r);
}

Test(ifd_slot, presence_from_slot_status)
{
	struct rig *r = rig_new(LEVEL_SHORT | CCID_FEAT_AUTO_VOLTAGE, 271);
	struct fake *f = &r->fake;
	bool present = false;

	power_up_with(r, atr_t0, sizeof(atr_t0));
	expect_send(f, PC_TO_RDR_GET_SLOT_STATUS);
	answer_slot_status(f);
	cr_assert_eq(ifd_slot_present(&r->slot, &present), IFD_SLOT_OK);
	cr_expect(present);
	cr_expect(r->slot.powered);
	expect_send(f, PC_TO_RDR_GET_SLOT_STATUS);
	answer(f, RDR_TO_PC_SLOT_STATUS, CCID_STATUS(CCID_ICC_ABSENT, CCID_CMD_OK), 0, 0, NULL, 0);
	cr_assert_eq(ifd_slot_present(&r->slot, &present), IFD_SLOT_OK);
	cr_expect_not(present);
	cr_expect_not(r->slot.powered);
	rig_done(r);
}

/* ==== slot.c: protocol selection at TPDU level ==== */

/* The S(IFS) exchange of set_protocol for a T=1 card using CRC. */
static void expect_ifs_exchange(struct fake *f, uint8_t ifsd, enum ifd_t1_edc edc)
{
	uint8_t req[T1_MAX_BLOCK], rsp[T1_MAX_BLOCK];
	size_t req_len = t1_block_build(0, T1_S_BLOCK | T1_S_IFS, &ifsd, 1, edc, req);
	size_t rsp_len = t1_block_build(0, T1_S_BLOCK | T1_S_RESPONSE | T1_S_IFS, &ifsd, 1, edc,
					rsp);
	struct step *st = expect_send(f, PC_TO_RDR_XFR_BLOCK);

	with_param(st, 0, 0, 0);
	with_data(st, req, req_len);
	answer_data(f, rsp, rsp_len, 0);
}

Test(ifd_slot, t1_card_at_tpdu_gets_pps_set_parameters_and_ifsd)
{
	struct rig *r = rig_new(LEVEL_TPDU | CCID_FEAT_AUTO_VOLTAGE, 271);
	struct fake *f = &r->fake;
	/* PPSS FF, PPS0 11 (PPS1 follows, T=1), PPS1 96, PCK FF^11^96 = 78. */
	const uint8_t pps[] = { 0xFF, 0x11, 0x96, 0x78 };
	/* bmFindexDindex 96, bmTCCKST1 11 (CRC, direct), bGuardTimeT1 00,
	 * bmWaitingIntegersT1 45, bClockStop 00, bIFSC FE, bNadValue 00. */
	const uint8_t params[] = { 0x96, 0x11, 0x00, 0x45, 0x00, 0xFE, 0x00 };
	int selected = -1;

	f->tr.info.desc.max_ifsd = 1000;
	power_up_with(r, atr_t1_fast, sizeof(atr_t1_fast));
	struct step *st = expect_send(f, PC_TO_RDR_XFR_BLOCK);
	with_param(st, 0, 0, 0);
	with_data(st, pps, sizeof(pps));
	answer_data(f, pps, sizeof(pps), 0);
	st = expect_send(f, PC_TO_RDR_SET_PARAMETERS);
	with_param(st, 1, 0, 0);
	with_data(st, params, sizeof(params));
	answer(f, RDR_TO_PC_PARAMETERS, OK_STATUS, 0, 1, params, sizeof(params));
	expect_ifs_exchange(f, 254, IFD_T1_EDC_CRC);

	cr_assert_eq(ifd_slot_set_protocol(&r->slot, 0x03, &selected), IFD_SLOT_OK);
	cr_expect_eq(selected, 1);
	cr_expect_eq(r->slot.protocol, 1);
	cr_expect_eq(r->slot.t1.ifsc, 254);
	cr_expect_eq(r->slot.t1.ifsd, 254);
	cr_expect_eq(r->slot.t1.edc, IFD_T1_EDC_CRC);
	rig_done(r);
}

Test(ifd_slot, ifsd_is_the_reader_maximum_when_smaller)
{
	struct rig *r = rig_new(LEVEL_TPDU | CCID_FEAT_AUTO_VOLTAGE | CCID_FEAT_AUTO_PPS_CUR, 271);
	struct fake *f = &r->fake;
	int selected;

	f->tr.info.desc.max_ifsd = 100;
	power_up_with(r, atr_t1_fast, sizeof(atr_t1_fast));
	expect_send(f, PC_TO_RDR_SET_PARAMETERS);
	answer(f, RDR_TO_PC_PARAMETERS, OK_STATUS, 0, 1, NULL, 0);
	expect_ifs_exchange(f, 100, IFD_T1_EDC_CRC);
	cr_assert_eq(ifd_slot_set_protocol(&r->slot, 0x02, &selected), IFD_SLOT_OK);
	cr_expect_eq(r->slot.t1.ifsd, 100);
	rig_done(r);
}

Test(ifd_slot, auto_ifsd_reader_negotiates_it_itself)
{
	struct rig *r = rig_new(LEVEL_TPDU | CCID_FEAT_AUTO_VOLTAGE | CCID_FEAT_AUTO_IFSD, 271);
	struct fake *f = &r->fake;
	/* T=1 defaults: 11, LRC 10, 00, BWI 4 CWI 13 = 4D, 00, IFSC 20, 00. */
	const uint8_t params[] = { 0x11, 0x10, 0x00, 0x4D, 0x00, 0x20, 0x00 };
	int selected;

	power_up_with(r, atr_t1_plain, sizeof(atr_t1_plain));
	/* No TA1 and the card's first protocol: no PPS. */
	struct step *st = expect_send(f, PC_TO_RDR_SET_PARAMETERS);
	with_param(st, 1, 0, 0);
	with_data(st, params, sizeof(params));
	answer(f, RDR_TO_PC_PARAMETERS, OK_STATUS, 0, 1, params, sizeof(params));
	cr_assert_eq(ifd_slot_set_protocol(&r->slot, 0x03, &selected), IFD_SLOT_OK);
	cr_expect_eq(selected, 1);
	cr_expect_eq(r->slot.t1.ifsc, 32);
	cr_expect_eq(r->slot.t1.edc, IFD_T1_EDC_LRC);
	rig_done(r);
}

Test(ifd_slot, auto_pps_reader_gets_set_parameters_but_no_pps)
{
	struct rig *r = rig_new(LEVEL_TPDU | CCID_FEAT_AUTO_VOLTAGE | CCID_FEAT_AUTO_IFSD |
					CCID_FEAT_AUTO_PPS_CUR,
				271);
	struct fake *f = &r->fake;
	int selected;

	power_up_with(r, atr_t1_fast, sizeof(atr_t1_fast));
	/* The reader runs the PPS from the parameters set: they say TA1. */
	struct step *st = expect_send(f, PC_TO_RDR_SET_PARAMETERS);
	with_param(st, 1, 0, 0);
	with_data(st, ((const uint8_t[]){ 0x96, 0x11, 0x00, 0x45, 0x00, 0xFE, 0x00 }), 7);
	answer(f, RDR_TO_PC_PARAMETERS, OK_STATUS, 0, 1, NULL, 0);
	cr_expect_eq(ifd_slot_set_protocol(&r->slot, 0x02, &selected), IFD_SLOT_OK);
	rig_done(r);
}

/* QEMU's usb-ccid: TPDU level with dwFeatures 000104FE, automatic
 * parameters negotiation (40h) and automatic PPS (80h) together. CCID 1.1
 * §5.1: with 40h "the host shall not try to change the FI, DI, and
 * protocol currently selected" - no PPS, no SetParameters, for a T=0 card
 * as for a T=1 card (whose IFSD the reader also sets itself, 400h). */
Test(ifd_slot, negotiating_reader_gets_neither_pps_nor_set_parameters)
{
	static const struct {
		const uint8_t *atr;
		size_t len;
		unsigned mask;
		int protocol;
	} cards[] = {
		{ atr_t0, sizeof(atr_t0), 0x01, 0 },
		{ atr_t0_fast, sizeof(atr_t0_fast), 0x03, 0 },
		{ atr_t1_fast, sizeof(atr_t1_fast), 0x02, 1 },
	};
	for (size_t i = 0; i < sizeof(cards) / sizeof(cards[0]); i++) {
		struct rig *r = rig_new(0x000104FE, 65554);
		struct fake *f = &r->fake;
		uint8_t rsp[8];
		size_t n;
		int selected = -1;

		power_up_with(r, cards[i].atr, cards[i].len);
		cr_assert_eq(ifd_slot_set_protocol(&r->slot, cards[i].mask, &selected),
			     IFD_SLOT_OK, "card %zu", i);
		cr_expect_eq(selected, cards[i].protocol, "card %zu", i);
		/* The next message is already the first command. */
		expect_send(f, PC_TO_RDR_XFR_BLOCK);
		answer_data(f, sw_ok, 2, 0);
		if (cards[i].protocol == 0)
			cr_expect_eq(ifd_slot_transmit(&r->slot, (const uint8_t *)"\x00\xA4\x04\x00",
						       4, rsp, sizeof(rsp), &n),
				     IFD_SLOT_OK, "card %zu", i);
		else
			cr_expect_eq(ifd_ccid_xfr(&r->ccid, 0, 0, 0, sw_ok, 2, rsp, sizeof(rsp), &n,
						  NULL),
				     IFD_CCID_OK);
		rig_done(r);
	}
}

Test(ifd_slot, pps_answer_without_pps1_falls_back_to_the_default_rate)
{
	struct rig *r = rig_new(LEVEL_TPDU | CCID_FEAT_AUTO_VOLTAGE | CCID_FEAT_AUTO_IFSD, 271);
	struct fake *f = &r->fake;
	/* PPSS FF, PPS0 01 (T=1, no PPS1), PCK FE. */
	const uint8_t pps_default[] = { 0xFF, 0x01, 0xFE };
	int selected;

	power_up_with(r, atr_t1_fast, sizeof(atr_t1_fast));
	expect_send(f, PC_TO_RDR_XFR_BLOCK);
	answer_data(f, pps_default, sizeof(pps_default), 0);
	struct step *st = expect_send(f, PC_TO_RDR_SET_PARAMETERS);
	with_data(st, ((const uint8_t[]){ 0x11, 0x11, 0x00, 0x45, 0x00, 0xFE, 0x00 }), 7);
	answer(f, RDR_TO_PC_PARAMETERS, OK_STATUS, 0, 1, NULL, 0);
	cr_expect_eq(ifd_slot_set_protocol(&r->slot, 0x02, &selected), IFD_SLOT_OK);
	rig_done(r);
}

Test(ifd_slot, refused_pps_fails_without_set_parameters)
{
	static const struct {
		const char *what;
		uint8_t rsp[4];
		size_t len;
		uint8_t error;	/* bError of a failed XfrBlock instead */
	} cases[] = {
		{ "another protocol", { 0xFF, 0x10, 0x96, 0x79 }, 4, 0 },
		{ "another Fi/Di", { 0xFF, 0x11, 0x11, 0xFF }, 4, 0 },
		{ "wrong PCK", { 0xFF, 0x11, 0x96, 0x00 }, 4, 0 },
		{ "truncated", { 0xFF, 0x11 }, 2, 0 },
		{ "no answer", { 0 }, 0, 0 },
		{ "mute card", { 0 }, 0, CCID_ERR_ICC_MUTE },
		{ "parity error", { 0 }, 0, CCID_ERR_XFR_PARITY_ERROR },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rig *r = rig_new(LEVEL_TPDU | CCID_FEAT_AUTO_VOLTAGE, 271);
		struct fake *f = &r->fake;
		int selected = -1;

		power_up_with(r, atr_t1_fast, sizeof(atr_t1_fast));
		expect_send(f, PC_TO_RDR_XFR_BLOCK);
		if (cases[i].error)
			answer_failed(f, RDR_TO_PC_DATA_BLOCK, CCID_ICC_ACTIVE, cases[i].error);
		else
			answer_data(f, cases[i].rsp, cases[i].len, 0);
		cr_expect_eq(ifd_slot_set_protocol(&r->slot, 0x02, &selected),
			     IFD_SLOT_PPS_FAILED, "%s", cases[i].what);
		cr_expect_eq(selected, -1, "%s", cases[i].what);
		cr_expect_eq(r->slot.protocol, -1, "%s", cases[i].what);
		rig_done(r);
	}
}

Test(ifd_slot, t0_card_at_tpdu_gets_its_own_pps)
{
	struct rig *r = rig_new(LEVEL_TPDU | CCID_FEAT_AUTO_VOLTAGE, 271);
	struct fake *f = &r->fake;
	/* PPS0 10 (PPS1 follows, T=0), PCK FF^10^96 = 79. */
	const uint8_t pps[] = { 0xFF, 0x10, 0x96, 0x79 };
	/* 96, direct convention, no extra guard time, WI 0A, no clock stop. */
	const uint8_t params[] = { 0x96, 0x00, 0x00, 0x0A, 0x00 };
	int selected = -1;

	power_up_with(r, atr_t0_fast, sizeof(atr_t0_fast));
	struct step *st = expect_send(f, PC_TO_RDR_XFR_BLOCK);
	with_data(st, pps, sizeof(pps));
	answer_data(f, pps, sizeof(pps), 0);
	st = expect_send(f, PC_TO_RDR_SET_PARAMETERS);
	with_param(st, 0, 0, 0);
	with_data(st, params, sizeof(params));
	answer(f, RDR_TO_PC_PARAMETERS, OK_STATUS, 0, 0, params, sizeof(params));
	cr_assert_eq(ifd_slot_set_protocol(&r->slot, 0x03, &selected), IFD_SLOT_OK);
	cr_expect_eq(selected, 0);
	cr_expect_eq(r->slot.protocol, 0);
	rig_done(r);
}

Test(ifd_slot, refused_t0_pps_fails)
{
	/* For T=0 the protocol the response names is 0 even when the
	 * response is refused: only the check's verdict may decide. */
	static const uint8_t refusals[][4] = {
		{ 0xFF, 0x10, 0x96, 0x00 },	/* wrong PCK */
		{ 0xFF, 0x10, 0x11, 0xFE },	/* another Fi/Di */
	};

	for (size_t i = 0; i < 2; i++) {
		struct rig *r = rig_new(LEVEL_TPDU | CCID_FEAT_AUTO_VOLTAGE, 271);
		struct fake *f = &r->fake;
		int selected = -1;

		power_up_with(r, atr_t0_fast, sizeof(atr_t0_fast));
		expect_send(f, PC_TO_RDR_XFR_BLOCK);
		answer_data(f, refusals[i], 4, 0);
		cr_expect_eq(ifd_slot_set_protocol(&r->slot, 0x01, &selected),
			     IFD_SLOT_PPS_FAILED, "refusal %zu", i);
		cr_expect_eq(selected, -1);
		rig_done(r);
	}
}

Test(ifd_slot, protocol_the_card_does_not_offer)
{
	struct rig *r = rig_new(LEVEL_TPDU | CCID_FEAT_AUTO_VOLTAGE, 271);
	int selected = -1;

	power_up_with(r, atr_t1_fast, sizeof(atr_t1_fast));
	cr_expect_eq(ifd_slot_set_protocol(&r->slot, 0x01, &selected), IFD_SLOT_UNSUPPORTED);
	cr_expect_eq(ifd_slot_set_protocol(&r->slot, 0x00, &selected), IFD_SLOT_UNSUPPORTED);
	cr_expect_eq(selected, -1);
	cr_expect_eq(r->fake.sends, 1, "only the power up went out");
	rig_done(r);
}

Test(ifd_slot, set_parameters_refused_by_the_reader)
{
	struct rig *r = rig_new(LEVEL_TPDU | CCID_FEAT_AUTO_VOLTAGE, 271);
	struct fake *f = &r->fake;
	int selected = -1;

	power_up_with(r, atr_t0, sizeof(atr_t0));
	expect_send(f, PC_TO_RDR_SET_PARAMETERS);
	answer_failed(f, RDR_TO_PC_PARAMETERS, CCID_ICC_ACTIVE, 0x0A);
	cr_expect_eq(ifd_slot_set_protocol(&r->slot, 0x01, &selected), IFD_SLOT_UNSUPPORTED);
	cr_expect_eq(r->slot.protocol, -1);
	rig_done(r);
}

Test(ifd_slot, reader_gone_during_ifsd_negotiation)
{
	struct rig *r = rig_new(LEVEL_TPDU | CCID_FEAT_AUTO_VOLTAGE, 271);
	struct fake *f = &r->fake;
	int selected = -1;

	power_up_with(r, atr_t1_plain, sizeof(atr_t1_plain));
	expect_send(f, PC_TO_RDR_SET_PARAMETERS);
	answer(f, RDR_TO_PC_PARAMETERS, OK_STATUS, 0, 1, NULL, 0);
	expect_send(f, PC_TO_RDR_XFR_BLOCK);
	receive_fails(f, IFD_TR_GONE);
	cr_expect_eq(ifd_slot_set_protocol(&r->slot, 0x02, &selected), IFD_SLOT_GONE);
	cr_expect_eq(selected, -1);
	rig_done(r);
}

/* ==== slot.c: T=0 at TPDU level ==== */

static struct rig *t0_ready(void)
{
	struct rig *r = rig_new(LEVEL_TPDU | CCID_FEAT_AUTO_VOLTAGE, 271);
	struct fake *f = &r->fake;
	/* bmFindexDindex 11, bmTCCKST0 00, bGuardTimeT0 00, bWaitingIntegerT0
	 * 0A (the default WI), bClockStop 00. */
	const uint8_t params[] = { 0x11, 0x00, 0x00, 0x0A, 0x00 };
	int selected = -1;

	power_up_with(r, atr_t0, sizeof(atr_t0));
	struct step *st = expect_send(f, PC_TO_RDR_SET_PARAMETERS);
	with_param(st, 0, 0, 0);
	with_data(st, params, sizeof(params));
	answer(f, RDR_TO_PC_PARAMETERS, OK_STATUS, 0, 0, params, sizeof(params));
	cr_assert_eq(ifd_slot_set_protocol(&r->slot, 0x03, &selected), IFD_SLOT_OK);
	cr_assert_eq(selected, 0);
	return r;
}

/* Send apdu; the reader must see tpdu, and answers rsp. */
static void t0_case(struct rig *r, const char *what, const uint8_t *apdu, size_t len,
		    const uint8_t *tpdu, size_t tpdu_len, const uint8_t *card, size_t card_len)
{
	struct fake *f = &r->fake;
	uint8_t rsp[300];
	size_t n = 0;
	struct step *st = expect_send(f, PC_TO_RDR_XFR_BLOCK);

	with_param(st, 0, 0, 0);
	with_data(st, tpdu, tpdu_len);
	answer_data(f, card, card_len, 0);
	cr_assert_eq(ifd_slot_transmit(&r->slot, apdu, len, rsp, sizeof(rsp), &n), IFD_SLOT_OK,
		     "%s", what);
	cr_assert_eq(n, card_len, "%s", what);
	cr_expect_arr_eq(rsp, card, n, "%s", what);
}

Test(ifd_slot, t0_tpdu_forms_of_the_four_cases)
{
	struct rig *r = t0_ready();
	const uint8_t case1[] = { 0x00, 0x70, 0x00, 0x00 };
	const uint8_t case1_tpdu[] = { 0x00, 0x70, 0x00, 0x00, 0x00 };
	const uint8_t case2[] = { 0x00, 0xB0, 0x00, 0x00, 0x04 };
	const uint8_t case2_rsp[] = { 0xDE, 0xAD, 0xBE, 0xEF, 0x90, 0x00 };
	const uint8_t case3[] = { 0x00, 0xD6, 0x00, 0x00, 0x02, 0x12, 0x34 };
	const uint8_t case4[] = { 0x00, 0xA4, 0x04, 0x00, 0x02, 0xA0, 0x00, 0x00 };
	const uint8_t case4_tpdu[] = { 0x00, 0xA4, 0x04, 0x00, 0x02, 0xA0, 0x00 };
	const uint8_t more[] = { 0x61, 0x10 };
	uint8_t case3_long[5 + 255];

	t0_case(r, "case 1", case1, sizeof(case1), case1_tpdu, sizeof(case1_tpdu), sw_ok, 2);
	t0_case(r, "case 2", case2, sizeof(case2), case2, sizeof(case2), case2_rsp,
		sizeof(case2_rsp));
	t0_case(r, "case 3", case3, sizeof(case3), case3, sizeof(case3), sw_ok, 2);
	t0_case(r, "case 4", case4, sizeof(case4), case4_tpdu, sizeof(case4_tpdu), more, 2);
	/* The longest short case 3. */
	memset(case3_long, 0x5A, sizeof(case3_long));
	memcpy(case3_long, "\x00\xD6\x00\x00\xFF", 5);
	t0_case(r, "case 3, Lc 255", case3_long, sizeof(case3_long), case3_long,
		sizeof(case3_long), sw_ok, 2);
	cr_expect_eq(r->slot.apdus, 5);
	rig_done(r);
}

Test(ifd_slot, t0_refuses_what_it_cannot_send)
{
	struct rig *r = t0_ready();
	const uint8_t extended[] = { 0x00, 0xB0, 0x00, 0x00, 0x00, 0x01, 0x00 };
	const uint8_t too_short[] = { 0x00, 0xA4, 0x00 };
	const uint8_t lc_lies[] = { 0x00, 0xD6, 0x00, 0x00, 0x05, 0x01, 0x02 };
	uint8_t rsp[16];
	size_t n;
	unsigned sends = r->fake.sends;

	cr_expect_eq(ifd_slot_transmit(&r->slot, extended, sizeof(extended), rsp, sizeof(rsp), &n),
		     IFD_SLOT_UNSUPPORTED);
	cr_expect_eq(ifd_slot_transmit(&r->slot, too_short, sizeof(too_short), rsp, sizeof(rsp),
				       &n),
		     IFD_SLOT_UNSUPPORTED);
	cr_expect_eq(ifd_slot_transmit(&r->slot, lc_lies, sizeof(lc_lies), rsp, sizeof(rsp), &n),
		     IFD_SLOT_UNSUPPORTED);
	cr_expect_eq(r->fake.sends, sends);
	cr_expect_eq(r->slot.apdus, 0);
	rig_done(r);
}

Test(ifd_slot, t0_card_errors_map_to_slot_results)
{
	struct rig *r = t0_ready();
	struct fake *f = &r->fake;
	const uint8_t apdu[] = { 0x00, 0xB0, 0x00, 0x00, 0x04 };
	uint8_t rsp[4];
	size_t n;

	expect_send(f, PC_TO_RDR_XFR_BLOCK);
	answer_failed(f, RDR_TO_PC_DATA_BLOCK, CCID_ICC_ABSENT, CCID_ERR_ICC_MUTE);
	cr_expect_eq(ifd_slot_transmit(&r->slot, apdu, sizeof(apdu), rsp, sizeof(rsp), &n),
		     IFD_SLOT_NO_CARD);
	expect_send(f, PC_TO_RDR_XFR_BLOCK);
	answer_data(f, "\x01\x02\x03\x04\x90\x00", 6, 0);
	cr_expect_eq(ifd_slot_transmit(&r->slot, apdu, sizeof(apdu), rsp, sizeof(rsp), &n),
		     IFD_SLOT_TOO_SMALL);
	expect_send(f, PC_TO_RDR_XFR_BLOCK);
	receive_fails(f, IFD_TR_TIMEOUT);
	expect_abort(f);
	expect_send(f, PC_TO_RDR_ABORT);
	answer_slot_status(f);
	cr_expect_eq(ifd_slot_transmit(&r->slot, apdu, sizeof(apdu), rsp, sizeof(rsp), &n),
		     IFD_SLOT_TIMEOUT);
	rig_done(r);
}

/* ==== slot.c: T=1 at TPDU level ==== */

static struct rig *t1_ready(void)
{
	struct rig *r = rig_new(LEVEL_TPDU | CCID_FEAT_AUTO_VOLTAGE | CCID_FEAT_AUTO_IFSD, 271);
	struct fake *f = &r->fake;
	int selected = -1;

	power_up_with(r, atr_t1_plain, sizeof(atr_t1_plain));
	expect_send(f, PC_TO_RDR_SET_PARAMETERS);
	answer(f, RDR_TO_PC_PARAMETERS, OK_STATUS, 0, 1, NULL, 0);
	cr_assert_eq(ifd_slot_set_protocol(&r->slot, 0x02, &selected), IFD_SLOT_OK);
	cr_assert_eq(selected, 1);
	return r;
}

/* The driver must send this T=1 block (LRC) with bBWI, the card answers. */
static void t1_step(struct fake *f, uint8_t bwi, uint8_t pcb, const void *inf, size_t len,
		    uint8_t card_pcb, const void *card_inf, size_t card_len)
{
	uint8_t out[T1_MAX_BLOCK], in[T1_MAX_BLOCK];
	size_t out_len = t1_block_build(0, pcb, inf, len, IFD_T1_EDC_LRC, out);
	size_t in_len = t1_block_build(0, card_pcb, card_inf, card_len, IFD_T1_EDC_LRC, in);
	struct step *st = expect_send(f, PC_TO_RDR_XFR_BLOCK);

	with_param(st, bwi, 0, 0);
	with_data(st, out, out_len);
	answer_data(f, in, in_len, 0);
}

Test(ifd_slot, t1_apdu_goes_in_i_blocks)
{
	struct rig *r = t1_ready();
	struct fake *f = &r->fake;
	const uint8_t apdu[] = { 0x00, 0xA4, 0x00, 0x00, 0x02, 0x3F, 0x00 };
	uint8_t rsp[16];
	size_t n;

	t1_step(f, 0, 0x00, apdu, sizeof(apdu), 0x00, sw_ok, 2);
	t1_step(f, 0, 0x40, apdu, sizeof(apdu), 0x40, sw_ok, 2);
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(ifd_slot_transmit(&r->slot, apdu, sizeof(apdu), rsp, sizeof(rsp), &n),
			     IFD_SLOT_OK);
		cr_assert_eq(n, 2);
		cr_expect_arr_eq(rsp, sw_ok, 2);
	}
	cr_expect_eq(r->slot.apdus, 2);
	rig_done(r);
}

Test(ifd_slot, t1_wtx_multiplier_goes_into_bbwi)
{
	struct rig *r = t1_ready();
	struct fake *f = &r->fake;
	const uint8_t apdu[] = { 0x80, 0x10, 0x00, 0x00 };
	const uint8_t wtx = 3;
	uint8_t rsp[16];
	size_t n;

	/* I(0) out, S(WTX request 3) back; S(WTX response 3) goes out with
	 * bBWI 3, the card's I(0) comes back; then bBWI is 0 again. */
	t1_step(f, 0, 0x00, apdu, sizeof(apdu), T1_S_BLOCK | T1_S_WTX, &wtx, 1);
	t1_step(f, wtx, T1_S_BLOCK | T1_S_RESPONSE | T1_S_WTX, &wtx, 1, 0x00, sw_ok, 2);
	t1_step(f, 0, 0x40, apdu, sizeof(apdu), 0x40, sw_ok, 2);
	cr_assert_eq(ifd_slot_transmit(&r->slot, apdu, sizeof(apdu), rsp, sizeof(rsp), &n),
		     IFD_SLOT_OK);
	cr_assert_eq(ifd_slot_transmit(&r->slot, apdu, sizeof(apdu), rsp, sizeof(rsp), &n),
		     IFD_SLOT_OK);
	rig_done(r);
}

Test(ifd_slot, t1_mute_card_gets_an_r_block_with_other_error)
{
	struct rig *r = t1_ready();
	struct fake *f = &r->fake;
	const uint8_t apdu[] = { 0x80, 0x10, 0x00, 0x00 };
	uint8_t out[T1_MAX_BLOCK], rsp[16];
	size_t n;

	struct step *st = expect_send(f, PC_TO_RDR_XFR_BLOCK);
	with_data(st, out, t1_block_build(0, 0x00, apdu, sizeof(apdu), IFD_T1_EDC_LRC, out));
	answer_failed(f, RDR_TO_PC_DATA_BLOCK, CCID_ICC_ACTIVE, CCID_ERR_ICC_MUTE);
	/* R(0) with "other error" asks for the I-block the card owes. */
	t1_step(f, 0, T1_R_BLOCK | T1_R_OTHER_ERROR, NULL, 0, 0x00, sw_ok, 2);
	cr_assert_eq(ifd_slot_transmit(&r->slot, apdu, sizeof(apdu), rsp, sizeof(rsp), &n),
		     IFD_SLOT_OK);
	cr_expect_arr_eq(rsp, sw_ok, 2);
	cr_expect_eq(f->aborts, 0);
	rig_done(r);
}

Test(ifd_slot, t1_card_removed_mid_exchange)
{
	struct rig *r = t1_ready();
	struct fake *f = &r->fake;
	const uint8_t apdu[] = { 0x80, 0x10, 0x00, 0x00 };
	uint8_t rsp[16];
	size_t n;

	expect_send(f, PC_TO_RDR_XFR_BLOCK);
	answer_failed(f, RDR_TO_PC_DATA_BLOCK, CCID_ICC_ABSENT, CCID_ERR_ICC_MUTE);
	cr_expect_eq(ifd_slot_transmit(&r->slot, apdu, sizeof(apdu), rsp, sizeof(rsp), &n),
		     IFD_SLOT_NO_CARD);
	rig_done(r);
}

/* ==== slot.c: short APDU level ==== */

Test(ifd_slot, short_apdu_level_sends_whole_apdus)
{
	struct rig *r = rig_new(LEVEL_SHORT | CCID_FEAT_AUTO_VOLTAGE | CCID_FEAT_AUTO_ATR_CONFIG,
				271);
	struct fake *f = &r->fake;
	const uint8_t case4[] = { 0x00, 0xA4, 0x04, 0x00, 0x02, 0xA0, 0x00, 0x00 };
	const uint8_t rsp_want[] = { 0x6F, 0x00, 0x90, 0x00 };
	uint8_t rsp[16];
	size_t n;
	int selected;

	power_up_with(r, atr_t1_fast, sizeof(atr_t1_fast));
	/* The reader configures itself: no PPS, no SetParameters, no S(IFS). */
	cr_assert_eq(ifd_slot_set_protocol(&r->slot, 0x02, &selected), IFD_SLOT_OK);
	struct step *st = expect_send(f, PC_TO_RDR_XFR_BLOCK);
	with_param(st, 0, 0, 0);
	with_data(st, case4, sizeof(case4));	/* Le stays */
	answer_data(f, rsp_want, sizeof(rsp_want), 0);
	cr_assert_eq(ifd_slot_transmit(&r->slot, case4, sizeof(case4), rsp, sizeof(rsp), &n),
		     IFD_SLOT_OK);
	cr_assert_eq(n, sizeof(rsp_want));
	cr_expect_arr_eq(rsp, rsp_want, n);
	rig_done(r);
}

Test(ifd_slot, short_apdu_level_without_auto_config_gets_set_parameters)
{
	struct rig *r = rig_new(LEVEL_SHORT | CCID_FEAT_AUTO_VOLTAGE, 271);
	struct fake *f = &r->fake;
	int selected;

	power_up_with(r, atr_t1_fast, sizeof(atr_t1_fast));
	/* No PPS from the driver at APDU level, but TA1 in SetParameters. */
	struct step *st = expect_send(f, PC_TO_RDR_SET_PARAMETERS);
	with_data(st, ((const uint8_t[]){ 0x96, 0x11, 0x00, 0x45, 0x00, 0xFE, 0x00 }), 7);
	answer(f, RDR_TO_PC_PARAMETERS, OK_STATUS, 0, 1, NULL, 0);
	cr_assert_eq(ifd_slot_set_protocol(&r->slot, 0x02, &selected), IFD_SLOT_OK);
	rig_done(r);
}

Test(ifd_slot, short_apdu_level_refuses_extended_apdus)
{
	struct rig *r = rig_new(LEVEL_SHORT | CCID_FEAT_AUTO_VOLTAGE, 271);
	const uint8_t extended[] = { 0x00, 0xB0, 0x00, 0x00, 0x00, 0x04, 0x00 };
	uint8_t rsp[16];
	size_t n = 99;

	power_up_with(r, atr_t0, sizeof(atr_t0));
	cr_expect_eq(ifd_slot_transmit(&r->slot, extended, sizeof(extended), rsp, sizeof(rsp), &n),
		     IFD_SLOT_UNSUPPORTED);
	cr_expect_eq(n, 0);
	cr_expect_eq(r->fake.sends, 1);
	rig_done(r);
}

Test(ifd_slot, response_without_status_word_is_a_comm_error)
{
	struct rig *r = rig_new(LEVEL_SHORT | CCID_FEAT_AUTO_VOLTAGE, 271);
	struct fake *f = &r->fake;
	const uint8_t apdu[] = { 0x00, 0xB0, 0x00, 0x00, 0x01 };
	uint8_t rsp[16];
	size_t n;

	power_up_with(r, atr_t0, sizeof(atr_t0));
	expect_send(f, PC_TO_RDR_XFR_BLOCK);
	answer_data(f, "\x90", 1, 0);
	cr_expect_eq(ifd_slot_transmit(&r->slot, apdu, sizeof(apdu), rsp, sizeof(rsp), &n),
		     IFD_SLOT_COMM);
	expect_send(f, PC_TO_RDR_XFR_BLOCK);
	answer_data(f, NULL, 0, 0);
	cr_expect_eq(ifd_slot_transmit(&r->slot, apdu, sizeof(apdu), rsp, sizeof(rsp), &n),
		     IFD_SLOT_COMM);
	cr_expect_eq(r->slot.apdus, 0);
	rig_done(r);
}

/* ==== slot.c: extended APDU level ==== */

static void fill_pattern(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 7 + (i >> 3));
}

static struct rig *extended_ready(void)
{
	struct rig *r = rig_new(LEVEL_EXTENDED | CCID_FEAT_AUTO_VOLTAGE, 271);

	power_up_with(r, atr_t0, sizeof(atr_t0));
	return r;
}

/* The driver must send cmd[off..off+len) with this wLevelParameter. */
static struct step *expect_part(struct fake *f, uint16_t level, const uint8_t *part, size_t len)
{
	struct step *st = expect_send(f, PC_TO_RDR_XFR_BLOCK);

	with_param(st, 0, (uint8_t)level, (uint8_t)(level >> 8));
	with_data(st, part, len);
	return st;
}

Test(ifd_slot, extended_command_goes_in_parts)
{
	struct rig *r = extended_ready();
	struct fake *f = &r->fake;
	uint8_t cmd[1000], rsp[16];
	size_t n;

	/* An extended case 3: header, Lc 00 03 E1 (993), data. */
	fill_pattern(cmd, sizeof(cmd), 3);
	memcpy(cmd, "\x00\xD6\x00\x00\x00\x03\xE1", 7);
	/* 271 - 10 = 261 bytes a message: 261 + 261 + 261 + 217. */
	struct step *p1 = expect_part(f, CCID_CHAIN_BEGIN, cmd, 261);
	answer_data(f, NULL, 0, CCID_CHAIN_EMPTY);
	struct step *p2 = expect_part(f, CCID_CHAIN_CONTINUE, cmd + 261, 261);
	answer_data(f, NULL, 0, CCID_CHAIN_EMPTY);
	struct step *p3 = expect_part(f, CCID_CHAIN_CONTINUE, cmd + 522, 261);
	answer_data(f, NULL, 0, CCID_CHAIN_EMPTY);
	struct step *p4 = expect_part(f, CCID_CHAIN_END, cmd + 783, 217);
	answer_data(f, sw_ok, 2, CCID_CHAIN_BEGIN_AND_END);

	cr_assert_eq(ifd_slot_transmit(&r->slot, cmd, sizeof(cmd), rsp, sizeof(rsp), &n),
		     IFD_SLOT_OK);
	cr_assert_eq(n, 2);
	cr_expect_arr_eq(rsp, sw_ok, 2);
	cr_expect_eq(sent_msg(p1).len, 261);
	cr_expect_eq(sent_msg(p2).len, 261);
	cr_expect_eq(sent_msg(p3).len, 261);
	cr_expect_eq(sent_msg(p4).len, 217);
	cr_expect_eq(p1->sent_len, 271, "a full part is exactly dwMaxCCIDMessageLength");
	rig_done(r);
}

Test(ifd_slot, extended_short_command_goes_whole)
{
	struct rig *r = extended_ready();
	struct fake *f = &r->fake;
	uint8_t cmd[261], rsp[16];
	size_t n;

	fill_pattern(cmd, sizeof(cmd), 9);
	expect_part(f, CCID_CHAIN_BEGIN_AND_END, cmd, sizeof(cmd));
	answer_data(f, sw_ok, 2, CCID_CHAIN_BEGIN_AND_END);
	cr_assert_eq(ifd_slot_transmit(&r->slot, cmd, sizeof(cmd), rsp, sizeof(rsp), &n),
		     IFD_SLOT_OK);
	cr_expect_eq(n, 2);
	rig_done(r);
}

Test(ifd_slot, extended_response_is_fetched_in_parts)
{
	struct rig *r = extended_ready();
	struct fake *f = &r->fake;
	const uint8_t cmd[] = { 0x00, 0xB0, 0x00, 0x00, 0x00, 0x02, 0x00 };
	uint8_t whole[600], rsp[1024];
	size_t n = 0;

	fill_pattern(whole, sizeof(whole), 5);
	whole[598] = 0x90;
	whole[599] = 0x00;
	expect_part(f, CCID_CHAIN_BEGIN_AND_END, cmd, sizeof(cmd));
	answer_data(f, whole, 261, CCID_CHAIN_BEGIN);
	struct step *more1 = expect_part(f, CCID_CHAIN_EMPTY, NULL, 0);
	answer_data(f, whole + 261, 261, CCID_CHAIN_CONTINUE);
	struct step *more2 = expect_part(f, CCID_CHAIN_EMPTY, NULL, 0);
	answer_data(f, whole + 522, 78, CCID_CHAIN_END);

	cr_assert_eq(ifd_slot_transmit(&r->slot, cmd, sizeof(cmd), rsp, sizeof(rsp), &n),
		     IFD_SLOT_OK);
	cr_assert_eq(n, sizeof(whole));
	cr_expect_arr_eq(rsp, whole, n);
	cr_expect_eq(sent_msg(more1).len, 0);
	cr_expect_eq(sent_msg(more2).len, 0);
	rig_done(r);
}

Test(ifd_slot, extended_both_ways)
{
	struct rig *r = extended_ready();
	struct fake *f = &r->fake;
	uint8_t cmd[300], whole[300], rsp[300];
	size_t n = 0;

	fill_pattern(cmd, sizeof(cmd), 1);
	fill_pattern(whole, sizeof(whole), 2);
	expect_part(f, CCID_CHAIN_BEGIN, cmd, 261);
	answer_data(f, NULL, 0, CCID_CHAIN_EMPTY);
	expect_part(f, CCID_CHAIN_END, cmd + 261, 39);
	answer_data(f, whole, 100, CCID_CHAIN_BEGIN);
	expect_part(f, CCID_CHAIN_EMPTY, NULL, 0);
	answer_data(f, whole + 100, 200, CCID_CHAIN_END);
	cr_assert_eq(ifd_slot_transmit(&r->slot, cmd, sizeof(cmd), rsp, sizeof(rsp), &n),
		     IFD_SLOT_OK);
	cr_assert_eq(n, sizeof(whole));
	cr_expect_arr_eq(rsp, whole, n);
	rig_done(r);
}

Test(ifd_slot, extended_response_larger_than_the_buffer)
{
	struct rig *r = extended_ready();
	struct fake *f = &r->fake;
	const uint8_t cmd[] = { 0x00, 0xB0, 0x00, 0x00, 0x00, 0x02, 0x00 };
	uint8_t whole[400], rsp[300];
	size_t n = 0;

	fill_pattern(whole, sizeof(whole), 4);
	expect_part(f, CCID_CHAIN_BEGIN_AND_END, cmd, sizeof(cmd));
	answer_data(f, whole, 261, CCID_CHAIN_BEGIN);
	expect_part(f, CCID_CHAIN_EMPTY, NULL, 0);
	answer_data(f, whole + 261, 139, CCID_CHAIN_END);
	cr_expect_eq(ifd_slot_transmit(&r->slot, cmd, sizeof(cmd), rsp, sizeof(rsp), &n),
		     IFD_SLOT_TOO_SMALL);
	cr_expect_eq(n, 0);
	rig_done(r);
}

Test(ifd_slot, extended_reader_not_asking_for_the_rest_of_the_command)
{
	static const struct {
		const char *what;
		uint8_t chain;
		size_t len;
	} cases[] = {
		{ "a whole response", CCID_CHAIN_BEGIN_AND_END, 2 },
		{ "an empty block that ends", CCID_CHAIN_BEGIN_AND_END, 0 },
		{ "the start of a response", CCID_CHAIN_BEGIN, 2 },
		{ "\"send more\" with data", CCID_CHAIN_EMPTY, 2 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rig *r = extended_ready();
		struct fake *f = &r->fake;
		uint8_t cmd[500], rsp[16];
		size_t n = 99;

		fill_pattern(cmd, sizeof(cmd), 7);
		expect_part(f, CCID_CHAIN_BEGIN, cmd, 261);
		answer_data(f, sw_ok, cases[i].len, cases[i].chain);
		cr_expect_eq(ifd_slot_transmit(&r->slot, cmd, sizeof(cmd), rsp, sizeof(rsp), &n),
			     IFD_SLOT_COMM, "%s", cases[i].what);
		cr_expect_eq(n, 0, "%s", cases[i].what);
		rig_done(r);
	}
}

Test(ifd_slot, extended_bad_response_chaining)
{
	static const struct {
		const char *what;
		uint8_t first, second;	/* second: 0xFF when not fetched */
	} cases[] = {
		{ "\"send more\" after the whole command", CCID_CHAIN_EMPTY, 0xFF },
		{ "undefined value", 0x05, 0xFF },
		{ "begin twice", CCID_CHAIN_BEGIN, CCID_CHAIN_BEGIN },
		{ "begin then begin-and-end", CCID_CHAIN_BEGIN, CCID_CHAIN_BEGIN_AND_END },
		{ "begin then \"send more\"", CCID_CHAIN_BEGIN, CCID_CHAIN_EMPTY },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rig *r = extended_ready();
		struct fake *f = &r->fake;
		const uint8_t cmd[] = { 0x00, 0xB0, 0x00, 0x00, 0x00, 0x02, 0x00 };
		uint8_t rsp[64];
		size_t n = 99;

		expect_part(f, CCID_CHAIN_BEGIN_AND_END, cmd, sizeof(cmd));
		answer_data(f, sw_ok, 2, cases[i].first);
		if (cases[i].second != 0xFF) {
			expect_part(f, CCID_CHAIN_EMPTY, NULL, 0);
			answer_data(f, sw_ok, 2, cases[i].second);
		}
		cr_expect_eq(ifd_slot_transmit(&r->slot, cmd, sizeof(cmd), rsp, sizeof(rsp), &n),
			     IFD_SLOT_COMM, "%s", cases[i].what);
		cr_expect_eq(n, 0, "%s", cases[i].what);
		rig_done(r);
	}
}

Test(ifd_slot, extended_failure_in_the_middle)
{
	struct rig *r = extended_ready();
	struct fake *f = &r->fake;
	uint8_t cmd[600], rsp[16];
	size_t n;

	fill_pattern(cmd, sizeof(cmd), 8);
	expect_part(f, CCID_CHAIN_BEGIN, cmd, 261);
	answer_data(f, NULL, 0, CCID_CHAIN_EMPTY);
	expect_part(f, CCID_CHAIN_CONTINUE, cmd + 261, 261);
	answer_failed(f, RDR_TO_PC_DATA_BLOCK, CCID_ICC_ABSENT, CCID_ERR_ICC_MUTE);
	cr_expect_eq(ifd_slot_transmit(&r->slot, cmd, sizeof(cmd), rsp, sizeof(rsp), &n),
		     IFD_SLOT_NO_CARD);
	rig_done(r);
}
