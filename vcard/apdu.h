/*
 * apdu.h - ISO 7816-4 command APDUs: the four cases in short and extended
 * form, the class byte (logical channel, secure messaging, chaining), and
 * the status words the platform answers with (common/iso7816.h).
 */
#ifndef VCARD_APDU_H
#define VCARD_APDU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iso7816.h"	/* the status words */

#define VC_APDU_MAX_NC 65535u
#define VC_APDU_MAX_NE 65536u

struct vc_apdu {
	uint8_t cla;
	uint8_t ins;
	uint8_t p1;
	uint8_t p2;
	const uint8_t *data;	/* points into the caller's buffer */
	uint32_t nc;		/* command data length */
	uint32_t ne;		/* expected response length, 0 when absent */
	uint8_t kase;		/* ISO case 1..4 */
	bool extended;
	/* decoded from the class byte */
	uint8_t channel;
	bool secure_messaging;
	bool chaining;
	bool proprietary;	/* CLA b8 set (GlobalPlatform, applets) */
};

/*
 * Parse a command. Returns SW_OK or the status word to answer with
 * (6700 for a length that matches no case, 6E00 for an invalid class).
 * Nothing is read outside [buf, buf+len).
 */
uint16_t vc_apdu_parse(const uint8_t *buf, size_t len, struct vc_apdu *out);

#endif
