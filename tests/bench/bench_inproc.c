/*
 * bench_inproc.c - in-process figures of the card platform for `make bench`:
 * the rate of SELECT + a trivial command, and the cost of one committed
 * 16-byte transaction on the memory backend, on a file, and on a file with
 * fsync at commit. Wall-clock, several rounds, best round reported.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "applets.h"
#include "card.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, enum vc_status st)
{
	fprintf(stderr, "bench_inproc: %s: %s\n", what, vc_status_str(st));
	exit(2);
}

static double select_and_nop_rate(void)
{
	static const uint8_t select[] = { 0x00, 0xA4, 0x04, 0x00, 0x08, 0xF0, 0x45, 0x43,
					  0x41, 0x52, 0x44, 0x44, 0x01 };
	static const uint8_t nop[] = { 0x80, 0x00, 0x00, 0x00 };
	static uint8_t rsp[VC_RSP_MAX];
	struct vc_storage *st;
	static struct vc_card card;
	size_t rlen;
	enum vc_status s;

	if ((s = vc_storage_mem_create(VC_NVM_DEFAULT_SIZE, &st)) != VC_OK ||
	    (s = vc_card_create(st, NULL, ecard_applets, ecard_applet_count, NULL)) != VC_OK)
		die("card", s);
	vc_card_init(&card, st, NULL);
	for (size_t i = 0; i < ecard_applet_count; i++)
		vc_card_register(&card, ecard_applets[i]);
	if ((s = vc_card_power_up(&card)) != VC_OK)
		die("power-up", s);

	const int n = 200000;
	double best = 0;
	for (int round = 0; round < 5; round++) {
		double t0 = now_s();
		for (int i = 0; i < n; i++) {
			vc_card_process(&card, select, sizeof(select), rsp, &rlen);
			if (rsp[rlen - 2] != 0x90)
				die("SELECT refused", VC_ERR_STATE);
			vc_card_process(&card, nop, sizeof(nop), rsp, &rlen);
			if (rsp[rlen - 2] != 0x90)
				die("NOP refused", VC_ERR_STATE);
		}
		double rate = n / (now_s() - t0);
		if (rate > best)
			best = rate;
	}
	vc_card_free(&card);
	vc_storage_destroy(st);
	return best;
}

/* Microseconds per committed transaction of 16 bytes. */
static double commit_cost(struct vc_storage *st, bool sync, int n)
{
	struct vc_nvm nvm = { .sync_on_commit = sync };
	struct vc_nvm_object o;
	enum vc_status s;
	if ((s = vc_nvm_format(st, VC_NVM_DEFAULT_JOURNAL)) != VC_OK ||
	    (s = vc_nvm_open(&nvm, st)) != VC_OK ||
	    (s = vc_nvm_alloc(&nvm, 1, 1, 16, &o)) != VC_OK)
		die("nvm", s);
	uint8_t v[16] = { 0 };
	double best = 1e9;
	for (int round = 0; round < 3; round++) {
		double t0 = now_s();
		for (int i = 0; i < n; i++) {
			v[0] = (uint8_t)i;
			if ((s = vc_nvm_begin(&nvm)) != VC_OK ||
			    (s = vc_nvm_write(&nvm, o.off, v, sizeof(v))) != VC_OK ||
			    (s = vc_nvm_commit(&nvm)) != VC_OK)
				die("commit", s);
		}
		double us = (now_s() - t0) * 1e6 / n;
		if (us < best)
			best = us;
	}
	vc_nvm_close(&nvm);
	return best;
}

int main(void)
{
	printf("in-process (libvcard, no I/O to the reader):\n");
	double rate = select_and_nop_rate();
	printf("  SELECT + NOP pairs: %.0f /s  (target >= 100000 /s: %s)\n", rate,
	       rate >= 100000 ? "PASS" : "MISS");

	struct vc_storage *mem;
	if (vc_storage_mem_create(VC_NVM_DEFAULT_SIZE, &mem) != VC_OK)
		die("memory", VC_ERR_NO_MEMORY);
	printf("  committed 16-byte transaction, memory backend: %.2f us\n",
	       commit_cost(mem, false, 200000));
	vc_storage_destroy(mem);

	char path[] = "/tmp/ecard-bench-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		die("temporary file", VC_ERR_IO);
	close(fd);
	unlink(path);
	struct vc_storage *file;
	if (vc_storage_file_create(path, VC_NVM_DEFAULT_SIZE, &file) != VC_OK)
		die("image file", VC_ERR_IO);
	printf("  committed 16-byte transaction, image file: %.2f us\n",
	       commit_cost(file, false, 50000));
	printf("  committed 16-byte transaction, image file with --sync: %.1f us\n",
	       commit_cost(file, true, 200));
	vc_storage_destroy(file);
	unlink(path);
	return 0;
}
