/*
 * ccid_sim.h - a USB CCID reader (CCID class specification 1.1) holding
 * libvcard cards, as test equipment for the reader driver.
 *
 * This is the reader's logic without any socket: one PC_to_RDR message in,
 * the RDR_to_PC messages a real reader would send back out (time
 * extensions first, then the answer), plus the interrupt messages of card
 * insertion and removal and the device description the driver's "sim:"
 * transport asks for. ecard-ccid-sim (ccidsim_main.c) puts it behind the
 * SOCK_SEQPACKET wire of ifd/codec/sim_proto.h; the unit tests drive it
 * directly with the builders of ifd/codec/ccid.h.
 *
 * The reader works at one exchange level:
 *  - TPDU: the driver runs the transmission protocol. A T=1 card answers
 *    blocks through ccid-sim/t1_card.h; a T=0 card answers T=0 TPDUs (with
 *    61xx and 6Cxx as ISO 7816-4 Annex A describes). The ATR offers T=0,
 *    T=1 or both, and a PPS right after the ATR selects one and may move
 *    the card to TA1's rate.
 *  - short APDU: one APDU per XfrBlock, at most 256 response bytes (the
 *    rest waits behind 61xx).
 *  - extended APDU: commands and responses longer than one message are
 *    chained with wLevelParameter / bChainParameter.
 *
 * For the people who test drivers it can misbehave on purpose: time
 * extensions and S(WTX) for slow cards, a card that loses power in the
 * middle of a command (the tearing storage of storage.h), and wire faults
 * armed for "the Nth message from now": a flipped bit in a T=1 block, a
 * dropped answer, a wrong bSeq, garbage, a truncated message. Randomness
 * comes from a small deterministic generator seeded by the configuration,
 * so a failing run can be replayed.
 *
 * A dropped answer leaves the simulator waiting for the next command,
 * exactly like a real reader whose bulk-in transfer got lost: the driver
 * times out and carries on (retransmits, resynchronises or resets the
 * card); nothing in here waits for it.
 *
 * No global state; the caller owns struct vc_ccid_sim, which is large
 * (the cards and their buffers): allocate it statically or on the heap,
 * and do not move it after vc_ccid_sim_init() (the slots point back at it).
 */
#ifndef VCARD_CCID_SIM_H
#define VCARD_CCID_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "atr.h"
#include "card.h"
#include "ccid.h"
#include "log.h"
#include "storage.h"
#include "t0_card.h"
#include "t1_card.h"
#include "sim_proto.h"

#define VC_CCID_MAX_SLOTS 4
#define VC_CCID_MAX_TIME_EXTENSIONS 15
/* Escape answers this firmware version, whatever it is asked. */
#define VC_CCID_FIRMWARE "ecard-ccid-sim 1"
#define VC_CCID_STRING_MAX 64

/* The smallest dwMaxCCIDMessageLength accepted: enough for a short APDU
 * (or a T=1 block of 254 bytes) at TPDU and short APDU level; at extended
 * level anything that leaves a few bytes of abData, so tests can force
 * chaining with small messages. */
#define VC_CCID_MIN_MESSAGE 271u
#define VC_CCID_MIN_MESSAGE_EXTENDED 16u

struct vc_ccid_config {
	enum ccid_level level;		/* TPDU, short or extended APDU */
	unsigned protocols;		/* IFD_PROTOCOL_T0 | IFD_PROTOCOL_T1 */
	uint8_t ifsc;			/* T=1: the card's IFSC (TA3), 1-254 */
	enum ifd_t1_edc edc;		/* T=1: LRC, or CRC (TC3 = 01) */
	uint8_t ta1;			/* TA1 of the ATR; 0 = none */
	uint32_t max_message_length;	/* dwMaxCCIDMessageLength */
	uint32_t max_ifsd;		/* dwMaxIFSD */
	unsigned slots;			/* 1-4 */
	uint8_t voltage_support;	/* CCID_VOLTAGE_* bits */
	uint16_t vendor_id;
	uint16_t product_id;
	uint16_t bcd_device;
	char manufacturer[VC_CCID_STRING_MAX];
	char product[VC_CCID_STRING_MAX];
	char serial[VC_CCID_STRING_MAX];
	/* Time extensions sent before the answer of each XfrBlock that runs
	 * the card (0 to VC_CCID_MAX_TIME_EXTENSIONS), with this bError. */
	unsigned time_extensions;
	uint8_t time_extension_multiplier;
	/* T=1 at TPDU level: S(WTX request)s the card sends per command. */
	unsigned wtx;
	uint8_t wtx_multiplier;
	uint64_t seed;			/* of the fault generator */
	/* Reader quirks, for behaving like readers met in the field. */
	/* dwFeatures 40h and 80h (and 02h, 04h, 400h): the reader selects
	 * the protocol and rate with the card by itself at power-up, from
	 * the ATR, and the driver must not change them. */
	bool reader_negotiates;
	/* Parameters answers give dwLength 0 and still carry the protocol
	 * data structure after the header. */
	bool params_without_length;
};

/* Wire faults, each armed on its own countdown. */
enum vc_ccid_fault {
	VC_CCID_FAULT_FLIP,	/* one bit of a T=1 block the card sends */
	VC_CCID_FAULT_DROP,	/* no answer at all */
	VC_CCID_FAULT_SEQ,	/* the answer carries a wrong bSeq */
	VC_CCID_FAULT_GARBAGE,	/* random bytes of random length instead */
	VC_CCID_FAULT_TRUNCATE,	/* the answer cut short */
	VC_CCID_FAULT_KINDS
};

struct vc_ccid_stats {
	unsigned long messages;		/* PC_to_RDR messages received */
	unsigned long malformed;	/* of which could not be decoded */
	unsigned long time_extensions;	/* time extension messages sent */
	unsigned long faults;		/* wire faults fired */
	unsigned long fault_by_kind[VC_CCID_FAULT_KINDS];
	unsigned long apdus;		/* commands the cards processed */
	unsigned long power_losses;	/* commands cut by a tear */
};

struct vc_ccid_sim;

struct vc_ccid_slot {
	struct vc_ccid_sim *sim;
	unsigned index;
	bool has_card;		/* a card image is attached */
	bool present;		/* in the slot (insert/remove) */
	bool powered;		/* activated by IccPowerOn */
	struct vc_storage *st;	/* owned */
	struct vc_card card;

	/* TPDU level: what the card and the reader currently run. They must
	 * agree for the card to understand anything (a real reader at TPDU
	 * level only moves bytes at the rate and protocol it was told). */
	bool pps_allowed;	/* nothing exchanged since the ATR */
	uint8_t card_protocol;
	uint8_t card_fidi;
	struct ccid_params params;	/* the reader's (Get/SetParameters) */

	struct vc_t1_card t1;
	struct vc_t0_card t0;

	/* Extended APDU level: the command being gathered, the response
	 * being handed out. */
	uint8_t cmd[VC_T1_APDU_MAX];
	size_t cmd_len;
	bool cmd_open;
	bool cmd_overflow;
	uint8_t rsp[VC_RSP_MAX];
	size_t rsp_len;
	size_t rsp_off;
	bool rsp_open;

	/* CCID §5.3.1: the ABORT control request and PC_to_RDR_Abort meet. */
	bool abort_requested;	/* control request seen, bulk Abort expected */
	uint8_t abort_seq;
	bool abort_bulk_waiting;	/* bulk Abort seen, control request expected */
	uint8_t abort_bulk_seq;
};

struct vc_ccid_sim {
	struct vc_ccid_config cfg;
	const struct logger *log;
	struct ccid_descriptor desc;
	uint8_t atr[IFD_ATR_MAX];
	size_t atr_len;
	uint64_t rng;
	unsigned fault_countdown[VC_CCID_FAULT_KINDS];	/* 0 = not armed */
	struct vc_ccid_stats stats;
	struct vc_ccid_slot slot[VC_CCID_MAX_SLOTS];
};

/* What one PC_to_RDR message produced: count messages, each at
 * buf + off[i] with len[i] bytes; the last one is the answer. */
#define VC_CCID_OUT_MSGS (VC_CCID_MAX_TIME_EXTENSIONS + 1)
struct vc_ccid_out {
	unsigned count;
	size_t off[VC_CCID_OUT_MSGS];
	size_t len[VC_CCID_OUT_MSGS];
	size_t used;
	uint8_t buf[VC_CCID_OUT_MSGS * CCID_HEADER_LEN + CCID_MAX_MSG];
};

static inline const uint8_t *vc_ccid_out_msg(const struct vc_ccid_out *o, unsigned i)
{
	return o->buf + o->off[i];
}

/* TPDU level, T=1 only, IFSC 254, LRC, no TA1, 271-byte messages, IFSD
 * 254, one slot, 5 V / 3 V / 1.8 V, no time extensions, seed 1. */
void vc_ccid_config_default(struct vc_ccid_config *cfg);
/* The reader QEMU emulates as "-device usb-ccid" (version 7.2): 08E6:4433,
 * TPDU level, a T=0 card, dwFeatures 000104FE (it negotiates by itself),
 * dwMaxCCIDMessageLength 65554, and Parameters answers whose dwLength is 0
 * though 7 bytes follow. */
void vc_ccid_config_qemu(struct vc_ccid_config *cfg);

/*
 * Check the configuration and set the reader up with empty slots; builds
 * the class descriptor and the ATR. Returns VC_OK or VC_ERR_ARG (with a
 * log line that says which setting is wrong).
 */
enum vc_status vc_ccid_sim_init(struct vc_ccid_sim *s, const struct vc_ccid_config *cfg,
				const struct logger *log);
/* Power the cards down and destroy their storage. */
void vc_ccid_sim_free(struct vc_ccid_sim *s);

/*
 * Put a card in a slot: the simulator takes ownership of st and registers
 * the applet types (before any power-up, as card.h requires). The card is
 * present, not powered. Returns VC_ERR_ARG for a bad slot, VC_ERR_EXISTS
 * when the slot already holds a card.
 */
enum vc_status vc_ccid_sim_attach(struct vc_ccid_sim *s, unsigned slot, struct vc_storage *st,
				  const struct vc_applet *const *types, size_t n_types);

/* The answer to reset every card gets (the historical bytes of
 * vc_card_atr() behind interface bytes made from the configuration). */
size_t vc_ccid_sim_atr(const struct vc_ccid_sim *s, uint8_t out[IFD_ATR_MAX]);
const struct ccid_descriptor *vc_ccid_sim_descriptor(const struct vc_ccid_sim *s);
/* The device description, as struct and as the SIM_INFO payload (its
 * length, or 0 when it does not fit). */
void vc_ccid_sim_device_info(const struct vc_ccid_sim *s, struct ifd_device_info *info);
size_t vc_ccid_sim_info(const struct vc_ccid_sim *s, uint8_t *out, size_t cap);

/*
 * One PC_to_RDR message (exactly one bulk-out transfer of len bytes) in;
 * the answer and any time extensions before it in *out (out->count may be
 * 0: a dropped answer, a bulk Abort waiting for its control request, or a
 * transfer too short to hold a header). Never fails: whatever the bytes,
 * a real reader's answer comes out.
 */
void vc_ccid_sim_handle(struct vc_ccid_sim *s, const uint8_t *msg, size_t len,
			struct vc_ccid_out *out);

/* The class-specific ABORT control request (CCID §5.3.1). It may
 * complete a bulk Abort that came first, whose answer then lands in out. */
void vc_ccid_sim_abort_request(struct vc_ccid_sim *s, uint8_t slot, uint8_t seq,
			       struct vc_ccid_out *out);

/*
 * Card insertion and removal. On a change the NotifySlotChange to send on
 * the interrupt pipe is written to out (*out_len bytes); *out_len is 0
 * when nothing changed. Removal powers the card down. Returns VC_ERR_ARG
 * (bad slot, buffer too small) or VC_ERR_NOT_FOUND (no card attached).
 */
enum vc_status vc_ccid_sim_insert(struct vc_ccid_sim *s, unsigned slot, uint8_t *out,
				  size_t cap, size_t *out_len);
enum vc_status vc_ccid_sim_remove(struct vc_ccid_sim *s, unsigned slot, uint8_t *out,
				  size_t cap, size_t *out_len);
/* NotifySlotChange with the current state, for a new interrupt
 * subscriber: the changed bit is set for every occupied slot, as after
 * enumeration (empty then, a card now). Returns the length or 0. */
size_t vc_ccid_sim_notify(const struct vc_ccid_sim *s, uint8_t *out, size_t cap);

/* The reader loses power (unplugged): every card is deactivated and any
 * chain or abort in progress forgotten. Cards stay where they are. */
void vc_ccid_sim_unplug(struct vc_ccid_sim *s);

/* Arm a fault for the nth eligible answer from now (n >= 1; 0 disarms).
 * FLIP counts only answers that carry a T=1 block; the others count
 * every answer. */
void vc_ccid_sim_arm_fault(struct vc_ccid_sim *s, enum vc_ccid_fault fault, unsigned n);
const char *vc_ccid_fault_name(enum vc_ccid_fault fault);
/* "flip", "drop", "seq", "garbage", "truncate"; -1 when unknown. */
int vc_ccid_fault_parse(const char *name);

#endif
