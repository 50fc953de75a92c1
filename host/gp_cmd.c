/*
 * gp_cmd.c - GlobalPlatform commands built without a card (gp_cmd.h).
 */
#include "gp_cmd.h"

#include <string.h>

#include "crypto.h"
#include "cursor.h"
#include "gp.h"
#include "gp_keys.h"
#include "gp_proto.h"
#include "scp03.h"

static enum ec_status finish(struct writer *w, uint8_t *lc, size_t start, bool le,
			     size_t *out_len)
{
	if (!writer_ok(w) || !lc || w->len - start > 255)
		return EC_ERR_ARG;
	*lc = (uint8_t)(w->len - start);
	if (le)
		writer_u8(w, 0x00);
	if (!writer_ok(w))
		return EC_ERR_ARG;
	*out_len = w->len;
	return EC_OK;
}

static uint8_t *header(struct writer *w, uint8_t cla, uint8_t ins, uint8_t p1, uint8_t p2)
{
	writer_u8(w, cla);
	writer_u8(w, ins);
	writer_u8(w, p1);
	writer_u8(w, p2);
	return writer_reserve(w, 1);
}

enum ec_status ec_gp_cmd_install_for_load(uint8_t cla, const struct ec_cap *cap,
					  const uint8_t *domain, size_t domain_len, bool hash,
					  uint8_t *out, size_t cap_len, size_t *out_len)
{
	struct writer w;

	if (!cap || cap->package.aid.len == 0 || domain_len > EC_GP_AID_MAX ||
	    (domain_len && !domain))
		return EC_ERR_ARG;
	writer_init(&w, out, cap_len);
	uint8_t *lc = header(&w, cla, GP_INS_INSTALL, GP_INSTALL_FOR_LOAD, 0x00);
	size_t start = w.len;
	writer_u8(&w, cap->package.aid.len);
	writer_bytes(&w, cap->package.aid.bytes, cap->package.aid.len);
	writer_u8(&w, (uint8_t)domain_len);	/* empty: the ISD */
	writer_bytes(&w, domain, domain_len);
	writer_u8(&w, hash ? CRYPTO_SHA256_LEN : 0);
	writer_bytes(&w, cap->load_file_sha256, hash ? CRYPTO_SHA256_LEN : 0);
	writer_u8(&w, 0);	/* no load parameters */
	writer_u8(&w, 0);	/* no token: the ISD itself loads */
	return finish(&w, lc, start, true, out_len);
}

enum ec_status ec_gp_cmd_load(uint8_t cla, const struct ec_cap *cap, size_t block_size,
			      size_t index, uint8_t *out, size_t cap_len, size_t *out_len)
{
	struct ec_cap_block b;
	struct ec_error err;

	if (!cap || !cap->load_data || block_size == 0 || block_size > 255 ||
	    ec_cap_block(cap->load_data, cap->load_data_len, block_size, index, &b, &err) != EC_OK ||
	    cap_len < 5 + b.len)
		return EC_ERR_ARG;
	out[0] = cla;
	out[1] = GP_INS_LOAD;
	out[2] = b.last ? GP_P1_LAST_BLOCK : 0x00;
	out[3] = b.number;	/* wraps past FF, see cap.h */
	out[4] = (uint8_t)b.len;
	memcpy(out + 5, b.data, b.len);
	*out_len = 5 + b.len;
	return EC_OK;
}

enum ec_status ec_gp_cmd_install(uint8_t cla, const struct ec_gp_install *in, uint8_t *out,
				 size_t cap_len, size_t *out_len)
{
	static const uint8_t no_privileges[1] = { 0x00 };
	struct writer w;

	if (!in || in->package.len == 0 || in->module.len == 0 || in->package.len > EC_GP_AID_MAX ||
	    in->module.len > EC_GP_AID_MAX || in->aid.len > EC_GP_AID_MAX ||
	    (in->privileges_len != 0 && in->privileges_len != 1 && in->privileges_len != 3) ||
	    in->params_len > EC_GP_PARAMS_MAX || (in->params_len && !in->params))
		return EC_ERR_ARG;
	const struct ec_gp_aid *app = in->aid.len ? &in->aid : &in->module;
	const uint8_t *priv = in->privileges_len ? in->privileges : no_privileges;
	size_t priv_len = in->privileges_len ? in->privileges_len : 1;

	writer_init(&w, out, cap_len);
	uint8_t *lc = header(&w, cla, GP_INS_INSTALL,
			     in->selectable ? GP_INSTALL_FOR_INSTALL_AND_SELECTABLE
					    : GP_INSTALL_FOR_INSTALL, 0x00);
	size_t start = w.len;
	writer_u8(&w, in->package.len);
	writer_bytes(&w, in->package.bytes, in->package.len);
	writer_u8(&w, in->module.len);
	writer_bytes(&w, in->module.bytes, in->module.len);
	writer_u8(&w, app->len);
	writer_bytes(&w, app->bytes, app->len);
	writer_u8(&w, (uint8_t)priv_len);
	writer_bytes(&w, priv, priv_len);
	/* Install parameters: C9, the application's own, always present. */
	writer_u8(&w, (uint8_t)(2 + in->params_len));
	writer_u8(&w, GP_TAG_APP_PARAMS);
	writer_u8(&w, (uint8_t)in->params_len);
	writer_bytes(&w, in->params, in->params_len);
	writer_u8(&w, 0);	/* no token */
	return finish(&w, lc, start, true, out_len);
}

enum ec_status ec_gp_cmd_delete(uint8_t cla, const uint8_t *aid, size_t aid_len, bool related,
				uint8_t *out, size_t cap_len, size_t *out_len)
{
	struct writer w;

	if (!aid || aid_len == 0 || aid_len > EC_GP_AID_MAX)
		return EC_ERR_ARG;
	writer_init(&w, out, cap_len);
	uint8_t *lc = header(&w, cla, GP_INS_DELETE, 0x00, related ? GP_DELETE_RELATED : 0x00);
	size_t start = w.len;
	writer_u8(&w, GP_TAG_AID);
	writer_u8(&w, (uint8_t)aid_len);
	writer_bytes(&w, aid, aid_len);
	return finish(&w, lc, start, true, out_len);
}

enum ec_status ec_gp_cmd_install_for_perso(uint8_t cla, const uint8_t *aid, size_t aid_len,
					   uint8_t *out, size_t cap_len, size_t *out_len)
{
	struct writer w;

	if (!aid || aid_len == 0 || aid_len > EC_GP_AID_MAX)
		return EC_ERR_ARG;
	writer_init(&w, out, cap_len);
	uint8_t *lc = header(&w, cla, GP_INS_INSTALL, GP_INSTALL_FOR_PERSONALIZATION, 0x00);
	size_t start = w.len;
	writer_u8(&w, 0x00);	/* no load file */
	writer_u8(&w, 0x00);	/* no module */
	writer_u8(&w, (uint8_t)aid_len);
	writer_bytes(&w, aid, aid_len);
	writer_u8(&w, 0x00);	/* no privileges */
	writer_u8(&w, 0x00);	/* no parameters */
	writer_u8(&w, 0x00);	/* no token */
	return finish(&w, lc, start, false, out_len);
}

enum ec_status ec_gp_cmd_store_data(uint8_t cla, uint8_t p1, uint8_t block, const uint8_t *dek,
				    size_t dek_len, const uint8_t *data, size_t len, uint8_t *out,
				    size_t cap_len, size_t *out_len)
{
	size_t n = len;

	if (len > (dek ? EC_GP_STORE_DATA_DEK_MAX : EC_GP_STORE_DATA_MAX) || (len && !data) ||
	    cap_len < 5 + EC_GP_STORE_DATA_MAX)
		return EC_ERR_ARG;
	out[0] = cla;
	out[1] = GP_INS_STORE_DATA;
	out[2] = (uint8_t)(p1 | (dek ? GP_STORE_DATA_ENCRYPTED : 0));
	out[3] = block;
	if (len)
		memcpy(out + 5, data, len);
	if (dek) {
		struct scp03_keys k;
		out[5 + n++] = 0x80;
		while (n % 16)
			out[5 + n++] = 0x00;
		memset(&k, 0, sizeof(k));
		memcpy(k.dek, dek, dek_len);
		k.len = dek_len;
		enum scp03_status ss = scp03_dek_encrypt(&k, out + 5, n, out + 5);
		crypto_wipe(&k, sizeof(k));
		if (ss != SCP03_OK)
			return EC_ERR_CRYPTO;
	}
	out[4] = (uint8_t)n;
	*out_len = n ? 5 + n : 4;
	return EC_OK;
}

enum ec_status ec_gp_cmd_set_app_status(uint8_t cla, const uint8_t *aid, size_t aid_len, bool lock,
					uint8_t *out, size_t cap_len, size_t *out_len)
{
	struct writer w;

	if (!aid || aid_len == 0 || aid_len > EC_GP_AID_MAX)
		return EC_ERR_ARG;
	writer_init(&w, out, cap_len);
	uint8_t *lc = header(&w, cla, GP_INS_SET_STATUS, GP_SET_STATUS_APP,
			     lock ? GP_APP_LOCKED_BIT : 0x00);
	size_t start = w.len;
	writer_bytes(&w, aid, aid_len);
	return finish(&w, lc, start, false, out_len);
}

enum ec_status ec_gp_cmd_get_data(uint8_t cla, uint16_t tag, uint8_t *out, size_t cap_len,
				  size_t *out_len)
{
	if (cap_len < 5)
		return EC_ERR_ARG;
	out[0] = cla;
	out[1] = GP_INS_GET_DATA;
	out[2] = (uint8_t)(tag >> 8);
	out[3] = (uint8_t)tag;
	out[4] = 0x00;
	*out_len = 5;
	return EC_OK;
}

enum ec_status ec_gp_cmd_get_status_aid(uint8_t cla, uint8_t p1, const uint8_t *aid,
					size_t aid_len, uint8_t *out, size_t cap_len,
					size_t *out_len)
{
	struct writer w;

	if (!aid || aid_len == 0 || aid_len > EC_GP_AID_MAX)
		return EC_ERR_ARG;
	writer_init(&w, out, cap_len);
	uint8_t *lc = header(&w, cla, GP_INS_GET_STATUS, p1, GP_STATUS_P2_TLV);
	size_t start = w.len;
	writer_u8(&w, GP_TAG_AID);
	writer_u8(&w, (uint8_t)aid_len);
	writer_bytes(&w, aid, aid_len);
	return finish(&w, lc, start, true, out_len);
}

enum ec_status ec_gp_cmd_put_key_aes(uint8_t cla, const struct ec_gp_keys *new_keys,
				     const uint8_t *dek, size_t dek_len, uint8_t replace_kvn,
				     uint8_t *out, size_t cap_len, size_t *out_len,
				     uint8_t kcv[3][3])
{
	const uint8_t *parts[3];
	uint8_t check[3][EC_GP_KCV_LEN];
	struct writer w;
	size_t len;
	enum ec_status st = EC_OK;

	if (!new_keys || new_keys->kvn == 0 || new_keys->kvn > 0x7F ||
	    (new_keys->len != 16 && new_keys->len != 24 && new_keys->len != 32) ||
	    (dek_len != 16 && dek_len != 24 && dek_len != 32))
		return EC_ERR_ARG;
	len = new_keys->len;
	parts[0] = new_keys->enc;
	parts[1] = new_keys->mac;
	parts[2] = new_keys->dek;
	struct scp03_keys wrap = { .len = dek_len };
	memcpy(wrap.dek, dek, dek_len);

	writer_init(&w, out, cap_len);
	uint8_t *lc = header(&w, cla, GP_INS_PUT_KEY, replace_kvn, 0x81);	/* from key 1, several */
	size_t start = w.len;
	writer_u8(&w, new_keys->kvn);
	for (int k = 0; k < 3 && st == EC_OK; k++) {
		/* AES-CBC under the static DEK; a 24-byte key padded to 32. */
		uint8_t plain[32] = { 0 }, enc[32];
		size_t padded = (len + 15) / 16 * 16;
		memcpy(plain, parts[k], len);
		if (scp03_dek_encrypt(&wrap, plain, padded, enc) != SCP03_OK ||
		    ec_gp_kcv_aes(parts[k], len, check[k]) != EC_OK)
			st = EC_ERR_CRYPTO;
		writer_u8(&w, GP_KEY_TYPE_AES);
		writer_u8(&w, (uint8_t)(1 + padded));
		writer_u8(&w, (uint8_t)len);
		writer_bytes(&w, enc, padded);
		writer_u8(&w, EC_GP_KCV_LEN);
		writer_bytes(&w, check[k], EC_GP_KCV_LEN);
		crypto_wipe(plain, sizeof(plain));
		crypto_wipe(enc, sizeof(enc));
	}
	crypto_wipe(&wrap, sizeof(wrap));
	if (st == EC_OK)
		st = finish(&w, lc, start, true, out_len);
	if (st != EC_OK) {
		crypto_wipe(out, cap_len);
		return st;
	}
	if (kcv)
		memcpy(kcv, check, sizeof(check));
	return EC_OK;
}

/*
 * Block 0 carries the C4 header, which the card does not count in
 * "received". k = 0 is not a resume: INSTALL [for load] may have been
 * another file's, and sending it again costs nothing.
 */
bool ec_gp_load_resume_point(const struct ec_cap *cap, size_t block_size, size_t blocks,
			     const struct ec_gp_load_progress *lp, size_t *first)
{
	if (!lp->active || lp->aid.len != cap->package.aid.len ||
	    memcmp(lp->aid.bytes, cap->package.aid.bytes, lp->aid.len) != 0)
		return false;
	if (lp->total != cap->load_file_len || lp->received == 0 || block_size == 0)
		return false;
	size_t sent = (size_t)lp->received + (cap->load_data_len - cap->load_file_len);
	if (sent % block_size != 0)
		return false;	/* another block size */
	size_t k = sent / block_size;
	if (k == 0 || k >= blocks || (k & 0xFF) != lp->next_block)
		return false;
	*first = k;
	return true;
}
