/*
 * perso.c - issuing a card (see perso.h): the wallet's keys, limits and
 * certificate and the profile's first values through the card manager's
 * secure channel, the wallet's seal checked, then the card manager's own
 * keys replaced with the card's.
 *
 * The issuer's side is issuer.h (K_load from the serial, the card
 * certificate, the card manager keys); the card manager's verbs are gp.h.
 * K_load and every buffer that held a secret are wiped before return.
 */
#include "perso.h"

#include <stdio.h>
#include <string.h>

#include "cursor.h"
#include "exchange.h"
#include "iso7816.h"
#include "wallet.h"

/* Append one TLV with a short or 81-form length. */
static void put_tlv(struct writer *w, uint8_t tag, const uint8_t *value, size_t len)
{
	writer_u8(w, tag);
	if (len > 0x7F)
		writer_u8(w, 0x81);
	writer_u8(w, (uint8_t)len);
	writer_bytes(w, value, len);
}

enum ec_status ec_perso_certify(const struct ec_issuer *issuer, const char *what,
				const uint8_t *answer, size_t len, uint8_t serial[PURSE_SERIAL_LEN],
				uint8_t cert[PURSE_CERT_LEN], struct ec_error *err)
{
	if (len != WALLET_KEY_PAIR_RESPONSE_LEN || answer[PURSE_SERIAL_LEN] != 0x04)
		return ec_error_set(err, EC_ERR_FORMAT,
				    "the card's answer to %s is not a serial and an uncompressed P-256 key (%zu bytes): is this an ecard wallet?",
				    what, len);
	memcpy(serial, answer, PURSE_SERIAL_LEN);
	if (purse_cert_make(issuer->ca_priv, PURSE_CERT_CARD, serial, answer + PURSE_SERIAL_LEN, cert) != 0)
		return ec_error_set(err, EC_ERR_CRYPTO,
				    "signing the card's certificate failed: check the OpenSSL installation.");
	return EC_OK;
}

enum ec_status ec_perso_wallet_data(const struct ec_issuer *issuer,
				    const uint8_t serial[PURSE_SERIAL_LEN],
				    const uint8_t cert[PURSE_CERT_LEN], struct ec_perso_wallet *out,
				    struct ec_error *err)
{
	uint8_t kload[PURSE_KEY_LEN], limits[WALLET_LIMITS_LEN];
	struct writer w;

	memset(out, 0, sizeof(*out));
	if (purse_derive_kload(issuer->master_key, serial, kload) != 0)
		return ec_error_set(err, EC_ERR_CRYPTO,
				    "deriving the card's K_load failed: check the OpenSSL installation.");
	/* K_load alone in a block of its own: the only one under the DEK. */
	writer_init(&w, out->block[0], sizeof(out->block[0]));
	put_tlv(&w, WALLET_TAG_KLOAD, kload, sizeof(kload));
	out->len[0] = w.len;
	crypto_wipe(kload, sizeof(kload));
	store_be16(limits, issuer->currency);
	store_be32(limits + 2, issuer->max_balance);
	writer_init(&w, out->block[1], sizeof(out->block[1]));
	put_tlv(&w, WALLET_TAG_CA_PUB, issuer->ca_pub, CRYPTO_EC_PUB_LEN);
	put_tlv(&w, WALLET_TAG_LIMITS, limits, sizeof(limits));
	out->len[1] = w.len;
	bool ok = writer_ok(&w);
	writer_init(&w, out->block[2], sizeof(out->block[2]));
	put_tlv(&w, WALLET_TAG_CERT, cert, PURSE_CERT_LEN);
	out->len[2] = w.len;
	if (!ok || !writer_ok(&w)) {
		crypto_wipe(out, sizeof(*out));
		return ec_error_set(err, EC_ERR_ARG, "the personalization data does not fit: this is a bug in ecard.");
	}
	return EC_OK;
}

/*
 * The wallet's answer to its last block: the seal (purse.h) under the
 * K_load it holds over what it was given. Only a wallet that holds this
 * issuer's K_load, CA key, limits and certificate can make it, so a key
 * slipped in on the way (by anyone between the issuer and the card, which
 * the card's rules should already prevent) shows here.
 */
enum ec_status ec_perso_check_seal(const struct ec_issuer *issuer,
				   const uint8_t serial[PURSE_SERIAL_LEN],
				   const uint8_t cert[PURSE_CERT_LEN], const uint8_t *seal, size_t len,
				   struct ec_error *err)
{
	uint8_t want[PURSE_MAC_LEN], kload[PURSE_KEY_LEN];
	enum ec_status st = EC_OK;

	if (purse_derive_kload(issuer->master_key, serial, kload) != 0 ||
	    purse_perso_seal(kload, serial, issuer->ca_pub, issuer->currency, issuer->max_balance,
			     cert, want) != 0)
		st = ec_error_set(err, EC_ERR_CRYPTO,
				  "computing the wallet's seal failed: check the OpenSSL installation.");
	else if (len != PURSE_MAC_LEN || !crypto_equal(seal, want, PURSE_MAC_LEN))
		st = ec_error_set(err, EC_ERR_CHECK,
				  "the wallet's seal does not verify: the card does not hold the keys and limits this issuer sent it; do not issue this card.");
	crypto_wipe(want, sizeof(want));
	crypto_wipe(kload, sizeof(kload));
	return st;
}

const uint8_t ec_perso_generate[2] = { WALLET_TAG_GENERATE, 0x00 };

/* ---- personalization through the card manager ---- */

/* The wallet's part: key pair, keys, limits, certificate, seal. */
static enum ec_status perso_wallet(const struct ec_issuer *issuer, struct ec_gp_session *g,
				   uint8_t serial[PURSE_SERIAL_LEN], struct ec_error *err)
{
	uint8_t answer[WALLET_KEY_PAIR_RESPONSE_LEN], cert[PURSE_CERT_LEN], seal[PURSE_MAC_LEN];
	struct ec_perso_wallet data;
	size_t len = 0;

	enum ec_status st = ec_gp_install_for_personalization(g, ec_wallet_aid, sizeof(ec_wallet_aid),
							      "INSTALL [for personalization] of the wallet",
							      err);
	if (st != EC_OK)
		return st;
	st = ec_gp_store_data(g, 0x00, 0, false, ec_perso_generate, sizeof(ec_perso_generate),
			      answer, sizeof(answer), &len, "STORE DATA (key generation) for the wallet",
			      err);
	if (st == EC_ERR_CARD && err && err->sw == SW_CONDITIONS)
		return ec_error_card(err, SW_CONDITIONS, "the wallet on this card is personalized already (SW 6985): a card is personalized once; nothing was changed.");
	if (st != EC_OK)
		return st;
	st = ec_perso_certify(issuer, "STORE DATA (key generation)", answer, len, serial, cert, err);
	if (st == EC_OK)
		st = ec_perso_wallet_data(issuer, serial, cert, &data, err);
	if (st != EC_OK)
		return st;
	st = ec_gp_store_data(g, 0x00, 1, true, data.block[0], data.len[0], NULL, 0, NULL,
			      "STORE DATA (K_load) for the wallet", err);
	if (st == EC_OK)
		st = ec_gp_store_data(g, 0x00, 2, false, data.block[1], data.len[1], NULL, 0, NULL,
				      "STORE DATA (CA key, currency and maximum) for the wallet", err);
	if (st == EC_OK)
		st = ec_gp_store_data(g, GP_P1_LAST_BLOCK, 3, false, data.block[2], data.len[2], seal,
				      sizeof(seal), &len,
				      "STORE DATA (certificate, last block) for the wallet", err);
	if (st == EC_OK)
		st = ec_perso_check_seal(issuer, serial, cert, seal, len, err);
	crypto_wipe(&data, sizeof(data));
	return st;
}

/*
 * Blocks for the profile: TLVs collected in order, a block sent when the
 * next TLV would not fit; plain and DEK-encrypted TLVs in blocks of their
 * own kind. The last block is sent by profile_flush(..., true).
 */
struct perso_blocks {
	struct ec_gp_session *g;
	uint8_t block;		/* next STORE DATA block number */
	bool encrypt;		/* the kind of what buf holds */
	uint8_t buf[EC_GP_STORE_DATA_MAX];
	size_t len;
};

static enum ec_status profile_flush(struct perso_blocks *b, bool last, struct ec_error *err)
{
	enum ec_status st = ec_gp_store_data(b->g, last ? GP_P1_LAST_BLOCK : 0x00, b->block, b->encrypt,
					  b->buf, b->len, NULL, 0, NULL,
					  last ? "STORE DATA (last block) for the profile"
					       : "STORE DATA for the profile", err);
	b->block++;
	crypto_wipe(b->buf, sizeof(b->buf));
	b->len = 0;
	return st;
}

static enum ec_status profile_add(struct perso_blocks *b, uint8_t tag, const uint8_t *value,
				  size_t len, bool encrypt, struct ec_error *err)
{
	size_t need = 2 + len;
	enum ec_status st = EC_OK;
	if (b->len > 0 && (encrypt != b->encrypt ||
			   b->len + need > (b->encrypt ? EC_GP_STORE_DATA_DEK_MAX : EC_GP_STORE_DATA_MAX)))
		st = profile_flush(b, false, err);
	if (st != EC_OK)
		return st;
	b->encrypt = encrypt;
	b->buf[b->len++] = tag;
	b->buf[b->len++] = (uint8_t)len;
	memcpy(b->buf + b->len, value, len);
	b->len += len;
	return EC_OK;
}

/* The profile's part: initial fields and policy, then the last block. */
static enum ec_status perso_profile(struct ec_gp_session *g, const struct ec_profile_init *initial,
				    struct ec_error *err)
{
	struct perso_blocks b = { .g = g };
	enum ec_status st = ec_gp_install_for_personalization(g, ec_profile_aid,
							      sizeof(ec_profile_aid),
							      "INSTALL [for personalization] of the profile",
							      err);
	for (size_t i = 0; st == EC_OK && initial && i < EC_PROFILE_FIELDS; i++) {
		const struct ec_profile_field *f = &ec_profile_fields[i];
		const char *v = initial->values[f->id - 1];
		if (v)
			st = profile_add(&b, f->id, (const uint8_t *)v, strlen(v), f->private_class,
					 err);
	}
	if (st == EC_OK && initial && initial->set_policy) {
		uint8_t policy[2] = { initial->general, initial->private_class };
		st = profile_add(&b, PROFILE_TAG_POLICY, policy, sizeof(policy), false, err);
	}
	if (st == EC_OK)
		st = profile_flush(&b, true, err);
	crypto_wipe(&b, sizeof(b));
	if (st == EC_ERR_CARD && err && err->sw == SW_CONDITIONS)
		return ec_error_card(err, SW_CONDITIONS, "the profile on this card is personalized already (SW 6985); the wallet was personalized.");
	return st;
}

/* Values the card would refuse, refused here with a clearer message. */
static enum ec_status check_profile_init(const struct ec_profile_init *initial,
					 struct ec_error *err)
{
	if (!initial)
		return EC_OK;
	for (size_t i = 0; i < EC_PROFILE_FIELDS; i++) {
		const struct ec_profile_field *f = &ec_profile_fields[i];
		const char *v = initial->values[f->id - 1];
		if (v && strlen(v) > EC_PROFILE_VALUE_MAX)
			return ec_error_set(err, EC_ERR_ARG,
					    "the %s is %zu bytes long; a profile value is at most %d bytes: shorten it.",
					    f->name, strlen(v), EC_PROFILE_VALUE_MAX);
	}
	if (initial->set_policy &&
	    (initial->general > EC_POLICY_ALWAYS || initial->private_class > EC_POLICY_ALWAYS))
		return ec_error_set(err, EC_ERR_ARG,
				    "a release policy is never (0), session (1) or always (2).");
	return EC_OK;
}

/*
 * Issuance ends here: the key set the channel was opened with (the test
 * keys, on a new card) is replaced by the card's own, the issuer's master
 * keys diversified with this card's KDD (ec_issuer_card_keys).
 */
static enum ec_status replace_keys(const struct ec_issuer *issuer, struct ec_gp_session *s,
				   struct ec_error *err)
{
	struct ec_gp_keys card;
	enum ec_status st = ec_issuer_card_keys(issuer, s->kdd, &card, err);
	if (st == EC_OK)
		st = ec_gp_put_key(s, &card, s->kvn, NULL, err);
	ec_gp_keys_wipe(&card);
	return st;
}

/*
 * A card is issued only when the public test keys no longer open its card
 * manager and its own keys do: both are tried, each in a channel of its
 * own.
 */
static enum ec_status check_issued(const struct ec_issuer *issuer, struct ec_pcsc *pc,
				   const struct ec_gp_options *opt, struct ec_error *err)
{
	struct ec_gp_session s;
	struct ec_gp_keys test, master = issuer->isd_master;
	struct ec_gp_options with_kdf = *opt;
	struct ec_error ignored;

	memset(&s, 0, sizeof(s));
	ec_gp_default_keys(&test, 0);
	enum ec_status st = ec_gp_connect(&s, pc, &test, opt, &ignored);
	ec_gp_close(&s);
	ec_gp_keys_wipe(&test);
	if (st == EC_OK) {
		ec_gp_keys_wipe(&master);
		return ec_error_set(err, EC_ERR_CHECK,
				    "the card still answers to the public test keys after issuance: anyone could manage it; do not issue this card.");
	}
	if (ec_is_link_failure(st)) {
		ec_gp_keys_wipe(&master);
		return ec_error_transport(err, pc, st, "checking the card's keys after issuance");
	}
	with_kdf.kdf = EC_GP_KDF_KDF3;
	st = ec_gp_connect(&s, pc, &master, &with_kdf, err);
	ec_gp_close(&s);
	ec_gp_keys_wipe(&master);
	if (st != EC_OK && err) {
		char why[EC_ERROR_TEXT_MAX];
		snprintf(why, sizeof(why), "%s", err->text);
		ec_error_set(err, st,
			     "the card's own keys do not open its card manager after issuance, do not issue this card: %s",
			     why);
	}
	return st;
}

enum ec_status ec_personalize(const struct ec_issuer *issuer, struct ec_pcsc *pc,
			      const struct ec_gp_options *gp, const struct ec_gp_keys *keys,
			      const struct ec_profile_init *initial,
			      uint8_t serial_out[PURSE_SERIAL_LEN], struct ec_error *err)
{
	uint8_t serial[PURSE_SERIAL_LEN];
	struct ec_gp_options opt;
	struct ec_gp_session session;

	if (!issuer || !pc || !keys)
		return ec_error_set(err, EC_ERR_ARG, "ec_personalize was called without its arguments.");
	enum ec_status st = check_profile_init(initial, err);
	if (st != EC_OK)
		return st;
	if (gp) {
		opt = *gp;
	} else {
		ec_gp_options_init(&opt);
		opt.level = EC_GP_LEVEL_C_MAC | EC_GP_LEVEL_C_DEC;
	}
	/* The card manager decrypts personalization data with SCP03's DEK. */
	if (opt.scp == EC_GP_SCP02)
		return ec_error_set(err, EC_ERR_ARG,
				    "personalization goes through SCP03: SCP02 cannot carry it.");
	opt.scp = EC_GP_SCP03;
	/* Without a C-MAC anyone on the way could change what is written. */
	if (!(opt.level & EC_GP_LEVEL_C_MAC))
		return ec_error_set(err, EC_ERR_ARG,
				    "personalization needs a secure channel with C-MAC: use security level 03 or 33.");

	memset(&session, 0, sizeof(session));
	st = ec_gp_connect(&session, pc, keys, &opt, err);
	if (st == EC_OK)
		st = perso_wallet(issuer, &session, serial, err);
	if (st == EC_OK)
		st = perso_profile(&session, initial, err);
	if (st == EC_OK)
		st = replace_keys(issuer, &session, err);
	ec_gp_close(&session);
	if (st == EC_OK)
		st = check_issued(issuer, pc, &opt, err);
	if (st == EC_OK && serial_out)
		memcpy(serial_out, serial, PURSE_SERIAL_LEN);
	return st;
}
