/*
 * test_daemon.c - the daemons' shared plumbing of common/daemon.c: the
 * error line, the shared options (through getopt_long, as the daemons use
 * them), number parsing at its bounds, and the stop signals read from a
 * descriptor in the poll loop. Criterion runs each test in a process of
 * its own, so the signal mask a test changes goes with it.
 */
#include <criterion/criterion.h>
#include <criterion/redirect.h>

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"

static int usage_calls;
static FILE *usage_out;

static void test_usage(FILE *out)
{
	usage_calls++;
	usage_out = out;
	fputs("Usage: test-daemon [options]\n", out);
}

static const struct daemon_program prog = { "test-daemon", "9.8.7", test_usage };

static void redirect_both(void)
{
	cr_redirect_stdout();
	cr_redirect_stderr();
}

/* ---- the error line ---- */

Test(daemon_fail, prints_the_program_name_then_the_message, .init = cr_redirect_stderr)
{
	cr_assert_eq(daemon_fail("test-daemon", "cannot open %s: %s.", "x.img", "gone"), 2);
	cr_assert_eq(daemon_fail("other", "out of memory."), DAEMON_EXIT_FAILURE);
	fflush(stderr);
	cr_assert_stderr_eq_str("test-daemon: cannot open x.img: gone.\nother: out of memory.\n");
}

/* ---- options ---- */

enum { OPT_OWN = DAEMON_OPT_OWN, OPT_FLAG };

/* A daemon's parser: its own --own ARG and --flag, then the shared ones.
 * Returns what daemon_getopt() ended with; *seen lists the own options. */
static int parse(char **argv, int *level, char *seen, size_t cap)
{
	static const struct option longopts[] = {
		{ "own", required_argument, NULL, OPT_OWN },
		{ "flag", no_argument, NULL, OPT_FLAG },
		DAEMON_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	int argc = 0, c;

	while (argv[argc])
		argc++;
	optind = 0;	/* glibc: start over */
	seen[0] = '\0';
	while ((c = daemon_getopt(&prog, argc, argv, longopts, level)) >= DAEMON_OPT_OWN) {
		size_t n = strlen(seen);
		if (c == OPT_OWN)
			snprintf(seen + n, cap - n, "own=%s ", optarg);
		else
			snprintf(seen + n, cap - n, "%s ", c == OPT_FLAG ? "flag" : "?");
	}
	return c;
}

Test(daemon_getopt, hands_the_own_options_over_in_order)
{
	int level = LOG_INFO;
	char seen[128];
	char *argv[] = { "d", "--own", "x", "--flag", "--own=y", NULL };
	cr_assert_eq(parse(argv, &level, seen, sizeof(seen)), DAEMON_GO_ON);
	cr_assert_str_eq(seen, "own=x flag own=y ");
	cr_assert_eq(level, LOG_INFO);
	char *none[] = { "d", NULL };
	cr_assert_eq(parse(none, &level, seen, sizeof(seen)), DAEMON_GO_ON);
	cr_assert_str_eq(seen, "");
}

Test(daemon_getopt, takes_every_log_level_name)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };
	char seen[128];
	for (int i = 0; i < 4; i++) {
		int level = -5;
		char *argv[] = { "d", "--flag", "--log-level", (char *)names[i], "--flag", NULL };
		cr_assert_eq(parse(argv, &level, seen, sizeof(seen)), DAEMON_GO_ON);
		cr_assert_eq(level, i, "--log-level %s", names[i]);
		cr_assert_str_eq(seen, "flag flag ");
	}
	int level = LOG_INFO;
	char *eq[] = { "d", "--log-level=warn", NULL };
	cr_assert_eq(parse(eq, &level, seen, sizeof(seen)), DAEMON_GO_ON);
	cr_assert_eq(level, LOG_WARN);
}

Test(daemon_getopt, refuses_an_unknown_log_level, .init = cr_redirect_stderr)
{
	static const char *const bad[] = { "verbose", "", "INFO" };
	char seen[128];
	for (int i = 0; i < 3; i++) {
		int level = LOG_INFO;
		char *argv[] = { "d", "--log-level", (char *)bad[i], "--flag", NULL };
		cr_assert_eq(parse(argv, &level, seen, sizeof(seen)), DAEMON_EXIT_FAILURE);
		cr_assert_str_eq(seen, "", "the options after the error are not read");
	}
	fflush(stderr);
	cr_assert_stderr_eq_str("test-daemon: --log-level takes error, warn, info or debug.\n"
				"test-daemon: --log-level takes error, warn, info or debug.\n"
				"test-daemon: --log-level takes error, warn, info or debug.\n");
}

Test(daemon_getopt, verbose_is_debug_and_the_last_one_wins)
{
	int level = LOG_ERROR;
	char seen[128];
	char *v[] = { "d", "-v", NULL };
	cr_assert_eq(parse(v, &level, seen, sizeof(seen)), DAEMON_GO_ON);
	cr_assert_eq(level, LOG_DEBUG);
	char *vl[] = { "d", "--verbose", "--log-level", "warn", NULL };
	cr_assert_eq(parse(vl, &level, seen, sizeof(seen)), DAEMON_GO_ON);
	cr_assert_eq(level, LOG_WARN);
	char *lv[] = { "d", "--log-level", "warn", "-v", NULL };
	cr_assert_eq(parse(lv, &level, seen, sizeof(seen)), DAEMON_GO_ON);
	cr_assert_eq(level, LOG_DEBUG);
}

/* An option that stops the program with exit code 0 after printing out. */
static void assert_prints_and_exits_0(char *opt, const char *out, int usages)
{
	int level = LOG_INFO;
	char seen[128];
	char *argv[] = { "d", "--flag", opt, "--own", "x", NULL };
	cr_assert_eq(parse(argv, &level, seen, sizeof(seen)), 0, "%s", opt);
	cr_assert_str_eq(seen, "flag ");
	cr_assert_eq(usage_calls, usages);
	cr_assert_eq(level, LOG_INFO);
	fflush(stdout);
	fflush(stderr);
	cr_assert_stdout_eq_str(out);
	cr_assert_stderr_eq_str("");
}

Test(daemon_getopt, help_prints_the_usage_on_stdout, .init = redirect_both)
{
	assert_prints_and_exits_0("--help", "Usage: test-daemon [options]\n", 1);
	cr_assert_eq(usage_out, stdout);
}

Test(daemon_getopt, h_prints_the_usage_on_stdout, .init = redirect_both)
{
	assert_prints_and_exits_0("-h", "Usage: test-daemon [options]\n", 1);
}

Test(daemon_getopt, version_prints_name_and_version, .init = redirect_both)
{
	assert_prints_and_exits_0("--version", "test-daemon 9.8.7\n", 0);
}

Test(daemon_getopt, V_prints_name_and_version, .init = redirect_both)
{
	assert_prints_and_exits_0("-V", "test-daemon 9.8.7\n", 0);
}

Test(daemon_getopt, a_bad_option_points_to_help, .init = cr_redirect_stderr)
{
	int level = LOG_INFO;
	char seen[128];
	char *unknown[] = { "d", "--bogus", NULL };
	char *short_unknown[] = { "d", "-x", NULL };
	char *missing[] = { "d", "--own", NULL };
	char *missing_level[] = { "d", "--log-level", NULL };
	char **bad[] = { unknown, short_unknown, missing, missing_level };

	opterr = 0;	/* getopt_long's own line is glibc's, not ours */
	for (int i = 0; i < 4; i++)
		cr_assert_eq(parse(bad[i], &level, seen, sizeof(seen)), DAEMON_EXIT_FAILURE);
	cr_assert_eq(level, LOG_INFO);
	fflush(stderr);
	cr_assert_stderr_eq_str("Try 'test-daemon --help'.\nTry 'test-daemon --help'.\n"
				"Try 'test-daemon --help'.\nTry 'test-daemon --help'.\n");
}

Test(daemon_getopt, takes_no_operands, .init = cr_redirect_stderr)
{
	int level = LOG_INFO;
	char seen[128];
	char *first[] = { "d", "stray", "--flag", NULL };
	char *last[] = { "d", "--own", "x", "one", "two", NULL };
	char *dashes[] = { "d", "--flag", "--", "--own", NULL };
	cr_assert_eq(parse(first, &level, seen, sizeof(seen)), DAEMON_EXIT_FAILURE);
	cr_assert_str_eq(seen, "flag ", "options after an operand are read first (GNU order)");
	cr_assert_eq(parse(last, &level, seen, sizeof(seen)), DAEMON_EXIT_FAILURE);
	cr_assert_eq(parse(dashes, &level, seen, sizeof(seen)), DAEMON_EXIT_FAILURE);
	fflush(stderr);
	cr_assert_stderr_eq_str("test-daemon: unexpected argument 'stray'; try 'test-daemon --help'.\n"
				"test-daemon: unexpected argument 'one'; try 'test-daemon --help'.\n"
				"test-daemon: unexpected argument '--own'; try 'test-daemon --help'.\n");
}

/* ---- numbers ---- */

static bool number(const char *arg, int base, uint64_t min, uint64_t max, uint64_t *v)
{
	*v = 0xDEAD;
	return daemon_parse_number(arg, base, min, max, v);
}

Test(daemon_number, takes_the_bounds_and_refuses_past_them)
{
	uint64_t v;
	cr_assert(number("1", 0, 1, 4, &v));
	cr_assert_eq(v, 1);
	cr_assert(number("4", 0, 1, 4, &v));
	cr_assert_eq(v, 4);
	cr_assert_not(number("0", 0, 1, 4, &v));
	cr_assert_eq(v, 0xDEAD, "a refused number leaves *out alone");
	cr_assert_not(number("5", 0, 1, 4, &v));
	cr_assert(number("16384", 0, 16384, 67108864, &v));
	cr_assert(number("67108864", 0, 16384, 67108864, &v));
	cr_assert_not(number("16383", 0, 16384, 67108864, &v));
	cr_assert_not(number("67108865", 0, 16384, 67108864, &v));
	cr_assert(number("18446744073709551615", 0, 0, UINT64_MAX, &v));
	cr_assert_eq(v, UINT64_MAX);
}

Test(daemon_number, refuses_what_is_not_one_whole_number)
{
	uint64_t v;
	static const char *const bad[] = {
		"", " ", "x", "1x", "1 ", "1.5", "0x", "18446744073709551616",
		"99999999999999999999999",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_not(number(bad[i], 0, 0, UINT64_MAX, &v), "'%s' taken", bad[i]);
		cr_assert_eq(v, 0xDEAD);
	}
	/* strtoull's negation wraps around: a bounded range refuses it. */
	cr_assert_not(number("-1", 0, 0, 1000, &v));
}

Test(daemon_number, reads_the_base_it_is_given)
{
	uint64_t v;
	cr_assert(number("0x10", 0, 0, 100, &v));
	cr_assert_eq(v, 16);
	cr_assert(number("010", 0, 0, 100, &v));
	cr_assert_eq(v, 8, "base 0 reads a leading 0 as octal");
	cr_assert(number("010", 10, 0, 100, &v));
	cr_assert_eq(v, 10);
	cr_assert_not(number("0x10", 10, 0, 100, &v));
	cr_assert(number("96", 16, 1, 0xFF, &v));
	cr_assert_eq(v, 0x96);
	cr_assert(number("0xff", 16, 1, 0xFF, &v));
	cr_assert_eq(v, 0xFF);
	cr_assert_not(number("100", 16, 1, 0xFF, &v));
	cr_assert_not(number("0", 16, 1, 0xFF, &v));
	cr_assert_not(number("zz", 16, 1, 0xFF, &v));
	cr_assert_not(number("08", 0, 0, 100, &v), "8 is no octal digit");
}

/* ---- stop signals ---- */

static bool blocked(int sig)
{
	sigset_t cur;
	sigprocmask(SIG_BLOCK, NULL, &cur);
	return sigismember(&cur, sig) == 1;
}

Test(daemon_stop, a_stop_signal_comes_through_the_descriptor)
{
	static const int sigs[] = { SIGTERM, SIGINT };
	for (int i = 0; i < 2; i++) {
		struct daemon_stop stop = { .fd = -1, .signal = 99 };
		struct pollfd fds[1];
		cr_assert_eq(daemon_stop_open(&stop), 0);
		cr_assert_geq(stop.fd, 0);
		cr_assert_eq(stop.signal, 0);
		cr_assert(blocked(SIGTERM) && blocked(SIGINT));

		cr_assert_eq(raise(sigs[i]), 0);	/* blocked: it waits on the descriptor */
		cr_assert_eq(daemon_poll(&stop, fds, 0, 5000), 0);
		cr_assert_eq(stop.signal, sigs[i]);
		daemon_stop_close(&stop);
		cr_assert_eq(stop.fd, -1);
	}
}

Test(daemon_stop, a_stop_signal_wins_over_ready_descriptors)
{
	struct daemon_stop stop;
	struct pollfd fds[2];
	int p[2];
	cr_assert_eq(pipe(p), 0);
	cr_assert_eq(write(p[1], "x", 1), 1);
	cr_assert_eq(daemon_stop_open(&stop), 0);
	cr_assert_eq(raise(SIGTERM), 0);
	fds[0] = (struct pollfd){ .fd = p[0], .events = POLLIN };
	cr_assert_eq(daemon_poll(&stop, fds, 1, 5000), 0, "nothing to serve once told to stop");
	cr_assert_eq(stop.signal, SIGTERM);
	daemon_stop_close(&stop);
	close(p[0]);
	close(p[1]);
}

Test(daemon_stop, serves_ready_descriptors_and_times_out)
{
	struct daemon_stop stop;
	struct pollfd fds[3];
	int p[2];
	cr_assert_eq(pipe(p), 0);
	cr_assert_eq(daemon_stop_open(&stop), 0);

	fds[0] = (struct pollfd){ .fd = p[0], .events = POLLIN };
	fds[1] = (struct pollfd){ .fd = p[1], .events = POLLOUT };
	cr_assert_eq(daemon_poll(&stop, fds, 2, 5000), 1);
	cr_assert_eq(fds[0].revents, 0);
	cr_assert(fds[1].revents & POLLOUT);
	cr_assert_eq(fds[2].fd, stop.fd, "the stop descriptor goes after the caller's");

	cr_assert_eq(daemon_poll(&stop, fds, 1, 10), 0, "time up");
	cr_assert_eq(stop.signal, 0);

	cr_assert_eq(write(p[1], "x", 1), 1);
	cr_assert_eq(daemon_poll(&stop, fds, 1, 5000), 1);
	cr_assert(fds[0].revents & POLLIN);
	cr_assert_eq(stop.signal, 0);
	daemon_stop_close(&stop);
	close(p[0]);
	close(p[1]);
}

Test(daemon_stop, without_a_descriptor_it_is_a_plain_poll)
{
	struct daemon_stop stop = { .fd = -1, .signal = 0 };
	struct pollfd fds[2];
	int p[2];
	cr_assert_eq(pipe(p), 0);
	fds[0] = (struct pollfd){ .fd = p[1], .events = POLLOUT };
	cr_assert_eq(daemon_poll(&stop, fds, 1, 5000), 1);
	cr_assert_eq(daemon_poll(&stop, fds, 0, 10), 0);
	cr_assert_eq(stop.signal, 0);
	daemon_stop_close(&stop);	/* harmless when not open */
	cr_assert_eq(stop.fd, -1);
	close(p[0]);
	close(p[1]);
}

Test(daemon_stop, sigpipe_is_ignored)
{
	struct daemon_stop stop;
	int p[2];
	cr_assert_eq(pipe(p), 0);
	close(p[0]);
	cr_assert_eq(daemon_stop_open(&stop), 0);
	errno = 0;
	cr_assert_eq(write(p[1], "x", 1), -1);
	cr_assert_eq(errno, EPIPE, "a write to a gone peer fails instead of killing");
	daemon_stop_close(&stop);
	close(p[1]);
}

Test(daemon_stop, signals_stay_blocked_after_close)
{
	struct daemon_stop stop;
	cr_assert_eq(daemon_stop_open(&stop), 0);
	daemon_stop_close(&stop);
	cr_assert(blocked(SIGTERM) && blocked(SIGINT));
	cr_assert_eq(raise(SIGTERM), 0, "a late signal waits instead of killing");
}

Test(daemon_stop, a_failed_open_leaves_the_signals_as_they_were)
{
	struct rlimit old, none = { 0, 0 };
	struct daemon_stop stop = { .fd = -1, .signal = 0 };
	cr_assert_not(blocked(SIGTERM));
	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
	none.rlim_max = old.rlim_max;
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &none), 0);	/* no descriptor to be had */
	int rc = daemon_stop_open(&stop);
	int err = errno;
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
	cr_assert_eq(rc, -1);
	cr_assert_eq(err, EMFILE);
	cr_assert_eq(stop.fd, -1);
	cr_assert_not(blocked(SIGTERM));
	cr_assert_not(blocked(SIGINT));
}
