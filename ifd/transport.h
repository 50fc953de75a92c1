/*
 * transport.h - how the driver reaches a CCID reader.
 *
 * A transport moves whole CCID messages: PC_to_RDR on bulk-out, RDR_to_PC
 * from bulk-in, notifications from interrupt-in, and the class-specific
 * ABORT request on the control pipe. Two implementations exist:
 * ccid_usb.c over libusb-1.0 for real readers ("usb:VID/PID:..." names
 * from pcscd's hotplug) and transport_sim.c over a UNIX socket to the CCID
 * reader simulator ("sim:PATH"). Nothing above this interface knows which
 * one it talks to.
 */
#ifndef ECARD_IFD_TRANSPORT_H
#define ECARD_IFD_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ccid.h"
#include "log.h"

/* Negative results of the operations below. */
#define IFD_TR_TIMEOUT (-1)	/* nothing arrived in time */
#define IFD_TR_GONE (-2)	/* the reader was unplugged */
#define IFD_TR_IO (-3)		/* any other transfer error */
#define IFD_TR_TOO_BIG (-4)	/* the message does not fit the buffer */
#define IFD_TR_CANCELLED (-5)	/* interrupt wait stopped by interrupt_cancel */

struct ifd_transport;

struct ifd_transport_ops {
	/* Send one PC_to_RDR message; 0 or a negative IFD_TR_* value. */
	int (*send)(struct ifd_transport *t, const uint8_t *msg, size_t len);
	/* Receive one RDR_to_PC message; its length, or IFD_TR_*. */
	int (*receive)(struct ifd_transport *t, uint8_t *buf, size_t cap, unsigned timeout_ms);
	/* Wait for an interrupt-in message; its length, or IFD_TR_* (TIMEOUT
	 * when nothing came, CANCELLED after interrupt_cancel). */
	int (*interrupt)(struct ifd_transport *t, uint8_t *buf, size_t cap, unsigned timeout_ms);
	/* Make a thread blocked in interrupt() return IFD_TR_CANCELLED. */
	void (*interrupt_cancel)(struct ifd_transport *t);
	/* The class-specific ABORT request for slot and seq (CCID §5.3.1). */
	int (*abort)(struct ifd_transport *t, uint8_t slot, uint8_t seq);
	void (*close)(struct ifd_transport *t);
};

struct ifd_transport {
	const struct ifd_transport_ops *ops;
	struct ifd_device_info info;
	const struct logger *log;
};

/*
 * Open the reader named by pcscd: "sim:PATH" or "usb:VID/PID[:...]".
 * Returns 0 with *out set, or IFD_TR_GONE (no such reader) / IFD_TR_IO.
 */
int ifd_transport_open(const char *name, const struct logger *log, struct ifd_transport **out);

int ifd_sim_open(const char *path, const struct logger *log, struct ifd_transport **out);
int ifd_usb_open(const char *name, const struct logger *log, struct ifd_transport **out);

/* One line naming a negative IFD_TR_* value. */
const char *ifd_transport_strerror(int err);

#endif
