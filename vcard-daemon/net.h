/*
 * net.h - what the card's socket front-ends share: "HOST:PORT" addresses,
 * a TCP connection that gives up in bounded time, TCP_QUICKACK, and
 * sending a header and a body in one write.
 */
#ifndef VCARD_NET_H
#define VCARD_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Parse "HOST:PORT" (or "[v6]:PORT", or just "PORT" on 127.0.0.1). */
bool net_parse_address(const char *spec, char *host, size_t host_len, char *port,
		       size_t port_len);

/*
 * Connect over TCP, giving up after timeout_ms (the kernel's own connect
 * timeout is minutes), or as soon as cancel_fd (-1: none; a daemon's stop
 * signals) becomes readable, with errno EINTR. The socket is blocking,
 * close-on-exec, with TCP_NODELAY. The descriptor, or -1 with errno set.
 */
int net_tcp_connect(const char *host, const char *port, unsigned timeout_ms, int cancel_fd);

/* Ask the kernel to acknowledge at once (it clears this by itself, so it
 * is set again before each receive). Harmless on other sockets. */
void net_quickack(int fd);

/* Receive what fd has into buf (cap bytes) after the *len bytes already
 * there: 1 when bytes came, 0 when interrupted (nothing yet), -1 when
 * the peer closed or the socket failed (or buf is full). */
int net_recv_more(int fd, uint8_t *buf, size_t cap, size_t *len);

/* The first used bytes of buf (*len bytes) were handled: move the rest
 * to the front and wipe what was consumed (frames carry PIN blocks). */
void net_consume(uint8_t *buf, size_t *len, size_t used);

/* head (hlen bytes) then body (len bytes), in one writev unless the
 * kernel takes less. 0, or -1 when the socket failed. */
int net_send_all(int fd, const void *head, size_t hlen, const void *body, size_t len);

#endif
