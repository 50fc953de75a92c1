/*
 * usb_name.h - the device names pcscd gives a USB reader driver, read
 * strictly.
 *
 * pcscd's hotplug code names each reader interface it finds in one of
 * three forms, and reader.conf entries may use the shortest one:
 *
 *   usb:VVVV/PPPP:libudev:IFACE:/dev/bus/usb/BBB/DDD   (pcscd built with libudev)
 *   usb:VVVV/PPPP:libusb-1.0:BUS:ADDR:IFACE             (pcscd built with libusb)
 *   usb:VVVV/PPPP                                       (first matching device)
 *
 * VVVV and PPPP are 4 hex digits, the other numbers decimal. The parser
 * lives apart from ccid_usb.c and knows nothing of libusb, so that every
 * accepted and refused form is unit-tested on machines without USB.
 */
#ifndef ECARD_IFD_USB_NAME_H
#define ECARD_IFD_USB_NAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Room for "/dev/bus/usb/BBB/DDD" with a wide margin. */
#define IFD_USB_DEVNODE_MAX 64

enum ifd_usb_name_form {
	IFD_USB_NAME_PLAIN,	/* usb:VVVV/PPPP */
	IFD_USB_NAME_LIBUDEV,	/* ...:libudev:IFACE:DEVNODE */
	IFD_USB_NAME_LIBUSB,	/* ...:libusb-1.0:BUS:ADDR:IFACE */
};

struct ifd_usb_name {
	enum ifd_usb_name_form form;
	uint16_t vendor_id;
	uint16_t product_id;
	/* Set by the libudev and libusb-1.0 forms. */
	bool has_interface;
	uint8_t interface_number;
	/* Set by the same two forms: where the device sits on the bus. */
	bool has_location;
	uint8_t bus;
	uint8_t address;
	/* The libudev form only: the device node as pcscd gave it. */
	char devnode[IFD_USB_DEVNODE_MAX];
};

/*
 * Parse name into *out. Returns 0, or -1 when the name is not one of the
 * forms above (a missing or extra field, a non-digit, a number out of
 * range, trailing bytes); then why, when not NULL, receives one sentence
 * saying what is wrong (truncated to why_len, always terminated).
 */
int ifd_usb_name_parse(const char *name, struct ifd_usb_name *out, char *why, size_t why_len);

#endif
