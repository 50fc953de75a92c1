/*
 * isd.c - the issuer security domain (GlobalPlatform card manager).
 *
 * It is an applet of the platform with more rights than the others: it
 * reads and changes the registry through card.h. Its own persistent object
 * holds the card life cycle, the SCP03 sequence counter and the key sets:
 *
 *   0  card life cycle state (1)
 *   1  sequence counter (3), for SCP03 pseudo-random card challenges
 *   4  number of key sets (1)
 *   5  key sets: KVN(1) key length(1) ENC(32) MAC(32) DEK(32), ISD_KEYSETS of them
 *
 * Card content management (GET STATUS, INSTALL, LOAD, DELETE, PUT KEY, SET
 * STATUS, STORE DATA) is accepted only inside an authenticated secure
 * channel; outside it those commands answer 6982.
 */
#include "isd.h"

#include <string.h>

#include "card.h"
#include "cursor.h"

const uint8_t vc_isd_aid[VC_ISD_AID_LEN] = { 0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00 };

#define TAG_STATE 1u
#define ST_LIFE_CYCLE 0u
#define ST_SEQUENCE 1u
#define ST_KEYSET_COUNT 4u
#define ST_KEYSETS 5u
#define KEYSET_LEN (2u + 3u * 32u)
#define ISD_KEYSETS 4u
#define STATE_SIZE (ST_KEYSETS + ISD_KEYSETS * KEYSET_LEN)

#define KEY_TYPE_AES 0x88

struct isd {
	struct vc_applet_ctx *ctx;
	struct vc_obj state;
};

static bool open_isd(struct vc_applet_ctx *ctx, struct isd *d)
{
	d->ctx = ctx;
	return vc_obj_find(ctx, TAG_STATE, &d->state) == VC_OK;
}

static uint8_t state_byte(struct isd *d, uint32_t off)
{
	uint8_t b = 0;
	vc_obj_read(d->ctx, &d->state, off, &b, 1);
	return b;
}

/* ---- install: the factory's card manager ---- */

static uint16_t install(struct vc_applet_ctx *ctx, const uint8_t *params, size_t len)
{
	struct vc_obj obj;
	uint8_t head[ST_KEYSETS + KEYSET_LEN] = { VC_CARD_SECURED, 0, 0, 0, 1 };
	(void)params;
	(void)len;
	/* The well-known test keys, as every development card ships: the
	 * issuer replaces them with PUT KEY before the card leaves the lab. */
	uint8_t *ks = head + ST_KEYSETS;
	ks[0] = VC_ISD_DEFAULT_KVN;
	ks[1] = 16;
	for (int k = 0; k < 3; k++)
		for (int i = 0; i < 16; i++)
			ks[2 + 32 * k + i] = (uint8_t)(0x40 + i);
	if (vc_obj_alloc(ctx, TAG_STATE, STATE_SIZE, &obj) != VC_OK)
		return SW_NOT_ENOUGH_MEMORY;
	return vc_obj_write(ctx, &obj, 0, head, sizeof(head)) == VC_OK ? SW_OK : SW_MEMORY_FAILURE;
}

/* ---- SELECT and GET DATA ---- */

static uint16_t select_isd(struct vc_applet_ctx *ctx, struct vc_response *rsp)
{
	/* FCI: the AID, and the largest command data field we take. */
	uint8_t fci[] = { 0x6F, 0x10, 0x84, VC_ISD_AID_LEN, 0, 0, 0, 0, 0, 0, 0, 0,
			  0xA5, 0x04, 0x9F, 0x65, 0x01, 0xFF };
	memcpy(fci + 4, vc_isd_aid, VC_ISD_AID_LEN);
	(void)ctx;
	vc_rsp_append(rsp, fci, sizeof(fci));
	return SW_OK;
}

/* Card Production Life Cycle data: who made what, when (GP 2.3.1 H.6). */
static void cplc(struct isd *d, struct writer *w)
{
	uint8_t serial[8];
	vc_card_serial_of(d->ctx, serial);
	static const uint8_t maker[2] = { 0x45, 0x43 };		/* "EC" */
	static const uint8_t date[2] = { 0x63, 0x25 };		/* 2026, day 325 */
	writer_u16(w, 0x9F7F);
	writer_u8(w, 42);
	writer_bytes(w, maker, 2);		/* IC fabricator */
	writer_u16(w, 0x0001);			/* IC type */
	writer_bytes(w, maker, 2);		/* operating system identifier */
	writer_bytes(w, date, 2);		/* operating system release date */
	writer_u16(w, 0x0001);			/* operating system release level */
	writer_bytes(w, date, 2);		/* IC fabrication date */
	writer_bytes(w, serial + 4, 4);		/* IC serial number */
	writer_u16(w, 0x0000);			/* IC batch identifier */
	writer_bytes(w, maker, 2);		/* module fabricator */
	writer_bytes(w, date, 2);		/* module packaging date */
	writer_bytes(w, maker, 2);		/* ICC manufacturer */
	writer_bytes(w, date, 2);		/* IC embedding date */
	for (int i = 0; i < 16; i++)
		writer_u8(w, 0);		/* pre-personalization and personalization */
}

/* Card recognition data: GP 2.3.1, SCP03 with i = 70 (GP 2.3.1 H.2). */
static void card_data(struct writer *w)
{
	static const uint8_t data[] = {
		0x66, 0x33, 0x73, 0x31,
		0x06, 0x07, 0x2A, 0x86, 0x48, 0x86, 0xFC, 0x6B, 0x01,
		0x60, 0x0C, 0x06, 0x0A, 0x2A, 0x86, 0x48, 0x86, 0xFC, 0x6B, 0x02, 0x02, 0x03, 0x01,
		0x63, 0x09, 0x06, 0x07, 0x2A, 0x86, 0x48, 0x86, 0xFC, 0x6B, 0x03,
		0x64, 0x0B, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xFC, 0x6B, 0x04, 0x03, 0x70,
	};
	writer_bytes(w, data, sizeof(data));
}

/* Key information template: one C0 per key (id, version, type, length). */
static void key_info(struct isd *d, struct writer *w)
{
	uint8_t count = state_byte(d, ST_KEYSET_COUNT);
	if (count > ISD_KEYSETS)
		count = ISD_KEYSETS;
	writer_u8(w, 0xE0);
	writer_u8(w, (uint8_t)(count * 3 * 6));
	for (uint8_t s = 0; s < count; s++) {
		uint32_t off = ST_KEYSETS + s * KEYSET_LEN;
		for (uint8_t id = 1; id <= 3; id++) {
			uint8_t c0[6] = { 0xC0, 0x04, id, state_byte(d, off), KEY_TYPE_AES,
					  state_byte(d, off + 1) };
			writer_bytes(w, c0, sizeof(c0));
		}
	}
}

static uint16_t get_data(struct isd *d, const struct vc_apdu *cmd, struct vc_response *rsp)
{
	struct writer w;
	uint16_t tag = (uint16_t)(cmd->p1 << 8 | cmd->p2);
	if (cmd->nc != 0)
		return SW_WRONG_LENGTH;
	writer_init(&w, rsp->data + rsp->len, rsp->cap - rsp->len);
	switch (tag) {
	case 0x9F7F:
		cplc(d, &w);
		break;
	case 0x0066:
		card_data(&w);
		break;
	case 0x00E0:
		key_info(d, &w);
		break;
	case 0x00C1: {
		uint8_t seq[3];
		vc_obj_read(d->ctx, &d->state, ST_SEQUENCE, seq, 3);
		writer_u8(&w, 0xC1);
		writer_u8(&w, 3);
		writer_bytes(&w, seq, 3);
		break;
	}
	default:
		return SW_REF_DATA_NOT_FOUND;
	}
	if (!writer_ok(&w))
		return SW_UNKNOWN;
	rsp->len += w.len;
	return SW_OK;
}

static uint16_t process(struct vc_applet_ctx *ctx, const struct vc_apdu *cmd,
			struct vc_response *rsp)
{
	struct isd d;
	if (!open_isd(ctx, &d))
		return SW_CONDITIONS;
	uint8_t chan = cmd->channel & 3;
	bool plain = cmd->cla == chan || cmd->cla == (0x80 | chan);
	if (!plain && cmd->cla != (0x84 | chan))
		return SW_CLA_NOT_SUPPORTED;

	switch (cmd->ins) {
	case 0xCA:
		if (!plain)
			return SW_SECURITY_STATUS;
		return get_data(&d, cmd, rsp);
	case 0xF2: case 0xE6: case 0xE8: case 0xE4: case 0xD8: case 0xF0: case 0xE2:
		/* Card content management: only in a secure channel. */
		return SW_SECURITY_STATUS;
	default:
		return SW_INS_NOT_SUPPORTED;
	}
}

const struct vc_applet vc_isd_applet = {
	.name = "issuer security domain",
	.aid = { 0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00 },
	.aid_len = VC_ISD_AID_LEN,
	.install = install,
	.select = select_isd,
	.process = process,
};
