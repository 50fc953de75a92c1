/*
 * inproc.c - an ec_pcsc raw transmit that calls the card directly.
 */
#include "inproc.h"

#include <string.h>

static long inproc_transmit(struct ec_pcsc *pc, const uint8_t *cmd, size_t cmd_len,
			    uint8_t *resp, size_t *resp_len)
{
	uint8_t buf[VC_RSP_MAX];	/* 64 KiB: fine on the stack of a host program */
	struct vc_card *card = pc->raw_arg;
	size_t n;

	enum vc_status st = vc_card_process(card, cmd, cmd_len, buf, &n);
	if (st == VC_ERR_POWER_LOST)
		return SCARD_W_REMOVED_CARD;
	if (st != VC_OK)
		return SCARD_E_NO_SMARTCARD;
	if (n > *resp_len)
		return SCARD_E_INSUFFICIENT_BUFFER;
	memcpy(resp, buf, n);
	*resp_len = n;
	return SCARD_S_SUCCESS;
}

void vc_inproc_attach(struct ec_pcsc *pc, struct vc_card *card)
{
	pc->raw_transmit = inproc_transmit;
	pc->raw_arg = card;
	pc->connected = true;
	pc->protocol = SCARD_PROTOCOL_T1;
	strncpy(pc->reader, "in-process card", sizeof(pc->reader) - 1);
}
