/*
 * test_cli.c - the ecard command line as a user drives it: the real `ecard`
 * and `ecard-vcard` binaries of the build tree, a private pcscd with vpcd,
 * and a card image personalized for an issuer made by `ecard issuer init`.
 *
 * Covered: issuer and merchant key files, balance, load (and its refusals),
 * pay with the receipt, the log, a wrong PIN and a merchant of another
 * issuer, a load driven by hand with `ecard apdu` and `ecard issuer
 * authorize-load` (and a forged S1), power lost at every persistent write
 * of a payment, PIN change and unblock, the profile (--value-fd, release
 * policy), and every verb's --help. `ecard issuer personalize` of a new
 * card through its card manager, and the GlobalPlatform key options it
 * shares with `ecard gp`: the same names (--diversify and its older
 * spelling --kdf), the same refusals, and the keys' text gone from the
 * running process's argv (/proc/PID/cmdline) before it waits for anything.
 *
 * PINs and secret values are given on file descriptor 3 (--pin-fd 3,
 * --value-fd 3), never on the command line. Each test with a card starts
 * its own pcscd and card and stops them; the tests run one at a time
 * (pcscd's socket is one per namespace; see cli.test).
 */
#include <criterion/criterion.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define SELECT_WALLET "00A4040008F04543415244570100"
#define MERCHANT_ID "4D45524348000001"
#define PIN "1234\n"
#define WRONG_PIN "9999\n"

static struct harness h;
static char out[16384];
static char merchant[160];

/* ---- running the command line ---- */

static int run_ecard_va(bool reader, const char *input, const char *first, va_list ap)
{
	const char *args[32];
	char prog[256];
	int n = 0;

	if (reader) {
		args[n++] = "--reader";
		args[n++] = h.reader;
	}
	for (const char *a = first; a; a = va_arg(ap, const char *)) {
		cr_assert_lt(n, 31, "too many arguments for ecard");
		args[n++] = a;
	}
	args[n] = NULL;
	return harness_run_input(harness_program("ecard", prog, sizeof(prog)), args, input, out,
				 sizeof(out));
}

/* ecard --reader (the test's reader) ARGS..., input on fd 3; output in out. */
static int ecard_in(const char *input, const char *first, ...)
{
	va_list ap;
	va_start(ap, first);
	int rc = run_ecard_va(true, input, first, ap);
	va_end(ap);
	return rc;
}

/* ecard ARGS... exactly as given. */
static int ecard_plain(const char *first, ...)
{
	va_list ap;
	va_start(ap, first);
	int rc = run_ecard_va(false, NULL, first, ap);
	va_end(ap);
	return rc;
}

#define ECARD(...) ecard_in(NULL, __VA_ARGS__, (const char *)NULL)
#define ECARD_IN(input, ...) ecard_in(input, __VA_ARGS__, (const char *)NULL)
#define ECARD_PLAIN(...) ecard_plain(__VA_ARGS__, (const char *)NULL)

/* The number after "key": in a line of JSON. */
static long json_long(const char *json, const char *key)
{
	char pattern[64];
	snprintf(pattern, sizeof(pattern), "\"%s\": ", key);
	const char *p = strstr(json, pattern);
	cr_assert(p, "no %s in %s", key, json);
	return strtol(p + strlen(pattern), NULL, 10);
}

/* The number after "key=" in a control answer. */
static long status_long(const char *status, const char *key)
{
	char pattern[32];
	snprintf(pattern, sizeof(pattern), " %s=", key);
	const char *p = strstr(status, pattern);
	cr_assert(p, "no %s in %s", key, status);
	return strtol(p + strlen(pattern), NULL, 10);
}

struct purse {
	long balance;	/* minor units */
	long counter;
};

static struct purse purse(void)
{
	int rc = ECARD("balance", "--json");
	cr_assert_eq(rc, 0, "ecard balance --json: %s", out);
	return (struct purse){ json_long(out, "balance_minor"), json_long(out, "counter") };
}

static void assert_purse(long balance, long counter, const char *when)
{
	struct purse now = purse();
	cr_assert_eq(now.balance, balance, "%s: balance %ld, expected %ld", when, now.balance, balance);
	cr_assert_eq(now.counter, counter, "%s: counter %ld, expected %ld", when, now.counter, counter);
}

static void load(const char *amount)
{
	int rc = ECARD("load", "--issuer", h.issuer, "--amount", amount);
	cr_assert_eq(rc, 0, "ecard load %s: %s", amount, out);
}

static void make_merchant(const char *issuer_dir, const char *path)
{
	int rc = ECARD("merchant", "init", "--issuer", issuer_dir, "--id", MERCHANT_ID, path);
	cr_assert_eq(rc, 0, "ecard merchant init: %s", out);
}

/* The text of the JSON object of the log entry with this index. */
static const char *log_entry(const char *json, int index, char *entry, size_t len)
{
	char pattern[32];
	snprintf(pattern, sizeof(pattern), "{\"index\": %d,", index);
	const char *p = strstr(json, pattern);
	cr_assert(p, "no log entry %d in %s", index, json);
	const char *end = strchr(p, '}');
	cr_assert(end);
	snprintf(entry, len, "%.*s", (int)(end - p + 1), p);
	return entry;
}

/* The rest of the first line of text that starts with prefix. */
static const char *line_after(const char *text, const char *prefix, char *line, size_t len)
{
	size_t n = strlen(prefix);
	const char *p = text;
	while (*p && strncmp(p, prefix, n) != 0) {
		p += strcspn(p, "\n");
		if (*p)
			p++;
	}
	cr_assert(*p, "no line starting with \"%s\" in: %s", prefix, text);
	snprintf(line, len, "%.*s", (int)strcspn(p + n, "\n"), p + n);
	return line;
}

/* Whether text has a line of exactly digits hex digits. */
static bool has_hex_line(const char *text, size_t digits)
{
	const char *p = text;
	while (*p) {
		size_t n = strcspn(p, "\n");
		if (n == digits && strspn(p, "0123456789ABCDEFabcdef") >= digits)
			return true;
		p += n;
		if (*p)
			p++;
	}
	return false;
}

/* ---- the tests with a card ---- */

static void setup(void)
{
	harness_init_issuer(&h);
	snprintf(merchant, sizeof(merchant), "%s/merchant.key", h.dir);
	harness_start_pcscd(&h);
	harness_start_vcard(&h, NULL);
	cr_assert(harness_wait_usable(&h, 8000), "the card never appeared in %s", h.reader);
}

static void teardown(void)
{
	harness_stop(&h);
}

TestSuite(cli, .init = setup, .fini = teardown, .timeout = 90);

Test(cli, balance_json_of_a_fresh_card)
{
	int rc = ECARD("balance", "--json");
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out, "\"serial\": \"0102030405060708\""), "%s", out);
	cr_assert(strstr(out, "\"currency\": \"EUR\""), "%s", out);
	cr_assert(strstr(out, "\"balance\": \"0.00\""), "%s", out);
	cr_assert_eq(json_long(out, "balance_minor"), 0);
	cr_assert_eq(json_long(out, "counter"), 0);
	cr_assert(strstr(out, "\"max_balance\": \"1000.00\""), "the issuer's default: %s", out);
}

Test(cli, load_and_its_refusals)
{
	load("20.00");
	cr_assert(strstr(out, "loaded    20.00 EUR"), "%s", out);
	cr_assert_eq(ECARD("balance"), 0, "%s", out);
	cr_assert(strstr(out, "balance   20.00 EUR"), "%s", out);
	struct purse p = purse();
	cr_assert_eq(p.balance, 2000);
	cr_assert_eq(p.counter, 1);

	int rc = ECARD("load", "--issuer", h.issuer, "--amount", "12.345");
	cr_assert_eq(rc, 2, "more decimals than the euro has is a usage error: %s", out);
	cr_assert(strstr(out, "12.345"), "the message names the amount: %s", out);
	assert_purse(2000, 1, "after --amount 12.345");

	/* 20.00 + 990.00 is above the issuer's maximum of 1000.00. */
	rc = ECARD("load", "--issuer", h.issuer, "--amount", "990.00");
	cr_assert(rc == 1 || rc == 2, "a load above the maximum is refused (%d): %s", rc, out);
	cr_assert(strstr(out, "maximum"), "the message says why: %s", out);
	assert_purse(2000, 1, "after a load above the maximum");

	/* Exactly up to the maximum is allowed. */
	load("980.00");
	assert_purse(100000, 2, "after a load up to the maximum");
}

Test(cli, pay_receipt_log_and_wrong_pin)
{
	load("20.00");
	make_merchant(h.issuer, merchant);
	struct stat st;
	cr_assert_eq(stat(merchant, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600, "the merchant file is secret: %o", st.st_mode & 0777);

	int rc = ECARD_IN(PIN, "pay", "--merchant", merchant, "--amount", "7.50", "--pin-fd", "3");
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out, "paid      7.50 EUR"), "%s", out);
	cr_assert(strstr(out, "balance   12.50 EUR"), "%s", out);
	cr_assert(strstr(out, "counter   2"), "%s", out);
	cr_assert(strstr(out, "merchant  " MERCHANT_ID), "%s", out);
	cr_assert(strstr(out, "verified offline"), "%s", out);

	cr_assert_eq(ECARD("balance"), 0, "%s", out);
	cr_assert(strstr(out, "balance   12.50 EUR"), "%s", out);

	char entry[256];
	cr_assert_eq(ECARD("log", "--json"), 0, "%s", out);
	log_entry(out, 0, entry, sizeof(entry));
	cr_assert(strstr(entry, "\"type\": \"debit\""), "newest first: %s", out);
	cr_assert(strstr(entry, "\"amount_minor\": 750"), "%s", entry);
	cr_assert(strstr(entry, "\"balance_minor\": 1250"), "%s", entry);
	cr_assert(strstr(entry, "\"counter\": 2"), "%s", entry);
	cr_assert(strstr(entry, "\"merchant\": \"" MERCHANT_ID "\""), "%s", entry);
	log_entry(out, 1, entry, sizeof(entry));
	cr_assert(strstr(entry, "\"type\": \"load\""), "%s", out);
	cr_assert(strstr(entry, "\"amount_minor\": 2000"), "%s", entry);
	cr_assert(strstr(entry, "\"counter\": 1"), "%s", entry);
	cr_assert(strstr(entry, "\"merchant\": null"), "%s", entry);
	cr_assert_null(strstr(out, "{\"index\": 2,"), "two entries only: %s", out);

	/* A wrong PIN: refused, nothing debited, the tries left are told. */
	rc = ECARD_IN(WRONG_PIN, "pay", "--merchant", merchant, "--amount", "7.50", "--pin-fd", "3");
	cr_assert_eq(rc, 1, "%s", out);
	cr_assert(strstr(out, "wrong PIN, 2 tries left"), "%s", out);
	cr_assert_null(strstr(out, "paid"), "%s", out);
	assert_purse(1250, 2, "after a wrong PIN (nothing debited)");

	rc = ECARD_IN(WRONG_PIN, "pin", "verify", "--pin-fd", "3");
	cr_assert_eq(rc, 1, "%s", out);
	cr_assert(strstr(out, "1 try left"), "%s", out);
	rc = ECARD_IN(PIN, "pin", "verify", "--pin-fd", "3");
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out, "PIN verified."), "%s", out);

	/* The right PIN set the tries back: the card pays again. */
	rc = ECARD_IN(PIN, "pay", "--merchant", merchant, "--amount", "2.50", "--pin-fd", "3");
	cr_assert_eq(rc, 0, "%s", out);
	assert_purse(1000, 3, "after the second payment");

	/* More than the balance: refused before the PIN is asked. */
	rc = ECARD_IN(PIN, "pay", "--merchant", merchant, "--amount", "10.01", "--pin-fd", "3");
	cr_assert_eq(rc, 1, "%s", out);
	cr_assert(strstr(out, "nothing was debited"), "%s", out);
	assert_purse(1000, 3, "after a payment above the balance");
}

Test(cli, pay_refused_for_a_merchant_of_another_issuer)
{
	load("20.00");
	char other[160];
	snprintf(other, sizeof(other), "%s/issuer2", h.dir);
	cr_assert_eq(ECARD("issuer", "init", other), 0, "%s", out);
	make_merchant(other, merchant);

	int rc = ECARD_IN(PIN, "pay", "--merchant", merchant, "--amount", "7.50", "--pin-fd", "3");
	cr_assert_eq(rc, 1, "%s", out);
	cr_assert(strstr(out, "another issuer"), "%s", out);
	cr_assert(strstr(out, "nothing was debited"), "%s", out);
	assert_purse(2000, 1, "after the other issuer's merchant");
	cr_assert_eq(ECARD("log", "--json"), 0, "%s", out);
	cr_assert_null(strstr(out, "\"debit\""), "no debit in the log: %s", out);
}

Test(cli, load_by_hand_with_apdu_and_authorize_load)
{
	char response[128], s2[64], forged[128], credit[128];

	/* The card itself refuses a load above its maximum (1000.01 EUR). */
	int rc = ECARD("apdu", SELECT_WALLET, "80400000" "04" "000186A1" "00");
	cr_assert_eq(rc, 1, "%s", out);
	cr_assert(strstr(out, "SW 6985"), "%s", out);

	/* INITIALIZE LOAD for 10.00 (000003E8). */
	rc = ECARD("apdu", SELECT_WALLET, "80400000" "04" "000003E8" "00");
	cr_assert_eq(rc, 0, "%s", out);
	line_after(out, "< ", response, sizeof(response));
	cr_assert_eq(strlen(response), 96, "48 bytes: %s", out);
	cr_assert_eq(strncmp(response + 32, "0102030405060708", 16), 0, "the serial: %s", response);

	/* A forged S1 gets no S2. */
	strcpy(forged, response);
	forged[90] = forged[90] == '0' ? '1' : '0';
	rc = ECARD("issuer", "authorize-load", "--dir", h.issuer, "--amount", "10.00", forged);
	cr_assert_eq(rc, 1, "%s", out);
	cr_assert_not(has_hex_line(out, 32), "no S2 for a forged S1: %s", out);
	/* Nor does the genuine answer for another amount. */
	rc = ECARD("issuer", "authorize-load", "--dir", h.issuer, "--amount", "11.00", response);
	cr_assert_eq(rc, 1, "%s", out);
	cr_assert_not(has_hex_line(out, 32), "%s", out);

	rc = ECARD("issuer", "authorize-load", "--dir", h.issuer, "--amount", "10.00", response);
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(has_hex_line(out, 32), "S2 on a line of its own: %s", out);
	snprintf(s2, sizeof(s2), "%.32s", out);

	snprintf(credit, sizeof(credit), "80420000" "10" "%s" "00", s2);
	rc = ECARD("apdu", SELECT_WALLET, credit);
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out, "SW 9000"), "%s", out);
	/* counter(4) || balance(4) || S3(16) */
	line_after(out, "< ", response, sizeof(response));
	cr_assert_eq(strlen(response), 48, "%s", out);
	cr_assert_eq(strncmp(response, "00000001" "000003E8", 16), 0, "%s", response);
	struct purse p = purse();
	cr_assert_eq(p.balance, 1000);
	cr_assert_eq(p.counter, 1);

	/* The same S2 again credits nothing. */
	rc = ECARD("apdu", SELECT_WALLET, credit);
	cr_assert_eq(rc, 1, "a used S2 is refused: %s", out);
	assert_purse(1000, 1, "after a replayed CREDIT");
}

/* How one payment with power lost at a write turned out. */
static bool pay_torn_at(unsigned n, struct purse *p)
{
	char cmd[32];
	long tears = status_long(harness_ctl(&h, "status"), "tears");
	snprintf(cmd, sizeof(cmd), "tear %u", n);
	const char *reply = harness_ctl(&h, cmd);
	cr_assert(strncmp(reply, "ok", 2) == 0, "%s", reply);

	int rc = ECARD_IN(PIN, "pay", "--merchant", merchant, "--amount", "0.50", "--pin-fd", "3");
	char said[sizeof(out)];
	snprintf(said, sizeof(said), "%s", out);
	long tears_after = status_long(harness_ctl(&h, "status"), "tears");
	cr_assert_eq(tears_after, tears + 1, "tear %u: the power was lost during the payment: %s", n,
		     said);
	cr_assert(harness_wait_usable(&h, 10000), "tear %u: the card never came back", n);

	struct purse now = purse();
	cr_log_info("tear at write %u of a payment: %s", n,
		    rc == 0 ? (strstr(said, "fetched again") ? "paid, receipt recovered" : "paid")
			    : "nothing was debited");
	if (rc == 0) {
		cr_assert(strstr(said, "paid      0.50 EUR"), "tear %u: %s", n, said);
		cr_assert_eq(now.balance, p->balance - 50, "tear %u: paid once: %s", n, said);
		cr_assert_eq(now.counter, p->counter + 1, "tear %u: %s", n, said);
	} else {
		cr_assert(strstr(said, "nothing was debited"), "tear %u: exit %d: %s", n, rc, said);
		cr_assert_eq(now.balance, p->balance, "tear %u: not debited: %s", n, said);
		cr_assert_eq(now.counter, p->counter, "tear %u: %s", n, said);
	}
	*p = now;
	return rc == 0;
}

Test(cli, power_lost_at_every_write_of_a_payment, .timeout = 120)
{
	load("20.00");
	make_merchant(h.issuer, merchant);

	/* How many persistent writes VERIFY + DEBIT make. */
	long before = status_long(harness_ctl(&h, "status"), "total_writes");
	int rc = ECARD_IN(PIN, "pay", "--merchant", merchant, "--amount", "0.50", "--pin-fd", "3");
	cr_assert_eq(rc, 0, "%s", out);
	long writes = status_long(harness_ctl(&h, "status"), "total_writes") - before;
	cr_assert(writes >= 2 && writes <= 40, "a payment makes %ld writes", writes);

	struct purse p = purse();
	unsigned paid = 1, refused = 0;
	for (unsigned n = 1; n <= (unsigned)writes; n++) {
		if (pay_torn_at(n, &p))
			paid++;
		else
			refused++;
	}
	cr_assert_gt(refused, 0, "a tear before DEBIT's commit point leaves nothing debited");
	cr_assert_gt(paid, 1, "a tear after DEBIT's commit point still pays, once");

	/* One debit in the log per payment reported, no more. */
	cr_assert_eq(ECARD("log", "--json"), 0, "%s", out);
	unsigned debits = 0;
	for (const char *q = out; (q = strstr(q, "\"type\": \"debit\"")); q++)
		debits++;
	cr_assert_eq(debits, paid, "%u debits logged, %u payments reported: %s", debits, paid, out);
	assert_purse(2000 - 50 * (long)paid, 1 + (long)paid, "after the tears");

	/* And the card pays normally afterwards. */
	rc = ECARD_IN(PIN, "pay", "--merchant", merchant, "--amount", "0.50", "--pin-fd", "3");
	cr_assert_eq(rc, 0, "%s", out);
}

Test(cli, pin_change)
{
	int rc = ECARD_IN("1234\n4321\n", "pin", "change", "--pin-fd", "3");
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out, "PIN changed."), "%s", out);
	rc = ECARD_IN("4321\n", "pin", "verify", "--pin-fd", "3");
	cr_assert_eq(rc, 0, "the new PIN: %s", out);
	rc = ECARD_IN(PIN, "pin", "verify", "--pin-fd", "3");
	cr_assert_eq(rc, 1, "the old PIN is wrong now: %s", out);
	cr_assert(strstr(out, "wrong PIN"), "%s", out);
	rc = ECARD_IN("4321\n", "pin", "verify", "--pin-fd", "3");
	cr_assert_eq(rc, 0, "%s", out);

	/* A new PIN the card does not accept changes nothing. */
	rc = ECARD_IN("4321\n12\n", "pin", "change", "--pin-fd", "3");
	cr_assert_neq(rc, 0, "a 2-digit PIN: %s", out);
	rc = ECARD_IN("4321\n", "pin", "verify", "--pin-fd", "3");
	cr_assert_eq(rc, 0, "%s", out);
}

Test(cli, pin_unblock_after_three_wrong_pins)
{
	for (int i = 0; i < 3; i++) {
		int rc = ECARD_IN(WRONG_PIN, "pin", "verify", "--pin-fd", "3");
		cr_assert_eq(rc, 1, "%s", out);
	}
	int rc = ECARD_IN(PIN, "pin", "verify", "--pin-fd", "3");
	cr_assert_eq(rc, 1, "blocked, even with the right PIN: %s", out);
	cr_assert(strstr(out, "blocked"), "%s", out);

	rc = ECARD_IN("87654321\n5678\n", "pin", "unblock", "--pin-fd", "3");
	cr_assert_eq(rc, 1, "a wrong PUK: %s", out);
	cr_assert(strstr(out, "wrong PUK, 9 tries left"), "said of a wrong PUK: %s", out);
	rc = ECARD_IN("12345678\n5678\n", "pin", "unblock", "--pin-fd", "3");
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out, "PIN unblocked and set."), "%s", out);
	rc = ECARD_IN("5678\n", "pin", "verify", "--pin-fd", "3");
	cr_assert_eq(rc, 0, "the PIN set by unblock: %s", out);
	rc = ECARD_IN(PIN, "pin", "verify", "--pin-fd", "3");
	cr_assert_eq(rc, 1, "the blocked PIN is gone: %s", out);
}

#define EMAIL_SHOWN "\"name\": \"email\", \"class\": \"general\", \"value\": \"a@b.example\", \"locked\": false"
#define PASSWORD_LOCKED "\"name\": \"password\", \"class\": \"private\", \"value\": null, \"locked\": true"
#define PASSWORD_SHOWN "\"name\": \"password\", \"class\": \"private\", \"value\": \"s3cret pw\", \"locked\": false"

Test(cli, profile_fields_and_release_policy)
{
	int rc = ECARD_IN(PIN, "profile", "set", "email", "a@b.example", "--pin-fd", "3");
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out, "email set."), "%s", out);
	/* The password from a descriptor: first line the value, then the PIN. */
	rc = ECARD_IN("s3cret pw\n" PIN, "profile", "set", "password", "--value-fd", "3", "--pin-fd", "3");
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out, "password set."), "%s", out);

	rc = ECARD("profile", "show", "--json");
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out, EMAIL_SHOWN), "%s", out);
	cr_assert(strstr(out, PASSWORD_LOCKED), "%s", out);
	cr_assert_null(strstr(out, "s3cret"), "%s", out);
	cr_assert(strstr(out, "\"policy\": {\"general\": \"never\", \"private\": \"always\"}"), "%s", out);

	rc = ECARD_IN(PIN, "profile", "show", "--verify", "--pin-fd", "3", "--json");
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out, PASSWORD_SHOWN), "%s", out);
	cr_assert(strstr(out, EMAIL_SHOWN), "%s", out);
	rc = ECARD_IN(PIN, "profile", "show", "--verify", "--pin-fd", "3");
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out, "s3cret pw"), "the text form: %s", out);

	/* Value on the command line and on a descriptor: a usage error. */
	rc = ECARD_IN("other\n" PIN, "profile", "set", "password", "x", "--value-fd", "3", "--pin-fd", "3");
	cr_assert_eq(rc, 2, "%s", out);
	/* A value longer than the card keeps: refused before the PIN. */
	char long_value[128];
	memset(long_value, 'x', 65);
	strcpy(long_value + 65, "\n" PIN);
	rc = ECARD_IN(long_value, "profile", "set", "password", "--value-fd", "3", "--pin-fd", "3");
	cr_assert_eq(rc, 2, "%s", out);
	cr_assert(strstr(out, "64"), "%s", out);
	/* No line at all. */
	rc = ECARD_IN("", "profile", "set", "password", "--value-fd", "3", "--pin-fd", "3");
	cr_assert_eq(rc, 2, "%s", out);
	rc = ECARD_IN(PIN, "profile", "show", "--verify", "--pin-fd", "3", "--json");
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out, PASSWORD_SHOWN), "nothing changed: %s", out);

	rc = ECARD_IN(PIN, "profile", "policy", "--private", "never", "--pin-fd", "3");
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out, "private: never"), "%s", out);
	rc = ECARD("profile", "show", "--json");
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out, PASSWORD_SHOWN), "released without a PIN now: %s", out);

	/* An empty line clears. */
	rc = ECARD_IN("\n" PIN, "profile", "set", "password", "--value-fd", "3", "--pin-fd", "3");
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out, "password cleared."), "%s", out);
	rc = ECARD("profile", "show", "--json");
	cr_assert(strstr(out, "\"name\": \"password\", \"class\": \"private\", \"value\": \"\""), "%s", out);
}

/* ---- personalization through the card manager, on a new card ---- */

#define TEST_KEY "404142434445464748494A4B4C4D4E4F"

/* A new card, not personalized, and an issuer made for it. */
static void perso_setup(void)
{
	harness_init(&h);
	snprintf(h.issuer, sizeof(h.issuer), "%s/issuer", h.dir);
	int rc = ECARD_PLAIN("issuer", "init", h.issuer);
	cr_assert_eq(rc, 0, "ecard issuer init: %s", out);
	harness_start_pcscd(&h);
	harness_start_vcard(&h, NULL);
	cr_assert(harness_wait_usable(&h, 8000), "the card never appeared in %s", h.reader);
}

TestSuite(cli_perso, .init = perso_setup, .fini = teardown, .timeout = 90);

Test(cli_perso, personalize_with_the_key_options_of_gp)
{
	char first[sizeof(out)];

	/* A level without C-MAC: refused before the card is touched. */
	int rc = ECARD("issuer", "personalize", "--dir", h.issuer, "--level", "00");
	cr_assert_eq(rc, 2, "%s", out);
	cr_assert(strstr(out, "C-MAC"), "the message says why: %s", out);

	/* --diversify and its older spelling --kdf are both taken, and mean
	 * the same: this card's keys are not diversified, so both fail alike
	 * at the card's cryptogram, with nothing written. */
	rc = ECARD("issuer", "personalize", "--dir", h.issuer, "--diversify", "kdf3");
	cr_assert_eq(rc, 1, "%s", out);
	cr_assert(strstr(out, "wrong keys"), "%s", out);
	snprintf(first, sizeof(first), "%s", out);
	rc = ECARD("issuer", "personalize", "--dir", h.issuer, "--kdf", "kdf3");
	cr_assert_eq(rc, 1, "%s", out);
	cr_assert_str_eq(out, first, "--kdf is --diversify");
	rc = ECARD("balance");
	cr_assert_eq(rc, 1, "the wallet is not personalized yet: %s", out);
	cr_assert(strstr(out, "the wallet is not personalized: the card must be issued first"),
		  "%s", out);

	/* The test keys given by hand, --kdf none, level 33, a field and the
	 * password on descriptor 3. */
	rc = ECARD_IN("pw of ann\n", "issuer", "personalize", "--dir", h.issuer, "--key", TEST_KEY,
		      "--kvn", "30", "--kdf", "none", "--level", "33", "--email", "ann@example.org",
		      "--password-fd", "3", "--json");
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out, "\"serial\": \"0102030405060708\""), "%s", out);
	cr_assert(strstr(out, "\"level\": \"33\""), "%s", out);
	cr_assert_null(strstr(out, TEST_KEY), "the key is never shown: %s", out);

	rc = ECARD("balance", "--json");
	cr_assert_eq(rc, 0, "the wallet works now: %s", out);
	cr_assert(strstr(out, "\"balance\": \"0.00\""), "%s", out);
	rc = ECARD("profile", "show", "--json");
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out, "\"value\": \"ann@example.org\""), "%s", out);

	/* Issued: the public test keys no longer open its card manager; the
	 * issuer directory's keys do (ecard gp --issuer). */
	rc = ECARD("gp", "list");
	cr_assert_eq(rc, 1, "the test keys are refused: %s", out);
	rc = ECARD("gp", "list", "--issuer", h.issuer, "--json");
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out, "F045434152445701"), "the wallet is listed: %s", out);
	/* In the life-cycle states GlobalPlatformPro users know: the issued
	 * wallet and profile are PERSONALIZED. */
	const char *wallet = strstr(out, "\"aid\": \"F045434152445701\"");
	cr_assert_not_null(wallet, "%s", out);
	const char *end = strchr(wallet, '}');
	const char *state = strstr(wallet, "\"life_cycle\": \"PERSONALIZED\"");
	cr_assert(state && end && state < end, "the wallet's state: %s", wallet);

	/* Once only, whichever spelling. */
	rc = ECARD("issuer", "personalize", "--dir", h.issuer, "--diversify", "none");
	cr_assert_eq(rc, 1, "the test keys are gone: %s", out);
	rc = ECARD("issuer", "personalize", "--dir", h.issuer, "--issuer", h.issuer);
	cr_assert_eq(rc, 1, "%s", out);
	cr_assert(strstr(out, "personalized already"), "%s", out);
}

/* ---- the tests without a card ---- */

static char scratch[64];

static void scratch_setup(void)
{
	strcpy(scratch, "/tmp/ecard-cli-XXXXXX");
	cr_assert(mkdtemp(scratch));
}

static void scratch_teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", scratch);
	if (scratch[0] && system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", scratch);
}

TestSuite(cli_keys, .init = scratch_setup, .fini = scratch_teardown, .timeout = 30);

static mode_t mode_of(const char *dir, const char *name)
{
	char path[160];
	struct stat st;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	cr_assert_eq(stat(path, &st), 0, "%s exists", path);
	return st.st_mode & 07777;
}

static void slurp(const char *dir, const char *name, char *buf, size_t len)
{
	char path[160];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "r");
	cr_assert(f, "%s", path);
	size_t n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
}

Test(cli_keys, issuer_init_is_private_and_never_overwrites)
{
	char dir[96], before[1024], after[1024];
	snprintf(dir, sizeof(dir), "%s/keys", scratch);
	int rc = ECARD_PLAIN("issuer", "init", dir);
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out, "issuer keys made"), "%s", out);

	struct stat st;
	cr_assert_eq(stat(dir, &st), 0);
	cr_assert(S_ISDIR(st.st_mode));
	cr_assert_eq(st.st_mode & 07777, 0700, "the directory is 0700: %o", st.st_mode & 07777);
	cr_assert_eq(mode_of(dir, "master.key"), 0600, "master.key is secret");
	cr_assert_eq(mode_of(dir, "ca.key"), 0600, "ca.key is secret");
	cr_assert_eq(mode_of(dir, "ca.pub") & 022, 0, "nobody else may write ca.pub");
	cr_assert_eq(mode_of(dir, "issuer.conf") & 022, 0);
	slurp(dir, "master.key", before, sizeof(before));

	rc = ECARD_PLAIN("issuer", "init", dir);
	cr_assert_neq(rc, 0, "a second init into the same directory is refused: %s", out);
	cr_assert(strstr(out, "ecard: "), "%s", out);
	cr_assert(strstr(out, "not empty"), "the message says why: %s", out);
	slurp(dir, "master.key", after, sizeof(after));
	cr_assert_str_eq(before, after, "the keys are left as they were");
	cr_assert_eq(mode_of(dir, "master.key"), 0600);
}

Test(cli_keys, every_verb_has_help)
{
	static const char *const verbs[][3] = {
		{ "--help" },
		{ "readers", "--help" },
		{ "apdu", "--help" },
		{ "balance", "--help" },
		{ "log", "--help" },
		{ "load", "--help" },
		{ "pay", "--help" },
		{ "pin", "--help" },
		{ "pin", "verify", "--help" },
		{ "pin", "change", "--help" },
		{ "pin", "unblock", "--help" },
		{ "profile", "--help" },
		{ "profile", "show", "--help" },
		{ "profile", "set", "--help" },
		{ "profile", "policy", "--help" },
		{ "issuer", "--help" },
		{ "issuer", "init", "--help" },
		{ "issuer", "authorize-load", "--help" },
		{ "merchant", "--help" },
		{ "merchant", "init", "--help" },
		{ "issuer", "personalize", "--help" },
		{ "gp", "--help" },
		{ "gp", "list", "--help" },
		{ "cap", "--help" },
		{ "agent", "--help" },
		{ "server", "--help" },
		{ "server", "job", "--help" },
		{ "help", "--help" },
		{ "help", "pay" },
	};
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
		const char *const *v = verbs[i];
		int rc = ECARD_PLAIN(v[0], v[1], v[2]);
		cr_assert_eq(rc, 0, "ecard %s %s: %s", v[0], v[1] ? v[1] : "", out);
		cr_assert(strcasestr(out, "usage"), "ecard %s %s: %s", v[0], v[1] ? v[1] : "", out);
	}
	cr_assert_eq(ECARD_PLAIN("profile", "--help"), 0);
	cr_assert(strstr(out, "--value-fd N"), "profile set documents --value-fd: %s", out);
	/* The key options are documented once, with gp, --kdf as the older
	 * spelling; personalization points there. */
	cr_assert_eq(ECARD_PLAIN("gp", "--help"), 0);
	cr_assert(strstr(out, "--diversify none|emv|visa2|kdf3"), "%s", out);
	cr_assert(strstr(out, "--kdf is the"), "%s", out);
	cr_assert_eq(ECARD_PLAIN("issuer", "--help"), 0);
	cr_assert(strstr(out, "KEY OPTIONS of \"ecard gp --help\""), "%s", out);

	char prog[256];
	const char *vcard_help[] = { "--help", NULL };
	const char *ctl_help[] = { "ctl", "--help", NULL };
	harness_program("ecard-vcard", prog, sizeof(prog));
	cr_assert_eq(harness_run(prog, vcard_help, out, sizeof(out)), 0, "%s", out);
	cr_assert(strcasestr(out, "usage"), "%s", out);
	cr_assert_eq(harness_run(prog, ctl_help, out, sizeof(out)), 0, "%s", out);
	cr_assert(strcasestr(out, "usage"), "%s", out);
}

/* ---- the GlobalPlatform key options of `ecard gp` and `ecard issuer personalize` ---- */

#define K16 "000102030405060708090A0B0C0D0E0F"
#define K24 "000102030405060708090A0B0C0D0E0F1011121314151617"
#define KEY_ENC "A0A1A2A3A4A5A6A7A8A9AAABACADAEAF"
#define KEY_MAC "B0B1B2B3B4B5B6B7B8B9BABBBCBDBEBF"
#define KEY_DEK "C0C1C2C3C4C5C6C7C8C9CACBCCCDCECF"

/* ecard gp list ARGS and ecard issuer personalize --dir DIR ARGS (at most
 * six); both must refuse ARGS alike: exit 2, the same message. */
static void refused_alike(const char *dir, const char *const args[6], const char *expected)
{
	const char *gp[12] = { "gp", "list" };
	const char *perso[12] = { "issuer", "personalize", "--dir", dir };
	char prog[256], first[sizeof(out)];
	int n;

	for (n = 0; n < 6 && args[n]; n++) {
		gp[2 + n] = args[n];
		perso[4 + n] = args[n];
	}
	harness_program("ecard", prog, sizeof(prog));
	int rc = harness_run(prog, gp, out, sizeof(out));
	cr_assert_eq(rc, 2, "ecard gp list %s...: %s", args[0], out);
	cr_assert(strstr(out, expected), "ecard gp list %s...: %s", args[0], out);
	snprintf(first, sizeof(first), "%s", out);
	rc = harness_run(prog, perso, out, sizeof(out));
	cr_assert_eq(rc, 2, "ecard issuer personalize %s...: %s", args[0], out);
	cr_assert_str_eq(out, first, "the two verbs refuse %s... alike", args[0]);
	for (int i = 0; i < n; i++)
		cr_assert(strlen(args[i]) < 32 || !strstr(out, args[i]), "a key is never shown: %s", out);
}

Test(cli_keys, gp_and_personalize_refuse_bad_key_options_alike)
{
	static const struct {
		const char *args[6];
		const char *expected;
	} cases[] = {
		{ { "--level", "02" }, "--level 02 is not a security level: use 00, 01, 03, 11, 13 or 33." },
		{ { "--level=44" }, "--level 44 is not a security level" },
		{ { "--level", "zz" }, "--level \"zz\" is not a byte in hex" },
		{ { "--kvn", "123" }, "--kvn \"123\" is not a byte in hex" },
		{ { "--diversify", "des" }, "--diversify des is not a diversification method" },
		{ { "--kdf", "des" }, "--kdf des is not a diversification method" },
		{ { "--kdf", "emv", "--diversify", "emv" }, "older spelling" },
		{ { "--key", K16, "--key-enc", K16 }, "not both" },
		{ { "--key-enc", K16, "--key-mac", K16 }, "go together" },
		{ { "--key", "0011223344" }, "--key must be a key of 16, 24 or 32 bytes" },
		{ { "--key-enc", K16, "--key-mac", K24, "--key-dek", K16 }, "the same length" },
	};
	char dir[96];
	snprintf(dir, sizeof(dir), "%s/issuer", scratch);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		refused_alike(dir, cases[i].args, cases[i].expected);
}

/* A running ecard: fd 3 is a pipe the test holds (the program waits on it
 * for a line), standard output and error another. */
struct running {
	pid_t pid;
	int input;	/* the write end of its fd 3 */
	int output;	/* the read end of its standard output and error */
};

/* Start ecard with args (NULL-terminated); stdin_fd >= 0 becomes its
 * standard input. */
static void start_ecard(struct running *p, int stdin_fd, const char *const *args)
{
	char prog[256];
	const char *argv[32];
	int in[2], outp[2], n = 0;

	argv[n++] = harness_program("ecard", prog, sizeof(prog));
	for (; args[n - 1] && n < 31; n++)
		argv[n] = args[n - 1];
	argv[n] = NULL;
	cr_assert_eq(pipe(in), 0);
	cr_assert_eq(pipe(outp), 0);
	p->pid = fork();
	cr_assert_geq(p->pid, 0);
	if (p->pid == 0) {
		/* Out of the way of 0..3 first, then into place. */
		int keep_in = fcntl(in[0], F_DUPFD, 10), keep_out = fcntl(outp[1], F_DUPFD, 10);
		int keep_tty = stdin_fd >= 0 ? fcntl(stdin_fd, F_DUPFD, 10) : -1;
		dup2(keep_out, 1);
		dup2(keep_out, 2);
		if (keep_tty >= 0)
			dup2(keep_tty, 0);
		dup2(keep_in, 3);
		for (int fd = 4; fd < 1024; fd++)
			close(fd);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(in[0]);
	close(outp[1]);
	p->input = in[1];
	p->output = outp[0];
}

/* Read its output into out until it holds text (NULL: until the end), or
 * timeout_ms pass; whether text was seen. */
static bool read_output(struct running *p, const char *text, int timeout_ms, size_t *got)
{
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		out[*got] = '\0';
		if (text && strstr(out, text))
			return true;
		clock_gettime(CLOCK_MONOTONIC, &now);
		long spent = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
		struct pollfd pfd = { .fd = p->output, .events = POLLIN };
		if (spent >= timeout_ms || poll(&pfd, 1, (int)(timeout_ms - spent)) <= 0)
			return false;
		ssize_t r = read(p->output, out + *got, sizeof(out) - 1 - *got);
		if (r <= 0)
			return false;
		*got += (size_t)r;
	}
}

/* Close its fd 3; the rest of its output, and its exit status (-1: it
 * did not exit within 10 s, and was killed). */
static int finish_ecard(struct running *p, size_t *got)
{
	int status;
	close(p->input);
	read_output(p, NULL, 10000, got);
	close(p->output);
	for (int i = 0; i < 1000; i++) {
		if (waitpid(p->pid, &status, WNOHANG) == p->pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		nanosleep(&(struct timespec){ 0, 10000000L }, NULL);
	}
	kill(p->pid, SIGKILL);
	waitpid(p->pid, &status, 0);
	return -1;
}

/* Its command line as the kernel shows it to everybody. */
static size_t read_cmdline(pid_t pid, char *buf, size_t len)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, len);
	close(fd);
	return n > 0 ? (size_t)n : 0;
}

static bool has_bytes(const char *buf, size_t n, const char *text)
{
	return memmem(buf, n, text, strlen(text)) != NULL;
}

/* Whether its command line names marker (it runs ecard, not the test any
 * more) and none of secrets (NULL-terminated). */
static bool argv_clean(pid_t pid, const char *marker, const char *const *secrets)
{
	char buf[4096];
	size_t n = read_cmdline(pid, buf, sizeof(buf));
	if (!has_bytes(buf, n, marker))
		return false;
	for (int i = 0; secrets[i]; i++)
		if (has_bytes(buf, n, secrets[i]))
			return false;
	return true;
}

Test(cli_keys, personalize_wipes_the_key_from_argv_before_it_waits)
{
	static const char *const secrets[] = { K24, NULL };
	char dir[96];
	struct running p;
	size_t got = 0;
	bool clean = false;

	/* The password comes on fd 3, which stays open and silent: ecard
	 * waits there, past its option parsing, until the pipe is closed. */
	snprintf(dir, sizeof(dir), "%s/no-issuer-here", scratch);
	const char *args[] = { "issuer", "personalize", "--dir", dir, "--key=" K24, "--kdf", "kdf3",
			       "--password-fd", "3", NULL };
	start_ecard(&p, -1, args);
	for (int i = 0; i < 500 && !clean; i++) {
		clean = argv_clean(p.pid, dir, secrets);
		if (!clean)
			nanosleep(&(struct timespec){ 0, 10000000L }, NULL);
	}
	bool waiting = waitpid(p.pid, &(int){ 0 }, WNOHANG) == 0;
	int rc = finish_ecard(&p, &got);
	cr_assert(clean, "the key stayed readable in /proc/%d/cmdline", (int)p.pid);
	cr_assert(waiting, "ecard waited for the password after the wipe: %s", out);
	cr_assert_eq(rc, 2, "%s", out);
	cr_assert(strstr(out, "--password-fd 3 ended before the password was given"), "%s", out);
}

Test(cli_keys, gp_wipes_the_keys_from_argv_before_it_waits)
{
	static const char *const secrets[] = { KEY_ENC, KEY_MAC, KEY_DEK, NULL };
	struct running p;
	size_t got = 0;

	/* `gp set-state terminate` asks on its terminal first: a pty. */
	int master = posix_openpt(O_RDWR | O_NOCTTY);
	if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0 || !ptsname(master))
		cr_skip_test("no pseudo-terminal to answer the confirmation on");
	int slave = open(ptsname(master), O_RDWR | O_NOCTTY);
	cr_assert_geq(slave, 0);

	const char *args[] = { "gp", "set-state", "terminate", "--reader", scratch,
			       "--key-enc=" KEY_ENC, "--key-mac", KEY_MAC, "--key-dek", KEY_DEK, NULL };
	start_ecard(&p, slave, args);
	close(slave);
	bool asked = read_output(&p, "to go on: ", 10000, &got);
	bool clean = asked && argv_clean(p.pid, scratch, secrets);
	cr_assert_eq(write(master, "no\n", 3), 3);
	int rc = finish_ecard(&p, &got);
	close(master);
	cr_assert(asked, "ecard asked for the confirmation: %s", out);
	cr_assert(clean, "the keys were gone from /proc/%d/cmdline when it asked", (int)p.pid);
	cr_assert_eq(rc, 2, "%s", out);
	cr_assert(strstr(out, "was not terminated"), "%s", out);
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A card daemon that stops answering (SIGSTOP: its socket stays open, so
 * vpcd and pcscd wait for it) must not hang ecard: --timeout bounds each
 * wait, with a message that says what happened, and exit status 2. */
Test(cli, a_card_that_stops_answering_times_out)
{
	cr_assert_eq(ECARD("apdu", "00A4040008F045434152444401"), 0, "%s", out);
	cr_assert_eq(kill(h.vcard, SIGSTOP), 0);
	long long t0 = now_ms();
	int rc = ECARD("--timeout", "2", "apdu", "00A4040008F045434152444401");
	long long took = now_ms() - t0;
	kill(h.vcard, SIGCONT);
	cr_expect_eq(rc, 2, "exit status %d: %s", rc, out);
	cr_expect(strstr(out, "ecard: no answer within 2 s (--timeout): the card, its reader or "
			      "pcscd stopped answering."),
		  "%s", out);
	cr_expect(took >= 1900 && took < 8000, "gave up after %lld ms", took);
	printf("cli: a stopped card daemon: ecard --timeout 2 gave up after %lld ms\n", took);
	/* The card answers again once its daemon runs. */
	cr_assert(harness_wait_usable(&h, 10000));
	cr_expect_eq(ECARD("apdu", "00A4040008F045434152444401"), 0, "%s", out);
}

/* What the command line says, exactly: a try-counter query is an answer
 * and not a refusal; -V prints the version; -v shows every exchange with
 * the PIN left out; a value that is not UTF-8 and an amount with blanks
 * are refused before anything reaches the card (exit 2). */
Test(cli, messages_say_what_happened)
{
	int rc = ECARD("apdu", "00200081");
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out, "SW 63C3 (the PIN is not verified; 3 tries left)"), "%s", out);

	rc = ECARD_PLAIN("-V");
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strncmp(out, "ecard ", 6) == 0, "%s", out);

	rc = ECARD_IN(PIN, "-v", "pin", "verify", "--pin-fd", "3");
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out, "C: 00200081 [PIN data hidden]  R: 9000"), "-v: %s", out);
	cr_assert_null(strstr(out, "31323334"), "the PIN in the trace: %s", out);
	rc = ECARD("-v", "apdu", "00A4040008F045434152444401");
	cr_assert(strstr(out, "C: 00A4040008F045434152444401  R: "), "-v: %s", out);

	rc = ECARD_IN(PIN, "profile", "set", "town", "caf\xE9", "--pin-fd", "3");
	cr_assert_eq(rc, 2, "%s", out);
	cr_assert(strstr(out, "is UTF-8 text, and this one is not"), "%s", out);

	rc = ECARD("load", "--issuer", h.issuer, "--amount", " 5");
	cr_assert_eq(rc, 2, "%s", out);
	cr_assert(strstr(out, "no spaces around it"), "%s", out);
}

/* A card that loses power in the middle of a command is reported as that,
 * not as a misbehaving reader. */
Test(cli, a_tear_mid_command_says_the_card_lost_power)
{
	cr_assert(strncmp(harness_ctl(&h, "tear 1"), "ok", 2) == 0);
	int rc = ECARD("apdu", "00A4040008F045434152444401", "8024000002AABB");
	cr_expect_eq(rc, 2, "%s", out);
	cr_expect(strstr(out, "the card lost power or left the reader in the middle of the "
			      "command"),
		  "%s", out);
	cr_expect_null(strstr(out, "misbehaving"), "%s", out);
	cr_assert(harness_wait_back(&h, 10000), "the card never came back");
	cr_assert_eq(ECARD("apdu", "00A4040008F045434152444401"), 0, "%s", out);
}
