/*
 * ccid_usb.c - the transport to a real USB CCID reader, over libusb-1.0.
 *
 * This is the only file of the driver that knows libusb (as ccid_usb.c is
 * in libccid). ifd_usb_open() reads the name pcscd gave the reader (see
 * usb_name.h), finds the device and its CCID interface, claims it and
 * reads the class descriptor; the operations of struct ifd_transport then
 * move CCID messages over the bulk pipes, wait on the interrupt pipe and
 * send the class-specific ABORT request on the control pipe.
 *
 * Each opened reader has its own libusb context, so two readers (or a
 * reader and whatever else shares pcscd's process) never share event
 * handling state, and nothing here is global.
 *
 * Threads: pcscd calls the driver from the reader's context thread and,
 * for card events, from a polling thread that sits in interrupt(). A
 * third call, interrupt_cancel(), comes from the thread that closes the
 * reader and must get that wait to return at once. The wait is therefore
 * an asynchronous transfer whose completion flag the waiting thread
 * watches with libusb_handle_events_timeout_completed(), the pattern the
 * libusb documentation gives for sharing event handling between threads;
 * cancelling is libusb_cancel_transfer(), which completes the transfer
 * with LIBUSB_TRANSFER_CANCELLED.
 */
#include "transport.h"

#include "ccid.h"
#include "cursor.h"
#include "log.h"
#include "usb_name.h"

#include <libusb.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#define USB_CLASS_CCID 0x0B
#define USB_CLASS_VENDOR 0xFF

/* bmRequestType and bRequest of the CCID ABORT request (CCID 1.1 §5.3.1):
 * host to device, class request, recipient interface. */
#define CCID_REQUEST_TYPE_OUT 0x21
#define CCID_REQUEST_ABORT 0x01

/*
 * How long a bulk-out transfer may take. The interface gives send() no
 * timeout because a reader takes a command at once; the bound only keeps
 * a wedged reader from blocking pcscd forever. A full extended APDU is
 * about 1000 full-speed packets, far below this.
 */
#define USB_SEND_TIMEOUT_MS 10000u
#define USB_CONTROL_TIMEOUT_MS 2000u

/* The interrupt wait wakes up this often to look at its completion flag
 * even if no event arrives, so that a lost wake-up cannot hang it. */
#define USB_EVENT_SLICE_MS 500

struct usb_transport {
	struct ifd_transport base;	/* first, so the ops can cast back */
	libusb_context *ctx;
	libusb_device_handle *handle;
	uint8_t interface_number;
	bool kernel_driver_detached;
	uint8_t ep_bulk_in;
	uint8_t ep_bulk_out;
	uint8_t ep_interrupt_in;

	/*
	 * The interrupt wait. intr_lock guards the three flags; intr_done is
	 * libusb's completion flag, written by the transfer callback and read
	 * by libusb_handle_events_timeout_completed() under libusb's own
	 * event lock.
	 */
	struct libusb_transfer *intr_transfer;
	pthread_mutex_t intr_lock;
	bool intr_active;		/* a transfer is submitted */
	bool intr_cancelled;		/* interrupt_cancel() cancelled it */
	bool intr_cancel_pending;	/* a cancel arrived while none was active */
	int intr_done;
};

/* What ifd_usb_open() picks out of the configuration descriptor before
 * it is freed. */
struct ccid_interface {
	uint8_t number;
	uint8_t ep_bulk_in;
	uint8_t ep_bulk_out;
	uint8_t ep_interrupt_in;
	bool has_interrupt;
	uint8_t class_descriptor[CCID_DESCRIPTOR_LEN];
};

static struct usb_transport *to_usb(struct ifd_transport *t)
{
	return (struct usb_transport *)t;
}

static int map_libusb_error(int rc)
{
	switch (rc) {
	case LIBUSB_ERROR_TIMEOUT:
		return IFD_TR_TIMEOUT;
	case LIBUSB_ERROR_NO_DEVICE:
		return IFD_TR_GONE;
	case LIBUSB_ERROR_OVERFLOW:
		return IFD_TR_TOO_BIG;
	default:
		return IFD_TR_IO;
	}
}

/* ---- the operations ---- */

static int usb_send(struct ifd_transport *t, const uint8_t *msg, size_t len)
{
	struct usb_transport *u = to_usb(t);
	int sent = 0;
	int rc;

	if (len > INT_MAX)
		return IFD_TR_TOO_BIG;
	/* libusb takes a non-const buffer for both directions; it does not
	 * write to an OUT buffer. */
	rc = libusb_bulk_transfer(u->handle, u->ep_bulk_out, (unsigned char *)(uintptr_t)msg,
				  (int)len, &sent, USB_SEND_TIMEOUT_MS);
	if (rc < 0) {
		LOG_W(t->log, "usb: sending %zu bytes to the reader failed: %s", len,
		      libusb_error_name(rc));
		return map_libusb_error(rc);
	}
	if ((size_t)sent != len) {
		LOG_W(t->log, "usb: the reader took %d of %zu bytes", sent, len);
		return IFD_TR_IO;
	}
	return 0;
}

static int usb_receive(struct ifd_transport *t, uint8_t *buf, size_t cap, unsigned timeout_ms)
{
	struct usb_transport *u = to_usb(t);
	int got = 0;
	int rc;

	rc = libusb_bulk_transfer(u->handle, u->ep_bulk_in, buf, cap > INT_MAX ? INT_MAX : (int)cap,
				  &got, timeout_ms);
	if (rc == LIBUSB_ERROR_PIPE) {
		/* A stalled bulk-in stays stalled until the host clears it. */
		LOG_W(t->log, "usb: the reader stalled its bulk-in pipe; clearing it");
		libusb_clear_halt(u->handle, u->ep_bulk_in);
		return IFD_TR_IO;
	}
	if (rc < 0) {
		if (rc != LIBUSB_ERROR_TIMEOUT)
			LOG_W(t->log, "usb: receiving from the reader failed: %s",
			      libusb_error_name(rc));
		return map_libusb_error(rc);
	}
	return got;
}

static void LIBUSB_CALL interrupt_callback(struct libusb_transfer *transfer)
{
	struct usb_transport *u = transfer->user_data;

	u->intr_done = 1;
}

static int interrupt_status(struct usb_transport *u, const struct libusb_transfer *x,
			    bool cancelled_by_user)
{
	switch (x->status) {
	case LIBUSB_TRANSFER_COMPLETED:
		return x->actual_length;
	case LIBUSB_TRANSFER_TIMED_OUT:
		return IFD_TR_TIMEOUT;
	case LIBUSB_TRANSFER_CANCELLED:
		if (cancelled_by_user)
			return IFD_TR_CANCELLED;
		/* Only the event-handling failure path cancels on its own. */
		LOG_W(u->base.log, "usb: waiting on the interrupt pipe failed in libusb's event handling");
		return IFD_TR_IO;
	case LIBUSB_TRANSFER_NO_DEVICE:
		return IFD_TR_GONE;
	case LIBUSB_TRANSFER_OVERFLOW:
		return IFD_TR_TOO_BIG;
	case LIBUSB_TRANSFER_STALL:
		LOG_W(u->base.log, "usb: the reader stalled its interrupt pipe; clearing it");
		libusb_clear_halt(u->handle, u->ep_interrupt_in);
		return IFD_TR_IO;
	case LIBUSB_TRANSFER_ERROR:
	default:
		return IFD_TR_IO;
	}
}

/*
 * timeout_ms 0 waits until a notification arrives or interrupt_cancel()
 * is called (libusb's meaning of a zero timeout).
 *
 * A cancel that arrives when no wait is under way (just before the
 * polling thread comes back into interrupt(), or just after its transfer
 * completed) is kept and ends the next wait at once; otherwise a reader
 * could not be closed until the next notification or timeout.
 */
static int usb_interrupt(struct ifd_transport *t, uint8_t *buf, size_t cap, unsigned timeout_ms)
{
	struct usb_transport *u = to_usb(t);
	bool event_error = false;
	bool cancelled_by_user;
	int rc;

	if (!u->intr_transfer) {
		LOG_D(t->log, "usb: the reader has no interrupt pipe to wait on");
		return IFD_TR_IO;
	}

	pthread_mutex_lock(&u->intr_lock);
	if (u->intr_cancel_pending) {
		u->intr_cancel_pending = false;
		pthread_mutex_unlock(&u->intr_lock);
		return IFD_TR_CANCELLED;
	}
	libusb_fill_interrupt_transfer(u->intr_transfer, u->handle, u->ep_interrupt_in, buf,
				       cap > INT_MAX ? INT_MAX : (int)cap, interrupt_callback, u,
				       timeout_ms);
	u->intr_done = 0;
	u->intr_cancelled = false;
	rc = libusb_submit_transfer(u->intr_transfer);
	if (rc < 0) {
		pthread_mutex_unlock(&u->intr_lock);
		LOG_W(t->log, "usb: cannot wait on the interrupt pipe: %s", libusb_error_name(rc));
		return map_libusb_error(rc);
	}
	u->intr_active = true;
	pthread_mutex_unlock(&u->intr_lock);

	/* The transfer must complete (or be cancelled) before its buffer, the
	 * caller's, is given back; so whatever happens, wait for the callback. */
	while (!u->intr_done) {
		struct timeval tv = { .tv_sec = 0, .tv_usec = USB_EVENT_SLICE_MS * 1000 };

		rc = libusb_handle_events_timeout_completed(u->ctx, &tv, &u->intr_done);
		if (rc < 0 && rc != LIBUSB_ERROR_INTERRUPTED && !event_error) {
			event_error = true;
			libusb_cancel_transfer(u->intr_transfer);
		}
	}

	pthread_mutex_lock(&u->intr_lock);
	u->intr_active = false;
	cancelled_by_user = u->intr_cancelled;
	/* A cancel can lose the race with the transfer's own completion;
	 * the notification is then returned and the cancel kept for the
	 * next wait, so it still takes effect at once. */
	if (cancelled_by_user && u->intr_transfer->status != LIBUSB_TRANSFER_CANCELLED)
		u->intr_cancel_pending = true;
	pthread_mutex_unlock(&u->intr_lock);

	return interrupt_status(u, u->intr_transfer, cancelled_by_user);
}

static void usb_interrupt_cancel(struct ifd_transport *t)
{
	struct usb_transport *u = to_usb(t);

	if (!u->intr_transfer)
		return;
	pthread_mutex_lock(&u->intr_lock);
	/* libusb_cancel_transfer() fails with LIBUSB_ERROR_NOT_FOUND once the
	 * transfer has completed; like a cancel with nothing in flight, that
	 * one is kept for the next wait. */
	if (u->intr_active && libusb_cancel_transfer(u->intr_transfer) == LIBUSB_SUCCESS)
		u->intr_cancelled = true;
	else
		u->intr_cancel_pending = true;
	pthread_mutex_unlock(&u->intr_lock);
}

static int usb_abort(struct ifd_transport *t, uint8_t slot, uint8_t seq)
{
	struct usb_transport *u = to_usb(t);
	int rc;

	rc = libusb_control_transfer(u->handle, CCID_REQUEST_TYPE_OUT, CCID_REQUEST_ABORT,
				     (uint16_t)(seq << 8 | slot), u->interface_number, NULL, 0,
				     USB_CONTROL_TIMEOUT_MS);
	if (rc < 0) {
		LOG_W(t->log, "usb: the ABORT request for slot %u, sequence %u failed: %s", slot,
		      seq, libusb_error_name(rc));
		return map_libusb_error(rc);
	}
	return 0;
}

static void usb_close(struct ifd_transport *t)
{
	struct usb_transport *u = to_usb(t);
	int rc;

	if (!u)
		return;
	/* interrupt() never returns with its transfer in flight, and the
	 * driver stops its polling thread before closing, so the transfer
	 * is idle here and may be freed. */
	if (u->intr_transfer)
		libusb_free_transfer(u->intr_transfer);
	if (u->handle) {
		rc = libusb_release_interface(u->handle, u->interface_number);
		if (rc < 0 && rc != LIBUSB_ERROR_NO_DEVICE)
			LOG_D(t->log, "usb: releasing interface %u: %s", u->interface_number,
			      libusb_error_name(rc));
		if (u->kernel_driver_detached) {
			rc = libusb_attach_kernel_driver(u->handle, u->interface_number);
			if (rc < 0 && rc != LIBUSB_ERROR_NO_DEVICE)
				LOG_W(t->log,
				      "usb: could not give interface %u back to its kernel driver: %s",
				      u->interface_number, libusb_error_name(rc));
		}
		libusb_close(u->handle);
	}
	if (u->ctx)
		libusb_exit(u->ctx);
	pthread_mutex_destroy(&u->intr_lock);
	free(u);
}

static const struct ifd_transport_ops usb_ops = {
	.send = usb_send,
	.receive = usb_receive,
	.interrupt = usb_interrupt,
	.interrupt_cancel = usb_interrupt_cancel,
	.abort = usb_abort,
	.close = usb_close,
};

/* ---- finding the reader ---- */

/*
 * Walk a run of descriptors (libusb's "extra" bytes, straight from the
 * device) and return the start of a CCID class descriptor in it: type
 * 0x21 and exactly 54 bytes long, which also tells it apart from the HID
 * descriptor that shares the type number.
 */
static const uint8_t *find_class_descriptor(const unsigned char *extra, int extra_len)
{
	struct cursor c;

	if (!extra || extra_len <= 0)
		return NULL;
	cursor_init(&c, extra, (size_t)extra_len);
	while (cursor_remaining(&c) > 0) {
		size_t start = c.pos;
		uint8_t length, type;

		if (!cursor_u8(&c, &length) || !cursor_u8(&c, &type) || length < 2 ||
		    !cursor_skip(&c, (size_t)length - 2))
			return NULL;
		if (type == CCID_DESCRIPTOR_TYPE && length == CCID_DESCRIPTOR_LEN)
			return extra + start;
	}
	return NULL;
}

/*
 * Whether the interface is a CCID reader's, and if so its endpoints and
 * class descriptor. Class 0x0B is the CCID class; some readers that
 * predate it declare vendor class 0xFF and carry the same class
 * descriptor. Most put the descriptor right after the interface
 * descriptor (libusb's interface "extra"); a few put it after the
 * endpoints, where libusb files it under an endpoint's "extra".
 */
static bool ccid_interface_of(const struct libusb_interface *itf, const struct logger *log,
			      struct ccid_interface *out)
{
	const struct libusb_interface_descriptor *alt;
	const uint8_t *desc;

	if (itf->num_altsetting < 1)
		return false;
	alt = &itf->altsetting[0];
	if (alt->bInterfaceClass != USB_CLASS_CCID && alt->bInterfaceClass != USB_CLASS_VENDOR)
		return false;

	desc = find_class_descriptor(alt->extra, alt->extra_length);
	for (int e = 0; !desc && e < alt->bNumEndpoints; e++)
		desc = find_class_descriptor(alt->endpoint[e].extra, alt->endpoint[e].extra_length);
	if (!desc) {
		if (alt->bInterfaceClass == USB_CLASS_CCID)
			LOG_W(log, "usb: interface %u has the CCID class but no CCID class descriptor",
			      alt->bInterfaceNumber);
		return false;
	}

	memset(out, 0, sizeof(*out));
	out->number = alt->bInterfaceNumber;
	memcpy(out->class_descriptor, desc, CCID_DESCRIPTOR_LEN);
	for (int e = 0; e < alt->bNumEndpoints; e++) {
		const struct libusb_endpoint_descriptor *ep = &alt->endpoint[e];
		bool in = (ep->bEndpointAddress & LIBUSB_ENDPOINT_DIR_MASK) == LIBUSB_ENDPOINT_IN;

		switch (ep->bmAttributes & LIBUSB_TRANSFER_TYPE_MASK) {
		case LIBUSB_TRANSFER_TYPE_BULK:
			if (in && !out->ep_bulk_in)
				out->ep_bulk_in = ep->bEndpointAddress;
			else if (!in && !out->ep_bulk_out)
				out->ep_bulk_out = ep->bEndpointAddress;
			break;
		case LIBUSB_TRANSFER_TYPE_INTERRUPT:
			if (in && !out->has_interrupt) {
				out->ep_interrupt_in = ep->bEndpointAddress;
				out->has_interrupt = true;
			}
			break;
		default:
			break;
		}
	}
	if (!out->ep_bulk_in || !out->ep_bulk_out) {
		/* ICCD devices (CCID class, protocol 1 or 2) talk over the
		 * control pipe, which this driver does not do. */
		LOG_W(log, "usb: interface %u has a CCID descriptor but no bulk-in and bulk-out "
		      "endpoints (an ICCD device?); it is not supported",
		      alt->bInterfaceNumber);
		return false;
	}
	return true;
}

/* Look for the CCID interface the name asks for in one device. */
static bool device_ccid_interface(libusb_device *dev, const struct ifd_usb_name *name,
				  const struct logger *log, struct ccid_interface *out)
{
	struct libusb_config_descriptor *cfg = NULL;
	bool found = false;
	int rc;

	rc = libusb_get_active_config_descriptor(dev, &cfg);
	if (rc < 0) {
		LOG_W(log, "usb: cannot read the configuration of device %u:%u: %s",
		      libusb_get_bus_number(dev), libusb_get_device_address(dev),
		      libusb_error_name(rc));
		return false;
	}
	for (int i = 0; !found && i < cfg->bNumInterfaces; i++) {
		const struct libusb_interface *itf = &cfg->interface[i];

		if (itf->num_altsetting < 1)
			continue;
		if (name->has_interface &&
		    itf->altsetting[0].bInterfaceNumber != name->interface_number)
			continue;
		found = ccid_interface_of(itf, log, out);
	}
	libusb_free_config_descriptor(cfg);
	return found;
}

/*
 * Find the device and interface named. Returns 0 with *dev referenced
 * (the caller unrefs it), IFD_TR_GONE when nothing matches, IFD_TR_IO
 * when the bus cannot be listed.
 */
static int find_reader(libusb_context *ctx, const char *name_text, const struct ifd_usb_name *name,
		       const struct logger *log, libusb_device **dev, struct ccid_interface *itf)
{
	libusb_device **list = NULL;
	ssize_t count;
	bool device_seen = false;
	int result = IFD_TR_GONE;

	count = libusb_get_device_list(ctx, &list);
	if (count < 0) {
		LOG_E(log, "usb: cannot list the USB devices (%s); check that /dev/bus/usb is "
		      "readable by pcscd", libusb_error_name((int)count));
		return IFD_TR_IO;
	}
	for (ssize_t i = 0; i < count; i++) {
		struct libusb_device_descriptor dd;

		if (libusb_get_device_descriptor(list[i], &dd) < 0)
			continue;
		if (dd.idVendor != name->vendor_id || dd.idProduct != name->product_id)
			continue;
		if (name->has_location && (libusb_get_bus_number(list[i]) != name->bus ||
					   libusb_get_device_address(list[i]) != name->address))
			continue;
		device_seen = true;
		if (device_ccid_interface(list[i], name, log, itf)) {
			*dev = libusb_ref_device(list[i]);
			result = 0;
			break;
		}
	}
	libusb_free_device_list(list, 1);

	if (result == 0)
		return 0;
	if (!device_seen)
		LOG_E(log, "usb: no USB device matches \"%s\"; check that the reader is plugged in",
		      name_text);
	else if (name->has_interface)
		LOG_I(log, "usb: interface %u of \"%s\" is not a usable CCID interface",
		      name->interface_number, name_text);
	else
		LOG_E(log, "usb: the device \"%s\" has no usable CCID interface; it is not a "
		      "reader this driver can drive", name_text);
	return IFD_TR_GONE;
}

/* A string descriptor as printable ASCII, empty when absent or unreadable. */
static void read_string(libusb_device_handle *h, uint8_t index, char *out, size_t cap,
			const struct logger *log, const char *what)
{
	int rc;

	out[0] = '\0';
	if (index == 0 || cap < 2)
		return;
	rc = libusb_get_string_descriptor_ascii(h, index, (unsigned char *)out,
						cap > INT_MAX ? INT_MAX : (int)cap);
	if (rc < 0) {
		LOG_D(log, "usb: cannot read the %s string: %s", what, libusb_error_name(rc));
		out[0] = '\0';
		return;
	}
	out[(size_t)rc < cap ? (size_t)rc : cap - 1] = '\0';
	/* libusb turns non-ASCII into '?'; do the same for control bytes,
	 * since these strings end up in log lines and reader names. */
	for (char *p = out; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7F)
			*p = '?';
}

static int claim_interface(struct usb_transport *u, const char *name_text)
{
	const struct logger *log = u->base.log;
	int rc;

	rc = libusb_kernel_driver_active(u->handle, u->interface_number);
	if (rc == 1) {
		rc = libusb_detach_kernel_driver(u->handle, u->interface_number);
		if (rc < 0) {
			LOG_E(log, "usb: cannot take interface %u of \"%s\" from its kernel driver "
			      "(%s); unbind that driver or run pcscd with the rights to do it",
			      u->interface_number, name_text, libusb_error_name(rc));
			return map_libusb_error(rc);
		}
		u->kernel_driver_detached = true;
		LOG_I(log, "usb: detached the kernel driver from interface %u",
		      u->interface_number);
	}
	/* 0 (no kernel driver) and LIBUSB_ERROR_NOT_SUPPORTED (a platform
	 * without the notion) both mean there is nothing to detach. */

	rc = libusb_claim_interface(u->handle, u->interface_number);
	if (rc < 0) {
		if (rc == LIBUSB_ERROR_BUSY)
			LOG_E(log, "usb: interface %u of \"%s\" is in use by another program; stop "
			      "it (another pcscd, or a second reader driver) and try again",
			      u->interface_number, name_text);
		else
			LOG_E(log, "usb: cannot claim interface %u of \"%s\": %s",
			      u->interface_number, name_text, libusb_error_name(rc));
		return map_libusb_error(rc);
	}
	return 0;
}

static int open_handle(struct usb_transport *u, libusb_device *dev, const char *name_text)
{
	int rc = libusb_open(dev, &u->handle);

	if (rc == 0)
		return 0;
	u->handle = NULL;
	if (rc == LIBUSB_ERROR_ACCESS)
		LOG_E(u->base.log, "usb: permission denied opening \"%s\"; install ifd-ecard's udev "
		      "rules or run pcscd as root", name_text);
	else
		LOG_E(u->base.log, "usb: cannot open \"%s\": %s", name_text, libusb_error_name(rc));
	return map_libusb_error(rc);
}

static int init_context(libusb_context **ctx)
{
#if defined(LIBUSB_API_VERSION) && LIBUSB_API_VERSION >= 0x0100010A
	return libusb_init_context(ctx, NULL, 0);
#else
	return libusb_init(ctx);
#endif
}

int ifd_usb_open(const char *name, const struct logger *log, struct ifd_transport **out)
{
	struct ifd_usb_name parsed;
	struct ccid_interface itf;
	struct libusb_device_descriptor dd;
	libusb_device *dev = NULL;
	struct usb_transport *u;
	char why[160];
	int rc;

	*out = NULL;
	if (ifd_usb_name_parse(name, &parsed, why, sizeof(why)) < 0) {
		LOG_E(log, "usb: the device name \"%s\" is malformed: %s; expected "
		      "usb:VVVV/PPPP, usb:VVVV/PPPP:libudev:IFACE:/dev/bus/usb/BBB/DDD or "
		      "usb:VVVV/PPPP:libusb-1.0:BUS:ADDR:IFACE",
		      name ? name : "(null)", why);
		return IFD_TR_IO;
	}

	u = calloc(1, sizeof(*u));
	if (!u) {
		LOG_E(log, "usb: out of memory opening \"%s\"", name);
		return IFD_TR_IO;
	}
	u->base.ops = &usb_ops;
	u->base.log = log;
	if (pthread_mutex_init(&u->intr_lock, NULL) != 0) {
		LOG_E(log, "usb: cannot create a mutex for \"%s\"", name);
		free(u);
		return IFD_TR_IO;
	}

	rc = init_context(&u->ctx);
	if (rc < 0) {
		LOG_E(log, "usb: cannot initialise libusb (%s); USB readers cannot be used",
		      libusb_error_name(rc));
		u->ctx = NULL;
		usb_close(&u->base);
		return IFD_TR_IO;
	}

	rc = find_reader(u->ctx, name, &parsed, log, &dev, &itf);
	if (rc < 0) {
		usb_close(&u->base);
		return rc;
	}
	(void)libusb_get_device_descriptor(dev, &dd);
	rc = open_handle(u, dev, name);
	libusb_unref_device(dev);	/* the handle holds its own reference */
	if (rc < 0) {
		usb_close(&u->base);
		return rc;
	}

	u->interface_number = itf.number;
	u->ep_bulk_in = itf.ep_bulk_in;
	u->ep_bulk_out = itf.ep_bulk_out;
	u->ep_interrupt_in = itf.ep_interrupt_in;
	rc = claim_interface(u, name);
	if (rc < 0) {
		/* Nothing was claimed, so close must not release it. */
		libusb_close(u->handle);
		u->handle = NULL;
		usb_close(&u->base);
		return rc;
	}

	if (ccid_descriptor_parse(itf.class_descriptor, sizeof(itf.class_descriptor),
				  &u->base.info.desc) < 0) {
		LOG_E(log, "usb: the CCID class descriptor of \"%s\" is malformed; the reader "
		      "cannot be driven", name);
		usb_close(&u->base);
		return IFD_TR_IO;
	}

	if (itf.has_interrupt) {
		u->intr_transfer = libusb_alloc_transfer(0);
		if (!u->intr_transfer) {
			LOG_E(log, "usb: out of memory opening \"%s\"", name);
			usb_close(&u->base);
			return IFD_TR_IO;
		}
	}

	u->base.info.vendor_id = dd.idVendor;
	u->base.info.product_id = dd.idProduct;
	u->base.info.bcd_device = dd.bcdDevice;
	u->base.info.interface_number = itf.number;
	u->base.info.has_interrupt = itf.has_interrupt;
	read_string(u->handle, dd.iManufacturer, u->base.info.manufacturer,
		    sizeof(u->base.info.manufacturer), log, "manufacturer");
	read_string(u->handle, dd.iProduct, u->base.info.product, sizeof(u->base.info.product),
		    log, "product");
	read_string(u->handle, dd.iSerialNumber, u->base.info.serial, sizeof(u->base.info.serial),
		    log, "serial number");

	LOG_I(log, "usb: opened %04x:%04x \"%s %s\" (serial \"%s\") interface %u: bulk-in 0x%02x, "
	      "bulk-out 0x%02x, interrupt-in %s0x%02x, %u slot(s), features 0x%08x",
	      dd.idVendor, dd.idProduct, u->base.info.manufacturer, u->base.info.product,
	      u->base.info.serial, itf.number, itf.ep_bulk_in, itf.ep_bulk_out,
	      itf.has_interrupt ? "" : "none ", itf.ep_interrupt_in,
	      (unsigned)u->base.info.desc.max_slot_index + 1u, u->base.info.desc.features);
	*out = &u->base;
	return 0;
}
