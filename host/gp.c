/*
 * gp.c - the GlobalPlatform card manager client (see gp.h): APDUs built
 * with a writer, sent through the secure channel of gp_session.c, answers
 * read with a cursor. The resume of an interrupted load is at the end,
 * next to the loader it shares its block arithmetic with.
 */
#include "gp.h"

#include <stdio.h>
#include <string.h>

#include <reader.h>	/* SCARD_ATTR_MAXINPUT */

#include "crypto.h"
#include "cursor.h"
#include "hex.h"
#include "exchange.h"
#include "gp_cmd.h"
#include "iso7816.h"
#include "scp03.h"

const uint8_t ec_gp_isd_aid[GP_ISD_AID_LEN] = { GP_ISD_AID };

/* GET STATUS parts (6310) before a card is taken to be looping. */
#define GET_STATUS_ROUNDS 64

/* The OIDs of card recognition data: 1.2.840.114283 and its arcs. */
static const uint8_t oid_gp[] = { 0x2A, 0x86, 0x48, 0x86, 0xFC, 0x6B };
#define OID_ARC_VERSION 0x02
#define OID_ARC_SCP 0x04

enum ec_status ec_gp_aid_set(struct ec_gp_aid *aid, const uint8_t *bytes, size_t len)
{
	if (!aid || !bytes || len == 0 || len > EC_GP_AID_MAX)
		return EC_ERR_ARG;
	memset(aid, 0, sizeof(*aid));
	aid->len = (uint8_t)len;
	memcpy(aid->bytes, bytes, len);
	return EC_OK;
}

static bool aid_equal(const struct ec_gp_aid *a, const uint8_t *bytes, size_t len)
{
	return a->len == len && memcmp(a->bytes, bytes, len) == 0;
}

/* AIDs in messages: at most 16 bytes, so 33 characters. */
static const char *aid_text(const uint8_t *aid, size_t len, char out[2 * EC_GP_AID_MAX + 1])
{
	hex_encode(aid, len > EC_GP_AID_MAX ? EC_GP_AID_MAX : len, out);
	return out;
}

#define SELECT_SD "SELECT of the security domain"

/* The plain CLA of GlobalPlatform commands on the session's channel: the
 * one its INITIALIZE UPDATE went with. */
static uint8_t gp_cla(const struct ec_gp_session *s)
{
	return s->scp == EC_GP_SCP02 ? s->scp02.cla : s->scp03.cla;
}

/* ---- selection ---- */

static enum ec_status select_isd_on(struct ec_pcsc *pc, uint8_t channel, const uint8_t *aid,
				    size_t aid_len, struct ec_error *err)
{
	char text[2 * EC_GP_AID_MAX + 1];
	uint16_t sw;
	enum ec_status st;

	if (!pc)
		return ec_error_set(err, EC_ERR_ARG, "no card connection was given.");
	if (aid && (aid_len == 0 || aid_len > EC_GP_AID_MAX))
		return ec_error_set(err, EC_ERR_ARG, "a security domain's AID has 1 to 16 bytes.");
	st = ec_select(pc, channel, aid ? aid : ec_gp_isd_aid,
		       aid ? aid_len : sizeof(ec_gp_isd_aid), true, SELECT_SD, &sw, err);
	/* Older cards call their ISD otherwise; the default application is it. */
	if (st == EC_OK && sw == SW_FILE_NOT_FOUND && !aid)
		st = ec_select(pc, channel, NULL, 0, true, SELECT_SD, &sw, err);
	if (st != EC_OK)
		return st;
	if (sw == SW_FILE_NOT_FOUND)
		return ec_error_card(err, sw,
				     "the card has no security domain %s (SELECT answered SW 6A82): it is not a GlobalPlatform card, or its card manager has another AID.",
				     aid_text(aid ? aid : ec_gp_isd_aid,
					      aid ? aid_len : sizeof(ec_gp_isd_aid), text));
	if (sw != SW_OK)
		return ec_error_sw(err, SELECT_SD, sw);
	return EC_OK;
}

enum ec_status ec_gp_select_isd(struct ec_pcsc *pc, const uint8_t *aid, size_t aid_len,
				struct ec_error *err)
{
	return select_isd_on(pc, 0, aid, aid_len, err);
}

enum ec_status ec_gp_connect(struct ec_gp_session *s, struct ec_pcsc *pc,
			     const struct ec_gp_keys *keys, const struct ec_gp_options *opt,
			     struct ec_error *err)
{
	enum ec_status st = select_isd_on(pc, opt ? opt->channel : 0, NULL, 0, err);
	if (st != EC_OK)
		return st;
	return ec_gp_open(s, pc, keys, opt, err);
}

/* ---- GET DATA ---- */

enum ec_status ec_gp_get_data(struct ec_pcsc *pc, struct ec_gp_session *s, uint16_t tag,
			      uint8_t *data, size_t cap, size_t *len, uint16_t *sw,
			      struct ec_error *err)
{
	uint8_t cmd[5] = { GP_CLA, GP_INS_GET_DATA, (uint8_t)(tag >> 8), (uint8_t)tag, 0x00 };
	char name[32];
	uint16_t status = 0;
	enum ec_status st;

	if (sw)
		*sw = 0;
	snprintf(name, sizeof(name), "GET DATA %04X", tag);
	if (s && s->open) {
		cmd[0] = gp_cla(s);
		st = ec_gp_exchange(s, name, cmd, sizeof(cmd), data, cap, len, &status, err);
	} else if (pc) {
		st = ec_exchange(pc, name, cmd, sizeof(cmd), data, cap, len, &status, err);
	} else {
		return ec_error_set(err, EC_ERR_ARG, "no card connection or secure channel was given.");
	}
	if (sw)
		*sw = status;
	if (st != EC_OK)
		return st;
	if (status != SW_OK) {
		if (len)
			*len = 0;
		if (status == SW_REF_DATA_NOT_FOUND || status == SW_INCORRECT_P1P2)
			return ec_error_refused(err, name, status,
				       "the card does not have this data object.");
		return ec_error_sw(err, name, status);
	}
	return EC_OK;
}

enum ec_status ec_gp_parse_cplc(const uint8_t *data, size_t len, struct ec_gp_cplc *out)
{
	uint8_t raw[EC_GP_CPLC_LEN];	/* data may be out->raw itself */
	struct cursor c, v;
	uint32_t tag;

	if (!data || !out)
		return EC_ERR_ARG;
	/* Some cards leave the 9F7F tag out and send the 42 bytes alone. */
	cursor_init(&c, data, len);
	if (len == EC_GP_CPLC_LEN) {
		v = c;
	} else if (!cursor_tlv(&c, &tag, &v) || tag != GP_TAG_CPLC || cursor_remaining(&v) < EC_GP_CPLC_LEN) {
		return EC_ERR_FORMAT;
	}
	if (!cursor_copy(&v, raw, EC_GP_CPLC_LEN))
		return EC_ERR_FORMAT;
	memset(out, 0, sizeof(*out));
	memcpy(out->raw, raw, EC_GP_CPLC_LEN);
	cursor_init(&v, out->raw, EC_GP_CPLC_LEN);
	cursor_u16(&v, &out->ic_fabricator);
	cursor_u16(&v, &out->ic_type);
	cursor_u16(&v, &out->os_id);
	cursor_u16(&v, &out->os_release_date);
	cursor_u16(&v, &out->os_release_level);
	cursor_u16(&v, &out->ic_fabrication_date);
	cursor_u32(&v, &out->ic_serial);
	cursor_u16(&v, &out->ic_batch);
	cursor_u16(&v, &out->module_fabricator);
	cursor_u16(&v, &out->module_packaging_date);
	cursor_u16(&v, &out->icc_manufacturer);
	cursor_u16(&v, &out->ic_embedding_date);
	cursor_u16(&v, &out->prepersonalizer);
	cursor_u16(&v, &out->prepersonalization_date);
	cursor_u32(&v, &out->prepersonalization_equipment);
	cursor_u16(&v, &out->personalizer);
	cursor_u16(&v, &out->personalization_date);
	cursor_u32(&v, &out->personalization_equipment);
	return cursor_done(&v) ? EC_OK : EC_ERR_FORMAT;
}

/* An OID value under 1.2.840.114283.arc: the bytes after the arc. */
static bool gp_oid(struct cursor *value, uint8_t arc, const uint8_t **rest, size_t *rest_len)
{
	struct cursor oid;
	uint32_t tag;
	const uint8_t *p;

	if (!cursor_tlv(value, &tag, &oid) || tag != 0x06)
		return false;
	size_t n = cursor_remaining(&oid);
	if (n < sizeof(oid_gp) + 1 || !cursor_bytes(&oid, n, &p) ||
	    memcmp(p, oid_gp, sizeof(oid_gp)) != 0 || p[sizeof(oid_gp)] != arc)
		return false;
	*rest = p + sizeof(oid_gp) + 1;
	*rest_len = n - sizeof(oid_gp) - 1;
	return true;
}

enum ec_status ec_gp_parse_card_data(const uint8_t *data, size_t len,
				     struct ec_gp_card_data *out)
{
	struct cursor c, outer, inner, v;
	uint32_t tag;
	const uint8_t *rest;
	size_t rest_len;

	if (!data || !out)
		return EC_ERR_ARG;
	memset(out, 0, sizeof(*out));
	cursor_init(&c, data, len);
	if (!cursor_tlv(&c, &tag, &outer) || tag != GP_TAG_CARD_DATA)
		return EC_ERR_FORMAT;
	out->raw_len = cursor_remaining(&outer) < sizeof(out->raw) ? cursor_remaining(&outer)
								  : sizeof(out->raw);
	memcpy(out->raw, outer.data + outer.pos, out->raw_len);
	if (!cursor_tlv(&outer, &tag, &inner) || tag != 0x73)
		return EC_ERR_FORMAT;
	while (cursor_remaining(&inner) > 0) {
		if (!cursor_tlv(&inner, &tag, &v))
			return EC_ERR_FORMAT;
		if (tag == 0x60 && gp_oid(&v, OID_ARC_VERSION, &rest, &rest_len)) {
			out->gp_version_len = rest_len < sizeof(out->gp_version) ? rest_len
										: sizeof(out->gp_version);
			memcpy(out->gp_version, rest, out->gp_version_len);
		} else if (tag == 0x64 && gp_oid(&v, OID_ARC_SCP, &rest, &rest_len) && rest_len >= 1 &&
			   out->scp_count < EC_GP_SCP_MAX) {
			out->scps[out->scp_count].scp = rest[0];
			out->scps[out->scp_count].i = rest_len >= 2 ? rest[1] : 0;
			out->scp_count++;
		}
	}
	return EC_OK;
}

enum ec_status ec_gp_parse_key_info(const uint8_t *data, size_t len, struct ec_gp_key_info *out)
{
	struct cursor c, tmpl, v;
	uint32_t tag;

	if (!data || !out)
		return EC_ERR_ARG;
	memset(out, 0, sizeof(*out));
	cursor_init(&c, data, len);
	if (!cursor_tlv(&c, &tag, &tmpl) || tag != GP_TAG_KEY_INFO)
		return EC_ERR_FORMAT;
	while (cursor_remaining(&tmpl) > 0) {
		if (!cursor_tlv(&tmpl, &tag, &v))
			return EC_ERR_FORMAT;
		if (tag != 0xC0)	/* one key's information */
			continue;
		struct ec_gp_key_entry e;
		/* id, version, then type-length pairs: the first describes the key. */
		if (!cursor_u8(&v, &e.id) || !cursor_u8(&v, &e.version) || !cursor_u8(&v, &e.type) ||
		    !cursor_u8(&v, &e.length))
			return EC_ERR_FORMAT;
		if (out->count == EC_GP_KEY_INFO_MAX)
			return EC_ERR_BUFFER;
		out->keys[out->count++] = e;
	}
	return EC_OK;
}

static enum ec_status malformed(struct ec_error *err, const char *what)
{
	return ec_error_set(err, EC_ERR_FORMAT,
			    "the card's %s is not well formed: the card is misbehaving, or it is not a GlobalPlatform card.",
			    what);
}

enum ec_status ec_gp_get_cplc(struct ec_pcsc *pc, struct ec_gp_session *s,
			      struct ec_gp_cplc *out, struct ec_error *err)
{
	uint8_t buf[256];
	size_t len = 0;
	enum ec_status st = ec_gp_get_data(pc, s, GP_TAG_CPLC, buf, sizeof(buf), &len, NULL, err);
	if (st != EC_OK)
		return st;
	if (ec_gp_parse_cplc(buf, len, out) != EC_OK)
		return malformed(err, "CPLC data (GET DATA 9F7F)");
	return EC_OK;
}

enum ec_status ec_gp_get_card_data(struct ec_pcsc *pc, struct ec_gp_session *s,
				   struct ec_gp_card_data *out, struct ec_error *err)
{
	uint8_t buf[256];
	size_t len = 0;
	enum ec_status st = ec_gp_get_data(pc, s, GP_TAG_CARD_DATA, buf, sizeof(buf), &len, NULL, err);
	if (st != EC_OK)
		return st;
	if (ec_gp_parse_card_data(buf, len, out) != EC_OK)
		return malformed(err, "card recognition data (GET DATA 66)");
	return EC_OK;
}

enum ec_status ec_gp_get_key_info(struct ec_pcsc *pc, struct ec_gp_session *s,
				  struct ec_gp_key_info *out, struct ec_error *err)
{
	uint8_t buf[256];
	size_t len = 0;
	enum ec_status st = ec_gp_get_data(pc, s, GP_TAG_KEY_INFO, buf, sizeof(buf), &len, NULL, err);
	if (st != EC_OK)
		return st;
	st = ec_gp_parse_key_info(buf, len, out);
	if (st == EC_ERR_BUFFER)
		return ec_error_set(err, EC_ERR_FORMAT,
				    "the card lists more than %d keys in its key information: the card is misbehaving.",
				    EC_GP_KEY_INFO_MAX);
	if (st != EC_OK)
		return malformed(err, "key information (GET DATA E0)");
	return EC_OK;
}

enum ec_status ec_gp_get_sequence_counter(struct ec_pcsc *pc, struct ec_gp_session *s,
					  uint32_t *out, struct ec_error *err)
{
	uint8_t buf[32];
	size_t len = 0;
	struct cursor c, v;
	uint32_t tag;
	uint8_t b;

	if (!out)
		return ec_error_set(err, EC_ERR_ARG, "no place for the sequence counter was given.");
	*out = 0;
	enum ec_status st = ec_gp_get_data(pc, s, GP_TAG_SEQUENCE_COUNTER, buf, sizeof(buf), &len, NULL, err);
	if (st != EC_OK)
		return st;
	/* C1 with 2 (SCP02) or 3 (SCP03) bytes. */
	cursor_init(&c, buf, len);
	if (!cursor_tlv(&c, &tag, &v) || tag != GP_TAG_SEQUENCE_COUNTER || cursor_remaining(&v) < 1 ||
	    cursor_remaining(&v) > 4 || !cursor_done(&c))
		return malformed(err, "sequence counter (GET DATA C1)");
	while (cursor_u8(&v, &b))
		*out = (*out << 8) | b;
	return EC_OK;
}

/* ---- GET STATUS ---- */

static bool take_aid(struct cursor *v, struct ec_gp_aid *aid)
{
	size_t n = cursor_remaining(v);
	if (n > EC_GP_AID_MAX)
		return false;
	aid->len = (uint8_t)n;
	return n == 0 || cursor_copy(v, aid->bytes, n);
}

/* One E3 entry. */
static bool parse_e3(struct cursor *e, struct ec_gp_registry_entry *out)
{
	struct cursor v;
	uint32_t tag;
	bool has_aid = false;

	memset(out, 0, sizeof(*out));
	while (cursor_remaining(e) > 0) {
		if (!cursor_tlv(e, &tag, &v))
			return false;
		switch (tag) {
		case GP_TAG_AID:
			if (!take_aid(&v, &out->aid) || out->aid.len == 0)
				return false;
			has_aid = true;
			break;
		case 0x9F70:
			/* One byte, or two with the second RFU. */
			if (!cursor_u8(&v, &out->life_cycle))
				return false;
			break;
		case GP_TAG_PRIVILEGES: {
			size_t n = cursor_remaining(&v);
			if (n < 1 || n > 3 || !cursor_copy(&v, out->privileges, n))
				return false;
			out->privileges_len = (uint8_t)n;
			break;
		}
		case GP_TAG_LOAD_FILE:
			if (!take_aid(&v, &out->load_file))
				return false;
			break;
		case GP_TAG_DOMAIN:
			if (!take_aid(&v, &out->domain))
				return false;
			break;
		case GP_TAG_VERSION:
			if (cursor_remaining(&v) < 2 || !cursor_copy(&v, out->version, 2))
				return false;
			out->has_version = true;
			break;
		case GP_TAG_MODULE:
			if (out->module_count == EC_GP_MODULES_MAX ||
			    !take_aid(&v, &out->modules[out->module_count]))
				return false;
			out->module_count++;
			break;
		default:
			break;	/* implicit selection (CF), DAP (C6)...: not shown */
		}
	}
	return has_aid;
}

/* One entry of the old format (P2 00). */
static bool parse_legacy(struct cursor *c, enum ec_gp_status_scope scope,
			 struct ec_gp_registry_entry *out)
{
	uint8_t len, count;
	struct cursor v;

	memset(out, 0, sizeof(*out));
	if (!cursor_u8(c, &len) || len == 0 || !cursor_sub(c, len, &v) || !take_aid(&v, &out->aid) ||
	    !cursor_u8(c, &out->life_cycle) || !cursor_u8(c, &out->privileges[0]))
		return false;
	out->privileges_len = 1;
	if (scope != EC_GP_SCOPE_LOAD_FILES_MODULES)
		return true;
	if (!cursor_u8(c, &count))
		return false;
	for (unsigned i = 0; i < count; i++) {
		if (!cursor_u8(c, &len) || len == 0 || !cursor_sub(c, len, &v) ||
		    out->module_count == EC_GP_MODULES_MAX ||
		    !take_aid(&v, &out->modules[out->module_count]))
			return false;
		out->module_count++;
	}
	return true;
}

enum ec_status ec_gp_parse_status(const uint8_t *data, size_t len, bool tlv,
				  enum ec_gp_status_scope scope, struct ec_gp_registry *out)
{
	struct cursor c, v;
	uint32_t tag;

	if ((!data && len) || !out)
		return EC_ERR_ARG;
	cursor_init(&c, data, len);
	while (cursor_remaining(&c) > 0) {
		struct ec_gp_registry_entry e;
		if (tlv) {
			if (!cursor_tlv(&c, &tag, &v) || tag != GP_TAG_REGISTRY_ENTRY || !parse_e3(&v, &e))
				return EC_ERR_FORMAT;
		} else if (!parse_legacy(&c, scope, &e)) {
			return EC_ERR_FORMAT;
		}
		if (out->count == EC_GP_STATUS_MAX)
			return EC_ERR_BUFFER;
		out->entries[out->count++] = e;
	}
	return EC_OK;
}

static const char *scope_name(enum ec_gp_status_scope scope)
{
	switch (scope) {
	case EC_GP_SCOPE_ISD:
		return "GET STATUS of the card manager";
	case EC_GP_SCOPE_APPS:
		return "GET STATUS of the applications";
	default:
		return "GET STATUS of the load files";
	}
}

enum ec_status ec_gp_get_status(struct ec_gp_session *s, enum ec_gp_status_scope scope,
				const uint8_t *prefix, size_t prefix_len,
				struct ec_gp_registry *out, struct ec_error *err)
{
	uint8_t cmd[8 + EC_GP_AID_MAX], data[EC_EXCHANGE_RESP_MAX];
	const char *name = scope_name(scope);
	bool tlv = true;
	size_t len;
	uint16_t sw;

	if (!out)
		return ec_error_set(err, EC_ERR_ARG, "no place for the registry entries was given.");
	out->count = 0;
	if (!s || !s->open)
		return ec_error_set(err, EC_ERR_ARG, "the secure channel is not open: open it first.");
	if (scope != EC_GP_SCOPE_ISD && scope != EC_GP_SCOPE_APPS &&
	    scope != EC_GP_SCOPE_LOAD_FILES && scope != EC_GP_SCOPE_LOAD_FILES_MODULES)
		return ec_error_set(err, EC_ERR_ARG, "GET STATUS takes P1 80, 40, 20 or 10.");
	if (prefix_len > EC_GP_AID_MAX || (prefix_len && !prefix))
		return ec_error_set(err, EC_ERR_ARG, "an AID has at most 16 bytes.");

	bool next = false;
	unsigned parts = 0;
	for (;;) {
		struct writer w;
		writer_init(&w, cmd, sizeof(cmd));
		writer_u8(&w, gp_cla(s));
		writer_u8(&w, GP_INS_GET_STATUS);
		writer_u8(&w, (uint8_t)scope);
		/* P2: b2 the TLV format, b1 "next occurrence". */
		writer_u8(&w, (uint8_t)((tlv ? GP_STATUS_P2_TLV : GP_STATUS_P2_LEGACY) |
					(next ? 0x01 : 0x00)));
		writer_u8(&w, (uint8_t)(2 + prefix_len));
		writer_u8(&w, GP_TAG_AID);
		writer_u8(&w, (uint8_t)prefix_len);
		writer_bytes(&w, prefix, prefix_len);
		writer_u8(&w, 0x00);
		enum ec_status st = ec_gp_exchange(s, name, cmd, w.len, data, sizeof(data), &len, &sw, err);
		if (st != EC_OK)
			return st;
		if (!next && tlv && sw == SW_INCORRECT_P1P2) {
			/* A card from before GP 2.2 knows only the old format. */
			tlv = false;
			continue;
		}
		if (!next && sw == SW_REF_DATA_NOT_FOUND)
			return EC_OK;	/* nothing of this kind on the card */
		if (sw != SW_OK && sw != SW_MORE_DATA)
			return ec_error_sw(err, name, sw);
		st = ec_gp_parse_status(data, len, tlv, scope, out);
		if (st == EC_ERR_BUFFER)
			return ec_error_set(err, EC_ERR_BUFFER,
					    "the card lists more than %d entries: only the first %d are shown.",
					    EC_GP_STATUS_MAX, EC_GP_STATUS_MAX);
		if (st != EC_OK)
			return malformed(err, "answer to GET STATUS");
		if (sw == SW_OK)
			return EC_OK;
		if (++parts == GET_STATUS_ROUNDS)
			return ec_error_set(err, EC_ERR_FORMAT,
					    "the card kept answering GET STATUS with \"more data\" (6310) past %d parts: the card is misbehaving.",
					    GET_STATUS_ROUNDS);
		next = true;
	}
}

const char *ec_gp_card_state_name(uint8_t state)
{
	switch (state) {
	case GP_CARD_OP_READY:
		return "OP_READY";
	case GP_CARD_INITIALIZED:
		return "INITIALIZED";
	case GP_CARD_SECURED:
		return "SECURED";
	case GP_CARD_LOCKED:
		return "CARD_LOCKED";
	case GP_CARD_TERMINATED:
		return "TERMINATED";
	default:
		return "unknown";
	}
}

const char *ec_gp_app_state_name(uint8_t state, char *buf, size_t buflen)
{
	if (state & GP_APP_LOCKED_BIT)
		return "LOCKED";
	switch (state) {
	case GP_ELF_LOADED:
		return "LOADED";
	case GP_APP_INSTALLED:
		return "INSTALLED";
	case GP_APP_SELECTABLE:
		return "SELECTABLE";
	case GP_APP_PERSONALIZED:
		return "PERSONALIZED";
	default:
		break;
	}
	/* b1-b3 set: selectable, with b4-b7 the application's own state. */
	if ((state & 0x07) == 0x07 && buf && buflen > 0) {
		snprintf(buf, buflen, "SELECTABLE (%02X)", state);
		return buf;
	}
	return "unknown";
}

/* ---- loading ---- */

size_t ec_gp_block_size(const struct ec_gp_session *s, size_t reader_max)
{
	uint8_t level = s ? s->level : 0;
	size_t room = 255;	/* Lc of a short APDU */

	if (reader_max > 0) {
		if (reader_max <= 5)
			return 0;
		if (reader_max - 5 < room)
			room = reader_max - 5;	/* CLA INS P1 P2 Lc; LOAD has no Le */
	}
	if (level & EC_GP_LEVEL_C_MAC) {
		if (room < 8)
			return 0;
		room -= 8;
	}
	if (level & EC_GP_LEVEL_C_DEC) {
		/* Padding 80 00.. always adds at least one byte. */
		size_t cipher_block = s && s->scp == EC_GP_SCP02 ? 8 : 16;
		room = room / cipher_block * cipher_block;
		if (room == 0)
			return 0;
		room -= 1;
	}
	return room;
}

size_t ec_gp_reader_max_command(struct ec_pcsc *pc)
{
	uint8_t value[8];
	DWORD len = sizeof(value);

	/* Only a real PC/SC connection has a reader to ask. */
	if (!pc || !pc->connected || pc->raw_transmit != ec_raw_scard_transmit)
		return 0;
	if (SCardGetAttrib(pc->card, SCARD_ATTR_MAXINPUT, value, &len) != SCARD_S_SUCCESS)
		return 0;
	/* A native integer, as the driver wrote it. */
	switch (len) {
	case 1:
		return value[0];
	case 2: {
		uint16_t v;
		memcpy(&v, value, sizeof(v));
		return v;
	}
	case 4: {
		uint32_t v;
		memcpy(&v, value, sizeof(v));
		return v;
	}
	case 8: {
		uint64_t v;
		memcpy(&v, value, sizeof(v));
		return v > SIZE_MAX ? 0 : (size_t)v;
	}
	default:
		return 0;
	}
}

/* How this run cuts the load file. */
struct load_plan {
	const struct ec_cap *cap;
	size_t block_size;
	size_t blocks;
	size_t header;		/* C4 tag and length in front of the load file */
	const struct ec_gp_load_options *opt;
};

static enum ec_status plan_load(struct ec_gp_session *s, const struct ec_cap *cap,
				const struct ec_gp_load_options *opt, struct load_plan *p,
				struct ec_error *err)
{
	memset(p, 0, sizeof(*p));
	if (!s || !s->open)
		return ec_error_set(err, EC_ERR_ARG, "the secure channel is not open: open it before loading.");
	if (!cap || !cap->load_data || cap->load_data_len == 0 ||
	    cap->load_data_len <= cap->load_file_len || cap->package.aid.len == 0)
		return ec_error_set(err, EC_ERR_ARG, "no CAP file with a load file was given to load.");
	if (opt && opt->domain && (opt->domain_len == 0 || opt->domain_len > EC_GP_AID_MAX))
		return ec_error_set(err, EC_ERR_ARG, "a security domain's AID has 1 to 16 bytes.");
	size_t most = ec_gp_block_size(s, 0);
	size_t reader = ec_gp_reader_max_command(s->pc);
	size_t size = opt && opt->block_size ? opt->block_size : ec_gp_block_size(s, reader);
	if (opt && opt->block_size && size > most)
		return ec_error_set(err, EC_ERR_ARG,
				    "a LOAD block of %zu bytes does not fit one command at security level %02X: give at most %zu.",
				    size, s->level, most);
	if (size < EC_GP_BLOCK_MIN) {
		if (opt && opt->block_size)
			return ec_error_set(err, EC_ERR_ARG,
					    "a LOAD block of %zu bytes is too small: give at least %d.",
					    size, EC_GP_BLOCK_MIN);
		return ec_error_set(err, EC_ERR_ARG,
				    "the reader takes commands of at most %zu bytes, too few for LOAD blocks at security level %02X: use another reader.",
				    reader, s->level);
	}
	p->cap = cap;
	p->block_size = size;
	p->header = cap->load_data_len - cap->load_file_len;
	p->opt = opt;
	return ec_cap_block_count(cap->load_data_len, size, &p->blocks, err);
}

static void report(const struct load_plan *p, size_t done)
{
	if (!p->opt || !p->opt->progress)
		return;
	size_t bytes = done * p->block_size;
	if (bytes > p->cap->load_data_len)
		bytes = p->cap->load_data_len;
	p->opt->progress(p->opt->progress_arg, done, p->blocks, bytes, p->cap->load_data_len);
}

/* What broke the link, in a few words for the sentence below. */
static const char *link_reason(const struct ec_pcsc *pc, enum ec_status st, char *buf, size_t cap)
{
	switch (st) {
	case EC_ERR_PCSC:
		break;
	case EC_ERR_NOT_CONNECTED:
		return "no card connected";
	case EC_ERR_BAD_RESPONSE:
		/* What vpcd passes on when the card vanishes mid-command. */
		return "the answer came without a status word";
	case EC_ERR_TOO_MANY_ROUNDS:
		return "the card kept announcing more data";
	case EC_ERR_CARD_LOST:
		return "the card lost power or left the reader";
	default:
		return "the answer was too long";
	}
	switch (pc->last_rv) {
	case SCARD_W_REMOVED_CARD:
		return "the card was removed or lost power";
	case SCARD_W_RESET_CARD:
		return "the card was reset";
	case SCARD_W_UNPOWERED_CARD:
		return "the card is not powered";
	case SCARD_E_NO_SMARTCARD:
		return "no card in the reader";
	case SCARD_E_TIMEOUT:
		return "the card did not answer in time";
	default:
		snprintf(buf, cap, "PC/SC error %08lX", (unsigned long)pc->last_rv & 0xFFFFFFFFul);
		return buf;
	}
}

static enum ec_status link_broke(struct ec_error *err, const struct ec_pcsc *pc, enum ec_status st,
				 const char *when)
{
	char buf[32];
	return ec_error_set(err, st,
			    "the link to the card broke %s (%s): run again with --resume to go on from where the card stopped.",
			    when, link_reason(pc, st, buf, sizeof(buf)));
}

static enum ec_status install_for_load(struct ec_gp_session *s, const struct load_plan *p,
				       struct ec_error *err)
{
	const struct ec_cap *cap = p->cap;
	const struct ec_gp_load_options *opt = p->opt;
	uint8_t cmd[EC_GP_CMD_MAX];
	char aid[2 * EC_GP_AID_MAX + 1], hint[200];
	struct ec_pcsc *pc = s->pc;
	size_t len;
	uint16_t sw;

	if (ec_gp_cmd_install_for_load(gp_cla(s), cap, opt ? opt->domain : NULL,
				       opt && opt->domain ? opt->domain_len : 0,
				       !(opt && opt->no_hash), cmd, sizeof(cmd), &len) != EC_OK)
		return ec_error_set(err, EC_ERR_ARG, "INSTALL [for load] could not be built.");

	enum ec_status st = ec_gp_exchange(s, "INSTALL [for load]", cmd, len, NULL, 0, NULL, &sw, err);
	if (ec_is_link_failure(st))
		return link_broke(err, pc, st, "during INSTALL [for load]");
	if (st != EC_OK)
		return st;
	if (sw == SW_OK)
		return EC_OK;
	aid_text(cap->package.aid.bytes, cap->package.aid.len, aid);
	if (sw == SW_CONDITIONS) {
		snprintf(hint, sizeof(hint),
			 "the card already holds a load file or an application %s, or its life cycle forbids loading; delete it first (ecard gp delete %s --related).",
			 aid, aid);
		return ec_error_refused(err, "INSTALL [for load]", sw, hint);
	}
	if (sw == SW_NOT_ENOUGH_MEMORY)
		return ec_error_refused(err, "INSTALL [for load]", sw,
			       "the card has no room for another load file; delete one it no longer needs.");
	if (sw == SW_REF_DATA_NOT_FOUND)
		return ec_error_refused(err, "INSTALL [for load]", sw,
			       "the card does not know the security domain named for the load.");
	return ec_error_sw(err, "INSTALL [for load]", sw);
}

static enum ec_status load_refused(struct ec_error *err, const struct load_plan *p, size_t index,
				   uint16_t sw)
{
	char what[48];
	bool last = index + 1 == p->blocks;

	snprintf(what, sizeof(what), "LOAD block %zu of %zu", index + 1, p->blocks);
	if (sw == SW_NOT_ENOUGH_MEMORY)
		return ec_error_refused(err, what, sw,
			       "the card has no room for this load file; delete load files it no longer needs.");
	if (sw == SW_CONDITIONS || sw == SW_INCORRECT_P1P2)
		return ec_error_refused(err, what, sw,
			       "the card is not at this point of a load (another loader may have started over); load the file again from the start, without --resume.");
	if (last && sw == SW_SECURITY_STATUS)
		return ec_error_refused(err, what, sw,
			       "the load file the card received does not match the SHA-256 announced in INSTALL [for load]; load it again from the start, without --resume.");
	if (last && sw == SW_WRONG_DATA)
		return ec_error_refused(err, what, sw,
			       "the card found the load file malformed; check the CAP file with \"ecard cap info\".");
	return ec_error_sw(err, what, sw);
}

static enum ec_status send_blocks(struct ec_gp_session *s, const struct load_plan *p, size_t first,
				  struct ec_gp_load_result *res, struct ec_error *err)
{
	const struct ec_cap *cap = p->cap;
	struct ec_pcsc *pc = s->pc;
	uint8_t cmd[5 + 255], answer[256];
	char when[64];
	uint16_t sw;

	res->first_block = first;
	res->blocks_done = first;
	report(p, first);
	for (size_t i = first; i < p->blocks; i++) {
		size_t len;
		enum ec_status st = ec_gp_cmd_load(gp_cla(s), cap, p->block_size, i, cmd, sizeof(cmd),
						   &len);
		if (st != EC_OK)
			return ec_error_set(err, st, "LOAD block %zu could not be built.", i + 1);
		st = ec_gp_exchange(s, "LOAD", cmd, len, answer, sizeof(answer), NULL, &sw, err);
		if (ec_is_link_failure(st)) {
			snprintf(when, sizeof(when), "after %zu of %zu LOAD blocks", i, p->blocks);
			return link_broke(err, pc, st, when);
		}
		if (st != EC_OK)
			return st;
		if (sw != SW_OK)
			return load_refused(err, p, i, sw);
		res->blocks_done = i + 1;
		report(p, i + 1);
	}
	return EC_OK;
}

static void result_init(struct ec_gp_load_result *res, const struct load_plan *p)
{
	memset(res, 0, sizeof(*res));
	res->block_size = p->block_size;
	res->blocks = p->blocks;
}

enum ec_status ec_gp_load(struct ec_gp_session *s, const struct ec_cap *cap,
			  const struct ec_gp_load_options *opt, struct ec_gp_load_result *res,
			  struct ec_error *err)
{
	struct ec_gp_load_result local;
	struct load_plan p;

	if (!res)
		res = &local;
	memset(res, 0, sizeof(*res));
	enum ec_status st = plan_load(s, cap, opt, &p, err);
	if (st != EC_OK)
		return st;
	result_init(res, &p);
	st = install_for_load(s, &p, err);
	if (st != EC_OK)
		return st;
	return send_blocks(s, &p, 0, res, err);
}

/* ---- resuming a load ---- */

enum ec_status ec_gp_parse_load_progress(const uint8_t *data, size_t len,
					 struct ec_gp_load_progress *out)
{
	struct cursor c, v;
	uint32_t tag;
	uint8_t active, aid_len;

	if (!data || !out)
		return EC_ERR_ARG;
	memset(out, 0, sizeof(*out));
	cursor_init(&c, data, len);
	if (!cursor_tlv(&c, &tag, &v) || tag != GP_TAG_LOAD_PROGRESS || !cursor_done(&c))
		return EC_ERR_FORMAT;
	if (!cursor_u8(&v, &active) || active > 1 || !cursor_u8(&v, &out->next_block) ||
	    !cursor_u32(&v, &out->received) || !cursor_u32(&v, &out->total) ||
	    !cursor_u8(&v, &aid_len) || aid_len > EC_GP_AID_MAX ||
	    !cursor_copy(&v, out->aid.bytes, aid_len) || !cursor_done(&v))
		return EC_ERR_FORMAT;
	if (active && (aid_len == 0 || (out->total && out->received > out->total)))
		return EC_ERR_FORMAT;
	out->aid.len = aid_len;
	out->active = active == 1;
	out->supported = true;
	return EC_OK;
}

enum ec_status ec_gp_get_load_progress(struct ec_gp_session *s, struct ec_gp_load_progress *out,
				       struct ec_error *err)
{
	uint8_t data[64];
	size_t len = 0;
	uint16_t sw;

	if (!out)
		return ec_error_set(err, EC_ERR_ARG, "no place for the load progress was given.");
	memset(out, 0, sizeof(*out));
	if (!s || !s->open)
		return ec_error_set(err, EC_ERR_ARG, "the secure channel is not open: open it first.");
	uint8_t cmd[5] = { gp_cla(s), GP_INS_GET_DATA, GP_TAG_LOAD_PROGRESS >> 8, GP_TAG_LOAD_PROGRESS & 0xFF, 0x00 };
	enum ec_status st = ec_gp_exchange(s, "GET DATA DF70 (load progress)", cmd, sizeof(cmd), data,
					 sizeof(data), &len, &sw, err);
	/* An answer too long for DF70 is some other object of the same tag. */
	if (st == EC_ERR_FORMAT)
		return EC_OK;
	if (st != EC_OK)
		return st;
	/* Whatever else the card says (6A88, 6D00, 6A86...), it does not keep
	 * partial loads, or not in a way we know: start over, as GP does. */
	if (sw != SW_OK || ec_gp_parse_load_progress(data, len, out) != EC_OK) {
		memset(out, 0, sizeof(*out));
		LOG_D(s->pc->log, "the card does not tell its load progress (SW %04X)", sw);
	}
	return EC_OK;
}

/* Whether the card lists this load file; version_matches when its version
 * is the CAP file's (or the card does not say). */
static enum ec_status find_load_file(struct ec_gp_session *s, const struct ec_cap *cap,
				     bool *present, bool *version_matches, uint8_t version[2],
				     struct ec_error *err)
{
	/* About 16 KiB: fine on a host's stack. */
	struct ec_gp_registry reg;
	const struct ec_cap_aid *aid = &cap->package.aid;

	*present = false;
	*version_matches = false;
	enum ec_status st = ec_gp_get_status(s, EC_GP_SCOPE_LOAD_FILES, aid->bytes, aid->len, &reg, err);
	if (st != EC_OK && st != EC_ERR_BUFFER)
		return st;
	for (size_t i = 0; i < reg.count; i++) {
		const struct ec_gp_registry_entry *e = &reg.entries[i];
		if (!aid_equal(&e->aid, aid->bytes, aid->len))
			continue;
		*present = true;
		*version_matches = !e->has_version || (e->version[0] == cap->package.major &&
						       e->version[1] == cap->package.minor);
		if (e->has_version)
			memcpy(version, e->version, 2);
	}
	return EC_OK;
}

enum ec_status ec_gp_load_resume(struct ec_gp_session *s, const struct ec_cap *cap,
				 const struct ec_gp_load_options *opt,
				 struct ec_gp_load_result *res, struct ec_error *err)
{
	struct ec_gp_load_result local;
	struct ec_gp_load_progress lp;
	struct load_plan p;
	char aid[2 * EC_GP_AID_MAX + 1];
	size_t first;

	if (!res)
		res = &local;
	memset(res, 0, sizeof(*res));
	enum ec_status st = plan_load(s, cap, opt, &p, err);
	if (st != EC_OK)
		return st;
	result_init(res, &p);
	st = ec_gp_get_load_progress(s, &lp, err);
	if (st != EC_OK)
		return st;
	res->card_resumes = lp.supported;
	const struct ec_cap_aid *pkg = &cap->package.aid;
	bool ours = lp.active && aid_equal(&lp.aid, pkg->bytes, pkg->len);

	if (ec_gp_load_resume_point(cap, p.block_size, p.blocks, &lp, &first)) {
		res->start = EC_GP_LOAD_RESUMED;
		LOG_I(s->pc->log, "resuming the load at block %zu of %zu", first, p.blocks);
		return send_blocks(s, &p, first, res, err);
	}
	if (ours && lp.received > 0) {
		res->start = EC_GP_LOAD_RESTARTED;
		LOG_W(s->pc->log,
		      "the card holds %lu bytes of this load file, cut in other blocks: starting over",
		      (unsigned long)lp.received);
	} else if (lp.active && !ours) {
		LOG_W(s->pc->log, "the card was loading %s; loading this file drops that load",
		      aid_text(lp.aid.bytes, lp.aid.len, aid));
	}
	if (!lp.active) {
		/* The previous run's last block may have gone through with
		 * only its answer lost: then the file is there, whole. */
		bool present, version_matches;
		uint8_t version[2] = { 0, 0 };
		st = find_load_file(s, cap, &present, &version_matches, version, err);
		if (st != EC_OK)
			return st;
		if (present && !version_matches) {
			aid_text(pkg->bytes, pkg->len, aid);
			ec_error_set(err, EC_ERR_CARD,
				     "the card already holds load file %s in version %u.%u, not the %u.%u of this CAP file: delete it first (ecard gp delete %s --related).",
				     aid, version[0], version[1], cap->package.major, cap->package.minor, aid);
			return EC_ERR_CARD;
		}
		if (present) {
			res->start = EC_GP_LOAD_ALREADY_DONE;
			res->first_block = p.blocks;
			res->blocks_done = p.blocks;
			report(&p, p.blocks);
			return EC_OK;
		}
	}
	st = install_for_load(s, &p, err);
	if (st != EC_OK)
		return st;
	return send_blocks(s, &p, 0, res, err);
}

/* ---- INSTALL, DELETE ---- */

enum ec_status ec_gp_install(struct ec_gp_session *s, const struct ec_gp_install *in,
			     struct ec_error *err)
{
	uint8_t cmd[EC_GP_CMD_MAX];
	char aid[2 * EC_GP_AID_MAX + 1], pkg[2 * EC_GP_AID_MAX + 1], hint[240];
	size_t len;
	uint16_t sw;

	if (!s || !s->open)
		return ec_error_set(err, EC_ERR_ARG, "the secure channel is not open: open it before INSTALL.");
	if (!in || in->package.len == 0 || in->module.len == 0 || in->package.len > EC_GP_AID_MAX ||
	    in->module.len > EC_GP_AID_MAX || in->aid.len > EC_GP_AID_MAX)
		return ec_error_set(err, EC_ERR_ARG, "INSTALL needs the AIDs of a load file and of a module in it.");
	if (in->privileges_len != 0 && in->privileges_len != 1 && in->privileges_len != 3)
		return ec_error_set(err, EC_ERR_ARG, "privileges are 1 or 3 bytes.");
	if (in->params_len > EC_GP_PARAMS_MAX || (in->params_len && !in->params))
		return ec_error_set(err, EC_ERR_ARG,
				    "the application's install parameters take at most %d bytes.",
				    EC_GP_PARAMS_MAX);
	if (ec_gp_cmd_install(gp_cla(s), in, cmd, sizeof(cmd), &len) != EC_OK)
		return ec_error_set(err, EC_ERR_ARG, "INSTALL [for install] could not be built.");
	const struct ec_gp_aid *app = in->aid.len ? &in->aid : &in->module;

	const char *what = in->selectable ? "INSTALL [for install and make selectable]"
					  : "INSTALL [for install]";
	enum ec_status st = ec_gp_exchange(s, what, cmd, len, NULL, 0, NULL, &sw, err);
	if (st != EC_OK || sw == SW_OK)
		return st;
	aid_text(app->bytes, app->len, aid);
	aid_text(in->package.bytes, in->package.len, pkg);
	if (sw == SW_REF_DATA_NOT_FOUND) {
		snprintf(hint, sizeof(hint),
			 "the card has no load file %s with that module; load it first, or check the AIDs with \"ecard gp list\".",
			 pkg);
		return ec_error_refused(err, what, sw, hint);
	}
	if (sw == SW_CONDITIONS) {
		snprintf(hint, sizeof(hint),
			 "an application or load file %s exists already, or the privileges asked for are not allowed; pick another AID or privileges.",
			 aid);
		return ec_error_refused(err, what, sw, hint);
	}
	if (sw == SW_WRONG_DATA)
		return ec_error_refused(err, what, sw,
			       "the application refused its install parameters, or the AIDs are malformed.");
	return ec_error_sw(err, what, sw);
}

enum ec_status ec_gp_install_for_personalization(struct ec_gp_session *s, const uint8_t *aid,
						 size_t aid_len, const char *what,
						 struct ec_error *err)
{
	uint8_t cmd[5 + 3 + EC_GP_AID_MAX + 3], answer[1];
	size_t n = 0, len;

	if (!s || !s->open)
		return ec_error_set(err, EC_ERR_ARG, "the secure channel is not open: open it before INSTALL.");
	if (ec_gp_cmd_install_for_perso(gp_cla(s), aid, aid_len, cmd, sizeof(cmd), &len) != EC_OK)
		return ec_error_set(err, EC_ERR_ARG, "an application AID has 1 to 16 bytes.");
	return ec_gp_command(s, what, cmd, len, answer, sizeof(answer), &n, err);
}

enum ec_status ec_gp_store_data(struct ec_gp_session *s, uint8_t p1, uint8_t block, bool encrypt,
				const uint8_t *data, size_t len, uint8_t *answer, size_t cap,
				size_t *answer_len, const char *what, struct ec_error *err)
{
	uint8_t cmd[5 + EC_GP_STORE_DATA_MAX], none[1];
	enum ec_status st;
	size_t n, got = 0;

	if (answer_len)
		*answer_len = 0;
	if (!s || !s->open)
		return ec_error_set(err, EC_ERR_ARG, "the secure channel is not open: open it before STORE DATA.");
	if (encrypt && s->scp != EC_GP_SCP03)
		return ec_error_set(err, EC_ERR_ARG,
				    "data encrypted with the DEK goes through SCP03: SCP02 cannot carry it.");
	st = ec_gp_cmd_store_data(gp_cla(s), p1, block, encrypt ? s->keys.dek : NULL, s->keys.len,
				  data, len, cmd, sizeof(cmd), &n);
	if (st == EC_ERR_CRYPTO)
		return ec_error_set(err, st, "encrypting with the DEK failed: check the OpenSSL installation.");
	if (st != EC_OK)
		return ec_error_set(err, EC_ERR_ARG, "a STORE DATA block is too long: this is a bug in ecard.");
	/* No answer buffer: room for nothing, so any data is a format error. */
	st = ec_gp_command(s, what, cmd, n, answer ? answer : none, answer ? cap : 0, &got, err);
	if (st == EC_OK && answer_len)
		*answer_len = got;
	crypto_wipe(cmd, sizeof(cmd));
	return st;
}

enum ec_status ec_gp_delete(struct ec_gp_session *s, const uint8_t *aid, size_t aid_len,
			    bool related, struct ec_error *err)
{
	uint8_t cmd[8 + EC_GP_AID_MAX];
	char text[2 * EC_GP_AID_MAX + 1], hint[200];
	uint16_t sw;

	if (!s || !s->open)
		return ec_error_set(err, EC_ERR_ARG, "the secure channel is not open: open it before DELETE.");
	if (!aid || aid_len == 0 || aid_len > EC_GP_AID_MAX)
		return ec_error_set(err, EC_ERR_ARG, "DELETE needs an AID of 1 to 16 bytes.");
	size_t len;
	if (ec_gp_cmd_delete(gp_cla(s), aid, aid_len, related, cmd, sizeof(cmd), &len) != EC_OK)
		return ec_error_set(err, EC_ERR_ARG, "DELETE could not be built.");
	enum ec_status st = ec_gp_exchange(s, "DELETE", cmd, len, NULL, 0, NULL, &sw, err);
	if (st != EC_OK || sw == SW_OK)
		return st;
	aid_text(aid, aid_len, text);
	if (sw == SW_REF_DATA_NOT_FOUND) {
		snprintf(hint, sizeof(hint),
			 "the card has no application or load file %s; see \"ecard gp list\".", text);
		return ec_error_refused(err, "DELETE", sw, hint);
	}
	if (sw == SW_CONDITIONS) {
		snprintf(hint, sizeof(hint),
			 "%s is still used by an application (delete them with --related), or it cannot be deleted (the card manager).",
			 text);
		return ec_error_refused(err, "DELETE", sw, hint);
	}
	return ec_error_sw(err, "DELETE", sw);
}

/* ---- PUT KEY ---- */

/* One key's field of an SCP02 card's PUT KEY: type, length, the key
 * encrypted with the session's DEK, KCV. */
static enum ec_status key_field_des(struct ec_gp_session *s, struct writer *w, const uint8_t *key,
				    uint8_t kcv[EC_GP_KCV_LEN])
{
	uint8_t enc[16];
	enum ec_status st = ec_scp02_encrypt_sensitive(&s->scp02, key, 16, enc);
	if (st == EC_OK)
		st = ec_gp_kcv_des3(key, kcv);
	writer_u8(w, GP_KEY_TYPE_DES);
	writer_u8(w, 16);
	writer_bytes(w, enc, 16);
	writer_u8(w, EC_GP_KCV_LEN);
	writer_bytes(w, kcv, EC_GP_KCV_LEN);
	crypto_wipe(enc, sizeof(enc));
	return st;
}

enum ec_status ec_gp_put_key(struct ec_gp_session *s, const struct ec_gp_keys *keys,
			     uint8_t replace_kvn, uint8_t kcv_out[3][EC_GP_KCV_LEN],
			     struct ec_error *err)
{
	uint8_t cmd[6 + 1 + 3 * (3 + 32 + 1 + EC_GP_KCV_LEN) + 1], answer[32];
	uint8_t kcv[3][EC_GP_KCV_LEN];
	const uint8_t *parts[3];
	char hint[200];
	size_t len = 0;
	struct writer w;
	uint16_t sw;

	if (!s || !s->open)
		return ec_error_set(err, EC_ERR_ARG, "the secure channel is not open: open it before PUT KEY.");
	if (!keys || keys->kvn == 0 || keys->kvn > 0x7F)
		return ec_error_set(err, EC_ERR_ARG, "a new key set needs a key version number from 01 to 7F.");
	if (s->scp == EC_GP_SCP02 && keys->len != 16)
		return ec_error_set(err, EC_ERR_ARG,
				    "an SCP02 card takes 16-byte triple DES keys in PUT KEY.");
	if (s->scp != EC_GP_SCP02 && keys->len != 16 && keys->len != 24 && keys->len != 32)
		return ec_error_set(err, EC_ERR_ARG,
				    "an SCP03 card takes AES keys of 16, 24 or 32 bytes in PUT KEY.");
	size_t cmd_len = 0;
	enum ec_status st = EC_OK;
	if (s->scp == EC_GP_SCP02) {
		parts[0] = keys->enc;
		parts[1] = keys->mac;
		parts[2] = keys->dek;
		writer_init(&w, cmd, sizeof(cmd));
		writer_u8(&w, gp_cla(s));
		writer_u8(&w, GP_INS_PUT_KEY);
		writer_u8(&w, replace_kvn);	/* 0: a new key set */
		writer_u8(&w, 0x81);		/* from key 1, several keys */
		uint8_t *lc = writer_reserve(&w, 1);
		size_t start = w.len;
		writer_u8(&w, keys->kvn);
		for (int k = 0; k < 3 && st == EC_OK; k++)
			st = key_field_des(s, &w, parts[k], kcv[k]);
		if (st != EC_OK || !writer_ok(&w) || !lc || w.len - start > 255) {
			crypto_wipe(cmd, sizeof(cmd));
			if (st == EC_OK)
				return ec_error_set(err, EC_ERR_ARG, "PUT KEY could not be built.");
			return ec_error_set(err, EC_ERR_CRYPTO, "the new keys could not be encrypted for PUT KEY.");
		}
		*lc = (uint8_t)(w.len - start);
		writer_u8(&w, 0x00);
		cmd_len = w.len;
	} else {
		st = ec_gp_cmd_put_key_aes(gp_cla(s), keys, s->keys.dek, s->keys.len, replace_kvn, cmd,
					   sizeof(cmd), &cmd_len, kcv);
		if (st != EC_OK)
			return ec_error_set(err, st, st == EC_ERR_CRYPTO
					    ? "the new keys could not be encrypted for PUT KEY."
					    : "PUT KEY could not be built.");
	}

	st = ec_gp_exchange(s, "PUT KEY", cmd, cmd_len, answer, sizeof(answer), &len, &sw, err);
	crypto_wipe(cmd, sizeof(cmd));
	if (st != EC_OK)
		return st;
	if (sw == SW_REF_DATA_NOT_FOUND && replace_kvn) {
		snprintf(hint, sizeof(hint), "the card has no key set %02X to replace; see \"ecard gp info\".",
			 replace_kvn);
		return ec_error_refused(err, "PUT KEY", sw, hint);
	}
	if (sw == SW_CONDITIONS || sw == SW_NOT_ENOUGH_MEMORY) {
		snprintf(hint, sizeof(hint),
			 "the card already has key set %02X, or no room for another one; replace one with --replace.",
			 keys->kvn);
		return ec_error_refused(err, "PUT KEY", sw, hint);
	}
	if (sw == SW_WRONG_DATA)
		return ec_error_refused(err, "PUT KEY", sw,
			       "the card could not decrypt or check the new keys (wrong key type or length for this card?).");
	if (sw != SW_OK)
		return ec_error_sw(err, "PUT KEY", sw);
	/* The card answers the version and the KCVs it computed itself. */
	if (len > 0 && (len != 1 + 3 * EC_GP_KCV_LEN || answer[0] != keys->kvn ||
			memcmp(answer + 1, kcv, sizeof(kcv)) != 0))
		return ec_error_set(err, EC_ERR_CHECK,
				    "the card's key check values for key set %02X do not match the keys sent: check the keys with \"ecard gp info\" before using them.",
				    keys->kvn);
	if (kcv_out)
		memcpy(kcv_out, kcv, sizeof(kcv));
	return EC_OK;
}

/* ---- SET STATUS ---- */

enum ec_status ec_gp_set_app_lock(struct ec_gp_session *s, const uint8_t *aid, size_t aid_len,
				  bool lock, struct ec_error *err)
{
	uint8_t cmd[5 + EC_GP_AID_MAX];
	char text[2 * EC_GP_AID_MAX + 1], hint[200];
	const char *what = lock ? "SET STATUS (lock)" : "SET STATUS (unlock)";
	uint16_t sw;

	if (!s || !s->open)
		return ec_error_set(err, EC_ERR_ARG, "the secure channel is not open: open it before SET STATUS.");
	size_t len;
	if (ec_gp_cmd_set_app_status(gp_cla(s), aid, aid_len, lock, cmd, sizeof(cmd), &len) != EC_OK)
		return ec_error_set(err, EC_ERR_ARG, "SET STATUS needs an AID of 1 to 16 bytes.");
	enum ec_status st = ec_gp_exchange(s, what, cmd, len, NULL, 0, NULL, &sw, err);
	if (st != EC_OK || sw == SW_OK)
		return st;
	aid_text(aid, aid_len, text);
	if (sw == SW_REF_DATA_NOT_FOUND) {
		snprintf(hint, sizeof(hint), "the card has no application %s; see \"ecard gp list\".", text);
		return ec_error_refused(err, what, sw, hint);
	}
	if (sw == SW_CONDITIONS)
		return ec_error_refused(err, what, sw,
			       "this application's life cycle cannot be changed this way (the card manager cannot be locked).");
	return ec_error_sw(err, what, sw);
}

enum ec_status ec_gp_set_card_state(struct ec_gp_session *s, uint8_t state, struct ec_error *err)
{
	char hint[200];
	uint16_t sw;

	if (!s || !s->open)
		return ec_error_set(err, EC_ERR_ARG, "the secure channel is not open: open it before SET STATUS.");
	uint8_t cmd[4] = { gp_cla(s), GP_INS_SET_STATUS, GP_SET_STATUS_CARD, state };
	enum ec_status st = ec_gp_exchange(s, "SET STATUS of the card", cmd, sizeof(cmd), NULL, 0, NULL,
					 &sw, err);
	if (st != EC_OK || sw == SW_OK)
		return st;
	if (sw == SW_CONDITIONS) {
		snprintf(hint, sizeof(hint),
			 "the card cannot go from its life cycle state to %s (%02X); see \"ecard gp list\".",
			 ec_gp_card_state_name(state), state);
		return ec_error_refused(err, "SET STATUS of the card", sw, hint);
	}
	return ec_error_sw(err, "SET STATUS of the card", sw);
}
