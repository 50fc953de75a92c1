/*
 * test_usb_name.c - the reader of pcscd's USB device names (ifd/usb_name.c)
 * and the failure paths of the libusb transport (ifd/ccid_usb.c) that can
 * be reached without a USB reader.
 *
 * The accepted forms are the ones pcscd's hotplug code writes
 * ("usb:%04x/%04x:libudev:%d:%s" with a udev device node,
 * "usb:%04x/%04x:libusb-1.0:%d:%d:%d", and the bare "usb:%04x/%04x" of
 * reader.conf). Every malformed name in the table below is refused with a
 * reason; every truncation and many single-byte changes of the good names
 * are fed back from buffers sized exactly, so that the sanitizer build
 * catches a read past the end. Then ifd_usb_open() is asked for readers
 * that cannot exist and must say so with IFD_TR_GONE, and for malformed
 * names, which it must refuse before touching libusb.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "transport.h"
#include "usb_name.h"

/* ---- helpers ---- */

/* A heap copy of the first len bytes of s plus its terminator, so that
 * ASan sees any read past the end of the name. */
static char *exact_name(const char *s, size_t len)
{
	char *p = malloc(len + 1);

	cr_assert_not_null(p);
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

static int parse(const char *name, struct ifd_usb_name *out, char *why, size_t why_len)
{
	char *copy = exact_name(name, strlen(name));
	int rc = ifd_usb_name_parse(copy, out, why, why_len);

	free(copy);
	return rc;
}

/* A logger that keeps every line it is given, to check what was said. */
struct captured_log {
	char text[4096];
	size_t len;
};

static void capture_emit(void *arg, enum log_level level, const char *msg)
{
	struct captured_log *c = arg;
	int n;

	(void)level;
	if (c->len >= sizeof(c->text))
		return;
	n = snprintf(c->text + c->len, sizeof(c->text) - c->len, "%s\n", msg);
	if (n > 0)
		c->len += (size_t)n;
	if (c->len >= sizeof(c->text))
		c->len = sizeof(c->text) - 1;
}

static void capture_logger(struct logger *lg, struct captured_log *c)
{
	memset(c, 0, sizeof(*c));
	lg->level = LOG_DEBUG;
	lg->emit = capture_emit;
	lg->arg = c;
	lg->prefix = "test";
}

/* ---- the accepted forms ---- */

struct good_name {
	const char *name;
	enum ifd_usb_name_form form;
	uint16_t vid, pid;
	bool has_interface;
	uint8_t interface_number;
	bool has_location;
	uint8_t bus, address;
	const char *devnode;
};

static const struct good_name good_names[] = {
	/* As pcscd's libudev hotplug writes them. */
	{ "usb:08e6/3437:libudev:0:/dev/bus/usb/008/047", IFD_USB_NAME_LIBUDEV, 0x08e6, 0x3437,
	  true, 0, true, 8, 47, "/dev/bus/usb/008/047" },
	{ "usb:072f/b100:libudev:1:/dev/bus/usb/001/002", IFD_USB_NAME_LIBUDEV, 0x072f, 0xb100,
	  true, 1, true, 1, 2, "/dev/bus/usb/001/002" },
	{ "usb:ffff/ffff:libudev:255:/dev/bus/usb/255/255", IFD_USB_NAME_LIBUDEV, 0xffff, 0xffff,
	  true, 255, true, 255, 255, "/dev/bus/usb/255/255" },
	/* Unpadded numbers in the node are not what udev writes, but they
	 * name the same device, so there is no reason to refuse them. */
	{ "usb:04e6/5116:libudev:0:/dev/bus/usb/3/9", IFD_USB_NAME_LIBUDEV, 0x04e6, 0x5116,
	  true, 0, true, 3, 9, "/dev/bus/usb/3/9" },
	/* As pcscd's libusb hotplug writes them. */
	{ "usb:08e6/3437:libusb-1.0:7:99:0", IFD_USB_NAME_LIBUSB, 0x08e6, 0x3437,
	  true, 0, true, 7, 99, "" },
	{ "usb:046a/003e:libusb-1.0:255:127:2", IFD_USB_NAME_LIBUSB, 0x046a, 0x003e,
	  true, 2, true, 255, 127, "" },
	{ "usb:0000/0000:libusb-1.0:000:0:00", IFD_USB_NAME_LIBUSB, 0x0000, 0x0000,
	  true, 0, true, 0, 0, "" },
	/* As a reader.conf entry may write them; hex in either case. */
	{ "usb:08e6/3437", IFD_USB_NAME_PLAIN, 0x08e6, 0x3437, false, 0, false, 0, 0, "" },
	{ "usb:ABCD/eF01", IFD_USB_NAME_PLAIN, 0xabcd, 0xef01, false, 0, false, 0, 0, "" },
};

#define N_GOOD (sizeof(good_names) / sizeof(good_names[0]))

Test(usb_name, accepts_the_forms_pcscd_writes)
{
	for (size_t i = 0; i < N_GOOD; i++) {
		const struct good_name *g = &good_names[i];
		struct ifd_usb_name n;
		char why[128] = "unchanged";

		memset(&n, 0xA5, sizeof(n));
		cr_assert_eq(parse(g->name, &n, why, sizeof(why)), 0, "%s refused: %s", g->name, why);
		cr_expect_str_empty(why, "%s: a reason was given on success", g->name);
		cr_expect_eq(n.form, g->form, "%s: form", g->name);
		cr_expect_eq(n.vendor_id, g->vid, "%s: vendor", g->name);
		cr_expect_eq(n.product_id, g->pid, "%s: product", g->name);
		cr_expect_eq(n.has_interface, g->has_interface, "%s: has_interface", g->name);
		cr_expect_eq(n.interface_number, g->interface_number, "%s: interface", g->name);
		cr_expect_eq(n.has_location, g->has_location, "%s: has_location", g->name);
		cr_expect_eq(n.bus, g->bus, "%s: bus", g->name);
		cr_expect_eq(n.address, g->address, "%s: address", g->name);
		cr_expect_str_eq(n.devnode, g->devnode, "%s: devnode", g->name);
	}
}

/* ---- the refused ones ---- */

static const char *const bad_names[] = {
	/* not a USB name at all */
	"",
	"sim:/run/ecard/reader.sock",
	"USB:08e6/3437",
	" usb:08e6/3437",
	"usb",
	"usb:",
	/* vendor and product IDs */
	"usb:08e6",
	"usb:08e6/",
	"usb:8e6/3437",			/* 3 digits */
	"usb:008e6/3437",		/* 5 digits */
	"usb:08e6/437",
	"usb:08e6/34370",		/* overflow of 16 bits */
	"usb:0x8e/3437",
	"usb:08g6/3437",		/* non-hex */
	"usb:08e6:3437",		/* wrong separator */
	"usb:08e6//3437",
	"usb:-8e6/3437",
	"usb:08e6/3437 ",		/* trailing junk */
	"usb:08e6/3437\n",
	"usb:08e6/3437x",
	"usb:08e6/3437:",
	"usb:08e6/3437/",
	/* unknown backends */
	"usb:08e6/3437:libhal:/org/freedesktop/Hal/devices/usb_device_8e6_3437",
	"usb:08e6/3437:libusb:001:002",
	"usb:08e6/3437:libusb-1.0",
	"usb:08e6/3437:libudev",
	/* libudev form */
	"usb:08e6/3437:libudev:",
	"usb:08e6/3437:libudev:0",
	"usb:08e6/3437:libudev:0:",
	"usb:08e6/3437:libudev::/dev/bus/usb/008/047",
	"usb:08e6/3437:libudev:x:/dev/bus/usb/008/047",
	"usb:08e6/3437:libudev:-1:/dev/bus/usb/008/047",
	"usb:08e6/3437:libudev:+1:/dev/bus/usb/008/047",
	"usb:08e6/3437:libudev: 1:/dev/bus/usb/008/047",
	"usb:08e6/3437:libudev:256:/dev/bus/usb/008/047",
	"usb:08e6/3437:libudev:0001:/dev/bus/usb/008/047",
	"usb:08e6/3437:libudev:4294967296:/dev/bus/usb/008/047",
	"usb:08e6/3437:libudev:0/dev/bus/usb/008/047",
	"usb:08e6/3437:libudev:0:dev/bus/usb/008/047",
	"usb:08e6/3437:libudev:0:/dev/usb/008/047",
	"usb:08e6/3437:libudev:0:/dev/bus/usb/",
	"usb:08e6/3437:libudev:0:/dev/bus/usb/008",
	"usb:08e6/3437:libudev:0:/dev/bus/usb/008/",
	"usb:08e6/3437:libudev:0:/dev/bus/usb//047",
	"usb:08e6/3437:libudev:0:/dev/bus/usb/0008/047",
	"usb:08e6/3437:libudev:0:/dev/bus/usb/256/047",
	"usb:08e6/3437:libudev:0:/dev/bus/usb/008/300",
	"usb:08e6/3437:libudev:0:/dev/bus/usb/008/047x",
	"usb:08e6/3437:libudev:0:/dev/bus/usb/008/047/",
	"usb:08e6/3437:libudev:0:/dev/bus/usb/008/047:0",
	"usb:08e6/3437:libudev:0:/dev/bus/usb/008/047 ",
	/* libusb-1.0 form */
	"usb:08e6/3437:libusb-1.0:",
	"usb:08e6/3437:libusb-1.0:7",
	"usb:08e6/3437:libusb-1.0:7:",
	"usb:08e6/3437:libusb-1.0:7:99",
	"usb:08e6/3437:libusb-1.0:7:99:",
	"usb:08e6/3437:libusb-1.0::99:0",
	"usb:08e6/3437:libusb-1.0:7::0",
	"usb:08e6/3437:libusb-1.0:7:99:0:",
	"usb:08e6/3437:libusb-1.0:7:99:0:1",
	"usb:08e6/3437:libusb-1.0:7:99:0x",
	"usb:08e6/3437:libusb-1.0:7:99:0 ",
	"usb:08e6/3437:libusb-1.0:7/99/0",
	"usb:08e6/3437:libusb-1.0:-7:99:0",
	"usb:08e6/3437:libusb-1.0:+7:99:0",
	"usb:08e6/3437:libusb-1.0:0x7:99:0",
	"usb:08e6/3437:libusb-1.0:256:99:0",
	"usb:08e6/3437:libusb-1.0:7:256:0",
	"usb:08e6/3437:libusb-1.0:7:99:256",
	"usb:08e6/3437:libusb-1.0:7:99:1000",
	"usb:08e6/3437:libusb-1.0:4294967303:99:0",	/* 2^32 + 7 */
	"usb:08e6/3437:libusb-1.0:18446744073709551623:99:0",
};

#define N_BAD (sizeof(bad_names) / sizeof(bad_names[0]))

Test(usb_name, refuses_malformed_names_with_a_reason)
{
	for (size_t i = 0; i < N_BAD; i++) {
		struct ifd_usb_name n, before;
		char why[128];

		memset(&n, 0x5A, sizeof(n));
		before = n;
		memset(why, 0, sizeof(why));
		cr_expect_eq(parse(bad_names[i], &n, why, sizeof(why)), -1, "\"%s\" was accepted",
			     bad_names[i]);
		cr_expect(strlen(why) > 10, "\"%s\": no reason given", bad_names[i]);
		cr_expect(memcmp(&n, &before, sizeof(n)) == 0, "\"%s\": output written on failure",
			  bad_names[i]);
	}
}

Test(usb_name, the_reason_says_which_field)
{
	char why[160];
	struct ifd_usb_name n;

	cr_assert_eq(parse("usb:8e6/3437", &n, why, sizeof(why)), -1);
	cr_expect(strstr(why, "vendor ID") != NULL, "%s", why);
	cr_assert_eq(parse("usb:08e6/34370", &n, why, sizeof(why)), -1);
	cr_expect(strstr(why, "product ID") != NULL, "%s", why);
	cr_assert_eq(parse("usb:08e6/3437:libusb-1.0:7:256:0", &n, why, sizeof(why)), -1);
	cr_expect(strstr(why, "device address") != NULL, "%s", why);
	cr_assert_eq(parse("usb:08e6/3437:libudev:0:/dev/bus/usb/008/047x", &n, why, sizeof(why)),
		     -1);
	cr_expect(strstr(why, "device node") != NULL, "%s", why);
	cr_assert_eq(parse("usb:08e6/3437:libhal:x", &n, why, sizeof(why)), -1);
	cr_expect(strstr(why, "libudev") != NULL, "%s", why);
}

Test(usb_name, null_arguments_and_short_reason_buffers)
{
	struct ifd_usb_name n;
	char why[8];

	cr_expect_eq(ifd_usb_name_parse(NULL, &n, NULL, 0), -1);
	cr_expect_eq(ifd_usb_name_parse("usb:08e6/3437", NULL, NULL, 0), -1);
	/* No reason buffer at all is allowed. */
	cr_expect_eq(ifd_usb_name_parse("usb:", &n, NULL, 0), -1);
	cr_expect_eq(ifd_usb_name_parse("usb:08e6/3437", &n, NULL, 0), 0);
	/* A short one gets a truncated, terminated reason. */
	memset(why, 'x', sizeof(why));
	cr_expect_eq(ifd_usb_name_parse("usb:", &n, why, sizeof(why)), -1);
	cr_expect_eq(strlen(why), sizeof(why) - 1);
	memset(why, 'x', sizeof(why));
	cr_expect_eq(ifd_usb_name_parse("usb:", &n, why, 1), -1);
	cr_expect_eq(why[0], '\0');
	cr_expect_eq(why[1], 'x', "wrote past why_len");
}

/*
 * Every prefix of every good name, from a buffer of exactly its length.
 * A prefix is only valid when it is itself one of the forms: the bare
 * "usb:VVVV/PPPP", or a longer name cut inside the digits of its last
 * field (the device address of a libudev name, the interface number of
 * a libusb-1.0 one), which still names a device, just another one.
 */
Test(usb_name, every_truncation)
{
	for (size_t i = 0; i < N_GOOD; i++) {
		const char *name = good_names[i].name;
		size_t full = strlen(name);
		size_t last_field = 0;

		if (good_names[i].form != IFD_USB_NAME_PLAIN) {
			char sep = good_names[i].form == IFD_USB_NAME_LIBUDEV ? '/' : ':';

			last_field = (size_t)(strrchr(name, sep) - name) + 1;
		}
		for (size_t len = 0; len < full; len++) {
			char *copy = exact_name(name, len);
			struct ifd_usb_name n;
			bool expect_ok = len == strlen("usb:VVVV/PPPP") ||
					 (last_field && len > last_field);
			int rc = ifd_usb_name_parse(copy, &n, NULL, 0);

			cr_expect_eq(rc, expect_ok ? 0 : -1, "prefix \"%s\" of %s gave %d", copy, name,
				     rc);
			free(copy);
		}
	}
}

/* Single-byte changes of each good name: whatever the verdict, the
 * parser must stay inside the buffer and fill coherent fields. */
Test(usb_name, single_byte_changes)
{
	static const char probes[] = { '\0', '0', '9', 'a', 'f', 'g', 'F', ':', '/', ' ', '-',
				       '+', 'x', '\n', '\x7f', '\xff' };

	for (size_t i = 0; i < N_GOOD; i++) {
		const char *name = good_names[i].name;
		size_t len = strlen(name);

		for (size_t pos = 0; pos < len; pos++) {
			for (size_t k = 0; k < sizeof(probes); k++) {
				char *copy = exact_name(name, len);
				struct ifd_usb_name n;

				copy[pos] = probes[k];
				if (ifd_usb_name_parse(copy, &n, NULL, 0) == 0) {
					cr_expect_eq(n.has_interface, n.form != IFD_USB_NAME_PLAIN);
					cr_expect_eq(n.has_location, n.form != IFD_USB_NAME_PLAIN);
					cr_expect_eq(n.devnode[0] != '\0', n.form == IFD_USB_NAME_LIBUDEV);
					cr_expect(memchr(n.devnode, '\0', sizeof(n.devnode)) != NULL);
				}
				free(copy);
			}
		}
	}
}

/* ---- ifd_usb_open without a reader ---- */

/*
 * libusb_init() succeeds on a machine without any USB device (it only
 * needs sysfs), so a reader that does not exist is IFD_TR_GONE. Some
 * sandboxes have no USB support at all; there libusb_init() itself fails,
 * the transport says so in its log and can only answer IFD_TR_IO, which
 * the test then accepts after saying so too.
 */
static bool libusb_failed(int rc, const struct captured_log *cap)
{
	if (rc != IFD_TR_IO || !strstr(cap->text, "cannot initialise libusb"))
		return false;
	cr_log_warn("libusb_init fails on this machine, so ifd_usb_open can only report "
		    "IFD_TR_IO here: %s", cap->text);
	return true;
}

Test(usb_open, a_reader_that_does_not_exist_is_gone)
{
	/* Vendor ID 0000 is not assigned, and bus 255 / address 127 are at
	 * the very end of their ranges, so none of these is plugged in. */
	static const char *const names[] = {
		"usb:0000/0000",
		"usb:0000/0000:libusb-1.0:255:127:0",
		"usb:0000/0000:libudev:0:/dev/bus/usb/255/127",
		"usb:0000/0001:libudev:3:/dev/bus/usb/001/001",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct captured_log cap;
		struct logger lg;
		struct ifd_transport *t = (struct ifd_transport *)&cap;	/* must be cleared */
		int rc;

		capture_logger(&lg, &cap);
		rc = ifd_usb_open(names[i], &lg, &t);
		cr_expect_null(t, "%s: a transport was returned", names[i]);
		if (libusb_failed(rc, &cap))
			continue;
		cr_expect_eq(rc, IFD_TR_GONE, "%s gave %d: %s", names[i], rc, cap.text);
		cr_expect(strstr(cap.text, names[i]) != NULL,
			  "%s: the error does not name the device: %s", names[i], cap.text);
	}
}

Test(usb_open, a_malformed_name_is_refused_before_libusb)
{
	static const char *const names[] = {
		"usb:08e6",
		"usb:08e6/3437:libusb-1.0:7:99",
		"usb:08e6/3437:libudev:0:/dev/bus/usb/008/047x",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct captured_log cap;
		struct logger lg;
		struct ifd_transport *t = (struct ifd_transport *)&cap;

		capture_logger(&lg, &cap);
		cr_expect_eq(ifd_usb_open(names[i], &lg, &t), IFD_TR_IO, "%s", names[i]);
		cr_expect_null(t);
		cr_expect(strstr(cap.text, "malformed") != NULL, "%s: %s", names[i], cap.text);
		cr_expect(strstr(cap.text, names[i]) != NULL, "%s: %s", names[i], cap.text);
	}
}

Test(usb_open, opening_and_failing_many_times_leaks_nothing)
{
	/* Each attempt makes and destroys its own libusb context; under the
	 * sanitizer build a leak or a double free on the failure path shows. */
	for (int i = 0; i < 20; i++) {
		struct captured_log cap;
		struct logger lg;
		struct ifd_transport *t = NULL;
		int rc;

		capture_logger(&lg, &cap);
		rc = ifd_usb_open("usb:0000/0000", &lg, &t);
		cr_expect_null(t);
		if (libusb_failed(rc, &cap))
			return;
		cr_expect_eq(rc, IFD_TR_GONE);
	}
}
