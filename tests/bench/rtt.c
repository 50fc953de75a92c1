/*
 * rtt.c - APDU round-trip time through PC/SC, for the benchmark (`make bench`).
 *
 * Connects to the first reader whose name contains a given substring, waits
 * for a card, sends a short warm-up and then N copies of one APDU, timing
 * each exchange. It prints a single line for tests/bench/run.sh to parse:
 *
 *   rtt <reader> n=<N> us_per_apdu=<mean> median_us=<median> p99_us=<p99>
 *
 * The mean is the wall time of the whole run divided by N, so it includes
 * everything between two exchanges, not only the exchanges themselves.
 *
 * usage: rtt READER_NAME_SUBSTRING N [HEXAPDU]   (default APDU 80 CA 00 00 00)
 *
 * Exit status: 0 measured, 1 bad arguments, 2 PC/SC error.
 */
#include <ctype.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <winscard.h>

#define WARMUP_APDUS 20
#define CARD_WAIT_MS 10000L
#define ANSWER_WAIT_S 10
#define APDU_MAX (4 + 3 + 65535 + 3)
#define COUNT_MAX 100000000UL /* keeps the sample array and p99 arithmetic sane */

static const char default_apdu[] = "80CA000000";

static uint8_t apdu[APDU_MAX];
static uint8_t response[MAX_BUFFER_SIZE_EXTENDED];

static void die_pcsc(const char *what, LONG rv)
{
	fprintf(stderr, "rtt: %s failed: %s (0x%08lX).%s\n", what, pcsc_stringify_error(rv),
		(unsigned long)rv, rv == SCARD_E_NO_SERVICE ? " Is pcscd running?" : "");
	exit(2);
}

/*
 * SCardTransmit has no timeout of its own: a card that stops answering (or
 * a stuck driver) would hang `make bench` for good.
 */
static void on_no_answer(int signo)
{
	static const char message[] = "rtt: no answer to an APDU within 10 s; the card or pcscd is stuck.\n";
	ssize_t written;

	(void)signo;
	written = write(STDERR_FILENO, message, sizeof(message) - 1);
	(void)written; /* nothing more can be done about a failed message */
	_exit(2);
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int hex_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Parses hex digits, spaces allowed between bytes; returns the length or 0. */
static size_t parse_hex(const char *text, uint8_t *out, size_t max)
{
	size_t len = 0;

	while (*text != '\0') {
		int high, low;

		if (isspace((unsigned char)*text)) {
			text++;
			continue;
		}
		high = hex_value((unsigned char)text[0]);
		low = text[1] != '\0' ? hex_value((unsigned char)text[1]) : -1;
		if (high < 0 || low < 0 || len == max)
			return 0;
		out[len++] = (uint8_t)(high << 4 | low);
		text += 2;
	}
	return len;
}

/* Returns a malloc'ed copy of the first matching reader name, or NULL. */
static char *find_reader(SCARDCONTEXT ctx, const char *substring)
{
	DWORD len = 0;
	char *names, *name, *found = NULL;
	LONG rv = SCardListReaders(ctx, NULL, NULL, &len);

	if (rv == SCARD_E_NO_READERS_AVAILABLE)
		return NULL;
	if (rv != SCARD_S_SUCCESS)
		die_pcsc("SCardListReaders", rv);
	names = malloc(len);
	if (names == NULL) {
		fprintf(stderr, "rtt: out of memory\n");
		exit(2);
	}
	rv = SCardListReaders(ctx, NULL, names, &len);
	if (rv == SCARD_S_SUCCESS) {
		/* A multi-string: names separated by NUL, ended by an empty one. */
		for (name = names; *name != '\0'; name += strlen(name) + 1) {
			if (strstr(name, substring) != NULL) {
				found = strdup(name);
				break;
			}
		}
	} else if (rv != SCARD_E_NO_READERS_AVAILABLE) {
		die_pcsc("SCardListReaders", rv);
	}
	free(names);
	return found;
}

/*
 * pcscd may still be bringing the reader up and the card may not have
 * connected to vpcd yet, so both are waited for, together at most 10 s.
 */
static char *wait_for_card(SCARDCONTEXT ctx, const char *substring)
{
	double deadline = now_us() + CARD_WAIT_MS * 1e3;
	SCARD_READERSTATE state;
	char *reader;
	LONG rv;

	while ((reader = find_reader(ctx, substring)) == NULL) {
		struct timespec pause = { 0, 100 * 1000000L };

		if (now_us() > deadline) {
			fprintf(stderr, "rtt: no reader whose name contains \"%s\" appeared within %ld s.\n",
				substring, CARD_WAIT_MS / 1000);
			exit(2);
		}
		nanosleep(&pause, NULL);
	}

	memset(&state, 0, sizeof(state));
	state.szReader = reader;
	state.dwCurrentState = SCARD_STATE_UNAWARE;
	for (;;) {
		double left_ms = (deadline - now_us()) / 1e3;

		rv = SCardGetStatusChange(ctx, left_ms > 0 ? (DWORD)left_ms : 0, &state, 1);
		if (rv == SCARD_E_TIMEOUT) {
			fprintf(stderr, "rtt: no card in reader \"%s\" within %ld s; is the card connected to vpcd?\n",
				reader, CARD_WAIT_MS / 1000);
			exit(2);
		}
		if (rv != SCARD_S_SUCCESS)
			die_pcsc("SCardGetStatusChange", rv);
		if (state.dwEventState & SCARD_STATE_PRESENT)
			return reader;
		state.dwCurrentState = state.dwEventState & ~(DWORD)SCARD_STATE_CHANGED;
	}
}

/* The watchdog is armed by the caller, outside the timed window. */
static void exchange(SCARDHANDLE card, const SCARD_IO_REQUEST *pci, size_t apdu_len)
{
	DWORD response_len = sizeof(response);
	LONG rv = SCardTransmit(card, pci, apdu, (DWORD)apdu_len, NULL, response, &response_len);

	if (rv != SCARD_S_SUCCESS)
		die_pcsc("SCardTransmit", rv);
	if (response_len < 2) {
		fprintf(stderr, "rtt: the card answered without a status word.\n");
		exit(2);
	}
}

static int compare_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	const char *apdu_text = argc > 3 ? argv[3] : default_apdu;
	SCARDCONTEXT ctx;
	SCARDHANDLE card;
	DWORD protocol;
	const SCARD_IO_REQUEST *pci;
	size_t apdu_len, count, p99_rank;
	double *samples, start, total, median;
	char *reader, *end;
	LONG rv;

	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: rtt READER_NAME_SUBSTRING N [HEXAPDU]\n");
		return 1;
	}
	count = strtoul(argv[2], &end, 10);
	if (*argv[2] == '\0' || *end != '\0' || count == 0 || count > COUNT_MAX) {
		fprintf(stderr, "rtt: N must be a number from 1 to %lu, not \"%s\".\n", COUNT_MAX, argv[2]);
		return 1;
	}
	apdu_len = parse_hex(apdu_text, apdu, sizeof(apdu));
	if (apdu_len < 4) {
		fprintf(stderr, "rtt: \"%s\" is not an APDU in hex (at least CLA INS P1 P2).\n", apdu_text);
		return 1;
	}
	samples = malloc(count * sizeof(*samples));
	if (samples == NULL) {
		fprintf(stderr, "rtt: cannot hold %zu samples in memory.\n", count);
		return 1;
	}

	rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx);
	if (rv != SCARD_S_SUCCESS)
		die_pcsc("SCardEstablishContext", rv);
	reader = wait_for_card(ctx, argv[1]);
	rv = SCardConnect(ctx, reader, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1,
			  &card, &protocol);
	if (rv != SCARD_S_SUCCESS)
		die_pcsc("SCardConnect", rv);
	pci = protocol == SCARD_PROTOCOL_T0 ? SCARD_PCI_T0 : SCARD_PCI_T1;

	/* Warm-up: the first exchanges pay for cold caches and lazy setup. */
	signal(SIGALRM, on_no_answer);
	for (int i = 0; i < WARMUP_APDUS; i++) {
		alarm(ANSWER_WAIT_S);
		exchange(card, pci, apdu_len);
	}

	start = now_us();
	for (size_t i = 0; i < count; i++) {
		double before;

		alarm(ANSWER_WAIT_S);
		before = now_us();
		exchange(card, pci, apdu_len);
		samples[i] = now_us() - before;
	}
	total = now_us() - start;
	alarm(0);

	qsort(samples, count, sizeof(*samples), compare_double);
	median = count % 2 ? samples[count / 2] : (samples[count / 2 - 1] + samples[count / 2]) / 2;
	/* Nearest-rank percentile: the smallest sample >= 99 % of all samples. */
	p99_rank = (count * 99 + 99) / 100;
	printf("rtt %s n=%zu us_per_apdu=%.1f median_us=%.1f p99_us=%.1f\n",
	       reader, count, total / (double)count, median, samples[p99_rank - 1]);

	SCardDisconnect(card, SCARD_LEAVE_CARD);
	SCardReleaseContext(ctx);
	free(reader);
	free(samples);
	return 0;
}
