/*
 * cli_issuer.c - the issuer's verbs: `issuer init` (a new issuer key
 * directory), `issuer authorize-load` (the issuer's step of a load on its
 * own: S1 in, S2 out, so the protocol can be driven by hand with `ecard
 * apdu` or by other software), `issuer personalize` (issue a new card
 * through its card manager, the one verb here that needs a card), and
 * `merchant init` (a merchant key file certified by the issuer).
 */
#include "cli.h"

#include <string.h>
#include <unistd.h>

#include "amount.h"
#include "crypto.h"
#include "hex.h"
#include "issuer.h"
#include "merchant.h"
#include "perso.h"
#include "pin_entry.h"

/* Without --max-balance: this many major units of the currency. */
#define DEFAULT_MAX_MAJOR 1000u

const char cli_usage_issuer[] =
	"usage: ecard issuer init DIR [--currency CODE] [--max-balance AMOUNT]\n"
	"       ecard issuer authorize-load --dir DIR --amount AMOUNT [--json] HEX\n"
	"       ecard issuer personalize --dir DIR [KEY OPTIONS] [--FIELD VALUE]...\n"
	"                                [--password-fd N] [--general POLICY]\n"
	"                                [--private POLICY] [--json]\n"
	"\n"
	"init: make a new issuer key directory DIR (mode 700): the master load\n"
	"key, the CA key pair and the card managers' master keys (secret, mode\n"
	"600), the CA public key in DIR/ca.pub (give it to verifiers) and the\n"
	"settings. --currency takes\n"
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
	"personalize: issue the card in the reader for the issuer in DIR\n"
	"through its card manager: an SCP03 secure channel, INSTALL [for\n"
	"personalization] and STORE DATA for the wallet (the card makes its key\n"
	"pair, the issuer certifies it; K_load goes encrypted with the DEK) and\n"
	"then for the profile; the wallet's seal is checked, and the card\n"
	"manager's keys are replaced by the card's own, derived from DIR's\n"
	"master keys (manage the card afterwards with ecard gp --issuer DIR);\n"
	"the card is not issued while the test keys still open it. The card\n"
	"must be new (ecard-vcard --new without --personalize): a card is\n"
	"personalized once. The secure channel's keys\n"
	"and settings are the KEY OPTIONS of \"ecard gp --help\" (--key or\n"
	"--key-enc/--key-mac/--key-dek, --kvn, --level, --diversify), but --scp:\n"
	"personalization always speaks SCP03. Without keys, the well-known test\n"
	"keys 40..4F; --level 03 (C-MAC and encryption, the default) or 33\n"
	"(answers MACed and encrypted too), or 01, 11 or 13: a level without\n"
	"C-MAC is refused.\n"
	"The profile's initial values, all optional: --username, --forename,\n"
	"--surname, --street, --town, --county, --postcode, --card-number,\n"
	"--email, --phone VALUE (UTF-8, at most 64 bytes), and the password as\n"
	"one line from file descriptor N with --password-fd N, never as an\n"
	"argument; --general and --private set the release policies (never,\n"
	"session or always; the card's defaults are never and always). The\n"
	"password and the card number go encrypted with the DEK. --json prints\n"
	"{serial, scp, level}.\n"
	"\n"
	"example: ecard issuer init keys --currency EUR --max-balance 500\n"
	"         ecard issuer personalize --dir keys --email ann@example.org\n";

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
	uint8_t response[WALLET_INIT_LOAD_RESPONSE_LEN + 2], s2[PURSE_MAC_LEN];
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
	if (n == WALLET_INIT_LOAD_RESPONSE_LEN + 2 && response[n - 2] == 0x90 && response[n - 1] == 0x00)
		n -= 2;
	if (n != WALLET_INIT_LOAD_RESPONSE_LEN) {
		cli_error("the INITIALIZE LOAD answer must be %d bytes in hex (challenge, serial, counter, balance, S1), not \"%.40s%s\".",
			  WALLET_INIT_LOAD_RESPONSE_LEN, argv[1], strlen(argv[1]) > 40 ? "..." : "");
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

/* ---- issuer personalize ---- */

/* What personalization takes besides the key options. */
struct perso_args {
	const char *dir, *password_fd, *general, *private_class;
	const char *field_text[EC_PROFILE_FIELDS];
};

/* The profile options, named after the fields (ec_profile_fields), with
 * the password left out: it never comes from the command line. */
#define FIELD_OPTION_MAX 24

/* Personalize the card with keys and gp; the caller wipes the keys. */
static int personalize(struct cli *cli, const struct perso_args *a, const struct ec_gp_keys *keys,
		       const struct ec_gp_options *gp)
{
	struct ec_profile_init init;
	struct ec_issuer issuer;
	struct ec_error err = { 0 };
	char password[EC_PROFILE_VALUE_MAX + 2];
	uint8_t serial[PURSE_SERIAL_LEN];
	char serial_hex[2 * PURSE_SERIAL_LEN + 1];
	int r, fd;

	memset(&init, 0, sizeof(init));
	for (size_t i = 0; i < EC_PROFILE_FIELDS; i++) {
		const struct ec_profile_field *f = &ec_profile_fields[i];
		if (a->field_text[i] && strlen(a->field_text[i]) > EC_PROFILE_VALUE_MAX) {
			cli_error("--%s has %zu bytes, the card keeps at most %d: shorten it.", f->name,
				  strlen(a->field_text[i]), EC_PROFILE_VALUE_MAX);
			return EXIT_USAGE;
		}
		init.values[f->id - 1] = a->field_text[i];
	}
	init.general = EC_POLICY_NEVER;
	init.private_class = EC_POLICY_ALWAYS;
	if ((a->general && cli_parse_policy("--general", a->general, &init.general) != 0) ||
	    (a->private_class &&
	     cli_parse_policy("--private", a->private_class, &init.private_class) != 0))
		return EXIT_USAGE;
	init.set_policy = a->general || a->private_class;
	if (a->password_fd) {
		if (cli_parse_fd("--password-fd", a->password_fd, &fd) != 0)
			return EXIT_USAGE;
		if (pin_entry_read_fd(fd, "--password-fd", "the password", password, sizeof(password),
				      EC_PROFILE_VALUE_MAX, NULL, &err) != 0)
			return cli_fail(&err);
		init.values[0x02 - 1] = password;
	}

	if (ec_issuer_load(a->dir, &issuer, &err) != EC_OK) {
		r = cli_fail(&err);
	} else {
		r = cli_connect(cli);
		if (r == 0 && ec_personalize(&issuer, &cli->pc, gp, keys, &init, serial,
					     &err) != EC_OK)
			r = cli_fail(&err);
		ec_issuer_wipe(&issuer);
	}
	crypto_wipe(password, sizeof(password));
	if (r != 0)
		return r;

	hex_encode(serial, sizeof(serial), serial_hex);
	if (cli->json)
		printf("{\"serial\": \"%s\", \"scp\": \"03\", \"level\": \"%02X\"}\n", serial_hex,
		       gp->level);
	else
		printf("card %s issued through its card manager (SCP03, level %02X): wallet and profile personalized, its own card manager keys (ecard gp --issuer %s).\n",
		       serial_hex, gp->level, a->dir);
	return EXIT_SUCCESS;
}

static int issuer_personalize(struct cli *cli, int argc, char **argv)
{
	struct perso_args a;
	char field_names[EC_PROFILE_FIELDS][FIELD_OPTION_MAX];
	struct cli_option opts[4 + EC_PROFILE_FIELDS + 1];
	struct ec_gp_options gp;
	struct ec_gp_keys keys;
	size_t n = 0;
	int npos;

	memset(&a, 0, sizeof(a));
	opts[n++] = (struct cli_option){ "--dir", &a.dir, NULL };
	opts[n++] = (struct cli_option){ "--password-fd", &a.password_fd, NULL };
	opts[n++] = (struct cli_option){ "--general", &a.general, NULL };
	opts[n++] = (struct cli_option){ "--private", &a.private_class, NULL };
	for (size_t i = 0; i < EC_PROFILE_FIELDS; i++) {
		const struct ec_profile_field *f = &ec_profile_fields[i];
		if (f->id == PROFILE_FIELD_PASSWORD)
			continue;	/* the password: --password-fd only */
		snprintf(field_names[i], sizeof(field_names[i]), "--%s", f->name);
		opts[n++] = (struct cli_option){ field_names[i], &a.field_text[i], NULL };
	}
	opts[n] = (struct cli_option){ NULL, NULL, NULL };

	/* Always SCP03 (the card makes its keys in it); level 03 by default. */
	ec_gp_options_init(&gp);
	gp.scp = EC_GP_SCP03;
	gp.level = EC_GP_LEVEL_C_MAC | EC_GP_LEVEL_C_DEC;
	int r = cli_gp_args(cli, argc, argv, opts, false, &keys, &gp, &npos);
	/* Every level with a C-MAC: without it, anyone on the way could
	 * change what is written into the card. */
	if (r == CLI_CONTINUE && !(gp.level & EC_GP_LEVEL_C_MAC)) {
		cli_error("--level %02X has no C-MAC, which personalization needs so that nothing written into the card can be changed on the way: give 03 (the default) or 33; 01, 11 and 13 are taken too.",
			  gp.level);
		r = EXIT_USAGE;
	}
	if (r == CLI_CONTINUE && (npos != 0 || !a.dir)) {
		cli_error("\"ecard issuer personalize\" needs --dir DIR and no other arguments: run \"ecard issuer --help\".");
		r = EXIT_USAGE;
	}
	if (r == CLI_CONTINUE)
		r = personalize(cli, &a, &keys, &gp);
	ec_gp_keys_wipe(&keys);
	return r;
}

int verb_issuer(struct cli *cli, int argc, char **argv)
{
	static const struct cli_subverb subs[] = {
		{ "init", issuer_init },
		{ "authorize-load", issuer_authorize_load },
		{ "personalize", issuer_personalize },
	};
	return cli_subverb(cli, argc, argv, subs, sizeof(subs) / sizeof(subs[0]),
			   "\"init\", \"authorize-load\" or \"personalize\"");
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
	static const struct cli_subverb subs[] = {
		{ "init", merchant_init },
	};
	return cli_subverb(cli, argc, argv, subs, 1, "\"init\"");
}
