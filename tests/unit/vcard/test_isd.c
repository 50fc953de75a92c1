/*
 * test_isd.c - the issuer security domain of vcard, driven in process by
 * the host side of SCP03 (host/scp03_host.c): secure channel at every
 * security level, card content management (LOAD of the real CAP fixture
 * and of generated multi-block CAPs, INSTALL, SELECT of the instance,
 * DELETE), life cycles (lock, unlock, card lock), PUT KEY, the negative
 * cases, and LOAD torn at every write of a block then resumed where the
 * card says.
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
#include "cursor.h"
#include "hex.h"
#include "isd.h"
#include "scp03_host.h"
#include "test_support.h"

#define IMAGE (512u * 1024u)

static struct vc_storage *st;
static struct vc_card card;
static struct scp03_session host;
static struct scp03_keys keys;

static uint8_t rsp[VC_RSP_MAX];
static size_t rsp_len;	/* data only */

static void default_keys(struct scp03_keys *k, uint8_t kvn)
{
	memset(k, 0, sizeof(*k));
	k->len = 16;
	k->kvn = kvn;
	for (int i = 0; i < 16; i++)
		k->enc[i] = k->mac[i] = k->dek[i] = (uint8_t)(0x40 + i);
}

static uint8_t card_i;	/* the SCP03 "i" the next card is made with (0: default) */

static void setup(void)
{
	struct vc_storage *mem;
	struct vc_card_options opt = { .serial = { 1, 2, 3, 4, 5, 6, 7, 8 }, .serial_set = true,
				       .scp03_i = card_i };
	cr_assert_eq(vc_storage_mem_create(IMAGE, &mem), VC_OK);
	cr_assert_eq(vc_card_create(mem, &opt, ecard_applets, ecard_applet_count, NULL), VC_OK);
	cr_assert_eq(vc_storage_tear_create(mem, &st), VC_OK);
	vc_card_init(&card, st, NULL);
	for (size_t i = 0; i < ecard_applet_count; i++)
		vc_card_register(&card, ecard_applets[i]);
	cr_assert_eq(vc_card_power_up(&card), VC_OK);
	default_keys(&keys, GP_TEST_KVN);
	memset(&host, 0, sizeof(host));
}

static void teardown(void)
{
	scp03_close(&host);
	vc_card_free(&card);
	vc_storage_destroy(st);
}

static void setup_i10(void)
{
	card_i = 0x10;
	setup();
	card_i = 0;
}

TestSuite(isd, .init = setup, .fini = teardown, .timeout = 120);
TestSuite(isd_i10, .init = setup_i10, .fini = teardown);

/* Plain exchange: returns the SW (0 on power loss), data in rsp. */
static uint16_t raw(const uint8_t *cmd, size_t len)
{
	uint8_t out[VC_RSP_MAX];
	size_t n;
	enum vc_status s = vc_card_process(&card, cmd, len, out, &n);
	if (s == VC_ERR_POWER_LOST)
		return 0;
	cr_assert_eq(s, VC_OK);
	memcpy(rsp, out, n - 2);
	rsp_len = n - 2;
	return (uint16_t)(out[n - 2] << 8 | out[n - 1]);
}

static uint16_t plain(const char *hex)
{
	uint8_t cmd[300];
	long n = hex_decode(hex, cmd, sizeof(cmd));
	cr_assert_geq(n, 4);
	return raw(cmd, (size_t)n);
}

/* Open a secure channel with keys k at level; returns the SW of the step
 * that failed, or 9000. */
static uint16_t open_channel_with(const struct scp03_keys *k, uint8_t level)
{
	uint8_t cmd[64], challenge[8];
	size_t n;
	struct scp03_init_response ir;
	cr_assert_eq(crypto_random(challenge, 8), 0);
	cr_assert_eq(scp03_host_initialize_update(&host, 0x80, k->kvn, challenge, cmd, sizeof(cmd), &n),
		     SCP03_OK);
	uint16_t sw = raw(cmd, n);
	if (sw != 0x9000)
		return sw;
	cr_assert_eq(scp03_parse_initialize_update_response(rsp, rsp_len, &ir), SCP03_OK);
	cr_assert_arr_eq(ir.kdd + 2, "\x01\x02\x03\x04\x05\x06\x07\x08", 8, "serial in the KDD");
	if (scp03_host_check_card(&host, k, &ir) != SCP03_OK)
		return 0x6300;
	cr_assert_eq(scp03_host_external_authenticate(&host, level, cmd, sizeof(cmd), &n), SCP03_OK);
	return raw(cmd, n);
}

static void open_channel(uint8_t level)
{
	uint16_t sw = open_channel_with(&keys, level);
	cr_assert_eq(sw, 0x9000, "opening a secure channel: %04X", sw);
}

/* A command through the secure channel: wrap, send, unwrap. */
static uint16_t sec_bytes(const uint8_t *cmd, size_t len)
{
	uint8_t wrapped[SCP03_APDU_MAX + 16], back[VC_RSP_MAX], out[VC_RSP_MAX];
	size_t wn, bn, on;
	cr_assert_eq(scp03_host_wrap_command(&host, cmd, len, wrapped, sizeof(wrapped), &wn), SCP03_OK);
	enum vc_status s = vc_card_process(&card, wrapped, wn, back, &bn);
	if (s == VC_ERR_POWER_LOST)
		return 0;
	cr_assert_eq(s, VC_OK);
	if (scp03_host_unwrap_response(&host, back, bn, out, sizeof(out), &on) != SCP03_OK)
		return (uint16_t)(back[bn - 2] << 8 | back[bn - 1]);
	memcpy(rsp, out, on - 2);
	rsp_len = on - 2;
	return (uint16_t)(out[on - 2] << 8 | out[on - 1]);
}

static uint16_t sec(const char *hex)
{
	uint8_t cmd[300];
	long n = hex_decode(hex, cmd, sizeof(cmd));
	cr_assert_geq(n, 4);
	return sec_bytes(cmd, (size_t)n);
}

/* ---- secure channel ---- */

Test(isd, every_security_level)
{
	static const uint8_t levels[] = { 0x00, 0x01, 0x03, 0x11, 0x13, 0x33 };
	for (size_t i = 0; i < sizeof(levels); i++) {
		cr_assert_eq(plain("00 A4 04 00 00"), 0x9000);
		open_channel(levels[i]);
		cr_assert_eq(sec("80 F2 80 02 02 4F 00 00"), 0x9000, "level %02X", levels[i]);
		/* E3 { 4F AID, 9F70 card life cycle, C5 privileges } */
		cr_assert_eq(rsp[0], 0xE3);
		cr_assert_arr_eq(rsp + 2, "\x4F\x08\xA0\x00\x00\x01\x51\x00\x00\x00\x9F\x70\x01\x0F", 14);
		cr_assert_eq(sec("80 F2 40 02 02 4F 00 00"), 0x9000);
		cr_assert_gt(rsp_len, 40, "wallet, profile, diag");
		scp03_close(&host);
	}
}

Test(isd, sequence_counter_moves_with_each_initialize_update)
{
	cr_assert_eq(plain("80 CA 00 C1 00"), 0x9000);
	cr_assert_arr_eq(rsp, "\xC1\x03\x00\x00\x00", 5);
	open_channel(0x01);
	open_channel(0x01);
	cr_assert_eq(plain("80 CA 00 C1 00"), 0x9000);
	cr_assert_arr_eq(rsp, "\xC1\x03\x00\x00\x02", 5);
	vc_card_power_down(&card);
	cr_assert_eq(vc_card_power_up(&card), VC_OK);
	cr_assert_eq(plain("80 CA 00 C1 00"), 0x9000);
	cr_assert_arr_eq(rsp, "\xC1\x03\x00\x00\x02", 5, "persistent");
}

Test(isd, wrong_keys_give_no_session)
{
	struct scp03_keys wrong;
	default_keys(&wrong, GP_TEST_KVN);
	wrong.mac[0] ^= 1;
	cr_assert_eq(open_channel_with(&wrong, 0x01), 0x6300, "the card cryptogram does not match");
	struct scp03_keys other_kvn;
	default_keys(&other_kvn, 0x31);
	cr_assert_eq(open_channel_with(&other_kvn, 0x01), 0x6A88, "no such key version");
	cr_assert_eq(plain("80 F2 80 02 02 4F 00 00"), 0x6982);
}

Test(isd, altered_mac_closes_the_session)
{
	open_channel(0x01);
	uint8_t cmd[] = { 0x80, 0xF2, 0x80, 0x02, 0x02, 0x4F, 0x00, 0x00 }, wrapped[64];
	size_t wn;
	cr_assert_eq(scp03_host_wrap_command(&host, cmd, sizeof(cmd), wrapped, sizeof(wrapped), &wn), SCP03_OK);
	wrapped[wn - 2] ^= 0x01;	/* inside the C-MAC */
	cr_assert_eq(raw(wrapped, wn), 0x6982);
	/* The session is gone: even a correct command is refused now. */
	cr_assert_eq(sec("80 F2 80 02 02 4F 00 00"), 0x6982);
}

Test(isd, management_outside_the_secure_channel_refused)
{
	cr_assert_eq(plain("80 F2 80 02 02 4F 00 00"), 0x6982);
	cr_assert_eq(plain("80 E6 02 00 0A 05 0102030405 00 00 00 00 00"), 0x6982);
	cr_assert_eq(plain("80 E8 80 00 02 C4 00"), 0x6982);
	cr_assert_eq(plain("80 E4 00 00 07 4F 05 0102030405"), 0x6982);
	cr_assert_eq(plain("84 F2 80 02 0A 4F 00 0001020304050607"), 0x6982);
	/* A session at level 01 takes no plain (unMACed) commands either. */
	open_channel(0x01);
	cr_assert_eq(plain("80 F2 80 02 02 4F 00 00"), 0x6982);
}

Test(isd, external_authenticate_without_initialize_update)
{
	cr_assert_eq(plain("84 82 01 00 10 00112233445566778899AABBCCDDEEFF"), 0x6985);
}

/* ---- loading ---- */

static struct ec_cap fixture;

static void load_cap(const struct ec_cap *cap, size_t block_size, const char *hash_hex)
{
	char cmd[600], elf[40];
	hex_encode(cap->package.aid.bytes, cap->package.aid.len, elf);
	/* Lc: LV load file AID, empty SD AID, LV hash, empty parameters and
	 * token; then Le. */
	snprintf(cmd, sizeof(cmd), "80 E6 02 00 %02zX %02zX %s 00 %02zX %s 00 00 00",
		 (size_t)1 + cap->package.aid.len + 1 + 1 + (hash_hex ? strlen(hash_hex) / 2 : 0) + 2,
		 (size_t)cap->package.aid.len, elf, hash_hex ? strlen(hash_hex) / 2 : 0,
		 hash_hex ? hash_hex : "");
	cr_assert_eq(sec(cmd), 0x9000, "INSTALL [for load]");
	size_t count;
	cr_assert_eq(ec_cap_block_count(cap->load_data_len, block_size, &count, NULL), EC_OK);
	for (size_t i = 0; i < count; i++) {
		struct ec_cap_block b;
		uint8_t apdu[300] = { 0x80, 0xE8 };
		cr_assert_eq(ec_cap_block(cap->load_data, cap->load_data_len, block_size, i, &b, NULL), EC_OK);
		apdu[2] = b.last ? 0x80 : 0x00;
		apdu[3] = b.number;
		apdu[4] = (uint8_t)b.len;
		memcpy(apdu + 5, b.data, b.len);
		cr_assert_eq(sec_bytes(apdu, 5 + b.len), 0x9000, "LOAD block %zu", i);
	}
}

/* A CAP file made to measure by capgen, opened. */
static void make_cap(const struct capgen_spec *spec, struct ec_cap *cap)
{
	char path[] = "/tmp/ecard-isd-XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	close(fd);
	cr_assert_eq(capgen_write_spec(spec, path), 0);
	cr_assert_eq(ec_cap_open(path, cap, NULL), EC_OK);
	unlink(path);
}

static void open_fixture(void)
{
	const char *path = TEST_CAP_FIXTURE;
	struct ec_error err = { 0 };
	cr_assert_eq(ec_cap_open(path, &fixture, &err), EC_OK, "%s", err.text);
}

Test(isd, load_install_select_delete_the_fixture)
{
	open_fixture();
	open_channel(0x03);
	char hash[65];
	hex_encode(fixture.load_file_sha256, 32, hash);
	load_cap(&fixture, 100, hash);

	cr_assert_eq(sec("80 F2 10 02 02 4F 00 00"), 0x9000, "load files and modules");
	cr_assert_eq(rsp[0], 0xE3);
	cr_assert_arr_eq(rsp + 2, "\x4F\x05\x01\x02\x03\x04\x05\x9F\x70\x01\x01", 11);
	uint8_t module[] = { 0x84, 0x08, 1, 2, 3, 4, 5, 6, 7, 8 };
	cr_assert(memmem(rsp, rsp_len, module, sizeof(module)), "the applet module is listed");

	/* INSTALL [for install and make selectable] */
	cr_assert_eq(sec("80 E6 0C 00 1E 05 0102030405 08 0102030405060708 08 0102030405060708 01 00 02 C9 00 00"),
		     0x9000);
	cr_assert_eq(sec("80 F2 40 02 0A 4F 08 0102030405060708 00"), 0x9000);
	cr_assert(memmem(rsp, rsp_len, "\x9F\x70\x01\x07", 4), "SELECTABLE");
	scp03_close(&host);
	/* No native implementation: an inert applet. */
	cr_assert_eq(plain("00 A4 04 00 08 0102030405060708"), 0x9000);
	cr_assert_eq(plain("80 10 00 00"), 0x6D00);

	cr_assert_eq(plain("00 A4 04 00 00"), 0x9000);
	open_channel(0x01);
	cr_assert_eq(sec("80 E4 00 00 07 4F 05 0102030405"), 0x6985, "an instance still uses it");
	cr_assert_eq(sec("80 E4 00 00 0A 4F 08 0102030405060708"), 0x9000);
	cr_assert_eq(sec("80 E4 00 00 07 4F 05 0102030405"), 0x9000);
	cr_assert_eq(sec("80 F2 20 02 02 4F 00 00"), 0x6A88, "no load file left");
	scp03_close(&host);
	cr_assert_eq(plain("00 A4 04 00 08 0102030405060708"), 0x6A82);
	ec_cap_free(&fixture);
}

Test(isd, load_errors)
{
	open_fixture();
	open_channel(0x01);
	cr_assert_eq(sec("80 E8 80 00 03 C4 01 00"), 0x6985, "LOAD without INSTALL [for load]");
	cr_assert_eq(sec("80 E6 02 00 0A 05 0102030405 00 00 00 00 00"), 0x9000);
	cr_assert_eq(sec("80 E8 00 01 03 C4 01 00"), 0x6A86, "block 1 before block 0");
	cr_assert_eq(sec("80 E4 00 00 0A 4F 08 A0A1A2A3A4A5A6A7"), 0x6A88, "DELETE of an unknown AID");
	cr_assert_eq(sec("80 E4 00 00 0A 4F 08 A000000151000000"), 0x6985, "the card manager stays");
	/* A wrong hash: the last block is refused and nothing registered. */
	cr_assert_eq(sec("80 E4 00 00 07 4F 05 0102030405"), 0x9000, "cancel the load in progress");
	char bad[65];
	hex_encode(fixture.load_file_sha256, 32, bad);
	bad[0] = bad[0] == '0' ? '1' : '0';
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "80 E6 02 00 2A 05 0102030405 00 20 %s 00 00 00", bad);
	cr_assert_eq(sec(cmd), 0x9000);
	size_t count;
	ec_cap_block_count(fixture.load_data_len, 200, &count, NULL);
	uint16_t last = 0;
	for (size_t i = 0; i < count; i++) {
		struct ec_cap_block b;
		uint8_t apdu[300] = { 0x80, 0xE8 };
		ec_cap_block(fixture.load_data, fixture.load_data_len, 200, i, &b, NULL);
		apdu[2] = b.last ? 0x80 : 0x00;
		apdu[3] = b.number;
		apdu[4] = (uint8_t)b.len;
		memcpy(apdu + 5, b.data, b.len);
		last = sec_bytes(apdu, 5 + b.len);
	}
	cr_assert_eq(last, 0x6982, "not the announced load file");
	cr_assert_eq(sec("80 F2 20 02 02 4F 00 00"), 0x6A88);
	ec_cap_free(&fixture);
}

/*
 * A second card manager through the back door: a load file whose applet
 * names the card manager's own module. An instance of it would act as a
 * security domain with the test keys of a new card, outlive the rotation
 * of the real one's keys, and could DELETE the wallet. INSTALL refuses it.
 */
Test(isd, the_card_managers_module_cannot_be_installed)
{
	static const uint8_t pkg[] = { 0xA0, 0x00, 0x00, 0x07, 0x77, 0x02 };
	struct capgen_applet applet = { vc_isd_aid, GP_ISD_AID_LEN };
	struct capgen_spec spec = { .package_aid = pkg, .package_aid_len = sizeof(pkg),
				    .version_major = 1, .applets = &applet, .applet_count = 1 };
	struct ec_cap cap;
	make_cap(&spec, &cap);
	open_channel(0x03);
	load_cap(&cap, 200, NULL);
	ec_cap_free(&cap);

	/* INSTALL [for install and make selectable] of A0000007770201 from
	 * that module, with no privileges: the load file is there, the
	 * module listed, the card's rules refuse. */
	cr_assert_eq(sec("80 E6 0C 00 1E 06 A00000077702 08 A000000151000000 07 A0000007770201 "
			 "01 00 02 C9 00 00"),
		     SW_CONDITIONS, "the card manager's module is not an application");
	cr_assert_eq(sec("80 F2 40 02 09 4F 07 A0000007770201 00"), SW_REF_DATA_NOT_FOUND,
		     "nothing registered");
	scp03_close(&host);
	cr_assert_eq(plain("00 A4 04 00 07 A0000007770201"), SW_FILE_NOT_FOUND);
	size_t managers = 0;
	for (size_t i = 0; i < VC_MAX_INSTANCES; i++)
		managers += card.inst[i].used && card.inst[i].type == &vc_isd_applet;
	cr_assert_eq(managers, 1, "one card manager");

	/* The platform refuses it too, whoever asks. */
	static const uint8_t app[] = { 0xA0, 0x00, 0x00, 0x07, 0x77, 0x02, 0x01 };
	cr_assert_eq(vc_card_install(&card, vc_isd_aid, GP_ISD_AID_LEN, app, sizeof(app), NULL, 0),
		     VC_ERR_ARG);
	cr_assert_eq(vc_card_find_instance(&card, app, sizeof(app)), -1);
}

/*
 * INSTALL [for personalization] names an application, not a registry
 * slot: once it is deleted, the STORE DATA that was meant for it reaches
 * nobody, not the next instance installed in its place.
 */
Test(isd, personalization_ends_with_the_deletion_of_its_application)
{
	static const uint8_t pkg[] = { 0xA0, 0x00, 0x00, 0x07, 0x77, 0x03 };
	static const uint8_t profile[] = { PROFILE_AID };
	struct capgen_applet applet = { profile, sizeof(profile) };
	struct capgen_spec spec = { .package_aid = pkg, .package_aid_len = sizeof(pkg),
				    .version_major = 1, .applets = &applet, .applet_count = 1 };
	struct ec_cap cap;
	make_cap(&spec, &cap);
	open_channel(0x01);
	load_cap(&cap, 200, NULL);
	ec_cap_free(&cap);
	int slot = vc_card_find_instance(&card, profile, sizeof(profile));
	cr_assert_geq(slot, 0);

	cr_assert_eq(sec("80 E6 20 00 0E 00 00 08 F045434152445001 00 00 00"), 0x9000);
	cr_assert_eq(sec("80 E4 00 00 0A 4F 08 F045434152445001"), 0x9000);
	/* A second profile, from the module loaded above, in the freed slot. */
	cr_assert_eq(sec("80 E6 0C 00 1F 06 A00000077703 08 F045434152445001 08 F045434152445002 "
			 "01 00 02 C9 00 00"), 0x9000);
	static const uint8_t second[] = { 0xF0, 0x45, 0x43, 0x41, 0x52, 0x44, 0x50, 0x02 };
	cr_assert_eq(vc_card_find_instance(&card, second, sizeof(second)), slot);

	cr_assert_eq(sec("80 E2 80 00 05 03 03 426F62"), SW_CONDITIONS,
		     "the STORE DATA was for the deleted profile");
	cr_assert_eq(sec("80 E6 20 00 0E 00 00 08 F045434152445002 00 00 00"), 0x9000);
	cr_assert_eq(sec("80 E2 80 00 05 03 03 426F62"), 0x9000, "named, it takes it");
}

/* Entries in one GET STATUS answer of the applications (rsp), TLV or not. */
static size_t status_entries(bool tlv)
{
	size_t n = 0;
	for (size_t off = 0; off < rsp_len; n++) {
		if (tlv) {
			cr_assert_eq(rsp[off], 0xE3);
			off += 2 + rsp[off + 1];
		} else {
			off += 1 + rsp[off] + 2;	/* AID, life cycle, privileges */
		}
		cr_assert_leq(off, rsp_len, "a whole number of entries");
	}
	return n;
}

/*
 * A registry larger than one answer of the secure channel comes in parts:
 * 6310 with the entries that fit, then GET STATUS for the next ones (P2
 * b1) until 9000. fuzz_card found that the card answered 6F00 instead
 * once about ten applications were installed (the ISD's answer buffer
 * overflowed, or the R-MAC no longer fit a short response).
 */
Test(isd, get_status_answers_in_parts)
{
	/* (Level 00 wraps nothing: the platform's GET RESPONSE carries it.) */
	static const uint8_t levels[] = { 0x01, 0x03, 0x11, 0x13, 0x33 };
	char cmd[200], hash[65];

	open_fixture();
	open_channel(0x01);
	hex_encode(fixture.load_file_sha256, 32, hash);
	load_cap(&fixture, 200, hash);
	/* The registry full: the card manager, wallet, profile, diag and 12. */
	for (int i = 0; i < VC_MAX_INSTANCES - 4; i++) {
		snprintf(cmd, sizeof(cmd), "80 E6 0C 00 1E 05 0102030405 08 0102030405060708 "
			 "08 01020304050607%02X 01 00 02 C9 00 00", 0x10 + i);
		cr_assert_eq(sec(cmd), 0x9000, "instance %d", i);
	}
	for (size_t l = 0; l < sizeof(levels); l++) {
		for (int tlv = 1; tlv >= 0; tlv--) {
			cr_assert_eq(plain("00 A4 04 00 00"), 0x9000);
			open_channel(levels[l]);
			char next[40];
			snprintf(cmd, sizeof(cmd), "80 F2 40 %02X 02 4F 00 00", tlv ? 0x02 : 0x00);
			snprintf(next, sizeof(next), "80 F2 40 %02X 02 4F 00 00", tlv ? 0x03 : 0x01);
			uint16_t sw = sec(cmd);
			size_t entries = 0, parts = 1;
			while (sw == 0x6310) {
				entries += status_entries(tlv);
				sw = sec(next);
				parts++;
			}
			cr_assert_eq(sw, 0x9000, "level %02X: %04X", levels[l], sw);
			entries += status_entries(tlv);
			cr_assert_eq(entries, VC_MAX_INSTANCES - 1, "level %02X: every application",
				     levels[l]);
			if (tlv)	/* the old format is compact enough for one */
				cr_assert_gt(parts, 1, "level %02X: more than one answer", levels[l]);
			cr_assert_eq(sec(next), 0x6985, "no next entries once all were sent");
			scp03_close(&host);
		}
	}
	ec_cap_free(&fixture);
}

/* ---- life cycles ---- */

Test(isd, lock_and_unlock_an_application)
{
	open_channel(0x01);
	cr_assert_eq(sec("80 F0 40 80 08 F045434152444401"), 0x9000);
	scp03_close(&host);
	cr_assert_eq(plain("00 A4 04 00 08 F045434152444401"), 0x6A82, "locked");
	cr_assert_eq(plain("00 A4 04 00 00"), 0x9000);
	open_channel(0x01);
	cr_assert_eq(sec("80 F0 40 00 08 F045434152444401"), 0x9000);
	cr_assert_eq(sec("80 F0 40 80 08 A000000151000000"), 0x6985, "the card manager is not locked");
	scp03_close(&host);
	cr_assert_eq(plain("00 A4 04 00 08 F045434152444401"), 0x9000);
}

Test(isd, card_lock)
{
	open_channel(0x01);
	cr_assert_eq(sec("80 F0 80 7F 00"), 0x9000);
	cr_assert_eq(sec("80 F2 80 02 02 4F 00 00"), 0x9000);
	cr_assert(memmem(rsp, rsp_len, "\x9F\x70\x01\x7F", 4), "CARD_LOCKED");
	cr_assert_eq(sec("80 E6 02 00 0A 05 0102030405 00 00 00 00 00"), 0x6985, "no loading");
	scp03_close(&host);
	cr_assert_eq(plain("00 A4 04 00 08 F045434152445701"), 0x6A82, "applications are out of reach");
	vc_card_power_down(&card);
	cr_assert_eq(vc_card_power_up(&card), VC_OK);
	cr_assert_eq(plain("00 A4 04 00 08 F045434152445701"), 0x6A82, "across power cycles");
	cr_assert_eq(plain("80 CA 00 66 00"), 0x9000, "the card manager is selected");
	open_channel(0x01);
	cr_assert_eq(sec("80 F0 80 0F 00"), 0x9000, "back to SECURED");
	scp03_close(&host);
	cr_assert_eq(plain("00 A4 04 00 08 F045434152445701"), 0x9000);
	cr_assert_eq(plain("00 A4 04 00 00"), 0x9000);
	open_channel(0x01);
	cr_assert_eq(sec("80 F0 80 01 00"), 0x6985, "no way back to OP_READY");
}

/* ---- keys ---- */

static void put_key_block(uint8_t *out, const uint8_t key[16], const struct scp03_keys *dek_of)
{
	out[0] = 0x88;
	out[1] = 0x11;
	out[2] = 0x10;
	cr_assert_eq(scp03_dek_encrypt(dek_of, key, 16, out + 3), SCP03_OK);
	out[19] = 0x03;
	cr_assert_eq(scp03_kcv(key, 16, out + 20), SCP03_OK);
}

Test(isd, put_key_adds_and_replaces)
{
	struct scp03_keys fresh = { .len = 16, .kvn = 0x31 };
	for (int i = 0; i < 16; i++) {
		fresh.enc[i] = (uint8_t)(0x10 + i);
		fresh.mac[i] = (uint8_t)(0x20 + i);
		fresh.dek[i] = (uint8_t)(0x30 + i);
	}
	uint8_t cmd[5 + 1 + 3 * 23] = { 0x80, 0xD8, 0x00, 0x81, 1 + 3 * 23, 0x31 };
	put_key_block(cmd + 6, fresh.enc, &keys);
	put_key_block(cmd + 6 + 23, fresh.mac, &keys);
	put_key_block(cmd + 6 + 46, fresh.dek, &keys);
	open_channel(0x03);
	cr_assert_eq(sec_bytes(cmd, sizeof(cmd)), 0x9000);
	cr_assert_eq(rsp_len, 10);
	cr_assert_eq(rsp[0], 0x31);
	/* A KCV that does not match: refused, nothing stored. */
	uint8_t bad[sizeof(cmd)];
	memcpy(bad, cmd, sizeof(cmd));
	bad[5] = 0x32;
	bad[6 + 21] ^= 1;
	cr_assert_eq(sec_bytes(bad, sizeof(bad)), 0x6A80);
	scp03_close(&host);

	cr_assert_eq(open_channel_with(&fresh, 0x01), 0x9000, "the new key set works");
	scp03_close(&host);
	cr_assert_eq(open_channel_with(&keys, 0x01), 0x9000, "and the old one still does");
	/* Replace 30 by 33: the test keys are gone. */
	struct scp03_keys third = fresh;
	third.kvn = 0x33;
	cmd[2] = 0x30;
	cmd[5] = 0x33;
	cr_assert_eq(sec_bytes(cmd, sizeof(cmd)), 0x9000);
	scp03_close(&host);
	cr_assert_eq(open_channel_with(&keys, 0x01), 0x6A88);
	cr_assert_eq(open_channel_with(&third, 0x01), 0x9000);
	cr_assert_eq(plain("80 CA 00 E0 00"), 0x9000);
	cr_assert(memmem(rsp, rsp_len, "\xC0\x04\x01\x33\x88\x10", 6));
}

/* ---- tearing and resume ---- */

Test(isd, load_torn_at_every_write_then_resumed)
{
	static const uint8_t pkg[] = { 0xA0, 0x00, 0x00, 0x07, 0x77, 0x01 };
	static const uint8_t app[] = { 0xA0, 0x00, 0x00, 0x07, 0x77, 0x01, 0x01 };
	struct capgen_applet applet = { app, sizeof(app) };
	struct capgen_spec spec = { .package_aid = pkg, .package_aid_len = sizeof(pkg),
				    .version_major = 1, .applets = &applet, .applet_count = 1,
				    .target_size = 3000 };
	struct ec_cap cap;
	make_cap(&spec, &cap);

	size_t count, block = 200;
	cr_assert_eq(ec_cap_block_count(cap.load_data_len, block, &count, NULL), EC_OK);
	cr_assert_gt(count, 10);
	char hash[65], cmd[300], elf[40];
	hex_encode(cap.load_file_sha256, 32, hash);
	hex_encode(pkg, sizeof(pkg), elf);
	snprintf(cmd, sizeof(cmd), "80 E6 02 00 2B 06 %s 00 20 %s 00 00 00", elf, hash);
	open_channel(0x03);
	cr_assert_eq(sec(cmd), 0x9000);

	unsigned long points = 0;
	for (size_t i = 0; i < count; i++) {
		struct ec_cap_block b;
		uint8_t apdu[300] = { 0x80, 0xE8 };
		cr_assert_eq(ec_cap_block(cap.load_data, cap.load_data_len, block, i, &b, NULL), EC_OK);
		apdu[2] = b.last ? 0x80 : 0x00;
		apdu[3] = b.number;
		apdu[4] = (uint8_t)b.len;
		memcpy(apdu + 5, b.data, b.len);
		/* Tear this block at write k = 1, 2, ... until it goes through. */
		for (unsigned long k = 1;; k++) {
			struct vc_tear_plan plan = { .tear_at = k, .partial = VC_TEAR_PARTIAL_RANDOM,
						     .seed = i * 100 + k };
			vc_tear_arm(st, &plan);
			uint16_t sw = sec_bytes(apdu, 5 + b.len);
			vc_tear_disarm(st);
			if (sw == 0x9000)
				break;
			cr_assert_eq(sw, 0, "block %zu: only a tear stops it", i);
			points++;
			/* Power back, a new session, and ask where to go on. */
			vc_card_power_down(&card);
			cr_assert_eq(vc_card_power_up(&card), VC_OK);
			scp03_close(&host);
			open_channel(0x03);
			cr_assert_eq(sec("80 CA DF 70 00"), 0x9000);
			if (b.last && rsp[3] == 0)
				break;	/* the last block had committed: load complete */
			cr_assert_eq(rsp[3], 1, "a load is in progress");
			if (rsp[4] == (uint8_t)(i + 1))
				break;	/* the torn write came after the block's commit point */
			cr_assert_eq(rsp[4], b.number, "block %zu k=%lu: resume at this block", i, k);
		}
	}
	cr_assert_eq(sec("80 CA DF 70 00"), 0x9000);
	cr_assert_eq(rsp[3], 0, "the load is complete");
	cr_assert_eq(sec("80 F2 20 02 02 4F 00 00"), 0x9000);
	cr_assert_arr_eq(rsp + 4, pkg, sizeof(pkg), "registered, with the right hash");
	printf("tearing: LOAD of %zu blocks, %lu tears, resumed every time\n", count, points);
	cr_assert_gt(points, count);
	ec_cap_free(&cap);
}

/* A card made with i = 10: pseudo-random challenges, no R-MAC / R-ENC. */
Test(isd_i10, announces_and_keeps_to_i_10)
{
	cr_assert_eq(plain("80 CA 00 66 00"), 0x9000);
	cr_assert_eq(rsp[rsp_len - 1], 0x10, "card data: SCP03 with i = 10");
	static const uint8_t ok_levels[] = { 0x00, 0x01, 0x03 };
	for (size_t i = 0; i < sizeof(ok_levels); i++) {
		open_channel(ok_levels[i]);
		cr_assert_eq(host.i_param, 0x10);
		cr_assert_eq(sec("80 F2 80 02 02 4F 00 00"), 0x9000);
		scp03_close(&host);
	}
	/* R-MAC levels: the host will not ask, and the card would refuse. */
	uint8_t cmd[64], challenge[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	size_t n;
	struct scp03_init_response ir;
	cr_assert_eq(scp03_host_initialize_update(&host, 0x80, 0x30, challenge, cmd, sizeof(cmd), &n), SCP03_OK);
	cr_assert_eq(raw(cmd, n), 0x9000);
	cr_assert_eq(scp03_parse_initialize_update_response(rsp, rsp_len, &ir), SCP03_OK);
	cr_assert_eq(ir.i_param, 0x10);
	cr_assert_eq(scp03_host_check_card(&host, &keys, &ir), SCP03_OK);
	cr_assert_eq(scp03_host_external_authenticate(&host, 0x33, cmd, sizeof(cmd), &n), SCP03_ERR_LEVEL);
}
