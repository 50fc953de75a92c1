/*
 * files.h - a whole file in memory, for ecard-server's certificates and
 * keys and the CAP files its jobs carry.
 */
#ifndef ECARD_SERVER_FILES_H
#define ECARD_SERVER_FILES_H

#include <stddef.h>

#include "error.h"

/* The file's bytes, NUL-terminated (malloc'd; *len, when given, does not
 * count the NUL); NULL with err set when it cannot be read. */
char *files_read(const char *path, size_t *len, struct ec_error *err);

#endif
