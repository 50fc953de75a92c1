/*
 * cli_wallet.c - the wallet verbs of the ecard command line: `balance`,
 * `log`, `load` (top-up with the issuer's keys at hand) and `pay` (the
 * merchant's side of a purchase). The protocol work is libecard's
 * (wallet.h, issuer.h, merchant.h); these functions parse arguments, ask
 * for the PIN and print what came back.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#include "amount.h"
#include "hex.h"
#include "issuer.h"
#include "merchant.h"
#include "pin_entry.h"
#include "wallet.h"

const char cli_usage_balance[] =
	"usage: ecard balance [--reader NAME|INDEX] [--json]\n"
	"\n"
	"Show the wallet's balance, its maximum, the transaction counter and\n"
	"the card serial. --json prints {serial, currency, currency_numeric,\n"
	"balance, balance_minor, max_balance, max_balance_minor, counter}, the\n"
	"amounts as strings in major units and as integers in minor units.\n";

const char cli_usage_log[] =
	"usage: ecard log [--reader NAME|INDEX] [--json]\n"
	"\n"
	"Show every entry of the wallet's log, newest first: the counter, load\n"
	"or debit, the amount, the balance after it and, for a debit, the\n"
	"merchant id. --json prints an array of {index, counter, type, amount,\n"
	"amount_minor, balance, balance_minor, merchant} (merchant null for loads).\n";

const char cli_usage_load[] =
	"usage: ecard load --issuer DIR --amount AMOUNT [--reader NAME|INDEX] [--json]\n"
	"\n"
	"Top the wallet up by AMOUNT (major units, like 20.00 or \"20.00 EUR\")\n"
	"with the issuer's keys in DIR: INITIALIZE LOAD, the issuer's check of\n"
	"S1 and its S2, CREDIT, and the check of the card's receipt S3. No PIN\n"
	"is needed. If CREDIT's answer is lost the card is asked again, and a\n"
	"load is never credited twice.\n"
	"--json prints {serial, amount, amount_minor, balance, balance_minor,\n"
	"counter, s3, recovered}.\n";

const char cli_usage_pay[] =
	"usage: ecard pay --merchant FILE --amount AMOUNT [--pin-fd N]\n"
	"                 [--reader NAME|INDEX] [--json]\n"
	"\n"
	"Take AMOUNT from the card as the merchant in FILE (made by \"ecard\n"
	"merchant init\"): the card certificate is checked against the issuer,\n"
	"a signed debit request with a fresh challenge is sent after the\n"
	"holder's PIN, and the card's signed record is checked offline before\n"
	"the receipt is printed (counter, amount, balance after, card serial).\n"
	"\n"
	"The PIN is asked on the terminal without echo, or read as one line\n"
	"from file descriptor N with --pin-fd N.\n"
	"\n"
	"If the card's answer is lost, its last transaction tells whether it\n"
	"was debited: the receipt is printed if it was, and if it was not, the\n"
	"command says so (nothing was debited, exit status 2) and can simply\n"
	"be run again. DEBIT is never sent twice by one run.\n"
	"--json prints {serial, counter, amount, amount_minor, balance,\n"
	"balance_minor, merchant, challenge, record, signature, card_certificate,\n"
	"recovered}, the last three in hex for settlement with the issuer.\n";

/* Connect and SELECT the wallet; 0 or the exit status. */
static int open_wallet(struct cli *cli, struct ec_error *err)
{
	int r = cli_connect(cli);
	if (r != 0)
		return r;
	if (ec_wallet_select(&cli->pc, err) != EC_OK)
		return cli_fail(err);
	return 0;
}

/* "amount": "12.50", "amount_minor": 1250 */
static void json_amount(const char *key, uint32_t minor, uint16_t currency)
{
	char number[EC_AMOUNT_TEXT_MAX];
	printf("\"%s\": \"%s\", \"%s_minor\": %lu", key,
	       ec_amount_format_number(minor, currency, number, sizeof(number)), key,
	       (unsigned long)minor);
}

static void print_currency_json(uint16_t currency)
{
	const struct ec_currency *cur = ec_currency_by_numeric(currency);
	fputs("\"currency\": ", stdout);
	if (cur)
		cli_json_string(stdout, cur->code);
	else
		fputs("null", stdout);
	printf(", \"currency_numeric\": %u", (unsigned)currency);
}

/*
 * The start of `balance` and `log`: no arguments, then the wallet's purse
 * data (the log needs its currency). CLI_CONTINUE, or the exit status.
 */
static int open_purse(struct cli *cli, int argc, char **argv, struct ec_purse_data *pd)
{
	struct ec_error err = { 0 };
	int npos;

	int r = cli_verb_args(cli, argc, argv, NULL, &npos);
	if (r != CLI_CONTINUE)
		return r;
	if (npos > 0) {
		cli_error("\"ecard %s\" takes no arguments: run \"ecard %s --help\".", cli->verb->name,
			  cli->verb->name);
		return EXIT_USAGE;
	}
	r = open_wallet(cli, &err);
	if (r != 0)
		return r;
	if (ec_wallet_purse_data(&cli->pc, pd, &err) != EC_OK)
		return cli_fail(&err);
	return CLI_CONTINUE;
}

int verb_balance(struct cli *cli, int argc, char **argv)
{
	struct ec_purse_data pd;
	char serial[2 * PURSE_SERIAL_LEN + 1], a[EC_AMOUNT_TEXT_MAX], m[EC_AMOUNT_TEXT_MAX];

	int r = open_purse(cli, argc, argv, &pd);
	if (r != CLI_CONTINUE)
		return r;

	hex_encode(pd.serial, PURSE_SERIAL_LEN, serial);
	if (cli->json) {
		printf("{\"serial\": \"%s\", ", serial);
		print_currency_json(pd.currency);
		fputs(", ", stdout);
		json_amount("balance", pd.balance, pd.currency);
		fputs(", ", stdout);
		json_amount("max_balance", pd.max_balance, pd.currency);
		printf(", \"counter\": %lu}\n", (unsigned long)pd.counter);
	} else {
		printf("balance   %s\n", ec_amount_format(pd.balance, pd.currency, a, sizeof(a)));
		printf("maximum   %s\n", ec_amount_format(pd.max_balance, pd.currency, m, sizeof(m)));
		printf("counter   %lu\n", (unsigned long)pd.counter);
		printf("card      %s\n", serial);
	}
	return EXIT_SUCCESS;
}

static const char *log_type_name(uint8_t type)
{
	switch (type) {
	case EC_LOG_LOAD:
		return "load";
	case EC_LOG_DEBIT:
		return "debit";
	default:
		return "unknown";
	}
}

int verb_log(struct cli *cli, int argc, char **argv)
{
	struct ec_error err = { 0 };
	struct ec_purse_data pd;
	struct ec_log_entry e;
	char a[EC_AMOUNT_TEXT_MAX], b[EC_AMOUNT_TEXT_MAX], merchant[2 * PURSE_ID_LEN + 1];
	unsigned n = 0;
	bool present;

	int r = open_purse(cli, argc, argv, &pd);
	if (r != CLI_CONTINUE)
		return r;

	if (cli->json)
		fputs("[", stdout);
	else
		printf("%-3s %-10s %-6s %16s %16s  %s\n", "#", "counter", "type", "amount",
		       "balance after", "merchant");
	/* READ LOG takes the index in P1: at most 256 entries. */
	for (; n <= 0xFF; n++) {
		if (ec_wallet_log(&cli->pc, n, &e, &present, &err) != EC_OK) {
			if (cli->json)
				fputs(n ? "\n]\n" : "]\n", stdout);
			return cli_fail(&err);
		}
		if (!present)
			break;
		hex_encode(e.merchant_id, PURSE_ID_LEN, merchant);
		if (cli->json) {
			printf("%s\n  {\"index\": %u, \"counter\": %lu, \"type\": \"%s\", ", n ? "," : "",
			       n, (unsigned long)e.counter, log_type_name(e.type));
			json_amount("amount", e.amount, pd.currency);
			fputs(", ", stdout);
			json_amount("balance", e.balance, pd.currency);
			if (e.type == EC_LOG_DEBIT)
				printf(", \"merchant\": \"%s\"}", merchant);
			else
				fputs(", \"merchant\": null}", stdout);
		} else {
			printf("%-3u %-10lu %-6s %16s %16s  %s\n", n, (unsigned long)e.counter,
			       log_type_name(e.type), ec_amount_format(e.amount, pd.currency, a, sizeof(a)),
			       ec_amount_format(e.balance, pd.currency, b, sizeof(b)),
			       e.type == EC_LOG_DEBIT ? merchant : "-");
		}
	}
	if (cli->json)
		fputs(n ? "\n]\n" : "]\n", stdout);
	else if (n == 0)
		printf("(the log is empty)\n");
	return EXIT_SUCCESS;
}

int verb_load(struct cli *cli, int argc, char **argv)
{
	const char *dir = NULL, *amount_text = NULL;
	const struct cli_option opts[] = {
		{ "--issuer", &dir, NULL },
		{ "--amount", &amount_text, NULL },
		{ NULL, NULL, NULL },
	};
	struct ec_error err = { 0 };
	struct ec_issuer issuer;
	struct ec_load_result res;
	char serial[2 * PURSE_SERIAL_LEN + 1], s3[2 * PURSE_MAC_LEN + 1];
	char a[EC_AMOUNT_TEXT_MAX], b[EC_AMOUNT_TEXT_MAX];
	uint32_t amount;
	int npos;

	int r = cli_verb_args(cli, argc, argv, opts, &npos);
	if (r != CLI_CONTINUE)
		return r;
	if (npos > 0 || !dir || !amount_text) {
		cli_error("\"ecard load\" needs --issuer DIR and --amount AMOUNT, and nothing else: run \"ecard load --help\".");
		return EXIT_USAGE;
	}
	if (ec_issuer_load(dir, &issuer, &err) != EC_OK)
		return cli_fail(&err);
	r = cli_parse_amount("--amount", amount_text, issuer.currency, &amount);
	if (r == 0)
		r = cli_connect(cli);
	if (r == 0 && ec_wallet_load(&cli->pc, &issuer, amount, &res, &err) != EC_OK)
		r = cli_fail(&err);
	uint16_t currency = issuer.currency;
	ec_issuer_wipe(&issuer);
	if (r != 0)
		return r;

	hex_encode(res.load.serial, PURSE_SERIAL_LEN, serial);
	hex_encode(res.s3, PURSE_MAC_LEN, s3);
	if (cli->json) {
		printf("{\"serial\": \"%s\", ", serial);
		json_amount("amount", amount, currency);
		fputs(", ", stdout);
		json_amount("balance", res.balance, currency);
		printf(", \"counter\": %lu, \"s3\": \"%s\", \"recovered\": %s}\n",
		       (unsigned long)res.counter, s3, res.recovered ? "true" : "false");
	} else {
		printf("loaded    %s\n", ec_amount_format(amount, currency, a, sizeof(a)));
		printf("balance   %s\n", ec_amount_format(res.balance, currency, b, sizeof(b)));
		printf("counter   %lu\n", (unsigned long)res.counter);
		printf("card      %s\n", serial);
		if (res.recovered)
			printf("(the card's first answer was lost; its receipt was fetched again)\n");
	}
	return EXIT_SUCCESS;
}

static void print_payment(const struct cli *cli, const struct ec_payment *p)
{
	const struct purse_debit_record *rec = &p->record;
	char serial[2 * PURSE_SERIAL_LEN + 1], merchant[2 * PURSE_ID_LEN + 1];
	char a[EC_AMOUNT_TEXT_MAX], b[EC_AMOUNT_TEXT_MAX];

	hex_encode(rec->serial, PURSE_SERIAL_LEN, serial);
	hex_encode(rec->merchant_id, PURSE_ID_LEN, merchant);
	if (cli->json) {
		printf("{\"serial\": \"%s\", \"counter\": %lu, ", serial, (unsigned long)rec->counter);
		json_amount("amount", rec->amount, rec->currency);
		fputs(", ", stdout);
		json_amount("balance", rec->balance, rec->currency);
		fputs(", ", stdout);
		print_currency_json(rec->currency);
		printf(", \"merchant\": \"%s\", \"challenge\": ", merchant);
		cli_json_hex(stdout, rec->challenge, PURSE_CHALLENGE_LEN);
		fputs(", \"record\": ", stdout);
		cli_json_hex(stdout, p->record_bytes, PURSE_DEBIT_RECORD_LEN);
		fputs(", \"signature\": ", stdout);
		cli_json_hex(stdout, p->signature, CRYPTO_EC_SIG_LEN);
		fputs(", \"card_certificate\": ", stdout);
		cli_json_hex(stdout, p->card_cert, PURSE_CERT_LEN);
		printf(", \"recovered\": %s}\n", p->recovered ? "true" : "false");
		return;
	}
	printf("paid      %s\n", ec_amount_format(rec->amount, rec->currency, a, sizeof(a)));
	printf("balance   %s\n", ec_amount_format(rec->balance, rec->currency, b, sizeof(b)));
	printf("counter   %lu\n", (unsigned long)rec->counter);
	printf("card      %s\n", serial);
	printf("merchant  %s\n", merchant);
	printf("(record and signature verified offline against the issuer's CA)\n");
	if (p->recovered)
		printf("(the card's first answer was lost; its signed record was fetched again)\n");
}

int verb_pay(struct cli *cli, int argc, char **argv)
{
	const char *path = NULL, *amount_text = NULL, *fd_text = NULL;
	const struct cli_option opts[] = {
		{ "--merchant", &path, NULL },
		{ "--amount", &amount_text, NULL },
		{ "--pin-fd", &fd_text, NULL },
		{ NULL, NULL, NULL },
	};
	struct ec_error err = { 0 };
	struct ec_merchant merchant;
	struct ec_payment pay;
	struct pin_entry pe;
	char text[EC_AMOUNT_TEXT_MAX], prompt[80];
	uint32_t amount;
	int fd = -1, npos;

	int r = cli_verb_args(cli, argc, argv, opts, &npos);
	if (r != CLI_CONTINUE)
		return r;
	if (npos > 0 || !path || !amount_text) {
		cli_error("\"ecard pay\" needs --merchant FILE and --amount AMOUNT, and nothing else: run \"ecard pay --help\".");
		return EXIT_USAGE;
	}
	if (fd_text && cli_parse_fd("--pin-fd", fd_text, &fd) != 0)
		return EXIT_USAGE;
	if (ec_merchant_load(path, &merchant, &err) != EC_OK)
		return cli_fail(&err);
	r = cli_parse_amount("--amount", amount_text, merchant.currency, &amount);
	if (r == 0)
		r = cli_connect(cli);
	if (r == 0) {
		pin_entry_init(&pe, fd);
		snprintf(prompt, sizeof(prompt), "PIN to pay %s: ",
			 ec_amount_format(amount, merchant.currency, text, sizeof(text)));
		pe.prompt = prompt;
		if (ec_merchant_pay(&merchant, &cli->pc, amount, merchant.currency, pin_entry_callback,
				    &pe, &pay, &err) != EC_OK)
			r = cli_fail(&err);
	}
	ec_merchant_wipe(&merchant);
	if (r != 0)
		return r;
	print_payment(cli, &pay);
	return EXIT_SUCCESS;
}
