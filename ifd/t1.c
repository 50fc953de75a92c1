/*
 * t1.c - the T=1 block transmission protocol (ISO/IEC 7816-3 §11): the
 * terminal's engine the driver runs when a CCID reader only moves bytes
 * (TPDU level); blocks are built and checked by codec/t1_block.c.
 *
 * The engine is a loop over one block out,
 * one block back (through the caller's xfr), driven by what was last sent
 * and what came back, with the error recovery of §11.6: an R-block for
 * an invalid block or a timeout, the same block again when the card asks
 * for it, a bounded number of retries, then S(RESYNCH). All its state is
 * in struct ifd_t1 and in the locals of one call; nothing recurses.
 */
#include "t1.h"

#include "cursor.h"

#include <stdio.h>
#include <string.h>

/* IFSC and IFSD before anyone says otherwise (§11.4.2). */
#define T1_DEFAULT_IFS 32
#define T1_DEFAULT_RETRIES 3
/* S(RESYNCH request) is tried at most three times (§11.6, rule 6). */
#define T1_RESYNCH_ATTEMPTS 3

#define T1_S_TYPE_MASK 0x1F
#define T1_R_ERROR_MASK 0x0F
#define T1_R_RFU 0x20

/* ---- logging: block headers only, never INF ---- */

static const char *block_name(uint8_t pcb, size_t len, char *out, size_t cap)
{
	static const char *const s_names[] = { "RESYNCH", "IFS", "ABORT", "WTX" };
	uint8_t type = pcb & T1_S_TYPE_MASK;

	switch (t1_block_kind(pcb)) {
	case T1_KIND_I:
		snprintf(out, cap, "I(%u%s) LEN %zu", (pcb & T1_I_NS) ? 1u : 0u,
			 (pcb & T1_I_MORE) ? ",M" : "", len);
		break;
	case T1_KIND_R:
		snprintf(out, cap, "R(%u)%s%s", (pcb & T1_R_NR) ? 1u : 0u,
			 (pcb & T1_R_EDC_ERROR) ? " EDC error" : "",
			 (pcb & T1_R_OTHER_ERROR) ? " other error" : "");
		break;
	case T1_KIND_S:
		snprintf(out, cap, "S(%s %s)", type < 4 ? s_names[type] : "?",
			 (pcb & T1_S_RESPONSE) ? "response" : "request");
		break;
	}
	return out;
}

/* ---- the terminal's engine ---- */

/* What the engine sent last decides how it reacts to an error (§11.6). */
enum sent_kind {
	SENT_I,		/* an I-block of the command */
	SENT_R,		/* an acknowledgement or an error R-block */
	SENT_S_REQUEST,	/* S(IFS) or S(RESYNCH) request */
	SENT_S_RESPONSE,	/* S(WTX), S(IFS) or S(ABORT) response */
};

/* Outcome of one exchange. */
enum rx_result {
	RX_BLOCK = 0,	/* a well-formed block is in x->in */
	RX_INVALID = 1,	/* invalid block or nothing: x->error has the R-block bits */
};

/* One call's worth of exchange state: the block out, the block back. */
struct xchg {
	uint8_t out[T1_MAX_BLOCK];
	size_t out_len;
	enum sent_kind sent;
	uint8_t sent_wtx;	/* the multiplier an S(WTX response) out grants */
	uint8_t wtx;		/* passed to xfr until the card's next block */

	uint8_t in_buf[T1_MAX_BLOCK];
	struct t1_block in;
	uint8_t error;		/* T1_R_EDC_ERROR or T1_R_OTHER_ERROR */
};

static void xchg_set(struct ifd_t1 *t, struct xchg *x, uint8_t pcb, const uint8_t *inf,
		     size_t len, enum sent_kind kind)
{
	x->out_len = t1_block_build(t->nad, pcb, inf, len, t->edc, x->out);
	x->sent = kind;
}

static void xchg_r(struct ifd_t1 *t, struct xchg *x, uint8_t error)
{
	xchg_set(t, x, (uint8_t)(T1_R_BLOCK | (t->nr ? T1_R_NR : 0) | error), NULL, 0, SENT_R);
}

/*
 * Whether a block that passed the codec makes sense as T=1 at all: LEN
 * within what the receiver announced for an I-block, no INF in an R-block,
 * one byte of 1..254 in S(IFS), one byte in S(WTX), nothing in the others,
 * and no S-block type beyond WTX. A block that fails is invalid, with
 * "other error" in the R-block that answers it.
 */
static bool well_formed(const struct t1_block *b, size_t max_inf)
{
	switch (t1_block_kind(b->pcb)) {
	case T1_KIND_I:
		return b->len <= max_inf;
	case T1_KIND_R:
		return b->len == 0 && !(b->pcb & T1_R_RFU);
	case T1_KIND_S:
		switch (b->pcb & T1_S_TYPE_MASK) {
		case T1_S_IFS:
			return b->len == 1 && b->inf[0] != 0x00 && b->inf[0] != 0xFF;
		case T1_S_WTX:
			return b->len == 1;
		case T1_S_RESYNCH:
		case T1_S_ABORT:
			return b->len == 0;
		default:
			return false;
		}
	}
	return false;
}

/*
 * Send x->out and take the card's answer. Returns RX_BLOCK, RX_INVALID or
 * a fatal value from xfr. The WTX multiplier stays in force until a block
 * (valid or not) comes back: a mute card has not used its extra time yet.
 */
static int xchg_run(struct ifd_t1 *t, struct xchg *x)
{
	char name[48];
	size_t n = 0;

	LOG_D(t->log, "T=1 -> %s", block_name(x->out[1], x->out[2], name, sizeof(name)));
	t->stats.blocks_sent++;
	int rc = t->xfr(t->arg, x->out, x->out_len, x->in_buf, sizeof(x->in_buf), &n, x->wtx);
	if (rc == T1_XFR_TIMEOUT) {
		LOG_D(t->log, "T=1 <- nothing within the waiting time");
		x->error = T1_R_OTHER_ERROR;
		return RX_INVALID;
	}
	x->wtx = 0;
	if (rc < 0 && rc != T1_XFR_INVALID)
		return rc;
	if (rc != 0 || n > sizeof(x->in_buf) ||
	    t1_block_parse(x->in_buf, n, t->edc, &x->in) != 0) {
		LOG_D(t->log, "T=1 <- invalid block (%zu bytes)", rc == 0 ? n : 0);
		x->error = T1_R_EDC_ERROR;
		return RX_INVALID;
	}
	LOG_D(t->log, "T=1 <- %s", block_name(x->in.pcb, x->in.len, name, sizeof(name)));
	if (!well_formed(&x->in, t->ifsd)) {
		x->error = T1_R_OTHER_ERROR;
		return RX_INVALID;
	}
	return RX_BLOCK;
}

static bool is_s(const struct t1_block *b, uint8_t pcb)
{
	return t1_block_kind(b->pcb) == T1_KIND_S && b->pcb == pcb;
}

/*
 * Rule 6: S(RESYNCH request) until the card answers it, at most three
 * times. On success both sequence numbers are 0 again.
 */
static int resynchronise(struct ifd_t1 *t, struct xchg *x)
{
	t->stats.resyncs++;
	for (unsigned attempt = 0; attempt < T1_RESYNCH_ATTEMPTS; attempt++) {
		xchg_set(t, x, T1_S_BLOCK | T1_S_RESYNCH, NULL, 0, SENT_S_REQUEST);
		int rc = xchg_run(t, x);
		if (rc < 0)
			return rc;
		if (rc == RX_BLOCK && is_s(&x->in, T1_S_BLOCK | T1_S_RESPONSE | T1_S_RESYNCH)) {
			t->ns = 0;
			t->nr = 0;
			LOG_D(t->log, "T=1 resynchronised");
			return 0;
		}
	}
	LOG_D(t->log, "T=1 resynchronisation failed");
	return T1_ERR_DEAD;
}

static void xchg_init(struct xchg *x)
{
	memset(x, 0, sizeof(*x));
}

void ifd_t1_init(struct ifd_t1 *t, size_t ifsc, enum ifd_t1_edc edc, t1_xfr_fn xfr,
		 void *arg, const struct logger *log)
{
	if (!t)
		return;
	memset(t, 0, sizeof(*t));
	t->xfr = xfr;
	t->arg = arg;
	t->log = log;
	t->edc = edc;
	t->nad = 0;
	/* TA for T=1 of 00 or FF is reserved; keep to what a block can carry. */
	t->ifsc = (ifsc >= 1 && ifsc <= T1_MAX_INF) ? ifsc : T1_DEFAULT_IFS;
	t->ifsd = T1_DEFAULT_IFS;
	t->ns = 0;
	t->nr = 0;
	t->max_retries = T1_DEFAULT_RETRIES;
}

static bool engine_ok(const struct ifd_t1 *t)
{
	return t && t->xfr && t->ifsc >= 1 && t->ifsc <= T1_MAX_INF && t->ifsd >= 1 &&
	       t->ifsd <= T1_MAX_INF && t->ns <= 1 && t->nr <= 1;
}

int ifd_t1_resync(struct ifd_t1 *t)
{
	struct xchg x;

	if (!engine_ok(t))
		return T1_ERR_INVALID_ARGUMENT;
	xchg_init(&x);
	return resynchronise(t, &x);
}

int ifd_t1_negotiate_ifsd(struct ifd_t1 *t, uint8_t ifsd)
{
	struct xchg x;
	unsigned errors = 0;

	if (!engine_ok(t) || ifsd == 0 || ifsd > T1_MAX_INF)
		return T1_ERR_INVALID_ARGUMENT;
	xchg_init(&x);
	xchg_set(t, &x, T1_S_BLOCK | T1_S_IFS, &ifsd, 1, SENT_S_REQUEST);
	for (;;) {
		int rc = xchg_run(t, &x);
		if (rc < 0)
			return rc;
		if (rc == RX_BLOCK && is_s(&x.in, T1_S_BLOCK | T1_S_RESPONSE | T1_S_IFS) &&
		    x.in.inf[0] == ifsd) {
			t->ifsd = ifsd;
			return 0;
		}
		/*
		 * Rule 7.3: whatever else came back (an invalid block,
		 * nothing, an R-block from a card that could not read the
		 * request, a response with another size), the request goes
		 * again, not an R-block: nothing is owed to the card.
		 */
		if (++errors > t->max_retries)
			break;
		t->stats.retransmissions++;
		xchg_set(t, &x, T1_S_BLOCK | T1_S_IFS, &ifsd, 1, SENT_S_REQUEST);
	}
	int rc = resynchronise(t, &x);
	return rc == 0 ? T1_ERR_FAILED : rc;
}

/* What the engine knows about the command it is sending. */
struct command {
	const uint8_t *apdu;
	size_t len;
	size_t off;	/* first byte of the I-block in flight */
	size_t chunk;	/* its length */
};

static bool command_more(const struct command *cmd)
{
	return cmd->off + cmd->chunk < cmd->len;
}

/* The I-block in flight: the same bytes every time it is (re)sent. */
static void xchg_i(struct ifd_t1 *t, struct xchg *x, const struct command *cmd)
{
	uint8_t pcb = (uint8_t)(T1_I_BLOCK | (t->ns ? T1_I_NS : 0) |
				(command_more(cmd) ? T1_I_MORE : 0));
	xchg_set(t, x, pcb, cmd->apdu + cmd->off, cmd->chunk, SENT_I);
}

static void command_next(struct ifd_t1 *t, struct command *cmd)
{
	size_t left;

	cmd->off += cmd->chunk;
	left = cmd->len - cmd->off;
	cmd->chunk = left < t->ifsc ? left : t->ifsc;
}

int ifd_t1_transceive(struct ifd_t1 *t, const uint8_t *apdu, size_t len, uint8_t *rsp,
		      size_t rsp_cap, size_t *rsp_len)
{
	struct xchg x;
	struct command cmd = { apdu, len, 0, 0 };
	bool receiving = false;	/* the card has started its answer */
	bool aborting = false;	/* we answered S(ABORT request) */
	bool too_long = false;
	size_t got = 0;
	unsigned errors = 0;

	if (!engine_ok(t) || !apdu || len == 0 || !rsp_len || (!rsp && rsp_cap))
		return T1_ERR_INVALID_ARGUMENT;
	*rsp_len = 0;
	xchg_init(&x);
	cmd.chunk = len < t->ifsc ? len : t->ifsc;
	xchg_i(t, &x, &cmd);

	for (;;) {
		int rc = xchg_run(t, &x);
		if (rc < 0)
			return rc;
		if (rc == RX_INVALID) {
			/* The card gave the turn back by staying silent. */
			if (aborting && x.error == T1_R_OTHER_ERROR)
				return T1_ERR_ABORTED;
			goto recover;
		}

		const struct t1_block *b = &x.in;
		uint8_t seq;

		switch (t1_block_kind(b->pcb)) {
		case T1_KIND_I:
			seq = (b->pcb & T1_I_NS) ? 1 : 0;
			/*
			 * A chained I-block of ours is acknowledged by an
			 * R-block, never by an I-block; an I-block with the
			 * wrong N(S) repeats one we have (our acknowledgement
			 * was lost) or is out of step. Either way the R-block
			 * of rule 7.1 asks for the block we expect.
			 */
			if (aborting || (!receiving && command_more(&cmd)) || seq != t->nr) {
				x.error = T1_R_OTHER_ERROR;
				goto recover;
			}
			if (!receiving) {
				/* The card's first I-block acknowledges our last. */
				receiving = true;
				t->ns ^= 1;
			}
			t->nr ^= 1;
			errors = 0;
			if (got + b->len > rsp_cap)
				too_long = true;
			/* Keep the turns going after an overflow, so that both
			 * ends stay in step; only the data is dropped. */
			if (!too_long && b->len) {
				memcpy(rsp + got, b->inf, b->len);
				got += b->len;
			}
			if (!(b->pcb & T1_I_MORE)) {
				*rsp_len = got;
				return too_long ? T1_ERR_RESPONSE_TOO_LONG : 0;
			}
			xchg_r(t, &x, 0);	/* rule 5: R(N(R)) for the next one */
			continue;

		case T1_KIND_R:
			seq = (b->pcb & T1_R_NR) ? 1 : 0;
			if (aborting) {
				/* Rule 9: the R-block after an abort gives the turn
				 * back and says which N(S) the card expects. */
				t->ns = seq;
				return T1_ERR_ABORTED;
			}
			if (!receiving && seq != t->ns && command_more(&cmd)) {
				/* Rule 5: our chained block arrived, the card
				 * asks for the next N(S). */
				t->ns ^= 1;
				errors = 0;
				command_next(t, &cmd);
				xchg_i(t, &x, &cmd);
				continue;
			}
			if (++errors > t->max_retries)
				goto resync;
			t->stats.retransmissions++;
			/*
			 * The card's side of rule 7.1: it asks for the
			 * I-block with N(S) = N(R), ours. Any other R-block
			 * says the card did not understand what we sent last
			 * (an acknowledgement, an S-response): send it again.
			 */
			if (!receiving && seq == t->ns)
				xchg_i(t, &x, &cmd);
			else if (x.sent == SENT_S_RESPONSE)
				x.wtx = x.sent_wtx;
			continue;

		case T1_KIND_S:
			if (b->pcb & T1_S_RESPONSE) {
				/* We asked for nothing in this exchange. */
				x.error = T1_R_OTHER_ERROR;
				goto recover;
			}
			switch (b->pcb & T1_S_TYPE_MASK) {
			case T1_S_WTX:
				/* Rule 3: grant the time, for the next answer. */
				t->stats.wtx_requests++;
				xchg_set(t, &x, T1_S_BLOCK | T1_S_RESPONSE | T1_S_WTX, b->inf, 1,
					 SENT_S_RESPONSE);
				x.sent_wtx = b->inf[0];
				x.wtx = b->inf[0];
				continue;
			case T1_S_IFS:
				/* Rule 4: the card's new IFSC holds from the next
				 * I-block; the one in flight keeps its size so that
				 * a retransmission stays the same block. */
				t->stats.ifs_requests++;
				t->ifsc = b->inf[0];
				xchg_set(t, &x, T1_S_BLOCK | T1_S_RESPONSE | T1_S_IFS, b->inf, 1,
					 SENT_S_RESPONSE);
				x.sent_wtx = 0;
				continue;
			case T1_S_ABORT:
				if (aborting) {
					/* Our response did not arrive: a retry. */
					if (++errors > t->max_retries)
						goto resync;
					t->stats.retransmissions++;
				}
				aborting = true;
				xchg_set(t, &x, T1_S_BLOCK | T1_S_RESPONSE | T1_S_ABORT, NULL, 0,
					 SENT_S_RESPONSE);
				x.sent_wtx = 0;
				continue;
			default:
				/* Only the terminal may ask for RESYNCH. */
				x.error = T1_R_OTHER_ERROR;
				goto recover;
			}
		}
		continue;

recover:
		/* Rules 7.1 and 7.2: after an invalid block or a timeout, an
		 * R-block asking for the I-block we expect (also when what we
		 * sent was an S-response); if an R-block was already what we
		 * sent, it goes again, with the error seen this time. */
		if (++errors > t->max_retries)
			goto resync;
		t->stats.retransmissions++;
		xchg_r(t, &x, x.error);
		continue;

resync:
		/* Rule 7.4: retries exhausted, resynchronise. The command is
		 * not sent again: it may have run, so the caller decides. */
		rc = resynchronise(t, &x);
		return rc == 0 ? T1_ERR_FAILED : rc;
	}
}
