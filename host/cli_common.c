/*
 * cli_common.c - the helpers every verb of the ecard command line uses
 * (see cli.h): option sorting, connecting, error and JSON output, and the
 * parsing of amounts, descriptors, bytes and hex given as arguments.
 */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "amount.h"
#include "hex.h"

void cli_error(const char *fmt, ...)
{
	va_list ap;
	fflush(stdout);
	fputs("ecard: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/*
 * The watchdog: SIGALRM while a PC/SC call waits longer than --timeout.
 * pcsc-lite gives no way to abandon a call (SCardCancel only ends
 * SCardGetStatusChange), so the program ends there, with the message
 * prepared when the watchdog was installed (a signal handler may only
 * write and exit). A card left in the middle of a command is the card's
 * business: its transactions are atomic.
 */
static char watchdog_message[256];
static volatile size_t watchdog_message_len;

static void watchdog_fired(int sig)
{
	(void)sig;
	ssize_t unused = write(STDERR_FILENO, watchdog_message, watchdog_message_len);
	(void)unused;
	_exit(EXIT_USAGE);
}

/* The bound is read at each wait: --timeout may come after the verb. */
static void watchdog(void *arg, bool begin)
{
	const struct cli *cli = arg;
	if (!begin || cli->timeout_s == 0) {
		alarm(0);
		return;
	}
	int n = snprintf(watchdog_message, sizeof(watchdog_message),
			 "ecard: no answer within %u s (--timeout): the card, its reader or pcscd "
			 "stopped answering.\n", cli->timeout_s);
	watchdog_message_len = n > 0 && (size_t)n < sizeof(watchdog_message) ? (size_t)n : 0;
	alarm(cli->timeout_s);
}

void cli_watchdog_install(struct cli *cli)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = watchdog_fired;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	cli->pc.on_wait = watchdog;
	cli->pc.wait_arg = cli;
}

int cli_common_option(struct cli *cli, int argc, char **argv, int *i)
{
	const char *a = argv[*i];

	if (strcmp(a, "--timeout") == 0 || strncmp(a, "--timeout=", 10) == 0) {
		const char *v = a[9] == '=' ? a + 10 : (*i + 1 < argc ? argv[++*i] : NULL);
		char *end = NULL;
		unsigned long s = v && *v >= '0' && *v <= '9' ? strtoul(v, &end, 10) : 0;
		if (!v || !end || *end || s > 86400) {
			cli_error("--timeout takes seconds from 0 (no limit) to 86400, e.g. --timeout 10.");
			return -1;
		}
		cli->timeout_s = (unsigned)s;
		return 1;
	}
	if (strcmp(a, "--json") == 0) {
		cli->json = true;
		return 1;
	}
	if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
		cli->verbose = true;
		cli->log.level = LOG_DEBUG;
		return 1;
	}
	if (strncmp(a, "--reader=", 9) == 0) {
		cli->reader = a + 9;
		return 1;
	}
	if (strcmp(a, "--reader") == 0) {
		if (*i + 1 >= argc) {
			cli_error("--reader needs a reader name or index: run \"ecard readers\" to see them.");
			return -1;
		}
		cli->reader = argv[++*i];
		return 1;
	}
	return 0;
}

/* A verb's own option; same return values as cli_common_option(). */
static int verb_option(struct cli *cli, const struct cli_option *opts, int argc, char **argv,
		       int *i)
{
	const char *a = argv[*i];

	for (const struct cli_option *o = opts; o && o->name; o++) {
		size_t n = strlen(o->name);
		if (strncmp(a, o->name, n) != 0 || (a[n] != '\0' && a[n] != '='))
			continue;
		if (!o->value) {
			if (a[n] == '=') {
				cli_error("%s takes no value: run \"ecard %s --help\".", o->name,
					  cli->verb->name);
				return -1;
			}
			*o->flag = true;
			return 1;
		}
		if (a[n] == '=') {
			*o->value = a + n + 1;
			return 1;
		}
		if (*i + 1 >= argc) {
			cli_error("%s needs a value: run \"ecard %s --help\".", o->name,
				  cli->verb->name);
			return -1;
		}
		*o->value = argv[++*i];
		return 1;
	}
	return 0;
}

int cli_verb_args(struct cli *cli, int argc, char **argv, const struct cli_option *opts,
		  int *npos)
{
	bool options_done = false;

	*npos = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (options_done || a[0] != '-' || a[1] == '\0') {
			argv[1 + (*npos)++] = argv[i];
			continue;
		}
		if (strcmp(a, "--") == 0) {
			options_done = true;
			continue;
		}
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			fputs(cli->verb->usage, stdout);
			return EXIT_SUCCESS;
		}
		int r = cli_common_option(cli, argc, argv, &i);
		if (r == 0)
			r = verb_option(cli, opts, argc, argv, &i);
		if (r < 0)
			return EXIT_USAGE;
		if (r == 0) {
			cli_error("\"%s\" is not an option of \"ecard %s\": run \"ecard %s --help\" to see its options.",
				  a, cli->verb->name, cli->verb->name);
			return EXIT_USAGE;
		}
	}
	return CLI_CONTINUE;
}

int cli_subverb(struct cli *cli, int argc, char **argv, const struct cli_subverb *subs, size_t n,
		const char *needs)
{
	for (size_t i = 0; argc >= 2 && i < n; i++)
		if (strcmp(argv[1], subs[i].name) == 0)
			return subs[i].run(cli, argc - 1, argv + 1);
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(cli->verb->usage, stdout);
		return EXIT_SUCCESS;
	}
	cli_error("\"ecard %s\" needs %s: run \"ecard %s --help\".", cli->verb->name, needs,
		  cli->verb->name);
	return EXIT_USAGE;
}

void cli_transport_error(struct cli *cli, enum ec_status st)
{
	switch (st) {
	case EC_ERR_NO_READER:
		cli_error("no reader matches \"%s\": run \"ecard readers\" to see the names and indexes.",
			  cli->reader ? cli->reader : "");
		break;
	case EC_ERR_AMBIGUOUS_READER:
		cli_error("\"%s\" matches several readers: give more of the name, or the index shown by \"ecard readers\".",
			  cli->reader ? cli->reader : "");
		break;
	case EC_ERR_NO_CARD:
		cli_error("no reader holds a card: insert one, or choose a reader with --reader.");
		break;
	default:
		cli_error("%s", ec_strerror(&cli->pc, st));
		break;
	}
}

int cli_connect(struct cli *cli)
{
	uint8_t atr[EC_ATR_MAX];
	size_t atr_len;
	char atr_hex[2 * EC_ATR_MAX + 1];

	enum ec_status st = ec_connect(&cli->pc, cli->reader, 0);
	if (st != EC_OK) {
		cli_transport_error(cli, st);
		return EXIT_USAGE;
	}
	if (ec_get_atr(&cli->pc, atr, sizeof(atr), &atr_len) == EC_OK) {
		hex_encode(atr, atr_len, atr_hex);
		LOG_I(&cli->log, "reader \"%s\", T=%d, ATR %s", cli->pc.reader,
		      cli->pc.protocol == SCARD_PROTOCOL_T0 ? 0 : 1, atr_hex);
	}
	return 0;
}

int cli_exit_status(enum ec_status st)
{
	switch (st) {
	case EC_OK:
		return EXIT_SUCCESS;
	case EC_ERR_CARD:
	case EC_ERR_CHECK:
		return EXIT_CARD_REFUSED;
	default:
		return EXIT_USAGE;
	}
}

int cli_fail(const struct ec_error *err)
{
	cli_error("%s", err->text[0] ? err->text : ec_strerror(NULL, err->status));
	return cli_exit_status(err->status);
}

void cli_json_bytes(FILE *f, const char *s, size_t len)
{
	fputc('"', f);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

void cli_json_string(FILE *f, const char *s)
{
	cli_json_bytes(f, s, strlen(s));
}

void cli_json_hex(FILE *f, const uint8_t *data, size_t len)
{
	fputc('"', f);
	for (size_t i = 0; i < len; i++)
		fprintf(f, "%02X", data[i]);
	fputc('"', f);
}

void cli_print_safe(FILE *f, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		fputc(c < 0x20 || c == 0x7F ? '?' : c, f);
	}
}

int cli_parse_amount(const char *option, const char *text, uint16_t currency, uint32_t *minor)
{
	const struct ec_currency *cur = ec_currency_by_numeric(currency);
	enum ec_amount_status st = ec_amount_parse(text, currency, minor);

	if (st == EC_AMOUNT_OK && *minor == 0) {
		cli_error("%s %s: the amount must be more than zero.", option, text);
		return EXIT_USAGE;
	}
	if (st != EC_AMOUNT_OK) {
		cli_error("%s \"%s\" is not an amount in %s: %s.", option, text,
			  cur ? cur->code : "the card's currency", ec_amount_strerror(st));
		return EXIT_USAGE;
	}
	return 0;
}

int cli_parse_fd(const char *option, const char *text, int *fd)
{
	char *end;
	errno = 0;
	long v = strtol(text, &end, 10);
	if (errno || end == text || *end != '\0' || v < 0 || v > INT_MAX) {
		cli_error("%s \"%s\" is not a file descriptor number: give a number such as 3.", option,
			  text);
		return EXIT_USAGE;
	}
	if (fcntl((int)v, F_GETFD) == -1) {
		cli_error("%s %ld: file descriptor %ld is not open; open it in the shell, e.g. \"3<file\".",
			  option, v, v);
		return EXIT_USAGE;
	}
	*fd = (int)v;
	return 0;
}

int cli_parse_hex(const char *what, const char *text, uint8_t *out, size_t len)
{
	long n = hex_decode(text, out, len);
	if (n != (long)len) {
		cli_error("%s must be exactly %zu bytes in hex (%zu hex digits), not \"%.40s%s\".", what,
			  len, 2 * len, text, strlen(text) > 40 ? "..." : "");
		return EXIT_USAGE;
	}
	return 0;
}

int cli_parse_byte(const char *option, const char *text, uint8_t *out)
{
	uint8_t b;
	const char *p = (text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) ? text + 2 : text;
	char two[3] = { '0', '0', '\0' };
	size_t n = strlen(p);

	if (n == 1)
		two[1] = p[0];
	else if (n == 2)
		memcpy(two, p, 2);
	if ((n != 1 && n != 2) || hex_decode(two, &b, 1) != 1) {
		cli_error("%s \"%s\" is not a byte in hex: give one like 30.", option, text);
		return EXIT_USAGE;
	}
	*out = b;
	return 0;
}

void cli_hex_lower(const uint8_t *data, size_t len, char *out)
{
	hex_encode(data, len, out);
	for (char *p = out; *p; p++)
		*p = (char)tolower((unsigned char)*p);
}
