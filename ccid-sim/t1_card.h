/*
 * t1_card.h - the card's side of T=1 (ISO/IEC 7816-3 §11), for the CCID
 * reader simulator when it works at TPDU level.
 *
 * The simulator hands every block the driver sends to vc_t1_card_block()
 * and sends back the block it returns. The engine gathers chained
 * I-blocks into a command APDU, runs it through a callback (the vcard),
 * sends the response chained in blocks of at most IFSD bytes, answers
 * S(IFS), S(RESYNCH) and S(ABORT), asks for more time with S(WTX) when the
 * simulator wants a slow card, and applies the card's error rules: an
 * invalid block is answered with an R-block, a repeated R-block gets the
 * last block again. Blocks are built and checked with ifd/t1.h's codec.
 */
#ifndef VCARD_T1_CARD_H
#define VCARD_T1_CARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "t1_block.h"

#define VC_T1_APDU_MAX (4 + 3 + 65535 + 3)
#define VC_T1_RSP_MAX (65536 + 2)

/* Run one command APDU; write the response (data || SW) into rsp. Returns
 * 0, or -1 when the card lost power (the engine then stays silent). */
typedef int (*vc_t1_process_fn)(void *arg, const uint8_t *apdu, size_t len, uint8_t *rsp,
				size_t cap, size_t *rsp_len);

struct vc_t1_card {
	vc_t1_process_fn process;
	void *arg;

	enum ifd_t1_edc edc;
	size_t ifsc;		/* the card's own INF limit (announced in the ATR) */
	size_t ifsd;		/* the terminal's, 32 until S(IFS request) */
	uint8_t ns;		/* N(S) of the card's next I-block */
	uint8_t nr;		/* N(S) expected in the terminal's next I-block */

	/* Command being received in a chain. */
	uint8_t cmd[VC_T1_APDU_MAX];
	size_t cmd_len;
	bool cmd_overflow;

	/* Response being sent in a chain. */
	uint8_t rsp[VC_T1_RSP_MAX];
	size_t rsp_len;
	size_t rsp_off;		/* first byte of the block in flight */
	size_t rsp_chunk;	/* its length */
	bool sending;

	/* The last block sent, for retransmission on request. */
	uint8_t last[T1_MAX_BLOCK];
	size_t last_len;

	/* S(WTX request)s to send before each response (slow card), and the
	 * multiplier they ask for. */
	unsigned wtx_per_command;
	uint8_t wtx_multiplier;
	unsigned wtx_left;	/* S(WTX request)s still to be answered: while it is
				 * not 0, one of them is waiting for its response */

	unsigned long invalid_blocks;	/* received blocks with a bad EDC or length */

	/* process() reported a power loss: no answer to anything until
	 * vc_t1_card_reset() or vc_t1_card_init(). */
	bool mute;
};

void vc_t1_card_init(struct vc_t1_card *c, size_t ifsc, enum ifd_t1_edc edc,
		     vc_t1_process_fn process, void *arg);
/* After a reset: sequence numbers 0, nothing in flight, IFSD 32. */
void vc_t1_card_reset(struct vc_t1_card *c);

/*
 * One block from the terminal in, the card's answer out (at most
 * T1_MAX_BLOCK bytes). Returns 0 with *out_len > 0, 1 when the card stays
 * mute (process() reported a power loss, now or before the last reset),
 * -1 on invalid arguments.
 */
int vc_t1_card_block(struct vc_t1_card *c, const uint8_t *in, size_t len, uint8_t *out,
		     size_t *out_len);

#endif
