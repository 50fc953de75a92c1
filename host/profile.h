/*
 * profile.h - the holder's side of the profile (DESIGN §2.2; its APDUs are
 * in common/profile_proto.h): the field table, release policies, and GET
 * FIELD, PUT FIELD, GET POLICY and SET POLICY. Changing a field or a
 * policy needs a fresh VERIFY (pin_client.h) right before.
 */
#ifndef ECARD_PROFILE_H
#define ECARD_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pcsc.h"
#include "profile_proto.h"

extern const uint8_t ec_profile_aid[PROFILE_AID_LEN];

#define EC_PROFILE_FIELDS PROFILE_FIELDS
#define EC_PROFILE_VALUE_MAX PROFILE_VALUE_MAX

struct ec_profile_field {
	uint8_t id;		/* 01..0B */
	const char *name;	/* "username", "card-number"... */
	bool private_class;	/* released under the private policy */
};

extern const struct ec_profile_field ec_profile_fields[EC_PROFILE_FIELDS];

/* A field by name ("email") or by id in hex ("0A", "0x0a", "a"). */
const struct ec_profile_field *ec_profile_field_find(const char *name_or_id);

enum ec_profile_policy {
	EC_POLICY_NEVER = PROFILE_POLICY_NEVER,	/* released without a PIN */
	EC_POLICY_SESSION = PROFILE_POLICY_SESSION,	/* once per card session */
	EC_POLICY_ALWAYS = PROFILE_POLICY_ALWAYS,	/* a fresh PIN verification every time */
};

/* "never", "session", "always" (or 0, 1, 2); -1 when unknown. */
int ec_profile_policy_parse(const char *text);
const char *ec_profile_policy_name(uint8_t policy);

enum ec_status ec_profile_select(struct ec_pcsc *pc, struct ec_error *err);
/* GET FIELD: value receives the bytes and a terminating NUL (cap must be
 * at least EC_PROFILE_VALUE_MAX + 1). A field the policy keeps back gives
 * EC_ERR_CARD with err->sw 6982. */
enum ec_status ec_profile_get_field(struct ec_pcsc *pc, uint8_t id, char *value, size_t cap,
				    size_t *len, struct ec_error *err);
/* PUT FIELD (a fresh VERIFY must come right before); len 0 clears. */
enum ec_status ec_profile_put_field(struct ec_pcsc *pc, uint8_t id, const char *value,
				    size_t len, struct ec_error *err);
enum ec_status ec_profile_get_policy(struct ec_pcsc *pc, uint8_t *general, uint8_t *private_class,
				     struct ec_error *err);
/* SET POLICY (a fresh VERIFY must come right before). */
enum ec_status ec_profile_set_policy(struct ec_pcsc *pc, uint8_t general, uint8_t private_class,
				     struct ec_error *err);

#endif
