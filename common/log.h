/*
 * log.h - leveled logging through a sink the program owns.
 *
 * Libraries never decide where logs go: they receive a struct logger from
 * their caller (NULL means silent). Programs use logger_stderr() for the
 * usual "time level message" lines on standard error. Nothing secret is
 * ever passed to a logger: keys, PINs and PUKs are not logged, even at
 * debug level.
 */
#ifndef ECARD_LOG_H
#define ECARD_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

enum log_level {
	LOG_ERROR = 0,
	LOG_WARN = 1,
	LOG_INFO = 2,
	LOG_DEBUG = 3,
};

struct logger {
	enum log_level level;
	void (*emit)(void *arg, enum log_level level, const char *msg);
	void *arg;
	const char *prefix;	/* program name shown by the stderr sink */
};

/* A logger that writes to standard error. */
void logger_stderr(struct logger *lg, const char *prefix, enum log_level level);
/* Parse "error", "warn", "info", "debug"; returns -1 when unknown. */
int log_level_parse(const char *name);

void log_msg(const struct logger *lg, enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Hex dump of a buffer into a caller-owned string (truncated with "..."). */
const char *log_hex(char *out, size_t outlen, const uint8_t *data, size_t len);

#define LOG_E(lg, ...) log_msg((lg), LOG_ERROR, __VA_ARGS__)
#define LOG_W(lg, ...) log_msg((lg), LOG_WARN, __VA_ARGS__)
#define LOG_I(lg, ...) log_msg((lg), LOG_INFO, __VA_ARGS__)
#define LOG_D(lg, ...) \
	do { \
		if ((lg) && (lg)->level >= LOG_DEBUG) \
			log_msg((lg), LOG_DEBUG, __VA_ARGS__); \
	} while (0)

#endif
