/*
 * isd.h - the issuer security domain: GlobalPlatform's card manager
 * (DESIGN §3), built into every card and selected by default.
 */
#ifndef VCARD_ISD_H
#define VCARD_ISD_H

#include "applet.h"

#define VC_ISD_AID_LEN 8
extern const uint8_t vc_isd_aid[VC_ISD_AID_LEN];	/* A0 00 00 01 51 00 00 00 */

/* GlobalPlatform card life cycle (GP 2.3.1 §5.1). */
#define VC_CARD_OP_READY 0x01
#define VC_CARD_INITIALIZED 0x07
#define VC_CARD_SECURED 0x0F
#define VC_CARD_LOCKED 0x7F
#define VC_CARD_TERMINATED 0xFF

/* The default SCP03 test key set: 40..4F as ENC, MAC and DEK, KVN 30. */
#define VC_ISD_DEFAULT_KVN 0x30

/* The card manager as an applet type; vc_card_init registers it. */
extern const struct vc_applet vc_isd_applet;

#endif
