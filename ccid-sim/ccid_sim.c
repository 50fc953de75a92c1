/*
 * ccid_sim.c - the CCID reader simulator's logic (see ccid_sim.h).
 *
 * vc_ccid_sim_handle() decodes one PC_to_RDR message, makes the checks a
 * real reader makes before it touches the card (slot, abort in progress,
 * message length), then hands it to one function per command. XfrBlock
 * takes one path per exchange level: xfr_tpdu() (PPS, then T=1 through
 * the card's T=1 engine, t1_card.c, or T=0 through vcard/t0_card.c),
 * xfr_short_apdu() and xfr_extended_apdu() (chaining in both directions).
 * Wire faults are applied last, to the answer as a whole, so every path
 * can be hit by them.
 *
 * Error answers follow CCID 1.1 §6.2.6: bError is the offset of the bad
 * field for a malformed command (1 dwLength, 5 bSlot, 7 bPowerSelect or
 * bProtocolNum, 8 wLevelParameter, 10+ the protocol data), 00 for a
 * command the reader does not support, ICC_MUTE when no card answers
 * (slot empty, or a card that lost power) and HW_ERROR for an exchange
 * with a card that is present but not activated.
 */
#include "ccid_sim.h"

#include <stdio.h>
#include <string.h>

#include "cursor.h"
#include "prng.h"
#include "sim_proto.h"

/* Offsets of the PC_to_RDR fields that bError names when one is wrong. */
#define OFF_DWLENGTH 1
#define OFF_BSLOT 5
#define OFF_PARAM0 7	/* bPowerSelect, bBWI, bProtocolNum */
#define OFF_LEVEL 8	/* wLevelParameter */
#define OFF_DATA 10

#define CLOCK_RUNNING 0x00
#define CLOCK_STOPPED_LOW 0x01

#define FIDI_DEFAULT 0x11
#define PPSS 0xFF
#define GARBAGE_MAX 64

/* A valid pointer for empty abData (memcpy must never see NULL). */
static const uint8_t no_data[1];

/* One command being answered. */
struct command {
	struct ccid_msg m;
	uint8_t rsp_type;		/* the RDR_to_PC type that answers it */
	struct vc_ccid_slot *sl;	/* NULL when bSlot names no slot */
	bool t1_block;			/* the answer carries a T=1 block */
};

enum card_result {
	CARD_OK = 0,
	CARD_LOST,	/* power lost during the command: the card is mute */
	CARD_MUTE,	/* nothing the card could read: it does not answer */
	CARD_ERROR,	/* the card platform failed */
};

/* ---- small helpers ---- */

static bool fi_di_valid(uint8_t fidi)
{
	uint8_t fi = fidi >> 4, di = fidi & 0x0F;
	/* ISO 7816-3 tables 7 and 8: Fi 7, 8, E, F and Di 0, A-F are RFU. */
	return (fi <= 6 || (fi >= 9 && fi <= 13)) && di >= 1 && di <= 9;
}

static uint8_t first_protocol(const struct vc_ccid_config *cfg)
{
	return (cfg->protocols & IFD_PROTOCOL_T0) ? 0 : 1;
}

static uint8_t icc_status(const struct vc_ccid_slot *sl)
{
	if (!sl || !sl->present)
		return CCID_ICC_ABSENT;
	return sl->powered ? CCID_ICC_ACTIVE : CCID_ICC_INACTIVE;
}

static uint8_t response_type(uint8_t type)
{
	switch (type) {
	case PC_TO_RDR_ICC_POWER_ON:
	case PC_TO_RDR_XFR_BLOCK:
	case PC_TO_RDR_SECURE:
		return RDR_TO_PC_DATA_BLOCK;
	case PC_TO_RDR_GET_PARAMETERS:
	case PC_TO_RDR_RESET_PARAMETERS:
	case PC_TO_RDR_SET_PARAMETERS:
		return RDR_TO_PC_PARAMETERS;
	case PC_TO_RDR_ESCAPE:
		return RDR_TO_PC_ESCAPE;
	case PC_TO_RDR_SET_DATA_RATE:
		return RDR_TO_PC_DATA_RATE;
	default:
		/* Everything else, unknown types included (CCID §6.2.6:
		 * "command not supported" comes in a SlotStatus). */
		return RDR_TO_PC_SLOT_STATUS;
	}
}

/* The reader's parameters after power-on and ResetParameters: the first
 * protocol it supports at the default rate. At the APDU levels the reader
 * configures itself from the ATR, so TA1 and the T=1 bytes are taken. */
static void default_params(const struct vc_ccid_sim *s, struct ccid_params *p)
{
	const struct vc_ccid_config *cfg = &s->cfg;
	bool from_atr = cfg->level != CCID_LEVEL_TPDU || cfg->reader_negotiates;

	memset(p, 0, sizeof(*p));
	p->protocol = first_protocol(cfg);
	p->fi_di = from_atr && cfg->ta1 ? cfg->ta1 : FIDI_DEFAULT;
	if (p->protocol == 0) {
		p->waiting = 0x0A;	/* WI 10, ISO's default */
	} else {
		p->tcck = (uint8_t)(0x10 | (from_atr && cfg->edc == IFD_T1_EDC_CRC ? 0x01 : 0));
		p->waiting = 0x4D;	/* BWI 4, CWI 13 */
		p->ifsc = from_atr ? cfg->ifsc : 32;
	}
}

/* Offset of the first bad byte of SetParameters' protocol data, 0 if
 * all are acceptable. */
static uint8_t params_check(const struct ccid_params *p)
{
	if (!fi_di_valid(p->fi_di))
		return OFF_DATA + 0;
	if (p->protocol == 0) {
		if (p->tcck & ~0x02)
			return OFF_DATA + 1;
		if (p->waiting == 0)	/* WI 0 is RFU */
			return OFF_DATA + 3;
	} else {
		if ((p->tcck & ~0x03) != 0x10)
			return OFF_DATA + 1;
		if ((p->waiting >> 4) > 9)	/* BWI 10-15 are RFU */
			return OFF_DATA + 3;
	}
	if (p->clock_stop > 3)
		return OFF_DATA + 4;
	if (p->protocol == 1) {
		if (p->ifsc == 0 || p->ifsc == 0xFF)
			return OFF_DATA + 5;
		if (p->nad != 0)	/* dwFeatures does not announce NAD */
			return OFF_DATA + 6;
	}
	return 0;
}

/* Forget every exchange in progress on the slot. */
static void reset_exchange(struct vc_ccid_slot *sl)
{
	sl->cmd_open = false;
	sl->cmd_overflow = false;
	sl->cmd_len = 0;
	sl->rsp_open = false;
	sl->rsp_len = sl->rsp_off = 0;
	vc_t0_card_reset(&sl->t0);
	sl->pps_allowed = false;
}

static void deactivate(struct vc_ccid_slot *sl)
{
	if (sl->has_card)
		vc_card_power_down(&sl->card);
	sl->powered = false;
	reset_exchange(sl);
}

/* ---- building answers ---- */

static void out_reset(struct vc_ccid_out *o)
{
	o->count = 0;
	o->used = 0;
}

static void out_add(struct vc_ccid_sim *s, struct vc_ccid_out *o, uint8_t type, uint8_t slot,
		    uint8_t seq, uint8_t status, uint8_t error, uint8_t specific,
		    const uint8_t *data, size_t len)
{
	if (o->count >= VC_CCID_OUT_MSGS) {
		LOG_E(s->log, "internal: too many messages for one command; one dropped");
		return;
	}
	size_t n = ccid_build_response(type, slot, seq, status, error, specific,
				       data ? data : no_data, len, o->buf + o->used,
				       sizeof(o->buf) - o->used);
	if (n == 0) {
		LOG_E(s->log, "internal: an answer of %zu bytes does not fit; dropped", len);
		return;
	}
	o->off[o->count] = o->used;
	o->len[o->count] = n;
	o->count++;
	o->used += n;
}

static uint8_t specific_byte(const struct command *c)
{
	switch (c->rsp_type) {
	case RDR_TO_PC_SLOT_STATUS:
		return c->sl && c->sl->powered ? CLOCK_RUNNING : CLOCK_STOPPED_LOW;
	case RDR_TO_PC_PARAMETERS:
		return c->sl ? c->sl->params.protocol : 0;
	default:
		return 0;
	}
}

static void reply_ok(struct vc_ccid_sim *s, const struct command *c, struct vc_ccid_out *out,
		     uint8_t specific, const uint8_t *data, size_t len)
{
	out_add(s, out, c->rsp_type, c->m.slot, c->m.seq,
		CCID_STATUS(icc_status(c->sl), CCID_CMD_OK), 0, specific, data, len);
}

static void reply_fail(struct vc_ccid_sim *s, const struct command *c, struct vc_ccid_out *out,
		       uint8_t error)
{
	LOG_D(s->log, "slot %u seq %u: %s fails with %02X (%s)", c->m.slot, c->m.seq,
	      ccid_msg_name(c->m.type), error, ccid_error_name(error));
	out_add(s, out, c->rsp_type, c->m.slot, c->m.seq,
		CCID_STATUS(icc_status(c->sl), CCID_CMD_FAILED), error, specific_byte(c), NULL, 0);
}

/* The configured number of "more time needed" DataBlocks before the
 * answer of a command that runs the card (CCID §6.2.1, bStatus command
 * status 2, bError the multiplier). */
static void time_extensions(struct vc_ccid_sim *s, const struct command *c,
			    struct vc_ccid_out *out)
{
	for (unsigned i = 0; i < s->cfg.time_extensions; i++) {
		out_add(s, out, RDR_TO_PC_DATA_BLOCK, c->m.slot, c->m.seq,
			CCID_STATUS(icc_status(c->sl), CCID_CMD_TIME_EXTENSION),
			s->cfg.time_extension_multiplier, 0, NULL, 0);
		s->stats.time_extensions++;
	}
}

/* ---- wire faults ---- */

static const char *const fault_names[VC_CCID_FAULT_KINDS] = {
	[VC_CCID_FAULT_FLIP] = "flip",
	[VC_CCID_FAULT_DROP] = "drop",
	[VC_CCID_FAULT_SEQ] = "seq",
	[VC_CCID_FAULT_GARBAGE] = "garbage",
	[VC_CCID_FAULT_TRUNCATE] = "truncate",
};

const char *vc_ccid_fault_name(enum vc_ccid_fault fault)
{
	return (unsigned)fault < VC_CCID_FAULT_KINDS ? fault_names[fault] : "unknown";
}

int vc_ccid_fault_parse(const char *name)
{
	for (int i = 0; i < VC_CCID_FAULT_KINDS; i++)
		if (strcmp(name, fault_names[i]) == 0)
			return i;
	return -1;
}

void vc_ccid_sim_arm_fault(struct vc_ccid_sim *s, enum vc_ccid_fault fault, unsigned n)
{
	if ((unsigned)fault < VC_CCID_FAULT_KINDS)
		s->fault_countdown[fault] = n;
}

static void fire(struct vc_ccid_sim *s, enum vc_ccid_fault fault, struct vc_ccid_out *out)
{
	unsigned last = out->count - 1;
	uint8_t *msg = out->buf + out->off[last];
	size_t len = out->len[last];
	size_t room = sizeof(out->buf) - out->off[last];

	switch (fault) {
	case VC_CCID_FAULT_FLIP:
		if (len > CCID_HEADER_LEN) {
			size_t at = CCID_HEADER_LEN +
				    (size_t)(prng_splitmix64(&s->rng) % (len - CCID_HEADER_LEN));
			msg[at] ^= (uint8_t)(1u << (prng_splitmix64(&s->rng) % 8));
			LOG_I(s->log, "fault: one bit flipped in byte %zu of the T=1 block",
			      at - CCID_HEADER_LEN);
		}
		break;
	case VC_CCID_FAULT_SEQ:
		msg[6] = (uint8_t)(msg[6] + 1);
		LOG_I(s->log, "fault: answer sent with bSeq %u", msg[6]);
		break;
	case VC_CCID_FAULT_TRUNCATE:
		if (len > 1) {
			out->len[last] = 1 + (size_t)(prng_splitmix64(&s->rng) % (len - 1));
			LOG_I(s->log, "fault: answer truncated to %zu of %zu bytes",
			      out->len[last], len);
		}
		break;
	case VC_CCID_FAULT_GARBAGE: {
		size_t n = 1 + (size_t)(prng_splitmix64(&s->rng) % GARBAGE_MAX);
		if (n > room)
			n = room;
		for (size_t i = 0; i < n; i++)
			msg[i] = (uint8_t)prng_splitmix64(&s->rng);
		out->len[last] = n;
		LOG_I(s->log, "fault: %zu random bytes sent instead of the answer", n);
		break;
	}
	case VC_CCID_FAULT_DROP:
		out->count = 0;
		out->used = 0;
		LOG_I(s->log, "fault: answer dropped (the driver times out; the reader waits "
			      "for its next command)");
		break;
	default:
		break;
	}
	s->stats.faults++;
	s->stats.fault_by_kind[fault]++;
}

/* Count down every armed fault on this answer and fire the ones due, in
 * an order where each still has something to act on (drop last). */
static void apply_faults(struct vc_ccid_sim *s, struct vc_ccid_out *out, bool t1_block)
{
	static const enum vc_ccid_fault order[] = {
		VC_CCID_FAULT_FLIP, VC_CCID_FAULT_SEQ, VC_CCID_FAULT_TRUNCATE,
		VC_CCID_FAULT_GARBAGE, VC_CCID_FAULT_DROP,
	};
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		enum vc_ccid_fault f = order[i];
		if (out->count == 0 || s->fault_countdown[f] == 0)
			continue;
		if (f == VC_CCID_FAULT_FLIP && !t1_block)
			continue;
		if (--s->fault_countdown[f] == 0)
			fire(s, f, out);
	}
}

/* ---- the card ---- */

static void power_lost(struct vc_ccid_slot *sl)
{
	struct vc_ccid_sim *s = sl->sim;
	s->stats.power_losses++;
	LOG_W(s->log, "slot %u: the card lost power in the middle of a command (tear); "
		      "it is mute until the next IccPowerOn", sl->index);
	deactivate(sl);
}

/* One command APDU through the card; rsp holds VC_RSP_MAX bytes. */
static enum card_result card_apdu(struct vc_ccid_slot *sl, const uint8_t *apdu, size_t len,
				  uint8_t *rsp, size_t *rsp_len)
{
	struct vc_ccid_sim *s = sl->sim;
	s->stats.apdus++;
	enum vc_status st = vc_card_process(&sl->card, apdu, len, rsp, rsp_len);
	if (st == VC_OK && *rsp_len >= 2)
		return CARD_OK;
	if (st == VC_ERR_POWER_LOST) {
		power_lost(sl);
		return CARD_LOST;
	}
	LOG_E(s->log, "slot %u: the card did not process the command: %s", sl->index,
	      vc_status_str(st));
	return CARD_ERROR;
}

/* The T=1 engine's way to the card. */
static int t1_process(void *arg, const uint8_t *apdu, size_t len, uint8_t *rsp, size_t cap,
		      size_t *rsp_len)
{
	struct vc_ccid_slot *sl = arg;
	size_t n = 0;

	*rsp_len = 0;
	switch (card_apdu(sl, apdu, len, sl->rsp, &n)) {
	case CARD_OK:
		break;
	case CARD_LOST:
		return -1;
	default:
		n = 2;
		store_be16(sl->rsp, SW_UNKNOWN);
		break;
	}
	if (n > cap) {
		n = 2;
		store_be16(sl->rsp, SW_UNKNOWN);
	}
	memcpy(rsp, sl->rsp, n);
	*rsp_len = n;
	return 0;
}

static void answer_card_failure(struct vc_ccid_sim *s, const struct command *c,
				struct vc_ccid_out *out, enum card_result r)
{
	reply_fail(s, c, out, r == CARD_ERROR ? CCID_ERR_HW_ERROR : CCID_ERR_ICC_MUTE);
}

/* The T=0 adapter's way to the card: the answer stays in the slot's
 * buffer. Returns a card_result, CARD_OK being 0. */
static int t0_process(void *arg, const uint8_t *apdu, size_t len, const uint8_t **rsp,
		      size_t *rsp_len)
{
	struct vc_ccid_slot *sl = arg;
	*rsp = sl->rsp;
	return (int)card_apdu(sl, apdu, len, sl->rsp, rsp_len);
}

/* ---- XfrBlock, one path per level ---- */

/* A PPS request right after the ATR (ISO 7816-3 §9): the card echoes an
 * acceptable request, answers without PPS1 when it refuses the rate
 * (the default rate then applies), and stays mute on anything malformed
 * or a protocol it does not offer. */
static void xfr_pps(struct vc_ccid_sim *s, struct command *c, struct vc_ccid_out *out)
{
	struct vc_ccid_slot *sl = c->sl;
	struct cursor cur;
	uint8_t ppss = 0, pps0 = 0, pps1 = 0, check = 0;

	sl->pps_allowed = false;
	cursor_init(&cur, c->m.data, c->m.len);
	bool ok = cursor_u8(&cur, &ppss) && cursor_u8(&cur, &pps0);
	if (ok && (pps0 & 0x10))
		ok = cursor_u8(&cur, &pps1);
	if (ok && (pps0 & 0x20))
		ok = cursor_skip(&cur, 1);
	if (ok && (pps0 & 0x40))
		ok = cursor_skip(&cur, 1);
	ok = ok && cursor_skip(&cur, 1) && cursor_done(&cur);
	for (size_t i = 0; ok && i < c->m.len; i++)
		check ^= c->m.data[i];
	uint8_t t = pps0 & 0x0F;
	if (!ok || check != 0 || (pps0 & 0x80) || t > 1 || !(s->cfg.protocols & (1u << t))) {
		LOG_W(s->log, "slot %u: PPS request malformed, with a bad PCK or for a protocol "
			      "the ATR does not offer: the card stays mute", sl->index);
		reply_fail(s, c, out, CCID_ERR_ICC_MUTE);
		return;
	}

	uint8_t offered = s->cfg.ta1 ? s->cfg.ta1 : FIDI_DEFAULT;
	bool take_rate = (pps0 & 0x10) && (pps1 == offered || pps1 == FIDI_DEFAULT);
	uint8_t rsp[4];
	size_t n = 0;
	rsp[n++] = PPSS;
	rsp[n++] = (uint8_t)(t | (take_rate ? 0x10 : 0));
	if (take_rate)
		rsp[n++] = pps1;
	uint8_t pck = 0;
	for (size_t i = 0; i < n; i++)
		pck ^= rsp[i];
	rsp[n++] = pck;

	sl->card_protocol = t;
	sl->card_fidi = take_rate ? pps1 : FIDI_DEFAULT;
	LOG_I(s->log, "slot %u: PPS: the card now runs T=%u at Fi/Di %02X", sl->index, t,
	      sl->card_fidi);
	reply_ok(s, c, out, 0, rsp, n);
}

static void xfr_tpdu(struct vc_ccid_sim *s, struct command *c, struct vc_ccid_out *out)
{
	struct vc_ccid_slot *sl = c->sl;

	if (c->m.param[0])
		LOG_D(s->log, "slot %u: XfrBlock with bBWI %u", sl->index, c->m.param[0]);
	if (sl->pps_allowed && c->m.len > 0 && c->m.data[0] == PPSS) {
		xfr_pps(s, c, out);
		return;
	}
	/* Anything else after the ATR puts the card's protocol in use. */
	sl->pps_allowed = false;
	if (sl->params.protocol != sl->card_protocol || sl->params.fi_di != sl->card_fidi) {
		LOG_W(s->log, "slot %u: the reader runs T=%u at Fi/Di %02X but the card T=%u at "
			      "%02X: the card hears nothing it understands (a PPS and a matching "
			      "SetParameters are needed)", sl->index, sl->params.protocol,
		      sl->params.fi_di, sl->card_protocol, sl->card_fidi);
		reply_fail(s, c, out, CCID_ERR_ICC_MUTE);
		return;
	}

	time_extensions(s, c, out);
	if (sl->card_protocol == 1) {
		uint8_t block[T1_MAX_BLOCK];
		size_t n = 0;
		int rc = vc_t1_card_block(&sl->t1, c->m.data, c->m.len, block, &n);
		if (rc == 0 && n > 0 && n <= sizeof(block)) {
			c->t1_block = true;
			reply_ok(s, c, out, 0, block, n);
		} else {
			/* rc 1: power lost (the slot is already deactivated);
			 * otherwise nothing the card could take as a block. */
			reply_fail(s, c, out, CCID_ERR_ICC_MUTE);
		}
		return;
	}
	uint8_t rsp[VC_T0_RSP_MAX];
	size_t n = 0;
	int r = vc_t0_card_tpdu(&sl->t0, c->m.data, c->m.len, rsp, &n);
	if (r == VC_T0_MUTE)
		answer_card_failure(s, c, out, CARD_MUTE);
	else if (r != CARD_OK)
		answer_card_failure(s, c, out, (enum card_result)r);
	else
		reply_ok(s, c, out, 0, rsp, n);
}

static void xfr_short_apdu(struct vc_ccid_sim *s, struct command *c, struct vc_ccid_out *out)
{
	struct vc_ccid_slot *sl = c->sl;
	size_t n = 0;

	time_extensions(s, c, out);
	enum card_result r = card_apdu(sl, c->m.data, c->m.len, sl->rsp, &n);
	if (r != CARD_OK)
		answer_card_failure(s, c, out, r);
	else
		reply_ok(s, c, out, 0, sl->rsp, n);
}

/* The next part of the response: all of it when it fits one message,
 * otherwise dwMaxCCIDMessageLength - 10 bytes with bChainParameter
 * 01 (first), 03 (more follow) or 02 (last). */
static void send_response_part(struct vc_ccid_sim *s, struct command *c, struct vc_ccid_out *out)
{
	struct vc_ccid_slot *sl = c->sl;
	size_t chunk = s->cfg.max_message_length - CCID_HEADER_LEN;
	size_t left = sl->rsp_len - sl->rsp_off;
	bool first = sl->rsp_off == 0;
	uint8_t chain;
	size_t n;

	if (left <= chunk) {
		n = left;
		chain = first ? CCID_CHAIN_BEGIN_AND_END : CCID_CHAIN_END;
		sl->rsp_open = false;
	} else {
		n = chunk;
		chain = first ? CCID_CHAIN_BEGIN : CCID_CHAIN_CONTINUE;
		sl->rsp_open = true;
	}
	reply_ok(s, c, out, chain, sl->rsp + sl->rsp_off, n);
	sl->rsp_off += n;
}

static void run_extended(struct vc_ccid_sim *s, struct command *c, struct vc_ccid_out *out,
			 const uint8_t *apdu, size_t len)
{
	struct vc_ccid_slot *sl = c->sl;
	size_t n = 0;

	time_extensions(s, c, out);
	enum card_result r = card_apdu(sl, apdu, len, sl->rsp, &n);
	if (r != CARD_OK) {
		answer_card_failure(s, c, out, r);
		return;
	}
	sl->rsp_len = n;
	sl->rsp_off = 0;
	send_response_part(s, c, out);
}

static bool append_command(struct vc_ccid_slot *sl, const struct ccid_msg *m)
{
	if (m->len > sizeof(sl->cmd) - sl->cmd_len)
		return false;
	if (m->len)
		memcpy(sl->cmd + sl->cmd_len, m->data, m->len);
	sl->cmd_len += m->len;
	return true;
}

/*
 * CCID 1.1 §6.1.4: wLevelParameter 00 a whole command, 01 its first part,
 * 03 a middle part, 02 its last part, 10 "send the next part of the
 * response" (empty abData). §6.2.1: each part of a command but the last
 * is answered with an empty DataBlock, bChainParameter 10.
 */
static void xfr_extended_apdu(struct vc_ccid_sim *s, struct command *c, struct vc_ccid_out *out)
{
	struct vc_ccid_slot *sl = c->sl;
	uint16_t level = (uint16_t)(c->m.param[1] | (c->m.param[2] << 8));

	switch (level) {
	case CCID_CHAIN_BEGIN_AND_END:
		sl->cmd_open = false;
		sl->rsp_open = false;
		run_extended(s, c, out, c->m.data, c->m.len);
		return;
	case CCID_CHAIN_BEGIN:
		sl->rsp_open = false;
		sl->cmd_len = 0;
		sl->cmd_open = true;
		break;
	case CCID_CHAIN_CONTINUE:
	case CCID_CHAIN_END:
		if (!sl->cmd_open) {
			reply_fail(s, c, out, OFF_LEVEL);
			return;
		}
		break;
	case CCID_CHAIN_EMPTY:
		if (!sl->rsp_open) {
			reply_fail(s, c, out, OFF_LEVEL);
			return;
		}
		if (c->m.len != 0) {
			reply_fail(s, c, out, OFF_DWLENGTH);
			return;
		}
		send_response_part(s, c, out);
		return;
	default:
		reply_fail(s, c, out, OFF_LEVEL);
		return;
	}

	if (!append_command(sl, &c->m)) {
		LOG_W(s->log, "slot %u: chained command longer than %zu bytes: dropped", sl->index,
		      sizeof(sl->cmd));
		sl->cmd_open = false;
		reply_fail(s, c, out, CCID_ERR_XFR_OVERRUN);
		return;
	}
	if (level == CCID_CHAIN_END) {
		sl->cmd_open = false;
		run_extended(s, c, out, sl->cmd, sl->cmd_len);
		return;
	}
	reply_ok(s, c, out, CCID_CHAIN_EMPTY, NULL, 0);
}

/* ---- the commands ---- */

static void cmd_power_on(struct vc_ccid_sim *s, struct command *c, struct vc_ccid_out *out)
{
	struct vc_ccid_slot *sl = c->sl;
	uint8_t select = c->m.param[0];
	static const uint8_t voltage_bit[] = { 0, CCID_VOLTAGE_5V, CCID_VOLTAGE_3V,
					       CCID_VOLTAGE_1_8V };

	if (c->m.len != 0) {
		reply_fail(s, c, out, OFF_DWLENGTH);
		return;
	}
	if (select > CCID_POWER_1_8V) {
		reply_fail(s, c, out, OFF_PARAM0);
		return;
	}
	if (!sl->present) {
		reply_fail(s, c, out, CCID_ERR_ICC_MUTE);
		return;
	}
	if (select != CCID_POWER_AUTO && !(s->cfg.voltage_support & voltage_bit[select])) {
		LOG_W(s->log, "slot %u: IccPowerOn asks for a voltage the reader does not supply "
			      "(bPowerSelect %u, bVoltageSupport %02X)", sl->index, select,
		      s->cfg.voltage_support);
		deactivate(sl);
		reply_fail(s, c, out, CCID_ERR_ICC_CLASS_NOT_SUPPORTED);
		return;
	}

	/* A power-on of an active card is a cold reset. */
	deactivate(sl);
	enum vc_status st = vc_card_power_up(&sl->card);
	if (st != VC_OK) {
		LOG_W(s->log, "slot %u: the card does not power up: %s", sl->index,
		      vc_status_str(st));
		vc_card_power_down(&sl->card);
		reply_fail(s, c, out, st == VC_ERR_POWER_LOST ? CCID_ERR_ICC_MUTE : CCID_ERR_HW_ERROR);
		return;
	}
	sl->powered = true;
	sl->pps_allowed = s->cfg.level == CCID_LEVEL_TPDU && !s->cfg.reader_negotiates;
	sl->card_protocol = first_protocol(&s->cfg);
	sl->card_fidi = FIDI_DEFAULT;
	default_params(s, &sl->params);
	/* A reader that negotiates has run its PPS for TA1 by now. */
	if (s->cfg.reader_negotiates)
		sl->card_fidi = sl->params.fi_di;
	vc_t1_card_reset(&sl->t1);
	LOG_I(s->log, "slot %u: card powered on", sl->index);
	reply_ok(s, c, out, 0, s->atr, s->atr_len);
}

static void cmd_power_off(struct vc_ccid_sim *s, struct command *c, struct vc_ccid_out *out)
{
	if (c->m.len != 0) {
		reply_fail(s, c, out, OFF_DWLENGTH);
		return;
	}
	if (c->sl->powered)
		LOG_I(s->log, "slot %u: card powered off", c->sl->index);
	deactivate(c->sl);
	reply_ok(s, c, out, specific_byte(c), NULL, 0);
}

static void cmd_slot_status(struct vc_ccid_sim *s, struct command *c, struct vc_ccid_out *out)
{
	if (c->m.len != 0) {
		reply_fail(s, c, out, OFF_DWLENGTH);
		return;
	}
	reply_ok(s, c, out, specific_byte(c), NULL, 0);
}

static void reply_params(struct vc_ccid_sim *s, struct command *c, struct vc_ccid_out *out)
{
	uint8_t data[CCID_PARAMS_T1_LEN];
	size_t n = ccid_params_encode(&c->sl->params, data);
	if (!s->cfg.params_without_length) {
		reply_ok(s, c, out, c->sl->params.protocol, data, n);
		return;
	}
	/* The header says no data, then the T=1-sized structure follows
	 * anyway, as QEMU's usb-ccid sends it. */
	unsigned before = out->count;
	reply_ok(s, c, out, c->sl->params.protocol, NULL, 0);
	if (out->count == before || sizeof(out->buf) - out->used < CCID_PARAMS_T1_LEN)
		return;
	memset(out->buf + out->used, 0, CCID_PARAMS_T1_LEN);
	memcpy(out->buf + out->used, data, n);
	out->used += CCID_PARAMS_T1_LEN;
	out->len[out->count - 1] += CCID_PARAMS_T1_LEN;
}

static void cmd_parameters(struct vc_ccid_sim *s, struct command *c, struct vc_ccid_out *out)
{
	struct vc_ccid_slot *sl = c->sl;

	if (c->m.type != PC_TO_RDR_SET_PARAMETERS) {
		if (c->m.len != 0) {
			reply_fail(s, c, out, OFF_DWLENGTH);
			return;
		}
		if (c->m.type == PC_TO_RDR_RESET_PARAMETERS)
			default_params(s, &sl->params);
		reply_params(s, c, out);
		return;
	}

	uint8_t protocol = c->m.param[0];
	struct ccid_params p = { 0 };
	if (protocol > 1 || !(s->cfg.protocols & (1u << protocol))) {
		reply_fail(s, c, out, OFF_PARAM0);
		return;
	}
	if (ccid_params_decode(protocol, c->m.data, c->m.len, &p) != 0) {
		reply_fail(s, c, out, OFF_DWLENGTH);
		return;
	}
	p.protocol = protocol;
	if (protocol == 0)
		p.ifsc = p.nad = 0;
	uint8_t bad = params_check(&p);
	if (bad) {
		reply_fail(s, c, out, bad);
		return;
	}
	sl->params = p;
	LOG_D(s->log, "slot %u: parameters set: T=%u Fi/Di %02X", sl->index, p.protocol, p.fi_di);
	reply_params(s, c, out);
}

static void cmd_xfr_block(struct vc_ccid_sim *s, struct command *c, struct vc_ccid_out *out)
{
	struct vc_ccid_slot *sl = c->sl;

	if (!sl->present) {
		reply_fail(s, c, out, CCID_ERR_ICC_MUTE);
		return;
	}
	if (!sl->powered) {
		/* CCID §6.2.6: a card present but not activated. */
		reply_fail(s, c, out, CCID_ERR_HW_ERROR);
		return;
	}
	switch (s->cfg.level) {
	case CCID_LEVEL_TPDU:
		xfr_tpdu(s, c, out);
		break;
	case CCID_LEVEL_SHORT_APDU:
		xfr_short_apdu(s, c, out);
		break;
	default:
		xfr_extended_apdu(s, c, out);
		break;
	}
}

static void cmd_escape(struct vc_ccid_sim *s, struct command *c, struct vc_ccid_out *out)
{
	static const char firmware[] = VC_CCID_FIRMWARE;
	reply_ok(s, c, out, 0, (const uint8_t *)firmware, sizeof(firmware) - 1);
}

/* CCID §5.3.1: the ABORT control request and PC_to_RDR_Abort with the
 * same bSeq, in either order; the bulk Abort is answered once both came. */
static void cmd_abort(struct vc_ccid_sim *s, struct command *c, struct vc_ccid_out *out)
{
	struct vc_ccid_slot *sl = c->sl;

	if (c->m.len != 0) {
		reply_fail(s, c, out, OFF_DWLENGTH);
		return;
	}
	if (sl->abort_requested && sl->abort_seq == c->m.seq) {
		sl->abort_requested = false;
		LOG_I(s->log, "slot %u: abort complete", sl->index);
		reply_ok(s, c, out, specific_byte(c), NULL, 0);
		return;
	}
	sl->abort_bulk_waiting = true;
	sl->abort_bulk_seq = c->m.seq;
	LOG_I(s->log, "slot %u: PC_to_RDR_Abort seq %u waits for its ABORT control request",
	      sl->index, c->m.seq);
}

void vc_ccid_sim_abort_request(struct vc_ccid_sim *s, uint8_t slot, uint8_t seq,
			       struct vc_ccid_out *out)
{
	out_reset(out);
	if (slot >= s->cfg.slots) {
		LOG_W(s->log, "ABORT control request for slot %u, which does not exist: ignored",
		      slot);
		return;
	}
	struct vc_ccid_slot *sl = &s->slot[slot];
	/* Whatever was in progress on the slot is abandoned. */
	reset_exchange(sl);
	if (sl->abort_bulk_waiting && sl->abort_bulk_seq == seq) {
		struct command c = { .rsp_type = RDR_TO_PC_SLOT_STATUS, .sl = sl };
		c.m.type = PC_TO_RDR_ABORT;
		c.m.slot = slot;
		c.m.seq = seq;
		sl->abort_bulk_waiting = false;
		LOG_I(s->log, "slot %u: abort complete", slot);
		reply_ok(s, &c, out, specific_byte(&c), NULL, 0);
		apply_faults(s, out, false);
		return;
	}
	sl->abort_requested = true;
	sl->abort_seq = seq;
	LOG_I(s->log, "slot %u: ABORT control request seq %u; waiting for PC_to_RDR_Abort",
	      slot, seq);
}

/*
 * The message trace of debug logs, which never shows a secret (log.h). An
 * XfrBlock and the answers to it carry APDUs or pieces of them (T=1
 * blocks, T=0 data, chained parts), and a piece cannot tell whether its
 * APDU carries a PIN, a key or personal data: of these messages only the
 * header is shown, with the length of abData. The card traces each whole
 * APDU itself, through the same logger, with what is secret in it hidden
 * (vcard/card.c).
 */
static void trace_message(const struct vc_ccid_sim *s, const char *way, const uint8_t *msg,
			  size_t len, bool carries_apdu)
{
	char hex[96];

	if (!s->log || s->log->level < LOG_DEBUG)
		return;
	if (carries_apdu && len > CCID_HEADER_LEN)
		LOG_D(s->log, "%s: %s + %zu bytes of abData not shown", way,
		      log_hex(hex, sizeof(hex), msg, CCID_HEADER_LEN), len - CCID_HEADER_LEN);
	else
		LOG_D(s->log, "%s: %s", way, log_hex(hex, sizeof(hex), msg, len));
}

void vc_ccid_sim_handle(struct vc_ccid_sim *s, const uint8_t *msg, size_t len,
			struct vc_ccid_out *out)
{
	struct command c;

	out_reset(out);
	memset(&c, 0, sizeof(c));
	s->stats.messages++;
	trace_message(s, "in ", msg, len, len > 0 && msg[0] == PC_TO_RDR_XFR_BLOCK);

	if (ccid_msg_decode(msg, len, &c.m) != 0) {
		s->stats.malformed++;
		if (len < CCID_HEADER_LEN) {
			LOG_W(s->log, "bulk-out transfer of %zu bytes holds no CCID header: ignored",
			      len);
			return;
		}
		/* A header whose dwLength disagrees with the transfer: the
		 * reader still answers the command it names. */
		LOG_W(s->log, "bulk-out transfer of %zu bytes whose dwLength says %u: refused",
		      len, load_le32(msg + 1));
		c.m.type = msg[0];
		c.m.slot = msg[5];
		c.m.seq = msg[6];
		c.m.data = no_data;
		c.rsp_type = response_type(c.m.type);
		c.sl = c.m.slot < s->cfg.slots ? &s->slot[c.m.slot] : NULL;
		reply_fail(s, &c, out, OFF_DWLENGTH);
		apply_faults(s, out, false);
		return;
	}
	if (!c.m.data)
		c.m.data = no_data;
	c.rsp_type = response_type(c.m.type);
	c.sl = c.m.slot < s->cfg.slots ? &s->slot[c.m.slot] : NULL;

	if (!c.sl) {
		reply_fail(s, &c, out, OFF_BSLOT);
	} else if (c.sl->abort_requested && c.m.type != PC_TO_RDR_ABORT) {
		reply_fail(s, &c, out, CCID_ERR_CMD_ABORTED);
	} else if (CCID_HEADER_LEN + (size_t)c.m.len > s->cfg.max_message_length) {
		LOG_W(s->log, "%s of %u bytes exceeds dwMaxCCIDMessageLength %u: refused",
		      ccid_msg_name(c.m.type), CCID_HEADER_LEN + c.m.len,
		      s->cfg.max_message_length);
		reply_fail(s, &c, out, OFF_DWLENGTH);
	} else {
		switch (c.m.type) {
		case PC_TO_RDR_ICC_POWER_ON:
			cmd_power_on(s, &c, out);
			break;
		case PC_TO_RDR_ICC_POWER_OFF:
			cmd_power_off(s, &c, out);
			break;
		case PC_TO_RDR_GET_SLOT_STATUS:
			cmd_slot_status(s, &c, out);
			break;
		case PC_TO_RDR_XFR_BLOCK:
			cmd_xfr_block(s, &c, out);
			break;
		case PC_TO_RDR_GET_PARAMETERS:
		case PC_TO_RDR_RESET_PARAMETERS:
		case PC_TO_RDR_SET_PARAMETERS:
			cmd_parameters(s, &c, out);
			break;
		case PC_TO_RDR_ESCAPE:
			cmd_escape(s, &c, out);
			break;
		case PC_TO_RDR_ABORT:
			cmd_abort(s, &c, out);
			break;
		default:
			LOG_I(s->log, "%s (%02X) is not supported: refused",
			      ccid_msg_name(c.m.type), c.m.type);
			reply_fail(s, &c, out, CCID_ERR_CMD_NOT_SUPPORTED);
			break;
		}
	}
	apply_faults(s, out, c.t1_block);

	for (unsigned i = 0; i < out->count; i++)
		trace_message(s, "out", vc_ccid_out_msg(out, i), out->len[i],
			      c.m.type == PC_TO_RDR_XFR_BLOCK);
}

/* ---- slots: insertion, removal, interrupts ---- */

static size_t notify(const struct vc_ccid_sim *s, int changed_slot, bool all_present_changed,
		     uint8_t *out, size_t cap)
{
	bool present[VC_CCID_MAX_SLOTS], changed[VC_CCID_MAX_SLOTS];
	for (unsigned i = 0; i < s->cfg.slots; i++) {
		present[i] = s->slot[i].present;
		changed[i] = (int)i == changed_slot || (all_present_changed && present[i]);
	}
	return ccid_build_notify(present, changed, s->cfg.slots, out, cap);
}

size_t vc_ccid_sim_notify(const struct vc_ccid_sim *s, uint8_t *out, size_t cap)
{
	return notify(s, -1, true, out, cap);
}

static enum vc_status change_presence(struct vc_ccid_sim *s, unsigned slot, bool present,
				      uint8_t *out, size_t cap, size_t *out_len)
{
	*out_len = 0;
	if (slot >= s->cfg.slots)
		return VC_ERR_ARG;
	struct vc_ccid_slot *sl = &s->slot[slot];
	if (!sl->has_card)
		return VC_ERR_NOT_FOUND;
	if (sl->present == present)
		return VC_OK;
	if (!present)
		deactivate(sl);
	sl->present = present;
	sl->abort_requested = sl->abort_bulk_waiting = false;
	LOG_I(s->log, "slot %u: card %s", slot, present ? "inserted" : "removed");
	*out_len = notify(s, (int)slot, false, out, cap);
	return *out_len ? VC_OK : VC_ERR_ARG;
}

enum vc_status vc_ccid_sim_insert(struct vc_ccid_sim *s, unsigned slot, uint8_t *out,
				  size_t cap, size_t *out_len)
{
	return change_presence(s, slot, true, out, cap, out_len);
}

enum vc_status vc_ccid_sim_remove(struct vc_ccid_sim *s, unsigned slot, uint8_t *out,
				  size_t cap, size_t *out_len)
{
	return change_presence(s, slot, false, out, cap, out_len);
}

void vc_ccid_sim_unplug(struct vc_ccid_sim *s)
{
	for (unsigned i = 0; i < s->cfg.slots; i++) {
		deactivate(&s->slot[i]);
		s->slot[i].abort_requested = s->slot[i].abort_bulk_waiting = false;
	}
}

/* ---- set-up ---- */

void vc_ccid_config_default(struct vc_ccid_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->level = CCID_LEVEL_TPDU;
	cfg->protocols = IFD_PROTOCOL_T1;
	cfg->ifsc = 254;
	cfg->edc = IFD_T1_EDC_LRC;
	cfg->max_message_length = VC_CCID_MIN_MESSAGE;
	cfg->max_ifsd = 254;
	cfg->slots = 1;
	cfg->voltage_support = CCID_VOLTAGE_5V | CCID_VOLTAGE_3V | CCID_VOLTAGE_1_8V;
	/* pid.codes' test VID/PID: not a product anyone ships. */
	cfg->vendor_id = 0x1209;
	cfg->product_id = 0x0001;
	cfg->bcd_device = 0x0100;
	snprintf(cfg->manufacturer, sizeof(cfg->manufacturer), "ecard");
	snprintf(cfg->product, sizeof(cfg->product), "ecard CCID reader simulator");
	snprintf(cfg->serial, sizeof(cfg->serial), "SIM-0001");
	cfg->time_extension_multiplier = 1;
	cfg->wtx_multiplier = 1;
	cfg->seed = 1;
}

void vc_ccid_config_qemu(struct vc_ccid_config *cfg)
{
	vc_ccid_config_default(cfg);
	cfg->protocols = IFD_PROTOCOL_T0;
	cfg->max_message_length = CCID_MAX_MSG;
	cfg->vendor_id = 0x08E6;
	cfg->product_id = 0x4433;
	cfg->bcd_device = 0x0100;
	snprintf(cfg->manufacturer, sizeof(cfg->manufacturer), "QEMU");
	snprintf(cfg->product, sizeof(cfg->product), "QEMU USB CCID");
	snprintf(cfg->serial, sizeof(cfg->serial), "1");
	cfg->reader_negotiates = true;
	cfg->params_without_length = true;
}

static bool config_check(const struct vc_ccid_config *cfg, const struct logger *log)
{
	if (cfg->slots < 1 || cfg->slots > VC_CCID_MAX_SLOTS) {
		LOG_E(log, "a reader has 1 to %d slots, not %u", VC_CCID_MAX_SLOTS, cfg->slots);
		return false;
	}
	if (cfg->level != CCID_LEVEL_TPDU && cfg->level != CCID_LEVEL_SHORT_APDU &&
	    cfg->level != CCID_LEVEL_EXTENDED_APDU) {
		LOG_E(log, "the simulator works at TPDU, short APDU or extended APDU level");
		return false;
	}
	if (cfg->protocols == 0 || (cfg->protocols & ~(IFD_PROTOCOL_T0 | IFD_PROTOCOL_T1))) {
		LOG_E(log, "the card offers T=0, T=1 or both");
		return false;
	}
	if (cfg->ifsc < 1 || cfg->ifsc > 254) {
		LOG_E(log, "IFSC is 1 to 254, not %u", cfg->ifsc);
		return false;
	}
	if (cfg->ta1 && !fi_di_valid(cfg->ta1)) {
		LOG_E(log, "TA1 %02X names a reserved Fi or Di", cfg->ta1);
		return false;
	}
	uint32_t min = cfg->level == CCID_LEVEL_EXTENDED_APDU ? VC_CCID_MIN_MESSAGE_EXTENDED
							      : VC_CCID_MIN_MESSAGE;
	if (cfg->max_message_length < min || cfg->max_message_length > CCID_MAX_MSG) {
		LOG_E(log, "dwMaxCCIDMessageLength is %u to %u at this level, not %u", min,
		      (unsigned)CCID_MAX_MSG, cfg->max_message_length);
		return false;
	}
	if (cfg->max_ifsd < 1 || cfg->max_ifsd > 254) {
		LOG_E(log, "dwMaxIFSD is 1 to 254, not %u", cfg->max_ifsd);
		return false;
	}
	if (cfg->voltage_support == 0 || (cfg->voltage_support & ~0x07)) {
		LOG_E(log, "bVoltageSupport %02X: set one or more of 5 V (01), 3 V (02), 1.8 V (04)",
		      cfg->voltage_support);
		return false;
	}
	if (cfg->time_extensions > VC_CCID_MAX_TIME_EXTENSIONS) {
		LOG_E(log, "at most %d time extensions per command", VC_CCID_MAX_TIME_EXTENSIONS);
		return false;
	}
	return true;
}

/*
 * TS 3B; T0 with the card's historical bytes; TA1 when configured; for
 * T=1 a TD1 (T=0 first when both are offered) and a TD2 for T=1 that
 * brings TA3 = IFSC and TC3 = 01 for CRC; TCK whenever T=1 is offered
 * (ISO 7816-3 §8.2.5: needed as soon as a protocol other than T=0 is).
 */
static size_t build_atr(const struct vc_ccid_config *cfg, const struct logger *log,
			uint8_t out[IFD_ATR_MAX])
{
	uint8_t card[VC_ATR_MAX];
	size_t card_len = vc_card_atr(card);
	const uint8_t *hist = no_data;
	size_t hist_len = 0;
	struct ifd_atr parsed;

	if (ifd_atr_parse(card, card_len, &parsed) == IFD_ATR_OK && parsed.historical_len <= 15) {
		hist = card + parsed.historical_offset;
		hist_len = parsed.historical_len;
	} else {
		LOG_W(log, "the card's ATR does not parse: no historical bytes");
	}

	bool t0 = cfg->protocols & IFD_PROTOCOL_T0;
	bool t1 = cfg->protocols & IFD_PROTOCOL_T1;
	bool crc = cfg->edc == IFD_T1_EDC_CRC;
	struct writer w;
	writer_init(&w, out, IFD_ATR_MAX);
	writer_u8(&w, 0x3B);
	writer_u8(&w, (uint8_t)((cfg->ta1 ? 0x10 : 0) | (t1 ? 0x80 : 0) | hist_len));
	if (cfg->ta1)
		writer_u8(&w, cfg->ta1);
	if (t1) {
		writer_u8(&w, (uint8_t)(0x80 | (t0 ? 0 : 1)));
		writer_u8(&w, (uint8_t)(0x10 | (crc ? 0x40 : 0) | 1));
		writer_u8(&w, cfg->ifsc);
		if (crc)
			writer_u8(&w, 0x01);
	}
	writer_bytes(&w, hist, hist_len);
	if (t1) {
		uint8_t tck = 0;
		for (size_t i = 1; i < w.len; i++)
			tck ^= out[i];
		writer_u8(&w, tck);
	}
	return writer_ok(&w) ? w.len : 0;
}

static void build_descriptor(const struct vc_ccid_config *cfg, struct ccid_descriptor *d)
{
	static const uint32_t level_bit[] = {
		[CCID_LEVEL_TPDU] = CCID_FEAT_LEVEL_TPDU,
		[CCID_LEVEL_SHORT_APDU] = CCID_FEAT_LEVEL_SHORT_APDU,
		[CCID_LEVEL_EXTENDED_APDU] = CCID_FEAT_LEVEL_EXTENDED_APDU,
	};
	memset(d, 0, sizeof(*d));
	d->bcd_ccid = 0x0110;
	d->max_slot_index = (uint8_t)(cfg->slots - 1);
	d->voltage_support = cfg->voltage_support;
	d->protocols = cfg->protocols;
	d->default_clock = 3580;	/* kHz, the usual 3.58 MHz */
	d->maximum_clock = 3580;
	d->data_rate = 9600;
	d->max_data_rate = 344100;
	d->max_ifsd = cfg->max_ifsd;
	d->features = level_bit[cfg->level] | CCID_FEAT_AUTO_VOLTAGE | CCID_FEAT_AUTO_CLOCK |
		      CCID_FEAT_AUTO_BAUD;
	if (cfg->level != CCID_LEVEL_TPDU)
		d->features |= CCID_FEAT_AUTO_PPS_PROP | CCID_FEAT_AUTO_IFSD;
	/* Both PPS bits, as QEMU sets them, though CCID 1.1 allows one. */
	if (cfg->reader_negotiates)
		d->features |= CCID_FEAT_AUTO_ATR_CONFIG | CCID_FEAT_AUTO_ACTIVATION |
			       CCID_FEAT_AUTO_PPS_PROP | CCID_FEAT_AUTO_PPS_CUR |
			       CCID_FEAT_AUTO_IFSD;
	d->max_message_length = cfg->max_message_length;
	d->class_get_response = 0xFF;	/* echo the command's class */
	d->class_envelope = 0xFF;
	d->max_busy_slots = 1;
}

enum vc_status vc_ccid_sim_init(struct vc_ccid_sim *s, const struct vc_ccid_config *cfg,
				const struct logger *log)
{
	memset(s, 0, sizeof(*s));
	s->log = log;
	if (!config_check(cfg, log))
		return VC_ERR_ARG;
	s->cfg = *cfg;
	s->cfg.manufacturer[VC_CCID_STRING_MAX - 1] = '\0';
	s->cfg.product[VC_CCID_STRING_MAX - 1] = '\0';
	s->cfg.serial[VC_CCID_STRING_MAX - 1] = '\0';
	s->rng = cfg->seed;
	build_descriptor(&s->cfg, &s->desc);
	s->atr_len = build_atr(&s->cfg, log, s->atr);
	if (s->atr_len == 0) {
		LOG_E(log, "internal: the ATR does not fit");
		return VC_ERR_ARG;
	}
	for (unsigned i = 0; i < VC_CCID_MAX_SLOTS; i++) {
		s->slot[i].sim = s;
		s->slot[i].index = i;
		default_params(s, &s->slot[i].params);
	}
	return VC_OK;
}

enum vc_status vc_ccid_sim_attach(struct vc_ccid_sim *s, unsigned slot, struct vc_storage *st,
				  const struct vc_applet *const *types, size_t n_types)
{
	if (slot >= s->cfg.slots || !st)
		return VC_ERR_ARG;
	struct vc_ccid_slot *sl = &s->slot[slot];
	if (sl->has_card)
		return VC_ERR_EXISTS;

	vc_card_init(&sl->card, st, s->log);
	for (size_t i = 0; i < n_types; i++) {
		enum vc_status r = vc_card_register(&sl->card, types[i]);
		if (r != VC_OK) {
			vc_card_free(&sl->card);
			return r;
		}
	}
	/* Short APDU level: one message carries 256 bytes and SW at most;
	 * the rest waits for GET RESPONSE behind 61xx. */
	sl->card.max_rsp_data = s->cfg.level == CCID_LEVEL_SHORT_APDU ? 256 : 0;
	vc_t1_card_init(&sl->t1, s->cfg.ifsc, s->cfg.edc, t1_process, sl);
	vc_t0_card_init(&sl->t0, t0_process, sl);
	sl->t1.wtx_per_command = s->cfg.wtx;
	sl->t1.wtx_multiplier = s->cfg.wtx_multiplier;
	sl->st = st;
	sl->has_card = true;
	sl->present = true;
	sl->powered = false;
	reset_exchange(sl);
	return VC_OK;
}

void vc_ccid_sim_free(struct vc_ccid_sim *s)
{
	for (unsigned i = 0; i < VC_CCID_MAX_SLOTS; i++) {
		struct vc_ccid_slot *sl = &s->slot[i];
		if (!sl->has_card)
			continue;
		vc_card_power_down(&sl->card);
		vc_card_free(&sl->card);
		vc_storage_destroy(sl->st);
		sl->st = NULL;
		sl->has_card = sl->present = sl->powered = false;
	}
}

size_t vc_ccid_sim_atr(const struct vc_ccid_sim *s, uint8_t out[IFD_ATR_MAX])
{
	memcpy(out, s->atr, s->atr_len);
	return s->atr_len;
}

const struct ccid_descriptor *vc_ccid_sim_descriptor(const struct vc_ccid_sim *s)
{
	return &s->desc;
}

void vc_ccid_sim_device_info(const struct vc_ccid_sim *s, struct ifd_device_info *info)
{
	memset(info, 0, sizeof(*info));
	info->vendor_id = s->cfg.vendor_id;
	info->product_id = s->cfg.product_id;
	info->bcd_device = s->cfg.bcd_device;
	info->interface_number = 0;
	info->has_interrupt = true;
	snprintf(info->manufacturer, sizeof(info->manufacturer), "%s", s->cfg.manufacturer);
	snprintf(info->product, sizeof(info->product), "%s", s->cfg.product);
	snprintf(info->serial, sizeof(info->serial), "%s", s->cfg.serial);
	info->desc = s->desc;
}

size_t vc_ccid_sim_info(const struct vc_ccid_sim *s, uint8_t *out, size_t cap)
{
	struct ifd_device_info info;
	vc_ccid_sim_device_info(s, &info);
	return sim_info_encode(&info, out, cap);
}
