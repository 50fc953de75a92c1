/*
 * test_support.c - helpers the Criterion tests share (see test_support.h).
 */
#include "test_support.h"

#include <criterion/criterion.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint8_t *ts_exact_copy(const void *src, size_t len)
{
	uint8_t *p = malloc(len ? len : 1);

	cr_assert_not_null(p);
	if (len)
		memcpy(p, src, len);
	return p;
}

void ts_tmpdir_make(char *dir, size_t cap, const char *tag)
{
	int n = snprintf(dir, cap, "/tmp/ecard-%s-XXXXXX", tag);
	cr_assert(n > 0 && (size_t)n < cap, "the temporary directory name does not fit");
	cr_assert_not_null(mkdtemp(dir), "cannot make a temporary directory");
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void ts_tmpdir_remove(char *dir)
{
	if (dir[0])
		nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
	dir[0] = '\0';
}
