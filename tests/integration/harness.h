/*
 * harness.h - start and stop the real pieces for integration tests: a
 * private pcscd (foreground, own reader.conf.d with a vpcd entry on a port
 * of the test's own), ecard-vcard on a fresh card image, and the ecard CLI.
 *
 * Tests run inside tests/integration/in-namespace.sh, so /run/pcscd is a
 * private tmpfs and the system's pcscd, if any, is never touched. Every
 * process started here is stopped by harness_stop(), and by an atexit()
 * hook if a test fails half-way.
 */
#ifndef ECARD_TEST_HARNESS_H
#define ECARD_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct harness {
	char dir[64];		/* scratch directory */
	char confdir[96];
	char image[96];
	char control[96];
	char reader[64];	/* PC/SC name of the reader the card is in */
	char issuer[96];	/* issuer key directory (harness_init_issuer) */
	int port;
	pid_t pcscd;
	pid_t vcard;

	/* The CCID reader simulator behind ifd-ecard (harness_start_ccid_sim). */
	char sim_socket[96];
	char sim_control[96];
	char sim_reader[64];	/* PC/SC name of its first slot */
	pid_t sim;

	/* Other programs a test started (harness_spawn), stopped with the rest. */
	pid_t others[8];
};

/* Scratch dir, ports, reader.conf.d, a new card image; starts nothing. */
void harness_init(struct harness *h);
/* The same, but with issuer keys made by `ecard issuer init` in
 * h->issuer and the card image's wallet personalized for that issuer
 * (`ecard-vcard --new --personalize`). */
void harness_init_issuer(struct harness *h);
void harness_start_pcscd(struct harness *h);
void harness_stop_pcscd(struct harness *h);
/* Extra arguments for ecard-vcard, NULL-terminated (may be NULL). */
void harness_start_vcard(struct harness *h, const char *const *extra);
/* Stop with a signal and return the exit status (or -signal). */
int harness_stop_vcard(struct harness *h, int sig);
void harness_stop(struct harness *h);

/* Wait until the reader reports a card present (or absent). */
bool harness_wait_card(struct harness *h, bool present, int timeout_ms);
/* The same for any reader by name. */
bool harness_wait_reader_card(const char *reader, bool present, int timeout_ms);

/*
 * Start ecard-ccid-sim with args (NULL-terminated; --socket and --control
 * are added) and add a reader.conf.d entry that makes pcscd load the
 * driver bundle from the build tree with DEVICENAME sim:SOCKET. Call it
 * before harness_start_pcscd(). The simulator's first slot is
 * h->sim_reader; slot n is "ecard-sim-PORT 00 0n".
 */
void harness_start_ccid_sim(struct harness *h, const char *const *args);
/* Send a control command to the simulator; its answer line. */
const char *harness_sim_ctl(struct harness *h, const char *cmd);
/* The number after " key=" in the simulator's answer to cmd, -1 if none. */
long harness_sim_ctl_value(struct harness *h, const char *cmd, const char *key);
/* Whether pcscd lists the reader. */
bool harness_reader_listed(const char *reader);

/* After a tear: wait until the card is back on vpcd, pcscd reports it
 * present and a connection to it succeeds. */
bool harness_wait_usable(struct harness *h, int timeout_ms);

/* After a tear: wait until pcscd has seen the card leave the reader, then
 * until it is usable again (harness_wait_usable). Needs an outage longer
 * than pcscd's polling of the reader (400 ms), which the default has. */
bool harness_wait_back(struct harness *h, int timeout_ms);

/* Send a control command; returns the answer line ("" on failure). */
const char *harness_ctl(struct harness *h, const char *cmd);
/* The number after " key=" in the answer to cmd ("writes", "status"...),
 * -1 when the answer has none. */
long harness_ctl_value(struct harness *h, const char *cmd, const char *key);

/* Run a program from the build tree (e.g. "ecard"), capture its stdout.
 * Returns the exit status, -1 if it did not exit normally. */
int harness_run(const char *program, const char *const *args, char *out, size_t out_len);
/* The same, with input (may be NULL: nothing) readable by the program on
 * file descriptor 3, for --pin-fd 3 and the like. */
int harness_run_input(const char *program, const char *const *args, const char *input,
		      char *out, size_t out_len);

/*
 * Start a program from the build tree (name; a name with a slash is a
 * path) with args (NULL-terminated,
 * without argv[0]), its output appended to h->dir/LOG; it is stopped by
 * harness_stop() unless harness_reap() saw it end first.
 */
pid_t harness_spawn(struct harness *h, const char *name, const char *const *args, const char *log);
/* Stop it with sig (SIGKILL after 5 s) and return its exit status, or
 * -signal. */
int harness_kill(struct harness *h, pid_t pid, int sig);
/* Wait up to timeout_ms for it to end by itself: its exit status (or
 * -signal), or INT_MIN when it is still running. */
int harness_reap(struct harness *h, pid_t pid, int timeout_ms);

/* Path of a program in the build tree. */
const char *harness_program(const char *name, char *buf, size_t len);

/* Whether headless Chromium, its driver and python3-selenium are here
 * (the browser tests). */
bool harness_browser_here(void);
/* The port a program wrote to its --port-file (waited for up to 4 s). */
void harness_wait_port_file(const char *file, char *port, size_t cap);

/* A port free now on loopback, for a program that must be told one. */
int harness_free_port(void);

/*
 * A PostgreSQL of the test's own (Debian's binaries): initdb into the
 * test's directory and postgres on a free loopback port, without fsync;
 * as root, both run as nobody (PostgreSQL refuses root). False when
 * PostgreSQL is not installed; url is then "". Stopped with the rest, or
 * by harness_pg_stop().
 */
struct harness_pg {
	char dir[80];
	char url[160];
	pid_t pid;
	bool as_nobody;
};
bool harness_pg_start(struct harness *h, struct harness_pg *pg);
void harness_pg_stop(struct harness *h, struct harness_pg *pg);

#endif
