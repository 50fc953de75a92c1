/*
 * apdu.c - parsing of command APDUs (ISO 7816-4 §5.1).
 *
 * The body after the header decides the case:
 *   (empty)                     case 1
 *   Le                          case 2 short      (Le 00 = 256)
 *   Lc Data                     case 3 short      (Lc 01..FF)
 *   Lc Data Le                  case 4 short
 *   00 Le1 Le2                  case 2 extended   (0000 = 65536)
 *   00 Lc1 Lc2 Data             case 3 extended   (Lc 0001..FFFF)
 *   00 Lc1 Lc2 Data Le1 Le2     case 4 extended
 * Any other body length is malformed and answered with 6700.
 */
#include "apdu.h"

#include "cursor.h"

static uint16_t decode_class(struct vc_apdu *a)
{
	uint8_t cla = a->cla;

	if (cla == 0xFF)
		return SW_CLA_NOT_SUPPORTED;	/* reserved for PPS */
	a->proprietary = (cla & 0x80) != 0;
	if ((cla & 0x40) == 0) {
		/* First inter-industry form: channels 0..3, SM in b4-b3. */
		if ((cla & 0x60) == 0x20)
			return SW_CLA_NOT_SUPPORTED;	/* 001x xxxx is RFU */
		a->channel = cla & 0x03;
		a->secure_messaging = (cla & 0x0C) != 0;
	} else {
		/* Further inter-industry form: channels 4..19, SM in b6. */
		a->channel = (uint8_t)(4 + (cla & 0x0F));
		a->secure_messaging = (cla & 0x20) != 0;
	}
	a->chaining = (cla & 0x10) != 0;
	return SW_OK;
}

uint16_t vc_apdu_parse(const uint8_t *buf, size_t len, struct vc_apdu *out)
{
	struct cursor c;
	struct vc_apdu a = { 0 };

	cursor_init(&c, buf, len);
	if (!cursor_u8(&c, &a.cla) || !cursor_u8(&c, &a.ins) ||
	    !cursor_u8(&c, &a.p1) || !cursor_u8(&c, &a.p2))
		return SW_WRONG_LENGTH;

	size_t body = cursor_remaining(&c);
	uint8_t b0;
	if (body == 0) {
		a.kase = 1;
	} else if (body == 1) {
		cursor_u8(&c, &b0);
		a.kase = 2;
		a.ne = b0 ? b0 : 256;
	} else if (cursor_u8(&c, &b0), b0 != 0) {
		/* Short Lc: the body is Lc Data [Le]. */
		a.nc = b0;
		if (!cursor_bytes(&c, a.nc, &a.data))
			return SW_WRONG_LENGTH;
		size_t rest = cursor_remaining(&c);
		if (rest == 0) {
			a.kase = 3;
		} else if (rest == 1) {
			uint8_t le;
			cursor_u8(&c, &le);
			a.kase = 4;
			a.ne = le ? le : 256;
		} else {
			return SW_WRONG_LENGTH;
		}
	} else {
		/* A leading 00 with more bytes: extended form. */
		uint16_t l;
		a.extended = true;
		if (!cursor_u16(&c, &l))
			return SW_WRONG_LENGTH;
		size_t rest = cursor_remaining(&c);
		if (rest == 0) {
			a.kase = 2;
			a.ne = l ? l : 65536;
		} else {
			if (l == 0)
				return SW_WRONG_LENGTH;
			a.nc = l;
			if (!cursor_bytes(&c, a.nc, &a.data))
				return SW_WRONG_LENGTH;
			rest = cursor_remaining(&c);
			if (rest == 0) {
				a.kase = 3;
			} else if (rest == 2) {
				uint16_t le;
				cursor_u16(&c, &le);
				a.kase = 4;
				a.ne = le ? le : 65536;
			} else {
				return SW_WRONG_LENGTH;
			}
		}
	}
	if (!cursor_done(&c))
		return SW_WRONG_LENGTH;

	uint16_t sw = decode_class(&a);
	if (sw != SW_OK)
		return sw;
	*out = a;
	return SW_OK;
}
