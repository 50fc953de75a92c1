/*
 * t1.h - the T=1 block transmission protocol (ISO/IEC 7816-3 §11), the
 * terminal's side, as the driver runs it when a CCID reader works at TPDU
 * level: I-blocks with chaining in both directions, R-blocks, S-blocks
 * (RESYNCH, IFS, ABORT, WTX), error detection by LRC or CRC and the error
 * recovery rules of §11.6.
 *
 * The engine does not know how a block reaches the card: it calls xfr
 * with one block and gets the card's next block back (for the driver, one
 * PC_to_RDR_XfrBlock and its DataBlock). The block codec is in
 * t1_block.h, shared with the card's side in the CCID reader simulator.
 */
#ifndef ECARD_IFD_T1_H
#define ECARD_IFD_T1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "t1_block.h"

/*
 * The block exchange the engine calls: send len bytes of block, receive
 * the card's answer into rsp (cap bytes), set *rsp_len. wtx is the block
 * waiting time multiplier the card asked for with S(WTX request), 0 when
 * none is in force. Returns:
 *    0              a block arrived (it may still be invalid: the engine
 *                   checks it),
 *    T1_XFR_INVALID nothing usable arrived (parity error, garbled or lost
 *                   answer): the engine treats it as an invalid block and
 *                   reports an EDC/parity error in its R-block,
 *    T1_XFR_TIMEOUT nothing arrived within the block waiting time (mute
 *                   card): treated the same way, but reported as "other
 *                   error"; an xfr that cannot tell the two apart may
 *                   return T1_XFR_INVALID for both,
 *    any other negative value: fatal (card removed, reader gone); the
 *                   engine gives up and returns it unchanged.
 */
#define T1_XFR_INVALID (-1)
#define T1_XFR_TIMEOUT (-7)
typedef int (*t1_xfr_fn)(void *arg, const uint8_t *block, size_t len, uint8_t *rsp,
			 size_t cap, size_t *rsp_len, uint8_t wtx);

/* Errors of ifd_t1_transceive and ifd_t1_negotiate_ifsd (besides the fatal
 * values passed through from xfr, which the caller chooses below -100). */
#define T1_ERR_FAILED (-2)	/* recovery exhausted, resynchronised */
#define T1_ERR_RESPONSE_TOO_LONG (-3)
#define T1_ERR_ABORTED (-4)	/* the card aborted the chain */
#define T1_ERR_INVALID_ARGUMENT (-5)
#define T1_ERR_DEAD (-6)	/* resynchronisation failed too: reset the card */

struct ifd_t1_stats {
	unsigned long blocks_sent;	/* every block handed to xfr */
	unsigned long retransmissions;	/* blocks sent because of an error (§11.6.3) */
	unsigned long resyncs;		/* resynchronisations started (S(RESYNCH)) */
	unsigned long wtx_requests;	/* S(WTX request)s answered */
	unsigned long ifs_requests;	/* S(IFS request)s from the card answered */
};

struct ifd_t1 {
	t1_xfr_fn xfr;
	void *arg;
	const struct logger *log;

	enum ifd_t1_edc edc;
	uint8_t nad;		/* 0: no addressing */
	size_t ifsc;		/* the card's maximum INF (from the ATR, S(IFS)) */
	size_t ifsd;		/* ours, announced with S(IFS request) */
	uint8_t ns;		/* N(S) of our next I-block */
	uint8_t nr;		/* N(S) we expect in the card's next I-block */
	unsigned max_retries;	/* retransmissions before RESYNCH (ISO: 2-3) */

	struct ifd_t1_stats stats;
};

/* Set up after an ATR: ifsc and edc from struct ifd_atr, ifsd 32 until
 * negotiated, sequence numbers 0, 3 retries. */
void ifd_t1_init(struct ifd_t1 *t, size_t ifsc, enum ifd_t1_edc edc, t1_xfr_fn xfr,
		 void *arg, const struct logger *log);

/* Send S(IFS request) with ifsd (1-254) and expect the matching response. */
int ifd_t1_negotiate_ifsd(struct ifd_t1 *t, uint8_t ifsd);

/* S(RESYNCH request): both sequence numbers back to 0. */
int ifd_t1_resync(struct ifd_t1 *t);

/*
 * Send a command APDU (chained in I-blocks of at most ifsc bytes) and
 * gather the response APDU (chained by the card; at most rsp_cap bytes).
 * Handles R-blocks, S(WTX), S(IFS) from the card and the §11.6 recovery
 * rules. Returns 0 with *rsp_len set, or a negative T1_ERR_* or fatal
 * value from xfr.
 */
int ifd_t1_transceive(struct ifd_t1 *t, const uint8_t *apdu, size_t len, uint8_t *rsp,
		      size_t rsp_cap, size_t *rsp_len);

#endif
