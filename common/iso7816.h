/*
 * iso7816.h - the ISO/IEC 7816-4 constants that card and host share: the
 * status words ecard's card answers with and its clients look for, the
 * interindustry INS codes, the card-wide PIN's reference, and the class
 * byte of a logical channel. Spelled once, here, for vcard, the applets,
 * the driver's simulator and libecard alike; the proprietary protocols
 * have headers of their own (wallet_proto.h, profile_proto.h,
 * diag_proto.h, gp_proto.h).
 */
#ifndef ECARD_ISO7816_H
#define ECARD_ISO7816_H

#include <stdint.h>

/* Status words (ISO 7816-4, and the ones DESIGN §2 gives the applets). */
#define SW_OK 0x9000
#define SW_BYTES_REMAINING 0x6100	/* 61xx: xx more bytes for GET RESPONSE */
#define SW_WARNING_NVM_UNCHANGED 0x6200
#define SW_MORE_DATA 0x6310		/* GlobalPlatform GET STATUS: more entries */
#define SW_VERIFY_FAILED 0x63C0		/* 63Cx: x tries left */
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
#define SW_RECORD_NOT_FOUND 0x6A83
#define SW_NOT_ENOUGH_MEMORY 0x6A84
#define SW_INCORRECT_P1P2 0x6A86
#define SW_REF_DATA_NOT_FOUND 0x6A88
#define SW_WRONG_P1P2 0x6B00
#define SW_WRONG_LE 0x6C00		/* 6Cxx: send again with Le = xx */
#define SW_INS_NOT_SUPPORTED 0x6D00
#define SW_CLA_NOT_SUPPORTED 0x6E00
#define SW_UNKNOWN 0x6F00

/* Interindustry commands (CLA 0x, ISO 7816-4 §5.1.2 and §11). */
#define ISO_INS_VERIFY 0x20
#define ISO_INS_CHANGE_REFERENCE_DATA 0x24
#define ISO_INS_RESET_RETRY_COUNTER 0x2C
#define ISO_INS_MANAGE_CHANNEL 0x70
#define ISO_INS_SELECT 0xA4
#define ISO_INS_GET_RESPONSE 0xC0
#define ISO_INS_GET_DATA 0xCA
#define ISO_INS_PUT_DATA 0xDA

#define ISO_SELECT_BY_AID 0x04		/* P1 of SELECT */

/* The card-wide PIN (DESIGN §1.3): P2 of VERIFY, CHANGE REFERENCE DATA
 * and RESET RETRY COUNTER, and its 8-byte block of ASCII digits padded
 * with FF. */
#define ISO_PIN_REFERENCE 0x81
#define ISO_PIN_BLOCK_LEN 8

/* Applications are 5 to 16 bytes long (ISO 7816-5). */
#define ISO_AID_MAX 16

/*
 * The class byte of a command on a logical channel: channels 0-3 in
 * b2-b1 of a first interindustry class (b8-b7 00 for interindustry,
 * 80 proprietary), channels 4-19 in b4-b1 of a further interindustry
 * class with b7 set (ISO 7816-4 §5.4.1). base is 00 or 80.
 */
static inline uint8_t iso_cla(uint8_t base, uint8_t channel)
{
	if (channel <= 3)
		return (uint8_t)(base | channel);
	return (uint8_t)(base | 0x40 | ((channel - 4) & 0x0F));
}

/* The logical channel a class byte names (0-19). */
static inline uint8_t iso_cla_channel(uint8_t cla)
{
	if (cla & 0x40)
		return (uint8_t)(4 + (cla & 0x0F));
	return (uint8_t)(cla & 0x03);
}

#endif
