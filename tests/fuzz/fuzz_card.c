/*
 * fuzz_card.c - a standalone mutation fuzzer of the card's APDU entry
 * point, vc_card_process(), with every applet (wallet, profile, diag) and
 * the card manager, on the engine of fuzz_engine.c.
 *
 * The corpus starts from real traffic: the commands ecard's host clients
 * send while they issue, use and manage cards (fuzz_scenario.c), the
 * secured ones as sent and as plain commands, and typed-in ones for what
 * the clients never send (the diagnostic applet, logical channels,
 * extended lengths). The scenarios also leave three card images: a new
 * card, one issued through the card manager (money loaded and spent,
 * load files and instances), one personalized in the factory with
 * SCP03 "i" 10 (no R-MAC). The card under test is a copy of one of them,
 * 256 KiB of memory behind the tearing wrapper, made again every few
 * thousand commands (and sooner when the fuzzer has locked it up: keys
 * replaced, PUK blocked) so that the run does not degenerate.
 *
 * Three targets, all against that one card, in whatever state the
 * previous inputs left it:
 *   apdu     the mutated command as it is;
 *   secured  the mutated command as a plain command through the host's
 *            SCP03 session (gp_session.h over the in-process transport),
 *            opened at a random level (00 01 03 11 13 33) on channel 0 or
 *            a supplementary one;
 *   torn     either of the above with the power cut at a random write of
 *            the command, a random prefix of that write landing.
 * Before each input the harness may select an applet or the card manager
 * on a channel, verify the PIN (unblocking it with the PUK when the
 * fuzzer changed it), reset or power-cycle the card, replay a stretch of
 * the scenarios' commands in order (into the middle of a load or a
 * personalization), load the wallet legitimately (the issuer's S2 from
 * issuer.c, the CREDIT sometimes torn), or check the wallet.
 *
 * Invariants, besides the sanitizers': every answer is at least a status
 * word, 9000 or 61xx-6Fxx, with data only behind 9000, 61xx, 62xx and
 * 63xx, never more than the command's Ne (or the front-end's frame) and
 * exactly that much behind 61xx; the card loses power only when a tear
 * was armed, and answers nothing once it has; after a tear, power-up
 * recovery succeeds and the card answers SELECT of the card manager and
 * GET DATA with 9000; the card opens a secure channel with its keys as
 * long as no PUT KEY succeeded; after a command secured in a session that
 * nothing else disturbed, the session still works (GET DATA through it
 * answers, its R-MAC verifies); and the wallet never holds more than it
 * held when the image was made plus what the harness credited with a
 * valid S2, nor more than its maximum, and its counter never goes back.
 *
 * The card's own randomness (key pairs, serial numbers, challenges) is not
 * the engine's generator, so a rerun with the same seed follows the same
 * path only as far as that does not decide; a violation therefore also
 * prints the card's last exchanges and what the harness did in between,
 * which is what a regression test starts from.
 *
 *   fuzz_card [--seconds N | --iterations N] [--seed N]
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "applets.h"
#include "cursor.h"
#include "fuzz_engine.h"
#include "fuzz_scenario.h"
#include "gp.h"
#include "hex.h"
#include "isd.h"
#include "issuer.h"
#include "scp03.h"
#include "wallet.h"

/* The longest command APDU: extended case 4. */
#define MAX_APDU (4 + 3 + 65535 + 2)
#define CORPUS_KEEP_MAX_LEN 1024
/* Inputs run on one copy of an image before the next copy: 500 and up. */
#define COPY_MIN 500
#define COPY_SPREAD 3000
#define TRACE_LINES 64
#define TRACE_WIDTH 160

static const uint8_t isd_aid[] = { GP_ISD_AID };
static const uint8_t wallet_aid[] = { WALLET_AID };
static const uint8_t profile_aid[] = { PROFILE_AID };
static const uint8_t diag_aid[] = { DIAG_AID };

/* ---- the card images ---- */

enum image { IMAGE_NEW, IMAGE_ISSUED, IMAGE_FACTORY, N_IMAGES };

static const char *const image_names[N_IMAGES] = { "new", "issued", "factory (i=10)" };

struct golden {
	uint8_t *bytes;		/* FZ_IMAGE_SIZE */
	bool r_mac;		/* SCP03 "i" 70, not 10 */
	uint32_t balance;	/* the wallet's when the image was taken */
};

static struct fz_world world;
static struct golden goldens[N_IMAGES];
/* The commands the scenarios sent: every target's seeds. */
static struct fuzz_corpus recorded;
/* The same in their order, each behind a byte that says how it went:
 * in clear, or through a secure channel (then without its MAC). The
 * secure channels' openings are left out. */
static struct fuzz_corpus script;
#define SCRIPT_PLAIN 0
#define SCRIPT_SECURED 1

/* ---- the card under test and what the harness knows of it ---- */

static struct {
	struct fz_card c;
	enum image image;
	unsigned long since_copy, copy_at;
	bool stuck;		/* the fuzzer locked the harness out: copy again */

	/* The host's secure channel. */
	struct ec_gp_session s;
	bool clean;		/* nothing but its own commands since it opened */
	bool tear_armed;

	/* What the fuzzer may legitimately have changed. */
	bool keys_changed;	/* a PUT KEY succeeded */
	uint64_t bound;		/* the most the wallet may hold */
	uint32_t counter;	/* the wallet's counter when last read */
	bool counter_known;	/* (not after an INSTALL or DELETE) */

	/* The input being run, for violations found below the run function. */
	const struct fuzz_run *r;
	const uint8_t *in;
	size_t in_len;

	char trace[TRACE_LINES][TRACE_WIDTH];
	unsigned long trace_n;

	unsigned long tears, sessions, level_sessions[0x34], loads, copies, wallet_checks;
} rig;

__attribute__((format(printf, 1, 2)))
static void trace(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rig.trace[rig.trace_n++ % TRACE_LINES], TRACE_WIDTH, fmt, ap);
	va_end(ap);
}

__attribute__((format(printf, 1, 2), noreturn))
static void violated(const char *fmt, ...)
{
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	fuzz_violation(rig.r, rig.in, rig.in_len, "%s", what);
}

static void report(void)
{
	unsigned long first = rig.trace_n > TRACE_LINES ? rig.trace_n - TRACE_LINES : 0;

	fprintf(stderr, "%s: image %s, %lu inputs since it was copied; the last exchanges "
		"(C: command, R: answer):\n", fuzz_name(), image_names[rig.image], rig.since_copy);
	for (unsigned long i = first; i < rig.trace_n; i++)
		fprintf(stderr, "  %s\n", rig.trace[i % TRACE_LINES]);
}

/* ---- what every answer must satisfy ---- */

/* The most response data the command may get: its Ne as ISO 7816-4
 * reads the body, 256 (short) or 65536 (extended) without Le, capped by
 * the front-end's frame; -1 for a body that is no case at all. */
static long max_data(const uint8_t *cmd, size_t len)
{
	long ne;

	if (len < 4)
		return -1;
	size_t body = len - 4;
	const uint8_t *b = cmd + 4;
	if (body == 0) {
		ne = 256;
	} else if (body == 1) {
		ne = b[0] ? b[0] : 256;
	} else if (b[0] != 0) {
		if (body == 1u + b[0])
			ne = 256;
		else if (body == 2u + b[0])
			ne = b[1 + b[0]] ? b[1 + b[0]] : 256;
		else
			return -1;
	} else if (body == 3) {
		uint16_t le = load_be16(b + 1);
		ne = le ? le : 65536;
	} else {
		uint16_t lc = body >= 3 ? load_be16(b + 1) : 0;
		if (body < 3 || lc == 0)
			return -1;
		if (body == 3u + lc) {
			ne = 65536;
		} else if (body == 5u + lc) {
			uint16_t le = load_be16(b + 3 + lc);
			ne = le ? le : 65536;
		} else {
			return -1;
		}
	}
	if (rig.c.card.max_rsp_data && (size_t)ne > rig.c.card.max_rsp_data)
		ne = (long)rig.c.card.max_rsp_data;
	return ne;
}

static void trace_exchange(const uint8_t *cmd, size_t len, const uint8_t *rsp, size_t rsp_len)
{
	char c[2 * 40 + 1], a[2 * 8 + 1];
	size_t shown = len < 40 ? len : 40;

	hex_encode(cmd, shown, c);
	if (rsp_len == 0) {
		trace("C: %s%s (%zu bytes)  R: none, the power was lost", c, shown < len ? ".." : "",
		      len);
		return;
	}
	size_t tail = rsp_len < 8 ? rsp_len : 8;
	hex_encode(rsp + rsp_len - tail, tail, a);
	trace("C: %s%s (%zu bytes)  R: %s%s (%zu bytes)", c, shown < len ? ".." : "", len,
	      tail < rsp_len ? ".." : "", a, rsp_len);
}

/* What the fuzzer may have changed with a command that succeeded, or was
 * torn and so may have committed. */
static void note_effects(const uint8_t *cmd, size_t len)
{
	if (len < 4)
		return;
	if (cmd[1] == GP_INS_PUT_KEY)
		rig.keys_changed = true;
	if (cmd[1] == GP_INS_INSTALL || cmd[1] == GP_INS_DELETE)
		rig.counter_known = false;
}

/* Every exchange with the card, the harness's own included, comes here
 * (fz_card's hook): rsp_len 0 when the card gave no answer. */
static void observe(void *arg, const uint8_t *cmd, size_t len, const uint8_t *rsp,
		    size_t rsp_len)
{
	(void)arg;
	trace_exchange(cmd, len, rsp, rsp_len);
	bool torn = vc_tear_torn(rig.c.st);
	if (rsp_len == 0) {
		if (!rig.tear_armed || !torn || !rig.c.card.nvm.dead)
			violated("the card gave no answer, yet no tear cut its power");
		/* A torn command may have committed before the power went. */
		note_effects(cmd, len);
		return;
	}
	if (torn)
		violated("the power was cut during the command, yet the card answered");
	if (rsp_len < 2 || rsp_len > VC_RSP_MAX)
		violated("an answer of %zu bytes", rsp_len);

	size_t n = rsp_len - 2;
	uint8_t sw1 = rsp[n], sw2 = rsp[n + 1];
	uint16_t sw = (uint16_t)(sw1 << 8 | sw2);
	if (sw != 0x9000 && (sw1 < 0x61 || sw1 > 0x6F))
		violated("status word %04X", sw);
	if (n && sw != 0x9000 && sw1 != 0x61 && sw1 != 0x62 && sw1 != 0x63)
		violated("%zu bytes of data behind %04X", n, sw);
	long ne = max_data(cmd, len);
	if (ne < 0 && n)
		violated("%zu bytes of data for a malformed command", n);
	if (ne >= 0 && n > (size_t)ne)
		violated("%zu bytes of data for an Ne of %ld", n, ne);
	if (sw1 == 0x61 && (long)n != ne)
		violated("61%02X behind %zu bytes, not the Ne of %ld", sw2, n, ne);

	if (sw == 0x9000 || sw1 == 0x61 || sw1 == 0x62 || sw1 == 0x63)	/* done, maybe with more */
		note_effects(cmd, len);
}

/* One exchange as it is, without the transport's GET RESPONSE or
 * resending: the status word, 0 when the power was lost. */
static uint16_t exchange(const uint8_t *cmd, size_t len, uint8_t *rsp, size_t *data_len)
{
	static uint8_t buf[VC_RSP_MAX];
	size_t n = sizeof(buf);

	long rv = rig.c.pc.raw_transmit(&rig.c.pc, cmd, len, buf, &n);
	if (rv != SCARD_S_SUCCESS || n < 2) {
		if (data_len)
			*data_len = 0;
		return 0;
	}
	if (rsp)
		memcpy(rsp, buf, n - 2);
	if (data_len)
		*data_len = n - 2;
	return (uint16_t)(buf[n - 2] << 8 | buf[n - 1]);
}

/* The harness's own commands, which must not be torn or refused for
 * being malformed. */
static uint16_t command(const uint8_t *cmd, size_t len, uint8_t *rsp, size_t *data_len)
{
	rig.clean = false;	/* the session's channel may be this one */
	return exchange(cmd, len, rsp, data_len);
}

static uint16_t select_aid(uint8_t channel, const uint8_t *aid, size_t aid_len)
{
	uint8_t cmd[5 + 16 + 1] = { iso_cla(0x00, channel), ISO_INS_SELECT, ISO_SELECT_BY_AID, 0x00,
				    (uint8_t)aid_len };
	memcpy(cmd + 5, aid, aid_len);
	cmd[5 + aid_len] = 0x00;
	return command(cmd, 6 + aid_len, NULL, NULL);
}

/* ---- the image under test ---- */

static void wallet_check(void);

/* A fresh copy of an image; nothing the previous one went through stays. */
static void copy_image(enum image i)
{
	static const size_t frames[] = { 0, 0, 256, VC_APDU_MAX_NE - 2 };

	ec_gp_close(&rig.s);
	vc_tear_disarm(rig.c.st);
	rig.tear_armed = false;
	vc_card_power_down(&rig.c.card);
	memcpy(vc_storage_mem_bytes(rig.c.mem), goldens[i].bytes, FZ_IMAGE_SIZE);
	rig.image = i;
	rig.since_copy = 0;
	rig.copy_at = COPY_MIN + fuzz_rng_below(rig.r->rng, COPY_SPREAD);
	rig.stuck = rig.clean = rig.keys_changed = rig.counter_known = false;
	rig.bound = goldens[i].balance;
	rig.trace_n = 0;
	rig.copies++;
	/* Front-ends differ in the frame they carry (vpcd, a short APDU reader). */
	rig.c.card.max_rsp_data = frames[fuzz_rng_below(rig.r->rng, 4)];
	trace("copy of the %s image, frame %zu", image_names[i], rig.c.card.max_rsp_data);
	if (vc_card_power_up(&rig.c.card) != VC_OK)
		violated("a copy of the %s image does not power up", image_names[i]);
}

/* After a tear: power-up recovery, then the card must work. */
static void recover(void)
{
	uint8_t data[VC_RSP_MAX];
	size_t n;

	rig.tears++;
	vc_tear_disarm(rig.c.st);
	rig.tear_armed = false;
	ec_gp_close(&rig.s);
	trace("power down and up");
	vc_card_power_down(&rig.c.card);
	enum vc_status st = vc_card_power_up(&rig.c.card);
	if (st != VC_OK)
		violated("power-up recovery failed: %s", vc_status_str(st));
	uint16_t sw = select_aid(0, isd_aid, sizeof(isd_aid));
	if (sw != 0x9000)
		violated("after recovery SELECT of the card manager answers %04X", sw);
	sw = command((const uint8_t *)"\x80\xCA\x9F\x7F\x00", 5, data, &n);
	if (sw != 0x9000)
		violated("after recovery GET DATA 9F7F answers %04X", sw);
	wallet_check();
}

static void arm_tear(void)
{
	struct fuzz_rng *g = rig.r->rng;
	struct vc_tear_plan plan = {
		/* Most commands write a few times; some, many. */
		.tear_at = 1 + fuzz_rng_below(g, fuzz_rng_below(g, 4) ? 8 : 96),
		.partial = VC_TEAR_PARTIAL_RANDOM,
		.seed = fuzz_rng_next(g),
	};

	trace("tear armed at write %lu", plan.tear_at);
	vc_tear_arm(rig.c.st, &plan);
	rig.tear_armed = true;
}

/* The command is over: a tear that did not fire must not fire later. */
static bool settle(void)
{
	bool lost = rig.c.card.nvm.dead;

	if (lost)
		recover();
	vc_tear_disarm(rig.c.st);
	rig.tear_armed = false;
	return lost;
}

/* ---- the wallet ---- */

static void wallet_check(void)
{
	uint8_t d[VC_RSP_MAX];
	size_t n;

	if (select_aid(0, wallet_aid, sizeof(wallet_aid)) != 0x9000)
		return;		/* deleted, locked, or selected elsewhere */
	if (command((const uint8_t *)"\x80\x5C\x00\x00\x00", 5, d, &n) != 0x9000 ||
	    n != WALLET_PURSE_DATA_LEN)
		return;		/* not personalized */
	rig.wallet_checks++;
	uint32_t balance = load_be32(d + 11), max = load_be32(d + 15), counter = load_be32(d + 19);
	if (balance > rig.bound)
		violated("the wallet holds %" PRIu32 ", more than the %" PRIu64
			 " it had and was loaded", balance, rig.bound);
	if (balance > max)
		violated("the wallet holds %" PRIu32 ", above its maximum %" PRIu32, balance, max);
	if (rig.counter_known && counter < rig.counter)
		violated("the wallet's counter went back from %" PRIu32 " to %" PRIu32, rig.counter,
			 counter);
	rig.counter = counter;
	rig.counter_known = true;
}

/* A top-up as the issuer authorizes it: INITIALIZE LOAD, S2 from
 * ec_issuer_authorize_load(), CREDIT, which is sometimes torn. */
static void legit_load(bool tear)
{
	uint8_t d[VC_RSP_MAX], cmd[5 + PURSE_MAC_LEN + 1] = { WALLET_CLA, WALLET_INS_CREDIT, 0, 0,
							      PURSE_MAC_LEN };
	uint8_t init[] = { WALLET_CLA, WALLET_INS_INITIALIZE_LOAD, 0, 0, 4, 0, 0, 0, 0, 0 };
	struct purse_load load;
	struct ec_error err = { 0 };
	uint32_t amount = 1 + (uint32_t)fuzz_rng_below(rig.r->rng, 2000);
	size_t n;

	if (select_aid(0, wallet_aid, sizeof(wallet_aid)) != 0x9000)
		return;
	store_be32(init + 5, amount);
	if (command(init, sizeof(init), d, &n) != 0x9000 ||
	    ec_issuer_authorize_load(&world.issuer, d, n, amount, &load, cmd + 5, &err) != EC_OK)
		return;		/* not this issuer's wallet, or it is full */
	rig.bound += amount;
	rig.loads++;
	if (tear)
		arm_tear();
	command(cmd, sizeof(cmd), NULL, NULL);
	if (!settle() && fuzz_rng_below(rig.r->rng, 4) == 0)
		command(cmd, sizeof(cmd), NULL, NULL);	/* once more: must not credit twice */
}

/* ---- the PIN, selections, sessions ---- */

static void verify_pin(void)
{
	static const uint8_t verify[] = { 0x00, ISO_INS_VERIFY, 0x00, ISO_PIN_REFERENCE, 8,
					  '1', '2', '3', '4', 0xFF, 0xFF, 0xFF, 0xFF };
	static const uint8_t unblock[] = { 0x00, ISO_INS_RESET_RETRY_COUNTER, 0x00,
					   ISO_PIN_REFERENCE, 16, '1', '2', '3', '4', '5', '6',
					   '7', '8', '1', '2', '3', '4', 0xFF, 0xFF, 0xFF, 0xFF };

	if (command(verify, sizeof(verify), NULL, NULL) == 0x9000)
		return;
	/* The fuzzer changed or blocked the PIN: the PUK sets it back. */
	if (command(unblock, sizeof(unblock), NULL, NULL) != 0x9000 ||
	    command(verify, sizeof(verify), NULL, NULL) != 0x9000)
		rig.stuck = true;	/* the PUK too: nothing more to verify on this copy */
}

/* A random applet, or the card manager, on a random open channel. */
static void select_something(void)
{
	static const struct {
		const uint8_t *aid;
		size_t len;
	} apps[] = {
		{ isd_aid, sizeof(isd_aid) }, { wallet_aid, sizeof(wallet_aid) },
		{ profile_aid, sizeof(profile_aid) }, { diag_aid, sizeof(diag_aid) },
	};
	struct fuzz_rng *g = rig.r->rng;
	uint8_t channel = (uint8_t)fuzz_rng_below(g, VC_CHANNELS);
	size_t a = fuzz_rng_below(g, sizeof(apps) / sizeof(apps[0]));

	if (channel && !rig.c.card.chan[channel].open) {
		uint8_t open[] = { 0x00, ISO_INS_MANAGE_CHANNEL, 0x00, channel };
		command(open, sizeof(open), NULL, NULL);
	}
	select_aid(channel, apps[a].aid, apps[a].len);
}

/* A supplementary channel for the session, or 0 when none is free. */
static uint8_t open_channel(void)
{
	static const uint8_t open[] = { 0x00, ISO_INS_MANAGE_CHANNEL, 0x00, 0x00, 0x01 };
	uint8_t d[VC_RSP_MAX];
	size_t n;

	if (command(open, sizeof(open), d, &n) != 0x9000 || n != 1 || d[0] >= VC_CHANNELS)
		return 0;
	return d[0];
}

/* Levels 11, 13 and 33 only when the image's "i" has R-MAC. */
static const uint8_t levels[] = { 0x00, 0x01, 0x03, 0x11, 0x13, 0x33 };

static bool open_session_at(uint8_t level, uint8_t channel)
{
	struct ec_gp_options opt;
	struct ec_error err = { 0 };
	uint8_t challenge[8];

	ec_gp_options_init(&opt);
	opt.scp = EC_GP_SCP03;
	opt.level = level;
	opt.channel = channel;
	/* From the engine's generator, so that the session's keys follow the seed. */
	for (size_t i = 0; i < sizeof(challenge); i++)
		challenge[i] = (uint8_t)fuzz_rng_next(rig.r->rng);
	opt.host_challenge = challenge;
	trace("secure channel at level %02X on channel %u", level, channel);
	const struct ec_gp_keys *keys = fz_card_manager_keys(&world, rig.image != IMAGE_NEW, &opt);
	if (ec_gp_connect(&rig.s, &rig.c.pc, keys, &opt, &err) != EC_OK) {
		if (!rig.keys_changed)
			violated("the card refused a secure channel with its own keys: %s", err.text);
		rig.stuck = true;
		return false;
	}
	rig.clean = true;
	rig.sessions++;
	rig.level_sessions[level]++;
	return true;
}

static bool open_session(void)
{
	struct fuzz_rng *g = rig.r->rng;
	uint8_t level = levels[fuzz_rng_below(g, goldens[rig.image].r_mac ? 6 : 3)];

	return open_session_at(level, fuzz_rng_below(g, 4) ? 0 : open_channel());
}

/* The card manager lists what it holds, whatever the fuzzer installed,
 * in the answers libecard asks for (in parts when they do not fit one). */
static void check_status(enum ec_gp_status_scope scope)
{
	static struct ec_gp_registry reg;	/* 20 KiB */
	struct ec_error err = { 0 };

	if (ec_gp_get_status(&rig.s, scope, NULL, 0, &reg, &err) != EC_OK)
		violated("GET STATUS %02X through the secure channel failed: %s", (unsigned)scope,
			 err.text);
}

/* The session still works: a GET DATA through it answers, and its R-MAC
 * (when the level has one) verifies; a terminated card answers 6985.
 * A GET STATUS of some scope must work too. */
static void probe_session(void)
{
	uint8_t cmd[] = { rig.s.scp03.cla, GP_INS_GET_DATA, 0x9F, 0x7F, 0x00 };
	static uint8_t resp[VC_RSP_MAX + 64];
	struct ec_error err = { 0 };
	size_t n = 0;

	enum ec_status st = ec_gp_transmit(&rig.s, cmd, sizeof(cmd), resp, sizeof(resp), &n, &err);
	uint16_t sw = n >= 2 ? (uint16_t)(resp[n - 2] << 8 | resp[n - 1]) : 0;
	if (st != EC_OK || (sw != 0x9000 && sw != 0x6985))
		violated("the secure channel stopped working after the command (%s, SW %04X)",
			 st == EC_OK ? "it answered" : err.text, sw);
	if (sw == 0x9000)
		check_status(fz_status_scopes[fuzz_rng_below(rig.r->rng, FZ_STATUS_SCOPES)]);
}

/* ---- between inputs ---- */

static void replay(void);

static void prepare(const struct fuzz_run *r, const uint8_t *buf, size_t len)
{
	rig.r = r;
	rig.in = buf;
	rig.in_len = len;
	if (++rig.since_copy >= rig.copy_at || rig.stuck)
		copy_image((enum image)fuzz_rng_below(r->rng, N_IMAGES));

	switch (fuzz_rng_below(r->rng, 48)) {
	case 0:
		wallet_check();
		break;
	case 1:
		legit_load(fuzz_rng_below(r->rng, 2));
		break;
	case 2:
	case 3:
		verify_pin();
		break;
	case 4:
	case 5:
	case 6:
		select_something();
		break;
	case 7:
		trace("warm reset");
		ec_gp_close(&rig.s);
		vc_card_reset(&rig.c.card);
		break;
	case 8:
		if (fuzz_rng_below(r->rng, 4) == 0) {
			trace("power cycle");
			ec_gp_close(&rig.s);
			vc_card_power_down(&rig.c.card);
			if (vc_card_power_up(&rig.c.card) != VC_OK)
				violated("the card does not power up again");
		}
		break;
	case 9:
	case 10:
		replay();
		break;
	default:
		break;
	}
}

/* ---- APDUs taken apart and put together again ---- */

/* An APDU taken apart leniently: whatever follows the header that is no
 * case is data without Lc. */
struct apdu {
	uint8_t h[4];
	const uint8_t *data;
	size_t nc;
	bool has_le;
	uint32_t le;		/* 0..65535 as encoded (0 meaning the maximum) */
	bool extended;
};

static void take_apart(const uint8_t *buf, size_t len, struct apdu *a)
{
	memset(a, 0, sizeof(*a));
	memcpy(a->h, buf, len < 4 ? len : 4);
	if (len <= 4)
		return;
	const uint8_t *b = buf + 4;
	size_t body = len - 4;
	if (body == 1) {
		a->has_le = true;
		a->le = b[0];
	} else if (b[0] && (body == 1u + b[0] || body == 2u + b[0])) {
		a->data = b + 1;
		a->nc = b[0];
		a->has_le = body == 2u + b[0];
		a->le = a->has_le ? b[body - 1] : 0;
	} else if (!b[0] && body == 3) {
		a->extended = a->has_le = true;
		a->le = load_be16(b + 1);
	} else if (!b[0] && body >= 3 && (body == 3u + load_be16(b + 1) ||
					  body == 5u + load_be16(b + 1))) {
		a->extended = true;
		a->data = b + 3;
		a->nc = load_be16(b + 1);
		a->has_le = body == 5u + a->nc;
		a->le = a->has_le ? load_be16(b + body - 2) : 0;
	} else {
		a->data = b;
		a->nc = body;
	}
}

/* Put it back together, short or extended as a->extended says, extended
 * when it must be (more than 255 bytes of data, an Le above 255). */
static size_t put_together(const struct apdu *a, uint8_t *out, size_t cap)
{
	bool ext = a->extended || a->nc > 255 || a->le > 255;
	size_t need = 4 + (a->nc ? (ext ? 3 : 1) + a->nc : 0) +
		      (a->has_le ? (ext ? (a->nc ? 2 : 3) : 1) : 0);
	struct writer w;

	if (need > cap || a->nc > 65535)
		return 0;
	writer_init(&w, out, cap);
	writer_bytes(&w, a->h, 4);
	if (a->nc) {
		if (ext) {
			writer_u8(&w, 0);
			writer_u16(&w, (uint16_t)a->nc);
		} else {
			writer_u8(&w, (uint8_t)a->nc);
		}
		writer_bytes(&w, a->data, a->nc);
	}
	if (a->has_le) {
		if (ext && !a->nc)
			writer_u8(&w, 0);
		if (ext)
			writer_u16(&w, (uint16_t)a->le);
		else
			writer_u8(&w, (uint8_t)a->le);
	}
	return writer_ok(&w) ? w.len : 0;
}

/* Lengths that agree with the data, short when they fit (for the secure
 * channel, which takes short APDUs only): how half the inputs go, so that
 * they reach the applets and not only the length checks. */
static size_t well_formed(const uint8_t *buf, size_t len, bool short_form, uint8_t *out,
			  size_t cap)
{
	struct apdu a;

	if (len < 4)
		return 0;
	take_apart(buf, len, &a);
	if (short_form)
		a.extended = false;
	return put_together(&a, out, cap);
}

/* ---- the targets ---- */

static bool accepted(uint16_t sw)
{
	return sw == 0x9000 || (sw >> 8) == 0x61;
}

/* The input, as it is or well formed: the status word, 0 when the power
 * was lost. */
static uint16_t send_raw(const uint8_t *buf, size_t len)
{
	static uint8_t cmd[MAX_APDU];
	size_t n = fuzz_rng_below(rig.r->rng, 2) ? well_formed(buf, len, false, cmd, sizeof(cmd)) : 0;

	rig.clean = false;
	return n ? exchange(cmd, n, NULL, NULL) : exchange(buf, len, NULL, NULL);
}

/*
 * A plain command through the host's session, which is open: the plain
 * status word (0 when nothing was sent or the power was lost); *in_sync
 * says that both ends' MAC chains must still agree.
 */
static uint16_t through_session(const uint8_t *cmd, size_t len, bool *in_sync)
{
	static uint8_t resp[VC_RSP_MAX + 64];
	struct ec_error err = { 0 };
	size_t n = 0;

	/* The card manager takes every command of the session's class
	 * through the channel, but for EXTERNAL AUTHENTICATE and (at level
	 * 00, where nothing is wrapped) INITIALIZE UPDATE, which it answers
	 * outside the session. */
	bool was_clean = rig.clean;
	bool sync = was_clean && len >= 4 && cmd[0] == rig.s.scp03.cla &&
		    cmd[1] != GP_INS_EXTERNAL_AUTHENTICATE && cmd[1] != GP_INS_INITIALIZE_UPDATE;
	*in_sync = false;
	enum ec_status st = ec_gp_transmit(&rig.s, cmd, len, resp, sizeof(resp), &n, &err);
	if (rig.c.card.nvm.dead)
		return 0;
	if (st == EC_ERR_ARG) {
		rig.clean = was_clean;	/* it could not be secured: nothing was sent */
		return 0;
	}
	if (st != EC_OK) {
		if (sync)
			violated("a command secured in an undisturbed session failed: %s", err.text);
		return 0;	/* the session closed itself */
	}
	uint16_t sw = n >= 2 ? (uint16_t)(resp[n - 2] << 8 | resp[n - 1]) : 0;
	rig.clean = sync;
	*in_sync = sync;
	/* The card's end may be gone (a SELECT, a channel closed): open a new one. */
	if (!sync && sw != 0x9000 && fuzz_rng_below(rig.r->rng, 2))
		ec_gp_close(&rig.s);
	return sw;
}

/*
 * The input as a plain command through the host's session, opened when
 * there is none: mostly well formed, and mostly of the session's class,
 * so that it gets past the card manager's class check to the commands
 * behind it.
 */
static uint16_t send_secured(const uint8_t *buf, size_t len, bool *in_sync)
{
	static uint8_t cmd[MAX_APDU];

	*in_sync = false;
	if (!ec_gp_is_open(&rig.s) && !open_session())
		return 0;
	size_t short_len = 0;
	if (fuzz_rng_below(rig.r->rng, 4))
		short_len = well_formed(buf, len, true, cmd, SCP03_APDU_MAX);
	if (short_len)
		len = short_len;
	else
		memcpy(cmd, buf, len);
	if (len && fuzz_rng_below(rig.r->rng, 4))
		cmd[0] = rig.s.scp03.cla;
	return through_session(cmd, len, in_sync);
}

/* A stretch of the scenarios' commands, as they were sent (the secured
 * ones through the session): into the middle of a load, a
 * personalization, a payment, where the next input lands. */
static void replay(void)
{
	static uint8_t cmd[MAX_APDU];
	struct fuzz_rng *g = rig.r->rng;
	size_t start = fuzz_rng_below(g, script.n), end = start + 1 + fuzz_rng_below(g, 24);
	bool in_sync;

	trace("replay of scenario commands %zu to %zu", start, end - 1);
	for (size_t i = start; i < end && i < script.n; i++) {
		const struct fuzz_blob *b = &script.items[i];

		if (b->data[0] == SCRIPT_PLAIN) {
			command(b->data + 1, b->len - 1, NULL, NULL);
			continue;
		}
		if (!ec_gp_is_open(&rig.s) && !open_session())
			return;
		memcpy(cmd, b->data + 1, b->len - 1);
		cmd[0] = rig.s.scp03.cla;
		through_session(cmd, b->len - 1, &in_sync);
	}
}

static bool run_apdu(const uint8_t *buf, size_t len, const struct fuzz_run *r)
{
	prepare(r, buf, len);
	return accepted(send_raw(buf, len));
}

static bool run_secured(const uint8_t *buf, size_t len, const struct fuzz_run *r)
{
	bool in_sync;

	prepare(r, buf, len);
	uint16_t sw = send_secured(buf, len, &in_sync);
	if (in_sync && fuzz_rng_below(r->rng, 8) == 0)
		probe_session();
	return accepted(sw);
}

static bool run_torn(const uint8_t *buf, size_t len, const struct fuzz_run *r)
{
	bool in_sync, secured = fuzz_rng_below(r->rng, 2);
	uint16_t sw;

	prepare(r, buf, len);
	/* The session first: opening it writes (the sequence counter). */
	if (secured && !ec_gp_is_open(&rig.s) && !open_session())
		secured = false;
	arm_tear();
	sw = secured ? send_secured(buf, len, &in_sync) : send_raw(buf, len);
	bool lost = settle();
	return lost || accepted(sw);
}

/* ---- seeds: the scenarios' traffic ---- */

static void add_unique(const uint8_t *cmd, size_t len)
{
	for (size_t i = 0; i < recorded.n; i++)
		if (recorded.items[i].len == len && !memcmp(recorded.items[i].data, cmd, len))
			return;
	fuzz_corpus_add(&recorded, cmd, len);
}

/* Every command the clients sent; a C-MAC'd one (class 84-87) also
 * without its MAC, which at level 01 is the plain command it secured. */
static void record(void *arg, const uint8_t *cmd, size_t len, const uint8_t *rsp,
		   size_t rsp_len)
{
	static uint8_t step[1 + MAX_APDU];

	(void)arg;
	(void)rsp;
	(void)rsp_len;
	add_unique(cmd, len);
	if (len < 4 || cmd[1] == GP_INS_INITIALIZE_UPDATE || cmd[1] == GP_INS_EXTERNAL_AUTHENTICATE ||
	    cmd[1] == ISO_INS_GET_RESPONSE)
		return;
	step[0] = SCRIPT_PLAIN;
	memcpy(step + 1, cmd, len);
	size_t n = 1 + len;
	if (len >= 5 + SCP03_MAC_LEN && (cmd[0] & 0xFC) == GP_CLA_SECURE && cmd[4] >= SCP03_MAC_LEN &&
	    (len == 5u + cmd[4] || len == 6u + cmd[4])) {
		size_t nc = cmd[4] - SCP03_MAC_LEN;

		step[0] = SCRIPT_SECURED;
		step[1] &= (uint8_t)~0x04;
		n = 5;
		if (nc) {
			step[n++] = (uint8_t)nc;
			memcpy(step + n, cmd + 5, nc);
			n += nc;
		}
		if (len == 6u + cmd[4])
			step[n++] = cmd[len - 1];
		add_unique(step + 1, n - 1);
	}
	fuzz_corpus_add(&script, step, n);
}

static void seed_recorded(struct fuzz_corpus *c)
{
	for (size_t i = 0; i < recorded.n; i++)
		fuzz_corpus_add(c, recorded.items[i].data, recorded.items[i].len);
}

/* The instructions of the platform, the applets and the card manager. */
static const uint8_t known_ins[] = {
	0xA4, 0x70, 0xC0, 0x20, 0x24, 0x2C, 0xCA, 0xDA, 0x30, 0x32, 0xE2, 0xE4, 0xE6, 0xE8,
	0xF0, 0xF2, 0xD8, 0x50, 0x82, 0x00, 0x10, 0x12, 0x22, 0x84, 0x40, 0x42, 0x44, 0x46,
	0x48, 0x4A, 0x5C,
};

static void mutate_apdu(struct fuzz_rng *g, uint8_t *buf, size_t *len, size_t cap)
{
	static uint8_t out[MAX_APDU], copy[MAX_APDU];
	struct apdu a;

	memcpy(copy, buf, *len);	/* a->data points into it while out is written */
	take_apart(copy, *len, &a);
	uint8_t *cla = &a.h[0];
	switch (fuzz_rng_below(g, 10)) {
	case 0:	/* logical channel, either form of the class byte */
		if (fuzz_rng_below(g, 4))
			*cla = (uint8_t)((*cla & 0x9C) | fuzz_rng_below(g, 4));
		else
			*cla = (uint8_t)(0x40 | (*cla & 0x80) | fuzz_rng_below(g, 16));
		break;
	case 1:	/* secure messaging indication */
		*cla ^= (*cla & 0x40) ? 0x20 : (uint8_t)(4 << fuzz_rng_below(g, 2));
		break;
	case 2:	/* command chaining */
		*cla ^= 0x10;
		break;
	case 3:	/* proprietary or inter-industry */
		*cla ^= 0x80;
		break;
	case 4:
		a.h[1] = fuzz_rng_below(g, 4) ? known_ins[fuzz_rng_below(g, sizeof(known_ins))]
					       : fuzz_random_byte(g);
		break;
	case 5:
		a.h[2 + fuzz_rng_below(g, 2)] = fuzz_random_byte(g);
		break;
	case 6:	/* the other form of the lengths */
		a.extended = !a.extended;
		break;
	case 7: {	/* Le: none, or an edge of either form */
		static const uint32_t les[] = { 0, 1, 2, 0xFF, 0x100, 0x101, 0xFFFF };
		a.has_le = fuzz_rng_below(g, 4) != 0;
		a.le = les[fuzz_rng_below(g, sizeof(les) / sizeof(les[0]))];
		break;
	}
	case 8:	/* data: none, or its bytes repeated up to an edge */
		if (fuzz_rng_below(g, 2) || !a.nc) {
			a.nc = 0;
		} else {
			static const size_t sizes[] = { 255, 256, 261, 1024, 65535 };
			static uint8_t grown[65535];
			size_t want = sizes[fuzz_rng_below(g, sizeof(sizes) / sizeof(sizes[0]))];

			for (size_t i = 0; i < want; i++)
				grown[i] = a.data[i % a.nc];
			a.data = grown;
			a.nc = want;
		}
		break;
	default:	/* the header alone */
		a.nc = 0;
		a.has_le = false;
		break;
	}
	size_t n = put_together(&a, out, cap);
	if (n) {
		memcpy(buf, out, n);
		*len = n;
	}
}

static const struct fuzz_length_field apdu_lengths[] = { { 4, 1, false }, { 5, 2, false } };

/* Make a short Lc agree with the bytes there are. */
static void fixup_apdu(uint8_t *buf, size_t len)
{
	if (len >= 6 && len - 5 <= 255 && buf[4])
		buf[4] = (uint8_t)(len - 5);
}

#define APDU_TARGET(n, r)                                                               \
	{ .name = n, .seed = seed_recorded, .run = r, .lengths = apdu_lengths, .n_lengths = 2, \
	  .fixup = fixup_apdu, .mutate = mutate_apdu }

static const struct fuzz_target targets[] = {
	APDU_TARGET("apdu", run_apdu),
	APDU_TARGET("secured", run_secured),
	APDU_TARGET("torn", run_torn),
};
#define N_TARGETS (sizeof(targets) / sizeof(targets[0]))

/* ---- past findings, replayed first ---- */

/* INSTALL [for install and make selectable] of the CAP fixture's applet
 * as 01020304050607xx, with empty install parameters (C9 00). */
#define INSTALL_FIXTURE(xx) \
	"80E60C001E0501020304050801020304050607080801020304050607" xx "010002C90000"

struct regression {
	const char *what;
	enum image image;
	const char *const *commands;	/* plain, through the session: each must answer 9000 */
	size_t n_commands;
};

/* Eight more applications fill the issued image's registry: GET STATUS
 * of the applications answered 6F00 in every session with C-MAC (the
 * card manager's answer buffer overflowed, or the answer no longer fit
 * its R-MAC) until it came in parts. */
static const char *const full_registry[] = {
	INSTALL_FIXTURE("10"), INSTALL_FIXTURE("11"), INSTALL_FIXTURE("12"), INSTALL_FIXTURE("13"),
	INSTALL_FIXTURE("14"), INSTALL_FIXTURE("15"), INSTALL_FIXTURE("16"), INSTALL_FIXTURE("17"),
};

static const struct regression regressions[] = {
	{ "GET STATUS of a full registry", IMAGE_ISSUED, full_registry,
	  sizeof(full_registry) / sizeof(full_registry[0]) },
};

/*
 * Each finding on a fresh copy of its image and in a session at every
 * level the image takes: its commands, then GET DATA and GET STATUS of
 * every scope through the session. A violation is reported as the
 * fuzzing's are, before the loop.
 */
static void replay_regressions(void)
{
	static struct fuzz_rng g;
	static const struct fuzz_run run = { .target = "regression", .iteration = FUZZ_BEFORE_LOOP,
					     .rng = &g };

	fuzz_rng_seed(&g, 0);
	rig.r = &run;
	for (size_t i = 0; i < sizeof(regressions) / sizeof(regressions[0]); i++) {
		const struct regression *reg = &regressions[i];

		for (size_t l = 0; l < sizeof(levels); l++) {
			if (!goldens[reg->image].r_mac && (levels[l] & EC_GP_LEVEL_R_MAC))
				continue;
			copy_image(reg->image);
			if (!open_session_at(levels[l], 0))
				violated("%s: no secure channel", reg->what);
			for (size_t k = 0; k < reg->n_commands; k++) {
				size_t len;
				bool in_sync;
				uint8_t *cmd = fuzz_hex(reg->commands[k], &len);
				uint16_t sw = cmd ? through_session(cmd, len, &in_sync) : 0;

				free(cmd);
				if (sw != 0x9000)
					violated("%s: command %zu answered %04X", reg->what, k, sw);
			}
			probe_session();
			for (size_t s = 0; s < FZ_STATUS_SCOPES; s++)
				check_status(fz_status_scopes[s]);
		}
	}
	rig.r = NULL;
	rig.copy_at = 0;	/* the first input starts on a fresh copy */
}

/* ---- the program ---- */

static void take_image(enum image i, struct fz_card *c, bool r_mac)
{
	struct ec_purse_data pd;
	struct ec_error err = { 0 };

	if (ec_wallet_select(&c->pc, &err) == EC_OK && ec_wallet_purse_data(&c->pc, &pd, &err) == EC_OK)
		goldens[i].balance = pd.balance;
	vc_card_power_down(&c->card);
	goldens[i].bytes = fuzz_xmalloc(FZ_IMAGE_SIZE);
	memcpy(goldens[i].bytes, vc_storage_mem_bytes(c->mem), FZ_IMAGE_SIZE);
	goldens[i].r_mac = r_mac;
}

static void setup(void)
{
	fz_world_init(&world);
	for (int i = 0; i < N_IMAGES; i++) {
		struct fz_card c;
		bool r_mac = i != IMAGE_FACTORY;

		fz_card_open(&c, r_mac ? 0 : 0x10);
		c.on_exchange = record;
		if (i == IMAGE_ISSUED)
			fz_scenario_issue(&c, &world);
		else if (i == IMAGE_FACTORY)
			fz_scenario_factory(&c, &world);
		if (i != IMAGE_NEW)
			fz_scenario_manage(&c, &world, r_mac);
		take_image((enum image)i, &c, r_mac);
		fz_card_close(&c);
	}
	fz_card_open(&rig.c, 0);
	rig.c.on_exchange = observe;
	replay_regressions();
}

static void teardown(void)
{
	ec_gp_close(&rig.s);
	fz_card_close(&rig.c);
	for (int i = 0; i < N_IMAGES; i++)
		free(goldens[i].bytes);
	fuzz_corpus_free(&recorded);
	fuzz_corpus_free(&script);
	fz_world_wipe(&world);
}

static void summary(void)
{
	printf("; %lu image copies, %lu secure channels (", rig.copies, rig.sessions);
	for (size_t i = 0; i < sizeof(levels); i++)
		printf("%s%02X %lu", i ? ", " : "", levels[i], rig.level_sessions[levels[i]]);
	printf("), %lu tears recovered, %lu loads, %lu wallet checks", rig.tears, rig.loads,
	       rig.wallet_checks);
}

static const struct fuzz_program card_program = {
	.name = "fuzz_card",
	.usage = "Mutate real command APDUs against an in-process card (plain, in a secure "
		 "channel, torn)",
	.targets = targets,
	.n_targets = N_TARGETS,
	.max_input = MAX_APDU,
	.keep_max_len = CORPUS_KEEP_MAX_LEN,
	.length_limit = 65535,
	.setup = setup,
	.teardown = teardown,
	.summary = summary,
	.report = report,
	.seeds_may_be_refused = true,
};

int main(int argc, char **argv)
{
	return fuzz_main(&card_program, argc, argv);
}
