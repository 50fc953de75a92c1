/*
 * test_ccid.c - the CCID message codec of ifd/codec/ccid.c and the simulator's
 * SIM_INFO payload of ifd/codec/sim_proto.c.
 *
 * Expected bytes are written out by hand from the CCID 1.1 tables (§5.1
 * for the class descriptor, §6.1 and §6.2 for the bulk messages, §6.3 for
 * the interrupt messages), so that the tests hold the codec to the
 * specification and not to itself. Then every truncation, every wrong
 * dwLength and every wrong protocol data length is fed back in from
 * buffers sized exactly, so that the sanitizer build catches any read
 * past the end.
 */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ccid.h"
#include "cursor.h"
#include "sim_proto.h"
#include "test_support.h"

/* ---- helpers ---- */


static int decode_exact(const uint8_t *buf, size_t len, struct ccid_msg *m)
{
	uint8_t *copy = ts_exact_copy(buf, len);
	int rc = ccid_msg_decode(copy, len, m);

	/* m->data would dangle once the copy is gone: point it back into
	 * the caller's buffer at the same offset. */
	if (rc == 0)
		m->data = buf + (m->data - copy);
	free(copy);
	return rc;
}

/* Expect a builder's output to be exactly want. */
#define EXPECT_BYTES(got, got_len, ...)                                            \
	do {                                                                       \
		static const uint8_t want_[] = { __VA_ARGS__ };                    \
		cr_assert_eq((got_len), sizeof(want_), "length %zu, want %zu",     \
			     (size_t)(got_len), sizeof(want_));                    \
		cr_assert_arr_eq((got), want_, sizeof(want_));                     \
	} while (0)

#define POISON 0xEE

/* ---- PC_to_RDR builders, byte for byte ---- */

Test(ccid_build, power_on)
{
	uint8_t out[16];

	/* §6.1.1: 62, dwLength 0, bSlot, bSeq, bPowerSelect, abRFU 2. */
	size_t n = ccid_build_power_on(0, 5, CCID_POWER_AUTO, out, sizeof(out));
	EXPECT_BYTES(out, n, 0x62, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00);

	n = ccid_build_power_on(1, 0xFF, CCID_POWER_3V, out, sizeof(out));
	EXPECT_BYTES(out, n, 0x62, 0x00, 0x00, 0x00, 0x00, 0x01, 0xFF, 0x02, 0x00, 0x00);

	n = ccid_build_power_on(0, 0, CCID_POWER_1_8V, out, sizeof(out));
	EXPECT_BYTES(out, n, 0x62, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00);
}

Test(ccid_build, commands_without_data)
{
	uint8_t out[16];
	size_t n;

	/* §6.1.2, §6.1.3, §6.1.8, §6.1.6, §6.1.13: type, dwLength 0, bSlot,
	 * bSeq, abRFU 3. */
	n = ccid_build_power_off(0, 6, out, sizeof(out));
	EXPECT_BYTES(out, n, 0x63, 0x00, 0x00, 0x00, 0x00, 0x00, 0x06, 0x00, 0x00, 0x00);
	n = ccid_build_get_slot_status(2, 0x10, out, sizeof(out));
	EXPECT_BYTES(out, n, 0x65, 0x00, 0x00, 0x00, 0x00, 0x02, 0x10, 0x00, 0x00, 0x00);
	n = ccid_build_get_parameters(0, 0x80, out, sizeof(out));
	EXPECT_BYTES(out, n, 0x6C, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00);
	n = ccid_build_reset_parameters(0, 0x81, out, sizeof(out));
	EXPECT_BYTES(out, n, 0x6D, 0x00, 0x00, 0x00, 0x00, 0x00, 0x81, 0x00, 0x00, 0x00);
	n = ccid_build_abort(3, 0x42, out, sizeof(out));
	EXPECT_BYTES(out, n, 0x72, 0x00, 0x00, 0x00, 0x00, 0x03, 0x42, 0x00, 0x00, 0x00);
}

Test(ccid_build, xfr_block)
{
	static const uint8_t select[] = { 0x00, 0xA4, 0x04, 0x00, 0x00 };
	uint8_t out[32];
	size_t n;

	/* §6.1.4: 6F, dwLength, bSlot, bSeq, bBWI, wLevelParameter (LE). */
	n = ccid_build_xfr_block(0, 7, 0, 0, select, sizeof(select), out, sizeof(out));
	EXPECT_BYTES(out, n, 0x6F, 0x05, 0x00, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00,
		     0x00, 0xA4, 0x04, 0x00, 0x00);

	/* A T=1 WTX multiplier and a level of 0x0102 (little-endian). */
	n = ccid_build_xfr_block(1, 8, 3, 0x0102, select, 2, out, sizeof(out));
	EXPECT_BYTES(out, n, 0x6F, 0x02, 0x00, 0x00, 0x00, 0x01, 0x08, 0x03, 0x02, 0x01,
		     0x00, 0xA4);

	/* Extended APDU level: "send more" is an empty XfrBlock with 0x10. */
	n = ccid_build_xfr_block(0, 9, 0, CCID_CHAIN_EMPTY, NULL, 0, out, sizeof(out));
	EXPECT_BYTES(out, n, 0x6F, 0x00, 0x00, 0x00, 0x00, 0x00, 0x09, 0x00, 0x10, 0x00);
}

Test(ccid_build, xfr_block_length_is_little_endian_over_all_four_bytes)
{
	size_t data_len = 0x012345;
	uint8_t *data = calloc(1, data_len);
	uint8_t *out = malloc(CCID_HEADER_LEN + data_len);

	cr_assert_not_null(data);
	cr_assert_not_null(out);
	/* More than CCID_MAX_DATA: refused before anything is read. */
	cr_assert_eq(ccid_build_xfr_block(0, 0, 0, 0, data, data_len, out,
					  CCID_HEADER_LEN + data_len), 0);

	data_len = 300;
	size_t n = ccid_build_xfr_block(0, 1, 0, 0, data, data_len, out, CCID_HEADER_LEN + data_len);
	cr_assert_eq(n, 310);
	cr_assert_arr_eq(out, ((uint8_t[]){ 0x6F, 0x2C, 0x01, 0x00, 0x00 }), 5);
	free(data);
	free(out);
}

Test(ccid_build, largest_message_fits_and_one_more_byte_does_not)
{
	uint8_t *data = calloc(1, CCID_MAX_DATA + 1);
	uint8_t *out = malloc(CCID_MAX_MSG + 1);

	cr_assert_not_null(data);
	cr_assert_not_null(out);
	cr_assert_eq(ccid_build_escape(0, 0, data, CCID_MAX_DATA, out, CCID_MAX_MSG + 1),
		     CCID_MAX_MSG);
	/* 65544 = 0x00010008. */
	cr_assert_arr_eq(out, ((uint8_t[]){ 0x6B, 0x08, 0x00, 0x01, 0x00 }), 5);
	cr_assert_eq(ccid_build_escape(0, 0, data, CCID_MAX_DATA + 1, out, CCID_MAX_MSG + 1), 0);
	cr_assert_eq(ccid_build_response(RDR_TO_PC_DATA_BLOCK, 0, 0, 0, 0, 0, data,
					 CCID_MAX_DATA + 1, out, CCID_MAX_MSG + 1), 0);
	free(data);
	free(out);
}

Test(ccid_build, escape)
{
	uint8_t out[16];

	/* §6.1.5: 6B, dwLength, bSlot, bSeq, abRFU 3, abData. */
	size_t n = ccid_build_escape(0, 0x20, (const uint8_t *)"\x01\x02\x03", 3, out, sizeof(out));
	EXPECT_BYTES(out, n, 0x6B, 0x03, 0x00, 0x00, 0x00, 0x00, 0x20, 0x00, 0x00, 0x00,
		     0x01, 0x02, 0x03);
}

Test(ccid_build, set_parameters_t0_and_t1)
{
	uint8_t out[32];
	size_t n;
	struct ccid_params t0 = {
		.protocol = 0, .fi_di = 0x11, .tcck = 0x00, .guard_time = 0x00,
		.waiting = 0x0A, .clock_stop = 0x00,
		.ifsc = 0x55, .nad = 0x66,	/* not part of T=0: not sent */
	};
	struct ccid_params t1 = {
		.protocol = 1, .fi_di = 0x13, .tcck = 0x11, .guard_time = 0x02,
		.waiting = 0x45, .clock_stop = 0x03, .ifsc = 0xFE, .nad = 0x00,
	};

	/* §6.1.7: 61, dwLength 5 or 7, bSlot, bSeq, bProtocolNum, abRFU 2,
	 * then bmFindexDindex, bmTCCKST, bGuardTime, bWaitingInteger,
	 * bClockStop (and bIFSC, bNadValue for T=1). */
	n = ccid_build_set_parameters(0, 9, &t0, out, sizeof(out));
	EXPECT_BYTES(out, n, 0x61, 0x05, 0x00, 0x00, 0x00, 0x00, 0x09, 0x00, 0x00, 0x00,
		     0x11, 0x00, 0x00, 0x0A, 0x00);
	n = ccid_build_set_parameters(1, 0x0A, &t1, out, sizeof(out));
	EXPECT_BYTES(out, n, 0x61, 0x07, 0x00, 0x00, 0x00, 0x01, 0x0A, 0x01, 0x00, 0x00,
		     0x13, 0x11, 0x02, 0x45, 0x03, 0xFE, 0x00);

	t1.protocol = 2;
	cr_expect_eq(ccid_build_set_parameters(0, 0, &t1, out, sizeof(out)), 0, "no T=2");
	t1.protocol = 0xFF;
	cr_expect_eq(ccid_build_set_parameters(0, 0, &t1, out, sizeof(out)), 0);
	cr_expect_eq(ccid_build_set_parameters(0, 0, NULL, out, sizeof(out)), 0);
}

/* ---- RDR_to_PC builder ---- */

Test(ccid_build, responses)
{
	uint8_t out[32];
	size_t n;

	/* §6.2.1: DataBlock with 90 00, card active, command OK. */
	n = ccid_build_response(RDR_TO_PC_DATA_BLOCK, 0, 5, CCID_STATUS(CCID_ICC_ACTIVE, CCID_CMD_OK),
				0, 0, (const uint8_t *)"\x90\x00", 2, out, sizeof(out));
	EXPECT_BYTES(out, n, 0x80, 0x02, 0x00, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00,
		     0x90, 0x00);

	/* §6.2.2: SlotStatus, no card, command failed with ICC_MUTE,
	 * bClockStatus 0. bStatus = 01 << 6 | 02 = 42. */
	n = ccid_build_response(RDR_TO_PC_SLOT_STATUS, 0, 6,
				CCID_STATUS(CCID_ICC_ABSENT, CCID_CMD_FAILED), CCID_ERR_ICC_MUTE,
				0, NULL, 0, out, sizeof(out));
	EXPECT_BYTES(out, n, 0x81, 0x00, 0x00, 0x00, 0x00, 0x00, 0x06, 0x42, 0xFE, 0x00);

	/* §6.2.3: Parameters for T=1 carries bProtocolNum in byte 9. */
	n = ccid_build_response(RDR_TO_PC_PARAMETERS, 1, 7, 0, 0, 1,
				(const uint8_t *)"\x11\x10\x00\x4D\x00\x20\x00", 7, out, sizeof(out));
	EXPECT_BYTES(out, n, 0x82, 0x07, 0x00, 0x00, 0x00, 0x01, 0x07, 0x00, 0x00, 0x01,
		     0x11, 0x10, 0x00, 0x4D, 0x00, 0x20, 0x00);
}

/*
 * Each builder, given every capacity below what it needs, returns 0 and
 * writes nothing past the capacity; given exactly what it needs, succeeds.
 */
typedef size_t (*builder_fn)(uint8_t *out, size_t cap);

static size_t b_power_on(uint8_t *o, size_t c) { return ccid_build_power_on(0, 1, 0, o, c); }
static size_t b_power_off(uint8_t *o, size_t c) { return ccid_build_power_off(0, 1, o, c); }
static size_t b_status(uint8_t *o, size_t c) { return ccid_build_get_slot_status(0, 1, o, c); }
static size_t b_get_params(uint8_t *o, size_t c) { return ccid_build_get_parameters(0, 1, o, c); }
static size_t b_reset_params(uint8_t *o, size_t c) { return ccid_build_reset_parameters(0, 1, o, c); }
static size_t b_abort(uint8_t *o, size_t c) { return ccid_build_abort(0, 1, o, c); }

static size_t b_xfr(uint8_t *o, size_t c)
{
	return ccid_build_xfr_block(0, 1, 0, 0, (const uint8_t *)"\x00\xB0\x00\x00\x10", 5, o, c);
}

static size_t b_escape(uint8_t *o, size_t c)
{
	return ccid_build_escape(0, 1, (const uint8_t *)"\xAA", 1, o, c);
}

static size_t b_set_params(uint8_t *o, size_t c)
{
	struct ccid_params p = { .protocol = 1, .fi_di = 0x11, .tcck = 0x10, .ifsc = 0x20 };

	return ccid_build_set_parameters(0, 1, &p, o, c);
}

static size_t b_response(uint8_t *o, size_t c)
{
	return ccid_build_response(RDR_TO_PC_DATA_BLOCK, 0, 1, 0, 0, 0,
				   (const uint8_t *)"\x90\x00", 2, o, c);
}

static size_t b_notify(uint8_t *o, size_t c)
{
	static const bool present[5] = { true, false, true, false, true };
	static const bool changed[5] = { false, true, true, false, false };

	return ccid_build_notify(present, changed, 5, o, c);
}

Test(ccid_build, every_builder_refuses_a_short_buffer)
{
	static const struct {
		const char *name;
		builder_fn fn;
		size_t len;
	} builders[] = {
		{ "power_on", b_power_on, 10 },
		{ "power_off", b_power_off, 10 },
		{ "get_slot_status", b_status, 10 },
		{ "get_parameters", b_get_params, 10 },
		{ "reset_parameters", b_reset_params, 10 },
		{ "abort", b_abort, 10 },
		{ "xfr_block", b_xfr, 15 },
		{ "escape", b_escape, 11 },
		{ "set_parameters", b_set_params, 17 },
		{ "response", b_response, 12 },
		{ "notify", b_notify, 3 },
	};

	for (size_t i = 0; i < sizeof(builders) / sizeof(builders[0]); i++) {
		uint8_t buf[32];

		for (size_t cap = 0; cap < builders[i].len; cap++) {
			memset(buf, POISON, sizeof(buf));
			cr_assert_eq(builders[i].fn(buf, cap), 0, "%s into %zu bytes",
				     builders[i].name, cap);
			for (size_t k = cap; k < sizeof(buf); k++)
				cr_assert_eq(buf[k], POISON, "%s into %zu bytes wrote byte %zu",
					     builders[i].name, cap, k);
		}
		cr_assert_eq(builders[i].fn(buf, builders[i].len), builders[i].len,
			     "%s into exactly its length", builders[i].name);
		cr_assert_eq(builders[i].fn(NULL, 0), 0, "%s into nothing", builders[i].name);
	}
}

/* ---- decoding hand-written RDR_to_PC messages ---- */

Test(ccid_decode, data_block_with_an_atr)
{
	/* The answer to IccPowerOn: the virtual card's 15-byte ATR. */
	static const uint8_t msg[] = {
		0x80, 0x0F, 0x00, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00,
		0x3B, 0x8B, 0x01, 0x80, 0x73, 0x80, 0x00, 0x5B, 0x55, 0x45,
		0x43, 0x41, 0x52, 0x44, 0xA6,
	};
	struct ccid_msg m;

	cr_assert_eq(decode_exact(msg, sizeof(msg), &m), 0);
	cr_expect_eq(m.type, RDR_TO_PC_DATA_BLOCK);
	cr_expect(ccid_is_rdr_to_pc(m.type));
	cr_expect_eq(m.slot, 0);
	cr_expect_eq(m.seq, 5);
	cr_expect_eq(m.len, 15);
	cr_expect_eq(m.data, msg + CCID_HEADER_LEN, "abData is borrowed, not copied");
	cr_expect_eq(ccid_msg_status(&m), 0);
	cr_expect_eq(CCID_ICC_STATUS(ccid_msg_status(&m)), CCID_ICC_ACTIVE);
	cr_expect_eq(CCID_CMD_STATUS(ccid_msg_status(&m)), CCID_CMD_OK);
	cr_expect_eq(ccid_msg_error(&m), 0);
	cr_expect_eq(ccid_msg_specific(&m), 0);
}

Test(ccid_decode, slot_status_no_card_and_failed)
{
	/* bStatus 42: bmCommandStatus 1 (failed), bmICCStatus 2 (absent);
	 * bError FE (ICC_MUTE); bClockStatus 00 (running). */
	static const uint8_t msg[] = { 0x81, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x42, 0xFE, 0x00 };
	struct ccid_msg m;

	cr_assert_eq(decode_exact(msg, sizeof(msg), &m), 0);
	cr_expect_eq(m.type, RDR_TO_PC_SLOT_STATUS);
	cr_expect_eq(m.slot, 1);
	cr_expect_eq(m.seq, 3);
	cr_expect_eq(m.len, 0);
	cr_expect_eq(CCID_ICC_STATUS(ccid_msg_status(&m)), CCID_ICC_ABSENT);
	cr_expect_eq(CCID_CMD_STATUS(ccid_msg_status(&m)), CCID_CMD_FAILED);
	cr_expect_eq(ccid_msg_error(&m), CCID_ERR_ICC_MUTE);
	cr_expect_str_eq(ccid_error_name(ccid_msg_error(&m)), "ICC_MUTE");
	cr_expect_str_eq(ccid_msg_name(m.type), "RDR_to_PC_SlotStatus");
}

Test(ccid_decode, time_extension)
{
	/* bStatus 80: bmCommandStatus 2 (time extension requested), card
	 * active; bError 01 is then the multiplier, not an error. */
	static const uint8_t msg[] = { 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0x80, 0x01, 0x00 };
	struct ccid_msg m;

	cr_assert_eq(decode_exact(msg, sizeof(msg), &m), 0);
	cr_expect_eq(CCID_CMD_STATUS(ccid_msg_status(&m)), CCID_CMD_TIME_EXTENSION);
	cr_expect_eq(CCID_ICC_STATUS(ccid_msg_status(&m)), CCID_ICC_ACTIVE);
	cr_expect_eq(ccid_msg_error(&m), 1);
}

Test(ccid_decode, parameters_t1_then_its_protocol_data)
{
	/* Parameters, bProtocolNum 1: Fi/Di 11, bmTCCKST1 10 (LRC, direct),
	 * guard 0, BWI 4 CWI 13, clock stop not allowed, IFSC 32, NAD 0. */
	static const uint8_t msg[] = {
		0x82, 0x07, 0x00, 0x00, 0x00, 0x00, 0x0A, 0x00, 0x00, 0x01,
		0x11, 0x10, 0x00, 0x4D, 0x00, 0x20, 0x00,
	};
	struct ccid_msg m;
	struct ccid_params p;

	cr_assert_eq(decode_exact(msg, sizeof(msg), &m), 0);
	cr_expect_eq(m.type, RDR_TO_PC_PARAMETERS);
	cr_expect_eq(ccid_msg_specific(&m), 1);
	cr_assert_eq(ccid_params_decode(ccid_msg_specific(&m), m.data, m.len, &p), 0);
	cr_expect_eq(p.protocol, 1);
	cr_expect_eq(p.fi_di, 0x11);
	cr_expect_eq(p.tcck, 0x10);
	cr_expect_eq(p.guard_time, 0);
	cr_expect_eq(p.waiting, 0x4D);
	cr_expect_eq(p.clock_stop, 0);
	cr_expect_eq(p.ifsc, 0x20);
	cr_expect_eq(p.nad, 0);
	/* The same data read as T=0 has the wrong length. */
	cr_expect_eq(ccid_params_decode(0, m.data, m.len, &p), -1);
}

Test(ccid_decode, data_block_chained)
{
	/* Extended APDU level: the first part of a response, bChainParameter 01. */
	static const uint8_t msg[] = {
		0x80, 0x03, 0x00, 0x00, 0x00, 0x00, 0x11, 0x00, 0x00, 0x01, 0xDE, 0xAD, 0xBE,
	};
	struct ccid_msg m;

	cr_assert_eq(decode_exact(msg, sizeof(msg), &m), 0);
	cr_expect_eq(ccid_msg_specific(&m), CCID_CHAIN_BEGIN);
	cr_expect_eq(m.len, 3);
	cr_expect_arr_eq(m.data, "\xDE\xAD\xBE", 3);
}

Test(ccid_decode, type_is_not_checked)
{
	/* A bulk-out command decodes as well: the simulator reads them. */
	static const uint8_t msg[] = { 0x62, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x01, 0x00, 0x00 };
	static const uint8_t odd[] = { 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00 };
	struct ccid_msg m;

	cr_assert_eq(decode_exact(msg, sizeof(msg), &m), 0);
	cr_expect_eq(m.type, PC_TO_RDR_ICC_POWER_ON);
	cr_expect_eq(m.param[0], CCID_POWER_5V);
	cr_expect(ccid_is_pc_to_rdr(m.type));
	cr_assert_eq(decode_exact(odd, sizeof(odd), &m), 0);
	cr_expect_not(ccid_is_pc_to_rdr(m.type));
	cr_expect_not(ccid_is_rdr_to_pc(m.type));
}

/* ---- refusals ---- */

/* The messages every refusal test works on, all valid. */
static const struct {
	const char *name;
	uint8_t bytes[32];
	size_t len;
} valid_msgs[] = {
	{ "PowerOn", { 0x62, 0, 0, 0, 0, 0, 5, 0, 0, 0 }, 10 },
	{ "XfrBlock", { 0x6F, 5, 0, 0, 0, 0, 7, 0, 0, 0, 0x00, 0xA4, 0x04, 0x00, 0x00 }, 15 },
	{ "DataBlock", { 0x80, 2, 0, 0, 0, 0, 5, 0, 0, 0, 0x90, 0x00 }, 12 },
	{ "SlotStatus", { 0x81, 0, 0, 0, 0, 0, 6, 0x42, 0xFE, 0 }, 10 },
	{ "Parameters", { 0x82, 5, 0, 0, 0, 0, 8, 0, 0, 0, 0x11, 0x00, 0x00, 0x0A, 0x00 }, 15 },
};

#define N_VALID (sizeof(valid_msgs) / sizeof(valid_msgs[0]))

Test(ccid_decode, every_valid_message_round_trips)
{
	for (size_t i = 0; i < N_VALID; i++) {
		struct ccid_msg m;
		uint8_t out[64];

		cr_assert_eq(decode_exact(valid_msgs[i].bytes, valid_msgs[i].len, &m), 0, "%s",
			     valid_msgs[i].name);
		cr_assert_eq(m.len, valid_msgs[i].len - CCID_HEADER_LEN);
		cr_assert_eq(ccid_msg_encode(&m, out, sizeof(out)), valid_msgs[i].len);
		cr_assert_arr_eq(out, valid_msgs[i].bytes, valid_msgs[i].len, "%s",
				 valid_msgs[i].name);
	}
}

Test(ccid_decode, every_truncation_is_refused)
{
	for (size_t i = 0; i < N_VALID; i++) {
		for (size_t n = 0; n < valid_msgs[i].len; n++) {
			struct ccid_msg m;

			memset(&m, 0xA5, sizeof(m));
			cr_expect_eq(decode_exact(valid_msgs[i].bytes, n, &m), -1,
				     "%s cut to %zu", valid_msgs[i].name, n);
			cr_expect_eq(m.type, 0xA5, "a refused message leaves *m alone");
		}
	}
	cr_expect_eq(ccid_msg_decode(NULL, 0, &(struct ccid_msg){ 0 }), -1);
	cr_expect_eq(ccid_msg_decode(valid_msgs[0].bytes, 10, NULL), -1);
}

Test(ccid_decode, a_trailing_byte_is_refused)
{
	for (size_t i = 0; i < N_VALID; i++) {
		uint8_t buf[40];
		struct ccid_msg m;

		memcpy(buf, valid_msgs[i].bytes, valid_msgs[i].len);
		buf[valid_msgs[i].len] = 0x00;
		cr_expect_eq(decode_exact(buf, valid_msgs[i].len + 1, &m), -1, "%s + 1 byte",
			     valid_msgs[i].name);
	}
}

/* A reader's answer may carry bytes after its data where they cannot be
 * taken for data: after SlotStatus and Parameters, not after DataBlock,
 * Escape or DataRate. Fewer bytes than dwLength are refused everywhere. */
Test(ccid_decode, answers_with_trailing_bytes)
{
	static const struct {
		uint8_t type;
		bool tolerated;
	} kinds[] = {
		{ RDR_TO_PC_DATA_BLOCK, false }, { RDR_TO_PC_SLOT_STATUS, true },
		{ RDR_TO_PC_PARAMETERS, true },	 { RDR_TO_PC_ESCAPE, false },
		{ RDR_TO_PC_DATA_RATE, false },
	};
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		/* dwLength 2, then 2 + extra bytes. */
		for (size_t extra = 0; extra <= 7; extra++) {
			uint8_t buf[CCID_HEADER_LEN + 2 + 7] = { kinds[i].type, 2, 0, 0, 0, 0, 9,
								 0, 0, 0, 0xAA, 0xBB };
			size_t len = CCID_HEADER_LEN + 2 + extra, trailing = 99;
			struct ccid_msg m;
			uint8_t *copy = ts_exact_copy(buf, len);
			int rc = ccid_answer_decode(copy, len, &m, &trailing);

			if (extra == 0 || kinds[i].tolerated) {
				cr_expect_eq(rc, 0, "type %02X + %zu", kinds[i].type, extra);
				cr_expect_eq(trailing, extra);
				cr_expect_eq(m.len, 2);
				cr_expect_eq(m.seq, 9);
				cr_expect(rc == 0 && m.data == copy + CCID_HEADER_LEN);
			} else {
				cr_expect_eq(rc, -1, "type %02X + %zu", kinds[i].type, extra);
			}
			/* One byte short of dwLength: refused, whatever the type. */
			cr_expect_eq(ccid_answer_decode(copy, CCID_HEADER_LEN + 1, &m, &trailing), -1);
			free(copy);
		}
	}
	for (size_t i = 0; i < N_VALID; i++) {
		for (size_t n = 0; n < valid_msgs[i].len; n++) {
			uint8_t *copy = ts_exact_copy(valid_msgs[i].bytes, n);
			struct ccid_msg m;
			size_t trailing;
			cr_expect_eq(ccid_answer_decode(copy, n, &m, &trailing), -1, "%s cut to %zu",
				     valid_msgs[i].name, n);
			free(copy);
		}
	}
	uint8_t big[CCID_HEADER_LEN + 8] = { RDR_TO_PC_PARAMETERS, 0xFF, 0xFF, 0xFF, 0xFF };
	size_t trailing;
	struct ccid_msg m;
	cr_expect_eq(ccid_answer_decode(big, sizeof(big), &m, &trailing), -1, "dwLength 4 GB");
	cr_expect_eq(ccid_answer_decode(big, sizeof(big), NULL, &trailing), -1);
	cr_expect_eq(ccid_answer_decode(big, sizeof(big), &m, NULL), -1);
}

Test(ccid_decode, every_wrong_dwlength_is_refused)
{
	static const uint32_t lies[] = {
		1, 2, 3, 4, 5, 6, 0x100, 0x10000, 0x1000000, 0x7FFFFFFF, 0x80000000u,
		0xFFFFFFFFu, CCID_MAX_DATA, CCID_MAX_DATA + 1,
	};

	for (size_t i = 0; i < N_VALID; i++) {
		uint32_t truth = (uint32_t)(valid_msgs[i].len - CCID_HEADER_LEN);

		for (size_t k = 0; k < sizeof(lies) / sizeof(lies[0]); k++) {
			for (int delta = -1; delta <= 1; delta++) {
				uint8_t buf[32];
				uint32_t lie = lies[k] + (uint32_t)delta;
				struct ccid_msg m;

				if (lie == truth)
					continue;
				memcpy(buf, valid_msgs[i].bytes, valid_msgs[i].len);
				store_le32(buf + 1, lie);
				cr_expect_eq(decode_exact(buf, valid_msgs[i].len, &m), -1,
					     "%s with dwLength %08X", valid_msgs[i].name, lie);
			}
		}
		/* And the truth written big-endian, when it differs. */
		if (truth) {
			uint8_t buf[32];
			struct ccid_msg m;

			memcpy(buf, valid_msgs[i].bytes, valid_msgs[i].len);
			store_be32(buf + 1, truth);
			cr_expect_eq(decode_exact(buf, valid_msgs[i].len, &m), -1, "%s big-endian",
				     valid_msgs[i].name);
		}
	}
}

Test(ccid_decode, largest_message_accepted_one_more_refused)
{
	size_t len = CCID_MAX_MSG + 1;
	uint8_t *buf = calloc(1, len);
	struct ccid_msg m;

	cr_assert_not_null(buf);
	buf[0] = RDR_TO_PC_DATA_BLOCK;
	store_le32(buf + 1, CCID_MAX_DATA);
	cr_expect_eq(ccid_msg_decode(buf, CCID_MAX_MSG, &m), 0);
	cr_expect_eq(m.len, CCID_MAX_DATA);
	cr_expect_eq(ccid_msg_decode(buf, len, &m), -1, "one byte more than dwLength");
	store_le32(buf + 1, CCID_MAX_DATA + 1);
	cr_expect_eq(ccid_msg_decode(buf, len, &m), -1,
		     "dwLength agrees with the bytes, but is past CCID_MAX_DATA");
	free(buf);
}

/* ---- encode ---- */

Test(ccid_encode, round_trip_of_built_fields)
{
	static const uint8_t data[] = { 1, 2, 3, 4, 5, 6, 7 };
	struct ccid_msg m = {
		.type = RDR_TO_PC_ESCAPE, .slot = 0x7F, .seq = 0xC3,
		.param = { 0x40, 0x05, 0x99 }, .data = data, .len = sizeof(data),
	};
	uint8_t out[32];
	struct ccid_msg back;

	size_t n = ccid_msg_encode(&m, out, sizeof(out));
	EXPECT_BYTES(out, n, 0x83, 0x07, 0x00, 0x00, 0x00, 0x7F, 0xC3, 0x40, 0x05, 0x99,
		     1, 2, 3, 4, 5, 6, 7);
	cr_assert_eq(ccid_msg_decode(out, n, &back), 0);
	cr_expect_eq(back.type, m.type);
	cr_expect_eq(back.slot, m.slot);
	cr_expect_eq(back.seq, m.seq);
	cr_expect_arr_eq(back.param, m.param, 3);
	cr_expect_eq(back.len, m.len);
	cr_expect_arr_eq(back.data, data, sizeof(data));

	m.data = NULL;
	cr_expect_eq(ccid_msg_encode(&m, out, sizeof(out)), 0, "len without data");
	m.len = 0;
	cr_expect_eq(ccid_msg_encode(&m, out, sizeof(out)), CCID_HEADER_LEN);
	cr_expect_eq(ccid_msg_encode(NULL, out, sizeof(out)), 0);
}

/* ---- protocol data ---- */

Test(ccid_params, t0_and_t1_round_trip_through_set_parameters)
{
	static const struct ccid_params cases[] = {
		{ .protocol = 0, .fi_di = 0x11, .tcck = 0x00, .guard_time = 0x00,
		  .waiting = 0x0A, .clock_stop = 0x00 },
		{ .protocol = 0, .fi_di = 0x96, .tcck = 0x02, .guard_time = 0xFF,
		  .waiting = 0xFF, .clock_stop = 0x03 },
		{ .protocol = 1, .fi_di = 0x13, .tcck = 0x10, .guard_time = 0x00,
		  .waiting = 0x45, .clock_stop = 0x00, .ifsc = 0xFE, .nad = 0x00 },
		{ .protocol = 1, .fi_di = 0x18, .tcck = 0x13, .guard_time = 0x01,
		  .waiting = 0x9F, .clock_stop = 0x02, .ifsc = 0x20, .nad = 0x21 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct ccid_params *p = &cases[i];
		uint8_t out[32];
		struct ccid_msg m;
		struct ccid_params back;
		size_t n = ccid_build_set_parameters(0, (uint8_t)i, p, out, sizeof(out));

		cr_assert_eq(n, CCID_HEADER_LEN + (p->protocol ? 7u : 5u), "case %zu", i);
		cr_assert_eq(decode_exact(out, n, &m), 0);
		cr_expect_eq(m.type, PC_TO_RDR_SET_PARAMETERS);
		cr_expect_eq(m.param[0], p->protocol, "bProtocolNum");
		cr_assert_eq(ccid_params_decode(m.param[0], m.data, m.len, &back), 0);
		cr_expect_eq(back.protocol, p->protocol);
		cr_expect_eq(back.fi_di, p->fi_di);
		cr_expect_eq(back.tcck, p->tcck);
		cr_expect_eq(back.guard_time, p->guard_time);
		cr_expect_eq(back.waiting, p->waiting);
		cr_expect_eq(back.clock_stop, p->clock_stop);
		cr_expect_eq(back.ifsc, p->protocol ? p->ifsc : 0);
		cr_expect_eq(back.nad, p->protocol ? p->nad : 0);
	}
}

Test(ccid_params, wrong_lengths_and_protocols_are_refused)
{
	static const uint8_t data[16] = { 0x11, 0x10, 0x00, 0x4D, 0x00, 0x20, 0x00 };
	struct ccid_params p;

	for (size_t len = 0; len <= sizeof(data); len++) {
		uint8_t *copy = ts_exact_copy(data, len);

		memset(&p, 0xA5, sizeof(p));
		cr_expect_eq(ccid_params_decode(0, copy, len, &p), len == 5 ? 0 : -1,
			     "T=0, %zu bytes", len);
		cr_expect_eq(ccid_params_decode(1, copy, len, &p), len == 7 ? 0 : -1,
			     "T=1, %zu bytes", len);
		for (unsigned t = 2; t < 256; t++)
			cr_expect_eq(ccid_params_decode((uint8_t)t, copy, len, &p), -1,
				     "T=%u, %zu bytes", t, len);
		free(copy);
	}
	cr_expect_eq(ccid_params_decode(0, NULL, 5, &p), -1);
	cr_expect_eq(ccid_params_decode(0, data, 5, NULL), -1);
}

Test(ccid_params, refused_decode_leaves_output_alone)
{
	static const uint8_t data[6] = { 0x11, 0x10, 0x00, 0x4D, 0x00, 0x20 };
	struct ccid_params p;

	memset(&p, 0xA5, sizeof(p));
	cr_assert_eq(ccid_params_decode(1, data, sizeof(data), &p), -1);
	cr_expect_eq(p.fi_di, 0xA5);
	cr_expect_eq(p.protocol, 0xA5);
}

/* ---- interrupt messages ---- */

Test(ccid_notify, hand_computed_bytes)
{
	uint8_t out[8];
	size_t n;

	/* §6.3.1: slot 0 in bits 0-1 (present, changed), slot 1 in 2-3... */
	{
		const bool present[1] = { true };
		const bool changed[1] = { true };

		n = ccid_build_notify(present, changed, 1, out, sizeof(out));
		EXPECT_BYTES(out, n, 0x50, 0x03);
	}
	{
		/* slot 0 present unchanged (01), slot 1 removed (10). */
		const bool present[2] = { true, false };
		const bool changed[2] = { false, true };

		n = ccid_build_notify(present, changed, 2, out, sizeof(out));
		EXPECT_BYTES(out, n, 0x50, 0x09);
	}
	{
		/* Five slots: 11 00 01 10 | 01 -> 0x93 (10 01 00 11), 0x01. */
		const bool present[5] = { true, false, true, false, true };
		const bool changed[5] = { true, false, false, true, false };

		n = ccid_build_notify(present, changed, 5, out, sizeof(out));
		EXPECT_BYTES(out, n, 0x50, 0x93, 0x01);
	}
}

Test(ccid_notify, build_and_parse_every_state_of_1_to_8_slots)
{
	for (unsigned nslots = 1; nslots <= 8; nslots++) {
		unsigned combos = 1u << (2 * nslots);
		size_t want_len = 1 + (nslots + 3) / 4;

		for (unsigned bits = 0; bits < combos; bits++) {
			bool present[8], changed[8];
			uint8_t out[4];

			for (unsigned s = 0; s < nslots; s++) {
				present[s] = (bits >> (2 * s)) & 1;
				changed[s] = (bits >> (2 * s + 1)) & 1;
			}
			memset(out, POISON, sizeof(out));
			size_t n = ccid_build_notify(present, changed, nslots, out, sizeof(out));
			cr_assert_eq(n, want_len, "%u slots", nslots);
			cr_assert_eq(out[0], RDR_TO_PC_NOTIFY_SLOT_CHANGE);
			/* Bits of slots past nslots stay clear. */
			if (nslots % 4)
				cr_assert_eq(out[n - 1] >> (2 * (nslots % 4)), 0,
					     "%u slots, state %X", nslots, bits);
			uint8_t *copy = ts_exact_copy(out, n);
			for (unsigned s = 0; s < nslots; s++) {
				bool p = !present[s], c = !changed[s];

				cr_assert_eq(ccid_notify_slot(copy, n, s, &p, &c), 0);
				cr_assert_eq(p, present[s], "%u slots, state %X, slot %u",
					     nslots, bits, s);
				cr_assert_eq(c, changed[s], "%u slots, state %X, slot %u",
					     nslots, bits, s);
			}
			/* A slot past the message's last byte is not covered. */
			bool p = true, c = true;
			cr_assert_eq(ccid_notify_slot(copy, n, (unsigned)(n - 1) * 4, &p, &c), 1);
			cr_assert_eq(ccid_notify_slot(copy, n, 1000, &p, &c), 1);
			free(copy);
		}
		bool present[8] = { 0 }, changed[8] = { 0 };
		uint8_t out[4];
		for (size_t cap = 0; cap < want_len; cap++)
			cr_assert_eq(ccid_build_notify(present, changed, nslots, out, cap), 0,
				     "%u slots into %zu bytes", nslots, cap);
	}
}

Test(ccid_notify, slots_inside_the_last_byte_read_as_empty)
{
	/* One slot announced, but the byte holds four: slots 1-3 read as
	 * absent and unchanged, which is what the zero bits say. */
	const bool present[1] = { true };
	const bool changed[1] = { false };
	uint8_t out[2];
	bool p = true, c = true;

	cr_assert_eq(ccid_build_notify(present, changed, 1, out, sizeof(out)), 2);
	cr_assert_eq(ccid_notify_slot(out, 2, 3, &p, &c), 0);
	cr_expect_not(p);
	cr_expect_not(c);
}

Test(ccid_notify, hardware_error_and_malformed)
{
	static const uint8_t hw[] = { 0x51, 0x00, 0x05, 0x01 };
	static const uint8_t hw_short[] = { 0x51, 0x00, 0x05 };
	static const uint8_t hw_long[] = { 0x51, 0x00, 0x05, 0x01, 0x00 };
	static const uint8_t bare[] = { 0x50 };
	static const uint8_t other[] = { 0x52, 0x03 };
	static const uint8_t bulk[] = { 0x80, 0x03 };
	uint8_t big[1 + 65];
	bool p = false, c = false;

	cr_expect_eq(ccid_notify_slot(hw, sizeof(hw), 0, &p, &c), 1);
	cr_expect_eq(ccid_notify_slot(hw_short, sizeof(hw_short), 0, &p, &c), -1);
	cr_expect_eq(ccid_notify_slot(hw_long, sizeof(hw_long), 0, &p, &c), -1);
	cr_expect_eq(ccid_notify_slot(bare, sizeof(bare), 0, &p, &c), -1, "no state byte");
	cr_expect_eq(ccid_notify_slot(other, sizeof(other), 0, &p, &c), -1);
	cr_expect_eq(ccid_notify_slot(bulk, sizeof(bulk), 0, &p, &c), -1);
	cr_expect_eq(ccid_notify_slot(NULL, 0, 0, &p, &c), -1);
	cr_expect_eq(ccid_notify_slot(hw, sizeof(hw), 0, NULL, &c), -1);

	/* 256 slots need 64 state bytes; 65 is more than any reader has. */
	memset(big, 0xFF, sizeof(big));
	big[0] = RDR_TO_PC_NOTIFY_SLOT_CHANGE;
	cr_expect_eq(ccid_notify_slot(big, 65, 255, &p, &c), 0);
	cr_expect(p && c);
	cr_expect_eq(ccid_notify_slot(big, 66, 0, &p, &c), -1);
}

Test(ccid_notify, slot_count_limits)
{
	bool present[257] = { 0 }, changed[257] = { 0 };
	uint8_t out[80];

	cr_expect_eq(ccid_build_notify(present, changed, 0, out, sizeof(out)), 0, "no slots");
	cr_expect_eq(ccid_build_notify(present, changed, 256, out, sizeof(out)), 65);
	cr_expect_eq(ccid_build_notify(present, changed, 257, out, sizeof(out)), 0);
	cr_expect_eq(ccid_build_notify(NULL, changed, 1, out, sizeof(out)), 0);
}

/* ---- the class descriptor ---- */

/*
 * A single-slot TPDU reader, written from CCID 1.1 table 5.1-1. It powers
 * the card at 5, 3 or 1.8 V, speaks T=0 and T=1, runs the card at a fixed
 * 4 MHz (so 4000000/372 = 10752 bps after reset and 344086 bps at most,
 * Fi 372 with Di 32), and does voltage, clock, baud rate, ATR-based
 * parameters and PPS itself (dwFeatures 000100BA: 02 | 08 | 10 | 20 | 80
 * and TPDU level). Its buffer holds a header and a short APDU's TPDU:
 * 10 + 261 = 271.
 */
static const uint8_t tpdu_reader[CCID_DESCRIPTOR_LEN] = {
	0x36,			/* bLength */
	0x21,			/* bDescriptorType */
	0x10, 0x01,		/* bcdCCID 1.10 */
	0x00,			/* bMaxSlotIndex: one slot */
	0x07,			/* bVoltageSupport: 5 V, 3 V, 1.8 V */
	0x03, 0x00, 0x00, 0x00,	/* dwProtocols: T=0, T=1 */
	0xA0, 0x0F, 0x00, 0x00,	/* dwDefaultClock 4000 kHz */
	0xA0, 0x0F, 0x00, 0x00,	/* dwMaximumClock 4000 kHz */
	0x00,			/* bNumClockSupported: default only */
	0x00, 0x2A, 0x00, 0x00,	/* dwDataRate 10752 bps */
	0x16, 0x40, 0x05, 0x00,	/* dwMaxDataRate 344086 bps */
	0x00,			/* bNumDataRatesSupported */
	0xFE, 0x00, 0x00, 0x00,	/* dwMaxIFSD 254 */
	0x00, 0x00, 0x00, 0x00,	/* dwSynchProtocols */
	0x00, 0x00, 0x00, 0x00,	/* dwMechanical */
	0xBA, 0x00, 0x01, 0x00,	/* dwFeatures 000100BA */
	0x0F, 0x01, 0x00, 0x00,	/* dwMaxCCIDMessageLength 271 */
	0xFF,			/* bClassGetResponse: echo the APDU's class */
	0xFF,			/* bClassEnvelope: echo */
	0x00, 0x00,		/* wLcdLayout: no LCD */
	0x00,			/* bPINSupport: none */
	0x01,			/* bMaxCCIDBusySlots */
};

static int parse_desc_exact(const uint8_t *buf, size_t len, struct ccid_descriptor *d)
{
	uint8_t *copy = ts_exact_copy(buf, len);
	int rc = ccid_descriptor_parse(copy, len, d);

	free(copy);
	return rc;
}

/* Field by field: the struct has padding, which memcmp would compare. */
static void expect_same_descriptor(const struct ccid_descriptor *a,
				   const struct ccid_descriptor *b)
{
	cr_expect_eq(a->bcd_ccid, b->bcd_ccid);
	cr_expect_eq(a->max_slot_index, b->max_slot_index);
	cr_expect_eq(a->voltage_support, b->voltage_support);
	cr_expect_eq(a->protocols, b->protocols);
	cr_expect_eq(a->default_clock, b->default_clock);
	cr_expect_eq(a->maximum_clock, b->maximum_clock);
	cr_expect_eq(a->num_clocks, b->num_clocks);
	cr_expect_eq(a->data_rate, b->data_rate);
	cr_expect_eq(a->max_data_rate, b->max_data_rate);
	cr_expect_eq(a->num_data_rates, b->num_data_rates);
	cr_expect_eq(a->max_ifsd, b->max_ifsd);
	cr_expect_eq(a->synch_protocols, b->synch_protocols);
	cr_expect_eq(a->mechanical, b->mechanical);
	cr_expect_eq(a->features, b->features);
	cr_expect_eq(a->max_message_length, b->max_message_length);
	cr_expect_eq(a->class_get_response, b->class_get_response);
	cr_expect_eq(a->class_envelope, b->class_envelope);
	cr_expect_eq(a->lcd_layout, b->lcd_layout);
	cr_expect_eq(a->pin_support, b->pin_support);
	cr_expect_eq(a->max_busy_slots, b->max_busy_slots);
}

Test(ccid_descriptor, tpdu_reader_field_by_field)
{
	struct ccid_descriptor d;

	cr_assert_eq(parse_desc_exact(tpdu_reader, sizeof(tpdu_reader), &d), 0);
	cr_expect_eq(d.bcd_ccid, 0x0110);
	cr_expect_eq(d.max_slot_index, 0);
	cr_expect_eq(d.voltage_support, CCID_VOLTAGE_5V | CCID_VOLTAGE_3V | CCID_VOLTAGE_1_8V);
	cr_expect_eq(d.protocols, 3);
	cr_expect_eq(d.default_clock, 4000);
	cr_expect_eq(d.maximum_clock, 4000);
	cr_expect_eq(d.num_clocks, 0);
	cr_expect_eq(d.data_rate, 10752);
	cr_expect_eq(d.max_data_rate, 344086);
	cr_expect_eq(d.num_data_rates, 0);
	cr_expect_eq(d.max_ifsd, 254);
	cr_expect_eq(d.synch_protocols, 0);
	cr_expect_eq(d.mechanical, 0);
	cr_expect_eq(d.features, 0x000100BAu);
	cr_expect_eq(d.features, CCID_FEAT_AUTO_ATR_CONFIG | CCID_FEAT_AUTO_VOLTAGE |
				 CCID_FEAT_AUTO_CLOCK | CCID_FEAT_AUTO_BAUD |
				 CCID_FEAT_AUTO_PPS_CUR | CCID_FEAT_LEVEL_TPDU);
	cr_expect_eq(d.max_message_length, 271);
	cr_expect_eq(d.class_get_response, 0xFF);
	cr_expect_eq(d.class_envelope, 0xFF);
	cr_expect_eq(d.lcd_layout, 0);
	cr_expect_eq(d.pin_support, 0);
	cr_expect_eq(d.max_busy_slots, 1);
	cr_expect_eq(ccid_descriptor_level(&d), CCID_LEVEL_TPDU);
	cr_expect_str_eq(ccid_level_name(ccid_descriptor_level(&d)), "TPDU");
}

Test(ccid_descriptor, round_trip)
{
	struct ccid_descriptor d, back;
	uint8_t out[CCID_DESCRIPTOR_LEN];

	cr_assert_eq(parse_desc_exact(tpdu_reader, sizeof(tpdu_reader), &d), 0);
	cr_assert_eq(ccid_descriptor_build(&d, out), CCID_DESCRIPTOR_LEN);
	cr_assert_arr_eq(out, tpdu_reader, CCID_DESCRIPTOR_LEN);

	/* A field-distinct descriptor: each multi-byte field gets bytes no
	 * other field has, so a swapped or misplaced field shows. */
	struct ccid_descriptor odd = {
		.bcd_ccid = 0x0201, .max_slot_index = 0x03, .voltage_support = 0x04,
		.protocols = 0x08070605, .default_clock = 0x0C0B0A09,
		.maximum_clock = 0x100F0E0D, .num_clocks = 0x11,
		.data_rate = 0x15141312, .max_data_rate = 0x19181716,
		.num_data_rates = 0x1A, .max_ifsd = 0x1E1D1C1B,
		.synch_protocols = 0x2221201F, .mechanical = 0x26252423,
		.features = 0x2A292827, .max_message_length = 0x2E2D2C2B,
		.class_get_response = 0x2F, .class_envelope = 0x30,
		.lcd_layout = 0x3231, .pin_support = 0x33, .max_busy_slots = 0x34,
	};
	cr_assert_eq(ccid_descriptor_build(&odd, out), CCID_DESCRIPTOR_LEN);
	cr_expect_eq(out[0], 0x36);
	cr_expect_eq(out[1], 0x21);
	/* Bytes 2..53 count up from 01, the layout of table 5.1-1. */
	for (size_t i = 2; i < CCID_DESCRIPTOR_LEN; i++)
		cr_expect_eq(out[i], i - 1, "byte %zu", i);
	cr_assert_eq(parse_desc_exact(out, sizeof(out), &back), 0);
	expect_same_descriptor(&back, &odd);
	cr_expect_eq(ccid_descriptor_build(NULL, out), 0);
}

Test(ccid_descriptor, every_truncation_is_refused)
{
	for (size_t n = 0; n < CCID_DESCRIPTOR_LEN; n++) {
		struct ccid_descriptor d;

		memset(&d, 0xA5, sizeof(d));
		cr_expect_eq(parse_desc_exact(tpdu_reader, n, &d), -1, "cut to %zu", n);
		cr_expect_eq(d.bcd_ccid, 0xA5A5, "a refused parse leaves *d alone");
	}
}

Test(ccid_descriptor, following_descriptor_is_not_read)
{
	/* An endpoint descriptor after the class descriptor, as in the
	 * interface's extra bytes. */
	uint8_t buf[CCID_DESCRIPTOR_LEN + 7];
	struct ccid_descriptor d;

	memcpy(buf, tpdu_reader, CCID_DESCRIPTOR_LEN);
	memcpy(buf + CCID_DESCRIPTOR_LEN, "\x07\x05\x81\x03\x08\x00\x10", 7);
	cr_assert_eq(parse_desc_exact(buf, sizeof(buf), &d), 0);
	cr_expect_eq(d.max_busy_slots, 1);
}

Test(ccid_descriptor, wrong_length_type_or_buffer_size_refused)
{
	uint8_t buf[CCID_DESCRIPTOR_LEN];
	struct ccid_descriptor d;

	for (unsigned v = 0; v < 256; v++) {
		memcpy(buf, tpdu_reader, sizeof(buf));
		buf[0] = (uint8_t)v;
		cr_expect_eq(parse_desc_exact(buf, sizeof(buf), &d), v == 0x36 ? 0 : -1,
			     "bLength %02X", v);
		memcpy(buf, tpdu_reader, sizeof(buf));
		buf[1] = (uint8_t)v;
		cr_expect_eq(parse_desc_exact(buf, sizeof(buf), &d), v == 0x21 ? 0 : -1,
			     "bDescriptorType %02X", v);
	}
	cr_expect_eq(ccid_descriptor_parse(NULL, 0, &d), -1);
	cr_expect_eq(ccid_descriptor_parse(tpdu_reader, sizeof(tpdu_reader), NULL), -1);
}

Test(ccid_descriptor, message_length_below_a_header_refused)
{
	uint8_t buf[CCID_DESCRIPTOR_LEN];
	struct ccid_descriptor d;

	memcpy(buf, tpdu_reader, sizeof(buf));
	store_le32(buf + 44, CCID_HEADER_LEN - 1);
	cr_expect_eq(parse_desc_exact(buf, sizeof(buf), &d), -1);
	store_le32(buf + 44, CCID_HEADER_LEN);
	cr_expect_eq(parse_desc_exact(buf, sizeof(buf), &d), 0);
	cr_expect_eq(d.max_message_length, CCID_HEADER_LEN);
}

Test(ccid_descriptor, level_detection)
{
	static const struct {
		uint32_t features;
		enum ccid_level level;
		const char *name;
	} cases[] = {
		{ 0x00000000, CCID_LEVEL_CHARACTER, "character" },
		{ 0x000000BA, CCID_LEVEL_CHARACTER, "character" },
		{ 0x000100BA, CCID_LEVEL_TPDU, "TPDU" },
		{ 0x00020840, CCID_LEVEL_SHORT_APDU, "short APDU" },
		{ 0x000404BE, CCID_LEVEL_EXTENDED_APDU, "extended APDU" },
		{ 0x001404BE, CCID_LEVEL_EXTENDED_APDU, "extended APDU" },
		/* Faulty readers with several bits: the highest is reported. */
		{ 0x00030000, CCID_LEVEL_SHORT_APDU, "short APDU" },
		{ 0x00070000, CCID_LEVEL_EXTENDED_APDU, "extended APDU" },
		{ 0x00050000, CCID_LEVEL_EXTENDED_APDU, "extended APDU" },
		/* Bits outside the level mask do not count. */
		{ 0x00080000, CCID_LEVEL_CHARACTER, "character" },
		{ 0xFFF8FFFF, CCID_LEVEL_CHARACTER, "character" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t buf[CCID_DESCRIPTOR_LEN];
		struct ccid_descriptor d;

		memcpy(buf, tpdu_reader, sizeof(buf));
		store_le32(buf + 40, cases[i].features);
		cr_assert_eq(parse_desc_exact(buf, sizeof(buf), &d), 0);
		cr_expect_eq(ccid_descriptor_level(&d), cases[i].level, "%08X", cases[i].features);
		cr_expect_str_eq(ccid_level_name(ccid_descriptor_level(&d)), cases[i].name);
	}
	cr_expect_eq(ccid_descriptor_level(NULL), CCID_LEVEL_CHARACTER);
	cr_expect_str_eq(ccid_level_name((enum ccid_level)42), "unknown");
}

/* ---- names and classification ---- */

Test(ccid_names, message_types)
{
	static const struct {
		uint8_t type;
		const char *name;
		bool out, in;
	} cases[] = {
		{ 0x61, "PC_to_RDR_SetParameters", true, false },
		{ 0x62, "PC_to_RDR_IccPowerOn", true, false },
		{ 0x63, "PC_to_RDR_IccPowerOff", true, false },
		{ 0x65, "PC_to_RDR_GetSlotStatus", true, false },
		{ 0x69, "PC_to_RDR_Secure", true, false },
		{ 0x6A, "PC_to_RDR_T0APDU", true, false },
		{ 0x6B, "PC_to_RDR_Escape", true, false },
		{ 0x6C, "PC_to_RDR_GetParameters", true, false },
		{ 0x6D, "PC_to_RDR_ResetParameters", true, false },
		{ 0x6E, "PC_to_RDR_IccClock", true, false },
		{ 0x6F, "PC_to_RDR_XfrBlock", true, false },
		{ 0x71, "PC_to_RDR_Mechanical", true, false },
		{ 0x72, "PC_to_RDR_Abort", true, false },
		{ 0x73, "PC_to_RDR_SetDataRateAndClockFrequency", true, false },
		{ 0x80, "RDR_to_PC_DataBlock", false, true },
		{ 0x81, "RDR_to_PC_SlotStatus", false, true },
		{ 0x82, "RDR_to_PC_Parameters", false, true },
		{ 0x83, "RDR_to_PC_Escape", false, true },
		{ 0x84, "RDR_to_PC_DataRateAndClockFrequency", false, true },
		{ 0x50, "RDR_to_PC_NotifySlotChange", false, false },
		{ 0x51, "RDR_to_PC_HardwareError", false, false },
	};
	unsigned named = 0;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_expect_str_eq(ccid_msg_name(cases[i].type), cases[i].name);
		cr_expect_eq(ccid_is_pc_to_rdr(cases[i].type), cases[i].out, "%02X", cases[i].type);
		cr_expect_eq(ccid_is_rdr_to_pc(cases[i].type), cases[i].in, "%02X", cases[i].type);
	}
	/* Nothing else has a name or a direction. */
	for (unsigned t = 0; t < 256; t++) {
		if (strcmp(ccid_msg_name((uint8_t)t), "unknown") != 0)
			named++;
		else
			cr_expect_not(ccid_is_pc_to_rdr((uint8_t)t) || ccid_is_rdr_to_pc((uint8_t)t),
				      "%02X", t);
	}
	cr_expect_eq(named, sizeof(cases) / sizeof(cases[0]));
}

Test(ccid_names, errors)
{
	cr_expect_str_eq(ccid_error_name(0x00), "CMD_NOT_SUPPORTED");
	cr_expect_str_eq(ccid_error_name(0xFF), "CMD_ABORTED");
	cr_expect_str_eq(ccid_error_name(0xFE), "ICC_MUTE");
	cr_expect_str_eq(ccid_error_name(0xFD), "XFR_PARITY_ERROR");
	cr_expect_str_eq(ccid_error_name(0xFC), "XFR_OVERRUN");
	cr_expect_str_eq(ccid_error_name(0xFB), "HW_ERROR");
	cr_expect_str_eq(ccid_error_name(0xF8), "BAD_ATR_TS");
	cr_expect_str_eq(ccid_error_name(0xF7), "BAD_ATR_TCK");
	cr_expect_str_eq(ccid_error_name(0xF6), "ICC_PROTOCOL_NOT_SUPPORTED");
	cr_expect_str_eq(ccid_error_name(0xF5), "ICC_CLASS_NOT_SUPPORTED");
	cr_expect_str_eq(ccid_error_name(0xF4), "PROCEDURE_BYTE_CONFLICT");
	cr_expect_str_eq(ccid_error_name(0xF3), "DEACTIVATED_PROTOCOL");
	cr_expect_str_eq(ccid_error_name(0xF2), "BUSY_WITH_AUTO_SEQUENCE");
	cr_expect_str_eq(ccid_error_name(0xF0), "PIN_TIMEOUT");
	cr_expect_str_eq(ccid_error_name(0xEF), "PIN_CANCELLED");
	cr_expect_str_eq(ccid_error_name(0xE0), "CMD_SLOT_BUSY");
	for (unsigned e = 0x01; e <= 0x7F; e++)
		cr_expect_str_eq(ccid_error_name((uint8_t)e), "bad parameter", "%02X", e);
	cr_expect_str_eq(ccid_error_name(0x80), "unknown");
	cr_expect_str_eq(ccid_error_name(0xF9), "unknown");
	cr_expect_str_eq(ccid_error_name(0xF1), "unknown");
}

/* ---- SIM_INFO ---- */

static void sample_info(struct ifd_device_info *info)
{
	memset(info, 0, sizeof(*info));
	info->vendor_id = 0x1209;
	info->product_id = 0xEC01;
	info->bcd_device = 0x0100;
	info->interface_number = 0;
	info->has_interrupt = true;
	strcpy(info->manufacturer, "ecard");
	strcpy(info->product, "ecard simulated CCID reader");
	strcpy(info->serial, "0001");
	cr_assert_eq(ccid_descriptor_parse(tpdu_reader, sizeof(tpdu_reader), &info->desc), 0);
}

/* 8 fixed bytes, 3 length bytes, the strings, the descriptor. */
#define SAMPLE_INFO_LEN (8 + 3 + 5 + 27 + 4 + CCID_DESCRIPTOR_LEN)

Test(sim_info, encode_layout)
{
	struct ifd_device_info info;
	uint8_t out[256];

	sample_info(&info);
	size_t n = sim_info_encode(&info, out, sizeof(out));
	cr_assert_eq(n, SAMPLE_INFO_LEN);
	cr_expect_arr_eq(out, ((uint8_t[]){ 0x09, 0x12, 0x01, 0xEC, 0x00, 0x01, 0x00, 0x01,
					    0x05, 'e', 'c', 'a', 'r', 'd', 27 }), 15);
	cr_expect_arr_eq(out + 15, "ecard simulated CCID reader", 27);
	cr_expect_arr_eq(out + 42, "\x04" "0001", 5);
	cr_expect_arr_eq(out + 47, tpdu_reader, CCID_DESCRIPTOR_LEN);
	for (size_t cap = 0; cap < n; cap++)
		cr_expect_eq(sim_info_encode(&info, out, cap), 0, "into %zu bytes", cap);
	cr_expect_eq(sim_info_encode(NULL, out, sizeof(out)), 0);
}

Test(sim_info, round_trip)
{
	struct ifd_device_info info, back;
	uint8_t out[256];

	sample_info(&info);
	size_t n = sim_info_encode(&info, out, sizeof(out));
	uint8_t *copy = ts_exact_copy(out, n);

	memset(&back, 0xA5, sizeof(back));
	cr_assert_eq(sim_info_decode(copy, n, &back), 0);
	cr_expect_eq(back.vendor_id, info.vendor_id);
	cr_expect_eq(back.product_id, info.product_id);
	cr_expect_eq(back.bcd_device, info.bcd_device);
	cr_expect_eq(back.interface_number, info.interface_number);
	cr_expect_eq(back.has_interrupt, info.has_interrupt);
	cr_expect_str_eq(back.manufacturer, info.manufacturer);
	cr_expect_str_eq(back.product, info.product);
	cr_expect_str_eq(back.serial, info.serial);
	expect_same_descriptor(&back.desc, &info.desc);
	free(copy);

	/* Empty strings and the longest ones both survive. */
	info.has_interrupt = false;
	info.manufacturer[0] = '\0';
	memset(info.product, 'P', 63);
	info.product[63] = '\0';
	info.serial[0] = '\0';
	n = sim_info_encode(&info, out, sizeof(out));
	cr_assert_eq(n, 8 + 3 + 63 + CCID_DESCRIPTOR_LEN);
	cr_assert_eq(sim_info_decode(out, n, &back), 0);
	cr_expect_not(back.has_interrupt);
	cr_expect_str_eq(back.manufacturer, "");
	cr_expect_str_eq(back.product, info.product);
	cr_expect_str_eq(back.serial, "");
}

Test(sim_info, every_truncation_and_a_trailing_byte_refused)
{
	struct ifd_device_info info, back;
	uint8_t out[256];

	sample_info(&info);
	size_t n = sim_info_encode(&info, out, sizeof(out));
	cr_assert_gt(n, 0);
	for (size_t k = 0; k < n; k++) {
		uint8_t *copy = ts_exact_copy(out, k);

		memset(&back, 0xA5, sizeof(back));
		cr_expect_eq(sim_info_decode(copy, k, &back), -1, "cut to %zu", k);
		cr_expect_eq(back.vendor_id, 0xA5A5, "a refused decode leaves *info alone");
		free(copy);
	}
	out[n] = 0x00;
	cr_expect_eq(sim_info_decode(out, n + 1, &back), -1, "one byte too many");
	cr_expect_eq(sim_info_decode(out, n, NULL), -1);
}

Test(sim_info, malformed_fields_refused)
{
	struct ifd_device_info info, back;
	uint8_t good[256], buf[256];

	sample_info(&info);
	size_t n = sim_info_encode(&info, good, sizeof(good));

	/* The has-interrupt flag is 0 or 1. */
	memcpy(buf, good, n);
	buf[7] = 2;
	cr_expect_eq(sim_info_decode(buf, n, &back), -1);

	/* A NUL inside a string. */
	memcpy(buf, good, n);
	buf[9 + 2] = '\0';
	cr_expect_eq(sim_info_decode(buf, n, &back), -1);

	/* A descriptor of the wrong type. */
	memcpy(buf, good, n);
	buf[n - CCID_DESCRIPTOR_LEN + 1] = 0x22;
	cr_expect_eq(sim_info_decode(buf, n, &back), -1);

	/* A 64-byte string, longer than the field can hold with its NUL:
	 * built by hand since the encoder will not produce it. */
	struct writer w;
	writer_init(&w, buf, sizeof(buf));
	writer_bytes(&w, good, 8);
	writer_u8(&w, 64);
	for (int i = 0; i < 64; i++)
		writer_u8(&w, 'M');
	writer_u8(&w, 0);
	writer_u8(&w, 0);
	writer_bytes(&w, tpdu_reader, CCID_DESCRIPTOR_LEN);
	cr_assert(writer_ok(&w));
	cr_expect_eq(sim_info_decode(buf, w.len, &back), -1);
	/* The same with 63 bytes is fine. */
	buf[8] = 63;
	memmove(buf + 9 + 63, buf + 9 + 64, w.len - (9 + 64));
	cr_expect_eq(sim_info_decode(buf, w.len - 1, &back), 0);
	cr_expect_eq(strlen(back.manufacturer), 63);
}

Test(sim_info, encoder_refuses_an_unterminated_string)
{
	struct ifd_device_info info;
	uint8_t out[256];

	sample_info(&info);
	memset(info.serial, 'S', sizeof(info.serial));
	cr_expect_eq(sim_info_encode(&info, out, sizeof(out)), 0);
}
