/*
 * gp_session.c - opening a GlobalPlatform secure channel (SCP02 or SCP03)
 * over struct ec_pcsc and sending commands through it. The protocols
 * themselves are in scp02.c and scp03_host.c; this file does the
 * exchanges, picks the protocol, diversifies keys and turns every failure
 * into one sentence.
 */
#include "gp_session.h"

#include <string.h>

#include "crypto.h"
#include "exchange.h"
#include "gp_proto.h"
#include "iso7816.h"
#include "scp03_host.h"

/* EXTERNAL AUTHENTICATE refused: our host cryptogram did not verify. */
#define SW_AUTHENTICATION_FAILED 0x6300

/* The data of the answer to INITIALIZE UPDATE: the longest is SCP03's 32 bytes. */
#define INIT_UPDATE_RESP_MAX 64

void ec_gp_options_init(struct ec_gp_options *opt)
{
	memset(opt, 0, sizeof(*opt));
	opt->scp = EC_GP_SCP_ANY;
	opt->level = EC_GP_LEVEL_C_MAC;
	opt->scp02_i = 0x55;
	opt->kdf = EC_GP_KDF_NONE;
}

void ec_gp_close(struct ec_gp_session *s)
{
	if (s == NULL)
		return;
	scp03_close(&s->scp03);
	ec_scp02_close(&s->scp02);
	ec_gp_keys_wipe(&s->keys);
	crypto_wipe(s, sizeof(*s));
}

static enum ec_status fail(struct ec_gp_session *s, struct ec_error *err,
			   enum ec_status st, const char *text)
{
	ec_gp_close(s);
	return ec_error_set(err, st, "%s", text);
}

/*
 * Send one command of the opening and expect 9000. name is for messages;
 * refusals that have a likelier cause than the status word's general
 * meaning (a missing key version, our cryptogram refused) say so.
 */
static enum ec_status exchange(struct ec_gp_session *s, const char *name,
			       const uint8_t *cmd, size_t cmd_len,
			       uint8_t *data, size_t cap, size_t *data_len,
			       struct ec_error *err)
{
	bool init_update = cmd[1] == GP_INS_INITIALIZE_UPDATE;
	uint16_t sw;
	enum ec_status st = ec_exchange(s->pc, name, cmd, cmd_len, data, cap, data_len, &sw, err);

	if (st != EC_OK) {
		ec_gp_close(s);
		return st;
	}
	if (sw == SW_OK)
		return EC_OK;
	ec_gp_close(s);
	if (init_update && sw == SW_REF_DATA_NOT_FOUND)
		return ec_error_card(err, sw,
				     "the card has no key set with the key version asked for "
				     "(SW 6A88): give the right key version, or 0 for the "
				     "card's first key set.");
	if (!init_update && sw == SW_AUTHENTICATION_FAILED)
		return ec_error_card(err, sw,
				     "the card did not accept our host cryptogram (SW 6300): "
				     "check the keys and the key diversification method.");
	return ec_error_sw(err, name, sw);
}

static void to_scp03_keys(const struct ec_gp_keys *k, struct scp03_keys *out)
{
	memcpy(out->enc, k->enc, sizeof(out->enc));
	memcpy(out->mac, k->mac, sizeof(out->mac));
	memcpy(out->dek, k->dek, sizeof(out->dek));
	out->len = k->len;
	out->kvn = k->kvn;
}

static void to_scp02_keys(const struct ec_gp_keys *k, struct ec_scp02_keys *out)
{
	memcpy(out->enc, k->enc, sizeof(out->enc));
	memcpy(out->mac, k->mac, sizeof(out->mac));
	memcpy(out->dek, k->dek, sizeof(out->dek));
	out->kvn = k->kvn;
}

/* The card's keys: the given ones, or diversified from them with the KDD. */
static enum ec_status card_keys(struct ec_gp_session *s, const struct ec_gp_keys *keys,
				enum ec_gp_kdf kdf, struct ec_error *err)
{
	enum ec_status st = ec_gp_diversify(kdf, keys, s->kdd, &s->keys);

	if (st == EC_ERR_ARG)
		return fail(s, err, EC_ERR_ARG,
			    "the key diversification method does not fit the keys: "
			    "EMV and VISA2 take 16-byte triple DES keys, KDF3 AES keys.");
	if (st != EC_OK)
		return fail(s, err, st, "deriving the card's keys failed in the crypto module.");
	return EC_OK;
}

static enum ec_status cryptogram_mismatch(struct ec_gp_session *s, struct ec_error *err,
					  int scp, uint8_t kvn)
{
	ec_gp_close(s);
	return ec_error_set(err, EC_ERR_CHECK,
			    "the card's cryptogram does not match: wrong keys? (SCP%02d, "
			    "key version %02X; check the keys and the key diversification "
			    "method).", scp, kvn);
}

static enum ec_status open_scp03(struct ec_gp_session *s, const struct ec_gp_keys *keys,
				 const struct ec_gp_options *opt, const uint8_t *data,
				 size_t len, uint8_t *cmd, size_t cap, size_t *cmd_len,
				 struct ec_error *err)
{
	struct scp03_init_response rsp;
	struct scp03_keys k;
	enum scp03_status st;
	enum ec_status est;

	if (scp03_parse_initialize_update_response(data, len, &rsp) != SCP03_OK)
		return fail(s, err, EC_ERR_FORMAT,
			    "the card's answer to INITIALIZE UPDATE is not a valid SCP03 "
			    "answer: the card or the reader is misbehaving.");
	memcpy(s->kdd, rsp.kdd, sizeof(s->kdd));
	s->kvn = rsp.kvn;
	s->i_param = rsp.i_param;
	s->has_seq = rsp.has_seq;
	s->seq = rsp.seq;
	est = card_keys(s, keys, opt->kdf, err);
	if (est != EC_OK)
		return est;
	if (s->keys.len != 16 && s->keys.len != 24 && s->keys.len != 32)
		return fail(s, err, EC_ERR_ARG,
			    "SCP03 needs AES keys of 16, 24 or 32 bytes.");

	to_scp03_keys(&s->keys, &k);
	st = scp03_host_check_card(&s->scp03, &k, &rsp);
	crypto_wipe(&k, sizeof(k));
	if (st == SCP03_ERR_CRYPTOGRAM)
		return cryptogram_mismatch(s, err, 3, rsp.kvn);
	if (st == SCP03_ERR_FORMAT)
		return fail(s, err, EC_ERR_FORMAT,
			    "the card's SCP03 options (\"i\") are not valid: the card "
			    "is misbehaving.");
	if (st != SCP03_OK)
		return fail(s, err, EC_ERR_CRYPTO,
			    "the SCP03 session keys could not be derived.");

	st = scp03_host_external_authenticate(&s->scp03, opt->level, cmd, cap, cmd_len);
	if (st == SCP03_ERR_LEVEL) {
		ec_gp_close(s);
		return ec_error_set(err, EC_ERR_ARG,
				    "security level %02X is not possible with this card "
				    "(SCP03 i=%02X): use 00, 01, 03, or 11, 13, 33 when the "
				    "card supports R-MAC (and R-ENCRYPTION for 33).",
				    opt->level, rsp.i_param);
	}
	if (st != SCP03_OK)
		return fail(s, err, EC_ERR_CRYPTO,
			    "EXTERNAL AUTHENTICATE could not be built.");
	return EC_OK;
}

static enum ec_status open_scp02(struct ec_gp_session *s, const struct ec_gp_keys *keys,
				 const struct ec_gp_options *opt, const uint8_t *data,
				 size_t len, uint8_t *cmd, size_t cap, size_t *cmd_len,
				 struct ec_error *err)
{
	struct ec_scp02_init_response rsp;
	struct ec_scp02_keys k;
	enum ec_status st;

	if (ec_scp02_parse_initialize_update_response(data, len, &rsp) != EC_OK)
		return fail(s, err, EC_ERR_FORMAT,
			    "the card's answer to INITIALIZE UPDATE is not a valid SCP02 "
			    "answer: the card or the reader is misbehaving.");
	memcpy(s->kdd, rsp.kdd, sizeof(s->kdd));
	s->kvn = rsp.kvn;
	s->i_param = opt->scp02_i;
	s->has_seq = false;
	s->seq = rsp.seq;
	if (keys->len != 16)
		return fail(s, err, EC_ERR_ARG,
			    "the card speaks SCP02, which needs 16-byte triple DES keys, "
			    "but the keys given are AES-192 or AES-256 keys.");
	st = card_keys(s, keys, opt->kdf, err);
	if (st != EC_OK)
		return st;

	to_scp02_keys(&s->keys, &k);
	st = ec_scp02_check_card(&s->scp02, &k, &rsp);
	crypto_wipe(&k, sizeof(k));
	if (st == EC_ERR_CHECK)
		return cryptogram_mismatch(s, err, 2, rsp.kvn);
	if (st != EC_OK)
		return fail(s, err, EC_ERR_CRYPTO,
			    "the SCP02 session keys could not be derived.");

	st = ec_scp02_external_authenticate(&s->scp02, opt->level, cmd, cap, cmd_len);
	if (st == EC_ERR_ARG) {
		ec_gp_close(s);
		return ec_error_set(err, EC_ERR_ARG,
				    "security level %02X is not possible with SCP02: use 00, "
				    "01 (C-MAC) or 03 (C-MAC and encryption).", opt->level);
	}
	if (st != EC_OK)
		return fail(s, err, EC_ERR_CRYPTO,
			    "EXTERNAL AUTHENTICATE could not be built.");
	return EC_OK;
}

enum ec_status ec_gp_open(struct ec_gp_session *s, struct ec_pcsc *pc,
			  const struct ec_gp_keys *keys, const struct ec_gp_options *opt,
			  struct ec_error *err)
{
	struct ec_gp_options defaults;
	uint8_t host_challenge[SCP03_CHALLENGE_LEN];
	uint8_t cmd[SCP03_APDU_MAX];
	uint8_t unused[EC_SCP02_INIT_UPDATE_CMD_LEN];
	uint8_t resp[INIT_UPDATE_RESP_MAX];
	size_t cmd_len = 0, unused_len, resp_len = 0;
	bool scp02_possible;
	uint8_t cla, offered;
	enum ec_status st;

	if (s == NULL || pc == NULL || keys == NULL)
		return ec_error_set(err, EC_ERR_ARG,
				    "no session, connection or keys were given to open a "
				    "secure channel.");
	ec_gp_close(s);
	if (opt == NULL) {
		ec_gp_options_init(&defaults);
		opt = &defaults;
	}
	if (keys->len != 16 && keys->len != 24 && keys->len != 32)
		return ec_error_set(err, EC_ERR_ARG,
				    "the secure channel keys must be 16, 24 or 32 bytes long.");
	if (opt->scp != EC_GP_SCP_ANY && opt->scp != EC_GP_SCP02 && opt->scp != EC_GP_SCP03)
		return ec_error_set(err, EC_ERR_ARG,
				    "the secure channel protocol must be SCP02 or SCP03.");
	if (opt->scp == EC_GP_SCP02 && keys->len != 16)
		return ec_error_set(err, EC_ERR_ARG,
				    "SCP02 needs 16-byte triple DES keys.");
	if (opt->channel > 19)
		return ec_error_set(err, EC_ERR_ARG,
				    "logical channel %u does not exist: use 0 to 19.",
				    opt->channel);
	/* The GlobalPlatform class byte of the channel (GP 2.3.1 §11.1.4). */
	cla = iso_cla(GP_CLA, opt->channel);
	s->pc = pc;

	if (opt->host_challenge != NULL)
		memcpy(host_challenge, opt->host_challenge, sizeof(host_challenge));
	else if (crypto_random(host_challenge, sizeof(host_challenge)) != 0)
		return fail(s, err, EC_ERR_CRYPTO,
			    "no random host challenge could be drawn from the system.");

	/*
	 * Both protocols send the same INITIALIZE UPDATE; set up each one the
	 * card may answer with, then keep the one it does.
	 */
	scp02_possible = opt->scp != EC_GP_SCP03 && keys->len == 16;
	if (scp02_possible &&
	    ec_scp02_initialize_update(&s->scp02, opt->scp02_i, cla, keys->kvn,
				       host_challenge, unused, sizeof(unused),
				       &unused_len) != EC_OK)
		return fail(s, err, EC_ERR_ARG,
			    "this SCP02 \"i\" is not supported: use explicit initiation "
			    "with the C-MAC on the modified APDU, such as 15 or 55.");
	if (scp03_host_initialize_update(&s->scp03, cla, keys->kvn, host_challenge,
					 cmd, sizeof(cmd), &cmd_len) != SCP03_OK)
		return fail(s, err, EC_ERR_ARG, "INITIALIZE UPDATE could not be built.");

	st = exchange(s, "INITIALIZE UPDATE", cmd, cmd_len, resp, sizeof(resp),
		      &resp_len, err);
	if (st != EC_OK)
		return st;
	if (resp_len < EC_GP_KDD_LEN + 2)
		return fail(s, err, EC_ERR_FORMAT,
			    "the card's answer to INITIALIZE UPDATE is too short: it is "
			    "not a GlobalPlatform security domain, or not selected.");
	offered = resp[EC_GP_KDD_LEN + 1];
	if (offered != EC_GP_SCP02 && offered != EC_GP_SCP03) {
		ec_gp_close(s);
		return ec_error_set(err, EC_ERR_FORMAT,
				    "the card offers secure channel protocol %02X, which "
				    "ecard does not speak (only SCP02 and SCP03).", offered);
	}
	if (opt->scp != EC_GP_SCP_ANY && offered != opt->scp) {
		ec_gp_close(s);
		return ec_error_set(err, EC_ERR_CHECK,
				    "the card answered with SCP%02d, not the SCP%02d asked "
				    "for: ask for SCP%02d, or let the card choose.",
				    offered, opt->scp, offered);
	}
	if (offered == EC_GP_SCP02 && !scp02_possible)
		return fail(s, err, EC_ERR_ARG,
			    "the card speaks SCP02, which needs 16-byte triple DES keys, "
			    "but the keys given are AES-192 or AES-256 keys.");

	if (offered == EC_GP_SCP03) {
		ec_scp02_close(&s->scp02);
		st = open_scp03(s, keys, opt, resp, resp_len, cmd, sizeof(cmd), &cmd_len, err);
	} else {
		scp03_close(&s->scp03);
		st = open_scp02(s, keys, opt, resp, resp_len, cmd, sizeof(cmd), &cmd_len, err);
	}
	if (st != EC_OK)
		return st;
	if (keys->kvn != 0 && s->kvn != keys->kvn)
		LOG_W(pc->log, "the card opened key version %02X, not the %02X asked for",
		      s->kvn, keys->kvn);

	s->scp = (enum ec_gp_scp)offered;
	s->level = opt->level;
	st = exchange(s, "EXTERNAL AUTHENTICATE", cmd, cmd_len, resp, sizeof(resp),
		      &resp_len, err);
	if (st != EC_OK)
		return st;
	s->open = true;
	LOG_D(pc->log, "secure channel SCP%02d open: key version %02X, i=%02X, level %02X",
	      offered, s->kvn, s->i_param, s->level);
	return EC_OK;
}

enum ec_status ec_gp_transmit(struct ec_gp_session *s, const uint8_t *cmd, size_t cmd_len,
			      uint8_t *resp, size_t resp_cap, size_t *resp_len,
			      struct ec_error *err)
{
	uint8_t wire[SCP03_APDU_MAX];
	size_t wire_len = 0, n = 0;
	enum ec_status st;

	if (resp_len != NULL)
		*resp_len = 0;
	if (s == NULL || !s->open)
		return ec_error_set(err, EC_ERR_ARG,
				    "the secure channel is not open: open it first.");
	if (cmd == NULL || resp == NULL || resp_len == NULL)
		return ec_error_set(err, EC_ERR_ARG,
				    "no command or answer buffer was given.");

	if (s->scp == EC_GP_SCP03) {
		enum scp03_status ss = scp03_host_wrap_command(&s->scp03, cmd, cmd_len,
							      wire, sizeof(wire), &wire_len);

		if (ss == SCP03_ERR_FORMAT || ss == SCP03_ERR_LENGTH)
			return ec_error_set(err, EC_ERR_ARG,
					    "the command cannot be sent in the secure channel: "
					    "%s (short APDUs only, data up to 239 bytes with "
					    "encryption, 247 without).", scp03_strerror(ss));
		if (ss != SCP03_OK)
			return fail(s, err, EC_ERR_CRYPTO,
				    "the command could not be secured; the secure channel "
				    "is closed.");
	} else {
		st = ec_scp02_wrap(&s->scp02, cmd, cmd_len, wire, sizeof(wire), &wire_len);
		if (st == EC_ERR_ARG || st == EC_ERR_BUFFER)
			return ec_error_set(err, EC_ERR_ARG,
					    "the command cannot be sent in the secure channel "
					    "(short APDUs only, data up to 239 bytes with "
					    "encryption, 247 without).");
		if (st != EC_OK)
			return fail(s, err, st,
				    "the command could not be secured; the secure channel "
				    "is closed.");
	}

	st = ec_transmit(s->pc, wire, wire_len, resp, resp_cap, &n);
	if (st != EC_OK) {
		/* The card may or may not have taken the command: the MAC
		 * chains can no longer be trusted to agree. */
		ec_error_transport(err, s->pc, st, "sending a command in the secure channel");
		ec_gp_close(s);
		return st;
	}

	if (s->scp == EC_GP_SCP03) {
		/* In place: the plain answer is never longer than the secured one. */
		enum scp03_status ss = scp03_host_unwrap_response(&s->scp03, resp, n,
								 resp, resp_cap, resp_len);

		if (ss == SCP03_ERR_MAC)
			return fail(s, err, EC_ERR_CHECK,
				    "the card's answer failed its R-MAC check: it was "
				    "altered or is not from the card; the secure channel "
				    "is closed, open it again.");
		if (ss != SCP03_OK)
			return fail(s, err, EC_ERR_CHECK,
				    "the card's secured answer is malformed; the secure "
				    "channel is closed, open it again.");
	} else {
		/* SCP02 as used here has no R-MAC: the answer is plain. */
		*resp_len = n;
	}
	return EC_OK;
}
