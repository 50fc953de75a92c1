/*
 * cli_keys.c - the GlobalPlatform key options, read one way by every verb
 * that opens a secure channel (`ecard gp ...`, `ecard issuer personalize`;
 * see cli_gp_args() in cli.h), so that their names, the values they take
 * and the messages about them cannot drift apart again.
 *
 * --kdf is the older spelling of --diversify (`ecard issuer personalize`
 * took it first) and is still taken, so that existing scripts keep working.
 *
 * Keys are never printed, not even in an error about a malformed one, and
 * their text in argv is overwritten as soon as the arguments are sorted, so
 * that it does not linger in /proc/PID/cmdline while the verb reads files,
 * waits for a password or talks to the card.
 */
#include "cli.h"

#include <string.h>

#include "crypto.h"
#include "gp_keys.h"
#include "gp_session.h"
#include "hex.h"
#include "issuer.h"

/* Room for the key options and a verb's own (personalization has 14). */
#define GP_OPTIONS_MAX 32

static const char *const key_names[4] = { "--key", "--key-enc", "--key-mac", "--key-dek" };

/* The key options as given on the command line. */
struct key_args {
	const char *key[4];	/* in the order of key_names */
	const char *kvn, *level, *diversify, *kdf, *scp, *issuer;
};

/* Overwrite a secret's text in argv, where other users could read it. */
static void wipe_arg(const char *text)
{
	if (text)
		crypto_wipe((char *)text, strlen(text));
}

/* One key of 16, 24 or 32 bytes in hex into out; 0 or EXIT_USAGE. */
static int parse_key(const char *option, const char *text, uint8_t out[EC_GP_KEY_MAX], size_t *len)
{
	long n = hex_decode(text, out, EC_GP_KEY_MAX);
	if (n != 16 && n != 24 && n != 32) {
		crypto_wipe(out, EC_GP_KEY_MAX);
		cli_error("%s must be a key of 16, 24 or 32 bytes in hex (32, 48 or 64 hex digits); the value given is not one (it is not shown: it is a secret).",
			  option);
		return EXIT_USAGE;
	}
	*len = (size_t)n;
	return 0;
}

int cli_gp_key_set(const char *const names[4], const char *const texts[4],
		   struct ec_gp_keys *keys)
{
	uint8_t k[3][EC_GP_KEY_MAX];
	size_t len[3] = { 0, 0, 0 };
	bool three = texts[1] || texts[2] || texts[3];
	int r = 0;

	memset(keys, 0, sizeof(*keys));
	if (texts[0] && three) {
		cli_error("give either %s or %s, %s and %s, not both.", names[0], names[1], names[2],
			  names[3]);
		r = EXIT_USAGE;
	} else if (three && !(texts[1] && texts[2] && texts[3])) {
		cli_error("%s, %s and %s go together: give all three, or %s for one key used as all three.",
			  names[1], names[2], names[3], names[0]);
		r = EXIT_USAGE;
	} else if (texts[0]) {
		r = parse_key(names[0], texts[0], k[0], &len[0]);
		if (r == 0 && ec_gp_keys_from_master(keys, k[0], len[0], 0) != EC_OK) {
			cli_error("%s cannot be used as a key set: give a key of 16, 24 or 32 bytes.",
				  names[0]);
			r = EXIT_USAGE;
		}
	} else if (three) {
		for (int i = 0; i < 3 && r == 0; i++)
			r = parse_key(names[i + 1], texts[i + 1], k[i], &len[i]);
		if (r == 0 && (len[1] != len[0] || len[2] != len[0])) {
			cli_error("%s, %s and %s must be keys of the same length.", names[1], names[2],
				  names[3]);
			r = EXIT_USAGE;
		}
		if (r == 0) {
			memcpy(keys->enc, k[0], len[0]);
			memcpy(keys->mac, k[1], len[0]);
			memcpy(keys->dek, k[2], len[0]);
			keys->len = len[0];
		}
	}
	crypto_wipe(k, sizeof(k));
	/* Secrets in argv are overwritten even when parsing stopped early. */
	for (int i = 0; i < 4; i++)
		wipe_arg(texts[i]);
	if (r != 0)
		ec_gp_keys_wipe(keys);
	return r;
}

static int parse_level(const char *text, uint8_t *level)
{
	if (cli_parse_byte("--level", text, level) != 0)
		return EXIT_USAGE;
	switch (*level) {
	case 0x00:
	case 0x01:
	case 0x03:
	case 0x11:
	case 0x13:
	case 0x33:
		return 0;
	default:
		cli_error("--level %s is not a security level: use 00, 01, 03, 11, 13 or 33.", text);
		return EXIT_USAGE;
	}
}

static int parse_scp(const char *text, enum ec_gp_scp *scp)
{
	if (strcmp(text, "02") == 0 || strcmp(text, "2") == 0) {
		*scp = EC_GP_SCP02;
	} else if (strcmp(text, "03") == 0 || strcmp(text, "3") == 0) {
		*scp = EC_GP_SCP03;
	} else {
		cli_error("--scp %s is not a protocol ecard speaks: use 02 or 03.", text);
		return EXIT_USAGE;
	}
	return 0;
}

/* --diversify, or --kdf as it was spelt first; "none" is the default. */
static int parse_diversify(const struct key_args *a, enum ec_gp_kdf *kdf)
{
	const char *option = a->diversify ? "--diversify" : "--kdf";
	const char *text = a->diversify ? a->diversify : a->kdf;

	if (a->diversify && a->kdf) {
		cli_error("--kdf is the older spelling of --diversify: give one of them, not both.");
		return EXIT_USAGE;
	}
	if (text && ec_gp_kdf_parse(text, kdf) != 0) {
		cli_error("%s %s is not a diversification method: use none, emv, visa2 or kdf3.", option,
			  text);
		return EXIT_USAGE;
	}
	return 0;
}

/*
 * --issuer DIR: the card managers' master keys of the issuer directory,
 * diversified for the card (KDF3) at the key version issuance gave it.
 */
static int issuer_keys(const struct key_args *a, struct ec_gp_keys *keys,
		       struct ec_gp_options *opt, uint8_t *kvn)
{
	struct ec_issuer issuer;
	struct ec_error err = { 0 };

	if (a->key[0] || a->key[1] || a->key[2] || a->key[3] || a->diversify || a->kdf) {
		cli_error("--issuer DIR gives the keys and how they are diversified: leave out --key, --key-enc/--key-mac/--key-dek and --diversify.");
		return EXIT_USAGE;
	}
	if (ec_issuer_load(a->issuer, &issuer, &err) != EC_OK) {
		cli_error("%s", err.text);
		return EXIT_USAGE;
	}
	*keys = issuer.isd_master;
	ec_issuer_wipe(&issuer);
	opt->kdf = EC_GP_KDF_KDF3;
	if (!a->kvn)
		*kvn = EC_ISSUER_ISD_KVN;
	return 0;
}

/* The keys and channel options of a, on top of opt's defaults. */
static int key_settings(const struct key_args *a, struct ec_gp_keys *keys,
			struct ec_gp_options *opt)
{
	uint8_t kvn = 0;
	int r = 0;

	if (a->kvn && cli_parse_byte("--kvn", a->kvn, &kvn) != 0)
		r = EXIT_USAGE;
	if (r == 0 && a->level)
		r = parse_level(a->level, &opt->level);
	if (r == 0 && a->scp)
		r = parse_scp(a->scp, &opt->scp);
	if (r == 0 && a->issuer) {
		r = issuer_keys(a, keys, opt, &kvn);
	} else {
		if (r == 0)
			r = parse_diversify(a, &opt->kdf);
		if (r == 0)
			r = cli_gp_key_set(key_names, a->key, keys);
		if (r == 0 && keys->len == 0)
			ec_gp_default_keys(keys, kvn);
	}
	keys->kvn = kvn;
	return r;
}

int cli_gp_args(struct cli *cli, int argc, char **argv, const struct cli_option *extra,
		bool with_scp, struct ec_gp_keys *keys, struct ec_gp_options *opt, int *npos)
{
	struct key_args a;
	memset(&a, 0, sizeof(a));
	const struct cli_option rows[] = {
		{ key_names[0], &a.key[0], NULL },
		{ key_names[1], &a.key[1], NULL },
		{ key_names[2], &a.key[2], NULL },
		{ key_names[3], &a.key[3], NULL },
		{ "--kvn", &a.kvn, NULL },
		{ "--level", &a.level, NULL },
		{ "--diversify", &a.diversify, NULL },
		{ "--kdf", &a.kdf, NULL },
		{ "--issuer", &a.issuer, NULL },
		{ "--scp", &a.scp, NULL },	/* last: left out without with_scp */
	};
	size_t n_rows = sizeof(rows) / sizeof(rows[0]) - (with_scp ? 0 : 1);
	struct cli_option opts[GP_OPTIONS_MAX];
	size_t n = 0;

	for (size_t i = 0; i < n_rows; i++)
		opts[n++] = rows[i];
	for (const struct cli_option *o = extra; o && o->name; o++) {
		if (n + 1 >= GP_OPTIONS_MAX) {
			cli_error("\"ecard %s\" has more options than ecard can sort: this is a bug, please report it.",
				  cli->verb->name);
			return EXIT_USAGE;
		}
		opts[n++] = *o;
	}
	opts[n] = (struct cli_option){ NULL, NULL, NULL };

	int r = cli_verb_args(cli, argc, argv, opts, npos);
	if (r == CLI_CONTINUE && key_settings(&a, keys, opt) != 0)
		r = EXIT_USAGE;
	for (int i = 0; i < 4; i++)
		wipe_arg(a.key[i]);
	if (r != CLI_CONTINUE)
		ec_gp_keys_wipe(keys);
	return r;
}
