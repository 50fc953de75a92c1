/*
 * control.c - the control sockets' line protocol, server and client (see
 * control.h).
 */
#include "control.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "unix_socket.h"

void control_init(struct control *c)
{
	memset(c, 0, sizeof(*c));
	c->listen_fd = -1;
	for (int i = 0; i < CONTROL_MAX_CLIENTS; i++)
		c->clients[i].fd = -1;
}

int control_open(struct control *c, const char *path)
{
	if (strlen(path) >= sizeof(c->path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	int fd = unix_socket_listen(path, SOCK_STREAM, 4);
	if (fd < 0)
		return -1;
	c->listen_fd = fd;
	snprintf(c->path, sizeof(c->path), "%s", path);
	return 0;
}

static void drop_client(struct control_client *cl)
{
	if (cl->fd >= 0)
		close(cl->fd);
	cl->fd = -1;
	cl->len = 0;
}

void control_close(struct control *c)
{
	for (int i = 0; i < CONTROL_MAX_CLIENTS; i++)
		drop_client(&c->clients[i]);
	if (c->listen_fd >= 0) {
		close(c->listen_fd);
		unlink(c->path);
	}
	c->listen_fd = -1;
}

int control_fill_pollfds(const struct control *c, struct pollfd *fds, int max)
{
	int n = 0;
	if (c->listen_fd >= 0 && n < max)
		fds[n++] = (struct pollfd){ .fd = c->listen_fd, .events = POLLIN };
	for (int i = 0; i < CONTROL_MAX_CLIENTS && n < max; i++)
		if (c->clients[i].fd >= 0)
			fds[n++] = (struct pollfd){ .fd = c->clients[i].fd, .events = POLLIN };
	return n;
}

static void accept_client(struct control *c)
{
	int fd = accept4(c->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return;
	for (int i = 0; i < CONTROL_MAX_CLIENTS; i++) {
		if (c->clients[i].fd < 0) {
			c->clients[i].fd = fd;
			c->clients[i].len = 0;
			return;
		}
	}
	static const char busy[] = "error too many control connections\n";
	(void)!write(fd, busy, sizeof(busy) - 1);
	close(fd);
}

static void serve_client(struct control_client *cl, control_handler handler, void *arg)
{
	ssize_t n = read(cl->fd, cl->buf + cl->len, sizeof(cl->buf) - 1 - cl->len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		drop_client(cl);
		return;
	}
	cl->len += (size_t)n;
	for (;;) {
		char *nl = memchr(cl->buf, '\n', cl->len);
		if (!nl) {
			if (cl->len == sizeof(cl->buf) - 1) {
				static const char long_line[] = "error command line too long\n";
				(void)!write(cl->fd, long_line, sizeof(long_line) - 1);
				drop_client(cl);
			}
			return;
		}
		*nl = '\0';
		if (nl > cl->buf && nl[-1] == '\r')
			nl[-1] = '\0';
		char reply[CONTROL_LINE_MAX];
		handler(arg, cl->buf, reply, sizeof(reply) - 1);
		size_t rlen = strlen(reply);
		reply[rlen++] = '\n';
		if (write(cl->fd, reply, rlen) != (ssize_t)rlen) {
			drop_client(cl);
			return;
		}
		size_t used = (size_t)(nl - cl->buf) + 1;
		memmove(cl->buf, cl->buf + used, cl->len - used);
		cl->len -= used;
	}
}

void control_service(struct control *c, const struct pollfd *fds, int n,
		     control_handler handler, void *arg)
{
	for (int i = 0; i < n; i++) {
		if (!fds[i].revents)
			continue;
		if (fds[i].fd == c->listen_fd) {
			accept_client(c);
			continue;
		}
		for (int k = 0; k < CONTROL_MAX_CLIENTS; k++)
			if (c->clients[k].fd == fds[i].fd)
				serve_client(&c->clients[k], handler, arg);
	}
}

int control_request(const char *path, const char *cmd, char *reply, size_t reply_len)
{
	int fd = unix_socket_connect(path, SOCK_STREAM);
	if (fd < 0)
		return -1;
	char line[CONTROL_LINE_MAX];
	int len = snprintf(line, sizeof(line), "%s\n", cmd);
	if (len < 0 || (size_t)len >= sizeof(line) || write(fd, line, (size_t)len) != len) {
		close(fd);
		errno = EMSGSIZE;
		return -1;
	}
	size_t got = 0;
	while (got + 1 < reply_len) {
		ssize_t n = read(fd, reply + got, 1);
		if (n <= 0 || reply[got] == '\n')
			break;
		got++;
	}
	reply[got] = '\0';
	close(fd);
	return got > 0 ? 0 : -1;
}

long control_reply_value(const char *reply, const char *key)
{
	char pattern[40];
	int n = snprintf(pattern, sizeof(pattern), " %s=", key);
	if (n < 0 || (size_t)n >= sizeof(pattern))
		return -1;
	const char *p = strstr(reply, pattern);
	return p ? strtol(p + n, NULL, 10) : -1;
}

int control_cli(const char *program, int argc, char **argv)
{
	char cmd[CONTROL_LINE_MAX] = "", reply[CONTROL_LINE_MAX];

	if (argc < 3) {
		fprintf(stderr, "%s: usage: %s ctl PATH COMMAND [ARGS]\n", program, program);
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		if (strlen(cmd) + strlen(argv[i]) + 2 > sizeof(cmd)) {
			fprintf(stderr, "%s: the command is too long.\n", program);
			return 2;
		}
		if (i > 2)
			strcat(cmd, " ");
		strcat(cmd, argv[i]);
	}
	if (control_request(argv[1], cmd, reply, sizeof(reply)) != 0) {
		fprintf(stderr, "%s: no answer on control socket %s (%s): is %s running with --control?\n",
			program, argv[1], strerror(errno), program);
		return 2;
	}
	puts(reply);
	/* 0 done, 2 a command the daemon did not understand (as ecard's usage
	 * errors), 1 refused for another reason. */
	if (strncmp(reply, "ok", 2) == 0)
		return 0;
	return strncmp(reply, "error usage", 11) == 0 ? 2 : 1;
}
