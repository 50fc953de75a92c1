/*
 * seram.c - GP SERAM messages to and from JSON (seram.h), with jansson.
 */
#include "seram.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "crypto.h"
#include "hex.h"

static const char *const status_names[] = {
	[SERAM_PROCESSED] = "PROCESSED",
	[SERAM_POLLING] = "POLLING",
	[SERAM_UNAVAILABLE_SE] = "UNAVAILABLE_SE",
	[SERAM_UNKNOWN_FAILURE] = "UNKNOWN_FAILURE",
	[SERAM_UNGRANTED_ACCESS] = "UNGRANTED_ACCESS",
};

static const char *const se_types[] = { "eSE", "iSE", "uicc", "euicc", "ieuicc" };

const char *seram_status_name(enum seram_status st)
{
	if ((size_t)st < sizeof(status_names) / sizeof(status_names[0]))
		return status_names[st];
	return "UNKNOWN_FAILURE";
}

enum ec_status seram_new_session_id(char out[37])
{
	uint8_t b[16];

	if (crypto_random(b, sizeof(b)) != 0)
		return EC_ERR_CRYPTO;
	b[6] = (uint8_t)((b[6] & 0x0F) | 0x40);	/* version 4 */
	b[8] = (uint8_t)((b[8] & 0x3F) | 0x80);	/* RFC 4122 variant */
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11],
		 b[12], b[13], b[14], b[15]);
	return EC_OK;
}

bool seram_session_id_ok(const char *text)
{
	size_t n = text ? strlen(text) : 0;

	if (n == 0 || n > SERAM_SESSION_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = text[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '.' || c == '_' || c == '~'))
			return false;
	}
	return true;
}

/* ---- parsing ---- */

/* "WHAT PROBLEM": one sentence about a member of a message. */
static enum ec_status bad(struct ec_error *err, const char *what, const char *problem)
{
	return ec_error_set(err, EC_ERR_FORMAT, "%s %s", what, problem);
}

static json_t *load(const char *text, size_t len, struct ec_error *err)
{
	json_error_t je;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);

	if (!root) {
		ec_error_set(err, EC_ERR_FORMAT, "the message is not JSON (%s, at line %d column %d).",
			     je.text, je.line, je.column);
		return NULL;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		ec_error_set(err, EC_ERR_FORMAT, "the message is not a JSON object.");
		return NULL;
	}
	return root;
}

/* An optional string member into a buffer: false when present but not a
 * string, or too long. */
static bool take_string(json_t *obj, const char *key, char *out, size_t cap, bool *present)
{
	json_t *v = json_object_get(obj, key);

	out[0] = '\0';
	if (present)
		*present = v != NULL;
	if (!v)
		return true;
	if (!json_is_string(v) || json_string_length(v) >= cap ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return false;
	memcpy(out, json_string_value(v), json_string_length(v) + 1);
	return true;
}

static bool one_of(const char *s, const char *const *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, names[i]) == 0)
			return true;
	return false;
}

static enum ec_status parse_se(json_t *v, struct seram_se *se, struct ec_error *err)
{
	bool has_type, has_id;

	if (!json_is_object(v))
		return bad(err, "a secureElement", "is not an object.");
	if (!take_string(v, "seType", se->type, sizeof(se->type), &has_type) || !has_type ||
	    !one_of(se->type, se_types, sizeof(se_types) / sizeof(se_types[0])))
		return bad(err, "a secureElement", "needs seType, one of eSE, iSE, uicc, euicc, ieuicc.");
	if (!take_string(v, "seId", se->id, sizeof(se->id), &has_id) || !has_id || !se->id[0])
		return ec_error_set(err, EC_ERR_FORMAT,
				    "a secureElement needs seId, a string of 1 to %d characters.",
				    SERAM_SE_ID_MAX);
	if (!take_string(v, "seExtraInfo", se->extra, sizeof(se->extra), NULL))
		return bad(err, "a secureElement", "has a seExtraInfo that is not a short string.");
	return EC_OK;
}

/* An optional array of strings: whether it is absent or holds want. */
static enum ec_status offers(json_t *root, const char *key, const char *want, bool prefix,
			     bool *out, struct ec_error *err)
{
	json_t *a = json_object_get(root, key), *v;
	size_t i;

	*out = a == NULL;	/* absent: the spec's default, which we take */
	if (!a)
		return EC_OK;
	if (!json_is_array(a) || json_array_size(a) > SERAM_SE_MAX)
		return bad(err, key, "is not a short array of strings.");
	json_array_foreach(a, i, v) {
		if (!json_is_string(v))
			return bad(err, key, "is not a short array of strings.");
		const char *s = json_string_value(v);
		if (prefix ? strncmp(s, want, strlen(want)) == 0 : strcmp(s, want) == 0)
			*out = true;
	}
	return EC_OK;
}

enum ec_status seram_handshake_parse(const char *json, size_t len, struct seram_handshake *out,
				     struct ec_error *err)
{
	enum ec_status st = EC_ERR_FORMAT;
	json_t *root, *ses, *v;
	size_t i;

	memset(out, 0, sizeof(*out));
	root = load(json, len, err);
	if (!root)
		return EC_ERR_FORMAT;
	ses = json_object_get(root, "secureElements");
	if (!json_is_array(ses) || json_array_size(ses) == 0 || json_array_size(ses) > SERAM_SE_MAX) {
		ec_error_set(err, EC_ERR_FORMAT,
			     "a ramHandshakeCommand needs secureElements, an array of 1 to %d.",
			     SERAM_SE_MAX);
		goto out;
	}
	json_array_foreach(ses, i, v) {
		if (parse_se(v, &out->se[i], err) != EC_OK)
			goto out;
		out->se_count++;
	}
	if (offers(root, "supportedTransportProtocols", SERAM_TRANSPORT_HTTPS, false, &out->offers_https, err) != EC_OK ||
	    offers(root, "supportedDataFormats", SERAM_FORMAT_JSON, false, &out->offers_json, err) != EC_OK)
		goto out;
	/* The spec names it supportedVersions; its example, supportedVersion. */
	const char *vkey = json_object_get(root, "supportedVersions") ? "supportedVersions"
								     : "supportedVersion";
	if (offers(root, vkey, "2.", true, &out->offers_version, err) != EC_OK)
		goto out;
	st = EC_OK;
out:
	json_decref(root);
	return st;
}

enum ec_status seram_handshake_response_parse(const char *json, size_t len,
					      struct seram_handshake_response *out,
					      struct ec_error *err)
{
	enum ec_status st = EC_ERR_FORMAT;
	bool has_transport, has_format, has_protocol, has_version;
	char protocol[sizeof(out->format)];
	json_t *root;

	memset(out, 0, sizeof(*out));
	root = load(json, len, err);
	if (!root)
		return EC_ERR_FORMAT;
	if (!take_string(root, "chosenTransportProtocol", out->transport, sizeof(out->transport), &has_transport) ||
	    !take_string(root, "chosenDataFormat", out->format, sizeof(out->format), &has_format) ||
	    !take_string(root, "chosenDataProtocol", protocol, sizeof(protocol), &has_protocol) ||
	    !take_string(root, "chosenVersion", out->version, sizeof(out->version), &has_version)) {
		ec_error_set(err, EC_ERR_FORMAT, "a ramHandshakeResponse member is not a short string.");
		goto out;
	}
	if (!has_format && has_protocol)
		memcpy(out->format, protocol, sizeof(protocol));
	if (!has_transport || (!has_format && !has_protocol) || !has_version) {
		ec_error_set(err, EC_ERR_FORMAT,
			     "a ramHandshakeResponse needs chosenTransportProtocol, chosenDataFormat and chosenVersion.");
		goto out;
	}
	st = EC_OK;
out:
	json_decref(root);
	return st;
}

static enum ec_status parse_apdus(json_t *a, const char *what, struct seram_apdu_list *l,
				  bool empty_ok, struct ec_error *err)
{
	json_t *v;
	size_t i;

	if (!json_is_array(a) || json_array_size(a) > SERAM_APDUS_MAX)
		return ec_error_set(err, EC_ERR_FORMAT, "%s is not an array of at most %d APDUs.", what,
				    SERAM_APDUS_MAX);
	l->items = calloc(json_array_size(a) ? json_array_size(a) : 1, sizeof(*l->items));
	if (!l->items)
		return ec_error_set(err, EC_ERR_FORMAT, "out of memory reading %s.", what);
	json_array_foreach(a, i, v) {
		const char *s = json_is_string(v) ? json_string_value(v) : NULL;
		size_t n = s ? json_string_length(v) : 0;
		if (!s || n % 2 || n / 2 > SERAM_APDU_MAX || strlen(s) != n || (n == 0 && !empty_ok))
			return ec_error_set(err, EC_ERR_FORMAT,
					    "%s item %zu is not an APDU in hexadecimal.", what, i + 1);
		struct seram_apdu *ap = &l->items[l->count];
		ap->bytes = malloc(n / 2 ? n / 2 : 1);
		if (!ap->bytes)
			return ec_error_set(err, EC_ERR_FORMAT, "out of memory reading %s.", what);
		l->count++;
		if (hex_decode(s, ap->bytes, n / 2) != (long)(n / 2))
			return ec_error_set(err, EC_ERR_FORMAT,
					    "%s item %zu is not an APDU in hexadecimal.", what, i + 1);
		ap->len = n / 2;
	}
	return EC_OK;
}

static bool command_type(const char *s, enum seram_command_type *t)
{
	if (strcmp(s, "ramStartCommand") == 0 || strcmp(s, "startCommand") == 0)
		*t = SERAM_CMD_START;
	else if (strcmp(s, "seRamCommand") == 0)
		*t = SERAM_CMD_SE_RAM;
	else if (strcmp(s, "notificationCommand") == 0)
		*t = SERAM_CMD_NOTIFICATION;
	else if (strcmp(s, "ramStopCommand") == 0 || strcmp(s, "stopCommand") == 0)
		*t = SERAM_CMD_STOP;
	else
		return false;
	return true;
}

enum ec_status seram_order_parse(const char *json, size_t len, struct seram_order *out,
				 struct ec_error *err)
{
	enum ec_status st = EC_ERR_FORMAT;
	json_t *root, *v, *cmds;
	size_t i;

	memset(out, 0, sizeof(*out));
	out->delay = -1;
	root = load(json, len, err);
	if (!root)
		return EC_ERR_FORMAT;
	v = json_object_get(root, "delay");
	if (v) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > 24 * 3600 * 1000) {
			ec_error_set(err, EC_ERR_FORMAT, "delay is not a number of milliseconds.");
			goto out;
		}
		out->delay = (long)json_integer_value(v);
	}
	v = json_object_get(root, "chosenSecureElement");
	if (v) {
		if (parse_se(v, &out->se, err) != EC_OK)
			goto out;
		out->has_se = true;
	}
	cmds = json_object_get(root, "ramCommands");
	if (cmds) {
		if (!json_is_array(cmds) || json_array_size(cmds) == 0 ||
		    json_array_size(cmds) > SERAM_COMMANDS_MAX) {
			ec_error_set(err, EC_ERR_FORMAT, "ramCommands is not an array of 1 to %d commands.",
				     SERAM_COMMANDS_MAX);
			goto out;
		}
		out->commands = calloc(json_array_size(cmds), sizeof(*out->commands));
		if (!out->commands) {
			ec_error_set(err, EC_ERR_FORMAT, "out of memory reading an order.");
			goto out;
		}
		json_array_foreach(cmds, i, v) {
			json_t *t = json_is_object(v) ? json_object_get(v, "ramCommandType") : NULL;
			struct seram_command *c = &out->commands[out->count];
			if (!json_is_string(t) || !command_type(json_string_value(t), &c->type)) {
				ec_error_set(err, EC_ERR_FORMAT,
					     "ramCommands item %zu has no known ramCommandType.", i + 1);
				goto out;
			}
			out->count++;
			if (c->type == SERAM_CMD_SE_RAM &&
			    parse_apdus(json_object_get(v, "listOfCAPDU"), "listOfCAPDU", &c->apdus, false,
					err) != EC_OK)
				goto out;
			if (c->type == SERAM_CMD_NOTIFICATION) {
				json_t *n = json_object_get(v, "deviceAppNotification");
				if (!json_is_string(n) || json_string_length(n) > SERAM_TEXT_MAX ||
				    !(c->notification = strdup(json_string_value(n)))) {
					ec_error_set(err, EC_ERR_FORMAT,
						     "a notificationCommand needs deviceAppNotification, a string.");
					goto out;
				}
			}
		}
	}
	st = EC_OK;
out:
	json_decref(root);
	return st;
}

static bool status_from(const char *s, enum seram_status *out)
{
	for (size_t i = 0; i < sizeof(status_names) / sizeof(status_names[0]); i++)
		if (strcmp(s, status_names[i]) == 0) {
			*out = (enum seram_status)i;
			return true;
		}
	return false;
}

enum ec_status seram_report_parse(const char *json, size_t len, struct seram_report *out,
				  struct ec_error *err)
{
	static const char *const count_keys[] = { "executedSeRamCommands", "executedRamCommands",
						  "executeRamCommands" };
	enum ec_status st = EC_ERR_FORMAT;
	json_t *root, *las, *v, *rs;
	size_t i;

	memset(out, 0, sizeof(*out));
	root = load(json, len, err);
	if (!root)
		return EC_ERR_FORMAT;
	las = json_object_get(root, "localAgentStatus");
	v = json_is_object(las) ? json_object_get(las, "localAgentStatusEnum") : NULL;
	if (!json_is_string(v) || !status_from(json_string_value(v), &out->status)) {
		ec_error_set(err, EC_ERR_FORMAT,
			     "a remoteManagementReport needs localAgentStatus with a known localAgentStatusEnum.");
		goto out;
	}
	for (i = 0; i < sizeof(count_keys) / sizeof(count_keys[0]); i++) {
		v = json_object_get(las, count_keys[i]);
		if (!v)
			continue;
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > SERAM_APDUS_MAX * SERAM_COMMANDS_MAX) {
			ec_error_set(err, EC_ERR_FORMAT, "%s is not a count.", count_keys[i]);
			goto out;
		}
		out->executed = (long)json_integer_value(v);
		break;
	}
	v = json_object_get(las, "errorMsg");
	if (v) {
		if (!json_is_string(v) || json_string_length(v) > SERAM_TEXT_MAX ||
		    !(out->error = strdup(json_string_value(v)))) {
			ec_error_set(err, EC_ERR_FORMAT, "errorMsg is not a short string.");
			goto out;
		}
	}
	rs = json_object_get(root, "ramResponses");
	if (rs) {
		if (!json_is_array(rs) || json_array_size(rs) > SERAM_COMMANDS_MAX) {
			ec_error_set(err, EC_ERR_FORMAT, "ramResponses is not an array of at most %d.",
				     SERAM_COMMANDS_MAX);
			goto out;
		}
		out->responses = calloc(json_array_size(rs) ? json_array_size(rs) : 1,
					sizeof(*out->responses));
		if (!out->responses) {
			ec_error_set(err, EC_ERR_FORMAT, "out of memory reading a report.");
			goto out;
		}
		json_array_foreach(rs, i, v) {
			json_t *t = json_is_object(v) ? json_object_get(v, "ramResponseType") : NULL;
			if (!json_is_string(t) || strcmp(json_string_value(t), "seRamResponse") != 0) {
				ec_error_set(err, EC_ERR_FORMAT,
					     "ramResponses item %zu is not a seRamResponse.", i + 1);
				goto out;
			}
			out->count++;
			if (parse_apdus(json_object_get(v, "listOfRAPDU"), "listOfRAPDU",
					&out->responses[i], true, err) != EC_OK)
				goto out;
		}
	}
	st = EC_OK;
out:
	json_decref(root);
	return st;
}

/* ---- encoding ---- */

static json_t *se_json(const struct seram_se *se)
{
	json_t *o = json_pack("{s:s, s:s}", "seType", se->type, "seId", se->id);
	if (o && se->extra[0])
		json_object_set_new(o, "seExtraInfo", json_string(se->extra));
	return o;
}

static json_t *apdus_json(const struct seram_apdu_list *l)
{
	json_t *a = json_array();
	char *hex = NULL;
	size_t hex_cap = 0;

	for (size_t i = 0; a && i < l->count; i++) {
		size_t need = 2 * l->items[i].len + 1;
		if (need > hex_cap) {
			char *n = realloc(hex, need);
			if (!n) {
				json_decref(a);
				a = NULL;
				break;
			}
			hex = n;
			hex_cap = need;
		}
		hex_encode(l->items[i].bytes, l->items[i].len, hex);
		if (json_array_append_new(a, json_string(hex)) != 0) {
			json_decref(a);
			a = NULL;
		}
	}
	free(hex);
	return a;
}

static char *dump(json_t *root)
{
	char *text = root ? json_dumps(root, JSON_COMPACT) : NULL;
	json_decref(root);
	return text;
}

static json_t *string_list(const char *s)
{
	return json_pack("[s]", s);
}

char *seram_handshake_encode(const struct seram_handshake *in)
{
	json_t *root = json_object(), *ses = json_array();

	if (!root || !ses) {
		json_decref(root);
		json_decref(ses);
		return NULL;
	}
	for (size_t i = 0; i < in->se_count; i++)
		json_array_append_new(ses, se_json(&in->se[i]));
	json_object_set_new(root, "secureElements", ses);
	json_object_set_new(root, "supportedTransportProtocols", string_list(SERAM_TRANSPORT_HTTPS));
	json_object_set_new(root, "supportedDataFormats", string_list(SERAM_FORMAT_JSON));
	json_object_set_new(root, "supportedVersions", string_list(SERAM_VERSION));
	return dump(root);
}

char *seram_handshake_response_encode(const struct seram_handshake_response *in)
{
	return dump(json_pack("{s:s, s:s, s:s, s:s}", "chosenTransportProtocol", in->transport,
			      "chosenDataFormat", in->format, "chosenDataProtocol", in->format,
			      "chosenVersion", in->version));
}

static const char *command_name(enum seram_command_type t)
{
	switch (t) {
	case SERAM_CMD_START:
		return "ramStartCommand";
	case SERAM_CMD_SE_RAM:
		return "seRamCommand";
	case SERAM_CMD_NOTIFICATION:
		return "notificationCommand";
	default:
		return "ramStopCommand";
	}
}

char *seram_order_encode(const struct seram_order *in)
{
	json_t *root = json_object();

	if (!root)
		return NULL;
	if (in->delay >= 0)
		json_object_set_new(root, "delay", json_integer(in->delay));
	if (in->has_se)
		json_object_set_new(root, "chosenSecureElement", se_json(&in->se));
	if (in->count) {
		json_t *cmds = json_array();
		for (size_t i = 0; cmds && i < in->count; i++) {
			const struct seram_command *c = &in->commands[i];
			json_t *o = json_pack("{s:s}", "ramCommandType", command_name(c->type));
			if (!o)
				break;
			if (c->type == SERAM_CMD_SE_RAM)
				json_object_set_new(o, "listOfCAPDU", apdus_json(&c->apdus));
			if (c->type == SERAM_CMD_NOTIFICATION)
				json_object_set_new(o, "deviceAppNotification",
						    json_string(c->notification ? c->notification : ""));
			json_array_append_new(cmds, o);
		}
		json_object_set_new(root, "ramCommands", cmds);
	}
	return dump(root);
}

char *seram_report_encode(const struct seram_report *in)
{
	json_t *root = json_object();
	json_t *las = json_pack("{s:s, s:I, s:I}", "localAgentStatusEnum",
				seram_status_name(in->status), "executedSeRamCommands",
				(json_int_t)in->executed, "executedRamCommands",
				(json_int_t)in->executed);

	if (!root || !las) {
		json_decref(root);
		json_decref(las);
		return NULL;
	}
	if (in->error)
		json_object_set_new(las, "errorMsg", json_string(in->error));
	json_object_set_new(root, "localAgentStatus", las);
	if (in->count) {
		json_t *rs = json_array();
		for (size_t i = 0; rs && i < in->count; i++) {
			json_t *o = json_pack("{s:s}", "ramResponseType", "seRamResponse");
			if (o)
				json_object_set_new(o, "listOfRAPDU", apdus_json(&in->responses[i]));
			json_array_append_new(rs, o);
		}
		json_object_set_new(root, "ramResponses", rs);
	}
	return dump(root);
}

/* ---- building and freeing ---- */

enum ec_status seram_apdu_list_add(struct seram_apdu_list *l, const uint8_t *bytes, size_t len)
{
	struct seram_apdu *n = realloc(l->items, (l->count + 1) * sizeof(*n));
	if (!n)
		return EC_ERR_ARG;
	l->items = n;
	n[l->count].bytes = malloc(len ? len : 1);
	if (!n[l->count].bytes)
		return EC_ERR_ARG;
	if (len)
		memcpy(n[l->count].bytes, bytes, len);
	n[l->count].len = len;
	l->count++;
	return EC_OK;
}

struct seram_command *seram_order_add(struct seram_order *o, enum seram_command_type type)
{
	struct seram_command *n = realloc(o->commands, (o->count + 1) * sizeof(*n));
	if (!n)
		return NULL;
	o->commands = n;
	memset(&n[o->count], 0, sizeof(*n));
	n[o->count].type = type;
	return &n[o->count++];
}

struct seram_apdu_list *seram_report_add(struct seram_report *r)
{
	struct seram_apdu_list *n = realloc(r->responses, (r->count + 1) * sizeof(*n));
	if (!n)
		return NULL;
	r->responses = n;
	memset(&n[r->count], 0, sizeof(*n));
	return &n[r->count++];
}

void seram_apdu_list_free(struct seram_apdu_list *l)
{
	for (size_t i = 0; i < l->count; i++)
		free(l->items[i].bytes);
	free(l->items);
	l->items = NULL;
	l->count = 0;
}

void seram_order_free(struct seram_order *o)
{
	for (size_t i = 0; i < o->count; i++) {
		seram_apdu_list_free(&o->commands[i].apdus);
		free(o->commands[i].notification);
	}
	free(o->commands);
	o->commands = NULL;
	o->count = 0;
}

void seram_report_free(struct seram_report *r)
{
	for (size_t i = 0; i < r->count; i++)
		seram_apdu_list_free(&r->responses[i]);
	free(r->responses);
	free(r->error);
	r->responses = NULL;
	r->error = NULL;
	r->count = 0;
}
