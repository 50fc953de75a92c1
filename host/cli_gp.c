/*
 * cli_gp.c - `ecard gp ...`: GlobalPlatform card management from the
 * command line (DESIGN §3, §5): info, list, load (with --resume), install,
 * delete, put-key, lock, unlock, set-state. The card manager client is
 * libecard's (gp.h, over the secure channel of gp_session.h); this file
 * parses arguments, picks the keys, and prints.
 *
 * Keys come from --key / --key-enc/--key-mac/--key-dek, or are the
 * GlobalPlatform test keys 40..4F; cli_keys.c reads them, as it does for
 * `ecard issuer personalize`. They are never printed, and their text in
 * argv (the new keys' of put-key too) is overwritten right after the
 * arguments are sorted, so that it does not linger in /proc/PID/cmdline.
 */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cap.h"
#include "crypto.h"
#include "gp.h"
#include "hex.h"

const char cli_usage_gp[] =
	"usage: ecard gp info      [--secure] [KEY OPTIONS]\n"
	"       ecard gp list      [KEY OPTIONS]\n"
	"       ecard gp load CAP  [--resume] [--block-size N] [--install [--aid AID]\n"
	"                          [--privileges HEX] [--params HEX]] [KEY OPTIONS]\n"
	"       ecard gp install   --package AID --module AID [--aid AID]\n"
	"                          [--privileges HEX] [--params HEX] [--selectable] [KEY OPTIONS]\n"
	"       ecard gp install CAP [--aid AID] [--privileges HEX] [--params HEX] [KEY OPTIONS]\n"
	"       ecard gp delete AID [--related] [KEY OPTIONS]\n"
	"       ecard gp put-key   --new-kvn N [--replace KVN] (--new-key HEX |\n"
	"                          --new-key-enc HEX --new-key-mac HEX --new-key-dek HEX) [KEY OPTIONS]\n"
	"       ecard gp lock AID | unlock AID [KEY OPTIONS]\n"
	"       ecard gp set-state card-lock|card-unlock|terminate [--force] [KEY OPTIONS]\n"
	"   (and --reader NAME|INDEX, --json, -v with every one)\n"
	"\n"
	"Manage the card's content through its GlobalPlatform card manager (the\n"
	"issuer security domain, A000000151000000), in a secure channel.\n"
	"\n"
	"info      CPLC data, card recognition data (GlobalPlatform version,\n"
	"          secure channel protocols), key information and the sequence\n"
	"          counter. Read without a secure channel, so no keys are needed;\n"
	"          with --secure, or when the card asks for one (6982), through it.\n"
	"list      the card manager, the applications and the load files with\n"
	"          their modules, each with its life cycle state and privileges.\n"
	"load      load the CAP file's load file (INSTALL [for load] with its\n"
	"          SHA-256, then LOAD blocks), with a progress line on standard\n"
	"          error; --install then installs its first applet and makes it\n"
	"          selectable (instance AID --aid, default the applet's).\n"
	"          --block-size N: bytes of load data per LOAD command; default\n"
	"          the largest that the security level and the reader allow.\n"
	"          --resume: go on with a load that a broken link or a tear\n"
	"          interrupted. ecard's card keeps what it received and tells\n"
	"          where it stands (GET DATA DF70, a documented extension), so\n"
	"          only the missing blocks are sent; a card without that\n"
	"          extension gets the load file again from block 0.\n"
	"install   INSTALL [for install] of module AID from load file AID,\n"
	"          [and make selectable] with --selectable; --params are the\n"
	"          application's own install parameters (sent in C9).\n"
	"          With a CAP file instead: load it and install its first\n"
	"          applet, selectable (the same as load CAP --install).\n"
	"delete    DELETE an application or a load file; --related deletes a\n"
	"          load file with its applications.\n"
	"put-key   PUT KEY: add key set N (hex, 01..7F), or with --replace KVN\n"
	"          replace key set KVN by it. The new keys are sent encrypted\n"
	"          with the DEK, and the card's key check values are verified.\n"
	"lock, unlock   lock an application (it cannot be selected) or unlock it.\n"
	"set-state card-lock (SECURED -> CARD_LOCKED), card-unlock (back to\n"
	"          SECURED), terminate (for ever: asks to type \"terminate\" on\n"
	"          the terminal, unless --force).\n"
	"\n"
	"KEY OPTIONS, for every command that opens a secure channel:\n"
	"  --key HEX                one key (16, 24 or 32 bytes) for ENC, MAC and DEK\n"
	"  --key-enc HEX --key-mac HEX --key-dek HEX   three keys\n"
	"                           (default: the test keys 404142...4F)\n"
	"  --kvn N                  key version to use, hex (default 0: the card's choice)\n"
	"  --scp 02|03              insist on this protocol (default: the card's)\n"
	"  --level 00|01|03|11|13|33  security level (default 03 for load and\n"
	"                           put-key, 01 otherwise)\n"
	"  --diversify none|emv|visa2|kdf3  the keys are master keys: derive the\n"
	"                           card's own from them (default none; --kdf is the\n"
	"                           older spelling, still taken)\n"
	"  --issuer DIR             the keys of a card this issuer issued: the\n"
	"                           directory's card manager master keys, diversified\n"
	"                           for the card (kdf3), key version 01\n"
	"  (\"ecard issuer personalize\" takes all of these but --scp.)\n"
	"\n"
	"--json prints what each command shows as one JSON object.\n"
	"Exit status: 0 done, 1 the card refused (a status word) or a check\n"
	"failed (wrong keys), 2 usage or environment error, or the link broke.\n"
	"\n"
	"examples: ecard gp list\n"
	"          ecard gp load applet.cap --install\n"
	"          ecard gp load applet.cap --resume\n"
	"          ecard gp list --issuer issuer/      (a card issued by issuer/)\n";

/* The secure channel's keys and options, as the key options give them.
 * verb_gp() wipes the keys whatever the sub-command did. */
struct gp_channel {
	struct ec_gp_keys keys;
	struct ec_gp_options opt;
};

/*
 * Sort argv (sub-command at argv[0]) with the key options (cli_gp_args())
 * and extra, and read the keys into ch; level is the sub-command's default
 * security level.
 */
static int gp_args(struct cli *cli, int argc, char **argv, uint8_t level,
		   const struct cli_option *extra, struct gp_channel *ch, int *npos)
{
	ec_gp_options_init(&ch->opt);
	ch->opt.level = level;
	return cli_gp_args(cli, argc, argv, extra, true, &ch->keys, &ch->opt, npos);
}

/* ---- parsing values ---- */

static int parse_aid(const char *what, const char *text, struct ec_gp_aid *aid)
{
	uint8_t bytes[EC_GP_AID_MAX];
	long n = hex_decode(text, bytes, sizeof(bytes));
	if (n < 5 || n > EC_GP_AID_MAX) {
		cli_error("%s \"%.40s\" is not an AID: give 5 to 16 bytes in hex, like A000000151000000.",
			  what, text);
		return EXIT_USAGE;
	}
	ec_gp_aid_set(aid, bytes, (size_t)n);
	return 0;
}

static int parse_privileges(const char *text, uint8_t out[3], uint8_t *len)
{
	long n = hex_decode(text, out, 3);
	if (n != 1 && n != 3) {
		cli_error("--privileges \"%.40s\" must be 1 or 3 bytes in hex, like 00 or 000000.", text);
		return EXIT_USAGE;
	}
	*len = (uint8_t)n;
	return 0;
}

static int parse_params(const char *text, uint8_t out[EC_GP_PARAMS_MAX], size_t *len)
{
	long n = hex_decode(text, out, EC_GP_PARAMS_MAX);
	if (n < 0) {
		cli_error("--params must be hex, at most %d bytes (the application's install parameters, sent in C9).",
			  EC_GP_PARAMS_MAX);
		return EXIT_USAGE;
	}
	*len = (size_t)n;
	return 0;
}

static int parse_count(const char *option, const char *text, size_t *out)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(text, &end, 10);
	if (errno || end == text || *end != '\0' || text[0] == '-' || v == 0 || v > 255) {
		cli_error("%s \"%s\" is not a number of bytes from 1 to 255.", option, text);
		return EXIT_USAGE;
	}
	*out = (size_t)v;
	return 0;
}

/* Connect, select the card manager and open the secure channel; the keys
 * are wiped either way, since no verb opens a second channel. */
static int gp_open(struct cli *cli, struct gp_channel *ch, struct ec_gp_session *s)
{
	struct ec_error err = { 0 };

	int r = cli_connect(cli);
	if (r == 0 && ec_gp_connect(s, &cli->pc, &ch->keys, &ch->opt, &err) != EC_OK)
		r = cli_fail(&err);
	ec_gp_keys_wipe(&ch->keys);
	return r;
}

/* ---- printing ---- */

static void print_aid(FILE *f, const struct ec_gp_aid *aid)
{
	char text[2 * EC_GP_AID_MAX + 1];
	hex_encode(aid->bytes, aid->len, text);
	fputs(text, f);
}

static void json_aid(const struct ec_gp_aid *aid)
{
	if (aid->len)
		cli_json_hex(stdout, aid->bytes, aid->len);
	else
		fputs("null", stdout);
}

/* ---- info ---- */

/* What GET DATA gave for each object: has_X, or the card's refusal
 * (X_sw), or an answer that is not well formed (both 0). */
struct gp_info {
	bool has_cplc, has_card_data, has_keys, has_seq;
	uint16_t cplc_sw, card_data_sw, keys_sw, seq_sw;
	struct ec_gp_cplc cplc;
	struct ec_gp_card_data card_data;
	struct ec_gp_key_info keys;
	uint32_t seq;
};

/* One GET DATA: a refusal is "not available", a malformed answer is
 * shown as such, anything else (the link) ends the verb. */
static int info_item(struct cli *cli, enum ec_status st, const struct ec_error *err, bool *has,
		     uint16_t *sw)
{
	*has = st == EC_OK;
	*sw = st == EC_ERR_CARD ? err->sw : 0;
	if (st == EC_ERR_FORMAT)
		LOG_W(&cli->log, "%s", err->text);
	if (st == EC_OK || st == EC_ERR_CARD || st == EC_ERR_FORMAT)
		return 0;
	return cli_fail(err);
}

static int read_info(struct cli *cli, struct ec_gp_session *s, struct gp_info *in)
{
	struct ec_error err = { 0 };
	int r;

	memset(in, 0, sizeof(*in));
	r = info_item(cli, ec_gp_get_cplc(&cli->pc, s, &in->cplc, &err), &err, &in->has_cplc, &in->cplc_sw);
	if (r == 0)
		r = info_item(cli, ec_gp_get_card_data(&cli->pc, s, &in->card_data, &err), &err,
			      &in->has_card_data, &in->card_data_sw);
	if (r == 0)
		r = info_item(cli, ec_gp_get_key_info(&cli->pc, s, &in->keys, &err), &err, &in->has_keys,
			      &in->keys_sw);
	if (r == 0)
		r = info_item(cli, ec_gp_get_sequence_counter(&cli->pc, s, &in->seq, &err), &err,
			      &in->has_seq, &in->seq_sw);
	return r;
}

static const char *key_type_name(uint8_t type)
{
	switch (type) {
	case GP_KEY_TYPE_DES:
		return "DES";
	case GP_KEY_TYPE_AES:
		return "AES";
	case 0xA0:	/* RSA public key: exponent */
	case 0xA1:	/* and modulus */
		return "RSA";
	case 0xB0:	/* ECC public key */
	case 0xB1:	/* and private key */
		return "ECC";
	default:
		return "other";
	}
}

static void print_cplc_json(const struct ec_gp_cplc *c)
{
	printf("{\"ic_fabricator\": \"%04X\", \"ic_type\": \"%04X\", \"os_id\": \"%04X\", "
	       "\"os_release_date\": \"%04X\", \"os_release_level\": \"%04X\", "
	       "\"ic_fabrication_date\": \"%04X\", \"ic_serial\": \"%08lX\", \"ic_batch\": \"%04X\", "
	       "\"module_fabricator\": \"%04X\", \"module_packaging_date\": \"%04X\", "
	       "\"icc_manufacturer\": \"%04X\", \"ic_embedding_date\": \"%04X\", "
	       "\"prepersonalizer\": \"%04X\", \"prepersonalization_date\": \"%04X\", "
	       "\"prepersonalization_equipment\": \"%08lX\", \"personalizer\": \"%04X\", "
	       "\"personalization_date\": \"%04X\", \"personalization_equipment\": \"%08lX\", \"raw\": ",
	       c->ic_fabricator, c->ic_type, c->os_id, c->os_release_date, c->os_release_level,
	       c->ic_fabrication_date, (unsigned long)c->ic_serial, c->ic_batch, c->module_fabricator,
	       c->module_packaging_date, c->icc_manufacturer, c->ic_embedding_date, c->prepersonalizer,
	       c->prepersonalization_date, (unsigned long)c->prepersonalization_equipment,
	       c->personalizer, c->personalization_date, (unsigned long)c->personalization_equipment);
	cli_json_hex(stdout, c->raw, EC_GP_CPLC_LEN);
	fputs("}", stdout);
}

static void print_version(FILE *f, const struct ec_gp_card_data *d)
{
	for (size_t i = 0; i < d->gp_version_len; i++)
		fprintf(f, "%s%u", i ? "." : "", d->gp_version[i]);
}

static void print_info_json(const struct gp_info *in)
{
	fputs("{\"cplc\": ", stdout);
	if (in->has_cplc)
		print_cplc_json(&in->cplc);
	else
		fputs("null", stdout);
	fputs(",\n \"card_data\": ", stdout);
	if (in->has_card_data) {
		const struct ec_gp_card_data *d = &in->card_data;
		fputs("{\"gp_version\": ", stdout);
		if (d->gp_version_len) {
			fputc('"', stdout);
			print_version(stdout, d);
			fputc('"', stdout);
		} else {
			fputs("null", stdout);
		}
		fputs(", \"scp\": [", stdout);
		for (size_t i = 0; i < d->scp_count; i++)
			printf("%s{\"scp\": \"%02X\", \"i\": \"%02X\"}", i ? ", " : "", d->scps[i].scp,
			       d->scps[i].i);
		fputs("], \"raw\": ", stdout);
		cli_json_hex(stdout, d->raw, d->raw_len);
		fputs("}", stdout);
	} else {
		fputs("null", stdout);
	}
	fputs(",\n \"keys\": ", stdout);
	if (in->has_keys) {
		fputs("[", stdout);
		for (size_t i = 0; i < in->keys.count; i++) {
			const struct ec_gp_key_entry *k = &in->keys.keys[i];
			printf("%s{\"id\": %u, \"version\": \"%02X\", \"type\": \"%02X\", \"length\": %u}",
			       i ? ", " : "", k->id, k->version, k->type, k->length);
		}
		fputs("]", stdout);
	} else {
		fputs("null", stdout);
	}
	fputs(",\n \"sequence_counter\": ", stdout);
	if (in->has_seq)
		printf("%lu", (unsigned long)in->seq);
	else
		fputs("null", stdout);
	fputs("}\n", stdout);
}

static void not_available(const char *what, uint16_t sw)
{
	if (sw)
		printf("%-20s not available (SW %04X)\n", what, sw);
	else
		printf("%-20s not well formed (see the warning above)\n", what);
}

static void print_info_text(const struct gp_info *in)
{
	if (in->has_card_data) {
		const struct ec_gp_card_data *d = &in->card_data;
		printf("%-20s ", "GlobalPlatform");
		if (d->gp_version_len)
			print_version(stdout, d);
		else
			fputs("(version not given)", stdout);
		fputc('\n', stdout);
		for (size_t i = 0; i < d->scp_count; i++)
			printf("%-20s SCP%02X, i=%02X\n", "secure channel", d->scps[i].scp, d->scps[i].i);
	} else {
		not_available("card data", in->card_data_sw);
	}
	if (in->has_cplc) {
		const struct ec_gp_cplc *c = &in->cplc;
		printf("CPLC\n");
		printf("  %-26s %04X\n", "IC fabricator", c->ic_fabricator);
		printf("  %-26s %04X\n", "IC type", c->ic_type);
		printf("  %-26s %04X, release date %04X, level %04X\n", "operating system", c->os_id,
		       c->os_release_date, c->os_release_level);
		printf("  %-26s %04X\n", "IC fabrication date", c->ic_fabrication_date);
		printf("  %-26s %08lX, batch %04X\n", "IC serial number", (unsigned long)c->ic_serial,
		       c->ic_batch);
		printf("  %-26s %04X, packaging date %04X\n", "module fabricator", c->module_fabricator,
		       c->module_packaging_date);
		printf("  %-26s %04X, embedding date %04X\n", "ICC manufacturer", c->icc_manufacturer,
		       c->ic_embedding_date);
		printf("  %-26s %04X, date %04X, equipment %08lX\n", "pre-personalizer",
		       c->prepersonalizer, c->prepersonalization_date,
		       (unsigned long)c->prepersonalization_equipment);
		printf("  %-26s %04X, date %04X, equipment %08lX\n", "personalizer", c->personalizer,
		       c->personalization_date, (unsigned long)c->personalization_equipment);
	} else {
		not_available("CPLC", in->cplc_sw);
	}
	if (in->has_keys) {
		printf("keys\n");
		for (size_t i = 0; i < in->keys.count; i++) {
			const struct ec_gp_key_entry *k = &in->keys.keys[i];
			printf("  key set %02X  key %02X  %s (type %02X), %u bytes\n", k->version, k->id,
			       key_type_name(k->type), k->type, k->length);
		}
		if (in->keys.count == 0)
			printf("  (none listed)\n");
	} else {
		not_available("key information", in->keys_sw);
	}
	if (in->has_seq)
		printf("%-20s %lu\n", "sequence counter", (unsigned long)in->seq);
	else
		not_available("sequence counter", in->seq_sw);
}

static bool needs_channel(const struct gp_info *in)
{
	return in->cplc_sw == 0x6982 || in->card_data_sw == 0x6982 || in->keys_sw == 0x6982 ||
	       in->seq_sw == 0x6982;
}

static int gp_info(struct cli *cli, int argc, char **argv, struct gp_channel *ch)
{
	bool secure = false;
	const struct cli_option extra[] = {
		{ "--secure", NULL, &secure },
		{ NULL, NULL, NULL },
	};
	struct ec_gp_session s = { 0 };
	struct ec_error err = { 0 };
	struct gp_info in;
	int npos;

	/* The key options are checked now, even if the card turns out to
	 * need no channel. */
	int r = gp_args(cli, argc, argv, EC_GP_LEVEL_C_MAC, extra, ch, &npos);
	if (r != CLI_CONTINUE)
		return r;
	if (npos > 0) {
		cli_error("\"ecard gp info\" takes no arguments: run \"ecard gp --help\".");
		return EXIT_USAGE;
	}
	if (secure) {
		r = gp_open(cli, ch, &s);
	} else {
		/* Cards answer these outside a secure channel: no keys needed. */
		r = cli_connect(cli);
		if (r == 0 && ec_gp_select_isd(&cli->pc, NULL, 0, &err) != EC_OK)
			r = cli_fail(&err);
	}
	if (r == 0)
		r = read_info(cli, &s, &in);
	if (r == 0 && !secure && needs_channel(&in)) {
		LOG_I(&cli->log, "the card answers GET DATA only in a secure channel: opening one");
		r = gp_open(cli, ch, &s);
		if (r == 0)
			r = read_info(cli, &s, &in);
	}
	ec_gp_keys_wipe(&ch->keys);
	ec_gp_close(&s);
	if (r != 0)
		return r;
	if (cli->json)
		print_info_json(&in);
	else
		print_info_text(&in);
	return EXIT_SUCCESS;
}

/* ---- list ---- */

/* GP 2.3.1 §11.1.2, first byte of the privileges. */
static void print_privilege_names(uint8_t b)
{
	static const struct {
		uint8_t bit;
		const char *name;
	} names[] = {
		{ 0x80, "security domain" }, { 0x40, "DAP verification" },
		{ 0x20, "delegated management" }, { 0x10, "card lock" },
		{ 0x08, "card terminate" }, { 0x04, "card reset" },
		{ 0x02, "CVM management" }, { 0x01, "mandated DAP verification" },
	};
	bool first = true;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!(b & names[i].bit))
			continue;
		printf("%s%s", first ? " (" : ", ", names[i].name);
		first = false;
	}
	if (!first)
		fputc(')', stdout);
}

static const char *state_name(enum ec_gp_status_scope scope, uint8_t state, char *buf, size_t n)
{
	return scope == EC_GP_SCOPE_ISD ? ec_gp_card_state_name(state)
					 : ec_gp_app_state_name(state, buf, n);
}

static void print_entry_text(const char *kind, enum ec_gp_status_scope scope,
			     const struct ec_gp_registry_entry *e)
{
	char state[32], hex[7];
	printf("%-4s ", kind);
	print_aid(stdout, &e->aid);
	printf("%*s  %s", (int)(2 * (EC_GP_AID_MAX - e->aid.len)), "",
	       state_name(scope, e->life_cycle, state, sizeof(state)));
	if (e->has_version)
		printf("  version %u.%u", e->version[0], e->version[1]);
	if (e->privileges_len) {
		hex_encode(e->privileges, e->privileges_len, hex);
		printf("  privileges %s", hex);
		print_privilege_names(e->privileges[0]);
	}
	fputc('\n', stdout);
	if (e->load_file.len) {
		printf("     load file ");
		print_aid(stdout, &e->load_file);
		fputc('\n', stdout);
	}
	for (size_t m = 0; m < e->module_count; m++) {
		printf("     module ");
		print_aid(stdout, &e->modules[m]);
		fputc('\n', stdout);
	}
}

static void print_entries_json(const char *key, enum ec_gp_status_scope scope,
			       const struct ec_gp_registry *reg, bool last)
{
	char state[32];
	printf(" \"%s\": [", key);
	for (size_t i = 0; i < reg->count; i++) {
		const struct ec_gp_registry_entry *e = &reg->entries[i];
		printf("%s\n  {\"aid\": ", i ? "," : "");
		json_aid(&e->aid);
		printf(", \"life_cycle\": \"%s\", \"life_cycle_value\": \"%02X\", \"privileges\": ",
		       state_name(scope, e->life_cycle, state, sizeof(state)), e->life_cycle);
		if (e->privileges_len)
			cli_json_hex(stdout, e->privileges, e->privileges_len);
		else
			fputs("null", stdout);
		fputs(", \"load_file\": ", stdout);
		json_aid(&e->load_file);
		fputs(", \"domain\": ", stdout);
		json_aid(&e->domain);
		if (e->has_version)
			printf(", \"version\": \"%u.%u\"", e->version[0], e->version[1]);
		else
			fputs(", \"version\": null", stdout);
		fputs(", \"modules\": [", stdout);
		for (size_t m = 0; m < e->module_count; m++) {
			if (m)
				fputs(", ", stdout);
			json_aid(&e->modules[m]);
		}
		fputs("]}", stdout);
	}
	printf("%s]%s\n", reg->count ? "\n " : "", last ? "" : ",");
}

static int gp_list(struct cli *cli, int argc, char **argv, struct gp_channel *ch)
{
	struct ec_gp_session s = { 0 };
	struct ec_error err = { 0 };
	/* Three registries of about 16 KiB each: on the heap. */
	struct ec_gp_registry *reg = calloc(3, sizeof(*reg));
	static const enum ec_gp_status_scope scopes[3] = {
		EC_GP_SCOPE_ISD, EC_GP_SCOPE_APPS, EC_GP_SCOPE_LOAD_FILES_MODULES,
	};
	int npos;

	if (!reg) {
		cli_error("out of memory while listing the card's content: close other programs and try again.");
		return EXIT_USAGE;
	}
	int r = gp_args(cli, argc, argv, EC_GP_LEVEL_C_MAC, NULL, ch, &npos);
	if (r == CLI_CONTINUE && npos > 0) {
		cli_error("\"ecard gp list\" takes no arguments: run \"ecard gp --help\".");
		r = EXIT_USAGE;
	}
	if (r != CLI_CONTINUE) {
		free(reg);	/* --help (0) or a usage error */
		return r;
	}
	r = gp_open(cli, ch, &s);
	for (int i = 0; i < 3 && r == 0; i++) {
		enum ec_status st = ec_gp_get_status(&s, scopes[i], NULL, 0, &reg[i], &err);
		if (st == EC_ERR_BUFFER)
			LOG_W(&cli->log, "%s", err.text);
		else if (st != EC_OK)
			r = cli_fail(&err);
	}
	ec_gp_close(&s);
	if (r == 0 && cli->json) {
		fputs("{", stdout);
		print_entries_json("isd", scopes[0], &reg[0], false);
		print_entries_json("applications", scopes[1], &reg[1], false);
		print_entries_json("load_files", scopes[2], &reg[2], true);
		fputs("}\n", stdout);
	} else if (r == 0) {
		static const char *const kinds[3] = { "ISD", "APP", "PKG" };
		for (int i = 0; i < 3; i++)
			for (size_t k = 0; k < reg[i].count; k++) {
				const struct ec_gp_registry_entry *e = &reg[i].entries[k];
				bool sd = i == 1 && e->privileges_len && (e->privileges[0] & 0x80);
				print_entry_text(sd ? "SD" : kinds[i], scopes[i], e);
			}
		if (reg[2].count == 0)
			printf("(no load files)\n");
	}
	free(reg);
	return r;
}

/* ---- load ---- */

/* The progress line on standard error: rewritten in place on a terminal,
 * one line per tenth otherwise (a log file should not get a line per block). */
struct progress {
	bool tty;
	bool line_open;		/* a \r line waits for its newline */
	bool started;
	size_t last_tenth;
};

static void on_progress(void *arg, size_t done, size_t blocks, size_t bytes, size_t total)
{
	struct progress *p = arg;
	size_t tenth = blocks ? done * 10 / blocks : 10;

	if (p->tty) {
		fprintf(stderr, "\rloading %zu/%zu blocks (%zu/%zu bytes)", done, blocks, bytes, total);
		p->line_open = done < blocks;
		if (!p->line_open)
			fputc('\n', stderr);
		fflush(stderr);
	} else if (!p->started || tenth > p->last_tenth) {
		fprintf(stderr, "loading %zu/%zu blocks (%zu/%zu bytes)\n", done, blocks, bytes, total);
	}
	p->started = true;
	p->last_tenth = tenth;
}

static void progress_end(struct progress *p)
{
	if (p->line_open)
		fputc('\n', stderr);
	p->line_open = false;
}

static const char *start_name(enum ec_gp_load_start start)
{
	switch (start) {
	case EC_GP_LOAD_RESUMED:
		return "resumed";
	case EC_GP_LOAD_RESTARTED:
		return "restarted";
	case EC_GP_LOAD_ALREADY_DONE:
		return "already_loaded";
	default:
		return "fresh";
	}
}

static void print_load(const struct cli *cli, const struct ec_cap *cap,
		       const struct ec_gp_load_result *res, bool resume,
		       const struct ec_gp_aid *installed, bool installed_before)
{
	char aid[2 * EC_GP_AID_MAX + 1], hash[2 * CRYPTO_SHA256_LEN + 1];

	hex_encode(cap->package.aid.bytes, cap->package.aid.len, aid);
	cli_hex_lower(cap->load_file_sha256, CRYPTO_SHA256_LEN, hash);
	if (cli->json) {
		printf("{\"package\": \"%s\", \"version\": \"%u.%u\", \"load_file_size\": %zu, "
		       "\"sha256\": \"%s\", \"blocks\": %zu, \"block_size\": %zu, \"start\": \"%s\", "
		       "\"first_block\": %zu, \"card_resumes\": %s, \"installed\": ",
		       aid, cap->package.major, cap->package.minor, cap->load_file_len, hash,
		       res->blocks, res->block_size, start_name(res->start), res->first_block,
		       resume ? (res->card_resumes ? "true" : "false") : "null");
		json_aid(installed);
		fputs("}\n", stdout);
		return;
	}
	printf("loaded    %s (version %u.%u): %zu bytes in %zu blocks of %zu\n", aid,
	       cap->package.major, cap->package.minor, cap->load_file_len, res->blocks,
	       res->block_size);
	printf("sha256    %s\n", hash);
	switch (res->start) {
	case EC_GP_LOAD_RESUMED:
		printf("(resumed at block %zu: the card had kept the blocks before it)\n", res->first_block);
		break;
	case EC_GP_LOAD_RESTARTED:
		printf("(the card held part of it cut in other blocks: loaded again from block 0)\n");
		break;
	case EC_GP_LOAD_ALREADY_DONE:
		printf("(the card already held it whole: the last block of the previous run got through)\n");
		break;
	default:
		if (resume && !res->card_resumes)
			printf("(the card does not keep partial loads: loaded again from block 0)\n");
		break;
	}
	if (installed->len) {
		printf("installed ");
		print_aid(stdout, installed);
		printf(installed_before ? " (selectable; by the run that was interrupted)\n"
					: " (selectable)\n");
	}
}

/* Whether an application with this AID is on the card already. */
static enum ec_status app_present(struct ec_gp_session *s, const struct ec_gp_aid *aid,
				  bool *present, struct ec_error *err)
{
	struct ec_gp_registry *reg = malloc(sizeof(*reg));
	*present = false;
	if (!reg)
		return ec_error_set(err, EC_ERR_ARG, "out of memory while reading the registry: close other programs and try again.");
	enum ec_status st = ec_gp_get_status(s, EC_GP_SCOPE_APPS, aid->bytes, aid->len, reg, err);
	for (size_t i = 0; st == EC_OK && i < reg->count; i++)
		*present |= reg->entries[i].aid.len == aid->len &&
			    memcmp(reg->entries[i].aid.bytes, aid->bytes, aid->len) == 0;
	free(reg);
	return st;
}

/* gp load, and gp install CAP (always with --install, as GlobalPlatformPro's
 * "gp --install x.cap" users type it). */
static int gp_load_install(struct cli *cli, int argc, char **argv, struct gp_channel *ch,
			   bool always_install)
{
	bool resume = false, install = always_install;
	const char *aid_text = NULL, *priv_text = NULL, *params_text = NULL, *block_text = NULL;
	const struct cli_option extra[] = {
		{ "--resume", NULL, &resume },
		{ "--install", NULL, &install },
		{ "--aid", &aid_text, NULL },
		{ "--privileges", &priv_text, NULL },
		{ "--params", &params_text, NULL },
		{ "--block-size", &block_text, NULL },
		{ NULL, NULL, NULL },
	};
	struct ec_gp_session s = { 0 };
	struct ec_error err = { 0 };
	struct ec_gp_install in = { 0 };
	struct ec_gp_aid installed = { 0 };
	bool installed_before = false;
	struct ec_gp_load_options opt = { 0 };
	struct ec_gp_load_result res = { 0 };
	struct progress progress = { .tty = isatty(STDERR_FILENO) == 1 };
	uint8_t params[EC_GP_PARAMS_MAX];
	struct ec_cap *cap = NULL;
	int npos;

	int r = gp_args(cli, argc, argv, EC_GP_LEVEL_C_MAC | EC_GP_LEVEL_C_DEC, extra, ch, &npos);
	if (r != CLI_CONTINUE)
		return r;
	if (npos != 1) {
		cli_error("\"ecard gp %s\" takes exactly one CAP file: run \"ecard gp --help\".",
			  always_install ? "install" : "load");
		return EXIT_USAGE;
	}
	if (!install && (aid_text || priv_text || params_text)) {
		cli_error("--aid, --privileges and --params go with --install: add it, or leave them out.");
		return EXIT_USAGE;
	}
	if (block_text && parse_count("--block-size", block_text, &opt.block_size) != 0)
		return EXIT_USAGE;
	if (aid_text && parse_aid("--aid", aid_text, &in.aid) != 0)
		return EXIT_USAGE;
	if (priv_text && parse_privileges(priv_text, in.privileges, &in.privileges_len) != 0)
		return EXIT_USAGE;
	if (params_text && parse_params(params_text, params, &in.params_len) != 0)
		return EXIT_USAGE;
	in.params = params;
	in.selectable = true;

	/* struct ec_cap lists every applet and import a CAP file can: 8 KiB. */
	cap = malloc(sizeof(*cap));
	if (!cap) {
		cli_error("out of memory while reading %s: close other programs and try again.", argv[1]);
		return EXIT_USAGE;
	}
	if (ec_cap_open(argv[1], cap, &err) != EC_OK) {
		free(cap);
		return cli_fail(&err);
	}
	if (install && cap->applet_count == 0) {
		cli_error("%s defines no applet to install (it is a library package): leave --install out.",
			  argv[1]);
		r = EXIT_USAGE;
	}
	if (r == CLI_CONTINUE)
		r = gp_open(cli, ch, &s);
	if (r == 0) {
		opt.progress = on_progress;
		opt.progress_arg = &progress;
		enum ec_status st = resume ? ec_gp_load_resume(&s, cap, &opt, &res, &err)
					   : ec_gp_load(&s, cap, &opt, &res, &err);
		progress_end(&progress);
		if (st != EC_OK)
			r = cli_fail(&err);
	}
	if (r == 0 && install) {
		bool present = false;
		ec_gp_aid_set(&in.package, cap->package.aid.bytes, cap->package.aid.len);
		ec_gp_aid_set(&in.module, cap->applets[0].aid.bytes, cap->applets[0].aid.len);
		const struct ec_gp_aid *app = in.aid.len ? &in.aid : &in.module;
		/* A resumed run may find the instance made by the run it resumes. */
		if (res.start == EC_GP_LOAD_ALREADY_DONE && app_present(&s, app, &present, &err) != EC_OK)
			r = cli_fail(&err);
		else if (!present && ec_gp_install(&s, &in, &err) != EC_OK)
			r = cli_fail(&err);
		/* The load file is on the card: loading it again is refused
		 * (6985), while --resume finds it there and only installs. */
		if (r != 0 && err.status != EC_ERR_CARD && err.status != EC_ERR_CHECK)
			cli_error("the load file %s is on the card: run the same command again with --resume to install it without loading it again.",
				  argv[1]);
		if (r == 0)
			installed = *app;
		installed_before = present;
	}
	ec_gp_close(&s);
	if (r == 0)
		print_load(cli, cap, &res, resume, &installed, installed_before);
	ec_cap_free(cap);
	free(cap);
	return r;
}

/* ---- install, delete ---- */

static int gp_load(struct cli *cli, int argc, char **argv, struct gp_channel *ch)
{
	return gp_load_install(cli, argc, argv, ch, false);
}

static int gp_install(struct cli *cli, int argc, char **argv, struct gp_channel *ch)
{
	/* "gp install FILE.cap": load the file and install its applet. An
	 * argument that names a CAP file (or any existing file: no AID is
	 * one) says it. */
	for (int i = 1; i < argc; i++) {
		struct stat st;
		size_t n = strlen(argv[i]);
		bool cap = n > 4 && strcasecmp(argv[i] + n - 4, ".cap") == 0;
		if (argv[i][0] != '-' && (cap || (stat(argv[i], &st) == 0 && S_ISREG(st.st_mode))))
			return gp_load_install(cli, argc, argv, ch, true);
	}

	bool selectable = false;
	const char *package_text = NULL, *module_text = NULL, *aid_text = NULL;
	const char *priv_text = NULL, *params_text = NULL;
	const struct cli_option extra[] = {
		{ "--package", &package_text, NULL },
		{ "--module", &module_text, NULL },
		{ "--aid", &aid_text, NULL },
		{ "--privileges", &priv_text, NULL },
		{ "--params", &params_text, NULL },
		{ "--selectable", NULL, &selectable },
		{ NULL, NULL, NULL },
	};
	struct ec_gp_session s = { 0 };
	struct ec_error err = { 0 };
	struct ec_gp_install in = { 0 };
	uint8_t params[EC_GP_PARAMS_MAX];
	int npos;

	int r = gp_args(cli, argc, argv, EC_GP_LEVEL_C_MAC, extra, ch, &npos);
	if (r != CLI_CONTINUE)
		return r;
	if (npos > 0 || !package_text || !module_text) {
		cli_error("\"ecard gp install\" needs --package AID and --module AID, and no other arguments: run \"ecard gp --help\".");
		return EXIT_USAGE;
	}
	if (parse_aid("--package", package_text, &in.package) != 0 ||
	    parse_aid("--module", module_text, &in.module) != 0 ||
	    (aid_text && parse_aid("--aid", aid_text, &in.aid) != 0) ||
	    (priv_text && parse_privileges(priv_text, in.privileges, &in.privileges_len) != 0) ||
	    (params_text && parse_params(params_text, params, &in.params_len) != 0))
		return EXIT_USAGE;
	in.params = params;
	in.selectable = selectable;

	r = gp_open(cli, ch, &s);
	if (r == 0 && ec_gp_install(&s, &in, &err) != EC_OK)
		r = cli_fail(&err);
	ec_gp_close(&s);
	if (r != 0)
		return r;
	const struct ec_gp_aid *app = in.aid.len ? &in.aid : &in.module;
	if (cli->json) {
		fputs("{\"installed\": ", stdout);
		json_aid(app);
		printf(", \"selectable\": %s}\n", selectable ? "true" : "false");
	} else {
		printf("installed ");
		print_aid(stdout, app);
		printf(" (%s)\n", selectable ? "selectable" : "installed, not yet selectable");
	}
	return EXIT_SUCCESS;
}

/* The sub-commands that take one AID: delete, lock, unlock. */
static int one_aid(const char *name, int npos, char **argv, struct ec_gp_aid *aid)
{
	if (npos != 1) {
		cli_error("\"ecard gp %s\" takes exactly one AID: run \"ecard gp --help\".", name);
		return EXIT_USAGE;
	}
	return parse_aid("the AID", argv[1], aid);
}

static void print_done(const struct cli *cli, const char *verb, const struct ec_gp_aid *aid)
{
	if (cli->json) {
		printf("{\"%s\": ", verb);
		json_aid(aid);
		fputs("}\n", stdout);
	} else {
		printf("%s ", verb);
		print_aid(stdout, aid);
		fputc('\n', stdout);
	}
}

static int gp_delete(struct cli *cli, int argc, char **argv, struct gp_channel *ch)
{
	bool related = false;
	const struct cli_option extra[] = {
		{ "--related", NULL, &related },
		{ NULL, NULL, NULL },
	};
	struct ec_gp_session s = { 0 };
	struct ec_error err = { 0 };
	struct ec_gp_aid aid;
	int npos;

	int r = gp_args(cli, argc, argv, EC_GP_LEVEL_C_MAC, extra, ch, &npos);
	if (r != CLI_CONTINUE)
		return r;
	if (one_aid("delete", npos, argv, &aid) != 0)
		return EXIT_USAGE;
	r = gp_open(cli, ch, &s);
	if (r == 0 && ec_gp_delete(&s, aid.bytes, aid.len, related, &err) != EC_OK)
		r = cli_fail(&err);
	ec_gp_close(&s);
	if (r == 0)
		print_done(cli, "deleted", &aid);
	return r;
}

static int gp_lock(struct cli *cli, int argc, char **argv, bool lock, struct gp_channel *ch)
{
	struct ec_gp_session s = { 0 };
	struct ec_error err = { 0 };
	struct ec_gp_aid aid;
	int npos;

	int r = gp_args(cli, argc, argv, EC_GP_LEVEL_C_MAC, NULL, ch, &npos);
	if (r != CLI_CONTINUE)
		return r;
	if (one_aid(lock ? "lock" : "unlock", npos, argv, &aid) != 0)
		return EXIT_USAGE;
	r = gp_open(cli, ch, &s);
	if (r == 0 && ec_gp_set_app_lock(&s, aid.bytes, aid.len, lock, &err) != EC_OK)
		r = cli_fail(&err);
	ec_gp_close(&s);
	if (r == 0)
		print_done(cli, lock ? "locked" : "unlocked", &aid);
	return r;
}

/* ---- put-key ---- */

static int gp_put_key(struct cli *cli, int argc, char **argv, struct gp_channel *ch)
{
	static const char *const new_key_names[4] = {
		"--new-key", "--new-key-enc", "--new-key-mac", "--new-key-dek",
	};
	const char *kvn_text = NULL, *replace_text = NULL;
	const char *new_key[4] = { NULL, NULL, NULL, NULL };
	const struct cli_option extra[] = {
		{ "--new-kvn", &kvn_text, NULL },
		{ "--replace", &replace_text, NULL },
		{ new_key_names[0], &new_key[0], NULL },
		{ new_key_names[1], &new_key[1], NULL },
		{ new_key_names[2], &new_key[2], NULL },
		{ new_key_names[3], &new_key[3], NULL },
		{ NULL, NULL, NULL },
	};
	struct ec_gp_session s = { 0 };
	struct ec_error err = { 0 };
	struct ec_gp_keys fresh;
	uint8_t kcv[3][EC_GP_KCV_LEN], kvn = 0, replace = 0;
	int npos;

	int r = gp_args(cli, argc, argv, EC_GP_LEVEL_C_MAC | EC_GP_LEVEL_C_DEC, extra, ch, &npos);
	if (r != CLI_CONTINUE)
		return r;
	/* Read first, so that the new keys' text leaves argv at once. */
	if (cli_gp_key_set(new_key_names, new_key, &fresh) != 0)
		return EXIT_USAGE;
	if (npos > 0 || !kvn_text || fresh.len == 0) {
		cli_error("\"ecard gp put-key\" needs --new-kvn N and either --new-key HEX or all of --new-key-enc, --new-key-mac and --new-key-dek: run \"ecard gp --help\".");
		r = EXIT_USAGE;
	}
	if (r == CLI_CONTINUE && cli_parse_byte("--new-kvn", kvn_text, &kvn) != 0)
		r = EXIT_USAGE;
	if (r == CLI_CONTINUE && (kvn == 0 || kvn > 0x7F)) {
		cli_error("--new-kvn %s: a key version is 01 to 7F.", kvn_text);
		r = EXIT_USAGE;
	}
	if (r == CLI_CONTINUE && replace_text && cli_parse_byte("--replace", replace_text, &replace) != 0)
		r = EXIT_USAGE;
	fresh.kvn = kvn;
	if (r == CLI_CONTINUE)
		r = gp_open(cli, ch, &s);
	if (r == 0 && ec_gp_put_key(&s, &fresh, replace, kcv, &err) != EC_OK)
		r = cli_fail(&err);
	ec_gp_close(&s);
	ec_gp_keys_wipe(&fresh);
	if (r != 0)
		return r;
	char e[7], m[7], d[7];
	hex_encode(kcv[0], EC_GP_KCV_LEN, e);
	hex_encode(kcv[1], EC_GP_KCV_LEN, m);
	hex_encode(kcv[2], EC_GP_KCV_LEN, d);
	if (cli->json) {
		printf("{\"kvn\": \"%02X\", \"replaced\": ", kvn);
		if (replace)
			printf("\"%02X\"", replace);
		else
			fputs("null", stdout);
		printf(", \"kcv\": {\"enc\": \"%s\", \"mac\": \"%s\", \"dek\": \"%s\"}}\n", e, m, d);
	} else {
		if (replace)
			printf("key set %02X replaced by key set %02X\n", replace, kvn);
		else
			printf("key set %02X added\n", kvn);
		printf("KCV       ENC %s  MAC %s  DEK %s\n", e, m, d);
	}
	return EXIT_SUCCESS;
}

/* ---- set-state ---- */

/* Terminating is for ever: ask on the terminal. */
static int confirm_terminate(void)
{
	char line[32];
	if (!isatty(STDIN_FILENO)) {
		cli_error("refusing to terminate the card without a confirmation: run it on a terminal, or add --force.");
		return EXIT_USAGE;
	}
	fputs("Terminating the card cannot be undone: its applications and keys become unusable for ever.\n"
	      "Type \"terminate\" to go on: ", stderr);
	fflush(stderr);
	if (!fgets(line, sizeof(line), stdin) || strcmp(line, "terminate\n") != 0) {
		cli_error("the card was not terminated: the confirmation was not \"terminate\".");
		return EXIT_USAGE;
	}
	return 0;
}

static int gp_set_state(struct cli *cli, int argc, char **argv, struct gp_channel *ch)
{
	bool force = false;
	const struct cli_option extra[] = {
		{ "--force", NULL, &force },
		{ NULL, NULL, NULL },
	};
	struct ec_gp_session s = { 0 };
	struct ec_error err = { 0 };
	uint8_t state;
	int npos;

	int r = gp_args(cli, argc, argv, EC_GP_LEVEL_C_MAC, extra, ch, &npos);
	if (r != CLI_CONTINUE)
		return r;
	const char *name = npos == 1 ? argv[1] : "";
	if (strcmp(name, "card-lock") == 0) {
		state = GP_CARD_LOCKED;
	} else if (strcmp(name, "card-unlock") == 0) {
		state = GP_CARD_SECURED;
	} else if (strcmp(name, "terminate") == 0) {
		state = GP_CARD_TERMINATED;
	} else {
		cli_error("\"ecard gp set-state\" takes one of card-lock, card-unlock and terminate: run \"ecard gp --help\".");
		return EXIT_USAGE;
	}
	if (state == GP_CARD_TERMINATED && !force && confirm_terminate() != 0)
		return EXIT_USAGE;
	r = gp_open(cli, ch, &s);
	if (r == 0 && ec_gp_set_card_state(&s, state, &err) != EC_OK)
		r = cli_fail(&err);
	ec_gp_close(&s);
	if (r != 0)
		return r;
	if (cli->json)
		printf("{\"life_cycle\": \"%s\", \"life_cycle_value\": \"%02X\"}\n",
		       ec_gp_card_state_name(state), state);
	else
		printf("card life cycle: %s\n", ec_gp_card_state_name(state));
	return EXIT_SUCCESS;
}

/* ---- dispatch ---- */

static int gp_lock_app(struct cli *cli, int argc, char **argv, struct gp_channel *ch)
{
	return gp_lock(cli, argc, argv, true, ch);
}

static int gp_unlock_app(struct cli *cli, int argc, char **argv, struct gp_channel *ch)
{
	return gp_lock(cli, argc, argv, false, ch);
}

int verb_gp(struct cli *cli, int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)(struct cli *cli, int argc, char **argv, struct gp_channel *ch);
	} subs[] = {
		{ "info", gp_info },
		{ "list", gp_list },
		{ "load", gp_load },
		{ "install", gp_install },
		{ "delete", gp_delete },
		{ "put-key", gp_put_key },
		{ "lock", gp_lock_app },
		{ "unlock", gp_unlock_app },
		{ "set-state", gp_set_state },
	};

	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		fputs(cli_usage_gp, stdout);
		return EXIT_SUCCESS;
	}
	for (size_t i = 0; argc >= 2 && i < sizeof(subs) / sizeof(subs[0]); i++) {
		if (strcmp(argv[1], subs[i].name) != 0)
			continue;
		struct gp_channel ch;
		memset(&ch, 0, sizeof(ch));
		int r = subs[i].run(cli, argc - 1, argv + 1, &ch);
		/* Whichever way the sub-command ended, its keys go. */
		ec_gp_keys_wipe(&ch.keys);
		return r;
	}
	cli_error("\"ecard gp\" needs one of info, list, load, install, delete, put-key, lock, unlock or set-state: run \"ecard gp --help\".");
	return EXIT_USAGE;
}
