/*
 * port_file.h - where a program that listens on a port it was given as 0
 * says which one it got: the number and a newline, written to a temporary
 * file that is then renamed, so a reader never sees half of it
 * (ecard-server, ecard-shop, ecard agent --listen and ecard-netfault,
 * --port-file), and how they read the address to listen on.
 */
#ifndef ECARD_PORT_FILE_H
#define ECARD_PORT_FILE_H

#include <stdbool.h>
#include <stdint.h>

/* 0, or -1 with errno set. */
int port_file_write(const char *path, unsigned port);

/*
 * The --listen ADDR:PORT of those programs: "127.0.0.1:8443", "[::1]:8443"
 * (port 0: a free one). text is cut in place: *host points into it.
 */
bool listen_parse(char *text, const char **host, uint16_t *port);

#endif
