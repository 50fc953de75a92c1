/*
 * log.c - the leveled logger and its standard-error sink.
 */
#include "log.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static const char *const level_names[] = { "error", "warn", "info", "debug" };

static void emit_stderr(void *arg, enum log_level level, const char *msg)
{
	const struct logger *lg = arg;
	struct timespec ts;
	struct tm tm;
	char when[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ld %s[%s] %s\n", when, ts.tv_nsec / 1000000L,
		lg->prefix ? lg->prefix : "", level_names[level], msg);
}

void logger_stderr(struct logger *lg, const char *prefix, enum log_level level)
{
	lg->level = level;
	lg->emit = emit_stderr;
	lg->arg = lg;
	lg->prefix = prefix;
}

int log_level_parse(const char *name)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcmp(name, level_names[i]) == 0)
			return (int)i;
	return -1;
}

void log_msg(const struct logger *lg, enum log_level level, const char *fmt, ...)
{
	if (!lg || !lg->emit || level > lg->level)
		return;
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	lg->emit(lg->arg, level, msg);
}

const char *log_hex(char *out, size_t outlen, const uint8_t *data, size_t len)
{
	static const char digits[] = "0123456789ABCDEF";
	size_t o = 0;

	if (outlen == 0)
		return out;
	for (size_t i = 0; i < len; i++) {
		if (o + 2 + 4 > outlen) {
			/* Leave room for the "..." marker and the terminator. */
			if (o + 4 <= outlen) {
				memcpy(out + o, "...", 3);
				o += 3;
			}
			break;
		}
		out[o++] = digits[data[i] >> 4];
		out[o++] = digits[data[i] & 15];
	}
	out[o] = '\0';
	return out;
}
