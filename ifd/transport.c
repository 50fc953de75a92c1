/*
 * transport.c - choosing a transport from the name pcscd gives the driver.
 *
 * pcscd passes DEVICENAME from reader.conf.d ("sim:PATH" in tests) or the
 * name its USB hotplug built ("usb:VID/PID:..."); the prefix picks the
 * implementation and nothing else in the driver looks at the name.
 */
#include "transport.h"

#include <string.h>

int ifd_transport_open(const char *name, const struct logger *log, struct ifd_transport **out)
{
	*out = NULL;
	if (!name) {
		LOG_E(log, "no device name was given: set DEVICENAME in the reader.conf.d entry");
		return IFD_TR_GONE;
	}
	if (strncmp(name, "sim:", 4) == 0)
		return ifd_sim_open(name + 4, log, out);
	if (strncmp(name, "usb:", 4) == 0)
		return ifd_usb_open(name, log, out);
	LOG_E(log, "device name \"%s\" is neither usb:VID/PID... nor sim:PATH", name);
	return IFD_TR_GONE;
}

const char *ifd_transport_strerror(int err)
{
	switch (err) {
	case IFD_TR_TIMEOUT:
		return "the reader did not answer in time";
	case IFD_TR_GONE:
		return "the reader is gone (unplugged or never there)";
	case IFD_TR_IO:
		return "a transfer to or from the reader failed";
	case IFD_TR_TOO_BIG:
		return "the reader sent a message larger than the buffer";
	case IFD_TR_CANCELLED:
		return "the wait for a reader event was cancelled";
	default:
		return err >= 0 ? "no error" : "unknown transport error";
	}
}
