/*
 * fuzz_parsers.c - a standalone mutation fuzzer for the reader driver's
 * parsers of untrusted bytes, its codecs in ifd/codec/: CCID messages
 * (ccid.c), the simulator's SIM_INFO payload (sim_proto.c), the ATR and
 * PPS code (atr.c) and T=1 blocks (t1_block.c).
 *
 * The engine (corpora, mutations, the loop, the options) is fuzz_engine.c.
 * Each target starts from a corpus of valid inputs built here with the
 * codec's own builders (and ATRs typed in from their ISO 7816-3
 * structure). Besides the sanitizers' checks, every accepted input must
 * satisfy the target's invariants: decoded lengths stay within the input
 * and, where the format has one encoding only, re-encoding gives back the
 * input byte for byte.
 *
 * Accepted inputs join their target's corpus, which is why a failure is
 * reproduced by rerunning from the start with the seed rather than by
 * replaying one input.
 *
 *   fuzz_parsers [--seconds N | --iterations N] [--seed N]
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atr.h"
#include "ccid.h"
#include "cursor.h"
#include "fuzz_engine.h"
#include "sim_proto.h"
#include "t1_block.h"

/* Room for the largest CCID message and a few insertions past it. */
#define MAX_INPUT (CCID_MAX_MSG + 256)
/* The largest accepted input kept in a corpus. */
#define CORPUS_KEEP_MAX_LEN 4096

/* ---- targets: seeds and invariant checks ---- */

/* -- ccid_msg_decode: every bulk message, both directions -- */

static void seed_msg(struct fuzz_corpus *c)
{
	static const uint8_t apdu[] = { 0x00, 0xA4, 0x04, 0x00, 0x07, 0xA0, 0x00, 0x00,
					0x01, 0x51, 0x00, 0x00, 0x00 };
	static const uint8_t atr[] = { 0x3B, 0x8B, 0x01, 0x80, 0x73, 0x80, 0x00, 0x5B,
				       0x55, 0x45, 0x43, 0x41, 0x52, 0x44, 0xA6 };
	static const uint8_t t0_data[] = { 0x11, 0x00, 0x00, 0x0A, 0x00 };
	static const uint8_t t1_data[] = { 0x13, 0x10, 0x00, 0x45, 0x00, 0xFE, 0x00 };
	const struct ccid_params t0 = { .protocol = 0, .fi_di = 0x11, .waiting = 0x0A };
	const struct ccid_params t1 = { .protocol = 1, .fi_di = 0x96, .tcck = 0x11,
					.waiting = 0x45, .clock_stop = 0x03, .ifsc = 0xFE };
	uint8_t *out = fuzz_xmalloc(CCID_MAX_MSG);
	uint8_t *big = fuzz_xmalloc(CCID_MAX_DATA);
	const size_t cap = CCID_MAX_MSG;

	for (size_t i = 0; i < CCID_MAX_DATA; i++)
		big[i] = (uint8_t)(i * 31 + 7);

	fuzz_add_built(c, out, ccid_build_power_on(0, 5, CCID_POWER_AUTO, out, cap));
	fuzz_add_built(c, out, ccid_build_power_on(1, 0xFF, CCID_POWER_1_8V, out, cap));
	fuzz_add_built(c, out, ccid_build_power_off(0, 6, out, cap));
	fuzz_add_built(c, out, ccid_build_get_slot_status(2, 7, out, cap));
	fuzz_add_built(c, out, ccid_build_get_parameters(0, 8, out, cap));
	fuzz_add_built(c, out, ccid_build_reset_parameters(0, 9, out, cap));
	fuzz_add_built(c, out, ccid_build_abort(0, 10, out, cap));
	fuzz_add_built(c, out, ccid_build_escape(0, 11, apdu, 3, out, cap));
	fuzz_add_built(c, out, ccid_build_set_parameters(0, 12, &t0, out, cap));
	fuzz_add_built(c, out, ccid_build_set_parameters(0, 13, &t1, out, cap));
	fuzz_add_built(c, out, ccid_build_xfr_block(0, 14, 0, 0, apdu, sizeof(apdu), out, cap));
	fuzz_add_built(c, out, ccid_build_xfr_block(0, 15, 2, CCID_CHAIN_BEGIN, big, 261, out, cap));
	fuzz_add_built(c, out, ccid_build_xfr_block(0, 16, 0, CCID_CHAIN_EMPTY, NULL, 0, out, cap));
	fuzz_add_built(c, out, ccid_build_xfr_block(0, 17, 0, 0x0102, big, 300, out, cap));
	fuzz_add_built(c, out, ccid_build_response(RDR_TO_PC_DATA_BLOCK, 0, 5, 0, 0, 0,
					      atr, sizeof(atr), out, cap));
	fuzz_add_built(c, out, ccid_build_response(RDR_TO_PC_DATA_BLOCK, 0, 14, 0, 0, 0,
					      (const uint8_t *)"\x90\x00", 2, out, cap));
	fuzz_add_built(c, out, ccid_build_response(RDR_TO_PC_DATA_BLOCK, 0, 15, 0, 0,
					      CCID_CHAIN_CONTINUE, big, 258, out, cap));
	fuzz_add_built(c, out, ccid_build_response(RDR_TO_PC_DATA_BLOCK, 0, 16,
					      CCID_STATUS(CCID_ICC_ACTIVE, CCID_CMD_TIME_EXTENSION),
					      1, 0, NULL, 0, out, cap));
	fuzz_add_built(c, out, ccid_build_response(RDR_TO_PC_SLOT_STATUS, 0, 6,
					      CCID_STATUS(CCID_ICC_ABSENT, CCID_CMD_FAILED),
					      CCID_ERR_ICC_MUTE, 0, NULL, 0, out, cap));
	fuzz_add_built(c, out, ccid_build_response(RDR_TO_PC_PARAMETERS, 0, 12, 0, 0, 0,
					      t0_data, sizeof(t0_data), out, cap));
	fuzz_add_built(c, out, ccid_build_response(RDR_TO_PC_PARAMETERS, 0, 13, 0, 0, 1,
					      t1_data, sizeof(t1_data), out, cap));
	fuzz_add_built(c, out, ccid_build_response(RDR_TO_PC_ESCAPE, 0, 11, 0, 0, 0,
					      apdu, 4, out, cap));
	fuzz_add_built(c, out, ccid_build_response(RDR_TO_PC_DATA_RATE, 0, 18, 0, 0, 0,
					      (const uint8_t *)"\xA0\x0F\x00\x00\x00\x2A\x00\x00",
					      8, out, cap));
	/* The largest message there is, so lengths near the limit get hit. */
	fuzz_add_built(c, out, ccid_build_response(RDR_TO_PC_DATA_BLOCK, 0, 19, 0, 0, 0,
					      big, CCID_MAX_DATA, out, cap));
	free(big);
	free(out);
}

static const struct fuzz_length_field msg_lengths[] = { { 1, 4, true } };

static void fixup_msg(uint8_t *buf, size_t len)
{
	if (len >= CCID_HEADER_LEN)
		store_le32(buf + 1, (uint32_t)(len - CCID_HEADER_LEN));
}

static bool run_msg(const uint8_t *buf, size_t len, const struct fuzz_run *r)
{
	struct ccid_msg m;

	if (ccid_msg_decode(buf, len, &m) != 0)
		return false;
	CHECK(len >= CCID_HEADER_LEN, "accepted %zu bytes, less than a header", len);
	CHECK(m.len == len - CCID_HEADER_LEN, "dwLength %" PRIu32 " for %zu bytes", m.len, len);
	CHECK(m.len <= CCID_MAX_DATA, "dwLength %" PRIu32 " past CCID_MAX_DATA", m.len);
	CHECK(m.data == buf + CCID_HEADER_LEN, "abData does not point into the input");
	CHECK(!(ccid_is_pc_to_rdr(m.type) && ccid_is_rdr_to_pc(m.type)),
	      "type %02X is both directions", m.type);
	CHECK(ccid_msg_name(m.type) && ccid_error_name(ccid_msg_error(&m)), "a name is NULL");

	/* One encoding only: header fields and data give back the input. */
	size_t n = ccid_msg_encode(&m, r->scratch, len);
	CHECK(n == len, "re-encoded to %zu bytes", n);
	CHECK(memcmp(r->scratch, buf, len) == 0, "re-encoding differs from the input");
	CHECK(ccid_msg_encode(&m, r->scratch, len - 1) == 0,
	      "encoded into one byte less than it needs");

	/* The protocol data inside (Set)Parameters goes on to its decoder. */
	if (m.type == PC_TO_RDR_SET_PARAMETERS || m.type == RDR_TO_PC_PARAMETERS) {
		uint8_t protocol = m.type == PC_TO_RDR_SET_PARAMETERS ? m.param[0]
								      : ccid_msg_specific(&m);
		struct ccid_params p;

		if (ccid_params_decode(protocol, m.data, m.len, &p) == 0)
			CHECK(m.len == (protocol ? CCID_PARAMS_T1_LEN : CCID_PARAMS_T0_LEN),
			      "protocol data of %" PRIu32 " bytes for T=%u", m.len, protocol);
	}
	return true;
}

/* -- ccid_params_decode: input is bProtocolNum then the structure -- */

static void seed_params(struct fuzz_corpus *c)
{
	static const uint8_t seeds[][8] = {
		{ 0x00, 0x11, 0x00, 0x00, 0x0A, 0x00 },
		{ 0x00, 0x96, 0x02, 0xFF, 0xFF, 0x03 },
		{ 0x01, 0x11, 0x10, 0x00, 0x4D, 0x00, 0x20, 0x00 },
		{ 0x01, 0x18, 0x11, 0x02, 0x45, 0x03, 0xFE, 0x21 },
	};

	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++)
		fuzz_corpus_add(c, seeds[i], seeds[i][0] ? 1 + CCID_PARAMS_T1_LEN
						    : 1 + CCID_PARAMS_T0_LEN);
}

static bool run_params(const uint8_t *buf, size_t len, const struct fuzz_run *r)
{
	struct ccid_params p;
	struct ccid_msg m;

	if (len == 0)
		return false;
	if (ccid_params_decode(buf[0], buf + 1, len - 1, &p) != 0)
		return false;
	CHECK(buf[0] <= 1, "accepted protocol %u", buf[0]);
	CHECK(len - 1 == (buf[0] ? CCID_PARAMS_T1_LEN : CCID_PARAMS_T0_LEN),
	      "accepted %zu bytes for T=%u", len - 1, buf[0]);
	CHECK(p.protocol == buf[0], "decoded protocol %u from %u", p.protocol, buf[0]);

	/* Built back into a SetParameters, the structure is the input. */
	size_t n = ccid_build_set_parameters(0, 0, &p, r->scratch, MAX_INPUT);
	CHECK(n == CCID_HEADER_LEN + len - 1, "SetParameters of %zu bytes", n);
	CHECK(ccid_msg_decode(r->scratch, n, &m) == 0, "own SetParameters refused");
	CHECK(m.param[0] == buf[0], "bProtocolNum %u", m.param[0]);
	CHECK(memcmp(m.data, buf + 1, len - 1) == 0, "rebuilt structure differs");
	return true;
}

/* -- ccid_notify_slot: interrupt-in messages -- */

static void seed_notify(struct fuzz_corpus *c)
{
	bool present[256], changed[256];
	uint8_t out[1 + 64];

	for (unsigned nslots = 1; nslots <= 8; nslots++) {
		for (unsigned s = 0; s < nslots; s++) {
			present[s] = (s + nslots) % 2;
			changed[s] = (s * 3 + nslots) % 3 == 0;
		}
		fuzz_add_built(c, out, ccid_build_notify(present, changed, nslots, out, sizeof(out)));
	}
	for (unsigned s = 0; s < 256; s++) {
		present[s] = s % 3 == 0;
		changed[s] = s % 5 == 0;
	}
	fuzz_add_built(c, out, ccid_build_notify(present, changed, 256, out, sizeof(out)));
	fuzz_corpus_add(c, (const uint8_t *)"\x51\x00\x05\x01", 4);
}

static bool run_notify(const uint8_t *buf, size_t len, const struct fuzz_run *r)
{
	static const unsigned probes[] = { 0, 1, 3, 4, 255, 256, 1000, 0xFFFFFFFFu };
	bool present[256], changed[256];
	bool p = false, c = false;
	int rc = ccid_notify_slot(buf, len, 0, &p, &c);

	if (rc == -1) {
		/* Malformed is a property of the message, not of the slot. */
		for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++)
			CHECK(ccid_notify_slot(buf, len, probes[i], &p, &c) == -1,
			      "malformed for slot 0 but not for slot %u", probes[i]);
		return false;
	}
	CHECK(len >= 2, "accepted %zu bytes", len);
	if (buf[0] == RDR_TO_PC_HARDWARE_ERROR) {
		CHECK(len == 4, "hardware error of %zu bytes accepted", len);
		for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++)
			CHECK(ccid_notify_slot(buf, len, probes[i], &p, &c) == 1,
			      "hardware error read as a slot state");
		return true;
	}
	CHECK(buf[0] == RDR_TO_PC_NOTIFY_SLOT_CHANGE, "accepted type %02X", buf[0]);
	CHECK(rc == 0, "slot 0 not covered by %zu bytes", len);

	/* Every slot the state bytes cover reads, the next one is outside,
	 * and building them back gives the same bytes. */
	size_t state = len - 1;
	CHECK(state <= 64, "%zu state bytes accepted", state);
	unsigned nslots = (unsigned)state * 4;
	for (unsigned s = 0; s < nslots; s++)
		CHECK(ccid_notify_slot(buf, len, s, &present[s], &changed[s]) == 0,
		      "slot %u of %u not read", s, nslots);
	CHECK(ccid_notify_slot(buf, len, nslots, &p, &c) == 1, "slot %u past the end read",
	      nslots);
	size_t n = ccid_build_notify(present, changed, nslots, r->scratch, MAX_INPUT);
	CHECK(n == len, "rebuilt to %zu bytes", n);
	CHECK(memcmp(r->scratch, buf, len) == 0, "rebuilt message differs");
	return true;
}

/* -- ccid_descriptor_parse -- */

static const struct ccid_descriptor tpdu_reader = {
	.bcd_ccid = 0x0110, .max_slot_index = 0, .voltage_support = 0x07,
	.protocols = 0x03, .default_clock = 4000, .maximum_clock = 4000,
	.data_rate = 10752, .max_data_rate = 344086, .max_ifsd = 254,
	.features = 0x000100BA, .max_message_length = 271,
	.class_get_response = 0xFF, .class_envelope = 0xFF, .max_busy_slots = 1,
};

static void seed_descriptor(struct fuzz_corpus *c)
{
	/* A two-slot pinpad at short APDU level, and an extended APDU
	 * reader with a display, beside the TPDU reader of the unit tests. */
	const struct ccid_descriptor pinpad = {
		.bcd_ccid = 0x0100, .max_slot_index = 1, .voltage_support = 0x03,
		.protocols = 0x03, .default_clock = 3580, .maximum_clock = 8000,
		.num_clocks = 3, .data_rate = 9600, .max_data_rate = 250000,
		.num_data_rates = 4, .max_ifsd = 254, .features = 0x000204BA,
		.max_message_length = 271, .class_get_response = 0xFF,
		.class_envelope = 0xFF, .pin_support = 0x03, .max_busy_slots = 2,
	};
	const struct ccid_descriptor extended = {
		.bcd_ccid = 0x0110, .max_slot_index = 0, .voltage_support = 0x07,
		.protocols = 0x03, .default_clock = 4800, .maximum_clock = 16000,
		.data_rate = 12903, .max_data_rate = 825806, .max_ifsd = 254,
		.mechanical = 0x02, .features = 0x001404BE,
		.max_message_length = CCID_MAX_MSG, .class_get_response = 0xFF,
		.class_envelope = 0xFF, .lcd_layout = 0x0210, .pin_support = 0x03,
		.max_busy_slots = 1,
	};
	uint8_t out[CCID_DESCRIPTOR_LEN + 7];

	fuzz_add_built(c, out, ccid_descriptor_build(&tpdu_reader, out));
	fuzz_add_built(c, out, ccid_descriptor_build(&pinpad, out));
	fuzz_add_built(c, out, ccid_descriptor_build(&extended, out));
	/* Followed by a bulk-in endpoint descriptor, as in a configuration. */
	ccid_descriptor_build(&tpdu_reader, out);
	memcpy(out + CCID_DESCRIPTOR_LEN, "\x07\x05\x82\x02\x40\x00\x00", 7);
	fuzz_corpus_add(c, out, sizeof(out));
}

static const struct fuzz_length_field descriptor_lengths[] = { { 0, 1, true } };

static void fixup_descriptor(uint8_t *buf, size_t len)
{
	if (len >= 2) {
		buf[0] = CCID_DESCRIPTOR_LEN;
		buf[1] = CCID_DESCRIPTOR_TYPE;
	}
}

static bool run_descriptor(const uint8_t *buf, size_t len, const struct fuzz_run *r)
{
	struct ccid_descriptor d, again;

	if (ccid_descriptor_parse(buf, len, &d) != 0)
		return false;
	CHECK(len >= CCID_DESCRIPTOR_LEN, "accepted %zu bytes", len);
	CHECK(d.max_message_length >= CCID_HEADER_LEN, "dwMaxCCIDMessageLength %" PRIu32,
	      d.max_message_length);
	enum ccid_level level = ccid_descriptor_level(&d);
	CHECK(level <= CCID_LEVEL_EXTENDED_APDU, "level %d", (int)level);
	CHECK(strcmp(ccid_level_name(level), "unknown") != 0, "level without a name");
	/* One encoding only, of the first 54 bytes; what follows is not
	 * part of the descriptor and must not change the result. */
	size_t n = ccid_descriptor_build(&d, r->scratch);
	CHECK(n == CCID_DESCRIPTOR_LEN, "rebuilt to %zu bytes", n);
	CHECK(memcmp(r->scratch, buf, CCID_DESCRIPTOR_LEN) == 0, "rebuilt descriptor differs");
	CHECK(ccid_descriptor_parse(buf, CCID_DESCRIPTOR_LEN, &again) == 0,
	      "the first 54 bytes alone are refused");
	return true;
}

/* -- sim_info_decode -- */

static void seed_sim_info(struct fuzz_corpus *c)
{
	struct ifd_device_info info;
	uint8_t out[512];

	memset(&info, 0, sizeof(info));
	info.vendor_id = 0x1209;
	info.product_id = 0xEC01;
	info.bcd_device = 0x0100;
	info.has_interrupt = true;
	strcpy(info.manufacturer, "ecard");
	strcpy(info.product, "ecard simulated CCID reader");
	strcpy(info.serial, "0001");
	info.desc = tpdu_reader;
	fuzz_add_built(c, out, sim_info_encode(&info, out, sizeof(out)));

	info.has_interrupt = false;
	info.interface_number = 1;
	info.manufacturer[0] = '\0';
	info.serial[0] = '\0';
	memset(info.product, 'P', 63);
	info.product[63] = '\0';
	info.desc.features = 0x000404BE;
	fuzz_add_built(c, out, sim_info_encode(&info, out, sizeof(out)));
}

static bool run_sim_info(const uint8_t *buf, size_t len, const struct fuzz_run *r)
{
	struct ifd_device_info info;

	if (sim_info_decode(buf, len, &info) != 0)
		return false;
	CHECK(len >= 8 + 3 + CCID_DESCRIPTOR_LEN, "accepted %zu bytes", len);
	CHECK(strnlen(info.manufacturer, sizeof(info.manufacturer)) <= 63 &&
	      strnlen(info.product, sizeof(info.product)) <= 63 &&
	      strnlen(info.serial, sizeof(info.serial)) <= 63, "a string is not terminated");
	size_t n = sim_info_encode(&info, r->scratch, len);
	CHECK(n == len, "re-encoded to %zu bytes", n);
	CHECK(memcmp(r->scratch, buf, len) == 0, "re-encoding differs from the input");
	CHECK(sim_info_encode(&info, r->scratch, len - 1) == 0,
	      "encoded into one byte less than it needs");
	return true;
}

/* -- ifd_atr_parse -- */

struct atr_seed {
	uint8_t bytes[IFD_ATR_MAX];
	size_t len;		/* without TCK */
	bool tck;		/* append the check byte */
};

/*
 * ATRs laid out from ISO 7816-3 §8.2: TS, T0 (Y1 and K), the interface
 * bytes group by group, K historical bytes, and TCK when any TDi names a
 * protocol other than T=0. TCK is computed here rather than typed in.
 */
static const struct atr_seed atr_seeds[] = {
	/* ecard: TD1 = T=1; historical 80 73 80 00 5B 55 "ECARD". */
	{ { 0x3B, 0x8B, 0x01, 0x80, 0x73, 0x80, 0x00, 0x5B, 0x55, 0x45, 0x43, 0x41,
	    0x52, 0x44 }, 14, true },
	/* TA1 13, TB1 TC1 00, TD1 T=1, TD2 T=1 with TA3 IFSC 254, TB3 45; "JCOPv241". */
	{ { 0x3B, 0xF8, 0x13, 0x00, 0x00, 0x81, 0x31, 0xFE, 0x45, 0x4A, 0x43, 0x4F,
	    0x50, 0x76, 0x32, 0x34, 0x31 }, 17, true },
	/* T=0 only, two historical bytes, no TCK. */
	{ { 0x3B, 0x02, 0x14, 0x50 }, 4, false },
	/* Inverse convention, TB1 TC1, T=0 only. */
	{ { 0x3F, 0x65, 0x25, 0x08, 0x22, 0x04, 0x68, 0x90, 0x00 }, 9, false },
	/* TA1 18, TC1 FF, T=1 with IFSC 254 and BWI 7, then T=15 with TA4. */
	{ { 0x3B, 0xDA, 0x18, 0xFF, 0x81, 0xB1, 0xFE, 0x75, 0x1F, 0x03, 0x00, 0x31,
	    0xC5, 0x73, 0xC0, 0x01, 0x40, 0x00, 0x90, 0x00 }, 20, true },
	/* A USIM shape: TA1 96, TD1 T=0, TD2 T=15 with TA3, 15 historical. */
	{ { 0x3B, 0x9F, 0x96, 0x80, 0x1F, 0xC7, 0x80, 0x31, 0xE0, 0x73, 0xFE, 0x21,
	    0x1B, 0x64, 0x41, 0x04, 0x82, 0x00, 0x82, 0x90, 0x00 }, 21, true },
	/* T=1 with CRC (TC3 01), no historical bytes. */
	{ { 0x3B, 0x90, 0x96, 0x81, 0x71, 0xFE, 0x45, 0x01 }, 8, true },
	/* Specific mode: TA2 81 (T=1, cannot change), inverse convention. */
	{ { 0x3F, 0xFF, 0x95, 0x00, 0xFF, 0x91, 0x81, 0x71, 0xFE, 0x47, 0x00, 0x44,
	    0x4E, 0x41, 0x53, 0x50, 0x31, 0x34, 0x32, 0x20, 0x52, 0x65, 0x76, 0x47,
	    0x30, 0x32 }, 26, true },
	/* TA1 18, TC1 00, TD1 T=0 with TC2 WI 0x80, TD2 T=1 with TA3 TB3. */
	{ { 0x3B, 0xD8, 0x18, 0x00, 0xC0, 0x80, 0x31, 0xFE, 0x45, 0x65, 0x63, 0x0D,
	    0x09, 0x71, 0x07, 0x64, 0x00 }, 17, true },
};

static void seed_atr(struct fuzz_corpus *c)
{
	for (size_t i = 0; i < sizeof(atr_seeds) / sizeof(atr_seeds[0]); i++) {
		uint8_t atr[IFD_ATR_MAX];
		size_t n = atr_seeds[i].len;

		memcpy(atr, atr_seeds[i].bytes, n);
		if (atr_seeds[i].tck) {
			uint8_t x = 0;

			/* TCK makes T0 through TCK XOR to zero. */
			for (size_t k = 1; k < n; k++)
				x ^= atr[k];
			atr[n++] = x;
		}
		fuzz_corpus_add(c, atr, n);
	}
}

static const struct fuzz_length_field atr_lengths[] = { { 1, 1, true } };

/* Take the last byte for TCK and make it match. */
static void fixup_atr(uint8_t *buf, size_t len)
{
	uint8_t x = 0;

	if (len < 3)
		return;
	for (size_t i = 1; i + 1 < len; i++)
		x ^= buf[i];
	buf[len - 1] = x;
}

static bool run_atr(const uint8_t *buf, size_t len, const struct fuzz_run *r)
{
	struct ifd_atr a;
	int rc = ifd_atr_parse(buf, len, &a);

	CHECK(ifd_atr_strerror(rc) != NULL, "no sentence for %d", rc);
	if (rc != IFD_ATR_OK)
		return false;
	CHECK(len >= 2 && len <= IFD_ATR_MAX, "accepted %zu bytes", len);
	CHECK(a.raw_len == len, "raw_len %zu for %zu bytes", a.raw_len, len);
	CHECK(memcmp(a.raw, buf, len) == 0, "raw differs from the input");
	CHECK(a.historical_offset <= a.raw_len &&
	      a.historical_len <= a.raw_len - a.historical_offset,
	      "historical bytes %zu+%zu past %zu", a.historical_offset, a.historical_len,
	      a.raw_len);
	CHECK(a.historical_len == (size_t)(buf[1] & 0x0F), "K %zu, T0 says %u",
	      a.historical_len, buf[1] & 0x0F);
	CHECK(a.convention == (buf[0] == 0x3B ? IFD_CONVENTION_DIRECT : IFD_CONVENTION_INVERSE),
	      "convention against TS %02X", buf[0]);
	CHECK(a.fi && a.di && a.f_max_khz, "Fi %u Di %u f(max) %" PRIu32, a.fi, a.di,
	      a.f_max_khz);
	if (a.tck_present) {
		uint8_t x = 0;

		for (size_t i = 1; i < len; i++)
			x ^= buf[i];
		CHECK(a.tck_valid && x == 0, "accepted with a wrong TCK");
	}
	(void)ifd_atr_needs_pps(&a);
	/* A TA1 the parser accepted is one a PPS can carry. */
	if (a.ta1_present && a.first_protocol <= 14) {
		uint8_t pps[IFD_PPS_MAX];

		CHECK(ifd_pps_build(a.first_protocol, a.ta1, pps) == 4,
		      "no PPS for T=%u TA1 %02X", a.first_protocol, a.ta1);
	}
	return true;
}

/* -- ifd_pps_check_response: input is a request index, then the response -- */

struct pps_request {
	uint8_t protocol;
	uint8_t ta1;
};

static const struct pps_request pps_requests[] = {
	{ 0, 0 }, { 1, 0 }, { 1, 0x18 }, { 0, 0x96 }, { 1, 0x13 }, { 2, 0x11 }, { 14, 0x95 },
};
#define N_PPS_REQUESTS (sizeof(pps_requests) / sizeof(pps_requests[0]))

static size_t pps_request(size_t index, uint8_t out[IFD_PPS_MAX])
{
	const struct pps_request *q = &pps_requests[index % N_PPS_REQUESTS];

	return ifd_pps_build(q->protocol, q->ta1, out);
}

static void seed_pps(struct fuzz_corpus *c)
{
	for (size_t i = 0; i < N_PPS_REQUESTS; i++) {
		uint8_t in[1 + IFD_PPS_MAX];
		size_t n = pps_request(i, in + 1);

		if (!n)
			fuzz_setup_failed("a PPS seed failed to build");
		in[0] = (uint8_t)i;
		fuzz_corpus_add(c, in, 1 + n);	/* the card echoes the request */
		/* The card leaves PPS1 out: back to the default rate. */
		in[2] &= 0x0F;
		in[3] = (uint8_t)(0xFF ^ in[2]);
		fuzz_corpus_add(c, in, 4);
	}
}

/* Take the last byte for PCK and make it match. */
static void fixup_pps(uint8_t *buf, size_t len)
{
	uint8_t x = 0;

	if (len < 3)
		return;
	for (size_t i = 1; i + 1 < len; i++)
		x ^= buf[i];
	buf[len - 1] = x;
}

static bool run_pps(const uint8_t *buf, size_t len, const struct fuzz_run *r)
{
	uint8_t req[IFD_PPS_MAX];
	uint8_t protocol = 0xAA, ta1 = 0xAA;

	if (len == 0)
		return false;
	size_t req_len = pps_request(buf[0], req);
	const uint8_t *rsp = buf + 1;
	size_t rsp_len = len - 1;
	int rc = ifd_pps_check_response(req, req_len, rsp, rsp_len, &protocol, &ta1);

	CHECK(ifd_atr_strerror(rc) != NULL, "no sentence for %d", rc);
	if (rc != IFD_ATR_OK)
		return false;
	CHECK(rsp_len >= 3 && rsp_len <= 6, "accepted a %zu-byte response", rsp_len);
	uint8_t x = 0;
	for (size_t i = 0; i < rsp_len; i++)
		x ^= rsp[i];
	CHECK(rsp[0] == 0xFF && x == 0, "accepted a response with a bad PPSS or PCK");
	CHECK(protocol == (req[1] & 0x0F), "protocol %u, asked %u", protocol, req[1] & 0x0F);
	if (rsp[1] & 0x10)
		CHECK(req_len == 4 && ta1 == rsp[2] && ta1 == req[2],
		      "TA1 %02X not the one asked for", ta1);
	else
		CHECK(ta1 == 0x11, "TA1 %02X without PPS1", ta1);
	return true;
}

/* -- T=1 blocks: see the table below -- */

/* Input is one byte choosing the EDC (bit 0: CRC), then the block. */
static void seed_t1(struct fuzz_corpus *c)
{
	static const uint8_t inf[] = { 0x00, 0xA4, 0x04, 0x00, 0x00 };
	static const struct {
		uint8_t pcb;
		const uint8_t *inf;
		size_t len;
	} blocks[] = {
		{ T1_I_BLOCK, inf, sizeof(inf) },
		{ T1_I_BLOCK | T1_I_NS | T1_I_MORE, inf, 3 },
		{ T1_R_BLOCK | T1_R_NR, NULL, 0 },
		{ T1_R_BLOCK | T1_R_EDC_ERROR, NULL, 0 },
		{ T1_S_BLOCK | T1_S_IFS, (const uint8_t *)"\xFE", 1 },
		{ T1_S_BLOCK | T1_S_RESPONSE | T1_S_WTX, (const uint8_t *)"\x02", 1 },
		{ T1_S_BLOCK | T1_S_RESYNCH, NULL, 0 },
	};

	for (int edc = 0; edc <= 1; edc++) {
		for (size_t i = 0; i < sizeof(blocks) / sizeof(blocks[0]); i++) {
			uint8_t out[1 + T1_MAX_BLOCK];
			size_t n = t1_block_build(0, blocks[i].pcb, blocks[i].inf, blocks[i].len,
						  edc ? IFD_T1_EDC_CRC : IFD_T1_EDC_LRC, out + 1);

			out[0] = (uint8_t)edc;
			fuzz_add_built(c, out, n ? 1 + n : 0);
		}
	}
}

static const struct fuzz_length_field t1_lengths[] = { { 3, 1, true } };

/* LEN from the bytes there are; the EDC is left to chance. */
static void fixup_t1(uint8_t *buf, size_t len)
{
	size_t edc = (len && (buf[0] & 1)) ? 2 : 1;

	if (len >= 1 + T1_PROLOGUE + edc && len - 1 - T1_PROLOGUE - edc <= 0xFF)
		buf[3] = (uint8_t)(len - 1 - T1_PROLOGUE - edc);
}

static bool run_t1(const uint8_t *buf, size_t len, const struct fuzz_run *r)
{
	struct t1_block b;

	if (len == 0)
		return false;
	enum ifd_t1_edc edc = (buf[0] & 1) ? IFD_T1_EDC_CRC : IFD_T1_EDC_LRC;
	if (t1_block_parse(buf + 1, len - 1, edc, &b) != 0)
		return false;
	CHECK(len - 1 == T1_PROLOGUE + b.len + t1_edc_len(edc), "LEN %u in %zu bytes",
	      b.len, len - 1);
	size_t n = t1_block_build(b.nad, b.pcb, b.inf, b.len, edc, r->scratch);
	CHECK(n == len - 1 && memcmp(r->scratch, buf + 1, n) == 0, "rebuilt block differs");
	return true;
}

/*
 * The targets. To add a parser, give it a seed function that builds valid
 * inputs with the matching builder, and a run function that returns
 * whether the parser accepted the input and CHECKs what must then hold.
 */
static const struct fuzz_target targets[] = {
	{ .name = "ccid_msg_decode", .seed = seed_msg, .run = run_msg, .lengths = msg_lengths,
	  .n_lengths = 1, .fixup = fixup_msg },
	{ .name = "ccid_params_decode", .seed = seed_params, .run = run_params },
	{ .name = "ccid_notify_slot", .seed = seed_notify, .run = run_notify },
	{ .name = "ccid_descriptor_parse", .seed = seed_descriptor, .run = run_descriptor,
	  .lengths = descriptor_lengths, .n_lengths = 1, .fixup = fixup_descriptor },
	{ .name = "sim_info_decode", .seed = seed_sim_info, .run = run_sim_info },
	{ .name = "ifd_atr_parse", .seed = seed_atr, .run = run_atr, .lengths = atr_lengths,
	  .n_lengths = 1, .fixup = fixup_atr },
	{ .name = "ifd_pps_check_response", .seed = seed_pps, .run = run_pps, .fixup = fixup_pps },
	{ .name = "t1_block_parse", .seed = seed_t1, .run = run_t1, .lengths = t1_lengths,
	  .n_lengths = 1, .fixup = fixup_t1 },
};
#define N_TARGETS (sizeof(targets) / sizeof(targets[0]))

static const struct fuzz_program parsers = {
	.name = "fuzz_parsers",
	.usage = "Mutate valid CCID, descriptor, SIM_INFO, ATR, PPS and T=1 inputs",
	.targets = targets,
	.n_targets = N_TARGETS,
	.max_input = MAX_INPUT,
	.keep_max_len = CORPUS_KEEP_MAX_LEN,
	.length_limit = CCID_MAX_DATA,
};

int main(int argc, char **argv)
{
	return fuzz_main(&parsers, argc, argv);
}
