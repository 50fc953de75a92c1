/*
 * bench_util.c - what the benchmark programs share (bench_util.h).
 */
#include "bench_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "applets.h"
#include "inproc.h"

const char *bench_name = "bench";

double bench_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void bench_die(const char *what, const char *detail)
{
	fprintf(stderr, "%s: %s%s\n", bench_name, what, detail);
	exit(2);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

double bench_percentile(double *v, size_t n, double p)
{
	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	size_t i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
	return v[i < n ? i : n - 1];
}

void bench_card_make(struct bench_card *c, uint32_t number, size_t size)
{
	struct vc_card_options o = { .serial_set = true };
	o.serial[4] = (uint8_t)(number >> 24);
	o.serial[5] = (uint8_t)(number >> 16);
	o.serial[6] = (uint8_t)(number >> 8);
	o.serial[7] = (uint8_t)number;
	if (vc_storage_mem_create(size ? size : 512 * 1024, &c->st) != VC_OK ||
	    vc_card_create(c->st, &o, ecard_applets, ecard_applet_count, NULL) != VC_OK)
		bench_die("", "a card could not be made");
	vc_card_init(&c->card, c->st, NULL);
	for (size_t i = 0; i < ecard_applet_count; i++)
		vc_card_register(&c->card, ecard_applets[i]);
	if (vc_card_power_up(&c->card) != VC_OK)
		bench_die("", "a card did not power up");
	ec_pcsc_init(&c->pc, NULL);
	vc_inproc_attach(&c->pc, &c->card);
	snprintf(c->id, sizeof(c->id), "%08X", number);
}

void bench_card_free(struct bench_card *c)
{
	vc_card_free(&c->card);
	vc_storage_destroy(c->st);
}
