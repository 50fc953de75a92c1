/*
 * fuzz_scenario.c - a card in process taken through its life by ecard's
 * host clients (see fuzz_scenario.h). Every step must succeed: the
 * scenario is the fuzzers' starting point, not a test, so a failure ends
 * the program rather than counting as a finding.
 */
#include "fuzz_scenario.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "applets.h"
#include "cap.h"
#include "capgen.h"
#include "crypto.h"
#include "exchange.h"
#include "fuzz_engine.h"
#include "hex.h"
#include "inproc.h"
#include "perso.h"
#include "pin_client.h"
#include "profile.h"
#include "test_support.h"
#include "wallet.h"

#define CURRENCY 978u		/* euro */
#define MAX_BALANCE 100000u

static const uint8_t fixture_app[] = { 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08 };
static const uint8_t gen_pkg[] = { 0xA0, 0x00, 0x00, 0x07, 0x77, 0x01 };
static const uint8_t gen_app[] = { 0xA0, 0x00, 0x00, 0x07, 0x77, 0x01, 0x01 };
/* A package that names ecard's own applets as its modules, so that the
 * card manager makes more instances of them. */
static const uint8_t native_pkg[] = { 0xF0, 0x45, 0x43, 0x41, 0x52, 0x44, 0x00, 0x01 };
static const uint8_t native_modules[3][8] = { { WALLET_AID }, { PROFILE_AID }, { DIAG_AID } };

static void must(enum ec_status st, const struct ec_error *err, const char *what)
{
	if (st != EC_OK)
		fuzz_setup_failed("scenario: %s failed: %s", what, err->text);
}

/* ---- the card ---- */

/* Show every exchange to the callback, whatever became of it. */
static long hooked_transmit(struct ec_pcsc *pc, const uint8_t *cmd, size_t cmd_len,
			    uint8_t *resp, size_t *resp_len)
{
	struct fz_card *c = (struct fz_card *)(void *)((char *)pc - offsetof(struct fz_card, pc));
	long rv = c->inner(pc, cmd, cmd_len, resp, resp_len);

	if (c->on_exchange)
		c->on_exchange(c->arg, cmd, cmd_len, resp, rv == SCARD_S_SUCCESS ? *resp_len : 0);
	return rv;
}

void fz_card_open(struct fz_card *c, uint8_t scp03_i)
{
	struct vc_card_options opt = { .scp03_i = scp03_i };

	memset(c, 0, sizeof(*c));
	if (vc_storage_mem_create(FZ_IMAGE_SIZE, &c->mem) != VC_OK ||
	    vc_card_create(c->mem, &opt, ecard_applets, ecard_applet_count, NULL) != VC_OK ||
	    vc_storage_tear_create(c->mem, &c->st) != VC_OK)
		fuzz_setup_failed("cannot make a card image");
	vc_card_init(&c->card, c->st, NULL);
	for (size_t i = 0; i < ecard_applet_count; i++)
		vc_card_register(&c->card, ecard_applets[i]);
	if (vc_card_power_up(&c->card) != VC_OK)
		fuzz_setup_failed("a new card does not power up");
	ec_pcsc_init(&c->pc, NULL);
	vc_inproc_attach(&c->pc, &c->card);
	c->inner = c->pc.raw_transmit;
	c->pc.raw_transmit = hooked_transmit;
}

void fz_card_close(struct fz_card *c)
{
	vc_card_free(&c->card);
	vc_storage_destroy(c->st);	/* and the memory it wraps */
	memset(c, 0, sizeof(*c));
}

/* ---- the issuer, its merchant, the card manager's keys ---- */

void fz_world_init(struct fz_world *w)
{
	struct ec_error err = { 0 };
	static const uint8_t merchant_id[PURSE_ID_LEN] = { 'F', 'U', 'Z', 'Z', 0, 0, 0, 1 };

	memset(w, 0, sizeof(*w));
	w->issuer.currency = CURRENCY;
	w->issuer.max_balance = MAX_BALANCE;
	if (crypto_random(w->issuer.master_key, sizeof(w->issuer.master_key)) != 0 ||
	    crypto_ec_generate(w->issuer.ca_priv, w->issuer.ca_pub) != 0 ||
	    crypto_ec_generate(w->merchant.priv, w->merchant.pub) != 0)
		fuzz_setup_failed("cannot make the issuer's and the merchant's keys");
	memcpy(w->merchant.id, merchant_id, PURSE_ID_LEN);
	memcpy(w->merchant.ca_pub, w->issuer.ca_pub, CRYPTO_EC_PUB_LEN);
	w->merchant.currency = CURRENCY;
	must(ec_issuer_sign_merchant(&w->issuer, w->merchant.id, w->merchant.pub, w->merchant.cert,
				     &err), &err, "certifying the merchant");
	ec_gp_default_keys(&w->keys, GP_TEST_KVN);
	w->issuer.isd_master.len = 16;
	w->issuer.isd_master.kvn = EC_ISSUER_ISD_KVN;
	if (crypto_random(w->issuer.isd_master.enc, 16) != 0 ||
	    crypto_random(w->issuer.isd_master.mac, 16) != 0 ||
	    crypto_random(w->issuer.isd_master.dek, 16) != 0)
		fuzz_setup_failed("cannot make the card managers' master keys");
}

const struct ec_gp_keys *fz_card_manager_keys(const struct fz_world *w, bool issued,
					      struct ec_gp_options *opt)
{
	opt->kdf = issued ? EC_GP_KDF_KDF3 : EC_GP_KDF_NONE;
	return issued ? &w->issuer.isd_master : &w->keys;
}

void fz_world_wipe(struct fz_world *w)
{
	ec_issuer_wipe(&w->issuer);
	ec_merchant_wipe(&w->merchant);
	ec_gp_keys_wipe(&w->keys);
}

/* ---- the holder's and the issuer's side ---- */

static int give_pin(void *arg, char pin[EC_PIN_TEXT_MAX], struct ec_error *err)
{
	(void)arg;
	(void)err;
	snprintf(pin, EC_PIN_TEXT_MAX, "%s", FZ_PIN);
	return 0;
}

static void use_wallet(struct fz_card *c, const struct fz_world *w)
{
	struct ec_error err = { 0 };
	struct ec_load_result load;
	struct ec_payment pay;
	struct ec_purse_data pd;
	struct ec_log_entry entry;
	uint8_t cert[PURSE_CERT_LEN];
	bool present;

	must(ec_wallet_load(&c->pc, &w->issuer, 5000, &load, &err), &err, "a load");
	must(ec_merchant_pay(&w->merchant, &c->pc, 1234, CURRENCY, give_pin, NULL, &pay, &err), &err,
	     "a payment");
	must(ec_wallet_select(&c->pc, &err), &err, "SELECT of the wallet");
	must(ec_wallet_purse_data(&c->pc, &pd, &err), &err, "GET PURSE DATA");
	for (unsigned i = 0; i < 3; i++)
		must(ec_wallet_log(&c->pc, i, &entry, &present, &err), &err, "READ LOG");
	must(ec_wallet_card_cert(&c->pc, cert, &err), &err, "GET CARD CERTIFICATE");
}

static void use_profile_and_pin(struct fz_card *c)
{
	struct ec_error err = { 0 };
	uint8_t general, private_class;
	char value[EC_PROFILE_VALUE_MAX + 1];
	size_t len;
	int tries;

	must(ec_profile_select(&c->pc, &err), &err, "SELECT of the profile");
	must(ec_profile_get_policy(&c->pc, &general, &private_class, &err), &err, "GET POLICY");
	must(ec_pin_verify(&c->pc, FZ_PIN, &tries, &err), &err, "VERIFY");
	must(ec_profile_put_field(&c->pc, 0x0A, "holder@example.org", 18, &err), &err, "PUT FIELD");
	must(ec_pin_verify(&c->pc, FZ_PIN, &tries, &err), &err, "VERIFY");
	must(ec_profile_set_policy(&c->pc, EC_POLICY_SESSION, EC_POLICY_ALWAYS, &err), &err,
	     "SET POLICY");
	/* The private fields want a fresh VERIFY: their refusals are traffic too. */
	for (uint8_t id = 1; id <= EC_PROFILE_FIELDS; id++)
		ec_profile_get_field(&c->pc, id, value, sizeof(value), &len, &err);

	must(ec_pin_status(&c->pc, &tries, &err), &err, "the PIN's status");
	must(ec_pin_change(&c->pc, FZ_PIN, "5678", &tries, &err), &err, "CHANGE REFERENCE DATA");
	if (ec_pin_verify(&c->pc, "0000", &tries, &err) != EC_ERR_CARD)
		fuzz_setup_failed("scenario: a wrong PIN was not refused");
	must(ec_pin_unblock(&c->pc, FZ_PUK, FZ_PIN, &tries, &err), &err, "RESET RETRY COUNTER");
}

void fz_scenario_issue(struct fz_card *c, const struct fz_world *w)
{
	struct ec_error err = { 0 };
	struct ec_gp_options opt;
	struct ec_profile_init init = {
		.values = { [0] = "holder", [1] = "secret", [2] = "Ada", [3] = "Lovelace",
			    [8] = "4000123412341234", [9] = "ada@example.org" },
		.set_policy = true,
		.general = EC_POLICY_NEVER,
		.private_class = EC_POLICY_ALWAYS,
	};

	ec_gp_options_init(&opt);
	opt.scp = EC_GP_SCP03;
	opt.level = EC_GP_LEVEL_C_MAC;
	must(ec_personalize(&w->issuer, &c->pc, &opt, &w->keys, &init, NULL, &err), &err,
	     "personalization through the card manager");
	c->issued = true;
	use_wallet(c, w);
	use_profile_and_pin(c);
}

void fz_scenario_factory(struct fz_card *c, const struct fz_world *w)
{
	struct ec_error err = { 0 };

	must(ec_personalize(&w->issuer, &c->pc, NULL, &w->keys, NULL, NULL, &err), &err,
	     "personalization in the factory");
	c->issued = true;
	use_wallet(c, w);
}

/* ---- card content management ---- */

const enum ec_gp_status_scope fz_status_scopes[FZ_STATUS_SCOPES] = {
	EC_GP_SCOPE_ISD, EC_GP_SCOPE_APPS, EC_GP_SCOPE_LOAD_FILES, EC_GP_SCOPE_LOAD_FILES_MODULES,
};

static void open_session(struct ec_gp_session *s, struct fz_card *c, const struct fz_world *w,
			 uint8_t level, uint8_t channel)
{
	struct ec_error err = { 0 };
	struct ec_gp_options opt;

	ec_gp_options_init(&opt);
	opt.scp = EC_GP_SCP03;
	opt.level = level;
	opt.channel = channel;
	const struct ec_gp_keys *keys = fz_card_manager_keys(w, c->issued, &opt);
	must(ec_gp_connect(s, &c->pc, keys, &opt, &err), &err, "opening a secure channel");
}

/* Every GET DATA tag and every GET STATUS scope, in both formats. */
static void read_everything(struct ec_gp_session *s, bool legacy)
{
	static const uint16_t tags[] = { GP_TAG_CPLC, GP_TAG_CARD_DATA, GP_TAG_KEY_INFO,
					 GP_TAG_SEQUENCE_COUNTER, GP_TAG_LOAD_PROGRESS };
	struct ec_error err = { 0 };
	static struct ec_gp_registry reg;	/* 20 KiB */
	uint8_t data[EC_EXCHANGE_RESP_MAX];
	size_t len;
	uint16_t sw;

	for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++)
		must(ec_gp_get_data(s->pc, s, tags[i], data, sizeof(data), &len, &sw, &err), &err,
		     "GET DATA");
	for (size_t i = 0; i < FZ_STATUS_SCOPES; i++) {
		must(ec_gp_get_status(s, fz_status_scopes[i], NULL, 0, &reg, &err), &err,
		     "GET STATUS");
		if (!legacy)
			continue;
		/* libecard asks in the old format only when the card does not
		 * know the new one; this card knows both. */
		uint8_t cmd[] = { GP_CLA, GP_INS_GET_STATUS, (uint8_t)fz_status_scopes[i],
				  GP_STATUS_P2_LEGACY, 0x02, GP_TAG_AID, 0x00, 0x00 };
		must(ec_gp_exchange(s, "GET STATUS (old format)", cmd, sizeof(cmd), data, sizeof(data),
				    &len, &sw, &err), &err, "GET STATUS in the old format");
	}
}

/* Halfway through a load, ask where it stands: DF70 with a load active. */
static void ask_progress(void *arg, size_t blocks_done, size_t blocks, size_t bytes_done,
			 size_t bytes)
{
	struct ec_gp_session *s = arg;
	struct ec_gp_load_progress lp;
	struct ec_error err = { 0 };

	(void)bytes_done;
	(void)bytes;
	if (blocks_done == blocks / 2 && blocks_done > 0)
		must(ec_gp_get_load_progress(s, &lp, &err), &err, "GET DATA DF70 during a load");
}

static void load_cap(struct ec_gp_session *s, const struct ec_cap *cap, size_t block_size,
		     const uint8_t *module, size_t module_len)
{
	struct ec_error err = { 0 };
	struct ec_gp_load_options lo = { .block_size = block_size, .progress = ask_progress,
					 .progress_arg = s };
	struct ec_gp_install in = { .selectable = true };

	must(ec_gp_load(s, cap, &lo, NULL, &err), &err, "LOAD");
	ec_gp_aid_set(&in.package, cap->package.aid.bytes, cap->package.aid.len);
	ec_gp_aid_set(&in.module, module, module_len);
	must(ec_gp_install(s, &in, &err), &err, "INSTALL");
}

/* A CAP file made by capgen, written and read back as a loader reads it. */
static void generated_cap(const struct capgen_spec *spec, struct ec_cap *cap)
{
	struct ec_error err = { 0 };
	char path[256];

	snprintf(path, sizeof(path), "%s/scenario.cap", fuzz_tmpdir());
	if (capgen_write_spec(spec, path) != 0)
		fuzz_setup_failed("scenario: cannot write a generated CAP file");
	must(ec_cap_open(path, cap, &err), &err, "reading a generated CAP file");
	unlink(path);
}

/* Second instances of the wallet, the profile and the diagnostic applet,
 * their AIDs ending in 02. */
static void install_native(struct ec_gp_session *s)
{
	struct ec_error err = { 0 };
	struct ec_cap cap;
	const struct capgen_applet applets[3] = { { native_modules[0], 8 }, { native_modules[1], 8 },
						  { native_modules[2], 8 } };
	const struct capgen_spec spec = {
		.package_aid = native_pkg, .package_aid_len = sizeof(native_pkg),
		.version_major = 1, .applets = applets, .applet_count = 3,
	};
	static const uint8_t params[] = { 0x01, 0x02 };

	generated_cap(&spec, &cap);
	must(ec_gp_load(s, &cap, NULL, NULL, &err), &err, "LOAD");
	for (size_t i = 0; i < 3; i++) {
		struct ec_gp_install in = { .selectable = true, .params = params,
					    .params_len = sizeof(params) };
		uint8_t aid[8];

		memcpy(aid, native_modules[i], 8);
		aid[7] = 0x02;
		ec_gp_aid_set(&in.package, native_pkg, sizeof(native_pkg));
		ec_gp_aid_set(&in.module, native_modules[i], 8);
		ec_gp_aid_set(&in.aid, aid, sizeof(aid));
		must(ec_gp_install(s, &in, &err), &err, "INSTALL of a second instance");
	}
	ec_cap_free(&cap);
}

static void manage_content(struct ec_gp_session *s)
{
	struct ec_error err = { 0 };
	struct ec_cap cap;
	const struct capgen_applet applet = { gen_app, sizeof(gen_app) };
	const struct capgen_spec spec = {
		.package_aid = gen_pkg, .package_aid_len = sizeof(gen_pkg),
		.version_major = 1, .applets = &applet, .applet_count = 1,
		.target_size = 1500, .format_minor = 2,
	};
	struct ec_gp_keys added;
	uint8_t key[16];
	static const uint8_t second_profile[] = { PROFILE_AID };
	static const uint8_t forename[] = { PROFILE_FIELD_FORENAME, 3, 'B', 'o', 'b' };
	static const uint8_t password[] = { PROFILE_FIELD_PASSWORD, 2, 'p', 'w' };

	must(ec_cap_open(TEST_CAP_FIXTURE, &cap, &err), &err, "reading the CAP fixture");
	load_cap(s, &cap, 0, fixture_app, sizeof(fixture_app));
	ec_cap_free(&cap);
	generated_cap(&spec, &cap);
	load_cap(s, &cap, 100, gen_app, sizeof(gen_app));	/* 16 blocks */
	ec_cap_free(&cap);

	must(ec_gp_set_app_lock(s, gen_app, sizeof(gen_app), true, &err), &err, "locking");
	must(ec_gp_set_app_lock(s, fixture_app, sizeof(fixture_app), true, &err), &err, "locking");
	must(ec_gp_set_app_lock(s, fixture_app, sizeof(fixture_app), false, &err), &err,
	     "unlocking");
	read_everything(s, true);
	must(ec_gp_delete(s, gen_pkg, sizeof(gen_pkg), true, &err), &err, "DELETE");
	install_native(s);

	if (crypto_random(key, sizeof(key)) != 0)
		fuzz_setup_failed("no random numbers");
	must(ec_gp_keys_from_master(&added, key, sizeof(key), GP_TEST_KVN + 1), &err, "a key set");
	must(ec_gp_put_key(s, &added, 0, NULL, &err), &err, "PUT KEY");
	/* STORE DATA forwarded to an applet: the second profile takes it. */
	uint8_t aid[PROFILE_AID_LEN];
	memcpy(aid, second_profile, sizeof(aid));
	aid[PROFILE_AID_LEN - 1] = 0x02;
	must(ec_gp_install_for_personalization(s, aid, sizeof(aid), "the second profile", &err), &err,
	     "INSTALL [for personalization]");
	must(ec_gp_store_data(s, 0x00, 0, false, forename, sizeof(forename), NULL, 0, NULL,
			      "STORE DATA", &err), &err, "STORE DATA");
	must(ec_gp_store_data(s, GP_P1_LAST_BLOCK, 1, true, password, sizeof(password), NULL, 0,
			      NULL, "STORE DATA", &err), &err, "STORE DATA, encrypted");
	ec_gp_keys_wipe(&added);
}

/* Commands the clients never send, typed in from the protocol headers:
 * the diagnostic applet, logical channels, partial and empty SELECTs,
 * extended lengths, a stray GET RESPONSE. */
static const char *const typed_in[] = {
	"00A4040008F04543415244440100",		/* SELECT diag */
	"80100000050102030405",			/* ECHO */
	"8010000000012C" "#300." "0000",		/* ECHO, extended */
	"8012012C00",				/* GENERATE 300 bytes: 61xx */
	"801203E8000000",			/* GENERATE 1000, extended Le */
	"8020000000",				/* INCREMENT */
	"8022000000",				/* READ: 260 bytes */
	"8024001004DEADBEEF",			/* WRITE */
	"8084000010",				/* RANDOM */
	"80000000",				/* NOP */
	"00C0000000",				/* GET RESPONSE with nothing pending */
	"00700001",				/* MANAGE CHANNEL: open 1 */
	"01A4040008F04543415244440100",		/* SELECT diag on channel 1 */
	"8110000003AABBCC00",			/* ECHO on channel 1 */
	"0070800100",				/* MANAGE CHANNEL: close 1 */
	"0070000001",				/* MANAGE CHANNEL: open, the card's choice */
	"02A4040008A00000015100000000",		/* SELECT ISD on channel 2 */
	"00708002",				/* close 2 */
	"40A4040008F04543415244440100",		/* channel 4: more than the card has */
	"00A4040C08A000000151000000",		/* SELECT ISD, no FCI */
	"00A4040005A00000015100",		/* SELECT by partial AID */
	"00A40400",				/* SELECT of the default application */
	"00A4040008F04543415244570100",		/* SELECT wallet */
	"00A4040008F04543415244570200",		/* SELECT the second wallet */
	"80E4000000",				/* GENERATE KEY PAIR */
	"00A4040008F04543415244440200",		/* SELECT the second diag */
	"8020000000",				/* INCREMENT */
	"805C000000",				/* GET PURSE DATA */
	"8046000000",				/* GET LAST TRANSACTION */
	"8048000000",				/* READ LOG */
	"00A4040008F04543415244500100",		/* SELECT profile */
	"00CA010100",				/* GET FIELD 01 */
	"8030000000",				/* GET POLICY */
	"0020008100",				/* VERIFY: status */
	"0020008108" "31323334FFFFFFFF",		/* VERIFY 1234 */
	"10A4040008F04543415244440100",		/* chaining bit */
	"0CA4040008F04543415244440100",		/* secure messaging bits */
	"80CA9F7F00",				/* GET DATA CPLC in clear */
	"80CADF7000",				/* GET DATA DF70 in clear */
	"80F28002024F0000",			/* GET STATUS without a session */
};

/* "#N." in a typed-in command stands for N pattern bytes (N < 1000). */
static void send_typed_in(struct fz_card *c)
{
	for (size_t i = 0; i < sizeof(typed_in) / sizeof(typed_in[0]); i++) {
		char hex[2048];
		const char *fill = strchr(typed_in[i], '#');
		uint8_t cmd[1024];
		struct ec_error err = { 0 };
		uint16_t sw;

		if (fill) {
			size_t head = (size_t)(fill - typed_in[i]);
			int n = atoi(fill + 1);
			const char *tail = strchr(fill, '.');

			memcpy(hex, typed_in[i], head);
			for (int k = 0; k < n; k++)
				snprintf(hex + head + 2 * (size_t)k, 3, "%02X", (unsigned)(k * 7 + 1) & 0xFF);
			snprintf(hex + head + 2 * (size_t)n, sizeof(hex) - head - 2 * (size_t)n, "%s",
				 tail ? tail + 1 : "");
		} else {
			snprintf(hex, sizeof(hex), "%s", typed_in[i]);
		}
		long n = hex_decode(hex, cmd, sizeof(cmd));
		if (n < 4)
			fuzz_setup_failed("scenario: typed-in command %zu is not hex", i);
		/* Whatever the card answers: refusals are traffic too. */
		ec_exchange(&c->pc, "a typed-in command", cmd, (size_t)n, NULL, 0, NULL, &sw, &err);
	}
}

void fz_scenario_manage(struct fz_card *c, const struct fz_world *w, bool r_mac)
{
	static const uint8_t levels[] = { 0x00, 0x03, 0x11, 0x13, 0x33 };
	struct ec_gp_session s;
	struct ec_error err = { 0 };
	uint16_t sw;

	/* C-MAC only: the plain commands can be read back from the secured. */
	open_session(&s, c, w, EC_GP_LEVEL_C_MAC, 0);
	read_everything(&s, false);
	manage_content(&s);
	ec_gp_close(&s);

	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
		if (!r_mac && (levels[i] & EC_GP_LEVEL_R_MAC))
			continue;
		open_session(&s, c, w, levels[i], 0);
		read_everything(&s, false);
		ec_gp_close(&s);
	}

	/* A secure channel on a supplementary logical channel. */
	must(ec_exchange(&c->pc, "MANAGE CHANNEL", (const uint8_t *)"\x00\x70\x00\x01", 4, NULL, 0,
			 NULL, &sw, &err), &err, "MANAGE CHANNEL");
	open_session(&s, c, w, EC_GP_LEVEL_C_MAC | (r_mac ? EC_GP_LEVEL_R_MAC : 0), 1);
	read_everything(&s, false);
	ec_gp_close(&s);
	must(ec_exchange(&c->pc, "MANAGE CHANNEL", (const uint8_t *)"\x00\x70\x80\x01", 4, NULL, 0,
			 NULL, &sw, &err), &err, "MANAGE CHANNEL");

	send_typed_in(c);
}
