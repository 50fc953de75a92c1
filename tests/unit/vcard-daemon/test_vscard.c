/*
 * test_vscard.c - the VSCard front-end: the message codec of
 * vcard-daemon/vscard.c, then ecard-vcard --vscard run as the built program
 * against this test in QEMU's place (the server end of ccid-card-passthru's
 * socket). Held to what QEMU does: Init answered by ReaderAdd and the T=0
 * ATR, each APDU message a T=0 TPDU answered by one APDU message (61xx
 * and GET RESPONSE, 6Cxx), CardRemove and a new ATR for removal and
 * insertion and around a tear, an Error for what is no TPDU, CardRemove
 * and ReaderRemove on SIGTERM, and a new connection after a broken stream.
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "card.h"
#include "cursor.h"
#include "hex.h"
#include "test_support.h"
#include "vscard.h"

extern char **environ;

/* ---- the codec ---- */

Test(vscard_codec, round_trip_and_partial_messages)
{
	uint8_t buf[64];
	const uint8_t apdu[] = { 0x00, 0xA4, 0x04, 0x00 };
	size_t n = vscard_encode(VSC_APDU, 0, apdu, sizeof(apdu), buf, sizeof(buf));
	struct vscard_msg m;

	cr_assert_eq(n, 16);
	/* Header: type 7, reader 0, length 4, big-endian. */
	static const uint8_t head[] = { 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 4 };
	cr_assert_arr_eq(buf, head, sizeof(head));
	for (size_t cut = 0; cut < n; cut++) {
		uint8_t *copy = ts_exact_copy(buf, cut);
		cr_expect_eq(vscard_decode(copy, cut, &m), 0, "cut to %zu", cut);
		free(copy);
	}
	cr_assert_eq(vscard_decode(buf, n, &m), (long)n);
	cr_expect_eq(m.type, VSC_APDU);
	cr_expect_eq(m.reader, 0);
	cr_expect_eq(m.len, 4);
	cr_expect_arr_eq(m.data, apdu, 4);
	/* Two in a row: one at a time. */
	size_t n2 = vscard_encode(VSC_CARD_REMOVE, 0, NULL, 0, buf + n, sizeof(buf) - n);
	cr_assert_eq(n2, 12);
	cr_expect_eq(vscard_decode(buf, n + n2, &m), (long)n);
	cr_expect_eq(vscard_decode(buf + n, n2, &m), 12);
	cr_expect_eq(m.type, VSC_CARD_REMOVE);
	cr_expect_eq(m.len, 0);
	cr_expect_eq(vscard_encode(VSC_APDU, 0, apdu, sizeof(apdu), buf, 15), 0, "too small");
}

Test(vscard_codec, a_length_past_the_limit_loses_the_stream)
{
	uint8_t buf[12] = { 0, 0, 0, 7, 0, 0, 0, 0 };
	struct vscard_msg m;

	store_be32(buf + 8, VSCARD_MAX_PAYLOAD);
	cr_expect_eq(vscard_decode(buf, sizeof(buf), &m), 0, "at the limit: wait for more");
	store_be32(buf + 8, VSCARD_MAX_PAYLOAD + 1);
	cr_expect_eq(vscard_decode(buf, sizeof(buf), &m), -1);
	store_be32(buf + 8, 0xFFFFFFFFu);
	cr_expect_eq(vscard_decode(buf, sizeof(buf), &m), -1);
}

Test(vscard_codec, init_payload_and_names)
{
	uint8_t init[12];
	static const uint8_t want[] = { 'V', 'S', 'C', 'D', 0, 0, 0, 2, 0, 0, 0, 0 };
	cr_assert_eq(vscard_init_payload(init), 12);
	cr_assert_arr_eq(init, want, 12);
	cr_expect_str_eq(vscard_type_name(VSC_APDU), "APDU");
	cr_expect_str_eq(vscard_type_name(VSC_FLUSH_COMPLETE), "FlushComplete");
	cr_expect_str_eq(vscard_type_name(0), "unknown");
	cr_expect_str_eq(vscard_type_name(10), "unknown");
}

Test(vscard_codec, addresses)
{
	struct vscard_link l;
	char buf[300];
	cr_assert(vscard_parse_address("127.0.0.1:2001", &l));
	cr_expect_str_eq(vscard_address(&l, buf, sizeof(buf)), "127.0.0.1:2001");
	cr_assert(vscard_parse_address("unix:/run/qemu/ccid.sock", &l));
	cr_expect(l.unix_socket);
	cr_expect_str_eq(vscard_address(&l, buf, sizeof(buf)), "unix:/run/qemu/ccid.sock");
	cr_assert(vscard_parse_address("[::1]:2001", &l));
	cr_expect_str_eq(l.host, "::1");
	cr_expect_not(vscard_parse_address("unix:", &l));
	cr_expect_not(vscard_parse_address("host:port", &l));
	cr_expect_not(vscard_parse_address("", &l));
}

/* ---- ecard-vcard --vscard against a fake QEMU ---- */

static int listener = -1, conn = -1;
static pid_t daemon_pid = -1;
static char image[512], control[512];

static void fini(void)
{
	if (daemon_pid > 0) {
		kill(daemon_pid, SIGKILL);
		waitpid(daemon_pid, NULL, 0);
		daemon_pid = -1;
	}
	if (conn >= 0)
		close(conn);
	if (listener >= 0)
		close(listener);
	conn = listener = -1;
	ts_tmpdir_fini();
}

TestSuite(vscard, .init = ts_tmpdir_init, .fini = fini, .timeout = 60);

static int run_program(const char *const *argv)
{
	pid_t pid;
	int status;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	cr_assert_eq(posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static const char *program(char *buf, size_t cap)
{
	const char *top = getenv("top_builddir");
	snprintf(buf, cap, "%s/ecard-vcard", top ? top : ".");
	return buf;
}

/* A card image, a listening socket in QEMU's place, ecard-vcard connected
 * to it, and its connection accepted. */
static void start(void)
{
	char prog[4096], addr[64];
	ts_tmp_path(image, sizeof(image), "card.img");
	ts_tmp_path(control, sizeof(control), "card.ctl");
	const char *create[] = { program(prog, sizeof(prog)), "--new", "--image", image, NULL };
	cr_assert_eq(run_program(create), 0, "ecard-vcard --new failed");

	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(listener, 0);
	cr_assert_eq(bind(listener, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(listener, 1), 0);
	cr_assert_eq(getsockname(listener, (struct sockaddr *)&sa, &len), 0);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", ntohs(sa.sin_port));
	const char *serve[] = { prog, "--image", image, "--vscard", addr, "--control", control,
				"--outage", "200", "--log-level", "error", NULL };
	cr_assert_eq(posix_spawn(&daemon_pid, prog, NULL, NULL, (char *const *)serve, environ), 0);
}

static void accept_connection(void)
{
	struct pollfd p = { .fd = listener, .events = POLLIN };
	cr_assert_eq(poll(&p, 1, 10000), 1, "ecard-vcard did not connect");
	conn = accept(listener, NULL, NULL);
	cr_assert_geq(conn, 0);
}

/* The next message from ecard-vcard (10 s at most); its payload in data. */
static struct vscard_msg next(uint8_t *data, size_t cap)
{
	uint8_t head[VSCARD_HEADER_LEN];
	struct vscard_msg m = { 0 };
	size_t got = 0;
	while (got < sizeof(head) + m.len) {
		struct pollfd p = { .fd = conn, .events = POLLIN };
		cr_assert_eq(poll(&p, 1, 10000), 1, "no message from ecard-vcard");
		uint8_t *dst = got < sizeof(head) ? head + got : data + (got - sizeof(head));
		size_t want = got < sizeof(head) ? sizeof(head) - got : sizeof(head) + m.len - got;
		ssize_t n = read(conn, dst, want);
		cr_assert_gt(n, 0, "ecard-vcard closed the connection");
		got += (size_t)n;
		if (got == sizeof(head)) {
			m.type = load_be32(head);
			m.reader = load_be32(head + 4);
			m.len = load_be32(head + 8);
			cr_assert_leq(m.len, cap, "a message of %u bytes", m.len);
		}
	}
	m.data = data;
	return m;
}

static void expect_type(uint32_t type, uint8_t *data, size_t cap, struct vscard_msg *out)
{
	struct vscard_msg m = next(data, cap);
	cr_assert_eq(m.type, type, "got %s, want %s", vscard_type_name(m.type),
		     vscard_type_name(type));
	if (out)
		*out = m;
}

static void send_msg(uint32_t type, const uint8_t *data, size_t len)
{
	uint8_t buf[VSCARD_HEADER_LEN + 300];
	size_t n = vscard_encode(type, VSCARD_READER, data, len, buf, sizeof(buf));
	cr_assert_gt(n, 0);
	cr_assert_eq(write(conn, buf, n), (ssize_t)n);
}

/* QEMU's greeting; ecard-vcard's ReaderAdd and the card's T=0 ATR. */
static void handshake(void)
{
	uint8_t data[512], init[12];
	struct vscard_msg m;
	expect_type(VSC_INIT, data, sizeof(data), &m);
	cr_assert_eq(m.len, 12);
	cr_assert_eq(memcmp(m.data, "VSCD", 4), 0);
	cr_assert_eq(load_be32(m.data + 4), 2, "version");
	send_msg(VSC_INIT, init, vscard_init_payload(init));
	expect_type(VSC_READER_ADD, data, sizeof(data), &m);
	cr_assert_eq(m.reader, 0);
	expect_type(VSC_ATR, data, sizeof(data), &m);
	uint8_t atr[VC_ATR_MAX];
	size_t n = vc_card_atr_t0(atr);
	cr_assert_eq(m.len, n);
	cr_assert_arr_eq(m.data, atr, n);
	cr_assert_leq(n, VSCARD_MAX_ATR);
}

/* One TPDU in an APDU message; its answer. */
static size_t tpdu(const char *hex, uint8_t *rsp, size_t cap)
{
	uint8_t cmd[300];
	long n = hex_decode(hex, cmd, sizeof(cmd));
	cr_assert_gt(n, 0);
	send_msg(VSC_APDU, cmd, (size_t)n);
	struct vscard_msg m;
	expect_type(VSC_APDU, rsp, cap, &m);
	cr_assert_geq(m.len, 2);
	return m.len;
}

static uint16_t tpdu_sw(const char *hex)
{
	uint8_t rsp[300];
	size_t n = tpdu(hex, rsp, sizeof(rsp));
	return load_be16(rsp + n - 2);
}

static int ctl_status;	/* the exit status of the last ctl() */

static const char *ctl(const char *cmd)
{
	static char out[512];
	char prog[4096];
	int p[2];
	const char *argv[] = { program(prog, sizeof(prog)), "ctl", control, cmd, NULL };
	posix_spawn_file_actions_t fa;
	pid_t pid;

	cr_assert_eq(pipe(p), 0);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	posix_spawn_file_actions_addclose(&fa, p[0]);
	cr_assert_eq(posix_spawn(&pid, prog, &fa, NULL, (char *const *)argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	ssize_t n = read(p[0], out, sizeof(out) - 1);
	out[n > 0 ? n : 0] = '\0';
	close(p[0]);
	int status;
	waitpid(pid, &status, 0);
	ctl_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	return out;
}

#define SELECT_DIAG "00 A4 04 00 08 F0 45 43 41 52 44 44 01"

Test(vscard, t0_tpdus_through_qemus_reader)
{
	uint8_t rsp[300];
	start();
	accept_connection();
	handshake();

	/* Case 3 on T=0: the card's answer waits behind 61xx. */
	uint16_t sw = tpdu_sw(SELECT_DIAG);
	cr_assert(sw == 0x9000 || (sw >> 8) == 0x61, "SELECT: %04X", sw);
	if ((sw >> 8) == 0x61) {
		char get[32];
		snprintf(get, sizeof(get), "00 C0 00 00 %02X", sw & 0xFF);
		cr_assert_eq(tpdu_sw(get), 0x9000);
	}
	/* ECHO, case 4: 61 04, then GET RESPONSE. */
	cr_assert_eq(tpdu_sw("80 10 00 00 04 DE AD BE EF"), 0x6104);
	size_t n = tpdu("00 C0 00 00 04", rsp, sizeof(rsp));
	cr_assert_eq(n, 6);
	cr_assert_arr_eq(rsp, ((const uint8_t[]){ 0xDE, 0xAD, 0xBE, 0xEF, 0x90, 0x00 }), 6);
	/* A whole case 4 APDU, Le and all, as libccid passes it to QEMU's
	 * reader: answered whole. */
	n = tpdu("80 10 00 00 02 CA FE 00", rsp, sizeof(rsp));
	cr_assert_eq(n, 4);
	cr_assert_arr_eq(rsp, ((const uint8_t[]){ 0xCA, 0xFE, 0x90, 0x00 }), 4);
	/* GENERATE 255 with Le 256: 6CFF, then with Le FF. */
	cr_assert_eq(tpdu_sw("80 12 00 FF 00"), 0x6CFF);
	n = tpdu("80 12 00 FF FF", rsp, sizeof(rsp));
	cr_assert_eq(n, 257);
	for (size_t i = 0; i < 255; i++)
		cr_assert_eq(rsp[i], (uint8_t)i);
	/* No TPDU: QEMU gets an Error and fails the guest's command. */
	send_msg(VSC_APDU, (const uint8_t *)"\x80\x10", 2);
	struct vscard_msg m;
	expect_type(VSC_ERROR, rsp, sizeof(rsp), &m);
	cr_assert_eq(m.len, 4);
	cr_assert_eq(load_be32(m.data), VSC_GENERAL_ERROR);
	/* QEMU's "success" answers are taken quietly. */
	send_msg(VSC_ERROR, (const uint8_t *)"\0\0\0\0", 4);
	cr_assert_eq(tpdu_sw("80 10 00 00 01 AA"), 0x6101);
}

Test(vscard, removal_insertion_and_a_tear)
{
	uint8_t data[512];
	start();
	accept_connection();
	handshake();

	cr_assert(strstr(ctl("remove"), "ok"));
	expect_type(VSC_CARD_REMOVE, data, sizeof(data), NULL);
	/* Out of the reader: QEMU's command is failed at once. */
	send_msg(VSC_APDU, (const uint8_t *)"\x80\x10\x00\x00\x00", 5);
	expect_type(VSC_ERROR, data, sizeof(data), NULL);
	cr_assert(strstr(ctl("insert"), "ok"));
	expect_type(VSC_ATR, data, sizeof(data), NULL);
	uint16_t sw = tpdu_sw(SELECT_DIAG);
	cr_assert(sw == 0x9000 || (sw >> 8) == 0x61, "SELECT after insertion: %04X", sw);

	/* A tear at the first write of WRITE: the card leaves the reader
	 * without an answer, and comes back after the outage. */
	tpdu_sw(SELECT_DIAG);
	cr_assert(strstr(ctl("tear 1"), "ok"));
	send_msg(VSC_APDU, (const uint8_t *)"\x80\x24\x00\x00\x02\xAA\xBB", 7);
	expect_type(VSC_CARD_REMOVE, data, sizeof(data), NULL);
	expect_type(VSC_ATR, data, sizeof(data), NULL);
	cr_assert(strstr(ctl("status"), "tears=1"), "%s", ctl("status"));
	cr_assert(strstr(ctl("status"), "present=1"), "%s", ctl("status"));

	/* SIGTERM: the card and the reader leave QEMU, then the socket. */
	kill(daemon_pid, SIGTERM);
	expect_type(VSC_CARD_REMOVE, data, sizeof(data), NULL);
	expect_type(VSC_READER_REMOVE, data, sizeof(data), NULL);
	int status;
	cr_assert_eq(waitpid(daemon_pid, &status, 0), daemon_pid);
	daemon_pid = -1;
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

Test(vscard, a_broken_stream_ends_in_a_new_connection)
{
	uint8_t data[512];
	start();
	accept_connection();
	handshake();

	/* A header announcing more than any message may hold. */
	uint8_t head[VSCARD_HEADER_LEN];
	store_be32(head, VSC_APDU);
	store_be32(head + 4, 0);
	store_be32(head + 8, VSCARD_MAX_PAYLOAD + 1);
	cr_assert_eq(write(conn, head, sizeof(head)), (ssize_t)sizeof(head));
	struct pollfd p = { .fd = conn, .events = POLLIN };
	cr_assert_eq(poll(&p, 1, 10000), 1);
	cr_assert_eq(read(conn, data, sizeof(data)), 0, "the connection should be closed");
	close(conn);
	conn = -1;
	accept_connection();
	handshake();
	/* A new session: the card was powered down with the link. */
	uint16_t sw = tpdu_sw(SELECT_DIAG);
	cr_assert(sw == 0x9000 || (sw >> 8) == 0x61, "SELECT: %04X", sw);
	cr_assert_eq(tpdu_sw("80 10 00 00 01 AA"), 0x6101);
}

/* An armed tear shows in status until it fires; "tear off" disarms it;
 * what is no count of writes is refused with exit status 2, as a usage
 * error of ecard is. */
Test(vscard, an_armed_tear_is_visible_and_can_be_disarmed)
{
	uint8_t data[512];
	start();
	accept_connection();
	handshake();

	cr_assert(strstr(ctl("status"), " tear=off "), "%s", ctl("status"));
	const char *bad[] = { "tear 0", "tear -1", "tear 18446744073709551615", "tear x",
			      "tear 3 -2", "tear 3 4 5", "tear", "teardown" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_expect(strncmp(ctl(bad[i]), "error usage", 11) == 0, "%s: %s", bad[i], ctl(bad[i]));
		cr_expect_eq(ctl_status, 2, "%s: exit %d", bad[i], ctl_status);
	}
	cr_assert(strstr(ctl("status"), " tear=off "), "nothing armed by a refused command");
	cr_assert(strncmp(ctl("tear 5"), "ok", 2) == 0);
	cr_expect_eq(ctl_status, 0);
	cr_assert(strstr(ctl("status"), " tear=write:5 "), "%s", ctl("status"));
	cr_assert(strncmp(ctl("tear off"), "ok", 2) == 0);
	cr_assert(strstr(ctl("status"), " tear=off "), "%s", ctl("status"));
	/* Disarmed: a writing command runs without a tear. */
	uint16_t sw = tpdu_sw(SELECT_DIAG);
	cr_assert(sw == 0x9000 || (sw >> 8) == 0x61, "SELECT: %04X", sw);
	for (int i = 0; i < 6; i++)
		cr_assert_eq(tpdu_sw("80 24 00 00 02 AA BB"), 0x9000);
	cr_assert(strstr(ctl("status"), " tears=0 "), "%s", ctl("status"));
	(void)data;
}
