/*
 * profile_proto.h - the profile's APDUs (DESIGN §2.2): its AID, command
 * codes, fields and personalization tags, spelled once for the applet
 * (applet/profile.c) and its clients (host/profile.c, the issuer's
 * personalization in host/perso.c).
 *
 * AID F0 45 43 41 52 44 50 01 ("ECARDP"): 11 fields of up to 64 bytes,
 * general and private classes, release policy 00 never ask, 01 once per
 * session, 02 every time (defaults: general 00, private 02).
 *   00 CA 01 id 00        GET FIELD (empty field: 9000 with no data)
 *   00 DA 01 id Lc value  PUT FIELD (Lc 0 clears), needs a fresh VERIFY
 *   80 30 00 00 00        GET POLICY: general(1) || private(1)
 *   80 32 00 00 02 g p    SET POLICY, needs a fresh VERIFY
 * Personalization, only through the card manager (INSTALL [for
 * personalization] of the profile, then STORE DATA in an SCP03 secure
 * channel, DESIGN §3); no PIN is asked, the secure channel is the issuer's
 * authorization. Accepted until the last block, then 6985:
 *   80 E2 P1 P2 Lc TLVs   STORE DATA (P2 = block number, not checked), TLVs:
 *                           01..0B (0..64)  initial value of that field,
 *                                           UTF-8 (a private field may come
 *                                           in a DEK-encrypted block)
 *                           D0 (2)          initial policy general || private
 *                                           (each 00..02)
 *                         applied in order, all or nothing per block (6A80
 *                         for an unknown tag, a long value, bad UTF-8 or
 *                         policy). P1 bit 8 = last block: personalization
 *                         closes (fields never given stay empty, the policy
 *                         never given stays at the defaults). P1's other
 *                         bits: 0.
 * A STORE DATA sent to the profile itself (not forwarded by the card
 * manager), on any channel, answers 6982, before or after personalization.
 * The other commands work the same before and after personalization.
 */
#ifndef ECARD_PROFILE_PROTO_H
#define ECARD_PROFILE_PROTO_H

#define PROFILE_AID 0xF0, 0x45, 0x43, 0x41, 0x52, 0x44, 0x50, 0x01
#define PROFILE_AID_LEN 8

/* GET FIELD and PUT FIELD are interindustry (CLA 0x), the policy and
 * personalization commands proprietary (CLA 8x). */
#define PROFILE_INS_GET_POLICY 0x30
#define PROFILE_INS_SET_POLICY 0x32
#define PROFILE_INS_GET_FIELD 0xCA	/* ISO GET DATA */
#define PROFILE_INS_PUT_FIELD 0xDA	/* ISO PUT DATA */
#define PROFILE_INS_STORE_DATA 0xE2	/* GlobalPlatform's STORE DATA */
#define PROFILE_FIELD_P1 0x01		/* P1 of GET/PUT FIELD; P2 is the id */

/* Fields: id = its STORE DATA tag, 01..0B. */
#define PROFILE_FIELD_USERNAME 0x01
#define PROFILE_FIELD_PASSWORD 0x02	/* private */
#define PROFILE_FIELD_FORENAME 0x03
#define PROFILE_FIELD_SURNAME 0x04
#define PROFILE_FIELD_STREET 0x05
#define PROFILE_FIELD_TOWN 0x06
#define PROFILE_FIELD_COUNTY 0x07
#define PROFILE_FIELD_POSTCODE 0x08
#define PROFILE_FIELD_CARD_NUMBER 0x09	/* private */
#define PROFILE_FIELD_EMAIL 0x0A
#define PROFILE_FIELD_PHONE 0x0B
#define PROFILE_FIELDS 11
#define PROFILE_VALUE_MAX 64

/* Release policies, and the defaults of a new profile. */
#define PROFILE_POLICY_NEVER 0x00
#define PROFILE_POLICY_SESSION 0x01
#define PROFILE_POLICY_ALWAYS 0x02
#define PROFILE_DEFAULT_GENERAL PROFILE_POLICY_NEVER
#define PROFILE_DEFAULT_PRIVATE PROFILE_POLICY_ALWAYS

/* STORE DATA: the policy TLV (general || private), and P1 bit 8 for the
 * last block. */
#define PROFILE_TAG_POLICY 0xD0
#define PROFILE_STORE_DATA_LAST 0x80

#endif
