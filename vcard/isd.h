/*
 * isd.h - the issuer security domain: GlobalPlatform's card manager
 * (DESIGN §3), built into every card and selected by default.
 */
#ifndef VCARD_ISD_H
#define VCARD_ISD_H

#include "applet.h"
#include "gp_proto.h"	/* its AID, life cycle states, the test keys' version */

extern const uint8_t vc_isd_aid[GP_ISD_AID_LEN];

/* The card manager as an applet type; vc_card_init registers it. */
extern const struct vc_applet vc_isd_applet;

#endif
