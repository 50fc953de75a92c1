/*
 * files.c - a whole file in memory (files.h).
 */
#include "files.h"

#include <stdio.h>
#include <stdlib.h>

char *files_read(const char *path, size_t *len, struct ec_error *err)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n = -1;

	if (f && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n + 1)) && fread(buf, 1, (size_t)n, f) == (size_t)n) {
		buf[n] = '\0';
		fclose(f);
		if (len)
			*len = (size_t)n;
		return buf;
	}
	if (f)
		fclose(f);
	free(buf);
	ec_error_set(err, EC_ERR_FILE, "%s could not be read.", path);
	return NULL;
}
