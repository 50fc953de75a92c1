/*
 * apdu.h - ISO 7816-4 command APDUs: the four cases in short and extended
 * form, the class byte (logical channel, secure messaging, chaining), and
 * the status words the platform answers with.
 */
#ifndef VCARD_APDU_H
#define VCARD_APDU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VC_APDU_MAX_NC 65535u
#define VC_APDU_MAX_NE 65536u

/* Status words (ISO 7816-4 and the ones DESIGN §2 gives the applets). */
#define SW_OK 0x9000
#define SW_BYTES_REMAINING 0x6100
#define SW_WARNING_NVM_UNCHANGED 0x6200
#define SW_VERIFY_FAILED 0x63C0
#define SW_INSUFFICIENT_FUNDS 0x6400
#define SW_MEMORY_FAILURE 0x6581
#define SW_WRONG_LENGTH 0x6700
#define SW_CHANNEL_NOT_SUPPORTED 0x6881
#define SW_SM_NOT_SUPPORTED 0x6882
#define SW_CHAINING_NOT_SUPPORTED 0x6884
#define SW_SECURITY_STATUS 0x6982
#define SW_AUTH_BLOCKED 0x6983
#define SW_DATA_INVALID 0x6984
#define SW_CONDITIONS 0x6985
#define SW_APPLET_SELECT_FAILED 0x6999
#define SW_WRONG_DATA 0x6A80
#define SW_FUNC_NOT_SUPPORTED 0x6A81
#define SW_FILE_NOT_FOUND 0x6A82
#define SW_NOT_ENOUGH_MEMORY 0x6A84
#define SW_INCORRECT_P1P2 0x6A86
#define SW_REF_DATA_NOT_FOUND 0x6A88
#define SW_WRONG_P1P2 0x6B00
#define SW_WRONG_LE 0x6C00
#define SW_INS_NOT_SUPPORTED 0x6D00
#define SW_CLA_NOT_SUPPORTED 0x6E00
#define SW_UNKNOWN 0x6F00

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
