/*
 * isd.c - the issuer security domain (GlobalPlatform card manager).
 *
 * It is an applet of the platform with more rights than the others: it
 * reads and changes the registry through card.h. Its own persistent object
 * holds the card life cycle, the SCP03 sequence counter and the key sets:
 *
 *   0  card life cycle state (1)
 *   1  sequence counter (3), for SCP03 pseudo-random card challenges
 *   4  number of key sets (1)
 *   5  key sets: KVN(1) key length(1) ENC(32) MAC(32) DEK(32), ISD_KEYSETS of them
 *   .. the SCP03 "i" the card announces: 70, or 10 without R-MAC/R-ENC
 *
 * Card content management (GET STATUS, INSTALL, LOAD, DELETE, PUT KEY, SET
 * STATUS, STORE DATA) is accepted only inside an authenticated SCP03
 * secure channel, opened on one logical channel by INITIALIZE UPDATE and
 * EXTERNAL AUTHENTICATE; outside it those commands answer 6982. The session
 * lives in the ISD's transient memory: deselection or a reset ends it.
 * The management itself is in isd_content.c.
 *
 * INITIALIZE UPDATE answers with key diversification data 00 00 || serial,
 * so a host can derive per-card keys from it, and with a pseudo-random
 * card challenge (i = 70) from the key set's sequence counter, which is
 * incremented in persistent memory before the answer leaves the card.
 */
#include "isd.h"

#include <string.h>

#include "crypto.h"
#include "cursor.h"
#include "isd_internal.h"
#include "scp03_card.h"

const uint8_t vc_isd_aid[GP_ISD_AID_LEN] = { GP_ISD_AID };

#define TAG_STATE ISD_TAG_STATE
#define ST_LIFE_CYCLE ISD_ST_LIFE_CYCLE
#define ST_SEQUENCE 1u
#define ST_KEYSET_COUNT 4u
#define ST_KEYSETS 5u
#define KEYSET_LEN (2u + 3u * 32u)
#define ISD_KEYSETS 4u
#define ST_I_PARAM (ST_KEYSETS + ISD_KEYSETS * KEYSET_LEN)
#define STATE_SIZE (ST_I_PARAM + 1u)

#define ISD_I_DEFAULT 0x70	/* pseudo-random challenge, R-MAC, R-ENC */
#define ELFS_SIZE (ISD_MAX_ELFS * 96u)
#define LOAD_SIZE 64u

/* The secure channel, in transient memory. */
struct isd_session {
	struct scp03_session scp;
	uint8_t channel;	/* where INITIALIZE UPDATE came */
	uint8_t personalizing;	/* registry slot + 1 STORE DATA goes to; 0 none */
	struct isd_status_next status_next;	/* a GET STATUS answered in parts */
};

static bool open_isd(struct vc_applet_ctx *ctx, struct isd *d)
{
	d->ctx = ctx;
	d->card = ctx->card;
	return vc_obj_find(ctx, TAG_STATE, &d->state) == VC_OK &&
	       vc_obj_find(ctx, ISD_TAG_ELFS, &d->elfs) == VC_OK &&
	       vc_obj_find(ctx, ISD_TAG_LOAD, &d->load) == VC_OK;
}

static struct isd_session *session_of(struct vc_applet_ctx *ctx)
{
	return ctx->transient_size >= sizeof(struct isd_session) ? (struct isd_session *)ctx->transient
								  : NULL;
}

static uint8_t state_byte(struct isd *d, uint32_t off)
{
	uint8_t b = 0;
	vc_obj_read(d->ctx, &d->state, off, &b, 1);
	return b;
}

/* ---- install: the factory's card manager ---- */

static uint16_t install(struct vc_applet_ctx *ctx, const uint8_t *params, size_t len)
{
	struct vc_obj obj;
	uint8_t head[ST_KEYSETS + KEYSET_LEN] = { GP_CARD_SECURED, 0, 0, 0, 1 };
	/* Install parameter: the SCP03 "i", 70 (default) or 10. */
	uint8_t i_param = ISD_I_DEFAULT;
	if (len == 1 && (params[0] == 0x70 || params[0] == 0x10))
		i_param = params[0];
	else if (len != 0)
		return SW_WRONG_DATA;
	/* The well-known test keys, as every development card ships: the
	 * issuer replaces them with PUT KEY before the card leaves the lab. */
	uint8_t *ks = head + ST_KEYSETS;
	ks[0] = GP_TEST_KVN;
	ks[1] = 16;
	for (int k = 0; k < 3; k++)
		for (int i = 0; i < 16; i++)
			ks[2 + 32 * k + i] = (uint8_t)(GP_TEST_KEY_FIRST + i);
	struct vc_obj elfs, load;
	if (vc_obj_alloc(ctx, TAG_STATE, STATE_SIZE, &obj) != VC_OK ||
	    vc_obj_alloc(ctx, ISD_TAG_ELFS, ELFS_SIZE, &elfs) != VC_OK ||
	    vc_obj_alloc(ctx, ISD_TAG_LOAD, LOAD_SIZE, &load) != VC_OK)
		return SW_NOT_ENOUGH_MEMORY;
	if (vc_obj_write(ctx, &obj, 0, head, sizeof(head)) != VC_OK ||
	    vc_obj_write(ctx, &obj, ST_I_PARAM, &i_param, 1) != VC_OK)
		return SW_MEMORY_FAILURE;
	return SW_OK;
}

/* ---- SELECT and GET DATA ---- */

static uint16_t select_isd(struct vc_applet_ctx *ctx, struct vc_response *rsp)
{
	/* FCI: the AID, and the largest command data field we take. */
	uint8_t fci[] = { 0x6F, 0x10, 0x84, GP_ISD_AID_LEN, 0, 0, 0, 0, 0, 0, 0, 0,
			  0xA5, 0x04, 0x9F, 0x65, 0x01, 0xFF };
	struct isd d;
	memcpy(fci + 4, vc_isd_aid, GP_ISD_AID_LEN);
	/* The platform enforces the card life cycle the ISD keeps. */
	if (open_isd(ctx, &d))
		ctx->card->life_cycle = isd_life_cycle(&d);
	struct isd_session *sess = session_of(ctx);
	if (sess && sess->scp.state != SCP03_CLOSED && sess->channel == ctx->channel) {
		scp03_close(&sess->scp);	/* a new SELECT ends this channel's session */
		sess->personalizing = 0;
	}
	vc_rsp_append(rsp, fci, sizeof(fci));
	return SW_OK;
}

static void deselect_isd(struct vc_applet_ctx *ctx)
{
	struct isd_session *sess = session_of(ctx);
	if (sess && sess->channel == ctx->channel)
		scp03_close(&sess->scp);
}

/* Card Production Life Cycle data: who made what, when (GP 2.3.1 H.6). */
static void cplc(struct isd *d, struct writer *w)
{
	uint8_t serial[8];
	vc_card_serial_of(d->ctx, serial);
	static const uint8_t maker[2] = { 0x45, 0x43 };		/* "EC" */
	static const uint8_t date[2] = { 0x63, 0x25 };		/* 2026, day 325 */
	writer_u16(w, GP_TAG_CPLC);
	writer_u8(w, 42);
	writer_bytes(w, maker, 2);		/* IC fabricator */
	writer_u16(w, 0x0001);			/* IC type */
	writer_bytes(w, maker, 2);		/* operating system identifier */
	writer_bytes(w, date, 2);		/* operating system release date */
	writer_u16(w, 0x0001);			/* operating system release level */
	writer_bytes(w, date, 2);		/* IC fabrication date */
	writer_bytes(w, serial + 4, 4);		/* IC serial number */
	writer_u16(w, 0x0000);			/* IC batch identifier */
	writer_bytes(w, maker, 2);		/* module fabricator */
	writer_bytes(w, date, 2);		/* module packaging date */
	writer_bytes(w, maker, 2);		/* ICC manufacturer */
	writer_bytes(w, date, 2);		/* IC embedding date */
	for (int i = 0; i < 16; i++)
		writer_u8(w, 0);		/* pre-personalization and personalization */
}

/* The "i" this card announces for SCP03. */
static uint8_t i_param_of(struct isd *d)
{
	uint8_t i = state_byte(d, ST_I_PARAM);
	return i == 0x10 ? 0x10 : ISD_I_DEFAULT;
}

/* Card recognition data: GP 2.3.1, SCP03 with the card's i (GP 2.3.1 H.2). */
static void card_data(struct isd *d, struct writer *w)
{
	uint8_t data[] = {
		0x66, 0x31, 0x73, 0x2F,
		0x06, 0x07, 0x2A, 0x86, 0x48, 0x86, 0xFC, 0x6B, 0x01,
		0x60, 0x0C, 0x06, 0x0A, 0x2A, 0x86, 0x48, 0x86, 0xFC, 0x6B, 0x02, 0x02, 0x03, 0x01,
		0x63, 0x09, 0x06, 0x07, 0x2A, 0x86, 0x48, 0x86, 0xFC, 0x6B, 0x03,
		0x64, 0x0B, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xFC, 0x6B, 0x04, 0x03, 0x70,
	};
	data[sizeof(data) - 1] = i_param_of(d);
	writer_bytes(w, data, sizeof(data));
}

/* Key information template: one C0 per key (id, version, type, length). */
static void key_info(struct isd *d, struct writer *w)
{
	uint8_t count = state_byte(d, ST_KEYSET_COUNT);
	if (count > ISD_KEYSETS)
		count = ISD_KEYSETS;
	writer_u8(w, (uint8_t)GP_TAG_KEY_INFO);
	writer_u8(w, (uint8_t)(count * 3 * 6));
	for (uint8_t s = 0; s < count; s++) {
		uint32_t off = ST_KEYSETS + s * KEYSET_LEN;
		for (uint8_t id = 1; id <= 3; id++) {
			uint8_t c0[6] = { 0xC0, 0x04, id, state_byte(d, off), GP_KEY_TYPE_AES,
					  state_byte(d, off + 1) };
			writer_bytes(w, c0, sizeof(c0));
		}
	}
}

static uint16_t get_data(struct isd *d, const struct vc_apdu *cmd, struct vc_response *rsp)
{
	struct writer w;
	uint16_t tag = (uint16_t)(cmd->p1 << 8 | cmd->p2);
	if (cmd->nc != 0)
		return SW_WRONG_LENGTH;
	writer_init(&w, rsp->data + rsp->len, rsp->cap - rsp->len);
	switch (tag) {
	case GP_TAG_CPLC:
		cplc(d, &w);
		break;
	case GP_TAG_CARD_DATA:
		card_data(d, &w);
		break;
	case GP_TAG_KEY_INFO:
		key_info(d, &w);
		break;
	case GP_TAG_SEQUENCE_COUNTER: {
		uint8_t seq[3];
		vc_obj_read(d->ctx, &d->state, ST_SEQUENCE, seq, 3);
		writer_u8(&w, (uint8_t)GP_TAG_SEQUENCE_COUNTER);
		writer_u8(&w, 3);
		writer_bytes(&w, seq, 3);
		break;
	}
	default:
		return SW_REF_DATA_NOT_FOUND;
	}
	if (!writer_ok(&w))
		return SW_UNKNOWN;
	rsp->len += w.len;
	return SW_OK;
}

/* GET DATA, and ecard's DF70 that says where an interrupted load stands. */
static uint16_t get_data_or_progress(struct isd *d, const struct vc_apdu *cmd,
				     struct vc_response *rsp)
{
	if (((uint16_t)(cmd->p1 << 8) | cmd->p2) == GP_TAG_LOAD_PROGRESS)
		return isd_load_progress(d, rsp);
	return get_data(d, cmd, rsp);
}

/* ---- the secure channel ---- */

/* The key set with this version (0: the first one), into keys. */
static bool key_set(struct isd *d, uint8_t kvn, struct scp03_keys *keys, unsigned *index)
{
	uint8_t count = state_byte(d, ST_KEYSET_COUNT);
	for (unsigned s = 0; s < count && s < ISD_KEYSETS; s++) {
		uint32_t off = ST_KEYSETS + s * KEYSET_LEN;
		uint8_t v = state_byte(d, off), len = state_byte(d, off + 1);
		if ((kvn && v != kvn) || (len != 16 && len != 24 && len != 32))
			continue;
		memset(keys, 0, sizeof(*keys));
		keys->kvn = v;
		keys->len = len;
		vc_obj_read(d->ctx, &d->state, off + 2, keys->enc, len);
		vc_obj_read(d->ctx, &d->state, off + 2 + 32, keys->mac, len);
		vc_obj_read(d->ctx, &d->state, off + 2 + 64, keys->dek, len);
		if (index)
			*index = s;
		return true;
	}
	return false;
}

/* Rebuild the short APDU bytes the secure channel MACs. */
static bool raw_apdu(const struct vc_apdu *cmd, uint8_t *out, size_t *len)
{
	if (cmd->extended || cmd->nc > 255)
		return false;
	size_t n = 0;
	out[n++] = cmd->cla;
	out[n++] = cmd->ins;
	out[n++] = cmd->p1;
	out[n++] = cmd->p2;
	if (cmd->nc) {
		out[n++] = (uint8_t)cmd->nc;
		memcpy(out + n, cmd->data, cmd->nc);
		n += cmd->nc;
	}
	if (cmd->kase == 2 || cmd->kase == 4)
		out[n++] = (uint8_t)(cmd->ne == 256 ? 0 : cmd->ne);
	*len = n;
	return true;
}

static uint16_t initialize_update(struct isd *d, struct isd_session *sess,
				  const struct vc_apdu *cmd, struct vc_response *rsp)
{
	struct scp03_keys keys;
	uint8_t raw[SCP03_APDU_MAX], kdd[SCP03_KDD_LEN] = { 0 }, out[SCP03_INIT_UPDATE_RESP_SEQ_LEN];
	size_t raw_len, out_len;
	unsigned index;

	scp03_close(&sess->scp);
	sess->personalizing = 0;
	sess->status_next.scope = 0;
	if (cmd->p2 != 0)
		return SW_INCORRECT_P1P2;
	if (cmd->nc != SCP03_CHALLENGE_LEN || !raw_apdu(cmd, raw, &raw_len))
		return SW_WRONG_LENGTH;
	if (!key_set(d, cmd->p1, &keys, &index))
		return SW_REF_DATA_NOT_FOUND;

	/* The counter moves before the challenge derived from it leaves. */
	uint8_t seq_bytes[3];
	vc_obj_read(d->ctx, &d->state, ST_SEQUENCE, seq_bytes, 3);
	uint32_t seq = (uint32_t)seq_bytes[0] << 16 | (uint32_t)seq_bytes[1] << 8 | seq_bytes[2];
	if (seq >= SCP03_SEQ_MAX) {
		crypto_wipe(&keys, sizeof(keys));
		return SW_CONDITIONS;	/* exhausted: new keys needed */
	}
	seq++;
	seq_bytes[0] = (uint8_t)(seq >> 16);
	seq_bytes[1] = (uint8_t)(seq >> 8);
	seq_bytes[2] = (uint8_t)seq;
	enum vc_status st = vc_tx_begin(d->ctx);
	if (st == VC_OK)
		st = vc_obj_write(d->ctx, &d->state, ST_SEQUENCE, seq_bytes, 3);
	if (st == VC_OK)
		st = vc_tx_commit(d->ctx);
	else if (st != VC_ERR_POWER_LOST)
		vc_tx_abort(d->ctx);
	if (st != VC_OK) {
		crypto_wipe(&keys, sizeof(keys));
		return SW_MEMORY_FAILURE;
	}

	vc_card_serial_of(d->ctx, kdd + 2);
	struct scp03_card_params params = { .kdd = kdd, .i_param = i_param_of(d), .seq = seq,
					    .aid = vc_isd_aid, .aid_len = GP_ISD_AID_LEN };
	enum scp03_status ss = scp03_card_initialize_update(&sess->scp, &keys, &params, raw, raw_len,
							    out, sizeof(out), &out_len);
	crypto_wipe(&keys, sizeof(keys));
	if (ss != SCP03_OK)
		return ss == SCP03_ERR_NO_KEY ? SW_REF_DATA_NOT_FOUND : SW_WRONG_DATA;
	sess->channel = d->ctx->channel;
	vc_rsp_append(rsp, out, out_len);
	return SW_OK;
}

static uint16_t external_authenticate(struct isd_session *sess, const struct vc_apdu *cmd)
{
	uint8_t raw[SCP03_APDU_MAX];
	size_t raw_len;
	if (sess->scp.state != SCP03_INITIALIZED || sess->channel != (cmd->channel & 3))
		return SW_CONDITIONS;
	if (!raw_apdu(cmd, raw, &raw_len))
		return SW_WRONG_LENGTH;
	if (scp03_card_external_authenticate(&sess->scp, raw, raw_len) != SCP03_OK)
		return SW_SECURITY_STATUS;	/* the session is over */
	return SW_OK;
}

/* PUT KEY (GP 2.3.1 §11.8, Amendment D §7.2): replace (P1 = its version)
 * or add (P1 = 0) a key set of ENC, MAC and DEK, each encrypted with the
 * current DEK and checked by its KCV. Answers the new KVN and the KCVs. */
static uint16_t put_key(struct isd *d, const struct scp03_keys *current,
			const struct vc_apdu *cmd, struct vc_response *rsp)
{
	struct cursor c;
	uint8_t new_kvn, keys[3][32], out[1 + 3 * SCP03_KCV_LEN];
	uint8_t key_len = 0;
	unsigned slot;
	struct scp03_keys old;

	if (cmd->p2 != 0x81)
		return SW_INCORRECT_P1P2;	/* the whole set, from key 1 */
	cursor_init(&c, cmd->data, cmd->nc);
	if (!cursor_u8(&c, &new_kvn) || new_kvn == 0 || new_kvn == 0xFF)
		return SW_WRONG_DATA;
	out[0] = new_kvn;
	for (int k = 0; k < 3; k++) {
		uint8_t type, total, len, kcv_len;
		const uint8_t *enc, *kcv;
		uint8_t check[SCP03_KCV_LEN];
		if (!cursor_u8(&c, &type) || type != GP_KEY_TYPE_AES || !cursor_u8(&c, &total) ||
		    !cursor_u8(&c, &len) || (len != 16 && len != 24 && len != 32) ||
		    total != (uint8_t)(1 + ((len + 15) / 16) * 16) ||
		    !cursor_bytes(&c, (size_t)total - 1, &enc) || !cursor_u8(&c, &kcv_len) ||
		    kcv_len != SCP03_KCV_LEN || !cursor_bytes(&c, kcv_len, &kcv) ||
		    (key_len && len != key_len))
			return SW_WRONG_DATA;
		key_len = len;
		uint8_t plain[32];
		if (scp03_dek_decrypt(current, enc, (size_t)total - 1, plain) != SCP03_OK ||
		    scp03_kcv(plain, len, check) != SCP03_OK || !crypto_equal(check, kcv, SCP03_KCV_LEN)) {
			crypto_wipe(plain, sizeof(plain));
			crypto_wipe(keys, sizeof(keys));
			return SW_WRONG_DATA;	/* the KCV tells a wrong DEK or a damaged key */
		}
		memcpy(keys[k], plain, len);
		crypto_wipe(plain, sizeof(plain));
		memcpy(out + 1 + k * SCP03_KCV_LEN, check, SCP03_KCV_LEN);
	}
	if (!cursor_done(&c)) {
		crypto_wipe(keys, sizeof(keys));
		return SW_WRONG_DATA;
	}
	uint8_t count = state_byte(d, ST_KEYSET_COUNT);
	if (cmd->p1 == 0) {
		if (key_set(d, new_kvn, &old, NULL) || count >= ISD_KEYSETS) {
			crypto_wipe(keys, sizeof(keys));
			return count >= ISD_KEYSETS ? SW_NOT_ENOUGH_MEMORY : SW_CONDITIONS;
		}
		slot = count;
	} else if (!key_set(d, cmd->p1, &old, &slot)) {
		crypto_wipe(keys, sizeof(keys));
		return SW_REF_DATA_NOT_FOUND;
	}
	crypto_wipe(&old, sizeof(old));

	uint8_t record[KEYSET_LEN] = { new_kvn, key_len };
	for (int k = 0; k < 3; k++)
		memcpy(record + 2 + 32 * k, keys[k], key_len);
	crypto_wipe(keys, sizeof(keys));
	enum vc_status st = vc_tx_begin(d->ctx);
	if (st == VC_OK)
		st = vc_obj_write(d->ctx, &d->state, ST_KEYSETS + slot * KEYSET_LEN, record, sizeof(record));
	if (st == VC_OK && cmd->p1 == 0) {
		uint8_t n = (uint8_t)(count + 1);
		st = vc_obj_write(d->ctx, &d->state, ST_KEYSET_COUNT, &n, 1);
	}
	crypto_wipe(record, sizeof(record));
	if (st == VC_OK)
		st = vc_tx_commit(d->ctx);
	else if (st != VC_ERR_POWER_LOST)
		vc_tx_abort(d->ctx);
	if (st != VC_OK)
		return SW_MEMORY_FAILURE;
	vc_rsp_append(rsp, out, sizeof(out));
	return SW_OK;
}

/* STORE DATA for the application under personalization. With P1 b6-b5 =
 * 11 the data is encrypted with the DEK (padded 80 00..): the ISD decrypts
 * it, and the application sees the plain command. */
static uint16_t store_data(struct isd *d, struct isd_session *sess,
			   const struct scp03_keys *keys, const struct vc_apdu *cmd,
			   struct vc_response *rsp)
{
	if (!sess->personalizing)
		return SW_CONDITIONS;	/* no INSTALL [for personalization] */
	int slot = sess->personalizing - 1;
	struct vc_instance *in = &d->card->inst[slot];
	if (!in->used || !in->type || !in->type->process)
		return SW_CONDITIONS;
	uint8_t plain[256];
	struct vc_apdu fwd = *cmd;
	fwd.cla = iso_cla(GP_CLA, cmd->channel & 3);
	fwd.secure_messaging = false;
	if ((cmd->p1 & GP_STORE_DATA_ENCRYPTED) == GP_STORE_DATA_ENCRYPTED) {
		size_t n = cmd->nc;
		if (n == 0 || n % 16 || n > sizeof(plain) ||
		    scp03_dek_decrypt(keys, cmd->data, n, plain) != SCP03_OK)
			return SW_WRONG_DATA;
		while (n > 0 && plain[n - 1] == 0x00)
			n--;
		if (n == 0 || plain[n - 1] != 0x80)
			return SW_WRONG_DATA;
		fwd.data = plain;
		fwd.nc = (uint32_t)(n - 1);
		fwd.p1 = cmd->p1 & (uint8_t)~GP_STORE_DATA_ENCRYPTED;
	}
	struct vc_applet_ctx actx = *d->ctx;
	actx.owner = in->owner;
	actx.transient = in->transient;
	actx.transient_size = in->type->transient_size;
	actx.aid = in->aid;
	actx.aid_len = in->aid_len;
	actx.from_security_domain = true;
	uint16_t sw = in->type->process(&actx, &fwd, rsp);
	crypto_wipe(plain, sizeof(plain));
	if (d->card->nvm.in_tx && !d->card->nvm.dead)
		vc_tx_abort(d->ctx);	/* the application left one open */
	/* The last block accepted: the application is PERSONALIZED (GP 2.3.1
	 * §5.3.1), unless it is locked or already further on. */
	if (sw == SW_OK && (cmd->p1 & GP_P1_LAST_BLOCK) && in->state == GP_APP_SELECTABLE) {
		enum vc_status st = vc_tx_begin(d->ctx);
		if (st == VC_OK)
			st = vc_card_set_state(d->card, slot, GP_APP_PERSONALIZED);
		if (st == VC_OK)
			st = vc_tx_commit(d->ctx);
		else if (st != VC_ERR_POWER_LOST)
			vc_tx_abort(d->ctx);
		if (st == VC_OK)
			st = vc_card_reload(d->card);
		if (st != VC_OK)
			return SW_MEMORY_FAILURE;
	}
	return sw;
}

/* A command that arrived inside the secure channel, plain by now. */
static uint16_t managed(struct isd *d, struct isd_session *sess, const struct scp03_keys *keys,
			const struct vc_apdu *cmd, struct vc_response *rsp)
{
	if (cmd->cla != iso_cla(GP_CLA, cmd->channel & 3))
		return SW_CLA_NOT_SUPPORTED;
	uint8_t life = isd_life_cycle(d);
	bool content_change = cmd->ins == GP_INS_INSTALL || cmd->ins == GP_INS_LOAD ||
			      cmd->ins == GP_INS_DELETE;
	if (life == GP_CARD_TERMINATED || (life == GP_CARD_LOCKED && content_change))
		return SW_CONDITIONS;
	int personalize = -1;
	uint16_t sw;
	switch (cmd->ins) {
	case GP_INS_GET_DATA:
		return get_data_or_progress(d, cmd, rsp);
	case GP_INS_GET_STATUS:
		return isd_get_status(d, cmd, rsp, &sess->status_next);
	case GP_INS_INSTALL:
		sw = isd_install(d, cmd, rsp, &personalize);
		if (sw == SW_OK && personalize >= 0)
			sess->personalizing = (uint8_t)(personalize + 1);
		return sw;
	case GP_INS_LOAD:
		return isd_load_block(d, cmd, rsp);
	case GP_INS_DELETE:
		sw = isd_delete(d, cmd, rsp);
		/* What was under personalization is gone: its STORE DATA must
		 * not reach whatever takes its slot next. */
		if (sess->personalizing && !d->card->inst[sess->personalizing - 1].used)
			sess->personalizing = 0;
		return sw;
	case GP_INS_SET_STATUS:
		return isd_set_status(d, cmd);
	case GP_INS_PUT_KEY:
		return put_key(d, keys, cmd, rsp);
	case GP_INS_STORE_DATA:
		return store_data(d, sess, keys, cmd, rsp);
	default:
		return SW_INS_NOT_SUPPORTED;
	}
}

/* The plain data an answer of the session can carry in a short response:
 * 256 bytes, less the R-MAC, less the padding R-ENC adds (at least one
 * byte, up to a multiple of 16). What does not fit waits for a next
 * command (GET STATUS answers in parts). */
static size_t answer_room(const struct scp03_session *s)
{
	if (!(s->level & SCP03_LEVEL_R_MAC))
		return SCP03_SHORT_RESPONSE_MAX;
	if (!(s->level & SCP03_LEVEL_R_ENC))
		return SCP03_SHORT_RESPONSE_MAX - SCP03_MAC_LEN;
	return (SCP03_SHORT_RESPONSE_MAX - SCP03_MAC_LEN) / 16 * 16 - 1;
}

/* Unwrap, run, wrap: one command of the open secure channel. */
static uint16_t secured(struct isd *d, struct isd_session *sess, const struct vc_apdu *cmd,
			struct vc_response *rsp)
{
	uint8_t raw[SCP03_APDU_MAX], plain[SCP03_APDU_MAX];
	size_t raw_len, plain_len;
	struct vc_apdu inner;
	struct scp03_keys keys;

	if (!raw_apdu(cmd, raw, &raw_len))
		return SW_WRONG_LENGTH;
	if (scp03_card_unwrap_command(&sess->scp, raw, raw_len, plain, sizeof(plain), &plain_len) != SCP03_OK)
		return SW_SECURITY_STATUS;	/* bad MAC or cryptogram: the session is over */
	if (vc_apdu_parse(plain, plain_len, &inner) != SW_OK) {
		inner = *cmd;	/* answer the error through the channel below */
		inner.kase = 0;
	}
	inner.channel = cmd->channel;
	if (!key_set(d, sess->scp.kvn, &keys, NULL))
		memset(&keys, 0, sizeof(keys));

	uint8_t data[256 + 32];
	struct vc_response plain_rsp = { data, answer_room(&sess->scp), 0 };
	uint16_t sw = inner.kase ? managed(d, sess, &keys, &inner, &plain_rsp) : SW_WRONG_LENGTH;
	crypto_wipe(&keys, sizeof(keys));

	uint8_t out[sizeof(data) + 16 + SCP03_MAC_LEN + 2];
	size_t out_len;
	if (scp03_card_wrap_response(&sess->scp, data, plain_rsp.len, sw, out, sizeof(out), &out_len) !=
	    SCP03_OK || out_len < 2)
		return SW_UNKNOWN;
	crypto_wipe(data, sizeof(data));
	vc_rsp_append(rsp, out, out_len - 2);
	return (uint16_t)(out[out_len - 2] << 8 | out[out_len - 1]);
}

static uint16_t process(struct vc_applet_ctx *ctx, const struct vc_apdu *cmd,
			struct vc_response *rsp)
{
	struct isd d;
	struct isd_session *sess = session_of(ctx);
	if (!open_isd(ctx, &d) || !sess)
		return SW_CONDITIONS;
	uint8_t chan = cmd->channel & 3;
	bool plain = cmd->cla == chan || cmd->cla == iso_cla(GP_CLA, chan);
	if (!plain && cmd->cla != iso_cla(GP_CLA_SECURE, chan))
		return SW_CLA_NOT_SUPPORTED;
	bool ours = sess->channel == chan;

	if (cmd->ins == GP_INS_INITIALIZE_UPDATE && cmd->cla == iso_cla(GP_CLA, chan))
		return initialize_update(&d, sess, cmd, rsp);
	if (cmd->ins == GP_INS_EXTERNAL_AUTHENTICATE && cmd->cla == iso_cla(GP_CLA_SECURE, chan))
		return external_authenticate(sess, cmd);
	if (scp03_is_open(&sess->scp) && ours && (!plain || sess->scp.level == 0)) {
		if (!plain)
			return secured(&d, sess, cmd, rsp);
		struct scp03_keys keys;
		if (!key_set(&d, sess->scp.kvn, &keys, NULL))
			return SW_CONDITIONS;
		uint16_t sw = managed(&d, sess, &keys, cmd, rsp);
		crypto_wipe(&keys, sizeof(keys));
		return sw;
	}
	if (!plain) {
		/* A secured command outside a session: the session, if any, ends. */
		if (ours)
			scp03_close(&sess->scp);
		return SW_SECURITY_STATUS;
	}
	switch (cmd->ins) {
	case GP_INS_GET_DATA:
		return get_data_or_progress(&d, cmd, rsp);
	case GP_INS_GET_STATUS: case GP_INS_INSTALL: case GP_INS_LOAD: case GP_INS_DELETE:
	case GP_INS_PUT_KEY: case GP_INS_SET_STATUS: case GP_INS_STORE_DATA:
		/* Card content management: only in a secure channel. */
		return SW_SECURITY_STATUS;
	default:
		return SW_INS_NOT_SUPPORTED;
	}
}

const struct vc_applet vc_isd_applet = {
	.name = "issuer security domain",
	.aid = { GP_ISD_AID },
	.aid_len = GP_ISD_AID_LEN,
	.transient_size = sizeof(struct isd_session),
	.install = install,
	.select = select_isd,
	.deselect = deselect_isd,
	.process = process,
};
