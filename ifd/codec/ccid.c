/*
 * ccid.c - building and parsing the messages of the USB CCID class
 * (specification 1.1). See ccid.h for the contract.
 *
 * The driver and the CCID reader simulator both link this unit, so the two
 * ends of the simulated cable cannot drift apart in their reading of the
 * format. Everything read comes from a reader (or from a driver, for the
 * simulator) and goes through struct cursor; everything written goes
 * through struct writer, so a builder given too small a buffer writes
 * nothing past it and reports 0.
 */
#include "ccid.h"

#include "cursor.h"

#include <string.h>

/* bmSlotICCState of NotifySlotChange: two bits per slot, four per byte. */
#define NOTIFY_BITS_PER_SLOT 2
#define NOTIFY_SLOTS_PER_BYTE 4
#define NOTIFY_PRESENT 0x01
#define NOTIFY_CHANGED 0x02
/* bSlot is one byte, so no reader has more than 256 slots: 64 bytes. */
#define NOTIFY_MAX_SLOTS 256u
#define NOTIFY_MAX_STATE_BYTES (NOTIFY_MAX_SLOTS / NOTIFY_SLOTS_PER_BYTE)
/* RDR_to_PC_HardwareError: type, bSlot, bSeq, bHardwareErrorCode. */
#define HARDWARE_ERROR_LEN 4

/* ---- the bulk message ---- */

size_t ccid_msg_encode(const struct ccid_msg *m, uint8_t *out, size_t cap)
{
	struct writer w;

	if (!m || m->len > CCID_MAX_DATA || (m->len && !m->data))
		return 0;
	writer_init(&w, out, cap);
	writer_u8(&w, m->type);
	writer_u32le(&w, m->len);
	writer_u8(&w, m->slot);
	writer_u8(&w, m->seq);
	writer_bytes(&w, m->param, sizeof(m->param));
	writer_bytes(&w, m->data, m->len);
	return writer_ok(&w) ? w.len : 0;
}

/* The 10-byte header; false when buf is shorter or dwLength too large. */
static bool decode_header(struct cursor *c, const uint8_t *buf, size_t len, struct ccid_msg *m)
{
	cursor_init(c, buf, len);
	cursor_u8(c, &m->type);
	cursor_u32le(c, &m->len);
	cursor_u8(c, &m->slot);
	cursor_u8(c, &m->seq);
	cursor_copy(c, m->param, sizeof(m->param));
	return cursor_ok(c) && m->len <= CCID_MAX_DATA;
}

int ccid_msg_decode(const uint8_t *buf, size_t len, struct ccid_msg *m)
{
	struct cursor c;
	struct ccid_msg tmp;

	if (!m || !decode_header(&c, buf, len, &tmp))
		return -1;
	/* dwLength must describe exactly the bytes that came with it: a
	 * shorter transfer is a lost packet, a longer one a second message
	 * or garbage, and neither may be taken for this message's data. */
	if (tmp.len != cursor_remaining(&c))
		return -1;
	if (!cursor_bytes(&c, tmp.len, &tmp.data) || !cursor_done(&c))
		return -1;
	*m = tmp;
	return 0;
}

/* Answers whose abData is a structure of known size, or none: bytes
 * after dwLength's data cannot be part of a card's answer. */
static bool trailing_is_harmless(uint8_t type)
{
	return type == RDR_TO_PC_SLOT_STATUS || type == RDR_TO_PC_PARAMETERS;
}

int ccid_answer_decode(const uint8_t *buf, size_t len, struct ccid_msg *m, size_t *trailing)
{
	struct cursor c;
	struct ccid_msg tmp;

	if (!m || !trailing || !decode_header(&c, buf, len, &tmp) ||
	    tmp.len > cursor_remaining(&c))
		return -1;
	size_t extra = cursor_remaining(&c) - tmp.len;
	if (extra && !trailing_is_harmless(tmp.type))
		return -1;
	if (!cursor_bytes(&c, tmp.len, &tmp.data))
		return -1;
	*trailing = extra;
	*m = tmp;
	return 0;
}

bool ccid_is_rdr_to_pc(uint8_t type)
{
	return type >= RDR_TO_PC_DATA_BLOCK && type <= RDR_TO_PC_DATA_RATE;
}

bool ccid_is_pc_to_rdr(uint8_t type)
{
	switch (type) {
	case PC_TO_RDR_SET_PARAMETERS:
	case PC_TO_RDR_ICC_POWER_ON:
	case PC_TO_RDR_ICC_POWER_OFF:
	case PC_TO_RDR_GET_SLOT_STATUS:
	case PC_TO_RDR_SECURE:
	case PC_TO_RDR_T0_APDU:
	case PC_TO_RDR_ESCAPE:
	case PC_TO_RDR_GET_PARAMETERS:
	case PC_TO_RDR_RESET_PARAMETERS:
	case PC_TO_RDR_ICC_CLOCK:
	case PC_TO_RDR_XFR_BLOCK:
	case PC_TO_RDR_MECHANICAL:
	case PC_TO_RDR_ABORT:
	case PC_TO_RDR_SET_DATA_RATE:
		return true;
	}
	return false;
}

const char *ccid_msg_name(uint8_t type)
{
	switch (type) {
	case PC_TO_RDR_SET_PARAMETERS:
		return "PC_to_RDR_SetParameters";
	case PC_TO_RDR_ICC_POWER_ON:
		return "PC_to_RDR_IccPowerOn";
	case PC_TO_RDR_ICC_POWER_OFF:
		return "PC_to_RDR_IccPowerOff";
	case PC_TO_RDR_GET_SLOT_STATUS:
		return "PC_to_RDR_GetSlotStatus";
	case PC_TO_RDR_SECURE:
		return "PC_to_RDR_Secure";
	case PC_TO_RDR_T0_APDU:
		return "PC_to_RDR_T0APDU";
	case PC_TO_RDR_ESCAPE:
		return "PC_to_RDR_Escape";
	case PC_TO_RDR_GET_PARAMETERS:
		return "PC_to_RDR_GetParameters";
	case PC_TO_RDR_RESET_PARAMETERS:
		return "PC_to_RDR_ResetParameters";
	case PC_TO_RDR_ICC_CLOCK:
		return "PC_to_RDR_IccClock";
	case PC_TO_RDR_XFR_BLOCK:
		return "PC_to_RDR_XfrBlock";
	case PC_TO_RDR_MECHANICAL:
		return "PC_to_RDR_Mechanical";
	case PC_TO_RDR_ABORT:
		return "PC_to_RDR_Abort";
	case PC_TO_RDR_SET_DATA_RATE:
		return "PC_to_RDR_SetDataRateAndClockFrequency";
	case RDR_TO_PC_DATA_BLOCK:
		return "RDR_to_PC_DataBlock";
	case RDR_TO_PC_SLOT_STATUS:
		return "RDR_to_PC_SlotStatus";
	case RDR_TO_PC_PARAMETERS:
		return "RDR_to_PC_Parameters";
	case RDR_TO_PC_ESCAPE:
		return "RDR_to_PC_Escape";
	case RDR_TO_PC_DATA_RATE:
		return "RDR_to_PC_DataRateAndClockFrequency";
	case RDR_TO_PC_NOTIFY_SLOT_CHANGE:
		return "RDR_to_PC_NotifySlotChange";
	case RDR_TO_PC_HARDWARE_ERROR:
		return "RDR_to_PC_HardwareError";
	}
	return "unknown";
}

const char *ccid_error_name(uint8_t error)
{
	switch (error) {
	case CCID_ERR_CMD_NOT_SUPPORTED:
		return "CMD_NOT_SUPPORTED";
	case CCID_ERR_CMD_ABORTED:
		return "CMD_ABORTED";
	case CCID_ERR_ICC_MUTE:
		return "ICC_MUTE";
	case CCID_ERR_XFR_PARITY_ERROR:
		return "XFR_PARITY_ERROR";
	case CCID_ERR_XFR_OVERRUN:
		return "XFR_OVERRUN";
	case CCID_ERR_HW_ERROR:
		return "HW_ERROR";
	case CCID_ERR_BAD_ATR_TS:
		return "BAD_ATR_TS";
	case CCID_ERR_BAD_ATR_TCK:
		return "BAD_ATR_TCK";
	case CCID_ERR_ICC_PROTOCOL_NOT_SUPPORTED:
		return "ICC_PROTOCOL_NOT_SUPPORTED";
	case CCID_ERR_ICC_CLASS_NOT_SUPPORTED:
		return "ICC_CLASS_NOT_SUPPORTED";
	case CCID_ERR_PROCEDURE_BYTE_CONFLICT:
		return "PROCEDURE_BYTE_CONFLICT";
	case CCID_ERR_DEACTIVATED_PROTOCOL:
		return "DEACTIVATED_PROTOCOL";
	case CCID_ERR_BUSY_WITH_AUTO_SEQUENCE:
		return "BUSY_WITH_AUTO_SEQUENCE";
	case CCID_ERR_PIN_TIMEOUT:
		return "PIN_TIMEOUT";
	case CCID_ERR_PIN_CANCELLED:
		return "PIN_CANCELLED";
	case CCID_ERR_CMD_SLOT_BUSY:
		return "CMD_SLOT_BUSY";
	}
	/* §6.2.6: a positive value is the offset of the field the reader
	 * did not accept. */
	if (error >= 0x01 && error <= 0x7F)
		return "bad parameter";
	return "unknown";
}

/* ---- PC_to_RDR builders ---- */

/* Every builder is one message with three header bytes and abData. */
static size_t build(uint8_t type, uint8_t slot, uint8_t seq, uint8_t p0, uint8_t p1,
		    uint8_t p2, const uint8_t *data, size_t len, uint8_t *out, size_t cap)
{
	struct ccid_msg m;

	if (len > CCID_MAX_DATA)
		return 0;
	m.type = type;
	m.slot = slot;
	m.seq = seq;
	m.param[0] = p0;
	m.param[1] = p1;
	m.param[2] = p2;
	m.data = data;
	m.len = (uint32_t)len;
	return ccid_msg_encode(&m, out, cap);
}

size_t ccid_build_power_on(uint8_t slot, uint8_t seq, uint8_t power_select,
			   uint8_t *out, size_t cap)
{
	return build(PC_TO_RDR_ICC_POWER_ON, slot, seq, power_select, 0, 0, NULL, 0, out, cap);
}

size_t ccid_build_power_off(uint8_t slot, uint8_t seq, uint8_t *out, size_t cap)
{
	return build(PC_TO_RDR_ICC_POWER_OFF, slot, seq, 0, 0, 0, NULL, 0, out, cap);
}

size_t ccid_build_get_slot_status(uint8_t slot, uint8_t seq, uint8_t *out, size_t cap)
{
	return build(PC_TO_RDR_GET_SLOT_STATUS, slot, seq, 0, 0, 0, NULL, 0, out, cap);
}

size_t ccid_build_xfr_block(uint8_t slot, uint8_t seq, uint8_t bwi, uint16_t level,
			    const uint8_t *data, size_t len, uint8_t *out, size_t cap)
{
	/* wLevelParameter is little-endian like every CCID field. */
	return build(PC_TO_RDR_XFR_BLOCK, slot, seq, bwi, (uint8_t)level,
		     (uint8_t)(level >> 8), data, len, out, cap);
}

size_t ccid_build_get_parameters(uint8_t slot, uint8_t seq, uint8_t *out, size_t cap)
{
	return build(PC_TO_RDR_GET_PARAMETERS, slot, seq, 0, 0, 0, NULL, 0, out, cap);
}

size_t ccid_build_reset_parameters(uint8_t slot, uint8_t seq, uint8_t *out, size_t cap)
{
	return build(PC_TO_RDR_RESET_PARAMETERS, slot, seq, 0, 0, 0, NULL, 0, out, cap);
}

size_t ccid_build_escape(uint8_t slot, uint8_t seq, const uint8_t *data, size_t len,
			 uint8_t *out, size_t cap)
{
	return build(PC_TO_RDR_ESCAPE, slot, seq, 0, 0, 0, data, len, out, cap);
}

size_t ccid_build_abort(uint8_t slot, uint8_t seq, uint8_t *out, size_t cap)
{
	return build(PC_TO_RDR_ABORT, slot, seq, 0, 0, 0, NULL, 0, out, cap);
}

/* ---- protocol data of SetParameters / Parameters ---- */

static size_t params_len(uint8_t protocol)
{
	if (protocol == 0)
		return CCID_PARAMS_T0_LEN;
	if (protocol == 1)
		return CCID_PARAMS_T1_LEN;
	return 0;
}

size_t ccid_params_encode(const struct ccid_params *p, uint8_t out[CCID_PARAMS_T1_LEN])
{
	struct writer w;
	size_t n;

	if (!p)
		return 0;
	n = params_len(p->protocol);
	if (!n)
		return 0;
	writer_init(&w, out, n);
	writer_u8(&w, p->fi_di);
	writer_u8(&w, p->tcck);
	writer_u8(&w, p->guard_time);
	writer_u8(&w, p->waiting);
	writer_u8(&w, p->clock_stop);
	if (p->protocol == 1) {
		writer_u8(&w, p->ifsc);
		writer_u8(&w, p->nad);
	}
	if (!writer_ok(&w) || w.len != n)
		return 0;
	return n;
}

size_t ccid_build_set_parameters(uint8_t slot, uint8_t seq, const struct ccid_params *p,
				 uint8_t *out, size_t cap)
{
	uint8_t data[CCID_PARAMS_T1_LEN];
	size_t n = ccid_params_encode(p, data);

	if (!n)
		return 0;
	return build(PC_TO_RDR_SET_PARAMETERS, slot, seq, p->protocol, 0, 0, data, n, out, cap);
}

int ccid_params_decode(uint8_t protocol, const uint8_t *data, size_t len,
		       struct ccid_params *p)
{
	struct ccid_params tmp;
	struct cursor c;
	size_t want = params_len(protocol);

	/* The structure's length is fixed by the protocol: anything else is
	 * a reader that answered for another protocol, or garbage. The
	 * reserved bits of bmTCCKST are kept as they came, not judged. */
	if (!p || !want || len != want)
		return -1;
	memset(&tmp, 0, sizeof(tmp));
	tmp.protocol = protocol;
	cursor_init(&c, data, len);
	cursor_u8(&c, &tmp.fi_di);
	cursor_u8(&c, &tmp.tcck);
	cursor_u8(&c, &tmp.guard_time);
	cursor_u8(&c, &tmp.waiting);
	cursor_u8(&c, &tmp.clock_stop);
	if (protocol == 1) {
		cursor_u8(&c, &tmp.ifsc);
		cursor_u8(&c, &tmp.nad);
	}
	if (!cursor_done(&c))
		return -1;
	*p = tmp;
	return 0;
}

/* ---- RDR_to_PC builders ---- */

size_t ccid_build_response(uint8_t type, uint8_t slot, uint8_t seq, uint8_t status,
			   uint8_t error, uint8_t specific, const uint8_t *data, size_t len,
			   uint8_t *out, size_t cap)
{
	/* The type is not restricted: the simulator also uses this to send
	 * the malformed answers a faulty reader would. */
	return build(type, slot, seq, status, error, specific, data, len, out, cap);
}

/* ---- interrupt-in ---- */

size_t ccid_build_notify(const bool *present, const bool *changed, unsigned nslots,
			 uint8_t *out, size_t cap)
{
	struct writer w;

	if (!present || !changed || nslots == 0 || nslots > NOTIFY_MAX_SLOTS)
		return 0;
	writer_init(&w, out, cap);
	writer_u8(&w, RDR_TO_PC_NOTIFY_SLOT_CHANGE);
	for (unsigned first = 0; first < nslots; first += NOTIFY_SLOTS_PER_BYTE) {
		uint8_t byte = 0;

		for (unsigned k = 0; k < NOTIFY_SLOTS_PER_BYTE && first + k < nslots; k++) {
			uint8_t bits = (uint8_t)((present[first + k] ? NOTIFY_PRESENT : 0) |
						 (changed[first + k] ? NOTIFY_CHANGED : 0));

			byte |= (uint8_t)(bits << (k * NOTIFY_BITS_PER_SLOT));
		}
		writer_u8(&w, byte);
	}
	return writer_ok(&w) ? w.len : 0;
}

int ccid_notify_slot(const uint8_t *buf, size_t len, unsigned slot, bool *present,
		     bool *changed)
{
	struct cursor c;
	uint8_t type, byte;
	size_t state_len;

	if (!present || !changed)
		return -1;
	cursor_init(&c, buf, len);
	if (!cursor_u8(&c, &type))
		return -1;
	if (type == RDR_TO_PC_HARDWARE_ERROR)
		return len == HARDWARE_ERROR_LEN ? 1 : -1;
	if (type != RDR_TO_PC_NOTIFY_SLOT_CHANGE)
		return -1;

	/* At least one state byte, and no more than 256 slots need. */
	state_len = cursor_remaining(&c);
	if (state_len == 0 || state_len > NOTIFY_MAX_STATE_BYTES)
		return -1;
	/* A message for fewer slots than the caller asks about says nothing
	 * of the others; that is not an error in the message. */
	if (slot / NOTIFY_SLOTS_PER_BYTE >= state_len)
		return 1;
	if (!cursor_skip(&c, slot / NOTIFY_SLOTS_PER_BYTE) || !cursor_u8(&c, &byte))
		return -1;
	byte = (uint8_t)(byte >> ((slot % NOTIFY_SLOTS_PER_BYTE) * NOTIFY_BITS_PER_SLOT));
	*present = (byte & NOTIFY_PRESENT) != 0;
	*changed = (byte & NOTIFY_CHANGED) != 0;
	return 0;
}

/* ---- the class descriptor ---- */

int ccid_descriptor_parse(const uint8_t *buf, size_t len, struct ccid_descriptor *d)
{
	struct ccid_descriptor tmp;
	struct cursor all, c;
	uint8_t length, type;

	if (!d)
		return -1;
	cursor_init(&c, buf, len);
	cursor_u8(&c, &length);
	cursor_u8(&c, &type);
	if (!cursor_ok(&c) || length != CCID_DESCRIPTOR_LEN || type != CCID_DESCRIPTOR_TYPE)
		return -1;
	/* Only the descriptor's own bLength bytes are read: what follows in
	 * the buffer is the next descriptor of the configuration. */
	cursor_init(&all, buf, len);
	if (!cursor_sub(&all, CCID_DESCRIPTOR_LEN, &c))
		return -1;
	memset(&tmp, 0, sizeof(tmp));
	cursor_skip(&c, 2);
	cursor_u16le(&c, &tmp.bcd_ccid);
	cursor_u8(&c, &tmp.max_slot_index);
	cursor_u8(&c, &tmp.voltage_support);
	cursor_u32le(&c, &tmp.protocols);
	cursor_u32le(&c, &tmp.default_clock);
	cursor_u32le(&c, &tmp.maximum_clock);
	cursor_u8(&c, &tmp.num_clocks);
	cursor_u32le(&c, &tmp.data_rate);
	cursor_u32le(&c, &tmp.max_data_rate);
	cursor_u8(&c, &tmp.num_data_rates);
	cursor_u32le(&c, &tmp.max_ifsd);
	cursor_u32le(&c, &tmp.synch_protocols);
	cursor_u32le(&c, &tmp.mechanical);
	cursor_u32le(&c, &tmp.features);
	cursor_u32le(&c, &tmp.max_message_length);
	cursor_u8(&c, &tmp.class_get_response);
	cursor_u8(&c, &tmp.class_envelope);
	cursor_u16le(&c, &tmp.lcd_layout);
	cursor_u8(&c, &tmp.pin_support);
	cursor_u8(&c, &tmp.max_busy_slots);
	if (!cursor_done(&c))
		return -1;
	/* The driver sizes every bulk transfer from dwMaxCCIDMessageLength;
	 * one that cannot hold a bare header leaves nothing to talk with.
	 * Nothing else is judged here: real readers get many fields wrong
	 * and the driver decides what it can live with. */
	if (tmp.max_message_length < CCID_HEADER_LEN)
		return -1;
	*d = tmp;
	return 0;
}

size_t ccid_descriptor_build(const struct ccid_descriptor *d, uint8_t out[CCID_DESCRIPTOR_LEN])
{
	struct writer w;

	if (!d)
		return 0;
	writer_init(&w, out, CCID_DESCRIPTOR_LEN);
	writer_u8(&w, CCID_DESCRIPTOR_LEN);
	writer_u8(&w, CCID_DESCRIPTOR_TYPE);
	writer_u16le(&w, d->bcd_ccid);
	writer_u8(&w, d->max_slot_index);
	writer_u8(&w, d->voltage_support);
	writer_u32le(&w, d->protocols);
	writer_u32le(&w, d->default_clock);
	writer_u32le(&w, d->maximum_clock);
	writer_u8(&w, d->num_clocks);
	writer_u32le(&w, d->data_rate);
	writer_u32le(&w, d->max_data_rate);
	writer_u8(&w, d->num_data_rates);
	writer_u32le(&w, d->max_ifsd);
	writer_u32le(&w, d->synch_protocols);
	writer_u32le(&w, d->mechanical);
	writer_u32le(&w, d->features);
	writer_u32le(&w, d->max_message_length);
	writer_u8(&w, d->class_get_response);
	writer_u8(&w, d->class_envelope);
	writer_u16le(&w, d->lcd_layout);
	writer_u8(&w, d->pin_support);
	writer_u8(&w, d->max_busy_slots);
	return writer_ok(&w) && w.len == CCID_DESCRIPTOR_LEN ? w.len : 0;
}

enum ccid_level ccid_descriptor_level(const struct ccid_descriptor *d)
{
	uint32_t level = d ? d->features & CCID_FEAT_LEVEL_MASK : 0;

	/* §5.1 allows only one of the three bits. For a faulty reader that
	 * sets more than one, the highest is reported, so that the answer
	 * is defined for every dwFeatures. */
	if (level & CCID_FEAT_LEVEL_EXTENDED_APDU)
		return CCID_LEVEL_EXTENDED_APDU;
	if (level & CCID_FEAT_LEVEL_SHORT_APDU)
		return CCID_LEVEL_SHORT_APDU;
	if (level & CCID_FEAT_LEVEL_TPDU)
		return CCID_LEVEL_TPDU;
	return CCID_LEVEL_CHARACTER;
}

const char *ccid_level_name(enum ccid_level level)
{
	switch (level) {
	case CCID_LEVEL_CHARACTER:
		return "character";
	case CCID_LEVEL_TPDU:
		return "TPDU";
	case CCID_LEVEL_SHORT_APDU:
		return "short APDU";
	case CCID_LEVEL_EXTENDED_APDU:
		return "extended APDU";
	}
	return "unknown";
}
