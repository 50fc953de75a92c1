/*
 * netfault.h - a TCP proxy that makes network faults on purpose, for the
 * tests of ecard-server and its agents and for people testing their own:
 * delay and jitter per direction, a rate limit, a cut of the connection at
 * the N-th request (before it, in its middle, before its answer, in the
 * middle of the answer) or at the N-th byte, a black hole, truncated
 * answers, and a reset of every connection. Loopback only.
 *
 * Requests and answers are counted the way HTTP/1.1 without pipelining
 * runs: a request starts when the client sends after the server has
 * answered (or first), an answer when the server sends after the client.
 * Numbers run over the proxy's life, across connections, from 1.
 *
 * The control commands (one line each, as ecard-vcard's; answers "ok ..."
 * or "error ..."):
 *   status                        ok status connections=C requests=N answers=N
 *                                 bytes_up=B bytes_down=B cuts=K
 *   delay up|down MS              added to each chunk in that direction
 *   jitter MS                     plus a random 0..MS per chunk
 *   rate up|down BYTES_PER_S      0: no limit
 *   cut N request|request-mid|answer|answer-mid [BYTES]
 *                                 cut the connection carrying request N:
 *                                 before its first byte is passed on, after
 *                                 BYTES of it (default: half its first
 *                                 chunk), before its answer's first byte,
 *                                 or after BYTES of the answer
 *   cut-byte up|down N            cut when the N-th byte would pass
 *   blackhole on|off              swallow everything, answer nothing
 *   truncate BYTES|off            cut every answer after BYTES bytes
 *   reset                         close every connection now (RST)
 *   clear                         delays, rates and faults back to none
 */
#ifndef ECARD_NETFAULT_H
#define ECARD_NETFAULT_H

#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NF_CONNECTIONS_MAX 256

enum nf_dir {
	NF_UP = 0,	/* client to server */
	NF_DOWN = 1,	/* server to client */
};

enum nf_cut_kind {
	NF_CUT_NONE = 0,
	NF_CUT_REQUEST,
	NF_CUT_REQUEST_MID,
	NF_CUT_ANSWER,
	NF_CUT_ANSWER_MID,
};

struct nf_chunk;

struct nf_conn {
	int fd[2];			/* [NF_UP] the client's, [NF_DOWN] the server's */
	struct nf_chunk *queue[2];	/* waiting to go, per direction */
	struct nf_chunk *tail[2];
	bool eof[2];			/* that side stopped sending */
	int last_dir;			/* -1: nothing yet */
	uint64_t request;		/* the request this connection carries */
	uint64_t passed_in_message;	/* bytes of the current message passed on */
};

struct nf_faults {
	long delay_ms[2];
	long jitter_ms;
	uint64_t rate[2];		/* bytes per second, 0 none */
	uint64_t cut_at;		/* request number, 0 none */
	enum nf_cut_kind cut_kind;
	long cut_bytes;			/* -1: half the first chunk */
	uint64_t cut_byte[2];		/* 0 none */
	bool blackhole;
	long truncate;			/* -1 none */
};

struct netfault {
	int listen_fd;
	struct sockaddr_storage upstream;
	socklen_t upstream_len;
	struct nf_faults f;
	struct nf_conn conns[NF_CONNECTIONS_MAX];
	size_t nconns;
	/* counters */
	uint64_t requests;
	uint64_t answers;
	uint64_t bytes[2];
	uint64_t cuts;
	uint64_t accepted;
	/* rate limits: when each direction may send next (ms clock) */
	double next_free[2];
};

/* Whether text is ADDR:PORT on loopback (127.0.0.0/8 or [::1]). */
bool nf_parse_loopback(const char *text, struct sockaddr_storage *ss, socklen_t *len);

/* Listen on listen (port 0: any) and forward to upstream. -1 with errno. */
int nf_open(struct netfault *nf, const struct sockaddr_storage *listen, socklen_t listen_len,
	    const struct sockaddr_storage *upstream, socklen_t upstream_len);
void nf_close(struct netfault *nf);
uint16_t nf_port(const struct netfault *nf);

/* The descriptors to poll, and how long until a queued chunk is due. */
int nf_fill_pollfds(const struct netfault *nf, struct pollfd *fds, int max, int *timeout_ms);
/* Serve what poll found (fds as filled) and send what is due. */
void nf_service(struct netfault *nf, const struct pollfd *fds, int n);

/* One control command; the answer goes to reply. */
void nf_command(struct netfault *nf, const char *line, char *reply, size_t reply_len);

#endif
