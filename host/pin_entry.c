/*
 * pin_entry.c - PINs from the terminal without echo, or from --pin-fd, and
 * the other secrets given on a descriptor, --value-fd and --password-fd
 * (see pin_entry.h).
 *
 * Secrets are read one byte at a time with read(2), never through stdio:
 * a stdio buffer would keep a copy nobody wipes, and on a descriptor it
 * would swallow the lines of the secrets that come after. The only state
 * outside the caller's buffers is what the signal handler needs to put the
 * terminal back: the descriptor whose echo is off and its saved settings.
 */
#include "pin_entry.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "crypto.h"

static const int guarded_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
#define N_GUARDED (sizeof(guarded_signals) / sizeof(guarded_signals[0]))

/* What the signal handler restores; echo_off_fd is -1 while echo is on. */
static volatile sig_atomic_t echo_off_fd = -1;
static struct termios saved_termios;
static struct sigaction previous_actions[N_GUARDED];

static void restore_and_reraise(int sig)
{
	int fd = echo_off_fd;
	if (fd >= 0) {
		tcsetattr(fd, TCSAFLUSH, &saved_termios);
		ssize_t r = write(fd, "\n", 1);
		(void)r;
		echo_off_fd = -1;
	}
	/* Hand the signal to whatever was there before (normally: terminate). */
	for (size_t i = 0; i < N_GUARDED; i++)
		if (guarded_signals[i] == sig)
			sigaction(sig, &previous_actions[i], NULL);
	raise(sig);
}

static void guard_signals(bool *installed)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = restore_and_reraise;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < N_GUARDED; i++) {
		installed[i] = false;
		if (sigaction(guarded_signals[i], NULL, &previous_actions[i]) != 0)
			continue;
		/* A signal the shell told us to ignore stays ignored. */
		if (previous_actions[i].sa_handler == SIG_IGN)
			continue;
		installed[i] = sigaction(guarded_signals[i], &sa, NULL) == 0;
	}
}

static void unguard_signals(const bool *installed)
{
	for (size_t i = 0; i < N_GUARDED; i++)
		if (installed[i])
			sigaction(guarded_signals[i], &previous_actions[i], NULL);
}

void pin_entry_init(struct pin_entry *pe, int fd)
{
	pe->fd = fd;
	pe->prompt = "PIN: ";
}

/*
 * One line from fd into out (cap bytes) without its line end. Returns 1 for
 * a line, 0 when the input ended before any byte, -1 on a read error (errno
 * set). *too_long when the line did not fit (the rest of it is read and
 * dropped); *len its length.
 */
static int read_line(int fd, char *out, size_t cap, size_t *len, bool *too_long)
{
	size_t n = 0;
	bool any = false;
	char c = 0;

	*too_long = false;
	for (;;) {
		ssize_t r = read(fd, &c, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		any = true;
		if (c == '\n')
			break;
		if (n + 1 < cap)
			out[n++] = c;
		else
			*too_long = true;
	}
	c = 0;
	if (n > 0 && out[n - 1] == '\r')
		n--;
	out[n] = '\0';
	*len = n;
	return any ? 1 : 0;
}

/*
 * What read_line() gave, as the readers return it: 0, or -1 with err set
 * and out wiped. source says where the line came from ("--pin-fd 3", "the
 * terminal"), what which secret it is; max is the longest line taken.
 */
static int finish(int r, size_t n, bool too_long, int saved_errno, const char *source,
		  const char *what, size_t max, char *out, size_t cap, struct ec_error *err)
{
	if (r == 1 && !too_long && n <= max)
		return 0;
	crypto_wipe(out, cap);
	if (r < 0)
		ec_error_set(err, EC_ERR_FILE, "reading %s from %s failed: %s.", what, source,
			     strerror(saved_errno));
	else if (r == 0)
		ec_error_set(err, EC_ERR_CANCELLED,
			     "%s ended before %s was given: nothing was sent to the card.", source, what);
	else
		ec_error_set(err, EC_ERR_ARG,
			     "%s read from %s is longer than %zu bytes: nothing was sent to the card.",
			     what, source, max);
	return -1;
}

int pin_entry_read_fd(int fd, const char *option, const char *what, char *out, size_t cap,
		      size_t max, size_t *len, struct ec_error *err)
{
	char source[48];
	size_t n = 0;
	bool too_long = false;
	int r = read_line(fd, out, cap, &n, &too_long);
	int saved_errno = errno;

	snprintf(source, sizeof(source), "%s %d", option, fd);
	if (max > cap - 1)
		max = cap - 1;
	if (finish(r, n, too_long, saved_errno, source, what, max, out, cap, err) != 0)
		return -1;
	if (len)
		*len = n;
	return 0;
}

static int read_terminal(const char *prompt, char *out, size_t cap, struct ec_error *err)
{
	struct termios quiet;
	bool installed[N_GUARDED];
	bool too_long = false;
	size_t n = 0;

	int tty = open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (tty < 0 || tcgetattr(tty, &saved_termios) != 0) {
		if (tty >= 0)
			close(tty);
		ec_error_set(err, EC_ERR_ARG,
			     "there is no terminal to ask for the PIN on: give it on a file descriptor with --pin-fd N (for example --pin-fd 3 3<pinfile).");
		return -1;
	}

	guard_signals(installed);
	quiet = saved_termios;
	quiet.c_lflag &= (tcflag_t)~(ECHO | ECHOE | ECHOK);
	quiet.c_lflag |= ECHONL;	/* the Enter key still moves to a new line */
	echo_off_fd = tty;
	tcsetattr(tty, TCSAFLUSH, &quiet);

	ssize_t w = write(tty, prompt, strlen(prompt));
	(void)w;
	int r = read_line(tty, out, cap, &n, &too_long);
	int saved_errno = errno;

	tcsetattr(tty, TCSAFLUSH, &saved_termios);
	echo_off_fd = -1;
	unguard_signals(installed);
	close(tty);
	return finish(r, n, too_long, saved_errno, "the terminal", "the PIN", cap - 1, out, cap, err);
}

int pin_entry_read(struct pin_entry *pe, const char *prompt, char *out, size_t cap,
		   struct ec_error *err)
{
	if (pe->fd < 0)
		return read_terminal(prompt, out, cap, err);
	return pin_entry_read_fd(pe->fd, "--pin-fd", "the PIN", out, cap, cap - 1, NULL, err);
}

int pin_entry_read_new(struct pin_entry *pe, const char *prompt, const char *again, char *out,
		       size_t cap, struct ec_error *err)
{
	char confirm[EC_PIN_TEXT_MAX];

	if (pin_entry_read(pe, prompt, out, cap, err) != 0)
		return -1;
	if (pe->fd >= 0)
		return 0;
	if (pin_entry_read(pe, again, confirm, sizeof(confirm), err) != 0) {
		crypto_wipe(out, cap);
		return -1;
	}
	bool same = strlen(out) == strlen(confirm) && crypto_equal(out, confirm, strlen(out));
	crypto_wipe(confirm, sizeof(confirm));
	if (!same) {
		crypto_wipe(out, cap);
		ec_error_set(err, EC_ERR_ARG,
			     "the two entries of the new PIN differ: nothing was sent to the card, try again.");
		return -1;
	}
	return 0;
}

int pin_entry_callback(void *arg, char pin[EC_PIN_TEXT_MAX], struct ec_error *err)
{
	struct pin_entry *pe = arg;
	return pin_entry_read(pe, pe->prompt ? pe->prompt : "PIN: ", pin, EC_PIN_TEXT_MAX, err);
}
