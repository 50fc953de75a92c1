/*
 * slot.h - one card slot of a reader: power, protocol selection and the
 * APDU exchange at the reader's level.
 *
 * A CCID reader works at one of three levels (CCID 1.1 §3): at TPDU level
 * it only moves bytes and the driver runs the transmission protocol itself
 * (T=0 TPDUs, T=1 blocks through t1.c, PPS and IFSD from the ATR); at short
 * and extended APDU level the reader does that and the driver sends whole
 * APDUs, cut into several messages when they exceed the reader's buffer.
 * This unit hides the difference from ifdhandler.c.
 */
#ifndef ECARD_IFD_SLOT_H
#define ECARD_IFD_SLOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "atr.h"
#include "commands.h"
#include "t1.h"

enum ifd_slot_result {
	IFD_SLOT_OK = 0,
	IFD_SLOT_NO_CARD = -1,
	IFD_SLOT_COMM = -2,		/* exchange failed; the card may need a reset */
	IFD_SLOT_GONE = -3,		/* the reader was unplugged */
	IFD_SLOT_UNSUPPORTED = -4,	/* protocol or APDU form not possible here */
	IFD_SLOT_PPS_FAILED = -5,
	IFD_SLOT_TOO_SMALL = -6,	/* the response does not fit */
	IFD_SLOT_TIMEOUT = -7,
};

struct ifd_slot {
	struct ifd_ccid *ccid;	/* shared by the slots of a reader */
	uint8_t index;		/* bSlot */
	const struct logger *log;

	bool powered;
	uint8_t atr[IFD_ATR_MAX];
	size_t atr_len;
	bool atr_valid;		/* atr parsed */
	struct ifd_atr parsed;

	int protocol;		/* -1 until selected, then 0 or 1 */
	struct ifd_t1 t1;
	uint8_t wtx;		/* multiplier of the T=1 block in flight */
	bool t1_needs_resync;	/* the engine gave up: resync before the next APDU */

	unsigned long apdus;
};

void ifd_slot_init(struct ifd_slot *s, struct ifd_ccid *ccid, uint8_t index,
		   const struct logger *log);
enum ccid_level ifd_slot_level(const struct ifd_slot *s);

/* Power the card up (cold reset), or warm reset (the same in CCID: power
 * off then on), reading the ATR. */
int ifd_slot_power_up(struct ifd_slot *s);
int ifd_slot_power_down(struct ifd_slot *s);
/* Whether a card is present (GetSlotStatus). */
int ifd_slot_present(struct ifd_slot *s, bool *present);

/*
 * Select a protocol among those in mask (bit 0 T=0, bit 1 T=1): PPS when
 * the ATR needs it, SetParameters, and for T=1 the IFSD negotiation. On
 * success *selected is the protocol in force.
 */
int ifd_slot_set_protocol(struct ifd_slot *s, unsigned mask, int *selected);

/* One command APDU and its response APDU. */
int ifd_slot_transmit(struct ifd_slot *s, const uint8_t *cmd, size_t len, uint8_t *rsp,
		      size_t cap, size_t *rsp_len);

const char *ifd_slot_strerror(int result);

#endif
