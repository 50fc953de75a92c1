/*
 * pinentry.c - the Assuan client side of a pinentry program (pinentry.h).
 */
#include "pinentry.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "crypto.h"
#include "hex.h"

#define LINE_MAX_ASSUAN 1002	/* the protocol's 1000 bytes, CR LF */

struct conversation {
	pid_t pid;
	int to, from;		/* the program's stdin, stdout */
	char buf[4096];
	size_t len;
	long long deadline_ms;
};

static long long now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static enum ec_status start(const struct ec_pinentry *pe, struct conversation *c,
			    struct ec_error *err)
{
	int in[2], out[2];
	const char *program = pe && pe->program ? pe->program : EC_PINENTRY_DEFAULT;

	memset(c, 0, sizeof(*c));
	c->pid = -1;
	c->deadline_ms = now_ms() + 1000LL * (pe && pe->timeout_s ? pe->timeout_s : EC_PINENTRY_TIMEOUT_S);
	if (pipe2(in, O_CLOEXEC) != 0)
		return ec_error_set(err, EC_ERR_FILE, "no pipe for pinentry: %s.", strerror(errno));
	if (pipe2(out, O_CLOEXEC) != 0) {
		close(in[0]);
		close(in[1]);
		return ec_error_set(err, EC_ERR_FILE, "no pipe for pinentry: %s.", strerror(errno));
	}
	pid_t pid = fork();
	if (pid < 0) {
		close(in[0]);
		close(in[1]);
		close(out[0]);
		close(out[1]);
		return ec_error_set(err, EC_ERR_FILE, "pinentry could not be started: %s.", strerror(errno));
	}
	if (pid == 0) {
		dup2(in[0], STDIN_FILENO);
		dup2(out[1], STDOUT_FILENO);
		execlp(program, program, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	c->pid = pid;
	c->to = in[1];
	c->from = out[0];
	return EC_OK;
}

static void finish(struct conversation *c)
{
	if (c->to >= 0) {
		ssize_t w = write(c->to, "BYE\n", 4);
		(void)w;
		close(c->to);
	}
	if (c->from >= 0)
		close(c->from);
	if (c->pid > 0) {
		/* A program that does not leave on BYE is ended. */
		for (int i = 0; i < 50; i++) {
			if (waitpid(c->pid, NULL, WNOHANG) == c->pid) {
				c->pid = -1;
				break;
			}
			struct timespec t = { 0, 20 * 1000000L };
			nanosleep(&t, NULL);
		}
		if (c->pid > 0) {
			kill(c->pid, SIGKILL);
			waitpid(c->pid, NULL, 0);
		}
	}
	crypto_wipe(c->buf, sizeof(c->buf));
	c->to = c->from = -1;
	c->pid = -1;
}

/* One line from the program, without its end: false at its end, on a
 * line too long, or when it has said nothing until the deadline. */
static bool read_line(struct conversation *c, char *line, size_t cap)
{
	for (;;) {
		char *nl = memchr(c->buf, '\n', c->len);
		if (nl) {
			size_t n = (size_t)(nl - c->buf);
			if (n >= cap)
				return false;
			memcpy(line, c->buf, n);
			line[n] = '\0';
			if (n && line[n - 1] == '\r')
				line[n - 1] = '\0';
			memmove(c->buf, nl + 1, c->len - n - 1);
			c->len -= n + 1;
			crypto_wipe(c->buf + c->len, n + 1);
			return true;
		}
		if (c->len == sizeof(c->buf))
			return false;
		long long left = c->deadline_ms - now_ms();
		if (left <= 0)
			return false;
		struct pollfd p = { .fd = c->from, .events = POLLIN };
		int r = poll(&p, 1, left > 1000 ? 1000 : (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			continue;
		ssize_t got = read(c->from, c->buf + c->len, sizeof(c->buf) - c->len);
		if (got <= 0)
			return false;
		c->len += (size_t)got;
	}
}

/* Send "COMMAND text", the text %-escaped as the protocol wants. */
static bool send_command(struct conversation *c, const char *command, const char *text)
{
	char line[LINE_MAX_ASSUAN];
	size_t n = (size_t)snprintf(line, sizeof(line), "%s", command);
	if (text) {
		line[n++] = ' ';
		for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
			if (n + 4 >= sizeof(line) - 2)
				return false;
			if (*p == '%' || *p == '\r' || *p == '\n' || *p < 0x20)
				n += (size_t)snprintf(line + n, 4, "%%%02X", *p);
			else
				line[n++] = (char)*p;
		}
	}
	line[n++] = '\n';
	signal(SIGPIPE, SIG_IGN);
	return write(c->to, line, n) == (ssize_t)n;
}

/* The answer to the last command: OK (true), ERR (false, *cancelled). */
static bool await_ok(struct conversation *c, bool *broken)
{
	char line[LINE_MAX_ASSUAN];
	*broken = false;
	while (read_line(c, line, sizeof(line))) {
		if (strncmp(line, "OK", 2) == 0 && (line[2] == '\0' || line[2] == ' '))
			return true;
		if (strncmp(line, "ERR", 3) == 0)
			return false;
		/* S (status) and # (comment) lines are skipped. */
	}
	*broken = true;
	return false;
}

static enum ec_status setup(const struct ec_pinentry *pe, struct conversation *c, const char *desc,
			    const char *prompt, struct ec_error *err)
{
	bool broken;
	enum ec_status s = start(pe, c, err);
	if (s != EC_OK)
		return s;
	if (!await_ok(c, &broken) ||
	    !send_command(c, "SETTITLE", pe && pe->title ? pe->title : "ecard") || !await_ok(c, &broken) ||
	    !send_command(c, "SETDESC", desc) || !await_ok(c, &broken) ||
	    (prompt && (!send_command(c, "SETPROMPT", prompt) || !await_ok(c, &broken)))) {
		finish(c);
		return ec_error_set(err, EC_ERR_FILE,
				    "the pinentry program (%s) did not answer as pinentry does: is it installed? (--pinentry)",
				    pe && pe->program ? pe->program : EC_PINENTRY_DEFAULT);
	}
	return EC_OK;
}

enum ec_status ec_pinentry_getpin(const struct ec_pinentry *pe, const char *desc,
				  const char *prompt, char *out, size_t cap, struct ec_error *err)
{
	struct conversation c;
	char line[LINE_MAX_ASSUAN];
	size_t n = 0;
	bool got = false, ok = false, too_long = false;

	if (cap)
		out[0] = '\0';
	enum ec_status s = setup(pe, &c, desc, prompt, err);
	if (s != EC_OK)
		return s;
	if (!send_command(&c, "GETPIN", NULL)) {
		finish(&c);
		return ec_error_set(err, EC_ERR_FILE, "the pinentry program went away.");
	}
	while (read_line(&c, line, sizeof(line))) {
		if (strncmp(line, "D ", 2) == 0) {
			for (const char *p = line + 2; *p; p++) {
				int ch = (unsigned char)*p;
				if (*p == '%' && hex_digit_value(p[1]) >= 0 && hex_digit_value(p[2]) >= 0) {
					ch = hex_digit_value(p[1]) * 16 + hex_digit_value(p[2]);
					p += 2;
				}
				if (n + 1 >= cap)
					too_long = true;
				else
					out[n++] = (char)ch;
			}
			got = true;
		} else if (strncmp(line, "OK", 2) == 0) {
			ok = true;
			break;
		} else if (strncmp(line, "ERR", 3) == 0) {
			break;
		}
	}
	crypto_wipe(line, sizeof(line));
	finish(&c);
	if (cap)
		out[n < cap ? n : cap - 1] = '\0';
	if (too_long) {
		crypto_wipe(out, cap);
		return ec_error_set(err, EC_ERR_ARG, "the PIN typed is too long.");
	}
	if (!ok || !got || n == 0) {
		crypto_wipe(out, cap);
		return ec_error_set(err, EC_ERR_CANCELLED, "the holder gave no PIN.");
	}
	return EC_OK;
}

enum ec_status ec_pinentry_confirm(const struct ec_pinentry *pe, const char *desc, bool *yes,
				   struct ec_error *err)
{
	struct conversation c;
	bool broken;

	*yes = false;
	enum ec_status s = setup(pe, &c, desc, NULL, err);
	if (s != EC_OK)
		return s;
	if (!send_command(&c, "CONFIRM", NULL)) {
		finish(&c);
		return ec_error_set(err, EC_ERR_FILE, "the pinentry program went away.");
	}
	*yes = await_ok(&c, &broken);
	finish(&c);
	return EC_OK;
}
