/*
 * vscard.c - VSCard messages and the socket to QEMU's ccid-card-passthru.
 */
#include "vscard.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "crypto.h"
#include "cursor.h"
#include "net.h"
#include "unix_socket.h"

const char *vscard_type_name(uint32_t type)
{
	static const char *const names[] = {
		[VSC_INIT] = "Init",
		[VSC_ERROR] = "Error",
		[VSC_READER_ADD] = "ReaderAdd",
		[VSC_READER_REMOVE] = "ReaderRemove",
		[VSC_ATR] = "ATR",
		[VSC_CARD_REMOVE] = "CardRemove",
		[VSC_APDU] = "APDU",
		[VSC_FLUSH] = "Flush",
		[VSC_FLUSH_COMPLETE] = "FlushComplete",
	};
	if (type >= 1 && type < sizeof(names) / sizeof(names[0]))
		return names[type];
	return "unknown";
}

long vscard_decode(const uint8_t *buf, size_t len, struct vscard_msg *m)
{
	struct cursor c;
	struct vscard_msg tmp;

	cursor_init(&c, buf, len);
	if (!cursor_u32(&c, &tmp.type) || !cursor_u32(&c, &tmp.reader) ||
	    !cursor_u32(&c, &tmp.len))
		return 0;
	if (tmp.len > VSCARD_MAX_PAYLOAD)
		return -1;
	if (!cursor_bytes(&c, tmp.len, &tmp.data))
		return 0;
	*m = tmp;
	return (long)c.pos;
}

size_t vscard_encode(uint32_t type, uint32_t reader, const uint8_t *data, size_t len,
		     uint8_t *out, size_t cap)
{
	struct writer w;

	if (len > VSCARD_MAX_PAYLOAD || (len && !data))
		return 0;
	writer_init(&w, out, cap);
	writer_u32(&w, type);
	writer_u32(&w, reader);
	writer_u32(&w, (uint32_t)len);
	writer_bytes(&w, data, len);
	return writer_ok(&w) ? w.len : 0;
}

size_t vscard_init_payload(uint8_t out[12])
{
	memcpy(out, VSCARD_MAGIC, 4);
	store_be32(out + 4, VSCARD_VERSION);
	store_be32(out + 8, 0);	/* capabilities: none */
	return 12;
}

/* ---- the socket ---- */

bool vscard_parse_address(const char *spec, struct vscard_link *l)
{
	vscard_init(l);
	if (strncmp(spec, "unix:", 5) == 0) {
		const char *path = spec + 5;
		if (*path == '\0' || strlen(path) >= sizeof(l->host))
			return false;
		l->unix_socket = true;
		snprintf(l->host, sizeof(l->host), "%s", path);
		return true;
	}
	return net_parse_address(spec, l->host, sizeof(l->host), l->port, sizeof(l->port));
}

void vscard_init(struct vscard_link *l)
{
	l->unix_socket = false;
	l->host[0] = l->port[0] = '\0';
	l->fd = -1;
	l->in_len = 0;
	l->backoff_ms = 0;
}

const char *vscard_address(const struct vscard_link *l, char *buf, size_t cap)
{
	if (l->unix_socket)
		snprintf(buf, cap, "unix:%s", l->host);
	else
		snprintf(buf, cap, "%s:%s", l->host, l->port);
	return buf;
}

int vscard_connect(struct vscard_link *l, unsigned timeout_ms, int cancel_fd)
{
	int fd = l->unix_socket ? unix_socket_connect(l->host, SOCK_STREAM)
				: net_tcp_connect(l->host, l->port, timeout_ms, cancel_fd);
	if (fd < 0)
		return -1;
	l->fd = fd;
	l->in_len = 0;
	return 0;
}

void vscard_disconnect(struct vscard_link *l)
{
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
	crypto_wipe(l->in, l->in_len);
	l->in_len = 0;
}

static void set_quickack(struct vscard_link *l)
{
	if (!l->unix_socket)
		net_quickack(l->fd);
}

int vscard_receive(struct vscard_link *l,
		   int (*on_msg)(void *arg, const struct vscard_msg *m), void *arg)
{
	set_quickack(l);
	int more = net_recv_more(l->fd, l->in, sizeof(l->in), &l->in_len);
	if (more <= 0)
		return more;

	size_t used = 0;
	for (;;) {
		struct vscard_msg m;
		long got = vscard_decode(l->in + used, l->in_len - used, &m);
		if (got < 0)
			return -1;
		if (got == 0)
			break;
		used += (size_t)got;
		if (on_msg(arg, &m) != 0 || l->fd < 0)
			return -1;
	}
	net_consume(l->in, &l->in_len, used);
	set_quickack(l);
	return 0;
}

int vscard_send(struct vscard_link *l, uint32_t type, uint32_t reader, const uint8_t *data,
		size_t len)
{
	uint8_t head[VSCARD_HEADER_LEN];

	if (l->fd < 0 || len > VSCARD_MAX_PAYLOAD)
		return -1;
	store_be32(head, type);
	store_be32(head + 4, reader);
	store_be32(head + 8, (uint32_t)len);
	return net_send_all(l->fd, head, sizeof(head), data, len);
}
