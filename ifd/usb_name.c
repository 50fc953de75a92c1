/*
 * usb_name.c - strict reader of the USB device names pcscd passes to
 * IFDHCreateChannelByName (see usb_name.h for the three forms).
 *
 * The name comes from pcscd's hotplug code or from a hand-written
 * reader.conf entry, so it is read as untrusted text: every field has a
 * fixed digit count or range, each separator is checked, and anything
 * left over is an error rather than ignored. sscanf is not used because
 * it skips blanks, accepts signs and stops silently at trailing junk.
 */
#include "usb_name.h"

#include "hex.h"

#include <stdio.h>
#include <string.h>

#define PREFIX "usb:"
#define LIBUDEV_TAG ":libudev:"
#define LIBUSB_TAG ":libusb-1.0:"
#define DEVNODE_DIR "/dev/bus/usb/"

static int fail(char *why, size_t why_len, const char *msg)
{
	if (why && why_len)
		snprintf(why, why_len, "%s", msg);
	return -1;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Skip a literal if it is next; the string's NUL stops the comparison. */
static bool take_literal(const char **p, const char *lit)
{
	size_t n = strlen(lit);

	if (strncmp(*p, lit, n) != 0)
		return false;
	*p += n;
	return true;
}

/* Exactly four hex digits, as pcscd's "%04x" writes them, and no fifth. */
static bool take_hex16(const char **p, uint16_t *out)
{
	const char *s = *p;
	unsigned v = 0;

	for (int i = 0; i < 4; i++) {
		int d = hex_digit_value(s[i]);

		if (d < 0)
			return false;
		v = v << 4 | (unsigned)d;
	}
	if (hex_digit_value(s[4]) >= 0)
		return false;
	*out = (uint16_t)v;
	*p = s + 4;
	return true;
}

/*
 * One to three decimal digits with a value of at most 255: bus numbers,
 * device addresses and interface numbers are all 8-bit in USB. Leading
 * zeros are allowed because udev writes "/dev/bus/usb/008/047". A fourth
 * digit is refused, so "0001" and huge numbers fail instead of wrapping.
 */
static bool take_dec8(const char **p, uint8_t *out)
{
	const char *s = *p;
	unsigned v = 0;
	int n = 0;

	while (n < 3 && is_digit(s[n])) {
		v = v * 10 + (unsigned)(s[n] - '0');
		n++;
	}
	if (n == 0 || is_digit(s[n]) || v > 255)
		return false;
	*out = (uint8_t)v;
	*p = s + n;
	return true;
}

static int parse_libudev(const char *p, struct ifd_usb_name *out, char *why, size_t why_len)
{
	const char *node;

	if (!take_dec8(&p, &out->interface_number))
		return fail(why, why_len,
			    "the interface number after \"libudev:\" is not a decimal number from 0 to 255");
	if (*p != ':')
		return fail(why, why_len, "the interface number is not followed by ':' and the device node");
	p++;
	node = p;
	if (!take_literal(&p, DEVNODE_DIR))
		return fail(why, why_len, "the device node does not start with " DEVNODE_DIR);
	if (!take_dec8(&p, &out->bus) || *p != '/')
		return fail(why, why_len,
			    "the device node has no bus number from 0 to 255 after " DEVNODE_DIR);
	p++;
	if (!take_dec8(&p, &out->address))
		return fail(why, why_len,
			    "the device node has no device address from 0 to 255 after the bus number");
	if (*p != '\0')
		return fail(why, why_len, "unexpected characters follow the device node");
	/* The checks above bound the node to 13 + 3 + 1 + 3 characters. */
	snprintf(out->devnode, sizeof(out->devnode), "%s", node);
	out->form = IFD_USB_NAME_LIBUDEV;
	out->has_interface = true;
	out->has_location = true;
	return 0;
}

static int parse_libusb(const char *p, struct ifd_usb_name *out, char *why, size_t why_len)
{
	if (!take_dec8(&p, &out->bus))
		return fail(why, why_len,
			    "the bus number after \"libusb-1.0:\" is not a decimal number from 0 to 255");
	if (*p++ != ':')
		return fail(why, why_len, "the bus number is not followed by ':' and the device address");
	if (!take_dec8(&p, &out->address))
		return fail(why, why_len, "the device address is not a decimal number from 0 to 255");
	if (*p++ != ':')
		return fail(why, why_len,
			    "the device address is not followed by ':' and the interface number");
	if (!take_dec8(&p, &out->interface_number))
		return fail(why, why_len, "the interface number is not a decimal number from 0 to 255");
	if (*p != '\0')
		return fail(why, why_len, "unexpected characters follow the interface number");
	out->form = IFD_USB_NAME_LIBUSB;
	out->has_interface = true;
	out->has_location = true;
	return 0;
}

int ifd_usb_name_parse(const char *name, struct ifd_usb_name *out, char *why, size_t why_len)
{
	struct ifd_usb_name parsed;
	const char *p = name;
	int rc;

	if (why && why_len)
		why[0] = '\0';
	if (!name || !out)
		return fail(why, why_len, "no device name was given");
	memset(&parsed, 0, sizeof(parsed));

	if (!take_literal(&p, PREFIX))
		return fail(why, why_len, "the name does not start with \"usb:\"");
	if (!take_hex16(&p, &parsed.vendor_id))
		return fail(why, why_len, "the vendor ID after \"usb:\" is not exactly 4 hex digits");
	if (*p++ != '/')
		return fail(why, why_len, "the vendor ID is not followed by '/' and the product ID");
	if (!take_hex16(&p, &parsed.product_id))
		return fail(why, why_len, "the product ID is not exactly 4 hex digits");

	if (*p == '\0') {
		parsed.form = IFD_USB_NAME_PLAIN;
		rc = 0;
	} else if (take_literal(&p, LIBUDEV_TAG)) {
		rc = parse_libudev(p, &parsed, why, why_len);
	} else if (take_literal(&p, LIBUSB_TAG)) {
		rc = parse_libusb(p, &parsed, why, why_len);
	} else {
		rc = fail(why, why_len,
			  "the product ID is followed by neither the end of the name nor "
			  "\":libudev:\" nor \":libusb-1.0:\"");
	}
	/* *out is left untouched on failure, so callers never see half a name. */
	if (rc == 0)
		*out = parsed;
	return rc;
}
