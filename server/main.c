/*
 * main.c - ecard-server: the issuer's SERAM remote agent (serve) and its
 * job queue (job add|list|show|cancel), on one database.
 *
 * Exit status: 0 success, 1 a job or record refused (no such job, a job
 * that has ended), 2 usage or environment (bad arguments, a database or
 * file that cannot be opened).
 */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "amount.h"
#include "config.h"
#include "db.h"
#include "hex.h"
#include "http.h"
#include "issuer.h"
#include "holders.h"
#include "ledger.h"
#include "ota.h"
#include "port_file.h"
#include "server_cli.h"
#include "store.h"

#define DB_ENV "ECARD_SERVER_DB"

static const char usage_main[] =
	"usage: ecard-server COMMAND [OPTIONS]\n"
	"\n"
	"The issuer's over-the-air card manager: it holds the jobs for each card\n"
	"(load and install a CAP file, delete an application) and runs them\n"
	"through any GP SERAM local agent (\"ecard agent\") next to the card, over\n"
	"a secure channel from this server to the card.\n"
	"\n"
	"commands:\n"
	"  serve      answer agents (GP SERAM HTTP REST binding, JSON)\n"
	"  job        queue, list, show and cancel jobs\n"
	"  ledger     the issuer's books: accounts and deposits\n"
	"  card       the cards the issuer knows: list, show, block, unblock\n"
	"  merchant   onboard merchants and list them\n"
	"  settle     pay merchants for a file of signed debit records\n"
	"  fraud      the fraud report\n"
	"  holder     the issuer centre's accounts: list, make staff\n"
	"  migrate    create the database or bring its schema up to date\n"
	"\n"
	"Every command takes --db sqlite:PATH or --db postgresql://... (default:\n"
	"the environment variable " DB_ENV ").\n"
	"\"ecard-server COMMAND --help\" tells more; --version prints the version.\n"
	"\"ecard server ...\" is the same.\n";

static const char usage_serve[] =
	"usage: ecard-server serve --db URL [--listen ADDR:PORT] (--cert FILE --key FILE | --insecure-http)\n"
	"                          [--issuer DIR] [--test-keys] [--max-batch BYTES[,COMMANDS]]\n"
	"                          [--threads N] [--delay MS] [--port-file FILE] [--quiet]\n"
	"                          [--record DIR] [--long-poll SECONDS] [--signup-bank AMOUNT]\n"
	"\n"
	"  --listen ADDR:PORT   where to listen (default 127.0.0.1:8443; [::1]:PORT for IPv6;\n"
	"                       port 0 picks a free one, written to --port-file)\n"
	"  --cert, --key        the server's certificate and private key (PEM) for HTTPS\n"
	"  --insecure-http      plain HTTP, for tests on loopback only\n"
	"  --issuer DIR         the issuer's key directory (ecard issuer init): cards it\n"
	"                       issued are opened with their own keys (key version 01)\n"
	"  --test-keys          also open cards that still have the public test keys\n"
	"  --max-batch B[,C]    at most B bytes and C commands of APDUs per order\n"
	"                       (default 262144,1024)\n"
	"  --threads N          workers answering handshakes and reports, each with its\n"
	"                       own database connection (2); any free one takes the\n"
	"                       next request, so one waiting on the database holds up\n"
	"                       no other\n"
	"  --delay MS           the delay the agents wait before their next report (0)\n"
	"  --record DIR         write every message and answer to DIR, for debugging\n"
	"  --long-poll SECONDS  hold an agent's poll up to this long (30 at most) when\n"
	"                       its card has no job, so that one queued meanwhile runs\n"
	"                       at once (default 0: answer at once and end the session)\n"
	"  --signup-bank AMOUNT what a new holder's simulated bank account starts with\n"
	"                       (100.00 in the issuer's currency)\n"
	"\n"
	"Endpoints: POST /handshake, POST /remoteManagement (also under /gp/seram/),\n"
	"GET /metrics (Prometheus); the issuer centre's pages under /centre/ (holders\n"
	"sign up, log in, see their cards and top them up; staff onboard merchants,\n"
	"block cards and read the fraud report), POST /api/settlement for merchants'\n"
	"records, GET /api/fraud and GET /api/cards/SERIAL. Stops on SIGINT or SIGTERM.\n";

static const char usage_job[] =
	"usage: ecard-server job add --card SERIAL load-cap FILE.cap [--install AID [--instance AID]] [--level 03|13|33]\n"
	"       ecard-server job add --card SERIAL delete AID [--level 03|13|33]\n"
	"       ecard-server job add --card SERIAL put-keys\n"
	"       ecard-server job add --card SERIAL top-up AMOUNT [--from ACCOUNT]\n"
	"       ecard-server job add --card SERIAL personalize [EMAIL]\n"
	"       ecard-server job list [--card SERIAL] [--json]\n"
	"       ecard-server job show ID [--json]\n"
	"       ecard-server job cancel ID\n"
	"\n"
	"A job waits until the card's agent comes; then the server opens a secure\n"
	"channel (level 03 by default: C-MAC and C-DECRYPTION; 33 adds R-MAC and\n"
	"R-ENC; keys always go at 33) and runs it. put-keys replaces the card's key\n"
	"set with its own (the issuer's, KDF3 from its KDD, version 01; needs the\n"
	"server's --issuer). top-up loads AMOUNT (\"20.00\", \"20.00 EUR\": the issuer's\n"
	"currency) onto the card's wallet online, exactly once: INITIALIZE LOAD, the\n"
	"issuer's S2, CREDIT and the card's receipt S3 (needs --issuer); a top-up\n"
	"whose CREDIT went out unconfirmed cannot be cancelled, only the card ends\n"
	"it. The money comes from the ledger account --from (a bank:NAME; default\n"
	"issuer:grants): held when the job starts, booked to the card when the card\n"
	"proves the credit, given back when the job ends without it. personalize issues\n"
	"a new card (at level 33, needs --issuer): its wallet makes its key pair, which\n"
	"the issuer certifies, and gets its K_load, limits and certificate; its profile\n"
	"the holder's name and address (EMAIL: a holder of the issuer centre, whose\n"
	"card it becomes); its card manager its own keys. SERIAL is the card's identity as its agent gives it (the IC serial\n"
	"number of its CPLC, in hex). All take --db URL.\n";

int fail(const struct ec_error *err, int code)
{
	fprintf(stderr, "ecard-server: %s\n", err->text);
	return code;
}

int usage_error(const char *text, const char *usage)
{
	fprintf(stderr, "ecard-server: %s\n\n%s", text, usage);
	return 2;
}

int open_db(const char *url, struct store **st)
{
	struct ec_error err;

	if (!url)
		url = getenv(DB_ENV);
	if (!url) {
		fprintf(stderr, "ecard-server: no database: give --db sqlite:PATH or --db postgresql://... (or set " DB_ENV ").\n");
		return 2;
	}
	if (store_open(url, st, &err) != EC_OK)
		return fail(&err, 2);
	if (db_migrate(*st, &err) != EC_OK) {
		store_close(*st);
		return fail(&err, 2);
	}
	return 0;
}

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static int cmd_serve(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "listen", required_argument, NULL, 'l' },
		{ "cert", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' },
		{ "insecure-http", no_argument, NULL, 'I' },
		{ "issuer", required_argument, NULL, 'i' },
		{ "test-keys", no_argument, NULL, 'T' },
		{ "max-batch", required_argument, NULL, 'b' },
		{ "threads", required_argument, NULL, 't' },
		{ "delay", required_argument, NULL, 'D' },
		{ "port-file", required_argument, NULL, 'p' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "record", required_argument, NULL, 'r' },
		{ "long-poll", required_argument, NULL, 'L' },
		{ "signup-bank", required_argument, NULL, 'B' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *signup_bank = "100.00";
	struct http_options o;
	struct ec_issuer issuer;
	const char *issuer_dir = NULL, *port_file = NULL;
	char listen_buf[128] = "127.0.0.1:8443";
	struct ec_error err;
	int c;

	memset(&o, 0, sizeof(o));
	o.ota.delay_ms = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		char *end;
		switch (c) {
		case 'd': o.db_url = optarg; break;
		case 'l': snprintf(listen_buf, sizeof(listen_buf), "%s", optarg); break;
		case 'c': o.cert_pem = optarg; break;
		case 'k': o.key_pem = optarg; break;
		case 'I': o.insecure = true; break;
		case 'i': issuer_dir = optarg; break;
		case 'T': o.ota.test_keys = true; break;
		case 'b': {
			unsigned long bytes = strtoul(optarg, &end, 10), cmds = 0;
			if (*end == ',')
				cmds = strtoul(end + 1, &end, 10);
			if (*end || bytes < 300 || (cmds == 0 && strchr(optarg, ',')))
				return usage_error("--max-batch takes BYTES (300 or more) and optionally ,COMMANDS.", usage_serve);
			o.ota.max_batch_bytes = bytes;
			o.ota.max_batch_commands = cmds;
			break;
		}
		case 't':
			o.threads = (unsigned)strtoul(optarg, &end, 10);
			if (*end || o.threads == 0 || o.threads > 256)
				return usage_error("--threads takes 1 to 256.", usage_serve);
			break;
		case 'D':
			o.ota.delay_ms = strtol(optarg, &end, 10);
			if (*end || o.ota.delay_ms < 0 || o.ota.delay_ms > 60000)
				return usage_error("--delay takes 0 to 60000 milliseconds.", usage_serve);
			break;
		case 'p': port_file = optarg; break;
		case 'q': o.quiet = true; break;
		case 'r': o.record_dir = optarg; break;
		case 'L': {
			long v = strtol(optarg, &end, 10);
			if (*end || v < 0 || v > 30)
				return usage_error("--long-poll takes 0 to 30 seconds (the binding's bound).", usage_serve);
			o.ota.long_poll_ms = v * 1000;
			break;
		}
		case 'B': signup_bank = optarg; break;
		case 'h': fputs(usage_serve, stdout); return 0;
		default: return usage_error("unknown option.", usage_serve);
		}
	}
	if (optind < argc)
		return usage_error("serve takes no arguments.", usage_serve);
	if (!listen_parse(listen_buf, &o.host, &o.port))
		return usage_error("--listen takes ADDR:PORT, e.g. 127.0.0.1:8443 or [::1]:8443.", usage_serve);
	if (o.insecure && (o.cert_pem || o.key_pem))
		return usage_error("--insecure-http and --cert/--key exclude each other.", usage_serve);
	if (!issuer_dir && !o.ota.test_keys)
		return usage_error("give --issuer DIR (the issuer's keys) or --test-keys.", usage_serve);
	if (!o.db_url)
		o.db_url = getenv(DB_ENV);
	/* The test hook of a server that dies (see http.h). */
	const char *kill_at = getenv("ECARD_SERVER_TEST_KILL");
	if (kill_at) {
		char *end;
		o.kill_at = strtoul(kill_at, &end, 10);
		o.kill_after = strcmp(end, ":after") == 0;
		if (o.kill_at == 0 || (*end && strcmp(end, ":after") != 0 && strcmp(end, ":before") != 0))
			return usage_error("ECARD_SERVER_TEST_KILL takes N:before or N:after.", usage_serve);
	}
	struct store *st;
	int rc = open_db(o.db_url, &st);
	if (rc)
		return rc;
	store_close(st);
	if (issuer_dir) {
		if (ec_issuer_load(issuer_dir, &issuer, &err) != EC_OK)
			return fail(&err, 2);
		o.ota.issuer = &issuer;
		o.web.issuer = &issuer;
		uint32_t minor;
		if (ec_amount_parse(signup_bank, issuer.currency, &minor) != EC_AMOUNT_OK) {
			ec_issuer_wipe(&issuer);
			return usage_error("--signup-bank takes an amount of the issuer's currency (\"100.00\").",
					   usage_serve);
		}
		o.web.signup_bank = minor;
	}
	/* Orders of a few hundred KiB come and go with every report: keep
	 * them in the heap instead of mapping and unmapping them each time
	 * (each unmapping flushes every thread's TLB). */
	mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
	mallopt(M_TRIM_THRESHOLD, 128 * 1024 * 1024);
	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	struct http_server *srv;
	if (http_start(&o, &srv, &err) != EC_OK) {
		if (issuer_dir)
			ec_issuer_wipe(&issuer);
		return fail(&err, 2);
	}
	fprintf(stderr, "ecard-server: listening on %s port %u (%s), database %s\n", o.host,
		(unsigned)http_port(srv), o.insecure ? "plain HTTP" : "HTTPS",
		strncmp(o.db_url, "sqlite:", 7) == 0 ? o.db_url : "postgresql");
	if (port_file) {
		if (port_file_write(port_file, http_port(srv)) != 0) {
			fprintf(stderr, "ecard-server: %s could not be written.\n", port_file);
			http_stop(srv);
			return 2;
		}
	}
	while (!stopping)
		pause();
	http_stop(srv);
	if (issuer_dir)
		ec_issuer_wipe(&issuer);
	fprintf(stderr, "ecard-server: stopped\n");
	return 0;
}

static void print_job(const struct db_job *j, bool json, size_t commands)
{
	if (json) {
		json_t *params = json_loads(j->params ? j->params : "{}", 0, NULL);
		json_t *progress = j->progress ? json_loads(j->progress, 0, NULL) : NULL;
		json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:I, s:I, s:o}",
				      "id", (json_int_t)j->id, "card", j->card, "kind", j->kind, "state",
				      j->state, "params", params ? params : json_object(), "commands",
				      (json_int_t)commands, "confirmed", (json_int_t)j->next_cmd,
				      "sessions", (json_int_t)j->sessions, "exchanges",
				      (json_int_t)j->exchanges, "blocks_sent", (json_int_t)j->blocks_sent,
				      "failures", (json_int_t)j->failures, "message", j->message,
				      "created_ms", (json_int_t)j->created, "updated_ms",
				      (json_int_t)j->updated, "progress", progress ? progress : json_null());
		char *text = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
		if (text)
			puts(text);
		free(text);
		json_decref(o);
		return;
	}
	printf("%-5lld %-10s %-24s %-9s %ld/%zu commands, %ld session%s, %ld exchanges%s%s\n", j->id,
	       j->state, j->card, j->kind, j->next_cmd, commands, j->sessions,
	       j->sessions == 1 ? "" : "s", j->exchanges, j->message[0] ? ": " : "", j->message);
}

static bool parse_aid(const char *text, uint8_t *out, size_t *len)
{
	size_t n = strlen(text);
	if (n == 0 || n % 2 || n / 2 > 16 || hex_decode(text, out, n / 2) != (long)(n / 2))
		return false;
	*len = n / 2;
	return true;
}

static bool parse_level(const char *text, uint8_t *level)
{
	if (strcmp(text, "03") == 0 || strcmp(text, "3") == 0)
		*level = 0x03;
	else if (strcmp(text, "13") == 0)
		*level = 0x13;
	else if (strcmp(text, "33") == 0)
		*level = 0x33;
	else
		return false;
	return true;
}

static int cmd_job(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "card", required_argument, NULL, 'c' },
		{ "install", required_argument, NULL, 'i' },
		{ "instance", required_argument, NULL, 'n' },
		{ "level", required_argument, NULL, 'l' },
		{ "from", required_argument, NULL, 'f' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *db = NULL, *card = NULL, *from = NULL;
	uint8_t install[16], instance[16], level = 0;
	size_t install_len = 0, instance_len = 0;
	bool json = false;
	struct ec_error err;
	int c;

	optind = 1;
	/* "+": options may come anywhere but stop nothing (permute). */
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': db = optarg; break;
		case 'c': card = optarg; break;
		case 'i':
			if (!parse_aid(optarg, install, &install_len))
				return usage_error("--install takes an AID in hex (1 to 16 bytes).", usage_job);
			break;
		case 'n':
			if (!parse_aid(optarg, instance, &instance_len))
				return usage_error("--instance takes an AID in hex (1 to 16 bytes).", usage_job);
			break;
		case 'l':
			if (!parse_level(optarg, &level))
				return usage_error("--level takes 03, 13 or 33.", usage_job);
			break;
		case 'f': from = optarg; break;
		case 'j': json = true; break;
		case 'h': fputs(usage_job, stdout); return 0;
		default: return usage_error("unknown option.", usage_job);
		}
	}
	int nargs = argc - optind;
	char **args = argv + optind;
	if (nargs < 1)
		return usage_error("job needs add, list, show or cancel.", usage_job);
	const char *what = args[0];
	struct store *st;
	int rc;

	if (strcmp(what, "add") == 0) {
		if (!card || !card[0] || strlen(card) > SERAM_SE_ID_MAX)
			return usage_error("add needs --card SERIAL.", usage_job);
		if (nargs == 3 && strcmp(args[1], "load-cap") == 0) {
			if ((rc = open_db(db, &st)))
				return rc;
			struct ota_load_args a = { .cap_path = args[2], .install = install_len ? install : NULL,
						   .install_len = install_len,
						   .instance = instance_len ? instance : NULL,
						   .instance_len = instance_len, .level = level };
			long long id;
			enum ec_status s = ota_add_load(st, card, &a, &id, &err);
			store_close(st);
			if (s != EC_OK)
				return fail(&err, 2);
			printf("job %lld queued for card %s: load %s%s\n", id, card, args[2],
			       install_len ? " and install" : "");
			return 0;
		}
		if (nargs == 3 && strcmp(args[1], "delete") == 0) {
			uint8_t aid[16];
			size_t aid_len;
			if (!parse_aid(args[2], aid, &aid_len))
				return usage_error("delete takes an AID in hex (1 to 16 bytes).", usage_job);
			if ((rc = open_db(db, &st)))
				return rc;
			long long id;
			enum ec_status s = ota_add_delete(st, card, aid, aid_len, level, &id, &err);
			store_close(st);
			if (s != EC_OK)
				return fail(&err, 2);
			printf("job %lld queued for card %s: delete %s\n", id, card, args[2]);
			return 0;
		}
		if (nargs == 2 && strcmp(args[1], "put-keys") == 0) {
			if ((rc = open_db(db, &st)))
				return rc;
			long long id;
			enum ec_status s = ota_add_put_keys(st, card, &id, &err);
			store_close(st);
			if (s != EC_OK)
				return fail(&err, 2);
			printf("job %lld queued for card %s: put its own keys\n", id, card);
			return 0;
		}
		if (nargs == 3 && strcmp(args[1], "top-up") == 0) {
			if ((rc = open_db(db, &st)))
				return rc;
			long long id;
			enum ec_status s = ota_add_topup(st, card, args[2], from, &id, &err);
			store_close(st);
			if (s != EC_OK)
				return fail(&err, 2);
			printf("job %lld queued for card %s: load %s onto its wallet\n", id, card, args[2]);
			return 0;
		}
		if ((nargs == 2 || nargs == 3) && strcmp(args[1], "personalize") == 0) {
			if ((rc = open_db(db, &st)))
				return rc;
			struct holder h = { 0 };
			long long id;
			enum ec_status s = nargs == 3 ? holders_find(st, args[2], &h, &err) : EC_OK;
			if (s == EC_OK)
				s = ota_add_personalize(st, card, h.id, 0, h.name, h.email, &id, &err);
			store_close(st);
			if (s != EC_OK)
				return fail(&err, s == EC_ERR_NOT_FOUND ? 1 : 2);
			printf("job %lld queued for card %s: issue it%s%s\n", id, card,
			       nargs == 3 ? " to " : "", nargs == 3 ? h.email : "");
			return 0;
		}
		return usage_error("add takes load-cap FILE, delete AID, put-keys, top-up AMOUNT or personalize [EMAIL].",
				   usage_job);
	}
	if (strcmp(what, "list") == 0 && nargs == 1) {
		struct db_job *jobs;
		size_t n;
		if ((rc = open_db(db, &st)))
			return rc;
		enum ec_status s = db_job_list(st, card, &jobs, &n, &err);
		if (s != EC_OK) {
			store_close(st);
			return fail(&err, 2);
		}
		if (!json && n == 0)
			printf("no jobs%s%s\n", card ? " for card " : "", card ? card : "");
		for (size_t i = 0; i < n; i++) {
			size_t cmds = 0;
			struct ec_error ignored;
			ota_job_commands(st, &jobs[i], &cmds, &ignored);
			print_job(&jobs[i], json, cmds);
		}
		db_job_list_free(jobs, n);
		store_close(st);
		return 0;
	}
	if ((strcmp(what, "show") == 0 || strcmp(what, "cancel") == 0) && nargs == 2) {
		char *end;
		long long id = strtoll(args[1], &end, 10);
		if (*end || id <= 0)
			return usage_error("a job is named by its number.", usage_job);
		if ((rc = open_db(db, &st)))
			return rc;
		enum ec_status s;
		if (strcmp(what, "cancel") == 0) {
			s = ota_cancel(st, id, &err);
			store_close(st);
			if (s != EC_OK)
				return fail(&err, s == EC_ERR_ARG || s == EC_ERR_NOT_FOUND ? 1 : 2);
			printf("job %lld cancelled\n", id);
			return 0;
		}
		struct db_job j;
		s = db_job_get(st, id, false, &j, &err);
		if (s != EC_OK) {
			store_close(st);
			return fail(&err, s == EC_ERR_NOT_FOUND ? 1 : 2);
		}
		size_t cmds = 0;
		struct ec_error ignored;
		ota_job_commands(st, &j, &cmds, &ignored);
		print_job(&j, json, cmds);
		db_job_free(&j);
		store_close(st);
		return 0;
	}
	return usage_error("job takes add, list, show ID or cancel ID.", usage_job);
}

static const char usage_ledger[] =
	"usage: ecard-server ledger [list] [--json]\n"
	"       ecard-server ledger deposit ACCOUNT AMOUNT\n"
	"\n"
	"The issuer's books, in double entry: every posting sums to zero, so the\n"
	"balances of all accounts add up to zero. list shows each account's balance\n"
	"in minor units of the issuer's currency (--json: one object per line).\n"
	"deposit puts AMOUNT (in minor units, e.g. 10000 for 100.00 EUR) into a\n"
	"holder's simulated bank account, bank:NAME, from world:deposits; top-up\n"
	"jobs then pay from it (job add ... top-up AMOUNT --from bank:NAME). All take\n"
	"--db URL.\n";

static int cmd_ledger(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *db = NULL;
	bool json = false;
	struct ec_error err;
	struct store *st;
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': db = optarg; break;
		case 'j': json = true; break;
		case 'h': fputs(usage_ledger, stdout); return 0;
		default: return usage_error("unknown option.", usage_ledger);
		}
	}
	char **args = argv + optind;
	int nargs = argc - optind;
	if (nargs == 3 && strcmp(args[0], "deposit") == 0) {
		char *end;
		long long amount = strtoll(args[2], &end, 10);
		if (!ledger_name_ok(args[1]) || strncmp(args[1], "bank:", 5) != 0)
			return usage_error("deposit goes to a bank:NAME account.", usage_ledger);
		if (*end || end == args[2] || amount <= 0 || amount > UINT32_MAX)
			return usage_error("deposit takes an amount in minor units, more than zero.",
					   usage_ledger);
		if ((rc = open_db(db, &st)))
			return rc;
		struct ledger_line lines[2] = { { LEDGER_DEPOSITS, -amount }, { args[1], amount } };
		char ref[LEDGER_REF_MAX];
		long long balance = 0;
		char id[SERAM_SESSION_ID_MAX + 1];
		seram_new_session_id(id);
		snprintf(ref, sizeof(ref), "deposit/%s", id);
		enum ec_status s = store_begin(st, &err);
		if (s == EC_OK && (s = ledger_post(st, ref, lines, 2, NULL, &err)) == EC_OK &&
		    (s = ledger_balance(st, args[1], &balance, &err)) == EC_OK)
			s = store_commit(st, &err);
		else if (s != EC_OK)
			store_rollback(st);
		store_close(st);
		if (s != EC_OK)
			return fail(&err, 2);
		printf("%s: %lld deposited, balance %lld\n", args[1], amount, balance);
		return 0;
	}
	if (nargs > 1 || (nargs == 1 && strcmp(args[0], "list") != 0))
		return usage_error("ledger takes list or deposit ACCOUNT AMOUNT.", usage_ledger);
	struct ledger_account *acc;
	size_t n;
	long long sum;
	if ((rc = open_db(db, &st)))
		return rc;
	enum ec_status s = ledger_accounts(st, &acc, &n, &sum, &err);
	store_close(st);
	if (s != EC_OK)
		return fail(&err, 2);
	for (size_t i = 0; i < n; i++) {
		if (json)
			printf("{\"account\":\"%s\",\"balance\":%lld}\n", acc[i].name, acc[i].balance);
		else
			printf("%-40s %14lld\n", acc[i].name, acc[i].balance);
	}
	if (!json)
		printf("%-40s %14lld\n", "(sum: zero when the books balance)", sum);
	free(acc);
	return sum == 0 ? 0 : 1;
}

static int cmd_migrate(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *db = NULL;
	struct store *st;
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'd')
			db = optarg;
		else if (c == 'h') {
			puts("usage: ecard-server migrate --db URL\n\nCreate the database, or bring its schema up to date.");
			return 0;
		} else
			return usage_error("unknown option.", usage_main);
	}
	if ((rc = open_db(db, &st)))
		return rc;
	store_close(st);
	printf("database at schema version %d\n", DB_SCHEMA_VERSION);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage_error("a command is needed.", usage_main);
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(usage_main, stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("ecard-server %s\n", PACKAGE_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "serve") == 0)
		return cmd_serve(argc - 1, argv + 1);
	if (strcmp(argv[1], "job") == 0)
		return cmd_job(argc - 1, argv + 1);
	if (strcmp(argv[1], "ledger") == 0)
		return cmd_ledger(argc - 1, argv + 1);
	if (strcmp(argv[1], "card") == 0)
		return cmd_card(argc - 1, argv + 1);
	if (strcmp(argv[1], "merchant") == 0)
		return cmd_merchant(argc - 1, argv + 1);
	if (strcmp(argv[1], "settle") == 0)
		return cmd_settle(argc - 1, argv + 1);
	if (strcmp(argv[1], "holder") == 0)
		return cmd_holder(argc - 1, argv + 1);
	if (strcmp(argv[1], "fraud") == 0)
		return cmd_fraud(argc - 1, argv + 1);
	if (strcmp(argv[1], "migrate") == 0)
		return cmd_migrate(argc - 1, argv + 1);
	fprintf(stderr, "ecard-server: unknown command \"%s\".\n\n%s", argv[1], usage_main);
	return 2;
}
