/*
 * test_applet_api.c - what an applet gets from the platform (vcard/applet.h),
 * checked with a small applet written for the test: install inside the
 * platform's transaction, transient memory cleared on deselect and reset,
 * a transaction left open aborted by the platform, object bounds, the
 * fresh-PIN rule, and deselect callbacks.
 */
#include <criterion/criterion.h>

#include <string.h>

#include "card.h"
#include "cursor.h"
#include "hex.h"

/*
 * The probe applet:
 *   80 01  transient[0] += 1, answer it
 *   80 02  persistent counter += 1 inside a transaction left open
 *   80 03  answer the persistent counter
 *   80 04  read 1 byte at offset P1 of the 8-byte object (bounds)
 *   80 05  9000 only with a fresh PIN verification
 */
static int deselects;

static uint16_t probe_install(struct vc_applet_ctx *ctx, const uint8_t *params, size_t len)
{
	struct vc_obj obj;
	if (len == 1 && params[0] == 0xEE)
		return SW_CONDITIONS;	/* refuse: the install must leave no trace */
	if (vc_tx_begin(ctx) != VC_ERR_STATE)
		return SW_UNKNOWN;	/* install runs inside the platform's transaction */
	return vc_obj_alloc(ctx, 1, 8, &obj) == VC_OK ? SW_OK : SW_NOT_ENOUGH_MEMORY;
}

static bool leave_open_in_select;

static uint16_t probe_select(struct vc_applet_ctx *ctx, struct vc_response *rsp)
{
	struct vc_obj obj;
	(void)rsp;
	if (leave_open_in_select && vc_obj_find(ctx, 1, &obj) == VC_OK &&
	    vc_tx_begin(ctx) == VC_OK)
		vc_obj_write(ctx, &obj, 0, "\x7F\x7F\x7F\x7F", 4);
	return SW_OK;
}

static void probe_deselect(struct vc_applet_ctx *ctx)
{
	(void)ctx;
	deselects++;
}

static uint16_t probe_process(struct vc_applet_ctx *ctx, const struct vc_apdu *cmd,
			      struct vc_response *rsp)
{
	struct vc_obj obj;
	uint8_t v[4];
	if (vc_obj_find(ctx, 1, &obj) != VC_OK)
		return SW_CONDITIONS;
	switch (cmd->ins) {
	case 0x01:
		ctx->transient[0]++;
		vc_rsp_append(rsp, ctx->transient, 1);
		return SW_OK;
	case 0x02:
		vc_obj_read(ctx, &obj, 0, v, 4);
		store_be32(v, load_be32(v) + 1);
		if (vc_tx_begin(ctx) != VC_OK || vc_obj_write(ctx, &obj, 0, v, 4) != VC_OK)
			return SW_UNKNOWN;
		return SW_OK;	/* no commit: the platform must abort */
	case 0x03:
		vc_obj_read(ctx, &obj, 0, v, 4);
		vc_rsp_append(rsp, v, 4);
		return SW_OK;
	case 0x04:
		if (vc_obj_read(ctx, &obj, cmd->p1, v, 1) != VC_OK)
			return SW_WRONG_DATA;
		return SW_OK;
	case 0x05:
		return vc_pin_take_fresh(ctx) ? SW_OK : SW_SECURITY_STATUS;
	default:
		return SW_INS_NOT_SUPPORTED;
	}
}

static const struct vc_applet probe = {
	.name = "probe",
	.aid = { 0xF0, 0x00, 0x00, 0x00, 0x01 },
	.aid_len = 5,
	.transient_size = 32,
	.install = probe_install,
	.select = probe_select,
	.deselect = probe_deselect,
	.process = probe_process,
};

static const struct vc_applet *const applets[] = { &probe };
static struct vc_storage *st;
static struct vc_card card;

static void setup(void)
{
	cr_assert_eq(vc_storage_mem_create(128 * 1024, &st), VC_OK);
	cr_assert_eq(vc_card_create(st, NULL, applets, 1, NULL), VC_OK);
	vc_card_init(&card, st, NULL);
	cr_assert_eq(vc_card_register(&card, &probe), VC_OK);
	cr_assert_eq(vc_card_power_up(&card), VC_OK);
	deselects = 0;
	leave_open_in_select = false;
}

static void teardown(void)
{
	vc_card_free(&card);
	vc_storage_destroy(st);
}

TestSuite(api, .init = setup, .fini = teardown);

static uint16_t send(const char *hex, uint8_t *data, size_t *len)
{
	uint8_t cmd[64], rsp[VC_RSP_MAX];
	size_t rlen;
	long n = hex_decode(hex, cmd, sizeof(cmd));
	cr_assert_geq(n, 4);
	cr_assert_eq(vc_card_process(&card, cmd, (size_t)n, rsp, &rlen), VC_OK);
	if (data) {
		memcpy(data, rsp, rlen - 2);
		*len = rlen - 2;
	}
	return (uint16_t)(rsp[rlen - 2] << 8 | rsp[rlen - 1]);
}

static uint8_t transient_step(void)
{
	uint8_t d[4];
	size_t n;
	cr_assert_eq(send("80 01 00 00 00", d, &n), 0x9000);
	cr_assert_eq(n, 1);
	return d[0];
}

#define SELECT_PROBE "00 A4 04 00 05 F000000001"

Test(api, transient_memory_cleared_on_deselect_and_reset)
{
	cr_assert_eq(send(SELECT_PROBE, NULL, NULL), 0x9000);
	cr_assert_eq(transient_step(), 1);
	cr_assert_eq(transient_step(), 2);
	cr_assert_eq(send(SELECT_PROBE, NULL, NULL), 0x9000, "reselect deselects first");
	cr_assert_eq(deselects, 1);
	cr_assert_eq(transient_step(), 1);
	cr_assert_eq(transient_step(), 2);
	vc_card_reset(&card);
	cr_assert_eq(deselects, 2);
	cr_assert_eq(send(SELECT_PROBE, NULL, NULL), 0x9000);
	cr_assert_eq(transient_step(), 1);
}

Test(api, transaction_left_open_is_aborted)
{
	uint8_t d[8];
	size_t n;
	cr_assert_eq(send(SELECT_PROBE, NULL, NULL), 0x9000);
	unsigned long writes = vc_card_writes(&card);
	cr_assert_eq(send("80 02 00 00", NULL, NULL), 0x9000);
	cr_assert(!card.nvm.in_tx);
	cr_assert_eq(vc_card_writes(&card), writes, "nothing reached the image");
	cr_assert_eq(send("80 03 00 00 00", d, &n), 0x9000);
	cr_assert_eq(load_be32(d), 0, "the write was rolled back");
}

Test(api, transaction_left_open_by_select_is_aborted)
{
	uint8_t d[8];
	size_t n;
	leave_open_in_select = true;
	cr_assert_eq(send(SELECT_PROBE, NULL, NULL), 0x9000);
	cr_assert(!card.nvm.in_tx);
	cr_assert_eq(send("80 03 00 00 00", d, &n), 0x9000);
	cr_assert_eq(load_be32(d), 0);
	/* The card-wide PIN still works: no transaction is in its way. */
	cr_assert_eq(send("00 24 00 81 10 31323334FFFFFFFF 35363738FFFFFFFF", NULL, NULL), 0x9000);
}

Test(api, object_bounds)
{
	cr_assert_eq(send(SELECT_PROBE, NULL, NULL), 0x9000);
	cr_assert_eq(send("80 04 07 00", NULL, NULL), 0x9000);
	cr_assert_eq(send("80 04 08 00", NULL, NULL), 0x6A80);
	cr_assert_eq(send("80 04 FF 00", NULL, NULL), 0x6A80);
}

Test(api, fresh_pin_is_one_shot)
{
	cr_assert_eq(send(SELECT_PROBE, NULL, NULL), 0x9000);
	cr_assert_eq(send("80 05 00 00", NULL, NULL), 0x6982);
	cr_assert_eq(send("00 20 00 81 08 31323334FFFFFFFF", NULL, NULL), 0x9000);
	cr_assert_eq(send("80 05 00 00", NULL, NULL), 0x9000);
	cr_assert_eq(send("80 05 00 00", NULL, NULL), 0x6982, "consumed");
}

Test(api, refused_install_leaves_no_trace)
{
	uint8_t aid[] = { 0xF0, 0x00, 0x00, 0x00, 0x02 };
	uint8_t bad = 0xEE;
	uint32_t free_before = vc_nvm_free_space(&card.nvm);
	cr_assert_eq(vc_card_install(&card, probe.aid, probe.aid_len, aid, sizeof(aid), &bad, 1),
		     VC_ERR_STATE);
	cr_assert_eq(vc_nvm_free_space(&card.nvm), free_before);
	cr_assert_eq(send("00 A4 04 00 05 F000000002", NULL, NULL), 0x6A82);
	/* The same install with acceptable parameters works, and persists. */
	cr_assert_eq(vc_card_install(&card, probe.aid, probe.aid_len, aid, sizeof(aid), NULL, 0), VC_OK);
	cr_assert_eq(vc_card_install(&card, probe.aid, probe.aid_len, aid, sizeof(aid), NULL, 0),
		     VC_ERR_EXISTS);
	vc_card_power_down(&card);
	cr_assert_eq(vc_card_power_up(&card), VC_OK);
	cr_assert_eq(send("00 A4 04 00 05 F000000002", NULL, NULL), 0x9000);
	cr_assert_eq(transient_step(), 1);
}
