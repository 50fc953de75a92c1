/*
 * test_pcsc.c - the virtual card through the real stack: a private pcscd,
 * Debian's vpcd, ecard-vcard and libecard / the ecard CLI.
 *
 * Each test starts its own pcscd and card and stops them; the tests run one
 * at a time (pcscd's socket is one per namespace; see pcsc.test).
 */
#include <criterion/criterion.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "card.h"
#include "harness.h"
#include "hex.h"
#include "pcsc.h"

static struct harness h;
static struct ec_pcsc pc;

static void setup(void)
{
	harness_init(&h);
	harness_start_pcscd(&h);
	harness_start_vcard(&h, NULL);
	cr_assert(harness_wait_card(&h, true, 5000), "the card never appeared in %s", h.reader);
	ec_pcsc_init(&pc, NULL);
	cr_assert_eq(ec_establish(&pc), EC_OK);
}

static void teardown(void)
{
	ec_release(&pc);
	harness_stop(&h);
}

static void connect_card(void)
{
	enum ec_status st = EC_ERR_NO_CARD;
	/* Right after an insertion pcscd may still be resetting the card. */
	for (int i = 0; i < 50 && st != EC_OK; i++) {
		st = ec_connect(&pc, h.reader, 0);
		if (st != EC_OK)
			usleep(100000);
	}
	cr_assert_eq(st, EC_OK, "connect: %s", ec_strerror(&pc, st));
}

/* Exchange one APDU given in hex; returns the status word, fills data. */
static uint16_t xfer(const char *hex, uint8_t *data, size_t *data_len)
{
	uint8_t cmd[300], rsp[70000];
	size_t rlen;
	long n = hex_decode(hex, cmd, sizeof(cmd));
	cr_assert_geq(n, 4);
	enum ec_status st = ec_transmit(&pc, cmd, (size_t)n, rsp, sizeof(rsp), &rlen);
	cr_assert_eq(st, EC_OK, "transmit %s: %s", hex, ec_strerror(&pc, st));
	if (data) {
		memcpy(data, rsp, rlen - 2);
		*data_len = rlen - 2;
	}
	return ec_response_sw(rsp, rlen);
}

#define SELECT_DIAG "00 A4 04 00 08 F045434152444401"

static uint32_t read_counter(void)
{
	uint8_t data[300];
	size_t len;
	cr_assert_eq(xfer(SELECT_DIAG, NULL, NULL), 0x9000);
	cr_assert_eq(xfer("80 22 00 00 00", data, &len), 0x9000);
	cr_assert_eq(len, 4 + 256);
	return (uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 | (uint32_t)data[2] << 8 | data[3];
}

TestSuite(pcsc, .init = setup, .fini = teardown, .timeout = 90);

Test(pcsc, select_and_exchange)
{
	connect_card();
	uint8_t atr[40], expected[VC_ATR_MAX];
	size_t atr_len;
	cr_assert_eq(ec_get_atr(&pc, atr, sizeof(atr), &atr_len), EC_OK);
	size_t n = vc_card_atr(expected);
	cr_assert_eq(atr_len, n);
	cr_assert_arr_eq(atr, expected, n, "pcscd reports the card's ATR");

	uint8_t data[1024];
	size_t len;
	cr_assert_eq(xfer("80 10 00 00 01 AA", NULL, NULL), 0x6D00, "nothing selected yet");
	cr_assert_eq(xfer(SELECT_DIAG, NULL, NULL), 0x9000);
	cr_assert_eq(xfer("80 10 00 00 05 0102030405 00", data, &len), 0x9000);
	cr_assert_eq(len, 5);
	cr_assert_arr_eq(data, "\x01\x02\x03\x04\x05", 5);
	/* 300 bytes: 256 + 612C, fetched by libecard with GET RESPONSE. */
	cr_assert_eq(xfer("80 12 01 2C 00", data, &len), 0x9000);
	cr_assert_eq(len, 300);
	for (size_t i = 0; i < len; i++)
		cr_assert_eq(data[i], (uint8_t)i);
	cr_assert_eq(xfer("00 20 00 81 08 31323334FFFFFFFF", NULL, NULL), 0x9000);
	cr_assert_eq(xfer("00 70 00 00 01", data, &len), 0x9000);
	cr_assert_eq(data[0], 1);
}

Test(pcsc, extended_length_through_vpcd)
{
	connect_card();
	uint8_t data[2100];
	size_t len;
	cr_assert_eq(xfer(SELECT_DIAG, NULL, NULL), 0x9000);
	cr_assert_eq(xfer("80 12 08 00 00 00 00", data, &len), 0x9000);
	cr_assert_eq(len, 2048);
	cr_assert_eq(data[2047], (uint8_t)2047);
}

Test(pcsc, cli_readers_and_apdu)
{
	char prog[256], out[4096];
	const char *readers[] = { "readers", NULL };
	cr_assert_eq(harness_run(harness_program("ecard", prog, sizeof(prog)), readers, out, sizeof(out)), 0,
		     "%s", out);
	cr_assert(strstr(out, h.reader), "ecard readers lists %s: %s", h.reader, out);
	cr_assert(strstr(out, "card present"), "%s", out);

	const char *apdu[] = { "apdu", "--reader", h.reader, SELECT_DIAG, "80100000020A0B", NULL };
	cr_assert_eq(harness_run(prog, apdu, out, sizeof(out)), 0, "%s", out);
	cr_assert(strstr(out, "< 0A0B"), "%s", out);
	cr_assert(strstr(out, "SW 9000"), "%s", out);

	const char *refused[] = { "apdu", "--reader", h.reader, "00A4040003F0F0F0", NULL };
	cr_assert_eq(harness_run(prog, refused, out, sizeof(out)), 1, "a card refusal exits 1: %s", out);
	cr_assert(strstr(out, "SW 6A82"), "%s", out);

	const char *bad[] = { "apdu", "--reader", h.reader, "8010ZZ", NULL };
	cr_assert_eq(harness_run(prog, bad, out, sizeof(out)), 2, "bad hex is a usage error: %s", out);

	/* opensc-tool must accept the ATR too (it ships with the README's packages). */
	if (access("/usr/bin/opensc-tool", X_OK) == 0) {
		const char *args[] = { "--reader", "0", "--atr", NULL };
		cr_assert_eq(harness_run("/usr/bin/opensc-tool", args, out, sizeof(out)), 0, "%s", out);
		cr_assert(strstr(out, "3b:8b:01:80:73"), "opensc-tool -a: %s", out);
	}
}

static void tear_case(const char *when, uint32_t expected_delta)
{
	connect_card();
	cr_assert_eq(xfer(SELECT_DIAG, NULL, NULL), 0x9000);
	for (int i = 0; i < 5; i++)
		cr_assert_eq(xfer("80 20 00 00 04", NULL, NULL), 0x9000);
	uint32_t before = read_counter();
	cr_assert_eq(before, 5);

	char cmd[32];
	snprintf(cmd, sizeof(cmd), "tear %s", when);
	const char *reply = harness_ctl(&h, cmd);
	cr_assert(strncmp(reply, "ok", 2) == 0, "%s", reply);

	/* The command that tears gets no answer: the card is gone. */
	uint8_t c[] = { 0x80, 0x20, 0x00, 0x00, 0x04 }, rsp[64];
	size_t rlen;
	cr_assert_neq(ec_transmit(&pc, c, sizeof(c), rsp, sizeof(rsp), &rlen), EC_OK);
	cr_assert(harness_wait_card(&h, false, 3000), "pcscd never saw the card leave");
	cr_assert(harness_wait_card(&h, true, 6000), "the card never came back");

	ec_disconnect(&pc, SCARD_LEAVE_CARD);
	connect_card();
	cr_assert_eq(read_counter(), before + expected_delta, "tear %s", when);
	reply = harness_ctl(&h, "status");
	cr_assert(strstr(reply, "tears=1"), "%s", reply);
	cr_assert(strstr(reply, "connected=1"), "%s", reply);
}

Test(pcsc, tear_before_commit_point_rolls_back)
{
	/* INCREMENT = body, record, home, clear: tearing the record loses it. */
	tear_case("2 3", 0);
}

Test(pcsc, tear_after_commit_point_rolls_forward)
{
	tear_case("3 0", 1);
}

Test(pcsc, remove_and_insert)
{
	cr_assert_str_eq(harness_ctl(&h, "remove"), "ok removed");
	cr_assert(harness_wait_card(&h, false, 3000));
	const char *st = harness_ctl(&h, "status");
	cr_assert(strstr(st, "present=0"), "%s", st);
	cr_assert_str_eq(harness_ctl(&h, "insert"), "ok inserted");
	cr_assert(harness_wait_card(&h, true, 5000));
	connect_card();
	cr_assert_eq(read_counter(), 0);
}

Test(pcsc, pcscd_restart_reconnects)
{
	connect_card();
	cr_assert_eq(xfer(SELECT_DIAG, NULL, NULL), 0x9000);
	cr_assert_eq(xfer("80 20 00 00 04", NULL, NULL), 0x9000);
	cr_assert_eq(xfer("00 20 00 81 08 31323334FFFFFFFF", NULL, NULL), 0x9000);
	ec_release(&pc);

	harness_stop_pcscd(&h);
	usleep(300000);
	const char *st = harness_ctl(&h, "status");
	cr_assert(strstr(st, "connected=0"), "the card noticed pcscd left: %s", st);
	harness_start_pcscd(&h);
	cr_assert(harness_wait_card(&h, true, 8000), "the card did not reconnect to the new pcscd");

	ec_pcsc_init(&pc, NULL);
	cr_assert_eq(ec_establish(&pc), EC_OK);
	connect_card();
	cr_assert_eq(xfer("00 20 00 81", NULL, NULL), 0x63C3, "out of the reader, the session ended");
	cr_assert_eq(read_counter(), 1, "state survived");
}

Test(pcsc, kill9_keeps_every_acknowledged_transaction)
{
	connect_card();
	cr_assert_eq(xfer(SELECT_DIAG, NULL, NULL), 0x9000);
	for (int i = 0; i < 50; i++)
		cr_assert_eq(xfer("80 24 00 00 04 CAFEBABE", NULL, NULL), 0x9000);
	cr_assert_eq(harness_stop_vcard(&h, SIGKILL), -SIGKILL);
	cr_assert(harness_wait_card(&h, false, 3000));

	harness_start_vcard(&h, NULL);
	cr_assert(harness_wait_card(&h, true, 5000));
	ec_disconnect(&pc, SCARD_LEAVE_CARD);
	connect_card();
	cr_assert_eq(read_counter(), 50);
}

Test(pcsc, sigterm_exits_cleanly)
{
	cr_assert_eq(harness_stop_vcard(&h, SIGTERM), 0);
	cr_assert_neq(access(h.control, F_OK), 0, "the control socket is removed");
	cr_assert(harness_wait_card(&h, false, 3000));
}

Test(pcsc, sync_mode_and_tear_at_startup)
{
	harness_stop_vcard(&h, SIGTERM);
	cr_assert(harness_wait_card(&h, false, 3000));
	const char *extra[] = { "--sync", "--tear-at", "1:0", NULL };
	harness_start_vcard(&h, extra);
	cr_assert(harness_wait_card(&h, true, 5000));
	connect_card();
	cr_assert_eq(xfer(SELECT_DIAG, NULL, NULL), 0x9000);
	/* The first persistent write after power-up tears. */
	uint8_t c[] = { 0x80, 0x20, 0x00, 0x00, 0x04 }, rsp[64];
	size_t rlen;
	cr_assert_neq(ec_transmit(&pc, c, sizeof(c), rsp, sizeof(rsp), &rlen), EC_OK);
	cr_assert(harness_wait_card(&h, false, 3000));
	cr_assert(harness_wait_card(&h, true, 8000));
	ec_disconnect(&pc, SCARD_LEAVE_CARD);
	connect_card();
	cr_assert_eq(read_counter(), 0);
	cr_assert_eq(xfer("80 20 00 00 04", NULL, NULL), 0x9000, "a one-shot tear is spent");
	cr_assert_eq(read_counter(), 1);
}
