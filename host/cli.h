/*
 * cli.h - what the files of the ecard command line share: the global
 * options and transport (struct cli), the verb table's row, argument
 * parsing, error printing and JSON output.
 *
 * host/ecard.c holds main() and the table of verbs; each group of verbs
 * lives in a file of its own (cli_wallet.c, cli_issuer.c, cli_pin.c,
 * cli_profile.c, cli_cap.c, cli_gp.c) and exports its verb functions and
 * usage texts here.
 * The helpers are in cli_common.c; the GlobalPlatform key options, which
 * `ecard gp` and `ecard issuer personalize` share, in cli_keys.c.
 *
 * Exit status, for every verb: 0 success, 1 the card or a check said no
 * (a status word other than 9000, a wrong PIN, a forged MAC or signature),
 * 2 a usage or environment error (bad arguments, no pcscd, no reader, no
 * card, a file that cannot be read, an answer lost on the way). Every
 * error is one sentence on standard error starting with "ecard: ".
 */
#ifndef ECARD_CLI_H
#define ECARD_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>	/* EXIT_SUCCESS, next to the statuses below */

#include "log.h"
#include "pcsc.h"

enum {
	EXIT_CARD_REFUSED = 1,
	EXIT_USAGE = 2,		/* also environment: no pcscd, reader, card */
	CLI_CONTINUE = -1,	/* option parsing: go on with the verb */
};

/* What every verb gets: the global options and the transport. */
struct cli {
	const char *reader;	/* --reader: name, part of a name, or index */
	bool json;
	bool verbose;
	unsigned timeout_s;	/* --timeout: bound of each wait on PC/SC, 0 none */
	struct logger log;
	struct ec_pcsc pc;
	const struct verb *verb;	/* the verb running */
};

struct verb {
	const char *name;
	int (*run)(struct cli *cli, int argc, char **argv);
	const char *summary;	/* one line in `ecard --help` */
	const char *usage;	/* `ecard VERB --help` */
};

/*
 * An option of one verb: "--name VALUE" or "--name=VALUE" stores VALUE in
 * *value; a flag (value NULL) sets *flag. A list ends with a NULL name.
 */
struct cli_option {
	const char *name;
	const char **value;
	bool *flag;
};

/* One sentence on standard error, the way every ecard error looks. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Apply an option that every verb accepts (--json, -v, --reader). Returns
 * 1 when argv[*i] was one (having consumed its value), 0 when it is not,
 * or -1 after an error message.
 */
/* The default of --timeout, in seconds. */
#define CLI_DEFAULT_TIMEOUT_S 30u

/* Bound every wait of cli->pc on pcscd, the reader or the card by
 * cli->timeout_s (the watchdog ends the program with a message). */
void cli_watchdog_install(struct cli *cli);

int cli_common_option(struct cli *cli, int argc, char **argv, int *i);

/* A sub-command of a verb: `ecard VERB NAME ...`. */
struct cli_subverb {
	const char *name;
	int (*run)(struct cli *cli, int argc, char **argv);
};

/*
 * Run the sub-command of subs (n of them) that argv[1] names, with argv
 * from it on; --help prints the verb's usage. needs lists the names for
 * the message when argv[1] is none of them. Returns the exit status.
 */
int cli_subverb(struct cli *cli, int argc, char **argv, const struct cli_subverb *subs, size_t n,
		const char *needs);

/*
 * Sort a verb's arguments: common options go to cli, the verb's own
 * options (opts, may be NULL) to their variables, --help prints the verb's
 * usage, and the remaining arguments are moved, in order, to
 * argv[1..*npos]. argv[0] is the verb (or sub-verb) itself. Returns
 * CLI_CONTINUE, or the exit status to end with.
 */
int cli_verb_args(struct cli *cli, int argc, char **argv, const struct cli_option *opts,
		  int *npos);

/* Report a failed transport call in one sentence, naming the reader asked for. */
void cli_transport_error(struct cli *cli, enum ec_status st);

/* Connect to the reader --reader names; returns 0 or the exit status. */
int cli_connect(struct cli *cli);

/* The exit status for a libecard status. */
int cli_exit_status(enum ec_status st);
/* Print err's sentence and return the exit status for it. */
int cli_fail(const struct ec_error *err);

/* A JSON string literal, escaped as RFC 8259 requires. */
void cli_json_string(FILE *f, const char *s);
/* The same for len bytes that may hold NULs. */
void cli_json_bytes(FILE *f, const char *s, size_t len);
/* Bytes as a JSON string of upper-case hex. */
void cli_json_hex(FILE *f, const uint8_t *data, size_t len);
/* Text for a terminal: control characters shown as '?', so a value read
 * from a card cannot move the cursor or change colours. */
void cli_print_safe(FILE *f, const char *s, size_t len);

/*
 * Parse an amount given on the command line in the currency (numeric
 * code); 0, or EXIT_USAGE after an error message naming option.
 */
int cli_parse_amount(const char *option, const char *text, uint16_t currency, uint32_t *minor);
/* Parse --pin-fd's value: an open file descriptor. 0 or EXIT_USAGE. */
int cli_parse_fd(const char *option, const char *text, int *fd);
/* Exactly len bytes of hex; 0 or EXIT_USAGE after naming what. */
int cli_parse_hex(const char *what, const char *text, uint8_t *out, size_t len);
/* A byte in hex ("30", "0x30", "3"): key versions and levels. 0 or EXIT_USAGE. */
int cli_parse_byte(const char *option, const char *text, uint8_t *out);
/* Bytes as lower-case hex, as sha256sum prints a hash; out holds 2*len+1. */
void cli_hex_lower(const uint8_t *data, size_t len, char *out);

/* ---- GlobalPlatform key options (cli_keys.c) ---- */

struct ec_gp_keys;
struct ec_gp_options;

/*
 * Sort the arguments of a verb that opens a GlobalPlatform secure channel,
 * as cli_verb_args() does with extra (the verb's own options, may be NULL),
 * and read the key options every such verb takes:
 *   --key HEX | --key-enc HEX --key-mac HEX --key-dek HEX
 *   --kvn N, --level 00|01|03|11|13|33, --diversify none|emv|visa2|kdf3
 *   (also taken as --kdf, its older spelling), and with_scp: --scp 02|03.
 * opt comes with the verb's defaults (ec_gp_options_init(), its level, its
 * protocol); keys gets the test keys 40..4F when no key is given. The keys'
 * text in argv is overwritten before this returns, whatever it returns.
 * A verb that needs more than the common levels checks that afterwards.
 * Returns CLI_CONTINUE, or the exit status to end with (keys wiped then).
 */
int cli_gp_args(struct cli *cli, int argc, char **argv, const struct cli_option *extra,
		bool with_scp, struct ec_gp_keys *keys, struct ec_gp_options *opt, int *npos);

/*
 * A key set from options named names[0] (one key for ENC, MAC and DEK) or
 * names[1..3] (the three), whose values are texts[0..3] (NULL when not
 * given): 0 with keys->len 0 when none is given, 0 with the keys, or
 * EXIT_USAGE after a message. The texts are overwritten either way; keys
 * are wiped on failure. The key values are never shown.
 */
int cli_gp_key_set(const char *const names[4], const char *const texts[4],
		   struct ec_gp_keys *keys);

/* ---- the verbs, by file ---- */

/* cli_wallet.c */
int verb_balance(struct cli *cli, int argc, char **argv);
int verb_log(struct cli *cli, int argc, char **argv);
int verb_load(struct cli *cli, int argc, char **argv);
int verb_pay(struct cli *cli, int argc, char **argv);
extern const char cli_usage_balance[];
extern const char cli_usage_log[];
extern const char cli_usage_load[];
extern const char cli_usage_pay[];

/* cli_issuer.c */
int verb_issuer(struct cli *cli, int argc, char **argv);
int verb_merchant(struct cli *cli, int argc, char **argv);
extern const char cli_usage_issuer[];
extern const char cli_usage_merchant[];

/* cli_pin.c */
int verb_pin(struct cli *cli, int argc, char **argv);
extern const char cli_usage_pin[];

/* cli_profile.c */
int verb_profile(struct cli *cli, int argc, char **argv);
extern const char cli_usage_profile[];
/* A release policy (never, session, always); 0 or EXIT_USAGE after naming option. */
int cli_parse_policy(const char *option, const char *text, uint8_t *out);

/* cli_cap.c */
int verb_cap(struct cli *cli, int argc, char **argv);
extern const char cli_usage_cap[];

/* cli_agent.c */
int verb_agent(struct cli *cli, int argc, char **argv);
int verb_server(struct cli *cli, int argc, char **argv);
extern const char cli_usage_agent[];
extern const char cli_usage_server[];

/* cli_gp.c */
int verb_gp(struct cli *cli, int argc, char **argv);
extern const char cli_usage_gp[];

#endif
