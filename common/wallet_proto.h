/*
 * wallet_proto.h - the wallet's APDUs (DESIGN §2.1): its AID, command
 * codes, personalization tags and answer layouts, spelled once for the
 * applet (applet/wallet.c) and its clients (host/wallet.c, the issuer's
 * personalization in host/perso.c). The cryptographic messages inside
 * the answers (S1, S2, S3, certificates, debit requests and records) are
 * in purse.h.
 *
 * AID F0 45 43 41 52 44 57 01 ("ECARDW"). Purse commands:
 *   80 5C 00 00 00        GET PURSE DATA: 01 || serial(8) || currency(2) ||
 *                         balance(4) || max balance(4) || counter(4)
 *   80 40 00 00 04 amt 00 INITIALIZE LOAD: challenge(16) || serial(8) ||
 *                         counter(4) || balance(4) || S1(16)
 *   80 42 00 00 10 S2 00  CREDIT: counter(4) || balance(4) || S3(16)
 *   80 44 00 00 E8 req 00 DEBIT (request of 232 bytes): record(46) || sig(64)
 *   80 46 P1 00 00        GET LAST TRANSACTION, P1 00 debit, 01 load
 *   80 48 P1 00 00        READ LOG, P1 = index (0 = newest): type(1: 01 load,
 *                         02 debit) || counter(4) || amount(4) ||
 *                         balance after(4) || merchant id(8, zero for loads)
 *   80 4A 00 00 00        GET CARD CERTIFICATE (138 bytes)
 * Personalization only through the card manager (INSTALL [for
 * personalization] of the wallet, then STORE DATA in an SCP03 secure
 * channel, DESIGN §3), which forwards each STORE DATA to the wallet as a
 * plain 80 E2 after decrypting a DEK-protected block (P1 b7-b6 = 11). A
 * STORE DATA sent to the wallet itself, on any channel, answers 6982:
 * nobody but the issuer's secure channel can put a key in (the first
 * version took them in clear, and a second client could replace K_load
 * between the issuer's blocks). Accepted until the wallet is
 * personalized, then 6985.
 *   80 E2 P1 P2 Lc TLVs   STORE DATA (P2 = block number, not checked), TLVs:
 *                           C0 (0)   generate the card key pair; the answer
 *                                    is then serial(8) || public key(65);
 *                                    it voids a stored certificate. At
 *                                    most one per block.
 *                           C1 (16)  K_load (in a DEK-encrypted block, P1
 *                                    60 or E0)
 *                           C2 (65)  merchant CA public key
 *                           C3 (6)   currency(2) || maximum balance(4)
 *                           C4 (138) card certificate (of the card kind,
 *                                    for the card's public key and serial)
 *                         applied in order, all or nothing per block (an
 *                         unknown tag or a wrong length: 6A80, nothing
 *                         stored). P1 bit 8 set = last block: everything
 *                         must be present (else 6985), the certificate
 *                         must verify under C2 (else 6A80), then the
 *                         wallet is personalized and answers its seal(16)
 *                         (purse.h), which the issuer checks.
 * Before personalization every purse command answers 6985.
 */
#ifndef ECARD_WALLET_PROTO_H
#define ECARD_WALLET_PROTO_H

#include "purse.h"

#define WALLET_AID 0xF0, 0x45, 0x43, 0x41, 0x52, 0x44, 0x57, 0x01
#define WALLET_AID_LEN 8

#define WALLET_CLA 0x80

#define WALLET_INS_INITIALIZE_LOAD 0x40
#define WALLET_INS_CREDIT 0x42
#define WALLET_INS_DEBIT 0x44
#define WALLET_INS_GET_LAST_TRANSACTION 0x46
#define WALLET_INS_READ_LOG 0x48
#define WALLET_INS_GET_CARD_CERTIFICATE 0x4A
#define WALLET_INS_GET_PURSE_DATA 0x5C
#define WALLET_INS_STORE_DATA 0xE2	/* GlobalPlatform's STORE DATA */

/* P1 of GET LAST TRANSACTION. */
#define WALLET_LAST_DEBIT 0x00
#define WALLET_LAST_LOAD 0x01

/* STORE DATA: the TLVs, and P1 bit 8 for the last block. */
#define WALLET_TAG_GENERATE 0xC0
#define WALLET_TAG_KLOAD 0xC1
#define WALLET_TAG_CA_PUB 0xC2
#define WALLET_TAG_LIMITS 0xC3
#define WALLET_TAG_CERT 0xC4
#define WALLET_LIMITS_LEN 6		/* currency(2) || maximum balance(4) */
#define WALLET_STORE_DATA_LAST 0x80

/* GET PURSE DATA's answer. */
#define WALLET_PURSE_DATA_VERSION 0x01
#define WALLET_PURSE_DATA_LEN (1 + PURSE_SERIAL_LEN + 2 + 4 + 4 + 4)
/* INITIALIZE LOAD's answer: challenge || serial || counter || balance || S1. */
#define WALLET_INIT_LOAD_RESPONSE_LEN \
	(PURSE_CHALLENGE_LEN + PURSE_SERIAL_LEN + 4 + 4 + PURSE_MAC_LEN)
/* CREDIT's answer, and GET LAST TRANSACTION's for a load: counter ||
 * balance || S3. */
#define WALLET_CREDIT_RESPONSE_LEN (4 + 4 + PURSE_MAC_LEN)
/* STORE DATA C0's answer: serial || public key. */
#define WALLET_KEY_PAIR_RESPONSE_LEN (PURSE_SERIAL_LEN + CRYPTO_EC_PUB_LEN)

/* READ LOG: type(1) || counter(4) || amount(4) || balance(4) || merchant id(8). */
#define WALLET_LOG_LOAD 0x01
#define WALLET_LOG_DEBIT 0x02
#define WALLET_LOG_ENTRY_LEN (1 + 4 + 4 + 4 + PURSE_ID_LEN)
#define WALLET_LOG_ENTRIES 16		/* at least, DESIGN §2.1 */

#endif
