/*
 * test_atr.c - the driver's ATR parser and PPS of ifd/codec/atr.c.
 *
 * The parser is checked against ATRs of real cards (from pcsc-tools'
 * smartcard_list.txt and the cards' own documentation) and the virtual
 * card's ATR, with every expected field worked out by hand from ISO 7816-3
 * in the table below, so that the expectations are the standard's and not
 * the parser's. Every truncation and every single-byte change of each ATR
 * is then fed back in, from buffers sized exactly, so that the sanitizer
 * build catches any read past the end. A few synthetic ATRs cover what no
 * listed card shows (CRC, a second T=1 TA, an implicit TA2).
 */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "atr.h"
#include "test_support.h"

/* ---- helpers ---- */


static int parse_exact(const uint8_t *atr, size_t len, struct ifd_atr *out)
{
	uint8_t *copy = ts_exact_copy(atr, len);
	int rc = ifd_atr_parse(copy, len, out);

	free(copy);
	return rc;
}

#define T0 IFD_PROTOCOL_T0
#define T1 IFD_PROTOCOL_T1
#define T15 IFD_PROTOCOL_T15
#define DIRECT IFD_CONVENTION_DIRECT
#define INVERSE IFD_CONVENTION_INVERSE
#define LRC IFD_T1_EDC_LRC
#define CRC IFD_T1_EDC_CRC

struct atr_case {
	const char *name;
	uint8_t bytes[IFD_ATR_MAX];
	size_t len;
	enum ifd_atr_convention convention;
	size_t historical_offset;
	size_t historical_len;
	uint16_t protocols;
	uint8_t first_protocol;
	bool ta1_present;
	uint8_t fi_index, di_index;
	uint16_t fi;
	uint8_t di;
	uint32_t f_max_khz;
	uint8_t extra_guard_time;
	uint8_t t0_wi;
	uint8_t ifsc, bwi, cwi;
	enum ifd_t1_edc edc;
	bool specific_mode;
	uint8_t specific_protocol;
	bool specific_can_change, specific_implicit;
	bool tck_present;
	bool needs_pps;
};

/*
 * Each comment decodes the ATR: T0 = Y1|K, then the interface bytes group
 * by group (Yi+1 and T from each TDi), the K historical bytes, and TCK.
 */
static const struct atr_case cases[] = {
	{
		/* ecard's virtual card. T0=8B: TD1, K=11. TD1=01: T=1, no
		 * more. Historical 80 73 80 00 5B 55 "ECARD". TCK A6. */
		"ecard virtual card",
		{ 0x3B, 0x8B, 0x01, 0x80, 0x73, 0x80, 0x00, 0x5B, 0x55, 0x45,
		  0x43, 0x41, 0x52, 0x44, 0xA6 }, 15,
		DIRECT, 3, 11, T1, 1,
		false, 1, 1, 372, 1, 5000, 0, 10,
		32, 4, 13, LRC, false, 0, false, false, true, false,
	},
	{
		/* NXP JCOP v2.4.1. T0=F8: TA1 TB1 TC1 TD1, K=8. TA1=13 (Fi
		 * 372, Di 4), TB1=00, TC1=00, TD1=81: TD2, T=1. TD2=31: TA3
		 * TB3, T=1. TA3=FE IFSC 254, TB3=45 BWI 4 CWI 5. "JCOPv241".
		 * TCK B7 (T0..TCK XOR to 0). */
		"JCOP v2.4.1",
		{ 0x3B, 0xF8, 0x13, 0x00, 0x00, 0x81, 0x31, 0xFE, 0x45, 0x4A,
		  0x43, 0x4F, 0x50, 0x76, 0x32, 0x34, 0x31, 0xB7 }, 18,
		DIRECT, 9, 8, T1, 1,
		true, 1, 3, 372, 4, 5000, 0, 10,
		254, 4, 5, LRC, false, 0, false, false, true, true,
	},
	{
		/* Schlumberger Multiflex 3k. T0=02: no interface bytes, K=2,
		 * so T=0 only and no TCK. */
		"Multiflex 3k",
		{ 0x3B, 0x02, 0x14, 0x50 }, 4,
		DIRECT, 2, 2, T0, 0,
		false, 1, 1, 372, 1, 5000, 0, 10,
		32, 4, 13, LRC, false, 0, false, false, false, false,
	},
	{
		/* France Telecom (ex Pastel) card, inverse convention.
		 * T0=65: TB1 TC1, K=5. TB1=25 (Vpp, ignored), TC1=08: N=8.
		 * T=0 only, no TCK. */
		"France Telecom Pastel",
		{ 0x3F, 0x65, 0x25, 0x08, 0x22, 0x04, 0x68, 0x90, 0x00 }, 9,
		INVERSE, 4, 5, T0, 0,
		false, 1, 1, 372, 1, 5000, 8, 10,
		32, 4, 13, LRC, false, 0, false, false, false, false,
	},
	{
		/* Atmel/Athena T0 inverse convention PC/SC compliance test
		 * card No. 2. T0=96: TA1 TD1, K=6. TA1=18 (Fi 372, Di 12).
		 * TD1=80: TD2, T=0. TD2=01: T=1, no more, so a TCK (9F). */
		"Athena inverse test card",
		{ 0x3F, 0x96, 0x18, 0x80, 0x01, 0x80, 0x51, 0x00, 0x61, 0x10,
		  0x30, 0x9F }, 12,
		INVERSE, 5, 6, T0 | T1, 0,
		true, 1, 8, 372, 12, 5000, 0, 10,
		32, 4, 13, LRC, false, 0, false, false, true, true,
	},
	{
		/* Irdeto ACS V5.0 pay-TV card. T0=9F: TA1 TD1, K=15.
		 * TA1=11 (the defaults, stated). TD1=40: TC2, T=0. TC2=60:
		 * WI 96. "IRDETO ACS V5.0". T=0 only, no TCK. */
		"Irdeto ACS V5.0",
		{ 0x3B, 0x9F, 0x11, 0x40, 0x60, 0x49, 0x52, 0x44, 0x45, 0x54,
		  0x4F, 0x20, 0x41, 0x43, 0x53, 0x20, 0x56, 0x35, 0x2E, 0x30 }, 20,
		DIRECT, 5, 15, T0, 0,
		true, 1, 1, 372, 1, 5000, 0, 96,
		32, 4, 13, LRC, false, 0, false, false, false, false,
	},
	{
		/* OpenPGP card v2. T0=DA: TA1 TC1 TD1, K=10. TA1=18 (372,
		 * Di 12), TC1=FF: N=255. TD1=81: TD2, T=1. TD2=B1: TA3 TB3
		 * TD3, T=1. TA3=FE IFSC 254, TB3=75 BWI 7 CWI 5. TD3=1F:
		 * TA4, T=15. TA4=03 (class, global). TCK 0C. */
		"OpenPGP card v2",
		{ 0x3B, 0xDA, 0x18, 0xFF, 0x81, 0xB1, 0xFE, 0x75, 0x1F, 0x03,
		  0x00, 0x31, 0xC5, 0x73, 0xC0, 0x01, 0x40, 0x00, 0x90, 0x00,
		  0x0C }, 21,
		DIRECT, 10, 10, T1 | T15, 1,
		true, 1, 8, 372, 12, 5000, 255, 10,
		254, 7, 5, LRC, false, 0, false, false, true, true,
	},
	{
		/* IDEMIA Estonian ID card. T0=DB: TA1 TC1 TD1, K=11.
		 * TA1=96 (Fi 512 f(max) 5 MHz, Di 32), TC1=00. TD1=80: TD2,
		 * T=0. TD2=B1: TA3 TB3 TD3, T=1. TA3=FE, TB3=45. TD3=1F:
		 * TA4, T=15. TA4=83. TCK F1. */
		"IDEMIA EstEID",
		{ 0x3B, 0xDB, 0x96, 0x00, 0x80, 0xB1, 0xFE, 0x45, 0x1F, 0x83,
		  0x00, 0x12, 0x23, 0x3F, 0x53, 0x65, 0x49, 0x44, 0x0F, 0x90,
		  0x00, 0xF1 }, 22,
		DIRECT, 10, 11, T0 | T1 | T15, 0,
		true, 9, 6, 512, 32, 5000, 0, 10,
		254, 4, 5, LRC, false, 0, false, false, true, true,
	},
	{
		/* EstEID 3.4 cold reset. T0=FE: TA1 TB1 TC1 TD1, K=14.
		 * TA1=18, TB1=00, TC1=00. TD1=80: TD2, T=0. TD2=31: TA3 TB3,
		 * T=1. TA3=FE, TB3=45. "EstEID ver 1.0". TCK A8. */
		"EstEID 3.4 cold",
		{ 0x3B, 0xFE, 0x18, 0x00, 0x00, 0x80, 0x31, 0xFE, 0x45, 0x45,
		  0x73, 0x74, 0x45, 0x49, 0x44, 0x20, 0x76, 0x65, 0x72, 0x20,
		  0x31, 0x2E, 0x30, 0xA8 }, 24,
		DIRECT, 9, 14, T0 | T1, 0,
		true, 1, 8, 372, 12, 5000, 0, 10,
		254, 4, 5, LRC, false, 0, false, false, true, true,
	},
	{
		/* YubiKey 5 NFC. T0=FD: TA1 TB1 TC1 TD1, K=13. TA1=13,
		 * TB1=00, TC1=00. TD1=81: TD2, T=1. TD2=31: TA3 TB3, T=1.
		 * TA3=FE, TB3=15: BWI 1, CWI 5. "...YubiKey@". TCK 40. */
		"YubiKey 5 NFC",
		{ 0x3B, 0xFD, 0x13, 0x00, 0x00, 0x81, 0x31, 0xFE, 0x15, 0x80,
		  0x73, 0xC0, 0x21, 0xC0, 0x57, 0x59, 0x75, 0x62, 0x69, 0x4B,
		  0x65, 0x79, 0x40 }, 23,
		DIRECT, 9, 13, T1, 1,
		true, 1, 3, 372, 4, 5000, 0, 10,
		254, 1, 5, LRC, false, 0, false, false, true, true,
	},
	{
		/* MTNL 3G USIM. T0=FF: TA1 TB1 TC1 TD1, K=15. TA1=95 (Fi
		 * 512, Di 16), TB1=00, TC1=FF. TD1=C0: TC2 TD2, T=0. TC2=0A:
		 * WI 10 stated. TD2=1F: TA3, T=15. TA3=43 (clock stop and
		 * class, not T=1). T=15 makes TCK mandatory: E5. */
		"MTNL 3G USIM",
		{ 0x3B, 0xFF, 0x95, 0x00, 0xFF, 0xC0, 0x0A, 0x1F, 0x43, 0x80,
		  0x31, 0xE0, 0x73, 0xF6, 0x21, 0x13, 0x57, 0x4A, 0x33, 0x48,
		  0x57, 0x31, 0x41, 0x41, 0xE5 }, 25,
		DIRECT, 9, 15, T0 | T15, 0,
		true, 9, 5, 512, 16, 5000, 255, 10,
		32, 4, 13, LRC, false, 0, false, false, true, true,
	},
	{
		/* Polsat Nagravision 3, inverse convention. T0=FF: TA1 TB1
		 * TC1 TD1, K=15. TA1=95, TB1=00, TC1=FF. TD1=91: TA2 TD2,
		 * T=1. TA2=81: specific mode T=1, bit 8 set (cannot change),
		 * bit 5 clear (Fi/Di from TA1). TD2=71: TA3 TB3 TC3, T=1.
		 * TA3=FE, TB3=47: BWI 4 CWI 7, TC3=00: LRC. "DNASP142
		 * RevG02". TCK 16. Specific mode: no PPS. */
		"Polsat Nagra3",
		{ 0x3F, 0xFF, 0x95, 0x00, 0xFF, 0x91, 0x81, 0x71, 0xFE, 0x47,
		  0x00, 0x44, 0x4E, 0x41, 0x53, 0x50, 0x31, 0x34, 0x32, 0x20,
		  0x52, 0x65, 0x76, 0x47, 0x30, 0x32, 0x16 }, 27,
		INVERSE, 11, 15, T1, 1,
		true, 9, 5, 512, 16, 5000, 255, 10,
		254, 4, 7, LRC, true, 1, false, false, true, false,
	},
	{
		/* Commerzbank girocard. T0=FF: TA1 TB1 TC1 TD1, K=15.
		 * TA1=96 (512, Di 32), TB1=00, TC1=FF. TD1=81: TD2, T=1.
		 * TD2=31: TA3 TB3, T=1. TA3=FE, TB3=45. TCK 81. */
		"Commerzbank girocard",
		{ 0x3B, 0xFF, 0x96, 0x00, 0xFF, 0x81, 0x31, 0xFE, 0x45, 0x65,
		  0x63, 0x0D, 0x09, 0x71, 0x07, 0x64, 0x00, 0x0D, 0x00, 0x03,
		  0x54, 0x50, 0x07, 0x01, 0x81 }, 25,
		DIRECT, 9, 15, T1, 1,
		true, 9, 6, 512, 32, 5000, 255, 10,
		254, 4, 5, LRC, false, 0, false, false, true, true,
	},
	{
		/* Synthetic: CRC. T0=90: TA1 TD1, K=0. TA1=96. TD1=81: TD2,
		 * T=1. TD2=71: TA3 TB3 TC3, T=1. TA3=FE, TB3=45, TC3=01:
		 * CRC. TCK 4C = XOR of 90 96 81 71 FE 45 01. */
		"synthetic T=1 CRC",
		{ 0x3B, 0x90, 0x96, 0x81, 0x71, 0xFE, 0x45, 0x01, 0x4C }, 9,
		DIRECT, 8, 0, T1, 1,
		true, 9, 6, 512, 32, 5000, 0, 10,
		254, 4, 5, CRC, false, 0, false, false, true, true,
	},
	{
		/* Synthetic: only the first T=1 TA is IFSC. T0=80: TD1, K=0.
		 * TD1=81: TD2, T=1. TD2=91: TA3 TD3, T=1. TA3=40: IFSC 64.
		 * TD3=11: TA4, T=1. TA4=80 is ignored. TCK 41. */
		"synthetic second T=1 TA",
		{ 0x3B, 0x80, 0x81, 0x91, 0x40, 0x11, 0x80, 0x41 }, 8,
		DIRECT, 7, 0, T1, 1,
		false, 1, 1, 372, 1, 5000, 0, 10,
		64, 4, 13, LRC, false, 0, false, false, true, false,
	},
	{
		/* Synthetic: implicit specific mode. T0=80: TD1, K=0.
		 * TD1=10: TA2, T=0. TA2=10: T=0, bit 8 clear (can change),
		 * bit 5 set (implicit Fi/Di). T=0 only, no TCK. */
		"synthetic implicit TA2",
		{ 0x3B, 0x80, 0x10, 0x10 }, 4,
		DIRECT, 4, 0, T0, 0,
		false, 1, 1, 372, 1, 5000, 0, 10,
		32, 4, 13, LRC, true, 0, true, true, false, false,
	},
};

#define N_CASES (sizeof(cases) / sizeof(cases[0]))

/* ---- the table, field by field ---- */

Test(atr, table_of_real_atrs_parses_as_computed_by_hand)
{
	cr_assert_geq(N_CASES, 12);
	for (size_t i = 0; i < N_CASES; i++) {
		const struct atr_case *k = &cases[i];
		struct ifd_atr a;
		int rc = parse_exact(k->bytes, k->len, &a);

		cr_assert_eq(rc, IFD_ATR_OK, "%s: %s", k->name, ifd_atr_strerror(rc));
		cr_expect_eq(a.raw_len, k->len, "%s", k->name);
		cr_expect_eq(memcmp(a.raw, k->bytes, k->len), 0, "%s", k->name);
		cr_expect_eq(a.convention, k->convention, "%s", k->name);
		cr_expect_eq(a.historical_offset, k->historical_offset, "%s", k->name);
		cr_expect_eq(a.historical_len, k->historical_len, "%s", k->name);
		cr_expect_eq(a.protocols, k->protocols, "%s", k->name);
		cr_expect_eq(a.first_protocol, k->first_protocol, "%s", k->name);
		cr_expect_eq(a.ta1_present, k->ta1_present, "%s", k->name);
		cr_expect_eq(a.fi_index, k->fi_index, "%s", k->name);
		cr_expect_eq(a.di_index, k->di_index, "%s", k->name);
		cr_expect_eq(a.fi, k->fi, "%s", k->name);
		cr_expect_eq(a.di, k->di, "%s", k->name);
		cr_expect_eq(a.f_max_khz, k->f_max_khz, "%s", k->name);
		cr_expect_eq(a.extra_guard_time, k->extra_guard_time, "%s", k->name);
		cr_expect_eq(a.t0_wi, k->t0_wi, "%s", k->name);
		cr_expect_eq(a.t1_ifsc, k->ifsc, "%s", k->name);
		cr_expect_eq(a.t1_bwi, k->bwi, "%s", k->name);
		cr_expect_eq(a.t1_cwi, k->cwi, "%s", k->name);
		cr_expect_eq(a.t1_edc, k->edc, "%s", k->name);
		cr_expect_eq(a.specific_mode, k->specific_mode, "%s", k->name);
		cr_expect_eq(a.specific_protocol, k->specific_protocol, "%s", k->name);
		cr_expect_eq(a.specific_can_change, k->specific_can_change, "%s", k->name);
		cr_expect_eq(a.specific_implicit, k->specific_implicit, "%s", k->name);
		cr_expect_eq(a.tck_present, k->tck_present, "%s", k->name);
		cr_expect_eq(a.tck_valid, k->tck_present, "%s", k->name);
		cr_expect_eq(ifd_atr_needs_pps(&a), k->needs_pps, "%s", k->name);
	}
}

Test(atr, virtual_card_historical_bytes_end_in_ecard)
{
	struct ifd_atr a;

	cr_assert_eq(parse_exact(cases[0].bytes, cases[0].len, &a), IFD_ATR_OK);
	cr_assert_eq(a.historical_len, 11);
	cr_expect_eq(memcmp(a.raw + a.historical_offset + 6, "ECARD", 5), 0);
}

Test(atr, ta1_tables_match_iso_7816_3)
{
	/* Every defined TA1 nibble, one ATR each: 3B 10 TA1, T=0 only. */
	static const uint16_t fi[16] = { 372, 372, 558, 744, 1116, 1488, 1860, 0,
					 0, 512, 768, 1024, 1536, 2048, 0, 0 };
	static const uint32_t fmax[16] = { 4000, 5000, 6000, 8000, 12000, 16000,
					   20000, 0, 0, 5000, 7500, 10000, 15000,
					   20000, 0, 0 };
	static const uint8_t di[16] = { 0, 1, 2, 4, 8, 16, 32, 64, 12, 20,
					0, 0, 0, 0, 0, 0 };

	for (unsigned f = 0; f < 16; f++) {
		for (unsigned d = 0; d < 16; d++) {
			uint8_t atr[3] = { 0x3B, 0x10, (uint8_t)(f << 4 | d) };
			struct ifd_atr a;
			int rc = parse_exact(atr, sizeof(atr), &a);

			if (!fi[f]) {
				cr_expect_eq(rc, IFD_ATR_ERR_FI_RFU, "TA1 %02X", atr[2]);
			} else if (!di[d]) {
				cr_expect_eq(rc, IFD_ATR_ERR_DI_RFU, "TA1 %02X", atr[2]);
			} else {
				cr_assert_eq(rc, IFD_ATR_OK, "TA1 %02X", atr[2]);
				cr_expect_eq(a.fi, fi[f]);
				cr_expect_eq(a.f_max_khz, fmax[f]);
				cr_expect_eq(a.di, di[d]);
				cr_expect_eq(ifd_atr_needs_pps(&a),
					     fi[f] != 372 || di[d] != 1, "TA1 %02X", atr[2]);
			}
		}
	}
}

/* ---- malformed ATRs ---- */

Test(atr, every_truncation_fails_cleanly)
{
	for (size_t i = 0; i < N_CASES; i++) {
		const struct atr_case *k = &cases[i];

		for (size_t n = 0; n < k->len; n++) {
			struct ifd_atr a;
			int rc = parse_exact(k->bytes, n, &a);

			/* A prefix re-reads the same T0 and TDs, so it always
			 * announces more bytes than it has. */
			cr_expect_neq(rc, IFD_ATR_OK, "%s cut to %zu", k->name, n);
			if (n < 2)
				cr_expect_eq(rc, IFD_ATR_ERR_TOO_SHORT, "%s cut to %zu", k->name, n);
			else
				cr_expect(rc == IFD_ATR_ERR_TRUNCATED_INTERFACE ||
					  rc == IFD_ATR_ERR_TRUNCATED_HISTORICAL ||
					  rc == IFD_ATR_ERR_TCK_MISSING,
					  "%s cut to %zu: %d", k->name, n, rc);
			if (k->tck_present && n == k->len - 1)
				cr_expect_eq(rc, IFD_ATR_ERR_TCK_MISSING, "%s", k->name);
		}
	}
}

Test(atr, flipped_tck_and_corrupted_byte_are_refused)
{
	for (size_t i = 0; i < N_CASES; i++) {
		const struct atr_case *k = &cases[i];
		uint8_t atr[IFD_ATR_MAX];
		struct ifd_atr a;

		if (!k->tck_present)
			continue;
		memcpy(atr, k->bytes, k->len);
		atr[k->len - 1] ^= 0x01;
		cr_expect_eq(parse_exact(atr, k->len, &a), IFD_ATR_ERR_TCK_WRONG, "%s", k->name);

		/* A changed historical byte is what TCK exists to catch. */
		memcpy(atr, k->bytes, k->len);
		if (k->historical_len) {
			atr[k->historical_offset] ^= 0x80;
			cr_expect_eq(parse_exact(atr, k->len, &a), IFD_ATR_ERR_TCK_WRONG,
				     "%s", k->name);
		}
	}
}

Test(atr, every_single_byte_change_is_handled)
{
	/* No assertion on the outcome beyond sanity: the point is that no
	 * value at any position makes the parser read or write out of
	 * bounds, and that what it accepts is self-consistent. */
	for (size_t i = 0; i < N_CASES; i++) {
		const struct atr_case *k = &cases[i];

		for (size_t pos = 0; pos < k->len; pos++) {
			for (unsigned v = 0; v < 256; v++) {
				uint8_t atr[IFD_ATR_MAX];
				struct ifd_atr a;

				memcpy(atr, k->bytes, k->len);
				atr[pos] = (uint8_t)v;
				if (parse_exact(atr, k->len, &a) != IFD_ATR_OK)
					continue;
				cr_assert_leq(a.historical_offset + a.historical_len,
					      a.raw_len);
				cr_assert(a.fi && a.di && a.f_max_khz);
			}
		}
	}
}

Test(atr, length_limits_and_ts)
{
	uint8_t big[IFD_ATR_MAX + 1];
	uint8_t ts00[] = { 0x00, 0x02, 0x14, 0x50 };
	uint8_t ts03[] = { 0x03, 0x02, 0x14, 0x50 };	/* inverse TS read as direct */
	struct ifd_atr a;

	/* 3B 0F with 15 historical bytes is the longest T=0 ATR without
	 * interface bytes; 34 bytes must be refused before parsing. */
	memset(big, 0x00, sizeof(big));
	big[0] = 0x3B;
	big[1] = 0x0F;
	cr_expect_eq(parse_exact(big, 17, &a), IFD_ATR_OK);
	cr_expect_eq(parse_exact(big, 34, &a), IFD_ATR_ERR_TOO_LONG);
	cr_expect_eq(parse_exact(big, 33, &a), IFD_ATR_ERR_TRAILING);
	cr_expect_eq(parse_exact(big, 1, &a), IFD_ATR_ERR_TOO_SHORT);
	cr_expect_eq(parse_exact(big, 0, &a), IFD_ATR_ERR_TOO_SHORT);
	cr_expect_eq(parse_exact(ts00, sizeof(ts00), &a), IFD_ATR_ERR_BAD_TS);
	cr_expect_eq(parse_exact(ts03, sizeof(ts03), &a), IFD_ATR_ERR_BAD_TS);
}

Test(atr, full_33_byte_atr_is_accepted)
{
	/* T0=8F: TD1, K=15. TD1=80: TD2, T=0. Then TD2..TD14 = 80 (13 more),
	 * TD15=01: T=1. 2 + 15 TDs + 15 historical + TCK = 33. */
	uint8_t atr[IFD_ATR_MAX];
	uint8_t x = 0;
	struct ifd_atr a;
	size_t n = 0;

	atr[n++] = 0x3B;
	atr[n++] = 0x8F;
	for (int i = 0; i < 14; i++)
		atr[n++] = 0x80;
	atr[n++] = 0x01;
	for (int i = 0; i < 15; i++)
		atr[n++] = (uint8_t)('A' + i);
	for (size_t i = 1; i < n; i++)
		x ^= atr[i];
	atr[n++] = x;
	cr_assert_eq(n, 33);
	cr_assert_eq(parse_exact(atr, n, &a), IFD_ATR_OK);
	cr_expect_eq(a.protocols, T0 | T1);
	cr_expect_eq(a.historical_offset, 17);
	cr_expect_eq(a.historical_len, 15);
}

Test(atr, t0_only_atr_with_a_tck_is_accepted_other_extra_bytes_are_not)
{
	/* 02 ^ 14 ^ 50 = 46: the extra byte is a correct TCK, which many
	 * T=0-only cards send although ISO 7816-3 says they need not. */
	uint8_t atr[] = { 0x3B, 0x02, 0x14, 0x50, 0x46 };
	uint8_t wrong[] = { 0x3B, 0x02, 0x14, 0x50, 0x47 };
	uint8_t two[] = { 0x3B, 0x02, 0x14, 0x50, 0x46, 0x00 };
	struct ifd_atr a;

	cr_assert_eq(parse_exact(atr, sizeof(atr), &a), IFD_ATR_OK);
	cr_expect(a.tck_present && a.tck_valid);
	cr_expect_eq(a.protocols, T0);
	cr_expect_eq(a.historical_len, 2);
	cr_expect_eq(parse_exact(wrong, sizeof(wrong), &a), IFD_ATR_ERR_TRAILING);
	cr_expect_eq(parse_exact(two, sizeof(two), &a), IFD_ATR_ERR_TRAILING);
}

Test(atr, reserved_ifsc_and_waiting_integer_keep_their_defaults)
{
	/* TD1 = 80 (T=0, TD2 follows), TC2 = 00; TD2 = 31 (TA3, TB3 for T=1);
	 * TA3 = IFSC 00 or FF, TB3 = 45; no historical bytes; TCK. */
	for (int v = 0; v < 2; v++) {
		uint8_t atr[] = { 0x3B, 0x80, 0xC0, 0x00, 0x31, v ? 0xFF : 0x00, 0x45, 0x00 };
		uint8_t tck = 0;
		struct ifd_atr a;

		atr[1] = 0x80;
		for (size_t i = 1; i + 1 < sizeof(atr); i++)
			tck ^= atr[i];
		atr[sizeof(atr) - 1] = tck;
		cr_assert_eq(parse_exact(atr, sizeof(atr), &a), IFD_ATR_OK, "IFSC %02X", atr[5]);
		cr_expect_eq(a.t0_wi, 10, "TC2 = 00 must leave WI at 10");
		cr_expect_eq(a.t1_ifsc, 32, "IFSC %02X must leave IFSC at 32", atr[5]);
		cr_expect_eq(a.t1_bwi, 4);
		cr_expect_eq(a.t1_cwi, 5);
	}
}

Test(atr, tck_required_for_t15_alone)
{
	/* T0=80: TD1. TD1=0F: T=15 only, which still requires TCK (0F ^ 80). */
	uint8_t with[] = { 0x3B, 0x80, 0x0F, 0x8F };
	uint8_t without[] = { 0x3B, 0x80, 0x0F };
	struct ifd_atr a;

	cr_expect_eq(parse_exact(with, sizeof(with), &a), IFD_ATR_OK);
	cr_expect_eq(a.protocols, T15);
	cr_expect_eq(a.first_protocol, 15);
	cr_expect_eq(parse_exact(without, sizeof(without), &a), IFD_ATR_ERR_TCK_MISSING);
}

Test(atr, missing_arguments)
{
	struct ifd_atr a;
	uint8_t atr[] = { 0x3B, 0x00 };

	cr_expect_eq(ifd_atr_parse(NULL, 2, &a), IFD_ATR_ERR_INVALID_ARGUMENT);
	cr_expect_eq(ifd_atr_parse(atr, 2, NULL), IFD_ATR_ERR_INVALID_ARGUMENT);
	cr_expect_eq(ifd_atr_parse(NULL, 0, &a), IFD_ATR_ERR_TOO_SHORT);
	cr_expect_not(ifd_atr_needs_pps(NULL));
}

Test(atr, every_error_has_a_sentence)
{
	for (int e = 0; e >= IFD_PPS_ERR_PARAMETER_MISMATCH; e--) {
		const char *s = ifd_atr_strerror(e);

		cr_assert_not_null(s);
		cr_expect_eq(s[strlen(s) - 1], '.', "%d", e);
	}
	cr_expect_not_null(ifd_atr_strerror(-1000));
}

/* ---- PPS ---- */

Test(pps, build_with_and_without_pps1)
{
	uint8_t out[IFD_PPS_MAX];

	/* FF ^ 11 ^ 18 = F6. */
	cr_assert_eq(ifd_pps_build(1, 0x18, out), 4);
	cr_expect_arr_eq(out, ((uint8_t[]){ 0xFF, 0x11, 0x18, 0xF6 }), 4);
	cr_assert_eq(ifd_pps_build(0, 0, out), 3);
	cr_expect_arr_eq(out, ((uint8_t[]){ 0xFF, 0x00, 0xFF }), 3);
	cr_assert_eq(ifd_pps_build(1, 0, out), 3);
	cr_expect_arr_eq(out, ((uint8_t[]){ 0xFF, 0x01, 0xFE }), 3);
	/* FF ^ 10 ^ 96 = 79. */
	cr_assert_eq(ifd_pps_build(0, 0x96, out), 4);
	cr_expect_arr_eq(out, ((uint8_t[]){ 0xFF, 0x10, 0x96, 0x79 }), 4);
}

Test(pps, build_refuses_t15_and_reserved_ta1)
{
	uint8_t out[IFD_PPS_MAX];

	cr_expect_eq(ifd_pps_build(15, 0x11, out), 0);
	cr_expect_eq(ifd_pps_build(1, 0x71, out), 0);	/* Fi RFU */
	cr_expect_eq(ifd_pps_build(1, 0x10, out), 0);	/* Di RFU */
	cr_expect_eq(ifd_pps_build(1, 0x11, NULL), 0);
}

static int check(const uint8_t *req, size_t req_len, const uint8_t *rsp, size_t rsp_len,
		 uint8_t *protocol, uint8_t *ta1)
{
	uint8_t *q = ts_exact_copy(req, req_len);
	uint8_t *r = ts_exact_copy(rsp, rsp_len);
	int rc = ifd_pps_check_response(q, req_len, r, rsp_len, protocol, ta1);

	free(q);
	free(r);
	return rc;
}

Test(pps, echoed_response_is_accepted_for_each_protocol_and_rate)
{
	static const uint8_t ta1s[] = { 0, 0x11, 0x13, 0x18, 0x95, 0x96 };

	for (uint8_t t = 0; t <= 1; t++) {
		for (size_t i = 0; i < sizeof(ta1s); i++) {
			uint8_t req[IFD_PPS_MAX], protocol = 0xAA, ta1 = 0xAA;
			size_t n = ifd_pps_build(t, ta1s[i], req);

			cr_assert(n == 3 || n == 4);
			cr_assert_eq(check(req, n, req, n, &protocol, &ta1), IFD_ATR_OK);
			cr_expect_eq(protocol, t);
			cr_expect_eq(ta1, ta1s[i] ? ta1s[i] : 0x11);
		}
	}
}

Test(pps, response_without_pps1_means_default_rate)
{
	uint8_t req[] = { 0xFF, 0x11, 0x18, 0xF6 };
	uint8_t rsp[] = { 0xFF, 0x01, 0xFE };
	uint8_t protocol, ta1;

	cr_assert_eq(check(req, sizeof(req), rsp, sizeof(rsp), &protocol, &ta1), IFD_ATR_OK);
	cr_expect_eq(protocol, 1);
	cr_expect_eq(ta1, 0x11);
}

Test(pps, mismatches_are_refused)
{
	uint8_t req[] = { 0xFF, 0x11, 0x18, 0xF6 };
	uint8_t req_plain[] = { 0xFF, 0x01, 0xFE };
	uint8_t other_protocol[] = { 0xFF, 0x10, 0x18, 0xF7 };	/* FF^10^18 */
	uint8_t bad_pck[] = { 0xFF, 0x11, 0x18, 0xF7 };
	uint8_t other_rate[] = { 0xFF, 0x11, 0x13, 0xFD };	/* FF^11^13 */
	uint8_t added_pps2[] = { 0xFF, 0x21, 0x05, 0xDB };	/* FF^21^05 */
	uint8_t added_pps1[] = { 0xFF, 0x11, 0x18, 0xF6 };
	uint8_t protocol, ta1;

	cr_expect_eq(check(req, 4, other_protocol, 4, &protocol, &ta1),
		     IFD_PPS_ERR_PROTOCOL_MISMATCH);
	cr_expect_eq(check(req, 4, bad_pck, 4, &protocol, &ta1), IFD_PPS_ERR_PCK_WRONG);
	cr_expect_eq(check(req, 4, other_rate, 4, &protocol, &ta1),
		     IFD_PPS_ERR_PARAMETER_MISMATCH);
	cr_expect_eq(check(req_plain, 3, added_pps2, 4, &protocol, &ta1),
		     IFD_PPS_ERR_PARAMETER_MISMATCH);
	cr_expect_eq(check(req_plain, 3, added_pps1, 4, &protocol, &ta1),
		     IFD_PPS_ERR_PARAMETER_MISMATCH);
}

Test(pps, malformed_responses_and_requests)
{
	uint8_t req[] = { 0xFF, 0x11, 0x18, 0xF6 };
	uint8_t bad_ppss[] = { 0x00, 0x11, 0x18, 0xF6 };
	uint8_t reserved_bit[] = { 0xFF, 0x81, 0x7E };		/* FF^81 */
	uint8_t trailing[] = { 0xFF, 0x11, 0x18, 0xF6, 0x00 };
	uint8_t protocol, ta1;

	cr_expect_eq(check(req, 4, bad_ppss, 4, &protocol, &ta1),
		     IFD_PPS_ERR_MALFORMED_RESPONSE);
	cr_expect_eq(check(req, 4, reserved_bit, 3, &protocol, &ta1),
		     IFD_PPS_ERR_MALFORMED_RESPONSE);
	cr_expect_eq(check(req, 4, trailing, 5, &protocol, &ta1),
		     IFD_PPS_ERR_MALFORMED_RESPONSE);
	/* Every cut of the response, down to nothing. */
	for (size_t n = 0; n < sizeof(req); n++)
		cr_expect_eq(check(req, 4, req, n, &protocol, &ta1),
			     IFD_PPS_ERR_MALFORMED_RESPONSE, "cut to %zu", n);
	cr_expect_eq(check(bad_ppss, 4, req, 4, &protocol, &ta1),
		     IFD_PPS_ERR_MALFORMED_REQUEST);
	cr_expect_eq(check(req, 3, req, 4, &protocol, &ta1),
		     IFD_PPS_ERR_MALFORMED_REQUEST);
	cr_expect_eq(ifd_pps_check_response(req, 4, req, 4, NULL, &ta1),
		     IFD_ATR_ERR_INVALID_ARGUMENT);
}
