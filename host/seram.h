/*
 * seram.h - the messages of GlobalPlatform SE Remote Application Management
 * (SERAM) 2.0.0, HTTP REST binding with JSON: what ecard-server (the
 * remote agent) and `ecard agent` (the local agent) say to each other.
 *
 *   POST /handshake?sessionId=ID         ramHandshakeCommand -> ramHandshakeResponse
 *   POST /remoteManagement?sessionId=ID  remoteManagementReport -> remoteManagementOrder
 *
 * Each message has a C form here, a parser from JSON (bounded: sizes and
 * counts below, APDUs as hex with an even number of digits) and an encoder
 * to JSON (a malloc'd string the caller frees).
 *
 * Where the published OpenAPI file contradicts itself, the encoders send
 * the names its schemas define and the parsers also take the others:
 *   - command types: "ramStartCommand"/"ramStopCommand" (its discriminator
 *     mapping) are sent; "startCommand"/"stopCommand" (its examples) are
 *     read too;
 *   - the handshake answer carries the format as "chosenDataFormat" (the
 *     property defined) and as "chosenDataProtocol" (the name its required
 *     list gives), so a validator of either reading accepts it;
 *   - the report's count goes as "executedSeRamCommands" (defined) and as
 *     "executedRamCommands" (required); "executeRamCommands" (an example)
 *     is read too.
 */
#ifndef ECARD_SERAM_H
#define ECARD_SERAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define SERAM_VERSION "2.0.0"
#define SERAM_FORMAT_JSON "application/json"
#define SERAM_TRANSPORT_HTTPS "HTTPS"

/* Bounds of what a parser takes. */
#define SERAM_SE_MAX 16
#define SERAM_SE_ID_MAX 128
#define SERAM_SE_TYPE_MAX 8
#define SERAM_SE_EXTRA_MAX 128
#define SERAM_COMMANDS_MAX 64
#define SERAM_APDUS_MAX 4096
#define SERAM_APDU_MAX (5 + 65535 + 3)
#define SERAM_TEXT_MAX 1024
#define SERAM_SESSION_ID_MAX 64

struct seram_se {
	char type[SERAM_SE_TYPE_MAX + 1];	/* eSE iSE uicc euicc ieuicc */
	char id[SERAM_SE_ID_MAX + 1];
	char extra[SERAM_SE_EXTRA_MAX + 1];	/* "" when absent */
};

struct seram_handshake {
	struct seram_se se[SERAM_SE_MAX];
	size_t se_count;
	/* What the local agent offers, with the spec's defaults when absent. */
	bool offers_json;
	bool offers_https;
	bool offers_version;	/* a 2.x version */
};

struct seram_handshake_response {
	char transport[16];
	char format[32];
	char version[16];
};

struct seram_apdu {
	uint8_t *bytes;
	size_t len;
};

struct seram_apdu_list {
	struct seram_apdu *items;
	size_t count;
};

enum seram_command_type {
	SERAM_CMD_START,
	SERAM_CMD_SE_RAM,
	SERAM_CMD_NOTIFICATION,
	SERAM_CMD_STOP,
};

struct seram_command {
	enum seram_command_type type;
	struct seram_apdu_list apdus;	/* SE_RAM */
	char *notification;		/* NOTIFICATION */
};

struct seram_order {
	long delay;			/* ms; -1: absent (the agent waits 1 s) */
	bool has_se;
	struct seram_se se;
	struct seram_command *commands;
	size_t count;
};

enum seram_status {
	SERAM_PROCESSED,
	SERAM_POLLING,
	SERAM_UNAVAILABLE_SE,
	SERAM_UNKNOWN_FAILURE,
	SERAM_UNGRANTED_ACCESS,
};

struct seram_report {
	enum seram_status status;
	long executed;			/* executedSeRamCommands */
	char *error;			/* errorMsg, NULL when absent */
	struct seram_apdu_list *responses;	/* one per seRamResponse */
	size_t count;
};

const char *seram_status_name(enum seram_status st);

/* A session id as the agent makes them: a random UUID (version 4). */
enum ec_status seram_new_session_id(char out[37]);
/* Whether text can be a session id: 1 to 64 of [A-Za-z0-9._~-]. */
bool seram_session_id_ok(const char *text);

/* Parsers: EC_ERR_FORMAT with one sentence in err for anything malformed.
 * The out structure is zeroed first and must be freed even on failure. */
enum ec_status seram_handshake_parse(const char *json, size_t len, struct seram_handshake *out,
				     struct ec_error *err);
enum ec_status seram_handshake_response_parse(const char *json, size_t len,
					      struct seram_handshake_response *out,
					      struct ec_error *err);
enum ec_status seram_order_parse(const char *json, size_t len, struct seram_order *out,
				 struct ec_error *err);
enum ec_status seram_report_parse(const char *json, size_t len, struct seram_report *out,
				  struct ec_error *err);

/* Encoders: a NUL-terminated JSON text, or NULL when out of memory. */
char *seram_handshake_encode(const struct seram_handshake *in);
char *seram_handshake_response_encode(const struct seram_handshake_response *in);
char *seram_order_encode(const struct seram_order *in);
char *seram_report_encode(const struct seram_report *in);

/* Building orders and reports: append, copying the bytes. */
enum ec_status seram_apdu_list_add(struct seram_apdu_list *l, const uint8_t *bytes, size_t len);
struct seram_command *seram_order_add(struct seram_order *o, enum seram_command_type type);
struct seram_apdu_list *seram_report_add(struct seram_report *r);

void seram_apdu_list_free(struct seram_apdu_list *l);
void seram_order_free(struct seram_order *o);
void seram_report_free(struct seram_report *r);

#endif
