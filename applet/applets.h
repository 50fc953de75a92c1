/*
 * applets.h - the applets compiled into ecard's card platform.
 *
 * Front-ends register these types before the first power-up, and the
 * factory (ecard-vcard --new) installs one instance of each.
 */
#ifndef APPLET_APPLETS_H
#define APPLET_APPLETS_H

#include "applet.h"
#include "diag_proto.h"
#include "profile_proto.h"
#include "wallet_proto.h"

/* Diagnostic applet: APDUs in common/diag_proto.h. */
extern const struct vc_applet applet_diag;

/* Wallet (electronic purse, DESIGN §2.1): APDUs in common/wallet_proto.h,
 * messages in common/purse.h. */
extern const struct vc_applet applet_wallet;

/* Profile (personal data, DESIGN §2.2): APDUs in common/profile_proto.h. */
extern const struct vc_applet applet_profile;

/* Every applet type, for registration and installation. */
extern const struct vc_applet *const ecard_applets[];
extern const size_t ecard_applet_count;

#endif
