/*
 * cli_profile.c - `ecard profile show|set|policy`: the holder's personal
 * data in the profile applet (DESIGN §2.2).
 *
 * Reading follows the card's release policy: a field the card keeps back
 * without a PIN is shown as locked, unless --verify was given, in which
 * case the PIN is asked once, at the first locked field, and VERIFY is sent
 * with it before each locked field (a policy of "always" consumes one
 * verification per read). A wrong PIN stops the verifying at once, so one
 * mistyped PIN costs one try, not one per field. The PIN and the values
 * read from the card (which may be private) are wiped once used.
 *
 * `set` takes the value from the command line, or with --value-fd N as one
 * line from a descriptor, so that a password never shows in `ps`; that
 * value is wiped once sent too.
 */
#include "cli.h"

#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "crypto.h"
#include "iso7816.h"
#include "pin_client.h"
#include "pin_entry.h"
#include "profile.h"


const char cli_usage_profile[] =
	"usage: ecard profile show [--verify] [--pin-fd N] [--json]\n"
	"       ecard profile set FIELD VALUE [--pin-fd N]\n"
	"       ecard profile set FIELD --value-fd N [--pin-fd N]\n"
	"       ecard profile policy [--general POLICY] [--private POLICY] [--pin-fd N] [--json]\n"
	"\n"
	"show: every field and the release policy. A field the card releases\n"
	"only after the PIN is shown as locked; with --verify the PIN is asked\n"
	"and those fields are read too.\n"
	"set: write VALUE (UTF-8, at most 64 bytes; \"\" clears) into FIELD,\n"
	"after the PIN. With --value-fd N the value is not given as an\n"
	"argument but read as one line from file descriptor N (its line end\n"
	"dropped; an empty line clears), so that it never shows in the\n"
	"process list: use it for the password. When --pin-fd names the same\n"
	"descriptor, the value is its first line and the PIN the second.\n"
	"FIELD is a name or an id in hex:\n"
	"  01 username, 02 password (private), 03 forename, 04 surname,\n"
	"  05 street, 06 town, 07 county, 08 postcode, 09 card-number (private),\n"
	"  0A email, 0B phone\n"
	"policy: without options show the release policy of the general and\n"
	"the private fields; with --general or --private change it, after the\n"
	"PIN. POLICY is never (no PIN), session (once per card session) or\n"
	"always (a PIN for every read).\n"
	"\n"
	"The PIN is asked on the terminal without echo, or read as one line\n"
	"from file descriptor N with --pin-fd N.\n"
	"--json: show prints {policy: {general, private}, fields: [{id, name,\n"
	"class, value, locked}]} (value null when locked); policy prints\n"
	"{general, private}.\n";

struct field_value {
	bool locked;
	size_t len;
	char value[EC_PROFILE_VALUE_MAX + 1];
};

/* Connect and SELECT the profile; 0 or the exit status. */
static int open_profile(struct cli *cli, struct ec_error *err)
{
	int r = cli_connect(cli);
	if (r != 0)
		return r;
	if (ec_profile_select(&cli->pc, err) != EC_OK)
		return cli_fail(err);
	return 0;
}

/* Ask for the PIN and VERIFY it; the text is wiped. */
static enum ec_status ask_and_verify(struct cli *cli, struct pin_entry *pe, struct ec_error *err)
{
	char pin[EC_PIN_TEXT_MAX];
	enum ec_status st = pin_entry_read(pe, "PIN: ", pin, sizeof(pin), err) == 0 ? EC_OK
										     : err->status;
	if (st == EC_OK)
		st = ec_pin_verify(&cli->pc, pin, NULL, err);
	crypto_wipe(pin, sizeof(pin));
	return st;
}

/*
 * For `show --verify`: the PIN is asked the first time a field is locked
 * and kept (in pin, wiped by the caller) for the next locked field, since a
 * policy of "always" spends one verification per read.
 */
static enum ec_status verify_for_read(struct cli *cli, struct pin_entry *pe, char *pin,
				      size_t cap, struct ec_error *err)
{
	if (pin[0] == '\0' && pin_entry_read(pe, "PIN: ", pin, cap, err) != 0)
		return err->status;
	return ec_pin_verify(&cli->pc, pin, NULL, err);
}

static void print_show(const struct cli *cli, uint8_t general, uint8_t priv,
		       const struct field_value *v)
{
	if (cli->json) {
		printf("{\"policy\": {\"general\": \"%s\", \"private\": \"%s\"}, \"fields\": [",
		       ec_profile_policy_name(general), ec_profile_policy_name(priv));
		for (size_t i = 0; i < EC_PROFILE_FIELDS; i++) {
			const struct ec_profile_field *f = &ec_profile_fields[i];
			printf("%s\n  {\"id\": \"%02X\", \"name\": \"%s\", \"class\": \"%s\", \"value\": ",
			       i ? "," : "", f->id, f->name, f->private_class ? "private" : "general");
			if (v[i].locked)
				fputs("null", stdout);
			else
				cli_json_bytes(stdout, v[i].value, v[i].len);
			printf(", \"locked\": %s}", v[i].locked ? "true" : "false");
		}
		fputs("\n]}\n", stdout);
		return;
	}
	printf("policy       general: %s, private: %s\n", ec_profile_policy_name(general),
	       ec_profile_policy_name(priv));
	for (size_t i = 0; i < EC_PROFILE_FIELDS; i++) {
		printf("%-12s ", ec_profile_fields[i].name);
		if (v[i].locked)
			fputs("(locked: the card wants the PIN; run with --verify)", stdout);
		else if (v[i].len == 0)
			fputs("(empty)", stdout);
		else
			cli_print_safe(stdout, v[i].value, v[i].len);
		fputc('\n', stdout);
	}
}

static int profile_show(struct cli *cli, int argc, char **argv)
{
	const char *fd_text = NULL;
	bool verify = false;
	const struct cli_option opts[] = {
		{ "--verify", NULL, &verify },
		{ "--pin-fd", &fd_text, NULL },
		{ NULL, NULL, NULL },
	};
	struct field_value values[EC_PROFILE_FIELDS];
	struct ec_error err = { 0 }, pin_err = { 0 };
	struct pin_entry pe;
	char pin[EC_PIN_TEXT_MAX] = "";
	uint8_t general, priv;
	bool pin_failed = false;
	int fd = -1, npos;

	int r = cli_verb_args(cli, argc, argv, opts, &npos);
	if (r != CLI_CONTINUE)
		return r;
	if (npos > 0) {
		cli_error("\"ecard profile show\" takes no arguments: run \"ecard profile --help\".");
		return EXIT_USAGE;
	}
	if (fd_text && cli_parse_fd("--pin-fd", fd_text, &fd) != 0)
		return EXIT_USAGE;
	pin_entry_init(&pe, fd);
	r = open_profile(cli, &err);
	if (r != 0)
		return r;
	if (ec_profile_get_policy(&cli->pc, &general, &priv, &err) != EC_OK)
		return cli_fail(&err);

	memset(values, 0, sizeof(values));
	for (size_t i = 0; i < EC_PROFILE_FIELDS && r == 0; i++) {
		struct field_value *v = &values[i];
		uint8_t id = ec_profile_fields[i].id;
		enum ec_status st = ec_profile_get_field(&cli->pc, id, v->value, sizeof(v->value),
							 &v->len, &err);
		if (st == EC_ERR_CARD && err.sw == SW_SECURITY_STATUS && verify && !pin_failed) {
			if (verify_for_read(cli, &pe, pin, sizeof(pin), &pin_err) == EC_OK)
				st = ec_profile_get_field(&cli->pc, id, v->value, sizeof(v->value),
							  &v->len, &err);
			else
				pin_failed = true;
		}
		if (st == EC_ERR_CARD && err.sw == SW_SECURITY_STATUS)
			v->locked = true;
		else if (st != EC_OK)
			r = cli_fail(&err);
	}
	crypto_wipe(pin, sizeof(pin));
	if (r == 0)
		print_show(cli, general, priv, values);
	crypto_wipe(values, sizeof(values));
	if (r == 0 && pin_failed)
		r = cli_fail(&pin_err);
	return r;
}

static int profile_set(struct cli *cli, int argc, char **argv)
{
	const char *fd_text = NULL, *value_fd_text = NULL;
	const struct cli_option opts[] = {
		{ "--pin-fd", &fd_text, NULL },
		{ "--value-fd", &value_fd_text, NULL },
		{ NULL, NULL, NULL },
	};
	struct ec_error err = { 0 };
	struct pin_entry pe;
	/* Room for what the card keeps, a '\r' and the NUL. */
	char value[EC_PROFILE_VALUE_MAX + 2];
	size_t len;
	int fd = -1, value_fd = -1, npos;

	int r = cli_verb_args(cli, argc, argv, opts, &npos);
	if (r != CLI_CONTINUE)
		return r;
	if (value_fd_text && npos != 1) {
		cli_error("with --value-fd, \"ecard profile set\" needs a FIELD and no VALUE: run \"ecard profile --help\".");
		return EXIT_USAGE;
	}
	if (!value_fd_text && npos != 2) {
		cli_error("\"ecard profile set\" needs a FIELD and a VALUE (\"\" to clear), or a FIELD and --value-fd N: run \"ecard profile --help\".");
		return EXIT_USAGE;
	}
	const struct ec_profile_field *f = ec_profile_field_find(argv[1]);
	if (!f) {
		cli_error("there is no profile field \"%s\": give a name such as email or an id from 01 to 0B.",
			  argv[1]);
		return EXIT_USAGE;
	}
	if (fd_text && cli_parse_fd("--pin-fd", fd_text, &fd) != 0)
		return EXIT_USAGE;
	if (value_fd_text) {
		char what[40];
		snprintf(what, sizeof(what), "the value for %s", f->name);
		if (cli_parse_fd("--value-fd", value_fd_text, &value_fd) != 0)
			return EXIT_USAGE;
		if (pin_entry_read_fd(value_fd, "--value-fd", what, value, sizeof(value),
				      EC_PROFILE_VALUE_MAX, &len, &err) != 0)
			return cli_fail(&err);
	} else {
		len = strlen(argv[2]);
		if (len > EC_PROFILE_VALUE_MAX) {
			cli_error("the value for %s has %zu bytes, the card keeps at most %d: shorten it.",
				  f->name, len, EC_PROFILE_VALUE_MAX);
			return EXIT_USAGE;
		}
		memcpy(value, argv[2], len + 1);
	}
	pin_entry_init(&pe, fd);
	r = open_profile(cli, &err);
	/* PUT FIELD consumes a fresh verification: VERIFY right before it. */
	if (r == 0 && (ask_and_verify(cli, &pe, &err) != EC_OK ||
		       ec_profile_put_field(&cli->pc, f->id, value, len, &err) != EC_OK))
		r = cli_fail(&err);
	crypto_wipe(value, sizeof(value));
	if (r != 0)
		return r;
	printf(len ? "%s set.\n" : "%s cleared.\n", f->name);
	return EXIT_SUCCESS;
}

int cli_parse_policy(const char *option, const char *text, uint8_t *out)
{
	int p = ec_profile_policy_parse(text);
	if (p < 0) {
		cli_error("%s \"%s\" is not a policy: give never, session or always.", option, text);
		return EXIT_USAGE;
	}
	*out = (uint8_t)p;
	return 0;
}

static int profile_policy(struct cli *cli, int argc, char **argv)
{
	const char *general_text = NULL, *private_text = NULL, *fd_text = NULL;
	const struct cli_option opts[] = {
		{ "--general", &general_text, NULL },
		{ "--private", &private_text, NULL },
		{ "--pin-fd", &fd_text, NULL },
		{ NULL, NULL, NULL },
	};
	struct ec_error err = { 0 };
	struct pin_entry pe;
	uint8_t general, priv, new_general = 0, new_private = 0;
	int fd = -1, npos;

	int r = cli_verb_args(cli, argc, argv, opts, &npos);
	if (r != CLI_CONTINUE)
		return r;
	if (npos > 0) {
		cli_error("\"ecard profile policy\" takes options only: run \"ecard profile --help\".");
		return EXIT_USAGE;
	}
	if ((general_text && cli_parse_policy("--general", general_text, &new_general) != 0) ||
	    (private_text && cli_parse_policy("--private", private_text, &new_private) != 0))
		return EXIT_USAGE;
	if (fd_text && cli_parse_fd("--pin-fd", fd_text, &fd) != 0)
		return EXIT_USAGE;
	r = open_profile(cli, &err);
	if (r != 0)
		return r;
	if (ec_profile_get_policy(&cli->pc, &general, &priv, &err) != EC_OK)
		return cli_fail(&err);

	bool change = general_text || private_text;
	if (change) {
		if (general_text)
			general = new_general;
		if (private_text)
			priv = new_private;
		pin_entry_init(&pe, fd);
		if (ask_and_verify(cli, &pe, &err) != EC_OK ||
		    ec_profile_set_policy(&cli->pc, general, priv, &err) != EC_OK)
			return cli_fail(&err);
	}
	if (cli->json)
		printf("{\"general\": \"%s\", \"private\": \"%s\"}\n", ec_profile_policy_name(general),
		       ec_profile_policy_name(priv));
	else
		printf("%sgeneral: %s, private: %s\n", change ? "policy set: " : "",
		       ec_profile_policy_name(general), ec_profile_policy_name(priv));
	return EXIT_SUCCESS;
}

int verb_profile(struct cli *cli, int argc, char **argv)
{
	static const struct cli_subverb subs[] = {
		{ "show", profile_show },
		{ "set", profile_set },
		{ "policy", profile_policy },
	};
	return cli_subverb(cli, argc, argv, subs, sizeof(subs) / sizeof(subs[0]),
			   "\"show\", \"set\" or \"policy\"");
}
