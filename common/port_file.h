/*
 * port_file.h - where a program that listens on a port it was given as 0
 * says which one it got: the number and a newline, written to a temporary
 * file that is then renamed, so a reader never sees half of it
 * (ecard-server and ecard-netfault, --port-file).
 */
#ifndef ECARD_PORT_FILE_H
#define ECARD_PORT_FILE_H

/* 0, or -1 with errno set. */
int port_file_write(const char *path, unsigned port);

#endif
