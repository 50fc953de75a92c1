/*
 * diag.c - the diagnostic applet (commands in common/diag_proto.h).
 *
 * It is small on purpose: each handler opens with guard clauses that
 * return a status word, and every persistent change happens inside one
 * transaction, so tearing tests can check that the counter and the record
 * always move together.
 */
#include "applets.h"

#include <string.h>

#include "crypto.h"
#include "cursor.h"

#define TAG_STATE 1u
#define STATE_SIZE (4u + DIAG_RECORD_LEN)

static uint16_t install(struct vc_applet_ctx *ctx, const uint8_t *params, size_t len)
{
	struct vc_obj obj;
	(void)params;
	(void)len;
	return vc_obj_alloc(ctx, TAG_STATE, STATE_SIZE, &obj) == VC_OK ? SW_OK : SW_NOT_ENOUGH_MEMORY;
}

static uint16_t echo(const struct vc_apdu *cmd, struct vc_response *rsp)
{
	if (!vc_rsp_append(rsp, cmd->data, cmd->nc))
		return SW_WRONG_LENGTH;
	return SW_OK;
}

static uint16_t generate(const struct vc_apdu *cmd, struct vc_response *rsp)
{
	size_t n = ((size_t)cmd->p1 << 8) | cmd->p2;
	if (cmd->nc != 0)
		return SW_WRONG_LENGTH;
	if (n > rsp->cap - rsp->len)
		return SW_WRONG_DATA;
	for (size_t i = 0; i < n; i++)
		rsp->data[rsp->len++] = (uint8_t)i;
	return SW_OK;
}

/* Counter + 1 and, when data is given, the record patched, atomically. */
static uint16_t update(struct vc_applet_ctx *ctx, uint32_t off, const uint8_t *data,
		       size_t len, struct vc_response *rsp)
{
	struct vc_obj obj;
	uint8_t counter[4];

	if (vc_obj_find(ctx, TAG_STATE, &obj) != VC_OK)
		return SW_CONDITIONS;
	if (off > DIAG_RECORD_LEN || len > DIAG_RECORD_LEN - off)
		return SW_WRONG_DATA;
	if (vc_obj_read(ctx, &obj, 0, counter, 4) != VC_OK)
		return SW_MEMORY_FAILURE;
	uint32_t value = load_be32(counter);
	if (value == UINT32_MAX)
		return SW_CONDITIONS;
	store_be32(counter, value + 1);

	if (vc_tx_begin(ctx) != VC_OK)
		return SW_CONDITIONS;
	enum vc_status st = vc_obj_write(ctx, &obj, 0, counter, 4);
	if (st == VC_OK && len > 0)
		st = vc_obj_write(ctx, &obj, 4 + off, data, len);
	if (st == VC_OK)
		st = vc_tx_commit(ctx);
	else
		vc_tx_abort(ctx);
	if (st != VC_OK)
		return SW_MEMORY_FAILURE;
	if (rsp && !vc_rsp_append(rsp, counter, 4))
		return SW_WRONG_LENGTH;
	return SW_OK;
}

static uint16_t read_state(struct vc_applet_ctx *ctx, struct vc_response *rsp)
{
	struct vc_obj obj;
	uint8_t state[STATE_SIZE];

	if (vc_obj_find(ctx, TAG_STATE, &obj) != VC_OK)
		return SW_CONDITIONS;
	if (vc_obj_read(ctx, &obj, 0, state, sizeof(state)) != VC_OK)
		return SW_MEMORY_FAILURE;
	if (!vc_rsp_append(rsp, state, sizeof(state)))
		return SW_WRONG_LENGTH;
	return SW_OK;
}

static uint16_t random_bytes(const struct vc_apdu *cmd, struct vc_response *rsp)
{
	size_t n = cmd->ne;
	if (cmd->nc != 0)
		return SW_WRONG_LENGTH;
	if (n == 0 || n > rsp->cap - rsp->len)
		return SW_WRONG_LENGTH;
	if (crypto_random(rsp->data + rsp->len, n) != 0)
		return SW_UNKNOWN;
	rsp->len += n;
	return SW_OK;
}

static uint16_t process(struct vc_applet_ctx *ctx, const struct vc_apdu *cmd,
			struct vc_response *rsp)
{
	if (cmd->cla != iso_cla(DIAG_CLA, cmd->channel & 3))
		return SW_CLA_NOT_SUPPORTED;
	switch (cmd->ins) {
	case DIAG_INS_NOP:
		return SW_OK;
	case DIAG_INS_ECHO:
		return echo(cmd, rsp);
	case DIAG_INS_GENERATE:
		return generate(cmd, rsp);
	case DIAG_INS_INCREMENT:
		if (cmd->nc != 0)
			return SW_WRONG_LENGTH;
		return update(ctx, 0, NULL, 0, rsp);
	case DIAG_INS_READ:
		return read_state(ctx, rsp);
	case DIAG_INS_WRITE:
		if (cmd->nc == 0)
			return SW_WRONG_LENGTH;
		return update(ctx, ((uint32_t)cmd->p1 << 8) | cmd->p2, cmd->data, cmd->nc, NULL);
	case DIAG_INS_RANDOM:
		return random_bytes(cmd, rsp);
	default:
		return SW_INS_NOT_SUPPORTED;
	}
}

const struct vc_applet applet_diag = {
	.name = "diag",
	.aid = { DIAG_AID },
	.aid_len = DIAG_AID_LEN,
	.install = install,
	.process = process,
};
