/*
 * control.h - the control socket of ecard-vcard and ecard-ccid-sim
 * (DESIGN §1.2), both ends.
 *
 * A UNIX stream socket; each command is one text line, each answer one
 * line: "ok ..." or "error ...", counters and state as " key=value"
 * words ("ok status present=1 writes=12 ..."). A daemon polls it beside
 * its other descriptors (server side below); `ecard-vcard ctl PATH CMD`
 * and the tests are clients.
 */
#ifndef ECARD_CONTROL_H
#define ECARD_CONTROL_H

#include <poll.h>
#include <stddef.h>

#define CONTROL_MAX_CLIENTS 8
#define CONTROL_LINE_MAX 256

struct control_client {
	int fd;
	char buf[CONTROL_LINE_MAX];
	size_t len;
};

struct control {
	int listen_fd;
	char path[108];
	struct control_client clients[CONTROL_MAX_CLIENTS];
};

typedef void (*control_handler)(void *arg, const char *line, char *reply, size_t reply_len);

void control_init(struct control *c);
/* Listen on path (an old socket file there is replaced). */
int control_open(struct control *c, const char *path);
void control_close(struct control *c);
/* Add the sockets to poll; returns how many were added. */
int control_fill_pollfds(const struct control *c, struct pollfd *fds, int max);
/* Serve the sockets poll found ready. */
void control_service(struct control *c, const struct pollfd *fds, int n,
		     control_handler handler, void *arg);

/* Client side: send one command, read one answer line. 0 on success. */
int control_request(const char *path, const char *cmd, char *reply, size_t reply_len);

/*
 * "PROGRAM ctl PATH COMMAND [ARGS]" (argv[0] is "ctl"): send the words as
 * one command, print the answer; returns the exit status: 0 done, 1
 * refused, 2 not understood ("error usage ...") or no daemon there.
 */
int control_cli(const char *program, int argc, char **argv);

/* The decimal value of " key=" in an answer line; -1 when it is not there. */
long control_reply_value(const char *reply, const char *key);

#endif
