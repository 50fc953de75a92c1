/*
 * bench_inproc.c - in-process figures of the card platform for `make bench`:
 * the rate of SELECT + a trivial command, the cost of one committed 16-byte
 * transaction (memory backend, image file, image file with fsync at
 * commit), and the wallet's purse operations: top-ups (INITIALIZE LOAD +
 * CREDIT, with the issuer's S2 computed alongside) and purchases (VERIFY +
 * DEBIT: two ECDSA verifications and one signature on the card).
 * Wall-clock, several rounds, best round reported.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "applets.h"
#include "card.h"
#include "cursor.h"
#include "inproc.h"
#include "issuer.h"
#include "perso.h"
#include "purse.h"

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
	static const uint8_t select[] = { 0x00, ISO_INS_SELECT, ISO_SELECT_BY_AID, 0x00,
					  DIAG_AID_LEN, DIAG_AID };
	static const uint8_t nop[] = { DIAG_CLA, DIAG_INS_NOP, 0x00, 0x00 };
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

/* A personalized card on the memory backend, its issuer and a merchant. */
struct purse_bench {
	struct vc_storage *st;
	struct vc_card card;
	struct ec_issuer issuer;
	uint8_t kload[PURSE_KEY_LEN];
	uint8_t request[PURSE_DEBIT_REQUEST_LEN];
};

static void purse_setup(struct purse_bench *b)
{
	struct ec_error err = { 0 };
	struct ec_pcsc pc;
	uint8_t serial[PURSE_SERIAL_LEN], mpriv[CRYPTO_EC_PRIV_LEN], mpub[CRYPTO_EC_PUB_LEN];
	enum vc_status s;

	if ((s = vc_storage_mem_create(VC_NVM_DEFAULT_SIZE, &b->st)) != VC_OK ||
	    (s = vc_card_create(b->st, NULL, ecard_applets, ecard_applet_count, NULL)) != VC_OK)
		die("card", s);
	vc_card_init(&b->card, b->st, NULL);
	for (size_t i = 0; i < ecard_applet_count; i++)
		vc_card_register(&b->card, ecard_applets[i]);
	if ((s = vc_card_power_up(&b->card)) != VC_OK)
		die("power-up", s);

	b->issuer.currency = 978;
	b->issuer.max_balance = 10000000;
	b->issuer.isd_master.len = 16;
	if (crypto_random(b->issuer.master_key, sizeof(b->issuer.master_key)) != 0 ||
	    crypto_ec_generate(b->issuer.ca_priv, b->issuer.ca_pub) != 0 ||
	    crypto_random(b->issuer.isd_master.enc, 16) != 0 ||
	    crypto_random(b->issuer.isd_master.mac, 16) != 0 ||
	    crypto_random(b->issuer.isd_master.dek, 16) != 0)
		die("issuer keys", VC_ERR_IO);
	ec_pcsc_init(&pc, NULL);
	vc_inproc_attach(&pc, &b->card);
	struct ec_gp_keys test;
	ec_gp_default_keys(&test, 0);
	if (ec_personalize(&b->issuer, &pc, NULL, &test, NULL, serial, &err) != EC_OK) {
		fprintf(stderr, "bench_inproc: %s\n", err.text);
		exit(2);
	}
	purse_derive_kload(b->issuer.master_key, serial, b->kload);

	/* One merchant request, signed once: the card does not remember
	 * challenges, so replaying it measures the card's work only. */
	struct purse_debit_request r = { .amount = 1, .currency = 978 };
	memcpy(r.merchant_id, "BENCH001", PURSE_ID_LEN);
	crypto_random(r.challenge, sizeof(r.challenge));
	if (crypto_ec_generate(mpriv, mpub) != 0 ||
	    purse_cert_make(b->issuer.ca_priv, PURSE_CERT_MERCHANT, r.merchant_id, mpub, r.cert) != 0 ||
	    purse_debit_request_make(&r, mpriv, b->request) != 0)
		die("merchant", VC_ERR_IO);
}

static uint16_t xfer(struct purse_bench *b, const uint8_t *cmd, size_t len, uint8_t *rsp, size_t *rlen)
{
	vc_card_process(&b->card, cmd, len, rsp, rlen);
	return (uint16_t)(rsp[*rlen - 2] << 8 | rsp[*rlen - 1]);
}

/* Top-ups of 1 cent per second (INITIALIZE LOAD + CREDIT). */
static double credit_rate(struct purse_bench *b, int n)
{
	static uint8_t rsp[VC_RSP_MAX];
	uint8_t init[] = { 0x80, 0x40, 0, 0, 4, 0, 0, 0, 1, 0 };
	uint8_t credit[4 + 1 + PURSE_MAC_LEN + 1] = { 0x80, 0x42, 0, 0, PURSE_MAC_LEN };
	size_t rlen;
	double t0 = now_s();
	for (int i = 0; i < n; i++) {
		struct purse_load l = { .amount = 1 };
		if (xfer(b, init, sizeof(init), rsp, &rlen) != 0x9000)
			die("INITIALIZE LOAD refused", VC_ERR_STATE);
		memcpy(l.challenge, rsp, 16);
		memcpy(l.serial, rsp + 16, 8);
		l.counter = load_be32(rsp + 24);
		purse_s2(b->kload, &l, credit + 5);
		if (xfer(b, credit, sizeof(credit), rsp, &rlen) != 0x9000)
			die("CREDIT refused", VC_ERR_STATE);
	}
	return n / (now_s() - t0);
}

/* Purchases of 1 cent per second (VERIFY + DEBIT). */
static double debit_rate(struct purse_bench *b, int n)
{
	static uint8_t rsp[VC_RSP_MAX];
	static const uint8_t verify[] = { 0x00, 0x20, 0x00, 0x81, 0x08, '1', '2', '3', '4',
					  0xFF, 0xFF, 0xFF, 0xFF };
	uint8_t debit[5 + PURSE_DEBIT_REQUEST_LEN + 1] = { 0x80, 0x44, 0, 0, PURSE_DEBIT_REQUEST_LEN };
	size_t rlen;
	memcpy(debit + 5, b->request, PURSE_DEBIT_REQUEST_LEN);
	double t0 = now_s();
	for (int i = 0; i < n; i++) {
		if (xfer(b, verify, sizeof(verify), rsp, &rlen) != 0x9000 ||
		    xfer(b, debit, sizeof(debit), rsp, &rlen) != 0x9000)
			die("DEBIT refused", VC_ERR_STATE);
	}
	return n / (now_s() - t0);
}

static void purse_figures(void)
{
	static struct purse_bench b;
	static const uint8_t select[] = { 0x00, ISO_INS_SELECT, ISO_SELECT_BY_AID, 0x00,
					  WALLET_AID_LEN, WALLET_AID };
	static uint8_t rsp[VC_RSP_MAX];
	size_t rlen;
	purse_setup(&b);
	if (xfer(&b, select, sizeof(select), rsp, &rlen) != 0x9000)
		die("SELECT wallet", VC_ERR_STATE);
	double best_credit = 0, best_debit = 0;
	for (int round = 0; round < 3; round++) {
		double c = credit_rate(&b, 3000), d = debit_rate(&b, 1000);
		if (c > best_credit)
			best_credit = c;
		if (d > best_debit)
			best_debit = d;
	}
	printf("  wallet top-ups (INITIALIZE LOAD + CREDIT): %.0f /s (%.1f us each)\n", best_credit,
	       1e6 / best_credit);
	printf("  wallet purchases (VERIFY + DEBIT, ECDSA on the card): %.0f /s (%.1f us each)\n",
	       best_debit, 1e6 / best_debit);
	vc_card_free(&b.card);
	vc_storage_destroy(b.st);
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
	purse_figures();
	return 0;
}
