/*
 * gp_cmd.h - GlobalPlatform card manager commands as plain APDUs, built
 * without a card: what gp.c sends through a live secure channel and what
 * ecard-server (server/) puts in the orders its agents relay. Each builder
 * writes one short command APDU (Le included where the command has one)
 * into out and its length into *out_len; cla carries the logical channel
 * and must not show secure messaging yet (the channel adds it when it
 * wraps the command). A command that does not fit gives EC_ERR_ARG.
 *
 * Also here: how a load file is cut into LOAD blocks, and where a load the
 * card reports in GET DATA DF70 (gp.h) can go on.
 */
#ifndef ECARD_GP_CMD_H
#define ECARD_GP_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cap.h"
#include "error.h"

/* The longest command built here: CLA INS P1 P2 Lc, 255 bytes, Le. */
#define EC_GP_CMD_MAX (5 + 255 + 1)

struct ec_gp_aid;
struct ec_gp_install;
struct ec_gp_load_progress;

/* INSTALL [for load] of the CAP file's load file into the security domain
 * (NULL: the ISD), with the SHA-256 of the load file data block unless
 * hash is false. */
enum ec_status ec_gp_cmd_install_for_load(uint8_t cla, const struct ec_cap *cap,
					  const uint8_t *domain, size_t domain_len, bool hash,
					  uint8_t *out, size_t cap_len, size_t *out_len);

/* LOAD block index of the load file cut in blocks of block_size bytes. */
enum ec_status ec_gp_cmd_load(uint8_t cla, const struct ec_cap *cap, size_t block_size,
			      size_t index, uint8_t *out, size_t cap_len, size_t *out_len);

/* INSTALL [for install] (and make selectable when in->selectable). */
enum ec_status ec_gp_cmd_install(uint8_t cla, const struct ec_gp_install *in, uint8_t *out,
				 size_t cap_len, size_t *out_len);

/* DELETE of an application or load file (and what it holds, if related). */
enum ec_status ec_gp_cmd_delete(uint8_t cla, const uint8_t *aid, size_t aid_len, bool related,
				uint8_t *out, size_t cap_len, size_t *out_len);

/* INSTALL [for personalization] of an application. */
enum ec_status ec_gp_cmd_install_for_perso(uint8_t cla, const uint8_t *aid, size_t aid_len,
					   uint8_t *out, size_t cap_len, size_t *out_len);

/*
 * STORE DATA of one block: data (len bytes, EC_GP_STORE_DATA_MAX at most)
 * in clear, or with dek (dek_len bytes: the static DEK) padded 80 00.. and
 * encrypted, P1's encryption bits set (EC_GP_STORE_DATA_DEK_MAX at most);
 * P2 is the block number. out needs 5 + EC_GP_STORE_DATA_MAX bytes. It may
 * hold secrets: wipe it after use.
 */
enum ec_status ec_gp_cmd_store_data(uint8_t cla, uint8_t p1, uint8_t block, const uint8_t *dek,
				    size_t dek_len, const uint8_t *data, size_t len, uint8_t *out,
				    size_t cap_len, size_t *out_len);

/* SET STATUS of an application: locked, or back to where it was (P2 00). */
enum ec_status ec_gp_cmd_set_app_status(uint8_t cla, const uint8_t *aid, size_t aid_len, bool lock,
					uint8_t *out, size_t cap_len, size_t *out_len);

/* GET DATA of a two-byte tag (P1 P2), Le 00. */
enum ec_status ec_gp_cmd_get_data(uint8_t cla, uint16_t tag, uint8_t *out, size_t cap_len,
				  size_t *out_len);

/* GET STATUS of scope p1 (GP_STATUS_*) for one AID, in TLV form. */
enum ec_status ec_gp_cmd_get_status_aid(uint8_t cla, uint8_t p1, const uint8_t *aid,
					size_t aid_len, uint8_t *out, size_t cap_len,
					size_t *out_len);

/*
 * PUT KEY of an AES key set (ENC, MAC, DEK of new->len bytes, key version
 * new->kvn) for an SCP03 card: each key encrypted under dek (the card's
 * current static DEK, dek_len bytes), with its check value, which kcv
 * receives too (NULL: not wanted). replace_kvn 0 adds a key set, else it
 * replaces that one. The command holds secrets: wipe it after use.
 */
struct ec_gp_keys;
enum ec_status ec_gp_cmd_put_key_aes(uint8_t cla, const struct ec_gp_keys *new_keys,
				     const uint8_t *dek, size_t dek_len, uint8_t replace_kvn,
				     uint8_t *out, size_t cap_len, size_t *out_len,
				     uint8_t kcv[3][3]);

/*
 * Where a load of cap cut in blocks of block_size bytes (blocks of them)
 * goes on when the card reports lp: true with *first the next block when
 * the card holds a proper prefix of this load file, cut this way.
 */
bool ec_gp_load_resume_point(const struct ec_cap *cap, size_t block_size, size_t blocks,
			     const struct ec_gp_load_progress *lp, size_t *first);

#endif
