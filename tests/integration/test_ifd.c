/*
 * test_ifd.c - the reader driver (ifd-ecard) through a real pcscd: pcscd
 * loads the bundle from the build tree through a reader.conf.d entry
 * whose DEVICENAME is sim:SOCKET, and the driver talks CCID to
 * ecard-ccid-sim, which holds a vcard. Every exchange level is exercised
 * with short and extended APDUs, card insertion and removal are watched
 * with SCardGetStatusChange, the simulated reader is unplugged under
 * pcscd, and faults are injected on the CCID wire at every block of a
 * long T=1 exchange.
 */
#include <criterion/criterion.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <PCSC/reader.h>

#include "harness.h"
#include "hex.h"
#include "pcsc.h"

static struct harness h;
static struct ec_pcsc pc;

#define SELECT_DIAG "00A4040008F045434152444401"

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void init(void)
{
	harness_init(&h);
	/* A short answer timeout keeps the dropped-answer loops quick. */
	setenv("ECARD_IFD_TIMEOUT_MS", "400", 1);
	setenv("ECARD_IFD_ALLOW_ESCAPE", "1", 1);
}

/* The simulator with h.image in slot 0 and args, then pcscd with the
 * driver; returns when pcscd lists the simulated reader. */
static void launch(const char *const *args)
{
	const char *argv[32];
	int n = 0;
	argv[n++] = "--image";
	argv[n++] = h.image;
	for (int i = 0; args && args[i] && n < 31; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	harness_start_ccid_sim(&h, argv);
	harness_start_pcscd(&h);
	for (int i = 0; i < 100 && !harness_reader_listed(h.sim_reader); i++)
		usleep(50000);
	cr_assert(harness_reader_listed(h.sim_reader), "pcscd did not list %s (see %s/pcscd.log)",
		  h.sim_reader, h.dir);
	ec_pcsc_init(&pc, NULL);
	cr_assert_eq(ec_establish(&pc), EC_OK);
}

static void teardown(void)
{
	ec_release(&pc);
	harness_stop(&h);
}

static void connect_reader(const char *reader, DWORD protocols)
{
	enum ec_status st = EC_ERR_NO_CARD;
	for (int i = 0; i < 50 && st != EC_OK; i++) {
		st = ec_connect_name(&pc, reader, protocols);
		if (st != EC_OK)
			usleep(100000);
	}
	cr_assert_eq(st, EC_OK, "connect to %s: %s", reader, ec_strerror(&pc, st));
}

/* Transmit (with 61xx/6Cxx handled by libecard); the status word, or 0
 * when the exchange itself failed. */
static uint16_t xfer_bytes(const uint8_t *cmd, size_t len, uint8_t *data, size_t *data_len)
{
	static uint8_t rsp[70000];
	size_t rlen = 0;
	enum ec_status st = ec_transmit(&pc, cmd, len, rsp, sizeof(rsp), &rlen);
	if (st != EC_OK)
		return 0;
	if (data) {
		memcpy(data, rsp, rlen - 2);
		*data_len = rlen - 2;
	}
	return ec_response_sw(rsp, rlen);
}

static uint16_t xfer(const char *hex, uint8_t *data, size_t *data_len)
{
	uint8_t cmd[300];
	long n = hex_decode(hex, cmd, sizeof(cmd));
	cr_assert_geq(n, 4);
	return xfer_bytes(cmd, (size_t)n, data, data_len);
}

/* ECHO of n bytes (diag applet), short or extended encoding; true when
 * the data came back intact with 9000. */
static bool echo(size_t n, bool extended)
{
	static uint8_t cmd[70000], data[70000];
	size_t len = 0, got = 0;
	cmd[len++] = 0x80;
	cmd[len++] = 0x10;
	cmd[len++] = 0x00;
	cmd[len++] = 0x00;
	if (extended) {
		cmd[len++] = 0x00;
		cmd[len++] = (uint8_t)(n >> 8);
		cmd[len++] = (uint8_t)n;
	} else {
		cmd[len++] = (uint8_t)n;
	}
	for (size_t i = 0; i < n; i++)
		cmd[len++] = (uint8_t)(i * 7 + 3);
	cmd[len++] = 0x00;
	if (extended)
		cmd[len++] = 0x00;
	uint16_t sw = xfer_bytes(cmd, len, data, &got);
	return sw == 0x9000 && got == n && memcmp(data, cmd + (extended ? 7 : 5), n) == 0;
}

/* GENERATE n bytes: the card's pattern i & FF. */
static bool generate(size_t n)
{
	static uint8_t data[70000];
	char hex[32];
	size_t got = 0;
	snprintf(hex, sizeof(hex), "8012%04zX00", n);
	if (xfer(hex, data, &got) != 0x9000 || got != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (data[i] != (uint8_t)i)
			return false;
	return true;
}

/* The common check of one exchange level. */
static void exchange_level(const char *const *args, DWORD want_protocol, bool extended_ok)
{
	init();
	launch(args);
	connect_reader(h.sim_reader, 0);
	cr_expect_eq(pc.protocol, want_protocol, "protocol %lu, expected %lu",
		     (unsigned long)pc.protocol, (unsigned long)want_protocol);
	cr_assert_eq(xfer(SELECT_DIAG, NULL, NULL), 0x9000);
	cr_assert(echo(1, false));
	cr_assert(echo(200, false));
	cr_assert(echo(255, false));
	cr_assert(generate(256));
	cr_assert(generate(700), "a 700-byte answer (61xx or chained) did not arrive intact");
	if (extended_ok) {
		cr_assert(echo(256, true));
		cr_assert(echo(1000, true));
		cr_assert(echo(4000, true));
	} else {
		/* Refused cleanly, and the card is still there afterwards. */
		cr_assert_not(echo(1000, true));
		cr_assert_eq(xfer(SELECT_DIAG, NULL, NULL), 0x9000);
		cr_assert(echo(100, false));
	}
	cr_assert(strstr(harness_sim_ctl(&h, "status"), "ok"), "simulator status failed");
}

/* A counter of the simulator's status ("messages", "time_extensions"). */
static long sim_value(const char *key)
{
	long v = harness_sim_ctl_value(&h, "status", key);
	cr_assert_geq(v, 0, "no %s in the simulator's status: %s", key,
		      harness_sim_ctl(&h, "status"));
	return v;
}

TestSuite(ifd, .fini = teardown, .timeout = 180);

Test(ifd, tpdu_t1)
{
	const char *args[] = { "--level", "tpdu", "--protocol", "t1", NULL };
	exchange_level(args, SCARD_PROTOCOL_T1, true);
}

Test(ifd, tpdu_t1_crc_small_ifsc_pps)
{
	/* CRC, IFSC 16 (long chains both ways), TA1 = 96 (a PPS is needed),
	 * and a card that asks for more time with S(WTX). */
	const char *args[] = { "--level", "tpdu", "--protocol", "t1", "--edc", "crc", "--ifsc", "16",
			       "--ta1", "96", "--wtx", "1", "--max-ifsd", "20", NULL };
	exchange_level(args, SCARD_PROTOCOL_T1, true);
}

Test(ifd, tpdu_t0)
{
	const char *args[] = { "--level", "tpdu", "--protocol", "t0", NULL };
	exchange_level(args, SCARD_PROTOCOL_T0, false);
}

Test(ifd, tpdu_t0_and_t1_card)
{
	/* The card offers both; pcscd prefers T=1, which needs a PPS since
	 * T=0 is the card's first protocol. */
	const char *args[] = { "--level", "tpdu", "--protocol", "t0t1", NULL };
	exchange_level(args, SCARD_PROTOCOL_T1, true);
}

/* The reader QEMU emulates as usb-ccid: it negotiates with the card by
 * itself (dwFeatures 000104FE) and answers SetParameters with dwLength 0
 * and 7 bytes after; 29dbe75's driver failed every SCardConnect on it. */
Test(ifd, qemu_usb_ccid_reader)
{
	const char *args[] = { "--model", "qemu", NULL };
	exchange_level(args, SCARD_PROTOCOL_T0, false);
}

Test(ifd, qemu_usb_ccid_reader_with_a_t1_card)
{
	const char *args[] = { "--model", "qemu", "--protocol", "t1", NULL };
	exchange_level(args, SCARD_PROTOCOL_T1, true);
}

Test(ifd, short_apdu)
{
	const char *args[] = { "--level", "short", NULL };
	exchange_level(args, SCARD_PROTOCOL_T1, false);
}

Test(ifd, extended_apdu)
{
	/* A small reader buffer: commands and responses both go in parts. */
	const char *args[] = { "--level", "extended", "--max-message", "271", NULL };
	exchange_level(args, SCARD_PROTOCOL_T1, true);
}

Test(ifd, time_extensions)
{
	const char *args[] = { "--level", "extended", "--time-extensions", "3", NULL };
	exchange_level(args, SCARD_PROTOCOL_T1, true);
	cr_assert_gt(sim_value("time_extensions"), 0, "the simulator sent no time extension");
}

/* Insertion and removal seen through SCardGetStatusChange. */
Test(ifd, insert_remove)
{
	const char *args[] = { "--level", "tpdu", "--protocol", "t1", NULL };
	init();
	launch(args);
	cr_assert(harness_wait_reader_card(h.sim_reader, true, 5000));
	for (int round = 0; round < 3; round++) {
		long long t0 = now_ms();
		cr_assert(strncmp(harness_sim_ctl(&h, "remove"), "ok", 2) == 0);
		cr_assert(harness_wait_reader_card(h.sim_reader, false, 5000),
			  "round %d: pcscd did not see the removal", round);
		long long removed_ms = now_ms() - t0;
		t0 = now_ms();
		cr_assert(strncmp(harness_sim_ctl(&h, "insert"), "ok", 2) == 0);
		cr_assert(harness_wait_reader_card(h.sim_reader, true, 5000),
			  "round %d: pcscd did not see the insertion", round);
		long long inserted_ms = now_ms() - t0;
		printf("ifd: card events by interrupt, round %d: removal seen after %lld ms, "
		       "insertion after %lld ms\n", round, removed_ms, inserted_ms);
		connect_reader(h.sim_reader, 0);
		cr_assert_eq(xfer(SELECT_DIAG, NULL, NULL), 0x9000);
		cr_assert(echo(300, true));
		ec_disconnect(&pc, SCARD_LEAVE_CARD);
	}

	/* Card events come by interrupt: an idle reader sees next to no
	 * traffic, with a card and without (pcscd wakes its polling threads
	 * on every connect; a driver taking that for "stop for good" made
	 * them spin on GetSlotStatus). */
	for (int with_card = 1; with_card >= 0; with_card--) {
		long before = sim_value("messages");
		usleep(1000000);
		long idle = sim_value("messages") - before;
		cr_assert_leq(idle, 5, "%ld CCID messages in 1 s of an idle reader (%s card)", idle,
			      with_card ? "with" : "without");
		if (with_card) {
			cr_assert(strncmp(harness_sim_ctl(&h, "remove"), "ok", 2) == 0);
			cr_assert(harness_wait_reader_card(h.sim_reader, false, 5000));
		}
	}
}

/* Pull the reader out from under pcscd: it drops it and keeps serving. */
Test(ifd, unplug)
{
	const char *args[] = { "--level", "extended", NULL };
	init();
	launch(args);
	connect_reader(h.sim_reader, 0);
	cr_assert_eq(xfer(SELECT_DIAG, NULL, NULL), 0x9000);
	cr_assert(strncmp(harness_sim_ctl(&h, "unplug"), "ok", 2) == 0);

	/* The exchange in progress fails cleanly... */
	cr_assert_eq(xfer(SELECT_DIAG, NULL, NULL), 0, "an APDU went through an unplugged reader");
	/* ...and pcscd stops offering a usable reader. */
	SCARDCONTEXT ctx;
	cr_assert_eq(SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx), SCARD_S_SUCCESS);
	bool dropped = false;
	for (int i = 0; i < 100 && !dropped; i++) {
		SCARD_READERSTATE rs = { .szReader = h.sim_reader,
					 .dwCurrentState = SCARD_STATE_UNAWARE };
		LONG rv = SCardGetStatusChange(ctx, 0, &rs, 1);
		dropped = rv == SCARD_E_UNKNOWN_READER ||
			  (rv == SCARD_S_SUCCESS &&
			   (rs.dwEventState & (SCARD_STATE_UNAVAILABLE | SCARD_STATE_UNKNOWN)));
		if (!dropped)
			usleep(100000);
	}
	cr_assert(dropped, "pcscd still reports %s as a working reader", h.sim_reader);
	cr_assert_eq(kill(h.pcscd, 0), 0, "pcscd died when the reader went away");
	/* The other reader (vpcd) is still served. */
	cr_assert(harness_reader_listed(h.reader), "pcscd lost its other reader");

	/* Plugged back in, the reader and its card come back, as a USB
	 * reader plugged in again would, and answer. */
	cr_assert(strncmp(harness_sim_ctl(&h, "replug"), "ok", 2) == 0);
	bool back = false;
	long long t0 = now_ms();
	for (int i = 0; i < 100 && !back; i++) {
		SCARD_READERSTATE rs = { .szReader = h.sim_reader,
					 .dwCurrentState = SCARD_STATE_UNAWARE };
		back = SCardGetStatusChange(ctx, 0, &rs, 1) == SCARD_S_SUCCESS &&
		       (rs.dwEventState & SCARD_STATE_PRESENT);
		if (!back)
			usleep(100000);
	}
	SCardReleaseContext(ctx);
	cr_assert(back, "the reader did not come back after replug");
	printf("ifd: replug: the reader and its card are back after %lld ms\n", now_ms() - t0);
	ec_disconnect(&pc, SCARD_LEAVE_CARD);
	connect_reader(h.sim_reader, 0);
	cr_assert_eq(xfer(SELECT_DIAG, NULL, NULL), 0x9000, "the card answers after replug");
}

/* Two slots, two cards, each with its own counter. */
Test(ifd, multi_slot)
{
	init();
	char second[128], prog[256], out[512];
	snprintf(second, sizeof(second), "%s/card2.img", h.dir);
	const char *mk[] = { "--new", "--image", second, "--serial", "1112131415161718", NULL };
	cr_assert_eq(harness_run(harness_program("ecard-vcard", prog, sizeof(prog)), mk, out,
				 sizeof(out)), 0, "%s", out);
	const char *args[] = { "--image", second, "--slots", "2", "--level", "tpdu", "--protocol",
			       "t1", NULL };
	launch(args);
	char slot1[80];
	snprintf(slot1, sizeof(slot1), "ecard-sim-%d 00 01", h.port);
	for (int i = 0; i < 50 && !harness_reader_listed(slot1); i++)
		usleep(100000);
	cr_assert(harness_reader_listed(slot1), "the second slot %s is not listed", slot1);

	uint8_t data[300];
	size_t len;
	uint32_t counters[2];
	for (int round = 0; round < 2; round++) {
		for (int s = 0; s < 2; s++) {
			connect_reader(s ? slot1 : h.sim_reader, 0);
			cr_assert_eq(xfer(SELECT_DIAG, NULL, NULL), 0x9000);
			/* Slot 1 counts twice as fast. */
			for (int k = 0; k <= s; k++)
				cr_assert_eq(xfer("8020000004", data, &len), 0x9000);
			cr_assert_eq(len, 4);
			uint32_t c = (uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 |
				     (uint32_t)data[2] << 8 | data[3];
			if (round == 1)
				cr_assert_eq(c - counters[s], (uint32_t)(s + 1),
					     "slot %d counted %u", s, c - counters[s]);
			counters[s] = c;
			cr_assert(echo(500, true));
		}
	}
	/* Removing the card of slot 1 leaves slot 0 alone. */
	cr_assert(strncmp(harness_sim_ctl(&h, "remove 1"), "ok", 2) == 0);
	cr_assert(harness_wait_reader_card(slot1, false, 5000));
	cr_assert(harness_wait_reader_card(h.sim_reader, true, 1000));
}

/* PC/SC v2 part 10: the feature list, the TLV properties, CCID escape. */
Test(ifd, part10_features)
{
	const char *args[] = { "--level", "extended", NULL };
	init();
	launch(args);
	SCARDCONTEXT ctx;
	SCARDHANDLE card;
	DWORD proto, n = 0;
	cr_assert_eq(SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx), SCARD_S_SUCCESS);
	cr_assert_eq(SCardConnect(ctx, h.sim_reader, SCARD_SHARE_DIRECT, 0, &card, &proto),
		     SCARD_S_SUCCESS);
	uint8_t buf[256];
	cr_assert_eq(SCardControl(card, CM_IOCTL_GET_FEATURE_REQUEST, NULL, 0, buf, sizeof(buf), &n),
		     SCARD_S_SUCCESS);
	cr_assert_eq(n % 6, 0, "feature list of %lu bytes", (unsigned long)n);
	DWORD tlv_ioctl = 0, esc_ioctl = 0;
	for (DWORD i = 0; i + 6 <= n; i += 6) {
		cr_assert_eq(buf[i + 1], 4);
		DWORD code = (DWORD)buf[i + 2] << 24 | (DWORD)buf[i + 3] << 16 |
			     (DWORD)buf[i + 4] << 8 | buf[i + 5];
		if (buf[i] == FEATURE_GET_TLV_PROPERTIES)
			tlv_ioctl = code;
		if (buf[i] == FEATURE_CCID_ESC_COMMAND)
			esc_ioctl = code;
	}
	cr_assert_neq(tlv_ioctl, 0, "no FEATURE_GET_TLV_PROPERTIES");
	cr_assert_neq(esc_ioctl, 0, "no FEATURE_CCID_ESC_COMMAND although it was allowed");

	cr_assert_eq(SCardControl(card, tlv_ioctl, NULL, 0, buf, sizeof(buf), &n), SCARD_S_SUCCESS);
	long max_apdu = -1, vendor = -1;
	for (DWORD i = 0; i + 2 <= n && i + 2 + buf[i + 1] <= n; i += 2 + buf[i + 1]) {
		uint32_t v = 0;
		for (int k = buf[i + 1] - 1; k >= 0; k--)
			v = v << 8 | buf[i + 2 + k];
		if (buf[i] == PCSCv2_PART10_PROPERTY_dwMaxAPDUDataSize)
			max_apdu = v;
		if (buf[i] == PCSCv2_PART10_PROPERTY_wIdVendor)
			vendor = v;
	}
	cr_assert_eq(max_apdu, 65535, "dwMaxAPDUDataSize %ld at extended APDU level", max_apdu);
	cr_assert_gt(vendor, 0, "no wIdVendor");

	const uint8_t esc[] = { 0x01 };
	cr_assert_eq(SCardControl(card, esc_ioctl, esc, sizeof(esc), buf, sizeof(buf), &n),
		     SCARD_S_SUCCESS);
	cr_assert_gt(n, 0, "empty escape answer");
	cr_assert(memmem(buf, n, "ecard-ccid-sim", 14), "escape answer: %.*s", (int)n, buf);

	/* An unknown control code is refused, not crashed on. */
	cr_assert_neq(SCardControl(card, SCARD_CTL_CODE(3999), NULL, 0, buf, sizeof(buf), &n),
		      SCARD_S_SUCCESS);
	SCardDisconnect(card, SCARD_LEAVE_CARD);
	SCardReleaseContext(ctx);
}

/*
 * Faults on the wire at every message of a long exchange: a 1000-byte
 * ECHO at T=1 with IFSC 32 is some 70 blocks. For each kind of fault and
 * each block k, the k-th answer of the simulator is damaged; the ECHO must
 * then come back intact or fail cleanly, and the next exchange must work
 * (after a reconnect that resets the card, when the driver gave up).
 */
static void fault_loop(const char *where, const char *kind, int every, int *ok, int *failed)
{
	char cmd[64];
	int k_max = 0;
	/* How many answers one ECHO takes: count with a clean run. */
	long before = sim_value("messages");
	cr_assert(echo(1000, true));
	int messages = (int)(sim_value("messages") - before);
	cr_assert_gt(messages, 0);
	for (int k = 1; k <= messages; k += every) {
		snprintf(cmd, sizeof(cmd), "fault %s %d", kind, k);
		cr_assert(strncmp(harness_sim_ctl(&h, cmd), "ok", 2) == 0, "%s",
			  harness_sim_ctl(&h, cmd));
		if (echo(1000, true))
			(*ok)++;
		else
			(*failed)++;
		/* Whatever happened, the card must be usable again. */
		bool usable = xfer(SELECT_DIAG, NULL, NULL) == 0x9000;
		if (!usable) {
			ec_reconnect(&pc, SCARD_RESET_CARD);
			usable = xfer(SELECT_DIAG, NULL, NULL) == 0x9000;
		}
		cr_assert(usable, "fault %s at message %d left the card unusable", kind, k);
		cr_assert(echo(300, true), "fault %s at message %d: the next exchange failed", kind,
			  k);
		k_max = k;
	}
	snprintf(cmd, sizeof(cmd), "fault %s 0", kind);
	harness_sim_ctl(&h, cmd);
	printf("ifd: %s, a 1000-byte ECHO, fault %s at message 1..%d (every %d): %d intact, "
	       "%d failed cleanly, card usable after each\n", where, kind, k_max, every, *ok, *failed);
}

Test(ifd, t1_faults_every_block, .timeout = 600)
{
	const char *args[] = { "--level", "tpdu", "--protocol", "t1", "--ifsc", "32", NULL };
	init();
	launch(args);
	connect_reader(h.sim_reader, 0);
	cr_assert_eq(xfer(SELECT_DIAG, NULL, NULL), 0x9000);
	const char *kinds[] = { "flip", "drop", "seq", "garbage", "truncate" };
	int total_ok = 0, total_failed = 0;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		int ok = 0, failed = 0;
		/* Dropped answers cost a timeout each: every third block. */
		fault_loop("TPDU level, T=1, IFSC 32", kinds[i], strcmp(kinds[i], "drop") == 0 ? 3 : 1,
			   &ok, &failed);
		total_ok += ok;
		total_failed += failed;
	}
	/* T=1 recovers from a damaged block: most exchanges must survive. */
	cr_assert_gt(total_ok, total_failed, "%d intact, %d failed", total_ok, total_failed);
	cr_assert(kill(h.pcscd, 0) == 0, "pcscd died");
}

Test(ifd, apdu_level_faults)
{
	const char *args[] = { "--level", "extended", "--max-message", "271", NULL };
	init();
	launch(args);
	connect_reader(h.sim_reader, 0);
	cr_assert_eq(xfer(SELECT_DIAG, NULL, NULL), 0x9000);
	const char *kinds[] = { "drop", "seq", "garbage", "truncate" };
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		int ok = 0, failed = 0;
		fault_loop("extended APDU level, 271-byte messages", kinds[i], 1, &ok, &failed);
	}
	cr_assert(kill(h.pcscd, 0) == 0, "pcscd died");
}

/* The diag applet's counter (READ: counter || record). */
static uint32_t read_counter(uint8_t record[256])
{
	uint8_t data[300];
	size_t len = 0;
	cr_assert_eq(xfer("8022000000", data, &len), 0x9000);
	cr_assert_eq(len, 4 + 256);
	if (record)
		memcpy(record, data + 4, 256);
	return (uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 | (uint32_t)data[2] << 8 | data[3];
}

/*
 * A damaged block must never make the card run a command twice: T=1 tells
 * a retransmitted I-block from a new one by its sequence number. A WRITE
 * of 200 bytes (counter + 1 in one transaction) is sent with each fault at
 * each of its blocks; afterwards the counter has moved by exactly 1 when
 * the WRITE succeeded, by at most 1 when it failed, and the record holds
 * the data of every successful WRITE.
 */
Test(ifd, t1_faults_never_run_twice, .timeout = 600)
{
	const char *args[] = { "--level", "tpdu", "--protocol", "t1", "--ifsc", "32", NULL };
	init();
	launch(args);
	connect_reader(h.sim_reader, 0);
	cr_assert_eq(xfer(SELECT_DIAG, NULL, NULL), 0x9000);

	uint8_t cmd[5 + 200], record[256];
	memcpy(cmd, "\x80\x24\x00\x00\xC8", 5);
	long before = sim_value("messages");
	uint32_t c0 = read_counter(NULL);
	cr_assert_eq(xfer_bytes(cmd, sizeof(cmd), NULL, NULL), 0x9000);
	cr_assert_eq(read_counter(NULL), c0 + 1);
	/* The WRITE alone: the READ's answers are not counted. */
	int messages = (int)(sim_value("messages") - before) - 2 * 2;
	cr_assert_gt(messages, 3, "a 200-byte WRITE took %d messages", messages);

	const char *kinds[] = { "flip", "seq", "garbage", "truncate", "drop" };
	int points = 0, ok = 0;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		for (int k = 1; k <= messages; k++) {
			char fault[64];
			uint32_t before_counter = read_counter(NULL);
			for (size_t j = 0; j < 200; j++)
				cmd[5 + j] = (uint8_t)(points * 31 + (int)j);
			snprintf(fault, sizeof(fault), "fault %s %d", kinds[i], k);
			cr_assert(strncmp(harness_sim_ctl(&h, fault), "ok", 2) == 0);
			bool written = xfer_bytes(cmd, sizeof(cmd), NULL, NULL) == 0x9000;
			harness_sim_ctl(&h, "fault flip 0");
			if (xfer(SELECT_DIAG, NULL, NULL) != 0x9000) {
				ec_reconnect(&pc, SCARD_RESET_CARD);
				cr_assert_eq(xfer(SELECT_DIAG, NULL, NULL), 0x9000);
			}
			uint32_t moved = read_counter(record) - before_counter;
			if (written) {
				cr_assert_eq(moved, 1, "%s at block %d: WRITE ran %u times", kinds[i], k,
					     moved);
				cr_assert(memcmp(record, cmd + 5, 200) == 0, "%s at block %d: record",
					  kinds[i], k);
				ok++;
			} else {
				cr_assert_leq(moved, 1, "%s at block %d: a failed WRITE ran %u times",
					      kinds[i], k, moved);
			}
			points++;
		}
	}
	printf("ifd: T=1, %d fault points on a 200-byte WRITE (%d blocks): %d written once, "
	       "%d failed, none run twice\n", points, messages, ok, points - ok);
	cr_assert_gt(ok, points / 2);
}
