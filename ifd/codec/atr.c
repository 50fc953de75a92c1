/*
 * atr.c - Answer-To-Reset parsing and PPS for the reader driver.
 *
 * The driver runs T=0 and T=1 itself when a CCID reader works at TPDU
 * level, so it needs the card's parameters from the ATR (ISO/IEC 7816-3
 * §8) and has to negotiate them with a PPS (§9) before the first block.
 * Like libccid, which keeps its own ATR and PPS code next to its CCID
 * commands, this is a separate unit with no state: the rest of the driver
 * calls ifd_atr_parse() once per power-up and keeps the struct ifd_atr.
 * Every ATR and PPS byte comes from the card, so all of them are read
 * through struct cursor; nothing here indexes a card-supplied buffer.
 */
#include "atr.h"

#include "cursor.h"

#include <string.h>

#define ATR_TS_DIRECT 0x3B
#define ATR_TS_INVERSE 0x3F

#define PPS_PPSS 0xFF
#define PPS0_PPS1 0x10
#define PPS0_PPS2 0x20
#define PPS0_PPS3 0x40
#define PPS0_RESERVED 0x80

/* Fd = 372 and Dd = 1 as TA1 encodes them: what a card runs at after reset. */
#define TA1_DEFAULT 0x11

/* ISO 7816-3 table 7, indexed by the high nibble of TA1; 0 marks RFU. */
static const uint16_t fi_table[16] = {
	372, 372, 558, 744, 1116, 1488, 1860, 0,
	0, 512, 768, 1024, 1536, 2048, 0, 0,
};

/* The f(max) column of the same table, in kHz so that 7.5 MHz is exact. */
static const uint32_t f_max_khz_table[16] = {
	4000, 5000, 6000, 8000, 12000, 16000, 20000, 0,
	0, 5000, 7500, 10000, 15000, 20000, 0, 0,
};

/* ISO 7816-3 table 8, indexed by the low nibble of TA1; 0 marks RFU. */
static const uint8_t di_table[16] = {
	0, 1, 2, 4, 8, 16, 32, 64, 12, 20, 0, 0, 0, 0, 0, 0,
};

const char *ifd_atr_strerror(int err)
{
	switch (err) {
	case IFD_ATR_OK:
		return "The ATR or PPS is valid.";
	case IFD_ATR_ERR_TOO_SHORT:
		return "The ATR is shorter than TS and T0; reset the card and read it again.";
	case IFD_ATR_ERR_TOO_LONG:
		return "The ATR is longer than the 33 bytes ISO 7816-3 allows; the card or reader is faulty.";
	case IFD_ATR_ERR_BAD_TS:
		return "The ATR does not start with 3B or 3F; the card is not an ISO 7816-3 card or was read with the wrong convention.";
	case IFD_ATR_ERR_TRUNCATED_INTERFACE:
		return "The ATR ends inside its interface bytes; reset the card and read it again.";
	case IFD_ATR_ERR_TRUNCATED_HISTORICAL:
		return "The ATR ends before the historical bytes T0 announced; reset the card and read it again.";
	case IFD_ATR_ERR_TCK_MISSING:
		return "The ATR offers a protocol other than T=0 but has no check byte; reset the card and read it again.";
	case IFD_ATR_ERR_TCK_WRONG:
		return "The ATR check byte does not match; the ATR was corrupted, reset the card and read it again.";
	case IFD_ATR_ERR_TRAILING:
		return "The ATR has bytes after its announced end; reset the card and read it again.";
	case IFD_ATR_ERR_FI_RFU:
		return "The ATR's TA1 gives a reserved Fi value; the card cannot be driven at a defined clock rate.";
	case IFD_ATR_ERR_DI_RFU:
		return "The ATR's TA1 gives a reserved Di value; the card cannot be driven at a defined baud rate.";
	case IFD_ATR_ERR_INVALID_ARGUMENT:
		return "A required argument was missing; this is a bug in the caller.";
	case IFD_PPS_ERR_MALFORMED_REQUEST:
		return "The PPS request is not a well-formed PPS; this is a bug in the caller.";
	case IFD_PPS_ERR_MALFORMED_RESPONSE:
		return "The card's PPS response is not a well-formed PPS; reset the card and continue without PPS.";
	case IFD_PPS_ERR_PCK_WRONG:
		return "The card's PPS response has a wrong check byte; reset the card and try again.";
	case IFD_PPS_ERR_PROTOCOL_MISMATCH:
		return "The card answered the PPS with another protocol; reset the card and use its default protocol.";
	case IFD_PPS_ERR_PARAMETER_MISMATCH:
		return "The card answered the PPS with parameters that were not requested; reset the card and use the default rate.";
	}
	return "Unknown ATR or PPS error code; this is a bug in the caller.";
}

static void set_defaults(struct ifd_atr *out)
{
	memset(out, 0, sizeof(*out));
	out->fi_index = 1;
	out->di_index = 1;
	out->fi = 372;
	out->di = 1;
	out->f_max_khz = 5000;
	out->t0_wi = 10;
	out->t1_ifsc = 32;
	out->t1_bwi = 4;
	out->t1_cwi = 13;
	out->t1_edc = IFD_T1_EDC_LRC;
}

/*
 * The interface bytes of one group i (TAi, TBi, TCi) mean different things
 * by position: groups 1 and 2 are global (and TC2 belongs to T=0), later
 * groups belong to the protocol the TD before them named. For T=1 only
 * the first TA/TB/TC counts, hence the seen flags.
 */
struct group_state {
	unsigned index;
	uint8_t protocol;
	bool t1_ta_seen;
	bool t1_tb_seen;
	bool t1_tc_seen;
};

static void take_ta(struct ifd_atr *out, struct group_state *g, uint8_t ta)
{
	if (g->index == 1) {
		out->ta1_present = true;
		out->ta1 = ta;
		out->fi_index = ta >> 4;
		out->di_index = ta & 0x0F;
	} else if (g->index == 2) {
		out->specific_mode = true;
		out->specific_protocol = ta & 0x0F;
		out->specific_can_change = !(ta & 0x80);
		out->specific_implicit = (ta & 0x10) != 0;
	} else if (g->protocol == 1 && !g->t1_ta_seen) {
		g->t1_ta_seen = true;
		/* 00 and FF are reserved (§11.4.2): keep the default 32
		 * rather than build blocks the card cannot take. */
		if (ta != 0x00 && ta != 0xFF)
			out->t1_ifsc = ta;
	}
}

static void take_tb(struct ifd_atr *out, struct group_state *g, uint8_t tb)
{
	/* TB1 and TB2 programmed Vpp, which ISO 7816-3:2006 deprecates. */
	if (g->index >= 3 && g->protocol == 1 && !g->t1_tb_seen) {
		g->t1_tb_seen = true;
		out->t1_bwi = tb >> 4;
		out->t1_cwi = tb & 0x0F;
	}
}

static void take_tc(struct ifd_atr *out, struct group_state *g, uint8_t tc)
{
	if (g->index == 1) {
		out->extra_guard_time = tc;
	} else if (g->index == 2) {
		/* WI = 00 is reserved (§10.2): keep the default 10. */
		if (tc != 0)
			out->t0_wi = tc;
	} else if (g->protocol == 1 && !g->t1_tc_seen) {
		g->t1_tc_seen = true;
		out->t1_edc = (tc & 0x01) ? IFD_T1_EDC_CRC : IFD_T1_EDC_LRC;
	}
}

/* XOR of T0 up to and including TCK, which ISO 7816-3 §8.2.5 makes zero. */
static uint8_t atr_check_xor(const uint8_t *atr, size_t len)
{
	struct cursor c;
	uint8_t b, x = 0;

	cursor_init(&c, atr, len);
	cursor_skip(&c, 1);
	while (cursor_u8(&c, &b))
		x ^= b;
	return x;
}

int ifd_atr_parse(const uint8_t *atr, size_t len, struct ifd_atr *out)
{
	struct cursor c;
	struct group_state g = { .index = 1, .protocol = 0 };
	const uint8_t *historical;
	uint8_t ts, t0, y, k, tck;
	bool other_than_t0 = false;

	if (!out || (!atr && len))
		return IFD_ATR_ERR_INVALID_ARGUMENT;
	if (len > IFD_ATR_MAX)
		return IFD_ATR_ERR_TOO_LONG;
	if (len < 2)
		return IFD_ATR_ERR_TOO_SHORT;

	set_defaults(out);
	cursor_init(&c, atr, len);
	if (!cursor_copy(&c, out->raw, len))
		return IFD_ATR_ERR_INVALID_ARGUMENT;
	out->raw_len = len;

	cursor_init(&c, out->raw, out->raw_len);
	cursor_u8(&c, &ts);
	if (ts == ATR_TS_DIRECT)
		out->convention = IFD_CONVENTION_DIRECT;
	else if (ts == ATR_TS_INVERSE)
		out->convention = IFD_CONVENTION_INVERSE;
	else
		return IFD_ATR_ERR_BAD_TS;

	cursor_u8(&c, &t0);
	y = t0 >> 4;
	k = t0 & 0x0F;

	/* The loop ends because each TD consumes a byte and c is bounded. */
	for (;;) {
		uint8_t ta, tb, tc, td;

		if (y & 0x1) {
			if (!cursor_u8(&c, &ta))
				return IFD_ATR_ERR_TRUNCATED_INTERFACE;
			take_ta(out, &g, ta);
		}
		if (y & 0x2) {
			if (!cursor_u8(&c, &tb))
				return IFD_ATR_ERR_TRUNCATED_INTERFACE;
			take_tb(out, &g, tb);
		}
		if (y & 0x4) {
			if (!cursor_u8(&c, &tc))
				return IFD_ATR_ERR_TRUNCATED_INTERFACE;
			take_tc(out, &g, tc);
		}
		if (!(y & 0x8))
			break;
		if (!cursor_u8(&c, &td))
			return IFD_ATR_ERR_TRUNCATED_INTERFACE;
		if (g.index == 1)
			out->first_protocol = td & 0x0F;
		out->protocols |= (uint16_t)(1u << (td & 0x0F));
		if ((td & 0x0F) != 0)
			other_than_t0 = true;
		y = td >> 4;
		g.protocol = td & 0x0F;
		g.index++;
	}
	/* Without TD1 the card speaks T=0 only (§8.2.3). */
	if (!out->protocols)
		out->protocols = IFD_PROTOCOL_T0;

	out->historical_offset = out->raw_len - cursor_remaining(&c);
	if (!cursor_bytes(&c, k, &historical))
		return IFD_ATR_ERR_TRUNCATED_HISTORICAL;
	out->historical_len = k;

	/*
	 * §8.2.5: TCK is absent when only T=0 is indicated and present in
	 * all other cases, T=15 included. Many T=0-only cards send one
	 * anyway; one extra byte that checks as a TCK is taken as one, and
	 * anything else after the historical bytes is refused as trailing.
	 */
	if (other_than_t0) {
		if (!cursor_u8(&c, &tck))
			return IFD_ATR_ERR_TCK_MISSING;
		out->tck_present = true;
		if (atr_check_xor(out->raw, out->raw_len - cursor_remaining(&c)))
			return IFD_ATR_ERR_TCK_WRONG;
		out->tck_valid = true;
	} else if (cursor_remaining(&c) == 1 && atr_check_xor(out->raw, out->raw_len) == 0) {
		cursor_skip(&c, 1);
		out->tck_present = true;
		out->tck_valid = true;
	}
	if (!cursor_done(&c))
		return IFD_ATR_ERR_TRAILING;

	/* Checked last so that a corrupted ATR reports its TCK, not its TA1. */
	if (!fi_table[out->fi_index])
		return IFD_ATR_ERR_FI_RFU;
	if (!di_table[out->di_index])
		return IFD_ATR_ERR_DI_RFU;
	out->fi = fi_table[out->fi_index];
	out->f_max_khz = f_max_khz_table[out->fi_index];
	out->di = di_table[out->di_index];
	return IFD_ATR_OK;
}

bool ifd_atr_needs_pps(const struct ifd_atr *atr)
{
	/*
	 * In specific mode (TA2) the card already runs at TA1's rate or an
	 * implicit one and accepts no PPS; in negotiable mode it starts at
	 * Fd/Dd and only a PPS moves it to what TA1 offers. TA1 = 01 still
	 * means 372/1, so the values are compared, not the byte.
	 */
	if (!atr || !atr->ta1_present || atr->specific_mode)
		return false;
	return atr->fi != 372 || atr->di != 1;
}

static bool ta1_is_defined(uint8_t ta1)
{
	return fi_table[ta1 >> 4] && di_table[ta1 & 0x0F];
}

size_t ifd_pps_build(uint8_t protocol, uint8_t ta1_or_0, uint8_t out[IFD_PPS_MAX])
{
	struct writer w;
	uint8_t pps0;

	/* T=15 is not a protocol one can select, and a reserved TA1 is
	 * nothing a card could agree to. */
	if (!out || protocol > 14)
		return 0;
	if (ta1_or_0 && !ta1_is_defined(ta1_or_0))
		return 0;

	pps0 = protocol | (ta1_or_0 ? PPS0_PPS1 : 0);
	writer_init(&w, out, IFD_PPS_MAX);
	writer_u8(&w, PPS_PPSS);
	writer_u8(&w, pps0);
	if (ta1_or_0)
		writer_u8(&w, ta1_or_0);
	writer_u8(&w, (uint8_t)(PPS_PPSS ^ pps0 ^ ta1_or_0));
	return writer_ok(&w) ? w.len : 0;
}

struct pps_fields {
	uint8_t pps0;
	bool has_pps1, has_pps2, has_pps3;
	uint8_t pps1, pps2, pps3;
};

/* Decode one PPS; malformed is the error to report for a bad structure. */
static int pps_decode(const uint8_t *buf, size_t len, struct pps_fields *p,
		      int malformed)
{
	struct cursor c;
	uint8_t ppss, pck, x;

	memset(p, 0, sizeof(*p));
	cursor_init(&c, buf, len);
	if (!cursor_u8(&c, &ppss) || ppss != PPS_PPSS)
		return malformed;
	if (!cursor_u8(&c, &p->pps0) || (p->pps0 & PPS0_RESERVED))
		return malformed;
	x = ppss ^ p->pps0;
	if (p->pps0 & PPS0_PPS1) {
		p->has_pps1 = cursor_u8(&c, &p->pps1);
		x ^= p->pps1;
	}
	if (p->pps0 & PPS0_PPS2) {
		p->has_pps2 = cursor_u8(&c, &p->pps2);
		x ^= p->pps2;
	}
	if (p->pps0 & PPS0_PPS3) {
		p->has_pps3 = cursor_u8(&c, &p->pps3);
		x ^= p->pps3;
	}
	/* The cursor is sticky: one test covers every read above. */
	if (!cursor_u8(&c, &pck) || !cursor_done(&c))
		return malformed;
	if (x != pck)
		return IFD_PPS_ERR_PCK_WRONG;
	return IFD_ATR_OK;
}

/*
 * §9.3: each of PPS1..PPS3 in the response is either the request's own
 * byte echoed or absent (falling back to the default); the card may never
 * add one that was not asked for.
 */
static bool pps_byte_accepted(bool req_has, uint8_t req_val,
			      bool rsp_has, uint8_t rsp_val)
{
	if (!rsp_has)
		return true;
	return req_has && req_val == rsp_val;
}

int ifd_pps_check_response(const uint8_t *req, size_t req_len,
			   const uint8_t *rsp, size_t rsp_len,
			   uint8_t *protocol, uint8_t *ta1)
{
	struct pps_fields q, r;
	int err;

	if (!protocol || !ta1 || (!req && req_len) || (!rsp && rsp_len))
		return IFD_ATR_ERR_INVALID_ARGUMENT;

	/* The request is ours, so any fault in it is the caller's. */
	if (pps_decode(req, req_len, &q, IFD_PPS_ERR_MALFORMED_REQUEST))
		return IFD_PPS_ERR_MALFORMED_REQUEST;
	err = pps_decode(rsp, rsp_len, &r, IFD_PPS_ERR_MALFORMED_RESPONSE);
	if (err)
		return err;

	if ((r.pps0 & 0x0F) != (q.pps0 & 0x0F))
		return IFD_PPS_ERR_PROTOCOL_MISMATCH;
	if (!pps_byte_accepted(q.has_pps1, q.pps1, r.has_pps1, r.pps1) ||
	    !pps_byte_accepted(q.has_pps2, q.pps2, r.has_pps2, r.pps2) ||
	    !pps_byte_accepted(q.has_pps3, q.pps3, r.has_pps3, r.pps3))
		return IFD_PPS_ERR_PARAMETER_MISMATCH;

	*protocol = r.pps0 & 0x0F;
	*ta1 = r.has_pps1 ? r.pps1 : TA1_DEFAULT;
	return IFD_ATR_OK;
}
