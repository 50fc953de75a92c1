/*
 * t0_card.c - the card's side of T=0 at TPDU level (see t0_card.h).
 */
#include "t0_card.h"

#include <stdbool.h>
#include <string.h>

#include "cursor.h"
#include "iso7816.h"

void vc_t0_card_init(struct vc_t0_card *c, vc_t0_process_fn process, void *arg)
{
	memset(c, 0, sizeof(*c));
	c->process = process;
	c->arg = arg;
	c->state = VC_T0_IDLE;
}

void vc_t0_card_reset(struct vc_t0_card *c)
{
	c->state = VC_T0_IDLE;
}

static size_t tpdu_answer(uint8_t *rsp, const uint8_t *data, size_t n, uint16_t sw)
{
	if (n)
		memcpy(rsp, data, n);
	store_be16(rsp + n, sw);
	return n + 2;
}

static bool is_get_response(const uint8_t *h)
{
	return (h[0] & 0x80) == 0 && h[1] == ISO_INS_GET_RESPONSE && h[2] == 0 && h[3] == 0;
}

/* The card had more than Le bytes (it answered Le bytes and 61xx): gather
 * up to 256 of them, as a T=0 card knows its whole answer, for 6Cxx. */
static int gather(struct vc_t0_card *c, const uint8_t *hdr, const uint8_t *first, size_t ne,
		  uint16_t sw, uint8_t *rsp, size_t *rsp_len)
{
	size_t want = 256 - ne;
	if ((sw & 0xFF) != 0 && (sw & 0xFF) < want)
		want = sw & 0xFF;
	memcpy(c->data, first, ne);

	uint8_t gr[5] = { iso_cla(0x00, iso_cla_channel(hdr[0])), ISO_INS_GET_RESPONSE, 0x00, 0x00,
			  (uint8_t)want };
	const uint8_t *ans;
	size_t n = 0;
	int r = c->process(c->arg, gr, sizeof(gr), &ans, &n);
	if (r != 0)
		return r;
	size_t more = n - 2;
	if (more == 0 || more > want) {
		/* The card would not give the rest: pass what it said. */
		*rsp_len = tpdu_answer(rsp, c->data, ne, sw);
		return 0;
	}
	memcpy(c->data + ne, ans, more);
	c->state = VC_T0_WRONG_LE;
	memcpy(c->header, hdr, 4);
	c->len = ne + more;
	c->sw = load_be16(ans + more);
	*rsp_len = tpdu_answer(rsp, NULL, 0, (uint16_t)(SW_WRONG_LE | (c->len & 0xFF)));
	return 0;
}

static int case12(struct vc_t0_card *c, const uint8_t *tpdu, uint8_t p3, uint8_t *rsp,
		  size_t *rsp_len)
{
	size_t ne = p3 ? p3 : 256;

	if (c->state == VC_T0_WRONG_LE && memcmp(c->header, tpdu, 4) == 0 && ne == c->len) {
		/* The command repeated with the right Le: the kept answer. */
		*rsp_len = tpdu_answer(rsp, c->data, c->len, c->sw);
		c->state = VC_T0_IDLE;
		return 0;
	}
	if (c->state == VC_T0_GET_RESPONSE && is_get_response(tpdu)) {
		size_t left = c->len - c->off;
		if (ne > left) {
			*rsp_len = tpdu_answer(rsp, NULL, 0,
					       (uint16_t)(SW_WRONG_LE | (left & 0xFF)));
			return 0;
		}
		size_t after = left - ne;
		uint16_t sw = after ? (uint16_t)(SW_BYTES_REMAINING | (after & 0xFF)) : c->sw;
		*rsp_len = tpdu_answer(rsp, c->data + c->off, ne, sw);
		c->off += ne;
		if (after == 0)
			c->state = VC_T0_IDLE;
		return 0;
	}
	c->state = VC_T0_IDLE;

	/* P3 = 00 is case 1 or case 2 with Le 256: only the card knows which
	 * by the INS. It goes on as Le 256, which case 1 commands ignore and
	 * case 2 commands that size their answer by Le need. */
	const uint8_t *ans;
	size_t n = 0;
	int r = c->process(c->arg, tpdu, 5, &ans, &n);
	if (r != 0)
		return r;
	size_t got = n - 2;
	uint16_t sw = load_be16(ans + got);
	if (got > sizeof(c->data)) {
		got = 0;
		sw = SW_UNKNOWN;
	}
	if (got == 0) {
		*rsp_len = tpdu_answer(rsp, NULL, 0, sw);
	} else if (got < ne) {
		c->state = VC_T0_WRONG_LE;
		memcpy(c->header, tpdu, 4);
		memcpy(c->data, ans, got);
		c->len = got;
		c->sw = sw;
		*rsp_len = tpdu_answer(rsp, NULL, 0, (uint16_t)(SW_WRONG_LE | (got & 0xFF)));
	} else if ((sw >> 8) == (SW_BYTES_REMAINING >> 8) && ne < 256) {
		return gather(c, tpdu, ans, ne, sw, rsp, rsp_len);
	} else {
		*rsp_len = tpdu_answer(rsp, ans, got, sw);
	}
	return 0;
}

static int case34(struct vc_t0_card *c, const uint8_t *tpdu, size_t len, uint8_t *rsp,
		  size_t *rsp_len)
{
	const uint8_t *ans;
	size_t n = 0;

	c->state = VC_T0_IDLE;
	int r = c->process(c->arg, tpdu, len, &ans, &n);
	if (r != 0)
		return r;
	size_t got = n - 2;
	uint16_t sw = load_be16(ans + got);
	if (got == 0 || got > sizeof(c->data)) {
		*rsp_len = tpdu_answer(rsp, NULL, 0, got ? SW_UNKNOWN : sw);
		return 0;
	}
	/* Case 4 over T=0: the data waits for GET RESPONSE. */
	c->state = VC_T0_GET_RESPONSE;
	memcpy(c->data, ans, got);
	c->len = got;
	c->off = 0;
	c->sw = sw;
	*rsp_len = tpdu_answer(rsp, NULL, 0, (uint16_t)(SW_BYTES_REMAINING | (got & 0xFF)));
	return 0;
}

int vc_t0_card_tpdu(struct vc_t0_card *c, const uint8_t *tpdu, size_t len, uint8_t *rsp,
		    size_t *rsp_len)
{
	struct cursor cur;
	const uint8_t *header;
	uint8_t p3;

	*rsp_len = 0;
	cursor_init(&cur, tpdu, len);
	if (!cursor_bytes(&cur, 4, &header) || !cursor_u8(&cur, &p3))
		return VC_T0_MUTE;	/* the card still waits for its header */
	size_t body = cursor_remaining(&cur);
	if (body == 0)
		return case12(c, tpdu, p3, rsp, rsp_len);
	if (body == p3)
		return case34(c, tpdu, len, rsp, rsp_len);
	return VC_T0_MUTE;	/* more or fewer bytes than P3 announced */
}
