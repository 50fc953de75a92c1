/*
 * profile.c - the holder's personal data (DESIGN §2.2; APDUs in
 * common/profile_proto.h).
 *
 * Eleven fields in two classes, each class with a release policy: never ask
 * for the PIN, once per session (the session has a verified PIN), or every
 * time (a fresh VERIFY consumed by this read). Changing a field or a policy
 * always needs a fresh VERIFY. One persistent object: policy(2) followed by
 * a fixed slot per field, length(1) || value(64), then the personalized
 * flag(1); a change rewrites the whole slot in one transaction, so old
 * bytes never linger past a shorter value. The flag came last so that the
 * offsets before it stayed where they were; an object from before it
 * (one byte shorter) counts as personalized.
 *
 * Personalization is STORE DATA, and only from the card manager: the
 * issuer's secure channel is the authorization, so no PIN is asked. The
 * platform says so in the command's context (from_security_domain, set
 * only when the card manager forwards it); a STORE DATA sent to the
 * profile itself, on any channel, is refused.
 */
#include "applets.h"

#include <string.h>

#include "crypto.h"
#include "cursor.h"
#include "utf8.h"

#define TAG_PROFILE 1u
#define POLICY_GENERAL_OFF 0u
#define POLICY_PRIVATE_OFF 1u
#define SLOT_LEN (1u + PROFILE_VALUE_MAX)
#define FIELDS_OFF 2u
#define PERSONALIZED_OFF (FIELDS_OFF + PROFILE_FIELDS * SLOT_LEN)
#define PROFILE_SIZE (PERSONALIZED_OFF + 1u)

static bool is_private(uint8_t id)
{
	return id == PROFILE_FIELD_PASSWORD || id == PROFILE_FIELD_CARD_NUMBER;
}

static uint16_t install(struct vc_applet_ctx *ctx, const uint8_t *params, size_t len)
{
	struct vc_obj obj;
	static const uint8_t defaults[2] = { PROFILE_DEFAULT_GENERAL, PROFILE_DEFAULT_PRIVATE };
	(void)params;
	(void)len;
	if (vc_obj_alloc(ctx, TAG_PROFILE, PROFILE_SIZE, &obj) != VC_OK)
		return SW_NOT_ENOUGH_MEMORY;
	return vc_obj_write(ctx, &obj, 0, defaults, sizeof(defaults)) == VC_OK ? SW_OK
									  : SW_MEMORY_FAILURE;
}

static uint8_t policy_of(struct vc_applet_ctx *ctx, const struct vc_obj *obj, uint8_t id)
{
	uint8_t p = PROFILE_POLICY_ALWAYS;
	vc_obj_read(ctx, obj, is_private(id) ? POLICY_PRIVATE_OFF : POLICY_GENERAL_OFF, &p, 1);
	return p;
}

/* Write one object range in a transaction of its own. */
static uint16_t commit_write(struct vc_applet_ctx *ctx, const struct vc_obj *obj, uint32_t off,
			     const void *data, size_t len)
{
	enum vc_status st = vc_tx_begin(ctx);
	if (st == VC_OK)
		st = vc_obj_write(ctx, obj, off, data, len);
	if (st == VC_OK)
		st = vc_tx_commit(ctx);
	else if (st != VC_ERR_POWER_LOST)
		vc_tx_abort(ctx);
	return st == VC_OK ? SW_OK : SW_MEMORY_FAILURE;
}

static bool personalized(struct vc_applet_ctx *ctx, const struct vc_obj *obj)
{
	uint8_t b = 1;	/* an object without the flag is from a card issued before it */
	vc_obj_read(ctx, obj, PERSONALIZED_OFF, &b, 1);
	return b != 0;
}

/*
 * STORE DATA from the card manager: initial field values (tags 01..0B)
 * and the policy (D0: general || private), applied in their order in one
 * transaction; the last block (P1 bit 8) closes personalization. The card
 * manager has decrypted DEK-protected blocks and cleared P1's encryption
 * bits; P2, the block number, is kept in order by the secure channel.
 */
static uint16_t store_data(struct vc_applet_ctx *ctx, const struct vc_obj *obj,
			   const struct vc_apdu *cmd)
{
	struct cursor c, v;
	uint32_t tag;

	if (!ctx->from_security_domain)
		return SW_SECURITY_STATUS;	/* only the issuer's secure channel personalizes */
	if (personalized(ctx, obj))
		return SW_CONDITIONS;
	if ((cmd->p1 & 0x7F) != 0)
		return SW_INCORRECT_P1P2;

	/* Everything checked before the first write. */
	cursor_init(&c, cmd->data, cmd->nc);
	while (cursor_remaining(&c) > 0) {
		if (!cursor_tlv(&c, &tag, &v))
			return SW_WRONG_DATA;
		size_t len = cursor_remaining(&v);
		if (tag == PROFILE_TAG_POLICY) {
			if (len != 2 || v.data[0] > PROFILE_POLICY_ALWAYS || v.data[1] > PROFILE_POLICY_ALWAYS)
				return SW_WRONG_DATA;
		} else if (tag < 1 || tag > PROFILE_FIELDS || len > PROFILE_VALUE_MAX ||
			   !utf8_valid(v.data, len)) {
			return SW_WRONG_DATA;
		}
	}

	enum vc_status st = vc_tx_begin(ctx);
	cursor_init(&c, cmd->data, cmd->nc);
	while (st == VC_OK && cursor_remaining(&c) > 0) {
		cursor_tlv(&c, &tag, &v);
		size_t len = cursor_remaining(&v);
		if (tag == PROFILE_TAG_POLICY) {
			st = vc_obj_write(ctx, obj, POLICY_GENERAL_OFF, v.data, 2);
		} else {
			uint8_t slot[SLOT_LEN] = { (uint8_t)len };
			if (len)
				memcpy(slot + 1, v.data, len);
			st = vc_obj_write(ctx, obj, FIELDS_OFF + (tag - 1u) * SLOT_LEN, slot,
					  sizeof(slot));
			crypto_wipe(slot, sizeof(slot));
		}
	}
	if (st == VC_OK && (cmd->p1 & PROFILE_STORE_DATA_LAST)) {
		static const uint8_t done = 1;
		st = vc_obj_write(ctx, obj, PERSONALIZED_OFF, &done, 1);
	}
	if (st == VC_OK)
		st = vc_tx_commit(ctx);
	else if (st != VC_ERR_POWER_LOST)
		vc_tx_abort(ctx);
	return st == VC_OK ? SW_OK : SW_MEMORY_FAILURE;
}

static uint16_t get_field(struct vc_applet_ctx *ctx, const struct vc_obj *obj,
			  const struct vc_apdu *cmd, struct vc_response *rsp)
{
	uint8_t id = cmd->p2, slot[SLOT_LEN];
	if (cmd->p1 != PROFILE_FIELD_P1)
		return SW_INCORRECT_P1P2;
	if (id < 1 || id > PROFILE_FIELDS)
		return SW_REF_DATA_NOT_FOUND;
	if (cmd->nc != 0)
		return SW_WRONG_LENGTH;
	switch (policy_of(ctx, obj, id)) {
	case PROFILE_POLICY_NEVER:
		break;
	case PROFILE_POLICY_SESSION:
		if (!vc_pin_verified(ctx))
			return SW_SECURITY_STATUS;
		break;
	default:
		if (!vc_pin_take_fresh(ctx))
			return SW_SECURITY_STATUS;
		break;
	}
	vc_obj_read(ctx, obj, FIELDS_OFF + (id - 1u) * SLOT_LEN, slot, sizeof(slot));
	if (slot[0] > PROFILE_VALUE_MAX)
		return SW_MEMORY_FAILURE;
	vc_rsp_append(rsp, slot + 1, slot[0]);
	return SW_OK;
}

static uint16_t put_field(struct vc_applet_ctx *ctx, const struct vc_obj *obj,
			  const struct vc_apdu *cmd)
{
	uint8_t id = cmd->p2, slot[SLOT_LEN] = { 0 };
	if (cmd->p1 != PROFILE_FIELD_P1)
		return SW_INCORRECT_P1P2;
	if (id < 1 || id > PROFILE_FIELDS)
		return SW_REF_DATA_NOT_FOUND;
	if (cmd->nc > PROFILE_VALUE_MAX)
		return SW_WRONG_LENGTH;
	if (!utf8_valid(cmd->data, cmd->nc))
		return SW_WRONG_DATA;
	if (!vc_pin_take_fresh(ctx))
		return SW_SECURITY_STATUS;
	slot[0] = (uint8_t)cmd->nc;
	if (cmd->nc)
		memcpy(slot + 1, cmd->data, cmd->nc);
	return commit_write(ctx, obj, FIELDS_OFF + (id - 1u) * SLOT_LEN, slot, sizeof(slot));
}

static uint16_t set_policy(struct vc_applet_ctx *ctx, const struct vc_obj *obj,
			   const struct vc_apdu *cmd)
{
	if (cmd->p1 != 0 || cmd->p2 != 0)
		return SW_INCORRECT_P1P2;
	if (cmd->nc != 2)
		return SW_WRONG_LENGTH;
	if (cmd->data[0] > PROFILE_POLICY_ALWAYS || cmd->data[1] > PROFILE_POLICY_ALWAYS)
		return SW_WRONG_DATA;
	if (!vc_pin_take_fresh(ctx))
		return SW_SECURITY_STATUS;
	return commit_write(ctx, obj, POLICY_GENERAL_OFF, cmd->data, 2);
}

static uint16_t get_policy(struct vc_applet_ctx *ctx, const struct vc_obj *obj,
			   const struct vc_apdu *cmd, struct vc_response *rsp)
{
	uint8_t p[2];
	if (cmd->p1 != 0 || cmd->p2 != 0)
		return SW_INCORRECT_P1P2;
	if (cmd->nc != 0)
		return SW_WRONG_LENGTH;
	vc_obj_read(ctx, obj, POLICY_GENERAL_OFF, p, 2);
	vc_rsp_append(rsp, p, 2);
	return SW_OK;
}

static uint16_t process(struct vc_applet_ctx *ctx, const struct vc_apdu *cmd,
			struct vc_response *rsp)
{
	struct vc_obj obj;
	if (vc_obj_find(ctx, TAG_PROFILE, &obj) != VC_OK)
		return SW_CONDITIONS;
	uint8_t chan = cmd->channel & 3;
	uint8_t proprietary = iso_cla(0x80, chan);
	if (cmd->cla == chan && cmd->ins == PROFILE_INS_GET_FIELD)
		return get_field(ctx, &obj, cmd, rsp);
	if (cmd->cla == chan && cmd->ins == PROFILE_INS_PUT_FIELD)
		return put_field(ctx, &obj, cmd);
	if (cmd->cla == proprietary && cmd->ins == PROFILE_INS_GET_POLICY)
		return get_policy(ctx, &obj, cmd, rsp);
	if (cmd->cla == proprietary && cmd->ins == PROFILE_INS_SET_POLICY)
		return set_policy(ctx, &obj, cmd);
	if (cmd->cla == proprietary && cmd->ins == PROFILE_INS_STORE_DATA)
		return store_data(ctx, &obj, cmd);
	if (cmd->cla != chan && cmd->cla != proprietary)
		return SW_CLA_NOT_SUPPORTED;
	return SW_INS_NOT_SUPPORTED;
}

const struct vc_applet applet_profile = {
	.name = "profile",
	.aid = { PROFILE_AID },
	.aid_len = PROFILE_AID_LEN,
	.install = install,
	.process = process,
};
