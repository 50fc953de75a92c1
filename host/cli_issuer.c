/*
 * cli_issuer.c - the issuer's verbs: `issuer init` (a new issuer key
 * directory), `issuer authorize-load` (the issuer's step of a load on its
 * own: S1 in, S2 out, so the protocol can be driven by hand with `ecard
 * apdu` or by other software), `issuer personalize` (issue a new card
 * through its card manager, the one verb here that needs a card), and
 * `merchant init` (a merchant key file certified by the issuer).
 */
#include "cli.h"

#include <errno.h>
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
	"       ecard issuer personalize --dir DIR [--key HEX | --key-enc HEX --key-mac HEX\n"
	"                                --key-dek HEX] [--kvn NN] [--kdf METHOD] [--level NN]\n"
	"                                [--FIELD VALUE]... [--password-fd N]\n"
	"                                [--general POLICY] [--private POLICY] [--json]\n"
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
	"personalize: issue the card in the reader for the issuer in DIR\n"
	"through its card manager: an SCP03 secure channel, INSTALL [for\n"
	"personalization] and STORE DATA for the wallet (the card makes its key\n"
	"pair, the issuer certifies it; K_load goes encrypted with the DEK) and\n"
	"then for the profile. The card must be new (ecard-vcard --new without\n"
	"--personalize): a card is personalized once. The secure channel keys:\n"
	"--key HEX for ENC, MAC and DEK alike, or the three with --key-enc,\n"
	"--key-mac and --key-dek (16, 24 or 32 bytes in hex); without them the\n"
	"well-known test keys 40..4F. --kvn NN, the key version in hex (default\n"
	"00: the card's first key set); --kdf none|emv|visa2|kdf3 when the keys\n"
	"are master keys to diversify; --level 03 (C-MAC and encryption, the\n"
	"default) or 33 (answers MACed and encrypted too); 01, 11 and 13 are\n"
	"taken as well.\n"
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

/* The GP key options: one key for all three, or the three by name. */
struct key_options {
	const char *key, *enc, *mac, *dek, *kvn, *kdf, *level;
};

/* One key of hex into out; its length, or 0 after a message. */
static size_t parse_gp_key(const char *option, const char *text, uint8_t out[EC_GP_KEY_MAX])
{
	long n = hex_decode(text, out, EC_GP_KEY_MAX);
	if (n != 16 && n != 24 && n != 32) {
		crypto_wipe(out, EC_GP_KEY_MAX);
		cli_error("%s must be an AES key of 16, 24 or 32 bytes in hex.", option);
		return 0;
	}
	return (size_t)n;
}

/* A byte in hex ("30", "0x30"); 0 or EXIT_USAGE after a message. */
static int parse_hex_byte(const char *option, const char *text, uint8_t *out)
{
	uint8_t b;
	const char *digits = strncmp(text, "0x", 2) == 0 || strncmp(text, "0X", 2) == 0 ? text + 2
											: text;
	if (strlen(digits) == 1) {
		char two[3] = { '0', digits[0], '\0' };
		if (hex_decode(two, &b, 1) == 1) {
			*out = b;
			return 0;
		}
	} else if (strlen(digits) == 2 && hex_decode(digits, &b, 1) == 1) {
		*out = b;
		return 0;
	}
	cli_error("%s \"%s\" is not a byte in hex, such as 30.", option, text);
	return EXIT_USAGE;
}

/* The keys and channel options from the command line; 0 or EXIT_USAGE. */
static int gp_settings(const struct key_options *o, struct ec_gp_keys *keys,
		       struct ec_gp_options *opt)
{
	uint8_t kvn = 0, level = EC_GP_LEVEL_C_MAC | EC_GP_LEVEL_C_DEC;
	bool three = o->enc || o->mac || o->dek;

	ec_gp_options_init(opt);
	opt->scp = EC_GP_SCP03;
	if (o->kvn && parse_hex_byte("--kvn", o->kvn, &kvn) != 0)
		return EXIT_USAGE;
	if (o->level && parse_hex_byte("--level", o->level, &level) != 0)
		return EXIT_USAGE;
	/* Every level with a C-MAC: without it, anyone on the way could
	 * change what is written into the card. */
	if (level != 0x01 && level != 0x03 && level != 0x11 && level != 0x13 && level != 0x33) {
		cli_error("--level %02X is not a security level for personalization: give 03 (the default) or 33; 01, 11 and 13 are taken too.",
			  level);
		return EXIT_USAGE;
	}
	opt->level = level;
	if (o->kdf) {
		enum ec_gp_kdf kdf;
		if (ec_gp_kdf_parse(o->kdf, &kdf) != 0) {
			cli_error("--kdf \"%s\" is not a diversification method: give none, emv, visa2 or kdf3.",
				  o->kdf);
			return EXIT_USAGE;
		}
		opt->kdf = kdf;
	}

	if (o->key && three) {
		cli_error("give either --key or --key-enc, --key-mac and --key-dek, not both.");
		return EXIT_USAGE;
	}
	if (three && !(o->enc && o->mac && o->dek)) {
		cli_error("--key-enc, --key-mac and --key-dek go together: give all three, or --key for one key used as all three.");
		return EXIT_USAGE;
	}
	memset(keys, 0, sizeof(*keys));
	if (!o->key && !three) {
		ec_gp_default_keys(keys, kvn);
		return 0;
	}
	if (o->key) {
		uint8_t k[EC_GP_KEY_MAX];
		size_t len = parse_gp_key("--key", o->key, k);
		enum ec_status st = len ? ec_gp_keys_from_master(keys, k, len, kvn) : EC_ERR_ARG;
		crypto_wipe(k, sizeof(k));
		if (len && st != EC_OK)
			cli_error("--key cannot be used as a key set.");
		return st == EC_OK ? 0 : EXIT_USAGE;
	}
	size_t enc = parse_gp_key("--key-enc", o->enc, keys->enc);
	size_t mac = enc ? parse_gp_key("--key-mac", o->mac, keys->mac) : 0;
	size_t dek = mac ? parse_gp_key("--key-dek", o->dek, keys->dek) : 0;
	if (!dek || enc != mac || mac != dek) {
		if (dek)
			cli_error("--key-enc, --key-mac and --key-dek must be keys of the same length.");
		ec_gp_keys_wipe(keys);
		return EXIT_USAGE;
	}
	keys->len = enc;
	keys->kvn = kvn;
	return 0;
}

/*
 * The password, one line from fd into out (cap bytes), read a byte at a
 * time so that nothing after the line is taken. 0, or EXIT_USAGE after a
 * message; out is wiped then.
 */
static int read_password(int fd, char *out, size_t cap)
{
	size_t n;
	bool too_long;
	int r = pin_entry_read_line(fd, out, cap, &n, &too_long);
	if (r < 0) {
		int saved = errno;
		crypto_wipe(out, cap);
		cli_error("reading the password from --password-fd %d failed: %s.", fd, strerror(saved));
		return EXIT_USAGE;
	}
	if (r == 0) {
		cli_error("--password-fd %d ended before a password was given: nothing was sent to the card.",
			  fd);
		return EXIT_USAGE;
	}
	if (too_long || n > EC_PROFILE_VALUE_MAX) {
		crypto_wipe(out, cap);
		cli_error("the password read from --password-fd %d is longer than the %d bytes the card keeps: shorten it.",
			  fd, EC_PROFILE_VALUE_MAX);
		return EXIT_USAGE;
	}
	return 0;
}

static int parse_policy_option(const char *option, const char *text, uint8_t *out)
{
	int p = ec_profile_policy_parse(text);
	if (p < 0) {
		cli_error("%s \"%s\" is not a policy: give never, session or always.", option, text);
		return EXIT_USAGE;
	}
	*out = (uint8_t)p;
	return 0;
}

/* The profile options, named after the fields (ec_profile_fields), with
 * the password left out: it never comes from the command line. */
#define FIELD_OPTION_MAX 24

static int issuer_personalize(struct cli *cli, int argc, char **argv)
{
	const char *dir = NULL, *password_fd = NULL, *general = NULL, *private_class = NULL;
	const char *field_text[EC_PROFILE_FIELDS] = { NULL };
	char field_names[EC_PROFILE_FIELDS][FIELD_OPTION_MAX];
	struct key_options ko = { 0 };
	struct cli_option opts[10 + EC_PROFILE_FIELDS + 1] = {
		{ "--dir", &dir, NULL },
		{ "--key", &ko.key, NULL },
		{ "--key-enc", &ko.enc, NULL },
		{ "--key-mac", &ko.mac, NULL },
		{ "--key-dek", &ko.dek, NULL },
		{ "--kvn", &ko.kvn, NULL },
		{ "--kdf", &ko.kdf, NULL },
		{ "--level", &ko.level, NULL },
		{ "--password-fd", &password_fd, NULL },
		{ "--general", &general, NULL },
	};
	size_t n_opts = 10;
	struct ec_profile_init init;
	struct ec_gp_options gp;
	struct ec_gp_keys keys;
	struct ec_issuer issuer;
	struct ec_error err = { 0 };
	char password[EC_PROFILE_VALUE_MAX + 2];
	uint8_t serial[PURSE_SERIAL_LEN];
	char serial_hex[2 * PURSE_SERIAL_LEN + 1];
	int npos, fd;

	opts[n_opts++] = (struct cli_option){ "--private", &private_class, NULL };
	for (size_t i = 0; i < EC_PROFILE_FIELDS; i++) {
		const struct ec_profile_field *f = &ec_profile_fields[i];
		if (f->id == 0x02)
			continue;	/* the password: --password-fd only */
		snprintf(field_names[i], sizeof(field_names[i]), "--%s", f->name);
		opts[n_opts++] = (struct cli_option){ field_names[i], &field_text[i], NULL };
	}
	opts[n_opts] = (struct cli_option){ NULL, NULL, NULL };

	int r = cli_verb_args(cli, argc, argv, opts, &npos);
	if (r != CLI_CONTINUE)
		return r;
	if (npos != 0 || !dir) {
		cli_error("\"ecard issuer personalize\" needs --dir DIR and no other arguments: run \"ecard issuer --help\".");
		return EXIT_USAGE;
	}

	memset(&init, 0, sizeof(init));
	for (size_t i = 0; i < EC_PROFILE_FIELDS; i++) {
		const struct ec_profile_field *f = &ec_profile_fields[i];
		if (field_text[i] && strlen(field_text[i]) > EC_PROFILE_VALUE_MAX) {
			cli_error("--%s has %zu bytes, the card keeps at most %d: shorten it.", f->name,
				  strlen(field_text[i]), EC_PROFILE_VALUE_MAX);
			return EXIT_USAGE;
		}
		init.values[f->id - 1] = field_text[i];
	}
	init.general = EC_POLICY_NEVER;
	init.private_class = EC_POLICY_ALWAYS;
	if ((general && parse_policy_option("--general", general, &init.general) != 0) ||
	    (private_class && parse_policy_option("--private", private_class, &init.private_class) != 0))
		return EXIT_USAGE;
	init.set_policy = general || private_class;
	if (gp_settings(&ko, &keys, &gp) != 0)
		return EXIT_USAGE;
	if (password_fd) {
		if (cli_parse_fd("--password-fd", password_fd, &fd) != 0 ||
		    read_password(fd, password, sizeof(password)) != 0) {
			ec_gp_keys_wipe(&keys);
			return EXIT_USAGE;
		}
		init.values[0x02 - 1] = password;
	}

	if (ec_issuer_load(dir, &issuer, &err) != EC_OK) {
		r = cli_fail(&err);
	} else {
		r = cli_connect(cli);
		if (r == 0 && ec_personalize(&issuer, &cli->pc, &gp, &keys, &init, serial,
						       &err) != EC_OK)
			r = cli_fail(&err);
		ec_issuer_wipe(&issuer);
	}
	ec_gp_keys_wipe(&keys);
	crypto_wipe(password, sizeof(password));
	if (r != 0)
		return r;

	hex_encode(serial, sizeof(serial), serial_hex);
	if (cli->json)
		printf("{\"serial\": \"%s\", \"scp\": \"03\", \"level\": \"%02X\"}\n", serial_hex,
		       gp.level);
	else
		printf("card %s personalized through its card manager (SCP03, level %02X): wallet and profile.\n",
		       serial_hex, gp.level);
	return EXIT_SUCCESS;
}

int verb_issuer(struct cli *cli, int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "init") == 0)
		return issuer_init(cli, argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "authorize-load") == 0)
		return issuer_authorize_load(cli, argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "personalize") == 0)
		return issuer_personalize(cli, argc - 1, argv + 1);
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(cli_usage_issuer, stdout);
		return EXIT_SUCCESS;
	}
	cli_error("\"ecard issuer\" needs \"init\", \"authorize-load\" or \"personalize\": run \"ecard issuer --help\".");
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
