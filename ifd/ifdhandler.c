/*
 * ifdhandler.c - the API surface pcscd sees (pcsc-lite IFD handler v3).
 *
 * pcscd names each slot by a Lun (0xRRRRSSSS: reader, slot) and calls
 * these functions from one thread per slot, plus a polling thread per
 * slot when we offer one. This file maps Luns to slots and devices, turns
 * results into IFD_* codes and answers capabilities and control codes; the
 * work is done in slot.c (protocols), commands.c (CCID) and the
 * transports. The table below is the driver's only global state: pcscd's
 * API is keyed by Lun, not by a context we could hand back.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <PCSC/ifdhandler.h>
#include <PCSC/reader.h>

#include "commands.h"
#include "slot.h"
#include "transport.h"

#define MAX_DEVICES 16
#define MAX_SLOTS 8		/* CCID allows 256; nobody builds that */
#define MAX_LUNS (MAX_DEVICES * 2)

/* Our control codes for the PC/SC v2 part 10 features we offer. */
#define IOCTL_FEATURE_GET_TLV_PROPERTIES SCARD_CTL_CODE(3500 + FEATURE_GET_TLV_PROPERTIES)
#define IOCTL_FEATURE_CCID_ESC_COMMAND SCARD_CTL_CODE(3500 + FEATURE_CCID_ESC_COMMAND)

struct device {
	bool used;
	int refs;			/* slots open on it */
	DWORD reader;			/* Lun >> 16 */
	char name[256];
	struct ifd_transport *tr;
	struct ifd_ccid ccid;
	struct ifd_slot slots[MAX_SLOTS];

	/* Card events from the interrupt pipe, shared by the slots' polling
	 * threads: one of them reads, the others wait on the condition. */
	pthread_mutex_t event_lock;
	pthread_cond_t event_cond;
	bool event_reader_busy;
	/* pcscd calls the stop function to wake its polling threads (on a
	 * connect, at shutdown), not to end them for good: a counter, so
	 * that every wait in progress returns once and the next one waits. */
	unsigned long wakeups;
	unsigned long events[MAX_SLOTS];
};

struct lun_entry {
	bool used;
	DWORD lun;
	struct device *dev;
	uint8_t slot;
};

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static struct device devices[MAX_DEVICES];
static struct lun_entry luns[MAX_LUNS];
static struct logger drv_log;
static pthread_once_t log_once = PTHREAD_ONCE_INIT;

/* ---- logging: into pcscd's own log when it offers one ---- */

typedef void (*pcscd_log_fn)(int priority, const char *fmt, ...);
static pcscd_log_fn pcscd_log;

static void emit(void *arg, enum log_level level, const char *msg)
{
	(void)arg;
	/* pcscd's priorities: 0 debug, 1 info, 2 error, 3 critical. */
	static const int priority[] = { 2, 2, 1, 0 };
	if (pcscd_log)
		pcscd_log(priority[level], "ifd-ecard: %s", msg);
	else
		fprintf(stderr, "ifd-ecard: %s\n", msg);
}

static void log_setup(void)
{
	const char *env = getenv("ECARD_IFD_LOG");
	int level = env ? log_level_parse(env) : -1;
	drv_log.level = level >= 0 ? (enum log_level)level : LOG_INFO;
	drv_log.emit = emit;
	drv_log.prefix = "ifd-ecard";
	/* Our own log_msg is local to the bundle; this finds pcscd's. */
	pcscd_log = (pcscd_log_fn)dlsym(RTLD_DEFAULT, "log_msg");
}

static const struct logger *logger(void)
{
	pthread_once(&log_once, log_setup);
	return &drv_log;
}

/* ---- Lun table ---- */

static struct lun_entry *find_lun(DWORD lun)
{
	for (int i = 0; i < MAX_LUNS; i++)
		if (luns[i].used && luns[i].lun == lun)
			return &luns[i];
	return NULL;
}

/* The slot of a Lun, or NULL (logged) for a Lun pcscd never opened. */
static struct ifd_slot *slot_of(DWORD lun, struct device **dev)
{
	pthread_mutex_lock(&table_lock);
	struct lun_entry *e = find_lun(lun);
	struct ifd_slot *s = NULL;
	if (e) {
		*dev = e->dev;
		s = &e->dev->slots[e->slot];
	}
	pthread_mutex_unlock(&table_lock);
	if (!s)
		LOG_E(logger(), "Lun %lX is not open", (unsigned long)lun);
	return s;
}

static unsigned env_unsigned(const char *name, unsigned fallback)
{
	const char *v = getenv(name);
	if (!v || !*v)
		return fallback;
	char *end;
	unsigned long n = strtoul(v, &end, 10);
	return (*end || n == 0 || n > 600000) ? fallback : (unsigned)n;
}

static int open_device(struct device *d, DWORD reader, const char *name)
{
	int rc = ifd_transport_open(name, logger(), &d->tr);
	if (rc != 0)
		return rc;
	if (ifd_ccid_init(&d->ccid, d->tr, logger()) != IFD_CCID_OK) {
		d->tr->ops->close(d->tr);
		return IFD_TR_IO;
	}
	d->ccid.timeout_ms = env_unsigned("ECARD_IFD_TIMEOUT_MS", d->ccid.timeout_ms);
	pthread_mutex_init(&d->event_lock, NULL);
	pthread_cond_init(&d->event_cond, NULL);
	d->used = true;
	d->refs = 0;
	d->reader = reader;
	snprintf(d->name, sizeof(d->name), "%s", name);
	const struct ifd_device_info *info = &d->tr->info;
	LOG_I(logger(), "opened %s: %04X:%04X \"%s %s\", %s level, %u slot(s), %s", name,
	      info->vendor_id, info->product_id, info->manufacturer, info->product,
	      ccid_level_name(ccid_descriptor_level(&info->desc)), info->desc.max_slot_index + 1u,
	      info->has_interrupt ? "card events by interrupt" : "card events by polling");
	return 0;
}

static void close_device(struct device *d)
{
	d->ccid.tr->ops->close(d->ccid.tr);
	ifd_ccid_free(&d->ccid);
	pthread_cond_destroy(&d->event_cond);
	pthread_mutex_destroy(&d->event_lock);
	memset(d, 0, sizeof(*d));
}

RESPONSECODE IFDHCreateChannelByName(DWORD Lun, LPSTR DeviceName)
{
	const struct logger *log = logger();
	DWORD reader = Lun >> 16, slot = Lun & 0xFFFF;
	RESPONSECODE result = IFD_SUCCESS;

	pthread_mutex_lock(&table_lock);
	struct lun_entry *e = NULL;
	for (int i = 0; i < MAX_LUNS && !e; i++)
		if (!luns[i].used)
			e = &luns[i];
	struct device *d = NULL;
	for (int i = 0; i < MAX_DEVICES && !d; i++)
		if (devices[i].used && devices[i].reader == reader)
			d = &devices[i];
	if (find_lun(Lun)) {
		LOG_E(log, "Lun %lX is already open", (unsigned long)Lun);
		result = IFD_COMMUNICATION_ERROR;
	} else if (!e) {
		LOG_E(log, "too many readers: this driver handles %d slots", MAX_LUNS);
		result = IFD_COMMUNICATION_ERROR;
	} else if (!d && slot != 0) {
		LOG_E(log, "slot %lu opened before slot 0 of its reader", (unsigned long)slot);
		result = IFD_COMMUNICATION_ERROR;
	} else if (!d) {
		for (int i = 0; i < MAX_DEVICES && !d; i++)
			if (!devices[i].used)
				d = &devices[i];
		int rc = d ? open_device(d, reader, DeviceName) : IFD_TR_IO;
		if (rc != 0) {
			if (!d)
				LOG_E(log, "too many readers: this driver handles %d", MAX_DEVICES);
			result = rc == IFD_TR_GONE ? IFD_NO_SUCH_DEVICE : IFD_COMMUNICATION_ERROR;
			d = NULL;
		}
	}
	if (result == IFD_SUCCESS && d) {
		if (slot > d->tr->info.desc.max_slot_index || slot >= MAX_SLOTS) {
			LOG_E(log, "the reader has no slot %lu", (unsigned long)slot);
			result = IFD_COMMUNICATION_ERROR;
			if (d->refs == 0)
				close_device(d);
		} else {
			ifd_slot_init(&d->slots[slot], &d->ccid, (uint8_t)slot, log);
			d->refs++;
			*e = (struct lun_entry){ .used = true, .lun = Lun, .dev = d,
						 .slot = (uint8_t)slot };
		}
	}
	pthread_mutex_unlock(&table_lock);
	return result;
}

RESPONSECODE IFDHCreateChannel(DWORD Lun, DWORD Channel)
{
	LOG_E(logger(), "Lun %lX: channel %lu given without a device name; set DEVICENAME "
	      "(usb:VID/PID or sim:PATH) in the reader.conf.d entry", (unsigned long)Lun,
	      (unsigned long)Channel);
	return IFD_COMMUNICATION_ERROR;
}

RESPONSECODE IFDHCloseChannel(DWORD Lun)
{
	struct device *d;
	struct ifd_slot *s = slot_of(Lun, &d);
	if (!s)
		return IFD_COMMUNICATION_ERROR;
	if (!d->ccid.gone && s->powered)
		ifd_slot_power_down(s);
	pthread_mutex_lock(&table_lock);
	struct lun_entry *e = find_lun(Lun);
	if (e)
		e->used = false;
	if (--d->refs == 0) {
		LOG_I(logger(), "closed %s", d->name);
		close_device(d);
	}
	pthread_mutex_unlock(&table_lock);
	return IFD_SUCCESS;
}

/* ---- card events ---- */

static RESPONSECODE polling(DWORD Lun, int timeout_ms)
{
	struct device *d;
	struct ifd_slot *s = slot_of(Lun, &d);
	if (!s)
		return IFD_COMMUNICATION_ERROR;
	if (d->ccid.gone)
		return IFD_NO_SUCH_DEVICE;

	pthread_mutex_lock(&d->event_lock);
	unsigned long seen = d->events[s->index], woken = d->wakeups;
	RESPONSECODE result = IFD_SUCCESS;
	while (d->events[s->index] == seen && d->wakeups == woken && result == IFD_SUCCESS) {
		if (d->event_reader_busy) {
			/* Another slot's thread reads the pipe for us. */
			pthread_cond_wait(&d->event_cond, &d->event_lock);
			continue;
		}
		d->event_reader_busy = true;
		pthread_mutex_unlock(&d->event_lock);
		uint8_t msg[64];
		int n = d->tr->ops->interrupt(d->tr, msg, sizeof(msg),
					      timeout_ms > 0 ? (unsigned)timeout_ms : 600000u);
		pthread_mutex_lock(&d->event_lock);
		d->event_reader_busy = false;
		if (n > 0) {
			for (unsigned i = 0; i <= d->tr->info.desc.max_slot_index && i < MAX_SLOTS; i++) {
				bool present, changed;
				if (ccid_notify_slot(msg, (size_t)n, i, &present, &changed) == 0 &&
				    changed)
					d->events[i]++;
			}
			if (msg[0] == RDR_TO_PC_HARDWARE_ERROR)
				LOG_W(logger(), "%s reports a hardware error", d->name);
		} else if (n == IFD_TR_GONE) {
			d->ccid.gone = true;
			result = IFD_NO_SUCH_DEVICE;
		} else if (n == IFD_TR_TIMEOUT || n == IFD_TR_CANCELLED) {
			break;	/* pcscd looks at the slot and calls again */
		} else {
			result = IFD_COMMUNICATION_ERROR;
		}
		pthread_cond_broadcast(&d->event_cond);
	}
	pthread_mutex_unlock(&d->event_lock);
	return result;
}

static RESPONSECODE stop_polling(DWORD Lun)
{
	struct device *d;
	struct ifd_slot *s = slot_of(Lun, &d);
	if (!s)
		return IFD_COMMUNICATION_ERROR;
	pthread_mutex_lock(&d->event_lock);
	d->wakeups++;
	pthread_cond_broadcast(&d->event_cond);
	pthread_mutex_unlock(&d->event_lock);
	d->tr->ops->interrupt_cancel(d->tr);
	return IFD_SUCCESS;
}

/* ---- capabilities ---- */

static RESPONSECODE put_bytes(PDWORD Length, PUCHAR Value, const void *data, size_t len)
{
	if (*Length < len)
		return IFD_ERROR_INSUFFICIENT_BUFFER;
	memcpy(Value, data, len);
	*Length = (DWORD)len;
	return IFD_SUCCESS;
}

static RESPONSECODE put_u8(PDWORD Length, PUCHAR Value, uint8_t v)
{
	return put_bytes(Length, Value, &v, 1);
}

/* SCardGetAttrib's integer attributes are host-order DWORDs. */
static RESPONSECODE put_dword(PDWORD Length, PUCHAR Value, uint32_t v)
{
	DWORD d = v;
	return put_bytes(Length, Value, &d, sizeof(d));
}

static RESPONSECODE put_string(PDWORD Length, PUCHAR Value, const char *s)
{
	if (!*s)
		return IFD_ERROR_TAG;
	return put_bytes(Length, Value, s, strlen(s) + 1);
}

RESPONSECODE IFDHGetCapabilities(DWORD Lun, DWORD Tag, PDWORD Length, PUCHAR Value)
{
	struct device *d;
	struct ifd_slot *s = slot_of(Lun, &d);
	if (!s)
		return IFD_COMMUNICATION_ERROR;
	const struct ifd_device_info *info = &d->tr->info;
	const struct ccid_descriptor *desc = &info->desc;

	switch (Tag) {
	case TAG_IFD_ATR:
	case SCARD_ATTR_ATR_STRING:
		if (!s->powered)
			return put_bytes(Length, Value, "", 0);
		return put_bytes(Length, Value, s->atr, s->atr_len);
	case SCARD_ATTR_ICC_PRESENCE: {
		bool present = false;
		if (ifd_slot_present(s, &present) != IFD_SLOT_OK)
			return IFD_COMMUNICATION_ERROR;
		return put_u8(Length, Value, present ? 2 : 0);
	}
	case SCARD_ATTR_ICC_INTERFACE_STATUS:
		return put_u8(Length, Value, s->powered ? 1 : 0);
	case TAG_IFD_SIMULTANEOUS_ACCESS:
		return put_u8(Length, Value, MAX_DEVICES);
	case TAG_IFD_THREAD_SAFE:
		return put_u8(Length, Value, 1);
	case TAG_IFD_SLOTS_NUMBER:
		return put_u8(Length, Value, (uint8_t)(desc->max_slot_index + 1));
	case TAG_IFD_SLOT_THREAD_SAFE:
		return put_u8(Length, Value, 0);
	case TAG_IFD_POLLING_THREAD_WITH_TIMEOUT: {
		if (!info->has_interrupt)
			return IFD_ERROR_TAG;	/* pcscd then polls IFDHICCPresence */
		RESPONSECODE (*fn)(DWORD, int) = polling;
		return put_bytes(Length, Value, &fn, sizeof(fn));
	}
	case TAG_IFD_POLLING_THREAD_KILLABLE:
		return put_u8(Length, Value, 0);
	case TAG_IFD_STOP_POLLING_THREAD: {
		if (!info->has_interrupt)
			return IFD_ERROR_TAG;
		RESPONSECODE (*fn)(DWORD) = stop_polling;
		return put_bytes(Length, Value, &fn, sizeof(fn));
	}
	case SCARD_ATTR_VENDOR_NAME:
		return put_string(Length, Value, info->manufacturer);
	case SCARD_ATTR_VENDOR_IFD_TYPE:
		return put_string(Length, Value, info->product);
	case SCARD_ATTR_VENDOR_IFD_SERIAL_NO:
		return put_string(Length, Value, info->serial);
	case SCARD_ATTR_VENDOR_IFD_VERSION:
		/* 0xMMmmbbbb from bcdDevice (MM.mm). */
		return put_dword(Length, Value, (uint32_t)info->bcd_device << 16);
	case SCARD_ATTR_MAXINPUT:
		return put_dword(Length, Value, (uint32_t)ifd_ccid_max_data(&d->ccid));
	case SCARD_ATTR_DEFAULT_CLK:
		return put_dword(Length, Value, desc->default_clock);
	case SCARD_ATTR_MAX_CLK:
		return put_dword(Length, Value, desc->maximum_clock);
	case SCARD_ATTR_DEFAULT_DATA_RATE:
		return put_dword(Length, Value, desc->data_rate);
	case SCARD_ATTR_MAX_DATA_RATE:
		return put_dword(Length, Value, desc->max_data_rate);
	case SCARD_ATTR_MAX_IFSD:
		return put_dword(Length, Value, desc->max_ifsd);
	case SCARD_ATTR_CURRENT_PROTOCOL_TYPE:
		if (s->protocol < 0)
			return IFD_ERROR_TAG;
		return put_dword(Length, Value, s->protocol == 1 ? SCARD_PROTOCOL_T1
								   : SCARD_PROTOCOL_T0);
	case SCARD_ATTR_CURRENT_IFSC:
		if (s->protocol != 1 || ccid_descriptor_level(desc) != CCID_LEVEL_TPDU)
			return IFD_ERROR_TAG;
		return put_dword(Length, Value, (uint32_t)s->t1.ifsc);
	case SCARD_ATTR_CURRENT_IFSD:
		if (s->protocol != 1 || ccid_descriptor_level(desc) != CCID_LEVEL_TPDU)
			return IFD_ERROR_TAG;
		return put_dword(Length, Value, (uint32_t)s->t1.ifsd);
	default:
		return IFD_ERROR_TAG;
	}
}

RESPONSECODE IFDHSetCapabilities(DWORD Lun, DWORD Tag, DWORD Length, PUCHAR Value)
{
	(void)Length;
	(void)Value;
	struct device *d;
	struct ifd_slot *s = slot_of(Lun, &d);
	if (!s)
		return IFD_COMMUNICATION_ERROR;
	if (Tag == TAG_IFD_DEVICE_REMOVED) {
		/* pcscd saw the device leave: stop talking to it. */
		LOG_I(logger(), "%s was removed", d->name);
		d->ccid.gone = true;
		d->tr->ops->interrupt_cancel(d->tr);
		return IFD_SUCCESS;
	}
	return IFD_ERROR_TAG;
}

/* ---- the card ---- */

static RESPONSECODE from_slot(int rc)
{
	switch (rc) {
	case IFD_SLOT_OK:
		return IFD_SUCCESS;
	case IFD_SLOT_NO_CARD:
		return IFD_ICC_NOT_PRESENT;
	case IFD_SLOT_GONE:
		return IFD_NO_SUCH_DEVICE;
	case IFD_SLOT_TOO_SMALL:
		return IFD_ERROR_INSUFFICIENT_BUFFER;
	case IFD_SLOT_TIMEOUT:
		return IFD_RESPONSE_TIMEOUT;
	case IFD_SLOT_UNSUPPORTED:
		return IFD_PROTOCOL_NOT_SUPPORTED;
	case IFD_SLOT_PPS_FAILED:
		return IFD_ERROR_PTS_FAILURE;
	default:
		return IFD_COMMUNICATION_ERROR;
	}
}

RESPONSECODE IFDHSetProtocolParameters(DWORD Lun, DWORD Protocol, UCHAR Flags, UCHAR PTS1,
				       UCHAR PTS2, UCHAR PTS3)
{
	(void)Flags;
	(void)PTS1;
	(void)PTS2;
	(void)PTS3;
	struct device *d;
	struct ifd_slot *s = slot_of(Lun, &d);
	if (!s)
		return IFD_COMMUNICATION_ERROR;
	unsigned mask = (Protocol & SCARD_PROTOCOL_T0 ? 1u : 0) |
			(Protocol & SCARD_PROTOCOL_T1 ? 2u : 0);
	int selected = -1;
	int rc = ifd_slot_set_protocol(s, mask, &selected);
	if (rc != IFD_SLOT_OK) {
		LOG_W(logger(), "%s slot %u: protocol selection failed: %s", d->name, s->index,
		      ifd_slot_strerror(rc));
		return from_slot(rc);
	}
	LOG_D(logger(), "%s slot %u: T=%d", d->name, s->index, selected);
	return IFD_SUCCESS;
}

RESPONSECODE IFDHPowerICC(DWORD Lun, DWORD Action, PUCHAR Atr, PDWORD AtrLength)
{
	struct device *d;
	struct ifd_slot *s = slot_of(Lun, &d);
	DWORD cap = AtrLength ? *AtrLength : 0;
	if (AtrLength)
		*AtrLength = 0;
	if (!s)
		return IFD_COMMUNICATION_ERROR;
	int rc;
	switch (Action) {
	case IFD_POWER_DOWN:
		rc = ifd_slot_power_down(s);
		if (rc == IFD_SLOT_NO_CARD)
			rc = IFD_SLOT_OK;	/* nothing left to power down */
		return rc == IFD_SLOT_GONE ? IFD_NO_SUCH_DEVICE : IFD_SUCCESS;
	case IFD_POWER_UP:
	case IFD_RESET:
		if (Action == IFD_RESET && s->powered)
			ifd_slot_power_down(s);
		rc = ifd_slot_power_up(s);
		if (rc != IFD_SLOT_OK) {
			if (rc == IFD_SLOT_GONE)
				return IFD_NO_SUCH_DEVICE;
			return rc == IFD_SLOT_NO_CARD ? IFD_ICC_NOT_PRESENT : IFD_ERROR_POWER_ACTION;
		}
		if (!Atr || cap < s->atr_len)
			return IFD_ERROR_INSUFFICIENT_BUFFER;
		memcpy(Atr, s->atr, s->atr_len);
		*AtrLength = (DWORD)s->atr_len;
		return IFD_SUCCESS;
	default:
		return IFD_NOT_SUPPORTED;
	}
}

RESPONSECODE IFDHTransmitToICC(DWORD Lun, SCARD_IO_HEADER SendPci, PUCHAR TxBuffer,
			       DWORD TxLength, PUCHAR RxBuffer, PDWORD RxLength,
			       PSCARD_IO_HEADER RecvPci)
{
	(void)SendPci;
	struct device *d;
	struct ifd_slot *s = slot_of(Lun, &d);
	DWORD cap = *RxLength;
	*RxLength = 0;
	if (!s)
		return IFD_COMMUNICATION_ERROR;
	size_t got = 0;
	int rc = ifd_slot_transmit(s, TxBuffer, TxLength, RxBuffer, cap, &got);
	if (rc != IFD_SLOT_OK) {
		LOG_I(logger(), "%s slot %u: transmit failed: %s", d->name, s->index,
		      ifd_slot_strerror(rc));
		return from_slot(rc);
	}
	*RxLength = (DWORD)got;
	if (RecvPci)
		RecvPci->Protocol = s->protocol == 1 ? SCARD_PROTOCOL_T1 : SCARD_PROTOCOL_T0;
	return IFD_SUCCESS;
}

/*
 * A simulated reader (sim:PATH) that was unplugged comes back when its
 * socket does: pcscd keeps a reader.conf.d reader for its whole life and
 * goes on asking for the card, so the driver opens the socket again then,
 * as pcscd's hotplug would open a USB reader plugged back in. The slots
 * start unpowered, like a reader just plugged in.
 */
static bool reconnect(struct device *d)
{
	struct ifd_transport *tr, *old;

	if (!d->ccid.gone || strncmp(d->name, "sim:", 4) != 0)
		return false;
	if (ifd_transport_open(d->name, logger(), &tr) != 0)
		return false;
	pthread_mutex_lock(&d->ccid.lock);
	old = d->ccid.tr;
	d->ccid.tr = d->tr = tr;
	d->ccid.gone = false;
	for (unsigned i = 0; i < MAX_SLOTS; i++) {
		d->slots[i].powered = false;
		d->slots[i].protocol = -1;
	}
	pthread_mutex_unlock(&d->ccid.lock);
	old->ops->close(old);
	LOG_I(logger(), "%s is back: the reader was plugged in again", d->name);
	return true;
}

RESPONSECODE IFDHICCPresence(DWORD Lun)
{
	struct device *d;
	struct ifd_slot *s = slot_of(Lun, &d);
	if (!s)
		return IFD_COMMUNICATION_ERROR;
	if (d->ccid.gone && !reconnect(d))
		return IFD_NO_SUCH_DEVICE;
	bool present = false;
	int rc = ifd_slot_present(s, &present);
	if (rc == IFD_SLOT_GONE)
		return IFD_NO_SUCH_DEVICE;
	if (rc != IFD_SLOT_OK)
		return IFD_COMMUNICATION_ERROR;
	return present ? IFD_ICC_PRESENT : IFD_ICC_NOT_PRESENT;
}

/* ---- control: PC/SC v2 part 10 ---- */

static bool escape_allowed(void)
{
	/* Escape commands reach the reader's firmware (some can reflash it):
	 * only when the administrator asks for it. */
	const char *v = getenv("ECARD_IFD_ALLOW_ESCAPE");
	return v && strcmp(v, "1") == 0;
}

static size_t put_feature(uint8_t *out, size_t off, uint8_t tag, uint32_t ioctl)
{
	out[off] = tag;
	out[off + 1] = 4;
	out[off + 2] = (uint8_t)(ioctl >> 24);	/* part 10: big-endian */
	out[off + 3] = (uint8_t)(ioctl >> 16);
	out[off + 4] = (uint8_t)(ioctl >> 8);
	out[off + 5] = (uint8_t)ioctl;
	return off + 6;
}

static size_t put_property(uint8_t *out, size_t off, uint8_t tag, uint32_t v, uint8_t len)
{
	out[off++] = tag;
	out[off++] = len;
	for (uint8_t i = 0; i < len; i++)	/* properties are little-endian */
		out[off++] = (uint8_t)(v >> (8 * i));
	return off;
}

/* Largest command data the reader path carries: 0 means short APDUs only
 * (PC/SC part 10, dwMaxAPDUDataSize). */
static uint32_t max_apdu_data(const struct ifd_slot *s)
{
	switch (ifd_slot_level(s)) {
	case CCID_LEVEL_EXTENDED_APDU:
		return 65535;
	case CCID_LEVEL_TPDU:
		return s->protocol == 0 ? 0 : 65535;
	default:
		return 0;
	}
}

RESPONSECODE IFDHControl(DWORD Lun, DWORD dwControlCode, PUCHAR TxBuffer, DWORD TxLength,
			 PUCHAR RxBuffer, DWORD RxLength, LPDWORD pdwBytesReturned)
{
	struct device *d;
	struct ifd_slot *s = slot_of(Lun, &d);
	uint8_t out[64];
	size_t n = 0;
	if (pdwBytesReturned)
		*pdwBytesReturned = 0;
	if (!s || !pdwBytesReturned)
		return IFD_COMMUNICATION_ERROR;

	if (dwControlCode == CM_IOCTL_GET_FEATURE_REQUEST) {
		n = put_feature(out, n, FEATURE_GET_TLV_PROPERTIES, IOCTL_FEATURE_GET_TLV_PROPERTIES);
		if (escape_allowed())
			n = put_feature(out, n, FEATURE_CCID_ESC_COMMAND,
					IOCTL_FEATURE_CCID_ESC_COMMAND);
	} else if (dwControlCode == IOCTL_FEATURE_GET_TLV_PROPERTIES) {
		const struct ifd_device_info *info = &d->tr->info;
		n = put_property(out, n, PCSCv2_PART10_PROPERTY_wLcdLayout,
				 info->desc.lcd_layout, 2);
		n = put_property(out, n, PCSCv2_PART10_PROPERTY_bPPDUSupport, 0, 1);
		n = put_property(out, n, PCSCv2_PART10_PROPERTY_dwMaxAPDUDataSize,
				 max_apdu_data(s), 4);
		n = put_property(out, n, PCSCv2_PART10_PROPERTY_wIdVendor, info->vendor_id, 2);
		n = put_property(out, n, PCSCv2_PART10_PROPERTY_wIdProduct, info->product_id, 2);
	} else if (dwControlCode == IOCTL_FEATURE_CCID_ESC_COMMAND && escape_allowed()) {
		size_t got = 0;
		int rc = ifd_ccid_escape(&d->ccid, s->index, TxBuffer, TxLength, RxBuffer, RxLength,
					 &got);
		if (rc == IFD_CCID_TOO_BIG)
			return IFD_ERROR_INSUFFICIENT_BUFFER;
		if (rc == IFD_CCID_GONE)
			return IFD_NO_SUCH_DEVICE;
		if (rc != IFD_CCID_OK)
			return IFD_COMMUNICATION_ERROR;
		*pdwBytesReturned = (DWORD)got;
		return IFD_SUCCESS;
	} else {
		return IFD_ERROR_NOT_SUPPORTED;
	}
	if (RxLength < n)
		return IFD_ERROR_INSUFFICIENT_BUFFER;
	memcpy(RxBuffer, out, n);
	*pdwBytesReturned = (DWORD)n;
	return IFD_SUCCESS;
}
