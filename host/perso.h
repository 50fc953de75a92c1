/*
 * perso.h - issuing a card: the issuer's keys and data written into a new
 * card's wallet and profile (DESIGN §2.1, §3).
 *
 * One way, in the factory (ecard-vcard --new --personalize, in process)
 * and afterwards (ecard issuer personalize, through a reader) alike:
 * through the card manager, in an SCP03 secure channel to the issuer
 * security domain, with INSTALL [for personalization] and STORE DATA from
 * the GlobalPlatform client (gp.h) and secrets encrypted with the DEK. The
 * applications take personalization from nowhere else (DESIGN §3). The
 * card makes its key pair itself; the issuer derives the card's K_load
 * from its serial and certifies the card's public key (issuer.h).
 */
#ifndef ECARD_PERSO_H
#define ECARD_PERSO_H

#include <stdbool.h>
#include <stdint.h>

#include "gp.h"
#include "issuer.h"
#include "pcsc.h"
#include "profile.h"
#include "purse.h"

/*
 * What the issuer writes into a new card's profile: values[id - 1] is
 * field id's initial value (UTF-8, at most EC_PROFILE_VALUE_MAX bytes;
 * NULL leaves the field empty), and with set_policy the release policy of
 * the general and the private fields (EC_POLICY_*; without it the card
 * keeps its defaults, never and always).
 */
struct ec_profile_init {
	const char *values[EC_PROFILE_FIELDS];
	bool set_policy;
	uint8_t general;
	uint8_t private_class;
};

/*
 * Personalization through the card manager: SELECT the issuer security
 * domain and open an SCP03 secure channel with keys (gp NULL: the
 * defaults with SCP03 at level 03, C-MAC and command encryption; gp->scp
 * must be SCP03 or any, which then means SCP03, and gp->level must include
 * C-MAC; on gp->channel, which the caller has opened when it is not 0).
 * Then, in the channel:
 *   INSTALL [for personalization] wallet,
 *   STORE DATA C0: the card generates its key pair, answers serial || key,
 *   STORE DATA P1 60: C1 K_load (derived from the serial), encrypted with
 *     the static DEK (AES-CBC, zero ICV, padded 80 00..),
 *   STORE DATA: C2 CA public key, C3 currency || maximum balance,
 *   STORE DATA P1 80 (last block): C4 the card certificate; the wallet
 *     answers its seal (purse.h), checked with K_load: EC_ERR_CHECK when
 *     the card holds anything but what the issuer sent,
 *   INSTALL [for personalization] profile,
 *   STORE DATA: the initial fields and policy of initial (NULL: none),
 *     private fields (password, card number) in DEK-encrypted blocks, the
 *     last block with P1 bit 8, which closes the profile's personalization.
 *   PUT KEY: the key set the channel was opened with (on a new card, the
 *     public test keys) replaced by the card's own (ec_issuer_card_keys).
 * Then, each in a new channel, the test keys must no longer open the card
 * manager and the card's own keys must (EC_ERR_CHECK otherwise: the card
 * is not issued). The serial in the card's C0 answer is trusted as it is:
 * it came through the authenticated channel, and the certificate binds it
 * to the card's key. serial (may be NULL) receives it. A wallet
 * personalized already refuses (EC_ERR_CARD, SW 6985) before anything was
 * written. Sessions are closed (and their keys wiped) on return.
 */
enum ec_status ec_personalize(const struct ec_issuer *issuer, struct ec_pcsc *pc,
			      const struct ec_gp_options *gp, const struct ec_gp_keys *keys,
			      const struct ec_profile_init *initial,
			      uint8_t serial[PURSE_SERIAL_LEN], struct ec_error *err);

/* ---- the issuer's steps, without card I/O (the server's personalize
 * job sends the same commands over the air) ---- */

/* The key generation request: the data of STORE DATA block 0. */
extern const uint8_t ec_perso_generate[2];

/* The card made its key pair: answer (len bytes, the answer to what) must
 * be its serial and an uncompressed P-256 key, which the issuer certifies
 * (cert). */
enum ec_status ec_perso_certify(const struct ec_issuer *issuer, const char *what,
				const uint8_t *answer, size_t len, uint8_t serial[PURSE_SERIAL_LEN],
				uint8_t cert[PURSE_CERT_LEN], struct ec_error *err);

/*
 * The wallet's next three STORE DATA blocks (numbers 1 to 3): K_load,
 * derived from the serial (to go under the DEK); the CA key, currency and
 * maximum; the certificate (the last block, P1 80), which the wallet
 * answers with its seal. out holds K_load: wipe it after use.
 */
struct ec_perso_wallet {
	uint8_t block[3][160];
	size_t len[3];
};
enum ec_status ec_perso_wallet_data(const struct ec_issuer *issuer,
				    const uint8_t serial[PURSE_SERIAL_LEN],
				    const uint8_t cert[PURSE_CERT_LEN], struct ec_perso_wallet *out,
				    struct ec_error *err);

/* The wallet's seal (its answer to the last block) checked with the
 * K_load of serial: EC_ERR_CHECK when it holds anything but what was sent. */
enum ec_status ec_perso_check_seal(const struct ec_issuer *issuer,
				   const uint8_t serial[PURSE_SERIAL_LEN],
				   const uint8_t cert[PURSE_CERT_LEN], const uint8_t *seal, size_t len,
				   struct ec_error *err);

#endif
