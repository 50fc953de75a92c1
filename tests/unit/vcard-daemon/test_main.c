/*
 * test_main.c - ecard-vcard's command line (vcard-daemon/main.c), run as
 * the built program: a new card's PIN and PUK read from a descriptor
 * (--pin-fd, --puk-fd), and the text of --pin erased from the command
 * line, which other users can read in /proc. The image it makes is then
 * powered here, with libvcard, to see which PIN and PUK the card took.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "applets.h"
#include "card.h"
#include "hex.h"
#include "test_support.h"

#define PIN "86429753"
#define PUK "24681357"
#define PIN_BLOCK "38 36 34 32 39 37 35 33"		/* PIN */
#define PUK_BLOCK "32 34 36 38 31 33 35 37"		/* PUK */
#define OTHER_PIN_BLOCK "31 31 31 31 FF FF FF FF"	/* 1111 */

TestSuite(vcard_daemon, .init = ts_tmpdir_init, .fini = ts_tmpdir_fini);

/* ---- the program ---- */

static const char *program(char *buf, size_t cap)
{
	const char *top = getenv("top_builddir");
	snprintf(buf, cap, "%s/ecard-vcard", top ? top : ".");
	return buf;
}

/* Start ecard-vcard with args (after the program name, NULL-terminated)
 * and the read end of a pipe as its descriptor 3; *feed is the write
 * end. Its standard output goes nowhere. */
static pid_t start(const char *const *args, int *feed)
{
	char path[4096];
	const char *argv[16] = { program(path, sizeof(path)) };
	int p[2];
	size_t n = 1;

	while (args[n - 1]) {
		cr_assert_lt(n, 15);
		argv[n] = args[n - 1];
		n++;
	}
	argv[n] = NULL;
	/* A program that stops early closes the pipe: a write then fails. */
	signal(SIGPIPE, SIG_IGN);
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		if (null < 0 || dup2(null, STDOUT_FILENO) < 0)
			_exit(127);
		/* dup2() onto itself would keep close-on-exec. */
		if (p[0] == 3 ? fcntl(3, F_SETFD, 0) != 0 : dup2(p[0], 3) != 3)
			_exit(127);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(p[0]);
	*feed = p[1];
	return pid;
}

static int finish(pid_t pid, int feed, const char *input)
{
	int status;
	size_t len = strlen(input);

	if (len)
		cr_assert_eq(write(feed, input, len), (ssize_t)len);
	close(feed);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status), "ecard-vcard did not exit");
	return WEXITSTATUS(status);
}

/* Run ecard-vcard with input on its descriptor 3; its exit status. */
static int run(const char *const *args, const char *input)
{
	int feed;
	pid_t pid = start(args, &feed);
	return finish(pid, feed, input);
}

/* ---- the card it made ---- */

static struct vc_storage *storage;
static struct vc_card card;

static void power_up(const char *image)
{
	cr_assert_eq(vc_storage_file_open(image, &storage), VC_OK, "%s is an image", image);
	vc_card_init(&card, storage, NULL);
	for (size_t i = 0; i < ecard_applet_count; i++)
		cr_assert_eq(vc_card_register(&card, ecard_applets[i]), VC_OK);
	cr_assert_eq(vc_card_power_up(&card), VC_OK);
}

static void power_down(void)
{
	vc_card_free(&card);
	vc_storage_destroy(storage);
	storage = NULL;
}

static uint16_t sw_of(const char *apdu_hex)
{
	uint8_t cmd[64], rsp[VC_RSP_MAX];
	size_t len = 0;
	long n = hex_decode(apdu_hex, cmd, sizeof(cmd));

	cr_assert_gt(n, 0);
	cr_assert_eq(vc_card_process(&card, cmd, (size_t)n, rsp, &len), VC_OK);
	cr_assert_geq(len, 2);
	return (uint16_t)(rsp[len - 2] << 8 | rsp[len - 1]);
}

/* The card took PIN and PUK, not the defaults: the PIN verifies, the
 * default one does not, and the PUK sets a new PIN. */
static void expect_pin_and_puk(const char *image)
{
	power_up(image);
	cr_assert_eq(sw_of("00 20 00 81 08 31 32 33 34 FF FF FF FF"), 0x63C2, "1234 is not it");
	cr_assert_eq(sw_of("00 20 00 81 08 " PIN_BLOCK), 0x9000, "the PIN given is");
	cr_assert_eq(sw_of("00 2C 00 81 10 " PUK_BLOCK " " OTHER_PIN_BLOCK), 0x9000,
		     "the PUK given unblocks");
	cr_assert_eq(sw_of("00 20 00 81 08 " OTHER_PIN_BLOCK), 0x9000);
	power_down();
}

/* ---- the tests ---- */

Test(vcard_daemon, pin_and_puk_from_one_descriptor)
{
	char image[256];
	const char *args[] = { "--new", "--image", ts_tmp_path(image, sizeof(image), "card.img"),
			       "--pin-fd", "3", "--puk-fd", "3", NULL };

	cr_assert_eq(run(args, PIN "\n" PUK "\n"), 0);
	expect_pin_and_puk(image);
}

Test(vcard_daemon, a_bad_pin_on_the_descriptor_makes_no_image)
{
	char image[256];
	const char *args[] = { "--new", "--image", ts_tmp_path(image, sizeof(image), "card.img"),
			       "--pin-fd", "3", NULL };

	cr_assert_eq(run(args, "12\n"), 2, "two digits are no PIN");
	cr_assert_eq(access(image, F_OK), -1, "no image is left");
	cr_assert_eq(run(args, ""), 2, "nothing is no PIN");
	cr_assert_eq(access(image, F_OK), -1, "no image is left");
	const char *both[] = { "--new", "--image", image, "--pin-fd", "3", "--pin", PIN, NULL };
	cr_assert_eq(run(both, ""), 2, "--pin and --pin-fd together are refused");
}

/* Whether the command line of pid, as other users read it, names the
 * option given and no longer holds the secret. */
static bool erased(pid_t pid, const char *option, const char *secret)
{
	char path[64], buf[4096];
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n <= 0)
		return false;
	return memmem(buf, (size_t)n, option, strlen(option)) &&
	       !memmem(buf, (size_t)n, secret, strlen(secret));
}

/* --pin still works, but its text leaves the command line at once: the
 * program is held reading the PUK while its command line is read. */
Test(vcard_daemon, pin_erased_from_the_command_line, .timeout = 30)
{
	char image[256];
	const char *args[] = { "--new", "--image", ts_tmp_path(image, sizeof(image), "card.img"),
			       "--pin", PIN, "--puk-fd", "3", NULL };
	int feed, status;

	pid_t pid = start(args, &feed);
	bool gone = false;
	/* The command line names --puk-fd from the exec on, and holds the
	 * PIN until the program erases it. */
	for (int i = 0; i < 1000 && !gone; i++) {
		gone = erased(pid, "--puk-fd", PIN);
		if (!gone) {
			cr_assert_eq(waitpid(pid, &status, WNOHANG), 0,
				     "ecard-vcard ended before reading the PUK");
			nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000 * 1000 }, NULL);
		}
	}
	if (!gone)
		kill(pid, SIGKILL);
	cr_assert(gone, "the PIN is still on ecard-vcard's command line");
	cr_assert_eq(finish(pid, feed, PUK "\n"), 0);
	expect_pin_and_puk(image);
}

/* Two daemons on one image would each overwrite what the other commits:
 * the second is refused with the first one's process number, at once,
 * and the image is free again once the first is killed with SIGKILL. */
Test(vcard_daemon, a_second_daemon_on_one_image_is_refused, .timeout = 30)
{
	char image[512], path[4096], expected[600], err[1024];
	ts_tmp_path(image, sizeof(image), "card.img");
	const char *create[] = { "--new", "--image", image, NULL };
	cr_assert_eq(run(create, ""), 0);

	/* The first one waits for a vpcd that never comes. */
	const char *serve[] = { "--image", image, "--vpcd", "127.0.0.1:1", "--log-level", "error",
				NULL };
	int feed;
	pid_t first = start(serve, &feed);
	for (int i = 0; i < 100 && vc_storage_file_holder(image) != first; i++)
		usleep(50 * 1000);
	cr_assert_eq(vc_storage_file_holder(image), first, "the first daemon holds the image");

	int p[2];
	cr_assert_eq(pipe(p), 0);
	pid_t second = fork();
	cr_assert_geq(second, 0);
	if (second == 0) {
		dup2(p[1], STDERR_FILENO);
		execl(program(path, sizeof(path)), "ecard-vcard", "--image", image, "--vpcd",
		      "127.0.0.1:1", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	size_t got = 0;
	ssize_t n;
	while (got < sizeof(err) - 1 && (n = read(p[0], err + got, sizeof(err) - 1 - got)) > 0)
		got += (size_t)n;
	err[got] = '\0';
	close(p[0]);
	int status;
	cr_assert_eq(waitpid(second, &status, 0), second);
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 2, "status %d", status);
	snprintf(expected, sizeof(expected), "ecard-vcard: %s is in use by process %ld.\n", image,
		 (long)first);
	cr_expect_str_eq(err, expected);

	kill(first, SIGKILL);
	close(feed);
	waitpid(first, NULL, 0);
	struct vc_storage *st;
	cr_assert_eq(vc_storage_file_open(image, &st), VC_OK, "free after kill -9");
	vc_storage_destroy(st);
}

/* A stop signal ends the daemon at once even while it connects to a vpcd
 * that does not answer: a listener whose queue is full drops the SYN, so
 * the connect would wait for the kernel's timeout of minutes. */
Test(vcard_daemon, sigterm_ends_a_connect_at_once, .timeout = 30)
{
	char image[512], port[16];
	ts_tmp_path(image, sizeof(image), "card.img");
	const char *create[] = { "--new", "--image", image, NULL };
	cr_assert_eq(run(create, ""), 0);

	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert_geq(lfd, 0);
	cr_assert_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(lfd, 0), 0);
	cr_assert_eq(getsockname(lfd, (struct sockaddr *)&sa, &len), 0);
	/* Fill the accept queue: later SYNs go unanswered. */
	int fillers[4];
	for (int i = 0; i < 4; i++) {
		fillers[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		(void)connect(fillers[i], (struct sockaddr *)&sa, sizeof(sa));
	}
	snprintf(port, sizeof(port), "127.0.0.1:%u", ntohs(sa.sin_port));
	const char *serve[] = { "--image", image, "--vpcd", port, "--log-level", "error", NULL };
	int feed;
	pid_t pid = start(serve, &feed);
	usleep(700 * 1000);	/* well inside its first connect */
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	kill(pid, SIGTERM);
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	close(feed);
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d", status);
	cr_expect_lt(ms, 500, "SIGTERM took %ld ms", ms);
	for (int i = 0; i < 4; i++)
		close(fillers[i]);
	close(lfd);
}
