/*
 * test_netfault.c - the fault-making proxy (netfault/netfault.c) between a
 * client and an echo server on loopback, each in a thread of the test:
 * plain passing, counting of requests and answers, each cut kind, a cut at
 * a byte, truncation, the black hole, delays, and loopback only.
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "netfault.h"

static int echo_fd;
static struct netfault nf;
static atomic_bool running;
static pthread_t echo_thread, proxy_thread;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void *echo_main(void *arg)
{
	(void)arg;
	for (;;) {
		int c = accept(echo_fd, NULL, NULL);
		if (c < 0)
			return NULL;
		char buf[4096];
		ssize_t n;
		while ((n = recv(c, buf, sizeof(buf), 0)) > 0)
			if (send(c, buf, (size_t)n, MSG_NOSIGNAL) < 0)
				break;
		close(c);
	}
}

static void *proxy_main(void *arg)
{
	struct pollfd fds[2 * NF_CONNECTIONS_MAX + 1];
	(void)arg;
	while (running) {
		int timeout;
		pthread_mutex_lock(&lock);
		int n = nf_fill_pollfds(&nf, fds, 2 * NF_CONNECTIONS_MAX + 1, &timeout);
		pthread_mutex_unlock(&lock);
		if (timeout < 0 || timeout > 20)
			timeout = 20;
		poll(fds, (nfds_t)n, timeout);
		pthread_mutex_lock(&lock);
		nf_service(&nf, fds, n);
		pthread_mutex_unlock(&lock);
	}
	return NULL;
}

static void command(const char *cmd, char *reply, size_t len)
{
	pthread_mutex_lock(&lock);
	nf_command(&nf, cmd, reply, len);
	pthread_mutex_unlock(&lock);
}

static void setup(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_storage up, lis;
	socklen_t len = sizeof(a), ul, ll;
	char text[32];

	echo_fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(bind(echo_fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	cr_assert(listen(echo_fd, 16) == 0);
	getsockname(echo_fd, (struct sockaddr *)&a, &len);
	snprintf(text, sizeof(text), "127.0.0.1:%u", ntohs(a.sin_port));
	cr_assert(nf_parse_loopback(text, &up, &ul));
	cr_assert(nf_parse_loopback("127.0.0.1:0", &lis, &ll));
	cr_assert_eq(nf_open(&nf, &lis, ll, &up, ul), 0, "%s", strerror(errno));
	running = true;
	pthread_create(&echo_thread, NULL, echo_main, NULL);
	pthread_create(&proxy_thread, NULL, proxy_main, NULL);
}

static void teardown(void)
{
	running = false;
	pthread_join(proxy_thread, NULL);
	/* The proxy may stop before it saw the client's close: closing its
	 * connections ends the echo thread's recv on the upstream one. */
	nf_close(&nf);
	shutdown(echo_fd, SHUT_RDWR);
	close(echo_fd);
	pthread_join(echo_thread, NULL);
}

static int client(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				 .sin_port = htons(nf_port(&nf)) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct timeval tv = { 5, 0 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

/* Send text, read back as much: the bytes read (less when cut). */
static ssize_t round_trip(int fd, const char *text, char *back, size_t cap)
{
	size_t len = strlen(text), got = 0;
	if (send(fd, text, len, MSG_NOSIGNAL) != (ssize_t)len)
		return -1;
	while (got < len && got < cap) {
		ssize_t n = recv(fd, back + got, cap - got, 0);
		if (n <= 0)
			return (ssize_t)got;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

static long value(const char *key)
{
	char reply[256];
	command("status", reply, sizeof(reply));
	const char *p = strstr(reply, key);
	return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

TestSuite(netfault, .init = setup, .fini = teardown, .timeout = 30);

Test(netfault, passes_and_counts_requests_and_answers)
{
	char back[64];
	int fd = client();
	cr_assert_eq(round_trip(fd, "hello", back, sizeof(back)), 5);
	cr_assert_arr_eq(back, "hello", 5);
	cr_assert_eq(round_trip(fd, "again", back, sizeof(back)), 5);
	close(fd);
	cr_assert_eq(value("requests="), 2);
	cr_assert_eq(value("answers="), 2);
	cr_assert_eq(value("bytes_up="), 10);
	cr_assert_eq(value("cuts="), 0);
}

Test(netfault, cuts_before_a_request_and_before_an_answer)
{
	char back[64], reply[128];
	command("cut 2 request", reply, sizeof(reply));
	cr_assert_str_eq(reply, "ok cut 2 request");
	int fd = client();
	cr_assert_eq(round_trip(fd, "one", back, sizeof(back)), 3);
	cr_assert_leq(round_trip(fd, "two", back, sizeof(back)), 0, "request 2 never got through");
	close(fd);
	cr_assert_eq(value("cuts="), 1);
	cr_assert_eq(value("bytes_up="), 3, "not a byte of request 2 went on");

	command("cut 3 answer", reply, sizeof(reply));
	fd = client();
	cr_assert_leq(round_trip(fd, "three", back, sizeof(back)), 0);
	close(fd);
	cr_assert_eq(value("bytes_up="), 8, "request 3 reached the server");
	cr_assert_eq(value("cuts="), 2);
}

Test(netfault, cuts_in_the_middle_and_truncates)
{
	char back[64], reply[128];
	command("cut 1 answer-mid 4", reply, sizeof(reply));
	int fd = client();
	cr_assert_eq(round_trip(fd, "abcdefgh", back, sizeof(back)), 4, "4 bytes of the answer");
	close(fd);
	command("cut 2 request-mid 2", reply, sizeof(reply));
	fd = client();
	cr_assert_leq(round_trip(fd, "abcdefgh", back, sizeof(back)), 2);
	close(fd);
	command("truncate 3", reply, sizeof(reply));
	fd = client();
	cr_assert_eq(round_trip(fd, "abcdefgh", back, sizeof(back)), 3);
	close(fd);
	command("clear", reply, sizeof(reply));
	long up = value("bytes_up=");
	command("cut-byte up 5", reply, sizeof(reply));
	fd = client();
	cr_assert_leq(round_trip(fd, "abcdefgh", back, sizeof(back)), 4);
	close(fd);
	cr_assert_eq(value("bytes_up="), up + 4, "the 5th byte up did not pass");
}

Test(netfault, blackhole_and_delay)
{
	char back[64], reply[128];
	struct timespec t0, t1;

	command("delay up 60", reply, sizeof(reply));
	command("delay down 40", reply, sizeof(reply));
	int fd = client();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	cr_assert_eq(round_trip(fd, "slow", back, sizeof(back)), 4);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	cr_assert_geq(ms, 100.0, "the round trip took %.1f ms, not the 100 ms of delay", ms);
	close(fd);

	command("clear", reply, sizeof(reply));
	command("blackhole on", reply, sizeof(reply));
	fd = client();
	struct timeval tv = { 0, 300000 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	cr_assert_leq(round_trip(fd, "lost", back, sizeof(back)), 0, "nothing comes back");
	close(fd);
	command("reset", reply, sizeof(reply));
	cr_assert(strncmp(reply, "ok reset", 8) == 0, "%s", reply);
}

Test(netfault, loopback_only_and_bad_commands)
{
	struct sockaddr_storage ss;
	socklen_t len;
	char reply[256];

	cr_assert(nf_parse_loopback("[::1]:80", &ss, &len));
	cr_assert(nf_parse_loopback("127.0.0.2:80", &ss, &len));
	cr_assert_not(nf_parse_loopback("10.0.0.1:80", &ss, &len));
	cr_assert_not(nf_parse_loopback("[2001:db8::1]:80", &ss, &len));
	cr_assert_not(nf_parse_loopback("127.0.0.1", &ss, &len));
	command("cut 0 request", reply, sizeof(reply));
	cr_assert(strncmp(reply, "error usage", 11) == 0, "%s", reply);
	command("cut 1 request 5", reply, sizeof(reply));
	cr_assert(strncmp(reply, "error usage", 11) == 0, "%s", reply);
	command("fly away", reply, sizeof(reply));
	cr_assert(strncmp(reply, "error usage", 11) == 0, "%s", reply);
}
