/*
 * ota.c - the SERAM remote agent's sessions and jobs (ota.h).
 *
 * A job is a fixed list of plain commands, rebuilt on demand from the job's
 * record (load-cap: INSTALL [for load], LOAD 0..n-1, INSTALL [for install];
 * delete: DELETE). An order sends a batch of them: optionally EXTERNAL
 * AUTHENTICATE first, then commands [first, first + count), then
 * optionally one probe (GET DATA DF70 or GET STATUS), last because a card
 * may refuse it and the agent stops at the first refusal. The same
 * function builds a batch and, on the report, replays the wrapping command
 * by command to check each answer with the MAC chain it belongs to.
 */
#include "ota.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "amount.h"
#include "cap.h"
#include "cards.h"
#include "crypto.h"
#include "gp.h"
#include "gp_cmd.h"
#include "gp_keys.h"
#include "files.h"
#include "gp_proto.h"
#include "hex.h"
#include "iso7816.h"
#include "holders.h"
#include "ledger.h"
#include "perso_job.h"
#include "scp03.h"
#include "scp03_host.h"
#include "seram.h"
#include "topup.h"

#define DEFAULT_BATCH_COMMANDS 1024
#define DEFAULT_BATCH_BYTES (256 * 1024)
#define CLA_GP 0x80

/* ---- job programs ---- */

enum prog_kind {
	PROG_LOAD,
	PROG_DELETE,
	PROG_PUT_KEYS,		/* the card's own keys (issuer, KVN 01) replace its current set */
	PROG_TOPUP,		/* an online load of the wallet (topup.h), not through the ISD */
	PROG_LOCK,		/* SET STATUS of an application: lock or unlock */
	PROG_PERSO,		/* issue a new card: wallet, profile, keys (perso_job.h) */
};

struct prog {
	enum prog_kind kind;
	uint8_t level;
	size_t count;		/* commands */
	/* load-cap */
	const struct ec_cap *cap;	/* from the thread's cache */
	size_t block_size;
	size_t blocks;
	bool install;
	struct ec_gp_install inst;
	/* delete */
	uint8_t aid[EC_GP_AID_MAX];
	size_t aid_len;
	bool related;
	/* lock */
	bool lock;
	/* personalize: for whom, and where it stands */
	struct perso_progress perso;
	char name[HOLDER_NAME_MAX + 1];
	char email[HOLDER_EMAIL_MAX + 1];
	long long holder;
	long long order;
	/* top-up: the amount as the operator gave it, read with the
	 * issuer's currency when the job runs */
	char amount[EC_AMOUNT_TEXT_MAX];
	char from[LEDGER_NAME_MAX];	/* the account that pays for it */
};

static bool aid_param(json_t *params, const char *key, uint8_t *out, size_t *len)
{
	json_t *v = json_object_get(params, key);
	const char *s = json_is_string(v) ? json_string_value(v) : NULL;
	size_t n = s ? strlen(s) : 0;

	*len = 0;
	if (!s)
		return false;
	if (n == 0 || n % 2 || n / 2 > EC_GP_AID_MAX || hex_decode(s, out, n / 2) != (long)(n / 2))
		return false;
	*len = n / 2;
	return true;
}

static void prog_close(struct prog *p)
{
	memset(p, 0, sizeof(*p));
}

/*
 * The CAP files of the jobs, parsed, per thread: a file is named by its
 * SHA-256 and never changes, so keeping it is no state another instance
 * would need; it saves reading and unzipping it for every report.
 */
#define CAP_CACHE 8

struct cap_cache_entry {
	char sha256[65];
	struct ec_cap *cap;
	unsigned long used;
};

struct cap_cache {
	struct cap_cache_entry e[CAP_CACHE];
	unsigned long clock;
};

static pthread_key_t cap_cache_key;
static pthread_once_t cap_cache_once = PTHREAD_ONCE_INIT;

/* A thread's cache goes with the thread. */
static void cap_cache_free(void *arg)
{
	struct cap_cache *cache = arg;
	for (size_t i = 0; i < CAP_CACHE; i++)
		if (cache->e[i].cap) {
			ec_cap_free(cache->e[i].cap);
			free(cache->e[i].cap);
		}
	free(cache);
}

static void cap_cache_init(void)
{
	pthread_key_create(&cap_cache_key, cap_cache_free);
}

static enum ec_status cached_cap(struct store *st, const char *sha256, const struct ec_cap **out,
				 struct ec_error *err)
{
	pthread_once(&cap_cache_once, cap_cache_init);
	struct cap_cache *cache = pthread_getspecific(cap_cache_key);
	if (!cache) {
		cache = calloc(1, sizeof(*cache));
		if (!cache)
			return ec_error_set(err, EC_ERR_ARG, "out of memory reading a CAP file.");
		pthread_setspecific(cap_cache_key, cache);
	}
	struct cap_cache_entry *victim = &cache->e[0];
	uint8_t *data = NULL;
	size_t len = 0;

	for (size_t i = 0; i < CAP_CACHE; i++) {
		if (cache->e[i].cap && strcmp(cache->e[i].sha256, sha256) == 0) {
			cache->e[i].used = ++cache->clock;
			*out = cache->e[i].cap;
			return EC_OK;
		}
		if (cache->e[i].used < victim->used)
			victim = &cache->e[i];
	}
	enum ec_status s = db_file_get(st, sha256, &data, &len, err);
	if (s != EC_OK)
		return s;
	struct ec_cap *cap = malloc(sizeof(*cap));
	if (!cap) {
		free(data);
		return ec_error_set(err, EC_ERR_ARG, "out of memory reading a CAP file.");
	}
	s = ec_cap_open_buffer(data, len, "job file", cap, err);
	free(data);
	if (s != EC_OK) {
		free(cap);
		return s;
	}
	if (victim->cap) {
		ec_cap_free(victim->cap);
		free(victim->cap);
	}
	snprintf(victim->sha256, sizeof(victim->sha256), "%s", sha256);
	victim->cap = cap;
	victim->used = ++cache->clock;
	*out = cap;
	return EC_OK;
}

static enum ec_status prog_open(struct store *st, const struct db_job *job, struct prog *p,
				struct ec_error *err)
{
	json_error_t je;
	json_t *params = json_loads(job->params ? job->params : "{}", 0, &je);
	enum ec_status s = EC_OK;

	memset(p, 0, sizeof(*p));
	if (!json_is_object(params)) {
		json_decref(params);
		return ec_error_set(err, EC_ERR_FORMAT, "job %lld has damaged parameters.", job->id);
	}
	json_t *lvl = json_object_get(params, "level");
	p->level = json_is_integer(lvl) ? (uint8_t)json_integer_value(lvl) : 0x03;
	if (strcmp(job->kind, "load-cap") == 0) {
		p->kind = PROG_LOAD;
		json_t *bs = json_object_get(params, "block_size");
		p->block_size = json_is_integer(bs) ? (size_t)json_integer_value(bs) : 0;
		if ((s = cached_cap(st, job->file, &p->cap, err)) != EC_OK)
			goto out;
		if (p->block_size == 0 || p->block_size > 255 ||
		    (s = ec_cap_block_count(p->cap->load_data_len, p->block_size, &p->blocks, err)) != EC_OK) {
			s = ec_error_set(err, EC_ERR_FORMAT, "job %lld has no usable block size.", job->id);
			goto out;
		}
		size_t module_len;
		uint8_t module[EC_GP_AID_MAX];
		if (aid_param(params, "install", module, &module_len)) {
			p->install = true;
			ec_gp_aid_set(&p->inst.package, p->cap->package.aid.bytes, p->cap->package.aid.len);
			ec_gp_aid_set(&p->inst.module, module, module_len);
			uint8_t inst[EC_GP_AID_MAX];
			size_t inst_len;
			if (aid_param(params, "instance", inst, &inst_len))
				ec_gp_aid_set(&p->inst.aid, inst, inst_len);
			p->inst.selectable = true;
		}
		p->count = 1 + p->blocks + (p->install ? 1 : 0);
	} else if (strcmp(job->kind, "delete") == 0) {
		p->kind = PROG_DELETE;
		if (!aid_param(params, "aid", p->aid, &p->aid_len)) {
			s = ec_error_set(err, EC_ERR_FORMAT, "job %lld names no AID to delete.", job->id);
			goto out;
		}
		p->related = json_is_true(json_object_get(params, "related"));
		p->count = 1;
	} else if (strcmp(job->kind, "lock") == 0 || strcmp(job->kind, "unlock") == 0) {
		p->kind = PROG_LOCK;
		p->lock = strcmp(job->kind, "lock") == 0;
		if (!aid_param(params, "aid", p->aid, &p->aid_len)) {
			s = ec_error_set(err, EC_ERR_FORMAT, "job %lld names no AID to %s.", job->id,
					 job->kind);
			goto out;
		}
		p->count = 1;
	} else if (strcmp(job->kind, "personalize") == 0) {
		json_t *n = json_object_get(params, "name"), *e = json_object_get(params, "email");
		p->kind = PROG_PERSO;
		p->level = 0x33;
		p->count = PERSO_COMMANDS;
		snprintf(p->name, sizeof(p->name), "%s", json_is_string(n) ? json_string_value(n) : "");
		snprintf(p->email, sizeof(p->email), "%s", json_is_string(e) ? json_string_value(e) : "");
		p->holder = json_integer_value(json_object_get(params, "holder"));
		p->order = json_integer_value(json_object_get(params, "order"));
		s = perso_load(job->progress, &p->perso, err);
	} else if (strcmp(job->kind, "put-keys") == 0) {
		p->kind = PROG_PUT_KEYS;
		p->count = 1;
	} else if (strcmp(job->kind, "top-up") == 0) {
		json_t *a = json_object_get(params, "amount");
		p->kind = PROG_TOPUP;
		p->count = 1;
		if (!json_is_string(a) || strlen(json_string_value(a)) >= sizeof(p->amount))
			s = ec_error_set(err, EC_ERR_FORMAT, "job %lld names no amount to load.", job->id);
		else
			snprintf(p->amount, sizeof(p->amount), "%s", json_string_value(a));
		json_t *from = json_object_get(params, "from");
		snprintf(p->from, sizeof(p->from), "%s",
			 json_is_string(from) ? json_string_value(from) : LEDGER_GRANTS);
		if (!ledger_name_ok(p->from))
			s = ec_error_set(err, EC_ERR_FORMAT, "job %lld names no usable account to pay from.",
					 job->id);
	} else {
		s = ec_error_set(err, EC_ERR_FORMAT, "job %lld is of a kind this server does not run (%s).",
				 job->id, job->kind);
	}
out:
	json_decref(params);
	if (s != EC_OK)
		prog_close(p);
	return s;
}

static bool prog_is_load_block(const struct prog *p, size_t i)
{
	return p->kind == PROG_LOAD && i >= 1 && i <= p->blocks;
}

static enum ec_status prog_build(const struct prog *p, size_t i, uint8_t *out, size_t cap,
				 size_t *len)
{
	if (p->kind == PROG_PUT_KEYS || p->kind == PROG_TOPUP || p->kind == PROG_PERSO)
		return EC_ERR_ARG;	/* put_keys_command(), topup.h, perso_job.h */
	if (p->kind == PROG_DELETE)
		return ec_gp_cmd_delete(CLA_GP, p->aid, p->aid_len, p->related, out, cap, len);
	if (p->kind == PROG_LOCK)
		return ec_gp_cmd_set_app_status(CLA_GP, p->aid, p->aid_len, p->lock, out, cap, len);
	if (i == 0)
		return ec_gp_cmd_install_for_load(CLA_GP, p->cap, NULL, 0, true, out, cap, len);
	if (i <= p->blocks)
		return ec_gp_cmd_load(CLA_GP, p->cap, p->block_size, i - 1, out, cap, len);
	return ec_gp_cmd_install(CLA_GP, &p->inst, out, cap, len);
}

static const char *prog_command_name(const struct prog *p, size_t i, char *buf, size_t cap)
{
	if (p->kind == PROG_DELETE)
		return "DELETE";
	if (p->kind == PROG_LOCK)
		return p->lock ? "SET STATUS (lock)" : "SET STATUS (unlock)";
	if (p->kind == PROG_PERSO) {
		static const char *const names[PERSO_COMMANDS] = {
			"INSTALL [for personalization] of the wallet", "STORE DATA (key generation)",
			"INSTALL [for personalization] of the wallet", "STORE DATA (K_load)",
			"STORE DATA (CA key and limits)", "STORE DATA (certificate, last block)",
			"INSTALL [for personalization] of the profile", "STORE DATA (profile)", "PUT KEY",
		};
		return i < PERSO_COMMANDS ? names[i] : "personalize";
	}
	if (p->kind == PROG_PUT_KEYS)
		return "PUT KEY";
	if (p->kind == PROG_TOPUP)
		return "top-up";
	if (i == 0)
		return "INSTALL [for load]";
	if (i <= p->blocks) {
		snprintf(buf, cap, "LOAD block %zu of %zu", i, p->blocks);
		return buf;
	}
	return "INSTALL [for install and make selectable]";
}

/* ---- the session's step, kept in the store as JSON ---- */

enum phase {
	PHASE_NEW,		/* handshake done, nothing sent */
	PHASE_OPEN,		/* SELECT + INITIALIZE UPDATE out */
	PHASE_BATCH,		/* a batch out */
	PHASE_ENDED,
	PHASE_TOPUP,		/* a top-up's commands out (step.tu says which) */
};

static const char *const phase_names[] = { "new", "open", "batch", "ended", "top-up" };

/* What a top-up's order asked (topup.h). */
enum topup_order {
	TU_ASK_LAST,		/* SELECT, GET LAST TRANSACTION, INITIALIZE LOAD */
	TU_ASK,			/* SELECT, INITIALIZE LOAD */
	TU_CREDIT,		/* CREDIT */
};

enum probe {
	PROBE_NONE,
	PROBE_DF70,		/* GET DATA DF70: where the load stands */
	PROBE_LOAD_FILE,	/* GET STATUS: is the load file there */
	PROBE_APP,		/* GET STATUS: is the instance there */
};

struct batch {
	bool ea;
	enum probe probe;
	long first;
	long count;
};

struct step {
	enum phase phase;
	uint8_t host_challenge[SCP03_CHALLENGE_LEN];
	uint8_t iu[64];		/* the card's INITIALIZE UPDATE answer (data) */
	size_t iu_len;
	bool authenticated;	/* EXTERNAL AUTHENTICATE went through */
	uint8_t level;
	uint8_t mac_chain[16];
	uint32_t counter;
	struct batch b;		/* a top-up: count only */
	int tu;			/* enum topup_order */
	int credits;		/* CREDIT commands sent in this session */
};

static bool hex_field(json_t *o, const char *key, uint8_t *out, size_t cap, size_t *len)
{
	json_t *v = json_object_get(o, key);
	const char *s = json_is_string(v) ? json_string_value(v) : "";
	size_t n = strlen(s);

	if (n % 2 || n / 2 > cap || (n && hex_decode(s, out, n / 2) != (long)(n / 2)))
		return false;
	if (len)
		*len = n / 2;
	return true;
}

static long int_field(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_integer(v) ? (long)json_integer_value(v) : 0;
}

static enum ec_status step_load(const char *text, struct step *s, struct ec_error *err)
{
	json_error_t je;
	json_t *o = json_loads(text ? text : "{}", 0, &je);
	size_t n;

	memset(s, 0, sizeof(*s));
	if (!json_is_object(o)) {
		json_decref(o);
		return ec_error_set(err, EC_ERR_FORMAT, "a session's state in the database is damaged.");
	}
	json_t *ph = json_object_get(o, "phase");
	for (size_t i = 0; i < sizeof(phase_names) / sizeof(phase_names[0]); i++)
		if (json_is_string(ph) && strcmp(json_string_value(ph), phase_names[i]) == 0)
			s->phase = (enum phase)i;
	bool ok = hex_field(o, "hc", s->host_challenge, sizeof(s->host_challenge), NULL) &&
		  hex_field(o, "iu", s->iu, sizeof(s->iu), &s->iu_len) &&
		  hex_field(o, "mc", s->mac_chain, sizeof(s->mac_chain), &n);
	s->authenticated = json_is_true(json_object_get(o, "auth"));
	s->level = (uint8_t)int_field(o, "lvl");
	s->counter = (uint32_t)int_field(o, "ctr");
	s->tu = (int)int_field(o, "tu");
	s->credits = (int)int_field(o, "cr");
	json_t *b = json_object_get(o, "b");
	if (json_is_object(b)) {
		s->b.ea = json_is_true(json_object_get(b, "ea"));
		s->b.probe = (enum probe)int_field(b, "probe");
		s->b.first = int_field(b, "first");
		s->b.count = int_field(b, "count");
	}
	json_decref(o);
	if (!ok)
		return ec_error_set(err, EC_ERR_FORMAT, "a session's state in the database is damaged.");
	return EC_OK;
}

static char *step_save(const struct step *s)
{
	char hc[2 * SCP03_CHALLENGE_LEN + 1], iu[2 * sizeof(s->iu) + 1], mc[33];

	hex_encode(s->host_challenge, sizeof(s->host_challenge), hc);
	hex_encode(s->iu, s->iu_len, iu);
	hex_encode(s->mac_chain, sizeof(s->mac_chain), mc);
	json_t *o = json_pack("{s:s, s:s, s:s, s:b, s:i, s:s, s:I, s:{s:b, s:i, s:I, s:I}, s:i, s:i}",
			      "phase", phase_names[s->phase], "hc", hc, "iu", iu, "auth",
			      s->authenticated, "lvl", s->level, "mc", mc, "ctr", (json_int_t)s->counter,
			      "b", "ea", s->b.ea, "probe", (int)s->b.probe, "first",
			      (json_int_t)s->b.first, "count", (json_int_t)s->b.count, "tu", s->tu,
			      "cr", s->credits);
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return text;
}

/* ---- the secure channel ---- */

static enum ec_status card_keys(const struct ota_config *cfg, const struct scp03_init_response *rsp,
				struct scp03_keys *out, struct ec_error *err)
{
	struct ec_gp_keys k;

	memset(out, 0, sizeof(*out));
	if (cfg->issuer && rsp->kvn == EC_ISSUER_ISD_KVN) {
		enum ec_status s = ec_issuer_card_keys(cfg->issuer, rsp->kdd, &k, err);
		if (s != EC_OK)
			return s;
	} else if (cfg->test_keys) {
		ec_gp_default_keys(&k, rsp->kvn);
	} else {
		return ec_error_set(err, EC_ERR_CHECK,
				    "the card offers key version %02X, which is not the issuer's (%02X); this server does not use the public test keys unless started with --test-keys.",
				    rsp->kvn, EC_ISSUER_ISD_KVN);
	}
	memcpy(out->enc, k.enc, sizeof(out->enc));
	memcpy(out->mac, k.mac, sizeof(out->mac));
	memcpy(out->dek, k.dek, sizeof(out->dek));
	out->len = k.len;
	out->kvn = rsp->kvn;
	crypto_wipe(&k, sizeof(k));
	return EC_OK;
}

/*
 * Bring the host's side of the channel to where the step says it is: the
 * session keys from the card's INITIALIZE UPDATE answer, then EXTERNAL
 * AUTHENTICATE rebuilt (it is deterministic) and the MAC chain and counter
 * of the last command. The EXTERNAL AUTHENTICATE command goes to ea when
 * given.
 */
static enum ec_status channel_restore(const struct ota_config *cfg, const struct step *stp,
				      bool authenticate, uint8_t level, struct scp03_session *s,
				      uint8_t *ea, size_t ea_cap, size_t *ea_len,
				      struct ec_error *err)
{
	struct scp03_init_response rsp;
	struct scp03_keys keys;
	uint8_t iu_cmd[SCP03_INIT_UPDATE_CMD_LEN], ea_buf[64];
	size_t n;

	memset(s, 0, sizeof(*s));
	if (scp03_parse_initialize_update_response(stp->iu, stp->iu_len, &rsp) != SCP03_OK)
		return ec_error_set(err, EC_ERR_FORMAT,
				    "the card's answer to INITIALIZE UPDATE is not an SCP03 one.");
	if (scp03_host_initialize_update(s, CLA_GP, rsp.kvn, stp->host_challenge, iu_cmd,
					 sizeof(iu_cmd), &n) != SCP03_OK)
		return ec_error_set(err, EC_ERR_ARG, "INITIALIZE UPDATE could not be rebuilt.");
	enum ec_status st = card_keys(cfg, &rsp, &keys, err);
	if (st != EC_OK)
		return st;
	enum scp03_status ss = scp03_host_check_card(s, &keys, &rsp);
	crypto_wipe(&keys, sizeof(keys));
	if (ss != SCP03_OK)
		return ec_error_set(err, EC_ERR_CHECK,
				    "the card's cryptogram does not match its keys: the card is not one of this issuer's, or its answer was altered.");
	if (!authenticate)
		return EC_OK;
	if (scp03_host_external_authenticate(s, level, ea ? ea : ea_buf, ea ? ea_cap : sizeof(ea_buf),
					     ea_len ? ea_len : &n) != SCP03_OK)
		return ec_error_set(err, EC_ERR_ARG,
				    "EXTERNAL AUTHENTICATE at level %02X could not be built (the card's \"i\" is %02X).",
				    level, s->i_param);
	return EC_OK;
}

/*
 * PUT KEY of the card's own key set (the issuer's master keys diversified
 * with its KDD, key version 01) in place of the set it used in this
 * session, encrypted under that set's DEK; expect gets what the card must
 * answer: the new version and the three check values.
 */
static enum ec_status put_keys_command(const struct ota_config *cfg, const struct step *stp,
				       uint8_t *out, size_t cap, size_t *len, uint8_t expect[10],
				       struct ec_error *err)
{
	struct scp03_init_response rsp;
	struct scp03_keys current;
	struct ec_gp_keys own;
	uint8_t kcv[3][3];

	if (!cfg->issuer)
		return ec_error_set(err, EC_ERR_ARG,
				    "put-keys needs the issuer's keys: start the server with --issuer DIR.");
	if (scp03_parse_initialize_update_response(stp->iu, stp->iu_len, &rsp) != SCP03_OK)
		return ec_error_set(err, EC_ERR_FORMAT,
				    "the card's answer to INITIALIZE UPDATE is not an SCP03 one.");
	enum ec_status st = card_keys(cfg, &rsp, &current, err);
	if (st == EC_OK)
		st = ec_issuer_card_keys(cfg->issuer, rsp.kdd, &own, err);
	if (st == EC_OK) {
		st = ec_gp_cmd_put_key_aes(CLA_GP, &own, current.dek, current.len, rsp.kvn, out, cap,
					   len, kcv);
		if (st != EC_OK)
			ec_error_set(err, st, "PUT KEY could not be built.");
	}
	crypto_wipe(&current, sizeof(current));
	crypto_wipe(&own, sizeof(own));
	expect[0] = EC_ISSUER_ISD_KVN;
	memcpy(expect + 1, kcv, sizeof(kcv));
	return st;
}

/* ---- batches ---- */

struct batch_result {
	size_t sent;
	bool incomplete;	/* a command without an answer */
	bool check_failed;	/* an answer failed its MAC check */
	bool ea_refused;
	uint16_t ea_sw;
	long job_ok;		/* job commands answered 9000 */
	bool job_refused;
	uint16_t job_sw;
	bool probe_answered;
	uint16_t probe_sw;
	uint8_t probe_data[258];
	size_t probe_len;
	size_t load_blocks;	/* LOAD commands in the batch */
	/* a personalize job: the card's key pair, its seal */
	bool perso_have[2];
	uint8_t perso_data[2][WALLET_KEY_PAIR_RESPONSE_LEN];
	size_t perso_len[2];
};

static enum ec_status probe_command(const struct prog *p, enum probe probe, uint8_t *out,
				    size_t cap, size_t *len)
{
	switch (probe) {
	case PROBE_DF70:
		return ec_gp_cmd_get_data(CLA_GP, GP_TAG_LOAD_PROGRESS, out, cap, len);
	case PROBE_LOAD_FILE:
		return ec_gp_cmd_get_status_aid(CLA_GP, GP_STATUS_LOAD_FILES, p->cap->package.aid.bytes,
						p->cap->package.aid.len, out, cap, len);
	case PROBE_APP: {
		const struct ec_gp_aid *a = p->inst.aid.len ? &p->inst.aid : &p->inst.module;
		return ec_gp_cmd_get_status_aid(CLA_GP, GP_STATUS_APPS, a->bytes, a->len, out, cap, len);
	}
	default:
		return EC_ERR_ARG;
	}
}

/*
 * Build a batch (answers NULL: the wrapped commands go to out) or check
 * the answers to one (out NULL), with the channel as it was before it.
 */
static enum ec_status run_batch(const struct ota_config *cfg, const struct step *stp,
				const struct prog *p, const struct batch *b,
				const struct seram_apdu_list *answers, struct seram_apdu_list *out,
				struct scp03_session *s, struct batch_result *r, struct ec_error *err)
{
	uint8_t plain[EC_GP_CMD_MAX], wrapped[EC_GP_CMD_MAX + 32], clear[300];
	size_t plain_len, wrapped_len, clear_len, k = 0;
	enum ec_status st;

	memset(r, 0, sizeof(*r));
	st = channel_restore(cfg, stp, b->ea || stp->authenticated, b->ea ? p->level : stp->level, s,
			     wrapped, sizeof(wrapped), &wrapped_len, err);
	if (st != EC_OK)
		return st;
	if (!b->ea) {
		memcpy(s->mac_chain, stp->mac_chain, sizeof(s->mac_chain));
		s->enc_counter = stp->counter;
	}
	size_t total = (b->ea ? 1 : 0) + (size_t)b->count + (b->probe != PROBE_NONE ? 1 : 0);
	uint8_t keys_cmd[EC_GP_CMD_MAX], expect[10];
	size_t keys_len = 0;
	bool keys_in_batch = p->kind == PROG_PUT_KEYS ||
			     (p->kind == PROG_PERSO && b->first + b->count > PERSO_PUT_KEY);
	if (keys_in_batch && b->count > 0 &&
	    (st = put_keys_command(cfg, stp, keys_cmd, sizeof(keys_cmd), &keys_len, expect, err)) != EC_OK)
		return st;
	struct scp03_keys current;
	memset(&current, 0, sizeof(current));
	if (p->kind == PROG_PERSO && b->count > 0) {
		struct scp03_init_response rsp;
		if (!cfg->issuer)
			return ec_error_set(err, EC_ERR_ARG,
					    "issuing a card needs the issuer's keys: start the server with --issuer DIR.");
		if (scp03_parse_initialize_update_response(stp->iu, stp->iu_len, &rsp) != SCP03_OK)
			return ec_error_set(err, EC_ERR_FORMAT,
					    "the card's answer to INITIALIZE UPDATE is not an SCP03 one.");
		if ((st = card_keys(cfg, &rsp, &current, err)) != EC_OK)
			return st;
	}
	for (k = 0; k < total; k++) {
		bool is_ea = b->ea && k == 0;
		size_t job_index = (size_t)b->first + k - (b->ea ? 1 : 0);
		bool is_probe = !is_ea && job_index >= (size_t)(b->first + b->count);

		if (!is_ea) {
			if (is_probe) {
				st = probe_command(p, b->probe, plain, sizeof(plain), &plain_len);
			} else if (p->kind == PROG_PUT_KEYS ||
				   (p->kind == PROG_PERSO && job_index == PERSO_PUT_KEY)) {
				memcpy(plain, keys_cmd, keys_len);
				plain_len = keys_len;
				st = EC_OK;
			} else if (p->kind == PROG_PERSO) {
				st = perso_command(cfg->issuer, current.dek, current.len, &p->perso, p->name,
						   p->email, job_index, plain, sizeof(plain), &plain_len, err);
			} else {
				st = prog_build(p, job_index, plain, sizeof(plain), &plain_len);
			}
			if (st != EC_OK) {
				crypto_wipe(&current, sizeof(current));
				crypto_wipe(plain, sizeof(plain));
				return ec_error_set(err, st, "a command of the job could not be built.");
			}
			enum scp03_status ws = scp03_host_wrap_command(s, plain, plain_len, wrapped,
								       sizeof(wrapped), &wrapped_len);
			crypto_wipe(plain, sizeof(plain));
			if (ws != SCP03_OK) {
				crypto_wipe(&current, sizeof(current));
				return ec_error_set(err, EC_ERR_ARG,
						    "a command of the job does not fit the secure channel.");
			}
			if (!is_probe && prog_is_load_block(p, job_index))
				r->load_blocks++;
		}
		r->sent++;
		if (out) {
			if (seram_apdu_list_add(out, wrapped, wrapped_len) != EC_OK) {
				crypto_wipe(&current, sizeof(current));
				return ec_error_set(err, EC_ERR_ARG, "out of memory building an order.");
			}
			continue;
		}
		if (!answers || k >= answers->count || answers->items[k].len < 2) {
			r->incomplete = true;
			break;
		}
		const struct seram_apdu *a = &answers->items[k];
		uint16_t sw = (uint16_t)(a->bytes[a->len - 2] << 8 | a->bytes[a->len - 1]);
		if (is_ea) {
			/* EXTERNAL AUTHENTICATE's answer is a status word. */
			if (a->len != 2 || sw != SW_OK) {
				r->ea_refused = true;
				r->ea_sw = sw;
				break;
			}
			continue;
		}
		if (a->len > sizeof(wrapped) ||
		    scp03_host_unwrap_response(s, a->bytes, a->len, clear, sizeof(clear), &clear_len) != SCP03_OK) {
			r->check_failed = true;
			break;
		}
		sw = (uint16_t)(clear[clear_len - 2] << 8 | clear[clear_len - 1]);
		if (is_probe) {
			r->probe_answered = true;
			r->probe_sw = sw;
			r->probe_len = clear_len - 2 < sizeof(r->probe_data) ? clear_len - 2
									       : sizeof(r->probe_data);
			memcpy(r->probe_data, clear, r->probe_len);
			break;
		}
		if (sw != SW_OK) {
			r->job_refused = true;
			r->job_sw = sw;
			break;
		}
		/* PUT KEY: the card names the new set and its check values. */
		if ((p->kind == PROG_PUT_KEYS || (p->kind == PROG_PERSO && job_index == PERSO_PUT_KEY)) &&
		    (clear_len != 2 + sizeof(expect) || memcmp(clear, expect, sizeof(expect)) != 0)) {
			r->check_failed = true;
			break;
		}
		/* Personalization: the answers the issuer's next steps need. */
		if (p->kind == PROG_PERSO && (job_index == PERSO_KEYGEN || job_index == PERSO_SEAL)) {
			int slot = job_index == PERSO_SEAL;
			r->perso_have[slot] = true;
			r->perso_len[slot] = clear_len - 2 < sizeof(r->perso_data[slot])
						     ? clear_len - 2 : sizeof(r->perso_data[slot]);
			memcpy(r->perso_data[slot], clear, r->perso_len[slot]);
		}
		r->job_ok++;
	}
	crypto_wipe(&current, sizeof(current));
	return EC_OK;
}

/* ---- orders ---- */

/* Copy text, cut to fit. */
static void put_text(char *dst, size_t cap, const char *src)
{
	size_t n = strnlen(src ? src : "", cap - 1);
	memcpy(dst, src ? src : "", n);
	dst[n] = '\0';
}


struct ctx {
	struct store *st;
	const struct ota_config *cfg;
	struct db_session *sess;
	struct step step;
	struct seram_order order;
	struct ota_outcome *out;
	struct db_job job;
	bool have_job;
	struct prog prog;
	bool have_prog;
};

static size_t batch_limit_commands(const struct ota_config *cfg)
{
	return cfg->max_batch_commands ? cfg->max_batch_commands : DEFAULT_BATCH_COMMANDS;
}

static size_t batch_limit_bytes(const struct ota_config *cfg)
{
	return cfg->max_batch_bytes ? cfg->max_batch_bytes : DEFAULT_BATCH_BYTES;
}

/* How many of the job's commands from first go in one order. */
static long batch_count(const struct ctx *c, long first)
{
	size_t room_cmds = batch_limit_commands(c->cfg), room_bytes = batch_limit_bytes(c->cfg);
	uint8_t buf[EC_GP_CMD_MAX];
	size_t len;
	long n = 0;

	if (c->prog.kind == PROG_PERSO)
		return (long)perso_stage_end((size_t)first) - first;
	for (long i = first; i < (long)c->prog.count; i++) {
		if (prog_build(&c->prog, (size_t)i, buf, sizeof(buf), &len) != EC_OK)
			break;
		len += 8 + 16;	/* MAC and padding */
		if ((size_t)n + 1 > room_cmds || (n > 0 && len > room_bytes))
			break;
		room_bytes = len > room_bytes ? 0 : room_bytes - len;
		n++;
	}
	return n ? n : 1;
}

static void end_session(struct ctx *c, bool failed, const char *message)
{
	seram_order_add(&c->order, SERAM_CMD_STOP);
	c->step.phase = PHASE_ENDED;
	snprintf(c->sess->state, sizeof(c->sess->state), "%s", failed ? "failed" : "done");
	c->out->session_ended = true;
	c->out->session_failed = failed;
	put_text(c->out->message, sizeof(c->out->message), message);
}

/* The session's job, read with it (db_session_get_locked), becomes c's. */
static enum ec_status take_job(struct ctx *c, struct db_job *job, bool have, struct ec_error *err)
{
	if (!have)
		return ec_error_set(err, EC_ERR_NOT_FOUND, "there is no job %lld.", c->sess->job);
	c->job = *job;
	c->have_job = true;
	c->out->job = job->id;
	enum ec_status s = prog_open(c->st, &c->job, &c->prog, err);
	if (s == EC_OK)
		c->have_prog = true;
	return s;
}

/* "job/ID/KIND/WHAT[/TEXT]" for the agent (see agent.h). */
static void notify(struct ctx *c, const char *what, const char *text)
{
	char line[DB_MESSAGE_MAX + 64];
	struct seram_command *n = seram_order_add(&c->order, SERAM_CMD_NOTIFICATION);

	snprintf(line, sizeof(line), "job/%lld/%s/%s%s%s", c->job.id, c->job.kind, what,
		 text ? "/" : "", text ? text : "");
	if (n)
		n->notification = strdup(line);
}

static void job_finish(struct ctx *c, const char *state, const char *text)
{
	put_text(c->job.state, sizeof(c->job.state), state);
	put_text(c->job.message, sizeof(c->job.message), text);
	if (c->have_prog && c->prog.kind == PROG_PERSO && c->prog.order &&
	    strcmp(state, DB_JOB_FAILED) == 0) {
		char order[24], now[24];
		struct ec_error ignored;
		snprintf(order, sizeof(order), "%lld", c->prog.order);
		snprintf(now, sizeof(now), "%lld", db_now_ms());
		const char *p[] = { order, ORDER_FAILED, now };
		/* In the report's transaction; a failure shows at its commit. */
		store_write(c->st, "UPDATE card_orders SET state = $2, updated = $3 WHERE id = $1", p,
			    3, &ignored);
	}
	if (strcmp(state, DB_JOB_DONE) == 0) {
		c->out->jobs_done++;
		notify(c, "done", NULL);
	} else {
		c->out->jobs_failed++;
		notify(c, "failed", c->job.message);
	}
}

/* A top-up whose CREDIT went out unconfirmed: only the card can end it. */
static bool topup_in_doubt(const struct db_job *j)
{
	struct topup t;
	struct ec_error ignored;

	return strcmp(j->kind, "top-up") == 0 && topup_load(j->progress, 0, &t, &ignored) == EC_OK &&
	       t.authorised && !t.done;
}

/* A top-up that ended without its money on the card gives the money held
 * for it back; one in doubt keeps it in flight for the books to settle. */
static enum ec_status topup_refund(struct store *st, const struct db_job *j, struct ec_error *err)
{
	char hold[LEDGER_REF_MAX], refund[LEDGER_REF_MAX];

	if (strcmp(j->kind, "top-up") != 0 || strcmp(j->state, DB_JOB_DONE) == 0 ||
	    db_job_pending(j) || topup_in_doubt(j))
		return EC_OK;
	snprintf(hold, sizeof(hold), "top-up/%lld/hold", j->id);
	snprintf(refund, sizeof(refund), "top-up/%lld/refund", j->id);
	return ledger_reverse(st, hold, refund, NULL, err);
}

/* A session ended by an error that another contact may not repeat. */
static void job_setback(struct ctx *c, const char *message)
{
	c->job.failures++;
	if (c->job.failures >= OTA_MAX_FAILURES && !topup_in_doubt(&c->job)) {
		char text[DB_MESSAGE_MAX];
		snprintf(text, sizeof(text), "given up after %d failed sessions; the last: ",
			 OTA_MAX_FAILURES);
		size_t n = strlen(text);
		put_text(text + n, sizeof(text) - n, message);
		job_finish(c, DB_JOB_FAILED, text);
	} else {
		put_text(c->job.message, sizeof(c->job.message), message);
		notify(c, "interrupted", message);
	}
	end_session(c, true, message);
}

/* ---- top-up jobs (topup.h) ---- */

/* CREDIT commands one session sends before it leaves the job to another
 * contact (a relay that alters each one gets no further). */
#define TOPUP_CREDITS_PER_SESSION 3

static enum ec_status topup_state(const struct ctx *c, struct topup *t, struct ec_error *err)
{
	const struct ec_issuer *issuer = c->cfg->issuer;
	uint32_t amount;

	if (!issuer)
		return ec_error_set(err, EC_ERR_ARG,
				    "a top-up needs the issuer's keys: start the server with --issuer DIR.");
	enum ec_amount_status as = ec_amount_parse(c->prog.amount, issuer->currency, &amount);
	if (as == EC_AMOUNT_OK && amount == 0)
		return ec_error_set(err, EC_ERR_ARG, "the amount to load must be more than zero.");
	if (as != EC_AMOUNT_OK)
		return ec_error_set(err, EC_ERR_ARG, "the amount \"%s\" cannot be loaded: %s.",
				    c->prog.amount, ec_amount_strerror(as));
	return topup_load(c->job.progress, amount, t, err);
}

/* Put a top-up's order out; a CREDIT is written down as authorised first. */
static enum ec_status topup_send(struct ctx *c, const struct topup *t, enum topup_order what,
				 struct ec_error *err)
{
	struct seram_command *cmd = seram_order_add(&c->order, SERAM_CMD_SE_RAM);
	enum ec_status s;

	if (!cmd)
		return ec_error_set(err, EC_ERR_ARG, "out of memory building an order.");
	if (what == TU_CREDIT) {
		char *progress = topup_save(t);
		if (!progress)
			return ec_error_set(err, EC_ERR_ARG, "out of memory saving a top-up.");
		free(c->job.progress);
		c->job.progress = progress;
		c->job.sent_end = 1;
		c->step.credits++;
		s = topup_credit(c->cfg->issuer, t, &cmd->apdus, err);
	} else {
		s = topup_ask(t, what == TU_ASK_LAST, &cmd->apdus);
		if (s != EC_OK)
			ec_error_set(err, s, "out of memory building an order.");
	}
	if (s != EC_OK)
		return s;
	c->step.phase = PHASE_TOPUP;
	c->step.tu = what;
	memset(&c->step.b, 0, sizeof(c->step.b));
	c->step.b.count = (long)cmd->apdus.count;
	c->out->apdus_out += cmd->apdus.count;
	return EC_OK;
}

/* A session's first order for a top-up: where does the card stand. */
static enum ec_status topup_start(struct ctx *c, struct ec_error *err)
{
	struct topup t;
	struct ec_error why;

	memset(&c->step, 0, sizeof(c->step));
	if (topup_state(c, &t, &why) != EC_OK) {
		job_finish(c, DB_JOB_FAILED, why.text);
		end_session(c, true, why.text);
		return EC_OK;
	}
	/* The money is held before the card is asked: from the account that
	 * pays to the loads in flight (once, whatever the sessions). */
	char ref[LEDGER_REF_MAX];
	snprintf(ref, sizeof(ref), "top-up/%lld/hold", c->job.id);
	struct ledger_line hold[2] = { { c->prog.from, -(long long)t.amount },
				       { LEDGER_IN_FLIGHT, (long long)t.amount } };
	enum ec_status s = ledger_post(c->st, ref, hold, 2, NULL, &why);
	if (s == EC_ERR_CHECK) {
		job_finish(c, DB_JOB_FAILED, why.text);
		end_session(c, true, why.text);
		return EC_OK;
	}
	if (s != EC_OK)
		return ec_error_set(err, s, "%s", why.text);
	return topup_send(c, &t, t.authorised ? TU_ASK_LAST : TU_ASK, err);
}

/* Open a secure channel for the card's next job, or stop. */
static enum ec_status next_job(struct ctx *c, bool start, struct ec_error *err)
{
	enum ec_status s;

	if (c->have_prog)
		prog_close(&c->prog);
	if (c->have_job)
		db_job_free(&c->job);
	c->have_prog = c->have_job = false;
	if (start) {
		seram_order_add(&c->order, SERAM_CMD_START);
		c->order.has_se = true;
		snprintf(c->order.se.type, sizeof(c->order.se.type), "%s", c->sess->se_type);
		snprintf(c->order.se.id, sizeof(c->order.se.id), "%s", c->sess->card);
	}
	s = db_job_next(c->st, c->sess->card, true, &c->job, err);
	if (s == EC_ERR_NOT_FOUND) {
		end_session(c, false, c->out->jobs_done ? "all jobs done" : "no job for this card");
		return EC_OK;
	}
	if (s != EC_OK)
		return s;
	c->have_job = true;
	c->out->job = c->job.id;
	s = prog_open(c->st, &c->job, &c->prog, err);
	if (s != EC_OK) {
		job_finish(c, DB_JOB_FAILED, err->text);
		end_session(c, true, err->text);
		return EC_OK;
	}
	c->have_prog = true;
	char count[48];
	snprintf(count, sizeof(count), "%zu/%zu", c->prog.count,
		 c->prog.kind == PROG_LOAD ? c->prog.blocks : (size_t)0);
	notify(c, "start", count);
	snprintf(c->job.state, sizeof(c->job.state), "%s", DB_JOB_RUNNING);
	c->job.sessions++;
	c->sess->job = c->job.id;
	if (c->prog.kind == PROG_TOPUP)
		return topup_start(c, err);

	uint8_t apdu[SCP03_INIT_UPDATE_CMD_LEN + 32];
	size_t len;
	struct scp03_session scp;
	struct seram_command *cmd = seram_order_add(&c->order, SERAM_CMD_SE_RAM);
	if (!cmd)
		return ec_error_set(err, EC_ERR_ARG, "out of memory building an order.");
	/* SELECT the ISD, then INITIALIZE UPDATE with a fresh challenge. */
	apdu[0] = 0x00;
	apdu[1] = 0xA4;
	apdu[2] = 0x04;
	apdu[3] = 0x00;
	apdu[4] = GP_ISD_AID_LEN;
	memcpy(apdu + 5, ec_gp_isd_aid, GP_ISD_AID_LEN);
	apdu[5 + GP_ISD_AID_LEN] = 0x00;
	seram_apdu_list_add(&cmd->apdus, apdu, 6 + GP_ISD_AID_LEN);
	memset(&c->step, 0, sizeof(c->step));
	if (crypto_random(c->step.host_challenge, sizeof(c->step.host_challenge)) != 0)
		return ec_error_set(err, EC_ERR_CRYPTO, "the random generator failed.");
	memset(&scp, 0, sizeof(scp));
	if (scp03_host_initialize_update(&scp, CLA_GP, 0, c->step.host_challenge, apdu, sizeof(apdu),
					 &len) != SCP03_OK)
		return ec_error_set(err, EC_ERR_ARG, "INITIALIZE UPDATE could not be built.");
	seram_apdu_list_add(&cmd->apdus, apdu, len);
	c->step.phase = PHASE_OPEN;
	c->out->apdus_out += 2;
	return EC_OK;
}

/* Put a batch in the order and remember it. */
static enum ec_status send_batch(struct ctx *c, const struct batch *b, struct ec_error *err)
{
	struct scp03_session scp;
	struct batch_result r;
	struct seram_command *cmd = seram_order_add(&c->order, SERAM_CMD_SE_RAM);

	if (!cmd)
		return ec_error_set(err, EC_ERR_ARG, "out of memory building an order.");
	enum ec_status s = run_batch(c->cfg, &c->step, &c->prog, b, NULL, &cmd->apdus, &scp, &r, err);
	crypto_wipe(&scp, sizeof(scp));
	if (s != EC_OK)
		return s;
	c->step.b = *b;
	c->step.phase = PHASE_BATCH;
	if (b->first + b->count > c->job.sent_end)
		c->job.sent_end = b->first + b->count;
	c->job.blocks_sent += (long)r.load_blocks;
	c->out->apdus_out += r.sent;
	return EC_OK;
}

static enum ec_status send_work(struct ctx *c, bool ea, struct ec_error *err)
{
	struct batch b = { .ea = ea, .probe = PROBE_NONE, .first = c->job.next_cmd };
	b.count = batch_count(c, b.first);
	return send_batch(c, &b, err);
}

static enum ec_status send_probe(struct ctx *c, bool ea, enum probe probe, struct ec_error *err)
{
	struct batch b = { .ea = ea, .probe = probe, .first = c->job.next_cmd, .count = 0 };
	return send_batch(c, &b, err);
}

/* The job is done (what says what it did): go on with the card's next one. */
static enum ec_status job_done(struct ctx *c, const char *what, struct ec_error *err)
{
	char summary[DB_MESSAGE_MAX];

	int n = snprintf(summary, sizeof(summary), "%sdone in %ld session%s, %ld exchanges", what,
			 c->job.sessions, c->job.sessions == 1 ? "" : "s", c->job.exchanges);
	if (c->prog.kind == PROG_LOAD && n > 0 && (size_t)n < sizeof(summary))
		snprintf(summary + n, sizeof(summary) - (size_t)n, ", %ld LOAD blocks sent",
			 c->job.blocks_sent);
	job_finish(c, DB_JOB_DONE, summary);
	c->job.next_cmd = (long)c->prog.count;
	c->job.failures = 0;
	enum ec_status s = db_job_save(c->st, &c->job, err);
	if (s != EC_OK)
		return s;
	return next_job(c, false, err);
}

/* A card issued: known to the centre as its holder's, its order filled. */
static enum ec_status perso_issued(struct ctx *c, struct ec_error *err)
{
	char serial[2 * PURSE_SERIAL_LEN + 1], cert[2 * PURSE_CERT_LEN + 1], order[24], now[24];
	const struct perso_progress *pp = &c->prog.perso;

	hex_encode(pp->serial, PURSE_SERIAL_LEN, serial);
	hex_encode(pp->cert, PURSE_CERT_LEN, cert);
	enum ec_status s = cards_add(c->st, serial, c->sess->card, cert, c->prog.holder, err);
	if (s != EC_OK || !c->prog.order)
		return s;
	snprintf(order, sizeof(order), "%lld", c->prog.order);
	snprintf(now, sizeof(now), "%lld", db_now_ms());
	const char *p[] = { order, ORDER_ISSUED, serial, now };
	return store_write(c->st, "UPDATE card_orders SET state = $2, serial = $3, updated = $4"
				  " WHERE id = $1", p, 4, err);
}

/* The job is at next_cmd == count. */
static enum ec_status job_complete(struct ctx *c, struct ec_error *err)
{
	if (c->prog.kind == PROG_PERSO) {
		char what[120];
		enum ec_status s = perso_issued(c, err);
		if (s != EC_OK)
			return s;
		snprintf(what, sizeof(what), "card ");
		hex_encode(c->prog.perso.serial, PURSE_SERIAL_LEN, what + 5);
		strcat(what, " issued; ");
		return job_done(c, what, err);
	}
	return job_done(c, "", err);
}

/* What the answer to a probe says about where the job goes on. */
static enum ec_status after_probe(struct ctx *c, const struct batch_result *r, struct ec_error *err)
{
	const struct prog *p = &c->prog;
	long install_at = 1 + (long)p->blocks;

	if (c->step.b.probe == PROBE_DF70) {
		struct ec_gp_load_progress lp;
		size_t first;
		if (r->probe_sw == SW_OK &&
		    ec_gp_parse_load_progress(r->probe_data, r->probe_len, &lp) == EC_OK &&
		    ec_gp_load_resume_point(p->cap, p->block_size, p->blocks, &lp, &first)) {
			c->job.next_cmd = 1 + (long)first;
			return send_work(c, false, err);
		}
		/* No load of ours in progress: the last block may have gone
		 * through unreported; otherwise start over. */
		if (c->job.sent_end > install_at - 1)
			return send_probe(c, false, PROBE_LOAD_FILE, err);
		c->job.next_cmd = 0;
		return send_work(c, false, err);
	}
	if (c->step.b.probe == PROBE_LOAD_FILE) {
		bool present = r->probe_sw == SW_OK && r->probe_len > 0;
		if (!present) {
			c->job.next_cmd = 0;
			return send_work(c, false, err);
		}
		c->job.next_cmd = install_at;
		if (!p->install)
			return job_complete(c, err);
		if (c->job.sent_end > install_at)
			return send_probe(c, false, PROBE_APP, err);
		return send_work(c, false, err);
	}
	/* PROBE_APP */
	if (r->probe_sw == SW_OK && r->probe_len > 0) {
		c->job.next_cmd = (long)p->count;
		return job_complete(c, err);
	}
	return send_work(c, false, err);
}

static enum ec_status on_topup(struct ctx *c, const struct seram_report *rep, struct ec_error *err)
{
	const struct seram_apdu_list *a = rep->count ? &rep->responses[0] : NULL;
	const struct ec_issuer *issuer = c->cfg->issuer;
	char text[DB_MESSAGE_MAX], amount[EC_AMOUNT_TEXT_MAX], balance[EC_AMOUNT_TEXT_MAX];
	struct ec_error why;
	struct topup t;
	enum topup_verdict v;

	if (topup_state(c, &t, &why) != EC_OK) {
		job_setback(c, why.text);
		return EC_OK;
	}
	why.text[0] = '\0';
	if (c->step.tu == TU_CREDIT)
		v = topup_judge_credit(issuer, &t, a, &why);
	else
		v = topup_judge_ask(issuer, c->sess->card, &t, c->step.tu == TU_ASK_LAST, a, &why);
	switch (v) {
	case TOPUP_CREDITED: {
		/* Proven on the card: from the loads in flight to the card. */
		char ref[LEDGER_REF_MAX], account[LEDGER_NAME_MAX];
		snprintf(ref, sizeof(ref), "top-up/%lld/credit", c->job.id);
		snprintf(account, sizeof(account), "card:");
		hex_encode(t.load.serial, PURSE_SERIAL_LEN, account + 5);
		struct ledger_line credit[2] = { { LEDGER_IN_FLIGHT, -(long long)t.amount },
						 { account, (long long)t.amount } };
		enum ec_status s = ledger_post(c->st, ref, credit, 2, NULL, err);
		if (s == EC_OK)
			s = cards_load_booked(c->st, account + 5, t.counter, t.amount, c->job.id, err);
		if (s == EC_OK)
			s = cards_reported(c->st, account + 5, c->sess->card, t.balance, t.counter, err);
		if (s != EC_OK)
			return s;
		char *progress = topup_save(&t);
		if (!progress)
			return ec_error_set(err, EC_ERR_ARG, "out of memory saving a top-up.");
		free(c->job.progress);
		c->job.progress = progress;
		snprintf(text, sizeof(text), "credited %s, balance %s at counter %lu; ",
			 ec_amount_format(t.amount, issuer->currency, amount, sizeof(amount)),
			 ec_amount_format(t.balance, issuer->currency, balance, sizeof(balance)),
			 (unsigned long)t.counter);
		return job_done(c, text, err);
	}
	case TOPUP_AUTHORISE: {
		/* The card's balance and counter, proven by its S1. */
		char serial[CARD_SERIAL_HEX];
		hex_encode(t.load.serial, PURSE_SERIAL_LEN, serial);
		enum ec_status s = cards_reported(c->st, serial, c->sess->card, t.load.balance,
						  t.load.counter, err);
		if (s != EC_OK)
			return s;
		if (c->step.credits >= TOPUP_CREDITS_PER_SESSION) {
			job_setback(c, "the card refused CREDIT again and again: the relay alters it");
			return EC_OK;
		}
		return topup_send(c, &t, TU_CREDIT, err);
	}
	case TOPUP_ASK_AGAIN:
		return topup_send(c, &t, TU_ASK, err);
	case TOPUP_REFUSED:
	case TOPUP_UNRESOLVED:
		job_finish(c, DB_JOB_FAILED, why.text);
		end_session(c, true, why.text);
		return EC_OK;
	case TOPUP_WAIT:
	default:
		/* CREDIT refused or unproven: ask the card where it stands. */
		if (c->step.tu == TU_CREDIT && c->step.credits < TOPUP_CREDITS_PER_SESSION)
			return topup_send(c, &t, TU_ASK_LAST, err);
		job_setback(c, why.text);
		return EC_OK;
	}
}

static void keep_channel(struct ctx *c, const struct scp03_session *scp)
{
	c->step.authenticated = true;
	c->step.level = scp->level;
	memcpy(c->step.mac_chain, scp->mac_chain, sizeof(c->step.mac_chain));
	c->step.counter = scp->enc_counter;
}

static enum ec_status on_open(struct ctx *c, const struct seram_report *rep, struct ec_error *err)
{
	const struct seram_apdu_list *a = rep->count ? &rep->responses[0] : NULL;

	if (!a || a->count < 2 || a->items[1].len < 2) {
		job_setback(c, "the card did not answer INITIALIZE UPDATE");
		return EC_OK;
	}
	const struct seram_apdu *iu = &a->items[1];
	uint16_t sw = (uint16_t)(iu->bytes[iu->len - 2] << 8 | iu->bytes[iu->len - 1]);
	if (sw != SW_OK || iu->len - 2 > sizeof(c->step.iu)) {
		char text[120];
		snprintf(text, sizeof(text), "the card refused INITIALIZE UPDATE (SW %04X)", sw);
		job_setback(c, text);
		return EC_OK;
	}
	memcpy(c->step.iu, iu->bytes, iu->len - 2);
	c->step.iu_len = iu->len - 2;
	struct scp03_session scp;
	struct ec_error why;
	enum ec_status s = channel_restore(c->cfg, &c->step, false, 0, &scp, NULL, 0, NULL, &why);
	crypto_wipe(&scp, sizeof(scp));
	if (s != EC_OK) {
		job_setback(c, why.text);
		return EC_OK;
	}
	/* The card opened with its own keys: an earlier session's PUT KEY went
	 * through, unreported. */
	if (c->prog.kind == PROG_PUT_KEYS && c->job.sent_end > 0 &&
	    c->step.iu_len > SCP03_KDD_LEN && c->step.iu[SCP03_KDD_LEN] == EC_ISSUER_ISD_KVN) {
		c->job.next_cmd = 1;
		return job_complete(c, err);
	}
	if (c->prog.kind == PROG_PERSO) {
		/* Issued already: the PUT KEY of an earlier session went through. */
		if (c->prog.perso.sealed && c->job.sent_end > PERSO_PUT_KEY &&
		    c->step.iu_len > SCP03_KDD_LEN && c->step.iu[SCP03_KDD_LEN] == EC_ISSUER_ISD_KVN) {
			c->job.next_cmd = PERSO_COMMANDS;
			return job_complete(c, err);
		}
		c->job.next_cmd = (long)perso_resume((size_t)c->job.next_cmd, &c->prog.perso);
	}
	/* A job that never went out starts at once; one that did asks the
	 * card where it stands. */
	if (c->job.sent_end == 0 || c->prog.kind != PROG_LOAD)
		return send_work(c, true, err);
	return send_probe(c, true, c->prog.kind == PROG_LOAD ? PROBE_DF70 : PROBE_NONE, err);
}

static enum ec_status on_batch(struct ctx *c, const struct seram_report *rep, struct ec_error *err)
{
	struct scp03_session scp;
	struct batch_result r;
	const struct batch *b = &c->step.b;
	const struct seram_apdu_list *a = rep->count ? &rep->responses[0] : NULL;
	char name[48], text[DB_MESSAGE_MAX];

	enum ec_status s = run_batch(c->cfg, &c->step, &c->prog, b, a, NULL, &scp, &r, err);
	if (s != EC_OK) {
		crypto_wipe(&scp, sizeof(scp));
		job_setback(c, err->text);
		return EC_OK;
	}
	bool delete_again = c->prog.kind == PROG_DELETE && c->job.sessions > 1;
	c->job.next_cmd = b->first + r.job_ok;
	if (c->prog.kind == PROG_PERSO && !r.check_failed && (r.perso_have[0] || r.perso_have[1])) {
		struct ec_error why;
		for (int k = 0; k < 2; k++) {
			if (!r.perso_have[k])
				continue;
			if (perso_answer(c->cfg->issuer, &c->prog.perso, k ? PERSO_SEAL : PERSO_KEYGEN,
					 r.perso_data[k], r.perso_len[k], &why) != EC_OK) {
				crypto_wipe(&scp, sizeof(scp));
				job_finish(c, DB_JOB_FAILED, why.text);
				end_session(c, true, why.text);
				return EC_OK;
			}
		}
		char *progress = perso_save(&c->prog.perso);
		if (!progress) {
			crypto_wipe(&scp, sizeof(scp));
			return ec_error_set(err, EC_ERR_ARG, "out of memory saving a personalization.");
		}
		free(c->job.progress);
		c->job.progress = progress;
	}
	/* The profile took its block in a session whose answer was lost. */
	bool profile_again = c->prog.kind == PROG_PERSO && r.job_refused &&
			     r.job_sw == SW_CONDITIONS && c->job.next_cmd == PERSO_PROFILE &&
			     c->job.sent_end > PERSO_PROFILE && c->job.sessions > 1;
	if (r.check_failed) {
		job_setback(c, "an answer of the card failed its MAC check: the relay altered or replayed it");
	} else if (r.ea_refused) {
		snprintf(text, sizeof(text), "the card refused EXTERNAL AUTHENTICATE (SW %04X)", r.ea_sw);
		job_setback(c, text);
	} else if (r.job_refused && delete_again && r.job_sw == SW_REF_DATA_NOT_FOUND) {
		/* An earlier session's DELETE went through unreported. */
		c->job.next_cmd = 1;
		s = job_complete(c, err);
	} else if (profile_again) {
		keep_channel(c, &scp);
		c->job.next_cmd = PERSO_PUT_KEY;
		s = send_work(c, false, err);
	} else if (r.job_refused && r.job_sw == SW_SECURITY_STATUS) {
		/* The card's MAC check failed: the command was altered on the
		 * way (the card closed the channel); another contact may not. */
		snprintf(text, sizeof(text),
			 "the card refused a command's MAC (SW 6982): the relay altered or replayed it");
		job_setback(c, text);
	} else if (r.job_refused) {
		struct ec_error why;
		ec_error_sw(&why, prog_command_name(&c->prog, (size_t)c->job.next_cmd, name, sizeof(name)),
			    r.job_sw);
		job_finish(c, DB_JOB_FAILED, why.text);
		end_session(c, true, why.text);
	} else if (r.incomplete) {
		job_setback(c, rep->error && rep->error[0] ? rep->error
			    : "the agent did not run every command (the card left or failed)");
	} else {
		keep_channel(c, &scp);
		if (b->probe != PROBE_NONE)
			s = after_probe(c, &r, err);
		else if (c->job.next_cmd >= (long)c->prog.count)
			s = job_complete(c, err);
		else
			s = send_work(c, false, err);
	}
	crypto_wipe(&scp, sizeof(scp));
	return s;
}

/* ---- requests ---- */

/*
 * Whether the report can be the answer to the last order: one answer per
 * command of its seRamCommand, or none when the agent reports a failure.
 * Anything else is refused (400) and changes nothing.
 */
static bool answers_the_order(const struct step *stp, const struct seram_report *rep,
			      struct ec_error *err)
{
	size_t want;

	switch (stp->phase) {
	case PHASE_OPEN:
		want = 2;
		break;
	case PHASE_BATCH:
		want = (stp->b.ea ? 1 : 0) + (size_t)stp->b.count + (stp->b.probe != PROBE_NONE ? 1 : 0);
		break;
	case PHASE_TOPUP:
		want = (size_t)stp->b.count;
		break;
	default:
		if (rep->count == 0)
			return true;
		ec_error_set(err, EC_ERR_FORMAT, "the report has answers, but no command was sent.");
		return false;
	}
	if (rep->count == 0 && rep->status != SERAM_PROCESSED && rep->status != SERAM_POLLING)
		return true;
	if (rep->count != 1 || rep->responses[0].count != want) {
		ec_error_set(err, EC_ERR_FORMAT,
			     "the report does not answer the last order: it sent %zu commands in one seRamCommand.",
			     want);
		return false;
	}
	return true;
}

static void ctx_free(struct ctx *c)
{
	if (c->have_prog)
		prog_close(&c->prog);
	if (c->have_job)
		db_job_free(&c->job);
	seram_order_free(&c->order);
}

int ota_handshake(struct store *st, const struct ota_config *cfg, const char *session_id,
		  const char *body, size_t len, char **answer, struct ota_outcome *out,
		  struct ec_error *err)
{
	struct seram_handshake hs;
	struct db_session sess;
	struct db_job job;
	enum ec_status s;

	(void)cfg;
	memset(out, 0, sizeof(*out));
	*answer = NULL;
	if (seram_handshake_parse(body, len, &hs, err) != EC_OK)
		return out->http_status = 400;
	if (!hs.offers_json || !hs.offers_https || !hs.offers_version) {
		ec_error_set(err, EC_ERR_ARG,
			     "the agent offers no data format, transport or version this server speaks (application/json, HTTPS, 2.0.0).");
		return out->http_status = 406;
	}
	/* The first card that has work, else the first one. */
	size_t pick = 0;
	for (size_t i = 0; i < hs.se_count && hs.se_count > 1; i++) {
		s = db_job_next(st, hs.se[i].id, false, &job, err);
		if (s == EC_OK) {
			db_job_free(&job);
			pick = i;
			break;
		}
		if (s != EC_ERR_NOT_FOUND)
			return out->http_status = 500;
	}
	memset(&sess, 0, sizeof(sess));
	snprintf(sess.id, sizeof(sess.id), "%s", session_id);
	snprintf(sess.card, sizeof(sess.card), "%s", hs.se[pick].id);
	snprintf(sess.se_type, sizeof(sess.se_type), "%s", hs.se[pick].type);
	snprintf(sess.state, sizeof(sess.state), "open");
	sess.step = (char *)"{\"phase\":\"new\"}";
	sess.created = db_now_ms();
	/* Lost in a crash of the database, the session would only be one the
	 * agent is told does not exist: it opens another. */
	s = store_begin(st, err);
	if (s == EC_OK && (s = store_relax(st, err)) == EC_OK)
		s = db_session_insert(st, &sess, err);
	/* An id used twice may be told by the COMMIT (store_write). */
	if (s == EC_OK)
		s = store_commit(st, err);
	else
		store_rollback(st);
	if (s == EC_ERR_EXISTS) {
		ec_error_set(err, EC_ERR_EXISTS, "session %s exists already: a new session needs a new id.",
			     session_id);
		return out->http_status = 409;
	}
	if (s != EC_OK)
		return out->http_status = 500;
	struct seram_handshake_response r;
	snprintf(r.transport, sizeof(r.transport), SERAM_TRANSPORT_HTTPS);
	snprintf(r.format, sizeof(r.format), SERAM_FORMAT_JSON);
	snprintf(r.version, sizeof(r.version), SERAM_VERSION);
	*answer = seram_handshake_response_encode(&r);
	out->session_started = true;
	return out->http_status = *answer ? 200 : 500;
}

int ota_report(struct store *st, const struct ota_config *cfg, const char *session_id,
	       const char *report_key, const char *body, size_t len, char **answer,
	       struct ota_outcome *out, struct ec_error *err)
{
	struct seram_report rep;
	struct db_session sess;
	struct db_job job;
	bool have_job = false;
	struct ctx c;
	enum ec_status s;
	int status = 500;

	memset(out, 0, sizeof(*out));
	memset(&c, 0, sizeof(c));
	*answer = NULL;
	if (seram_report_parse(body, len, &rep, err) != EC_OK) {
		seram_report_free(&rep);
		return out->http_status = 400;
	}
	for (size_t i = 0; i < rep.count; i++)
		out->apdus_in += rep.responses[i].count;
	if (store_begin(st, err) != EC_OK) {
		seram_report_free(&rep);
		return out->http_status = 500;
	}
	s = db_session_get_locked(st, session_id, &sess, &job, &have_job, err);
	if (s != EC_OK) {
		status = s == EC_ERR_NOT_FOUND ? 404 : 500;
		goto rollback;
	}
	/* The same report again (its order was lost on the way and the
	 * client sent it once more, with the same Idempotency-Key): the same
	 * order, nothing done twice. Without a key, reports are all new. */
	const char *key = report_key ? report_key : "";
	if (key[0] && sess.last_order && strcmp(sess.last_report, key) == 0) {
		*answer = strdup(sess.last_order);
		db_session_free(&sess);
		if (have_job)
			db_job_free(&job);
		store_rollback(st);
		seram_report_free(&rep);
		out->replayed = true;
		return out->http_status = *answer ? 200 : 500;
	}
	if (strcmp(sess.state, "open") != 0) {
		ec_error_set(err, EC_ERR_NOT_FOUND, "session %s has ended.", session_id);
		status = 404;
		db_session_free(&sess);
		goto rollback;
	}
	c.st = st;
	c.cfg = cfg;
	c.sess = &sess;
	c.out = out;
	c.order.delay = cfg->delay_ms;
	if ((s = step_load(sess.step, &c.step, err)) != EC_OK)
		goto fail;
	if (!answers_the_order(&c.step, &rep, err)) {
		status = 400;
		db_session_free(&sess);
		goto rollback;
	}
	if (c.step.phase == PHASE_NEW && have_job) {
		db_job_free(&job);	/* next_job() picks the card's job */
		have_job = false;
	}
	if (c.step.phase != PHASE_NEW && sess.job && (s = take_job(&c, &job, have_job, err)) != EC_OK) {
		if (s == EC_ERR_NOT_FOUND || !c.have_job)
			goto fail;
		/* The job's file or parameters are unusable. */
		job_finish(&c, DB_JOB_FAILED, err->text);
		end_session(&c, true, err->text);
		s = EC_OK;
	} else if (c.have_job && !db_job_pending(&c.job)) {
		/* Cancelled while this session ran. */
		end_session(&c, false, "the job was cancelled");
	} else if (c.step.phase != PHASE_NEW && rep.status != SERAM_PROCESSED &&
		   rep.status != SERAM_POLLING && rep.count == 0) {
		char text[SERAM_TEXT_MAX + 64];
		snprintf(text, sizeof(text), "the agent reported %s%s%s", seram_status_name(rep.status),
			 rep.error ? ": " : "", rep.error ? rep.error : "");
		if (c.have_job)
			job_setback(&c, text);
		else
			end_session(&c, true, text);
	} else {
		switch (c.step.phase) {
		case PHASE_NEW:
			s = next_job(&c, true, err);
			break;
		case PHASE_OPEN:
			c.job.exchanges++;
			s = on_open(&c, &rep, err);
			break;
		case PHASE_BATCH:
			c.job.exchanges++;
			s = on_batch(&c, &rep, err);
			break;
		case PHASE_TOPUP:
			c.job.exchanges++;
			s = on_topup(&c, &rep, err);
			break;
		default:
			end_session(&c, false, "the session had ended");
			break;
		}
	}
	if (s != EC_OK)
		goto fail;
	if (c.have_job && (s = topup_refund(st, &c.job, err)) != EC_OK)
		goto fail;
	if (c.have_job && (s = db_job_save(st, &c.job, err)) != EC_OK)
		goto fail;
	free(sess.step);
	sess.step = step_save(&c.step);
	sess.orders++;
	*answer = seram_order_encode(&c.order);
	free(sess.last_order);
	sess.last_order = *answer ? strdup(*answer) : NULL;
	snprintf(sess.last_report, sizeof(sess.last_report), "%s", key);
	if (!sess.step || !*answer || !sess.last_order) {
		free(*answer);
		*answer = NULL;
		s = ec_error_set(err, EC_ERR_ARG, "out of memory saving a session.");
		goto fail;
	}
	/* An order that only opens a secure channel (SELECT, INITIALIZE
	 * UPDATE), or only asks the wallet where it stands (INITIALIZE LOAD,
	 * GET LAST TRANSACTION: no S2 goes out), changes nothing the server
	 * must remember: lost in a crash of the database, with the money
	 * held for a top-up, the agent's next report would be refused and it
	 * would open another session, where the job starts again. */
	bool asks_only = c.step.phase == PHASE_OPEN ||
			 (c.step.phase == PHASE_TOPUP && c.step.tu != TU_CREDIT);
	if (asks_only && !out->jobs_done && !out->jobs_failed &&
	    (s = store_relax(st, err)) != EC_OK) {
		free(*answer);
		*answer = NULL;
		goto fail;
	}
	if ((s = db_session_save(st, &sess, err)) != EC_OK) {
		free(*answer);
		*answer = NULL;
		goto fail;
	}
	if ((s = store_commit(st, err)) != EC_OK) {
		free(*answer);
		*answer = NULL;
		status = 500;
		goto out;
	}
	status = 200;
	goto out;
fail:
	status = 500;
	if (have_job && !c.have_job)
		db_job_free(&job);
	db_session_free(&sess);
	ctx_free(&c);
	seram_report_free(&rep);
	store_rollback(st);
	memset(out, 0, sizeof(*out));
	return out->http_status = status;
rollback:
	if (have_job && !c.have_job)
		db_job_free(&job);
	store_rollback(st);
	seram_report_free(&rep);
	return out->http_status = status;
out:
	db_session_free(&sess);
	ctx_free(&c);
	seram_report_free(&rep);
	return out->http_status = status;
}

bool ota_poll_would_idle(struct store *st, const char *session_id, const char *body, size_t len)
{
	struct seram_report rep;
	struct db_session sess;
	struct db_job job;
	struct step stp;
	struct ec_error err;
	bool idle = false;

	if (seram_report_parse(body, len, &rep, &err) != EC_OK || rep.count != 0 ||
	    rep.status != SERAM_POLLING) {
		seram_report_free(&rep);
		return false;
	}
	seram_report_free(&rep);
	if (db_session_get(st, session_id, false, &sess, &err) != EC_OK)
		return false;
	if (strcmp(sess.state, "open") == 0 && step_load(sess.step, &stp, &err) == EC_OK &&
	    stp.phase == PHASE_NEW) {
		enum ec_status s = db_job_next(st, sess.card, false, &job, &err);
		if (s == EC_OK)
			db_job_free(&job);
		idle = s == EC_ERR_NOT_FOUND;
	}
	db_session_free(&sess);
	return idle;
}

/* ---- queueing ---- */

static bool level_ok(uint8_t level)
{
	return level == 0x03 || level == 0x13 || level == 0x33;
}

static enum ec_status add_job(struct store *st, struct db_job *job, json_t *params, long long *id,
			      struct ec_error *err)
{
	job->params = params ? json_dumps(params, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(params);
	if (!job->params)
		return ec_error_set(err, EC_ERR_ARG, "out of memory queueing a job.");
	enum ec_status s = db_job_add(st, job, err);
	*id = job->id;
	db_job_free(job);
	return s;
}

static void put_aid(json_t *o, const char *key, const uint8_t *aid, size_t len)
{
	char hex[2 * EC_GP_AID_MAX + 1];
	hex_encode(aid, len, hex);
	json_object_set_new(o, key, json_string(hex));
}

enum ec_status ota_add_load(struct store *st, const char *card, const struct ota_load_args *a,
			    long long *id, struct ec_error *err)
{
	struct ec_gp_session shape;
	struct ec_cap cap;
	struct db_job job;
	uint8_t level = a->level ? a->level : 0x03;
	enum ec_status s;

	if (!level_ok(level))
		return ec_error_set(err, EC_ERR_ARG,
				    "a load runs at security level 03, 13 or 33 (C-MAC and C-DECRYPTION at least).");
	if ((a->install_len && a->install_len > EC_GP_AID_MAX) || a->instance_len > EC_GP_AID_MAX ||
	    (a->instance_len && !a->install_len))
		return ec_error_set(err, EC_ERR_ARG,
				    "--install takes the module's AID (1 to 16 bytes) and --instance comes with it.");
	s = ec_cap_open(a->cap_path, &cap, err);
	if (s != EC_OK)
		return s;
	memset(&shape, 0, sizeof(shape));
	shape.scp = EC_GP_SCP03;
	shape.level = level;
	shape.open = true;
	size_t block = ec_gp_block_size(&shape, 0);
	memset(&job, 0, sizeof(job));
	snprintf(job.card, sizeof(job.card), "%s", card);
	snprintf(job.kind, sizeof(job.kind), "load-cap");
	json_t *params = json_pack("{s:i, s:I}", "level", level, "block_size", (json_int_t)block);
	const char *base = strrchr(a->cap_path, '/');
	json_object_set_new(params, "name", json_string(base ? base + 1 : a->cap_path));
	put_aid(params, "package", cap.package.aid.bytes, cap.package.aid.len);
	if (a->install_len)
		put_aid(params, "install", a->install, a->install_len);
	if (a->instance_len)
		put_aid(params, "instance", a->instance, a->instance_len);
	/* The whole file goes to the store: every instance reads it there. */
	size_t size;
	uint8_t *data = (uint8_t *)files_read(a->cap_path, &size, err);
	ec_cap_free(&cap);
	if (!data) {
		json_decref(params);
		return EC_ERR_FILE;
	}
	if ((s = store_begin(st, err)) != EC_OK) {
		free(data);
		json_decref(params);
		return s;
	}
	s = db_file_put(st, base ? base + 1 : a->cap_path, data, size, job.file, err);
	free(data);
	if (s == EC_OK)
		s = add_job(st, &job, params, id, err);
	else
		json_decref(params);
	if (s == EC_OK)
		return store_commit(st, err);
	store_rollback(st);
	return s;
}

enum ec_status ota_add_delete(struct store *st, const char *card, const uint8_t *aid,
			      size_t aid_len, uint8_t level, long long *id, struct ec_error *err)
{
	struct db_job job;

	if (!aid || aid_len == 0 || aid_len > EC_GP_AID_MAX)
		return ec_error_set(err, EC_ERR_ARG, "DELETE needs an AID of 1 to 16 bytes.");
	if (!level)
		level = 0x03;
	if (!level_ok(level))
		return ec_error_set(err, EC_ERR_ARG, "a job runs at security level 03, 13 or 33.");
	memset(&job, 0, sizeof(job));
	snprintf(job.card, sizeof(job.card), "%s", card);
	snprintf(job.kind, sizeof(job.kind), "delete");
	json_t *params = json_pack("{s:i, s:b}", "level", level, "related", 1);
	put_aid(params, "aid", aid, aid_len);
	return add_job(st, &job, params, id, err);
}

enum ec_status ota_add_lock(struct store *st, const char *card, const uint8_t *aid, size_t aid_len,
			    bool lock, long long *id, struct ec_error *err)
{
	struct db_job job;

	if (!aid || aid_len == 0 || aid_len > EC_GP_AID_MAX)
		return ec_error_set(err, EC_ERR_ARG, "SET STATUS needs an AID of 1 to 16 bytes.");
	memset(&job, 0, sizeof(job));
	snprintf(job.card, sizeof(job.card), "%s", card);
	snprintf(job.kind, sizeof(job.kind), "%s", lock ? "lock" : "unlock");
	json_t *params = json_pack("{s:i}", "level", 0x03);
	put_aid(params, "aid", aid, aid_len);
	return add_job(st, &job, params, id, err);
}

enum ec_status ota_add_personalize(struct store *st, const char *card, long long holder,
				   long long order, const char *name, const char *email, long long *id,
				   struct ec_error *err)
{
	struct db_job job;

	memset(&job, 0, sizeof(job));
	snprintf(job.card, sizeof(job.card), "%s", card);
	snprintf(job.kind, sizeof(job.kind), "personalize");
	/* At level 33 only: the key pair and the seal come back MACed. */
	return add_job(st, &job, json_pack("{s:i, s:I, s:I, s:s, s:s}", "level", 0x33, "holder",
					   (json_int_t)holder, "order", (json_int_t)order, "name",
					   name ? name : "", "email", email ? email : ""),
		       id, err);
}

enum ec_status ota_add_put_keys(struct store *st, const char *card, long long *id,
				struct ec_error *err)
{
	struct db_job job;

	memset(&job, 0, sizeof(job));
	snprintf(job.card, sizeof(job.card), "%s", card);
	snprintf(job.kind, sizeof(job.kind), "put-keys");
	/* Keys go at level 33 only: the answer (the check values) is MACed. */
	return add_job(st, &job, json_pack("{s:i}", "level", 0x33), id, err);
}

enum ec_status ota_add_topup(struct store *st, const char *card, const char *amount,
			     const char *from, long long *id, struct ec_error *err)
{
	struct db_job job;
	const char *code = amount + strcspn(amount, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");
	const struct ec_currency *cur = ec_currency_by_code(*code ? code : "EUR");
	uint32_t minor;

	/* Without a code, the number is read with the issuer's currency when
	 * the job runs: only its form is checked now. */
	enum ec_amount_status as = cur ? ec_amount_parse(amount, cur->numeric, &minor)
				       : EC_AMOUNT_UNKNOWN_CURRENCY;
	if (!*code && as == EC_AMOUNT_PRECISION) {
		as = EC_AMOUNT_OK;
		minor = 1;
	}
	if (as != EC_AMOUNT_OK || minor == 0 || strlen(amount) >= EC_AMOUNT_TEXT_MAX)
		return ec_error_set(err, EC_ERR_ARG, "\"%s\" is not an amount to load: %s.", amount,
				    as == EC_AMOUNT_OK ? "it must be more than zero"
						       : ec_amount_strerror(as));
	memset(&job, 0, sizeof(job));
	snprintf(job.card, sizeof(job.card), "%s", card);
	snprintf(job.kind, sizeof(job.kind), "top-up");
	if (from && !ledger_name_ok(from))
		return ec_error_set(err, EC_ERR_ARG, "\"%s\" is not an account to pay from (bank:NAME).",
				    from);
	return add_job(st, &job, json_pack("{s:s, s:s}", "amount", amount, "from",
					   from ? from : LEDGER_GRANTS), id, err);
}

enum ec_status ota_cancel(struct store *st, long long id, struct ec_error *err)
{
	struct db_job job;
	enum ec_status s = store_begin(st, err);

	if (s != EC_OK)
		return s;
	s = db_job_get(st, id, true, &job, err);
	if (s == EC_OK && !db_job_pending(&job))
		s = ec_error_set(err, EC_ERR_ARG, "job %lld has ended already (%s).", id, job.state);
	if (s == EC_OK && topup_in_doubt(&job))
		s = ec_error_set(err, EC_ERR_ARG,
				 "job %lld authorised a load that the card may have taken, or may still take: only the card can end it, at its next contact.",
				 id);
	if (s == EC_OK) {
		snprintf(job.state, sizeof(job.state), DB_JOB_CANCELLED);
		snprintf(job.message, sizeof(job.message), "cancelled by the operator");
		s = db_job_save(st, &job, err);
		if (s == EC_OK)
			s = topup_refund(st, &job, err);
	}
	db_job_free(&job);
	if (s == EC_OK)
		return store_commit(st, err);
	store_rollback(st);
	return s;
}

enum ec_status ota_job_commands(struct store *st, const struct db_job *job, size_t *count,
				struct ec_error *err)
{
	struct prog p;
	enum ec_status s = prog_open(st, job, &p, err);
	if (s != EC_OK)
		return s;
	*count = p.count;
	prog_close(&p);
	return EC_OK;
}
