/*
 * ccid.h - the messages of the USB CCID class (specification 1.1): the
 * PC_to_RDR commands on bulk-out, the RDR_to_PC answers on bulk-in, the
 * interrupt-in notifications and the class descriptor.
 *
 * This unit only builds and parses bytes; it keeps no state and knows
 * nothing of USB or sockets. The driver uses the PC_to_RDR builders and
 * the RDR_to_PC parser, the CCID reader simulator the other two, so that
 * both sides of the wire share one reading of the format. Every multi-byte
 * field of CCID is little-endian; every length read from the wire is
 * checked through struct cursor.
 */
#ifndef ECARD_IFD_CCID_H
#define ECARD_IFD_CCID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CCID_HEADER_LEN 10
/* The largest abData this code handles: an extended APDU with 65535 bytes
 * of data plus header and Le, or a response of 65536 bytes and SW. */
#define CCID_MAX_DATA 65544u
#define CCID_MAX_MSG (CCID_HEADER_LEN + CCID_MAX_DATA)

/* bMessageType, PC_to_RDR (bulk-out). */
#define PC_TO_RDR_SET_PARAMETERS 0x61
#define PC_TO_RDR_ICC_POWER_ON 0x62
#define PC_TO_RDR_ICC_POWER_OFF 0x63
#define PC_TO_RDR_GET_SLOT_STATUS 0x65
#define PC_TO_RDR_SECURE 0x69
#define PC_TO_RDR_T0_APDU 0x6A
#define PC_TO_RDR_ESCAPE 0x6B
#define PC_TO_RDR_GET_PARAMETERS 0x6C
#define PC_TO_RDR_RESET_PARAMETERS 0x6D
#define PC_TO_RDR_ICC_CLOCK 0x6E
#define PC_TO_RDR_XFR_BLOCK 0x6F
#define PC_TO_RDR_MECHANICAL 0x71
#define PC_TO_RDR_ABORT 0x72
#define PC_TO_RDR_SET_DATA_RATE 0x73

/* bMessageType, RDR_to_PC (bulk-in). */
#define RDR_TO_PC_DATA_BLOCK 0x80
#define RDR_TO_PC_SLOT_STATUS 0x81
#define RDR_TO_PC_PARAMETERS 0x82
#define RDR_TO_PC_ESCAPE 0x83
#define RDR_TO_PC_DATA_RATE 0x84

/* bMessageType, interrupt-in. */
#define RDR_TO_PC_NOTIFY_SLOT_CHANGE 0x50
#define RDR_TO_PC_HARDWARE_ERROR 0x51

/* bStatus of every RDR_to_PC message: bits 0-1 the ICC, bits 6-7 the command. */
#define CCID_ICC_ACTIVE 0x00
#define CCID_ICC_INACTIVE 0x01
#define CCID_ICC_ABSENT 0x02
#define CCID_CMD_OK 0x00
#define CCID_CMD_FAILED 0x01
#define CCID_CMD_TIME_EXTENSION 0x02
#define CCID_STATUS(icc, cmd) ((uint8_t)(((cmd) << 6) | (icc)))
#define CCID_ICC_STATUS(bstatus) ((uint8_t)((bstatus) & 0x03))
#define CCID_CMD_STATUS(bstatus) ((uint8_t)(((bstatus) >> 6) & 0x03))

/* bError when the command failed (CCID 1.1 §6.2.6). 0x01-0x7F: offset of
 * the bad field in the command; 0x00: command not supported. */
#define CCID_ERR_CMD_NOT_SUPPORTED 0x00
#define CCID_ERR_CMD_ABORTED 0xFF
#define CCID_ERR_ICC_MUTE 0xFE
#define CCID_ERR_XFR_PARITY_ERROR 0xFD
#define CCID_ERR_XFR_OVERRUN 0xFC
#define CCID_ERR_HW_ERROR 0xFB
#define CCID_ERR_BAD_ATR_TS 0xF8
#define CCID_ERR_BAD_ATR_TCK 0xF7
#define CCID_ERR_ICC_PROTOCOL_NOT_SUPPORTED 0xF6
#define CCID_ERR_ICC_CLASS_NOT_SUPPORTED 0xF5
#define CCID_ERR_PROCEDURE_BYTE_CONFLICT 0xF4
#define CCID_ERR_DEACTIVATED_PROTOCOL 0xF3
#define CCID_ERR_BUSY_WITH_AUTO_SEQUENCE 0xF2
#define CCID_ERR_PIN_TIMEOUT 0xF0
#define CCID_ERR_PIN_CANCELLED 0xEF
#define CCID_ERR_CMD_SLOT_BUSY 0xE0

/* bPowerSelect of PC_to_RDR_IccPowerOn. */
#define CCID_POWER_AUTO 0x00
#define CCID_POWER_5V 0x01
#define CCID_POWER_3V 0x02
#define CCID_POWER_1_8V 0x03

/* wLevelParameter of XfrBlock and bChainParameter of DataBlock for the
 * extended APDU level (CCID 1.1 §6.1.4 and §6.2.1). */
#define CCID_CHAIN_BEGIN_AND_END 0x00
#define CCID_CHAIN_BEGIN 0x01
#define CCID_CHAIN_END 0x02
#define CCID_CHAIN_CONTINUE 0x03
#define CCID_CHAIN_EMPTY 0x10	/* "send more", empty abData */

/*
 * One message of any direction. The three bytes after bSeq depend on the
 * message type; the named accessors below say which is which. data points
 * into the buffer that was decoded (or that the caller built) and holds
 * len bytes (dwLength).
 */
struct ccid_msg {
	uint8_t type;		/* bMessageType */
	uint8_t slot;		/* bSlot */
	uint8_t seq;		/* bSeq */
	uint8_t param[3];	/* bytes 7, 8, 9 */
	const uint8_t *data;	/* abData */
	uint32_t len;		/* dwLength */
};

/* Byte 7-9 names of RDR_to_PC messages. */
#define ccid_msg_status(m) ((m)->param[0])	/* bStatus */
#define ccid_msg_error(m) ((m)->param[1])	/* bError */
/* bChainParameter (DataBlock), bClockStatus (SlotStatus), bProtocolNum
 * (Parameters). */
#define ccid_msg_specific(m) ((m)->param[2])

/*
 * Write the message, header and abData, into out. Returns the number of
 * bytes written, or 0 when it does not fit in cap or len exceeds
 * CCID_MAX_DATA.
 */
size_t ccid_msg_encode(const struct ccid_msg *m, uint8_t *out, size_t cap);

/*
 * Read one bulk message of exactly len bytes: a 10-byte header whose
 * dwLength matches what follows. Returns 0, or -1 when the bytes are not
 * one well-formed message (too short, length disagrees, too long). The
 * message type is not checked here.
 */
int ccid_msg_decode(const uint8_t *buf, size_t len, struct ccid_msg *m);

/*
 * Read one bulk-in answer of a reader, len bytes. As ccid_msg_decode, but
 * a SlotStatus or Parameters message may carry bytes after the dwLength
 * bytes of abData: they are ignored and counted in *trailing. Readers do
 * send such answers (QEMU's usb-ccid answers SetParameters with dwLength
 * 0 followed by the parameters), and neither message can hide part of a
 * card's answer there. A DataBlock, Escape or DataRate answer must be
 * exact, since its dwLength or its length would be lying about data.
 */
int ccid_answer_decode(const uint8_t *buf, size_t len, struct ccid_msg *m, size_t *trailing);

/* Whether the type is one a reader sends on bulk-in (0x80-0x84). */
bool ccid_is_rdr_to_pc(uint8_t type);
/* Whether the type is a PC_to_RDR command this code knows. */
bool ccid_is_pc_to_rdr(uint8_t type);

/* Name of a message type ("PC_to_RDR_XfrBlock"), "unknown" otherwise. */
const char *ccid_msg_name(uint8_t type);
/* Name of a bError value ("ICC_MUTE"), or "bad parameter" for 01-7F. */
const char *ccid_error_name(uint8_t error);

/* ---- PC_to_RDR builders (the driver), each returns the length or 0 ---- */

size_t ccid_build_power_on(uint8_t slot, uint8_t seq, uint8_t power_select,
			   uint8_t *out, size_t cap);
size_t ccid_build_power_off(uint8_t slot, uint8_t seq, uint8_t *out, size_t cap);
size_t ccid_build_get_slot_status(uint8_t slot, uint8_t seq, uint8_t *out, size_t cap);
/* bwi: block waiting time multiplier for this block (T=1 WTX), 0 otherwise;
 * level: wLevelParameter (CCID_CHAIN_* at extended APDU level, the
 * expected response length for T=0 at character level, 0 otherwise). */
size_t ccid_build_xfr_block(uint8_t slot, uint8_t seq, uint8_t bwi, uint16_t level,
			    const uint8_t *data, size_t len, uint8_t *out, size_t cap);
size_t ccid_build_get_parameters(uint8_t slot, uint8_t seq, uint8_t *out, size_t cap);
size_t ccid_build_reset_parameters(uint8_t slot, uint8_t seq, uint8_t *out, size_t cap);
size_t ccid_build_escape(uint8_t slot, uint8_t seq, const uint8_t *data, size_t len,
			 uint8_t *out, size_t cap);
size_t ccid_build_abort(uint8_t slot, uint8_t seq, uint8_t *out, size_t cap);

/*
 * Protocol data of SetParameters and Parameters (CCID 1.1 §6.1.7):
 * 5 bytes for T=0, 7 bytes for T=1.
 */
struct ccid_params {
	uint8_t protocol;	/* 0 or 1 (bProtocolNum) */
	uint8_t fi_di;		/* bmFindexDindex, TA1 */
	uint8_t tcck;		/* bmTCCKST0/1: T=1 bit 0 = CRC, bit 1 = inverse convention */
	uint8_t guard_time;	/* bGuardTimeT0/T1, TC1 */
	uint8_t waiting;	/* T=0: WI (TC2); T=1: BWI << 4 | CWI */
	uint8_t clock_stop;	/* bClockStop */
	uint8_t ifsc;		/* T=1 only */
	uint8_t nad;		/* T=1 only */
};
#define CCID_PARAMS_T0_LEN 5
#define CCID_PARAMS_T1_LEN 7

/* Write the protocol data for p->protocol (5 or 7 bytes); returns its
 * length, or 0 for a protocol other than T=0 and T=1. */
size_t ccid_params_encode(const struct ccid_params *p, uint8_t out[CCID_PARAMS_T1_LEN]);
size_t ccid_build_set_parameters(uint8_t slot, uint8_t seq, const struct ccid_params *p,
				 uint8_t *out, size_t cap);
/* Parse abProtocolDataStructure of a Parameters or SetParameters message
 * for protocol (bProtocolNum). Returns 0 or -1 (wrong length or protocol). */
int ccid_params_decode(uint8_t protocol, const uint8_t *data, size_t len,
		       struct ccid_params *p);

/* ---- RDR_to_PC builders (the simulator) ---- */

/* Any RDR_to_PC message: type, slot, seq, bStatus, bError, the specific
 * byte and abData. Returns the length or 0. */
size_t ccid_build_response(uint8_t type, uint8_t slot, uint8_t seq, uint8_t status,
			   uint8_t error, uint8_t specific, const uint8_t *data, size_t len,
			   uint8_t *out, size_t cap);

/*
 * RDR_to_PC_NotifySlotChange: two bits per slot (bit 0 present, bit 1
 * changed) for nslots slots. Returns the length (1 + ceil(nslots / 4)) or
 * 0 when it does not fit or nslots is not 1 to 256.
 */
size_t ccid_build_notify(const bool *present, const bool *changed, unsigned nslots,
			 uint8_t *out, size_t cap);
/*
 * Read the state of one slot from an interrupt message. Returns 0 with
 * *present and *changed set, 1 when the message is another interrupt
 * (hardware error) or does not cover the slot, -1 when it is malformed.
 * Malformed: empty, a type other than 0x50 and 0x51, a NotifySlotChange
 * with no state byte or more than 64 (256 slots), a HardwareError that
 * is not 4 bytes.
 */
int ccid_notify_slot(const uint8_t *buf, size_t len, unsigned slot, bool *present,
		     bool *changed);

/* ---- the class descriptor (CCID 1.1 §5.1, bDescriptorType 0x21) ---- */

#define CCID_DESCRIPTOR_LEN 54
#define CCID_DESCRIPTOR_TYPE 0x21

/* dwFeatures bits. */
#define CCID_FEAT_AUTO_ATR_CONFIG 0x00000002u
#define CCID_FEAT_AUTO_ACTIVATION 0x00000004u
#define CCID_FEAT_AUTO_VOLTAGE 0x00000008u
#define CCID_FEAT_AUTO_CLOCK 0x00000010u
#define CCID_FEAT_AUTO_BAUD 0x00000020u
#define CCID_FEAT_AUTO_PPS_PROP 0x00000040u
#define CCID_FEAT_AUTO_PPS_CUR 0x00000080u
#define CCID_FEAT_CLOCK_STOP 0x00000100u
#define CCID_FEAT_NAD 0x00000200u
#define CCID_FEAT_AUTO_IFSD 0x00000400u
#define CCID_FEAT_LEVEL_MASK 0x00070000u
#define CCID_FEAT_LEVEL_TPDU 0x00010000u
#define CCID_FEAT_LEVEL_SHORT_APDU 0x00020000u
#define CCID_FEAT_LEVEL_EXTENDED_APDU 0x00040000u
#define CCID_FEAT_WAKEUP 0x00100000u

/* bVoltageSupport bits. */
#define CCID_VOLTAGE_5V 0x01
#define CCID_VOLTAGE_3V 0x02
#define CCID_VOLTAGE_1_8V 0x04

enum ccid_level {
	CCID_LEVEL_CHARACTER,
	CCID_LEVEL_TPDU,
	CCID_LEVEL_SHORT_APDU,
	CCID_LEVEL_EXTENDED_APDU,
};

struct ccid_descriptor {
	uint16_t bcd_ccid;
	uint8_t max_slot_index;	/* slots - 1 */
	uint8_t voltage_support;
	uint32_t protocols;	/* bit 0 T=0, bit 1 T=1 */
	uint32_t default_clock;	/* kHz */
	uint32_t maximum_clock;
	uint8_t num_clocks;
	uint32_t data_rate;	/* bps */
	uint32_t max_data_rate;
	uint8_t num_data_rates;
	uint32_t max_ifsd;
	uint32_t synch_protocols;
	uint32_t mechanical;
	uint32_t features;
	uint32_t max_message_length;	/* dwMaxCCIDMessageLength */
	uint8_t class_get_response;
	uint8_t class_envelope;
	uint16_t lcd_layout;
	uint8_t pin_support;
	uint8_t max_busy_slots;
};

/* Parse the 54-byte class descriptor (bLength, bDescriptorType first).
 * Returns 0 or -1 when it is short, of another type or inconsistent
 * (bLength not 54, dwMaxCCIDMessageLength below a header). Bytes after
 * the first 54 are not read: they belong to the next descriptor. */
int ccid_descriptor_parse(const uint8_t *buf, size_t len, struct ccid_descriptor *d);
/* Write it back; always CCID_DESCRIPTOR_LEN bytes. */
size_t ccid_descriptor_build(const struct ccid_descriptor *d, uint8_t out[CCID_DESCRIPTOR_LEN]);

/*
 * What the driver learns about a reader when it opens it: USB identity,
 * strings and class descriptor (the simulator describes itself with it).
 */
struct ifd_device_info {
	uint16_t vendor_id;
	uint16_t product_id;
	uint16_t bcd_device;
	uint8_t interface_number;
	bool has_interrupt;	/* an interrupt-in endpoint exists */
	char manufacturer[64];
	char product[64];
	char serial[64];
	struct ccid_descriptor desc;
};

/* The exchange level announced in dwFeatures. */
enum ccid_level ccid_descriptor_level(const struct ccid_descriptor *d);
const char *ccid_level_name(enum ccid_level level);

#endif
