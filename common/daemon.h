/*
 * daemon.h - the plumbing ecard-vcard and ecard-ccid-sim share around
 * their own work: the "PROGRAM: message" error line, the options both
 * take (--log-level, -v, -h, -V) and numeric options, and the stop
 * signals in their poll loop.
 *
 * Nothing here is global: what a running daemon needs (the stop signals'
 * descriptor, the signal received) lives in a struct the program owns.
 */
#ifndef ECARD_DAEMON_H
#define ECARD_DAEMON_H

#include <getopt.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* The exit code of a daemon that cannot start or go on. */
#define DAEMON_EXIT_FAILURE 2
/* What daemon_getopt() returns when the program goes on. */
#define DAEMON_GO_ON (-1)

struct daemon_program {
	const char *name;		/* "ecard-vcard": error lines, --version */
	const char *version;		/* shown by --version */
	void (*usage)(FILE *out);	/* shown by --help */
};

/* "NAME: message" and a newline on standard error; returns
 * DAEMON_EXIT_FAILURE. */
int daemon_fail(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- options ---- */

/* A daemon's own options are long ones, with getopt_long values from
 * DAEMON_OPT_OWN up; the shared ones end its struct option table, before
 * the NULL entry. */
#define DAEMON_OPT_OWN 256
#define DAEMON_OPT_LOG_LEVEL 128	/* no short option has this value */
#define DAEMON_LONG_OPTIONS \
	{ "log-level", required_argument, NULL, DAEMON_OPT_LOG_LEVEL }, \
	{ "verbose", no_argument, NULL, 'v' }, \
	{ "help", no_argument, NULL, 'h' }, \
	{ "version", no_argument, NULL, 'V' }

/*
 * getopt_long over a daemon's command line, applying the shared options
 * itself: --log-level NAME and -v set *level (an enum log_level), --help
 * prints the usage on standard output, --version "NAME VERSION". Returns
 * the program's next own option (a value from DAEMON_OPT_OWN up, its
 * argument in optarg); once the options are over, DAEMON_GO_ON when no
 * operand follows them; or else the code to exit with: 0 after --help or
 * --version, DAEMON_EXIT_FAILURE after an error line (an unknown option
 * or a missing argument, which getopt_long has named, gets "Try 'NAME
 * --help'.").
 */
int daemon_getopt(const struct daemon_program *prog, int argc, char **argv,
		  const struct option *longopts, int *level);

/* The whole of arg as an unsigned number from min to max, in base (0:
 * strtoull's, decimal or with the 0x and 0 prefixes). False on anything
 * else, *out untouched. */
bool daemon_parse_number(const char *arg, int base, uint64_t min, uint64_t max, uint64_t *out);

/* ---- stop signals ---- */

/*
 * SIGTERM and SIGINT stop a daemon; SIGPIPE is ignored (a peer that goes
 * away is an error on its socket, not the end of the daemon).
 *
 * Why a descriptor and not a handler: a handler gets no argument, so it
 * can only write to static storage; a library must not hold any, and even
 * a pointer to the program's own volatile flag would have to be kept
 * there for the handler to find it (a self-pipe has the same problem with
 * its descriptor). A signalfd turns the two signals into one more
 * descriptor of the poll loop, owned by the program like its sockets, and
 * needs no ppoll() mask to be seen without a race: daemon_stop_open()
 * blocks the signals and opens it, daemon_poll() waits on it beside the
 * program's descriptors and records the signal in the program's struct.
 */
struct daemon_stop {
	int fd;		/* the signalfd; -1 when not open */
	int signal;	/* the stop signal received, 0 until one comes */
};

/* 0, or -1 with errno set (the signals are then as they were). */
int daemon_stop_open(struct daemon_stop *stop);
/* Closes the descriptor. The signals stay blocked: one that comes while
 * the daemon finishes waits, unseen, instead of killing it. */
void daemon_stop_close(struct daemon_stop *stop);

/*
 * One wait of a daemon's loop: poll fds[0..n) and the stop descriptor,
 * which goes at fds[n] (fds has room for n + 1), for timeout_ms (-1: no
 * limit). Returns how many of fds[0..n) are ready, 0 when none is to be
 * served (the time is up, the wait was interrupted, or a stop signal came:
 * stop->signal says which), or -1 with errno set when poll fails.
 */
int daemon_poll(struct daemon_stop *stop, struct pollfd *fds, int n, int timeout_ms);

#endif
