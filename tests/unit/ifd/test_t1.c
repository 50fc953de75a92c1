/*
 * test_t1.c - T=1 (ISO/IEC 7816-3 §11): the terminal's engine of ifd/t1.c,
 * and the card's side of ccid-sim/t1_card.c (the block codec has its own
 * tests, in codec/test_t1_block.c).
 *
 * The engine talks to a scripted card: a list of the exact blocks it must
 * send, each with the card's answer, for every rule it implements
 * (chaining both ways, WTX, IFS, ABORT, and the error recovery of §11.6
 * down to resynchronisation). Then the engine talks to the card's side
 * through a wire that damages the k-th block for every k in turn (changed
 * byte, flipped bit, truncated, lost), alone and in bursts: each run must
 * end with exactly the right response and the command run once, or fail
 * with a T1_ERR_* having run it at most once, and the next exchange must
 * work.
 */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hex.h"
#include "log.h"
#include "t1.h"
#include "t1_card.h"

#define LRC IFD_T1_EDC_LRC
#define CRC IFD_T1_EDC_CRC

#define PCB_I(ns, more) \
	((uint8_t)(T1_I_BLOCK | ((ns) ? T1_I_NS : 0) | ((more) ? T1_I_MORE : 0)))
#define PCB_R(nr, err) ((uint8_t)(T1_R_BLOCK | ((nr) ? T1_R_NR : 0) | (err)))
#define PCB_S_REQ(type) ((uint8_t)(T1_S_BLOCK | (type)))
#define PCB_S_RSP(type) ((uint8_t)(T1_S_BLOCK | T1_S_RESPONSE | (type)))
#define EDC_ERR T1_R_EDC_ERROR
#define OTHER_ERR T1_R_OTHER_ERROR

/* A value an xfr of the driver would return for "reader gone". */
#define FATAL_GONE (-101)

/* ---- helpers ---- */

static void fill_pattern(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 7 + (i >> 3));
}


/* ---- the engine against a scripted card ---- */

#define SCRIPT_MAX 48

struct step {
	uint8_t expect[T1_MAX_BLOCK];	/* the block the engine must send */
	size_t expect_len;
	uint8_t expect_wtx;		/* and the multiplier it must pass */
	int rc;				/* what xfr returns */
	uint8_t answer[T1_MAX_BLOCK];	/* the card's block when rc is 0 */
	size_t answer_len;
};

struct script {
	enum ifd_t1_edc edc;
	size_t n, pos;
	struct step steps[SCRIPT_MAX];
};

static struct script *script_new(enum ifd_t1_edc edc)
{
	struct script *s = calloc(1, sizeof(*s));

	cr_assert_not_null(s);
	s->edc = edc;
	return s;
}

/* The engine must send this block next... */
static void expect_block(struct script *s, uint8_t pcb, const void *inf, size_t len)
{
	cr_assert_lt(s->n, SCRIPT_MAX, "script too long");
	struct step *st = &s->steps[s->n++];

	st->expect_len = t1_block_build(0, pcb, inf, len, s->edc, st->expect);
	cr_assert_gt(st->expect_len, 0);
}

/* ...passing this WTX multiplier... */
static void with_wtx(struct script *s, uint8_t wtx)
{
	s->steps[s->n - 1].expect_wtx = wtx;
}

/* ...and the card answers with this block, */
static void card_says(struct script *s, uint8_t pcb, const void *inf, size_t len)
{
	struct step *st = &s->steps[s->n - 1];

	st->answer_len = t1_block_build(0, pcb, inf, len, s->edc, st->answer);
	cr_assert_gt(st->answer_len, 0);
}

/* ...or with it damaged (its last EDC byte changed), */
static void card_garbles(struct script *s, uint8_t pcb, const void *inf, size_t len)
{
	struct step *st = &s->steps[s->n - 1];

	card_says(s, pcb, inf, len);
	st->answer[st->answer_len - 1] ^= 0x5A;
}

/* ...or xfr reports this (T1_XFR_TIMEOUT, T1_XFR_INVALID, fatal). */
static void card_fails(struct script *s, int rc)
{
	s->steps[s->n - 1].rc = rc;
}

static int script_xfr(void *arg, const uint8_t *block, size_t len, uint8_t *rsp, size_t cap,
		      size_t *rsp_len, uint8_t wtx)
{
	struct script *s = arg;
	char sent[2 * T1_MAX_BLOCK + 1];

	hex_encode(block, len, sent);
	cr_assert_lt(s->pos, s->n, "the engine sent %s after the script's end", sent);
	const struct step *st = &s->steps[s->pos++];
	char want[2 * T1_MAX_BLOCK + 1];
	hex_encode(st->expect, st->expect_len, want);
	cr_assert(len == st->expect_len && memcmp(block, st->expect, len) == 0,
		  "step %zu: expected %s, the engine sent %s", s->pos, want, sent);
	cr_assert_eq(wtx, st->expect_wtx, "step %zu: WTX %u, expected %u", s->pos, wtx,
		     st->expect_wtx);
	if (st->rc)
		return st->rc;
	cr_assert_leq(st->answer_len, cap);
	memcpy(rsp, st->answer, st->answer_len);
	*rsp_len = st->answer_len;
	return 0;
}

static void script_done(struct script *s)
{
	cr_expect_eq(s->pos, s->n, "the engine stopped after %zu of %zu blocks", s->pos, s->n);
	free(s);
}

static void engine_on(struct ifd_t1 *t, struct script *s, size_t ifsc)
{
	ifd_t1_init(t, ifsc, s->edc, script_xfr, s, NULL);
}

static const uint8_t select_mf[] = { 0x00, 0xA4, 0x00, 0x00, 0x02, 0x3F, 0x00 };
static const uint8_t sw_ok[] = { 0x90, 0x00 };

/* -- error-free operation -- */

Test(t1_engine, init_takes_the_atr_values)
{
	struct ifd_t1 t;
	int dummy;

	ifd_t1_init(&t, 254, CRC, script_xfr, &dummy, NULL);
	cr_expect_eq(t.ifsc, 254);
	cr_expect_eq(t.ifsd, 32);
	cr_expect_eq(t.edc, CRC);
	cr_expect_eq(t.ns, 0);
	cr_expect_eq(t.nr, 0);
	cr_expect_eq(t.nad, 0);
	cr_expect_eq(t.max_retries, 3);
	cr_expect_eq(t.stats.blocks_sent, 0);
	/* Reserved IFSC values fall back to the default. */
	ifd_t1_init(&t, 0, LRC, script_xfr, &dummy, NULL);
	cr_expect_eq(t.ifsc, 32);
	ifd_t1_init(&t, 255, LRC, script_xfr, &dummy, NULL);
	cr_expect_eq(t.ifsc, 32);
}

Test(t1_engine, short_apdu_then_the_next_with_toggled_sequence_numbers)
{
	struct script *s = script_new(LRC);
	const uint8_t read[] = { 0x00, 0xB0, 0x00, 0x00, 0x04 };
	const uint8_t data[] = { 0x01, 0x02, 0x03, 0x04, 0x90, 0x00 };
	uint8_t rsp[64];
	size_t n;
	struct ifd_t1 t;

	expect_block(s, PCB_I(0, 0), select_mf, sizeof(select_mf));
	card_says(s, PCB_I(0, 0), sw_ok, 2);
	expect_block(s, PCB_I(1, 0), read, sizeof(read));
	card_says(s, PCB_I(1, 0), data, sizeof(data));
	engine_on(&t, s, 32);

	cr_assert_eq(ifd_t1_transceive(&t, select_mf, sizeof(select_mf), rsp, sizeof(rsp), &n), 0);
	cr_assert_eq(n, 2);
	cr_expect_eq(memcmp(rsp, sw_ok, 2), 0);
	cr_expect_eq(t.ns, 1);
	cr_expect_eq(t.nr, 1);
	cr_assert_eq(ifd_t1_transceive(&t, read, sizeof(read), rsp, sizeof(rsp), &n), 0);
	cr_assert_eq(n, sizeof(data));
	cr_expect_eq(memcmp(rsp, data, n), 0);
	cr_expect_eq(t.ns, 0);
	cr_expect_eq(t.nr, 0);
	cr_expect_eq(t.stats.blocks_sent, 2);
	cr_expect_eq(t.stats.retransmissions, 0);
	script_done(s);
}

Test(t1_engine, command_chained_over_ifsc)
{
	struct script *s = script_new(LRC);
	uint8_t apdu[40], rsp[8];
	size_t n;
	struct ifd_t1 t;

	fill_pattern(apdu, sizeof(apdu), 1);
	/* Rule 5: each chained block is acknowledged by R(N(S) of the next). */
	expect_block(s, PCB_I(0, 1), apdu, 16);
	card_says(s, PCB_R(1, 0), NULL, 0);
	expect_block(s, PCB_I(1, 1), apdu + 16, 16);
	card_says(s, PCB_R(0, 0), NULL, 0);
	expect_block(s, PCB_I(0, 0), apdu + 32, 8);
	card_says(s, PCB_I(0, 0), sw_ok, 2);
	engine_on(&t, s, 16);

	cr_assert_eq(ifd_t1_transceive(&t, apdu, sizeof(apdu), rsp, sizeof(rsp), &n), 0);
	cr_assert_eq(n, 2);
	cr_expect_eq(t.ns, 1);
	cr_expect_eq(t.nr, 1);
	cr_expect_eq(t.stats.blocks_sent, 3);
	script_done(s);
}

Test(t1_engine, command_of_exactly_two_ifsc_has_no_empty_tail)
{
	struct script *s = script_new(LRC);
	uint8_t apdu[32], rsp[8];
	size_t n;
	struct ifd_t1 t;

	fill_pattern(apdu, sizeof(apdu), 2);
	expect_block(s, PCB_I(0, 1), apdu, 16);
	card_says(s, PCB_R(1, 0), NULL, 0);
	expect_block(s, PCB_I(1, 0), apdu + 16, 16);
	card_says(s, PCB_I(0, 0), sw_ok, 2);
	engine_on(&t, s, 16);

	cr_assert_eq(ifd_t1_transceive(&t, apdu, sizeof(apdu), rsp, sizeof(rsp), &n), 0);
	script_done(s);
}

Test(t1_engine, response_chained_by_the_card)
{
	struct script *s = script_new(LRC);
	uint8_t data[74], rsp[128];
	size_t n;
	struct ifd_t1 t;

	fill_pattern(data, sizeof(data), 3);
	expect_block(s, PCB_I(0, 0), select_mf, sizeof(select_mf));
	card_says(s, PCB_I(0, 1), data, 32);
	expect_block(s, PCB_R(1, 0), NULL, 0);
	card_says(s, PCB_I(1, 1), data + 32, 32);
	expect_block(s, PCB_R(0, 0), NULL, 0);
	card_says(s, PCB_I(0, 0), data + 64, 10);
	engine_on(&t, s, 32);

	cr_assert_eq(ifd_t1_transceive(&t, select_mf, sizeof(select_mf), rsp, sizeof(rsp), &n), 0);
	cr_assert_eq(n, sizeof(data));
	cr_expect_eq(memcmp(rsp, data, n), 0);
	cr_expect_eq(t.ns, 1);
	cr_expect_eq(t.nr, 1);
	script_done(s);
}

Test(t1_engine, chained_both_ways)
{
	struct script *s = script_new(CRC);
	uint8_t apdu[20], data[37], rsp[64];
	size_t n;
	struct ifd_t1 t;

	fill_pattern(apdu, sizeof(apdu), 4);
	fill_pattern(data, sizeof(data), 5);
	expect_block(s, PCB_I(0, 1), apdu, 16);
	card_says(s, PCB_R(1, 0), NULL, 0);
	expect_block(s, PCB_I(1, 0), apdu + 16, 4);
	card_says(s, PCB_I(0, 1), data, 32);
	expect_block(s, PCB_R(1, 0), NULL, 0);
	card_says(s, PCB_I(1, 0), data + 32, 5);
	engine_on(&t, s, 16);

	cr_assert_eq(ifd_t1_transceive(&t, apdu, sizeof(apdu), rsp, sizeof(rsp), &n), 0);
	cr_assert_eq(n, sizeof(data));
	cr_expect_eq(memcmp(rsp, data, n), 0);
	cr_expect_eq(t.ns, 0);
	cr_expect_eq(t.nr, 0);
	script_done(s);
}

Test(t1_engine, wtx_multiplier_goes_to_the_next_xfr_only)
{
	struct script *s = script_new(LRC);
	const uint8_t five = 5;
	uint8_t rsp[8];
	size_t n;
	struct ifd_t1 t;

	expect_block(s, PCB_I(0, 0), select_mf, sizeof(select_mf));
	card_says(s, PCB_S_REQ(T1_S_WTX), &five, 1);
	/* Rule 3: the same INF back, and five times BWT for the answer. */
	expect_block(s, PCB_S_RSP(T1_S_WTX), &five, 1);
	with_wtx(s, 5);
	card_says(s, PCB_I(0, 0), sw_ok, 2);
	expect_block(s, PCB_I(1, 0), select_mf, sizeof(select_mf));
	with_wtx(s, 0);
	card_says(s, PCB_I(1, 0), sw_ok, 2);
	engine_on(&t, s, 32);

	cr_assert_eq(ifd_t1_transceive(&t, select_mf, sizeof(select_mf), rsp, sizeof(rsp), &n), 0);
	cr_assert_eq(ifd_t1_transceive(&t, select_mf, sizeof(select_mf), rsp, sizeof(rsp), &n), 0);
	cr_expect_eq(t.stats.wtx_requests, 1);
	cr_expect_eq(t.stats.retransmissions, 0);
	script_done(s);
}

Test(t1_engine, wtx_stays_in_force_over_a_timeout_until_a_block_comes)
{
	struct script *s = script_new(LRC);
	const uint8_t three = 3, two = 2;
	uint8_t rsp[8];
	size_t n;
	struct ifd_t1 t;

	expect_block(s, PCB_I(0, 0), select_mf, sizeof(select_mf));
	card_says(s, PCB_S_REQ(T1_S_WTX), &three, 1);
	expect_block(s, PCB_S_RSP(T1_S_WTX), &three, 1);
	with_wtx(s, 3);
	card_fails(s, T1_XFR_TIMEOUT);
	/* Nothing came: still the card's extended time. */
	expect_block(s, PCB_R(0, OTHER_ERR), NULL, 0);
	with_wtx(s, 3);
	card_says(s, PCB_S_REQ(T1_S_WTX), &two, 1);
	expect_block(s, PCB_S_RSP(T1_S_WTX), &two, 1);
	with_wtx(s, 2);
	card_garbles(s, PCB_I(0, 0), sw_ok, 2);
	/* A block came, if a bad one: the extension is over. */
	expect_block(s, PCB_R(0, EDC_ERR), NULL, 0);
	with_wtx(s, 0);
	card_says(s, PCB_I(0, 0), sw_ok, 2);
	engine_on(&t, s, 32);

	cr_assert_eq(ifd_t1_transceive(&t, select_mf, sizeof(select_mf), rsp, sizeof(rsp), &n), 0);
	cr_expect_eq(t.stats.wtx_requests, 2);
	cr_expect_eq(t.stats.retransmissions, 2);
	script_done(s);
}

Test(t1_engine, wtx_response_the_card_could_not_read_is_sent_again)
{
	struct script *s = script_new(LRC);
	const uint8_t four = 4;
	uint8_t rsp[8];
	size_t n;
	struct ifd_t1 t;

	expect_block(s, PCB_I(0, 0), select_mf, sizeof(select_mf));
	card_says(s, PCB_S_REQ(T1_S_WTX), &four, 1);
	expect_block(s, PCB_S_RSP(T1_S_WTX), &four, 1);
	with_wtx(s, 4);
	/* The card got our response damaged and asks again with an
	 * R-block (its N(R) is the N(S) it expects from us, 1). */
	card_says(s, PCB_R(1, EDC_ERR), NULL, 0);
	expect_block(s, PCB_S_RSP(T1_S_WTX), &four, 1);
	with_wtx(s, 4);
	card_says(s, PCB_I(0, 0), sw_ok, 2);
	engine_on(&t, s, 32);

	cr_assert_eq(ifd_t1_transceive(&t, select_mf, sizeof(select_mf), rsp, sizeof(rsp), &n), 0);
	cr_expect_eq(t.stats.retransmissions, 1);
	script_done(s);
}

Test(t1_engine, ifs_request_from_the_card_changes_the_rest_of_the_chain)
{
	struct script *s = script_new(LRC);
	const uint8_t ifs = 48;
	uint8_t apdu[60], rsp[8];
	size_t n;
	struct ifd_t1 t;

	fill_pattern(apdu, sizeof(apdu), 6);
	expect_block(s, PCB_I(0, 1), apdu, 16);
	card_says(s, PCB_S_REQ(T1_S_IFS), &ifs, 1);
	expect_block(s, PCB_S_RSP(T1_S_IFS), &ifs, 1);
	card_says(s, PCB_R(1, 0), NULL, 0);
	/* 44 bytes left, now within one block. */
	expect_block(s, PCB_I(1, 0), apdu + 16, 44);
	card_says(s, PCB_I(0, 0), sw_ok, 2);
	engine_on(&t, s, 16);

	cr_assert_eq(ifd_t1_transceive(&t, apdu, sizeof(apdu), rsp, sizeof(rsp), &n), 0);
	cr_expect_eq(t.ifsc, 48);
	cr_expect_eq(t.stats.ifs_requests, 1);
	script_done(s);
}

/* -- IFSD negotiation -- */

Test(t1_engine, ifsd_negotiation_then_longer_blocks_are_accepted)
{
	struct script *s = script_new(LRC);
	const uint8_t ifsd = 254;
	uint8_t data[200], rsp[256];
	size_t n;
	struct ifd_t1 t;

	fill_pattern(data, sizeof(data), 7);
	expect_block(s, PCB_S_REQ(T1_S_IFS), &ifsd, 1);
	card_says(s, PCB_S_RSP(T1_S_IFS), &ifsd, 1);
	expect_block(s, PCB_I(0, 0), select_mf, sizeof(select_mf));
	card_says(s, PCB_I(0, 0), data, sizeof(data));
	engine_on(&t, s, 32);

	cr_assert_eq(ifd_t1_negotiate_ifsd(&t, ifsd), 0);
	cr_expect_eq(t.ifsd, 254);
	cr_expect_eq(t.ns, 0, "S-blocks do not move the sequence numbers");
	cr_assert_eq(ifd_t1_transceive(&t, select_mf, sizeof(select_mf), rsp, sizeof(rsp), &n), 0);
	cr_expect_eq(n, sizeof(data));
	script_done(s);
}

Test(t1_engine, an_i_block_longer_than_ifsd_is_invalid)
{
	struct script *s = script_new(LRC);
	uint8_t data[33], rsp[64];
	size_t n;
	struct ifd_t1 t;

	fill_pattern(data, sizeof(data), 8);
	expect_block(s, PCB_I(0, 0), select_mf, sizeof(select_mf));
	card_says(s, PCB_I(0, 0), data, sizeof(data));
	expect_block(s, PCB_R(0, OTHER_ERR), NULL, 0);
	card_says(s, PCB_I(0, 0), sw_ok, 2);
	engine_on(&t, s, 32);

	cr_assert_eq(ifd_t1_transceive(&t, select_mf, sizeof(select_mf), rsp, sizeof(rsp), &n), 0);
	cr_expect_eq(n, 2);
	script_done(s);
}

Test(t1_engine, ifsd_negotiation_repeats_the_request_on_any_bad_answer)
{
	struct script *s = script_new(CRC);
	const uint8_t ifsd = 0x80, other = 0x40;
	struct ifd_t1 t;

	/* Rule 7.3: the S(request) again, never an R-block. */
	expect_block(s, PCB_S_REQ(T1_S_IFS), &ifsd, 1);
	card_garbles(s, PCB_S_RSP(T1_S_IFS), &ifsd, 1);
	expect_block(s, PCB_S_REQ(T1_S_IFS), &ifsd, 1);
	card_says(s, PCB_R(0, EDC_ERR), NULL, 0);
	expect_block(s, PCB_S_REQ(T1_S_IFS), &ifsd, 1);
	card_says(s, PCB_S_RSP(T1_S_IFS), &other, 1);
	expect_block(s, PCB_S_REQ(T1_S_IFS), &ifsd, 1);
	card_says(s, PCB_S_RSP(T1_S_IFS), &ifsd, 1);
	engine_on(&t, s, 32);

	cr_assert_eq(ifd_t1_negotiate_ifsd(&t, ifsd), 0);
	cr_expect_eq(t.ifsd, 0x80);
	cr_expect_eq(t.stats.retransmissions, 3);
	script_done(s);
}

Test(t1_engine, ifsd_negotiation_gives_up_through_resynch)
{
	struct script *s = script_new(LRC);
	const uint8_t ifsd = 254;
	struct ifd_t1 t;

	expect_block(s, PCB_S_REQ(T1_S_IFS), &ifsd, 1);
	card_fails(s, T1_XFR_TIMEOUT);
	for (int i = 0; i < 3; i++) {
		expect_block(s, PCB_S_REQ(T1_S_IFS), &ifsd, 1);
		card_fails(s, T1_XFR_INVALID);
	}
	expect_block(s, PCB_S_REQ(T1_S_RESYNCH), NULL, 0);
	card_says(s, PCB_S_RSP(T1_S_RESYNCH), NULL, 0);
	engine_on(&t, s, 32);

	cr_assert_eq(ifd_t1_negotiate_ifsd(&t, ifsd), T1_ERR_FAILED);
	cr_expect_eq(t.ifsd, 32);
	cr_expect_eq(t.stats.resyncs, 1);
	script_done(s);
}

/* -- error recovery, §11.6 -- */

Test(t1_engine, invalid_answer_to_an_i_block_gets_r_with_edc_error)
{
	struct script *s = script_new(LRC);
	uint8_t rsp[8];
	size_t n;
	struct ifd_t1 t;

	/* Rule 7.1: R(N(R)) asking for the I-block we expect, N(S) 0. */
	expect_block(s, PCB_I(0, 0), select_mf, sizeof(select_mf));
	card_garbles(s, PCB_I(0, 0), sw_ok, 2);
	expect_block(s, PCB_R(0, EDC_ERR), NULL, 0);
	card_says(s, PCB_I(0, 0), sw_ok, 2);
	engine_on(&t, s, 32);

	cr_assert_eq(ifd_t1_transceive(&t, select_mf, sizeof(select_mf), rsp, sizeof(rsp), &n), 0);
	cr_expect_eq(n, 2);
	cr_expect_eq(t.stats.retransmissions, 1);
	script_done(s);
}

Test(t1_engine, timeout_and_parity_error_get_their_own_error_bits)
{
	struct script *s = script_new(LRC);
	uint8_t rsp[8];
	size_t n;
	struct ifd_t1 t;

	/* The second command, so that N(R) is 1. */
	expect_block(s, PCB_I(0, 0), select_mf, sizeof(select_mf));
	card_says(s, PCB_I(0, 0), sw_ok, 2);
	expect_block(s, PCB_I(1, 0), select_mf, sizeof(select_mf));
	card_fails(s, T1_XFR_TIMEOUT);
	expect_block(s, PCB_R(1, OTHER_ERR), NULL, 0);
	card_fails(s, T1_XFR_INVALID);
	/* Rule 7.2: an R-block again, now with the parity error. */
	expect_block(s, PCB_R(1, EDC_ERR), NULL, 0);
	card_says(s, PCB_I(1, 0), sw_ok, 2);
	engine_on(&t, s, 32);

	cr_assert_eq(ifd_t1_transceive(&t, select_mf, sizeof(select_mf), rsp, sizeof(rsp), &n), 0);
	cr_assert_eq(ifd_t1_transceive(&t, select_mf, sizeof(select_mf), rsp, sizeof(rsp), &n), 0);
	cr_expect_eq(t.stats.retransmissions, 2);
	script_done(s);
}

Test(t1_engine, invalid_answer_to_an_r_block_gets_the_r_block_again)
{
	struct script *s = script_new(LRC);
	uint8_t data[40], rsp[64];
	size_t n;
	struct ifd_t1 t;

	fill_pattern(data, sizeof(data), 9);
	expect_block(s, PCB_I(0, 0), select_mf, sizeof(select_mf));
	card_says(s, PCB_I(0, 1), data, 32);
	expect_block(s, PCB_R(1, 0), NULL, 0);
	card_garbles(s, PCB_I(1, 0), data + 32, 8);
	/* Rule 7.2 with the same N(R): still block 1 wanted. */
	expect_block(s, PCB_R(1, EDC_ERR), NULL, 0);
	card_garbles(s, PCB_I(1, 0), data + 32, 8);
	expect_block(s, PCB_R(1, EDC_ERR), NULL, 0);
	card_says(s, PCB_I(1, 0), data + 32, 8);
	engine_on(&t, s, 32);

	cr_assert_eq(ifd_t1_transceive(&t, select_mf, sizeof(select_mf), rsp, sizeof(rsp), &n), 0);
	cr_assert_eq(n, sizeof(data));
	cr_expect_eq(memcmp(rsp, data, n), 0);
	cr_expect_eq(t.stats.retransmissions, 2);
	script_done(s);
}

Test(t1_engine, card_asking_for_our_i_block_gets_it_again)
{
	struct script *s = script_new(LRC);
	uint8_t apdu[20], rsp[8];
	size_t n;
	struct ifd_t1 t;

	fill_pattern(apdu, sizeof(apdu), 10);
	expect_block(s, PCB_I(0, 1), apdu, 16);
	card_says(s, PCB_R(0, EDC_ERR), NULL, 0);
	expect_block(s, PCB_I(0, 1), apdu, 16);
	card_says(s, PCB_R(1, 0), NULL, 0);
	expect_block(s, PCB_I(1, 0), apdu + 16, 4);
	card_says(s, PCB_R(1, OTHER_ERR), NULL, 0);
	expect_block(s, PCB_I(1, 0), apdu + 16, 4);
	card_says(s, PCB_I(0, 0), sw_ok, 2);
	engine_on(&t, s, 16);

	cr_assert_eq(ifd_t1_transceive(&t, apdu, sizeof(apdu), rsp, sizeof(rsp), &n), 0);
	cr_expect_eq(t.stats.retransmissions, 2);
	script_done(s);
}

Test(t1_engine, lost_acknowledgement_of_a_chained_block)
{
	struct script *s = script_new(LRC);
	uint8_t apdu[20], rsp[8];
	size_t n;
	struct ifd_t1 t;

	fill_pattern(apdu, sizeof(apdu), 11);
	expect_block(s, PCB_I(0, 1), apdu, 16);
	card_fails(s, T1_XFR_TIMEOUT);
	/* The card did take block 0: its repeated R(1) moves us on. */
	expect_block(s, PCB_R(0, OTHER_ERR), NULL, 0);
	card_says(s, PCB_R(1, 0), NULL, 0);
	expect_block(s, PCB_I(1, 0), apdu + 16, 4);
	card_says(s, PCB_I(0, 0), sw_ok, 2);
	engine_on(&t, s, 16);

	cr_assert_eq(ifd_t1_transceive(&t, apdu, sizeof(apdu), rsp, sizeof(rsp), &n), 0);
	cr_expect_eq(t.stats.retransmissions, 1);
	script_done(s);
}

Test(t1_engine, lost_acknowledgement_in_the_response_chain)
{
	struct script *s = script_new(LRC);
	uint8_t data[40], rsp[64];
	size_t n;
	struct ifd_t1 t;

	fill_pattern(data, sizeof(data), 12);
	expect_block(s, PCB_I(0, 0), select_mf, sizeof(select_mf));
	card_says(s, PCB_I(0, 1), data, 32);
	expect_block(s, PCB_R(1, 0), NULL, 0);
	/* The card could not read our R(1): it says so with its own
	 * R-block, and gets our last block again. */
	card_says(s, PCB_R(1, EDC_ERR), NULL, 0);
	expect_block(s, PCB_R(1, 0), NULL, 0);
	card_says(s, PCB_I(1, 0), data + 32, 8);
	engine_on(&t, s, 32);

	cr_assert_eq(ifd_t1_transceive(&t, select_mf, sizeof(select_mf), rsp, sizeof(rsp), &n), 0);
	cr_assert_eq(n, sizeof(data));
	cr_expect_eq(memcmp(rsp, data, n), 0);
	script_done(s);
}

Test(t1_engine, repeated_i_block_from_the_card_is_not_taken_twice)
{
	struct script *s = script_new(LRC);
	uint8_t data[40], rsp[64];
	size_t n;
	struct ifd_t1 t;

	fill_pattern(data, sizeof(data), 13);
	expect_block(s, PCB_I(0, 0), select_mf, sizeof(select_mf));
	card_says(s, PCB_I(0, 1), data, 32);
	expect_block(s, PCB_R(1, 0), NULL, 0);
	card_says(s, PCB_I(0, 1), data, 32);
	expect_block(s, PCB_R(1, OTHER_ERR), NULL, 0);
	card_says(s, PCB_I(1, 0), data + 32, 8);
	engine_on(&t, s, 32);

	cr_assert_eq(ifd_t1_transceive(&t, select_mf, sizeof(select_mf), rsp, sizeof(rsp), &n), 0);
	cr_assert_eq(n, sizeof(data));
	cr_expect_eq(memcmp(rsp, data, n), 0);
	script_done(s);
}

Test(t1_engine, r_block_acknowledging_an_unchained_block_gets_it_again)
{
	struct script *s = script_new(LRC);
	uint8_t rsp[8];
	size_t n;
	struct ifd_t1 t;

	expect_block(s, PCB_I(0, 0), select_mf, sizeof(select_mf));
	card_says(s, PCB_R(1, 0), NULL, 0);
	expect_block(s, PCB_I(0, 0), select_mf, sizeof(select_mf));
	card_says(s, PCB_I(0, 0), sw_ok, 2);
	engine_on(&t, s, 32);

	cr_assert_eq(ifd_t1_transceive(&t, select_mf, sizeof(select_mf), rsp, sizeof(rsp), &n), 0);
	script_done(s);
}

Test(t1_engine, protocol_errors_are_invalid_blocks)
{
	struct script *s = script_new(LRC);
	const uint8_t zero = 0, x = 0x20;
	uint8_t apdu[20], rsp[8];
	size_t n;
	struct ifd_t1 t;

	fill_pattern(apdu, sizeof(apdu), 14);
	engine_on(&t, s, 16);
	t.max_retries = 10;
	expect_block(s, PCB_I(0, 1), apdu, 16);
	/* An I-block where our chained block wants an R-block. */
	card_says(s, PCB_I(0, 0), sw_ok, 2);
	expect_block(s, PCB_R(0, OTHER_ERR), NULL, 0);
	/* Only the terminal asks for RESYNCH. */
	card_says(s, PCB_S_REQ(T1_S_RESYNCH), NULL, 0);
	expect_block(s, PCB_R(0, OTHER_ERR), NULL, 0);
	/* A response to a request never made. */
	card_says(s, PCB_S_RSP(T1_S_IFS), &x, 1);
	expect_block(s, PCB_R(0, OTHER_ERR), NULL, 0);
	/* IFS 0 is reserved. */
	card_says(s, PCB_S_REQ(T1_S_IFS), &zero, 1);
	expect_block(s, PCB_R(0, OTHER_ERR), NULL, 0);
	/* An R-block has no INF; an S(WTX) has one byte; type 4 is not ours. */
	card_says(s, PCB_R(1, 0), &x, 1);
	expect_block(s, PCB_R(0, OTHER_ERR), NULL, 0);
	card_says(s, PCB_S_REQ(T1_S_WTX), NULL, 0);
	expect_block(s, PCB_R(0, OTHER_ERR), NULL, 0);
	card_says(s, PCB_S_REQ(0x04), NULL, 0);
	expect_block(s, PCB_R(0, OTHER_ERR), NULL, 0);
	card_says(s, PCB_R(1, 0), NULL, 0);
	expect_block(s, PCB_I(1, 0), apdu + 16, 4);
	card_says(s, PCB_I(0, 0), sw_ok, 2);

	cr_assert_eq(ifd_t1_transceive(&t, apdu, sizeof(apdu), rsp, sizeof(rsp), &n), 0);
	cr_expect_eq(t.stats.retransmissions, 7);
	script_done(s);
}

Test(t1_engine, retry_limit_leads_to_resynch_and_failure)
{
	struct script *s = script_new(LRC);
	uint8_t rsp[8];
	size_t n;
	struct ifd_t1 t;

	/* One command first so that the sequence numbers are not 0. */
	expect_block(s, PCB_I(0, 0), select_mf, sizeof(select_mf));
	card_says(s, PCB_I(0, 0), sw_ok, 2);
	expect_block(s, PCB_I(1, 0), select_mf, sizeof(select_mf));
	card_garbles(s, PCB_I(1, 0), sw_ok, 2);
	/* max_retries (3) R-blocks, then the fourth error ends it. */
	for (int i = 0; i < 3; i++) {
		expect_block(s, PCB_R(1, EDC_ERR), NULL, 0);
		card_garbles(s, PCB_I(1, 0), sw_ok, 2);
	}
	expect_block(s, PCB_S_REQ(T1_S_RESYNCH), NULL, 0);
	card_says(s, PCB_S_RSP(T1_S_RESYNCH), NULL, 0);
	/* The next command starts from N(S) 0. */
	expect_block(s, PCB_I(0, 0), select_mf, sizeof(select_mf));
	card_says(s, PCB_I(0, 0), sw_ok, 2);
	engine_on(&t, s, 32);

	cr_assert_eq(ifd_t1_transceive(&t, select_mf, sizeof(select_mf), rsp, sizeof(rsp), &n), 0);
	cr_assert_eq(ifd_t1_transceive(&t, select_mf, sizeof(select_mf), rsp, sizeof(rsp), &n),
		     T1_ERR_FAILED);
	cr_expect_eq(t.ns, 0);
	cr_expect_eq(t.nr, 0);
	cr_expect_eq(t.stats.retransmissions, 3);
	cr_expect_eq(t.stats.resyncs, 1);
	cr_assert_eq(ifd_t1_transceive(&t, select_mf, sizeof(select_mf), rsp, sizeof(rsp), &n), 0);
	cr_expect_eq(t.stats.blocks_sent, 7);
	script_done(s);
}

Test(t1_engine, retransmission_count_applies_to_the_card_asking_again)
{
	struct script *s = script_new(LRC);
	uint8_t rsp[8];
	size_t n;
	struct ifd_t1 t;

	/* A card that keeps asking for our block: the original, two
	 * retransmissions (max_retries 2), then RESYNCH. */
	expect_block(s, PCB_I(0, 0), select_mf, sizeof(select_mf));
	card_says(s, PCB_R(0, EDC_ERR), NULL, 0);
	for (int i = 0; i < 2; i++) {
		expect_block(s, PCB_I(0, 0), select_mf, sizeof(select_mf));
		card_says(s, PCB_R(0, EDC_ERR), NULL, 0);
	}
	expect_block(s, PCB_S_REQ(T1_S_RESYNCH), NULL, 0);
	card_says(s, PCB_S_RSP(T1_S_RESYNCH), NULL, 0);
	engine_on(&t, s, 32);
	t.max_retries = 2;

	cr_assert_eq(ifd_t1_transceive(&t, select_mf, sizeof(select_mf), rsp, sizeof(rsp), &n),
		     T1_ERR_FAILED);
	cr_expect_eq(t.stats.retransmissions, 2);
	script_done(s);
}

Test(t1_engine, resynch_succeeds_on_its_third_attempt)
{
	struct script *s = script_new(CRC);
	uint8_t rsp[8];
	size_t n;
	struct ifd_t1 t;

	engine_on(&t, s, 32);
	t.max_retries = 0;
	expect_block(s, PCB_I(0, 0), select_mf, sizeof(select_mf));
	card_fails(s, T1_XFR_TIMEOUT);
	expect_block(s, PCB_S_REQ(T1_S_RESYNCH), NULL, 0);
	card_fails(s, T1_XFR_TIMEOUT);
	expect_block(s, PCB_S_REQ(T1_S_RESYNCH), NULL, 0);
	/* Anything but S(RESYNCH response) is a failed attempt. */
	card_says(s, PCB_R(0, 0), NULL, 0);
	expect_block(s, PCB_S_REQ(T1_S_RESYNCH), NULL, 0);
	card_says(s, PCB_S_RSP(T1_S_RESYNCH), NULL, 0);

	cr_assert_eq(ifd_t1_transceive(&t, select_mf, sizeof(select_mf), rsp, sizeof(rsp), &n),
		     T1_ERR_FAILED);
	cr_expect_eq(t.stats.resyncs, 1);
	script_done(s);
}

Test(t1_engine, resynch_failure_is_dead)
{
	struct script *s = script_new(LRC);
	uint8_t rsp[8];
	size_t n;
	struct ifd_t1 t;

	engine_on(&t, s, 32);
	t.max_retries = 1;
	expect_block(s, PCB_I(0, 0), select_mf, sizeof(select_mf));
	card_fails(s, T1_XFR_TIMEOUT);
	expect_block(s, PCB_R(0, OTHER_ERR), NULL, 0);
	card_fails(s, T1_XFR_TIMEOUT);
	expect_block(s, PCB_S_REQ(T1_S_RESYNCH), NULL, 0);
	card_fails(s, T1_XFR_TIMEOUT);
	expect_block(s, PCB_S_REQ(T1_S_RESYNCH), NULL, 0);
	card_garbles(s, PCB_S_RSP(T1_S_RESYNCH), NULL, 0);
	expect_block(s, PCB_S_REQ(T1_S_RESYNCH), NULL, 0);
	card_fails(s, T1_XFR_INVALID);

	cr_assert_eq(ifd_t1_transceive(&t, select_mf, sizeof(select_mf), rsp, sizeof(rsp), &n),
		     T1_ERR_DEAD);
	script_done(s);
}

Test(t1_engine, resync_on_its_own)
{
	struct script *s = script_new(LRC);
	struct ifd_t1 t;

	expect_block(s, PCB_S_REQ(T1_S_RESYNCH), NULL, 0);
	card_says(s, PCB_S_RSP(T1_S_RESYNCH), NULL, 0);
	expect_block(s, PCB_S_REQ(T1_S_RESYNCH), NULL, 0);
	card_fails(s, T1_XFR_TIMEOUT);
	expect_block(s, PCB_S_REQ(T1_S_RESYNCH), NULL, 0);
	card_fails(s, T1_XFR_TIMEOUT);
	expect_block(s, PCB_S_REQ(T1_S_RESYNCH), NULL, 0);
	card_fails(s, T1_XFR_TIMEOUT);
	engine_on(&t, s, 32);
	t.ns = 1;
	t.nr = 1;

	cr_assert_eq(ifd_t1_resync(&t), 0);
	cr_expect_eq(t.ns, 0);
	cr_expect_eq(t.nr, 0);
	cr_assert_eq(ifd_t1_resync(&t), T1_ERR_DEAD);
	cr_expect_eq(t.stats.resyncs, 2);
	script_done(s);
}

Test(t1_engine, card_aborts_our_chain)
{
	struct script *s = script_new(LRC);
	uint8_t apdu[40], rsp[8];
	size_t n;
	struct ifd_t1 t;

	fill_pattern(apdu, sizeof(apdu), 15);
	expect_block(s, PCB_I(0, 1), apdu, 16);
	card_says(s, PCB_R(1, 0), NULL, 0);
	expect_block(s, PCB_I(1, 1), apdu + 16, 16);
	card_says(s, PCB_S_REQ(T1_S_ABORT), NULL, 0);
	/* Rule 9: S(ABORT response); the card's R-block gives the turn
	 * back and says which N(S) it wants next. */
	expect_block(s, PCB_S_RSP(T1_S_ABORT), NULL, 0);
	/* The card did not get it and asks again: a retry. */
	card_says(s, PCB_S_REQ(T1_S_ABORT), NULL, 0);
	expect_block(s, PCB_S_RSP(T1_S_ABORT), NULL, 0);
	card_says(s, PCB_R(0, 0), NULL, 0);
	expect_block(s, PCB_I(0, 0), select_mf, sizeof(select_mf));
	card_says(s, PCB_I(0, 0), sw_ok, 2);
	engine_on(&t, s, 16);

	cr_assert_eq(ifd_t1_transceive(&t, apdu, sizeof(apdu), rsp, sizeof(rsp), &n),
		     T1_ERR_ABORTED);
	cr_expect_eq(t.ns, 0);
	cr_expect_eq(t.stats.retransmissions, 1);
	cr_assert_eq(ifd_t1_transceive(&t, select_mf, sizeof(select_mf), rsp, sizeof(rsp), &n), 0);
	script_done(s);
}

Test(t1_engine, card_aborts_its_response_chain)
{
	struct script *s = script_new(LRC);
	uint8_t data[32], rsp[64];
	size_t n;
	struct ifd_t1 t;

	fill_pattern(data, sizeof(data), 16);
	expect_block(s, PCB_I(0, 0), select_mf, sizeof(select_mf));
	card_says(s, PCB_I(0, 1), data, 32);
	expect_block(s, PCB_R(1, 0), NULL, 0);
	card_says(s, PCB_S_REQ(T1_S_ABORT), NULL, 0);
	expect_block(s, PCB_S_RSP(T1_S_ABORT), NULL, 0);
	/* Silence after our response: the turn is ours anyway. */
	card_fails(s, T1_XFR_TIMEOUT);
	engine_on(&t, s, 32);

	cr_assert_eq(ifd_t1_transceive(&t, select_mf, sizeof(select_mf), rsp, sizeof(rsp), &n),
		     T1_ERR_ABORTED);
	cr_expect_eq(t.ns, 1);
	cr_expect_eq(t.nr, 1);
	script_done(s);
}

Test(t1_engine, fatal_xfr_errors_pass_through_unchanged)
{
	struct script *s = script_new(LRC);
	uint8_t rsp[8];
	size_t n;
	struct ifd_t1 t;

	expect_block(s, PCB_I(0, 0), select_mf, sizeof(select_mf));
	card_fails(s, FATAL_GONE);
	expect_block(s, PCB_S_REQ(T1_S_IFS), (const uint8_t[]){ 0xFE }, 1);
	card_fails(s, -200);
	expect_block(s, PCB_S_REQ(T1_S_RESYNCH), NULL, 0);
	card_fails(s, FATAL_GONE);
	engine_on(&t, s, 32);

	cr_assert_eq(ifd_t1_transceive(&t, select_mf, sizeof(select_mf), rsp, sizeof(rsp), &n),
		     FATAL_GONE);
	cr_assert_eq(ifd_t1_negotiate_ifsd(&t, 0xFE), -200);
	cr_assert_eq(ifd_t1_resync(&t), FATAL_GONE);
	script_done(s);
}

Test(t1_engine, response_too_long_keeps_both_ends_in_step)
{
	struct script *s = script_new(LRC);
	uint8_t data[52], rsp[40];
	size_t n;
	struct ifd_t1 t;

	fill_pattern(data, sizeof(data), 17);
	expect_block(s, PCB_I(0, 0), select_mf, sizeof(select_mf));
	card_says(s, PCB_I(0, 1), data, 32);
	expect_block(s, PCB_R(1, 0), NULL, 0);
	/* Past the 40 bytes: dropped, but still acknowledged to the end. */
	card_says(s, PCB_I(1, 1), data + 32, 10);
	expect_block(s, PCB_R(0, 0), NULL, 0);
	card_says(s, PCB_I(0, 0), data + 42, 10);
	expect_block(s, PCB_I(1, 0), select_mf, sizeof(select_mf));
	card_says(s, PCB_I(1, 0), sw_ok, 2);
	engine_on(&t, s, 32);

	cr_assert_eq(ifd_t1_transceive(&t, select_mf, sizeof(select_mf), rsp, sizeof(rsp), &n),
		     T1_ERR_RESPONSE_TOO_LONG);
	cr_expect_leq(n, sizeof(rsp));
	cr_assert_eq(ifd_t1_transceive(&t, select_mf, sizeof(select_mf), rsp, sizeof(rsp), &n), 0);
	cr_expect_eq(n, 2);
	script_done(s);
}

Test(t1_engine, crc_exchange_blocks_are_exact)
{
	struct script *s = script_new(CRC);
	uint8_t rsp[8];
	size_t n;
	struct ifd_t1 t;

	expect_block(s, PCB_I(0, 0), select_mf, sizeof(select_mf));
	card_garbles(s, PCB_I(0, 0), sw_ok, 2);
	expect_block(s, PCB_R(0, EDC_ERR), NULL, 0);
	card_says(s, PCB_I(0, 0), sw_ok, 2);
	engine_on(&t, s, 32);

	/* The R-block the script expects, by hand rather than from the
	 * codec: 00 81 00, FCS 53D8 sent low byte first. */
	const uint8_t r0_edc[] = { 0x00, 0x81, 0x00, 0xD8, 0x53 };
	cr_assert_eq(s->steps[1].expect_len, sizeof(r0_edc));
	cr_assert_eq(memcmp(s->steps[1].expect, r0_edc, sizeof(r0_edc)), 0);
	cr_assert_eq(ifd_t1_transceive(&t, select_mf, sizeof(select_mf), rsp, sizeof(rsp), &n), 0);
	script_done(s);
}

Test(t1_engine, invalid_arguments)
{
	struct script *s = script_new(LRC);
	uint8_t rsp[8];
	size_t n;
	struct ifd_t1 t;

	engine_on(&t, s, 32);
	cr_expect_eq(ifd_t1_transceive(NULL, select_mf, 7, rsp, 8, &n), T1_ERR_INVALID_ARGUMENT);
	cr_expect_eq(ifd_t1_transceive(&t, NULL, 7, rsp, 8, &n), T1_ERR_INVALID_ARGUMENT);
	cr_expect_eq(ifd_t1_transceive(&t, select_mf, 0, rsp, 8, &n), T1_ERR_INVALID_ARGUMENT);
	cr_expect_eq(ifd_t1_transceive(&t, select_mf, 7, NULL, 8, &n), T1_ERR_INVALID_ARGUMENT);
	cr_expect_eq(ifd_t1_transceive(&t, select_mf, 7, rsp, 8, NULL), T1_ERR_INVALID_ARGUMENT);
	cr_expect_eq(ifd_t1_negotiate_ifsd(&t, 0), T1_ERR_INVALID_ARGUMENT);
	cr_expect_eq(ifd_t1_negotiate_ifsd(&t, 255), T1_ERR_INVALID_ARGUMENT);
	cr_expect_eq(ifd_t1_resync(NULL), T1_ERR_INVALID_ARGUMENT);
	t.ifsc = 0;
	cr_expect_eq(ifd_t1_transceive(&t, select_mf, 7, rsp, 8, &n), T1_ERR_INVALID_ARGUMENT);
	t.ifsc = 32;
	t.xfr = NULL;
	cr_expect_eq(ifd_t1_transceive(&t, select_mf, 7, rsp, 8, &n), T1_ERR_INVALID_ARGUMENT);
	cr_expect_eq(t.stats.blocks_sent, 0);
	script_done(s);
}

struct log_capture {
	unsigned lines;
	size_t longest;
	bool saw_header;
	bool saw_payload;
};

static void capture_emit(void *arg, enum log_level level, const char *msg)
{
	struct log_capture *c = arg;
	size_t len = strlen(msg);

	cr_expect_eq(level, LOG_DEBUG);
	c->lines++;
	if (len > c->longest)
		c->longest = len;
	if (strstr(msg, "I(0) LEN 7"))
		c->saw_header = true;
	if (strstr(msg, "A4") || strstr(msg, "3F00") || strstr(msg, "9000"))
		c->saw_payload = true;
}

Test(t1_engine, debug_log_shows_block_headers_only)
{
	struct script *s = script_new(LRC);
	struct log_capture cap = { 0 };
	struct logger lg = { LOG_DEBUG, capture_emit, &cap, "test" };
	uint8_t rsp[8];
	size_t n;
	struct ifd_t1 t;

	expect_block(s, PCB_I(0, 0), select_mf, sizeof(select_mf));
	card_garbles(s, PCB_I(0, 0), sw_ok, 2);
	expect_block(s, PCB_R(0, EDC_ERR), NULL, 0);
	card_says(s, PCB_I(0, 0), sw_ok, 2);
	ifd_t1_init(&t, 32, LRC, script_xfr, s, &lg);

	cr_assert_eq(ifd_t1_transceive(&t, select_mf, sizeof(select_mf), rsp, sizeof(rsp), &n), 0);
	cr_expect_geq(cap.lines, 4);
	cr_expect(cap.saw_header);
	cr_expect_not(cap.saw_payload);
	cr_expect_lt(cap.longest, 48);

	/* At info level the engine says nothing. */
	unsigned before = cap.lines;
	lg.level = LOG_INFO;
	expect_block(s, PCB_I(1, 0), select_mf, sizeof(select_mf));
	card_says(s, PCB_I(1, 0), sw_ok, 2);
	cr_assert_eq(ifd_t1_transceive(&t, select_mf, sizeof(select_mf), rsp, sizeof(rsp), &n), 0);
	cr_expect_eq(cap.lines, before);
	script_done(s);
}

/* ---- the card's side on its own ---- */

/* process(): the command reversed, counting calls; power loss on demand. */
struct reverser {
	unsigned calls;
	bool lose_power;
};

static int reverse_process(void *arg, const uint8_t *apdu, size_t len, uint8_t *rsp, size_t cap,
			   size_t *rsp_len)
{
	struct reverser *r = arg;

	r->calls++;
	if (r->lose_power)
		return -1;
	cr_assert_leq(len, cap);
	for (size_t i = 0; i < len; i++)
		rsp[i] = apdu[len - 1 - i];
	*rsp_len = len;
	return 0;
}

struct card_rig {
	struct vc_t1_card *card;
	struct reverser proc;
	enum ifd_t1_edc edc;
	struct t1_block got;
	uint8_t out[T1_MAX_BLOCK];
	size_t out_len;
};

static struct card_rig *rig_new(size_t ifsc, enum ifd_t1_edc edc)
{
	struct card_rig *r = calloc(1, sizeof(*r));

	cr_assert_not_null(r);
	r->card = calloc(1, sizeof(*r->card));
	cr_assert_not_null(r->card);
	r->edc = edc;
	vc_t1_card_init(r->card, ifsc, edc, reverse_process, &r->proc);
	return r;
}

static void rig_free(struct card_rig *r)
{
	free(r->card);
	free(r);
}

/* One block to the card; the card's answer parsed into r->got. */
static void to_card(struct card_rig *r, uint8_t pcb, const void *inf, size_t len)
{
	uint8_t in[T1_MAX_BLOCK];
	size_t n = t1_block_build(0, pcb, inf, len, r->edc, in);

	cr_assert_gt(n, 0);
	cr_assert_eq(vc_t1_card_block(r->card, in, n, r->out, &r->out_len), 0);
	cr_assert_eq(t1_block_parse(r->out, r->out_len, r->edc, &r->got), 0);
	cr_assert_eq(r->card->last_len, r->out_len);
	cr_assert_eq(memcmp(r->card->last, r->out, r->out_len), 0);
}

static void card_answered(const struct card_rig *r, uint8_t pcb, const void *inf, size_t len)
{
	cr_assert_eq(r->got.pcb, pcb, "the card sent PCB %02X, expected %02X", r->got.pcb, pcb);
	cr_assert_eq(r->got.len, len);
	if (len)
		cr_assert_eq(memcmp(r->got.inf, inf, len), 0);
}

Test(t1_card, gathers_a_chain_and_sends_the_response_in_ifsd_blocks)
{
	struct card_rig *r = rig_new(32, LRC);
	uint8_t cmd[70], rev[70];

	fill_pattern(cmd, sizeof(cmd), 20);
	for (size_t i = 0; i < sizeof(cmd); i++)
		rev[i] = cmd[sizeof(cmd) - 1 - i];
	to_card(r, PCB_I(0, 1), cmd, 32);
	card_answered(r, PCB_R(1, 0), NULL, 0);
	to_card(r, PCB_I(1, 1), cmd + 32, 32);
	card_answered(r, PCB_R(0, 0), NULL, 0);
	cr_expect_eq(r->proc.calls, 0);
	to_card(r, PCB_I(0, 0), cmd + 64, 6);
	cr_expect_eq(r->proc.calls, 1);
	card_answered(r, PCB_I(0, 1), rev, 32);
	/* Asked for the block in flight: the same block. */
	to_card(r, PCB_R(0, EDC_ERR), NULL, 0);
	card_answered(r, PCB_I(0, 1), rev, 32);
	to_card(r, PCB_R(1, 0), NULL, 0);
	card_answered(r, PCB_I(1, 1), rev + 32, 32);
	to_card(r, PCB_R(0, 0), NULL, 0);
	card_answered(r, PCB_I(0, 0), rev + 64, 6);
	/* The last block asked for again. */
	to_card(r, PCB_R(0, OTHER_ERR), NULL, 0);
	card_answered(r, PCB_I(0, 0), rev + 64, 6);
	cr_expect_eq(r->proc.calls, 1);
	/* The next command (N(S) 1) acknowledges it. */
	to_card(r, PCB_I(1, 0), cmd, 3);
	card_answered(r, PCB_I(1, 0), (const uint8_t[]){ cmd[2], cmd[1], cmd[0] }, 3);
	cr_expect_eq(r->proc.calls, 2);
	rig_free(r);
}

Test(t1_card, repeated_i_block_does_not_run_the_command_twice)
{
	struct card_rig *r = rig_new(32, CRC);
	const uint8_t cmd[] = { 1, 2, 3 }, rev[] = { 3, 2, 1 };

	to_card(r, PCB_I(0, 0), cmd, 3);
	card_answered(r, PCB_I(0, 0), rev, 3);
	to_card(r, PCB_I(0, 0), cmd, 3);
	card_answered(r, PCB_I(0, 0), rev, 3);
	cr_expect_eq(r->proc.calls, 1);
	/* Also within a chain: the repeated block gets the R-block again
	 * and is not appended twice. */
	to_card(r, PCB_I(1, 1), cmd, 3);
	card_answered(r, PCB_R(0, 0), NULL, 0);
	to_card(r, PCB_I(1, 1), cmd, 3);
	card_answered(r, PCB_R(0, 0), NULL, 0);
	to_card(r, PCB_I(0, 0), cmd, 1);
	card_answered(r, PCB_I(1, 0), (const uint8_t[]){ 1, 3, 2, 1 }, 4);
	cr_expect_eq(r->proc.calls, 2);
	rig_free(r);
}

Test(t1_card, invalid_block_gets_r_with_edc_error_and_the_expected_n_r)
{
	struct card_rig *r = rig_new(32, LRC);
	uint8_t bad[T1_MAX_BLOCK];
	size_t n = t1_block_build(0, PCB_I(0, 0), select_mf, sizeof(select_mf), LRC, bad);

	bad[n - 1] ^= 1;
	cr_assert_eq(vc_t1_card_block(r->card, bad, n, r->out, &r->out_len), 0);
	cr_assert_eq(t1_block_parse(r->out, r->out_len, LRC, &r->got), 0);
	card_answered(r, PCB_R(0, EDC_ERR), NULL, 0);
	/* Truncated, and empty. */
	cr_assert_eq(vc_t1_card_block(r->card, bad, n - 2, r->out, &r->out_len), 0);
	cr_assert_eq(t1_block_parse(r->out, r->out_len, LRC, &r->got), 0);
	card_answered(r, PCB_R(0, EDC_ERR), NULL, 0);
	cr_assert_eq(vc_t1_card_block(r->card, NULL, 0, r->out, &r->out_len), 0);
	cr_expect_eq(r->card->invalid_blocks, 3);
	cr_expect_eq(r->proc.calls, 0);
	/* Longer than the card's IFSC. */
	uint8_t big[40] = { 0 };
	struct card_rig *small = rig_new(16, LRC);
	to_card(small, PCB_I(0, 0), big, 17);
	card_answered(small, PCB_R(0, OTHER_ERR), NULL, 0);
	cr_expect_eq(small->proc.calls, 0);
	rig_free(small);
	rig_free(r);
}

Test(t1_card, s_requests_ifs_resynch_abort)
{
	struct card_rig *r = rig_new(32, LRC);
	const uint8_t ifs = 8;
	uint8_t cmd[20];

	fill_pattern(cmd, sizeof(cmd), 21);
	to_card(r, PCB_S_REQ(T1_S_IFS), &ifs, 1);
	card_answered(r, PCB_S_RSP(T1_S_IFS), &ifs, 1);
	cr_expect_eq(r->card->ifsd, 8);
	to_card(r, PCB_I(0, 0), cmd, 20);
	uint8_t rev[20];
	for (size_t i = 0; i < sizeof(rev); i++)
		rev[i] = cmd[sizeof(cmd) - 1 - i];
	card_answered(r, PCB_I(0, 1), rev, 8);
	/* Abort the response chain: dropped, sequence numbers kept. */
	to_card(r, PCB_S_REQ(T1_S_ABORT), NULL, 0);
	card_answered(r, PCB_S_RSP(T1_S_ABORT), NULL, 0);
	cr_expect_not(r->card->sending);
	/* Resynchronise: both numbers 0, sizes kept. */
	to_card(r, PCB_S_REQ(T1_S_RESYNCH), NULL, 0);
	card_answered(r, PCB_S_RSP(T1_S_RESYNCH), NULL, 0);
	cr_expect_eq(r->card->ns, 0);
	cr_expect_eq(r->card->nr, 0);
	cr_expect_eq(r->card->ifsd, 8);
	to_card(r, PCB_I(0, 0), cmd, 2);
	card_answered(r, PCB_I(0, 0), (const uint8_t[]){ cmd[1], cmd[0] }, 2);
	/* Reserved IFS values and stray responses are refused. */
	to_card(r, PCB_S_REQ(T1_S_IFS), (const uint8_t[]){ 0xFF }, 1);
	card_answered(r, PCB_R(1, OTHER_ERR), NULL, 0);
	to_card(r, PCB_S_RSP(T1_S_WTX), &ifs, 1);
	card_answered(r, PCB_R(1, OTHER_ERR), NULL, 0);
	to_card(r, PCB_S_REQ(T1_S_WTX), &ifs, 1);
	card_answered(r, PCB_R(1, OTHER_ERR), NULL, 0);
	cr_expect_eq(r->proc.calls, 2);
	rig_free(r);
}

Test(t1_card, wtx_requests_before_each_response)
{
	struct card_rig *r = rig_new(32, LRC);
	const uint8_t cmd[] = { 7, 8 }, rev[] = { 8, 7 };
	const uint8_t m = 9;

	r->card->wtx_per_command = 2;
	r->card->wtx_multiplier = m;
	to_card(r, PCB_I(0, 0), cmd, 2);
	card_answered(r, PCB_S_REQ(T1_S_WTX), &m, 1);
	cr_expect_eq(r->proc.calls, 1);
	/* Not understood: the same request again. */
	to_card(r, PCB_R(1, EDC_ERR), NULL, 0);
	card_answered(r, PCB_S_REQ(T1_S_WTX), &m, 1);
	to_card(r, PCB_S_RSP(T1_S_WTX), &m, 1);
	card_answered(r, PCB_S_REQ(T1_S_WTX), &m, 1);
	to_card(r, PCB_S_RSP(T1_S_WTX), &m, 1);
	card_answered(r, PCB_I(0, 0), rev, 2);
	cr_expect_eq(r->card->wtx_left, 0);
	cr_expect_eq(r->proc.calls, 1);
	rig_free(r);
}

Test(t1_card, power_loss_keeps_the_card_mute_until_reset)
{
	struct card_rig *r = rig_new(32, LRC);
	uint8_t in[T1_MAX_BLOCK];
	size_t n = t1_block_build(0, PCB_I(0, 0), select_mf, sizeof(select_mf), LRC, in);

	r->proc.lose_power = true;
	cr_assert_eq(vc_t1_card_block(r->card, in, n, r->out, &r->out_len), 1);
	cr_expect_eq(r->out_len, 0);
	n = t1_block_build(0, PCB_R(0, 0), NULL, 0, LRC, in);
	cr_assert_eq(vc_t1_card_block(r->card, in, n, r->out, &r->out_len), 1);
	cr_expect_eq(r->proc.calls, 1);

	r->proc.lose_power = false;
	vc_t1_card_reset(r->card);
	cr_expect_eq(r->card->ifsd, 32);
	to_card(r, PCB_I(0, 0), select_mf, 2);
	card_answered(r, PCB_I(0, 0), (const uint8_t[]){ select_mf[1], select_mf[0] }, 2);
	rig_free(r);
}

Test(t1_card, invalid_arguments)
{
	struct card_rig *r = rig_new(32, LRC);
	uint8_t in[4] = { 0 };

	cr_expect_eq(vc_t1_card_block(NULL, in, 4, r->out, &r->out_len), -1);
	cr_expect_eq(vc_t1_card_block(r->card, NULL, 4, r->out, &r->out_len), -1);
	cr_expect_eq(vc_t1_card_block(r->card, in, 4, NULL, &r->out_len), -1);
	cr_expect_eq(vc_t1_card_block(r->card, in, 4, r->out, NULL), -1);
	rig_free(r);
}

/* ---- the engine against the card, through a damaging wire ---- */

TestSuite(t1_wire, .timeout = 300);

enum fault {
	FAULT_NONE,
	FAULT_CHANGE,	/* one byte replaced by another value */
	FAULT_FLIP,	/* one bit flipped */
	FAULT_TRUNCATE,	/* cut short */
	FAULT_DROP,	/* lost: the receiver sees nothing */
};

static const char *const fault_names[] = { "none", "change", "flip", "truncate", "drop" };

#define WIRE_MAX_BLOCKS 4000

struct wire {
	struct vc_t1_card *card;
	unsigned blocks;	/* blocks that crossed, both directions */
	unsigned from, count;	/* damage blocks from..from+count-1 */
	enum fault kind;
	unsigned damaged;
};

/* Apply the fault to block number w->blocks if it is in the window.
 * Returns false when the block is lost. */
static bool cross(struct wire *w, uint8_t *buf, size_t *len)
{
	unsigned k = w->blocks++;

	cr_assert_lt(w->blocks, WIRE_MAX_BLOCKS, "the exchange does not end");
	if (w->kind == FAULT_NONE || k < w->from || k - w->from >= w->count || *len == 0)
		return true;
	w->damaged++;
	switch (w->kind) {
	case FAULT_CHANGE:
		buf[(k * 5u) % *len] ^= (uint8_t)(0x01 + (k % 0xFF));
		return true;
	case FAULT_FLIP: {
		size_t bit = (k * 13u) % (*len * 8);
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		return true;
	}
	case FAULT_TRUNCATE:
		*len = (k * 3u) % *len;
		return true;
	case FAULT_DROP:
	case FAULT_NONE:
		break;
	}
	return false;
}

static int wire_xfr(void *arg, const uint8_t *block, size_t len, uint8_t *rsp, size_t cap,
		    size_t *rsp_len, uint8_t wtx)
{
	struct wire *w = arg;
	uint8_t in[T1_MAX_BLOCK], out[T1_MAX_BLOCK];
	size_t out_len = 0;

	(void)wtx;
	cr_assert_leq(len, sizeof(in));
	memcpy(in, block, len);
	if (!cross(w, in, &len))
		return T1_XFR_TIMEOUT;
	int rc = vc_t1_card_block(w->card, in, len, out, &out_len);
	cr_assert(rc == 0 || rc == 1, "card: %d", rc);
	if (rc == 1)
		return T1_XFR_TIMEOUT;
	if (!cross(w, out, &out_len))
		return T1_XFR_TIMEOUT;
	cr_assert_leq(out_len, cap);
	memcpy(rsp, out, out_len);
	*rsp_len = out_len;
	return 0;
}

#define LONG_LEN 1000

/* How one command ended: T1_ERR_* or 0, how many times process() ran
 * for it, and whether the response was exactly the reversed command. */
struct outcome {
	int rc;
	unsigned calls;
	bool exact;
};

static void one_command(struct ifd_t1 *t, const struct reverser *proc, const uint8_t *cmd,
			size_t len, uint8_t *rsp, size_t cap, struct outcome *o)
{
	unsigned before = proc->calls;
	size_t n = 0;

	o->rc = ifd_t1_transceive(t, cmd, len, rsp, cap, &n);
	o->calls = proc->calls - before;
	o->exact = o->rc == 0 && n == len;
	for (size_t i = 0; o->exact && i < len; i++)
		o->exact = rsp[i] == cmd[len - 1 - i];
}

/* Either exactly right, or a clean failure that ran the command at most
 * once; a dead engine is reset with its card, as the driver would. */
static void settle(const struct outcome *o, const char *what, const char *fault, unsigned count,
		   unsigned k, struct ifd_t1 *t, struct vc_t1_card *card, struct wire *w,
		   enum ifd_t1_edc edc)
{
	if (o->rc == 0) {
		cr_assert(o->exact, "%s, %s x%u at %u: wrong response", what, fault, count, k);
		cr_assert_eq(o->calls, 1, "%s, %s x%u at %u: %u runs", what, fault, count, k,
			     o->calls);
		return;
	}
	cr_assert(o->rc == T1_ERR_FAILED || o->rc == T1_ERR_DEAD, "%s, %s x%u at %u: rc %d", what,
		  fault, count, k, o->rc);
	cr_assert_leq(o->calls, 1, "%s, %s x%u at %u: %u runs", what, fault, count, k, o->calls);
	if (o->rc == T1_ERR_DEAD) {
		vc_t1_card_reset(card);
		ifd_t1_init(t, 32, edc, wire_xfr, w, NULL);
	}
}

struct run {
	enum ifd_t1_edc edc;
	unsigned wtx;
	enum fault kind;
	unsigned from, count;

	/* results */
	int rc_ifsd;
	struct outcome first;	/* a short command */
	struct outcome big;	/* 1000 bytes each way */
	unsigned blocks;	/* blocks on the wire up to the end of it */
	unsigned damaged;
};

/*
 * IFSD negotiation, a short command (so that its last response block is
 * in flight when the next command starts), the 1000-byte command and its
 * 1000-byte response with IFSC = IFSD = 32, all on the damaging wire; then,
 * with the wire repaired, one more short command that must go through
 * whatever happened before.
 */
static void run_exchange(struct run *run)
{
	struct vc_t1_card *card = calloc(1, sizeof(*card));
	uint8_t *cmd = malloc(LONG_LEN), *rsp = malloc(LONG_LEN + 64);
	struct reverser proc = { 0 };
	struct wire w = { card, 0, run->from, run->count, run->kind, 0 };
	const char *fault = fault_names[run->kind];
	struct ifd_t1 t;
	struct outcome last;

	cr_assert(card && cmd && rsp);
	vc_t1_card_init(card, 32, run->edc, reverse_process, &proc);
	card->wtx_per_command = run->wtx;
	card->wtx_multiplier = 7;
	ifd_t1_init(&t, 32, run->edc, wire_xfr, &w, NULL);
	fill_pattern(cmd, LONG_LEN, 0x33);

	run->rc_ifsd = ifd_t1_negotiate_ifsd(&t, 32);
	cr_assert(run->rc_ifsd == 0 || run->rc_ifsd == T1_ERR_FAILED ||
		  run->rc_ifsd == T1_ERR_DEAD, "IFSD: %d", run->rc_ifsd);
	cr_assert_eq(proc.calls, 0);
	if (run->rc_ifsd == T1_ERR_DEAD) {
		vc_t1_card_reset(card);
		ifd_t1_init(&t, 32, run->edc, wire_xfr, &w, NULL);
	}
	one_command(&t, &proc, cmd + 100, 5, rsp, LONG_LEN + 64, &run->first);
	settle(&run->first, "short", fault, run->count, run->from, &t, card, &w, run->edc);
	one_command(&t, &proc, cmd, LONG_LEN, rsp, LONG_LEN + 64, &run->big);
	settle(&run->big, "long", fault, run->count, run->from, &t, card, &w, run->edc);
	run->blocks = w.blocks;
	run->damaged = w.damaged;

	/* Whatever happened, the two ends must be able to go on. */
	w.kind = FAULT_NONE;
	one_command(&t, &proc, cmd + 200, 7, rsp, LONG_LEN + 64, &last);
	cr_assert_eq(last.rc, 0, "%s x%u at %u: rc %d/%d, then the next command failed (%d)",
		     fault, run->count, run->from, run->first.rc, run->big.rc, last.rc);
	cr_assert(last.exact);
	cr_assert_eq(last.calls, 1);

	free(card);
	free(cmd);
	free(rsp);
}

static unsigned clean_blocks(enum ifd_t1_edc edc, unsigned wtx)
{
	struct run run = { .edc = edc, .wtx = wtx, .kind = FAULT_NONE };

	run_exchange(&run);
	cr_assert_eq(run.rc_ifsd, 0);
	cr_assert_eq(run.first.rc, 0);
	cr_assert_eq(run.big.rc, 0);
	return run.blocks;
}

Test(t1_wire, clean_exchange_block_count)
{
	/* 2 for IFSD; 2 for the short command; 32 command blocks and 31
	 * acknowledgements, 32 response blocks and 31 acknowledgements; 2
	 * more per S(WTX) round. */
	cr_expect_eq(clean_blocks(LRC, 0), 2 + 2 + 32 + 31 + 32 + 31);
	cr_expect_eq(clean_blocks(CRC, 2), 2 + 2 + 4 + 32 + 31 + 4 + 32 + 31);
}

Test(t1_wire, every_single_fault_is_recovered)
{
	const enum ifd_t1_edc edcs[] = { LRC, CRC };
	const unsigned wtxs[] = { 0, 2 };
	unsigned points = 0, expected = 0;

	for (size_t e = 0; e < 2; e++) {
		for (size_t x = 0; x < 2; x++) {
			unsigned total = clean_blocks(edcs[e], wtxs[x]);

			for (int kind = FAULT_CHANGE; kind <= FAULT_DROP; kind++) {
				expected += total;
				for (unsigned k = 0; k < total; k++) {
					struct run run = { .edc = edcs[e], .wtx = wtxs[x],
							   .kind = (enum fault)kind, .from = k,
							   .count = 1 };

					run_exchange(&run);
					cr_assert_eq(run.damaged, 1);
					/* One fault never exhausts three retries. */
					cr_assert_eq(run.rc_ifsd, 0, "%s at block %u",
						     fault_names[kind], k);
					cr_assert_eq(run.first.rc, 0, "%s at block %u: %d",
						     fault_names[kind], k, run.first.rc);
					cr_assert_eq(run.big.rc, 0, "%s at block %u: %d",
						     fault_names[kind], k, run.big.rc);
					points++;
				}
			}
		}
	}
	fprintf(stderr, "t1_wire: %u single-fault points exercised, all recovered\n", points);
	cr_expect_eq(points, expected);
	cr_expect_gt(points, 1000);
}

Test(t1_wire, fault_bursts_recover_or_fail_cleanly)
{
	const unsigned bursts[] = { 2, 3, 4, 6, 9, 14 };
	unsigned points = 0, recovered = 0, failed = 0, dead = 0, ran_then_failed = 0;

	for (size_t e = 0; e < 2; e++) {
		enum ifd_t1_edc edc = e ? CRC : LRC;
		unsigned wtx = e ? 1 : 0;
		unsigned total = clean_blocks(edc, wtx);

		for (size_t b = 0; b < sizeof(bursts) / sizeof(bursts[0]); b++) {
			for (int kind = FAULT_CHANGE; kind <= FAULT_DROP; kind++) {
				for (unsigned k = 0; k < total; k++) {
					struct run run = { .edc = edc, .wtx = wtx,
							   .kind = (enum fault)kind, .from = k,
							   .count = bursts[b] };

					/* run_exchange asserts each command's outcome. */
					run_exchange(&run);
					cr_assert_gt(run.damaged, 0);
					points++;
					const struct outcome *o[2] = { &run.first, &run.big };
					bool all_ok = true;
					for (int i = 0; i < 2; i++) {
						if (o[i]->rc == 0)
							continue;
						all_ok = false;
						if (o[i]->rc == T1_ERR_DEAD)
							dead++;
						else
							failed++;
						if (o[i]->calls)
							ran_then_failed++;
					}
					if (all_ok)
						recovered++;
				}
			}
		}
	}
	fprintf(stderr,
		"t1_wire: %u burst fault points: %u with both commands recovered; "
		"%u commands failed after resynch, %u dead (%u of these after the "
		"command ran)\n",
		points, recovered, failed, dead, ran_then_failed);
	/* The failure paths were taken, not just the happy one. */
	cr_expect_gt(recovered, 0);
	cr_expect_gt(failed, 0);
	cr_expect_gt(dead, 0);
	cr_expect_gt(ran_then_failed, 0);
}

/* A small generator of its own, so that the soak is the same every run. */
static uint32_t xorshift(uint32_t *state)
{
	uint32_t x = *state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*state = x;
	return x;
}

struct noisy_wire {
	struct wire w;
	uint32_t rng;
	unsigned percent;
};

static int noisy_xfr(void *arg, const uint8_t *block, size_t len, uint8_t *rsp, size_t cap,
		     size_t *rsp_len, uint8_t wtx)
{
	struct noisy_wire *nw = arg;

	/* Each direction of each exchange is damaged with the given chance,
	 * in one of the four ways. */
	nw->w.kind = FAULT_NONE;
	if (xorshift(&nw->rng) % 100 < nw->percent) {
		nw->w.kind = (enum fault)(FAULT_CHANGE + xorshift(&nw->rng) % 4);
		nw->w.from = nw->w.blocks + (xorshift(&nw->rng) % 2);
		nw->w.count = 1;
	}
	return wire_xfr(&nw->w, block, len, rsp, cap, rsp_len, wtx);
}

Test(t1_wire, random_noise_soak)
{
	struct vc_t1_card *card = calloc(1, sizeof(*card));
	uint8_t *cmd = malloc(LONG_LEN), *rsp = malloc(LONG_LEN);
	struct reverser proc = { 0 };
	struct noisy_wire nw = { { card, 0, 0, 0, FAULT_NONE, 0 }, 0x12345678u, 8 };
	struct ifd_t1 t;
	unsigned ok = 0, failed = 0;

	cr_assert(card && cmd && rsp);
	vc_t1_card_init(card, 32, CRC, reverse_process, &proc);
	card->wtx_per_command = 1;
	ifd_t1_init(&t, 32, CRC, noisy_xfr, &nw, NULL);
	for (unsigned i = 0; i < 200; i++) {
		size_t len = 1 + (i * 37) % LONG_LEN, n = 0;
		unsigned before = proc.calls;

		fill_pattern(cmd, len, i);
		nw.w.blocks = 0;
		int rc = ifd_t1_transceive(&t, cmd, len, rsp, LONG_LEN, &n);
		cr_assert_leq(proc.calls - before, 1, "exchange %u ran the command twice", i);
		if (rc == 0) {
			cr_assert_eq(n, len);
			for (size_t j = 0; j < len; j++)
				cr_assert_eq(rsp[j], cmd[len - 1 - j], "exchange %u byte %zu", i, j);
			cr_assert_eq(proc.calls - before, 1);
			ok++;
			continue;
		}
		cr_assert(rc == T1_ERR_FAILED || rc == T1_ERR_DEAD, "exchange %u: %d", i, rc);
		failed++;
		if (rc == T1_ERR_DEAD) {
			vc_t1_card_reset(card);
			ifd_t1_init(&t, 32, CRC, noisy_xfr, &nw, NULL);
		}
	}
	fprintf(stderr, "t1_wire: noise soak, 200 exchanges at 8%%: %u complete, %u failed "
		"cleanly, %lu retransmissions\n", ok, failed, t.stats.retransmissions);
	cr_expect_gt(ok, 150);
	free(card);
	free(cmd);
	free(rsp);
}
