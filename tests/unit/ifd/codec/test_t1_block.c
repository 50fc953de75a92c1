/*
 * test_t1_block.c - the T=1 block codec (ifd/codec/t1_block.c): blocks
 * whose LRC and CRC were worked out by hand, a bit-by-bit CRC written from
 * the definition in ISO/IEC 13239 (the HDLC FCS-16 of RFC 1662), itself
 * checked on the standard check string; every truncation, every flipped
 * bit and LEN = FF are refused.
 */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "t1_block.h"
#include "test_support.h"

#define LRC IFD_T1_EDC_LRC
#define CRC IFD_T1_EDC_CRC

/* ---- helpers ---- */

/* Parse from an exact copy; b->inf points into freed memory afterwards,
 * so this is for verdicts only. */
static int parse_exact(const uint8_t *buf, size_t len, enum ifd_t1_edc edc, struct t1_block *b)
{
	uint8_t *copy = ts_exact_copy(buf, len);
	int rc = t1_block_parse(copy, len, edc, b);

	free(copy);
	return rc;
}

static void fill_pattern(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 7 + (i >> 3));
}

/*
 * The CRC of ISO/IEC 13239 exactly as that standard (and RFC 1662 for
 * HDLC) defines it, one bit at a time in the order bits cross the line
 * (least significant first): register preset to FFFF, divided by
 * x^16 + x^12 + x^5 + 1, ones' complement sent low-order byte first.
 * Written independently of the engine's byte-wise reduction.
 */
static uint16_t fcs16_register(uint16_t reg, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (unsigned bit = 0; bit < 8; bit++) {
			unsigned in = (p[i] >> bit) & 1u;
			unsigned out = reg & 1u;

			reg >>= 1;
			if (in ^ out)
				reg ^= 0x8408;	/* x^16 + x^12 + x^5 + 1, reflected */
		}
	}
	return reg;
}

static uint16_t fcs16(const uint8_t *p, size_t n)
{
	return (uint16_t)~fcs16_register(0xFFFF, p, n);
}

/* ---- codec: known answers ---- */

struct known_block {
	const char *what;
	uint8_t bytes[12];
	size_t len;
	enum ifd_t1_edc edc;
};

/*
 * Each LRC is the XOR of NAD, PCB, LEN and INF, done by hand in the
 * comment. Each CRC is the ISO/IEC 13239 FCS worked out bit by bit from
 * the definition (register FFFF, LSB first, complement), written low byte
 * first.
 */
static const struct known_block known[] = {
	/* 00 ^ C1 ^ 01 ^ FE = 3E */
	{ "S(IFS request FE) LRC", { 0x00, 0xC1, 0x01, 0xFE, 0x3E }, 5, LRC },
	/* 00 ^ E1 ^ 01 ^ FE = 1E */
	{ "S(IFS response FE) LRC", { 0x00, 0xE1, 0x01, 0xFE, 0x1E }, 5, LRC },
	/* 40 ^ 05 = 45, ^ A4 = E1, ^ 04 = E5, the 00s change nothing */
	{ "I(0) 00 A4 04 00 00 LRC", { 0x00, 0x40, 0x05, 0x00, 0xA4, 0x04, 0x00, 0x00, 0xE5 }, 9,
	  LRC },
	/* 00 ^ 91 ^ 00 = 91 */
	{ "R(1) EDC error LRC", { 0x00, 0x91, 0x00, 0x91 }, 4, LRC },
	/* 00 ^ C3 ^ 01 ^ 05 = C7 */
	{ "S(WTX request 05) LRC", { 0x00, 0xC3, 0x01, 0x05, 0xC7 }, 5, LRC },
	/* FCS of 00 00 00 = C6CC */
	{ "empty I(0) CRC", { 0x00, 0x00, 0x00, 0xCC, 0xC6 }, 5, CRC },
	/* FCS of 00 C1 01 FE = ABB1 */
	{ "S(IFS request FE) CRC", { 0x00, 0xC1, 0x01, 0xFE, 0xB1, 0xAB }, 6, CRC },
	/* FCS of 00 E1 01 FE = A88A */
	{ "S(IFS response FE) CRC", { 0x00, 0xE1, 0x01, 0xFE, 0x8A, 0xA8 }, 6, CRC },
	/* FCS of 00 40 05 00 A4 04 00 00 = E342 */
	{ "I(0) 00 A4 04 00 00 CRC",
	  { 0x00, 0x40, 0x05, 0x00, 0xA4, 0x04, 0x00, 0x00, 0x42, 0xE3 }, 10, CRC },
	/* FCS of 00 91 00 = C649 */
	{ "R(1) EDC error CRC", { 0x00, 0x91, 0x00, 0x49, 0xC6 }, 5, CRC },
	/* FCS of 00 C0 00 = 0C66 */
	{ "S(RESYNCH request) CRC", { 0x00, 0xC0, 0x00, 0x66, 0x0C }, 5, CRC },
	/* FCS of 00 C3 01 05 = 5755 */
	{ "S(WTX request 05) CRC", { 0x00, 0xC3, 0x01, 0x05, 0x55, 0x57 }, 6, CRC },
};

#define N_KNOWN (sizeof(known) / sizeof(known[0]))

Test(t1_codec, edc_lengths)
{
	cr_expect_eq(t1_edc_len(LRC), 1);
	cr_expect_eq(t1_edc_len(CRC), 2);
}

Test(t1_codec, reference_crc_gives_the_standard_check_values)
{
	/* The catalogued check value of this CRC (CRC-16/ISO-HDLC, X.25)
	 * over "123456789", and RFC 1662's "good FCS": the register after a
	 * frame followed by its own FCS. */
	const uint8_t check[] = "123456789";
	uint16_t f = fcs16(check, 9);
	uint8_t framed[11];

	cr_assert_eq(f, 0x906E);
	memcpy(framed, check, 9);
	framed[9] = (uint8_t)f;
	framed[10] = (uint8_t)(f >> 8);
	cr_assert_eq(fcs16_register(0xFFFF, framed, 11), 0xF0B8);
}

Test(t1_codec, known_blocks_build_and_parse)
{
	for (size_t i = 0; i < N_KNOWN; i++) {
		const struct known_block *k = &known[i];
		size_t epi = t1_edc_len(k->edc);
		size_t inf_len = k->len - T1_PROLOGUE - epi;
		uint8_t out[T1_MAX_BLOCK];
		struct t1_block b;

		cr_assert_eq(k->bytes[2], inf_len, "%s", k->what);
		size_t n = t1_block_build(k->bytes[0], k->bytes[1], k->bytes + 3, inf_len, k->edc,
					  out);
		cr_assert_eq(n, k->len, "%s", k->what);
		cr_expect_eq(memcmp(out, k->bytes, n), 0, "%s: built %02X %02X", k->what,
			     out[n - epi], out[n - 1]);

		uint8_t *copy = ts_exact_copy(k->bytes, k->len);
		cr_assert_eq(t1_block_parse(copy, k->len, k->edc, &b), 0, "%s", k->what);
		cr_expect_eq(b.nad, k->bytes[0]);
		cr_expect_eq(b.pcb, k->bytes[1]);
		cr_expect_eq(b.len, inf_len);
		cr_expect_eq(b.inf, copy + 3, "%s: INF points into the block", k->what);
		free(copy);

		/* The hand-made CRCs agree with the reference, and the other
		 * EDC never accepts the block. */
		if (k->edc == CRC) {
			uint16_t f = fcs16(k->bytes, k->len - 2);
			cr_expect_eq(k->bytes[k->len - 2], (uint8_t)f, "%s", k->what);
			cr_expect_eq(k->bytes[k->len - 1], (uint8_t)(f >> 8), "%s", k->what);
		}
		cr_expect_neq(parse_exact(k->bytes, k->len, k->edc == LRC ? CRC : LRC, &b), 0,
			      "%s", k->what);
	}
}

Test(t1_codec, crc_matches_the_reference_for_every_length)
{
	uint8_t inf[T1_MAX_INF];
	uint8_t out[T1_MAX_BLOCK];

	for (size_t len = 0; len <= T1_MAX_INF; len++) {
		fill_pattern(inf, len, (unsigned)len);
		size_t n = t1_block_build(0x12, 0x40, inf, len, CRC, out);
		cr_assert_eq(n, T1_PROLOGUE + len + 2);
		uint16_t f = fcs16(out, n - 2);
		cr_assert_eq(out[n - 2], (uint8_t)f, "LEN %zu", len);
		cr_assert_eq(out[n - 1], (uint8_t)(f >> 8), "LEN %zu", len);
		cr_assert_eq(fcs16_register(0xFFFF, out, n), 0xF0B8, "LEN %zu", len);

		n = t1_block_build(0x12, 0x40, inf, len, LRC, out);
		uint8_t x = 0;
		for (size_t i = 0; i + 1 < n; i++)
			x ^= out[i];
		cr_assert_eq(out[n - 1], x, "LEN %zu", len);
	}
}

Test(t1_codec, round_trip_every_length_both_edcs)
{
	uint8_t inf[T1_MAX_INF];
	uint8_t out[T1_MAX_BLOCK];
	const enum ifd_t1_edc edcs[] = { LRC, CRC };

	for (size_t e = 0; e < 2; e++) {
		for (size_t len = 0; len <= T1_MAX_INF; len++) {
			struct t1_block b;

			fill_pattern(inf, len, (unsigned)(len * 3));
			size_t n = t1_block_build(0x21, 0x60, inf, len, edcs[e], out);
			cr_assert_eq(n, T1_PROLOGUE + len + t1_edc_len(edcs[e]));
			uint8_t *copy = ts_exact_copy(out, n);
			cr_assert_eq(t1_block_parse(copy, n, edcs[e], &b), 0, "LEN %zu", len);
			cr_assert_eq(b.len, len);
			cr_assert_eq(b.nad, 0x21);
			cr_assert_eq(b.pcb, 0x60);
			if (len)
				cr_assert_eq(memcmp(b.inf, inf, len), 0);
			free(copy);
		}
	}
}

Test(t1_codec, build_refuses_what_no_block_can_carry)
{
	uint8_t inf[T1_MAX_INF + 1] = { 0 };
	uint8_t out[T1_MAX_BLOCK];

	cr_expect_eq(t1_block_build(0, 0, inf, T1_MAX_INF + 1, LRC, out), 0);
	cr_expect_eq(t1_block_build(0, 0, inf, 300, CRC, out), 0);
	cr_expect_eq(t1_block_build(0, 0, NULL, 1, LRC, out), 0);
	cr_expect_eq(t1_block_build(0, 0, inf, 1, LRC, NULL), 0);
	cr_expect_eq(t1_block_build(0, 0, NULL, 0, LRC, out), 4);
	cr_expect_eq(t1_block_build(0, 0, inf, T1_MAX_INF, CRC, out), T1_MAX_BLOCK);
}

Test(t1_codec, every_truncation_and_every_extension_is_refused)
{
	for (size_t i = 0; i < N_KNOWN; i++) {
		const struct known_block *k = &known[i];
		uint8_t longer[16];
		struct t1_block b;

		for (size_t n = 0; n < k->len; n++)
			cr_expect_neq(parse_exact(k->bytes, n, k->edc, &b), 0, "%s cut to %zu",
				      k->what, n);
		/* A byte too many is a length error too, whatever its value. */
		memcpy(longer, k->bytes, k->len);
		for (unsigned v = 0; v < 256; v++) {
			longer[k->len] = (uint8_t)v;
			cr_expect_neq(parse_exact(longer, k->len + 1, k->edc, &b), 0,
				      "%s plus %02X", k->what, v);
		}
	}
	/* The longest block, cut anywhere. */
	uint8_t inf[T1_MAX_INF], out[T1_MAX_BLOCK];
	struct t1_block b;
	fill_pattern(inf, sizeof(inf), 5);
	size_t n = t1_block_build(0, 0, inf, sizeof(inf), CRC, out);
	for (size_t cut = 0; cut < n; cut++)
		cr_expect_neq(parse_exact(out, cut, CRC, &b), 0, "cut to %zu", cut);
	cr_expect_eq(parse_exact(out, n, CRC, &b), 0);
	cr_expect_neq(t1_block_parse(NULL, 0, LRC, &b), 0);
	cr_expect_neq(t1_block_parse(out, n, CRC, NULL), 0);
}

Test(t1_codec, every_flipped_bit_is_refused)
{
	for (size_t i = 0; i < N_KNOWN; i++) {
		const struct known_block *k = &known[i];

		for (size_t bit = 0; bit < k->len * 8; bit++) {
			uint8_t buf[16];
			struct t1_block b;

			memcpy(buf, k->bytes, k->len);
			buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			cr_expect_neq(parse_exact(buf, k->len, k->edc, &b), 0, "%s bit %zu",
				      k->what, bit);
		}
	}
}

Test(t1_codec, len_ff_is_refused_even_with_a_right_edc)
{
	/* FF is reserved (§11.3.2.3): a block with 255 bytes of INF and an
	 * EDC that matches them must still be refused. */
	const enum ifd_t1_edc edcs[] = { LRC, CRC };

	for (size_t e = 0; e < 2; e++) {
		size_t n = T1_PROLOGUE + 255 + t1_edc_len(edcs[e]);
		uint8_t *buf = calloc(1, n);
		struct t1_block b;

		cr_assert_not_null(buf);
		buf[1] = 0x00;
		buf[2] = 0xFF;
		fill_pattern(buf + 3, 255, 9);
		if (edcs[e] == CRC) {
			uint16_t f = fcs16(buf, n - 2);
			buf[n - 2] = (uint8_t)f;
			buf[n - 1] = (uint8_t)(f >> 8);
		} else {
			uint8_t x = 0;
			for (size_t i = 0; i + 1 < n; i++)
				x ^= buf[i];
			buf[n - 1] = x;
		}
		cr_expect_neq(parse_exact(buf, n, edcs[e], &b), 0);
		free(buf);
	}
}

Test(t1_codec, block_kinds)
{
	const uint8_t i_pcbs[] = { 0x00, 0x20, 0x40, 0x60, 0x7F };
	const uint8_t r_pcbs[] = { 0x80, 0x81, 0x82, 0x90, 0x92, 0xBF };
	const uint8_t s_pcbs[] = { 0xC0, 0xC1, 0xE1, 0xC3, 0xE3, 0xFF };

	for (size_t i = 0; i < sizeof(i_pcbs); i++)
		cr_expect_eq(t1_block_kind(i_pcbs[i]), T1_KIND_I, "%02X", i_pcbs[i]);
	for (size_t i = 0; i < sizeof(r_pcbs); i++)
		cr_expect_eq(t1_block_kind(r_pcbs[i]), T1_KIND_R, "%02X", r_pcbs[i]);
	for (size_t i = 0; i < sizeof(s_pcbs); i++)
		cr_expect_eq(t1_block_kind(s_pcbs[i]), T1_KIND_S, "%02X", s_pcbs[i]);
}
