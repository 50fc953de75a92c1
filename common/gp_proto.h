/*
 * gp_proto.h - GlobalPlatform card management as ecard speaks it (GP Card
 * Specification 2.3.1, SCP03 Amendment D): the issuer security domain's
 * AID, the command codes and their P1/P2 values, the GET DATA and
 * registry tags, life cycle states and privileges. Spelled once for the
 * card manager (vcard/isd.c, vcard/isd_content.c) and the host's client
 * (host/gp.c, host/gp_session.c, host/perso.c). The secure channel's own
 * constants are in scp03.h.
 */
#ifndef ECARD_GP_PROTO_H
#define ECARD_GP_PROTO_H

/* The issuer security domain of GlobalPlatform cards. */
#define GP_ISD_AID 0xA0, 0x00, 0x00, 0x01, 0x51, 0x00, 0x00, 0x00
#define GP_ISD_AID_LEN 8

/* Class bytes: proprietary, and with secure messaging (C-MAC). */
#define GP_CLA 0x80
#define GP_CLA_SECURE 0x84

#define GP_INS_INITIALIZE_UPDATE 0x50
#define GP_INS_EXTERNAL_AUTHENTICATE 0x82
#define GP_INS_GET_DATA 0xCA
#define GP_INS_PUT_KEY 0xD8
#define GP_INS_DELETE 0xE4
#define GP_INS_INSTALL 0xE6
#define GP_INS_LOAD 0xE8
#define GP_INS_SET_STATUS 0xF0
#define GP_INS_GET_STATUS 0xF2
#define GP_INS_STORE_DATA 0xE2

/* GET DATA tags (P1P2). DF70 is ecard's own: where an interrupted load
 * stands, so a loader can go on from there. */
#define GP_TAG_CPLC 0x9F7F
#define GP_TAG_CARD_DATA 0x0066
#define GP_TAG_KEY_INFO 0x00E0
#define GP_TAG_SEQUENCE_COUNTER 0x00C1
#define GP_TAG_LOAD_PROGRESS 0xDF70

/* INSTALL, P1. */
#define GP_INSTALL_FOR_LOAD 0x02
#define GP_INSTALL_FOR_INSTALL 0x04
#define GP_INSTALL_FOR_MAKE_SELECTABLE 0x08
#define GP_INSTALL_FOR_INSTALL_AND_SELECTABLE 0x0C
#define GP_INSTALL_FOR_PERSONALIZATION 0x20

/* INSTALL data: the application's own install parameters, inside the
 * install parameters field. */
#define GP_TAG_APP_PARAMS 0xC9

/* LOAD and STORE DATA, P1: b8 the last block; STORE DATA b7-b6 11 the
 * data is encrypted with the DEK (application-dependent encryption). */
#define GP_P1_LAST_BLOCK 0x80
#define GP_STORE_DATA_ENCRYPTED 0x60

/* DELETE, P2: the load file with its applications. */
#define GP_DELETE_RELATED 0x80

/* GET STATUS, P1: what to list; P2: 00 the legacy format, 02 TLV (E3). */
#define GP_STATUS_ISD 0x80
#define GP_STATUS_APPS 0x40		/* applications and security domains */
#define GP_STATUS_LOAD_FILES 0x20
#define GP_STATUS_LOAD_FILES_MODULES 0x10
#define GP_STATUS_P2_LEGACY 0x00
#define GP_STATUS_P2_TLV 0x02
#define GP_STATUS_P2_NEXT 0x01		/* b1: the next entries, after 6310 */

/* GET STATUS entries (table 11-36). */
#define GP_TAG_REGISTRY_ENTRY 0xE3
#define GP_TAG_AID 0x4F
#define GP_TAG_LIFE_CYCLE 0x9F70
#define GP_TAG_PRIVILEGES 0xC5
#define GP_TAG_LOAD_FILE 0xC4
#define GP_TAG_DOMAIN 0xCC
#define GP_TAG_VERSION 0xCE
#define GP_TAG_MODULE 0x84

/* SET STATUS, P1: the card's life cycle or an application's. */
#define GP_SET_STATUS_CARD 0x80
#define GP_SET_STATUS_APP 0x40

/* Card life cycle states. */
#define GP_CARD_OP_READY 0x01
#define GP_CARD_INITIALIZED 0x07
#define GP_CARD_SECURED 0x0F
#define GP_CARD_LOCKED 0x7F
#define GP_CARD_TERMINATED 0xFF

/* Application and load file life cycle states. */
#define GP_ELF_LOADED 0x01
#define GP_APP_INSTALLED 0x03
#define GP_APP_SELECTABLE 0x07
#define GP_APP_PERSONALIZED 0x0F
#define GP_APP_LOCKED_BIT 0x80

/* Privileges, first byte. */
#define GP_PRIV_SECURITY_DOMAIN 0x80
#define GP_PRIV_CARD_LOCK 0x10
#define GP_PRIV_CARD_TERMINATE 0x08
#define GP_PRIV_CARD_RESET 0x04		/* default selected */
#define GP_PRIV_CVM_MANAGEMENT 0x02

/* PUT KEY: key types, and the GlobalPlatform test keys 40 41 .. 4F at key
 * version 30 that new cards carry until issuance replaces them. */
#define GP_KEY_TYPE_DES 0x80
#define GP_KEY_TYPE_AES 0x88
#define GP_TEST_KEY_FIRST 0x40
#define GP_TEST_KVN 0x30

#endif
