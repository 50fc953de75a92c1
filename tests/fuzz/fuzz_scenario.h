/*
 * fuzz_scenario.h - a card in process and ecard's own host clients taking
 * it through its life, for the fuzzers: the commands the clients send are
 * where fuzz_card's corpus starts, the answers the card gives are where
 * fuzz_host's starts, so both begin from real traffic rather than from
 * bytes typed in.
 *
 * The card runs on memory behind the tearing wrapper (so a fuzzer can cut
 * its power at any write and snapshot its image), with ecard's applets,
 * and libecard's transport attached in process (vcard-daemon/inproc.h);
 * every exchange on that transport is shown to a callback.
 *
 * Setup failures are not findings: they end the program with status 2
 * (fuzz_setup_failed).
 */
#ifndef ECARD_TESTS_FUZZ_SCENARIO_H
#define ECARD_TESTS_FUZZ_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "card.h"
#include "gp.h"
#include "issuer.h"
#include "merchant.h"
#include "pcsc.h"
#include "storage.h"

/* Small, so that a fuzzer copies and recovers it quickly. */
#define FZ_IMAGE_SIZE (256u * 1024u)
/* The PIN and PUK of a new card (card.h's defaults). */
#define FZ_PIN "1234"
#define FZ_PUK "12345678"

/* One exchange as the card answered it, status word included. */
typedef void (*fz_exchange_fn)(void *arg, const uint8_t *cmd, size_t cmd_len,
			       const uint8_t *rsp, size_t rsp_len);

struct fz_card {
	struct vc_storage *mem;		/* the medium: a snapshot is its bytes */
	struct vc_storage *st;		/* the tearing wrapper the card runs on */
	struct vc_card card;
	struct ec_pcsc pc;		/* libecard's transport, in process */
	ec_raw_transmit_fn inner;	/* the in-process exchange under the hook */
	fz_exchange_fn on_exchange;	/* NULL: none */
	void *arg;
	bool issued;			/* its card manager has the issuer's keys */
};

/* A new card image with ecard's applets, powered up, the transport
 * attached; scp03_i is the card manager's SCP03 "i" (0: its default). */
void fz_card_open(struct fz_card *c, uint8_t scp03_i);
void fz_card_close(struct fz_card *c);

/* The issuer, a merchant it certified, and the card manager's keys. */
struct fz_world {
	struct ec_issuer issuer;
	struct ec_merchant merchant;
	struct ec_gp_keys keys;		/* GlobalPlatform's test keys, KVN 30 */
};

/*
 * The keys that open a card's card manager: the test keys of a new card,
 * or after issuance the issuer's master keys, diversified for the card
 * (opt->kdf is set to match).
 */
const struct ec_gp_keys *fz_card_manager_keys(const struct fz_world *w, bool issued,
					      struct ec_gp_options *opt);

void fz_world_init(struct fz_world *w);
void fz_world_wipe(struct fz_world *w);

/*
 * Issuance through the card manager (ec_personalize, C-MAC only so that
 * the plain commands can be read back from the secured ones), a load, a
 * payment, the wallet's log and certificate, the profile's fields and
 * policy, the PIN changed, failed and unblocked.
 */
void fz_scenario_issue(struct fz_card *c, const struct fz_world *w);

/* Issuance as the factory does it (ecard-vcard --new --personalize: no
 * profile values, the card's default channel options), then a load. */
void fz_scenario_factory(struct fz_card *c, const struct fz_world *w);

/* The scopes of GET STATUS (P1), in one table for whoever goes through them. */
#define FZ_STATUS_SCOPES 4
extern const enum ec_gp_status_scope fz_status_scopes[FZ_STATUS_SCOPES];

/*
 * Card content management: GET DATA of every tag, GET STATUS of every
 * scope in both formats, the real CAP file and a generated one loaded
 * (asking DF70 halfway), instances installed, locked and unlocked, a key
 * set added, a load file deleted; secure channels at every level the
 * card's "i" allows (R-MAC ones only when r_mac) and on a supplementary
 * logical channel; the diagnostic applet's commands in short and
 * extended form, through GET RESPONSE too.
 */
void fz_scenario_manage(struct fz_card *c, const struct fz_world *w, bool r_mac);

#endif
