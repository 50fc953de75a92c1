/*
 * test_control.c - the control sockets' line protocol (common/control.c)
 * and the UNIX sockets under it (common/unix_socket.c).
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <stdbool.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "control.h"
#include "test_support.h"
#include "unix_socket.h"

static void no_handler(void *arg, const char *line, char *reply, size_t len)
{
	(void)arg;
	snprintf(reply, len, "ok %s", line);
}

Test(control, never_replaces_anything_but_a_socket)
{
	char dir[] = "/tmp/ecard-ctl-XXXXXX", path[64];
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/card.img", dir);
	FILE *f = fopen(path, "w");
	fputs("precious", f);
	fclose(f);

	struct control c;
	control_init(&c);
	cr_assert_eq(control_open(&c, path), -1, "a regular file is not replaced");
	cr_assert_eq(access(path, F_OK), 0, "and it is still there");

	snprintf(path, sizeof(path), "%s/ctl", dir);
	cr_assert_eq(control_open(&c, path), 0);
	control_close(&c);
	/* A stale socket left by a killed daemon is replaced. */
	int fd = unix_socket_listen(path, SOCK_STREAM, 1);
	cr_assert_geq(fd, 0);
	close(fd);
	control_init(&c);
	cr_assert_eq(control_open(&c, path), 0);

	/* One line in, one line out. */
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		char reply[64];
		int rc = control_request(path, "status", reply, sizeof(reply));
		_exit(rc == 0 && strcmp(reply, "ok status") == 0 ? 0 : 1);
	}
	bool answered = false;
	for (int i = 0; i < 50 && !answered; i++) {
		struct pollfd fds[4];
		int n = control_fill_pollfds(&c, fds, 4);
		if (poll(fds, (nfds_t)n, 100) > 0)
			control_service(&c, fds, n, no_handler, NULL);
		int status;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
			answered = true;
		}
	}
	cr_assert(answered, "the client got its answer line");
	control_close(&c);
	cr_assert_neq(access(path, F_OK), 0, "closing removes the socket");
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	cr_assert_eq(system(path), 0);
}

Test(control, reply_values)
{
	const char *reply = "ok status present=1 writes=12 tears=0 armed=-1";
	cr_assert_eq(control_reply_value(reply, "present"), 1);
	cr_assert_eq(control_reply_value(reply, "writes"), 12);
	cr_assert_eq(control_reply_value(reply, "tears"), 0);
	cr_assert_eq(control_reply_value(reply, "armed"), -1);
	cr_assert_eq(control_reply_value(reply, "write"), -1, "a key is a whole word");
	cr_assert_eq(control_reply_value(reply, "status"), -1, "a word without = is no key");
	cr_assert_eq(control_reply_value("ok writes=7", "writes"), 7);
}

Test(unix_socket, errors_say_why)
{
	char longpath[200];
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	errno = 0;
	cr_assert_eq(unix_socket_connect(longpath, SOCK_STREAM), -1);
	cr_assert_eq(errno, ENAMETOOLONG);
	errno = 0;
	cr_assert_eq(unix_socket_listen(longpath, SOCK_STREAM, 1), -1);
	cr_assert_eq(errno, ENAMETOOLONG);

	char dir[] = "/tmp/ecard-sock-XXXXXX", path[64];
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/none", dir);
	errno = 0;
	cr_assert_eq(unix_socket_connect(path, SOCK_SEQPACKET), -1, "nothing listens there");
	cr_assert_eq(errno, ENOENT);

	int l = unix_socket_listen(path, SOCK_SEQPACKET, 1);
	cr_assert_geq(l, 0);
	int c = unix_socket_connect(path, SOCK_SEQPACKET);
	cr_assert_geq(c, 0, "a listener of the same type takes the connection");
	cr_assert_eq(send(c, "xy", 2, 0), 2);
	int a = accept(l, NULL, NULL);
	cr_assert_geq(a, 0);
	char buf[8];
	cr_assert_eq(recv(a, buf, sizeof(buf), 0), 2, "a packet keeps its boundary");
	close(a);
	close(c);
	close(l);
	unlink(path);
	rmdir(dir);
}

Test(unix_socket, only_the_owner_may_connect_whatever_the_umask)
{
	char dir[] = "/tmp/ecard-sock-XXXXXX", path[64], ctl[64];
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/cable", dir);
	snprintf(ctl, sizeof(ctl), "%s/ctl", dir);

	/* The most permissive umask: a socket would be 0777. */
	mode_t before = umask(0);
	int l = unix_socket_listen(path, SOCK_SEQPACKET, 1);
	cr_assert_geq(l, 0);
	cr_assert_eq(ts_file_mode(path), 0600u, "the cable socket is 0%o", ts_file_mode(path));
	cr_assert_eq(umask(0), 0, "the caller's umask is left as it was");

	struct control c;
	control_init(&c);
	cr_assert_eq(control_open(&c, ctl), 0);
	cr_assert_eq(ts_file_mode(ctl), 0600u, "the control socket is 0%o", ts_file_mode(ctl));
	control_close(&c);

	/* A group-writable umask, replacing a stale socket of another mode. */
	close(l);
	cr_assert_eq(chmod(path, 0777), 0);
	umask(002);
	l = unix_socket_listen(path, SOCK_SEQPACKET, 1);
	cr_assert_geq(l, 0);
	cr_assert_eq(ts_file_mode(path), 0600u, "the cable socket is 0%o", ts_file_mode(path));
	cr_assert_eq(umask(before), 002, "the caller's umask is left as it was");

	/* Its owner still connects. */
	int s = unix_socket_connect(path, SOCK_SEQPACKET);
	cr_assert_geq(s, 0);
	close(s);
	close(l);
	unlink(path);
	rmdir(dir);
}
