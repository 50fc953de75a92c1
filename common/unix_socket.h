/*
 * unix_socket.h - UNIX-domain sockets by path, the one place that fills a
 * sockaddr_un: the control sockets of ecard-vcard and ecard-ccid-sim
 * (SOCK_STREAM) and the simulator's cable to the driver's "sim:"
 * transport (SOCK_SEQPACKET).
 */
#ifndef ECARD_UNIX_SOCKET_H
#define ECARD_UNIX_SOCKET_H

/*
 * Connect to the socket at path; type is SOCK_STREAM or SOCK_SEQPACKET
 * (close-on-exec is added). Returns the descriptor, or -1 with errno set
 * (ENAMETOOLONG for a path that does not fit a socket address).
 */
int unix_socket_connect(const char *path, int type);

/*
 * Listen at path, non-blocking and close-on-exec. A socket already there
 * (left by a process that was killed) is replaced; anything else there is
 * never touched: -1 with errno EEXIST, so a typo cannot delete a file.
 * The socket file is made 0600 whatever the umask: only its owner (and
 * root) may connect.
 */
int unix_socket_listen(const char *path, int type, int backlog);

#endif
