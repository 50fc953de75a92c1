/*
 * sim_proto.c - the SIM_INFO payload between the driver's "sim:" transport
 * and the CCID reader simulator. See sim_proto.h for the wire.
 *
 * SIM_INFO stands in for what a USB device tells the host when it is
 * enumerated: IDs, strings and the CCID class descriptor. The simulator
 * encodes it and the driver decodes it, so the decoder treats the payload
 * as untrusted and reads it through struct cursor; the descriptor is read
 * by the same parser the USB transport uses.
 */
#include "sim_proto.h"

#include "ccid.h"
#include "cursor.h"

#include <string.h>

/* Each string of struct ifd_device_info is a char[64] with its NUL. */
#define SIM_STRING_MAX 63

static bool put_string(struct writer *w, const char *s, size_t field_size)
{
	/* A field with no NUL inside it is a caller bug; sending 64 bytes
	 * would make a string the other side cannot hold. */
	size_t n = strnlen(s, field_size);

	if (n > SIM_STRING_MAX || n >= field_size)
		return false;
	return writer_u8(w, (uint8_t)n) && writer_bytes(w, s, n);
}

size_t sim_info_encode(const struct ifd_device_info *info, uint8_t *out, size_t cap)
{
	struct writer w;
	uint8_t *desc;

	if (!info)
		return 0;
	writer_init(&w, out, cap);
	writer_u16le(&w, info->vendor_id);
	writer_u16le(&w, info->product_id);
	writer_u16le(&w, info->bcd_device);
	writer_u8(&w, info->interface_number);
	writer_u8(&w, info->has_interrupt ? 1 : 0);
	if (!put_string(&w, info->manufacturer, sizeof(info->manufacturer)) ||
	    !put_string(&w, info->product, sizeof(info->product)) ||
	    !put_string(&w, info->serial, sizeof(info->serial)))
		return 0;
	desc = writer_reserve(&w, CCID_DESCRIPTOR_LEN);
	if (!desc || ccid_descriptor_build(&info->desc, desc) != CCID_DESCRIPTOR_LEN)
		return 0;
	return writer_ok(&w) ? w.len : 0;
}

static bool get_string(struct cursor *c, char *dst, size_t dst_size)
{
	uint8_t n;
	const uint8_t *p;

	if (!cursor_u8(c, &n) || n > SIM_STRING_MAX || (size_t)n >= dst_size)
		return false;
	if (!cursor_bytes(c, n, &p))
		return false;
	/* A NUL inside would cut the string short, and the driver would
	 * show a name other than the one the simulator sent. */
	if (n && memchr(p, '\0', n))
		return false;
	memcpy(dst, p, n);
	dst[n] = '\0';
	return true;
}

int sim_info_decode(const uint8_t *buf, size_t len, struct ifd_device_info *info)
{
	struct ifd_device_info tmp;
	struct cursor c;
	uint8_t has_interrupt;
	const uint8_t *desc;

	if (!info)
		return -1;
	memset(&tmp, 0, sizeof(tmp));
	cursor_init(&c, buf, len);
	cursor_u16le(&c, &tmp.vendor_id);
	cursor_u16le(&c, &tmp.product_id);
	cursor_u16le(&c, &tmp.bcd_device);
	cursor_u8(&c, &tmp.interface_number);
	if (!cursor_u8(&c, &has_interrupt) || has_interrupt > 1)
		return -1;
	tmp.has_interrupt = has_interrupt == 1;
	if (!get_string(&c, tmp.manufacturer, sizeof(tmp.manufacturer)) ||
	    !get_string(&c, tmp.product, sizeof(tmp.product)) ||
	    !get_string(&c, tmp.serial, sizeof(tmp.serial)))
		return -1;
	/* The descriptor is the last thing in the packet: exactly 54 bytes
	 * and nothing after them. */
	if (!cursor_bytes(&c, CCID_DESCRIPTOR_LEN, &desc) || !cursor_done(&c))
		return -1;
	if (ccid_descriptor_parse(desc, CCID_DESCRIPTOR_LEN, &tmp.desc) != 0)
		return -1;
	*info = tmp;
	return 0;
}
