/*
 * slot.c - power, protocol and APDU exchange of one slot (see slot.h).
 */
#include "slot.h"

#include <string.h>

/* Fatal results the T=1 block callback passes through the engine. */
#define XFR_FATAL_GONE (-101)
#define XFR_FATAL_NO_CARD (-102)

void ifd_slot_init(struct ifd_slot *s, struct ifd_ccid *ccid, uint8_t index,
		   const struct logger *log)
{
	memset(s, 0, sizeof(*s));
	s->ccid = ccid;
	s->index = index;
	s->log = log;
	s->protocol = -1;
}

enum ccid_level ifd_slot_level(const struct ifd_slot *s)
{
	return ccid_descriptor_level(&s->ccid->tr->info.desc);
}

const char *ifd_slot_strerror(int result)
{
	switch (result) {
	case IFD_SLOT_OK:
		return "success";
	case IFD_SLOT_NO_CARD:
		return "no card in the slot";
	case IFD_SLOT_COMM:
		return "the exchange with the card failed";
	case IFD_SLOT_GONE:
		return "the reader was unplugged";
	case IFD_SLOT_UNSUPPORTED:
		return "not possible with this reader or card";
	case IFD_SLOT_PPS_FAILED:
		return "the card refused the protocol and parameters selection";
	case IFD_SLOT_TOO_SMALL:
		return "the response is larger than the buffer";
	case IFD_SLOT_TIMEOUT:
		return "the reader does not answer";
	default:
		return "unknown error";
	}
}

static int from_ccid(int rc)
{
	switch (rc) {
	case IFD_CCID_OK:
		return IFD_SLOT_OK;
	case IFD_CCID_NO_CARD:
		return IFD_SLOT_NO_CARD;
	case IFD_CCID_GONE:
		return IFD_SLOT_GONE;
	case IFD_CCID_TIMEOUT:
		return IFD_SLOT_TIMEOUT;
	case IFD_CCID_TOO_BIG:
		return IFD_SLOT_TOO_SMALL;
	default:
		return IFD_SLOT_COMM;
	}
}

/* ---- power ---- */

/* The voltages to try, lowest class first (ISO 7816-3 §6.2.4), unless
 * the reader picks the voltage itself. */
static size_t voltage_order(const struct ccid_descriptor *d, uint8_t order[3])
{
	size_t n = 0;
	if ((d->features & CCID_FEAT_AUTO_VOLTAGE) || !(d->voltage_support & 0x07)) {
		order[n++] = CCID_POWER_AUTO;
		return n;
	}
	if (d->voltage_support & CCID_VOLTAGE_1_8V)
		order[n++] = CCID_POWER_1_8V;
	if (d->voltage_support & CCID_VOLTAGE_3V)
		order[n++] = CCID_POWER_3V;
	if (d->voltage_support & CCID_VOLTAGE_5V)
		order[n++] = CCID_POWER_5V;
	return n;
}

int ifd_slot_power_up(struct ifd_slot *s)
{
	uint8_t order[3];
	size_t n = voltage_order(&s->ccid->tr->info.desc, order);
	int rc = IFD_CCID_MUTE;

	s->powered = false;
	s->atr_valid = false;
	s->atr_len = 0;
	s->protocol = -1;
	s->t1_needs_resync = false;
	for (size_t i = 0; i < n; i++) {
		rc = ifd_ccid_power_on(s->ccid, s->index, order[i], s->atr, sizeof(s->atr),
				       &s->atr_len);
		if (rc == IFD_CCID_OK)
			break;
		if (rc != IFD_CCID_MUTE && !(rc == IFD_CCID_FAILED &&
					     s->ccid->last_error == CCID_ERR_ICC_CLASS_NOT_SUPPORTED))
			break;
		/* Wrong class: deactivate before the next voltage. */
		ifd_ccid_power_off(s->ccid, s->index);
	}
	if (rc != IFD_CCID_OK) {
		LOG_I(s->log, "slot %u: power up failed: %s", s->index, ifd_ccid_strerror(rc));
		return from_ccid(rc);
	}
	if (s->atr_len == 0) {
		LOG_W(s->log, "slot %u: the reader returned an empty ATR", s->index);
		return IFD_SLOT_COMM;
	}
	int err = ifd_atr_parse(s->atr, s->atr_len, &s->parsed);
	s->atr_valid = err == IFD_ATR_OK;
	if (!s->atr_valid) {
		LOG_W(s->log, "slot %u: ATR not understood: %s", s->index, ifd_atr_strerror(err));
		/* We would have to run its protocol: a failed power up, so
		 * the card is deactivated and the slot stays unpowered. */
		if (ifd_slot_level(s) == CCID_LEVEL_TPDU) {
			ifd_ccid_power_off(s->ccid, s->index);
			return IFD_SLOT_COMM;
		}
	}
	s->powered = true;
	return IFD_SLOT_OK;
}

int ifd_slot_power_down(struct ifd_slot *s)
{
	s->powered = false;
	s->protocol = -1;
	return from_ccid(ifd_ccid_power_off(s->ccid, s->index));
}

int ifd_slot_present(struct ifd_slot *s, bool *present)
{
	uint8_t icc = CCID_ICC_ABSENT;
	int rc = ifd_ccid_slot_status(s->ccid, s->index, &icc);
	if (rc != IFD_CCID_OK)
		return from_ccid(rc);
	*present = icc != CCID_ICC_ABSENT;
	if (!*present || icc == CCID_ICC_INACTIVE)
		s->powered = false;
	return IFD_SLOT_OK;
}

/* ---- protocol selection ---- */

static int t1_block_xfr(void *arg, const uint8_t *block, size_t len, uint8_t *rsp, size_t cap,
			size_t *rsp_len, uint8_t wtx)
{
	struct ifd_slot *s = arg;
	int rc = ifd_ccid_xfr(s->ccid, s->index, wtx, 0, block, len, rsp, cap, rsp_len, NULL);
	switch (rc) {
	case IFD_CCID_OK:
		return 0;
	case IFD_CCID_GONE:
		return XFR_FATAL_GONE;
	case IFD_CCID_NO_CARD:
		return XFR_FATAL_NO_CARD;
	case IFD_CCID_MUTE:
	case IFD_CCID_TIMEOUT:
		/* Nothing within the waiting time: T=1's "other error". */
		return T1_XFR_TIMEOUT;
	default:
		/* Parity error, a garbled or malformed answer: an invalid
		 * block, and T=1's rules recover. */
		return T1_XFR_INVALID;
	}
}

static int pick_protocol(const struct ifd_slot *s, unsigned mask, int *protocol)
{
	unsigned offered = 0;
	if (s->atr_valid) {
		offered = s->parsed.protocols & (IFD_PROTOCOL_T0 | IFD_PROTOCOL_T1);
		if (s->parsed.specific_mode)
			offered = 1u << s->parsed.specific_protocol;
	} else {
		offered = s->ccid->tr->info.desc.protocols & 0x03;
	}
	unsigned usable = offered & mask & 0x03;
	if (!usable)
		return IFD_SLOT_UNSUPPORTED;
	int first = s->atr_valid ? s->parsed.first_protocol : 0;
	if (first <= 1 && (usable & (1u << first)))
		*protocol = first;
	else
		*protocol = (usable & IFD_PROTOCOL_T1) ? 1 : 0;
	return IFD_SLOT_OK;
}

/* PPS at TPDU level when the ATR asks for it or another protocol than the
 * card's first is wanted; *ta1 becomes the Fi/Di in force. */
static int negotiate_pps(struct ifd_slot *s, int protocol, uint8_t *ta1)
{
	const struct ccid_descriptor *d = &s->ccid->tr->info.desc;
	*ta1 = 0x11;
	if (s->parsed.specific_mode) {
		if (!s->parsed.specific_implicit && s->parsed.ta1_present)
			*ta1 = s->parsed.ta1;
		return IFD_SLOT_OK;
	}
	bool needed = ifd_atr_needs_pps(&s->parsed) || protocol != s->parsed.first_protocol;
	if (!needed)
		return IFD_SLOT_OK;
	if (d->features & CCID_FEAT_AUTO_PPS_CUR) {
		if (s->parsed.ta1_present)
			*ta1 = s->parsed.ta1;
		return IFD_SLOT_OK;	/* the reader does it */
	}
	uint8_t want = s->parsed.ta1_present ? s->parsed.ta1 : 0;
	uint8_t req[IFD_PPS_MAX], rsp[IFD_PPS_MAX + 8];
	size_t req_len = ifd_pps_build((uint8_t)protocol, want, req), rsp_len = 0;
	int rc = ifd_ccid_xfr(s->ccid, s->index, 0, 0, req, req_len, rsp, sizeof(rsp), &rsp_len,
			      NULL);
	if (rc != IFD_CCID_OK) {
		LOG_W(s->log, "slot %u: PPS exchange failed: %s", s->index, ifd_ccid_strerror(rc));
		return rc == IFD_CCID_GONE ? IFD_SLOT_GONE : IFD_SLOT_PPS_FAILED;
	}
	uint8_t selected = 0;
	int err = ifd_pps_check_response(req, req_len, rsp, rsp_len, &selected, ta1);
	if (err != IFD_ATR_OK || selected != protocol) {
		LOG_W(s->log, "slot %u: PPS refused: %s", s->index, ifd_atr_strerror(err));
		return IFD_SLOT_PPS_FAILED;
	}
	LOG_D(s->log, "slot %u: PPS T=%d Fi/Di %02X", s->index, protocol, *ta1);
	return IFD_SLOT_OK;
}

static void params_from_atr(const struct ifd_slot *s, int protocol, uint8_t ta1,
			    struct ccid_params *p)
{
	const struct ifd_atr *a = &s->parsed;
	bool inverse = a->convention == IFD_CONVENTION_INVERSE;
	memset(p, 0, sizeof(*p));
	p->protocol = (uint8_t)protocol;
	p->fi_di = ta1;
	p->guard_time = a->extra_guard_time;
	if (protocol == 0) {
		p->tcck = inverse ? 0x02 : 0x00;
		p->waiting = a->t0_wi;
	} else {
		p->tcck = (uint8_t)(0x10 | (a->t1_edc == IFD_T1_EDC_CRC ? 0x01 : 0) |
				    (inverse ? 0x02 : 0));
		p->waiting = (uint8_t)((a->t1_bwi << 4) | (a->t1_cwi & 0x0F));
		p->ifsc = a->t1_ifsc;
	}
}

int ifd_slot_set_protocol(struct ifd_slot *s, unsigned mask, int *selected)
{
	if (!s->powered)
		return IFD_SLOT_NO_CARD;
	int protocol;
	int rc = pick_protocol(s, mask, &protocol);
	if (rc != IFD_SLOT_OK)
		return rc;
	bool tpdu = ifd_slot_level(s) == CCID_LEVEL_TPDU;
	const struct ccid_descriptor *d = &s->ccid->tr->info.desc;

	/* CCID 1.1 §5.1, dwFeatures: a reader with "automatic parameters
	 * negotiation" (40h) selects the protocol and rate with the card by
	 * its own algorithm, so neither a PPS nor SetParameters of ours may
	 * come between (libccid sends neither). With "automatic PPS" (80h)
	 * alone it runs the PPS from the parameters we set, so we set them
	 * but send no PPS. Otherwise, at TPDU level, both are ours. */
	bool reader_negotiates = d->features & CCID_FEAT_AUTO_PPS_PROP;
	if (reader_negotiates)
		LOG_D(s->log, "slot %u: the reader negotiates T=%d by itself (dwFeatures %08X)",
		      s->index, protocol, (unsigned)d->features);
	if (s->atr_valid && !reader_negotiates) {
		uint8_t ta1 = 0x11;
		if (tpdu && (rc = negotiate_pps(s, protocol, &ta1)) != IFD_SLOT_OK)
			return rc;
		if (!tpdu && s->parsed.ta1_present)
			ta1 = s->parsed.ta1;
		/* A reader that configures itself from the ATR needs no
		 * SetParameters; at TPDU level we always tell it. */
		if (tpdu || !(d->features & CCID_FEAT_AUTO_ATR_CONFIG)) {
			struct ccid_params p;
			params_from_atr(s, protocol, ta1, &p);
			int c = ifd_ccid_set_parameters(s->ccid, s->index, &p);
			if (c != IFD_CCID_OK) {
				LOG_W(s->log, "slot %u: SetParameters failed: %s", s->index,
				      ifd_ccid_strerror(c));
				return c == IFD_CCID_FAILED ? IFD_SLOT_UNSUPPORTED : from_ccid(c);
			}
		}
	}

	if (tpdu && protocol == 1) {
		ifd_t1_init(&s->t1, s->parsed.t1_ifsc, s->parsed.t1_edc, t1_block_xfr, s, s->log);
		if (!(d->features & CCID_FEAT_AUTO_IFSD)) {
			uint32_t ifsd = d->max_ifsd ? d->max_ifsd : 32;
			if (ifsd > T1_MAX_INF)
				ifsd = T1_MAX_INF;
			int t = ifd_t1_negotiate_ifsd(&s->t1, (uint8_t)ifsd);
			if (t == XFR_FATAL_GONE)
				return IFD_SLOT_GONE;
			if (t == XFR_FATAL_NO_CARD)
				return IFD_SLOT_NO_CARD;
			if (t != 0)
				LOG_W(s->log, "slot %u: IFSD negotiation failed; staying at 32",
				      s->index);
		}
	}
	s->protocol = protocol;
	*selected = protocol;
	return IFD_SLOT_OK;
}

/* ---- APDU exchange ---- */

/* ISO 7816-3 §12.1.1: an extended APDU has a 0 where a short one has Lc or
 * Le, and at least 7 bytes. */
static bool apdu_is_extended(const uint8_t *cmd, size_t len)
{
	return len >= 7 && cmd[4] == 0;
}

/* T=0 (§12.2): case 1 gets P3 = 00, case 4 loses its Le (the card then
 * says 61xx and the application fetches the data with GET RESPONSE). */
static int transmit_t0(struct ifd_slot *s, const uint8_t *cmd, size_t len, uint8_t *rsp,
		       size_t cap, size_t *rsp_len)
{
	uint8_t tpdu[5 + 255];
	size_t n;
	if (len < 4)
		return IFD_SLOT_UNSUPPORTED;
	if (apdu_is_extended(cmd, len)) {
		LOG_W(s->log, "slot %u: an extended APDU cannot be sent with T=0 at TPDU level",
		      s->index);
		return IFD_SLOT_UNSUPPORTED;
	}
	if (len == 4) {
		memcpy(tpdu, cmd, 4);
		tpdu[4] = 0;
		n = 5;
	} else if (len == 5) {
		memcpy(tpdu, cmd, 5);
		n = 5;
	} else if (len == 5u + cmd[4] || len == 6u + cmd[4]) {
		n = 5u + cmd[4];
		memcpy(tpdu, cmd, n);
	} else {
		return IFD_SLOT_UNSUPPORTED;	/* not an APDU */
	}
	int rc = ifd_ccid_xfr(s->ccid, s->index, 0, 0, tpdu, n, rsp, cap, rsp_len, NULL);
	return from_ccid(rc);
}

static int transmit_t1(struct ifd_slot *s, const uint8_t *cmd, size_t len, uint8_t *rsp,
		       size_t cap, size_t *rsp_len)
{
	if (s->t1_needs_resync) {
		int r = ifd_t1_resync(&s->t1);
		if (r == XFR_FATAL_GONE)
			return IFD_SLOT_GONE;
		if (r != 0)
			return IFD_SLOT_COMM;
		s->t1_needs_resync = false;
	}
	int rc = ifd_t1_transceive(&s->t1, cmd, len, rsp, cap, rsp_len);
	switch (rc) {
	case 0:
		return IFD_SLOT_OK;
	case XFR_FATAL_GONE:
		return IFD_SLOT_GONE;
	case XFR_FATAL_NO_CARD:
		return IFD_SLOT_NO_CARD;
	case T1_ERR_RESPONSE_TOO_LONG:
		s->t1_needs_resync = true;
		return IFD_SLOT_TOO_SMALL;
	case T1_ERR_INVALID_ARGUMENT:
		return IFD_SLOT_UNSUPPORTED;
	default:
		LOG_W(s->log, "slot %u: T=1 exchange failed (%d)", s->index, rc);
		if (rc == T1_ERR_DEAD)
			s->powered = false;
		return IFD_SLOT_COMM;
	}
}

/* Extended APDU level (CCID 1.1 §6.1.4): a command longer than the
 * reader's buffer goes in parts (wLevelParameter 1, 3..., 2), each but the
 * last answered by an empty DataBlock asking for more (bChainParameter
 * 10h); a long response comes in parts (01, 03..., 02) that we fetch with
 * empty XfrBlocks of wLevelParameter 10h. */
static int transmit_extended(struct ifd_slot *s, const uint8_t *cmd, size_t len, uint8_t *rsp,
			     size_t cap, size_t *rsp_len)
{
	size_t max = ifd_ccid_max_data(s->ccid), off = 0, got = 0, part_len;
	uint8_t chain = 0;
	int rc;
	*rsp_len = 0;
	if (max == 0)
		return IFD_SLOT_UNSUPPORTED;
	for (;;) {
		size_t part = len - off < max ? len - off : max;
		bool first = off == 0, last = off + part == len;
		uint16_t level = first && last ? CCID_CHAIN_BEGIN_AND_END
				 : first       ? CCID_CHAIN_BEGIN
				 : last        ? CCID_CHAIN_END
					       : CCID_CHAIN_CONTINUE;
		rc = ifd_ccid_xfr(s->ccid, s->index, 0, level, cmd + off, part, rsp, cap,
				  &part_len, &chain);
		if (rc != IFD_CCID_OK)
			return from_ccid(rc);
		off += part;
		if (last)
			break;
		if (chain != CCID_CHAIN_EMPTY || part_len != 0) {
			LOG_W(s->log, "slot %u: reader did not ask for the rest of the command",
			      s->index);
			return IFD_SLOT_COMM;
		}
	}
	got = part_len;
	while (chain == CCID_CHAIN_BEGIN || chain == CCID_CHAIN_CONTINUE) {
		rc = ifd_ccid_xfr(s->ccid, s->index, 0, CCID_CHAIN_EMPTY, NULL, 0, rsp + got,
				  cap - got, &part_len, &chain);
		if (rc != IFD_CCID_OK)
			return from_ccid(rc);
		if (chain != CCID_CHAIN_CONTINUE && chain != CCID_CHAIN_END) {
			LOG_W(s->log, "slot %u: bad response chaining %02X", s->index, chain);
			return IFD_SLOT_COMM;
		}
		got += part_len;
	}
	if (chain != CCID_CHAIN_BEGIN_AND_END && chain != CCID_CHAIN_END) {
		LOG_W(s->log, "slot %u: bad response chaining %02X", s->index, chain);
		return IFD_SLOT_COMM;
	}
	*rsp_len = got;
	return IFD_SLOT_OK;
}

int ifd_slot_transmit(struct ifd_slot *s, const uint8_t *cmd, size_t len, uint8_t *rsp,
		      size_t cap, size_t *rsp_len)
{
	int rc;
	*rsp_len = 0;
	if (!s->powered)
		return IFD_SLOT_NO_CARD;
	switch (ifd_slot_level(s)) {
	case CCID_LEVEL_TPDU:
		if (s->protocol == 1)
			rc = transmit_t1(s, cmd, len, rsp, cap, rsp_len);
		else
			rc = transmit_t0(s, cmd, len, rsp, cap, rsp_len);
		break;
	case CCID_LEVEL_SHORT_APDU:
		if (apdu_is_extended(cmd, len)) {
			LOG_W(s->log, "slot %u: the reader takes short APDUs only", s->index);
			return IFD_SLOT_UNSUPPORTED;
		}
		rc = from_ccid(ifd_ccid_xfr(s->ccid, s->index, 0, 0, cmd, len, rsp, cap, rsp_len,
					    NULL));
		break;
	case CCID_LEVEL_EXTENDED_APDU:
		rc = transmit_extended(s, cmd, len, rsp, cap, rsp_len);
		break;
	default:
		LOG_E(s->log, "character level readers are not supported");
		return IFD_SLOT_UNSUPPORTED;
	}
	if (rc == IFD_SLOT_OK && *rsp_len < 2) {
		LOG_W(s->log, "slot %u: response of %zu bytes has no status word", s->index,
		      *rsp_len);
		rc = IFD_SLOT_COMM;
	}
	if (rc == IFD_SLOT_OK)
		s->apdus++;
	return rc;
}
