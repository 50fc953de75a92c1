/*
 * fuzz_parsers.c - a standalone mutation fuzzer for the reader driver's
 * parsers of untrusted bytes, its codecs in ifd/codec/: CCID messages
 * (ccid.c), the simulator's SIM_INFO payload (sim_proto.c), the ATR and
 * PPS code (atr.c) and T=1 blocks (t1_block.c).
 *
 * It needs no fuzzing engine, only a C compiler, so that CI can run it
 * under AddressSanitizer and UndefinedBehaviorSanitizer for a bounded
 * time on every change. Each target starts from a corpus of valid inputs
 * built here with the codec's own builders (and ATRs typed in from their
 * ISO 7816-3 structure), mutates them (bit flips, byte sets, insertions,
 * deletions, truncations, length-field overwrites, splices) and feeds the
 * result, in a heap buffer of exactly its length, to the parser. Besides
 * the sanitizers' checks, every accepted input must satisfy the target's
 * invariants: decoded lengths stay within the input and, where the format
 * has one encoding only, re-encoding gives back the input byte for byte.
 * A violation prints the input, the seed and the iteration, and aborts.
 *
 * Everything random comes from one generator seeded by --seed, so a run
 * with the same seed and --iterations is the same run. Accepted inputs
 * join their target's corpus, which is why a failure is reproduced by
 * rerunning from the start rather than by replaying one input.
 *
 *   fuzz_parsers [--seconds N | --iterations N] [--seed N]
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "atr.h"
#include "ccid.h"
#include "cursor.h"
#include "prng.h"
#include "sim_proto.h"
#include "t1_block.h"

/* Room for the largest CCID message and a few insertions past it. */
#define MAX_INPUT (CCID_MAX_MSG + 256)
/* Accepted inputs kept per target beyond the seeds, and the largest kept. */
#define CORPUS_EXTRA_MAX 256
#define CORPUS_KEEP_MAX_LEN 4096
#define DEFAULT_SECONDS 5

/* ---- random numbers: xorshift64*, seeded through splitmix64 ---- */

struct rng {
	uint64_t state;
};

static void rng_seed(struct rng *r, uint64_t seed)
{
	/* splitmix64 spreads any seed, 0 included, over the state;
	 * xorshift64* only needs it not to be 0. */
	uint64_t z = prng_splitmix64(&seed);

	r->state = z ? z : 1;
}

static uint64_t rng_next(struct rng *r)
{
	r->state ^= r->state >> 12;
	r->state ^= r->state << 25;
	r->state ^= r->state >> 27;
	return r->state * 0x2545F4914F6CDD1Du;
}

/* Uniform enough in [0, n) for fuzzing; n must not be 0. */
static size_t rng_below(struct rng *r, size_t n)
{
	return (size_t)(rng_next(r) % n);
}

/* ---- corpora ---- */

struct blob {
	uint8_t *data;
	size_t len;
};

struct corpus {
	struct blob *items;
	size_t n;
	size_t cap;
	size_t n_seeds;
};

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p) {
		fprintf(stderr, "fuzz_parsers: out of memory\n");
		exit(2);
	}
	return p;
}

static void corpus_add(struct corpus *c, const uint8_t *data, size_t len)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 32;
		struct blob *items = realloc(c->items, cap * sizeof(*items));

		if (!items) {
			fprintf(stderr, "fuzz_parsers: out of memory\n");
			exit(2);
		}
		c->items = items;
		c->cap = cap;
	}
	c->items[c->n].data = xmalloc(len);
	if (len)
		memcpy(c->items[c->n].data, data, len);
	c->items[c->n].len = len;
	c->n++;
}

static void corpus_free(struct corpus *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->items[i].data);
	free(c->items);
	memset(c, 0, sizeof(*c));
}

/* ---- reporting a violation ---- */

/* What a run needs to say where it failed. */
struct run_ctx {
	const char *target;
	uint64_t seed;
	unsigned long iteration;
	uint8_t *scratch;	/* MAX_INPUT bytes for re-encoding */
};

static void dump_hex(const uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i++)
		fprintf(stderr, "%02X%s", buf[i], (i % 32 == 31 || i + 1 == len) ? "\n" : " ");
}

__attribute__((format(printf, 4, 5), noreturn))
static void violation(const struct run_ctx *r, const uint8_t *buf, size_t len,
		      const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "fuzz_parsers: VIOLATION in %s: ", r->target);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nfuzz_parsers: seed %" PRIu64 ", iteration %lu; rerun with "
		"--seed %" PRIu64 " --iterations %lu\n",
		r->seed, r->iteration, r->seed, r->iteration + 1);
	fprintf(stderr, "fuzz_parsers: input (%zu bytes):\n", len);
	dump_hex(buf, len);
	abort();
}

/* For the run functions below, whose parameters are always buf, len, r. */
#define CHECK(cond, ...)                                         \
	do {                                                     \
		if (!(cond))                                     \
			violation(r, buf, len, __VA_ARGS__);     \
	} while (0)

/* ---- targets: seeds and invariant checks ---- */

/* A field a length-overwrite mutation aims at: offset, width, byte order. */
struct length_field {
	size_t offset;
	unsigned width;		/* 1, 2 or 4 */
	bool little_endian;
};

struct target {
	const char *name;
	void (*seed)(struct corpus *c);
	/* Feed one input; true when the parser accepted it. */
	bool (*run)(const uint8_t *buf, size_t len, const struct run_ctx *r);
	const struct length_field *lengths;
	size_t n_lengths;
	/* Optional: make a mutated input consistent again (a length field
	 * that agrees, a check byte that matches), so that mutations reach
	 * past the first checks into the rest of the parser. */
	void (*fixup)(uint8_t *buf, size_t len);
};

/* -- ccid_msg_decode: every bulk message, both directions -- */

static void add_built(struct corpus *c, const uint8_t *out, size_t n)
{
	if (!n) {
		fprintf(stderr, "fuzz_parsers: a seed builder failed\n");
		exit(2);
	}
	corpus_add(c, out, n);
}

static void seed_msg(struct corpus *c)
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
	uint8_t *out = xmalloc(CCID_MAX_MSG);
	uint8_t *big = xmalloc(CCID_MAX_DATA);
	const size_t cap = CCID_MAX_MSG;

	for (size_t i = 0; i < CCID_MAX_DATA; i++)
		big[i] = (uint8_t)(i * 31 + 7);

	add_built(c, out, ccid_build_power_on(0, 5, CCID_POWER_AUTO, out, cap));
	add_built(c, out, ccid_build_power_on(1, 0xFF, CCID_POWER_1_8V, out, cap));
	add_built(c, out, ccid_build_power_off(0, 6, out, cap));
	add_built(c, out, ccid_build_get_slot_status(2, 7, out, cap));
	add_built(c, out, ccid_build_get_parameters(0, 8, out, cap));
	add_built(c, out, ccid_build_reset_parameters(0, 9, out, cap));
	add_built(c, out, ccid_build_abort(0, 10, out, cap));
	add_built(c, out, ccid_build_escape(0, 11, apdu, 3, out, cap));
	add_built(c, out, ccid_build_set_parameters(0, 12, &t0, out, cap));
	add_built(c, out, ccid_build_set_parameters(0, 13, &t1, out, cap));
	add_built(c, out, ccid_build_xfr_block(0, 14, 0, 0, apdu, sizeof(apdu), out, cap));
	add_built(c, out, ccid_build_xfr_block(0, 15, 2, CCID_CHAIN_BEGIN, big, 261, out, cap));
	add_built(c, out, ccid_build_xfr_block(0, 16, 0, CCID_CHAIN_EMPTY, NULL, 0, out, cap));
	add_built(c, out, ccid_build_xfr_block(0, 17, 0, 0x0102, big, 300, out, cap));
	add_built(c, out, ccid_build_response(RDR_TO_PC_DATA_BLOCK, 0, 5, 0, 0, 0,
					      atr, sizeof(atr), out, cap));
	add_built(c, out, ccid_build_response(RDR_TO_PC_DATA_BLOCK, 0, 14, 0, 0, 0,
					      (const uint8_t *)"\x90\x00", 2, out, cap));
	add_built(c, out, ccid_build_response(RDR_TO_PC_DATA_BLOCK, 0, 15, 0, 0,
					      CCID_CHAIN_CONTINUE, big, 258, out, cap));
	add_built(c, out, ccid_build_response(RDR_TO_PC_DATA_BLOCK, 0, 16,
					      CCID_STATUS(CCID_ICC_ACTIVE, CCID_CMD_TIME_EXTENSION),
					      1, 0, NULL, 0, out, cap));
	add_built(c, out, ccid_build_response(RDR_TO_PC_SLOT_STATUS, 0, 6,
					      CCID_STATUS(CCID_ICC_ABSENT, CCID_CMD_FAILED),
					      CCID_ERR_ICC_MUTE, 0, NULL, 0, out, cap));
	add_built(c, out, ccid_build_response(RDR_TO_PC_PARAMETERS, 0, 12, 0, 0, 0,
					      t0_data, sizeof(t0_data), out, cap));
	add_built(c, out, ccid_build_response(RDR_TO_PC_PARAMETERS, 0, 13, 0, 0, 1,
					      t1_data, sizeof(t1_data), out, cap));
	add_built(c, out, ccid_build_response(RDR_TO_PC_ESCAPE, 0, 11, 0, 0, 0,
					      apdu, 4, out, cap));
	add_built(c, out, ccid_build_response(RDR_TO_PC_DATA_RATE, 0, 18, 0, 0, 0,
					      (const uint8_t *)"\xA0\x0F\x00\x00\x00\x2A\x00\x00",
					      8, out, cap));
	/* The largest message there is, so lengths near the limit get hit. */
	add_built(c, out, ccid_build_response(RDR_TO_PC_DATA_BLOCK, 0, 19, 0, 0, 0,
					      big, CCID_MAX_DATA, out, cap));
	free(big);
	free(out);
}

static const struct length_field msg_lengths[] = { { 1, 4, true } };

static void fixup_msg(uint8_t *buf, size_t len)
{
	if (len >= CCID_HEADER_LEN)
		store_le32(buf + 1, (uint32_t)(len - CCID_HEADER_LEN));
}

static bool run_msg(const uint8_t *buf, size_t len, const struct run_ctx *r)
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

static void seed_params(struct corpus *c)
{
	static const uint8_t seeds[][8] = {
		{ 0x00, 0x11, 0x00, 0x00, 0x0A, 0x00 },
		{ 0x00, 0x96, 0x02, 0xFF, 0xFF, 0x03 },
		{ 0x01, 0x11, 0x10, 0x00, 0x4D, 0x00, 0x20, 0x00 },
		{ 0x01, 0x18, 0x11, 0x02, 0x45, 0x03, 0xFE, 0x21 },
	};

	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++)
		corpus_add(c, seeds[i], seeds[i][0] ? 1 + CCID_PARAMS_T1_LEN
						    : 1 + CCID_PARAMS_T0_LEN);
}

static bool run_params(const uint8_t *buf, size_t len, const struct run_ctx *r)
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

static void seed_notify(struct corpus *c)
{
	bool present[256], changed[256];
	uint8_t out[1 + 64];

	for (unsigned nslots = 1; nslots <= 8; nslots++) {
		for (unsigned s = 0; s < nslots; s++) {
			present[s] = (s + nslots) % 2;
			changed[s] = (s * 3 + nslots) % 3 == 0;
		}
		add_built(c, out, ccid_build_notify(present, changed, nslots, out, sizeof(out)));
	}
	for (unsigned s = 0; s < 256; s++) {
		present[s] = s % 3 == 0;
		changed[s] = s % 5 == 0;
	}
	add_built(c, out, ccid_build_notify(present, changed, 256, out, sizeof(out)));
	corpus_add(c, (const uint8_t *)"\x51\x00\x05\x01", 4);
}

static bool run_notify(const uint8_t *buf, size_t len, const struct run_ctx *r)
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

static void seed_descriptor(struct corpus *c)
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

	add_built(c, out, ccid_descriptor_build(&tpdu_reader, out));
	add_built(c, out, ccid_descriptor_build(&pinpad, out));
	add_built(c, out, ccid_descriptor_build(&extended, out));
	/* Followed by a bulk-in endpoint descriptor, as in a configuration. */
	ccid_descriptor_build(&tpdu_reader, out);
	memcpy(out + CCID_DESCRIPTOR_LEN, "\x07\x05\x82\x02\x40\x00\x00", 7);
	corpus_add(c, out, sizeof(out));
}

static const struct length_field descriptor_lengths[] = { { 0, 1, true } };

static void fixup_descriptor(uint8_t *buf, size_t len)
{
	if (len >= 2) {
		buf[0] = CCID_DESCRIPTOR_LEN;
		buf[1] = CCID_DESCRIPTOR_TYPE;
	}
}

static bool run_descriptor(const uint8_t *buf, size_t len, const struct run_ctx *r)
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

static void seed_sim_info(struct corpus *c)
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
	add_built(c, out, sim_info_encode(&info, out, sizeof(out)));

	info.has_interrupt = false;
	info.interface_number = 1;
	info.manufacturer[0] = '\0';
	info.serial[0] = '\0';
	memset(info.product, 'P', 63);
	info.product[63] = '\0';
	info.desc.features = 0x000404BE;
	add_built(c, out, sim_info_encode(&info, out, sizeof(out)));
}

static bool run_sim_info(const uint8_t *buf, size_t len, const struct run_ctx *r)
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

static void seed_atr(struct corpus *c)
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
		corpus_add(c, atr, n);
	}
}

static const struct length_field atr_lengths[] = { { 1, 1, true } };

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

static bool run_atr(const uint8_t *buf, size_t len, const struct run_ctx *r)
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

static void seed_pps(struct corpus *c)
{
	for (size_t i = 0; i < N_PPS_REQUESTS; i++) {
		uint8_t in[1 + IFD_PPS_MAX];
		size_t n = pps_request(i, in + 1);

		if (!n) {
			fprintf(stderr, "fuzz_parsers: a PPS seed failed to build\n");
			exit(2);
		}
		in[0] = (uint8_t)i;
		corpus_add(c, in, 1 + n);	/* the card echoes the request */
		/* The card leaves PPS1 out: back to the default rate. */
		in[2] &= 0x0F;
		in[3] = (uint8_t)(0xFF ^ in[2]);
		corpus_add(c, in, 4);
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

static bool run_pps(const uint8_t *buf, size_t len, const struct run_ctx *r)
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
static void seed_t1(struct corpus *c)
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
			add_built(c, out, n ? 1 + n : 0);
		}
	}
}

static const struct length_field t1_lengths[] = { { 3, 1, true } };

/* LEN from the bytes there are; the EDC is left to chance. */
static void fixup_t1(uint8_t *buf, size_t len)
{
	size_t edc = (len && (buf[0] & 1)) ? 2 : 1;

	if (len >= 1 + T1_PROLOGUE + edc && len - 1 - T1_PROLOGUE - edc <= 0xFF)
		buf[3] = (uint8_t)(len - 1 - T1_PROLOGUE - edc);
}

static bool run_t1(const uint8_t *buf, size_t len, const struct run_ctx *r)
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
static const struct target targets[] = {
	{ "ccid_msg_decode", seed_msg, run_msg, msg_lengths, 1, fixup_msg },
	{ "ccid_params_decode", seed_params, run_params, NULL, 0, NULL },
	{ "ccid_notify_slot", seed_notify, run_notify, NULL, 0, NULL },
	{ "ccid_descriptor_parse", seed_descriptor, run_descriptor, descriptor_lengths, 1,
	  fixup_descriptor },
	{ "sim_info_decode", seed_sim_info, run_sim_info, NULL, 0, NULL },
	{ "ifd_atr_parse", seed_atr, run_atr, atr_lengths, 1, fixup_atr },
	{ "ifd_pps_check_response", seed_pps, run_pps, NULL, 0, fixup_pps },
	{ "t1_block_parse", seed_t1, run_t1, t1_lengths, 1, fixup_t1 },
};
#define N_TARGETS (sizeof(targets) / sizeof(targets[0]))

/* ---- mutations ---- */

static const uint8_t interesting_bytes[] = { 0x00, 0x01, 0x02, 0x0F, 0x10, 0x1F, 0x20, 0x3B,
					     0x3F, 0x7F, 0x80, 0x81, 0xFE, 0xFF };

static uint8_t random_byte(struct rng *g)
{
	if (rng_below(g, 2))
		return interesting_bytes[rng_below(g, sizeof(interesting_bytes))];
	return (uint8_t)rng_next(g);
}

/* A value a length field might plausibly be wrong with. */
static uint32_t length_value(struct rng *g, size_t len, size_t after)
{
	uint32_t base;

	switch (rng_below(g, 6)) {
	case 0:
		base = (uint32_t)len;
		break;
	case 1:
		base = (uint32_t)after;	/* the bytes that follow the field */
		break;
	case 2:
		base = CCID_MAX_DATA;
		break;
	case 3:
		return (uint32_t)rng_below(g, 300);
	case 4:
		return (uint32_t)rng_next(g);
	default: {
		static const uint32_t edges[] = { 0, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000,
						  0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000u,
						  0xFFFFFFFFu };
		return edges[rng_below(g, sizeof(edges) / sizeof(edges[0]))];
	}
	}
	return base + (uint32_t)rng_below(g, 3) - 1;	/* off by one either way */
}

static void put_field(uint8_t *p, unsigned width, bool le, uint32_t v)
{
	for (unsigned i = 0; i < width; i++) {
		unsigned shift = 8 * (le ? i : width - 1 - i);

		p[i] = (uint8_t)(v >> shift);
	}
}

static void mutate_length(struct rng *g, const struct target *t, uint8_t *buf, size_t len)
{
	size_t offset;
	unsigned width;
	bool le;

	if (t->n_lengths && rng_below(g, 4) != 0) {
		const struct length_field *f = &t->lengths[rng_below(g, t->n_lengths)];

		offset = f->offset;
		width = f->width;
		le = f->little_endian;
	} else {
		static const unsigned widths[] = { 1, 2, 4 };

		width = widths[rng_below(g, 3)];
		if (len < width)
			return;
		offset = rng_below(g, len - width + 1);
		le = rng_below(g, 2);
	}
	if (offset > len || width > len - offset)
		return;
	put_field(buf + offset, width, le, length_value(g, len, len - offset - width));
}

/* Apply one random mutation to buf (len bytes, room for MAX_INPUT). */
static void mutate_once(struct rng *g, const struct target *t, const struct corpus *c,
			uint8_t *buf, size_t *len)
{
	size_t n = *len;

	switch (rng_below(g, 8)) {
	case 0:	/* bit flip */
		if (n)
			buf[rng_below(g, n)] ^= (uint8_t)(1u << rng_below(g, 8));
		break;
	case 1:	/* byte set */
		if (n)
			buf[rng_below(g, n)] = random_byte(g);
		break;
	case 2: {	/* insertion of fresh or repeated bytes */
		size_t k = 1 + rng_below(g, rng_below(g, 8) ? 8 : 300);
		size_t pos = rng_below(g, n + 1);

		if (k > MAX_INPUT - n)
			break;
		memmove(buf + pos + k, buf + pos, n - pos);
		/* Repeated bytes come from the input as it was before the
		 * move, so that no byte is read before it is written. */
		for (size_t i = 0; i < k; i++) {
			if (n && rng_below(g, 2)) {
				size_t from = rng_below(g, n);

				buf[pos + i] = buf[from < pos ? from : from + k];
			} else {
				buf[pos + i] = random_byte(g);
			}
		}
		*len = n + k;
		break;
	}
	case 3: {	/* deletion */
		if (!n)
			break;
		size_t pos = rng_below(g, n);
		size_t k = 1 + rng_below(g, n - pos < 8 ? n - pos : 8);

		memmove(buf + pos, buf + pos + k, n - pos - k);
		*len = n - k;
		break;
	}
	case 4:	/* truncation */
		if (n)
			*len = rng_below(g, n);
		break;
	case 5:	/* length-field overwrite */
	case 6:
		mutate_length(g, t, buf, n);
		break;
	default: {	/* splice: a piece of another input of the same target */
		const struct blob *other = &c->items[rng_below(g, c->n)];

		if (!other->len || !n)
			break;
		size_t from = rng_below(g, other->len);
		size_t k = 1 + rng_below(g, other->len - from);
		size_t pos = rng_below(g, n);

		if (k > n - pos)
			k = n - pos;
		memcpy(buf + pos, other->data + from, k);
		break;
	}
	}
}

/* ---- the loop ---- */

static double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool parse_number(const char *s, uint64_t *out)
{
	char *end;

	if (!s || !*s || *s == '-')
		return false;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

static void usage(void)
{
	fprintf(stderr, "usage: fuzz_parsers [--seconds N | --iterations N] [--seed N]\n"
			"Mutate valid CCID, descriptor, SIM_INFO, ATR and PPS inputs for N "
			"seconds (default %d) or N iterations, and abort on the first broken "
			"invariant.\n", DEFAULT_SECONDS);
}

int main(int argc, char **argv)
{
	uint64_t seconds = DEFAULT_SECONDS, iterations = 0, seed = 0;
	bool have_seed = false, have_seconds = false;

	/* Every option takes a value, so they come in pairs. */
	for (int i = 1; i < argc; i += 2) {
		const char *value = i + 1 < argc ? argv[i + 1] : NULL;
		uint64_t *dst;

		if (!strcmp(argv[i], "--seconds")) {
			dst = &seconds;
			have_seconds = true;
		} else if (!strcmp(argv[i], "--iterations")) {
			dst = &iterations;
		} else if (!strcmp(argv[i], "--seed")) {
			dst = &seed;
			have_seed = true;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage();
			return 0;
		} else {
			fprintf(stderr, "fuzz_parsers: unknown option %s; see --help.\n", argv[i]);
			return 2;
		}
		if (!parse_number(value, dst)) {
			fprintf(stderr, "fuzz_parsers: %s needs a non-negative number; see --help.\n",
				argv[i]);
			return 2;
		}
	}
	/* --iterations alone runs to the count; with --seconds too, to
	 * whichever comes first. */
	bool timed = !iterations || have_seconds;
	if (!have_seed)
		seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	/* Said first as well as in the summary: a sanitizer report ends the
	 * run before the summary, and the seed is what reproduces it. */
	printf("fuzz_parsers: seed %" PRIu64 "\n", seed);
	fflush(stdout);

	struct rng g;
	struct corpus corpora[N_TARGETS];
	unsigned long accepted[N_TARGETS];
	uint8_t *work = calloc(1, MAX_INPUT);
	struct run_ctx ctx = { .seed = seed, .scratch = xmalloc(MAX_INPUT) };

	if (!work) {
		fprintf(stderr, "fuzz_parsers: out of memory\n");
		return 2;
	}
	rng_seed(&g, seed);
	memset(corpora, 0, sizeof(corpora));
	memset(accepted, 0, sizeof(accepted));

	/* Every seed must be accepted as it is: a seed the parser refuses
	 * is a bug in this program or in the builder it came from. */
	for (size_t t = 0; t < N_TARGETS; t++) {
		targets[t].seed(&corpora[t]);
		corpora[t].n_seeds = corpora[t].n;
		ctx.target = targets[t].name;
		for (size_t i = 0; i < corpora[t].n; i++) {
			const struct blob *b = &corpora[t].items[i];
			uint8_t *exact = xmalloc(b->len);

			memcpy(exact, b->data, b->len);
			if (!targets[t].run(exact, b->len, &ctx)) {
				fprintf(stderr, "fuzz_parsers: seed %zu of %s is refused by its own "
					"parser; fix the seed or the parser.\n", i, targets[t].name);
				dump_hex(b->data, b->len);
				return 1;
			}
			free(exact);
		}
	}

	double start = now_seconds(), elapsed = 0;
	unsigned long done = 0;

	for (;;) {
		if (iterations && done >= iterations)
			break;
		if (timed && (done & 0x3FF) == 0) {
			elapsed = now_seconds() - start;
			if (elapsed >= (double)seconds)
				break;
		}

		size_t t = rng_below(&g, N_TARGETS);
		struct corpus *c = &corpora[t];
		const struct blob *pick = &c->items[rng_below(&g, c->n)];
		size_t len = pick->len;

		memcpy(work, pick->data, len);
		/* Mostly one mutation, sometimes a stack of them. */
		size_t rounds = 1 + (rng_below(&g, 4) ? 0 : rng_below(&g, 8));
		for (size_t k = 0; k < rounds; k++)
			mutate_once(&g, &targets[t], c, work, &len);
		if (targets[t].fixup && rng_below(&g, 4) == 0)
			targets[t].fixup(work, len);

		/* Exactly len bytes on the heap: a read past them is caught. */
		uint8_t *input = xmalloc(len);
		if (len)
			memcpy(input, work, len);
		ctx.target = targets[t].name;
		ctx.iteration = done;
		if (targets[t].run(input, len, &ctx)) {
			accepted[t]++;
			/* Keep some accepted inputs to mutate further. */
			if (len <= CORPUS_KEEP_MAX_LEN && rng_below(&g, 8) == 0) {
				if (c->n < c->n_seeds + CORPUS_EXTRA_MAX) {
					corpus_add(c, input, len);
				} else {
					struct blob *old = &c->items[c->n_seeds +
								     rng_below(&g, CORPUS_EXTRA_MAX)];
					free(old->data);
					old->data = input;
					old->len = len;
					input = NULL;
				}
			}
		}
		free(input);
		done++;
	}
	elapsed = now_seconds() - start;

	printf("fuzz_parsers: seed %" PRIu64 ", %lu iterations in %.1f s, accepted:", seed,
	       done, elapsed);
	for (size_t t = 0; t < N_TARGETS; t++)
		printf(" %s %lu%s", targets[t].name, accepted[t], t + 1 < N_TARGETS ? "," : "\n");

	for (size_t t = 0; t < N_TARGETS; t++)
		corpus_free(&corpora[t]);
	free(work);
	free(ctx.scratch);
	return 0;
}
