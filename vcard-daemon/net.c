/*
 * net.c - the socket helpers of the card's front-ends (see net.h).
 */
#include "net.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "crypto.h"

bool net_parse_address(const char *spec, char *host, size_t host_len, char *port,
		       size_t port_len)
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
	memcpy(port, p, strlen(p) + 1);
	return true;
}

/* One non-blocking connect, waited for at most timeout_ms, or until
 * cancel_fd is readable. */
static int connect_bounded(int fd, const struct sockaddr *sa, socklen_t len, unsigned timeout_ms,
			   int cancel_fd)
{
	if (connect(fd, sa, len) == 0)
		return 0;
	if (errno != EINPROGRESS)
		return -1;
	struct pollfd p[2] = { { .fd = fd, .events = POLLOUT }, { .fd = cancel_fd, .events = POLLIN } };
	int err = ETIMEDOUT;
	socklen_t elen = sizeof(err);
	int n = poll(p, cancel_fd >= 0 ? 2 : 1, (int)timeout_ms);
	if (n > 0 && p[0].revents && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen))
		err = errno;
	else if (n > 0 && !p[0].revents)
		err = EINTR;	/* cancelled */
	errno = err;
	return err == 0 ? 0 : -1;
}

int net_tcp_connect(const char *host, const char *port, unsigned timeout_ms, int cancel_fd)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *res = NULL;
	int fd = -1, saved = EHOSTUNREACH;

	if (getaddrinfo(host, port, &hints, &res) != 0) {
		errno = EHOSTUNREACH;
		return -1;
	}
	for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
			    ai->ai_protocol);
		if (fd < 0) {
			saved = errno;
			continue;
		}
		if (connect_bounded(fd, ai->ai_addr, ai->ai_addrlen, timeout_ms, cancel_fd) != 0) {
			saved = errno;
			close(fd);
			fd = -1;
			if (saved == EINTR)
				break;
		}
	}
	freeaddrinfo(res);
	if (fd < 0) {
		errno = saved;
		return -1;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	net_quickack(fd);
	return fd;
}

void net_quickack(int fd)
{
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
}

int net_recv_more(int fd, uint8_t *buf, size_t cap, size_t *len)
{
	if (*len >= cap)
		return -1;
	ssize_t n = recv(fd, buf + *len, cap - *len, 0);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0)
		return -1;
	*len += (size_t)n;
	return 1;
}

void net_consume(uint8_t *buf, size_t *len, size_t used)
{
	memmove(buf, buf + used, *len - used);
	*len -= used;
	crypto_wipe(buf + *len, used);
}

int net_send_all(int fd, const void *head, size_t hlen, const void *body, size_t len)
{
	struct iovec iov[2] = { { (void *)head, hlen }, { (void *)body, len } };
	size_t total = hlen + len, sent = 0;

	while (sent < total) {
		ssize_t n = writev(fd, iov, 2);
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
