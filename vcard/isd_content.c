/*
 * isd_content.c - card content management of the issuer security domain
 * (GP 2.3.1 §9, §11): INSTALL, LOAD, DELETE, SET STATUS, GET STATUS.
 *
 * Load files live in the ISD's objects: a table of ISD_MAX_ELFS entries
 *   used(1) aid_len(1) aid(16) version(2) n_modules(1)
 *   modules(ISD_MAX_MODULES x (len(1) aid(16))) data_size(4)
 * and one data object per entry with the load file data block. The load in
 * progress is a record of its own, written in the same transaction as each
 * block, so a tear or a dropped link loses at most the block in flight and
 * the loader can resume (GET DATA DF70 tells where).
 *
 * Every change is one transaction. Commands arrive here unwrapped by the
 * secure channel (isd.c); answers are plain too.
 */
#include "isd_internal.h"

#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "cursor.h"
#include "javacard.h"

#define ELF_ENTRY 96u
#define ELF_OFF_USED 0u
#define ELF_OFF_AID_LEN 1u
#define ELF_OFF_AID 2u
#define ELF_OFF_VERSION 18u
#define ELF_OFF_N_MODULES 20u
#define ELF_OFF_MODULES 21u
#define ELF_OFF_SIZE (ELF_OFF_MODULES + ISD_MAX_MODULES * 17u)

#define LOAD_LEN 64u

/* ---- the persistent records ---- */

uint8_t isd_life_cycle(struct isd *d)
{
	uint8_t b = GP_CARD_SECURED;
	vc_obj_read(d->ctx, &d->state, ISD_ST_LIFE_CYCLE, &b, 1);
	return b;
}

bool isd_elf_get(struct isd *d, unsigned slot, struct isd_elf *e)
{
	uint8_t raw[ELF_ENTRY];
	memset(e, 0, sizeof(*e));
	if (slot >= ISD_MAX_ELFS || vc_obj_read(d->ctx, &d->elfs, slot * ELF_ENTRY, raw, sizeof(raw)) != VC_OK)
		return false;
	if (!raw[ELF_OFF_USED] || raw[ELF_OFF_AID_LEN] == 0 || raw[ELF_OFF_AID_LEN] > VC_AID_MAX ||
	    raw[ELF_OFF_N_MODULES] > ISD_MAX_MODULES)
		return false;
	e->used = true;
	e->aid_len = raw[ELF_OFF_AID_LEN];
	memcpy(e->aid, raw + ELF_OFF_AID, e->aid_len);
	memcpy(e->version, raw + ELF_OFF_VERSION, 2);
	e->n_modules = raw[ELF_OFF_N_MODULES];
	for (unsigned m = 0; m < e->n_modules; m++) {
		const uint8_t *p = raw + ELF_OFF_MODULES + m * 17u;
		if (p[0] == 0 || p[0] > VC_AID_MAX)
			return false;
		e->modules[m].len = p[0];
		memcpy(e->modules[m].aid, p + 1, p[0]);
	}
	e->data_size = load_be32(raw + ELF_OFF_SIZE);
	return true;
}

static enum vc_status elf_put(struct isd *d, unsigned slot, const struct isd_elf *e)
{
	uint8_t raw[ELF_ENTRY] = { 0 };
	if (e) {
		raw[ELF_OFF_USED] = 1;
		raw[ELF_OFF_AID_LEN] = e->aid_len;
		memcpy(raw + ELF_OFF_AID, e->aid, e->aid_len);
		memcpy(raw + ELF_OFF_VERSION, e->version, 2);
		raw[ELF_OFF_N_MODULES] = e->n_modules;
		for (unsigned m = 0; m < e->n_modules; m++) {
			raw[ELF_OFF_MODULES + m * 17u] = e->modules[m].len;
			memcpy(raw + ELF_OFF_MODULES + m * 17u + 1, e->modules[m].aid, e->modules[m].len);
		}
		store_be32(raw + ELF_OFF_SIZE, e->data_size);
	}
	return vc_obj_write(d->ctx, &d->elfs, slot * ELF_ENTRY, raw, sizeof(raw));
}

static int elf_find(struct isd *d, const uint8_t *aid, size_t len)
{
	struct isd_elf e;
	for (unsigned i = 0; i < ISD_MAX_ELFS; i++)
		if (isd_elf_get(d, i, &e) && e.aid_len == len && memcmp(e.aid, aid, len) == 0)
			return (int)i;
	return -1;
}

bool isd_load_get(struct isd *d, struct isd_load *l)
{
	uint8_t raw[LOAD_LEN];
	struct cursor c;
	uint8_t active, started;
	memset(l, 0, sizeof(*l));
	if (vc_obj_read(d->ctx, &d->load, 0, raw, sizeof(raw)) != VC_OK)
		return false;
	cursor_init(&c, raw, sizeof(raw));
	cursor_u8(&c, &active);
	cursor_u8(&c, &l->aid_len);
	cursor_copy(&c, l->aid, VC_AID_MAX);
	cursor_u8(&c, &l->hash_len);
	cursor_copy(&c, l->hash, 32);
	cursor_u32(&c, &l->total);
	cursor_u32(&c, &l->received);
	cursor_u8(&c, &l->next_block);
	cursor_u8(&c, &l->slot);
	cursor_u8(&c, &started);
	if (!cursor_ok(&c) || !active || l->aid_len == 0 || l->aid_len > VC_AID_MAX ||
	    (l->hash_len != 0 && l->hash_len != 32) || l->slot >= ISD_MAX_ELFS ||
	    l->received > l->total)
		return false;
	l->active = true;
	l->started = started != 0;
	return true;
}

static enum vc_status load_put(struct isd *d, const struct isd_load *l)
{
	uint8_t raw[LOAD_LEN] = { 0 };
	struct writer w;
	writer_init(&w, raw, sizeof(raw));
	if (l) {
		writer_u8(&w, 1);
		writer_u8(&w, l->aid_len);
		writer_bytes(&w, l->aid, VC_AID_MAX);
		writer_u8(&w, l->hash_len);
		writer_bytes(&w, l->hash, 32);
		writer_u32(&w, l->total);
		writer_u32(&w, l->received);
		writer_u8(&w, l->next_block);
		writer_u8(&w, l->slot);
		writer_u8(&w, l->started);
	}
	return vc_obj_write(d->ctx, &d->load, 0, raw, sizeof(raw));
}

/* Run a batch of writes as one transaction; reload the registry after. */
static uint16_t commit(struct isd *d, enum vc_status st)
{
	if (st == VC_OK)
		st = vc_tx_commit(d->ctx);
	else if (st != VC_ERR_POWER_LOST && d->card->nvm.in_tx)
		vc_tx_abort(d->ctx);
	if (st == VC_OK)
		st = vc_card_reload(d->card);
	if (st == VC_ERR_NO_SPACE || st == VC_ERR_JOURNAL_FULL)
		return SW_NOT_ENOUGH_MEMORY;
	return st == VC_OK ? SW_OK : SW_MEMORY_FAILURE;
}

/* Free the data object of a load that will not complete. */
static enum vc_status cancel_load(struct isd *d)
{
	struct isd_load l;
	if (!isd_load_get(d, &l))
		return VC_OK;
	enum vc_status st = VC_OK;
	if (l.started)
		st = vc_nvm_free(&d->card->nvm, d->ctx->owner, (uint16_t)(ISD_TAG_ELF_DATA + l.slot));
	if (st == VC_ERR_NOT_FOUND)
		st = VC_OK;
	return st == VC_OK ? load_put(d, NULL) : st;
}

/* LV fields of INSTALL and DELETE data. */
static bool read_lv(struct cursor *c, const uint8_t **v, uint8_t *len)
{
	return cursor_u8(c, len) && cursor_bytes(c, *len, v);
}

/* ---- INSTALL ---- */

static uint16_t install_for_load(struct isd *d, struct cursor *c, struct vc_response *rsp)
{
	const uint8_t *elf, *sd, *hash, *params, *token;
	uint8_t elf_len, sd_len, hash_len, params_len, token_len;
	if (!read_lv(c, &elf, &elf_len) || !read_lv(c, &sd, &sd_len) || !read_lv(c, &hash, &hash_len) ||
	    !read_lv(c, &params, &params_len) || !read_lv(c, &token, &token_len) || !cursor_done(c))
		return SW_WRONG_DATA;
	if (elf_len < 5 || elf_len > VC_AID_MAX || (hash_len != 0 && hash_len != 32))
		return SW_WRONG_DATA;
	/* Only the ISD takes loads: an empty SD AID or its own. */
	if (sd_len != 0 && (sd_len != GP_ISD_AID_LEN || memcmp(sd, vc_isd_aid, sd_len) != 0))
		return SW_REF_DATA_NOT_FOUND;
	if (elf_find(d, elf, elf_len) >= 0 || vc_card_find_instance(d->card, elf, elf_len) >= 0)
		return SW_CONDITIONS;	/* the AID is taken */

	int slot = -1;
	struct isd_elf e;
	for (unsigned i = 0; i < ISD_MAX_ELFS && slot < 0; i++)
		if (!isd_elf_get(d, i, &e))
			slot = (int)i;
	if (slot < 0)
		return SW_NOT_ENOUGH_MEMORY;

	struct isd_load l = { .active = true, .aid_len = elf_len, .hash_len = hash_len,
			      .slot = (uint8_t)slot };
	memcpy(l.aid, elf, elf_len);
	if (hash_len)
		memcpy(l.hash, hash, hash_len);
	/* A loader that does not resume starts again: the old partial load
	 * is dropped, in the same transaction as the new one begins. */
	enum vc_status st = vc_tx_begin(d->ctx);
	if (st == VC_OK)
		st = cancel_load(d);
	if (st == VC_OK)
		st = load_put(d, &l);
	uint16_t sw = commit(d, st);
	if (sw == SW_OK)
		vc_rsp_append(rsp, "\x00", 1);
	return sw;
}

static uint16_t install_for_install(struct isd *d, uint8_t p1, struct cursor *c,
				    struct vc_response *rsp)
{
	const uint8_t *elf, *module, *app, *priv, *params, *token;
	uint8_t elf_len, module_len, app_len, priv_len, params_len, token_len;
	if (!read_lv(c, &elf, &elf_len) || !read_lv(c, &module, &module_len) ||
	    !read_lv(c, &app, &app_len) || !read_lv(c, &priv, &priv_len) ||
	    !read_lv(c, &params, &params_len) || !read_lv(c, &token, &token_len) || !cursor_done(c))
		return SW_WRONG_DATA;
	if (app_len < 5 || app_len > VC_AID_MAX || (priv_len != 1 && priv_len != 3))
		return SW_WRONG_DATA;
	if (priv[0] & (GP_PRIV_SECURITY_DOMAIN | GP_PRIV_CARD_RESET))
		return SW_CONDITIONS;	/* one card manager, one default application */
	/* Nor by the back door: the card manager's native module, named by a
	 * load file's applet, would make an instance that acts as a security
	 * domain with keys of its own. The command is well formed; the card's
	 * rules refuse it, hence 6985 and not 6A80. */
	if (module_len == vc_isd_applet.aid_len && memcmp(module, vc_isd_applet.aid, module_len) == 0)
		return SW_CONDITIONS;
	int elf_slot = elf_find(d, elf, elf_len);
	struct isd_elf e;
	if (elf_slot < 0 || !isd_elf_get(d, (unsigned)elf_slot, &e))
		return SW_REF_DATA_NOT_FOUND;
	bool known_module = false;
	for (unsigned m = 0; m < e.n_modules; m++)
		known_module |= e.modules[m].len == module_len &&
				memcmp(e.modules[m].aid, module, module_len) == 0;
	if (!known_module)
		return SW_REF_DATA_NOT_FOUND;
	if (vc_card_find_instance(d->card, app, app_len) >= 0 || elf_find(d, app, app_len) >= 0)
		return SW_CONDITIONS;

	/* Install parameters: C9 carries the applet's own (EF, C7, C8 are
	 * system parameters this card does not need). */
	const uint8_t *app_params = NULL;
	size_t app_params_len = 0;
	struct cursor pc, v;
	uint32_t tag;
	cursor_init(&pc, params, params_len);
	while (cursor_remaining(&pc) > 0) {
		if (!cursor_tlv(&pc, &tag, &v))
			return SW_WRONG_DATA;
		if (tag == GP_TAG_APP_PARAMS) {
			app_params = v.data;
			app_params_len = cursor_remaining(&v);
		}
	}

	struct vc_install_info info = {
		.state = (p1 & GP_INSTALL_FOR_MAKE_SELECTABLE) ? GP_APP_SELECTABLE : GP_APP_INSTALLED,
		.elf_aid = elf,
		.elf_aid_len = elf_len,
	};
	memcpy(info.privileges, priv, priv_len);
	enum vc_status st = vc_tx_begin(d->ctx);
	if (st == VC_OK)
		st = vc_card_install_instance(d->card, module, module_len, app, app_len, app_params,
					      app_params_len, &info, true);
	if (st == VC_ERR_STATE)
		st = VC_ERR_ARG;	/* the applet refused its parameters */
	uint16_t sw = st == VC_ERR_ARG ? (vc_tx_abort(d->ctx), SW_WRONG_DATA) : commit(d, st);
	if (sw == SW_OK)
		vc_rsp_append(rsp, "\x00", 1);
	return sw;
}

/* INSTALL [for make selectable] and [for personalization] name an existing
 * instance: empty ELF and module, then the application AID. */
static int existing_instance(struct isd *d, struct cursor *c)
{
	const uint8_t *elf, *module, *app;
	uint8_t elf_len, module_len, app_len;
	if (!read_lv(c, &elf, &elf_len) || !read_lv(c, &module, &module_len) ||
	    !read_lv(c, &app, &app_len) || elf_len != 0 || module_len != 0)
		return -2;
	return vc_card_find_instance(d->card, app, app_len);
}

uint16_t isd_install(struct isd *d, const struct vc_apdu *cmd, struct vc_response *rsp,
		     int *personalize_slot)
{
	struct cursor c;
	cursor_init(&c, cmd->data, cmd->nc);
	if (cmd->p2 != 0x00)
		return SW_INCORRECT_P1P2;
	switch (cmd->p1) {
	case GP_INSTALL_FOR_LOAD:
		return install_for_load(d, &c, rsp);
	case GP_INSTALL_FOR_INSTALL:
	case GP_INSTALL_FOR_INSTALL_AND_SELECTABLE:
		return install_for_install(d, cmd->p1, &c, rsp);
	case GP_INSTALL_FOR_MAKE_SELECTABLE:
	case GP_INSTALL_FOR_PERSONALIZATION: {
		int slot = existing_instance(d, &c);
		if (slot == -2)
			return SW_WRONG_DATA;
		if (slot < 0)
			return SW_REF_DATA_NOT_FOUND;
		const struct vc_instance *in = &d->card->inst[slot];
		if (in->privileges[0] & GP_PRIV_SECURITY_DOMAIN)
			return SW_CONDITIONS;
		if (cmd->p1 == GP_INSTALL_FOR_PERSONALIZATION) {
			/* STORE DATA goes to this application from now on. */
			*personalize_slot = slot;
			vc_rsp_append(rsp, "\x00", 1);
			return SW_OK;
		}
		if (in->state != GP_APP_INSTALLED)
			return SW_CONDITIONS;
		enum vc_status st = vc_tx_begin(d->ctx);
		if (st == VC_OK)
			st = vc_card_set_state(d->card, slot, GP_APP_SELECTABLE);
		uint16_t sw = commit(d, st);
		if (sw == SW_OK)
			vc_rsp_append(rsp, "\x00", 1);
		return sw;
	}
	default:
		return SW_INCORRECT_P1P2;
	}
}

/* ---- LOAD ---- */

/* The first block opens with C4 and the BER length of the whole block. */
static bool parse_c4_header(struct cursor *c, uint32_t *total)
{
	uint8_t tag, l0, b;
	if (!cursor_u8(c, &tag) || tag != GP_TAG_LOAD_FILE || !cursor_u8(c, &l0))
		return false;
	if (l0 < 0x80) {
		*total = l0;
		return true;
	}
	if (l0 < 0x81 || l0 > 0x83)
		return false;
	*total = 0;
	for (int i = 0; i < (l0 & 0x7F); i++) {
		if (!cursor_u8(c, &b))
			return false;
		*total = (*total << 8) | b;
	}
	return true;
}

/* The last block: check and register the load file, in the open
 * transaction. Returns a status word. */
static uint16_t finish_load(struct isd *d, struct isd_load *l, struct vc_obj *data)
{
	uint8_t *block = malloc(l->total ? l->total : 1);
	if (!block)
		return SW_NOT_ENOUGH_MEMORY;
	vc_obj_read(d->ctx, data, 0, block, l->total);
	struct jc_package pkg;
	uint8_t hash[32];
	bool parsed = jc_parse_load_file(block, l->total, &pkg);
	bool hash_ok = !l->hash_len || (crypto_sha256(block, l->total, hash) == 0 &&
					 crypto_equal(hash, l->hash, 32));
	free(block);
	if (!parsed)
		return SW_WRONG_DATA;
	if (!hash_ok)
		return SW_SECURITY_STATUS;	/* not the load file INSTALL announced */
	if (pkg.aid.len != l->aid_len || memcmp(pkg.aid.bytes, l->aid, l->aid_len) != 0 ||
	    pkg.n_applets > ISD_MAX_MODULES)
		return SW_WRONG_DATA;

	struct isd_elf e = { .used = true, .aid_len = l->aid_len, .data_size = l->total };
	memcpy(e.aid, l->aid, l->aid_len);
	e.version[0] = pkg.major;
	e.version[1] = pkg.minor;
	e.n_modules = (uint8_t)pkg.n_applets;
	for (size_t m = 0; m < pkg.n_applets; m++) {
		e.modules[m].len = pkg.applets[m].len;
		memcpy(e.modules[m].aid, pkg.applets[m].bytes, pkg.applets[m].len);
	}
	enum vc_status st = elf_put(d, l->slot, &e);
	if (st == VC_OK)
		st = load_put(d, NULL);
	return st == VC_OK ? SW_OK : SW_MEMORY_FAILURE;
}

uint16_t isd_load_block(struct isd *d, const struct vc_apdu *cmd, struct vc_response *rsp)
{
	struct isd_load l;
	struct cursor c;
	struct vc_obj data;

	if (!isd_load_get(d, &l))
		return SW_CONDITIONS;	/* no INSTALL [for load] before it */
	if ((cmd->p1 & 0x7F) != 0)
		return SW_INCORRECT_P1P2;
	if (cmd->p2 != l.next_block)
		return SW_INCORRECT_P1P2;	/* out of order */
	bool last = (cmd->p1 & GP_P1_LAST_BLOCK) != 0;
	cursor_init(&c, cmd->data, cmd->nc);

	enum vc_status st = vc_tx_begin(d->ctx);
	if (st != VC_OK)
		return SW_CONDITIONS;
	if (!l.started) {
		if (!parse_c4_header(&c, &l.total) || l.total == 0) {
			vc_tx_abort(d->ctx);
			return SW_WRONG_DATA;
		}
		st = vc_obj_alloc(d->ctx, (uint16_t)(ISD_TAG_ELF_DATA + l.slot), l.total, &data);
		l.started = true;
	} else {
		st = vc_obj_find(d->ctx, (uint16_t)(ISD_TAG_ELF_DATA + l.slot), &data);
	}
	size_t n = cursor_remaining(&c);
	if (st == VC_OK && n > l.total - l.received) {
		vc_tx_abort(d->ctx);
		return SW_WRONG_DATA;	/* more than C4 announced */
	}
	if (st == VC_OK && n)
		st = vc_obj_write(d->ctx, &data, l.received, c.data + c.pos, n);
	l.received += (uint32_t)n;
	l.next_block++;
	uint16_t sw = SW_OK;
	if (st == VC_OK && last) {
		if (l.received != l.total) {
			vc_tx_abort(d->ctx);
			return SW_WRONG_DATA;	/* shorter than announced */
		}
		sw = finish_load(d, &l, &data);
		if (sw != SW_OK) {
			vc_tx_abort(d->ctx);
			return sw;
		}
	} else if (st == VC_OK) {
		st = load_put(d, &l);
	}
	sw = commit(d, st);
	if (sw == SW_OK && last)
		vc_rsp_append(rsp, "\x00", 1);
	return sw;
}

uint16_t isd_load_progress(struct isd *d, struct vc_response *rsp)
{
	struct isd_load l;
	uint8_t out[2 + 1 + 1 + 4 + 4 + 1 + VC_AID_MAX];
	struct writer w;
	bool active = isd_load_get(d, &l);
	writer_init(&w, out, sizeof(out));
	writer_u16(&w, GP_TAG_LOAD_PROGRESS);
	writer_u8(&w, (uint8_t)(1 + 1 + 4 + 4 + 1 + (active ? l.aid_len : 0)));
	writer_u8(&w, active);
	writer_u8(&w, active ? l.next_block : 0);
	writer_u32(&w, active ? l.received : 0);
	writer_u32(&w, active ? l.total : 0);
	writer_u8(&w, active ? l.aid_len : 0);
	if (active)
		writer_bytes(&w, l.aid, l.aid_len);
	vc_rsp_append(rsp, out, w.len);
	return SW_OK;
}

/* ---- DELETE ---- */

uint16_t isd_delete(struct isd *d, const struct vc_apdu *cmd, struct vc_response *rsp)
{
	struct cursor c, v;
	uint32_t tag;
	if (cmd->p1 != 0x00 || (cmd->p2 != 0x00 && cmd->p2 != GP_DELETE_RELATED))
		return SW_INCORRECT_P1P2;
	cursor_init(&c, cmd->data, cmd->nc);
	if (!cursor_tlv(&c, &tag, &v) || tag != GP_TAG_AID || cursor_remaining(&v) == 0 ||
	    cursor_remaining(&v) > VC_AID_MAX)
		return SW_WRONG_DATA;
	const uint8_t *aid = v.data;
	size_t len = cursor_remaining(&v);
	bool related = cmd->p2 == GP_DELETE_RELATED;

	enum vc_status st = vc_tx_begin(d->ctx);
	if (st != VC_OK)
		return SW_CONDITIONS;
	int slot = vc_card_find_instance(d->card, aid, len);
	int elf_slot = elf_find(d, aid, len);
	struct isd_load l;
	bool loading = isd_load_get(d, &l) && l.aid_len == len && memcmp(l.aid, aid, len) == 0;
	if (slot >= 0) {
		if (d->card->inst[slot].privileges[0] & GP_PRIV_SECURITY_DOMAIN) {
			vc_tx_abort(d->ctx);
			return SW_CONDITIONS;	/* the card manager stays */
		}
		st = vc_card_remove_instance(d->card, slot);
	} else if (elf_slot >= 0) {
		/* Instances of the load file go with it, or it stays. */
		for (int i = 0; st == VC_OK && i < VC_MAX_INSTANCES; i++) {
			const struct vc_instance *in = &d->card->inst[i];
			if (!in->used || in->elf_aid_len != len || memcmp(in->elf_aid, aid, len) != 0)
				continue;
			if (!related) {
				vc_tx_abort(d->ctx);
				return SW_CONDITIONS;
			}
			st = vc_card_remove_instance(d->card, i);
		}
		if (st == VC_OK)
			st = vc_nvm_free(&d->card->nvm, d->ctx->owner, (uint16_t)(ISD_TAG_ELF_DATA + elf_slot));
		if (st == VC_OK)
			st = elf_put(d, (unsigned)elf_slot, NULL);
	} else if (loading) {
		st = cancel_load(d);
	} else {
		vc_tx_abort(d->ctx);
		return SW_REF_DATA_NOT_FOUND;
	}
	uint16_t sw = commit(d, st);
	if (sw == SW_OK)
		vc_rsp_append(rsp, "\x00", 1);
	return sw;
}

/* ---- SET STATUS ---- */

static bool card_transition_allowed(uint8_t from, uint8_t to)
{
	if (to == GP_CARD_TERMINATED)
		return from != GP_CARD_TERMINATED;
	switch (from) {
	case GP_CARD_OP_READY: return to == GP_CARD_INITIALIZED || to == GP_CARD_SECURED;
	case GP_CARD_INITIALIZED: return to == GP_CARD_SECURED;
	case GP_CARD_SECURED: return to == GP_CARD_LOCKED;
	case GP_CARD_LOCKED: return to == GP_CARD_SECURED;
	default: return false;
	}
}

uint16_t isd_set_status(struct isd *d, const struct vc_apdu *cmd)
{
	enum vc_status st;
	if (cmd->p1 == GP_SET_STATUS_CARD) {
		/* The card's life cycle, through the ISD. */
		uint8_t from = isd_life_cycle(d);
		if (!card_transition_allowed(from, cmd->p2))
			return SW_CONDITIONS;
		uint8_t to = cmd->p2;
		st = vc_tx_begin(d->ctx);
		if (st == VC_OK)
			st = vc_obj_write(d->ctx, &d->state, ISD_ST_LIFE_CYCLE, &to, 1);
		uint16_t sw = commit(d, st);
		if (sw == SW_OK) {
			d->card->life_cycle = to;
			/* Locked or terminated, the card ends the sessions of the
			 * applications on every channel, not only new SELECTs. */
			vc_card_drop_unselectable(d->card);
		}
		return sw;
	}
	if (cmd->p1 != GP_SET_STATUS_APP)
		return SW_INCORRECT_P1P2;
	if (cmd->nc < 5 || cmd->nc > VC_AID_MAX)
		return SW_WRONG_DATA;
	int slot = vc_card_find_instance(d->card, cmd->data, cmd->nc);
	if (slot < 0)
		return SW_REF_DATA_NOT_FOUND;
	const struct vc_instance *in = &d->card->inst[slot];
	if (in->privileges[0] & GP_PRIV_SECURITY_DOMAIN)
		return SW_CONDITIONS;
	uint8_t state = in->state;
	if (cmd->p2 == 0x80)
		state |= GP_APP_LOCKED_BIT;		/* lock */
	else if (cmd->p2 == 0x00)
		state &= (uint8_t)~GP_APP_LOCKED_BIT;	/* unlock */
	else if ((cmd->p2 & 0x87) == 0x07 && !(in->state & GP_APP_LOCKED_BIT) &&
		 (in->state & 0x07) == 0x07)
		state = cmd->p2;	/* an application specific state */
	else
		return SW_INCORRECT_P1P2;
	/* A locked application leaves every channel it was selected on. */
	st = vc_tx_begin(d->ctx);
	if (st == VC_OK)
		st = vc_card_set_state(d->card, slot, state);
	uint16_t sw = commit(d, st);
	if (sw == SW_OK)
		vc_card_drop_unselectable(d->card);
	return sw;
}

/* ---- GET STATUS ---- */

static bool aid_matches(const uint8_t *aid, size_t len, const uint8_t *prefix, size_t plen)
{
	return plen <= len && memcmp(aid, prefix, plen) == 0;
}

static void status_entry(struct writer *w, bool tlv, const uint8_t *aid, uint8_t aid_len,
			 uint8_t state, const uint8_t *priv, const struct isd_elf *elf,
			 bool with_modules, const uint8_t *elf_aid, uint8_t elf_aid_len)
{
	if (!tlv) {
		writer_u8(w, aid_len);
		writer_bytes(w, aid, aid_len);
		writer_u8(w, state);
		writer_u8(w, priv ? priv[0] : 0);
		if (with_modules && elf) {
			writer_u8(w, elf->n_modules);
			for (unsigned m = 0; m < elf->n_modules; m++) {
				writer_u8(w, elf->modules[m].len);
				writer_bytes(w, elf->modules[m].aid, elf->modules[m].len);
			}
		}
		return;
	}
	uint8_t *len_at = writer_reserve(w, 2);
	size_t start = w->len;
	writer_u8(w, GP_TAG_AID);
	writer_u8(w, aid_len);
	writer_bytes(w, aid, aid_len);
	writer_u16(w, GP_TAG_LIFE_CYCLE);
	writer_u8(w, 1);
	writer_u8(w, state);
	if (priv) {
		writer_u8(w, GP_TAG_PRIVILEGES);
		writer_u8(w, 3);
		writer_bytes(w, priv, 3);
	}
	if (elf_aid_len) {
		writer_u8(w, GP_TAG_LOAD_FILE);
		writer_u8(w, elf_aid_len);
		writer_bytes(w, elf_aid, elf_aid_len);
	}
	if (elf) {
		writer_u8(w, GP_TAG_VERSION);
		writer_u8(w, 2);
		writer_bytes(w, elf->version, 2);
		for (unsigned m = 0; with_modules && m < elf->n_modules; m++) {
			writer_u8(w, GP_TAG_MODULE);
			writer_u8(w, elf->modules[m].len);
			writer_bytes(w, elf->modules[m].aid, elf->modules[m].len);
		}
	}
	if (len_at) {
		len_at[0] = GP_TAG_REGISTRY_ENTRY;
		len_at[1] = (uint8_t)(w->len - start);
	}
}

/* One entry, built apart, joins the answer when it fits what is left. */
static bool append_entry(struct writer *w, const struct writer *entry)
{
	return writer_ok(entry) && entry->len <= w->cap - w->len &&
	       writer_bytes(w, entry->data, entry->len);
}

uint16_t isd_get_status(struct isd *d, const struct vc_apdu *cmd, struct vc_response *rsp,
			struct isd_status_next *next)
{
	struct cursor c, v;
	uint32_t tag;
	if ((cmd->p2 & ~GP_STATUS_P2_NEXT) != GP_STATUS_P2_LEGACY &&
	    (cmd->p2 & ~GP_STATUS_P2_NEXT) != GP_STATUS_P2_TLV)
		return SW_INCORRECT_P1P2;
	bool tlv = (cmd->p2 & GP_STATUS_P2_TLV) != 0;
	/* The next entries go on from where the last answer stopped. */
	unsigned from = 0;
	if (cmd->p2 & GP_STATUS_P2_NEXT) {
		if (next->scope == 0 || next->scope != cmd->p1)
			return SW_CONDITIONS;
		from = next->from;
	}
	next->scope = 0;
	cursor_init(&c, cmd->data, cmd->nc);
	if (!cursor_tlv(&c, &tag, &v) || tag != GP_TAG_AID || cursor_remaining(&v) > VC_AID_MAX)
		return SW_WRONG_DATA;	/* a tag list (5C) may follow; ignored */
	const uint8_t *prefix = v.data;
	size_t plen = cursor_remaining(&v);

	struct writer w, one;
	uint8_t entry[2 + 255];
	writer_init(&w, rsp->data + rsp->len, rsp->cap - rsp->len);
	size_t found = 0;
	unsigned stopped = 0;	/* the slot + 1 of the first entry left out */
	switch (cmd->p1) {
	case GP_STATUS_ISD:
	case GP_STATUS_APPS:
		for (unsigned i = from; i < VC_MAX_INSTANCES && !stopped; i++) {
			const struct vc_instance *in = &d->card->inst[i];
			bool is_isd = in->used && (in->privileges[0] & GP_PRIV_SECURITY_DOMAIN) &&
				      (in->privileges[0] & GP_PRIV_CARD_RESET);
			if (!in->used || is_isd != (cmd->p1 == GP_STATUS_ISD) ||
			    !aid_matches(in->aid, in->aid_len, prefix, plen))
				continue;
			uint8_t state = is_isd ? isd_life_cycle(d) : in->state;
			writer_init(&one, entry, sizeof(entry));
			status_entry(&one, tlv, in->aid, in->aid_len, state, in->privileges, NULL, false,
				     in->elf_aid, in->elf_aid_len);
			if (append_entry(&w, &one))
				found++;
			else
				stopped = i + 1;
		}
		break;
	case GP_STATUS_LOAD_FILES:
	case GP_STATUS_LOAD_FILES_MODULES:
		for (unsigned i = from; i < ISD_MAX_ELFS && !stopped; i++) {
			struct isd_elf e;
			if (!isd_elf_get(d, i, &e) || !aid_matches(e.aid, e.aid_len, prefix, plen))
				continue;
			writer_init(&one, entry, sizeof(entry));
			status_entry(&one, tlv, e.aid, e.aid_len, GP_ELF_LOADED, NULL, &e,
				     cmd->p1 == GP_STATUS_LOAD_FILES_MODULES, NULL, 0);
			if (append_entry(&w, &one))
				found++;
			else
				stopped = i + 1;
		}
		break;
	default:
		return SW_INCORRECT_P1P2;
	}
	if (found == 0)
		return stopped ? SW_UNKNOWN : SW_REF_DATA_NOT_FOUND;
	rsp->len += w.len;
	if (!stopped)
		return SW_OK;
	next->scope = cmd->p1;
	next->from = (uint8_t)(stopped - 1);
	return SW_MORE_DATA;
}
