/*
 * perso_job.h - issuing a card over the air (DESIGN §7): the personalize
 * job's commands, which ecard-server sends through the card manager's
 * secure channel at level 33, so that nothing goes in clear and no answer
 * can be altered on the way, whatever relays them.
 *
 * The commands, in three stages, each needing the answers of the one
 * before:
 *   0 INSTALL [for personalization] wallet
 *   1 STORE DATA block 0: the card makes its key pair; answers serial || key
 *   -- the issuer certifies the key (the card certificate)
 *   2 INSTALL [for personalization] wallet (again, so that a later
 *     session can go on from here with the same key pair)
 *   3 STORE DATA block 1: K_load, under the DEK as well
 *   4 STORE DATA block 2: CA key, currency and maximum
 *   5 STORE DATA block 3, last: the certificate; answers the seal
 *   -- the issuer checks the seal: the wallet holds exactly what was sent
 *   6 INSTALL [for personalization] profile
 *   7 STORE DATA, last: the holder's e-mail address and name
 *   8 PUT KEY: the card's own key set in place of the one it opened with
 *     (ota.c builds it, as for a put-keys job)
 * A broken session goes on at the start of the stage it was in; a wallet
 * whose key pair is known goes on at 2.
 */
#ifndef ECARD_SERVER_PERSO_JOB_H
#define ECARD_SERVER_PERSO_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "issuer.h"
#include "purse.h"

#define PERSO_COMMANDS 9
#define PERSO_KEYGEN 1
#define PERSO_SEAL 5
#define PERSO_PROFILE 7
#define PERSO_PUT_KEY 8

/* What a personalize job knows between sessions. */
struct perso_progress {
	bool certified;				/* the card's key pair is known */
	uint8_t serial[PURSE_SERIAL_LEN];
	uint8_t cert[PURSE_CERT_LEN];
	bool sealed;				/* the wallet's seal verified */
};

char *perso_save(const struct perso_progress *p);
enum ec_status perso_load(const char *text, struct perso_progress *p, struct ec_error *err);

/* The stage of command i ends before the index this returns. */
size_t perso_stage_end(size_t i);
/* Where a new session goes on, the card having confirmed commands up to
 * next (exclusive). */
size_t perso_resume(size_t next, const struct perso_progress *p);

/*
 * Command i (not PERSO_PUT_KEY) in plain: dek (dek_len bytes, the static
 * DEK of the keys the channel was opened with) encrypts K_load; name and
 * email go to the profile. out needs EC_GP_CMD_MAX bytes and may hold
 * secrets: wipe it after use.
 */
enum ec_status perso_command(const struct ec_issuer *issuer, const uint8_t *dek, size_t dek_len,
			     const struct perso_progress *p, const char *name, const char *email,
			     size_t i, uint8_t *out, size_t cap, size_t *len, struct ec_error *err);

/* The card's answer (its data, without the status word) to command i:
 * the key pair certified, or the seal checked. */
enum ec_status perso_answer(const struct ec_issuer *issuer, struct perso_progress *p, size_t i,
			    const uint8_t *data, size_t len, struct ec_error *err);

#endif
