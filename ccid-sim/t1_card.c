/*
 * t1_card.c - the card's side of T=1 (ISO/IEC 7816-3 §11) for the CCID
 * reader simulator at TPDU level.
 *
 * The card never starts an exchange: each block from the terminal gets
 * exactly one block back (or none, once the card has lost power). What to
 * send follows from a small state kept in struct vc_t1_card:
 *   - receiving a command: chained I-blocks gathered in cmd, each
 *     acknowledged with R(N(R));
 *   - wtx_left > 0: the command has run and an S(WTX request) waits for
 *     its response;
 *   - sending: an I-block of the response is in flight, its N(S) is the
 *     complement of ns; it is acknowledged by an R-block asking for the
 *     next N(S) (chained) or by the terminal's next command (last block).
 * The command runs when its last I-block first arrives and only then: an
 * I-block whose N(S) was already received is a repeat (our answer to it
 * was lost), and gets the card's current block again. Blocks are built
 * and checked with the codec of ifd/t1.c.
 */
#include "t1_card.h"

#include <string.h>

#define T1_DEFAULT_IFS 32
#define T1_S_TYPE_MASK 0x1F

/* SW 6700: a command longer than this card can take in. */
static const uint8_t sw_wrong_length[2] = { 0x67, 0x00 };

static void clear_exchange(struct vc_t1_card *c)
{
	c->cmd_len = 0;
	c->cmd_overflow = false;
	c->rsp_len = 0;
	c->rsp_off = 0;
	c->rsp_chunk = 0;
	c->sending = false;
	c->wtx_left = 0;
}

void vc_t1_card_reset(struct vc_t1_card *c)
{
	if (!c)
		return;
	clear_exchange(c);
	c->ns = 0;
	c->nr = 0;
	c->ifsd = T1_DEFAULT_IFS;
	c->last_len = 0;
	c->mute = false;
}

void vc_t1_card_init(struct vc_t1_card *c, size_t ifsc, enum ifd_t1_edc edc,
		     vc_t1_process_fn process, void *arg)
{
	if (!c)
		return;
	memset(c, 0, sizeof(*c));
	c->process = process;
	c->arg = arg;
	c->edc = edc;
	c->ifsc = (ifsc >= 1 && ifsc <= T1_MAX_INF) ? ifsc : T1_DEFAULT_IFS;
	c->wtx_multiplier = 1;
	vc_t1_card_reset(c);
}

/* The answer carries the NAD with source and destination swapped (§11.3.2.1). */
static uint8_t reply_nad(uint8_t nad)
{
	return (uint8_t)(((nad & 0x07) << 4) | ((nad >> 4) & 0x07));
}

struct reply {
	uint8_t nad;
	uint8_t *out;
	size_t *out_len;
};

static void emit(struct vc_t1_card *c, const struct reply *r, uint8_t pcb, const uint8_t *inf,
		 size_t len)
{
	*r->out_len = t1_block_build(r->nad, pcb, inf, len, c->edc, r->out);
	memcpy(c->last, r->out, *r->out_len);
	c->last_len = *r->out_len;
}

static void emit_r(struct vc_t1_card *c, const struct reply *r, uint8_t error)
{
	emit(c, r, (uint8_t)(T1_R_BLOCK | (c->nr ? T1_R_NR : 0) | error), NULL, 0);
}

static bool inflight_more(const struct vc_t1_card *c)
{
	return c->rsp_off + c->rsp_chunk < c->rsp_len;
}

/* The response I-block in flight, byte for byte as first sent. */
static void emit_inflight(struct vc_t1_card *c, const struct reply *r)
{
	uint8_t pcb = (uint8_t)(T1_I_BLOCK | (c->ns ? 0 : T1_I_NS) |
				(inflight_more(c) ? T1_I_MORE : 0));
	emit(c, r, pcb, c->rsp + c->rsp_off, c->rsp_chunk);
}

/* Put the response block starting at rsp_off in flight. */
static void send_chunk(struct vc_t1_card *c, const struct reply *r)
{
	size_t left = c->rsp_len - c->rsp_off;

	c->rsp_chunk = left < c->ifsd ? left : c->ifsd;
	c->sending = true;
	c->ns ^= 1;
	emit_inflight(c, r);
}

static void emit_wtx_request(struct vc_t1_card *c, const struct reply *r)
{
	emit(c, r, T1_S_BLOCK | T1_S_WTX, &c->wtx_multiplier, 1);
}

/*
 * The block the terminal is owed in the current state, sent again when it
 * shows it has not received it: the response block in flight, the S(WTX
 * request) waiting for its response, or else an R-block asking for the
 * terminal's next I-block (which also repeats the acknowledgement of a
 * chained one).
 */
static void emit_current(struct vc_t1_card *c, const struct reply *r)
{
	if (c->sending)
		emit_inflight(c, r);
	else if (c->wtx_left)
		emit_wtx_request(c, r);
	else
		emit_r(c, r, 0);
}

/* Returns 1 when the card has lost power. */
static int run_command(struct vc_t1_card *c, const struct reply *r)
{
	c->rsp_len = 0;
	c->rsp_off = 0;
	c->rsp_chunk = 0;
	if (c->cmd_overflow || !c->process) {
		memcpy(c->rsp, sw_wrong_length, sizeof(sw_wrong_length));
		c->rsp_len = sizeof(sw_wrong_length);
	} else {
		size_t n = 0;
		if (c->process(c->arg, c->cmd, c->cmd_len, c->rsp, sizeof(c->rsp), &n) != 0) {
			clear_exchange(c);
			c->mute = true;
			return 1;
		}
		c->rsp_len = n <= sizeof(c->rsp) ? n : sizeof(c->rsp);
	}
	c->cmd_len = 0;
	c->cmd_overflow = false;
	c->wtx_left = c->wtx_per_command;
	if (c->wtx_left)
		emit_wtx_request(c, r);
	else
		send_chunk(c, r);
	return 0;
}

static int on_i_block(struct vc_t1_card *c, const struct reply *r, const struct t1_block *b)
{
	uint8_t seq = (b->pcb & T1_I_NS) ? 1 : 0;

	if (seq != c->nr) {
		/* Already received: the answer to it was lost. Running it
		 * again would run the command twice. */
		emit_current(c, r);
		return 0;
	}
	if (b->len > c->ifsc || c->wtx_left || (c->sending && inflight_more(c))) {
		/* Too long for us, or a new I-block while we hold the turn. */
		emit_r(c, r, T1_R_OTHER_ERROR);
		return 0;
	}
	/* A new command acknowledges the last block of our response. */
	c->sending = false;
	if (c->cmd_len + b->len > sizeof(c->cmd))
		c->cmd_overflow = true;
	else if (b->len) {
		memcpy(c->cmd + c->cmd_len, b->inf, b->len);
		c->cmd_len += b->len;
	}
	c->nr ^= 1;
	if (b->pcb & T1_I_MORE) {
		emit_r(c, r, 0);
		return 0;
	}
	return run_command(c, r);
}

static void on_r_block(struct vc_t1_card *c, const struct reply *r, const struct t1_block *b)
{
	uint8_t seq = (b->pcb & T1_R_NR) ? 1 : 0;

	if (c->sending) {
		uint8_t inflight = c->ns ^ 1;

		if (seq == inflight) {
			/* Asked for the block in flight. */
			emit_inflight(c, r);
		} else if (inflight_more(c)) {
			/* Rule 5: our chained block arrived; the next one. */
			c->rsp_off += c->rsp_chunk;
			send_chunk(c, r);
		} else {
			/* Our last block arrived but the terminal's next
			 * command did not: ask for it. */
			c->sending = false;
			emit_r(c, r, 0);
		}
		return;
	}
	emit_current(c, r);
}

static void on_s_block(struct vc_t1_card *c, const struct reply *r, const struct t1_block *b)
{
	uint8_t type = b->pcb & T1_S_TYPE_MASK;

	if (b->pcb & T1_S_RESPONSE) {
		if (type == T1_S_WTX && b->len == 1 && c->wtx_left) {
			if (--c->wtx_left)
				emit_wtx_request(c, r);
			else
				send_chunk(c, r);
		} else {
			/* A response to nothing we asked. */
			emit_r(c, r, T1_R_OTHER_ERROR);
		}
		return;
	}
	switch (type) {
	case T1_S_RESYNCH:
		if (b->len != 0)
			break;
		/* Rule 6: back to the state after the ATR, sizes kept. */
		clear_exchange(c);
		c->ns = 0;
		c->nr = 0;
		emit(c, r, T1_S_BLOCK | T1_S_RESPONSE | T1_S_RESYNCH, NULL, 0);
		return;
	case T1_S_IFS:
		if (b->len != 1 || b->inf[0] == 0x00 || b->inf[0] == 0xFF)
			break;
		/* Rule 4: applies from our next I-block; one in flight
		 * keeps its size so that it can be repeated unchanged. */
		c->ifsd = b->inf[0];
		emit(c, r, T1_S_BLOCK | T1_S_RESPONSE | T1_S_IFS, b->inf, 1);
		return;
	case T1_S_ABORT:
		if (b->len != 0)
			break;
		/* Rule 9: drop the chain in either direction. */
		clear_exchange(c);
		emit(c, r, T1_S_BLOCK | T1_S_RESPONSE | T1_S_ABORT, NULL, 0);
		return;
	default:
		break;
	}
	emit_r(c, r, T1_R_OTHER_ERROR);
}

int vc_t1_card_block(struct vc_t1_card *c, const uint8_t *in, size_t len, uint8_t *out,
		     size_t *out_len)
{
	struct t1_block b;

	if (!c || !out || !out_len || (!in && len))
		return -1;
	*out_len = 0;
	if (c->mute)
		return 1;

	struct reply r = { 0, out, out_len };

	if (t1_block_parse(in, len, c->edc, &b) != 0) {
		/* Rule 7.1: an R-block asking for the I-block we expect. */
		c->invalid_blocks++;
		emit_r(c, &r, T1_R_EDC_ERROR);
		return 0;
	}
	r.nad = reply_nad(b.nad);
	switch (t1_block_kind(b.pcb)) {
	case T1_KIND_I:
		return on_i_block(c, &r, &b);
	case T1_KIND_R:
		if (b.len != 0)
			emit_r(c, &r, T1_R_OTHER_ERROR);
		else
			on_r_block(c, &r, &b);
		return 0;
	case T1_KIND_S:
		on_s_block(c, &r, &b);
		return 0;
	}
	return -1;
}
