/*
 * profile.c - the holder's side of the profile (see profile.h).
 */
#include "profile.h"

#include <string.h>
#include <strings.h>

#include "crypto.h"
#include "exchange.h"
#include "hex.h"
#include "utf8.h"

const uint8_t ec_profile_aid[PROFILE_AID_LEN] = { PROFILE_AID };

const struct ec_profile_field ec_profile_fields[EC_PROFILE_FIELDS] = {
	{ PROFILE_FIELD_USERNAME, "username", false },
	{ PROFILE_FIELD_PASSWORD, "password", true },
	{ PROFILE_FIELD_FORENAME, "forename", false },
	{ PROFILE_FIELD_SURNAME, "surname", false },
	{ PROFILE_FIELD_STREET, "street", false },
	{ PROFILE_FIELD_TOWN, "town", false },
	{ PROFILE_FIELD_COUNTY, "county", false },
	{ PROFILE_FIELD_POSTCODE, "postcode", false },
	{ PROFILE_FIELD_CARD_NUMBER, "card-number", true },
	{ PROFILE_FIELD_EMAIL, "email", false },
	{ PROFILE_FIELD_PHONE, "phone", false },
};

const struct ec_profile_field *ec_profile_field_find(const char *name_or_id)
{
	if (!name_or_id)
		return NULL;
	for (size_t i = 0; i < EC_PROFILE_FIELDS; i++)
		if (strcasecmp(ec_profile_fields[i].name, name_or_id) == 0)
			return &ec_profile_fields[i];

	const char *p = name_or_id;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		p += 2;
	uint8_t id;
	size_t n = strlen(p);
	char two[3] = { '0', '0', '\0' };
	if (n == 0 || n > 2)
		return NULL;
	memcpy(two + 2 - n, p, n);
	if (hex_decode(two, &id, 1) != 1)
		return NULL;
	for (size_t i = 0; i < EC_PROFILE_FIELDS; i++)
		if (ec_profile_fields[i].id == id)
			return &ec_profile_fields[i];
	return NULL;
}

static const char *const policy_names[] = { "never", "session", "always" };

int ec_profile_policy_parse(const char *text)
{
	if (!text)
		return -1;
	for (int i = 0; i < 3; i++)
		if (strcasecmp(text, policy_names[i]) == 0 ||
		    (text[0] == (char)('0' + i) && text[1] == '\0'))
			return i;
	return -1;
}

const char *ec_profile_policy_name(uint8_t policy)
{
	return policy <= EC_POLICY_ALWAYS ? policy_names[policy] : "unknown";
}

enum ec_status ec_profile_select(struct ec_pcsc *pc, struct ec_error *err)
{
	return ec_select_app(pc, ec_profile_aid, sizeof(ec_profile_aid), "profile", err);
}

enum ec_status ec_profile_get_field(struct ec_pcsc *pc, uint8_t id, char *value, size_t cap,
				    size_t *len, struct ec_error *err)
{
	uint8_t cmd[5] = { 0x00, PROFILE_INS_GET_FIELD, PROFILE_FIELD_P1, id, 0x00 };
	uint8_t data[EC_PROFILE_VALUE_MAX];
	size_t n;

	*len = 0;
	if (cap < EC_PROFILE_VALUE_MAX + 1)
		return ec_error_set(err, EC_ERR_ARG, "the buffer for a profile field is too small: this is a bug in the calling program.");
	enum ec_status st = ec_command(pc, "GET FIELD", cmd, sizeof(cmd), data, sizeof(data), &n,
				       err);
	if (st == EC_OK) {
		memcpy(value, data, n);
		value[n] = '\0';
		*len = n;
	}
	crypto_wipe(data, sizeof(data));
	return st;
}

enum ec_status ec_profile_put_field(struct ec_pcsc *pc, uint8_t id, const char *value,
				    size_t len, struct ec_error *err)
{
	uint8_t cmd[5 + EC_PROFILE_VALUE_MAX] = { 0x00, PROFILE_INS_PUT_FIELD, PROFILE_FIELD_P1, id,
						  0x00 };

	if (len > EC_PROFILE_VALUE_MAX)
		return ec_error_set(err, EC_ERR_ARG,
				    "a profile value is at most %d bytes (this one has %zu): shorten it.",
				    EC_PROFILE_VALUE_MAX, len);
	/* The card refuses it too (6A80): say so before anything is sent. */
	if (!utf8_valid((const uint8_t *)value, len))
		return ec_error_set(err, EC_ERR_ARG,
				    "a profile value is UTF-8 text, and this one is not (check the "
				    "terminal's or the file's encoding): nothing was sent to the card.");
	cmd[4] = (uint8_t)len;
	if (len)
		memcpy(cmd + 5, value, len);
	/* An empty value is sent without Lc, the way the profile clears a field. */
	enum ec_status st = ec_command(pc, "PUT FIELD", cmd, len ? 5 + len : 4, NULL, 0, NULL,
				       err);
	crypto_wipe(cmd, sizeof(cmd));
	return st;
}

enum ec_status ec_profile_get_policy(struct ec_pcsc *pc, uint8_t *general, uint8_t *private_class,
				     struct ec_error *err)
{
	static const uint8_t cmd[] = { 0x80, PROFILE_INS_GET_POLICY, 0x00, 0x00, 0x00 };
	uint8_t data[2];
	size_t n;

	enum ec_status st = ec_command(pc, "GET POLICY", cmd, sizeof(cmd), data, sizeof(data), &n,
				       err);
	if (st != EC_OK)
		return st;
	if (n != 2)
		return ec_error_set(err, EC_ERR_FORMAT,
				    "the profile's policy has %zu bytes instead of 2: is this an ecard profile?",
				    n);
	*general = data[0];
	*private_class = data[1];
	return EC_OK;
}

enum ec_status ec_profile_set_policy(struct ec_pcsc *pc, uint8_t general, uint8_t private_class,
				     struct ec_error *err)
{
	uint8_t cmd[7] = { 0x80, PROFILE_INS_SET_POLICY, 0x00, 0x00, 0x02, general, private_class };

	if (general > EC_POLICY_ALWAYS || private_class > EC_POLICY_ALWAYS)
		return ec_error_set(err, EC_ERR_ARG, "a release policy is never, session or always.");
	return ec_command(pc, "SET POLICY", cmd, sizeof(cmd), NULL, 0, NULL, err);
}
