/*
 * cli_pin.c - `ecard pin verify|change|unblock`: the card-wide PIN
 * (DESIGN §1.3). The card is connected before any secret is asked for,
 * so nobody types a PIN for a reader that holds no card; the secrets come
 * from pin_entry.c and are wiped before the verb returns.
 */
#include "cli.h"

#include <string.h>

#include "crypto.h"
#include "pin_client.h"
#include "pin_entry.h"

const char cli_usage_pin[] =
	"usage: ecard pin verify  [--pin-fd N] [--reader NAME|INDEX]\n"
	"       ecard pin change  [--pin-fd N] [--reader NAME|INDEX]\n"
	"       ecard pin unblock [--pin-fd N] [--reader NAME|INDEX]\n"
	"\n"
	"verify: check the PIN (the card stays verified until it is reset).\n"
	"change: give the current PIN, then the new one (4 to 8 digits).\n"
	"unblock: give the PUK (8 digits), then a new PIN; this also resets\n"
	"the PIN's try counter.\n"
	"\n"
	"The secrets are asked on the terminal without echo (a new PIN twice),\n"
	"or read from file descriptor N with --pin-fd N, one per line: the\n"
	"PIN; the old PIN then the new one; the PUK then the new PIN.\n"
	"Exit status 1 when the card refuses (wrong PIN or PUK, blocked).\n"
	"\n"
	"example: printf '1234\\n4321\\n' | ecard pin change --pin-fd 0\n";

/* For change and unblock: a secret (prompt: the PIN or the PUK), then the
 * new PIN; EC_OK, or err's status. */
static enum ec_status read_then_new(struct pin_entry *pe, const char *prompt,
				   char first[EC_PIN_TEXT_MAX], char second[EC_PIN_TEXT_MAX],
				   struct ec_error *err)
{
	if (pin_entry_read(pe, prompt, first, EC_PIN_TEXT_MAX, err) != 0 ||
	    pin_entry_read_new(pe, "New PIN: ", "New PIN again: ", second, EC_PIN_TEXT_MAX, err) != 0)
		return err->status;
	return EC_OK;
}

int verb_pin(struct cli *cli, int argc, char **argv)
{
	const char *fd_text = NULL;
	const struct cli_option opts[] = {
		{ "--pin-fd", &fd_text, NULL },
		{ NULL, NULL, NULL },
	};
	struct ec_error err = { 0 };
	struct pin_entry pe;
	char first[EC_PIN_TEXT_MAX], second[EC_PIN_TEXT_MAX];
	const char *done;
	int fd = -1, npos;

	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(cli_usage_pin, stdout);
		return EXIT_SUCCESS;
	}
	const char *action = argc >= 2 ? argv[1] : "";
	if (strcmp(action, "verify") != 0 && strcmp(action, "change") != 0 &&
	    strcmp(action, "unblock") != 0) {
		cli_error("\"ecard pin\" needs \"verify\", \"change\" or \"unblock\": run \"ecard pin --help\".");
		return EXIT_USAGE;
	}
	int r = cli_verb_args(cli, argc - 1, argv + 1, opts, &npos);
	if (r != CLI_CONTINUE)
		return r;
	if (npos > 0) {
		cli_error("\"ecard pin %s\" takes no arguments (PINs are never given on the command line): run \"ecard pin --help\".",
			  action);
		return EXIT_USAGE;
	}
	if (fd_text && cli_parse_fd("--pin-fd", fd_text, &fd) != 0)
		return EXIT_USAGE;
	r = cli_connect(cli);
	if (r != 0)
		return r;

	pin_entry_init(&pe, fd);
	memset(first, 0, sizeof(first));
	memset(second, 0, sizeof(second));
	enum ec_status st;
	if (strcmp(action, "verify") == 0) {
		done = "PIN verified.";
		st = pin_entry_read(&pe, "PIN: ", first, sizeof(first), &err) == 0 ? EC_OK : err.status;
		if (st == EC_OK)
			st = ec_pin_verify(&cli->pc, first, NULL, &err);
	} else if (strcmp(action, "change") == 0) {
		done = "PIN changed.";
		st = read_then_new(&pe, "Current PIN: ", first, second, &err);
		if (st == EC_OK)
			st = ec_pin_change(&cli->pc, first, second, NULL, &err);
	} else {
		done = "PIN unblocked and set.";
		st = read_then_new(&pe, "PUK: ", first, second, &err);
		if (st == EC_OK)
			st = ec_pin_unblock(&cli->pc, first, second, NULL, &err);
	}
	crypto_wipe(first, sizeof(first));
	crypto_wipe(second, sizeof(second));
	if (st != EC_OK)
		return cli_fail(&err);
	printf("%s\n", done);
	return EXIT_SUCCESS;
}
