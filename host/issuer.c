/*
 * issuer.c - the issuer key directory and the issuer's steps in the purse
 * protocols (see issuer.h).
 *
 * Every MAC and signature comes from common/purse.c, the code the card
 * runs too, so the two sides cannot drift apart; this file only moves
 * bytes between key files, the card and those functions. K_load and the
 * master key are wiped before every return that saw them.
 */
#include "issuer.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "amount.h"
#include "cursor.h"
#include "keyfile.h"
#include "scp03.h"
#include "wallet.h"

#define MODE_DIR 0700

#define INS_GENERATE_KEY_PAIR 0xE4
#define INS_STORE_DATA 0xE2
#define STORE_DATA_LAST 0x80

#define INS_INSTALL 0xE6
#define INSTALL_FOR_PERSONALIZATION 0x20
#define STORE_DATA_ENCRYPTED 0x60	/* P1 b7-b6: data encrypted with the DEK */

#define TAG_GENERATE 0xC0
#define TAG_KLOAD 0xC1
#define TAG_CA_PUB 0xC2
#define TAG_LIMITS 0xC3
#define TAG_CERT 0xC4
#define TAG_POLICY 0xD0

_Static_assert(EC_ISSUER_PROFILE_FIELDS == EC_PROFILE_FIELDS,
	       "issuer.h's profile field count must be wallet.h's");

/* dir/name into path; false when it does not fit. */
static bool join(char *path, size_t cap, const char *dir, const char *name)
{
	int n = snprintf(path, cap, "%s/%s", dir, name);
	return n >= 0 && (size_t)n < cap;
}

/* An existing directory may hold the keys only if it is empty. */
static enum ec_status adopt_existing_dir(const char *dir, struct ec_error *err)
{
	struct stat st;

	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return ec_error_set(err, EC_ERR_EXISTS,
				    "%s exists and is not a directory: choose another name for the issuer directory.",
				    dir);
	DIR *d = opendir(dir);
	if (!d)
		return ec_error_set(err, EC_ERR_FILE, "cannot read the directory %s: %s.", dir,
				    strerror(errno));
	bool empty = true;
	for (struct dirent *e; (e = readdir(d)) != NULL;)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
			empty = false;
			break;
		}
	closedir(d);
	if (!empty)
		return ec_error_set(err, EC_ERR_EXISTS,
				    "%s is not empty (it may hold an issuer's keys already): it was left as it is, choose a new directory.",
				    dir);
	if (st.st_uid != geteuid())
		return ec_error_set(err, EC_ERR_INSECURE,
				    "%s belongs to another user: the issuer's keys must be in a directory of yours.",
				    dir);
	return EC_OK;
}

/* The files ec_issuer_init() writes, in the order it writes them. */
static const char *const issuer_files[] = {
	EC_ISSUER_MASTER_FILE, EC_ISSUER_CA_KEY_FILE, EC_ISSUER_CA_PUB_FILE, EC_ISSUER_CONF_FILE,
};

#define N_ISSUER_FILES (sizeof(issuer_files) / sizeof(issuer_files[0]))

/* Build and write file i of the directory. */
static enum ec_status write_issuer_file(const char *dir, size_t i, const uint8_t *master,
					const uint8_t *ca_priv, const uint8_t *ca_pub,
					const struct ec_currency *cur, uint32_t max_balance,
					struct ec_error *err)
{
	struct ec_keyfile kf;
	char path[PATH_MAX], text[EC_AMOUNT_TEXT_MAX], line[128];
	unsigned flags = 0;

	if (!join(path, sizeof(path), dir, issuer_files[i]))
		return ec_error_set(err, EC_ERR_ARG, "the directory name %s is too long.", dir);
	ec_keyfile_init(&kf);
	switch (i) {
	case 0:
		ec_keyfile_add_comment(&kf, "ecard issuer master load key: every card's K_load derives from it. Secret.");
		ec_keyfile_add_hex(&kf, "master_load_key", master, PURSE_MASTER_KEY_LEN);
		flags = EC_KEYFILE_SECRET;
		break;
	case 1:
		ec_keyfile_add_comment(&kf, "ecard issuer CA key pair (ECDSA P-256): certifies cards and merchants. Secret.");
		ec_keyfile_add_hex(&kf, "ca_private_key", ca_priv, CRYPTO_EC_PRIV_LEN);
		ec_keyfile_add_hex(&kf, "ca_public_key", ca_pub, CRYPTO_EC_PUB_LEN);
		flags = EC_KEYFILE_SECRET;
		break;
	case 2:
		ec_keyfile_add_comment(&kf, "ecard issuer CA public key: give it to merchants and verifiers.");
		ec_keyfile_add_hex(&kf, "ca_public_key", ca_pub, CRYPTO_EC_PUB_LEN);
		break;
	default:
		snprintf(line, sizeof(line), "ecard issuer settings: currency %s, maximum balance %s.",
			 cur->code, ec_amount_format(max_balance, cur->numeric, text, sizeof(text)));
		ec_keyfile_add_comment(&kf, line);
		ec_keyfile_add_u32(&kf, "currency", cur->numeric);
		ec_keyfile_add_u32(&kf, "max_balance", max_balance);
		break;
	}
	enum ec_status st = ec_keyfile_write(&kf, path, flags, err);
	ec_keyfile_wipe(&kf);
	return st;
}

enum ec_status ec_issuer_init(const char *dir, uint16_t currency, uint32_t max_balance,
			      struct ec_error *err)
{
	uint8_t master[PURSE_MASTER_KEY_LEN], ca_priv[CRYPTO_EC_PRIV_LEN], ca_pub[CRYPTO_EC_PUB_LEN];
	const struct ec_currency *cur = ec_currency_by_numeric(currency);
	enum ec_status st = EC_OK;
	bool made_dir = false;
	size_t written = 0;

	if (!dir || !*dir)
		return ec_error_set(err, EC_ERR_ARG, "no issuer directory was given.");
	if (!cur)
		return ec_error_set(err, EC_ERR_ARG,
				    "currency %u is not one ecard knows: use a code such as EUR, USD or GBP.",
				    (unsigned)currency);
	if (max_balance == 0)
		return ec_error_set(err, EC_ERR_ARG, "the maximum balance must be more than zero.");

	if (mkdir(dir, MODE_DIR) == 0) {
		made_dir = true;
	} else if (errno == EEXIST) {
		st = adopt_existing_dir(dir, err);
		if (st != EC_OK)
			return st;
	} else {
		return ec_error_set(err, EC_ERR_FILE, "cannot create the directory %s: %s.", dir,
				    strerror(errno));
	}
	/* mkdir's mode went through the umask; the directory must be exactly 0700. */
	if (chmod(dir, MODE_DIR) != 0) {
		st = ec_error_set(err, EC_ERR_FILE, "cannot make %s private (chmod 700): %s.", dir,
				  strerror(errno));
		goto out;
	}

	if (crypto_random(master, sizeof(master)) != 0 || crypto_ec_generate(ca_priv, ca_pub) != 0) {
		st = ec_error_set(err, EC_ERR_CRYPTO,
				  "the random generator or key generation failed: check the OpenSSL installation.");
		goto out;
	}
	for (; written < N_ISSUER_FILES; written++) {
		st = write_issuer_file(dir, written, master, ca_priv, ca_pub, cur, max_balance, err);
		if (st != EC_OK)
			break;
	}

out:
	crypto_wipe(master, sizeof(master));
	crypto_wipe(ca_priv, sizeof(ca_priv));
	if (st != EC_OK) {
		/* Leave nothing half made: a directory without all its files is useless. */
		char path[PATH_MAX];
		for (size_t i = 0; i < written; i++)
			if (join(path, sizeof(path), dir, issuer_files[i]))
				unlink(path);
		if (made_dir)
			rmdir(dir);
	}
	return st;
}

enum ec_status ec_issuer_load_ca_public(const char *dir, uint8_t ca_pub[CRYPTO_EC_PUB_LEN],
					struct ec_error *err)
{
	struct ec_keyfile kf;
	char path[PATH_MAX];

	if (!join(path, sizeof(path), dir, EC_ISSUER_CA_PUB_FILE))
		return ec_error_set(err, EC_ERR_ARG, "the directory name %s is too long.", dir);
	enum ec_status st = ec_keyfile_read(&kf, path, false, err);
	if (st == EC_OK)
		st = ec_keyfile_get_hex(&kf, path, "ca_public_key", ca_pub, CRYPTO_EC_PUB_LEN, err);
	ec_keyfile_wipe(&kf);
	return st;
}

/* Read the secret files: master key and CA key pair. */
static enum ec_status load_secrets(const char *dir, struct ec_issuer *is, struct ec_error *err)
{
	struct ec_keyfile kf;
	char path[PATH_MAX];
	uint8_t derived[CRYPTO_EC_PUB_LEN];

	if (!join(path, sizeof(path), dir, EC_ISSUER_MASTER_FILE))
		return ec_error_set(err, EC_ERR_ARG, "the directory name %s is too long.", dir);
	struct stat sb;
	if (stat(path, &sb) != 0 && errno == ENOENT)
		return ec_error_set(err, EC_ERR_FILE,
				    "%s is not an issuer key directory (it has no %s): give the directory made by \"ecard issuer init\".",
				    dir, EC_ISSUER_MASTER_FILE);
	enum ec_status st = ec_keyfile_read(&kf, path, true, err);
	if (st == EC_OK)
		st = ec_keyfile_get_hex(&kf, path, "master_load_key", is->master_key,
					PURSE_MASTER_KEY_LEN, err);
	ec_keyfile_wipe(&kf);
	if (st != EC_OK)
		return st;

	if (!join(path, sizeof(path), dir, EC_ISSUER_CA_KEY_FILE))
		return ec_error_set(err, EC_ERR_ARG, "the directory name %s is too long.", dir);
	st = ec_keyfile_read(&kf, path, true, err);
	if (st == EC_OK)
		st = ec_keyfile_get_hex(&kf, path, "ca_private_key", is->ca_priv,
					CRYPTO_EC_PRIV_LEN, err);
	if (st == EC_OK)
		st = ec_keyfile_get_hex(&kf, path, "ca_public_key", is->ca_pub,
					CRYPTO_EC_PUB_LEN, err);
	ec_keyfile_wipe(&kf);
	if (st != EC_OK)
		return st;

	/* A private key that does not match its public key would certify
	 * cards nobody can verify: find out now, not at the till. */
	if (crypto_ec_public(is->ca_priv, derived) != 0 ||
	    memcmp(derived, is->ca_pub, CRYPTO_EC_PUB_LEN) != 0)
		return ec_error_set(err, EC_ERR_FORMAT,
				    "the CA private and public keys in %s do not belong together: the file is damaged, restore it from a backup.",
				    path);
	return EC_OK;
}

static enum ec_status load_settings(const char *dir, struct ec_issuer *is, struct ec_error *err)
{
	struct ec_keyfile kf;
	char path[PATH_MAX];
	uint32_t currency = 0;

	if (!join(path, sizeof(path), dir, EC_ISSUER_CONF_FILE))
		return ec_error_set(err, EC_ERR_ARG, "the directory name %s is too long.", dir);
	enum ec_status st = ec_keyfile_read(&kf, path, false, err);
	if (st == EC_OK)
		st = ec_keyfile_get_u32(&kf, path, "currency", &currency, err);
	if (st == EC_OK)
		st = ec_keyfile_get_u32(&kf, path, "max_balance", &is->max_balance, err);
	ec_keyfile_wipe(&kf);
	if (st != EC_OK)
		return st;
	if (currency > UINT16_MAX || !ec_currency_by_numeric((uint16_t)currency))
		return ec_error_set(err, EC_ERR_FORMAT,
				    "%s names currency %lu, which ecard does not know: correct \"currency\" to an ISO 4217 numeric code such as 978.",
				    path, (unsigned long)currency);
	is->currency = (uint16_t)currency;
	return EC_OK;
}

enum ec_status ec_issuer_load(const char *dir, struct ec_issuer *issuer, struct ec_error *err)
{
	uint8_t published[CRYPTO_EC_PUB_LEN];

	memset(issuer, 0, sizeof(*issuer));
	if (!dir || !*dir)
		return ec_error_set(err, EC_ERR_ARG, "no issuer directory was given.");
	enum ec_status st = load_secrets(dir, issuer, err);
	if (st == EC_OK)
		st = load_settings(dir, issuer, err);
	if (st == EC_OK)
		st = ec_issuer_load_ca_public(dir, published, err);
	if (st == EC_OK && memcmp(published, issuer->ca_pub, CRYPTO_EC_PUB_LEN) != 0)
		st = ec_error_set(err, EC_ERR_FORMAT,
				  "%s/%s is not the public key of the CA in %s/%s: restore the right file from a backup.",
				  dir, EC_ISSUER_CA_PUB_FILE, dir, EC_ISSUER_CA_KEY_FILE);
	if (st != EC_OK)
		ec_issuer_wipe(issuer);
	return st;
}

void ec_issuer_wipe(struct ec_issuer *issuer)
{
	crypto_wipe(issuer, sizeof(*issuer));
}

enum ec_status ec_issuer_authorize_load(const struct ec_issuer *issuer, const uint8_t *response,
					size_t response_len, uint32_t amount,
					struct purse_load *load, uint8_t s2[PURSE_MAC_LEN],
					struct ec_error *err)
{
	uint8_t s1[PURSE_MAC_LEN], expected[PURSE_MAC_LEN], kload[PURSE_KEY_LEN];
	char text[EC_AMOUNT_TEXT_MAX], max_text[EC_AMOUNT_TEXT_MAX];
	struct purse_load l;
	struct cursor c;
	enum ec_status st = EC_OK;

	if (!issuer || !response || !load || !s2)
		return ec_error_set(err, EC_ERR_ARG, "ec_issuer_authorize_load was called without its arguments.");
	if (amount == 0)
		return ec_error_set(err, EC_ERR_ARG, "the amount to load must be more than zero.");

	memset(&l, 0, sizeof(l));
	cursor_init(&c, response, response_len);
	cursor_copy(&c, l.challenge, PURSE_CHALLENGE_LEN);
	cursor_copy(&c, l.serial, PURSE_SERIAL_LEN);
	cursor_u32(&c, &l.counter);
	cursor_u32(&c, &l.balance);
	cursor_copy(&c, s1, PURSE_MAC_LEN);
	if (!cursor_done(&c))
		return ec_error_set(err, EC_ERR_FORMAT,
				    "the INITIALIZE LOAD answer has %zu bytes instead of %d (challenge, serial, counter, balance, S1): give the card's whole answer.",
				    response_len, EC_INIT_LOAD_RESPONSE_LEN);
	l.amount = amount;

	if (purse_derive_kload(issuer->master_key, l.serial, kload) != 0 ||
	    purse_s1(kload, &l, expected) != 0) {
		st = ec_error_set(err, EC_ERR_CRYPTO, "computing the card's MAC failed: check the OpenSSL installation.");
		goto out;
	}
	if (!crypto_equal(s1, expected, PURSE_MAC_LEN)) {
		st = ec_error_set(err, EC_ERR_CHECK,
				  "S1 does not verify: the INITIALIZE LOAD answer was not made by a card of this issuer for %s, or was altered; no authorisation was given.",
				  ec_amount_format(amount, issuer->currency, text, sizeof(text)));
		goto out;
	}
	if ((uint64_t)l.balance + amount > issuer->max_balance) {
		st = ec_error_set(err, EC_ERR_CHECK,
				  "loading %s would take the balance above the issuer's maximum of %s: load less.",
				  ec_amount_format(amount, issuer->currency, text, sizeof(text)),
				  ec_amount_format(issuer->max_balance, issuer->currency, max_text,
						   sizeof(max_text)));
		goto out;
	}
	if (purse_s2(kload, &l, s2) != 0) {
		st = ec_error_set(err, EC_ERR_CRYPTO, "computing S2 failed: check the OpenSSL installation.");
		goto out;
	}
	*load = l;

out:
	crypto_wipe(kload, sizeof(kload));
	crypto_wipe(expected, sizeof(expected));
	return st;
}

enum ec_status ec_issuer_check_s3(const struct ec_issuer *issuer, const struct purse_load *load,
				  const uint8_t *response, size_t response_len,
				  uint32_t *new_counter, uint32_t *new_balance,
				  struct ec_error *err)
{
	uint8_t s3[PURSE_MAC_LEN], expected[PURSE_MAC_LEN], kload[PURSE_KEY_LEN];
	uint32_t counter = 0, balance = 0;
	struct cursor c;
	enum ec_status st = EC_OK;

	cursor_init(&c, response, response_len);
	cursor_u32(&c, &counter);
	cursor_u32(&c, &balance);
	cursor_copy(&c, s3, PURSE_MAC_LEN);
	if (!cursor_done(&c))
		return ec_error_set(err, EC_ERR_FORMAT,
				    "the card's load receipt has %zu bytes instead of %d (counter, balance, S3).",
				    response_len, EC_CREDIT_RESPONSE_LEN);

	if (purse_derive_kload(issuer->master_key, load->serial, kload) != 0 ||
	    purse_s3(kload, load->serial, counter, load->amount, balance, expected) != 0) {
		st = ec_error_set(err, EC_ERR_CRYPTO, "computing S3 failed: check the OpenSSL installation.");
		goto out;
	}
	if (!crypto_equal(s3, expected, PURSE_MAC_LEN)) {
		st = ec_error_set(err, EC_ERR_CHECK,
				  "the card's load receipt (S3) does not verify: it was not made by this card for this load.");
		goto out;
	}
	/* S3 has no challenge: only a counter past the load's tells this
	 * receipt from the one of an earlier load of the same amount. */
	if (counter <= load->counter) {
		st = ec_error_set(err, EC_ERR_CHECK,
				  "the card's load receipt is for an earlier load (counter %lu, this load started at %lu).",
				  (unsigned long)counter, (unsigned long)load->counter);
		goto out;
	}
	if (new_counter)
		*new_counter = counter;
	if (new_balance)
		*new_balance = balance;

out:
	crypto_wipe(kload, sizeof(kload));
	crypto_wipe(expected, sizeof(expected));
	return st;
}

/* Append one TLV with a short or 81-form length. */
static void put_tlv(struct writer *w, uint8_t tag, const uint8_t *value, size_t len)
{
	writer_u8(w, tag);
	if (len > 0x7F)
		writer_u8(w, 0x81);
	writer_u8(w, (uint8_t)len);
	writer_bytes(w, value, len);
}

/* Send STORE DATA with TLVs; the buffer is wiped by the caller. */
static enum ec_status store_data(struct ec_pcsc *pc, uint8_t p1, const uint8_t *tlvs, size_t len,
				 uint8_t *apdu, size_t apdu_cap, struct ec_error *err)
{
	struct writer w;
	writer_init(&w, apdu, apdu_cap);
	writer_u8(&w, 0x80);
	writer_u8(&w, INS_STORE_DATA);
	writer_u8(&w, p1);
	writer_u8(&w, 0x00);
	writer_u8(&w, (uint8_t)len);
	writer_bytes(&w, tlvs, len);
	if (!writer_ok(&w) || len > 255)
		return ec_error_set(err, EC_ERR_ARG, "a STORE DATA block does not fit a short APDU: this is a bug in ecard.");
	return ec_command(pc, "STORE DATA", apdu, w.len, NULL, 0, NULL, err);
}

enum ec_status ec_issuer_personalize(const struct ec_issuer *issuer, struct ec_pcsc *pc,
				     uint8_t serial_out[PURSE_SERIAL_LEN], struct ec_error *err)
{
	static const uint8_t generate[] = { 0x80, INS_GENERATE_KEY_PAIR, 0x00, 0x00, 0x00 };
	uint8_t answer[PURSE_SERIAL_LEN + CRYPTO_EC_PUB_LEN + 1];
	uint8_t serial[PURSE_SERIAL_LEN], card_pub[CRYPTO_EC_PUB_LEN], cert[PURSE_CERT_LEN];
	uint8_t kload[PURSE_KEY_LEN], limits[6];
	uint8_t tlvs[200], apdu[5 + 200];
	struct writer w;
	size_t len;

	if (!issuer || !pc)
		return ec_error_set(err, EC_ERR_ARG, "ec_issuer_personalize was called without its arguments.");
	enum ec_status st = ec_wallet_select(pc, err);
	if (st != EC_OK)
		return st;
	st = ec_command(pc, "GENERATE KEY PAIR", generate, sizeof(generate), answer,
			sizeof(answer), &len, err);
	if (st != EC_OK)
		return st;
	if (len != PURSE_SERIAL_LEN + CRYPTO_EC_PUB_LEN || answer[PURSE_SERIAL_LEN] != 0x04)
		return ec_error_set(err, EC_ERR_FORMAT,
				    "the card's GENERATE KEY PAIR answer is not a serial and an uncompressed P-256 key (%zu bytes): is this an ecard wallet?",
				    len);
	memcpy(serial, answer, PURSE_SERIAL_LEN);
	memcpy(card_pub, answer + PURSE_SERIAL_LEN, CRYPTO_EC_PUB_LEN);

	if (purse_derive_kload(issuer->master_key, serial, kload) != 0 ||
	    purse_cert_make(issuer->ca_priv, serial, card_pub, cert) != 0) {
		st = ec_error_set(err, EC_ERR_CRYPTO,
				  "deriving the card's keys or signing its certificate failed: check the OpenSSL installation.");
		goto out;
	}

	store_be16(limits, issuer->currency);
	store_be32(limits + 2, issuer->max_balance);
	writer_init(&w, tlvs, sizeof(tlvs));
	put_tlv(&w, TAG_KLOAD, kload, sizeof(kload));
	put_tlv(&w, TAG_CA_PUB, issuer->ca_pub, CRYPTO_EC_PUB_LEN);
	put_tlv(&w, TAG_LIMITS, limits, sizeof(limits));
	st = writer_ok(&w) ? store_data(pc, 0x00, tlvs, w.len, apdu, sizeof(apdu), err)
			   : ec_error_set(err, EC_ERR_ARG, "the personalization data does not fit: this is a bug in ecard.");
	if (st != EC_OK)
		goto out;

	writer_init(&w, tlvs, sizeof(tlvs));
	put_tlv(&w, TAG_CERT, cert, sizeof(cert));
	st = writer_ok(&w) ? store_data(pc, STORE_DATA_LAST, tlvs, w.len, apdu, sizeof(apdu), err)
			   : ec_error_set(err, EC_ERR_ARG, "the card certificate does not fit: this is a bug in ecard.");
	if (st != EC_OK)
		goto out;
	if (serial_out)
		memcpy(serial_out, serial, PURSE_SERIAL_LEN);

out:
	crypto_wipe(kload, sizeof(kload));
	crypto_wipe(tlvs, sizeof(tlvs));
	crypto_wipe(apdu, sizeof(apdu));
	return st;
}

/* ---- personalization through the card manager ---- */

static const uint8_t isd_aid[] = { 0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00 };

/* The secure channel and the class byte of its logical channel, which
 * every command sent through it carries. */
struct gp_perso {
	struct ec_gp_session session;
	uint8_t cla;
};

/*
 * The most data a STORE DATA may carry in the secure channel: 239 bytes
 * once command encryption has padded it (gp_session.h), which is what we
 * plan for whatever the level. A DEK-encrypted block is a multiple of 16
 * within that, so its plain TLVs take at most 223 bytes before padding.
 */
#define GP_DATA_MAX 239u
#define DEK_PLAIN_MAX (GP_DATA_MAX / 16u * 16u - 1u)

/* Send one command in the channel; a status word other than 9000 is an
 * error naming what. The answer's data (without the status word) goes to
 * data when it is not NULL. */
static enum ec_status gp_command(struct gp_perso *g, const char *what, const uint8_t *cmd,
				 size_t cmd_len, uint8_t *data, size_t cap, size_t *data_len,
				 struct ec_error *err)
{
	uint8_t resp[256 + 32];
	size_t n = 0;
	enum ec_status st = ec_gp_transmit(&g->session, cmd, cmd_len, resp, sizeof(resp), &n, err);
	if (st == EC_OK && n < 2)
		st = ec_error_set(err, EC_ERR_BAD_RESPONSE,
				  "the card's answer to %s has no status word.", what);
	if (st == EC_OK) {
		uint16_t sw = ec_response_sw(resp, n);
		n -= 2;
		if (sw != 0x9000)
			st = ec_error_sw(err, what, sw);
		else if (data == NULL ? n != 0 : n > cap)
			st = ec_error_set(err, EC_ERR_FORMAT,
					  "the card's answer to %s is %zu bytes long, more than expected.",
					  what, n);
		else if (data != NULL) {
			memcpy(data, resp, n);
			*data_len = n;
		}
	}
	crypto_wipe(resp, sizeof(resp));
	return st;
}

/* A clearer sentence for an application's 6985, keeping the status word
 * for callers that look at it. */
static enum ec_status refused_again(struct ec_error *err, const char *text)
{
	ec_error_set(err, EC_ERR_CARD, "%s", text);
	err->sw = 0x6985;
	return EC_ERR_CARD;
}

/* INSTALL [for personalization]: STORE DATA goes to aid from now on. */
static enum ec_status gp_install_for_perso(struct gp_perso *g, const uint8_t *aid,
					   size_t aid_len, const char *what, struct ec_error *err)
{
	uint8_t cmd[5 + 3 + 16 + 3], answer[1];
	size_t n = 0;
	struct writer w;
	writer_init(&w, cmd, sizeof(cmd));
	writer_u8(&w, g->cla);
	writer_u8(&w, INS_INSTALL);
	writer_u8(&w, INSTALL_FOR_PERSONALIZATION);
	writer_u8(&w, 0x00);
	writer_u8(&w, (uint8_t)(3 + aid_len + 3));
	writer_u8(&w, 0x00);	/* no load file */
	writer_u8(&w, 0x00);	/* no module */
	writer_u8(&w, (uint8_t)aid_len);
	writer_bytes(&w, aid, aid_len);
	writer_u8(&w, 0x00);	/* no privileges */
	writer_u8(&w, 0x00);	/* no parameters */
	writer_u8(&w, 0x00);	/* no token */
	if (!writer_ok(&w))
		return ec_error_set(err, EC_ERR_ARG, "an application AID is too long: this is a bug in ecard.");
	return gp_command(g, what, cmd, w.len, answer, sizeof(answer), &n, err);
}

/*
 * STORE DATA block number block with data; with encrypt the data is
 * padded 80 00.. and encrypted with the session's static DEK, and P1 says
 * so, for the card manager to decrypt. Every buffer is wiped.
 */
static enum ec_status gp_store_data(struct gp_perso *g, uint8_t p1, uint8_t block,
				    bool encrypt, const uint8_t *data, size_t len,
				    uint8_t *answer, size_t cap, size_t *answer_len,
				    const char *what, struct ec_error *err)
{
	uint8_t cmd[5 + GP_DATA_MAX];
	enum ec_status st = EC_OK;
	size_t n = len;

	if (len > (encrypt ? DEK_PLAIN_MAX : GP_DATA_MAX))
		return ec_error_set(err, EC_ERR_ARG, "a STORE DATA block is too long: this is a bug in ecard.");
	cmd[0] = g->cla;
	cmd[1] = INS_STORE_DATA;
	cmd[2] = (uint8_t)(p1 | (encrypt ? STORE_DATA_ENCRYPTED : 0));
	cmd[3] = block;
	memcpy(cmd + 5, data, len);
	if (encrypt) {
		struct scp03_keys k;
		cmd[5 + n++] = 0x80;
		while (n % 16)
			cmd[5 + n++] = 0x00;
		memset(&k, 0, sizeof(k));
		memcpy(k.dek, g->session.keys.dek, sizeof(k.dek));
		k.len = g->session.keys.len;
		k.kvn = g->session.keys.kvn;
		if (scp03_dek_encrypt(&k, cmd + 5, n, cmd + 5) != SCP03_OK)
			st = ec_error_set(err, EC_ERR_CRYPTO,
					  "encrypting with the DEK failed: check the OpenSSL installation.");
		crypto_wipe(&k, sizeof(k));
	}
	cmd[4] = (uint8_t)n;
	if (st == EC_OK)
		st = gp_command(g, what, cmd, n ? 5 + n : 4, answer, cap, answer_len, err);
	crypto_wipe(cmd, sizeof(cmd));
	return st;
}

/* The wallet's part: key pair, keys, limits, certificate. */
static enum ec_status perso_wallet(const struct ec_issuer *issuer, struct gp_perso *g,
				   uint8_t serial[PURSE_SERIAL_LEN], struct ec_error *err)
{
	static const uint8_t generate[] = { TAG_GENERATE, 0x00 };
	uint8_t answer[PURSE_SERIAL_LEN + CRYPTO_EC_PUB_LEN], card_pub[CRYPTO_EC_PUB_LEN];
	uint8_t kload[PURSE_KEY_LEN], cert[PURSE_CERT_LEN], limits[6], tlvs[160];
	struct writer w;
	size_t len = 0;

	enum ec_status st = gp_install_for_perso(g, ec_wallet_aid, EC_AID_LEN,
						 "INSTALL [for personalization] of the wallet", err);
	if (st != EC_OK)
		return st;
	st = gp_store_data(g, 0x00, 0, false, generate, sizeof(generate), answer, sizeof(answer),
			   &len, "STORE DATA (key generation) for the wallet", err);
	if (st == EC_ERR_CARD && err && err->sw == 0x6985)
		return refused_again(err, "the wallet on this card is personalized already (SW 6985): a card is personalized once; nothing was changed.");
	if (st != EC_OK)
		return st;
	if (len != sizeof(answer) || answer[PURSE_SERIAL_LEN] != 0x04)
		return ec_error_set(err, EC_ERR_FORMAT,
				    "the wallet's key generation answer is not a serial and an uncompressed P-256 key (%zu bytes): is this an ecard wallet?",
				    len);
	memcpy(serial, answer, PURSE_SERIAL_LEN);
	memcpy(card_pub, answer + PURSE_SERIAL_LEN, CRYPTO_EC_PUB_LEN);

	if (purse_derive_kload(issuer->master_key, serial, kload) != 0 ||
	    purse_cert_make(issuer->ca_priv, serial, card_pub, cert) != 0) {
		st = ec_error_set(err, EC_ERR_CRYPTO,
				  "deriving the card's keys or signing its certificate failed: check the OpenSSL installation.");
		goto out;
	}

	/* K_load alone in a block of its own: the only one under the DEK. */
	writer_init(&w, tlvs, sizeof(tlvs));
	put_tlv(&w, TAG_KLOAD, kload, sizeof(kload));
	st = gp_store_data(g, 0x00, 1, true, tlvs, w.len, NULL, 0, NULL,
			   "STORE DATA (K_load) for the wallet", err);
	if (st != EC_OK)
		goto out;

	store_be16(limits, issuer->currency);
	store_be32(limits + 2, issuer->max_balance);
	writer_init(&w, tlvs, sizeof(tlvs));
	put_tlv(&w, TAG_CA_PUB, issuer->ca_pub, CRYPTO_EC_PUB_LEN);
	put_tlv(&w, TAG_LIMITS, limits, sizeof(limits));
	st = writer_ok(&w) ? gp_store_data(g, 0x00, 2, false, tlvs, w.len, NULL, 0, NULL,
					   "STORE DATA (CA key, currency and maximum) for the wallet", err)
			   : ec_error_set(err, EC_ERR_ARG, "the personalization data does not fit: this is a bug in ecard.");
	if (st != EC_OK)
		goto out;

	writer_init(&w, tlvs, sizeof(tlvs));
	put_tlv(&w, TAG_CERT, cert, sizeof(cert));
	st = writer_ok(&w) ? gp_store_data(g, STORE_DATA_LAST, 3, false, tlvs, w.len, NULL, 0, NULL,
					   "STORE DATA (certificate, last block) for the wallet", err)
			   : ec_error_set(err, EC_ERR_ARG, "the card certificate does not fit: this is a bug in ecard.");

out:
	crypto_wipe(kload, sizeof(kload));
	crypto_wipe(tlvs, sizeof(tlvs));
	return st;
}

/*
 * Blocks for the profile: TLVs collected in order, a block sent when the
 * next TLV would not fit; plain and DEK-encrypted TLVs in blocks of their
 * own kind. The last block is sent by profile_flush(..., true).
 */
struct perso_blocks {
	struct gp_perso *g;
	uint8_t block;		/* next STORE DATA block number */
	bool encrypt;		/* the kind of what buf holds */
	uint8_t buf[GP_DATA_MAX];
	size_t len;
};

static enum ec_status profile_flush(struct perso_blocks *b, bool last, struct ec_error *err)
{
	enum ec_status st = gp_store_data(b->g, last ? STORE_DATA_LAST : 0x00, b->block, b->encrypt,
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
			   b->len + need > (b->encrypt ? DEK_PLAIN_MAX : GP_DATA_MAX)))
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
static enum ec_status perso_profile(struct gp_perso *g, const struct ec_profile_init *initial,
				    struct ec_error *err)
{
	struct perso_blocks b = { .g = g };
	enum ec_status st = gp_install_for_perso(g, ec_profile_aid, EC_AID_LEN,
						 "INSTALL [for personalization] of the profile", err);
	for (size_t i = 0; st == EC_OK && initial && i < EC_PROFILE_FIELDS; i++) {
		const struct ec_profile_field *f = &ec_profile_fields[i];
		const char *v = initial->values[f->id - 1];
		if (v)
			st = profile_add(&b, f->id, (const uint8_t *)v, strlen(v), f->private_class,
					 err);
	}
	if (st == EC_OK && initial && initial->set_policy) {
		uint8_t policy[2] = { initial->general, initial->private_class };
		st = profile_add(&b, TAG_POLICY, policy, sizeof(policy), false, err);
	}
	if (st == EC_OK)
		st = profile_flush(&b, true, err);
	crypto_wipe(&b, sizeof(b));
	if (st == EC_ERR_CARD && err && err->sw == 0x6985)
		return refused_again(err, "the profile on this card is personalized already (SW 6985); the wallet was personalized.");
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

enum ec_status ec_issuer_personalize_gp(const struct ec_issuer *issuer, struct ec_pcsc *pc,
					const struct ec_gp_options *gp,
					const struct ec_gp_keys *keys,
					const struct ec_profile_init *initial,
					uint8_t serial_out[PURSE_SERIAL_LEN], struct ec_error *err)
{
	uint8_t select[5 + sizeof(isd_aid) + 1], serial[PURSE_SERIAL_LEN];
	struct ec_gp_options opt;
	struct gp_perso g;

	if (!issuer || !pc || !keys)
		return ec_error_set(err, EC_ERR_ARG, "ec_issuer_personalize_gp was called without its arguments.");
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

	/* Class bytes of the logical channel (GP 2.3.1 §11.1.4): the
	 * interindustry one for SELECT, the proprietary one for the rest. */
	if (opt.channel > 19)
		return ec_error_set(err, EC_ERR_ARG, "logical channel %u does not exist: use 0 to 19.",
				    opt.channel);
	select[0] = opt.channel <= 3 ? opt.channel : (uint8_t)(0x40 | (opt.channel - 4));
	g.cla = opt.channel <= 3 ? (uint8_t)(0x80 | opt.channel) : (uint8_t)(0xC0 | (opt.channel - 4));
	select[1] = 0xA4;
	select[2] = 0x04;
	select[3] = 0x00;
	select[4] = sizeof(isd_aid);
	memcpy(select + 5, isd_aid, sizeof(isd_aid));
	select[5 + sizeof(isd_aid)] = 0x00;
	st = ec_command(pc, "SELECT the card manager", select, sizeof(select), NULL, 0, NULL, err);
	if (st != EC_OK)
		return st;

	memset(&g.session, 0, sizeof(g.session));
	st = ec_gp_open(&g.session, pc, keys, &opt, err);
	if (st == EC_OK)
		st = perso_wallet(issuer, &g, serial, err);
	if (st == EC_OK)
		st = perso_profile(&g, initial, err);
	ec_gp_close(&g.session);
	if (st == EC_OK && serial_out)
		memcpy(serial_out, serial, PURSE_SERIAL_LEN);
	return st;
}

enum ec_status ec_issuer_sign_merchant(const struct ec_issuer *issuer,
				       const uint8_t id[PURSE_ID_LEN],
				       const uint8_t pub[CRYPTO_EC_PUB_LEN],
				       uint8_t cert[PURSE_CERT_LEN], struct ec_error *err)
{
	if (purse_cert_make(issuer->ca_priv, id, pub, cert) != 0)
		return ec_error_set(err, EC_ERR_CRYPTO,
				    "signing the merchant certificate failed: check the OpenSSL installation.");
	return EC_OK;
}
