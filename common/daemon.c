/*
 * daemon.c - what the two daemons share around their own work: error
 * line, shared options, numbers, stop signals (see daemon.h).
 */
#include "daemon.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "log.h"

int daemon_fail(const char *name, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return DAEMON_EXIT_FAILURE;
}

/* ---- options ---- */

/* One shared option (or getopt_long's '?'): DAEMON_GO_ON or an exit code. */
static int shared_option(const struct daemon_program *prog, int c, const char *arg, int *level)
{
	switch (c) {
	case DAEMON_OPT_LOG_LEVEL:
		if ((*level = log_level_parse(arg)) < 0)
			return daemon_fail(prog->name, "--log-level takes error, warn, info or debug.");
		return DAEMON_GO_ON;
	case 'v':
		*level = LOG_DEBUG;
		return DAEMON_GO_ON;
	case 'h':
		prog->usage(stdout);
		return 0;
	case 'V':
		printf("%s %s\n", prog->name, prog->version);
		return 0;
	default:
		fprintf(stderr, "Try '%s --help'.\n", prog->name);
		return DAEMON_EXIT_FAILURE;
	}
}

int daemon_getopt(const struct daemon_program *prog, int argc, char **argv,
		  const struct option *longopts, int *level)
{
	int c, rc;

	while ((c = getopt_long(argc, argv, "vhV", longopts, NULL)) != -1) {
		if (c >= DAEMON_OPT_OWN)
			return c;
		if ((rc = shared_option(prog, c, optarg, level)) != DAEMON_GO_ON)
			return rc;
	}
	if (optind < argc)
		return daemon_fail(prog->name, "unexpected argument '%s'; try '%s --help'.",
				   argv[optind], prog->name);
	return DAEMON_GO_ON;
}

bool daemon_parse_number(const char *arg, int base, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(arg, &end, base);
	if (errno || end == arg || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

/* ---- stop signals ---- */

int daemon_stop_open(struct daemon_stop *stop)
{
	sigset_t set, old;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, &old) != 0)
		return -1;
	int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0) {
		int err = errno;
		sigprocmask(SIG_SETMASK, &old, NULL);
		errno = err;
		return -1;
	}
	signal(SIGPIPE, SIG_IGN);
	stop->fd = fd;
	stop->signal = 0;
	return 0;
}

void daemon_stop_close(struct daemon_stop *stop)
{
	if (stop->fd >= 0)
		close(stop->fd);
	stop->fd = -1;
}

int daemon_poll(struct daemon_stop *stop, struct pollfd *fds, int n, int timeout_ms)
{
	fds[n] = (struct pollfd){ .fd = stop->fd, .events = POLLIN };
	int rc = poll(fds, (nfds_t)n + 1, timeout_ms);
	if (rc < 0)
		return errno == EINTR ? 0 : -1;
	if (fds[n].revents) {
		struct signalfd_siginfo si;
		rc--;
		if (read(stop->fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
			stop->signal = (int)si.ssi_signo;
			return 0;
		}
	}
	return rc;
}
