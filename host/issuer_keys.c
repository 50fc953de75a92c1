/*
 * issuer_keys.c - the issuer key directory (see issuer.h): made with fresh
 * keys by ec_issuer_init(), read back, checked and wiped.
 *
 * Secrets are written readable by the owner only, through keyfile.c, and
 * checked so when read; the master key and the CA's private key are wiped
 * before every return that saw them.
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
#include "keyfile.h"

#define MODE_DIR 0700

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
	EC_ISSUER_ISD_FILE,
};

/* The card manager's master keys, by name in isd.key. */
#define ISD_MASTER_LEN 16
static const char *const isd_key_names[3] = { "isd_master_enc", "isd_master_mac",
					       "isd_master_dek" };

static uint8_t *isd_key(struct ec_gp_keys *k, size_t i)
{
	return i == 0 ? k->enc : i == 1 ? k->mac : k->dek;
}

#define N_ISSUER_FILES (sizeof(issuer_files) / sizeof(issuer_files[0]))

/* Build and write file i of the directory. */
static enum ec_status write_issuer_file(const char *dir, size_t i, struct ec_issuer *is,
					struct ec_error *err)
{
	const struct ec_currency *cur = ec_currency_by_numeric(is->currency);
	struct ec_keyfile kf;
	char path[PATH_MAX], text[EC_AMOUNT_TEXT_MAX], line[128];
	unsigned flags = 0;

	if (!join(path, sizeof(path), dir, issuer_files[i]))
		return ec_error_set(err, EC_ERR_ARG, "the directory name %s is too long.", dir);
	ec_keyfile_init(&kf);
	switch (i) {
	case 0:
		ec_keyfile_add_comment(&kf, "ecard issuer master load key: every card's K_load derives from it. Secret.");
		ec_keyfile_add_hex(&kf, "master_load_key", is->master_key, PURSE_MASTER_KEY_LEN);
		flags = EC_KEYFILE_SECRET;
		break;
	case 1:
		ec_keyfile_add_comment(&kf, "ecard issuer CA key pair (ECDSA P-256): certifies cards and merchants. Secret.");
		ec_keyfile_add_hex(&kf, "ca_private_key", is->ca_priv, CRYPTO_EC_PRIV_LEN);
		ec_keyfile_add_hex(&kf, "ca_public_key", is->ca_pub, CRYPTO_EC_PUB_LEN);
		flags = EC_KEYFILE_SECRET;
		break;
	case 2:
		ec_keyfile_add_comment(&kf, "ecard issuer CA public key: give it to merchants and verifiers.");
		ec_keyfile_add_hex(&kf, "ca_public_key", is->ca_pub, CRYPTO_EC_PUB_LEN);
		break;
	case 3:
		snprintf(line, sizeof(line), "ecard issuer settings: currency %s, maximum balance %s.",
			 cur->code, ec_amount_format(is->max_balance, cur->numeric, text, sizeof(text)));
		ec_keyfile_add_comment(&kf, line);
		ec_keyfile_add_u32(&kf, "currency", cur->numeric);
		ec_keyfile_add_u32(&kf, "max_balance", is->max_balance);
		break;
	default:
		ec_keyfile_add_comment(&kf, "ecard card manager master keys (AES-128): each issued card's keys derive from them. Secret.");
		for (size_t k = 0; k < 3; k++)
			ec_keyfile_add_hex(&kf, isd_key_names[k], isd_key(&is->isd_master, k),
					   ISD_MASTER_LEN);
		flags = EC_KEYFILE_SECRET;
		break;
	}
	enum ec_status st = ec_keyfile_write(&kf, path, flags, err);
	ec_keyfile_wipe(&kf);
	return st;
}

enum ec_status ec_issuer_init(const char *dir, uint16_t currency, uint32_t max_balance,
			      struct ec_error *err)
{
	struct ec_issuer is;
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

	memset(&is, 0, sizeof(is));
	is.currency = currency;
	is.max_balance = max_balance;
	is.isd_master.len = ISD_MASTER_LEN;
	is.isd_master.kvn = EC_ISSUER_ISD_KVN;
	if (crypto_random(is.master_key, sizeof(is.master_key)) != 0 ||
	    crypto_ec_generate(is.ca_priv, is.ca_pub) != 0 ||
	    crypto_random(is.isd_master.enc, ISD_MASTER_LEN) != 0 ||
	    crypto_random(is.isd_master.mac, ISD_MASTER_LEN) != 0 ||
	    crypto_random(is.isd_master.dek, ISD_MASTER_LEN) != 0) {
		st = ec_error_set(err, EC_ERR_CRYPTO,
				  "the random generator or key generation failed: check the OpenSSL installation.");
		goto out;
	}
	for (; written < N_ISSUER_FILES; written++) {
		st = write_issuer_file(dir, written, &is, err);
		if (st != EC_OK)
			break;
	}

out:
	ec_issuer_wipe(&is);
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

	/* The card managers' master keys. A directory made before issuance
	 * replaced the test keys has none: such cards were never issued. */
	if (!join(path, sizeof(path), dir, EC_ISSUER_ISD_FILE))
		return ec_error_set(err, EC_ERR_ARG, "the directory name %s is too long.", dir);
	if (stat(path, &sb) != 0 && errno == ENOENT)
		return ec_error_set(err, EC_ERR_FILE,
				    "%s has no %s, the card managers' master keys (it was made by an older ecard, whose cards kept the public test keys): make a new issuer directory with \"ecard issuer init\".",
				    dir, EC_ISSUER_ISD_FILE);
	st = ec_keyfile_read(&kf, path, true, err);
	for (size_t k = 0; k < 3 && st == EC_OK; k++)
		st = ec_keyfile_get_hex(&kf, path, isd_key_names[k], isd_key(&is->isd_master, k),
					ISD_MASTER_LEN, err);
	ec_keyfile_wipe(&kf);
	is->isd_master.len = ISD_MASTER_LEN;
	is->isd_master.kvn = EC_ISSUER_ISD_KVN;
	return st;
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
