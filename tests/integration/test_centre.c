/*
 * test_centre.c - the issuer centre in a real browser: headless Chromium
 * (Debian's chromium and chromium-driver, driven by python3-selenium, in
 * tests/centre/browser.py) against ecard-server over HTTPS, with a new
 * virtual card behind a private pcscd and `ecard agent` relaying for it. A
 * holder signs up and orders a card, staff issue it over the air, the
 * holder tops it up from the bank and reads the history after a purchase
 * was settled. The screenshots stay in tests/centre/screenshots of the
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

TestSuite(centre_it, .init = setup, .fini = teardown, .timeout = 400);

Test(centre_it, a_holder_in_a_browser_gets_a_card_tops_it_up_and_reads_its_history)
{
	char issuer[128], certs[128], cmd[600], cert[160], key[160], ca[160], db[160];
	char listen_at[] = "127.0.0.1:0", port_file[160], port[16] = "", url[64], shots[400];
	const char *top = getenv("top_srcdir") ? getenv("top_srcdir") : ".";
	const char *build = getenv("top_builddir") ? getenv("top_builddir") : ".";

	if (!harness_browser_here()) {
		if (getenv("ECARD_REQUIRE_INTEGRATION") &&
		    strcmp(getenv("ECARD_REQUIRE_INTEGRATION"), "1") == 0)
			cr_assert_fail("chromium, chromium-driver or python3-selenium is missing");
		cr_skip_test("chromium, chromium-driver or python3-selenium is missing");
	}
	snprintf(issuer, sizeof(issuer), "%s/issuer", h.dir);
	const char *init[] = { "issuer", "init", issuer, NULL };
	cr_assert_eq(run("ecard", init), 0, "%s", out);
	snprintf(certs, sizeof(certs), "%s/certs", h.dir);
	mkdir(certs, 0700);
	snprintf(cmd, sizeof(cmd), "sh %s/tests/ota/mkcerts.sh %s", top, certs);
	cr_assert_eq(system(cmd), 0, "openssl made the certificates");
	snprintf(cert, sizeof(cert), "%s/server.pem", certs);
	snprintf(key, sizeof(key), "%s/server.key", certs);
	snprintf(ca, sizeof(ca), "%s/ca.pem", certs);
	snprintf(db, sizeof(db), "sqlite:%s/centre.db", h.dir);
	snprintf(port_file, sizeof(port_file), "%s/server.port", h.dir);
	/* --test-keys: the new card opens with them until it is issued. */
	const char *serve[] = { "serve", "--db", db, "--issuer", issuer, "--test-keys", "--listen",
				listen_at, "--port-file", port_file, "--cert", cert, "--key", key,
				NULL };
	harness_spawn(&h, "ecard-server", serve, "server.log");
	harness_wait_port_file(port_file, port, sizeof(port));
	snprintf(url, sizeof(url), "https://127.0.0.1:%s", port);

	/* The new card's identity, as its agent presents it. */
	const char *learn[] = { "--reader", h.reader, "agent", "--server", url, "--ca", ca, "--json",
				NULL };
	cr_assert_eq(run("ecard", learn), 0, "%s", out);
	const char *p = strstr(out, "\"card\": \"");
	cr_assert_not_null(p, "%s", out);
	char card_id[32];
	snprintf(card_id, sizeof(card_id), "%.*s", (int)strcspn(p + 9, "\""), p + 9);

	char ecard[256], server[256], script[400];
	harness_program("ecard", ecard, sizeof(ecard));
	harness_program("ecard-server", server, sizeof(server));
	snprintf(script, sizeof(script), "%s/tests/centre/browser.py", top);
	snprintf(shots, sizeof(shots), "%s/tests/centre/screenshots", build);
	/* Bounded: the browser and everything it waits for. */
	const char *args[] = { "240", "/usr/bin/python3", script, "--url", url, "--ca", ca, "--db", db,
			       "--ecard", ecard, "--server", server, "--reader", h.reader, "--issuer",
			       issuer, "--card-id", card_id, "--work", h.dir, "--shots", shots, NULL };
	int rc = harness_run("/usr/bin/timeout", args, out, sizeof(out));
	fprintf(stderr, "%s", out);
	cr_assert_eq(rc, 0, "the browser's checks failed (exit %d); screenshots in %s", rc, shots);
	cr_assert(strstr(out, "every check held"), "%s", out);
}
