/*
 * card.c - the card runtime: power, dispatch of command APDUs, logical
 * channels, SELECT, GET RESPONSE, the applet registry and the applet API.
 *
 * Persistent platform state lives in three objects of owner 0:
 *   tag 1  card record: version(1) serial(8) next owner id(4)
 *          version 2: the wallet's certificates name their kind
 *          (common/purse.h); an image of version 1 is refused, since
 *          its certificates cannot be told apart (VC_ERR_OLD_FORMAT)
 *   tag 2  PIN record (pin.h)
 *   tag 3  registry: VC_MAX_INSTANCES entries of
 *          used(1) state(1) aid_len(1) aid(16) module_len(1) module_aid(16)
 *          owner(4) privileges(3) elf_len(1) elf_aid(16) reserved(4)
 * Everything else (channels, selections, PIN verified, pending response
 * bytes, transient memory) is session state, rebuilt at every power-up.
 */
#include "card.h"

#include <stdlib.h>
#include <string.h>

#include "apdu_trace.h"
#include "crypto.h"
#include "cursor.h"
#include "isd.h"

#define PLATFORM_OWNER 0u
#define TAG_CARD 1u
#define TAG_PIN 2u
#define TAG_REGISTRY 3u

#define CARD_VERSION 2u
#define CARD_REC_SIZE 13u
#define CARD_OFF_SERIAL 1u
#define CARD_OFF_NEXT_OWNER 9u

#define REG_ENTRY 64u
#define REG_OFF_USED 0u
#define REG_OFF_STATE 1u
#define REG_OFF_AID_LEN 2u
#define REG_OFF_AID 3u
#define REG_OFF_TYPE_LEN 19u
#define REG_OFF_TYPE 20u
#define REG_OFF_OWNER 36u
#define REG_OFF_PRIV 40u
#define REG_OFF_ELF_LEN 43u
#define REG_OFF_ELF 44u

#define FIRST_APPLET_OWNER 0x100u

/* ---- power and session ---- */

void vc_card_init(struct vc_card *card, struct vc_storage *st, const struct logger *log)
{
	memset(card, 0, sizeof(*card));
	card->st = st;
	card->log = log;
	/* Every card has its card manager. */
	vc_card_register(card, &vc_isd_applet);
}

enum vc_status vc_card_register(struct vc_card *card, const struct vc_applet *type)
{
	if (card->n_types >= VC_MAX_APPLET_TYPES || type->aid_len == 0 ||
	    type->aid_len > VC_AID_MAX)
		return VC_ERR_ARG;
	card->types[card->n_types++] = type;
	return VC_OK;
}

static const struct vc_applet *find_type(const struct vc_card *card, const uint8_t *aid,
					 size_t len)
{
	for (size_t i = 0; i < card->n_types; i++)
		if (card->types[i]->aid_len == len && memcmp(card->types[i]->aid, aid, len) == 0)
			return card->types[i];
	return NULL;
}

/* The card manager's native module acts as a security domain: only an
 * instance with the Security Domain privilege may run it, never an
 * ordinary application (DESIGN §3). */
static bool may_run(const struct vc_applet *type, const uint8_t privileges[3])
{
	return type != &vc_isd_applet || (privileges[0] & GP_PRIV_SECURITY_DOMAIN);
}

static void clear_pending(struct vc_channel *ch)
{
	free(ch->pending);
	ch->pending = NULL;
	ch->pending_len = ch->pending_off = 0;
}

static void release_instances(struct vc_card *card)
{
	for (size_t i = 0; i < VC_MAX_INSTANCES; i++) {
		free(card->inst[i].transient);
		memset(&card->inst[i], 0, sizeof(card->inst[i]));
	}
	for (size_t i = 0; i < VC_CHANNELS; i++)
		clear_pending(&card->chan[i]);
}

/*
 * Bind the persistent registry to the native applet types. An instance that
 * was already loaded (same slot, same owner) keeps its transient memory, so
 * a registry change made by the card manager does not wipe a session.
 */
static enum vc_status load_registry(struct vc_card *card)
{
	const uint8_t *reg = vc_nvm_peek(&card->nvm, card->registry_obj.off,
					 VC_MAX_INSTANCES * REG_ENTRY);
	if (!reg || card->registry_obj.size < VC_MAX_INSTANCES * REG_ENTRY)
		return VC_ERR_FORMAT;
	for (size_t i = 0; i < VC_MAX_INSTANCES; i++) {
		const uint8_t *e = reg + i * REG_ENTRY;
		struct vc_instance *in = &card->inst[i];
		bool same = e[REG_OFF_USED] && in->used && in->owner == load_be32(e + REG_OFF_OWNER);
		uint8_t *transient = same ? in->transient : NULL;
		if (!same)
			free(in->transient);
		memset(in, 0, sizeof(*in));
		if (!e[REG_OFF_USED])
			continue;
		if (e[REG_OFF_AID_LEN] == 0 || e[REG_OFF_AID_LEN] > VC_AID_MAX ||
		    e[REG_OFF_TYPE_LEN] > VC_AID_MAX || e[REG_OFF_ELF_LEN] > VC_AID_MAX) {
			free(transient);
			return VC_ERR_FORMAT;
		}
		in->used = true;
		in->aid_len = e[REG_OFF_AID_LEN];
		memcpy(in->aid, e + REG_OFF_AID, in->aid_len);
		in->owner = load_be32(e + REG_OFF_OWNER);
		in->state = e[REG_OFF_STATE];
		memcpy(in->privileges, e + REG_OFF_PRIV, 3);
		in->module_aid_len = e[REG_OFF_TYPE_LEN];
		memcpy(in->module_aid, e + REG_OFF_TYPE, in->module_aid_len);
		in->elf_aid_len = e[REG_OFF_ELF_LEN];
		memcpy(in->elf_aid, e + REG_OFF_ELF, in->elf_aid_len);
		/* No native implementation: the instance is inert (DESIGN §3);
		 * so is one that names the card manager's module without being a
		 * security domain, whatever wrote its entry. */
		in->type = find_type(card, e + REG_OFF_TYPE, e[REG_OFF_TYPE_LEN]);
		if (!may_run(in->type, in->privileges))
			in->type = NULL;
		in->transient = transient;
		if (!in->transient && in->type && in->type->transient_size) {
			in->transient = calloc(1, in->type->transient_size);
			if (!in->transient)
				return VC_ERR_NO_MEMORY;
		}
	}
	return VC_OK;
}

static void deselect_channel(struct vc_card *card, uint8_t channel);
static void select_default(struct vc_card *card, uint8_t channel);

static void new_session(struct vc_card *card)
{
	for (uint8_t c = 0; c < VC_CHANNELS; c++) {
		if (card->chan[c].open)
			deselect_channel(card, c);
		clear_pending(&card->chan[c]);
		card->chan[c].open = (c == 0);
		card->chan[c].selected = -1;
	}
	for (size_t i = 0; i < VC_MAX_INSTANCES; i++)
		if (card->inst[i].transient)
			memset(card->inst[i].transient, 0, card->inst[i].type->transient_size);
	memset(&card->pin_session, 0, sizeof(card->pin_session));
	select_default(card, 0);
}

enum vc_status vc_card_power_up(struct vc_card *card)
{
	if (card->powered)
		vc_card_power_down(card);
	vc_tear_power_up(card->st);
	enum vc_status st = vc_nvm_open(&card->nvm, card->st);
	if (st != VC_OK) {
		LOG_D(card->log, "power-up failed: %s", vc_status_str(st));
		return st;
	}
	if (card->nvm.recovered)
		LOG_I(card->log, "recovery: a committed transaction was rolled forward");
	if (vc_nvm_find(&card->nvm, PLATFORM_OWNER, TAG_CARD, &card->card_obj) != VC_OK ||
	    vc_nvm_find(&card->nvm, PLATFORM_OWNER, TAG_PIN, &card->pin_obj) != VC_OK ||
	    vc_nvm_find(&card->nvm, PLATFORM_OWNER, TAG_REGISTRY, &card->registry_obj) != VC_OK ||
	    card->card_obj.size < CARD_REC_SIZE || card->pin_obj.size < VC_PIN_RECORD_SIZE) {
		vc_nvm_close(&card->nvm);
		return VC_ERR_FORMAT;
	}
	uint8_t version = 0;
	vc_nvm_read(&card->nvm, card->card_obj.off, &version, 1);
	if (version != CARD_VERSION) {
		vc_nvm_close(&card->nvm);
		return version < CARD_VERSION ? VC_ERR_OLD_FORMAT : VC_ERR_FORMAT;
	}
	release_instances(card);
	st = load_registry(card);
	if (st != VC_OK) {
		release_instances(card);
		vc_nvm_close(&card->nvm);
		return st;
	}
	card->powered = true;
	card->apdus = 0;
	for (size_t c = 0; c < VC_CHANNELS; c++)
		card->chan[c].open = false;
	new_session(card);
	return VC_OK;
}

void vc_card_power_down(struct vc_card *card)
{
	if (!card->powered)
		return;
	card->writes_before += card->nvm.writes;
	release_instances(card);
	vc_nvm_close(&card->nvm);
	card->powered = false;
}

void vc_card_reset(struct vc_card *card)
{
	if (card->powered)
		new_session(card);
}

void vc_card_free(struct vc_card *card)
{
	vc_card_power_down(card);
}

void vc_card_serial(const struct vc_card *card, uint8_t serial[8])
{
	vc_nvm_read(&card->nvm, card->card_obj.off + CARD_OFF_SERIAL, serial, 8);
}

unsigned long vc_card_writes(const struct vc_card *card)
{
	return card->nvm.writes;
}

unsigned long vc_card_writes_total(const struct vc_card *card)
{
	return card->writes_before + (card->powered ? card->nvm.writes : 0);
}

size_t vc_card_atr(uint8_t atr[VC_ATR_MAX])
{
	/*
	 * TS=3B direct convention; T0: TD1 follows, 11 historical bytes;
	 * TD1: T=1, nothing more. Historical bytes: category 80, then
	 * compact-TLV card capabilities (73: selection by full DF name;
	 * extended Lc/Le; channel numbers assigned by card and by host,
	 * 4 channels) and issuer data (55) "ECARD". TCK closes it, as
	 * needed whenever a protocol other than T=0 is offered.
	 */
	static const uint8_t body[] = {
		0x3B, 0x8B, 0x01,
		0x80, 0x73, 0x80, 0x00, 0x5B, 0x55, 'E', 'C', 'A', 'R', 'D',
	};
	size_t n = sizeof(body);
	uint8_t tck = 0;
	memcpy(atr, body, n);
	for (size_t i = 1; i < n; i++)
		tck ^= atr[i];
	atr[n++] = tck;
	return n;
}

size_t vc_card_atr_t0(uint8_t atr[VC_ATR_MAX])
{
	/*
	 * The same card behind a reader that moves T=0 TPDUs: T0 = 0B, no
	 * interface bytes, so T=0 only and no TCK; the same historical bytes
	 * but for extended Lc/Le (a T=0 TPDU has no room for them): 1B.
	 */
	static const uint8_t atr_t0[] = {
		0x3B, 0x0B,
		0x80, 0x73, 0x80, 0x00, 0x1B, 0x55, 'E', 'C', 'A', 'R', 'D',
	};
	memcpy(atr, atr_t0, sizeof(atr_t0));
	return sizeof(atr_t0);
}

/* ---- factory ---- */

static enum vc_status write_registry_entry(struct vc_card *card, size_t slot,
					   const uint8_t *aid, size_t aid_len,
					   const uint8_t *type_aid, size_t type_len, uint32_t owner,
					   const struct vc_install_info *info)
{
	uint8_t e[REG_ENTRY] = { 0 };
	e[REG_OFF_USED] = 1;
	e[REG_OFF_STATE] = info->state ? info->state : GP_APP_SELECTABLE;
	e[REG_OFF_AID_LEN] = (uint8_t)aid_len;
	memcpy(e + REG_OFF_AID, aid, aid_len);
	e[REG_OFF_TYPE_LEN] = (uint8_t)type_len;
	memcpy(e + REG_OFF_TYPE, type_aid, type_len);
	store_be32(e + REG_OFF_OWNER, owner);
	memcpy(e + REG_OFF_PRIV, info->privileges, 3);
	e[REG_OFF_ELF_LEN] = (uint8_t)info->elf_aid_len;
	if (info->elf_aid_len)
		memcpy(e + REG_OFF_ELF, info->elf_aid, info->elf_aid_len);
	return vc_nvm_write(&card->nvm, card->registry_obj.off + (uint32_t)(slot * REG_ENTRY),
			    e, sizeof(e));
}

static enum vc_status create_platform(struct vc_card *card, const struct vc_card_options *opt)
{
	struct vc_nvm *nvm = &card->nvm;
	uint8_t pin[ISO_PIN_BLOCK_LEN], puk[ISO_PIN_BLOCK_LEN];
	uint8_t rec[CARD_REC_SIZE] = { CARD_VERSION };

	if (!vc_pin_block_from_digits(opt && opt->pin ? opt->pin : "1234", pin) ||
	    !vc_puk_from_digits(opt && opt->puk ? opt->puk : "12345678", puk))
		return VC_ERR_ARG;
	if (opt && opt->serial_set)
		memcpy(rec + CARD_OFF_SERIAL, opt->serial, 8);
	else if (crypto_random(rec + CARD_OFF_SERIAL, 8) != 0)
		return VC_ERR_IO;
	store_be32(rec + CARD_OFF_NEXT_OWNER, FIRST_APPLET_OWNER);

	enum vc_status st = vc_nvm_begin(nvm);
	if (st == VC_OK)
		st = vc_nvm_alloc(nvm, PLATFORM_OWNER, TAG_CARD, CARD_REC_SIZE, &card->card_obj);
	if (st == VC_OK)
		st = vc_nvm_alloc(nvm, PLATFORM_OWNER, TAG_PIN, VC_PIN_RECORD_SIZE, &card->pin_obj);
	if (st == VC_OK)
		st = vc_nvm_alloc(nvm, PLATFORM_OWNER, TAG_REGISTRY, VC_MAX_INSTANCES * REG_ENTRY,
				  &card->registry_obj);
	if (st == VC_OK)
		st = vc_nvm_write(nvm, card->card_obj.off, rec, sizeof(rec));
	if (st == VC_OK)
		st = vc_pin_write_record(nvm, card->pin_obj.off, pin, puk);
	crypto_wipe(pin, sizeof(pin));
	crypto_wipe(puk, sizeof(puk));
	if (st == VC_OK)
		return vc_nvm_commit(nvm);
	if (nvm->in_tx)
		vc_nvm_abort(nvm);
	return st;
}

enum vc_status vc_card_create(struct vc_storage *st, const struct vc_card_options *opt,
			      const struct vc_applet *const *applets, size_t n_applets,
			      const struct logger *log)
{
	struct vc_card card;
	uint32_t journal = opt && opt->journal_size ? opt->journal_size : VC_NVM_DEFAULT_JOURNAL;

	enum vc_status s = vc_nvm_format(st, journal);
	if (s != VC_OK)
		return s;
	vc_card_init(&card, st, log);
	s = vc_nvm_open(&card.nvm, st);
	if (s != VC_OK)
		return s;
	s = create_platform(&card, opt);
	vc_nvm_close(&card.nvm);
	if (s != VC_OK)
		return s;

	for (size_t i = 0; i < n_applets; i++)
		if ((s = vc_card_register(&card, applets[i])) != VC_OK)
			return s;
	s = vc_card_power_up(&card);
	/* The card manager first: security domain, card lock and terminate,
	 * default selected (card reset), global PIN (CVM management). */
	const struct vc_install_info isd_info = {
		.privileges = { GP_PRIV_SECURITY_DOMAIN | GP_PRIV_CARD_LOCK | GP_PRIV_CARD_TERMINATE |
				GP_PRIV_CARD_RESET | GP_PRIV_CVM_MANAGEMENT, 0, 0 },
	};
	if (s == VC_OK)
		s = vc_card_install_instance(&card, vc_isd_aid, GP_ISD_AID_LEN, vc_isd_aid,
					     GP_ISD_AID_LEN, opt && opt->scp03_i ? &opt->scp03_i : NULL,
					     opt && opt->scp03_i ? 1 : 0, &isd_info, false);
	for (size_t i = 0; s == VC_OK && i < n_applets; i++)
		s = vc_card_install(&card, applets[i]->aid, applets[i]->aid_len,
				    applets[i]->aid, applets[i]->aid_len, NULL, 0);
	vc_card_free(&card);
	if (s == VC_OK)
		s = vc_storage_sync(st);
	return s;
}

static void make_ctx(struct vc_card *card, int idx, uint8_t channel, struct vc_applet_ctx *ctx)
{
	struct vc_instance *in = &card->inst[idx];
	*ctx = (struct vc_applet_ctx){
		.card = card,
		.owner = in->owner,
		.channel = channel,
		.transient = in->transient,
		.transient_size = in->type ? in->type->transient_size : 0,
		.aid = in->aid,
		.aid_len = in->aid_len,
	};
}

static enum vc_status install_in_tx(struct vc_card *card, const struct vc_applet *type,
				    const uint8_t *module_aid, size_t module_len,
				    const uint8_t *aid, size_t aid_len,
				    const uint8_t *params, size_t params_len,
				    const struct vc_install_info *info)
{
	size_t slot = VC_MAX_INSTANCES;
	for (size_t i = 0; i < VC_MAX_INSTANCES; i++) {
		if (card->inst[i].used && card->inst[i].aid_len == aid_len &&
		    memcmp(card->inst[i].aid, aid, aid_len) == 0)
			return VC_ERR_EXISTS;
		if (!card->inst[i].used && slot == VC_MAX_INSTANCES)
			slot = i;
	}
	if (slot == VC_MAX_INSTANCES)
		return VC_ERR_NO_SPACE;

	const uint8_t *next = vc_nvm_peek(&card->nvm, card->card_obj.off + CARD_OFF_NEXT_OWNER, 4);
	uint32_t owner = load_be32(next);
	uint8_t next_owner[4];
	store_be32(next_owner, owner + 1);
	enum vc_status st = vc_nvm_write(&card->nvm, card->card_obj.off + CARD_OFF_NEXT_OWNER,
					 next_owner, 4);
	if (st == VC_OK)
		st = write_registry_entry(card, slot, aid, aid_len, module_aid, module_len, owner, info);
	if (st != VC_OK || !type || !type->install)
		return st;

	/* The applet's own objects join the platform's transaction. */
	struct vc_instance tmp = { .used = true, .aid_len = (uint8_t)aid_len, .owner = owner,
				   .type = type };
	memcpy(tmp.aid, aid, aid_len);
	struct vc_instance saved = card->inst[slot];
	card->inst[slot] = tmp;
	struct vc_applet_ctx ctx;
	make_ctx(card, (int)slot, 0, &ctx);
	uint16_t sw = type->install(&ctx, params, params_len);
	card->inst[slot] = saved;
	if (card->nvm.dead)
		return VC_ERR_POWER_LOST;
	return sw == SW_OK ? VC_OK : VC_ERR_STATE;
}

enum vc_status vc_card_install_instance(struct vc_card *card, const uint8_t *module_aid,
					size_t module_len, const uint8_t *aid, size_t aid_len,
					const uint8_t *params, size_t params_len,
					const struct vc_install_info *info, bool in_tx)
{
	static const struct vc_install_info plain;
	if (!card->powered)
		return VC_ERR_STATE;
	if (aid_len == 0 || aid_len > VC_AID_MAX || module_len == 0 || module_len > VC_AID_MAX ||
	    (info && info->elf_aid_len > VC_AID_MAX))
		return VC_ERR_ARG;
	if (!info)
		info = &plain;
	/* No native implementation: an inert instance (DESIGN §3). */
	const struct vc_applet *type = find_type(card, module_aid, module_len);
	if (!may_run(type, info->privileges))
		return VC_ERR_ARG;

	enum vc_status st = in_tx ? VC_OK : vc_nvm_begin(&card->nvm);
	if (st != VC_OK)
		return st;
	st = install_in_tx(card, type, module_aid, module_len, aid, aid_len, params, params_len, info);
	if (in_tx)
		return st;
	if (st == VC_OK)
		st = vc_nvm_commit(&card->nvm);
	else if (card->nvm.in_tx)
		vc_nvm_abort(&card->nvm);
	if (st == VC_OK)
		st = load_registry(card);
	if (st == VC_OK)
		LOG_D(card->log, "installed %s", type ? type->name : "an inert instance");
	return st;
}

enum vc_status vc_card_install(struct vc_card *card, const uint8_t *type_aid, size_t type_len,
			       const uint8_t *aid, size_t aid_len,
			       const uint8_t *params, size_t params_len)
{
	if (!find_type(card, type_aid, type_len))
		return VC_ERR_NOT_FOUND;
	return vc_card_install_instance(card, type_aid, type_len, aid, aid_len, params, params_len,
					NULL, false);
}

int vc_card_find_instance(const struct vc_card *card, const uint8_t *aid, size_t aid_len)
{
	for (size_t i = 0; i < VC_MAX_INSTANCES; i++)
		if (card->inst[i].used && card->inst[i].aid_len == aid_len &&
		    memcmp(card->inst[i].aid, aid, aid_len) == 0)
			return (int)i;
	return -1;
}

enum vc_status vc_card_set_state(struct vc_card *card, int slot, uint8_t state)
{
	if (slot < 0 || slot >= VC_MAX_INSTANCES || !card->inst[slot].used)
		return VC_ERR_ARG;
	return vc_nvm_write(&card->nvm, card->registry_obj.off + (uint32_t)slot * REG_ENTRY +
			    REG_OFF_STATE, &state, 1);
}

enum vc_status vc_card_remove_instance(struct vc_card *card, int slot)
{
	static const uint8_t empty[REG_ENTRY];
	if (slot < 0 || slot >= VC_MAX_INSTANCES || !card->inst[slot].used)
		return VC_ERR_ARG;
	/* No deselect callback: the applet is going away, and the card
	 * manager's transaction is open around this call. */
	for (uint8_t c = 0; c < VC_CHANNELS; c++)
		if (card->chan[c].open && card->chan[c].selected == slot)
			card->chan[c].selected = -1;
	enum vc_status st = vc_nvm_free_owner(&card->nvm, card->inst[slot].owner);
	if (st == VC_OK)
		st = vc_nvm_write(&card->nvm, card->registry_obj.off + (uint32_t)slot * REG_ENTRY,
				  empty, sizeof(empty));
	return st;
}

enum vc_status vc_card_reload(struct vc_card *card)
{
	/* Selections name registry slots: keep them where the slot survives. */
	int selected[VC_CHANNELS];
	for (uint8_t c = 0; c < VC_CHANNELS; c++)
		selected[c] = card->chan[c].selected;
	enum vc_status st = load_registry(card);
	for (uint8_t c = 0; c < VC_CHANNELS; c++)
		card->chan[c].selected = selected[c] >= 0 && card->inst[selected[c]].used ? selected[c] : -1;
	return st;
}

/* ---- dispatch ---- */

/* Java Card's rule for every applet entry point: a transaction still open
 * when the applet returns is aborted. */
static void abort_left_open(struct vc_card *card, const struct vc_instance *in)
{
	if (card->nvm.in_tx && !card->nvm.dead) {
		LOG_W(card->log, "applet %s left a transaction open: aborted", in->type->name);
		vc_nvm_abort(&card->nvm);
	}
}

static void deselect_channel(struct vc_card *card, uint8_t channel)
{
	struct vc_channel *ch = &card->chan[channel];
	vc_pin_forget_fresh(&card->pin_session, channel);
	if (ch->selected < 0)
		return;
	struct vc_instance *in = &card->inst[ch->selected];
	if (in->type && in->type->deselect) {
		struct vc_applet_ctx ctx;
		make_ctx(card, ch->selected, channel, &ctx);
		in->type->deselect(&ctx);
		abort_left_open(card, in);
	}
	ch->selected = -1;
	/* Transient memory is cleared when the instance is deselected from
	 * its last channel (a security domain may stay selected elsewhere). */
	bool elsewhere = false;
	for (uint8_t c = 0; c < VC_CHANNELS; c++)
		elsewhere |= card->chan[c].open && card->chan[c].selected == (int)(in - card->inst);
	if (in->transient && !elsewhere)
		memset(in->transient, 0, in->type->transient_size);
}

/* Selectable: SELECTABLE or beyond in its life cycle, and not locked; on
 * a locked or terminated card only the issuer security domain, the one
 * with Card Reset (GP 2.3.1 §5.1.1.4-5). */
static bool selectable(const struct vc_card *card, const struct vc_instance *in)
{
	if (!in->used)
		return false;
	if (card->life_cycle == GP_CARD_LOCKED || card->life_cycle == GP_CARD_TERMINATED)
		return (in->privileges[0] & GP_PRIV_SECURITY_DOMAIN) &&
		       (in->privileges[0] & GP_PRIV_CARD_RESET);
	if (in->privileges[0] & GP_PRIV_SECURITY_DOMAIN)
		return true;
	return (in->state & 0x07) == 0x07 && !(in->state & GP_APP_LOCKED_BIT);
}

void vc_card_drop_unselectable(struct vc_card *card)
{
	for (uint8_t c = 0; c < VC_CHANNELS; c++)
		if (card->chan[c].open && card->chan[c].selected >= 0 &&
		    !selectable(card, &card->inst[card->chan[c].selected]))
			deselect_channel(card, c);
}

/* Security domains may be selected on several channels at once. */
static bool multi_selectable(const struct vc_instance *in)
{
	return (in->privileges[0] & GP_PRIV_SECURITY_DOMAIN) != 0;
}

/* The instance with the Card Reset privilege is selected by default. */
static int default_instance(const struct vc_card *card)
{
	for (size_t i = 0; i < VC_MAX_INSTANCES; i++)
		if (card->inst[i].used && (card->inst[i].privileges[0] & GP_PRIV_CARD_RESET))
			return (int)i;
	return -1;
}

static int find_instance(const struct vc_card *card, const uint8_t *aid, size_t len)
{
	/* An exact match wins; otherwise the first instance whose AID starts
	 * with the given bytes (partial DF name, ISO 7816-4 §7.1.1). */
	int partial = -1;
	for (size_t i = 0; i < VC_MAX_INSTANCES; i++) {
		const struct vc_instance *in = &card->inst[i];
		if (!in->used || in->aid_len < len || memcmp(in->aid, aid, len) != 0)
			continue;
		if (in->aid_len == len)
			return (int)i;
		if (partial < 0)
			partial = (int)i;
	}
	return partial;
}

/* Make idx the selection of a channel (after deselecting what was there). */
static uint16_t select_on(struct vc_card *card, uint8_t channel, int idx, struct vc_response *rsp)
{
	deselect_channel(card, channel);
	struct vc_instance *in = &card->inst[idx];
	uint16_t sw = SW_OK;
	if (in->type && in->type->select) {
		struct vc_applet_ctx ctx;
		make_ctx(card, idx, channel, &ctx);
		sw = in->type->select(&ctx, rsp);
		abort_left_open(card, in);
	}
	if (sw != SW_OK) {
		rsp->len = 0;
		return SW_APPLET_SELECT_FAILED;
	}
	card->chan[channel].selected = idx;
	return SW_OK;
}

/* Select the default instance on a channel, if there is one and it may
 * be selected there; its FCI goes nowhere. */
static void select_default(struct vc_card *card, uint8_t channel)
{
	int idx = default_instance(card);
	if (idx < 0 || !selectable(card, &card->inst[idx]))
		return;
	for (uint8_t c = 0; c < VC_CHANNELS; c++)
		if (c != channel && card->chan[c].open && card->chan[c].selected == idx &&
		    !multi_selectable(&card->inst[idx]))
			return;
	uint8_t scratch[256];
	struct vc_response rsp = { scratch, sizeof(scratch), 0 };
	select_on(card, channel, idx, &rsp);
}

static uint16_t do_select(struct vc_card *card, const struct vc_apdu *a, struct vc_response *rsp)
{
	if (a->p2 != 0x00 && a->p2 != 0x0C)
		return SW_INCORRECT_P1P2;	/* only first-or-only occurrence */
	if (a->nc > VC_AID_MAX)
		return SW_WRONG_LENGTH;
	/* Any SELECT on the channel voids the PIN entered there, even one that
	 * leaves the selection as it was. */
	vc_pin_forget_fresh(&card->pin_session, a->channel);
	/* An empty AID selects the default application (the card manager). */
	int idx = a->nc == 0 ? default_instance(card) : find_instance(card, a->data, a->nc);
	if (idx < 0 || !selectable(card, &card->inst[idx]))
		return SW_FILE_NOT_FOUND;
	for (uint8_t c = 0; c < VC_CHANNELS; c++)
		if (c != a->channel && card->chan[c].open && card->chan[c].selected == idx &&
		    !multi_selectable(&card->inst[idx]))
			return SW_CONDITIONS;	/* not multi-selectable */
	uint16_t sw = select_on(card, a->channel, idx, rsp);
	if (sw == SW_OK && a->p2 == 0x0C)
		rsp->len = 0;
	return sw;
}

static uint16_t do_manage_channel(struct vc_card *card, const struct vc_apdu *a,
				  struct vc_response *rsp)
{
	if (a->nc != 0)
		return SW_WRONG_LENGTH;
	if (a->p1 == 0x00) {
		uint8_t target = a->p2;
		if (target >= VC_CHANNELS)
			return SW_INCORRECT_P1P2;
		if (target == 0) {
			for (uint8_t c = 1; c < VC_CHANNELS && target == 0; c++)
				if (!card->chan[c].open)
					target = c;
			if (target == 0)
				return SW_FUNC_NOT_SUPPORTED;	/* all channels in use */
		} else if (card->chan[target].open) {
			return SW_CONDITIONS;
		}
		card->chan[target].open = true;
		card->chan[target].selected = -1;
		/* Opened from the basic channel: the default application. */
		if (a->channel == 0)
			select_default(card, target);
		if (a->p2 == 0)
			vc_rsp_append(rsp, &target, 1);
		return SW_OK;
	}
	if (a->p1 == 0x80) {
		uint8_t target = a->p2 ? a->p2 : a->channel;
		if (target == 0 || target >= VC_CHANNELS)
			return SW_INCORRECT_P1P2;
		if (!card->chan[target].open)
			return SW_CHANNEL_NOT_SUPPORTED;
		deselect_channel(card, target);
		clear_pending(&card->chan[target]);
		card->chan[target].open = false;
		return SW_OK;
	}
	return SW_INCORRECT_P1P2;
}

static uint16_t do_get_response(struct vc_card *card, const struct vc_apdu *a,
				struct vc_response *rsp)
{
	struct vc_channel *ch = &card->chan[a->channel];
	if (a->p1 != 0 || a->p2 != 0)
		return SW_INCORRECT_P1P2;
	if (!ch->pending)
		return SW_CONDITIONS;
	size_t left = ch->pending_len - ch->pending_off;
	vc_rsp_append(rsp, ch->pending + ch->pending_off, left);
	clear_pending(ch);
	return SW_OK;
}

static uint16_t do_applet(struct vc_card *card, const struct vc_apdu *a, struct vc_response *rsp)
{
	int idx = card->chan[a->channel].selected;
	if (idx < 0)
		return SW_INS_NOT_SUPPORTED;
	struct vc_instance *in = &card->inst[idx];
	if (!in->type || !in->type->process)
		return SW_INS_NOT_SUPPORTED;	/* inert instance */

	struct vc_applet_ctx ctx;
	make_ctx(card, idx, a->channel, &ctx);
	uint16_t sw = in->type->process(&ctx, a, rsp);
	abort_left_open(card, in);
	return sw;
}

static uint16_t dispatch(struct vc_card *card, const struct vc_apdu *a, struct vc_response *rsp)
{
	if (a->channel >= VC_CHANNELS || !card->chan[a->channel].open)
		return SW_CHANNEL_NOT_SUPPORTED;
	if (a->chaining)
		return SW_CHAINING_NOT_SUPPORTED;
	/* The platform has no secure messaging: an inter-industry command that
	 * claims it must not run as plain. Proprietary classes (GlobalPlatform
	 * 84) are the applet's business. */
	if (a->secure_messaging && !a->proprietary)
		return SW_SM_NOT_SUPPORTED;

	if (!a->proprietary && a->ins == ISO_INS_GET_RESPONSE)
		return do_get_response(card, a, rsp);
	/* Any other command forfeits the rest of an earlier response. */
	clear_pending(&card->chan[a->channel]);

	if (!a->proprietary && a->ins == ISO_INS_MANAGE_CHANNEL)
		return do_manage_channel(card, a, rsp);
	if (!a->proprietary && a->ins == ISO_INS_SELECT && a->p1 == ISO_SELECT_BY_AID)
		return do_select(card, a, rsp);
	if (vc_pin_is_command(a)) {
		enum vc_status st;
		int sel = card->chan[a->channel].selected;
		uint32_t owner = sel >= 0 ? card->inst[sel].owner : PLATFORM_OWNER;
		uint16_t sw = vc_pin_process(&card->nvm, card->pin_obj.off, &card->pin_session, a,
					     owner, &st);
		if (st != VC_OK && st != VC_ERR_POWER_LOST)
			LOG_E(card->log, "PIN record update failed: %s", vc_status_str(st));
		return sw;
	}
	return do_applet(card, a, rsp);
}

/* The APDU trace of debug logs, which never shows a secret (apdu_trace.h). */
static void log_exchange(const struct vc_card *card, const uint8_t *cmd, size_t cmd_len,
			 const uint8_t *rsp, size_t rsp_len)
{
	char line[APDU_TRACE_LINE_MAX];
	LOG_D(card->log, "%s", apdu_trace_line(cmd, cmd_len, rsp, rsp_len, line, sizeof(line)));
}

/* Whether data may accompany this status word (9000 and warnings). */
static bool sw_carries_data(uint16_t sw)
{
	return sw == SW_OK || (sw & 0xFF00) == 0x6200 || (sw & 0xFF00) == 0x6300;
}

enum vc_status vc_card_process(struct vc_card *card, const uint8_t *cmd, size_t cmd_len,
			       uint8_t *rsp, size_t *rsp_len)
{
	*rsp_len = 0;
	if (!card->powered)
		return VC_ERR_STATE;
	if (card->nvm.dead)
		return VC_ERR_POWER_LOST;
	card->apdus++;

	struct vc_apdu a = { 0 };
	struct vc_response out = { card->rsp_buf, VC_APDU_MAX_NE, 0 };
	uint16_t sw = vc_apdu_parse(cmd, cmd_len, &a);
	if (sw == SW_OK)
		sw = dispatch(card, &a, &out);
	if (card->nvm.dead)
		return VC_ERR_POWER_LOST;
	if (!sw_carries_data(sw))
		out.len = 0;

	/* More data than the reader asked for: the rest waits for GET
	 * RESPONSE behind 61xx (xx = bytes left, 00 for 256 or more). */
	size_t limit = out.len;
	size_t ne = a.ne ? a.ne : (a.extended ? VC_APDU_MAX_NE : 256);
	if (card->max_rsp_data && ne > card->max_rsp_data)
		ne = card->max_rsp_data;	/* the front-end's frame limit */
	if (out.len > ne && sw != SW_OK) {
		limit = ne;	/* a warning keeps its status word: no 61xx */
	} else if (out.len > ne) {
		struct vc_channel *ch = &card->chan[a.channel];
		size_t left = out.len - ne;
		ch->pending = malloc(left);
		if (ch->pending) {
			memcpy(ch->pending, out.data + ne, left);
			ch->pending_len = left;
			ch->pending_off = 0;
			limit = ne;
			sw = (uint16_t)(SW_BYTES_REMAINING | (left > 255 ? 0 : left));
		} else {
			limit = 0;
			sw = SW_UNKNOWN;
		}
	}
	memcpy(rsp, out.data, limit);
	rsp[limit] = (uint8_t)(sw >> 8);
	rsp[limit + 1] = (uint8_t)sw;
	*rsp_len = limit + 2;
	if (card->log && card->log->level >= LOG_DEBUG)
		log_exchange(card, cmd, cmd_len, rsp, *rsp_len);
	return VC_OK;
}

/* ---- the applet API ---- */

enum vc_status vc_tx_begin(struct vc_applet_ctx *ctx)
{
	return vc_nvm_begin(&ctx->card->nvm);
}

enum vc_status vc_tx_commit(struct vc_applet_ctx *ctx)
{
	return vc_nvm_commit(&ctx->card->nvm);
}

enum vc_status vc_tx_abort(struct vc_applet_ctx *ctx)
{
	return vc_nvm_abort(&ctx->card->nvm);
}

enum vc_status vc_obj_alloc(struct vc_applet_ctx *ctx, uint16_t tag, uint32_t size,
			    struct vc_obj *obj)
{
	struct vc_nvm_object o;
	enum vc_status st = vc_nvm_alloc(&ctx->card->nvm, ctx->owner, tag, size, &o);
	if (st == VC_OK)
		*obj = (struct vc_obj){ o.off, o.size };
	return st;
}

enum vc_status vc_obj_find(struct vc_applet_ctx *ctx, uint16_t tag, struct vc_obj *obj)
{
	struct vc_nvm_object o;
	enum vc_status st = vc_nvm_find(&ctx->card->nvm, ctx->owner, tag, &o);
	if (st == VC_OK)
		*obj = (struct vc_obj){ o.off, o.size };
	return st;
}

enum vc_status vc_obj_read(struct vc_applet_ctx *ctx, const struct vc_obj *obj,
			   uint32_t off, void *buf, size_t len)
{
	if (off > obj->size || len > obj->size - off)
		return VC_ERR_ARG;
	return vc_nvm_read(&ctx->card->nvm, obj->off + off, buf, len);
}

enum vc_status vc_obj_write(struct vc_applet_ctx *ctx, const struct vc_obj *obj,
			    uint32_t off, const void *buf, size_t len)
{
	if (off > obj->size || len > obj->size - off)
		return VC_ERR_ARG;
	return vc_nvm_write(&ctx->card->nvm, obj->off + off, buf, len);
}

bool vc_pin_verified(struct vc_applet_ctx *ctx)
{
	return ctx->card->pin_session.verified;
}

bool vc_pin_take_fresh(struct vc_applet_ctx *ctx)
{
	return vc_pin_take_fresh_for(&ctx->card->pin_session, ctx->channel, ctx->owner);
}

void vc_card_serial_of(struct vc_applet_ctx *ctx, uint8_t serial[8])
{
	vc_card_serial(ctx->card, serial);
}

bool vc_rsp_append(struct vc_response *rsp, const void *data, size_t len)
{
	if (len > rsp->cap - rsp->len)
		return false;
	if (len)
		memcpy(rsp->data + rsp->len, data, len);
	rsp->len += len;
	return true;
}
