/*
 * port_file.c - the port a program listens on, for those who wait for it
 * (port_file.h).
 */
#include "port_file.h"

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

int port_file_write(const char *path, unsigned port)
{
	char tmp[4096];

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	FILE *f = fopen(tmp, "w");
	if (!f)
		return -1;
	int bad = fprintf(f, "%u\n", port) < 0;
	if (fclose(f) != 0 || bad || rename(tmp, path) != 0) {
		int e = errno;
		unlink(tmp);
		errno = e;
		return -1;
	}
	return 0;
}
