/*
 * cli_agent.c - `ecard agent`, the GP SERAM local agent next to the card
 * (agent.h), and `ecard server`, which runs ecard-server.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "agent_listen.h"
#include "cli.h"
#include "port_file.h"

const char cli_usage_agent[] =
	"usage: ecard agent --server URL[,URL...] [--ca FILE] [--reader NAME|INDEX]\n"
	"                   [--watch [--interval SECONDS]] [--retry SECONDS] [--json] [-v]\n"
	"       ecard agent --listen ADDR:PORT --allow-origin ORIGIN[,ORIGIN...]\n"
	"                   [--pinentry PROGRAM] [--port-file FILE] [--ca FILE] [--reader NAME|INDEX]\n"
	"\n"
	"Present the card to the issuer's server and relay what it sends: the\n"
	"server (ecard-server, or any GP SERAM remote agent) runs the jobs it holds\n"
	"for this card over a secure channel of its own; this agent sees no key\n"
	"and only passes APDUs on. One session, then exit; --watch starts a new\n"
	"session every --interval seconds (60) and runs until stopped.\n"
	"\n"
	"  --server URL[,URL]  the server's base URL (https://host:port, or .../gp/seram);\n"
	"                      with several, the next is tried when one fails\n"
	"  --ca FILE           the CA certificates that sign the server's certificate\n"
	"  --retry SECONDS     how long to keep trying an unreachable server (300)\n"
	"\n"
	"A cut connection is retried with a new session for the same card; the\n"
	"server then asks the card where it stands and sends only what is missing.\n"
	"A progress line shows the job's commands relayed, its LOAD blocks and the\n"
	"rate; the last line sums up the HTTP exchanges.\n"
	"\n"
	"Exit status: 0 every job done (or none waiting), 1 a job failed or the\n"
	"card kept failing, 2 the server could not be reached or answered wrongly.\n"
	"\n"
	"With --listen, the agent waits for the pages of the sites --allow-origin\n"
	"names (https://shop.example, with :PORT when not the scheme's), on\n"
	"loopback only (127.0.0.1:8855 is where ecard-shop's pages look): a page\n"
	"hands it a payment session of its own site, or asks for details from the\n"
	"card's profile (\"fill from card\"). The holder is asked through the\n"
	"pinentry program (--pinentry, default pinentry): once per site whether it\n"
	"may use the card, for each payment the PIN with the amount and merchant\n"
	"the card will sign, for each form which details to give. The PIN goes to\n"
	"the card only; nothing is kept. Runs until stopped.\n"
	"\n"
	"example: ecard agent --server https://issuer.example:8443 --ca issuer-ca.pem\n"
	"         ecard agent --listen 127.0.0.1:8855 --allow-origin https://shop.example\n";

const char cli_usage_server[] =
	"usage: ecard server COMMAND [OPTIONS]\n"
	"\n"
	"Run ecard-server with these arguments (serve, job add|list|show|cancel,\n"
	"migrate): \"ecard server --help\" is \"ecard-server --help\".\n";

struct progress_state {
	bool tty;
	bool verbose;
	double last;
	bool pending_newline;
	size_t shown;		/* commands relayed when last shown */
};

static void on_progress(void *arg, const struct ec_agent_progress *p)
{
	struct progress_state *ps = arg;

	if (!p->job || p->relayed == ps->shown ||
	    (!ps->tty && p->seconds - ps->last < 2.0 && p->load_blocks < p->blocks))
		return;
	ps->last = p->seconds;
	ps->shown = p->relayed;
	double rate = p->seconds > 0 ? (double)p->bytes / 1024.0 / p->seconds : 0;
	if (p->blocks)
		fprintf(stderr, "%sagent: job %lld %s: LOAD blocks %zu/%zu, %zu commands, %.1f KiB/s%s",
			ps->tty ? "\r" : "", p->job, p->kind, p->load_blocks, p->blocks, p->relayed, rate,
			ps->tty ? "   " : "\n");
	else
		fprintf(stderr, "%sagent: job %lld %s: %zu commands, %.1f KiB/s%s", ps->tty ? "\r" : "",
			p->job, p->kind, p->relayed, rate, ps->tty ? "   " : "\n");
	ps->pending_newline = ps->tty;
}

static void on_notify(void *arg, const char *text)
{
	struct progress_state *ps = arg;
	if (!ps->verbose && strncmp(text, "job/", 4) == 0)
		return;
	if (ps->pending_newline)
		fputc('\n', stderr);
	ps->pending_newline = false;
	fprintf(stderr, "agent: server says: %s\n", text);
}

static bool split_servers(char *list, struct ec_agent_options *opt)
{
	for (char *s = strtok(list, ","); s; s = strtok(NULL, ",")) {
		if (opt->nservers == EC_AGENT_SERVERS_MAX)
			return false;
		if (strncmp(s, "https://", 8) != 0 && strncmp(s, "http://", 7) != 0)
			return false;
		opt->servers[opt->nservers++] = s;
	}
	return opt->nservers > 0;
}

static bool seconds(const char *text, long lo, long hi, long *out)
{
	char *end;
	long v = strtol(text, &end, 10);
	if (!*text || *end || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

static void print_summary(struct cli *cli, const struct ec_agent_stats *s, enum ec_status st,
			  const struct ec_error *err)
{
	if (cli->json) {
		printf("{\"card\": \"%s\", \"ok\": %s, \"sessions\": %zu, \"exchanges\": %zu, "
		       "\"retries\": %zu, \"apdus\": %zu, \"load_blocks\": %zu, \"jobs_done\": %zu, "
		       "\"jobs_failed\": %zu, \"seconds\": %.3f}\n",
		       s->card, st == EC_OK ? "true" : "false", s->sessions, s->exchanges, s->retries,
		       s->apdus, s->load_blocks, s->jobs_done, s->jobs_failed, s->seconds);
		return;
	}
	(void)err;
	fprintf(stderr,
		"agent: card %s: %zu job%s done, %zu failed; %zu session%s, %zu HTTP exchanges (%zu retried), %zu APDUs (%zu LOAD blocks) in %.2f s\n",
		s->card, s->jobs_done, s->jobs_done == 1 ? "" : "s", s->jobs_failed, s->sessions,
		s->sessions == 1 ? "" : "s", s->exchanges, s->retries, s->apdus, s->load_blocks,
		s->seconds);
}

static volatile sig_atomic_t listening;

static void stop_listening(int sig)
{
	(void)sig;
	listening = 0;
}

/*
 * For tests of a link that breaks between the agent and a shop:
 * ECARD_AGENT_TEST_CUT=N:before|after loses the N-th message of the next
 * session (its request before it reaches the server, or the server's
 * answer), once.
 */
struct test_cut {
	size_t at;
	bool answered, done;
};

static bool test_cut(void *arg, size_t exchange, bool answered)
{
	struct test_cut *c = arg;
	if (c->done || exchange != c->at || answered != c->answered)
		return false;
	c->done = true;
	fprintf(stderr, "agent: ECARD_AGENT_TEST_CUT: message %zu lost %s\n", exchange,
		answered ? "after the server answered" : "before it reached the server");
	return true;
}

/* ecard agent --listen: answer the allowed sites' pages until stopped. */
static int listen_for_pages(struct cli *cli, const char *where, const char *origins,
			    const char *pinentry, const char *port_file, const char *ca)
{
	struct ec_listen_options lo = { .ca_file = ca, .pc = &cli->pc };
	char addr[128], *list = strdup(origins ? origins : "");
	struct ec_listener *l;
	struct ec_error err = { 0 };

	snprintf(addr, sizeof(addr), "%s", where);
	if (!listen_parse(addr, &lo.host, &lo.port)) {
		free(list);
		cli_error("--listen takes ADDR:PORT on loopback, e.g. 127.0.0.1:8855.");
		return EXIT_USAGE;
	}
	for (char *o = list ? strtok(list, ",") : NULL; o; o = strtok(NULL, ",")) {
		if (lo.norigins == EC_LISTEN_ORIGINS_MAX || !ec_listen_origin_ok(o)) {
			cli_error("--allow-origin takes up to %d origins (https://shop.example[:PORT]), separated by commas.",
				  EC_LISTEN_ORIGINS_MAX);
			free(list);
			return EXIT_USAGE;
		}
		lo.origins[lo.norigins++] = o;
	}
	if (lo.norigins == 0) {
		free(list);
		cli_error("--listen needs --allow-origin: the sites whose pages may use the card.");
		return EXIT_USAGE;
	}
	lo.pinentry.program = pinentry;
	static struct test_cut cut;
	const char *cut_text = getenv("ECARD_AGENT_TEST_CUT");
	if (cut_text) {
		char when[16] = "";
		unsigned long at = 0;
		if (sscanf(cut_text, "%lu:%15s", &at, when) != 2 || at == 0 ||
		    (strcmp(when, "before") != 0 && strcmp(when, "after") != 0)) {
			free(list);
			cli_error("ECARD_AGENT_TEST_CUT takes N:before or N:after.");
			return EXIT_USAGE;
		}
		cut = (struct test_cut){ .at = at, .answered = strcmp(when, "after") == 0 };
		lo.cut = test_cut;
		lo.cut_arg = &cut;
	}
	int r = cli_connect(cli);
	if (r != 0) {
		free(list);
		return r;
	}
	if (ec_listen_start(&lo, &l, &err) != EC_OK) {
		free(list);
		return cli_fail(&err);
	}
	fprintf(stderr, "agent: listening on %s port %u for the pages of %zu site%s\n", lo.host,
		(unsigned)ec_listen_port(l), lo.norigins, lo.norigins == 1 ? "" : "s");
	if (port_file && port_file_write(port_file, ec_listen_port(l)) != 0) {
		ec_listen_stop(l);
		free(list);
		cli_error("%s could not be written: %s.", port_file, strerror(errno));
		return EXIT_USAGE;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = stop_listening;
	listening = 1;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	while (listening)
		pause();
	ec_listen_stop(l);
	free(list);
	fprintf(stderr, "agent: stopped\n");
	return EXIT_SUCCESS;
}

int verb_agent(struct cli *cli, int argc, char **argv)
{
	const char *server = NULL, *ca = NULL, *interval_text = NULL, *retry_text = NULL;
	const char *listen_at = NULL, *origins = NULL, *pinentry = NULL, *port_file = NULL;
	bool watch = false;
	const struct cli_option opts[] = {
		{ "--server", &server, NULL },
		{ "--ca", &ca, NULL },
		{ "--watch", NULL, &watch },
		{ "--interval", &interval_text, NULL },
		{ "--retry", &retry_text, NULL },
		{ "--listen", &listen_at, NULL },
		{ "--allow-origin", &origins, NULL },
		{ "--pinentry", &pinentry, NULL },
		{ "--port-file", &port_file, NULL },
		{ NULL, NULL, NULL },
	};
	struct ec_agent_options opt;
	struct progress_state ps = { .tty = isatty(STDERR_FILENO) == 1 };
	long interval = 60;
	int npos;

	int r = cli_verb_args(cli, argc, argv, opts, &npos);
	if (r != CLI_CONTINUE)
		return r;
	if (npos != 0) {
		cli_error("\"ecard agent\" takes no arguments: run \"ecard agent --help\".");
		return EXIT_USAGE;
	}
	if (ca && access(ca, R_OK) != 0) {
		cli_error("the CA file %s cannot be read: %s.", ca, strerror(errno));
		return EXIT_USAGE;
	}
	if (listen_at) {
		if (server || watch) {
			cli_error("--listen answers pages; --server and --watch go without it.");
			return EXIT_USAGE;
		}
		return listen_for_pages(cli, listen_at, origins, pinentry, port_file, ca);
	}
	if (origins || pinentry || port_file) {
		cli_error("--allow-origin, --pinentry and --port-file go with --listen.");
		return EXIT_USAGE;
	}
	memset(&opt, 0, sizeof(opt));
	char *list = server ? strdup(server) : NULL;
	if (!list || !split_servers(list, &opt)) {
		free(list);
		cli_error("--server takes one to %d URLs (https://HOST:PORT or http://...), separated by commas.",
			  EC_AGENT_SERVERS_MAX);
		return EXIT_USAGE;
	}
	if (interval_text && (!watch || !seconds(interval_text, 1, 86400, &interval))) {
		free(list);
		cli_error("--interval takes 1 to 86400 seconds, with --watch.");
		return EXIT_USAGE;
	}
	if (retry_text && !seconds(retry_text, 1, 86400, &opt.retry_s)) {
		free(list);
		cli_error("--retry takes 1 to 86400 seconds.");
		return EXIT_USAGE;
	}
	opt.ca_file = ca;
	opt.card_retries = 3;
	ps.verbose = cli->verbose;
	opt.progress = on_progress;
	opt.progress_arg = &ps;
	opt.notify = on_notify;
	opt.notify_arg = &ps;
	r = cli_connect(cli);
	if (r != 0) {
		free(list);
		return r;
	}
	int status;
	for (;;) {
		struct ec_agent_stats stats;
		struct ec_error err = { 0 };
		enum ec_status st = ec_agent_run(&cli->pc, &opt, &stats, &err);
		if (ps.pending_newline)
			fputc('\n', stderr);
		ps.pending_newline = false;
		print_summary(cli, &stats, st, &err);
		status = st == EC_OK ? EXIT_SUCCESS : cli_fail(&err);
		if (st == EC_ERR_NETWORK || st == EC_ERR_FORMAT || st == EC_ERR_CHECK)
			status = EXIT_USAGE;
		if (!watch)
			break;
		struct timespec ts = { interval, 0 };
		nanosleep(&ts, NULL);
	}
	free(list);
	return status;
}

/* ecard-server next to this program, else on PATH. */
int verb_server(struct cli *cli, int argc, char **argv)
{
	char self[PATH_MAX], path[PATH_MAX + 16];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	(void)cli;
	argv[0] = (char *)"ecard-server";
	if (n > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			snprintf(path, sizeof(path), "%s/ecard-server", self);
			if (access(path, X_OK) == 0)
				execv(path, argv);
			/* In a build tree libtool runs this program from .libs/. */
			size_t len = strlen(self);
			if (len > 6 && strcmp(self + len - 6, "/.libs") == 0) {
				self[len - 6] = '\0';
				snprintf(path, sizeof(path), "%s/ecard-server", self);
				if (access(path, X_OK) == 0)
					execv(path, argv);
			}
		}
	}
	execvp("ecard-server", argv);
	(void)argc;
	cli_error("ecard-server could not be run (%s): is it installed?", strerror(errno));
	return EXIT_USAGE;
}
