/*
 * inproc.h - libecard's transport plugged straight into a libvcard card.
 *
 * The host code (wallet, issuer, merchant clients) talks to cards through
 * struct ec_pcsc. Attaching it to an in-process card replaces the PC/SC
 * exchange with vc_card_process(), so the same client code personalizes a
 * new card image in the factory (ecard-vcard --new --personalize) and runs
 * in unit tests without pcscd. A tear shows up as SCARD_W_REMOVED_CARD, as
 * it would through pcscd.
 */
#ifndef VCARD_INPROC_H
#define VCARD_INPROC_H

#include "card.h"
#include "pcsc.h"

/* pc must have been set up with ec_pcsc_init(); card must be powered. */
void vc_inproc_attach(struct ec_pcsc *pc, struct vc_card *card);

#endif
