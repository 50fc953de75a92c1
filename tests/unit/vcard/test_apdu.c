/*
 * test_apdu.c - vc_apdu_parse (vcard/apdu.c): the four ISO 7816-4 cases in
 * short and extended form, every malformed body length, and the decoding
 * of the class byte.
 *
 * Every command is parsed from a heap buffer of exactly its length, so the
 * sanitizer build reports any byte read past the end. A sweep over every
 * total length from 4 to 300 compares the parser with the length formula
 * of ISO 7816-4 §5.1, written here independently of the parser.
 */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apdu.h"
#include "hex.h"

/* ---- helpers ---- */

/* A command held in a heap buffer of exactly its length. */
struct command {
	uint8_t *buf;
	size_t len;
	struct vc_apdu a;
	uint16_t sw;
};

static uint8_t *exact_alloc(size_t len)
{
	uint8_t *p = malloc(len ? len : 1);

	cr_assert_not_null(p);
	return p;
}

/* Copy hex into an exact buffer and parse it. */
static void parse_hex(const char *hex, struct command *cmd)
{
	uint8_t tmp[600];
	long n = hex_decode(hex, tmp, sizeof(tmp));

	cr_assert_geq(n, 0, "bad hex in test vector: %s", hex);
	cmd->len = (size_t)n;
	cmd->buf = exact_alloc(cmd->len);
	memcpy(cmd->buf, tmp, cmd->len);
	memset(&cmd->a, 0xA5, sizeof(cmd->a));
	cmd->sw = vc_apdu_parse(cmd->len ? cmd->buf : NULL, cmd->len, &cmd->a);
}

static void release(struct command *cmd)
{
	free(cmd->buf);
	cmd->buf = NULL;
}

/* Parse hex that must be well formed, and check what the parser found. */
static void expect_case(const char *hex, uint8_t kase, bool extended, uint32_t nc,
			uint32_t ne, size_t data_off)
{
	struct command cmd;

	parse_hex(hex, &cmd);
	cr_assert_eq(cmd.sw, SW_OK, "%s: SW %04X", hex, cmd.sw);
	cr_assert_eq(cmd.a.kase, kase, "%s: case %u, want %u", hex, cmd.a.kase, kase);
	cr_assert_eq(cmd.a.extended, extended, "%s: extended flag", hex);
	cr_assert_eq(cmd.a.nc, nc, "%s: Nc %u, want %u", hex, cmd.a.nc, nc);
	cr_assert_eq(cmd.a.ne, ne, "%s: Ne %u, want %u", hex, cmd.a.ne, ne);
	if (nc)
		cr_assert_eq(cmd.a.data, cmd.buf + data_off, "%s: data in place", hex);
	else
		cr_assert_null(cmd.a.data, "%s: no data", hex);
	release(&cmd);
}

/* Length errors: each body that fits no case gets 6700. */
static void expect_sw(const char *hex, uint16_t want)
{
	struct command cmd;

	parse_hex(hex, &cmd);
	cr_assert_eq(cmd.sw, want, "%s: SW %04X, want %04X", hex, cmd.sw, want);
	release(&cmd);
}

static void expect_malformed(const char *hex)
{
	expect_sw(hex, SW_WRONG_LENGTH);
}

/* A long command: header, then the given length prefix, n data bytes
 * (i & FF) and an optional Le field, in one exact heap buffer. */
static struct command build_long(const uint8_t *prefix, size_t prefix_len, size_t n,
				 const uint8_t *le, size_t le_len)
{
	struct command cmd;
	size_t off = 0;

	cmd.len = 4 + prefix_len + n + le_len;
	cmd.buf = exact_alloc(cmd.len);
	memcpy(cmd.buf, "\x80\x10\x00\x00", 4);
	off = 4;
	memcpy(cmd.buf + off, prefix, prefix_len);
	off += prefix_len;
	for (size_t i = 0; i < n; i++)
		cmd.buf[off + i] = (uint8_t)i;
	off += n;
	if (le_len)
		memcpy(cmd.buf + off, le, le_len);
	cmd.sw = vc_apdu_parse(cmd.buf, cmd.len, &cmd.a);
	return cmd;
}

/* ---- the header ---- */

Test(apdu, header_fields)
{
	struct command cmd;

	parse_hex("80 CA 9F 7F", &cmd);
	cr_assert_eq(cmd.sw, SW_OK);
	cr_assert_eq(cmd.a.cla, 0x80);
	cr_assert_eq(cmd.a.ins, 0xCA);
	cr_assert_eq(cmd.a.p1, 0x9F);
	cr_assert_eq(cmd.a.p2, 0x7F);
	release(&cmd);
}

/* ---- case 1 and short cases ---- */

Test(apdu, case1)
{
	expect_case("00 A4 04 00", 1, false, 0, 0, 0);
}

Test(apdu, case2_short)
{
	expect_case("00 B0 00 00 01", 2, false, 0, 1, 0);
	expect_case("00 B0 00 00 FF", 2, false, 0, 255, 0);
	expect_case("00 B0 00 00 00", 2, false, 0, 256, 0);
}

Test(apdu, case3_short)
{
	expect_case("00 A4 04 00 01 A0", 3, false, 1, 0, 5);

	uint8_t prefix = 0xFF;
	struct command cmd = build_long(&prefix, 1, 255, NULL, 0);
	cr_assert_eq(cmd.len, 260);
	cr_assert_eq(cmd.sw, SW_OK);
	cr_assert_eq(cmd.a.kase, 3);
	cr_assert_not(cmd.a.extended);
	cr_assert_eq(cmd.a.nc, 255);
	cr_assert_eq(cmd.a.ne, 0);
	cr_assert_eq(cmd.a.data, cmd.buf + 5);
	cr_assert_eq(cmd.a.data[254], 254);
	release(&cmd);
}

Test(apdu, case4_short)
{
	expect_case("00 A4 04 00 02 A0 00 10", 4, false, 2, 0x10, 5);
	expect_case("00 A4 04 00 01 A0 00", 4, false, 1, 256, 5);

	uint8_t prefix = 0xFF, le = 0x00;
	struct command cmd = build_long(&prefix, 1, 255, &le, 1);
	cr_assert_eq(cmd.sw, SW_OK);
	cr_assert_eq(cmd.a.kase, 4);
	cr_assert_eq(cmd.a.nc, 255);
	cr_assert_eq(cmd.a.ne, 256);
	release(&cmd);
}

/* ---- extended cases ---- */

Test(apdu, case2_extended)
{
	expect_case("00 B0 00 00 00 00 01", 2, true, 0, 1, 0);
	expect_case("00 B0 00 00 00 01 00", 2, true, 0, 256, 0);
	expect_case("00 B0 00 00 00 FF FF", 2, true, 0, 65535, 0);
	expect_case("00 B0 00 00 00 00 00", 2, true, 0, 65536, 0);
}

Test(apdu, case3_extended)
{
	expect_case("00 D6 00 00 00 00 01 AA", 3, true, 1, 0, 7);

	struct command cmd = build_long((const uint8_t *)"\x00\x01\x00", 3, 256, NULL, 0);
	cr_assert_eq(cmd.sw, SW_OK);
	cr_assert_eq(cmd.a.kase, 3);
	cr_assert(cmd.a.extended);
	cr_assert_eq(cmd.a.nc, 256);
	cr_assert_eq(cmd.a.data, cmd.buf + 7);
	release(&cmd);
}

Test(apdu, case3_extended_longest)
{
	struct command cmd = build_long((const uint8_t *)"\x00\xFF\xFF", 3, 65535, NULL, 0);

	cr_assert_eq(cmd.len, 65542);
	cr_assert_eq(cmd.sw, SW_OK);
	cr_assert_eq(cmd.a.kase, 3);
	cr_assert(cmd.a.extended);
	cr_assert_eq(cmd.a.nc, 65535);
	cr_assert_eq(cmd.a.ne, 0);
	cr_assert_eq(cmd.a.data, cmd.buf + 7);
	cr_assert_eq(cmd.a.data[65534], (uint8_t)65534);
	release(&cmd);
}

Test(apdu, case4_extended)
{
	expect_case("00 2A 9E 9A 00 00 02 AA BB 00 00", 4, true, 2, 65536, 7);
	expect_case("00 2A 9E 9A 00 00 01 AA 01 2C", 4, true, 1, 300, 7);

	struct command cmd = build_long((const uint8_t *)"\x00\xFF\xFF", 3, 65535,
					(const uint8_t *)"\xFF\xFF", 2);
	cr_assert_eq(cmd.sw, SW_OK);
	cr_assert_eq(cmd.a.kase, 4);
	cr_assert_eq(cmd.a.nc, 65535);
	cr_assert_eq(cmd.a.ne, 65535);
	release(&cmd);
}

/* A short Lc of 1 byte looks like an extended Le prefix only when it is 0. */
Test(apdu, short_body_of_three_is_case3_unless_it_starts_with_zero)
{
	expect_case("00 D6 00 00 02 AA BB", 3, false, 2, 0, 5);
	expect_case("00 B0 00 00 00 AA BB", 2, true, 0, 0xAABB, 0);
}

/* ---- malformed lengths ---- */

Test(apdu, shorter_than_a_header)
{
	expect_malformed("");
	expect_malformed("00");
	expect_malformed("00 A4");
	expect_malformed("00 A4 04");
}

Test(apdu, short_lc_larger_than_body)
{
	expect_malformed("00 A4 04 00 02 A0");
	expect_malformed("00 A4 04 00 FF A0 00 00");
	expect_malformed("00 A4 04 00 05 A0 00 00 00");
}

Test(apdu, short_lc_with_two_extra_bytes)
{
	expect_malformed("00 A4 04 00 01 A0 00 00");
	expect_malformed("00 A4 04 00 02 A0 00 00 00");
}

Test(apdu, zero_lc_with_one_byte)
{
	/* 00 then one byte: neither Le (one byte) nor an extended field. */
	expect_malformed("00 A4 04 00 00 01");
	expect_malformed("00 A4 04 00 00 00");
}

Test(apdu, extended_zero_lc_with_data)
{
	expect_malformed("00 D6 00 00 00 00 00 AA");
	expect_malformed("00 D6 00 00 00 00 00 AA BB");
	expect_malformed("00 D6 00 00 00 00 00 AA BB CC");
}

Test(apdu, extended_lc_with_one_trailing_byte)
{
	expect_malformed("00 D6 00 00 00 00 01 AA 00");
	expect_malformed("00 D6 00 00 00 00 02 AA BB 10");
	expect_malformed("00 D6 00 00 00 00 01 AA 00 00 00");
}

Test(apdu, extended_lc_larger_than_body)
{
	expect_malformed("00 D6 00 00 00 00 02 AA");
	expect_malformed("00 D6 00 00 00 FF FF AA BB");
}

Test(apdu, extended_header_truncated)
{
	expect_malformed("00 D6 00 00 00 01");
	expect_malformed("80 10 00 00 00 FF");
}

Test(apdu, length_is_checked_before_class)
{
	expect_malformed("FF A4 04 00 02 A0");
	expect_malformed("20 A4 04");
}

/* ---- every length from 4 to 300 against the formula ---- */

/* Big-endian 16-bit value, read here without the parser's helpers. */
static size_t be16(const uint8_t *p)
{
	return (size_t)p[0] * 256u + p[1];
}

struct expectation {
	bool ok;
	uint8_t kase;
	bool extended;
	uint32_t nc;
	uint32_t ne;
	size_t data_off;
};

/* ISO 7816-4 §5.1, from the body length and its first bytes. */
static struct expectation iso_formula(const uint8_t *apdu, size_t len)
{
	struct expectation e = { 0 };
	const uint8_t *b = apdu + 4;
	size_t body = len - 4;

	if (body == 0) {
		e = (struct expectation){ true, 1, false, 0, 0, 0 };
	} else if (body == 1) {
		e = (struct expectation){ true, 2, false, 0, b[0] ? b[0] : 256u, 0 };
	} else if (b[0] != 0) {
		size_t lc = b[0];
		if (body == 1 + lc)
			e = (struct expectation){ true, 3, false, (uint32_t)lc, 0, 5 };
		else if (body == 2 + lc)
			e = (struct expectation){ true, 4, false, (uint32_t)lc,
						  b[body - 1] ? b[body - 1] : 256u, 5 };
	} else if (body >= 3) {
		size_t l = be16(b + 1);
		if (body == 3)
			e = (struct expectation){ true, 2, true, 0, l ? (uint32_t)l : 65536u, 0 };
		else if (l != 0 && body == 3 + l)
			e = (struct expectation){ true, 3, true, (uint32_t)l, 0, 7 };
		else if (l != 0 && body == 5 + l) {
			size_t le = be16(b + body - 2);
			e = (struct expectation){ true, 4, true, (uint32_t)l,
						  le ? (uint32_t)le : 65536u, 7 };
		}
	}
	return e;
}

/* Deterministic filler for the sweep's random pattern. */
static uint8_t next_byte(uint32_t *state)
{
	*state = *state * 1103515245u + 12345u;
	return (uint8_t)(*state >> 16);
}

enum { PATTERNS = 8 };

/* Fill the body of a len-byte command with pattern k. Several patterns
 * plant a length field that matches len, so every case is reached. */
static void fill_body(uint8_t *buf, size_t len, int k)
{
	size_t body = len - 4;
	uint32_t seed = (uint32_t)len * 2654435761u + (uint32_t)k;

	memcpy(buf, "\x00\xDA\x01\x02", 4);
	for (size_t i = 0; i < body; i++)
		buf[4 + i] = k == 0 ? 0x00 : k == 1 ? 0xFF : next_byte(&seed);
	if (body == 0)
		return;
	switch (k) {
	case 2:	/* short Lc matching case 3 */
		buf[4] = (uint8_t)(body - 1);
		break;
	case 3:	/* short Lc matching case 4 */
		buf[4] = (uint8_t)(body - 2);
		break;
	case 4:	/* extended Lc matching case 3 */
	case 5:	/* extended Lc matching case 4 */
		buf[4] = 0;
		if (body >= 3) {
			size_t lc = body - (k == 4 ? 3u : 5u);
			buf[5] = (uint8_t)(lc >> 8);
			buf[6] = (uint8_t)lc;
		}
		break;
	case 6:	/* leading 00, random rest */
		buf[4] = 0;
		break;
	default: /* 0, 1, 7: all zero, all FF, random */
		break;
	}
}

Test(apdu, every_length_matches_the_formula)
{
	unsigned seen[2][5] = { { 0 } };	/* [extended][case] */
	unsigned refused = 0;

	for (size_t len = 4; len <= 300; len++) {
		for (int k = 0; k < PATTERNS; k++) {
			uint8_t *buf = exact_alloc(len);
			struct vc_apdu a;

			fill_body(buf, len, k);
			struct expectation e = iso_formula(buf, len);
			memset(&a, 0, sizeof(a));
			uint16_t sw = vc_apdu_parse(buf, len, &a);

			if (!e.ok) {
				cr_assert_eq(sw, SW_WRONG_LENGTH,
					     "length %zu pattern %d: SW %04X, want 6700", len, k, sw);
				refused++;
				free(buf);
				continue;
			}
			cr_assert_eq(sw, SW_OK, "length %zu pattern %d: SW %04X, want 9000",
				     len, k, sw);
			cr_assert_eq(a.kase, e.kase, "length %zu pattern %d: case", len, k);
			cr_assert_eq(a.extended, e.extended, "length %zu pattern %d: form", len, k);
			cr_assert_eq(a.nc, e.nc, "length %zu pattern %d: Nc", len, k);
			cr_assert_eq(a.ne, e.ne, "length %zu pattern %d: Ne", len, k);
			if (a.nc) {
				cr_assert_eq(a.data, buf + e.data_off);
				cr_assert_leq(e.data_off + a.nc, len, "data inside the buffer");
			} else {
				cr_assert_null(a.data);
			}
			seen[a.extended][a.kase]++;
			free(buf);
		}
	}
	/* The sweep must have reached every case in both forms, and errors. */
	for (int kase = 1; kase <= 4; kase++)
		cr_assert_gt(seen[0][kase], 0, "short case %d never reached", kase);
	for (int kase = 2; kase <= 4; kase++)
		cr_assert_gt(seen[1][kase], 0, "extended case %d never reached", kase);
	cr_assert_gt(refused, 0);
}

/* ---- the class byte ---- */

struct class_bits {
	uint8_t channel;
	bool sm;
	bool chaining;
	bool proprietary;
};

static struct class_bits decode_cla(uint8_t cla)
{
	uint8_t buf[4] = { cla, 0xA4, 0x04, 0x00 };
	uint8_t *exact = exact_alloc(4);
	struct vc_apdu a;

	memcpy(exact, buf, 4);
	uint16_t sw = vc_apdu_parse(exact, 4, &a);
	free(exact);
	cr_assert_eq(sw, SW_OK, "CLA %02X: SW %04X", cla, sw);
	cr_assert_eq(a.cla, cla);
	return (struct class_bits){ a.channel, a.secure_messaging, a.chaining, a.proprietary };
}

static void expect_cla(uint8_t cla, uint8_t channel, bool sm, bool chaining, bool proprietary)
{
	struct class_bits b = decode_cla(cla);

	cr_assert_eq(b.channel, channel, "CLA %02X: channel %u, want %u", cla, b.channel, channel);
	cr_assert_eq(b.sm, sm, "CLA %02X: secure messaging", cla);
	cr_assert_eq(b.chaining, chaining, "CLA %02X: chaining", cla);
	cr_assert_eq(b.proprietary, proprietary, "CLA %02X: proprietary", cla);
}

static void expect_cla_refused(uint8_t cla)
{
	uint8_t *buf = exact_alloc(5);
	struct vc_apdu a;

	memcpy(buf, "\x00\xA4\x04\x00\x00", 5);
	buf[0] = cla;
	uint16_t sw = vc_apdu_parse(buf, 4, &a);
	cr_assert_eq(sw, SW_CLA_NOT_SUPPORTED, "CLA %02X (case 1): SW %04X", cla, sw);
	sw = vc_apdu_parse(buf, 5, &a);
	cr_assert_eq(sw, SW_CLA_NOT_SUPPORTED, "CLA %02X (case 2): SW %04X", cla, sw);
	free(buf);
}

Test(apdu_class, first_interindustry_channels)
{
	for (uint8_t n = 0; n < 4; n++)
		expect_cla(n, n, false, false, false);
}

Test(apdu_class, first_interindustry_secure_messaging)
{
	expect_cla(0x04, 0, true, false, false);
	expect_cla(0x08, 0, true, false, false);
	expect_cla(0x0C, 0, true, false, false);
	expect_cla(0x0F, 3, true, false, false);
}

Test(apdu_class, further_interindustry_channels)
{
	for (uint8_t n = 0; n < 16; n++)
		expect_cla((uint8_t)(0x40 | n), (uint8_t)(4 + n), false, false, false);
	expect_cla(0x60, 4, true, false, false);
	expect_cla(0x6F, 19, true, false, false);
	expect_cla(0x50, 4, false, true, false);
}

Test(apdu_class, proprietary)
{
	for (uint8_t n = 0; n < 4; n++)
		expect_cla((uint8_t)(0x80 | n), n, false, false, true);
	expect_cla(0x84, 0, true, false, true);
	expect_cla(0x90, 0, false, true, true);
	expect_cla(0xC1, 5, false, false, true);
}

Test(apdu_class, chaining)
{
	expect_cla(0x10, 0, false, true, false);
	expect_cla(0x13, 3, false, true, false);
}

Test(apdu_class, invalid_classes)
{
	expect_cla_refused(0xFF);
	expect_cla_refused(0x20);
	expect_cla_refused(0x23);
	expect_cla_refused(0x3F);
}
