/*
 * test_gp.c - libecard's GlobalPlatform card manager client
 * (host/gp.h) against an in-process card (vcard-daemon/inproc.h): the secure
 * channel at several levels, GET DATA parsing, GET STATUS, loading the
 * real CAP fixture and generated ones (past 256 blocks, where P2 wraps),
 * INSTALL, DELETE, PUT KEY, SET STATUS, wrong keys, and above all the
 * resume of an interrupted load:
 *
 *   - the link drops at every LOAD command of a load (and at INSTALL
 *     [for load]), once before the card sees the command and once after
 *     it processed it (the answer is lost); a new session then resumes;
 *   - the card's power is cut at every persistent write of the load
 *     (a tearing storage under the card), the card is powered up again
 *     (recovery), and a new session resumes;
 *   - a card "without the extension" (GET DATA DF70 answered 6D00) gets
 *     the load file again from block 0.
 *
 * Every resume must end with the load file registered, its modules
 * listed, no load in progress, and the card's SHA-256 check passed (the
 * hash went into INSTALL [for load]; a resume that mixed two files is
 * shown to fail that check).
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "applets.h"
#include "cap.h"
#include "capgen.h"
#include "card.h"
#include "crypto.h"
#include "gp.h"
#include "hex.h"
#include "inproc.h"
#include "isd.h"
#include "storage.h"
#include "test_support.h"

#define IMAGE (512u * 1024u)

static const uint8_t wallet_aid[] = { WALLET_AID };
static const uint8_t profile_aid[] = { PROFILE_AID };
static const uint8_t diag_aid[] = { DIAG_AID };
static const uint8_t gen_pkg[] = { 0xA0, 0x00, 0x00, 0x07, 0x77, 0x01 };
static const uint8_t gen_app[] = { 0xA0, 0x00, 0x00, 0x07, 0x77, 0x01, 0x01 };

static struct vc_storage *st;	/* the tearing wrapper around the memory */
static struct vc_card card;
static bool card_on;
static struct ec_pcsc pc;
static struct ec_gp_session s;

/* ---- the wire between host and card, with its faults ---- */

struct wire {
	ec_raw_transmit_fn inner;
	long drop_load;		/* drop the LOAD command with this index (from 0); -1 none */
	bool drop_install;	/* drop INSTALL [for load] */
	bool drop_after;	/* the card processes the dropped command */
	bool no_df70;		/* a card without the extension: GET DATA DF70 -> 6D00 */
	bool dropped;
	unsigned long loads;	/* LOAD commands that reached the card */
	long first_p2;		/* P2 of the first LOAD since the last reset; -1 none */
	unsigned long p2_zero;	/* LOADs with P2 00 since the last reset */
	unsigned long commands;	/* every command on the wire since the last reset */
	/* Fake GET STATUS answers (level 00 sessions only, nothing is MACed). */
	const uint8_t *const *status_answers;
	const size_t *status_lens;
	size_t status_count, status_next;
	uint8_t status_p2[8];
};

static struct wire wire;

static void wire_reset_counts(void)
{
	wire.loads = 0;
	wire.first_p2 = -1;
	wire.p2_zero = 0;
	wire.commands = 0;
}

static long wire_transmit(struct ec_pcsc *p, const uint8_t *cmd, size_t len, uint8_t *resp,
			  size_t *resp_len)
{
	bool load = len >= 4 && cmd[1] == 0xE8;
	bool install_for_load = len >= 4 && cmd[1] == 0xE6 && cmd[2] == 0x02;
	bool df70 = len >= 4 && cmd[1] == 0xCA && cmd[2] == 0xDF && cmd[3] == 0x70;
	bool status = len >= 4 && cmd[1] == 0xF2;

	wire.commands++;
	if (status && wire.status_answers) {
		cr_assert_lt(wire.status_next, wire.status_count, "more GET STATUS than scripted");
		size_t i = wire.status_next++;
		wire.status_p2[i] = cmd[3];
		cr_assert_leq(wire.status_lens[i], *resp_len);
		memcpy(resp, wire.status_answers[i], wire.status_lens[i]);
		*resp_len = wire.status_lens[i];
		return SCARD_S_SUCCESS;
	}
	bool drop = (load && wire.drop_load >= 0 && wire.loads == (unsigned long)wire.drop_load) ||
		    (install_for_load && wire.drop_install);
	if (drop) {
		wire.drop_load = -1;
		wire.drop_install = false;
		wire.dropped = true;
		if (wire.drop_after) {
			size_t n = *resp_len;
			wire.inner(p, cmd, len, resp, &n);
			if (load)
				wire.loads++;
		}
		return SCARD_W_REMOVED_CARD;
	}
	long rv = wire.inner(p, cmd, len, resp, resp_len);
	if (load && rv == SCARD_S_SUCCESS) {
		if (wire.first_p2 < 0)
			wire.first_p2 = cmd[3];
		if (cmd[3] == 0)
			wire.p2_zero++;
		wire.loads++;
	}
	if (df70 && wire.no_df70 && rv == SCARD_S_SUCCESS) {
		/* The card ran it (the MAC chain goes on); the host hears 6D00. */
		resp[0] = 0x6D;
		resp[1] = 0x00;
		*resp_len = 2;
	}
	return rv;
}

/* ---- the card ---- */

static void card_up(void)
{
	struct vc_storage *mem;
	cr_assert_eq(vc_storage_mem_create(IMAGE, &mem), VC_OK);
	cr_assert_eq(vc_card_create(mem, NULL, ecard_applets, ecard_applet_count, NULL), VC_OK);
	cr_assert_eq(vc_storage_tear_create(mem, &st), VC_OK);
	vc_card_init(&card, st, NULL);
	for (size_t i = 0; i < ecard_applet_count; i++)
		cr_assert_eq(vc_card_register(&card, ecard_applets[i]), VC_OK);
	cr_assert_eq(vc_card_power_up(&card), VC_OK);
	card_on = true;
	ec_pcsc_init(&pc, NULL);
	vc_inproc_attach(&pc, &card);
	memset(&wire, 0, sizeof(wire));
	wire.inner = pc.raw_transmit;
	wire.drop_load = -1;
	wire_reset_counts();
	pc.raw_transmit = wire_transmit;
	memset(&s, 0, sizeof(s));
}

static void card_down(void)
{
	ec_gp_close(&s);
	if (card_on) {
		vc_card_free(&card);
		vc_storage_destroy(st);
	}
	card_on = false;
}

TestSuite(gp, .init = card_up, .fini = card_down, .timeout = 600);

/* Power lost and back: recovery runs, every session is gone. */
static void power_cycle(void)
{
	vc_card_power_down(&card);
	cr_assert_eq(vc_card_power_up(&card), VC_OK);
}

/* ---- helpers ---- */

static enum ec_status try_connect(const struct ec_gp_keys *keys, uint8_t level,
				  enum ec_gp_scp scp, struct ec_error *err)
{
	struct ec_gp_options opt;
	ec_gp_options_init(&opt);
	opt.level = level;
	opt.scp = scp;
	return ec_gp_connect(&s, &pc, keys, &opt, err);
}

static void connect_at(uint8_t level)
{
	struct ec_gp_keys keys;
	struct ec_error err = { 0 };
	ec_gp_default_keys(&keys, 0);
	cr_assert_eq(try_connect(&keys, level, EC_GP_SCP_ANY, &err), EC_OK, "%s", err.text);
}

static void get_status(enum ec_gp_status_scope scope, struct ec_gp_registry *reg)
{
	struct ec_error err = { 0 };
	cr_assert_eq(ec_gp_get_status(&s, scope, NULL, 0, reg, &err), EC_OK, "%s", err.text);
}

static const struct ec_gp_registry_entry *find(const struct ec_gp_registry *reg,
					       const uint8_t *aid, size_t len)
{
	for (size_t i = 0; i < reg->count; i++)
		if (reg->entries[i].aid.len == len && memcmp(reg->entries[i].aid.bytes, aid, len) == 0)
			return &reg->entries[i];
	return NULL;
}

/* A plain SELECT on the basic channel: its status word. */
static uint16_t select_sw(const uint8_t *aid, size_t len)
{
	uint8_t cmd[6 + 16] = { 0x00, 0xA4, 0x04, 0x00, (uint8_t)len }, resp[300];
	size_t n;
	memcpy(cmd + 5, aid, len);
	cmd[5 + len] = 0x00;
	cr_assert_eq(ec_transmit(&pc, cmd, 6 + len, resp, sizeof(resp), &n), EC_OK);
	return ec_response_sw(resp, n);
}

static void make_cap(size_t target, uint8_t minor, struct ec_cap *cap)
{
	struct capgen_applet applet = { gen_app, sizeof(gen_app) };
	struct capgen_spec spec = { .package_aid = gen_pkg, .package_aid_len = sizeof(gen_pkg),
				    .version_major = 1, .version_minor = minor, .applets = &applet,
				    .applet_count = 1, .target_size = target };
	char path[] = "/tmp/ecard-gp-XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(capgen_write_spec(&spec, path), 0);
	struct ec_error err = { 0 };
	cr_assert_eq(ec_cap_open(path, cap, &err), EC_OK, "%s", err.text);
	unlink(path);
}

static void open_fixture(struct ec_cap *cap)
{
	const char *path = TEST_CAP_FIXTURE;
	struct ec_error err = { 0 };
	cr_assert_eq(ec_cap_open(path, cap, &err), EC_OK, "%s", err.text);
}

/* The load file is on the card whole: listed with its module, no load in
 * progress. The card checked its SHA-256 against INSTALL [for load]. */
static void assert_loaded(const struct ec_cap *cap, const char *when)
{
	struct ec_gp_registry reg;
	struct ec_gp_load_progress lp;
	struct ec_error err = { 0 };
	get_status(EC_GP_SCOPE_LOAD_FILES_MODULES, &reg);
	const struct ec_gp_registry_entry *e = find(&reg, cap->package.aid.bytes, cap->package.aid.len);
	cr_assert_not_null(e, "%s: the load file is registered", when);
	cr_assert_eq(e->life_cycle, 0x01, "%s: LOADED", when);
	cr_assert(e->has_version && e->version[0] == cap->package.major &&
		  e->version[1] == cap->package.minor, "%s: its version", when);
	cr_assert_eq(e->module_count, cap->applet_count, "%s: its modules", when);
	cr_assert_arr_eq(e->modules[0].bytes, cap->applets[0].aid.bytes, cap->applets[0].aid.len);
	cr_assert_eq(ec_gp_get_load_progress(&s, &lp, &err), EC_OK, "%s", err.text);
	cr_assert(!lp.active, "%s: no load in progress", when);
	cr_assert_eq(lp.supported, !wire.no_df70, "%s", when);
}

/* ---- secure channel, GET DATA ---- */

Test(gp, channel_at_levels_01_03_33_and_forced_scp03)
{
	static const uint8_t levels[] = { 0x01, 0x03, 0x33 };
	struct ec_gp_registry reg;
	struct ec_gp_keys keys;
	struct ec_error err = { 0 };

	for (size_t i = 0; i < sizeof(levels); i++) {
		connect_at(levels[i]);
		cr_assert_eq(s.scp, EC_GP_SCP03);
		cr_assert_eq(s.kvn, GP_TEST_KVN);
		cr_assert_eq(s.level, levels[i]);
		get_status(EC_GP_SCOPE_ISD, &reg);
		cr_assert_eq(reg.count, 1, "level %02X", levels[i]);
		ec_gp_close(&s);
	}
	ec_gp_default_keys(&keys, GP_TEST_KVN);
	cr_assert_eq(try_connect(&keys, 0x13, EC_GP_SCP03, &err), EC_OK, "%s", err.text);
	get_status(EC_GP_SCOPE_APPS, &reg);
	cr_assert_eq(reg.count, 3);
	ec_gp_close(&s);
	/* The card speaks SCP03: insisting on SCP02 is refused, not downgraded. */
	cr_assert_eq(try_connect(&keys, 0x01, EC_GP_SCP02, &err), EC_ERR_CHECK);
	cr_assert(strstr(err.text, "SCP03"), "%s", err.text);
}

Test(gp, wrong_keys_give_a_clear_error)
{
	struct ec_gp_keys keys;
	struct ec_error err = { 0 };

	ec_gp_default_keys(&keys, 0);
	keys.mac[3] ^= 0x40;
	cr_assert_eq(try_connect(&keys, 0x01, EC_GP_SCP_ANY, &err), EC_ERR_CHECK);
	cr_assert(strstr(err.text, "wrong keys"), "%s", err.text);
	cr_assert(!ec_gp_is_open(&s));

	ec_gp_default_keys(&keys, 0x31);
	cr_assert_eq(try_connect(&keys, 0x01, EC_GP_SCP_ANY, &err), EC_ERR_CARD);
	cr_assert_eq(err.sw, 0x6A88);
	cr_assert(strstr(err.text, "key version"), "%s", err.text);

	/* EMV diversification takes triple DES master keys, not AES-256. */
	uint8_t big[32] = { 0 };
	cr_assert_eq(ec_gp_keys_from_master(&keys, big, sizeof(big), 0), EC_OK);
	struct ec_gp_options opt;
	ec_gp_options_init(&opt);
	opt.kdf = EC_GP_KDF_EMV;
	cr_assert_neq(ec_gp_connect(&s, &pc, &keys, &opt, &err), EC_OK);
	cr_assert_gt(strlen(err.text), 10);

	/* And with no channel, management is out of reach. */
	struct ec_gp_registry reg;
	cr_assert_eq(ec_gp_get_status(&s, EC_GP_SCOPE_ISD, NULL, 0, &reg, &err), EC_ERR_ARG);
}

Test(gp, info_parsing)
{
	struct ec_error err = { 0 };
	struct ec_gp_cplc cplc;
	struct ec_gp_card_data cd;
	struct ec_gp_key_info ki;
	uint8_t serial[8];
	uint32_t seq;

	/* Outside a secure channel, as `ecard gp info` reads them. */
	cr_assert_eq(ec_gp_select_isd(&pc, NULL, 0, &err), EC_OK, "%s", err.text);
	cr_assert_eq(ec_gp_get_cplc(&pc, NULL, &cplc, &err), EC_OK, "%s", err.text);
	cr_assert_eq(cplc.ic_fabricator, 0x4543);
	cr_assert_eq(cplc.ic_type, 0x0001);
	cr_assert_eq(cplc.os_release_date, 0x6325);
	vc_card_serial(&card, serial);
	cr_assert_eq(cplc.ic_serial, (uint32_t)serial[4] << 24 | (uint32_t)serial[5] << 16 |
				     (uint32_t)serial[6] << 8 | serial[7]);
	cr_assert_eq(cplc.personalization_equipment, 0);

	cr_assert_eq(ec_gp_get_card_data(&pc, NULL, &cd, &err), EC_OK, "%s", err.text);
	cr_assert_eq(cd.gp_version_len, 3);
	cr_assert_arr_eq(cd.gp_version, "\x02\x03\x01", 3, "GlobalPlatform 2.3.1");
	cr_assert_eq(cd.scp_count, 1);
	cr_assert_eq(cd.scps[0].scp, 0x03);
	cr_assert_eq(cd.scps[0].i, 0x70);

	cr_assert_eq(ec_gp_get_key_info(&pc, NULL, &ki, &err), EC_OK, "%s", err.text);
	cr_assert_eq(ki.count, 3);
	for (size_t i = 0; i < 3; i++) {
		cr_assert_eq(ki.keys[i].id, i + 1);
		cr_assert_eq(ki.keys[i].version, 0x30);
		cr_assert_eq(ki.keys[i].type, 0x88, "AES");
		cr_assert_eq(ki.keys[i].length, 16);
	}
	cr_assert_eq(ec_gp_get_sequence_counter(&pc, NULL, &seq, &err), EC_OK, "%s", err.text);
	cr_assert_eq(seq, 0);

	/* Inside one, at R-MAC and R-ENC: the counter moved with INITIALIZE UPDATE. */
	connect_at(0x33);
	cr_assert_eq(ec_gp_get_sequence_counter(&pc, &s, &seq, &err), EC_OK, "%s", err.text);
	cr_assert_eq(seq, 1);
	cr_assert_eq(ec_gp_get_cplc(&pc, &s, &cplc, &err), EC_OK, "%s", err.text);
	uint16_t sw;
	uint8_t buf[64];
	size_t len;
	cr_assert_eq(ec_gp_get_data(&pc, &s, 0x0042, buf, sizeof(buf), &len, &sw, &err), EC_ERR_CARD);
	cr_assert_eq(sw, 0x6A88);
	cr_assert(ec_gp_is_open(&s), "a refusal leaves the channel open");

	/* The parsers alone: CPLC without its tag, and malformed answers. */
	cr_assert_eq(ec_gp_parse_cplc(cplc.raw, EC_GP_CPLC_LEN, &cplc), EC_OK);
	cr_assert_eq(cplc.ic_fabricator, 0x4543);
	cr_assert_eq(ec_gp_parse_cplc(cplc.raw, 41, &cplc), EC_ERR_FORMAT);
	cr_assert_eq(ec_gp_parse_key_info((const uint8_t *)"\xE0\x05\xC0\x03\x01\x30\x88", 7, &ki),
		     EC_ERR_FORMAT);
	cr_assert_eq(ec_gp_parse_card_data((const uint8_t *)"\x66\x02\x74\x00", 4, &cd), EC_ERR_FORMAT);
}

/* ---- GET STATUS ---- */

Test(gp, list_of_a_new_card)
{
	struct ec_gp_registry reg;
	connect_at(0x01);

	get_status(EC_GP_SCOPE_ISD, &reg);
	cr_assert_eq(reg.count, 1);
	cr_assert_eq(reg.entries[0].aid.len, 8);
	cr_assert_arr_eq(reg.entries[0].aid.bytes, ec_gp_isd_aid, 8);
	cr_assert_eq(reg.entries[0].life_cycle, 0x0F, "SECURED");
	cr_assert_str_eq(ec_gp_card_state_name(reg.entries[0].life_cycle), "SECURED");
	cr_assert_eq(reg.entries[0].privileges_len, 3);
	cr_assert(reg.entries[0].privileges[0] & 0x80, "a security domain");

	get_status(EC_GP_SCOPE_APPS, &reg);
	cr_assert_eq(reg.count, 3);
	char buf[32];
	const uint8_t *aids[] = { wallet_aid, profile_aid, diag_aid };
	for (size_t i = 0; i < 3; i++) {
		const struct ec_gp_registry_entry *e = find(&reg, aids[i], 8);
		cr_assert_not_null(e, "application %zu", i);
		cr_assert(e->life_cycle == 0x07 || e->life_cycle == 0x0F, "selectable: %02X",
			  e->life_cycle);
		cr_assert_neq(strcmp(ec_gp_app_state_name(e->life_cycle, buf, sizeof(buf)), "unknown"), 0);
	}
	/* A prefix narrows it down. */
	cr_assert_eq(ec_gp_get_status(&s, EC_GP_SCOPE_APPS, diag_aid, 8, &reg, NULL), EC_OK);
	cr_assert_eq(reg.count, 1);

	get_status(EC_GP_SCOPE_LOAD_FILES, &reg);
	cr_assert_eq(reg.count, 0, "no load files (6A88 is an empty list)");
	get_status(EC_GP_SCOPE_LOAD_FILES_MODULES, &reg);
	cr_assert_eq(reg.count, 0);
}

Test(gp, get_status_more_data_and_the_old_format)
{
	/* A card that answers in parts (6310) and one from before GP 2.2
	 * (6A86 to P2 02): scripted answers at level 00, where nothing is
	 * MACed, so the transport may make them up. */
	static const uint8_t part1[] = { 0xE3, 0x0B, 0x4F, 0x05, 0xA0, 0, 0, 0, 0x01,
					 0x9F, 0x70, 0x01, 0x07, 0x63, 0x10 };
	static const uint8_t part2[] = { 0xE3, 0x10, 0x4F, 0x05, 0xA0, 0, 0, 0, 0x02,
					 0x9F, 0x70, 0x01, 0x83, 0xC5, 0x03, 0x10, 0, 0, 0x90, 0x00 };
	static const uint8_t old_sw[] = { 0x6A, 0x86 };
	static const uint8_t old[] = { 0x05, 0xA0, 0, 0, 0, 0x03, 0x01, 0x00,
				       0x01, 0x06, 0xA0, 0, 0, 0, 0x03, 0x01, 0x90, 0x00 };
	const uint8_t *const answers[] = { part1, part2, old_sw, old };
	const size_t lens[] = { sizeof(part1), sizeof(part2), sizeof(old_sw), sizeof(old) };
	struct ec_gp_registry reg;
	char buf[32];

	connect_at(0x00);
	wire.status_answers = answers;
	wire.status_lens = lens;
	wire.status_count = 4;

	get_status(EC_GP_SCOPE_APPS, &reg);
	cr_assert_eq(reg.count, 2);
	cr_assert_eq(wire.status_p2[0], 0x02);
	cr_assert_eq(wire.status_p2[1], 0x03, "next occurrence");
	cr_assert_eq(reg.entries[1].life_cycle, 0x83);
	cr_assert_str_eq(ec_gp_app_state_name(0x83, buf, sizeof(buf)), "LOCKED");
	cr_assert_eq(reg.entries[1].privileges[0], 0x10);

	get_status(EC_GP_SCOPE_LOAD_FILES_MODULES, &reg);
	cr_assert_eq(wire.status_p2[2], 0x02);
	cr_assert_eq(wire.status_p2[3], 0x00, "asked again in the old format");
	cr_assert_eq(reg.count, 1);
	cr_assert_eq(reg.entries[0].module_count, 1);
	cr_assert_eq(reg.entries[0].modules[0].len, 6);
	wire.status_answers = NULL;
}

/* ---- loading ---- */

Test(gp, load_the_fixture_install_list_delete)
{
	struct ec_cap cap;
	struct ec_gp_registry reg;
	struct ec_gp_load_result res;
	struct ec_error err = { 0 };
	static const uint8_t pkg[] = { 1, 2, 3, 4, 5 };
	static const uint8_t app[] = { 1, 2, 3, 4, 5, 6, 7, 8 };

	open_fixture(&cap);
	cr_assert_arr_eq(cap.load_file_sha256, "\x8d\x5a\xc9\xe2", 4, "the fixture's hash");
	connect_at(0x03);
	cr_assert_eq(ec_gp_load(&s, &cap, NULL, &res, &err), EC_OK, "%s", err.text);
	cr_assert_eq(res.block_size, 239, "C-MAC and C-DECRYPTION: 239 bytes a block");
	cr_assert_eq(res.start, EC_GP_LOAD_FRESH);
	cr_assert_eq(res.blocks_done, res.blocks);
	assert_loaded(&cap, "fixture");

	struct ec_gp_install in = { .privileges_len = 1, .selectable = true };
	ec_gp_aid_set(&in.package, pkg, sizeof(pkg));
	ec_gp_aid_set(&in.module, app, sizeof(app));
	cr_assert_eq(ec_gp_install(&s, &in, &err), EC_OK, "%s", err.text);

	get_status(EC_GP_SCOPE_APPS, &reg);
	const struct ec_gp_registry_entry *e = find(&reg, app, sizeof(app));
	cr_assert_not_null(e, "the instance is listed");
	cr_assert_eq(e->life_cycle, 0x07, "SELECTABLE");
	cr_assert_eq(e->load_file.len, sizeof(pkg));
	cr_assert_arr_eq(e->load_file.bytes, pkg, sizeof(pkg));

	/* Loading it again: refused, with what to do. */
	cr_assert_eq(ec_gp_load(&s, &cap, NULL, NULL, &err), EC_ERR_CARD);
	cr_assert_eq(err.sw, 0x6985);
	cr_assert(strstr(err.text, "delete it first"), "%s", err.text);
	/* Installing it twice: refused. */
	cr_assert_eq(ec_gp_install(&s, &in, &err), EC_ERR_CARD);
	cr_assert_eq(err.sw, 0x6985);
	/* A module that is not there. */
	struct ec_gp_install bad = in;
	bad.module.bytes[7] ^= 1;
	bad.aid = bad.module;
	cr_assert_eq(ec_gp_install(&s, &bad, &err), EC_ERR_CARD);
	cr_assert_eq(err.sw, 0x6A88);
	ec_gp_close(&s);
	cr_assert_eq(select_sw(app, sizeof(app)), 0x9000, "the inert instance is selectable");

	connect_at(0x01);
	cr_assert_eq(ec_gp_delete(&s, pkg, sizeof(pkg), false, &err), EC_ERR_CARD);
	cr_assert_eq(err.sw, 0x6985, "an instance still uses it");
	cr_assert(strstr(err.text, "--related"), "%s", err.text);
	cr_assert_eq(ec_gp_delete(&s, pkg, sizeof(pkg), true, &err), EC_OK, "%s", err.text);
	get_status(EC_GP_SCOPE_LOAD_FILES, &reg);
	cr_assert_eq(reg.count, 0, "the load file is gone");
	get_status(EC_GP_SCOPE_APPS, &reg);
	cr_assert_null(find(&reg, app, sizeof(app)), "and its instance with it");
	cr_assert_eq(ec_gp_delete(&s, pkg, sizeof(pkg), true, &err), EC_ERR_CARD);
	cr_assert_eq(err.sw, 0x6A88);
	ec_gp_close(&s);
	cr_assert_eq(select_sw(app, sizeof(app)), 0x6A82);
	ec_cap_free(&cap);
}

struct progress_log {
	size_t calls, last_done, last_bytes, total;
	bool monotonic;
};

static void log_progress(void *arg, size_t done, size_t blocks, size_t bytes, size_t total)
{
	struct progress_log *p = arg;
	if (p->calls && (done < p->last_done || bytes < p->last_bytes))
		p->monotonic = false;
	p->calls++;
	p->last_done = done;
	p->last_bytes = bytes;
	p->total = total;
	cr_assert_leq(done, blocks);
}

Test(gp, load_64k_in_328_blocks_p2_wraps)
{
	struct ec_cap cap;
	struct ec_gp_load_result res;
	struct ec_error err = { 0 };
	struct progress_log log = { .monotonic = true };
	struct ec_gp_load_options opt = { .block_size = 200, .progress = log_progress,
					  .progress_arg = &log };

	make_cap(64u * 1024u, 0, &cap);
	cr_assert_geq(cap.load_file_len, 64u * 1024u);
	connect_at(0x03);
	cr_assert_eq(ec_gp_load(&s, &cap, &opt, &res, &err), EC_OK, "%s", err.text);
	cr_assert_gt(res.blocks, 256, "%zu blocks", res.blocks);
	cr_assert_eq(wire.loads, res.blocks);
	cr_assert_eq(wire.p2_zero, 2, "P2 wrapped from FF to 00 at block 256");
	cr_assert_eq(log.calls, res.blocks + 1, "before the first block and after each");
	cr_assert(log.monotonic);
	cr_assert_eq(log.last_done, res.blocks);
	cr_assert_eq(log.last_bytes, cap.load_data_len);
	cr_assert_eq(log.total, cap.load_data_len);
	assert_loaded(&cap, "64 KiB");

	/* The same file in the default blocks: 239 bytes at level 03. */
	cr_assert_eq(ec_gp_delete(&s, gen_pkg, sizeof(gen_pkg), true, &err), EC_OK, "%s", err.text);
	cr_assert_eq(ec_gp_load(&s, &cap, NULL, &res, &err), EC_OK, "%s", err.text);
	cr_assert_eq(res.block_size, 239);
	cr_assert_eq(res.blocks, (cap.load_data_len + 238) / 239);
	assert_loaded(&cap, "64 KiB, default blocks");
	ec_cap_free(&cap);
}

Test(gp, block_size_from_level_and_reader)
{
	struct ec_gp_session fake = { .scp = EC_GP_SCP03, .level = 0x03 };
	struct ec_cap cap;
	struct ec_error err = { 0 };

	cr_assert_eq(ec_gp_block_size(&fake, 0), 239);
	cr_assert_eq(ec_gp_block_size(&fake, 261), 239);
	/* A reader taking 133-byte commands: 128 of data, less the MAC,
	 * in whole AES blocks with room for the padding. */
	cr_assert_eq(ec_gp_block_size(&fake, 133), 111);
	fake.level = 0x33;
	cr_assert_eq(ec_gp_block_size(&fake, 0), 239);
	fake.level = 0x01;
	cr_assert_eq(ec_gp_block_size(&fake, 0), 247);
	cr_assert_eq(ec_gp_block_size(&fake, 133), 120);
	fake.level = 0x11;
	cr_assert_eq(ec_gp_block_size(&fake, 0), 247);
	fake.level = 0x00;
	cr_assert_eq(ec_gp_block_size(&fake, 0), 255);
	cr_assert_eq(ec_gp_block_size(&fake, 5), 0);
	fake.scp = EC_GP_SCP02;
	fake.level = 0x03;
	cr_assert_eq(ec_gp_block_size(&fake, 0), 239);
	cr_assert_eq(ec_gp_block_size(&fake, 133), 119, "DES blocks are 8 bytes");
	/* The in-process card is not behind a PC/SC reader. */
	cr_assert_eq(ec_gp_reader_max_command(&pc), 0);

	make_cap(1000, 0, &cap);
	connect_at(0x01);
	struct ec_gp_load_options opt = { .block_size = 248 };
	cr_assert_eq(ec_gp_load(&s, &cap, &opt, NULL, &err), EC_ERR_ARG);
	cr_assert(strstr(err.text, "at most 247"), "%s", err.text);
	opt.block_size = 10;
	cr_assert_eq(ec_gp_load(&s, &cap, &opt, NULL, &err), EC_ERR_ARG);
	opt.block_size = 247;
	cr_assert_eq(ec_gp_load(&s, &cap, &opt, NULL, &err), EC_OK, "%s", err.text);
	assert_loaded(&cap, "247-byte blocks");
	ec_cap_free(&cap);
}

/* ---- keys ---- */

static void fill_keys(struct ec_gp_keys *k, size_t len, uint8_t kvn, uint8_t base)
{
	memset(k, 0, sizeof(*k));
	k->len = len;
	k->kvn = kvn;
	for (size_t i = 0; i < len; i++) {
		k->enc[i] = (uint8_t)(base + i);
		k->mac[i] = (uint8_t)(base + 0x20 + i);
		k->dek[i] = (uint8_t)(base + 0x40 + i);
	}
}

Test(gp, put_key_adds_a_key_set_that_opens_a_channel)
{
	struct ec_gp_keys fresh, old;
	struct ec_error err = { 0 };
	uint8_t kcv[3][EC_GP_KCV_LEN], want[EC_GP_KCV_LEN];

	fill_keys(&fresh, 16, 0x31, 0x10);
	connect_at(0x03);
	cr_assert_eq(ec_gp_put_key(&s, &fresh, 0, kcv, &err), EC_OK, "%s", err.text);
	cr_assert_eq(ec_gp_kcv_aes(fresh.mac, 16, want), EC_OK);
	cr_assert_arr_eq(kcv[1], want, EC_GP_KCV_LEN);
	/* The same version again: the card has it. */
	cr_assert_eq(ec_gp_put_key(&s, &fresh, 0, NULL, &err), EC_ERR_CARD);
	ec_gp_close(&s);

	cr_assert_eq(try_connect(&fresh, 0x03, EC_GP_SCP03, &err), EC_OK, "%s", err.text);
	cr_assert_eq(s.kvn, 0x31);
	struct ec_gp_key_info ki;
	cr_assert_eq(ec_gp_get_key_info(&pc, &s, &ki, &err), EC_OK, "%s", err.text);
	cr_assert_eq(ki.count, 6, "two key sets of three keys");
	/* AES-256 and AES-192 sets, sent under the new set's DEK. */
	struct ec_gp_keys k256, k192;
	fill_keys(&k256, 32, 0x32, 0x50);
	fill_keys(&k192, 24, 0x33, 0x60);
	cr_assert_eq(ec_gp_put_key(&s, &k256, 0, NULL, &err), EC_OK, "%s", err.text);
	cr_assert_eq(ec_gp_put_key(&s, &k192, 0, NULL, &err), EC_OK, "%s", err.text);
	ec_gp_close(&s);
	cr_assert_eq(try_connect(&k256, 0x33, EC_GP_SCP03, &err), EC_OK, "%s", err.text);
	ec_gp_close(&s);
	cr_assert_eq(try_connect(&k192, 0x01, EC_GP_SCP03, &err), EC_OK, "%s", err.text);
	ec_gp_close(&s);

	/* The test keys still work; replacing them retires them. */
	ec_gp_default_keys(&old, GP_TEST_KVN);
	cr_assert_eq(try_connect(&old, 0x03, EC_GP_SCP03, &err), EC_OK, "%s", err.text);
	struct ec_gp_keys repl;
	fill_keys(&repl, 16, 0x34, 0x70);
	cr_assert_eq(ec_gp_put_key(&s, &repl, 0x7E, NULL, &err), EC_ERR_CARD, "no key set 7E");
	cr_assert_eq(err.sw, 0x6A88);
	cr_assert_eq(ec_gp_put_key(&s, &repl, GP_TEST_KVN, NULL, &err), EC_OK, "%s", err.text);
	ec_gp_close(&s);
	cr_assert_eq(try_connect(&old, 0x01, EC_GP_SCP03, &err), EC_ERR_CARD);
	cr_assert_eq(try_connect(&repl, 0x01, EC_GP_SCP03, &err), EC_OK, "%s", err.text);
	/* Bad arguments never reach the card. */
	repl.kvn = 0x80;
	cr_assert_eq(ec_gp_put_key(&s, &repl, 0, NULL, &err), EC_ERR_ARG);
	repl.kvn = 0x35;
	repl.len = 20;
	cr_assert_eq(ec_gp_put_key(&s, &repl, 0, NULL, &err), EC_ERR_ARG);
}

/* ---- life cycles ---- */

/* The verbs personalization is made of (host/perso.c drives them). */
Test(gp, install_for_personalization_and_store_data)
{
	static const uint8_t generate[] = { WALLET_TAG_GENERATE, 0x00 };
	uint8_t block[EC_GP_STORE_DATA_MAX + 1] = { 0 };
	uint8_t answer[WALLET_KEY_PAIR_RESPONSE_LEN];
	struct ec_error err = { 0 };
	size_t n = 0;

	cr_assert_eq(ec_gp_store_data(&s, 0x00, 0, false, generate, sizeof(generate), NULL, 0,
				      NULL, "STORE DATA", &err), EC_ERR_ARG, "no channel is open");
	connect_at(0x03);
	wire_reset_counts();
	cr_assert_eq(ec_gp_store_data(&s, 0x00, 0, false, block, sizeof(block), NULL, 0, NULL,
				      "STORE DATA", &err), EC_ERR_ARG);
	cr_assert_eq(ec_gp_store_data(&s, 0x00, 0, true, block, EC_GP_STORE_DATA_DEK_MAX + 1,
				      NULL, 0, NULL, "STORE DATA", &err), EC_ERR_ARG);
	cr_assert_eq(wire.commands, 0, "what cannot be sent is not sent");
	cr_assert(ec_gp_is_open(&s), "and the channel stays open");

	/* STORE DATA goes nowhere before INSTALL [for personalization]. */
	cr_assert_eq(ec_gp_store_data(&s, 0x00, 0, false, generate, sizeof(generate), answer,
				      sizeof(answer), &n, "STORE DATA", &err), EC_ERR_CARD);
	cr_assert_eq(err.sw, SW_CONDITIONS);
	cr_assert_eq(ec_gp_install_for_personalization(&s, gen_app, sizeof(gen_app), "INSTALL",
						       &err), EC_ERR_CARD, "no such application");
	cr_assert_eq(err.sw, SW_REF_DATA_NOT_FOUND);

	cr_assert_eq(ec_gp_install_for_personalization(&s, wallet_aid, sizeof(wallet_aid),
						       "INSTALL", &err), EC_OK, "%s", err.text);
	cr_assert_eq(ec_gp_store_data(&s, 0x00, 0, false, generate, sizeof(generate), answer,
				      sizeof(answer), &n, "STORE DATA", &err), EC_OK, "%s", err.text);
	cr_assert_eq(n, WALLET_KEY_PAIR_RESPONSE_LEN, "serial and public key");
	cr_assert_eq(answer[PURSE_SERIAL_LEN], 0x04, "an uncompressed point");
	/* An answer with data where none was expected. */
	cr_assert_eq(ec_gp_store_data(&s, 0x00, 1, false, generate, sizeof(generate), NULL, 0,
				      NULL, "STORE DATA", &err), EC_ERR_FORMAT);
	cr_assert_not_null(strstr(err.text, "more than the 0 expected"), "%s", err.text);
}

Test(gp, lock_and_unlock_an_application)
{
	struct ec_gp_registry reg;
	struct ec_error err = { 0 };

	cr_assert_eq(select_sw(diag_aid, 8), 0x9000);
	connect_at(0x01);
	cr_assert_eq(ec_gp_set_app_lock(&s, diag_aid, 8, true, &err), EC_OK, "%s", err.text);
	get_status(EC_GP_SCOPE_APPS, &reg);
	cr_assert(find(&reg, diag_aid, 8)->life_cycle & 0x80, "LOCKED");
	cr_assert_eq(ec_gp_set_app_lock(&s, ec_gp_isd_aid, 8, true, &err), EC_ERR_CARD);
	cr_assert_eq(err.sw, 0x6985, "the card manager is not locked");
	static const uint8_t nobody[] = { 0xA0, 1, 2, 3, 4, 5 };
	cr_assert_eq(ec_gp_set_app_lock(&s, nobody, sizeof(nobody), true, &err), EC_ERR_CARD);
	cr_assert_eq(err.sw, 0x6A88);
	ec_gp_close(&s);
	cr_assert_eq(select_sw(diag_aid, 8), 0x6A82, "a locked application cannot be selected");
	cr_assert_eq(select_sw(wallet_aid, 8), 0x9000, "the others can");

	connect_at(0x01);
	cr_assert_eq(ec_gp_set_app_lock(&s, diag_aid, 8, false, &err), EC_OK, "%s", err.text);
	ec_gp_close(&s);
	cr_assert_eq(select_sw(diag_aid, 8), 0x9000, "unlocked");
}

Test(gp, card_lock_unlock_terminate)
{
	struct ec_gp_registry reg;
	struct ec_error err = { 0 };

	connect_at(0x01);
	cr_assert_eq(ec_gp_set_card_state(&s, GP_CARD_LOCKED, &err), EC_OK, "%s", err.text);
	get_status(EC_GP_SCOPE_ISD, &reg);
	cr_assert_eq(reg.entries[0].life_cycle, 0x7F);
	ec_gp_close(&s);
	cr_assert_eq(select_sw(wallet_aid, 8), 0x6A82, "a locked card keeps its applications shut");
	connect_at(0x01);
	cr_assert_eq(ec_gp_set_card_state(&s, GP_CARD_OP_READY, &err), EC_ERR_CARD);
	cr_assert(strstr(err.text, "OP_READY"), "%s", err.text);
	cr_assert_eq(ec_gp_set_card_state(&s, GP_CARD_SECURED, &err), EC_OK, "%s", err.text);
	get_status(EC_GP_SCOPE_ISD, &reg);
	cr_assert_eq(reg.entries[0].life_cycle, 0x0F);
	cr_assert_eq(ec_gp_set_card_state(&s, GP_CARD_TERMINATED, &err), EC_OK, "%s", err.text);
	cr_assert_eq(ec_gp_get_status(&s, EC_GP_SCOPE_ISD, NULL, 0, &reg, &err), EC_ERR_CARD);
	cr_assert_eq(err.sw, 0x6985, "a terminated card takes no more management");
}

/* ---- resume ---- */

/* Open a new secure channel after a broken link, resume, and check. */
static void resume_and_check(const struct ec_cap *cap, const struct ec_gp_load_options *opt,
			     struct ec_gp_load_result *res, const char *when)
{
	struct ec_error err = { 0 };
	wire_reset_counts();
	connect_at(0x03);
	cr_assert_eq(ec_gp_load_resume(&s, cap, opt, res, &err), EC_OK, "%s: %s", when, err.text);
	cr_assert_eq(res->blocks_done, res->blocks, "%s", when);
	assert_loaded(cap, when);
	ec_gp_close(&s);
}

Test(gp, resume_after_the_link_drops_at_every_command)
{
	struct ec_cap cap;
	struct ec_gp_load_result res;
	struct ec_error err = { 0 };
	unsigned long points = 0;
	size_t blocks;

	make_cap(3000, 0, &cap);
	cr_assert_eq(ec_cap_block_count(cap.load_data_len, 239, &blocks, NULL), EC_OK);
	cr_assert_gt(blocks, 10);

	/* k = -1 is INSTALL [for load]; 0..blocks-1 the LOAD commands. */
	for (int after = 0; after <= 1; after++) {
		for (long k = -1; k < (long)blocks; k++) {
			char when[64];
			snprintf(when, sizeof(when), "link dropped %s command %ld", after ? "after" : "before", k);
			card_down();
			card_up();
			connect_at(0x03);
			wire.drop_after = after;
			if (k < 0)
				wire.drop_install = true;
			else
				wire.drop_load = k;
			enum ec_status got = ec_gp_load(&s, &cap, NULL, &res, &err);
			cr_assert(wire.dropped, "%s", when);
			cr_assert_eq(got, EC_ERR_PCSC, "%s: %s", when, err.text);
			cr_assert(strstr(err.text, "--resume"), "%s: %s", when, err.text);
			cr_assert(!ec_gp_is_open(&s), "the channel closed with the link");
			cr_assert_eq(res.blocks_done, k < 0 ? 0 : (size_t)k, "%s", when);
			points++;

			resume_and_check(&cap, NULL, &res, when);
			cr_assert(res.card_resumes);
			size_t expect = k < 0 ? 0 : (size_t)k + (size_t)after;
			if (expect == blocks) {
				cr_assert_eq(res.start, EC_GP_LOAD_ALREADY_DONE, "%s", when);
				cr_assert_eq(wire.loads, 0, "%s: nothing sent again", when);
			} else if (expect == 0) {
				/* Nothing of the file was kept: INSTALL again, block 0. */
				cr_assert_eq(res.start, EC_GP_LOAD_FRESH, "%s", when);
				cr_assert_eq(res.first_block, 0);
			} else {
				cr_assert_eq(res.start, EC_GP_LOAD_RESUMED, "%s", when);
				cr_assert_eq(res.first_block, expect, "%s", when);
				cr_assert_eq(wire.loads, blocks - expect, "%s: only the rest sent", when);
				cr_assert_eq(wire.first_p2, (long)(expect & 0xFF));
			}
		}
	}
	printf("gp resume: dropped link at %lu points of a %zu-block load, resumed every time\n",
	       points, blocks);
	cr_assert_eq(points, 2 * (blocks + 1));
	ec_cap_free(&cap);
}

Test(gp, resume_past_block_256_after_a_drop)
{
	struct ec_cap cap;
	struct ec_gp_load_result res;
	struct ec_error err = { 0 };
	struct ec_gp_load_options opt = { .block_size = 200 };

	make_cap(64u * 1024u, 0, &cap);
	connect_at(0x03);
	wire.drop_load = 300;
	cr_assert_eq(ec_gp_load(&s, &cap, &opt, &res, &err), EC_ERR_PCSC);
	cr_assert_eq(res.blocks_done, 300);
	resume_and_check(&cap, &opt, &res, "block 300");
	cr_assert_eq(res.start, EC_GP_LOAD_RESUMED);
	cr_assert_eq(res.first_block, 300);
	cr_assert_eq(wire.first_p2, 300 & 0xFF, "the wrapped block number");
	ec_cap_free(&cap);
}

Test(gp, resume_after_a_tear_at_every_write)
{
	struct ec_cap cap;
	struct ec_gp_load_result res;
	struct ec_error err = { 0 };
	unsigned long points = 0, k;
	unsigned long starts[4] = { 0 };

	make_cap(3000, 0, &cap);
	for (k = 1;; k++) {
		char when[64];
		snprintf(when, sizeof(when), "tear at write %lu", k);
		card_down();
		card_up();
		connect_at(0x03);
		/* Counting from here: INSTALL [for load] and every LOAD. */
		struct vc_tear_plan plan = { .tear_at = k, .partial = VC_TEAR_PARTIAL_RANDOM, .seed = k };
		vc_tear_arm(st, &plan);
		enum ec_status st_load = ec_gp_load(&s, &cap, NULL, &res, &err);
		bool torn = vc_tear_torn(st);
		vc_tear_disarm(st);
		if (!torn) {
			cr_assert_eq(st_load, EC_OK, "%s: %s", when, err.text);
			break;	/* the load has fewer writes than k */
		}
		cr_assert_eq(st_load, EC_ERR_PCSC, "%s: %s", when, err.text);
		cr_assert(strstr(err.text, "--resume"), "%s", err.text);
		points++;
		power_cycle();
		resume_and_check(&cap, NULL, &res, when);
		starts[res.start]++;
	}
	printf("gp resume: torn at each of %lu writes of a %zu-block load (%lu resumed, %lu from "
	       "block 0, %lu already complete), resumed every time\n",
	       points, res.blocks, starts[EC_GP_LOAD_RESUMED], starts[EC_GP_LOAD_FRESH],
	       starts[EC_GP_LOAD_ALREADY_DONE]);
	cr_assert_gt(points, res.blocks, "several writes a block");
	cr_assert_gt(starts[EC_GP_LOAD_RESUMED], 0);
	cr_assert_gt(starts[EC_GP_LOAD_ALREADY_DONE], 0);
	ec_cap_free(&cap);
}

Test(gp, a_card_without_the_extension_gets_the_file_from_block_0)
{
	struct ec_cap cap;
	struct ec_gp_load_result res;
	struct ec_error err = { 0 };

	make_cap(3000, 0, &cap);
	connect_at(0x03);
	wire.drop_load = 6;
	cr_assert_eq(ec_gp_load(&s, &cap, NULL, &res, &err), EC_ERR_PCSC);
	wire.no_df70 = true;
	resume_and_check(&cap, NULL, &res, "no DF70");
	cr_assert(!res.card_resumes);
	cr_assert_eq(res.start, EC_GP_LOAD_FRESH);
	cr_assert_eq(res.first_block, 0);
	cr_assert_eq(wire.first_p2, 0, "from block 0");
	cr_assert_eq(wire.loads, res.blocks, "every block again");
	ec_cap_free(&cap);
}

Test(gp, resume_in_other_blocks_starts_over)
{
	struct ec_cap cap;
	struct ec_gp_load_result res;
	struct ec_error err = { 0 };
	struct ec_gp_load_options small = { .block_size = 200 };

	make_cap(3000, 0, &cap);
	connect_at(0x03);
	wire.drop_load = 5;
	cr_assert_eq(ec_gp_load(&s, &cap, &small, &res, &err), EC_ERR_PCSC);
	resume_and_check(&cap, NULL, &res, "239 after 200");
	cr_assert_eq(res.start, EC_GP_LOAD_RESTARTED);
	cr_assert_eq(res.first_block, 0);
	cr_assert_eq(wire.loads, res.blocks);
	ec_cap_free(&cap);
}

Test(gp, resume_with_nothing_pending)
{
	struct ec_cap cap, other;
	struct ec_gp_load_result res;
	struct ec_error err = { 0 };

	make_cap(1500, 0, &cap);
	/* Nothing on the card: a plain load. */
	resume_and_check(&cap, NULL, &res, "nothing pending");
	cr_assert_eq(res.start, EC_GP_LOAD_FRESH);
	cr_assert_eq(wire.loads, res.blocks);
	/* Whole already: nothing sent. */
	resume_and_check(&cap, NULL, &res, "loaded already");
	cr_assert_eq(res.start, EC_GP_LOAD_ALREADY_DONE);
	cr_assert_eq(wire.loads, 0);
	/* Another version of it on the card: refused, with what to do. */
	make_cap(1500, 1, &other);
	connect_at(0x03);
	cr_assert_eq(ec_gp_load_resume(&s, &other, NULL, &res, &err), EC_ERR_CARD);
	cr_assert(strstr(err.text, "version 1.0"), "%s", err.text);
	ec_cap_free(&cap);
	ec_cap_free(&other);
}

Test(gp, a_resume_that_mixes_two_files_fails_the_hash_check)
{
	struct ec_cap first, second;
	struct ec_gp_load_result res;
	struct ec_error err = { 0 };

	/* Same AID, same size, other bytes: the card takes the rest of the
	 * second onto the start of the first, and the SHA-256 announced for
	 * the first does not match. */
	make_cap(3000, 0, &first);
	make_cap(3000, 0, &second);
	/* A byte of the Method component's filler, past the blocks sent
	 * before the drop; the second file gets its own hash. */
	size_t at = second.load_data_len * 2 / 3;
	second.buffer[(size_t)(second.load_data - second.buffer) + at] ^= 0x5A;
	cr_assert_eq(crypto_sha256(second.load_file, second.load_file_len, second.load_file_sha256), 0);
	cr_assert_neq(memcmp(first.load_file_sha256, second.load_file_sha256, 32), 0);
	cr_assert_gt(at, 4 * 239);
	connect_at(0x03);
	wire.drop_load = 4;
	cr_assert_eq(ec_gp_load(&s, &first, NULL, &res, &err), EC_ERR_PCSC);
	connect_at(0x03);
	cr_assert_eq(ec_gp_load_resume(&s, &second, NULL, &res, &err), EC_ERR_CARD);
	cr_assert_eq(res.start, EC_GP_LOAD_RESUMED);
	cr_assert_eq(err.sw, 0x6982);
	cr_assert(strstr(err.text, "SHA-256"), "%s", err.text);
	/* Loading it from the start (not resuming) drops the mix. */
	cr_assert_eq(ec_gp_load(&s, &second, NULL, &res, &err), EC_OK, "%s", err.text);
	assert_loaded(&second, "after the mix");
	ec_cap_free(&first);
	ec_cap_free(&second);
}

Test(gp, load_progress_parsing)
{
	struct ec_gp_load_progress lp;
	static const uint8_t active[] = { 0xDF, 0x70, 0x10, 1, 7, 0, 0, 0x06, 0x8E, 0, 0, 0x0B, 0xB8,
					  5, 1, 2, 3, 4, 5 };
	static const uint8_t idle[] = { 0xDF, 0x70, 0x0B, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };
	cr_assert_eq(ec_gp_parse_load_progress(active, sizeof(active), &lp), EC_OK);
	cr_assert(lp.supported && lp.active);
	cr_assert_eq(lp.next_block, 7);
	cr_assert_eq(lp.received, 0x068E);
	cr_assert_eq(lp.total, 3000);
	cr_assert_eq(lp.aid.len, 5);
	cr_assert_eq(ec_gp_parse_load_progress(idle, sizeof(idle), &lp), EC_OK);
	cr_assert(lp.supported && !lp.active);
	cr_assert_eq(ec_gp_parse_load_progress(active, sizeof(active) - 1, &lp), EC_ERR_FORMAT);
	cr_assert_eq(ec_gp_parse_load_progress(idle + 3, sizeof(idle) - 3, &lp), EC_ERR_FORMAT);
}
