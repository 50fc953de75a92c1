/*
 * ecard.c - the ecard command line: global options, the table of verbs, and
 * the verbs that are about the reader rather than an applet, `readers` and
 * `apdu`.
 *
 * `ecard [GLOBAL OPTIONS] VERB [ARGS...]`. Each verb is one function and
 * one row of verbs[] below (name, function, one-line summary, usage text);
 * `ecard --help` lists the rows and `ecard VERB --help` prints a row's
 * usage, so adding a verb never touches the dispatch. Verbs written in other
 * files (cli_wallet.c, cli_issuer.c, cli_pin.c, cli_profile.c, cli_cap.c,
 * cli_gp.c) share struct cli and the cli_* helpers (cli_common.c) through
 * cli.h, and add their row here.
 *
 * Exit status, for every verb: 0 success, 1 the card or a check said no
 * (a status word other than 9000, a forged MAC or signature), 2 a usage or
 * environment error (bad arguments, no pcscd, no reader, no card). Every
 * error is one sentence on standard error starting with "ecard: ".
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "hex.h"
#include "log.h"
#include "pcsc.h"
#include "sw.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "(version unknown: built without configure)"
#endif

static int verb_readers(struct cli *cli, int argc, char **argv);
static int verb_apdu(struct cli *cli, int argc, char **argv);
static int verb_help(struct cli *cli, int argc, char **argv);

static const struct verb verbs[] = {
	{
		"readers", verb_readers,
		"list the readers, with an index and whether a card is present",
		"usage: ecard readers [--json] [-v]\n"
		"\n"
		"List the PC/SC readers, each with the index that --reader\n"
		"accepts and \"card present\" or \"empty\". With -v the ATR of\n"
		"each card is shown too; --json prints an array of objects\n"
		"{index, name, card_present, mute, in_use, atr}.\n",
	},
	{
		"apdu", verb_apdu,
		"send APDUs given in hex and show the card's answers",
		"usage: ecard apdu [--reader NAME|INDEX] [--json] [-v] HEX...\n"
		"\n"
		"Connect to the card and send each HEX argument as one command\n"
		"APDU, in order; spaces and colons between bytes are allowed\n"
		"inside an argument (quote it). For each one print\n"
		"  > the command\n"
		"  < the response data\n"
		"  SW xxxx (what the status word means)\n"
		"61xx and 6Cxx are handled on the way (GET RESPONSE, resend with\n"
		"the right Le), so the status word shown is the final one. Every\n"
		"APDU is sent even when one before it fails. --json prints an\n"
		"array of {command, response, sw, description}.\n"
		"\n"
		"Exit status 1 when any APDU's final status word is not 9000 (63Cx\n"
		"answering a VERIFY without data, which asks for the tries left, is an\n"
		"answer, not a refusal).\n"
		"\n"
		"example: ecard apdu '00 A4 04 00 08 F0 45 43 41 52 44 57 01' 805C000000\n",
	},
	{ "balance", verb_balance, "show the wallet's balance", cli_usage_balance },
	{ "log", verb_log, "show the wallet's transaction log, newest first", cli_usage_log },
	{ "load", verb_load, "top the wallet up with the issuer's keys (offline issuer)", cli_usage_load },
	{ "pay", verb_pay, "take a payment from the card as a merchant", cli_usage_pay },
	{ "pin", verb_pin, "verify, change or unblock the card's PIN", cli_usage_pin },
	{ "profile", verb_profile, "show or change the personal data on the card", cli_usage_profile },
	{ "issuer", verb_issuer, "make issuer keys; authorize a load by hand", cli_usage_issuer },
	{ "merchant", verb_merchant, "make a merchant key file certified by the issuer", cli_usage_merchant },
	{ "cap", verb_cap, "show what a Java Card CAP file holds and its load file hash", cli_usage_cap },
	{ "gp", verb_gp, "manage the card's applications and keys (GlobalPlatform)", cli_usage_gp },
	{ "agent", verb_agent, "let the issuer's server update the card over the air (GP SERAM)", cli_usage_agent },
	{ "server", verb_server, "run the issuer's over-the-air server (ecard-server)", cli_usage_server },
	{
		"help", verb_help,
		"show this help, or a command's help: ecard help COMMAND",
		"usage: ecard help [COMMAND]\n",
	},
};

#define N_VERBS (sizeof(verbs) / sizeof(verbs[0]))

static const struct verb *find_verb(const char *name)
{
	for (size_t i = 0; i < N_VERBS; i++)
		if (strcmp(verbs[i].name, name) == 0)
			return &verbs[i];
	return NULL;
}

static void print_help(FILE *f)
{
	fputs("usage: ecard [--reader NAME|INDEX] [--json] [-v] COMMAND [ARGS...]\n"
	      "\n"
	      "Talk to smart cards through PC/SC.\n"
	      "\n"
	      "Commands:\n", f);
	for (size_t i = 0; i < N_VERBS; i++)
		fprintf(f, "  %-10s %s\n", verbs[i].name, verbs[i].summary);
	fputs("\n"
	      "Options (before or after the command):\n"
	      "  --reader NAME|INDEX  the reader to use: an index shown by \"ecard readers\",\n"
	      "                       a full name, or a part of a name that only one reader\n"
	      "                       has (case-sensitive); default: the first reader with\n"
	      "                       a card\n"
	      "  --json               machine-readable output on standard output\n"
	      "  --timeout SECONDS    give up when pcscd, the reader or the card does not\n"
	      "                       answer within SECONDS (default 30; 0: wait as long\n"
	      "                       as it takes); a long load is timed APDU by APDU\n"
	      "  -v, --verbose        log every command and answer on standard error,\n"
	      "                       PINs, keys, personal and personalization data\n"
	      "                       left out\n"
	      "  --help               this help; \"ecard COMMAND --help\" for one command\n"
	      "  -V, --version        print the version\n"
	      "\n"
	      "PINs are never taken from the command line: they are asked for on the\n"
	      "terminal without echo, or read from a file descriptor with --pin-fd N.\n"
	      "Amounts are in major units of the currency, like 12.50 (or \"12.50 EUR\").\n"
	      "\n"
	      "Exit status: 0 success, 1 the card or a check said no (a status word other\n"
	      "than 9000, a wrong PIN, a forged MAC or signature), 2 usage or environment\n"
	      "error (no pcscd, no reader, no card, bad arguments, unreadable files).\n",
	      f);
}

static int verb_help(struct cli *cli, int argc, char **argv)
{
	int npos;
	int r = cli_verb_args(cli, argc, argv, NULL, &npos);
	if (r != CLI_CONTINUE)
		return r;
	if (npos == 0) {
		print_help(stdout);
		return EXIT_SUCCESS;
	}
	const struct verb *v = find_verb(argv[1]);
	if (!v || npos > 1) {
		cli_error("there is no command \"%s\": run \"ecard --help\" to see the commands.", argv[1]);
		return EXIT_USAGE;
	}
	fputs(v->usage, stdout);
	return EXIT_SUCCESS;
}

static int verb_readers(struct cli *cli, int argc, char **argv)
{
	struct ec_reader_info readers[EC_MAX_READERS];
	char atr_hex[2 * EC_ATR_MAX + 1];
	size_t n;
	int npos;

	int r = cli_verb_args(cli, argc, argv, NULL, &npos);
	if (r != CLI_CONTINUE)
		return r;
	if (npos > 0) {
		cli_error("\"ecard readers\" takes no arguments: run \"ecard readers --help\" for its options.");
		return EXIT_USAGE;
	}

	enum ec_status st = ec_list_readers(&cli->pc, readers, EC_MAX_READERS, &n);
	if (st != EC_OK && st != EC_ERR_BUFFER) {
		cli_transport_error(cli, st);
		return EXIT_USAGE;
	}

	if (cli->json) {
		fputs("[", stdout);
		for (size_t i = 0; i < n; i++) {
			const struct ec_reader_info *ri = &readers[i];
			printf("%s\n  {\"index\": %zu, \"name\": ", i ? "," : "", i);
			cli_json_string(stdout, ri->name);
			printf(", \"card_present\": %s, \"mute\": %s, \"in_use\": %s, \"atr\": ",
			       ri->card_present ? "true" : "false",
			       ri->card_mute ? "true" : "false",
			       ri->in_use ? "true" : "false");
			if (ri->atr_len > 0) {
				hex_encode(ri->atr, ri->atr_len, atr_hex);
				printf("\"%s\"}", atr_hex);
			} else {
				fputs("null}", stdout);
			}
		}
		fputs(n ? "\n]\n" : "]\n", stdout);
	} else {
		for (size_t i = 0; i < n; i++) {
			const struct ec_reader_info *ri = &readers[i];
			printf("%zu  %-12s  %s\n", i,
			       ri->card_present ? "card present" : "empty", ri->name);
			if (cli->verbose && ri->atr_len > 0) {
				hex_encode(ri->atr, ri->atr_len, atr_hex);
				printf("   ATR %s%s\n", atr_hex,
				       ri->card_mute ? " (the card does not answer)" : "");
			}
		}
	}

	if (n == 0) {
		cli_error("%s", ec_strerror(&cli->pc, EC_ERR_NO_READERS));
		return EXIT_USAGE;
	}
	if (st == EC_ERR_BUFFER)
		cli_error("more than %d readers are attached: only the first %d are listed.",
			  EC_MAX_READERS, EC_MAX_READERS);
	return EXIT_SUCCESS;
}

struct apdu_arg {
	uint8_t *bytes;
	size_t len;
};

/* Decode every HEX argument before touching the card; 0 or the exit status. */
static int decode_apdus(char **args, int n, struct apdu_arg *out)
{
	for (int i = 0; i < n; i++) {
		size_t digits = strlen(args[i]) / 2 + 1;
		size_t cap = digits < EC_APDU_MAX ? digits : EC_APDU_MAX;
		out[i].bytes = malloc(cap);
		if (!out[i].bytes) {
			cli_error("out of memory while reading the APDUs: give fewer or shorter ones.");
			return EXIT_USAGE;
		}
		long len = hex_decode(args[i], out[i].bytes, cap);
		if (len < 0) {
			cli_error("\"%.40s%s\" is not an APDU in hex: give whole bytes as hex digits (spaces or colons between bytes are allowed), at most %d bytes.",
				  args[i], strlen(args[i]) > 40 ? "..." : "", EC_APDU_MAX);
			return EXIT_USAGE;
		}
		if (len < 4) {
			cli_error("\"%s\" is too short for an APDU: a command has at least 4 bytes (CLA INS P1 P2).",
				  args[i]);
			return EXIT_USAGE;
		}
		out[i].len = (size_t)len;
	}
	return 0;
}

/*
 * Send the APDUs and print each exchange. Returns the exit status: 1 when a
 * final status word was not 9000, 2 when the transport failed part way.
 */
static int exchange_apdus(struct cli *cli, const struct apdu_arg *apdus, int n,
			  uint8_t *resp, char *hex)
{
	char sw_text[EC_SW_TEXT_MAX];
	int status = EXIT_SUCCESS;

	if (cli->json)
		fputs("[", stdout);
	for (int i = 0; i < n; i++) {
		size_t len;
		enum ec_status st = ec_transmit(&cli->pc, apdus[i].bytes,
						apdus[i].len, resp,
						EC_RESPONSE_MAX, &len);
		if (st != EC_OK) {
			if (cli->json)
				fputs(i ? "\n]\n" : "]\n", stdout);
			fflush(stdout);
			cli_transport_error(cli, st);
			return EXIT_USAGE;
		}
		uint16_t sw = ec_response_sw(resp, len);
		const char *meaning = ec_sw_describe_command(apdus[i].bytes, apdus[i].len, sw,
							     sw_text, sizeof(sw_text));
		/* A VERIFY without data asks whether the PIN is verified: 63Cx
		 * is its answer "no, x tries left", not a refusal. */
		bool answered = ec_sw_is_pin_query(apdus[i].bytes, apdus[i].len) &&
				(sw & 0xFFF0) == 0x63C0;
		if (sw != 0x9000 && !answered)
			status = EXIT_CARD_REFUSED;

		if (cli->json) {
			hex_encode(apdus[i].bytes, apdus[i].len, hex);
			printf("%s\n  {\"command\": \"%s\", ", i ? "," : "", hex);
			hex_encode(resp, len - 2, hex);
			printf("\"response\": \"%s\", \"sw\": \"%04X\", \"description\": ",
			       hex, sw);
			cli_json_string(stdout, meaning);
			fputs("}", stdout);
		} else {
			hex_encode(apdus[i].bytes, apdus[i].len, hex);
			printf("> %s\n", hex);
			hex_encode(resp, len - 2, hex);
			printf("<%s%s\n", len > 2 ? " " : "", hex);
			printf("SW %04X (%s)\n", sw, meaning);
		}
	}
	if (cli->json)
		fputs(n ? "\n]\n" : "]\n", stdout);
	return status;
}

static int verb_apdu(struct cli *cli, int argc, char **argv)
{
	int npos;
	int r = cli_verb_args(cli, argc, argv, NULL, &npos);
	if (r != CLI_CONTINUE)
		return r;
	if (npos == 0) {
		cli_error("\"ecard apdu\" needs at least one APDU in hex: run \"ecard apdu --help\" for an example.");
		return EXIT_USAGE;
	}

	struct apdu_arg *apdus = calloc((size_t)npos, sizeof(*apdus));
	uint8_t *resp = malloc(EC_RESPONSE_MAX);
	/* Hex of the largest APDU, which is also longer than any response. */
	_Static_assert(EC_APDU_MAX >= EC_RESPONSE_MAX, "hex buffer too small");
	char *hex = malloc(2 * EC_APDU_MAX + 1);
	int status;

	if (!apdus || !resp || !hex) {
		cli_error("out of memory while preparing the exchange: close other programs and try again.");
		status = EXIT_USAGE;
	} else {
		status = decode_apdus(argv + 1, npos, apdus);
		if (status == 0)
			status = cli_connect(cli);
		if (status == 0)
			status = exchange_apdus(cli, apdus, npos, resp, hex);
	}

	if (apdus)
		for (int i = 0; i < npos; i++)
			free(apdus[i].bytes);
	free(apdus);
	free(resp);
	free(hex);
	return status;
}

int main(int argc, char **argv)
{
	struct cli cli;
	int i;

	memset(&cli, 0, sizeof(cli));
	logger_stderr(&cli.log, "ecard", LOG_WARN);
	ec_pcsc_init(&cli.pc, &cli.log);
	cli.timeout_s = CLI_DEFAULT_TIMEOUT_S;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] != '-' || a[1] == '\0')
			break;
		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			print_help(stdout);
			return EXIT_SUCCESS;
		}
		if (strcmp(a, "--version") == 0 || strcmp(a, "-V") == 0) {
			printf("ecard %s\n", PACKAGE_VERSION);
			return EXIT_SUCCESS;
		}
		int r = cli_common_option(&cli, argc, argv, &i);
		if (r < 0)
			return EXIT_USAGE;
		if (r == 0) {
			cli_error("unknown option \"%s\": run \"ecard --help\" to see the options.", a);
			return EXIT_USAGE;
		}
	}
	if (i >= argc) {
		cli_error("no command given: run \"ecard --help\" to see the commands.");
		return EXIT_USAGE;
	}
	cli.verb = find_verb(argv[i]);
	if (!cli.verb) {
		cli_error("unknown command \"%s\": run \"ecard --help\" to see the commands.", argv[i]);
		return EXIT_USAGE;
	}

	cli_watchdog_install(&cli);
	int status = cli.verb->run(&cli, argc - i, argv + i);
	ec_release(&cli.pc);
	fflush(stdout);
	return status;
}
