/*
 * vpcd.c - TCP link to vpcd: connection, framing, latency settings.
 *
 * Latency matters more than anything here: Debian 12's vpcd writes the
 * length and the body of a frame in two send() calls, so a receiver that
 * lets the kernel delay its ACK makes every APDU wait ~40 ms. We set
 * TCP_NODELAY once and re-arm TCP_QUICKACK (which the kernel clears by
 * itself) before every receive, and we answer each frame with one write.
 */
#include "vpcd.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cursor.h"
#include "net.h"

void vpcd_init(struct vpcd_link *l, const char *host, const char *port)
{
	memset(l, 0, sizeof(*l));
	snprintf(l->host, sizeof(l->host), "%s", host);
	snprintf(l->port, sizeof(l->port), "%s", port);
	l->fd = -1;
}

int vpcd_connect(struct vpcd_link *l, int cancel_fd)
{
	int fd = net_tcp_connect(l->host, l->port, VPCD_CONNECT_TIMEOUT_MS, cancel_fd);
	if (fd < 0)
		return -1;
	l->fd = fd;
	l->in_len = 0;
	return 0;
}

void vpcd_disconnect(struct vpcd_link *l)
{
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
	l->in_len = 0;
}

int vpcd_receive(struct vpcd_link *l,
		 int (*on_frame)(void *arg, const uint8_t *frame, size_t len), void *arg)
{
	net_quickack(l->fd);
	int got = net_recv_more(l->fd, l->in, sizeof(l->in), &l->in_len);
	if (got <= 0)
		return got;

	/* Hand over every complete frame; keep a partial one for later. */
	struct cursor c;
	cursor_init(&c, l->in, l->in_len);
	for (;;) {
		size_t start = c.pos;
		uint16_t flen;
		const uint8_t *frame;
		if (!cursor_u16(&c, &flen) || !cursor_bytes(&c, flen, &frame)) {
			c.pos = start;
			break;
		}
		if (on_frame(arg, frame, flen) != 0)
			return -1;
		if (l->fd < 0)
			return -1;	/* the handler dropped the link (tear) */
	}
	net_consume(l->in, &l->in_len, c.pos);
	net_quickack(l->fd);
	return 0;
}

int vpcd_send(struct vpcd_link *l, const uint8_t *data, size_t len)
{
	uint8_t head[2];
	if (len > VPCD_MAX_FRAME || l->fd < 0)
		return -1;
	store_be16(head, (uint16_t)len);
	return net_send_all(l->fd, head, sizeof(head), data, len);
}
