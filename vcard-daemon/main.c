/*
 * main.c - ecard-vcard, the virtual card daemon.
 *
 *   ecard-vcard --new --image F [--serial HEX] [--size N] [--pin-fd N] [--puk-fd N]
 *   ecard-vcard --image F [--vpcd HOST:PORT] [--control PATH] [--sync] ...
 *   ecard-vcard ctl PATH COMMAND
 *
 * The daemon holds one card (libvcard + the built-in applets) on its image
 * file and puts it behind vpcd, or with --vscard into the USB reader QEMU
 * emulates (vscard.h). One thread, one poll loop: the vpcd or QEMU link,
 * the control socket, the stop signals, and a timer for reconnecting. A tear (power loss at
 * a persistent write) makes the card leave the reader, recover, and come
 * back after a short outage, exactly what pcscd sees with a real card
 * pulled out during a write.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "applets.h"
#include "card.h"
#include "control.h"
#include "crypto.h"
#include "cursor.h"
#include "daemon.h"
#include "hex.h"
#include "inproc.h"
#include "issuer.h"
#include "perso.h"
#include "pin_entry.h"
#include "log.h"
#include "net.h"
#include "t0_card.h"
#include "vpcd.h"
#include "vscard.h"

#define BACKOFF_MIN_MS 100u
#define BACKOFF_MAX_MS 2000u
#define DEFAULT_OUTAGE_MS 1500u
#define VSCARD_CONNECT_TIMEOUT_MS 2000u

#define PROGRAM "ecard-vcard"
/* The error line "ecard-vcard: ..." on standard error; returns 2. */
#define fail(...) daemon_fail(PROGRAM, __VA_ARGS__)

struct daemon {
	struct logger log;
	struct vc_storage *st;
	struct vc_card card;
	struct vpcd_link link;
	/* --vscard: the card in QEMU's USB reader instead of behind vpcd. */
	bool use_vscard;
	struct vscard_link vs;
	bool vs_ready;		/* QEMU's Init seen, our reader added */
	bool vs_inserted;	/* the card's ATR given: in the reader */
	uint64_t insert_at;	/* monotonic ms when it may go back in */
	struct vc_t0_card t0;
	struct control ctl;
	struct daemon_stop stop;
	bool present;		/* in the reader (not taken out by `remove`) */
	uint64_t connect_at;	/* monotonic ms of the next connection attempt */
	unsigned outage_ms;
	bool warned_offline;
	unsigned long tears;
	uint8_t rsp[VC_RSP_MAX];
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: ecard-vcard --new --image FILE [--personalize DIR] [--serial HEX] [--size BYTES]\n"
		"                   [--pin-fd N] [--puk-fd N]\n"
		"       ecard-vcard --image FILE [--vpcd HOST:PORT] [--control PATH] [options]\n"
		"       ecard-vcard ctl PATH COMMAND\n"
		"\n"
		"A virtual smart card that pcscd sees through vsmartcard's vpcd.\n"
		"\n"
		"Card image:\n"
		"  --new                 create a new card image and exit\n"
		"  --personalize DIR     with --new: issue the card for the issuer whose\n"
		"                        keys are in DIR (ecard issuer init DIR): wallet and\n"
		"                        profile through the card manager, whose test keys\n"
		"                        are then replaced by the card's own\n"
		"  --image FILE          the card's persistent memory\n"
		"  --serial HEX          card serial number, 8 bytes (default: random)\n"
		"  --size BYTES          image size (default 262144)\n"
		"  --pin-fd N            read the initial PIN, 4 to 8 digits, as one line\n"
		"                        from file descriptor N (default PIN 1234)\n"
		"  --puk-fd N            read the initial PUK, 8 digits, as one line from\n"
		"                        file descriptor N (default 12345678); with the\n"
		"                        same N as --pin-fd, the PIN's line comes first\n"
		"  --pin DIGITS, --puk DIGITS\n"
		"                        the same on the command line, where other users\n"
		"                        may see them until they are erased: use --pin-fd\n"
		"                        and --puk-fd\n"
		"  --scp03-i 70|10       the card manager's SCP03 option i (default 70:\n"
		"                        R-MAC and R-ENC; 10: C-MAC and C-DEC only)\n"
		"Running:\n"
		"  --vpcd HOST:PORT      vpcd to connect to (default 127.0.0.1:35963)\n"
		"  --vscard ADDRESS      instead of vpcd, put the card into QEMU's USB CCID\n"
		"                        reader: connect to the chardev of its\n"
		"                        ccid-card-passthru device, HOST:PORT or unix:PATH\n"
		"                        (qemu ... -chardev socket,id=c,host=127.0.0.1,port=N,\n"
		"                        server=on,wait=off -device usb-ccid\n"
		"                        -device ccid-card-passthru,chardev=c)\n"
		"  --control PATH        control socket (commands below)\n"
		"  --sync                fsync the image at every commit\n"
		"  --tear-at N[:LEN]     tear the N-th persistent write after power-up,\n"
		"                        letting LEN bytes of it land (default: random)\n"
		"  --tear-random SEED,P  tear each write with probability P (reproducible)\n"
		"  --outage MS           time off the reader after a tear (default %u)\n"
		"  --log-level LEVEL     error, warn, info (default) or debug\n"
		"  -v, --verbose         same as --log-level debug (logs every APDU)\n"
		"  -h, --help            this help\n"
		"  -V, --version         print the version\n"
		"\n"
		"Control commands (ecard-vcard ctl PATH COMMAND):\n"
		"  tear N [LEN]   tear the N-th persistent write from now (armed until it\n"
		"                 fires, across power-ups; status shows it)\n"
		"  tear off       disarm it\n"
		"  remove         take the card out of the reader\n"
		"  insert         put it back\n"
		"  reset          power-cycle the card in place (recovery runs)\n"
		"  writes         persistent writes since power-up, and since the start\n"
		"  status         one line of state\n",
		DEFAULT_OUTAGE_MS);
}

static const struct daemon_program program = { PROGRAM, PACKAGE_VERSION, usage };

/* ---- the card behind vpcd ---- */

static int link_fd(const struct daemon *d)
{
	return d->use_vscard ? d->vs.fd : d->link.fd;
}

static void disconnect(struct daemon *d)
{
	if (d->use_vscard) {
		vscard_disconnect(&d->vs);
		d->vs_ready = d->vs_inserted = false;
	} else {
		vpcd_disconnect(&d->link);
	}
}

static void go_offline(struct daemon *d, unsigned delay_ms)
{
	disconnect(d);
	d->connect_at = now_ms() + delay_ms;
}

/* ---- the card in QEMU's reader ---- */

static int vscard_insert(struct daemon *d)
{
	uint8_t atr[VC_ATR_MAX];
	size_t n = vc_card_atr_t0(atr);

	vc_t0_card_reset(&d->t0);
	if (!d->card.powered && vc_card_power_up(&d->card) != VC_OK)
		return -1;
	if (vscard_send(&d->vs, VSC_ATR, VSCARD_READER, atr, n) != 0)
		return -1;
	d->vs_inserted = true;
	LOG_I(&d->log, "card inserted into QEMU's reader");
	return 0;
}

static void vscard_remove(struct daemon *d)
{
	if (d->vs_inserted && vscard_send(&d->vs, VSC_CARD_REMOVE, VSCARD_READER, NULL, 0) == 0)
		LOG_I(&d->log, "card taken out of QEMU's reader");
	d->vs_inserted = false;
	vc_t0_card_reset(&d->t0);
}

static void power_lost(struct daemon *d)
{
	size_t landed, len;
	vc_tear_last(d->st, &landed, &len);
	d->tears++;
	LOG_W(&d->log, "tear: power lost at a persistent write (%zu of %zu bytes landed); "
	      "the card leaves the reader", landed, len);
	if (d->use_vscard) {
		/* QEMU keeps the link; the card leaves its reader for a while. */
		vscard_remove(d);
		d->insert_at = now_ms() + d->outage_ms;
	} else {
		go_offline(d, d->outage_ms);
	}
	vc_card_power_down(&d->card);
	enum vc_status st = vc_card_power_up(&d->card);
	if (st != VC_OK)
		LOG_E(&d->log, "the card does not power up after the tear: %s", vc_status_str(st));
	else
		LOG_I(&d->log, "card recovered; back in the reader in %u ms", d->outage_ms);
}

static int ensure_powered(struct daemon *d)
{
	if (d->card.powered)
		return 0;
	enum vc_status st = vc_card_power_up(&d->card);
	if (st != VC_OK) {
		LOG_E(&d->log, "power-up failed: %s", vc_status_str(st));
		return -1;
	}
	return 0;
}

static int on_frame(void *arg, const uint8_t *frame, size_t len)
{
	struct daemon *d = arg;

	if (len == 1) {
		switch (frame[0]) {
		case VPCD_CTRL_OFF:
			LOG_D(&d->log, "vpcd: power off");
			vc_card_power_down(&d->card);
			return 0;
		case VPCD_CTRL_ON:
			LOG_D(&d->log, "vpcd: power on");
			return ensure_powered(d);
		case VPCD_CTRL_RESET:
			LOG_D(&d->log, "vpcd: reset");
			if (d->card.powered)
				vc_card_reset(&d->card);
			return ensure_powered(d);
		case VPCD_CTRL_ATR: {
			uint8_t atr[VC_ATR_MAX];
			size_t n = vc_card_atr(atr);
			return vpcd_send(&d->link, atr, n);
		}
		default:
			LOG_W(&d->log, "vpcd: unknown control byte %02X ignored", frame[0]);
			return 0;
		}
	}
	if (ensure_powered(d) != 0)
		return -1;
	size_t rlen;
	enum vc_status st = vc_card_process(&d->card, frame, len, d->rsp, &rlen);
	if (st == VC_ERR_POWER_LOST) {
		power_lost(d);
		return 0;
	}
	if (st != VC_OK) {
		LOG_E(&d->log, "APDU not processed: %s", vc_status_str(st));
		return -1;
	}
	return vpcd_send(&d->link, d->rsp, rlen);
}

/* Answer QEMU's pending command with an Error: QEMU then fails the
 * guest's command at once rather than let it wait for its timeout. */
static int vscard_refuse(struct daemon *d)
{
	uint8_t code[4];
	store_be32(code, VSC_GENERAL_ERROR);
	return vscard_send(&d->vs, VSC_ERROR, VSCARD_READER, code, sizeof(code));
}

/* vc_t0_card's card: one whole APDU. */
static int t0_process(void *arg, const uint8_t *apdu, size_t len, const uint8_t **rsp,
		      size_t *rsp_len)
{
	struct daemon *d = arg;
	enum vc_status st = vc_card_process(&d->card, apdu, len, d->rsp, rsp_len);
	if (st != VC_OK)
		return (int)st;
	*rsp = d->rsp;
	return 0;
}

static int on_vscard_apdu(struct daemon *d, const struct vscard_msg *m)
{
	uint8_t rsp[VC_T0_RSP_MAX];
	size_t n = 0;

	if (!d->vs_inserted || ensure_powered(d) != 0)
		return vscard_refuse(d);
	int rc;
	if (m->len >= 6 && m->data[4] != 0 && m->len == 6u + m->data[4]) {
		/* Header, Lc, data and Le: no T=0 TPDU but a whole case 4
		 * APDU, which QEMU passes on from drivers (libccid) that send
		 * APDUs as they are to its reader. The card answers it whole,
		 * as the cards of QEMU's own emulation do. */
		vc_t0_card_reset(&d->t0);
		const uint8_t *out;
		rc = t0_process(d, m->data, m->len, &out, &n);
		if (rc == 0 && n <= sizeof(rsp))
			memcpy(rsp, out, n);
		else if (rc == 0)
			rc = (int)VC_ERR_ARG;	/* max_rsp_data keeps it short */
	} else {
		rc = vc_t0_card_tpdu(&d->t0, m->data, m->len, rsp, &n);
	}
	if (rc == (int)VC_ERR_POWER_LOST) {
		power_lost(d);
		return 0;
	}
	if (rc == VC_T0_MUTE) {
		LOG_W(&d->log, "QEMU sent %u bytes that are no T=0 TPDU; the card stays mute",
		      (unsigned)m->len);
		return vscard_refuse(d);
	}
	if (rc != 0) {
		LOG_E(&d->log, "APDU not processed: %s", vc_status_str((enum vc_status)rc));
		return -1;
	}
	rc = vscard_send(&d->vs, VSC_APDU, VSCARD_READER, rsp, n);
	crypto_wipe(rsp, sizeof(rsp));
	return rc;
}

static int on_vscard(void *arg, const struct vscard_msg *m)
{
	struct daemon *d = arg;

	switch (m->type) {
	case VSC_INIT:
		if (m->len >= 8 && memcmp(m->data, VSCARD_MAGIC, 4) == 0)
			LOG_D(&d->log, "QEMU speaks VSCard version %u", (unsigned)load_be32(m->data + 4));
		else
			LOG_W(&d->log, "QEMU's Init has no VSCard magic; going on");
		if (d->vs_ready)
			return 0;	/* QEMU may greet twice */
		d->vs_ready = true;
		if (vscard_send(&d->vs, VSC_READER_ADD, VSCARD_READER, (const uint8_t *)"ecard", 5))
			return -1;
		if (d->present)
			return vscard_insert(d);
		return 0;
	case VSC_ERROR: {
		uint32_t code = m->len >= 4 ? load_be32(m->data) : VSC_GENERAL_ERROR;
		if (code != VSC_SUCCESS)
			LOG_W(&d->log, "QEMU reports error %u to our last message", (unsigned)code);
		return 0;
	}
	case VSC_APDU:
		return on_vscard_apdu(d, m);
	case VSC_READER_REMOVE:
		LOG_W(&d->log, "QEMU removed our reader");
		d->vs_inserted = false;
		return 0;
	default:
		LOG_D(&d->log, "VSCard %s (%u bytes) from QEMU ignored", vscard_type_name(m->type),
		      (unsigned)m->len);
		return 0;
	}
}

static bool connect_link(struct daemon *d)
{
	if (!d->use_vscard)
		return vpcd_connect(&d->link, d->stop.fd) == 0;
	if (vscard_connect(&d->vs, VSCARD_CONNECT_TIMEOUT_MS, d->stop.fd) != 0)
		return false;
	uint8_t init[12];
	size_t n = vscard_init_payload(init);
	if (vscard_send(&d->vs, VSC_INIT, VSCARD_NO_READER, init, n) != 0) {
		disconnect(d);
		return false;
	}
	return true;
}

static const char *link_name(const struct daemon *d, char *buf, size_t cap)
{
	if (d->use_vscard) {
		char addr[300];
		snprintf(buf, cap, "QEMU's passthru card at %s",
			 vscard_address(&d->vs, addr, sizeof(addr)));
	} else {
		snprintf(buf, cap, "vpcd at %s:%s", d->link.host, d->link.port);
	}
	return buf;
}

static void try_connect(struct daemon *d)
{
	char name[400];
	if (connect_link(d)) {
		if (d->use_vscard)
			LOG_I(&d->log, "connected to %s", link_name(d, name, sizeof(name)));
		else
			LOG_I(&d->log, "connected to %s: card inserted", link_name(d, name, sizeof(name)));
		d->link.backoff_ms = BACKOFF_MIN_MS;
		d->warned_offline = false;
		return;
	}
	if (errno == EINTR)
		return;	/* a stop signal came: the loop ends */
	if (!d->warned_offline) {
		LOG_W(&d->log, "cannot reach %s (%s); retrying (%s)", link_name(d, name, sizeof(name)),
		      strerror(errno),
		      d->use_vscard ? "is QEMU running with ccid-card-passthru?"
				    : "is pcscd running with vpcd?");
		d->warned_offline = true;
	}
	if (d->link.backoff_ms < BACKOFF_MIN_MS)
		d->link.backoff_ms = BACKOFF_MIN_MS;
	d->connect_at = now_ms() + d->link.backoff_ms;
	d->link.backoff_ms = d->link.backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS
								     : d->link.backoff_ms * 2;
}

/* ---- control commands ---- */

static void on_control(void *arg, const char *line, char *reply, size_t reply_len)
{
	struct daemon *d = arg;
	char cmd[32] = "", a1[32] = "", a2[32] = "", extra[2] = "";
	int fields = sscanf(line, "%31s %31s %31s %1s", cmd, a1, a2, extra);
	uint64_t n = 0, len = 0;

	if (fields >= 1 && strcmp(cmd, "tear") == 0) {
		if (fields == 2 && strcmp(a1, "off") == 0) {
			vc_tear_disarm(d->st);
			snprintf(reply, reply_len, "ok tear off");
			return;
		}
		/* Numbers only as digits: "-1" must not arm write 2^64 - 1. */
		if (fields < 2 || fields > 3 || !daemon_parse_number(a1, 10, 1, 1000000000, &n) ||
		    (fields == 3 && !daemon_parse_number(a2, 10, 0, VC_NVM_DEFAULT_SIZE, &len))) {
			snprintf(reply, reply_len,
				 "error usage: tear N [LEN] (N from 1 to 1000000000: the N-th "
				 "persistent write from now; LEN bytes of it land), or tear off");
			return;
		}
		struct vc_tear_plan plan = { .tear_at = (unsigned long)n,
					     .partial = fields == 3 ? (size_t)len : VC_TEAR_PARTIAL_RANDOM,
					     .seed = (uint64_t)now_ms() };
		vc_tear_arm(d->st, &plan);
		snprintf(reply, reply_len, "ok tear armed at write %lu from now", (unsigned long)n);
	} else if (fields == 1 && strcmp(cmd, "remove") == 0) {
		d->present = false;
		if (d->use_vscard)
			vscard_remove(d);
		else
			vpcd_disconnect(&d->link);
		vc_card_power_down(&d->card);
		LOG_I(&d->log, "card removed from the reader");
		snprintf(reply, reply_len, "ok removed");
	} else if (fields == 1 && strcmp(cmd, "insert") == 0) {
		if (!d->present) {
			d->present = true;
			d->connect_at = d->insert_at = now_ms();
			d->link.backoff_ms = BACKOFF_MIN_MS;
		}
		snprintf(reply, reply_len, "ok inserted");
	} else if (fields == 1 && strcmp(cmd, "reset") == 0) {
		vc_card_power_down(&d->card);
		enum vc_status st = vc_card_power_up(&d->card);
		snprintf(reply, reply_len, st == VC_OK ? "ok reset" : "error power-up failed: %s",
			 vc_status_str(st));
	} else if (fields == 1 && strcmp(cmd, "writes") == 0) {
		snprintf(reply, reply_len, "ok writes=%lu total_writes=%lu", vc_card_writes(&d->card),
			 vc_card_writes_total(&d->card));
	} else if (fields == 1 && strcmp(cmd, "status") == 0) {
		uint8_t serial[8] = { 0 };
		char hex[17], armed[48];
		if (d->card.powered)
			vc_card_serial(&d->card, serial);
		hex_encode(serial, 8, hex);
		vc_tear_describe(d->st, armed, sizeof(armed));
		for (char *p = armed; *p; p++)
			if (*p == ' ')
				*p = ':';	/* one word per field */
		snprintf(reply, reply_len,
			 "ok powered=%d present=%d connected=%d writes=%lu total_writes=%lu apdus=%lu tears=%lu tear=%s serial=%s",
			 d->card.powered, d->use_vscard ? d->vs_inserted : d->present, link_fd(d) >= 0,
			 vc_card_writes(&d->card),
			 vc_card_writes_total(&d->card), d->card.apdus, d->tears, armed,
			 d->card.powered ? hex : "-");
	} else {
		snprintf(reply, reply_len, "error usage: unknown command (tear N [LEN], tear off, remove, insert, reset, writes, status)");
	}
}

static int run(struct daemon *d)
{
	d->present = true;
	d->connect_at = 0;
	while (!d->stop.signal) {
		/* QEMU's reader stays ours while the card is out of it. */
		bool wanted = d->present || d->use_vscard;
		if (wanted && link_fd(d) < 0 && now_ms() >= d->connect_at)
			try_connect(d);
		bool reinsert = d->use_vscard && d->vs_ready && d->present && !d->vs_inserted;
		if (reinsert && now_ms() >= d->insert_at && vscard_insert(d) != 0) {
			LOG_W(&d->log, "QEMU's passthru card closed the connection: reconnecting");
			go_offline(d, BACKOFF_MIN_MS);
		}

		/* The link, the control sockets, and room for the stop signals. */
		struct pollfd fds[2 + CONTROL_MAX_CLIENTS + 1];
		int n = 0;
		if (link_fd(d) >= 0)
			fds[n++] = (struct pollfd){ .fd = link_fd(d), .events = POLLIN };
		int link_slots = n;
		int room = (int)(sizeof(fds) / sizeof(fds[0])) - 1;
		n += control_fill_pollfds(&d->ctl, fds + n, room - n);

		int timeout_ms = -1;
		bool waiting = true;
		uint64_t due = 0;
		if (wanted && link_fd(d) < 0)
			due = d->connect_at;
		else if (d->use_vscard && d->vs_ready && d->present && !d->vs_inserted)
			due = d->insert_at;
		else
			waiting = false;
		if (waiting) {
			uint64_t now = now_ms();
			uint64_t wait = due > now ? due - now : 0;
			timeout_ms = wait < INT_MAX ? (int)wait : INT_MAX;
		}
		int rc = daemon_poll(&d->stop, fds, n, timeout_ms);
		if (rc < 0)
			return fail("poll failed: %s", strerror(errno));
		if (rc == 0)
			continue;
		if (link_slots && fds[0].revents) {
			int fd_before = link_fd(d);
			int r = d->use_vscard ? vscard_receive(&d->vs, on_vscard, d)
					      : vpcd_receive(&d->link, on_frame, d);
			if (r != 0 && link_fd(d) == fd_before) {
				LOG_W(&d->log, "%s closed the connection (%s): reconnecting",
				      d->use_vscard ? "QEMU" : "vpcd",
				      d->use_vscard ? "the virtual machine stopped?" : "pcscd stopped?");
				go_offline(d, BACKOFF_MIN_MS);
				/* Out of the reader is out of power: the session ends. */
				vc_card_power_down(&d->card);
				d->link.backoff_ms = BACKOFF_MIN_MS;
			}
		}
		control_service(&d->ctl, fds + link_slots, n - link_slots, on_control, d);
	}
	LOG_I(&d->log, "%s: shutting down", strsignal(d->stop.signal));
	if (d->use_vscard && d->vs.fd >= 0) {
		/* QEMU does not take a closed socket for a removal: say it. */
		vscard_remove(d);
		vscard_send(&d->vs, VSC_READER_REMOVE, VSCARD_READER, NULL, 0);
	}
	return 0;
}

/* ---- command line ---- */

/* The initial PIN or PUK of a new card, from its descriptor or (for
 * compatibility) from the command line. */
struct secret {
	const char *name;	/* "PIN" */
	const char *option;	/* "--pin" */
	const char *fd_option;	/* "--pin-fd" */
	const char *rule;	/* "4 to 8 digits" */
	bool (*check)(const char *digits, uint8_t block[ISO_PIN_BLOCK_LEN]);
	int fd;			/* the descriptor given, or -1 */
	bool given;		/* text holds it */
	char text[EC_PIN_TEXT_MAX];
};

#define SECRET_PIN \
	{ .name = "PIN", .option = "--pin", .fd_option = "--pin-fd", .rule = "4 to 8 digits", \
	  .check = vc_pin_block_from_digits, .fd = -1 }
#define SECRET_PUK \
	{ .name = "PUK", .option = "--puk", .fd_option = "--puk-fd", .rule = "exactly 8 digits", \
	  .check = vc_puk_from_digits, .fd = -1 }

struct options {
	bool create;
	const char *image;
	const char *vpcd;
	const char *vscard;
	const char *control;
	struct secret pin;
	struct secret puk;
	const char *serial;
	const char *personalize;
	uint8_t scp03_i;
	size_t size;
	bool sync;
	struct vc_tear_plan tear;
	unsigned outage_ms;
	int level;
};

/*
 * --pin or --puk: the value is copied, then its text in argv is
 * overwritten at once, so that /proc/PID/cmdline, which other users can
 * read, stops showing it. It was visible until then: --pin-fd and --puk-fd
 * are the way that never shows it. A value too long to be one is kept
 * empty, for the check to refuse.
 */
static void secret_from_arg(struct secret *sec, char *arg)
{
	size_t n = strlen(arg);

	sec->given = true;
	sec->text[0] = '\0';
	if (n < sizeof(sec->text))
		memcpy(sec->text, arg, n + 1);
	crypto_wipe(arg, n);
}

/* --pin-fd N or --puk-fd N: DAEMON_GO_ON, or the code to exit with. */
static int secret_fd_from_arg(struct secret *sec, const char *arg)
{
	uint64_t v;

	if (!daemon_parse_number(arg, 10, 0, INT_MAX, &v) || fcntl((int)v, F_GETFD) == -1)
		return fail("%s takes the number of an open file descriptor, e.g. %s 3 3<file.",
			    sec->fd_option, sec->fd_option);
	sec->fd = (int)v;
	return DAEMON_GO_ON;
}

/*
 * The secret, read from its descriptor when one was given (one line, the
 * way ecard reads --pin-fd), then checked. 0, or the code to exit with.
 */
static int take_secret(struct secret *sec)
{
	uint8_t block[ISO_PIN_BLOCK_LEN];
	struct ec_error err = { 0 };
	char what[16];

	if (sec->fd >= 0) {
		snprintf(what, sizeof(what), "the %s", sec->name);
		if (pin_entry_read_fd(sec->fd, sec->fd_option, what, sec->text, sizeof(sec->text),
				      sizeof(sec->text) - 1, NULL, &err) != 0)
			return fail("%s", err.text);
		sec->given = true;
	}
	if (!sec->given)
		return 0;
	bool ok = sec->check(sec->text, block);
	crypto_wipe(block, sizeof(block));
	if (ok)
		return 0;
	if (sec->fd >= 0)
		return fail("the %s read from %s %d must be %s.", sec->name, sec->fd_option, sec->fd,
			    sec->rule);
	return fail("%s takes %s.", sec->option, sec->rule);
}

/* DAEMON_GO_ON, or the code to exit with. */
static int parse_options(int argc, char **argv, struct options *o)
{
	enum { OPT_NEW = DAEMON_OPT_OWN, OPT_PERSONALIZE, OPT_SCP03_I, OPT_IMAGE, OPT_VPCD, OPT_VSCARD,
	       OPT_CONTROL, OPT_PIN, OPT_PUK, OPT_PIN_FD, OPT_PUK_FD, OPT_SERIAL, OPT_SIZE,
	       OPT_SYNC, OPT_TEAR_AT, OPT_TEAR_RANDOM, OPT_OUTAGE };
	static const struct option longopts[] = {
		{ "new", no_argument, NULL, OPT_NEW },
		{ "personalize", required_argument, NULL, OPT_PERSONALIZE },
		{ "scp03-i", required_argument, NULL, OPT_SCP03_I },
		{ "image", required_argument, NULL, OPT_IMAGE },
		{ "vpcd", required_argument, NULL, OPT_VPCD },
		{ "vscard", required_argument, NULL, OPT_VSCARD },
		{ "control", required_argument, NULL, OPT_CONTROL },
		{ "pin", required_argument, NULL, OPT_PIN },
		{ "puk", required_argument, NULL, OPT_PUK },
		{ "pin-fd", required_argument, NULL, OPT_PIN_FD },
		{ "puk-fd", required_argument, NULL, OPT_PUK_FD },
		{ "serial", required_argument, NULL, OPT_SERIAL },
		{ "size", required_argument, NULL, OPT_SIZE },
		{ "sync", no_argument, NULL, OPT_SYNC },
		{ "tear-at", required_argument, NULL, OPT_TEAR_AT },
		{ "tear-random", required_argument, NULL, OPT_TEAR_RANDOM },
		{ "outage", required_argument, NULL, OPT_OUTAGE },
		DAEMON_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	int c, rc;
	uint64_t v;
	char *end;

	while ((c = daemon_getopt(&program, argc, argv, longopts, &o->level)) >= DAEMON_OPT_OWN) {
		switch (c) {
		case OPT_NEW: o->create = true; break;
		case OPT_PERSONALIZE: o->personalize = optarg; break;
		case OPT_SCP03_I:
			if (strcmp(optarg, "70") != 0 && strcmp(optarg, "10") != 0)
				return fail("--scp03-i takes 70 or 10.");
			o->scp03_i = optarg[0] == '7' ? 0x70 : 0x10;
			break;
		case OPT_IMAGE: o->image = optarg; break;
		case OPT_VPCD: o->vpcd = optarg; break;
		case OPT_VSCARD: o->vscard = optarg; break;
		case OPT_CONTROL: o->control = optarg; break;
		case OPT_PIN: secret_from_arg(&o->pin, optarg); break;
		case OPT_PUK: secret_from_arg(&o->puk, optarg); break;
		case OPT_PIN_FD:
		case OPT_PUK_FD:
			rc = secret_fd_from_arg(c == OPT_PIN_FD ? &o->pin : &o->puk, optarg);
			if (rc != DAEMON_GO_ON)
				return rc;
			break;
		case OPT_SERIAL: o->serial = optarg; break;
		case OPT_SYNC: o->sync = true; break;
		case OPT_SIZE:
			if (!daemon_parse_number(optarg, 0, 16384, 64u * 1024 * 1024, &v))
				return fail("--size takes a byte count from 16384 to 67108864.");
			o->size = (size_t)v;
			break;
		case OPT_TEAR_AT:
			if (!vc_tear_plan_parse_at(optarg, &o->tear))
				return fail("--tear-at takes N or N:LEN with N >= 1, e.g. --tear-at 3:2.");
			break;
		case OPT_TEAR_RANDOM:
			if (!vc_tear_plan_parse_random(optarg, &o->tear))
				return fail("--tear-random takes SEED,PROBABILITY with 0 < PROBABILITY <= 1, e.g. 42,0.01.");
			break;
		case OPT_OUTAGE:
			o->outage_ms = (unsigned)strtoul(optarg, &end, 10);
			if (*end || o->outage_ms > 60000)
				return fail("--outage takes milliseconds from 0 to 60000.");
			break;
		}
	}
	if (c != DAEMON_GO_ON)
		return c;
	if (!o->image)
		return fail("--image FILE is required; try 'ecard-vcard --help'.");
	bool pin = o->pin.given || o->pin.fd >= 0, puk = o->puk.given || o->puk.fd >= 0;
	if (!o->create && (pin || puk || o->serial || o->personalize || o->scp03_i))
		return fail("--pin-fd, --puk-fd, --pin, --puk, --serial, --personalize and --scp03-i only apply with --new.");
	if (o->vpcd && o->vscard)
		return fail("--vpcd and --vscard each choose where the card goes: give one.");
	if (o->create && (o->vpcd || o->vscard))
		return fail("--vpcd and --vscard apply when serving a card, not with --new.");
	if (o->pin.given && o->pin.fd >= 0)
		return fail("give the PIN with --pin-fd or --pin, not both.");
	if (o->puk.given && o->puk.fd >= 0)
		return fail("give the PUK with --puk-fd or --puk, not both.");
	return DAEMON_GO_ON;
}

/*
 * The factory's last steps on a new image: personalize the wallet for the
 * issuer when asked (through the same client code an issuer uses on a
 * real card, attached in process), then read the serial back the way the
 * card will and report. A failure removes the half-made image.
 */
static int finish_image(const struct options *o, const struct logger *log)
{
	struct vc_storage *st;
	struct vc_card card;
	struct ec_issuer issuer;
	struct ec_error err = { 0 };
	uint8_t serial[8];
	char hex[17];

	if (vc_storage_file_open(o->image, &st) != VC_OK) {
		unlink(o->image);
		return fail("cannot reopen %s: %s.", o->image, strerror(errno));
	}
	vc_card_init(&card, st, log);
	for (size_t i = 0; i < ecard_applet_count; i++)
		vc_card_register(&card, ecard_applets[i]);
	enum vc_status s = vc_card_power_up(&card);
	int rc = 0;
	if (s != VC_OK) {
		rc = fail("the new image does not power up: %s.", vc_status_str(s));
	} else if (o->personalize) {
		if (ec_issuer_load(o->personalize, &issuer, &err) != EC_OK) {
			rc = fail("%s", err.text);
		} else {
			/* Issued as through a reader: the card manager's secure
			 * channel, opened with the new card's test keys, which
			 * issuance then replaces with the card's own. */
			struct ec_pcsc pc;
			struct ec_gp_keys test;
			ec_pcsc_init(&pc, NULL);
			vc_inproc_attach(&pc, &card);
			ec_gp_default_keys(&test, 0);
			if (ec_personalize(&issuer, &pc, NULL, &test, NULL, serial, &err) != EC_OK)
				rc = fail("personalization failed: %s", err.text);
			ec_gp_keys_wipe(&test);
			ec_issuer_wipe(&issuer);
		}
	}
	if (rc == 0) {
		vc_card_serial(&card, serial);
		hex_encode(serial, 8, hex);
		printf("created card image %s (serial %s, %zu bytes%s)\n", o->image, hex, st->size,
		       o->personalize ? ", issued: wallet and profile personalized, its own card manager keys" : "");
	}
	vc_card_free(&card);
	vc_storage_destroy(st);
	if (rc != 0)
		unlink(o->image);
	return rc;
}

/* The secrets in o are the caller's to wipe. */
static int create_image(struct options *o)
{
	struct logger log;
	logger_stderr(&log, "ecard-vcard: ", (enum log_level)o->level);

	/* The PIN first: from one descriptor, its line comes before the PUK's. */
	int rc = take_secret(&o->pin);
	if (rc == 0)
		rc = take_secret(&o->puk);
	if (rc != 0)
		return rc;
	struct vc_card_options copt = { .pin = o->pin.given ? o->pin.text : NULL,
					.puk = o->puk.given ? o->puk.text : NULL,
					.scp03_i = o->scp03_i };
	if (o->serial) {
		if (hex_decode(o->serial, copt.serial, sizeof(copt.serial)) != 8)
			return fail("--serial takes 8 bytes in hex (16 hex digits).");
		copt.serial_set = true;
	}

	struct vc_storage *st;
	enum vc_status s = vc_storage_file_create(o->image, o->size ? o->size : VC_NVM_DEFAULT_SIZE, &st);
	if (s == VC_ERR_EXISTS)
		return fail("%s already exists: remove it or choose another path.", o->image);
	if (s != VC_OK)
		return fail("cannot create %s: %s.", o->image, strerror(errno));
	s = vc_card_create(st, &copt, ecard_applets, ecard_applet_count, &log);
	vc_storage_destroy(st);
	if (s != VC_OK) {
		unlink(o->image);
		return fail("cannot set up the card image: %s.", vc_status_str(s));
	}

	return finish_image(o, &log);
}

static int serve(const struct options *o)
{
	static struct daemon d;	/* large buffers: not on the stack */
	char host[256], port[16];

	logger_stderr(&d.log, "ecard-vcard: ", (enum log_level)o->level);
	d.stop.fd = -1;
	if (o->vscard) {
		if (!vscard_parse_address(o->vscard, &d.vs))
			return fail("--vscard takes HOST:PORT or unix:PATH, e.g. 127.0.0.1:2001.");
		d.use_vscard = true;
	} else if (!net_parse_address(o->vpcd ? o->vpcd : "127.0.0.1:35963", host, sizeof(host),
				      port, sizeof(port))) {
		return fail("--vpcd takes HOST:PORT, e.g. 127.0.0.1:35963.");
	}
	d.outage_ms = o->outage_ms ? o->outage_ms : DEFAULT_OUTAGE_MS;

	char why[600];
	enum vc_status s = vc_storage_tear_open(o->image, &d.st);
	if (s == VC_ERR_NO_MEMORY)
		return fail("out of memory.");
	if (s != VC_OK)
		return fail("%s.", vc_nvm_explain(o->image, s, why, sizeof(why)));
	if (o->tear.tear_at || o->tear.probability > 0)
		vc_tear_arm(d.st, &o->tear);

	vc_card_init(&d.card, d.st, &d.log);
	/* Data + SW1 SW2 in one frame; QEMU's reader takes 256 bytes of
	 * data at most, the rest waits behind 61xx. */
	d.card.max_rsp_data = d.use_vscard ? 256 : VPCD_MAX_FRAME - 2;
	for (size_t i = 0; i < ecard_applet_count; i++)
		vc_card_register(&d.card, ecard_applets[i]);
	d.card.nvm.sync_on_commit = o->sync;
	s = vc_card_power_up(&d.card);
	if (s != VC_OK) {
		vc_card_free(&d.card);
		vc_storage_destroy(d.st);	/* unlocked, for the diagnosis */
		return fail("%s.", vc_nvm_explain(o->image, s, why, sizeof(why)));
	}

	control_init(&d.ctl);
	if (o->control && control_open(&d.ctl, o->control) != 0) {
		vc_card_free(&d.card);
		vc_storage_destroy(d.st);
		return fail("cannot listen on control socket %s: %s.", o->control, strerror(errno));
	}
	if (daemon_stop_open(&d.stop) != 0) {
		control_close(&d.ctl);
		vc_card_free(&d.card);
		vc_storage_destroy(d.st);
		return fail("cannot catch the stop signals: %s.", strerror(errno));
	}
	vpcd_init(&d.link, host, port);
	vc_t0_card_init(&d.t0, t0_process, &d);

	uint8_t serial[8];
	char hex[17];
	vc_card_serial(&d.card, serial);
	hex_encode(serial, 8, hex);
	LOG_I(&d.log, "card %s ready on %s%s", hex, o->image, o->sync ? " (sync at commit)" : "");

	int rc = run(&d);
	disconnect(&d);
	daemon_stop_close(&d.stop);
	control_close(&d.ctl);
	vc_card_free(&d.card);
	vc_storage_destroy(d.st);
	return rc;
}

static int ctl_main(int argc, char **argv)
{
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		printf("Usage: ecard-vcard ctl PATH COMMAND [ARGS]\n"
		       "Send one command to a running ecard-vcard's control socket and print\n"
		       "its answer. Commands: tear N [LEN], tear off, remove, insert, reset, writes,\n"
		       "status. Exit status 0 done, 1 refused, 2 not understood (usage).\n");
		return 0;
	}
	return control_cli("ecard-vcard", argc, argv);
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "ctl") == 0)
		return ctl_main(argc - 1, argv + 1);

	struct options o = { .level = LOG_INFO, .pin = SECRET_PIN, .puk = SECRET_PUK };
	int rc = parse_options(argc, argv, &o);
	if (rc == DAEMON_GO_ON)
		rc = o.create ? create_image(&o) : serve(&o);
	crypto_wipe(o.pin.text, sizeof(o.pin.text));
	crypto_wipe(o.puk.text, sizeof(o.puk.text));
	return rc;
}
