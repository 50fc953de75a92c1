/*
 * test_vpcd.c - the vpcd framing of ecard-vcard (vcard-daemon/vpcd.c) over a
 * socket pair: frames merged in one segment, split at every byte, a frame
 * of the maximum size, replies sent whole, and the end of the link.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net.h"
#include "vpcd.h"

static struct vpcd_link link_;
static int peer;

static void setup(void)
{
	int sv[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	vpcd_init(&link_, "127.0.0.1", "35963");
	link_.fd = sv[0];
	peer = sv[1];
}

static void teardown(void)
{
	vpcd_disconnect(&link_);
	close(peer);
}

TestSuite(vpcd, .init = setup, .fini = teardown);

struct seen {
	int frames;
	size_t lens[16];
	uint8_t first[16];
};

static int record(void *arg, const uint8_t *frame, size_t len)
{
	struct seen *s = arg;
	cr_assert_lt(s->frames, 16);
	s->lens[s->frames] = len;
	s->first[s->frames] = len ? frame[0] : 0;
	s->frames++;
	return 0;
}

static void feed(const uint8_t *bytes, size_t len)
{
	cr_assert_eq(write(peer, bytes, len), (ssize_t)len);
}

Test(vpcd, merged_frames_in_one_segment)
{
	/* power on, get ATR, and a 5-byte APDU, all in one write */
	const uint8_t stream[] = { 0, 1, 0x01, 0, 1, 0x04, 0, 5, 0x80, 0xCA, 0, 0, 0 };
	struct seen s = { 0 };
	feed(stream, sizeof(stream));
	cr_assert_eq(vpcd_receive(&link_, record, &s), 0);
	cr_assert_eq(s.frames, 3);
	cr_assert_eq(s.lens[0], 1);
	cr_assert_eq(s.first[0], VPCD_CTRL_ON);
	cr_assert_eq(s.first[1], VPCD_CTRL_ATR);
	cr_assert_eq(s.lens[2], 5);
	cr_assert_eq(s.first[2], 0x80);
	cr_assert_eq(link_.in_len, 0);
}

Test(vpcd, frames_split_at_every_byte)
{
	const uint8_t stream[] = { 0, 6, 0x00, 0xA4, 0x04, 0x00, 0x01, 0xF0, 0, 1, 0x02 };
	struct seen s = { 0 };
	for (size_t i = 0; i < sizeof(stream); i++) {
		feed(stream + i, 1);
		cr_assert_eq(vpcd_receive(&link_, record, &s), 0);
		int expected = i < 7 ? 0 : (i < 10 ? 1 : 2);
		cr_assert_eq(s.frames, expected, "after byte %zu", i);
	}
	cr_assert_eq(s.lens[0], 6);
	cr_assert_eq(s.first[1], VPCD_CTRL_RESET);
}

Test(vpcd, largest_frame)
{
	static uint8_t stream[2 + VPCD_MAX_FRAME];
	stream[0] = 0xFF;
	stream[1] = 0xFF;
	memset(stream + 2, 0x5A, VPCD_MAX_FRAME);
	struct seen s = { 0 };
	size_t sent = 0;
	while (sent < sizeof(stream)) {
		size_t chunk = sizeof(stream) - sent < 4000 ? sizeof(stream) - sent : 4000;
		feed(stream + sent, chunk);
		sent += chunk;
		cr_assert_eq(vpcd_receive(&link_, record, &s), 0);
	}
	cr_assert_eq(s.frames, 1);
	cr_assert_eq(s.lens[0], VPCD_MAX_FRAME);
}

Test(vpcd, reply_is_one_frame)
{
	const uint8_t rsp[] = { 0x01, 0x02, 0x90, 0x00 };
	cr_assert_eq(vpcd_send(&link_, rsp, sizeof(rsp)), 0);
	uint8_t got[16];
	cr_assert_eq(read(peer, got, sizeof(got)), 6);
	const uint8_t want[] = { 0, 4, 0x01, 0x02, 0x90, 0x00 };
	cr_assert_arr_eq(got, want, sizeof(want));
}

Test(vpcd, closed_link_is_reported)
{
	struct seen s = { 0 };
	close(peer);
	peer = -1;
	cr_assert_eq(vpcd_receive(&link_, record, &s), -1);
	cr_assert_eq(s.frames, 0);
}

Test(vpcd, address_parsing)
{
	char host[64], port[16];
	cr_assert(net_parse_address("127.0.0.1:35963", host, sizeof(host), port, sizeof(port)));
	cr_assert_str_eq(host, "127.0.0.1");
	cr_assert_str_eq(port, "35963");
	cr_assert(net_parse_address("[::1]:40000", host, sizeof(host), port, sizeof(port)));
	cr_assert_str_eq(host, "::1");
	cr_assert(net_parse_address("35964", host, sizeof(host), port, sizeof(port)));
	cr_assert_str_eq(host, "127.0.0.1");
	cr_assert_not(net_parse_address("host:", host, sizeof(host), port, sizeof(port)));
	cr_assert_not(net_parse_address(":123", host, sizeof(host), port, sizeof(port)));
	cr_assert_not(net_parse_address("host:12a", host, sizeof(host), port, sizeof(port)));
}

/* ---- the control socket ---- */
