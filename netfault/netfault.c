/*
 * netfault.c - the fault-making TCP proxy (netfault.h): one poll loop,
 * non-blocking sockets, a queue of timed chunks per direction and
 * connection.
 */
#include "netfault.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "crypto.h"

#define CHUNK_MAX 65536

struct nf_chunk {
	struct nf_chunk *next;
	double due;		/* ms clock */
	size_t len;
	size_t off;
	bool close_after;	/* cut the connection once this is out */
	uint8_t data[];
};

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void faults_clear(struct nf_faults *f)
{
	memset(f, 0, sizeof(*f));
	f->cut_bytes = -1;
	f->truncate = -1;
}

bool nf_parse_loopback(const char *text, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[64];
	const char *colon = strrchr(text ? text : "", ':');
	char *end;

	if (!colon || (size_t)(colon - text) >= sizeof(host) || colon == text)
		return false;
	memcpy(host, text, (size_t)(colon - text));
	host[colon - text] = '\0';
	long port = strtol(colon + 1, &end, 10);
	if (*end || colon[1] == '\0' || port < 0 || port > 65535)
		return false;
	memset(ss, 0, sizeof(*ss));
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
		host[strlen(host) - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, &a->sin6_addr) != 1 ||
		    !IN6_IS_ADDR_LOOPBACK(&a->sin6_addr))
			return false;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		*len = sizeof(*a);
		return true;
	}
	struct sockaddr_in *a = (struct sockaddr_in *)ss;
	if (strcmp(host, "localhost") == 0)
		snprintf(host, sizeof(host), "127.0.0.1");
	if (inet_pton(AF_INET, host, &a->sin_addr) != 1 || (ntohl(a->sin_addr.s_addr) >> 24) != 127)
		return false;
	a->sin_family = AF_INET;
	a->sin_port = htons((uint16_t)port);
	*len = sizeof(*a);
	return true;
}

static void nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

int nf_open(struct netfault *nf, const struct sockaddr_storage *listen_addr, socklen_t listen_len,
	    const struct sockaddr_storage *upstream, socklen_t upstream_len)
{
	int one = 1;

	memset(nf, 0, sizeof(*nf));
	faults_clear(&nf->f);
	nf->upstream = *upstream;
	nf->upstream_len = upstream_len;
	nf->listen_fd = socket(listen_addr->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (nf->listen_fd < 0)
		return -1;
	setsockopt(nf->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(nf->listen_fd, (const struct sockaddr *)listen_addr, listen_len) != 0 ||
	    listen(nf->listen_fd, 128) != 0) {
		int e = errno;
		close(nf->listen_fd);
		errno = e;
		return -1;
	}
	nonblock(nf->listen_fd);
	return 0;
}

uint16_t nf_port(const struct netfault *nf)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(nf->listen_fd, (struct sockaddr *)&ss, &len) != 0)
		return 0;
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static void free_queue(struct nf_conn *c, int d)
{
	while (c->queue[d]) {
		struct nf_chunk *n = c->queue[d]->next;
		free(c->queue[d]);
		c->queue[d] = n;
	}
	c->tail[d] = NULL;
}

/* Close both sides; with rst, as a reset rather than an orderly end. */
static void conn_close(struct netfault *nf, size_t i, bool rst)
{
	struct nf_conn *c = &nf->conns[i];
	struct linger lg = { 1, 0 };

	for (int d = 0; d < 2; d++) {
		if (c->fd[d] >= 0) {
			if (rst)
				setsockopt(c->fd[d], SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
			close(c->fd[d]);
		}
		free_queue(c, d);
	}
	nf->conns[i] = nf->conns[--nf->nconns];
}

static void cut(struct netfault *nf, size_t i)
{
	nf->cuts++;
	conn_close(nf, i, true);
}

void nf_close(struct netfault *nf)
{
	while (nf->nconns)
		conn_close(nf, nf->nconns - 1, false);
	if (nf->listen_fd >= 0)
		close(nf->listen_fd);
	nf->listen_fd = -1;
}

static void accept_one(struct netfault *nf)
{
	int fd = accept4(nf->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if (nf->nconns == NF_CONNECTIONS_MAX) {
		close(fd);
		return;
	}
	int up = socket(nf->upstream.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	/* A blocking connect: on loopback it is immediate or refused. */
	if (up < 0 || connect(up, (struct sockaddr *)&nf->upstream, nf->upstream_len) != 0) {
		struct linger lg = { 1, 0 };
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(fd);
		if (up >= 0)
			close(up);
		return;
	}
	nonblock(fd);
	nonblock(up);
	struct nf_conn *c = &nf->conns[nf->nconns++];
	memset(c, 0, sizeof(*c));
	c->fd[NF_UP] = fd;
	c->fd[NF_DOWN] = up;
	c->last_dir = -1;
	nf->accepted++;
}

static void enqueue(struct netfault *nf, struct nf_conn *c, int d, const uint8_t *data, size_t len,
		    bool close_after)
{
	struct nf_chunk *ch = malloc(sizeof(*ch) + (len ? len : 1));
	uint32_t r = 0;

	if (!ch)
		return;
	if (nf->f.jitter_ms > 0)
		crypto_random(&r, sizeof(r));
	ch->next = NULL;
	ch->due = now_ms() + (double)nf->f.delay_ms[d] +
		  (nf->f.jitter_ms > 0 ? (double)(r % (uint32_t)(nf->f.jitter_ms + 1)) : 0);
	/* Chunks never overtake each other. */
	if (c->tail[d] && c->tail[d]->due > ch->due)
		ch->due = c->tail[d]->due;
	ch->len = len;
	ch->off = 0;
	ch->close_after = close_after;
	memcpy(ch->data, data, len);
	if (c->tail[d])
		c->tail[d]->next = ch;
	else
		c->queue[d] = ch;
	c->tail[d] = ch;
}

/* What came in from side d: account, apply the faults, queue. false when
 * the connection was cut. */
static bool arrive(struct netfault *nf, size_t i, int d, const uint8_t *data, size_t len)
{
	struct nf_conn *c = &nf->conns[i];
	struct nf_faults *f = &nf->f;

	if (c->last_dir != d) {
		c->last_dir = d;
		c->passed_in_message = 0;
		if (d == NF_UP)
			c->request = ++nf->requests;
		else
			nf->answers++;
		if (f->cut_at && c->request == f->cut_at &&
		    ((d == NF_UP && f->cut_kind == NF_CUT_REQUEST) ||
		     (d == NF_DOWN && f->cut_kind == NF_CUT_ANSWER))) {
			f->cut_at = 0;
			cut(nf, i);
			return false;
		}
	}
	if (f->blackhole)
		return true;
	size_t take = len;
	bool close_after = false;
	/* Cuts inside a message. */
	if (f->cut_at && c->request == f->cut_at &&
	    ((d == NF_UP && f->cut_kind == NF_CUT_REQUEST_MID) ||
	     (d == NF_DOWN && f->cut_kind == NF_CUT_ANSWER_MID))) {
		size_t at = f->cut_bytes >= 0 ? (size_t)f->cut_bytes : (len + 1) / 2;
		if (at < c->passed_in_message + len) {
			take = at > c->passed_in_message ? at - c->passed_in_message : 0;
			close_after = true;
			f->cut_at = 0;
		}
	}
	if (d == NF_DOWN && f->truncate >= 0 &&
	    c->passed_in_message + take >= (size_t)f->truncate) {
		take = (size_t)f->truncate > c->passed_in_message
			       ? (size_t)f->truncate - c->passed_in_message : 0;
		close_after = true;
	}
	if (f->cut_byte[d] && nf->bytes[d] + take >= f->cut_byte[d]) {
		take = f->cut_byte[d] > nf->bytes[d] + 1 ? (size_t)(f->cut_byte[d] - 1 - nf->bytes[d]) : 0;
		f->cut_byte[d] = 0;
		close_after = true;
	}
	c->passed_in_message += take;
	nf->bytes[d] += take;
	if (take == 0 && close_after) {
		cut(nf, i);
		return false;
	}
	enqueue(nf, c, d, data, take, close_after);
	return true;
}

/* Send what is due on direction d of connection i; false when it closed. */
static bool flush(struct netfault *nf, size_t i, int d, double now)
{
	struct nf_conn *c = &nf->conns[i];
	int out = c->fd[d == NF_UP ? NF_DOWN : NF_UP];

	while (c->queue[d] && c->queue[d]->due <= now) {
		struct nf_chunk *ch = c->queue[d];
		size_t n = ch->len - ch->off;
		if (nf->f.rate[d]) {
			if (nf->next_free[d] > now)
				return true;
			size_t slice = (size_t)(nf->f.rate[d] / 50) + 1;	/* 20 ms worth */
			if (n > slice)
				n = slice;
		}
		ssize_t w = n ? send(out, ch->data + ch->off, n, MSG_NOSIGNAL) : 0;
		if (w < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return true;
			conn_close(nf, i, true);
			return false;
		}
		ch->off += (size_t)w;
		if (nf->f.rate[d]) {
			double start = nf->next_free[d] > now ? nf->next_free[d] : now;
			nf->next_free[d] = start + (double)w * 1000.0 / (double)nf->f.rate[d];
		}
		if (ch->off < ch->len)
			continue;
		bool close_after = ch->close_after;
		c->queue[d] = ch->next;
		if (!c->queue[d])
			c->tail[d] = NULL;
		free(ch);
		if (close_after) {
			cut(nf, i);
			return false;
		}
	}
	if (!c->queue[d] && c->eof[d]) {
		shutdown(out, SHUT_WR);
		if (c->eof[1 - d] && !c->queue[1 - d]) {
			conn_close(nf, i, false);
			return false;
		}
	}
	return true;
}

int nf_fill_pollfds(const struct netfault *nf, struct pollfd *fds, int max, int *timeout_ms)
{
	double now = now_ms(), next = -1;
	int n = 0;

	if (n < max)
		fds[n++] = (struct pollfd){ .fd = nf->listen_fd, .events = POLLIN };
	for (size_t i = 0; i < nf->nconns && n + 2 <= max; i++) {
		const struct nf_conn *c = &nf->conns[i];
		for (int d = 0; d < 2; d++) {
			short ev = c->eof[d] ? 0 : POLLIN;
			const struct nf_chunk *q = c->queue[1 - d];	/* what goes out on fd[d] */
			if (q && q->due <= now && nf->next_free[1 - d] <= now)
				ev |= POLLOUT;
			else if (q) {
				double due = q->due > nf->next_free[1 - d] ? q->due : nf->next_free[1 - d];
				if (next < 0 || due < next)
					next = due;
			}
			fds[n++] = (struct pollfd){ .fd = c->fd[d], .events = ev };
		}
	}
	*timeout_ms = next < 0 ? -1 : (int)(next - now + 1);
	if (*timeout_ms < 0 && next >= 0)
		*timeout_ms = 0;
	return n;
}

void nf_service(struct netfault *nf, const struct pollfd *fds, int n)
{
	uint8_t buf[CHUNK_MAX];

	if (n > 0 && (fds[0].revents & POLLIN))
		accept_one(nf);
	/* Connections by descriptor: the table moves as they close. */
	for (int k = 1; k + 1 < n; k += 2) {
		int fd_up = fds[k].fd;
		size_t i;
		for (i = 0; i < nf->nconns && nf->conns[i].fd[NF_UP] != fd_up; i++)
			;
		if (i == nf->nconns)
			continue;
		bool alive = true;
		for (int d = 0; d < 2 && alive; d++) {
			short re = fds[k + d].revents;
			if (!(re & (POLLIN | POLLHUP | POLLERR)))
				continue;
			ssize_t r = recv(nf->conns[i].fd[d], buf, sizeof(buf), 0);
			if (r > 0) {
				alive = arrive(nf, i, d, buf, (size_t)r);
			} else if (r == 0) {
				nf->conns[i].eof[d] = true;
			} else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
				conn_close(nf, i, true);
				alive = false;
			}
		}
	}
	double now = now_ms();
	for (size_t i = 0; i < nf->nconns;) {
		if (!flush(nf, i, NF_UP, now) || (i < nf->nconns && !flush(nf, i, NF_DOWN, now)))
			continue;	/* closed: another connection is at i now */
		i++;
	}
}

static bool dir_word(const char *w, int *d)
{
	if (strcmp(w, "up") == 0)
		*d = NF_UP;
	else if (strcmp(w, "down") == 0)
		*d = NF_DOWN;
	else
		return false;
	return true;
}

void nf_command(struct netfault *nf, const char *line, char *reply, size_t reply_len)
{
	char a[32] = "", b[32] = "", c3[32] = "", d4[32] = "";
	int n = sscanf(line, "%31s %31s %31s %31s", a, b, c3, d4);
	char *end;
	int d;

	if (n < 1) {
		snprintf(reply, reply_len, "error usage: an empty command");
		return;
	}
	if (strcmp(a, "status") == 0) {
		snprintf(reply, reply_len,
			 "ok status connections=%zu accepted=%llu requests=%llu answers=%llu bytes_up=%llu bytes_down=%llu cuts=%llu blackhole=%d",
			 nf->nconns, (unsigned long long)nf->accepted, (unsigned long long)nf->requests,
			 (unsigned long long)nf->answers, (unsigned long long)nf->bytes[NF_UP],
			 (unsigned long long)nf->bytes[NF_DOWN], (unsigned long long)nf->cuts,
			 nf->f.blackhole ? 1 : 0);
		return;
	}
	if (strcmp(a, "delay") == 0 && n == 3 && dir_word(b, &d)) {
		long v = strtol(c3, &end, 10);
		if (!*end && v >= 0 && v <= 600000) {
			nf->f.delay_ms[d] = v;
			snprintf(reply, reply_len, "ok delay %s %ld", b, v);
			return;
		}
	} else if (strcmp(a, "jitter") == 0 && n == 2) {
		long v = strtol(b, &end, 10);
		if (!*end && v >= 0 && v <= 600000) {
			nf->f.jitter_ms = v;
			snprintf(reply, reply_len, "ok jitter %ld", v);
			return;
		}
	} else if (strcmp(a, "rate") == 0 && n == 3 && dir_word(b, &d)) {
		unsigned long long v = strtoull(c3, &end, 10);
		if (!*end && c3[0] != '-') {
			nf->f.rate[d] = v;
			snprintf(reply, reply_len, "ok rate %s %llu", b, v);
			return;
		}
	} else if (strcmp(a, "cut") == 0 && (n == 3 || n == 4)) {
		static const char *const kinds[] = { "", "request", "request-mid", "answer", "answer-mid" };
		unsigned long long at = strtoull(b, &end, 10);
		if (*end || at == 0) {
			snprintf(reply, reply_len, "error usage: cut takes a request number from 1");
			return;
		}
		for (int k = 1; k <= NF_CUT_ANSWER_MID; k++) {
			if (strcmp(c3, kinds[k]) != 0)
				continue;
			long bytes = -1;
			if (n == 4) {
				bytes = strtol(d4, &end, 10);
				if (*end || bytes < 0 || (k != NF_CUT_REQUEST_MID && k != NF_CUT_ANSWER_MID)) {
					snprintf(reply, reply_len, "error usage: only the -mid cuts take BYTES");
					return;
				}
			}
			nf->f.cut_at = at;
			nf->f.cut_kind = (enum nf_cut_kind)k;
			nf->f.cut_bytes = bytes;
			snprintf(reply, reply_len, "ok cut %llu %s", at, c3);
			return;
		}
	} else if (strcmp(a, "cut-byte") == 0 && n == 3 && dir_word(b, &d)) {
		unsigned long long v = strtoull(c3, &end, 10);
		if (!*end && v > 0) {
			nf->f.cut_byte[d] = nf->bytes[d] + v;
			snprintf(reply, reply_len, "ok cut-byte %s %llu", b, v);
			return;
		}
	} else if (strcmp(a, "blackhole") == 0 && n == 2 &&
		   (strcmp(b, "on") == 0 || strcmp(b, "off") == 0)) {
		nf->f.blackhole = strcmp(b, "on") == 0;
		snprintf(reply, reply_len, "ok blackhole %s", b);
		return;
	} else if (strcmp(a, "truncate") == 0 && n == 2) {
		long v = strcmp(b, "off") == 0 ? -1 : strtol(b, &end, 10);
		if (strcmp(b, "off") == 0 || (!*end && v >= 0)) {
			nf->f.truncate = v;
			snprintf(reply, reply_len, "ok truncate %s", b);
			return;
		}
	} else if (strcmp(a, "reset") == 0 && n == 1) {
		size_t k = nf->nconns;
		while (nf->nconns)
			cut(nf, nf->nconns - 1);
		snprintf(reply, reply_len, "ok reset connections=%zu", k);
		return;
	} else if (strcmp(a, "clear") == 0 && n == 1) {
		faults_clear(&nf->f);
		snprintf(reply, reply_len, "ok clear");
		return;
	}
	snprintf(reply, reply_len,
		 "error usage: status, delay up|down MS, jitter MS, rate up|down B/S, cut N request|request-mid|answer|answer-mid [BYTES], cut-byte up|down N, blackhole on|off, truncate BYTES|off, reset, clear");
}
