/*
 * gp_keys.c - static key sets, key check values and master key
 * diversification for GlobalPlatform secure channels. The exact input bytes
 * of each diversification method are listed in gp_keys.h.
 */
#include "gp_keys.h"

#include <stdbool.h>
#include <string.h>

#include "crypto.h"
#include "scp03.h"

static bool aes_len(size_t len)
{
	return len == 16 || len == 24 || len == 32;
}

void ec_gp_keys_wipe(struct ec_gp_keys *keys)
{
	if (keys != NULL)
		crypto_wipe(keys, sizeof(*keys));
}

void ec_gp_default_keys(struct ec_gp_keys *keys, uint8_t kvn)
{
	uint8_t key[16];

	for (size_t i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(0x40 + i);
	ec_gp_keys_from_master(keys, key, sizeof(key), kvn);
}

enum ec_status ec_gp_keys_from_master(struct ec_gp_keys *keys, const uint8_t *key,
				      size_t len, uint8_t kvn)
{
	if (keys == NULL || key == NULL || !aes_len(len))
		return EC_ERR_ARG;
	ec_gp_keys_wipe(keys);
	memcpy(keys->enc, key, len);
	memcpy(keys->mac, key, len);
	memcpy(keys->dek, key, len);
	keys->len = len;
	keys->kvn = kvn;
	return EC_OK;
}

/* The 16-byte EMV or VISA2 diversification data of key_id. */
static void des_div_data(enum ec_gp_kdf kdf, uint8_t key_id,
			 const uint8_t kdd[EC_GP_KDD_LEN], uint8_t data[16])
{
	uint8_t half[6];

	if (kdf == EC_GP_KDF_EMV) {
		memcpy(half, kdd + 4, 6);		/* kdd[4..9] */
	} else {
		memcpy(half, kdd, 2);			/* kdd[0..1] */
		memcpy(half + 2, kdd + 4, 4);		/* kdd[4..7] */
	}
	memcpy(data, half, 6);
	data[6] = 0xF0;
	data[7] = key_id;
	memcpy(data + 8, half, 6);
	data[14] = 0x0F;
	data[15] = key_id;
}

/* KDF3: counter || 00 00 00 || id || 00 || KDD per CMAC block. */
static enum ec_status kdf3(const uint8_t *master, size_t len, uint8_t key_id,
			   const uint8_t kdd[EC_GP_KDD_LEN], uint8_t *out)
{
	uint8_t input[6 + EC_GP_KDD_LEN];
	uint8_t block[CRYPTO_AES_BLOCK];
	enum ec_status st = EC_OK;

	input[1] = 0x00;
	input[2] = 0x00;
	input[3] = 0x00;
	input[4] = key_id;
	input[5] = 0x00;
	memcpy(input + 6, kdd, EC_GP_KDD_LEN);
	for (size_t done = 0, i = 1; done < len; i++) {
		size_t take = len - done < sizeof(block) ? len - done : sizeof(block);

		input[0] = (uint8_t)i;
		if (crypto_aes_cmac(master, len, input, sizeof(input), block) != 0) {
			st = EC_ERR_CRYPTO;
			break;
		}
		memcpy(out + done, block, take);
		done += take;
	}
	crypto_wipe(block, sizeof(block));
	if (st != EC_OK)
		crypto_wipe(out, len);
	return st;
}

enum ec_status ec_gp_diversify_key(enum ec_gp_kdf kdf, const uint8_t *master,
				   size_t len, uint8_t key_id,
				   const uint8_t kdd[EC_GP_KDD_LEN], uint8_t *out)
{
	uint8_t data[16];

	if (master == NULL || kdd == NULL || out == NULL)
		return EC_ERR_ARG;
	switch (kdf) {
	case EC_GP_KDF_EMV:
	case EC_GP_KDF_VISA2:
		if (len != 16)
			return EC_ERR_ARG;
		des_div_data(kdf, key_id, kdd, data);
		if (crypto_des3_ecb_encrypt(master, len, data, sizeof(data), out) != 0)
			return EC_ERR_CRYPTO;
		return EC_OK;
	case EC_GP_KDF_KDF3:
		if (!aes_len(len))
			return EC_ERR_ARG;
		return kdf3(master, len, key_id, kdd, out);
	case EC_GP_KDF_NONE:
		break;
	}
	return EC_ERR_ARG;
}

enum ec_status ec_gp_diversify(enum ec_gp_kdf kdf, const struct ec_gp_keys *master,
			       const uint8_t kdd[EC_GP_KDD_LEN], struct ec_gp_keys *out)
{
	struct ec_gp_keys tmp;
	enum ec_status st;

	if (master == NULL || out == NULL || !aes_len(master->len))
		return EC_ERR_ARG;
	if (kdf == EC_GP_KDF_NONE) {
		if (out != master)
			*out = *master;
		return EC_OK;
	}
	memset(&tmp, 0, sizeof(tmp));
	tmp.len = master->len;
	tmp.kvn = master->kvn;
	st = ec_gp_diversify_key(kdf, master->enc, master->len, EC_GP_KEY_ID_ENC, kdd,
				 tmp.enc);
	if (st == EC_OK)
		st = ec_gp_diversify_key(kdf, master->mac, master->len, EC_GP_KEY_ID_MAC,
					 kdd, tmp.mac);
	if (st == EC_OK)
		st = ec_gp_diversify_key(kdf, master->dek, master->len, EC_GP_KEY_ID_DEK,
					 kdd, tmp.dek);
	if (st == EC_OK)
		*out = tmp;
	ec_gp_keys_wipe(&tmp);
	return st;
}

enum ec_status ec_gp_kcv_des3(const uint8_t key[16], uint8_t out[EC_GP_KCV_LEN])
{
	static const uint8_t zero[CRYPTO_DES_BLOCK];
	uint8_t enc[CRYPTO_DES_BLOCK];

	if (key == NULL || out == NULL)
		return EC_ERR_ARG;
	if (crypto_des3_ecb_encrypt(key, 16, zero, sizeof(zero), enc) != 0)
		return EC_ERR_CRYPTO;
	memcpy(out, enc, EC_GP_KCV_LEN);
	return EC_OK;
}

enum ec_status ec_gp_kcv_aes(const uint8_t *key, size_t len, uint8_t out[EC_GP_KCV_LEN])
{
	switch (scp03_kcv(key, len, out)) {
	case SCP03_OK:
		return EC_OK;
	case SCP03_ERR_CRYPTO:
		return EC_ERR_CRYPTO;
	default:
		return EC_ERR_ARG;
	}
}

const char *ec_gp_kdf_name(enum ec_gp_kdf kdf)
{
	switch (kdf) {
	case EC_GP_KDF_NONE:
		return "none";
	case EC_GP_KDF_EMV:
		return "emv";
	case EC_GP_KDF_VISA2:
		return "visa2";
	case EC_GP_KDF_KDF3:
		return "kdf3";
	}
	return "unknown";
}

int ec_gp_kdf_parse(const char *name, enum ec_gp_kdf *out)
{
	static const enum ec_gp_kdf all[] = {
		EC_GP_KDF_NONE, EC_GP_KDF_EMV, EC_GP_KDF_VISA2, EC_GP_KDF_KDF3,
	};

	if (name == NULL || out == NULL)
		return -1;
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (strcmp(name, ec_gp_kdf_name(all[i])) == 0) {
			*out = all[i];
			return 0;
		}
	}
	return -1;
}
