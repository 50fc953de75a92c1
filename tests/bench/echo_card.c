/*
 * echo_card.c - the floor of the round-trip benchmark (`make bench`).
 *
 * A virtual card that does nothing: it connects to vpcd as a TCP client and
 * answers every C-APDU at once with the command data (if any) followed by
 * 90 00. Whatever time an APDU takes through pcscd + vpcd with this card is
 * the cost of the transport alone, so ecard-vcard is measured against it.
 *
 * vpcd framing: each frame is a 2-byte big-endian length and a payload.
 * 1-byte frames are control: 00 power off, 01 power on, 02 reset (no answer),
 * 04 get ATR (answered with an ATR frame). Every other frame is a C-APDU,
 * answered with one R-APDU frame.
 *
 * usage: echo_card [HOST] PORT   (HOST defaults to 127.0.0.1)
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define FRAME_MAX 65535u
#define BACKOFF_MIN_MS 50
#define BACKOFF_MAX_MS 1000

/* Historical bytes "ECARD"; the TCK is appended by make_atr(). */
static const uint8_t atr_without_tck[] = {
	0x3B, 0x8B, 0x80, 0x01, 0x80, 0x73, 0x80, 0x00,
	0x5B, 0x55, 0x45, 0x43, 0x41, 0x52, 0x44,
};

/* Frames can arrive split or merged, so input is gathered here first. */
static uint8_t in_buf[2 + FRAME_MAX];
static size_t in_len;
static uint8_t out_buf[2 + FRAME_MAX];

/*
 * The card holds no state worth saving, so a stop signal ends the process
 * right away; the kernel closes the socket and vpcd sees the card removed.
 */
static void on_stop_signal(int signo)
{
	(void)signo;
	_exit(0);
}

static size_t make_atr(uint8_t *atr)
{
	uint8_t tck = 0;
	size_t n = sizeof(atr_without_tck);

	memcpy(atr, atr_without_tck, n);
	/* TCK is needed because T=1 is offered: XOR of T0 up to the last byte. */
	for (size_t i = 1; i < n; i++)
		tck ^= atr[i];
	atr[n] = tck;
	return n + 1;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static int connect_to(const char *host, const char *port)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *list, *ai;
	int fd = -1;
	int one = 1;

	if (getaddrinfo(host, port, &hints, &list) != 0)
		return -1;
	for (ai = list; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
		if (fd < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(list);
	/* Replies are single small writes: never hold them back for Nagle. */
	if (fd >= 0)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* Sends one frame in a single write so the peer gets it in one segment. */
static int send_frame(int fd, size_t payload_len)
{
	size_t total = 2 + payload_len;
	size_t done = 0;

	out_buf[0] = (uint8_t)(payload_len >> 8);
	out_buf[1] = (uint8_t)payload_len;
	while (done < total) {
		ssize_t n = send(fd, out_buf + done, total - done, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

/* Length of the command data of a C-APDU (short or extended), 0 if none. */
static size_t command_data_len(const uint8_t *apdu, size_t len, size_t *offset)
{
	size_t lc;

	if (len <= 5)
		return 0; /* case 1 or case 2 short */
	if (apdu[4] != 0) {
		lc = apdu[4];
		*offset = 5;
	} else {
		if (len <= 7)
			return 0; /* case 2 extended */
		lc = ((size_t)apdu[5] << 8) | apdu[6];
		*offset = 7;
	}
	if (*offset + lc > len)
		return 0; /* malformed: echo nothing rather than read past it */
	return lc;
}

/* Handles one frame; returns -1 if the connection must be dropped. */
static int handle_frame(int fd, const uint8_t *frame, size_t len)
{
	size_t data_len, offset = 0;

	if (len == 1 && frame[0] == 0x04)
		return send_frame(fd, make_atr(out_buf + 2));
	if (len == 1 && frame[0] <= 0x02)
		return 0; /* power off / on / reset: nothing to answer */
	if (len < 4) {
		/* Shorter than CLA INS P1 P2: answer "wrong length". */
		out_buf[2] = 0x67;
		out_buf[3] = 0x00;
		return send_frame(fd, 2);
	}
	/* The data is shorter than its frame, so data + SW always fits one. */
	data_len = command_data_len(frame, len, &offset);
	memcpy(out_buf + 2, frame + offset, data_len);
	out_buf[2 + data_len] = 0x90;
	out_buf[3 + data_len] = 0x00;
	return send_frame(fd, data_len + 2);
}

/* Serves one connection until it drops. */
static void serve(int fd)
{
	int one = 1;

	in_len = 0;
	for (;;) {
		size_t used = 0;
		ssize_t n;

		/*
		 * vpcd writes the length and the body separately; without an
		 * immediate ACK the second write waits ~40 ms for delayed ACK.
		 * The kernel clears QUICKACK again by itself, hence every time.
		 */
		setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
		n = recv(fd, in_buf + in_len, sizeof(in_buf) - in_len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		in_len += (size_t)n;
		while (in_len - used >= 2) {
			size_t frame_len = ((size_t)in_buf[used] << 8) | in_buf[used + 1];

			if (in_len - used < 2 + frame_len)
				break;
			if (handle_frame(fd, in_buf + used + 2, frame_len) < 0)
				return;
			used += 2 + frame_len;
		}
		memmove(in_buf, in_buf + used, in_len - used);
		in_len -= used;
	}
}

int main(int argc, char **argv)
{
	const char *host = "127.0.0.1";
	const char *port;
	struct sigaction sa;
	long backoff_ms = BACKOFF_MIN_MS;

	if (argc == 2) {
		port = argv[1];
	} else if (argc == 3) {
		host = argv[1];
		port = argv[2];
	} else {
		fprintf(stderr, "usage: echo_card [HOST] PORT\n");
		return 1;
	}

	/* Explicit handlers: a shell starts background jobs with SIGINT ignored. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	for (;;) {
		int fd = connect_to(host, port);

		if (fd < 0) {
			/* vpcd is not listening (yet, or pcscd restarts): retry. */
			sleep_ms(backoff_ms);
			backoff_ms = backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff_ms * 2;
			continue;
		}
		backoff_ms = BACKOFF_MIN_MS;
		serve(fd);
		close(fd);
		sleep_ms(backoff_ms);
	}
}
