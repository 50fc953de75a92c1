/*
 * test_ota.c - over the air as an issuer runs it: the real ecard-server,
 * ecard-netfault and `ecard agent` binaries of the build tree, a private
 * pcscd with vpcd and ecard-vcard. Loads and installs at levels 03 and 33
 * with every message recorded and checked against the SERAM schema; a
 * link cut by ecard-netfault at every exchange of a load, in each of four
 * places (before the request, in it, before the answer, in it); the
 * server killed (SIGKILL) at every exchange, before and after it commits,
 * and started again; TLS with a certificate the agent does not trust.
 * Each time the job completes once and the card takes each LOAD block
 * once (the agent counts the ones it relays). Top-ups on a card issued by
 * the server's issuer, cut and killed in the same ways: each credited
 * once, as the card's balance shows.
 */
#include <criterion/criterion.h>

#include <glob.h>
#include <limits.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capgen.h"
#include "control.h"
#include "harness.h"

static const char module_hex[] = "F0454354535401";
static const char instance_hex[] = "F045435453540101";
static const char pkg_hex[] = "F04543545354";

static struct harness h;
static char out[65536];
static char db[200], cap[200], record_dir[200], nf_ctl[200];
static char server_port[16], nf_port[16], card_id[32];
static pid_t server, netfault;

/* ---- the programs ---- */

static int run(const char *program, const char *first, ...)
{
	const char *args[40];
	char prog[256];
	va_list ap;
	int n = 0;

	va_start(ap, first);
	for (const char *a = first; a; a = va_arg(ap, const char *)) {
		cr_assert_lt(n, 39);
		args[n++] = a;
	}
	va_end(ap);
	args[n] = NULL;
	return harness_run(harness_program(program, prog, sizeof(prog)), args, out, sizeof(out));
}

static void read_port(const char *file, char *port, size_t cap_len)
{
	for (int i = 0; i < 200; i++) {
		FILE *f = fopen(file, "r");
		if (f) {
			bool ok = fgets(port, (int)cap_len, f) != NULL;
			fclose(f);
			if (ok) {
				port[strcspn(port, "\n")] = '\0';
				return;
			}
		}
		usleep(20000);
	}
	cr_assert_fail("no port in %s", file);
}

/* ecard-server on server_port (a free one the first time). */
static void start_server(const char *kill, const char *const *extra)
{
	char listen_at[32], port_file[200];
	const char *args[24] = { "serve", "--db", db, "--test-keys", "--listen", listen_at,
				 "--port-file", port_file, "--record", record_dir, "--max-batch",
				 "8192" };
	int n = 12;

	snprintf(listen_at, sizeof(listen_at), "127.0.0.1:%s", server_port[0] ? server_port : "0");
	snprintf(port_file, sizeof(port_file), "%s/server.port", h.dir);
	unlink(port_file);
	for (int i = 0; extra && extra[i]; i++)
		args[n++] = extra[i];
	if (!extra)
		args[n++] = "--insecure-http";
	args[n] = NULL;
	if (kill)
		setenv("ECARD_SERVER_TEST_KILL", kill, 1);
	server = harness_spawn(&h, "ecard-server", args, "server.log");
	unsetenv("ECARD_SERVER_TEST_KILL");
	read_port(port_file, server_port, sizeof(server_port));
}

static void start_netfault(void)
{
	char connect_to[32], port_file[200];
	snprintf(connect_to, sizeof(connect_to), "127.0.0.1:%s", server_port);
	snprintf(port_file, sizeof(port_file), "%s/nf.port", h.dir);
	snprintf(nf_ctl, sizeof(nf_ctl), "%s/nf.sock", h.dir);
	const char *args[] = { "--listen", "127.0.0.1:0", "--connect", connect_to, "--control",
			       nf_ctl, "--port-file", port_file, NULL };
	netfault = harness_spawn(&h, "ecard-netfault", args, "netfault.log");
	read_port(port_file, nf_port, sizeof(nf_port));
}

static long nf_value(const char *cmd, const char *key)
{
	char reply[256];
	cr_assert_eq(control_request(nf_ctl, cmd, reply, sizeof(reply)), 0);
	const char *p = strstr(reply, key);
	cr_assert(strncmp(reply, "ok", 2) == 0, "netfault: %s: %s", cmd, reply);
	return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

static long json_value(const char *text, const char *key)
{
	char pattern[64];
	snprintf(pattern, sizeof(pattern), "\"%s\": ", key);
	const char *p = strstr(text, pattern);
	return p ? strtol(p + strlen(pattern), NULL, 10) : -1;
}

/* ecard agent through url; its JSON summary in out. */
static int agent(const char *url)
{
	return run("ecard", "--reader", h.reader, "agent", "--server", url, "--retry", "60",
		   "--json", NULL);
}

static void url_of(const char *port, char *url, size_t len)
{
	snprintf(url, len, "http://127.0.0.1:%s", port);
}

static void start_card_and_pcscd(void);

static void setup(void)
{
	harness_init(&h);
	start_card_and_pcscd();
}

/* A card issued by h.issuer (its wallet personalized, its own keys). */
static void setup_issued(void)
{
	harness_init_issuer(&h);
	start_card_and_pcscd();
}

static void start_card_and_pcscd(void)
{
	harness_start_pcscd(&h);
	harness_start_vcard(&h, NULL);
	cr_assert(harness_wait_card(&h, true, 5000), "the card is in");
	snprintf(db, sizeof(db), "sqlite:%s/ota.db", h.dir);
	snprintf(cap, sizeof(cap), "%s/app.cap", h.dir);
	snprintf(record_dir, sizeof(record_dir), "%s/messages", h.dir);
	mkdir(record_dir, 0700);
	server_port[0] = '\0';
}

static void teardown(void)
{
	harness_stop(&h);
}

TestSuite(ota_it, .init = setup, .fini = teardown, .timeout = 900);

static void make_cap(size_t size)
{
	static const uint8_t pkg[] = { 0xF0, 0x45, 0x43, 0x54, 0x53, 0x54 };
	static const uint8_t module[] = { 0xF0, 0x45, 0x43, 0x54, 0x53, 0x54, 0x01 };
	struct capgen_applet app = { module, sizeof(module) };
	struct capgen_spec spec = { .package_aid = pkg, .package_aid_len = sizeof(pkg),
				    .version_major = 1, .applets = &app, .applet_count = 1,
				    .target_size = size };
	cr_assert_eq(capgen_write_spec(&spec, cap), 0);
}

/* The card's identity, from an agent run with nothing to do. */
static void learn_card(const char *url)
{
	cr_assert_eq(agent(url), 0, "%s", out);
	const char *p = strstr(out, "\"card\": \"");
	cr_assert_not_null(p, "%s", out);
	snprintf(card_id, sizeof(card_id), "%.8s", p + 9);
}

static long queue(const char *level, bool install)
{
	int rc = install ? run("ecard-server", "job", "add", "--db", db, "--card", card_id, "--level",
			       level, "load-cap", cap, "--install", module_hex, "--instance",
			       instance_hex, NULL)
			 : run("ecard-server", "job", "add", "--db", db, "--card", card_id, "--level",
			       level, "load-cap", cap, NULL);
	cr_assert_eq(rc, 0, "%s", out);
	long id = 0;
	cr_assert_eq(sscanf(out, "job %ld", &id), 1, "%s", out);
	return id;
}

static void queue_delete(void)
{
	cr_assert_eq(run("ecard-server", "job", "add", "--db", db, "--card", card_id, "delete",
			 pkg_hex, NULL), 0, "%s", out);
}

/* The job's record: its state and its number of commands. */
static void job_state(long id, char *state, size_t len, long *commands)
{
	char num[24];
	snprintf(num, sizeof(num), "%ld", id);
	cr_assert_eq(run("ecard-server", "job", "show", num, "--json", "--db", db, NULL), 0, "%s", out);
	const char *p = strstr(out, "\"state\":\"");
	cr_assert_not_null(p, "%s", out);
	snprintf(state, len, "%.*s", (int)strcspn(p + 9, "\""), p + 9);
	p = strstr(out, "\"commands\":");
	*commands = p ? strtol(p + 11, NULL, 10) : -1;
}

static void assert_selectable(void)
{
	cr_assert_eq(run("ecard", "--reader", h.reader, "apdu", "00A4040008F04543545354010100",
			 NULL), 0, "the new application answers SELECT: %s", out);
}

/* ---- tests ---- */

Test(ota_it, load_and_install_at_03_and_33_with_every_message_valid)
{
	char url[64], state[32], script[512];
	long commands;

	start_server(NULL, NULL);
	url_of(server_port, url, sizeof(url));
	learn_card(url);
	make_cap(20000);
	long a = queue("03", true);
	queue_delete();
	long b = queue("33", true);
	cr_assert_eq(agent(url), 0, "%s", out);
	cr_assert_eq(json_value(out, "jobs_done"), 3, "%s", out);
	cr_assert_eq(json_value(out, "sessions"), 1, "%s", out);
	job_state(a, state, sizeof(state), &commands);
	cr_assert_str_eq(state, "done");
	job_state(b, state, sizeof(state), &commands);
	cr_assert_str_eq(state, "done");
	assert_selectable();
	snprintf(script, sizeof(script), "/usr/bin/python3 %s/tests/ota/validate.py %s",
		 getenv("top_srcdir") ? getenv("top_srcdir") : ".", record_dir);
	cr_assert_eq(system(script), 0, "every message fits the SERAM schema");
}

/* One load through the proxy with a cut armed at request `at` of it. */
static bool load_with_cut(long at, const char *kind, long *exchanges)
{
	char url[64], cmd[64], state[32];
	long commands;

	url_of(nf_port, url, sizeof(url));
	long base = nf_value("status", "requests=");
	long cuts = nf_value("status", "cuts=");
	snprintf(cmd, sizeof(cmd), "cut %ld %s", base + at, kind);
	nf_value(cmd, "");
	long id = queue("03", true);
	cr_assert_eq(agent(url), 0, "cut %s at %ld: %s", kind, at, out);
	long blocks = json_value(out, "load_blocks");
	bool was_cut = nf_value("status", "cuts=") > cuts;
	*exchanges = nf_value("status", "requests=") - base;
	job_state(id, state, sizeof(state), &commands);
	cr_assert_str_eq(state, "done", "cut %s at %ld", kind, at);
	cr_assert_eq(blocks, commands - 2, "cut %s at %ld: %ld LOAD commands for %ld blocks", kind,
		     at, blocks, commands - 2);
	assert_selectable();
	nf_value("clear", "");
	queue_delete();
	cr_assert_eq(agent(url), 0, "%s", out);
	return was_cut;
}

Test(ota_it, a_cut_link_at_every_exchange_and_place)
{
	static const char *const kinds[] = { "request", "request-mid", "answer", "answer-mid" };
	char url[64];
	long exchanges = 0, points = 0;

	start_server(NULL, NULL);
	start_netfault();
	url_of(nf_port, url, sizeof(url));
	learn_card(url);
	make_cap(64 * 1024);
	for (size_t k = 0; k < 4; k++) {
		for (long at = 1;; at++) {
			long n;
			if (!load_with_cut(at, kinds[k], &n))
				break;
			points++;
			if (at == 1)
				exchanges = n;
		}
	}
	printf("ota: a 64 KiB load cut at %ld points (each exchange, 4 places), each done once\n",
	       points);
	cr_assert_geq(points, 4 * 10, "%ld cuts", points);
	(void)exchanges;
}

Test(ota_it, the_server_killed_at_every_exchange)
{
	static const char *const when[] = { "before", "after" };
	char url[64], kill[32], state[32];
	long points = 0, commands;

	start_server(NULL, NULL);
	url_of(server_port, url, sizeof(url));
	learn_card(url);
	harness_kill(&h, server, SIGTERM);
	make_cap(24000);
	for (size_t w = 0; w < 2; w++) {
		for (long at = 1;; at++) {
			snprintf(kill, sizeof(kill), "%ld:%s", at, when[w]);
			long id = queue("03", true);
			start_server(kill, NULL);
			const char *args[] = { "--reader", h.reader, "agent", "--server", url, "--retry",
					       "60", "--json", NULL };
			pid_t ag = harness_spawn(&h, "ecard", args, "agent.log");
			/* The server dies at its report `at` (and is started again),
			 * or the load ends first. */
			int srv_rc = INT_MIN, rc = INT_MIN;
			bool killed = false;
			for (int i = 0; i < 6000 && rc == INT_MIN; i++) {
				if (!killed) {
					srv_rc = harness_reap(&h, server, 0);
					if (srv_rc == -SIGKILL) {
						killed = true;
						start_server(NULL, NULL);
					} else {
						cr_assert_eq(srv_rc, INT_MIN, "kill %s: the server ended with %d",
							     kill, srv_rc);
					}
				}
				rc = harness_reap(&h, ag, 20);
			}
			cr_assert_eq(rc, 0, "kill %s: the agent ended with %d", kill, rc);
			job_state(id, state, sizeof(state), &commands);
			cr_assert_str_eq(state, "done", "kill %s", kill);
			assert_selectable();
			/* Clean up with a server that is not armed to die. */
			harness_kill(&h, server, SIGTERM);
			start_server(NULL, NULL);
			queue_delete();
			cr_assert_eq(agent(url), 0, "%s", out);
			harness_kill(&h, server, SIGTERM);
			if (!killed)
				break;
			points++;
		}
	}
	printf("ota: ecard-server killed at %ld points (each report, before and after its commit), each load done once\n",
	       points);
	cr_assert_geq(points, 6);
}

Test(ota_it, https_with_a_certificate_the_agent_does_not_trust_is_refused)
{
	char certs[200], cert[240], key[240], ca[240], other[240], script[600], url[64], state[32];
	long commands;

	snprintf(certs, sizeof(certs), "%s/certs", h.dir);
	mkdir(certs, 0700);
	snprintf(script, sizeof(script), "sh %s/tests/ota/mkcerts.sh %s",
		 getenv("top_srcdir") ? getenv("top_srcdir") : ".", certs);
	cr_assert_eq(system(script), 0, "openssl made the certificates");
	snprintf(cert, sizeof(cert), "%s/server.pem", certs);
	snprintf(key, sizeof(key), "%s/server.key", certs);
	snprintf(ca, sizeof(ca), "%s/ca.pem", certs);
	snprintf(other, sizeof(other), "%s/other-ca.pem", certs);
	const char *tls[] = { "--cert", cert, "--key", key, NULL };
	start_server(NULL, tls);
	snprintf(url, sizeof(url), "https://127.0.0.1:%s", server_port);

	/* Trusting another CA: refused at once, not retried for minutes. */
	int rc = run("ecard", "--reader", h.reader, "agent", "--server", url, "--ca", other, "--json",
		     NULL);
	cr_assert_eq(rc, 2, "%s", out);
	cr_assert(strstr(out, "TLS") || strstr(out, "certificate"), "%s", out);
	cr_assert_eq(json_value(out, "exchanges"), 0, "%s", out);
	/* Plain HTTP to an HTTPS server: no answer that is SERAM. */
	char plain[64];
	snprintf(plain, sizeof(plain), "http://127.0.0.1:%s", server_port);
	rc = run("ecard", "--reader", h.reader, "agent", "--server", plain, "--retry", "2", "--json",
		 NULL);
	cr_assert_eq(rc, 2, "%s", out);

	/* The right CA: the job runs. */
	rc = run("ecard", "--reader", h.reader, "agent", "--server", url, "--ca", ca, "--json", NULL);
	cr_assert_eq(rc, 0, "%s", out);
	const char *p = strstr(out, "\"card\": \"");
	cr_assert_not_null(p, "%s", out);
	snprintf(card_id, sizeof(card_id), "%.8s", p + 9);
	make_cap(8000);
	long id = queue("33", true);
	rc = run("ecard", "--reader", h.reader, "agent", "--server", url, "--ca", ca, "--json", NULL);
	cr_assert_eq(rc, 0, "%s", out);
	job_state(id, state, sizeof(state), &commands);
	cr_assert_str_eq(state, "done");
	assert_selectable();
}

/* Two instances on one PostgreSQL: A dies (SIGKILL) in the middle of a
 * load, after committing a report and before answering it; the agent sends
 * that report to B, which answers it from the database: the same session
 * goes on and no block is sent twice. */
Test(ota_it, two_instances_on_postgresql_one_dies_the_other_goes_on)
{
	struct harness_pg pg;
	char port_a[16], port_b[16], urls[160], state[32];
	long commands;

	if (!harness_pg_start(&h, &pg)) {
		cr_assert(getenv("ECARD_REQUIRE_INTEGRATION") == NULL ||
			  strcmp(getenv("ECARD_REQUIRE_INTEGRATION"), "1") != 0,
			  "PostgreSQL is not installed (Debian package postgresql)");
		cr_skip_test("PostgreSQL is not installed (Debian package postgresql)");
	}
	snprintf(db, sizeof(db), "%s", pg.url);
	cr_assert_eq(run("ecard-server", "migrate", "--db", db, NULL), 0, "%s", out);
	start_server(NULL, NULL);	/* B */
	snprintf(port_b, sizeof(port_b), "%s", server_port);
	pid_t b = server;
	server_port[0] = '\0';
	start_server("5:after", NULL);	/* A */
	snprintf(port_a, sizeof(port_a), "%s", server_port);
	pid_t a = server;

	snprintf(urls, sizeof(urls), "http://127.0.0.1:%s", port_b);
	learn_card(urls);
	make_cap(64 * 1024);
	long id = queue("03", true);
	snprintf(urls, sizeof(urls), "http://127.0.0.1:%s,http://127.0.0.1:%s", port_a, port_b);
	cr_assert_eq(agent(urls), 0, "%s", out);
	static char summary[sizeof(out)];
	memcpy(summary, out, sizeof(out));
	cr_assert_eq(harness_reap(&h, a, 1000), -SIGKILL, "A was killed at its 5th report");
	cr_assert_eq(json_value(summary, "sessions"), 1, "one session, from A to B: %s", summary);
	cr_assert_geq(json_value(summary, "retries"), 1, "%s", summary);
	job_state(id, state, sizeof(state), &commands);
	cr_assert_str_eq(state, "done");
	cr_assert_eq(json_value(summary, "load_blocks"), commands - 2, "no block sent twice: %s",
		     summary);
	assert_selectable();
	printf("ota: PostgreSQL, two instances: A killed mid-load, B finished the same session: %s",
	       strchr(summary, '{') ? strchr(summary, '{') : summary);
	harness_kill(&h, b, SIGTERM);

	/* The SERAM conformance checks and refusals, on PostgreSQL: what the
	 * pipelined store reports at COMMIT (a session id used twice) too. */
	char script[700];
	snprintf(script, sizeof(script),
		 "ECARD_PROTOCOL_DB='%s' /usr/bin/python3 %s/tests/ota/protocol.py %s %s/tests/data/Empty_0102030405_8d5ac9e2_2.2.1.cap >%s/protocol.log 2>&1",
		 pg.url, getenv("top_srcdir") ? getenv("top_srcdir") : ".",
		 getenv("top_builddir") ? getenv("top_builddir") : ".",
		 getenv("top_srcdir") ? getenv("top_srcdir") : ".", h.dir);
	cr_assert_eq(system(script), 0, "the protocol checks on PostgreSQL (see %s/protocol.log)", h.dir);
	harness_pg_stop(&h, &pg);
}

/* ---- top-up, with a card issued by the server's issuer ---- */

static long card_balance(void)
{
	cr_assert_eq(run("ecard", "--reader", h.reader, "balance", "--json", NULL), 0, "%s", out);
	return json_value(out, "balance_minor");
}

static long queue_topup(const char *amount)
{
	cr_assert_eq(run("ecard-server", "job", "add", "--db", db, "--card", card_id, "top-up", amount,
			 "--from", "bank:holder", NULL), 0, "%s", out);
	long id = 0;
	cr_assert_eq(sscanf(out, "job %ld", &id), 1, "%s", out);
	return id;
}

/*
 * 10.00 at a time through ecard-netfault, the link cut at each exchange of
 * the session in each place, and ecard-server SIGKILLed at each report
 * before and after its commit: each top-up is credited exactly once, on
 * the database in db.
 */
static void cut_and_kill_topups(const char *store)
{
	static const char *const kinds[] = { "request", "request-mid", "answer", "answer-mid" };
	const char *issuer_args[] = { "--issuer", h.issuer, "--insecure-http", NULL };
	char url[64], state[32], cmd[64], kill[32];
	long commands, expected = 0, cuts = 0, kills = 0;

	start_server(NULL, issuer_args);
	start_netfault();
	url_of(nf_port, url, sizeof(url));
	learn_card(url);
	cr_assert_eq(card_balance(), 0);
	cr_assert_eq(run("ecard-server", "ledger", "deposit", "bank:holder", "50000", "--db", db, NULL), 0,
		     "%s", out);
	for (size_t k = 0; k < 4; k++) {
		for (long at = 1;; at++) {
			long base = nf_value("status", "requests=");
			long before = nf_value("status", "cuts=");
			snprintf(cmd, sizeof(cmd), "cut %ld %s", base + at, kinds[k]);
			nf_value(cmd, "");
			long id = queue_topup("10.00");
			cr_assert_eq(agent(url), 0, "cut %s at %ld: %s", kinds[k], at, out);
			job_state(id, state, sizeof(state), &commands);
			cr_assert_str_eq(state, "done", "cut %s at %ld", kinds[k], at);
			expected += 1000;
			cr_assert_eq(card_balance(), expected, "cut %s at %ld", kinds[k], at);
			bool was_cut = nf_value("status", "cuts=") > before;
			nf_value("clear", "");
			if (!was_cut)
				break;
			cuts++;
		}
	}
	harness_kill(&h, server, SIGTERM);
	url_of(server_port, url, sizeof(url));
	for (int w = 0; w < 2; w++) {
		for (long at = 1;; at++) {
			snprintf(kill, sizeof(kill), "%ld:%s", at, w ? "after" : "before");
			long id = queue_topup("10.00");
			start_server(kill, issuer_args);
			const char *args[] = { "--reader", h.reader, "agent", "--server", url, "--retry",
					       "60", "--json", NULL };
			pid_t ag = harness_spawn(&h, "ecard", args, "agent.log");
			int rc = INT_MIN;
			bool killed = false;
			for (int i = 0; i < 3000 && rc == INT_MIN; i++) {
				if (!killed && harness_reap(&h, server, 0) == -SIGKILL) {
					killed = true;
					start_server(NULL, issuer_args);
				}
				rc = harness_reap(&h, ag, 20);
			}
			cr_assert_eq(rc, 0, "kill %s: the agent ended with %d", kill, rc);
			job_state(id, state, sizeof(state), &commands);
			cr_assert_str_eq(state, "done", "kill %s", kill);
			expected += 1000;
			cr_assert_eq(card_balance(), expected, "kill %s", kill);
			harness_kill(&h, server, SIGTERM);
			if (!killed)
				break;
			kills++;
		}
	}
	/* The books balance, and the bank paid exactly what the card holds. */
	cr_assert_eq(run("ecard-server", "ledger", "list", "--json", "--db", db, NULL), 0, "%s", out);
	const char *bank = strstr(out, "\"bank:holder\"");
	cr_assert_not_null(bank, "%s", out);
	cr_assert_eq(strtol(strstr(bank, "\"balance\":") + 10, NULL, 10), 50000 - expected, "%s", out);
	cr_assert_eq(run("ecard-server", "ledger", "list", "--db", db, NULL), 0, "the books balance: %s",
		     out);
	printf("ota: top-ups on %s cut at %ld points and the server killed at %ld, each credited once (balance %ld.%02ld), the books balanced\n",
	       store, cuts, kills, expected / 100, expected % 100);
	cr_assert_geq(cuts, 8);
	cr_assert_geq(kills, 4);
}

Test(ota_topup_it, cut_and_killed_at_every_step_credited_once, .init = setup_issued,
     .fini = teardown, .timeout = 600)
{
	cut_and_kill_topups("SQLite");
}

Test(ota_topup_it, cut_and_killed_at_every_step_credited_once_on_postgresql, .init = setup_issued,
     .fini = teardown, .timeout = 600)
{
	struct harness_pg pg;

	if (!harness_pg_start(&h, &pg)) {
		if (getenv("ECARD_REQUIRE_INTEGRATION") &&
		    strcmp(getenv("ECARD_REQUIRE_INTEGRATION"), "1") == 0)
			cr_assert_fail("PostgreSQL is not installed (Debian package postgresql)");
		cr_skip_test("PostgreSQL is not installed (Debian package postgresql)");
	}
	snprintf(db, sizeof(db), "%s", pg.url);
	cr_assert_eq(run("ecard-server", "migrate", "--db", db, NULL), 0, "%s", out);
	cut_and_kill_topups("PostgreSQL");
	harness_pg_stop(&h, &pg);
}
