/*
 * test_support.h - small helpers the Criterion tests share: exactly sized
 * heap copies (so AddressSanitizer sees any read past an input), a
 * temporary directory per test, where the test data is, and a logger that
 * keeps what it is given.
 */
#ifndef ECARD_TEST_SUPPORT_H
#define ECARD_TEST_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

#include "log.h"

/* tests/data (see its README), set by the build. */
#ifndef TEST_DATA_DIR
#error "TEST_DATA_DIR must be defined by the build"
#endif
#define TEST_DATA(name) TEST_DATA_DIR "/" name
/* A real CAP file from Oracle's converter: package 0102030405, applet
 * 0102030405060708, load file SHA-256 starting 8d5ac9e2. */
#define TEST_CAP_FIXTURE TEST_DATA("Empty_0102030405_8d5ac9e2_2.2.1.cap")

/* A heap copy of exactly len bytes (one byte for len 0); free() it. */
uint8_t *ts_exact_copy(const void *src, size_t len);

/*
 * A temporary directory for the test running now (Criterion runs each test
 * in a process of its own): ts_tmpdir_init() makes a fresh
 * /tmp/ecard-test-XXXXXX, as a suite's .init, and ts_tmpdir_fini() removes
 * it with everything in it, as its .fini. ts_tmp_path() names a file in it.
 */
void ts_tmpdir_init(void);
void ts_tmpdir_fini(void);
const char *ts_tmpdir(void);
const char *ts_tmp_path(char *buf, size_t cap, const char *name);

/* The permission bits of path (which must exist). */
unsigned ts_file_mode(const char *path);

/*
 * A logger at debug level that keeps every message in text, one a line
 * (what does not fit is dropped), for a test to look for what a library
 * logs, or must never log. The logger points back at the struct, which
 * must stay where ts_log_capture_init() found it while it is in use.
 */
struct ts_log_capture {
	struct logger logger;
	char text[16384];
};

void ts_log_capture_init(struct ts_log_capture *c);

#endif
