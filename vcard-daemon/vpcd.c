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

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "crypto.h"
#include "cursor.h"

bool vpcd_parse_address(const char *spec, char *host, size_t host_len,
			char *port, size_t port_len)
{
	const char *colon = strrchr(spec, ':');
	const char *h = "127.0.0.1";
	size_t hlen = strlen(h);
	const char *p = spec;

	if (colon) {
		h = spec;
		hlen = (size_t)(colon - spec);
		p = colon + 1;
		if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
			h++;
			hlen -= 2;
		}
	}
	if (hlen == 0 || hlen >= host_len || *p == '\0' || strlen(p) >= port_len)
		return false;
	for (const char *q = p; *q; q++)
		if (*q < '0' || *q > '9')
			return false;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	strcpy(port, p);
	return true;
}

void vpcd_init(struct vpcd_link *l, const char *host, const char *port)
{
	memset(l, 0, sizeof(*l));
	snprintf(l->host, sizeof(l->host), "%s", host);
	snprintf(l->port, sizeof(l->port), "%s", port);
	l->fd = -1;
}

static void set_quickack(int fd)
{
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
}

int vpcd_connect(struct vpcd_link *l)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *res = NULL;

	int rc = getaddrinfo(l->host, l->port, &hints, &res);
	if (rc != 0) {
		errno = EHOSTUNREACH;
		return -1;
	}
	int fd = -1;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		int saved = errno;
		close(fd);
		fd = -1;
		errno = saved;
	}
	freeaddrinfo(res);
	if (fd < 0)
		return -1;

	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	set_quickack(fd);
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
	set_quickack(l->fd);
	ssize_t n = recv(l->fd, l->in + l->in_len, sizeof(l->in) - l->in_len, 0);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0)
		return -1;
	l->in_len += (size_t)n;

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
	memmove(l->in, l->in + c.pos, l->in_len - c.pos);
	l->in_len -= c.pos;
	/* Frames carry PIN blocks: wipe what was consumed. */
	crypto_wipe(l->in + l->in_len, c.pos);
	set_quickack(l->fd);
	return 0;
}

int vpcd_send(struct vpcd_link *l, const uint8_t *data, size_t len)
{
	uint8_t head[2];
	if (len > VPCD_MAX_FRAME || l->fd < 0)
		return -1;
	store_be16(head, (uint16_t)len);
	struct iovec iov[2] = { { head, 2 }, { (void *)data, len } };
	size_t total = 2 + len;
	size_t sent = 0;
	while (sent < total) {
		/* One writev for the whole frame; loop only on a short write. */
		ssize_t n = writev(l->fd, iov, 2);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		sent += (size_t)n;
		for (int i = 0; i < 2; i++) {
			size_t take = (size_t)n < iov[i].iov_len ? (size_t)n : iov[i].iov_len;
			iov[i].iov_base = (uint8_t *)iov[i].iov_base + take;
			iov[i].iov_len -= take;
			n -= (ssize_t)take;
		}
	}
	return 0;
}
