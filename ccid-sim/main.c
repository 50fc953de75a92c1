/*
 * ccidsim_main.c - ecard-ccid-sim, a simulated USB CCID reader holding
 * ecard's virtual cards, for the reader driver's "sim:PATH" transport.
 *
 *   ecard-ccid-sim --socket PATH [--image FILE]... [--control PATH] [options]
 *
 * The reader logic is ccid-sim/ccid_sim.c; this file is its USB cable and
 * its front panel. The cable is a SOCK_SEQPACKET UNIX socket speaking
 * ifd/codec/sim_proto.h: the driver connects once for control and bulk
 * transfers and once for the interrupt pipe, and may come back any number
 * of times (pcscd restarts, the driver reopens). The front panel is the
 * control socket of common/control.h (one text line per command, `ecard-vcard
 * ctl PATH CMD` is a client): cards go in and out, the reader can be
 * unplugged and plugged back, wire faults are armed. One thread, one poll
 * loop, like ecard-vcard.
 *
 * Each card lives on its image file (made by `ecard-vcard --new`) behind
 * the tearing storage wrapper, so a power loss in the middle of a write
 * can be simulated on it exactly as ecard-vcard does.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "applets.h"
#include "ccid_sim.h"
#include "control.h"
#include "cursor.h"
#include "daemon.h"
#include "sim_proto.h"
#include "unix_socket.h"

#define MAX_CONNECTIONS 8
#define SEND_TIMEOUT_MS 2000
#define NOTIFY_MAX 8

#define PROGRAM "ecard-ccid-sim"
/* The error line "ecard-ccid-sim: ..." on standard error; returns 2. */
#define fail(...) daemon_fail(PROGRAM, __VA_ARGS__)

struct connection {
	int fd;
	bool interrupts;	/* subscribed: the interrupt pipe */
};

struct reader {
	struct logger log;
	struct vc_ccid_sim *sim;
	struct control ctl;
	struct daemon_stop stop;
	const char *socket_path;
	int listen_fd;
	bool plugged;
	bool quit;
	struct connection conn[MAX_CONNECTIONS];
	struct vc_ccid_out out;
	uint8_t rx[SIM_MAX_PACKET + 1];
	uint8_t info[512];
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: ecard-ccid-sim --socket PATH [--image FILE]... [--control PATH] [options]\n"
		"\n"
		"A simulated USB CCID smart-card reader holding ecard virtual cards, for the\n"
		"reader driver's sim:PATH transport (pcscd reader.conf: DEVICENAME sim:PATH).\n"
		"\n"
		"Reader:\n"
		"  --socket PATH         the reader's socket (the USB cable)\n"
		"  --image FILE          the card of the next slot, made by\n"
		"                        'ecard-vcard --new --image FILE'; repeat for more slots\n"
		"  --slots N             slots, 1 to 4 (default: one per --image, at least 1);\n"
		"                        slots without an image stay empty\n"
		"  --empty               start with the cards out of their slots\n"
		"  --level LEVEL         exchange level: tpdu (default), short or extended\n"
		"  --max-message N       dwMaxCCIDMessageLength (default 271)\n"
		"  --voltages LIST       voltages supplied, from 5,3,1.8 (default all three)\n"
		"  --time-extensions N   time extensions before each answer of the card, 0-15\n"
		"  --model MODEL         generic (default), or qemu: behave like QEMU's\n"
		"                        usb-ccid reader (08E6:4433, a T=0 card, dwFeatures\n"
		"                        000104FE: it negotiates the protocol by itself, and\n"
		"                        its Parameters answers have dwLength 0 with 7 bytes\n"
		"                        after); the other options change its settings\n"
		"Card (the ATR the reader reports):\n"
		"  --protocol P          t0, t1 (default) or t0t1\n"
		"  --ifsc N              T=1 IFSC, 1 to 254 (default 254)\n"
		"  --edc lrc|crc         T=1 error detection code (default lrc)\n"
		"  --ta1 HEX             TA1 byte (Fi/Di), e.g. 96; a PPS is needed to use it\n"
		"  --max-ifsd N          dwMaxIFSD, 1 to 254 (default 254)\n"
		"  --wtx N               S(WTX) requests before each T=1 answer (slow card)\n"
		"Running:\n"
		"  --control PATH        control socket (commands below)\n"
		"  --seed N              seed of the fault generator (default 1)\n"
		"  --log-level LEVEL     error, warn, info (default) or debug\n"
		"  -v, --verbose         same as --log-level debug (logs every message)\n"
		"  -h, --help            this help\n"
		"  -V, --version         print the version\n"
		"\n"
		"Control commands (ecard-vcard ctl PATH COMMAND):\n"
		"  insert [SLOT]         put the card back in its slot (default slot 0)\n"
		"  remove [SLOT]         take it out\n"
		"  unplug                the reader leaves: driver connections closed, the\n"
		"                        socket removed (the control socket stays)\n"
		"  replug                the reader comes back on the same socket\n"
		"  fault KIND N          arm a fault for the N-th answer from now (N 0 disarms):\n"
		"                        flip (one bit of a T=1 block), drop (no answer: the\n"
		"                        driver times out and the reader waits for its next\n"
		"                        command), seq (wrong bSeq), garbage (random bytes) or\n"
		"                        truncate\n"
		"  status                one line of state and counters\n"
		"  quit                  stop the simulator\n");
}

static const struct daemon_program program = { PROGRAM, PACKAGE_VERSION, usage };

/* ---- the cable: the listening socket and the driver's connections ---- */

static int listen_socket(struct reader *r)
{
	int fd = unix_socket_listen(r->socket_path, SOCK_SEQPACKET, MAX_CONNECTIONS);
	if (fd < 0)
		return -1;
	r->listen_fd = fd;
	r->plugged = true;
	return 0;
}

static void close_connection(struct reader *r, struct connection *c, const char *why)
{
	if (c->fd < 0)
		return;
	LOG_I(&r->log, "driver connection %d closed (%s)", c->fd, why);
	close(c->fd);
	c->fd = -1;
	c->interrupts = false;
}

static void unplug(struct reader *r)
{
	for (int i = 0; i < MAX_CONNECTIONS; i++)
		close_connection(r, &r->conn[i], "reader unplugged");
	if (r->listen_fd >= 0) {
		close(r->listen_fd);
		unlink(r->socket_path);
	}
	r->listen_fd = -1;
	r->plugged = false;
	vc_ccid_sim_unplug(r->sim);
}

static void accept_connection(struct reader *r)
{
	int fd = accept4(r->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	for (int i = 0; i < MAX_CONNECTIONS; i++) {
		if (r->conn[i].fd < 0) {
			/* Blocking sends, bounded: a driver that stops reading
			 * costs one timeout, never the whole simulator. */
			struct timeval tv = { .tv_sec = SEND_TIMEOUT_MS / 1000,
					      .tv_usec = (SEND_TIMEOUT_MS % 1000) * 1000 };
			setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
			r->conn[i].fd = fd;
			r->conn[i].interrupts = false;
			LOG_I(&r->log, "driver connected (connection %d)", fd);
			return;
		}
	}
	LOG_W(&r->log, "more than %d driver connections: the new one is refused", MAX_CONNECTIONS);
	close(fd);
}

/* One packet: the kind byte, then the payload. */
static int send_packet(struct reader *r, struct connection *c, uint8_t kind, const uint8_t *data,
		       size_t len)
{
	struct iovec iov[2] = {
		{ .iov_base = &kind, .iov_len = 1 },
		{ .iov_base = (void *)data, .iov_len = len },
	};
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
	if (sendmsg(c->fd, &mh, MSG_NOSIGNAL) == (ssize_t)(len + 1))
		return 0;
	if (errno == EAGAIN || errno == EWOULDBLOCK) {
		LOG_W(&r->log, "the driver does not read connection %d: a %zu-byte packet is lost",
		      c->fd, len + 1);
		return 0;
	}
	close_connection(r, c, strerror(errno));
	return -1;
}

static void send_answers(struct reader *r, struct connection *c)
{
	for (unsigned i = 0; i < r->out.count && c->fd >= 0; i++)
		send_packet(r, c, SIM_BULK_IN, vc_ccid_out_msg(&r->out, i), r->out.len[i]);
}

static void broadcast_interrupt(struct reader *r, const uint8_t *msg, size_t len)
{
	for (int i = 0; i < MAX_CONNECTIONS; i++)
		if (r->conn[i].fd >= 0 && r->conn[i].interrupts)
			send_packet(r, &r->conn[i], SIM_INTERRUPT, msg, len);
}

static void serve_packet(struct reader *r, struct connection *c, const uint8_t *pkt, size_t len)
{
	struct cursor cur;
	uint8_t kind, slot, seq;

	cursor_init(&cur, pkt, len);
	if (!cursor_u8(&cur, &kind)) {
		LOG_W(&r->log, "empty packet from the driver: ignored");
		return;
	}
	const uint8_t *payload = pkt + 1;
	size_t plen = cursor_remaining(&cur);

	switch (kind) {
	case SIM_INFO_REQUEST: {
		size_t n = vc_ccid_sim_info(r->sim, r->info, sizeof(r->info));
		if (n == 0) {
			LOG_E(&r->log, "internal: the device description does not encode");
			return;
		}
		send_packet(r, c, SIM_INFO, r->info, n);
		break;
	}
	case SIM_BULK_OUT:
		vc_ccid_sim_handle(r->sim, payload, plen, &r->out);
		send_answers(r, c);
		break;
	case SIM_ABORT:
		if (!cursor_u8(&cur, &slot) || !cursor_u8(&cur, &seq) || !cursor_done(&cur)) {
			LOG_W(&r->log, "SIM_ABORT with %zu bytes of payload instead of 2: ignored",
			      plen);
			return;
		}
		vc_ccid_sim_abort_request(r->sim, slot, seq, &r->out);
		send_answers(r, c);
		break;
	case SIM_SUBSCRIBE: {
		uint8_t msg[NOTIFY_MAX];
		c->interrupts = true;
		LOG_I(&r->log, "connection %d is the interrupt pipe", c->fd);
		size_t n = vc_ccid_sim_notify(r->sim, msg, sizeof(msg));
		if (n)
			send_packet(r, c, SIM_INTERRUPT, msg, n);
		break;
	}
	default:
		LOG_W(&r->log, "packet of unknown kind %02X (%zu bytes) from the driver: ignored",
		      kind, len);
		break;
	}
}

static void serve_connection(struct reader *r, struct connection *c)
{
	struct iovec iov = { .iov_base = r->rx, .iov_len = sizeof(r->rx) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n = recvmsg(c->fd, &mh, MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n <= 0) {
		close_connection(r, c, n == 0 ? "the driver hung up" : strerror(errno));
		return;
	}
	if ((mh.msg_flags & MSG_TRUNC) || (size_t)n > SIM_MAX_PACKET) {
		LOG_W(&r->log, "packet larger than %u bytes from the driver: ignored",
		      (unsigned)SIM_MAX_PACKET);
		return;
	}
	serve_packet(r, c, r->rx, (size_t)n);
}

/* ---- the front panel: control commands ---- */

static bool parse_slot(const char *arg, unsigned *slot)
{
	uint64_t v;
	if (!arg)
		return true;	/* default slot 0 */
	if (!daemon_parse_number(arg, 10, 0, VC_CCID_MAX_SLOTS - 1, &v))
		return false;
	*slot = (unsigned)v;
	return true;
}

static void presence(struct reader *r, bool insert, const char *arg, char *reply, size_t reply_len)
{
	unsigned slot = 0;
	uint8_t msg[NOTIFY_MAX];
	size_t n = 0;

	if (!parse_slot(arg, &slot)) {
		snprintf(reply, reply_len, "error usage: %s [SLOT] with SLOT 0 to %u",
			 insert ? "insert" : "remove", r->sim->cfg.slots - 1);
		return;
	}
	enum vc_status st = insert ? vc_ccid_sim_insert(r->sim, slot, msg, sizeof(msg), &n)
				   : vc_ccid_sim_remove(r->sim, slot, msg, sizeof(msg), &n);
	if (st == VC_ERR_NOT_FOUND) {
		snprintf(reply, reply_len, "error slot %u has no card image (give it one with --image)",
			 slot);
		return;
	}
	if (st != VC_OK) {
		snprintf(reply, reply_len, "error slot %u does not exist: the reader has %u slot%s",
			 slot, r->sim->cfg.slots, r->sim->cfg.slots == 1 ? "" : "s");
		return;
	}
	if (n)
		broadcast_interrupt(r, msg, n);
	snprintf(reply, reply_len, "ok %s slot %u%s", insert ? "inserted" : "removed", slot,
		 n ? "" : " (no change)");
}

static const char *level_name(enum ccid_level level)
{
	switch (level) {
	case CCID_LEVEL_TPDU: return "tpdu";
	case CCID_LEVEL_SHORT_APDU: return "short";
	case CCID_LEVEL_EXTENDED_APDU: return "extended";
	default: return "character";
	}
}

static const char *protocol_name(unsigned protocols)
{
	switch (protocols) {
	case IFD_PROTOCOL_T0: return "t0";
	case IFD_PROTOCOL_T1: return "t1";
	default: return "t0t1";
	}
}

static void status_line(struct reader *r, char *reply, size_t reply_len)
{
	const struct vc_ccid_sim *s = r->sim;
	const struct vc_ccid_stats *st = &s->stats;
	int drivers = 0;
	size_t n;

	for (int i = 0; i < MAX_CONNECTIONS; i++)
		drivers += r->conn[i].fd >= 0;
	n = (size_t)snprintf(reply, reply_len, "ok level=%s protocol=%s slots=%u",
			     level_name(s->cfg.level), protocol_name(s->cfg.protocols), s->cfg.slots);
	for (unsigned i = 0; i < s->cfg.slots && n < reply_len; i++) {
		const struct vc_ccid_slot *sl = &s->slot[i];
		const char *state = !sl->has_card ? "empty" : !sl->present ? "removed"
							: sl->powered ? "powered" : "present";
		n += (size_t)snprintf(reply + n, reply_len - n, " slot%u=%s", i, state);
	}
	if (n < reply_len)
		n += (size_t)snprintf(reply + n, reply_len - n,
			 " plugged=%d drivers=%d messages=%lu time_extensions=%lu faults=%lu apdus=%lu",
			 r->plugged, drivers, st->messages, st->time_extensions, st->faults,
			 st->apdus);
	/* The faults still armed, and in how many answers: "armed=drop:3,seq:1". */
	const char *sep = " armed=";
	for (int k = 0; k < VC_CCID_FAULT_KINDS && n < reply_len; k++) {
		if (!s->fault_countdown[k])
			continue;
		n += (size_t)snprintf(reply + n, reply_len - n, "%s%s:%u", sep,
				      vc_ccid_fault_name((enum vc_ccid_fault)k), s->fault_countdown[k]);
		sep = ",";
	}
	if (*sep == ' ' && n < reply_len)
		snprintf(reply + n, reply_len - n, " armed=none");
}

static void on_control(void *arg, const char *line, char *reply, size_t reply_len)
{
	struct reader *r = arg;
	char cmd[32] = "", a1[32] = "", a2[32] = "";
	int fields = sscanf(line, "%31s %31s %31s", cmd, a1, a2);

	if (fields >= 1 && fields <= 2 && strcmp(cmd, "insert") == 0) {
		presence(r, true, fields == 2 ? a1 : NULL, reply, reply_len);
	} else if (fields >= 1 && fields <= 2 && strcmp(cmd, "remove") == 0) {
		presence(r, false, fields == 2 ? a1 : NULL, reply, reply_len);
	} else if (fields == 1 && strcmp(cmd, "unplug") == 0) {
		if (r->plugged) {
			unplug(r);
			LOG_I(&r->log, "reader unplugged: %s removed", r->socket_path);
		}
		snprintf(reply, reply_len, "ok unplugged");
	} else if (fields == 1 && strcmp(cmd, "replug") == 0) {
		if (!r->plugged && listen_socket(r) != 0) {
			snprintf(reply, reply_len, "error cannot listen on %s: %s", r->socket_path,
				 strerror(errno));
			return;
		}
		LOG_I(&r->log, "reader plugged in on %s", r->socket_path);
		snprintf(reply, reply_len, "ok plugged");
	} else if (fields >= 1 && strcmp(cmd, "fault") == 0) {
		int kind = fields == 3 ? vc_ccid_fault_parse(a1) : -1;
		uint64_t n;
		if (kind < 0 || !daemon_parse_number(a2, 10, 0, 1000000, &n)) {
			snprintf(reply, reply_len,
				 "error usage: fault flip|drop|seq|garbage|truncate N (0 disarms)");
			return;
		}
		vc_ccid_sim_arm_fault(r->sim, (enum vc_ccid_fault)kind, (unsigned)n);
		if (n == 0)
			snprintf(reply, reply_len, "ok fault %s disarmed", a1);
		else
			snprintf(reply, reply_len, "ok fault %s armed for answer %lu from now", a1,
				 (unsigned long)n);
	} else if (fields == 1 && strcmp(cmd, "status") == 0) {
		status_line(r, reply, reply_len);
	} else if (fields == 1 && strcmp(cmd, "quit") == 0) {
		r->quit = true;
		snprintf(reply, reply_len, "ok quitting");
	} else {
		snprintf(reply, reply_len, "error usage: unknown command (insert [SLOT], remove [SLOT], "
					   "unplug, replug, fault KIND N, status, quit)");
	}
}

/* ---- the loop ---- */

static int run(struct reader *r)
{
	while (!r->stop.signal && !r->quit) {
		/* The listening socket, the connections, the control sockets,
		 * and room for the stop signals. */
		struct pollfd fds[1 + MAX_CONNECTIONS + 1 + CONTROL_MAX_CLIENTS + 1];
		int conn_at[MAX_CONNECTIONS];
		int n = 0, listen_at = -1;

		if (r->listen_fd >= 0) {
			listen_at = n;
			fds[n++] = (struct pollfd){ .fd = r->listen_fd, .events = POLLIN };
		}
		for (int i = 0; i < MAX_CONNECTIONS; i++) {
			conn_at[i] = -1;
			if (r->conn[i].fd >= 0) {
				conn_at[i] = n;
				fds[n++] = (struct pollfd){ .fd = r->conn[i].fd, .events = POLLIN };
			}
		}
		int ctl_at = n;
		int room = (int)(sizeof(fds) / sizeof(fds[0])) - 1;
		n += control_fill_pollfds(&r->ctl, fds + n, room - n);

		int rc = daemon_poll(&r->stop, fds, n, -1);
		if (rc < 0)
			return fail("poll failed: %s", strerror(errno));
		if (rc == 0)
			continue;
		for (int i = 0; i < MAX_CONNECTIONS; i++) {
			int at = conn_at[i];
			if (at >= 0 && fds[at].revents && r->conn[i].fd == fds[at].fd)
				serve_connection(r, &r->conn[i]);
		}
		if (listen_at >= 0 && fds[listen_at].revents && r->listen_fd == fds[listen_at].fd)
			accept_connection(r);
		control_service(&r->ctl, fds + ctl_at, n - ctl_at, on_control, r);
	}
	if (r->stop.signal)
		LOG_I(&r->log, "%s: shutting down", strsignal(r->stop.signal));
	return 0;
}

/* ---- command line ---- */

struct options {
	const char *socket;
	const char *control;
	const char *images[VC_CCID_MAX_SLOTS];
	unsigned n_images;
	bool slots_given;
	bool empty;
	int level;
	struct vc_ccid_config cfg;
};

static bool parse_voltages(const char *arg, uint8_t *bits)
{
	char list[64];
	char *save = NULL;

	if (strlen(arg) >= sizeof(list))
		return false;
	strcpy(list, arg);
	*bits = 0;
	for (char *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (strcmp(tok, "5") == 0)
			*bits |= CCID_VOLTAGE_5V;
		else if (strcmp(tok, "3") == 0)
			*bits |= CCID_VOLTAGE_3V;
		else if (strcmp(tok, "1.8") == 0)
			*bits |= CCID_VOLTAGE_1_8V;
		else
			return false;
	}
	return *bits != 0;
}

/* DAEMON_GO_ON, or the code to exit with. */
static int parse_options(int argc, char **argv, struct options *o)
{
	enum { OPT_SOCKET = DAEMON_OPT_OWN, OPT_CONTROL, OPT_IMAGE, OPT_SLOTS, OPT_LEVEL,
	       OPT_PROTOCOL, OPT_IFSC, OPT_EDC, OPT_TA1, OPT_MAX_MESSAGE, OPT_MAX_IFSD,
	       OPT_VOLTAGES, OPT_TIME_EXT, OPT_WTX, OPT_EMPTY, OPT_SEED, OPT_MODEL };
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ "control", required_argument, NULL, OPT_CONTROL },
		{ "image", required_argument, NULL, OPT_IMAGE },
		{ "slots", required_argument, NULL, OPT_SLOTS },
		{ "level", required_argument, NULL, OPT_LEVEL },
		{ "protocol", required_argument, NULL, OPT_PROTOCOL },
		{ "ifsc", required_argument, NULL, OPT_IFSC },
		{ "edc", required_argument, NULL, OPT_EDC },
		{ "ta1", required_argument, NULL, OPT_TA1 },
		{ "max-message", required_argument, NULL, OPT_MAX_MESSAGE },
		{ "max-ifsd", required_argument, NULL, OPT_MAX_IFSD },
		{ "voltages", required_argument, NULL, OPT_VOLTAGES },
		{ "time-extensions", required_argument, NULL, OPT_TIME_EXT },
		{ "wtx", required_argument, NULL, OPT_WTX },
		{ "empty", no_argument, NULL, OPT_EMPTY },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "model", required_argument, NULL, OPT_MODEL },
		DAEMON_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	struct vc_ccid_config *cfg = &o->cfg;
	uint64_t v;
	int c;

	/* The model sets the defaults that the other options then change,
	 * wherever it stands on the command line. */
	for (int i = 1; i < argc; i++) {
		const char *m = NULL;
		if (strcmp(argv[i], "--model") == 0 && i + 1 < argc)
			m = argv[i + 1];
		else if (strncmp(argv[i], "--model=", 8) == 0)
			m = argv[i] + 8;
		if (m && strcmp(m, "qemu") == 0)
			vc_ccid_config_qemu(cfg);
	}

	while ((c = daemon_getopt(&program, argc, argv, longopts, &o->level)) >= DAEMON_OPT_OWN) {
		switch (c) {
		case OPT_SOCKET: o->socket = optarg; break;
		case OPT_CONTROL: o->control = optarg; break;
		case OPT_IMAGE:
			if (o->n_images == VC_CCID_MAX_SLOTS)
				return fail("at most %d --image options: the reader has 4 slots at most.",
					    VC_CCID_MAX_SLOTS);
			o->images[o->n_images++] = optarg;
			break;
		case OPT_SLOTS:
			if (!daemon_parse_number(optarg, 0, 1, VC_CCID_MAX_SLOTS, &v))
				return fail("--slots takes 1 to %d.", VC_CCID_MAX_SLOTS);
			cfg->slots = (unsigned)v;
			o->slots_given = true;
			break;
		case OPT_MODEL:
			if (strcmp(optarg, "qemu") != 0 && strcmp(optarg, "generic") != 0)
				return fail("--model takes generic or qemu.");
			break;
		case OPT_LEVEL:
			if (strcmp(optarg, "tpdu") == 0)
				cfg->level = CCID_LEVEL_TPDU;
			else if (strcmp(optarg, "short") == 0)
				cfg->level = CCID_LEVEL_SHORT_APDU;
			else if (strcmp(optarg, "extended") == 0)
				cfg->level = CCID_LEVEL_EXTENDED_APDU;
			else
				return fail("--level takes tpdu, short or extended.");
			break;
		case OPT_PROTOCOL:
			if (strcmp(optarg, "t0") == 0)
				cfg->protocols = IFD_PROTOCOL_T0;
			else if (strcmp(optarg, "t1") == 0)
				cfg->protocols = IFD_PROTOCOL_T1;
			else if (strcmp(optarg, "t0t1") == 0)
				cfg->protocols = IFD_PROTOCOL_T0 | IFD_PROTOCOL_T1;
			else
				return fail("--protocol takes t0, t1 or t0t1.");
			break;
		case OPT_IFSC:
			if (!daemon_parse_number(optarg, 0, 1, 254, &v))
				return fail("--ifsc takes 1 to 254.");
			cfg->ifsc = (uint8_t)v;
			break;
		case OPT_EDC:
			if (strcmp(optarg, "lrc") == 0)
				cfg->edc = IFD_T1_EDC_LRC;
			else if (strcmp(optarg, "crc") == 0)
				cfg->edc = IFD_T1_EDC_CRC;
			else
				return fail("--edc takes lrc or crc.");
			break;
		case OPT_TA1:
			if (!daemon_parse_number(optarg, 16, 1, 0xFF, &v))
				return fail("--ta1 takes one byte in hex, e.g. 96.");
			cfg->ta1 = (uint8_t)v;
			break;
		case OPT_MAX_MESSAGE:
			if (!daemon_parse_number(optarg, 0, VC_CCID_MIN_MESSAGE_EXTENDED, CCID_MAX_MSG,
						 &v))
				return fail("--max-message takes %u to %u.", VC_CCID_MIN_MESSAGE_EXTENDED,
					    (unsigned)CCID_MAX_MSG);
			cfg->max_message_length = (uint32_t)v;
			break;
		case OPT_MAX_IFSD:
			if (!daemon_parse_number(optarg, 0, 1, 254, &v))
				return fail("--max-ifsd takes 1 to 254.");
			cfg->max_ifsd = (uint32_t)v;
			break;
		case OPT_VOLTAGES:
			if (!parse_voltages(optarg, &cfg->voltage_support))
				return fail("--voltages takes a list from 5, 3 and 1.8, e.g. 5,3.");
			break;
		case OPT_TIME_EXT:
			if (!daemon_parse_number(optarg, 0, 0, VC_CCID_MAX_TIME_EXTENSIONS, &v))
				return fail("--time-extensions takes 0 to %d.", VC_CCID_MAX_TIME_EXTENSIONS);
			cfg->time_extensions = (unsigned)v;
			break;
		case OPT_WTX:
			if (!daemon_parse_number(optarg, 0, 0, 100, &v))
				return fail("--wtx takes 0 to 100.");
			cfg->wtx = (unsigned)v;
			break;
		case OPT_EMPTY: o->empty = true; break;
		case OPT_SEED:
			if (!daemon_parse_number(optarg, 0, 0, UINT64_MAX, &cfg->seed))
				return fail("--seed takes a number.");
			break;
		}
	}
	if (c != DAEMON_GO_ON)
		return c;
	if (!o->socket)
		return fail("--socket PATH is required; try 'ecard-ccid-sim --help'.");
	if (!o->slots_given)
		cfg->slots = o->n_images ? o->n_images : 1;
	if (o->n_images > cfg->slots)
		return fail("%u images for %u slot%s: give --slots %u or fewer --image options.",
			    o->n_images, cfg->slots, cfg->slots == 1 ? "" : "s", o->n_images);
	if (cfg->level != CCID_LEVEL_EXTENDED_APDU && cfg->max_message_length < VC_CCID_MIN_MESSAGE)
		return fail("--max-message below %u only works with --level extended.",
			    VC_CCID_MIN_MESSAGE);
	return DAEMON_GO_ON;
}

/* Open an image behind the tearing wrapper (as ecard-vcard does, so a
 * later tear can cut the power at any write) and check it powers up. */
static int load_card(struct reader *r, unsigned slot, const char *image)
{
	struct vc_storage *st;
	char why[600];
	/* What is wrong with the file, said once and exactly, first. */
	if (*vc_nvm_diagnose_file(image, why, sizeof(why)))
		return fail("%s.", why);
	enum vc_status s = vc_storage_tear_open(image, &st);
	if (s == VC_ERR_NO_MEMORY)
		return fail("out of memory.");
	if (s != VC_OK)
		return fail("%s.", vc_nvm_explain(image, s, why, sizeof(why)));
	s = vc_ccid_sim_attach(r->sim, slot, st, ecard_applets, ecard_applet_count);
	if (s != VC_OK) {
		vc_storage_destroy(st);
		return fail("cannot put %s in slot %u: %s.", image, slot, vc_status_str(s));
	}
	struct vc_card *card = &r->sim->slot[slot].card;
	s = vc_card_power_up(card);
	vc_card_power_down(card);
	if (s != VC_OK)
		return fail("%s is not a usable card image: %s.", image, vc_status_str(s));
	LOG_I(&r->log, "slot %u: card %s", slot, image);
	return 0;
}

static int serve(const struct options *o)
{
	static struct reader r;		/* large buffers: not on the stack */
	int rc = 0;

	logger_stderr(&r.log, "ecard-ccid-sim: ", (enum log_level)o->level);
	r.listen_fd = -1;
	r.stop.fd = -1;
	r.socket_path = o->socket;
	for (int i = 0; i < MAX_CONNECTIONS; i++)
		r.conn[i].fd = -1;
	control_init(&r.ctl);

	r.sim = calloc(1, sizeof(*r.sim));
	if (!r.sim)
		return fail("out of memory.");
	if (vc_ccid_sim_init(r.sim, &o->cfg, &r.log) != VC_OK) {
		free(r.sim);
		return fail("the reader configuration is not usable (see the message above).");
	}
	for (unsigned i = 0; i < o->n_images && rc == 0; i++)
		rc = load_card(&r, i, o->images[i]);
	if (rc == 0 && o->empty) {
		for (unsigned i = 0; i < o->n_images; i++) {
			uint8_t msg[NOTIFY_MAX];
			size_t n;
			vc_ccid_sim_remove(r.sim, i, msg, sizeof(msg), &n);
		}
	}
	if (rc == 0 && o->control && control_open(&r.ctl, o->control) != 0)
		rc = fail("cannot listen on control socket %s: %s.", o->control, strerror(errno));
	if (rc == 0 && listen_socket(&r) != 0)
		rc = fail("cannot listen on %s: %s.", o->socket, strerror(errno));
	if (rc == 0 && daemon_stop_open(&r.stop) != 0)
		rc = fail("cannot catch the stop signals: %s.", strerror(errno));

	if (rc == 0) {
		LOG_I(&r.log, "reader ready on %s: %s level, %u slot%s, %u card%s%s", o->socket,
		      level_name(o->cfg.level), o->cfg.slots, o->cfg.slots == 1 ? "" : "s",
		      o->n_images, o->n_images == 1 ? "" : "s", o->empty ? " (out of their slots)" : "");
		rc = run(&r);
	}
	if (r.plugged)
		unplug(&r);
	daemon_stop_close(&r.stop);
	control_close(&r.ctl);
	vc_ccid_sim_free(r.sim);
	free(r.sim);
	return rc;
}

int main(int argc, char **argv)
{
	struct options o = { .level = LOG_INFO };
	vc_ccid_config_default(&o.cfg);
	int rc = parse_options(argc, argv, &o);
	if (rc != DAEMON_GO_ON)
		return rc;
	return serve(&o);
}
