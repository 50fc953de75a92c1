/*
 * perso_job.c - the personalize job's commands (perso_job.h).
 */
#include "perso_job.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "gp_cmd.h"
#include "gp_proto.h"
#include "hex.h"
#include "perso.h"
#include "profile.h"
#include "wallet.h"

#define CLA_GP 0x80

char *perso_save(const struct perso_progress *p)
{
	char serial[2 * PURSE_SERIAL_LEN + 1], cert[2 * PURSE_CERT_LEN + 1];
	json_t *o = json_pack("{s:b, s:b}", "certified", p->certified, "sealed", p->sealed);

	if (p->certified) {
		hex_encode(p->serial, PURSE_SERIAL_LEN, serial);
		hex_encode(p->cert, PURSE_CERT_LEN, cert);
		json_object_set_new(o, "serial", json_string(serial));
		json_object_set_new(o, "cert", json_string(cert));
	}
	char *text = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(o);
	return text;
}

static bool hex_member(json_t *o, const char *key, uint8_t *out, size_t len)
{
	json_t *v = json_object_get(o, key);
	const char *s = json_is_string(v) ? json_string_value(v) : NULL;
	return s && strlen(s) == 2 * len && hex_decode(s, out, len) == (long)len;
}

enum ec_status perso_load(const char *text, struct perso_progress *p, struct ec_error *err)
{
	memset(p, 0, sizeof(*p));
	if (!text || !text[0])
		return EC_OK;
	json_t *o = json_loads(text, 0, NULL);
	if (!json_is_object(o)) {
		json_decref(o);
		return ec_error_set(err, EC_ERR_FORMAT, "a personalize job's progress is damaged.");
	}
	p->certified = json_is_true(json_object_get(o, "certified"));
	p->sealed = json_is_true(json_object_get(o, "sealed"));
	bool ok = !p->certified || (hex_member(o, "serial", p->serial, PURSE_SERIAL_LEN) &&
				    hex_member(o, "cert", p->cert, PURSE_CERT_LEN));
	json_decref(o);
	if (!ok || (p->sealed && !p->certified))
		return ec_error_set(err, EC_ERR_FORMAT, "a personalize job's progress is damaged.");
	return EC_OK;
}

size_t perso_stage_end(size_t i)
{
	if (i <= PERSO_KEYGEN)
		return PERSO_KEYGEN + 1;
	if (i <= PERSO_SEAL)
		return PERSO_SEAL + 1;
	return PERSO_COMMANDS;
}

size_t perso_resume(size_t next, const struct perso_progress *p)
{
	if (!p->certified)
		return 0;
	if (!p->sealed)
		return PERSO_KEYGEN + 1;
	if (next >= PERSO_PUT_KEY)
		return PERSO_PUT_KEY;
	return PERSO_SEAL + 1;
}

/* A profile field, when its value fits. */
static void field(uint8_t *buf, size_t *n, uint8_t tag, const char *value, size_t len)
{
	if (len == 0 || len > EC_PROFILE_VALUE_MAX)
		return;
	buf[(*n)++] = tag;
	buf[(*n)++] = (uint8_t)len;
	memcpy(buf + *n, value, len);
	*n += len;
}

/* The profile's one block: username and e-mail the address, forename
 * and surname the name cut at its last space. */
static size_t profile_block(const char *name, const char *email, uint8_t *buf)
{
	size_t n = 0;
	const char *space = name ? strrchr(name, ' ') : NULL;

	field(buf, &n, PROFILE_FIELD_USERNAME, email, email ? strlen(email) : 0);
	field(buf, &n, PROFILE_FIELD_EMAIL, email, email ? strlen(email) : 0);
	if (space) {
		field(buf, &n, PROFILE_FIELD_FORENAME, name, (size_t)(space - name));
		field(buf, &n, PROFILE_FIELD_SURNAME, space + 1, strlen(space + 1));
	} else {
		field(buf, &n, PROFILE_FIELD_FORENAME, name, name ? strlen(name) : 0);
	}
	return n;
}

enum ec_status perso_command(const struct ec_issuer *issuer, const uint8_t *dek, size_t dek_len,
			     const struct perso_progress *p, const char *name, const char *email,
			     size_t i, uint8_t *out, size_t cap, size_t *len, struct ec_error *err)
{
	struct ec_perso_wallet data;
	uint8_t block[4 * (2 + EC_PROFILE_VALUE_MAX)];
	enum ec_status s;

	switch (i) {
	case 0:
	case 2:
		s = ec_gp_cmd_install_for_perso(CLA_GP, ec_wallet_aid, WALLET_AID_LEN, out, cap, len);
		break;
	case PERSO_KEYGEN:
		s = ec_gp_cmd_store_data(CLA_GP, 0x00, 0, NULL, 0, ec_perso_generate,
					 sizeof(ec_perso_generate), out, cap, len);
		break;
	case 3:
	case 4:
	case PERSO_SEAL:
		if (!p->certified)
			return ec_error_set(err, EC_ERR_ARG, "the card's key pair is not known yet.");
		if ((s = ec_perso_wallet_data(issuer, p->serial, p->cert, &data, err)) != EC_OK)
			return s;
		s = ec_gp_cmd_store_data(CLA_GP, i == PERSO_SEAL ? GP_P1_LAST_BLOCK : 0x00,
					 (uint8_t)(i - 2), i == 3 ? dek : NULL, dek_len,
					 data.block[i - 3], data.len[i - 3], out, cap, len);
		crypto_wipe(&data, sizeof(data));
		break;
	case 6:
		s = ec_gp_cmd_install_for_perso(CLA_GP, ec_profile_aid, PROFILE_AID_LEN, out, cap, len);
		break;
	case PERSO_PROFILE: {
		size_t n = profile_block(name, email, block);
		s = ec_gp_cmd_store_data(CLA_GP, GP_P1_LAST_BLOCK, 0, NULL, 0, block, n, out, cap, len);
		break;
	}
	default:
		return ec_error_set(err, EC_ERR_ARG, "a personalize job has no command %zu here.", i);
	}
	if (s != EC_OK)
		return ec_error_set(err, s, "a personalization command could not be built.");
	return EC_OK;
}

enum ec_status perso_answer(const struct ec_issuer *issuer, struct perso_progress *p, size_t i,
			    const uint8_t *data, size_t len, struct ec_error *err)
{
	enum ec_status s;

	if (i == PERSO_KEYGEN) {
		s = ec_perso_certify(issuer, "STORE DATA (key generation)", data, len, p->serial,
				     p->cert, err);
		p->certified = s == EC_OK;
		p->sealed = false;
		return s;
	}
	if (i == PERSO_SEAL) {
		s = ec_perso_check_seal(issuer, p->serial, p->cert, data, len, err);
		p->sealed = s == EC_OK;
		return s;
	}
	return EC_OK;
}
