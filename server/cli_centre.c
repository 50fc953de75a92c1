/*
 * cli_centre.c - ecard-server's commands for the issuer centre's staff:
 * card, merchant, settle and fraud (DESIGN §7).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cards.h"
#include "files.h"
#include "hex.h"
#include "holders.h"
#include "issuer.h"
#include "merchant.h"
#include "server_cli.h"
#include "settle.h"

static const char usage_card[] =
	"usage: ecard-server card list [--json]\n"
	"       ecard-server card show SERIAL [--json]\n"
	"       ecard-server card add SERIAL [--se-id ID] [--certificate HEX] [--holder EMAIL]\n"
	"       ecard-server card block SERIAL\n"
	"       ecard-server card unblock SERIAL\n"
	"\n"
	"The cards the issuer knows, by wallet serial (16 hex digits). Cards come in\n"
	"when they are issued or first topped up over the air; add registers one\n"
	"issued elsewhere (--holder gives it to a holder of the centre). show tells the balance the card last reported, its books\n"
	"(loads - settled purchases) and what is not settled yet (books - balance,\n"
	"never below zero for an honest card). block holds the card's records at\n"
	"settlement and queues a lock job that locks its wallet at its next contact;\n"
	"unblock undoes both. All take --db URL.\n";

static const char usage_merchant[] =
	"usage: ecard-server merchant add --issuer DIR --name NAME --certificate HEX [--json]\n"
	"       ecard-server merchant add --issuer DIR --name NAME --new FILE --id HEX [--json]\n"
	"       ecard-server merchant list [--json]\n"
	"\n"
	"Onboard a merchant: its certificate (of the merchant kind, from this\n"
	"issuer's CA; the certificate= line of a file made by \"ecard merchant init\"),\n"
	"or --new makes that file (the merchant's key pair, mode 600) and onboards it.\n"
	"The merchant's upload token is printed once and kept only as a hash: the\n"
	"merchant sends it as \"Authorization: Bearer TOKEN\" with POST\n"
	"/api/settlement. list shows what each merchant was paid. All take --db URL.\n";

static const char usage_settle[] =
	"usage: ecard-server settle --issuer DIR [--threads N] [--json] FILE\n"
	"\n"
	"Pay merchants for the debit records in FILE, as \"ecard pay --json\" prints\n"
	"them (one a line, a JSON array, or {\"records\": [...]}): each record's card\n"
	"certificate and signature are checked, a record is paid once whatever how\n"
	"often it comes, and what is forged, cloned, of an unknown or blocked card,\n"
	"or spends more than was loaded goes in the fraud report. --threads checks\n"
	"signatures on N threads (default 2). Exit status 0 when every record was\n"
	"paid (now or before), 1 when some were not. Takes --db URL.\n";

static const char usage_holder[] =
	"usage: ecard-server holder list [--json]\n"
	"       ecard-server holder staff EMAIL\n"
	"       ecard-server holder unstaff EMAIL\n"
	"\n"
	"The issuer centre's accounts: holders sign up on its pages (/centre/signup);\n"
	"staff makes an account one of the issuer's staff, who onboard merchants,\n"
	"block cards and read the fraud report there. All take --db URL.\n";

static const char usage_fraud[] =
	"usage: ecard-server fraud [--card SERIAL] [--json]\n"
	"\n"
	"The fraud report: forged records, clones (two records for one counter),\n"
	"records of unknown or blocked cards or spending more than was loaded, cards\n"
	"holding more than their books, and gaps in cards' counters. Exit status 1\n"
	"when it is not empty. Takes --db URL.\n";

enum { OPT_DB = 1, OPT_JSON, OPT_HELP, OPT_ISSUER, OPT_NAME, OPT_CERT, OPT_NEW, OPT_ID,
       OPT_THREADS, OPT_SE_ID, OPT_CARD, OPT_HOLDER };

static const struct option centre_opts[] = {
	{ "db", required_argument, NULL, OPT_DB },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "issuer", required_argument, NULL, OPT_ISSUER },
	{ "name", required_argument, NULL, OPT_NAME },
	{ "certificate", required_argument, NULL, OPT_CERT },
	{ "new", required_argument, NULL, OPT_NEW },
	{ "id", required_argument, NULL, OPT_ID },
	{ "threads", required_argument, NULL, OPT_THREADS },
	{ "se-id", required_argument, NULL, OPT_SE_ID },
	{ "card", required_argument, NULL, OPT_CARD },
	{ "holder", required_argument, NULL, OPT_HOLDER },
	{ NULL, 0, NULL, 0 },
};

struct centre_args {
	const char *db, *issuer, *name, *cert, *new_file, *id, *threads, *se_id, *card, *holder;
	bool json;
	char **rest;
	int nrest;
};

/* 0, -1 for --help (printed), or the exit status of a usage error. */
static int parse(int argc, char **argv, const char *usage, struct centre_args *a)
{
	int c;

	memset(a, 0, sizeof(*a));
	optind = 1;
	while ((c = getopt_long(argc, argv, "", centre_opts, NULL)) != -1) {
		switch (c) {
		case OPT_DB: a->db = optarg; break;
		case OPT_JSON: a->json = true; break;
		case OPT_HELP: fputs(usage, stdout); return -1;
		case OPT_ISSUER: a->issuer = optarg; break;
		case OPT_NAME: a->name = optarg; break;
		case OPT_CERT: a->cert = optarg; break;
		case OPT_NEW: a->new_file = optarg; break;
		case OPT_ID: a->id = optarg; break;
		case OPT_THREADS: a->threads = optarg; break;
		case OPT_SE_ID: a->se_id = optarg; break;
		case OPT_CARD: a->card = optarg; break;
		case OPT_HOLDER: a->holder = optarg; break;
		default: return usage_error("unknown option.", usage);
		}
	}
	a->rest = argv + optind;
	a->nrest = argc - optind;
	return 0;
}

/* Print o on one line, and let it go. */
static void print_json(json_t *o)
{
	char *text = json_dumps(o, JSON_COMPACT);
	puts(text ? text : "{}");
	free(text);
	json_decref(o);
}

/* ---- card ---- */

static void print_card(const struct card_info *c, bool json)
{
	if (json) {
		json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I}", "serial", c->serial,
				      "se_id", c->se_id, "state", c->state, "books_minor",
				      (json_int_t)c->books, "loaded_minor", (json_int_t)c->loaded,
				      "settled_minor", (json_int_t)c->settled, "held_minor",
				      (json_int_t)c->held, "loads", (json_int_t)c->loads, "debits",
				      (json_int_t)c->debits);
		if (c->reported) {
			json_object_set_new(o, "balance_minor", json_integer(c->balance));
			json_object_set_new(o, "counter", json_integer(c->counter));
			if (card_unsettled(c) >= 0)
				json_object_set_new(o, "unsettled_minor", json_integer(card_unsettled(c)));
			json_object_set_new(o, "reported", json_integer(c->reported_at));
		}
		if (c->holder)
			json_object_set_new(o, "holder", json_integer(c->holder));
		print_json(o);
		return;
	}
	printf("%s  %-8s %-10s books %lld", c->serial, c->state, c->se_id[0] ? c->se_id : "-", c->books);
	if (c->reported)
		printf(", card says %lld at counter %lld", c->balance, c->counter);
	if (card_unsettled(c) >= 0)
		printf(", unsettled %lld", card_unsettled(c));
	printf(" (loaded %lld in %lld, settled %lld, held %lld)\n", c->loaded, c->loads, c->settled,
	       c->held);
}

int cmd_card(int argc, char **argv)
{
	struct centre_args a;
	struct ec_error err;
	struct store *st;
	int rc = parse(argc, argv, usage_card, &a);

	if (rc)
		return rc < 0 ? 0 : rc;
	const char *verb = a.nrest ? a.rest[0] : "list";
	const char *serial = a.nrest > 1 ? a.rest[1] : NULL;
	if (strcmp(verb, "list") != 0 && (a.nrest != 2 || !card_serial_ok(serial)))
		return usage_error("give the card's serial: 16 upper-case hex digits.", usage_card);
	if ((rc = open_db(a.db, &st)))
		return rc;
	enum ec_status s = EC_OK;
	if (strcmp(verb, "list") == 0) {
		struct card_info *cards;
		size_t n;
		if ((s = cards_list(st, 0, &cards, &n, &err)) == EC_OK) {
			for (size_t i = 0; i < n; i++)
				print_card(&cards[i], a.json);
			free(cards);
		}
	} else if (strcmp(verb, "show") == 0) {
		struct card_info c;
		if ((s = cards_get(st, serial, &c, &err)) == EC_OK)
			print_card(&c, a.json);
	} else if (strcmp(verb, "add") == 0) {
		uint8_t cert[PURSE_CERT_LEN];
		if (a.cert && hex_decode(a.cert, cert, sizeof(cert)) != (long)sizeof(cert)) {
			store_close(st);
			return usage_error("--certificate takes the card certificate in hex.", usage_card);
		}
		struct holder h = { 0 };
		if (a.holder && (s = holders_find(st, a.holder, &h, &err)) != EC_OK) {
			store_close(st);
			return fail(&err, 1);
		}
		s = cards_add(st, serial, a.se_id, a.cert, h.id, &err);
		if (s == EC_OK)
			printf("card %s known\n", serial);
	} else if (strcmp(verb, "block") == 0 || strcmp(verb, "unblock") == 0) {
		bool block = strcmp(verb, "block") == 0;
		long long job = 0;
		if ((s = store_begin(st, &err)) == EC_OK &&
		    (s = cards_set_blocked(st, serial, block, &job, &err)) == EC_OK)
			s = store_commit(st, &err);
		else if (s != EC_OK)
			store_rollback(st);
		if (s == EC_OK && job)
			printf("card %s %sed; job %lld %ss its wallet at its next contact\n", serial, verb,
			       job, block ? "lock" : "unlock");
		else if (s == EC_OK)
			printf("card %s %sed\n", serial, verb);
	} else {
		store_close(st);
		return usage_error("card takes list, show, add, block or unblock.", usage_card);
	}
	store_close(st);
	if (s != EC_OK)
		return fail(&err, s == EC_ERR_NOT_FOUND ? 1 : 2);
	return 0;
}

/* ---- merchant ---- */

static int merchant_add(const struct centre_args *a, struct store *st)
{
	struct ec_issuer issuer;
	struct ec_error err;
	uint8_t cert[PURSE_CERT_LEN], id[PURSE_ID_LEN];
	char token[2 * SETTLE_TOKEN_LEN + 1], idhex[SETTLE_ID_HEX];

	if (!a->issuer || !a->name || (!a->cert == !a->new_file))
		return usage_error("merchant add needs --issuer, --name, and --certificate or --new.",
				   usage_merchant);
	if (a->cert && hex_decode(a->cert, cert, sizeof(cert)) != (long)sizeof(cert))
		return usage_error("--certificate takes the merchant certificate in hex.", usage_merchant);
	if (a->new_file && (!a->id || hex_decode(a->id, id, sizeof(id)) != (long)sizeof(id)))
		return usage_error("--new needs --id: the merchant id, 8 bytes in hex.", usage_merchant);
	if (ec_issuer_load(a->issuer, &issuer, &err) != EC_OK)
		return fail(&err, 2);
	if (a->new_file) {
		struct ec_merchant m;
		if (ec_merchant_init(&issuer, id, a->new_file, &err) != EC_OK ||
		    ec_merchant_load(a->new_file, &m, &err) != EC_OK) {
			ec_issuer_wipe(&issuer);
			return fail(&err, 2);
		}
		memcpy(cert, m.cert, sizeof(cert));
		ec_merchant_wipe(&m);
	}
	enum ec_status s = settle_merchant_add(st, issuer.ca_pub, a->name, cert, token, &err);
	ec_issuer_wipe(&issuer);
	if (s != EC_OK)
		return fail(&err, s == EC_ERR_EXISTS || s == EC_ERR_CHECK ? 1 : 2);
	hex_encode(cert + PURSE_CERT_ID_OFF, PURSE_ID_LEN, idhex);
	if (a->json) {
		json_t *o = json_pack("{s:s, s:s, s:s}", "id", idhex, "name", a->name, "token", token);
		print_json(o);
	} else {
		printf("merchant %s onboarded\n", idhex);
		printf("upload token %s\n", token);
		printf("(shown once: the merchant sends it as \"Authorization: Bearer TOKEN\")\n");
	}
	return 0;
}

int cmd_merchant(int argc, char **argv)
{
	struct centre_args a;
	struct ec_error err;
	struct store *st;
	int rc = parse(argc, argv, usage_merchant, &a);

	if (rc)
		return rc < 0 ? 0 : rc;
	const char *verb = a.nrest ? a.rest[0] : "list";
	if (a.nrest > 1 || (strcmp(verb, "add") != 0 && strcmp(verb, "list") != 0))
		return usage_error("merchant takes add or list.", usage_merchant);
	if ((rc = open_db(a.db, &st)))
		return rc;
	if (strcmp(verb, "add") == 0) {
		rc = merchant_add(&a, st);
		store_close(st);
		return rc;
	}
	struct settle_merchant *m;
	size_t n;
	enum ec_status s = settle_merchants(st, &m, &n, &err);
	store_close(st);
	if (s != EC_OK)
		return fail(&err, 2);
	for (size_t i = 0; i < n; i++) {
		if (a.json) {
			json_t *o = json_pack("{s:s, s:s, s:I, s:I}", "id", m[i].id, "name", m[i].name,
					      "paid_minor", (json_int_t)m[i].paid, "records",
					      (json_int_t)m[i].records);
			print_json(o);
		} else {
			printf("%s  paid %lld for %lld records  %s\n", m[i].id, m[i].paid, m[i].records,
			       m[i].name);
		}
	}
	free(m);
	return 0;
}

/* ---- settle ---- */

/* Largest file settle reads at once. */
#define SETTLE_FILE_RECORDS 2000000

int cmd_settle(int argc, char **argv)
{
	struct centre_args a;
	struct ec_issuer issuer;
	struct ec_error err;
	struct store *st;
	int rc = parse(argc, argv, usage_settle, &a);

	if (rc)
		return rc < 0 ? 0 : rc;
	if (!a.issuer || a.nrest != 1)
		return usage_error("settle needs --issuer DIR and a file of records.", usage_settle);
	long threads = a.threads ? strtol(a.threads, NULL, 10) : 2;
	if (threads < 1 || threads > 16)
		return usage_error("--threads takes 1 to 16.", usage_settle);
	size_t len;
	char *text = files_read(a.rest[0], &len, &err);
	if (!text)
		return fail(&err, 2);
	struct settle_item *items;
	size_t n;
	enum ec_status s = settle_parse(text, len, SETTLE_FILE_RECORDS, &items, &n, &err);
	free(text);
	if (s != EC_OK)
		return fail(&err, 2);
	if (ec_issuer_load(a.issuer, &issuer, &err) != EC_OK) {
		free(items);
		return fail(&err, 2);
	}
	if ((rc = open_db(a.db, &st))) {
		ec_issuer_wipe(&issuer);
		free(items);
		return rc;
	}
	struct settle_options o = { .ca_pub = issuer.ca_pub, .currency = issuer.currency,
				    .threads = (unsigned)threads };
	struct settle_counts counts;
	fprintf(stderr, "settling %zu records...\n", n);
	s = settle_items(st, &o, items, n, NULL, &counts, &err);
	store_close(st);
	ec_issuer_wipe(&issuer);
	free(items);
	if (s != EC_OK)
		return fail(&err, 2);
	if (a.json) {
		json_t *out = json_pack("{s:I, s:I}", "records", (json_int_t)counts.records,
					"paid_minor", (json_int_t)counts.paid_amount);
		for (int i = 0; i < SETTLE_OUTCOMES; i++)
			json_object_set_new(out, settle_outcome_name((enum settle_outcome)i),
					    json_integer((json_int_t)counts.outcome[i]));
		print_json(out);
	} else {
		printf("%zu records: paid %lld in minor units\n", counts.records, counts.paid_amount);
		for (int i = 0; i < SETTLE_OUTCOMES; i++)
			if (counts.outcome[i])
				printf("  %-18s %zu\n", settle_outcome_name((enum settle_outcome)i),
				       counts.outcome[i]);
	}
	return counts.outcome[SETTLE_PAID] + counts.outcome[SETTLE_DUPLICATE] == counts.records ? 0 : 1;
}

/* ---- fraud ---- */

int cmd_fraud(int argc, char **argv)
{
	struct centre_args a;
	struct ec_error err;
	struct store *st;
	int rc = parse(argc, argv, usage_fraud, &a);

	if (rc)
		return rc < 0 ? 0 : rc;
	if (a.nrest || (a.card && !card_serial_ok(a.card)))
		return usage_error("fraud takes --card SERIAL and --json only.", usage_fraud);
	if ((rc = open_db(a.db, &st)))
		return rc;
	char *json;
	size_t n;
	enum ec_status s = fraud_report(st, a.card, &json, &n, &err);
	store_close(st);
	if (s != EC_OK)
		return fail(&err, 2);
	if (a.json) {
		puts(json);
	} else {
		json_t *list = json_loads(json, 0, NULL);
		size_t i;
		json_t *e;
		json_array_foreach(list, i, e) {
			printf("%-13s %s", json_string_value(json_object_get(e, "kind")),
			       json_is_string(json_object_get(e, "serial"))
				       ? json_string_value(json_object_get(e, "serial"))
				       : "-");
			if (json_is_integer(json_object_get(e, "counter")))
				printf(" #%lld", (long long)json_integer_value(json_object_get(e, "counter")));
			printf(": %s\n", json_string_value(json_object_get(e, "detail")));
		}
		json_decref(list);
		if (n == 0)
			puts("nothing to report");
	}
	free(json);
	return n ? 1 : 0;
}

/* ---- holder ---- */

int cmd_holder(int argc, char **argv)
{
	struct centre_args a;
	struct ec_error err;
	struct store *st;
	int rc = parse(argc, argv, usage_holder, &a);

	if (rc)
		return rc < 0 ? 0 : rc;
	const char *verb = a.nrest ? a.rest[0] : "list";
	bool list = strcmp(verb, "list") == 0;
	if ((list && a.nrest > 1) ||
	    (!list && (a.nrest != 2 || (strcmp(verb, "staff") != 0 && strcmp(verb, "unstaff") != 0))))
		return usage_error("holder takes list, staff EMAIL or unstaff EMAIL.", usage_holder);
	if ((rc = open_db(a.db, &st)))
		return rc;
	if (!list) {
		enum ec_status s = holders_set_staff(st, a.rest[1], strcmp(verb, "staff") == 0, &err);
		store_close(st);
		if (s != EC_OK)
			return fail(&err, s == EC_ERR_NOT_FOUND ? 1 : 2);
		printf("%s is %s\n", a.rest[1], strcmp(verb, "staff") == 0 ? "staff" : "no longer staff");
		return 0;
	}
	struct store_result r;
	enum ec_status s = store_exec(st, "SELECT id, email, name, staff FROM holders ORDER BY id",
				      NULL, 0, &r, &err);
	store_close(st);
	if (s != EC_OK)
		return fail(&err, 2);
	for (size_t i = 0; i < r.rows; i++) {
		const char *id = store_cell(&r, i, 0), *email = store_cell(&r, i, 1);
		const char *name = store_cell(&r, i, 2);
		bool staff = store_cell(&r, i, 3) && strcmp(store_cell(&r, i, 3), "0") != 0;
		if (a.json) {
			json_t *o = json_pack("{s:I, s:s, s:s, s:b}", "id",
					      (json_int_t)strtoll(id ? id : "0", NULL, 10), "email",
					      email ? email : "", "name", name ? name : "", "staff", staff);
			print_json(o);
		} else {
			printf("%6s  %-40s %s%s\n", id ? id : "", email ? email : "", name ? name : "",
			       staff ? "  (staff)" : "");
		}
	}
	store_result_free(&r);
	return 0;
}
