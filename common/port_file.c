/*
 * port_file.c - the port a program listens on, for those who wait for it
 * (port_file.h).
 */
#include "port_file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

bool listen_parse(char *text, const char **host, uint16_t *port)
{
	char *colon = strrchr(text, ':');
	char *end;

	if (!colon)
		return false;
	*colon = '\0';
	long p = strtol(colon + 1, &end, 10);
	if (*end || p < 0 || p > 65535 || colon == text || !colon[1])
		return false;
	if (text[0] == '[' && colon[-1] == ']') {
		colon[-1] = '\0';
		text++;
	}
	*host = text;
	*port = (uint16_t)p;
	return true;
}
