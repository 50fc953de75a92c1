/*
 * cli_issuer.c - the verbs that need no card, only keys: `issuer init`
 * (a new issuer key directory), `issuer authorize-load` (the issuer's
 * step of a load on its own: S1 in, S2 out, so the protocol can be driven
 * by hand with `ecard apdu` or by other software), and `merchant init`
 * (a merchant key file certified by the issuer).
 */
#include "cli.h"

#include <string.h>

#include "amount.h"
#include "hex.h"
#include "issuer.h"
#include "merchant.h"

/* Without --max-balance: this many major units of the currency. */
#define DEFAULT_MAX_MAJOR 1000u

const char cli_usage_issuer[] =
	"usage: ecard issuer init DIR [--currency CODE] [--max-balance AMOUNT]\n"
	"       ecard issuer authorize-load --dir DIR --amount AMOUNT [--json] HEX\n"
	"\n"
	"init: make a new issuer key directory DIR (mode 700): the master load\n"
	"key and the CA key pair (secret, mode 600), the CA public key in\n"
	"DIR/ca.pub (give it to verifiers) and the settings. --currency takes\n"
	"an ISO 4217 code, EUR or 978 (default EUR); --max-balance the largest\n"
	"balance a card may hold (default 1000 in the currency's major units).\n"
	"An existing directory is used only if it is empty.\n"
	"\n"
	"authorize-load: the issuer's step of a load. HEX is the card's answer\n"
	"to INITIALIZE LOAD for AMOUNT (48 bytes: challenge, serial, counter,\n"
	"balance, S1; a trailing 9000 is allowed). S1 is checked, and S2 is\n"
	"printed in hex, ready for CREDIT (80 42 00 00 10 S2 00). Exit status 1\n"
	"when S1 does not verify: no S2 is given then. --json prints {serial,\n"
	"counter, balance, balance_minor, amount, amount_minor, s2}.\n"
	"\n"
	"example: ecard issuer init keys --currency EUR --max-balance 500\n";

const char cli_usage_merchant[] =
	"usage: ecard merchant init --issuer DIR --id HEX OUT\n"
	"\n"
	"Make a merchant key file OUT (mode 600, must not exist): the merchant\n"
	"id (8 bytes in hex), a new key pair, its certificate signed by the CA\n"
	"of the issuer in DIR, and the issuer's CA public key and currency, so\n"
	"that \"ecard pay --merchant OUT\" can check cards offline.\n"
	"\n"
	"example: ecard merchant init --issuer keys --id 4D45524348414E54 shop.key\n";

static int issuer_init(struct cli *cli, int argc, char **argv)
{
	const char *currency_text = NULL, *max_text = NULL;
	const struct cli_option opts[] = {
		{ "--currency", &currency_text, NULL },
		{ "--max-balance", &max_text, NULL },
		{ NULL, NULL, NULL },
	};
	struct ec_error err = { 0 };
	char a[EC_AMOUNT_TEXT_MAX];
	int npos;

	int r = cli_verb_args(cli, argc, argv, opts, &npos);
	if (r != CLI_CONTINUE)
		return r;
	if (npos != 1) {
		cli_error("\"ecard issuer init\" needs one directory: run \"ecard issuer --help\".");
		return EXIT_USAGE;
	}
	const struct ec_currency *cur = ec_currency_parse(currency_text ? currency_text : "EUR");
	if (!cur) {
		cli_error("--currency \"%s\" is not a currency ecard knows: give an ISO 4217 code such as EUR, USD, GBP or 978.",
			  currency_text);
		return EXIT_USAGE;
	}
	uint32_t max_balance = DEFAULT_MAX_MAJOR;
	for (unsigned i = 0; i < cur->exponent; i++)
		max_balance *= 10;
	if (max_text && cli_parse_amount("--max-balance", max_text, cur->numeric, &max_balance) != 0)
		return EXIT_USAGE;

	if (ec_issuer_init(argv[1], cur->numeric, max_balance, &err) != EC_OK)
		return cli_fail(&err);
	printf("issuer keys made in %s: currency %s, maximum balance %s.\n", argv[1], cur->code,
	       ec_amount_format(max_balance, cur->numeric, a, sizeof(a)));
	printf("Keep %s secret; give %s/%s to merchants and verifiers.\n", argv[1], argv[1],
	       EC_ISSUER_CA_PUB_FILE);
	return EXIT_SUCCESS;
}

static int issuer_authorize_load(struct cli *cli, int argc, char **argv)
{
	const char *dir = NULL, *amount_text = NULL;
	const struct cli_option opts[] = {
		{ "--dir", &dir, NULL },
		{ "--amount", &amount_text, NULL },
		{ NULL, NULL, NULL },
	};
	uint8_t response[EC_INIT_LOAD_RESPONSE_LEN + 2], s2[PURSE_MAC_LEN];
	char serial[2 * PURSE_SERIAL_LEN + 1], s2_hex[2 * PURSE_MAC_LEN + 1];
	char number[EC_AMOUNT_TEXT_MAX];
	struct ec_error err = { 0 };
	struct ec_issuer issuer;
	struct purse_load load;
	uint32_t amount;
	int npos;

	int r = cli_verb_args(cli, argc, argv, opts, &npos);
	if (r != CLI_CONTINUE)
		return r;
	if (npos != 1 || !dir || !amount_text) {
		cli_error("\"ecard issuer authorize-load\" needs --dir DIR, --amount AMOUNT and the card's answer in hex: run \"ecard issuer --help\".");
		return EXIT_USAGE;
	}
	long n = hex_decode(argv[1], response, sizeof(response));
	/* The answer as `ecard apdu` shows it, or with its status word. */
	if (n == EC_INIT_LOAD_RESPONSE_LEN + 2 && response[n - 2] == 0x90 && response[n - 1] == 0x00)
		n -= 2;
	if (n != EC_INIT_LOAD_RESPONSE_LEN) {
		cli_error("the INITIALIZE LOAD answer must be %d bytes in hex (challenge, serial, counter, balance, S1), not \"%.40s%s\".",
			  EC_INIT_LOAD_RESPONSE_LEN, argv[1], strlen(argv[1]) > 40 ? "..." : "");
		return EXIT_USAGE;
	}

	if (ec_issuer_load(dir, &issuer, &err) != EC_OK)
		return cli_fail(&err);
	uint16_t currency = issuer.currency;
	r = cli_parse_amount("--amount", amount_text, currency, &amount);
	if (r == 0 && ec_issuer_authorize_load(&issuer, response, (size_t)n, amount, &load, s2,
					       &err) != EC_OK)
		r = cli_fail(&err);
	ec_issuer_wipe(&issuer);
	if (r != 0)
		return r;

	hex_encode(s2, sizeof(s2), s2_hex);
	if (cli->json) {
		hex_encode(load.serial, PURSE_SERIAL_LEN, serial);
		printf("{\"serial\": \"%s\", \"counter\": %lu, \"balance\": \"%s\", \"balance_minor\": %lu, ",
		       serial, (unsigned long)load.counter,
		       ec_amount_format_number(load.balance, currency, number, sizeof(number)),
		       (unsigned long)load.balance);
		printf("\"amount\": \"%s\", \"amount_minor\": %lu, \"s2\": \"%s\"}\n",
		       ec_amount_format_number(amount, currency, number, sizeof(number)),
		       (unsigned long)amount, s2_hex);
	} else {
		printf("%s\n", s2_hex);
	}
	return EXIT_SUCCESS;
}

int verb_issuer(struct cli *cli, int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "init") == 0)
		return issuer_init(cli, argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "authorize-load") == 0)
		return issuer_authorize_load(cli, argc - 1, argv + 1);
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(cli_usage_issuer, stdout);
		return EXIT_SUCCESS;
	}
	cli_error("\"ecard issuer\" needs \"init\" or \"authorize-load\": run \"ecard issuer --help\".");
	return EXIT_USAGE;
}

static int merchant_init(struct cli *cli, int argc, char **argv)
{
	const char *dir = NULL, *id_text = NULL;
	const struct cli_option opts[] = {
		{ "--issuer", &dir, NULL },
		{ "--id", &id_text, NULL },
		{ NULL, NULL, NULL },
	};
	struct ec_error err = { 0 };
	struct ec_issuer issuer;
	uint8_t id[PURSE_ID_LEN];
	int npos;

	int r = cli_verb_args(cli, argc, argv, opts, &npos);
	if (r != CLI_CONTINUE)
		return r;
	if (npos != 1 || !dir || !id_text) {
		cli_error("\"ecard merchant init\" needs --issuer DIR, --id HEX and the file to write: run \"ecard merchant --help\".");
		return EXIT_USAGE;
	}
	if (cli_parse_hex("--id", id_text, id, sizeof(id)) != 0)
		return EXIT_USAGE;
	if (ec_issuer_load(dir, &issuer, &err) != EC_OK)
		return cli_fail(&err);
	enum ec_status st = ec_merchant_init(&issuer, id, argv[1], &err);
	ec_issuer_wipe(&issuer);
	if (st != EC_OK)
		return cli_fail(&err);
	char id_hex[2 * PURSE_ID_LEN + 1];
	hex_encode(id, sizeof(id), id_hex);
	printf("merchant %s written to %s (secret: mode 600).\n", id_hex, argv[1]);
	return EXIT_SUCCESS;
}

int verb_merchant(struct cli *cli, int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "init") == 0)
		return merchant_init(cli, argc - 1, argv + 1);
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(cli_usage_merchant, stdout);
		return EXIT_SUCCESS;
	}
	cli_error("\"ecard merchant\" needs \"init\": run \"ecard merchant --help\".");
	return EXIT_USAGE;
}
