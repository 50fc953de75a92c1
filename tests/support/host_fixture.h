/*
 * host_fixture.h - what the host-side tests start from: a fresh libvcard
 * card in memory with ecard's applets, powered up, with libecard's
 * transport attached to it in process (vcard-daemon/inproc.h), so the
 * clients run as they would through pcscd; and a fresh issuer directory.
 * Failures fail the test.
 */
#ifndef ECARD_TEST_HOST_FIXTURE_H
#define ECARD_TEST_HOST_FIXTURE_H

#include <stddef.h>

#include "card.h"
#include "issuer.h"
#include "pcsc.h"

struct ts_card {
	struct vc_storage *storage;
	struct vc_card card;
	struct ec_pcsc pc;
};

/* size 0: 256 KiB; opt NULL: the defaults (a random serial, PIN 1234). */
void ts_card_open(struct ts_card *c, size_t size, const struct vc_card_options *opt);
void ts_card_close(struct ts_card *c);

/* A suite that needs just a card: .init = ts_card_init, .fini =
 * ts_card_fini, and the tests talk to ts_test_card.pc. */
extern struct ts_card ts_test_card;
void ts_card_init(void);
void ts_card_fini(void);

/*
 * An issuer directory NAME in the test's temporary directory (test_support.h)
 * with fresh keys, in euros with a maximum balance of 500.00, loaded into
 * is; dir (cap bytes) receives its path.
 */
void ts_issuer_new(const char *name, struct ec_issuer *is, char *dir, size_t cap);

#endif
