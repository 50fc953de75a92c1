/*
 * ota_fixture.c - the over-the-air tests' world (ota_fixture.h).
 */
#include "ota_fixture.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "applets.h"
#include "capgen.h"
#include "inproc.h"
#include "test_support.h"

const uint8_t pkg[6] = { 0xF0, 0x45, 0x43, 0x54, 0x53, 0x54 };
const uint8_t module[7] = { 0xF0, 0x45, 0x43, 0x54, 0x53, 0x54, 0x01 };
const uint8_t instance[8] = { 0xF0, 0x45, 0x43, 0x54, 0x53, 0x54, 0x01, 0x01 };

struct ts_card card;	/* its storage tears on demand */
static struct vc_storage *mem;
struct http_server *srv;
struct store *db;
char db_url[600], base[64], card_id[32];
char cap_path[512];

/* What reaches the card: LOAD commands counted. */
static ec_raw_transmit_fn card_transmit;
static void *card_arg;
size_t loads_at_card;

bool no_df70;		/* play a card that does not know GET DATA DF70 */

static long counting_transmit(struct ec_pcsc *pc, const uint8_t *cmd, size_t len, uint8_t *resp,
			      size_t *resp_len)
{
	if (len >= 2 && cmd[1] == 0xE8)
		loads_at_card++;
	pc->raw_arg = card_arg;
	long rv = card_transmit(pc, cmd, len, resp, resp_len);
	card_arg = pc->raw_arg;
	if (no_df70 && rv == SCARD_S_SUCCESS && len >= 4 && cmd[1] == 0xCA && cmd[2] == 0xDF &&
	    cmd[3] == 0x70) {
		/* The card ran it (the MAC chain goes on); the host hears 6D00. */
		resp[0] = 0x6D;
		resp[1] = 0x00;
		*resp_len = 2;
	}
	return rv;
}

void make_cap(size_t size)
{
	struct capgen_applet app = { module, sizeof(module) };
	struct capgen_spec spec = { .package_aid = pkg, .package_aid_len = sizeof(pkg),
				    .version_major = 1, .applets = &app, .applet_count = 1,
				    .target_size = size };
	ts_tmp_path(cap_path, sizeof(cap_path), "test.cap");
	cr_assert_eq(capgen_write_spec(&spec, cap_path), 0);
}

struct ec_issuer issuer;	/* when a test wants one */
bool with_issuer;

void start(size_t batch_bytes)
{
	struct ec_error err = { 0 };
	char path[512];

	ts_tmpdir_init();
	cr_assert_eq(vc_storage_mem_create(512 * 1024, &mem), VC_OK);
	cr_assert_eq(vc_card_create(mem, NULL, ecard_applets, ecard_applet_count, NULL), VC_OK);
	cr_assert_eq(vc_storage_tear_create(mem, &card.storage), VC_OK);
	vc_card_init(&card.card, card.storage, NULL);
	for (size_t i = 0; i < ecard_applet_count; i++)
		cr_assert_eq(vc_card_register(&card.card, ecard_applets[i]), VC_OK);
	cr_assert_eq(vc_card_power_up(&card.card), VC_OK);
	ec_pcsc_init(&card.pc, NULL);
	vc_inproc_attach(&card.pc, &card.card);
	card_transmit = card.pc.raw_transmit;
	card_arg = card.pc.raw_arg;
	card.pc.raw_transmit = counting_transmit;
	loads_at_card = 0;
	no_df70 = false;
	snprintf(db_url, sizeof(db_url), "sqlite:%s", ts_tmp_path(path, sizeof(path), "ota.db"));
	cr_assert_eq(store_open(db_url, &db, &err), EC_OK, "%s", err.text);
	cr_assert_eq(db_migrate(db, &err), EC_OK, "%s", err.text);

	struct http_options o = { .db_url = db_url, .insecure = true, .threads = 1, .quiet = true };
	o.ota.test_keys = true;
	if (with_issuer) {
		char dir[512];
		ts_issuer_new("issuer", &issuer, dir, sizeof(dir));
		o.ota.issuer = &issuer;
		o.web.issuer = &issuer;
		o.web.signup_bank = 10000;	/* 100.00 */
	}
	o.ota.max_batch_bytes = batch_bytes;
	o.ota.delay_ms = 0;
	cr_assert_eq(http_start(&o, &srv, &err), EC_OK, "%s", err.text);
	snprintf(base, sizeof(base), "http://127.0.0.1:%u", (unsigned)http_port(srv));
	cr_assert_eq(ec_agent_card_id(&card.pc, card_id, &err), EC_OK, "%s", err.text);
}

void stop(void)
{
	http_stop(srv);
	store_close(db);
	vc_card_free(&card.card);
	vc_storage_destroy(card.storage);	/* and the memory under it */
	ts_tmpdir_fini();
}

long long queue_load(uint8_t level, bool install)
{
	struct ota_load_args a = { .cap_path = cap_path, .level = level };
	struct ec_error err = { 0 };
	long long id;

	if (install) {
		a.install = module;
		a.install_len = sizeof(module);
		a.instance = instance;
		a.instance_len = sizeof(instance);
	}
	cr_assert_eq(ota_add_load(db, card_id, &a, &id, &err), EC_OK, "%s", err.text);
	return id;
}

void agent_options(struct ec_agent_options *opt)
{
	memset(opt, 0, sizeof(*opt));
	opt->servers[0] = base;
	opt->nservers = 1;
	opt->retry_s = 20;
	opt->response_timeout_s = 10;
	opt->card_retries = 2;
}

void job(long long id, struct db_job *j)
{
	struct ec_error err = { 0 };
	cr_assert_eq(db_job_get(db, id, false, j, &err), EC_OK, "%s", err.text);
}

void assert_selectable(const uint8_t *aid, size_t len)
{
	uint8_t cmd[5 + 16 + 1] = { 0x00, 0xA4, 0x04, 0x00, (uint8_t)len };
	uint8_t resp[258];
	size_t n;
	memcpy(cmd + 5, aid, len);
	cr_assert_eq(ec_transmit(&card.pc, cmd, 5 + len + 1, resp, sizeof(resp), &n), EC_OK);
	cr_assert_eq(ec_response_sw(resp, n), 0x9000, "the new application answers SELECT");
}

bool cut_once(void *arg, size_t exchange, bool answered)
{
	struct cut_plan *p = arg;
	if (p->from_then_on && exchange >= p->at && answered == p->answered) {
		p->done = true;
		return true;
	}
	if (p->done || exchange != p->at || answered != p->answered)
		return false;
	p->done = true;
	return true;
}

enum ec_status power_cycle(void *arg, struct ec_pcsc *pc)
{
	(void)arg;
	(void)pc;
	vc_tear_disarm(card.storage);
	vc_card_power_down(&card.card);
	return vc_card_power_up(&card.card) == VC_OK ? EC_OK : EC_ERR_CARD_LOST;
}

void record(void *arg, bool command, uint8_t *apdu, size_t *len, size_t cap)
{
	struct recording *r = arg;
	(void)command;
	(void)cap;
	r->bytes = realloc(r->bytes, r->len + *len);
	memcpy(r->bytes + r->len, apdu, *len);
	r->len += *len;
}

bool seen(const struct recording *r, const uint8_t *key, size_t len)
{
	return memmem(r->bytes, r->len, key, len) != NULL;
}
