/*
 * t1_block.h - the block format of the T=1 protocol (ISO/IEC 7816-3
 * §11.3): NAD PCB LEN INF EDC, with LRC or CRC. A pure codec: the
 * terminal's engine (ifd/t1.c) and the card's side in the CCID reader
 * simulator (ccid-sim/t1_card.c) build and check blocks with it.
 */
#ifndef ECARD_IFD_T1_BLOCK_H
#define ECARD_IFD_T1_BLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "atr.h"	/* enum ifd_t1_edc */

#define T1_PROLOGUE 3
#define T1_MAX_INF 254
#define T1_MAX_BLOCK (T1_PROLOGUE + T1_MAX_INF + 2)

/* PCB (§11.3.2.2). */
#define T1_I_BLOCK 0x00	/* bit 8 = 0 */
#define T1_R_BLOCK 0x80	/* bits 8-7 = 10 */
#define T1_S_BLOCK 0xC0	/* bits 8-7 = 11 */
#define T1_I_NS 0x40		/* N(S) of an I-block */
#define T1_I_MORE 0x20		/* M, more data follows */
#define T1_R_NR 0x10		/* N(R) of an R-block */
#define T1_R_EDC_ERROR 0x01
#define T1_R_OTHER_ERROR 0x02
#define T1_S_RESPONSE 0x20
#define T1_S_RESYNCH 0x00
#define T1_S_IFS 0x01
#define T1_S_ABORT 0x02
#define T1_S_WTX 0x03

enum t1_block_kind {
	T1_KIND_I,
	T1_KIND_R,
	T1_KIND_S,
};

struct t1_block {
	uint8_t nad;
	uint8_t pcb;
	const uint8_t *inf;	/* points into the checked buffer */
	uint8_t len;		/* LEN */
};

/* Length of the epilogue for edc: 1 (LRC) or 2 (CRC). */
size_t t1_edc_len(enum ifd_t1_edc edc);

/* Build NAD PCB LEN INF EDC into out (at least T1_MAX_BLOCK bytes);
 * returns the block length, 0 when len > T1_MAX_INF. */
size_t t1_block_build(uint8_t nad, uint8_t pcb, const uint8_t *inf, size_t len,
		      enum ifd_t1_edc edc, uint8_t *out);

/*
 * Check a received block: length consistent with LEN, LEN not 0xFF, and
 * the EDC right. Returns 0 and fills *b, or -1 for a block that must be
 * treated as invalid (§11.6.1: EDC or parity error, or bad length).
 */
int t1_block_parse(const uint8_t *buf, size_t len, enum ifd_t1_edc edc,
		   struct t1_block *b);
enum t1_block_kind t1_block_kind(uint8_t pcb);

#endif
