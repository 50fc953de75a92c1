/*
 * test_support.c - helpers the Criterion tests share (see test_support.h).
 */
#include "test_support.h"

#include <criterion/criterion.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

uint8_t *ts_exact_copy(const void *src, size_t len)
{
	uint8_t *p = malloc(len ? len : 1);

	cr_assert_not_null(p);
	if (len)
		memcpy(p, src, len);
	return p;
}

/* The directory of the test running now; "" when there is none. */
static char tmpdir[64];

void ts_tmpdir_init(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ecard-test-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir), "cannot make a temporary directory");
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void ts_tmpdir_fini(void)
{
	if (tmpdir[0])
		nftw(tmpdir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
	tmpdir[0] = '\0';
}

const char *ts_tmpdir(void)
{
	cr_assert(tmpdir[0], "the suite has no temporary directory: give it .init = ts_tmpdir_init");
	return tmpdir;
}

const char *ts_tmp_path(char *buf, size_t cap, const char *name)
{
	int n = snprintf(buf, cap, "%s/%s", ts_tmpdir(), name);
	cr_assert(n > 0 && (size_t)n < cap, "the path of %s does not fit", name);
	return buf;
}

static void capture(void *arg, enum log_level level, const char *msg)
{
	struct ts_log_capture *c = arg;
	size_t used = strlen(c->text), len = strlen(msg);

	(void)level;
	if (used + len + 2 > sizeof(c->text))
		return;
	memcpy(c->text + used, msg, len);
	memcpy(c->text + used + len, "\n", 2);
}

void ts_log_capture_init(struct ts_log_capture *c)
{
	memset(c, 0, sizeof(*c));
	c->logger.level = LOG_DEBUG;
	c->logger.emit = capture;
	c->logger.arg = c;
}

unsigned ts_file_mode(const char *path)
{
	struct stat st;
	cr_assert_eq(stat(path, &st), 0, "%s does not exist", path);
	return (unsigned)(st.st_mode & 07777);
}
