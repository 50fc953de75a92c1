/*
 * bench_util.h - what the benchmark programs share: a clock, one way to
 * give up, percentiles, and a card in memory behind libecard's transport.
 */
#ifndef ECARD_BENCH_UTIL_H
#define ECARD_BENCH_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "card.h"
#include "pcsc.h"

/* The program's name in messages (set by main). */
extern const char *bench_name;

/* Seconds on the monotonic clock. */
double bench_now(void);
/* Print "NAME: what detail" and exit 2. */
void bench_die(const char *what, const char *detail) __attribute__((noreturn));
/* The p-th percentile (0..100) of v[0..n), which is sorted in place. */
double bench_percentile(double *v, size_t n, double p);

struct bench_card {
	struct vc_storage *st;
	struct vc_card card;
	struct ec_pcsc pc;
	char id[16];		/* its CPLC IC serial, as agents present it */
};

/* A new card in memory (size bytes of storage, 0: 512 KiB), serial and
 * identity from number, powered up, its pc attached. */
void bench_card_make(struct bench_card *c, uint32_t number, size_t size);
void bench_card_free(struct bench_card *c);

#endif
