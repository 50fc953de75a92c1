/*
 * test_gp.c - `ecard gp` against ecard-vcard through the real stack: the
 * `ecard` binary of the build tree, a private pcscd with vpcd, and the
 * card's GlobalPlatform card manager (DESIGN §3).
 *
 * Covered: the fixture CAP loaded and installed (an inert instance that
 * SELECT finds), listed, deleted with its instance; a synthetic multi-block
 * CAP (tests/capgen.c) the same way; loads interrupted at every LOAD block
 * and finished with `gp load --resume`, three ways:
 *   - power lost at the first persistent write of block k (its journal is
 *     being written: the card rolls the block back and expects block k);
 *   - power lost right after the last write of block k, all of it landed
 *     (the card took and committed the block, the answer never came back,
 *     as when the link drops at that moment: the card expects block k+1);
 *   - the link cut between blocks: the card taken out of the reader
 *     (`ecard-vcard ctl remove`) once block k-1 is acknowledged, then put
 *     back. The interrupted loader is libecard's ec_gp_load() in this
 *     process (what `ecard gp load` runs), since only its progress hook
 *     can stop it at a given block; the resume is the CLI's.
 * The write index of each block is measured once per test, by a load with
 * libecard whose progress hook reads the card's write counter after every
 * block (`ecard-vcard ctl writes`); a CLI load must then make exactly as
 * many writes. Each interruption is checked against the card's own word
 * (GET DATA DF70: which block it expects, how many bytes it holds) and the
 * card's log (the length of the write that was torn), so a tear cannot
 * silently land elsewhere. `gp load --install --resume` installs once
 * when the answer of the last LOAD block, or of INSTALL itself, was lost.
 * Then PUT KEY adds a key set (the old one still works), and lock / unlock
 * of an application.
 *
 * Each test starts its own pcscd and card and stops them; the tests run one
 * at a time (pcscd's socket is one per namespace; see gp.test).
 */
#include <criterion/criterion.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cap.h"
#include "capgen.h"
#include "gp.h"
#include "harness.h"
#include "pcsc.h"
#include "test_support.h"

#define FIXTURE_PKG "0102030405"
#define FIXTURE_APP "0102030405060708"
#define SELECT_ISD "00A4040008A000000151000000"
#define GET_LOAD_PROGRESS "80CADF7000"
#define DIAG "F045434152444401"

/* The synthetic packages: 8 KiB for the multi-block load, 3000 bytes
 * (13 blocks of 239) for the interruptions. */
static const uint8_t big_pkg[] = { 0xF0, 0x45, 0x43, 0x47, 0x50, 0x38 };
static const uint8_t big_app[] = { 0xF0, 0x45, 0x43, 0x47, 0x50, 0x38, 0x01 };
#define BIG_PKG "F04543475038"
#define BIG_APP "F0454347503801"
static const uint8_t torn_pkg[] = { 0xF0, 0x45, 0x43, 0x47, 0x50, 0x33 };
static const uint8_t torn_app[] = { 0xF0, 0x45, 0x43, 0x47, 0x50, 0x33, 0x01 };
#define TORN_PKG "F04543475033"
#define TORN_APP "F0454347503301"
#define TORN_SIZE 3000
#define MAX_BLOCKS 64

static struct harness h;
static char out[65536];

/* ---- running the command line ---- */

static int ecard_va(const char *first, va_list ap)
{
	const char *args[32];
	char prog[256];
	int n = 0;

	args[n++] = "--reader";
	args[n++] = h.reader;
	for (const char *a = first; a; a = va_arg(ap, const char *)) {
		cr_assert_lt(n, 31, "too many arguments for ecard");
		args[n++] = a;
	}
	args[n] = NULL;
	return harness_run(harness_program("ecard", prog, sizeof(prog)), args, out, sizeof(out));
}

/* ecard --reader (the test's reader) ARGS...; output (with stderr) in out. */
static int ecard(const char *first, ...)
{
	va_list ap;
	va_start(ap, first);
	int rc = ecard_va(first, ap);
	va_end(ap);
	return rc;
}

#define ECARD(...) ecard(__VA_ARGS__, (const char *)NULL)

/* ---- reading what it printed ---- */

/* The section "name": [...] of `gp list --json`, copied into buf. */
static const char *list_section(const char *json, const char *name, char *buf, size_t len)
{
	char key[32];
	snprintf(key, sizeof(key), "\"%s\": [", name);
	const char *p = strstr(json, key);
	cr_assert(p, "no %s in: %s", name, json);
	const char *end = strstr(p + 1, "\n \"");	/* the next section */
	size_t n = end ? (size_t)(end - p) : strlen(p);
	snprintf(buf, len, "%.*s", (int)n, p);
	return buf;
}

/* How many entries of the section have this AID. */
static int count_entries(const char *json, const char *section, const char *aid)
{
	char buf[8192], pattern[64];
	list_section(json, section, buf, sizeof(buf));
	snprintf(pattern, sizeof(pattern), "{\"aid\": \"%s\",", aid);
	int n = 0;
	for (const char *p = buf; (p = strstr(p, pattern)); p++)
		n++;
	return n;
}

/* The entry (one line of JSON) of the section with this AID. */
static const char *entry(const char *json, const char *section, const char *aid, char *e, size_t len)
{
	char buf[8192], pattern[64];
	list_section(json, section, buf, sizeof(buf));
	snprintf(pattern, sizeof(pattern), "{\"aid\": \"%s\",", aid);
	const char *p = strstr(buf, pattern);
	cr_assert(p, "no %s in %s: %s", aid, section, json);
	snprintf(e, len, "%.*s", (int)strcspn(p, "\n"), p);
	return e;
}

/* `gp list --json` with the default keys; its output in out. */
static void gp_list(void)
{
	int rc = ECARD("gp", "list", "--json");
	cr_assert_eq(rc, 0, "ecard gp list --json: %s", out);
}

/* The JSON line that `gp load --json` printed (after its progress lines). */
static const char *load_json(const char *text)
{
	const char *p = strstr(text, "{\"package\": ");
	cr_assert(p, "no JSON from gp load: %s", text);
	return p;
}

/* The number after "key": in a line of JSON. */
static long json_long(const char *json, const char *key)
{
	char pattern[64];
	snprintf(pattern, sizeof(pattern), "\"%s\": ", key);
	const char *p = strstr(json, pattern);
	cr_assert(p, "no %s in %s", key, json);
	return strtol(p + strlen(pattern), NULL, 10);
}

/* The status word of the last command of `ecard apdu`. */
static unsigned apdu_sw(const char *text)
{
	const char *p = text, *last = NULL;
	while ((p = strstr(p, "SW ")))
		last = p++;
	cr_assert(last, "no status word in: %s", text);
	return (unsigned)strtoul(last + 3, NULL, 16);
}

struct load_progress {
	bool active;
	unsigned next_block;
	unsigned long received, total;
};

static unsigned long hex_field(const char *p, int digits)
{
	char buf[16];
	snprintf(buf, sizeof(buf), "%.*s", digits, p);
	return strtoul(buf, NULL, 16);
}

/* GET DATA DF70 (outside a secure channel): where the card's load stands. */
static struct load_progress load_progress(void)
{
	int rc = ECARD("apdu", SELECT_ISD, GET_LOAD_PROGRESS);
	cr_assert_eq(rc, 0, "GET DATA DF70: %s", out);
	const char *p = strstr(out, "< DF70");
	cr_assert(p, "no DF70 in: %s", out);
	p += 6;
	cr_assert_geq(strcspn(p, "\n"), 2 + 2 + 2 + 8 + 8 + 2, "DF70 too short: %s", out);
	return (struct load_progress){ .active = hex_field(p + 2, 2) != 0,
				       .next_block = (unsigned)hex_field(p + 4, 2),
				       .received = hex_field(p + 6, 8),
				       .total = hex_field(p + 14, 8) };
}

/* The last power loss in the card's log: bytes landed of how many. */
static void last_tear(size_t *landed, size_t *len)
{
	char path[160], line[512];
	snprintf(path, sizeof(path), "%s/vcard.log", h.dir);
	FILE *f = fopen(path, "r");
	cr_assert(f, "cannot read %s", path);
	bool found = false;
	while (fgets(line, sizeof(line), f)) {
		const char *p = strstr(line, "power lost at a persistent write (");
		if (p && sscanf(p, "power lost at a persistent write (%zu of %zu", landed, len) == 2)
			found = true;
	}
	fclose(f);
	cr_assert(found, "no tear in the card's log %s", path);
}

/* ---- setup ---- */

static void start(const char *outage_ms)
{
	harness_init(&h);
	harness_start_pcscd(&h);
	const char *extra[] = { "--outage", outage_ms, NULL };
	harness_start_vcard(&h, outage_ms ? extra : NULL);
	cr_assert(harness_wait_usable(&h, 8000), "the card never appeared in %s", h.reader);
}

static void setup(void)
{
	start(NULL);
}

/* The interruption loops: a shorter outage, still longer than pcscd's
 * polling of the reader, so that pcscd sees every power loss. */
static void setup_fast(void)
{
	start("600");
}

static void teardown(void)
{
	harness_stop(&h);
}

static void write_cap(const char *path, const uint8_t *pkg, size_t pkg_len, const uint8_t *app,
		      size_t app_len, size_t size)
{
	const struct capgen_applet applet = { app, app_len };
	const struct capgen_spec spec = {
		.package_aid = pkg,
		.package_aid_len = pkg_len,
		.version_major = 1,
		.version_minor = 2,
		.package_path = "com/ecard/gptest",
		.applets = &applet,
		.applet_count = 1,
		.target_size = size,
		.format_minor = 2,
	};
	cr_assert_eq(capgen_write_spec(&spec, path), 0, "capgen cannot write %s", path);
}

/* Load, install, list, select, delete --related, list and select again;
 * as "gp load CAP --install", or as GlobalPlatformPro's users type it,
 * "gp install CAP". */
static void load_install_delete(const char *cap, const char *pkg, const char *app,
				const char *version, long blocks_min, bool install_verb)
{
	char e[1024], select[64];
	snprintf(select, sizeof(select), "00A40400%02zX%s", strlen(app) / 2, app);

	int rc = install_verb ? ECARD("gp", "install", cap, "--json")
			      : ECARD("gp", "load", cap, "--install", "--json");
	cr_assert_eq(rc, 0, "gp %s %s: %s", install_verb ? "install" : "load --install", cap, out);
	const char *j = load_json(out);
	cr_assert(strstr(j, "\"start\": \"fresh\""), "%s", j);
	cr_assert_geq(json_long(j, "blocks"), blocks_min, "%s", j);
	char installed[64];
	snprintf(installed, sizeof(installed), "\"installed\": \"%s\"", app);
	cr_assert(strstr(j, installed), "%s", j);
	cr_log_info("gp load %s: %ld bytes in %ld LOAD blocks of %ld", pkg, json_long(j, "load_file_size"),
		    json_long(j, "blocks"), json_long(j, "block_size"));

	gp_list();
	cr_assert_eq(count_entries(out, "load_files", pkg), 1, "%s", out);
	entry(out, "load_files", pkg, e, sizeof(e));
	char want[96];
	snprintf(want, sizeof(want), "\"version\": \"%s\"", version);
	cr_assert(strstr(e, want), "%s", e);
	snprintf(want, sizeof(want), "\"modules\": [\"%s\"]", app);
	cr_assert(strstr(e, want), "%s", e);
	cr_assert_eq(count_entries(out, "applications", app), 1, "%s", out);
	entry(out, "applications", app, e, sizeof(e));
	cr_assert(strstr(e, "\"life_cycle\": \"SELECTABLE\""), "%s", e);
	snprintf(want, sizeof(want), "\"load_file\": \"%s\"", pkg);
	cr_assert(strstr(e, want), "%s", e);

	/* An inert instance: SELECT answers 9000, anything else 6D00. */
	rc = ECARD("apdu", select);
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert_eq(apdu_sw(out), 0x9000, "%s", out);
	rc = ECARD("apdu", select, "80010000");
	cr_assert_eq(apdu_sw(out), 0x6D00, "%s", out);

	rc = ECARD("gp", "delete", pkg, "--related");
	cr_assert_eq(rc, 0, "gp delete %s --related: %s", pkg, out);
	cr_assert(strstr(out, "deleted"), "%s", out);
	rc = ECARD("apdu", select);
	cr_assert_eq(rc, 1, "%s", out);
	cr_assert_eq(apdu_sw(out), 0x6A82, "%s", out);
	gp_list();
	cr_assert_eq(count_entries(out, "load_files", pkg), 0, "%s", out);
	cr_assert_eq(count_entries(out, "applications", app), 0, "%s", out);
	cr_assert_eq(count_entries(out, "applications", DIAG), 1, "the card's own stay: %s", out);
}

TestSuite(gp, .fini = teardown, .timeout = 120);

Test(gp, fixture_load_install_select_delete, .init = setup)
{
	load_install_delete(TEST_CAP_FIXTURE, FIXTURE_PKG, FIXTURE_APP, "0.0", 1, true);
}

Test(gp, multi_block_load_install_delete, .init = setup)
{
	char cap[160];
	snprintf(cap, sizeof(cap), "%s/big.cap", h.dir);
	write_cap(cap, big_pkg, sizeof(big_pkg), big_app, sizeof(big_app), 8192);
	load_install_delete(cap, BIG_PKG, BIG_APP, "1.2", 30, false);
}

/* ---- interrupted loads ---- */

/* Where the card's writes stand after each LOAD block of a load. */
struct layout {
	size_t blocks, block_size, header;	/* header: C4 and its length */
	long open;		/* writes of opening the secure channel */
	long before[MAX_BLOCKS + 1];	/* writes of the load before block k */
};

static long writes(void)
{
	/* Since the daemon started: pcscd powering the idle card off and on
	 * between two programs must not reset the count. */
	long n = harness_ctl_value(&h, "writes", "total_writes");
	cr_assert_geq(n, 0, "ecard-vcard ctl writes: %s", harness_ctl(&h, "writes"));
	return n;
}

struct calibration {
	struct layout *l;
	long base;
	long remove_at;		/* cut the link before this block; -1: never */
};

static void on_block(void *arg, size_t done, size_t blocks, size_t bytes, size_t total)
{
	struct calibration *c = arg;
	(void)bytes;
	(void)total;
	if (c->l && done <= MAX_BLOCKS) {
		c->l->before[done] = writes() - c->base;
		c->l->blocks = blocks;
	}
	if (c->remove_at >= 0 && done == (size_t)c->remove_at)
		cr_assert_str_eq(harness_ctl(&h, "remove"), "ok removed");
}

/*
 * A load with libecard, as `ecard gp load` makes it (default keys,
 * security level 03, default block size), through pcscd. With l, it
 * records the card's writes before each block; with remove_at >= 0 it
 * takes the card out of the reader before that block. Returns the status.
 */
static enum ec_status libecard_load(const char *path, struct layout *l, long remove_at,
				    struct ec_gp_load_result *res)
{
	struct ec_pcsc pc;
	struct ec_gp_session s = { 0 };
	struct ec_gp_keys keys;
	struct ec_gp_options opt;
	struct ec_error err = { 0 };
	struct calibration c = { .l = l, .remove_at = remove_at };
	struct ec_gp_load_options lo = { .progress = on_block, .progress_arg = &c };
	struct ec_cap *cap = malloc(sizeof(*cap));

	cr_assert(cap);
	cr_assert_eq(ec_cap_open(path, cap, &err), EC_OK, "%s", err.text);
	ec_pcsc_init(&pc, NULL);
	cr_assert_eq(ec_establish(&pc), EC_OK);
	cr_assert_eq(ec_connect(&pc, h.reader, 0), EC_OK);
	ec_gp_default_keys(&keys, 0);
	ec_gp_options_init(&opt);
	opt.level = EC_GP_LEVEL_C_MAC | EC_GP_LEVEL_C_DEC;
	c.base = writes();
	cr_assert_eq(ec_gp_connect(&s, &pc, &keys, &opt, &err), EC_OK, "%s", err.text);
	if (l) {
		l->open = writes() - c.base;
		l->header = cap->load_data_len - cap->load_file_len;
	}
	enum ec_status st = ec_gp_load(&s, cap, &lo, res, &err);
	if (l)
		l->block_size = res->block_size;
	ec_gp_close(&s);
	ec_release(&pc);
	ec_cap_free(cap);
	free(cap);
	return st;
}

/*
 * Measure the layout of a load of path: once with libecard (writes
 * before each block), then with the CLI, which must make exactly as many
 * writes. The package is deleted after each, so every load meets the card
 * in the state the interrupted ones will (the first load of a fresh card
 * image finds its heap laid out otherwise).
 */
static void measure(const char *path, const char *pkg, struct layout *l)
{
	struct ec_gp_load_result res;

	memset(l, 0, sizeof(*l));
	cr_assert_eq(ECARD("gp", "load", path), 0, "%s", out);
	cr_assert_eq(ECARD("gp", "delete", pkg, "--related"), 0, "%s", out);
	cr_assert_eq(libecard_load(path, l, -1, &res), EC_OK);
	cr_assert_eq(ECARD("gp", "delete", pkg, "--related"), 0, "%s", out);
	cr_assert(l->blocks >= 2 && l->blocks < MAX_BLOCKS, "%zu blocks", l->blocks);
	for (size_t k = 0; k < l->blocks; k++)
		cr_assert_geq(l->before[k + 1] - l->before[k], 4,
			      "block %zu made %ld writes: a transaction makes at least 4", k,
			      l->before[k + 1] - l->before[k]);

	long w0 = writes();
	cr_assert_eq(ECARD("gp", "load", path, "--json"), 0, "%s", out);
	long cli = writes() - w0;
	cr_assert_eq(json_long(load_json(out), "blocks"), (long)l->blocks, "%s", out);
	cr_assert_eq(cli, l->before[l->blocks], "the CLI's load makes %ld writes, libecard's %ld",
		     cli, l->before[l->blocks]);
	cr_assert_eq(ECARD("gp", "delete", pkg, "--related"), 0, "%s", out);
	cr_log_info("a load of %zu blocks of %zu makes %ld writes: %ld opening the channel, %ld INSTALL [for load], %ld block 0, %ld block 1, %ld the last block",
		    l->blocks, l->block_size, cli, l->open, l->before[0] - l->open,
		    l->before[1] - l->before[0], l->before[2] - l->before[1],
		    l->before[l->blocks] - l->before[l->blocks - 1]);
}

/* Bytes of the load file the card holds after blocks 0..k-1. */
static unsigned long received_after(const struct layout *l, size_t k, unsigned long total)
{
	if (k == 0)
		return 0;
	unsigned long n = (unsigned long)(k * l->block_size - l->header);
	return n < total ? n : total;
}

/* After an interruption: the card back, the resume, and the checks that
 * the package is there once, whole, with no load left open. Returns the
 * JSON of the resume's result in res_json. */
static void resume_and_check(const char *path, const char *pkg, const char *what,
			     char *res_json, size_t len)
{
	char e[1024];
	int rc = ECARD("gp", "load", path, "--resume", "--json");
	cr_assert_eq(rc, 0, "%s: gp load --resume: %s", what, out);
	snprintf(res_json, len, "%.*s", (int)strcspn(load_json(out), "\n"), load_json(out));
	cr_assert(strstr(res_json, "\"card_resumes\": true"), "%s: %s", what, res_json);

	gp_list();
	cr_assert_eq(count_entries(out, "load_files", pkg), 1, "%s: the package once: %s", what, out);
	entry(out, "load_files", pkg, e, sizeof(e));
	cr_assert(strstr(e, "\"version\": \"1.2\""), "%s: %s", what, e);
	cr_assert(strstr(e, "\"life_cycle\": \"LOADED\""), "%s: %s", what, e);
	struct load_progress p = load_progress();
	cr_assert_not(p.active, "%s: a load is still open on the card: %s", what, out);
	cr_assert_eq(ECARD("gp", "delete", pkg, "--related"), 0, "%s: %s", what, out);
}

/* Arm a tear at write n of the next command (landed: bytes of it that
 * land; NULL: a random number), run `gp load` (with --install), and wait
 * for the card. What gp load said stays in out. */
static void torn_load(const char *path, long n, const char *landed, bool install, const char *what)
{
	char cmd[48];
	long tears = harness_ctl_value(&h, "status", "tears");
	if (landed)
		snprintf(cmd, sizeof(cmd), "tear %ld %s", n, landed);
	else
		snprintf(cmd, sizeof(cmd), "tear %ld", n);
	const char *reply = harness_ctl(&h, cmd);
	cr_assert(strncmp(reply, "ok", 2) == 0, "%s: %s", what, reply);

	int rc = ECARD("gp", "load", path, install ? "--install" : NULL);
	cr_assert_neq(rc, 0, "%s: gp load did not notice the power loss: %s", what, out);
	cr_assert_eq(harness_ctl_value(&h, "status", "tears"), tears + 1,
		     "%s: the tear fired during gp load: %s", what, out);
	cr_assert(harness_wait_back(&h, 10000), "%s: the card never came back", what);
}

Test(gp, power_lost_in_every_load_block, .init = setup_fast, .timeout = 150)
{
	char cap[160], what[64], res[1024];
	struct layout l;
	snprintf(cap, sizeof(cap), "%s/torn.cap", h.dir);
	write_cap(cap, torn_pkg, sizeof(torn_pkg), torn_app, sizeof(torn_app), TORN_SIZE);
	measure(cap, TORN_PKG, &l);

	/* k = -1: INSTALL [for load] itself (the card keeps no load). */
	unsigned points = 0;
	for (long k = -1; k < (long)l.blocks; k++) {
		size_t landed, len;
		snprintf(what, sizeof(what), k < 0 ? "INSTALL [for load]" : "block %ld", k);
		/* The first write of the transaction: its journal. */
		torn_load(cap, 1 + (k < 0 ? l.open : l.before[k]), NULL, false, what);
		cr_assert(k < 0 || strstr(out, "--resume"), "%s: the message tells to resume: %s", what, out);
		last_tear(&landed, &len);
		cr_assert_gt(len, 32, "%s: the torn write is a journal, not a 32-byte commit record (%zu of %zu bytes)",
			     what, landed, len);

		struct load_progress p = load_progress();
		if (k < 0) {
			cr_assert_not(p.active, "%s: INSTALL rolled back: %s", what, out);
		} else {
			cr_assert(p.active, "%s: %s", what, out);
			cr_assert_eq(p.next_block, (unsigned)k, "%s: the card expects block %u: %s", what,
				     p.next_block, out);
			cr_assert_eq(p.received, received_after(&l, (size_t)k, TORN_SIZE), "%s: %s", what, out);
		}
		resume_and_check(cap, TORN_PKG, what, res, sizeof(res));
		if (k > 0) {
			cr_assert(strstr(res, "\"start\": \"resumed\""), "%s: %s", what, res);
			cr_assert_eq(json_long(res, "first_block"), k, "%s: %s", what, res);
		} else {
			/* No block to keep: INSTALL [for load] again, block 0 on. */
			cr_assert(strstr(res, "\"start\": \"fresh\""), "%s: %s", what, res);
		}
		points++;
	}
	cr_log_info("power lost in the first write of INSTALL [for load] and of each of the %zu LOAD blocks: %u interruption points, each resumed",
		    l.blocks, points);
	fprintf(stderr, "gp: %u interruption points: power lost at the journal write of INSTALL [for load] and of each LOAD block\n",
		points);
}

Test(gp, answer_lost_after_every_load_block, .init = setup_fast, .timeout = 150)
{
	char cap[160], what[64], res[1024];
	struct layout l;
	snprintf(cap, sizeof(cap), "%s/torn.cap", h.dir);
	write_cap(cap, torn_pkg, sizeof(torn_pkg), torn_app, sizeof(torn_app), TORN_SIZE);
	measure(cap, TORN_PKG, &l);

	unsigned points = 0;
	for (size_t k = 0; k < l.blocks; k++) {
		size_t landed, len;
		bool last = k + 1 == l.blocks;
		snprintf(what, sizeof(what), "after block %zu", k);
		/* Block k's last write, whole: the card has it, the host never
		 * hears back. */
		torn_load(cap, l.before[k + 1], "100000", false, what);
		cr_assert(strstr(out, "--resume"), "%s: the message tells to resume: %s", what, out);
		last_tear(&landed, &len);
		cr_assert(landed == 32 && len == 32, "%s: the torn write is block %zu's commit record being cleared, whole (%zu of %zu bytes)",
			  what, k, landed, len);

		struct load_progress p = load_progress();
		if (last) {
			cr_assert_not(p.active, "%s: the load completed on the card: %s", what, out);
		} else {
			cr_assert(p.active, "%s: %s", what, out);
			cr_assert_eq(p.next_block, (unsigned)k + 1, "%s: the card expects block %u: %s", what,
				     p.next_block, out);
			cr_assert_eq(p.received, received_after(&l, k + 1, TORN_SIZE), "%s: %s", what, out);
		}
		resume_and_check(cap, TORN_PKG, what, res, sizeof(res));
		if (last) {
			cr_assert(strstr(res, "\"start\": \"already_loaded\""), "%s: %s", what, res);
		} else {
			cr_assert(strstr(res, "\"start\": \"resumed\""), "%s: %s", what, res);
			cr_assert_eq(json_long(res, "first_block"), (long)k + 1, "%s: %s", what, res);
		}
		points++;
	}
	fprintf(stderr, "gp: %u interruption points: power lost right after each LOAD block was committed (answer lost)\n",
		points);
}

Test(gp, link_cut_before_every_load_block, .init = setup_fast, .timeout = 150)
{
	char cap[160], what[64], res[1024];
	struct layout l;
	struct ec_gp_load_result r;
	snprintf(cap, sizeof(cap), "%s/torn.cap", h.dir);
	write_cap(cap, torn_pkg, sizeof(torn_pkg), torn_app, sizeof(torn_app), TORN_SIZE);
	measure(cap, TORN_PKG, &l);

	unsigned points = 0;
	for (size_t k = 0; k < l.blocks; k++) {
		snprintf(what, sizeof(what), "link cut before block %zu", k);
		memset(&r, 0, sizeof(r));
		cr_assert_neq(libecard_load(cap, NULL, (long)k, &r), EC_OK, "%s: the load went through", what);
		cr_assert_eq(r.blocks_done, k, "%s: libecard says %zu blocks got through", what, r.blocks_done);
		cr_assert(harness_wait_card(&h, false, 3000), "%s: pcscd never saw the card leave", what);
		cr_assert_str_eq(harness_ctl(&h, "insert"), "ok inserted");
		cr_assert(harness_wait_usable(&h, 10000), "%s: the card never came back", what);

		struct load_progress p = load_progress();
		cr_assert(p.active, "%s: %s", what, out);
		cr_assert_eq(p.next_block, (unsigned)k, "%s: the card expects block %u: %s", what, p.next_block,
			     out);
		cr_assert_eq(p.received, received_after(&l, k, TORN_SIZE), "%s: %s", what, out);
		resume_and_check(cap, TORN_PKG, what, res, sizeof(res));
		if (k > 0) {
			cr_assert(strstr(res, "\"start\": \"resumed\""), "%s: %s", what, res);
			cr_assert_eq(json_long(res, "first_block"), (long)k, "%s: %s", what, res);
		} else {
			cr_assert(strstr(res, "\"start\": \"fresh\""), "%s: %s", what, res);
		}
		points++;
	}
	fprintf(stderr, "gp: %u interruption points: the card taken out of the reader before each LOAD block\n",
		points);
}

/* `gp load --install --resume` after the answer of the last LOAD block,
 * then of INSTALL [for install], was lost: installed once either way. */
Test(gp, resume_installs_once, .init = setup_fast)
{
	char cap[160], e[1024];
	const char *cases[] = { "the last LOAD block", "INSTALL [for install]" };
	struct layout l;
	snprintf(cap, sizeof(cap), "%s/torn.cap", h.dir);
	write_cap(cap, torn_pkg, sizeof(torn_pkg), torn_app, sizeof(torn_app), TORN_SIZE);
	measure(cap, TORN_PKG, &l);

	long w0 = writes();
	cr_assert_eq(ECARD("gp", "load", cap, "--install"), 0, "%s", out);
	long install = writes() - w0 - l.before[l.blocks];
	cr_assert_geq(install, 4, "INSTALL [for install] makes %ld writes", install);
	cr_assert_eq(ECARD("gp", "delete", TORN_PKG, "--related"), 0, "%s", out);

	for (int i = 0; i < 2; i++) {
		const char *what = cases[i];
		torn_load(cap, l.before[l.blocks] + (i ? install : 0), "100000", true, what);
		/* Either way the message points to what finishes the job. */
		cr_assert(strstr(out, "--resume"), "%s: %s", what, out);
		int rc = ECARD("gp", "load", cap, "--install", "--resume");
		cr_assert_eq(rc, 0, "%s: %s", what, out);
		cr_assert(strstr(out, "already held it whole"), "%s: %s", what, out);
		cr_assert(strstr(out, i ? "installed " TORN_APP " (selectable; by the run that was interrupted)"
					: "installed " TORN_APP " (selectable)\n"),
			  "%s: %s", what, out);
		gp_list();
		cr_assert_eq(count_entries(out, "load_files", TORN_PKG), 1, "%s: %s", what, out);
		cr_assert_eq(count_entries(out, "applications", TORN_APP), 1, "%s: %s", what, out);
		entry(out, "applications", TORN_APP, e, sizeof(e));
		cr_assert(strstr(e, "\"life_cycle\": \"SELECTABLE\""), "%s: %s", what, e);
		rc = ECARD("apdu", "00A4040007" TORN_APP);
		cr_assert_eq(apdu_sw(out), 0x9000, "%s: %s", what, out);
		cr_assert_not(load_progress().active, "%s: %s", what, out);
		cr_assert_eq(ECARD("gp", "delete", TORN_PKG, "--related"), 0, "%s: %s", what, out);
	}
}

/* ---- keys and life cycles ---- */

#define K31_ENC "000102030405060708090A0B0C0D0E0F"
#define K31_MAC "101112131415161718191A1B1C1D1E1F"
#define K31_DEK "202122232425262728292A2B2C2D2E2F"

Test(gp, put_key_adds_a_key_set, .init = setup)
{
	int rc = ECARD("gp", "put-key", "--new-kvn", "31", "--new-key-enc", K31_ENC, "--new-key-mac",
		       K31_MAC, "--new-key-dek", K31_DEK, "--json");
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out, "{\"kvn\": \"31\", \"replaced\": null"), "%s", out);

	/* Both key sets, three AES-128 keys each. */
	rc = ECARD("gp", "info", "--json");
	cr_assert_eq(rc, 0, "%s", out);
	for (int id = 1; id <= 3; id++) {
		char want[80];
		snprintf(want, sizeof(want), "{\"id\": %d, \"version\": \"30\", \"type\": \"88\", \"length\": 16}", id);
		cr_assert(strstr(out, want), "%s", out);
		snprintf(want, sizeof(want), "{\"id\": %d, \"version\": \"31\", \"type\": \"88\", \"length\": 16}", id);
		cr_assert(strstr(out, want), "%s", out);
	}

	/* The new set opens a channel, also with C-DECRYPTION (the ENC key). */
	rc = ECARD("gp", "list", "--kvn", "31", "--key-enc", K31_ENC, "--key-mac", K31_MAC, "--key-dek",
		   K31_DEK, "--json");
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert_eq(count_entries(out, "isd", "A000000151000000"), 1, "%s", out);
	rc = ECARD("gp", "list", "--kvn", "31", "--key-enc", K31_ENC, "--key-mac", K31_MAC, "--key-dek",
		   K31_DEK, "--level", "03");
	cr_assert_eq(rc, 0, "%s", out);
	/* ... and only with its own keys. */
	rc = ECARD("gp", "list", "--kvn", "31");
	cr_assert_eq(rc, 1, "the test keys are not key set 31: %s", out);
	cr_assert(strstr(out, "wrong keys"), "%s", out);
	rc = ECARD("gp", "list", "--kvn", "31", "--key-enc", K31_ENC, "--key-mac", K31_ENC, "--key-dek",
		   K31_DEK);
	cr_assert_eq(rc, 1, "a wrong MAC key: %s", out);

	/* Added, not replaced: the test keys still work, by KVN and by default. */
	rc = ECARD("gp", "list", "--kvn", "30");
	cr_assert_eq(rc, 0, "%s", out);
	rc = ECARD("gp", "list");
	cr_assert_eq(rc, 0, "%s", out);
	rc = ECARD("gp", "list", "--kvn", "32", "--key-enc", K31_ENC, "--key-mac", K31_MAC, "--key-dek",
		   K31_DEK);
	cr_assert_eq(rc, 1, "no key set 32: %s", out);
}

Test(gp, lock_and_unlock_an_application, .init = setup)
{
	char e[1024];
	int rc = ECARD("apdu", "00A4040008" DIAG);
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert_eq(apdu_sw(out), 0x9000, "%s", out);

	rc = ECARD("gp", "lock", DIAG);
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out, "locked " DIAG), "%s", out);
	rc = ECARD("apdu", "00A4040008" DIAG);
	cr_assert_eq(rc, 1, "%s", out);
	cr_assert_eq(apdu_sw(out), 0x6A82, "a locked application is not found: %s", out);
	gp_list();
	entry(out, "applications", DIAG, e, sizeof(e));
	cr_assert(strstr(e, "\"life_cycle\": \"LOCKED\""), "%s", e);

	rc = ECARD("gp", "unlock", DIAG);
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert(strstr(out, "unlocked " DIAG), "%s", out);
	rc = ECARD("apdu", "00A4040008" DIAG);
	cr_assert_eq(rc, 0, "%s", out);
	cr_assert_eq(apdu_sw(out), 0x9000, "%s", out);
	gp_list();
	entry(out, "applications", DIAG, e, sizeof(e));
	cr_assert(strstr(e, "\"life_cycle\": \"SELECTABLE\""), "%s", e);
}
