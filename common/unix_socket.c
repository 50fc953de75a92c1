/*
 * unix_socket.c - UNIX-domain sockets by path (see unix_socket.h).
 */
#include "unix_socket.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static int fill_address(struct sockaddr_un *sa, const char *path)
{
	size_t n = strlen(path);

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (n >= sizeof(sa->sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sa->sun_path, path, n + 1);
	return 0;
}

static void close_keeping_errno(int fd)
{
	int saved = errno;
	close(fd);
	errno = saved;
}

int unix_socket_connect(const char *path, int type)
{
	struct sockaddr_un sa;

	if (fill_address(&sa, path) != 0)
		return -1;
	int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close_keeping_errno(fd);
		return -1;
	}
	return fd;
}

int unix_socket_listen(const char *path, int type, int backlog)
{
	struct sockaddr_un sa;
	struct stat st;

	if (fill_address(&sa, path) != 0)
		return -1;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			errno = EEXIST;
			return -1;
		}
		unlink(path);
	}
	int fd = socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	/*
	 * On Linux whoever may write the socket file may connect, and bind()
	 * gives it 0777 less the umask: under umask 002 the whole group could
	 * drive the card. The file is made 0600 by binding under umask 177
	 * rather than by a chmod() afterwards: fchmod() on the descriptor does
	 * not reach the file, and a chmod() by path acts on whatever the path
	 * names by then (in a shared directory, possibly not our socket), while
	 * this way the file never exists with another mode. The umask is the
	 * process's: the daemons that listen are single-threaded, and another
	 * thread creating a file meanwhile would only get a stricter mode.
	 */
	mode_t saved_umask = umask(0177);
	int rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(saved_umask);
	if (rc != 0 || listen(fd, backlog) != 0) {
		close_keeping_errno(fd);
		return -1;
	}
	return fd;
}
