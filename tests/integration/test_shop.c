/*
 * test_shop.c - the shop in a real browser: headless Chromium (Debian's
 * chromium and chromium-driver, driven by python3-selenium, in
 * tests/shop/browser.py) against ecard-shop over HTTPS, with a card the
 * issuer personalized behind a private pcscd, `ecard agent --listen`
 * answering the shop's pages with a scripted pinentry, and ecard-server
 * as the issuer that settles the shop's records. A customer browses,
 * searches, fills the delivery address from the card and pays with the
 * PIN (a wrong one first); pays again while the card is pulled out of the
 * reader; a page of another site cannot use the agent; the shop settles
 * with the issuer. The screenshots stay in tests/shop/screenshots of the
 * build directory.
 *
 * Without Chromium, its driver or Selenium the test is skipped, unless
 * ECARD_REQUIRE_INTEGRATION=1 (CI), where it fails.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

static struct harness h;
static char out[65536];

static int run(const char *program, const char *const *args)
{
	char prog[256];
	return harness_run(harness_program(program, prog, sizeof(prog)), args, out, sizeof(out));
}

static void setup(void)
{
	harness_init(&h);
	harness_start_pcscd(&h);
	harness_start_vcard(&h, NULL);
	cr_assert(harness_wait_card(&h, true, 5000), "the card is in");
}

static void teardown(void)
{
	harness_stop(&h);
}

TestSuite(shop_it, .init = setup, .fini = teardown, .timeout = 400);

Test(shop_it, a_customer_in_a_browser_fills_the_address_from_the_card_and_pays_with_the_pin)
{
	char issuer[128], certs[128], cmd[600], cert[160], key[160], ca[160], sdb[160], idb[160];
	char merchant[160], token_file[160], shop_port_file[160], issuer_port_file[160];
	char shop_port[16], issuer_port[16], shop_url[64], issuer_url[64], agent_url[64];
	char listen_shop[] = "127.0.0.1:0", listen_issuer[] = "127.0.0.1:0", agent_at[32];
	char pin_log[160], pin_answers[160], shots[400], agent_log[160];
	const char *top = getenv("top_srcdir") ? getenv("top_srcdir") : ".";
	const char *build = getenv("top_builddir") ? getenv("top_builddir") : ".";

	if (!harness_browser_here()) {
		if (getenv("ECARD_REQUIRE_INTEGRATION") &&
		    strcmp(getenv("ECARD_REQUIRE_INTEGRATION"), "1") == 0)
			cr_assert_fail("chromium, chromium-driver or python3-selenium is missing");
		cr_skip_test("chromium, chromium-driver or python3-selenium is missing");
	}
	/* The issuer, and the card it personalized with the holder's details. */
	snprintf(issuer, sizeof(issuer), "%s/issuer", h.dir);
	const char *init[] = { "issuer", "init", issuer, NULL };
	cr_assert_eq(run("ecard", init), 0, "%s", out);
	const char *perso[] = { "--reader", h.reader, "issuer", "personalize", "--dir", issuer,
				"--forename", "Ada", "--surname", "Lovelace", "--street",
				"12 St James's Square", "--town", "London", "--postcode", "SW1Y 4LE",
				"--email", "ada@example.org", NULL };
	cr_assert_eq(run("ecard", perso), 0, "%s", out);

	snprintf(certs, sizeof(certs), "%s/certs", h.dir);
	mkdir(certs, 0700);
	snprintf(cmd, sizeof(cmd), "sh %s/tests/ota/mkcerts.sh %s", top, certs);
	cr_assert_eq(system(cmd), 0, "openssl made the certificates");
	snprintf(cert, sizeof(cert), "%s/server.pem", certs);
	snprintf(key, sizeof(key), "%s/server.key", certs);
	snprintf(ca, sizeof(ca), "%s/ca.pem", certs);

	/* The issuer's server, where the shop is a merchant. */
	snprintf(idb, sizeof(idb), "sqlite:%s/issuer.db", h.dir);
	snprintf(merchant, sizeof(merchant), "%s/shop.merchant", h.dir);
	const char *onboard[] = { "merchant", "add", "--db", idb, "--issuer", issuer, "--name", "SmartMarket",
				  "--new", merchant, "--id", "534D415254000001", "--json", NULL };
	cr_assert_eq(run("ecard-server", onboard), 0, "%s", out);
	const char *t = strstr(out, "\"token\": \"");
	if (!t)
		t = strstr(out, "\"token\":\"");
	cr_assert_not_null(t, "%s", out);
	t = strchr(t + 8, '"') + 1;
	snprintf(token_file, sizeof(token_file), "%s/token", h.dir);
	FILE *f = fopen(token_file, "w");
	cr_assert_not_null(f);
	fprintf(f, "%.*s\n", (int)strcspn(t, "\""), t);
	fclose(f);
	snprintf(issuer_port_file, sizeof(issuer_port_file), "%s/issuer.port", h.dir);
	const char *iserve[] = { "serve", "--db", idb, "--issuer", issuer, "--listen", listen_issuer,
				 "--port-file", issuer_port_file, "--cert", cert, "--key", key, "--quiet", NULL };
	harness_spawn(&h, "ecard-server", iserve, "issuer.log");
	harness_wait_port_file(issuer_port_file, issuer_port, sizeof(issuer_port));
	snprintf(issuer_url, sizeof(issuer_url), "https://127.0.0.1:%s", issuer_port);

	/* 1000.00 on the card, topped up online: the issuer's books know the
	 * card and what it was loaded with, and settle its purchases. */
	const char *learn[] = { "--reader", h.reader, "agent", "--server", issuer_url, "--ca", ca, "--json", NULL };
	cr_assert_eq(run("ecard", learn), 0, "%s", out);
	const char *id = strstr(out, "\"card\": \"");
	cr_assert_not_null(id, "%s", out);
	char card_id[32];
	snprintf(card_id, sizeof(card_id), "%.*s", (int)strcspn(id + 9, "\""), id + 9);
	const char *topup[] = { "job", "add", "--db", idb, "--card", card_id, "top-up", "1000.00", NULL };
	cr_assert_eq(run("ecard-server", topup), 0, "%s", out);
	cr_assert_eq(run("ecard", learn), 0, "%s", out);
	cr_assert(strstr(out, "\"jobs_done\": 1"), "the card was topped up: %s", out);

	/* The shop, and the holder's agent its pages talk to. */
	unsigned agent_port = (unsigned)harness_free_port();
	snprintf(agent_url, sizeof(agent_url), "http://127.0.0.1:%u", agent_port);
	snprintf(sdb, sizeof(sdb), "sqlite:%s/shop.db", h.dir);
	const char *seed[] = { "seed", "--db", sdb, "--products", "500", NULL };
	cr_assert_eq(run("ecard-shop", seed), 0, "%s", out);
	snprintf(shop_port_file, sizeof(shop_port_file), "%s/shop.port", h.dir);
	/* The shop sends its records to the issuer every second. */
	const char *sserve[] = { "serve", "--db", sdb, "--listen", listen_shop, "--port-file", shop_port_file,
				 "--cert", cert, "--key", key, "--merchant", merchant, "--agent", agent_url,
				 "--settle-to", issuer_url, "--settle-token-file", token_file, "--settle-every", "1",
				 "--ca", ca, NULL };
	harness_spawn(&h, "ecard-shop", sserve, "shop.log");
	harness_wait_port_file(shop_port_file, shop_port, sizeof(shop_port));
	snprintf(shop_url, sizeof(shop_url), "https://127.0.0.1:%s", shop_port);

	snprintf(pin_log, sizeof(pin_log), "%s/pinentry.log", h.dir);
	snprintf(pin_answers, sizeof(pin_answers), "%s/pinentry.answers", h.dir);
	setenv("ECARD_TEST_PINENTRY_LOG", pin_log, 1);
	setenv("ECARD_TEST_PINENTRY_ANSWERS", pin_answers, 1);
	char pinentry[300];
	snprintf(pinentry, sizeof(pinentry), "%s/tests/support/fake-pinentry", build);
	/* The holder's agent is started (and started again) by the browser
	 * script, on that port, for the shop's origin. */
	snprintf(agent_at, sizeof(agent_at), "127.0.0.1:%u", agent_port);
	snprintf(agent_log, sizeof(agent_log), "%s/agent.log", h.dir);

	char ecard[256], shop[256], server[256], vcard[256], script[400];
	harness_program("ecard", ecard, sizeof(ecard));
	harness_program("ecard-shop", shop, sizeof(shop));
	harness_program("ecard-server", server, sizeof(server));
	harness_program("ecard-vcard", vcard, sizeof(vcard));
	snprintf(script, sizeof(script), "%s/tests/shop/browser.py", top);
	snprintf(shots, sizeof(shots), "%s/tests/shop/screenshots", build);
	/* Bounded: the browser and everything it waits for. */
	const char *args[] = { "300", "/usr/bin/python3", script, "--url", shop_url, "--agent", agent_url,
			       "--agent-at", agent_at, "--pinentry", pinentry,
			       "--agent-log", agent_log, "--pin-log", pin_log, "--pin-answers", pin_answers,
			       "--ecard", ecard, "--reader", h.reader, "--vcard", vcard, "--ctl", h.control,
			       "--shop", shop, "--db", sdb, "--server", server, "--issuer-db", idb,
			       "--issuer-url", issuer_url, "--token-file", token_file, "--ca", ca,
			       "--work", h.dir, "--shots", shots, NULL };
	int rc = harness_run("/usr/bin/timeout", args, out, sizeof(out));
	fprintf(stderr, "%s", out);
	cr_assert_eq(rc, 0, "the browser's checks failed (exit %d); screenshots in %s", rc, shots);
	cr_assert(strstr(out, "every check held"), "%s", out);
}

/* The shop's unit tests again, on a PostgreSQL of their own: its text
 * search, baskets, orders and payments, with the same checks. */
Test(shop_it, the_shop_on_postgresql)
{
	struct harness_pg pg;
	char cmd[400];
	const char *build = getenv("top_builddir") ? getenv("top_builddir") : ".";

	if (!harness_pg_start(&h, &pg)) {
		if (getenv("ECARD_REQUIRE_INTEGRATION") &&
		    strcmp(getenv("ECARD_REQUIRE_INTEGRATION"), "1") == 0)
			cr_assert_fail("PostgreSQL is not installed (Debian package postgresql)");
		cr_skip_test("PostgreSQL is not installed (Debian package postgresql)");
	}
	/* A clean environment (this runner's own would make the other one
	 * take itself for one of its workers); Criterion reports on stderr. */
	snprintf(cmd, sizeof(cmd), "env -i PATH=/usr/bin:/bin ECARD_TEST_SHOP_DB=%s %s/tests/unit/server/test_shop --jobs=1 2>&1",
		 pg.url, build);
	const char *args[] = { "-c", cmd, NULL };
	int rc = harness_run("/bin/sh", args, out, sizeof(out));
	harness_pg_stop(&h, &pg);
	const char *summary = strstr(out, "Synthesis");
	fprintf(stderr, "the shop's unit tests on PostgreSQL: %s", summary ? summary : out);
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(summary && strstr(summary, "Failing: 0"), "%s", out);
}
