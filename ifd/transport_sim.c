/*
 * transport_sim.c - the "sim:PATH" transport: the CCID reader simulator at
 * the other end of a UNIX socket instead of a USB cable.
 *
 * The wire is described in sim_proto.h. Two SOCK_SEQPACKET connections
 * stand in for the pipes: the first carries control and bulk transfers,
 * the second only the interrupt pipe, so pcscd's polling thread can wait
 * for card events while its reader thread exchanges APDUs, as it does with
 * a USB reader. A closed socket means the reader was unplugged.
 */
#include "sim_proto.h"
#include "transport.h"
#include "unix_socket.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define SIM_OPEN_TIMEOUT_MS 3000

struct sim_transport {
	struct ifd_transport base;
	int bulk_fd;
	int irq_fd;
	int cancel_fd;		/* eventfd that wakes interrupt() */
	uint8_t *packet;	/* SIM_MAX_PACKET bytes, for bulk-in */
	uint8_t irq_packet[1 + 64];
};

static struct sim_transport *sim_of(struct ifd_transport *t)
{
	return (struct sim_transport *)t;
}

static int send_packet(int fd, uint8_t kind, const uint8_t *payload, size_t len,
		       uint8_t *scratch)
{
	scratch[0] = kind;
	if (len)
		memcpy(scratch + 1, payload, len);
	for (;;) {
		ssize_t n = send(fd, scratch, len + 1, MSG_NOSIGNAL);
		if (n == (ssize_t)(len + 1))
			return 0;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EPIPE || errno == ECONNRESET || errno == ENOTCONN))
			return IFD_TR_GONE;
		return IFD_TR_IO;
	}
}

/* Wait for fd (and cancel_fd when >= 0); 1 readable, or IFD_TR_*. */
static int wait_readable(int fd, int cancel_fd, unsigned timeout_ms)
{
	struct pollfd p[2] = { { .fd = fd, .events = POLLIN }, { .fd = cancel_fd, .events = POLLIN } };
	for (;;) {
		int n = poll(p, cancel_fd >= 0 ? 2 : 1, (int)timeout_ms);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return IFD_TR_IO;
		if (n == 0)
			return IFD_TR_TIMEOUT;
		if (cancel_fd >= 0 && (p[1].revents & POLLIN)) {
			uint64_t v;
			if (read(cancel_fd, &v, sizeof(v)) < 0) {
				/* nothing to do: the flag is cleared either way */
			}
			return IFD_TR_CANCELLED;
		}
		return 1;
	}
}

/* Receive one packet of the expected kind; the payload length or IFD_TR_*. */
static int recv_packet(int fd, int cancel_fd, uint8_t kind, uint8_t *buf, size_t cap,
		       unsigned timeout_ms, const struct logger *log)
{
	for (;;) {
		int w = wait_readable(fd, cancel_fd, timeout_ms);
		if (w < 0)
			return w;
		ssize_t n = recv(fd, buf, cap, MSG_TRUNC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == ECONNRESET ? IFD_TR_GONE : IFD_TR_IO;
		if (n == 0)
			return IFD_TR_GONE;
		if ((size_t)n > cap)
			return IFD_TR_TOO_BIG;
		if (buf[0] != kind) {
			LOG_W(log, "simulator sent a packet of kind %02X while %02X was expected; ignored",
			      buf[0], kind);
			continue;
		}
		return (int)(n - 1);
	}
}

static int sim_send(struct ifd_transport *t, const uint8_t *msg, size_t len)
{
	struct sim_transport *s = sim_of(t);
	if (len > CCID_MAX_MSG)
		return IFD_TR_TOO_BIG;
	return send_packet(s->bulk_fd, SIM_BULK_OUT, msg, len, s->packet);
}

static int sim_receive(struct ifd_transport *t, uint8_t *buf, size_t cap, unsigned timeout_ms)
{
	struct sim_transport *s = sim_of(t);
	int n = recv_packet(s->bulk_fd, -1, SIM_BULK_IN, s->packet, SIM_MAX_PACKET, timeout_ms,
			    t->log);
	if (n < 0)
		return n;
	if ((size_t)n > cap)
		return IFD_TR_TOO_BIG;
	memcpy(buf, s->packet + 1, (size_t)n);
	return n;
}

static int sim_interrupt(struct ifd_transport *t, uint8_t *buf, size_t cap, unsigned timeout_ms)
{
	struct sim_transport *s = sim_of(t);
	int n = recv_packet(s->irq_fd, s->cancel_fd, SIM_INTERRUPT, s->irq_packet,
			    sizeof(s->irq_packet), timeout_ms, t->log);
	if (n < 0)
		return n;
	if ((size_t)n > cap)
		return IFD_TR_TOO_BIG;
	memcpy(buf, s->irq_packet + 1, (size_t)n);
	return n;
}

static void sim_interrupt_cancel(struct ifd_transport *t)
{
	uint64_t one = 1;
	if (write(sim_of(t)->cancel_fd, &one, sizeof(one)) < 0) {
		/* the counter cannot overflow with one writer */
	}
}

static int sim_abort(struct ifd_transport *t, uint8_t slot, uint8_t seq)
{
	struct sim_transport *s = sim_of(t);
	uint8_t req[2] = { slot, seq };
	return send_packet(s->bulk_fd, SIM_ABORT, req, sizeof(req), s->packet);
}

static void sim_close(struct ifd_transport *t)
{
	struct sim_transport *s = sim_of(t);
	if (!s)
		return;
	if (s->bulk_fd >= 0)
		close(s->bulk_fd);
	if (s->irq_fd >= 0)
		close(s->irq_fd);
	if (s->cancel_fd >= 0)
		close(s->cancel_fd);
	free(s->packet);
	free(s);
}

static const struct ifd_transport_ops sim_ops = {
	.send = sim_send,
	.receive = sim_receive,
	.interrupt = sim_interrupt,
	.interrupt_cancel = sim_interrupt_cancel,
	.abort = sim_abort,
	.close = sim_close,
};

int ifd_sim_open(const char *path, const struct logger *log, struct ifd_transport **out)
{
	*out = NULL;
	struct sim_transport *s = calloc(1, sizeof(*s));
	if (!s)
		return IFD_TR_IO;
	s->base.ops = &sim_ops;
	s->base.log = log;
	s->bulk_fd = s->irq_fd = s->cancel_fd = -1;
	s->packet = malloc(SIM_MAX_PACKET);
	if (!s->packet) {
		sim_close(&s->base);
		return IFD_TR_IO;
	}

	s->bulk_fd = unix_socket_connect(path, SOCK_SEQPACKET);
	if (s->bulk_fd < 0) {
		LOG_E(log, "cannot reach the CCID reader simulator at %s: %s", path, strerror(errno));
		sim_close(&s->base);
		return IFD_TR_GONE;
	}
	int rc = send_packet(s->bulk_fd, SIM_INFO_REQUEST, NULL, 0, s->packet);
	int n = rc == 0 ? recv_packet(s->bulk_fd, -1, SIM_INFO, s->packet, SIM_MAX_PACKET,
				      SIM_OPEN_TIMEOUT_MS, log)
			: rc;
	if (n < 0) {
		LOG_E(log, "the simulator at %s did not describe itself: %s", path,
		      ifd_transport_strerror(n));
		sim_close(&s->base);
		return n == IFD_TR_GONE ? IFD_TR_GONE : IFD_TR_IO;
	}
	if (sim_info_decode(s->packet + 1, (size_t)n, &s->base.info) != 0) {
		LOG_E(log, "the simulator at %s sent a malformed device description", path);
		sim_close(&s->base);
		return IFD_TR_IO;
	}

	s->cancel_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->base.info.has_interrupt) {
		s->irq_fd = unix_socket_connect(path, SOCK_SEQPACKET);
		if (s->irq_fd < 0 ||
		    send_packet(s->irq_fd, SIM_SUBSCRIBE, NULL, 0, s->packet) != 0) {
			LOG_E(log, "cannot open the interrupt pipe of the simulator at %s", path);
			sim_close(&s->base);
			return IFD_TR_IO;
		}
	}
	if (s->cancel_fd < 0) {
		sim_close(&s->base);
		return IFD_TR_IO;
	}
	*out = &s->base;
	return 0;
}
