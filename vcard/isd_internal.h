/*
 * isd_internal.h - what the two halves of the card manager share: isd.c
 * (selection, GET DATA, the secure channel) and isd_content.c (card
 * content management: load files, instances, life cycles).
 */
#ifndef VCARD_ISD_INTERNAL_H
#define VCARD_ISD_INTERNAL_H

#include "card.h"
#include "isd.h"

/* Persistent objects of the ISD instance. */
#define ISD_TAG_STATE 1u
#define ISD_TAG_ELFS 2u
#define ISD_TAG_LOAD 3u
#define ISD_TAG_ELF_DATA 0x100u	/* + load file slot */

#define ISD_ST_LIFE_CYCLE 0u

#define ISD_MAX_ELFS 8u
#define ISD_MAX_MODULES 4u

struct isd {
	struct vc_applet_ctx *ctx;
	struct vc_card *card;
	struct vc_obj state;
	struct vc_obj elfs;
	struct vc_obj load;
};

/* A load file in the registry (the executable load file of GP). */
struct isd_elf {
	bool used;
	uint8_t aid_len;
	uint8_t aid[VC_AID_MAX];
	uint8_t version[2];	/* major, minor */
	uint8_t n_modules;
	struct {
		uint8_t len;
		uint8_t aid[VC_AID_MAX];
	} modules[ISD_MAX_MODULES];
	uint32_t data_size;
};

/* The load in progress, kept across tears and dropped links (resume). */
struct isd_load {
	bool active;
	uint8_t aid_len;
	uint8_t aid[VC_AID_MAX];
	uint8_t hash_len;	/* 0 or 32 (SHA-256 of the load file data block) */
	uint8_t hash[32];
	uint32_t total;		/* load file data block length, from the C4 header */
	uint32_t received;
	uint8_t next_block;
	uint8_t slot;		/* load file slot the data goes to */
	bool started;		/* the first block (with the C4 header) arrived */
};

uint8_t isd_life_cycle(struct isd *d);
bool isd_elf_get(struct isd *d, unsigned slot, struct isd_elf *e);
bool isd_load_get(struct isd *d, struct isd_load *l);

/* Where a GET STATUS whose entries did not fit one answer goes on. */
struct isd_status_next {
	uint8_t scope;		/* its P1; 0: nothing left to send */
	uint8_t from;		/* the registry or load file slot to go on from */
};

/* Card content management, on plain (already unwrapped) commands.
 * GET STATUS answers the entries that fit rsp and, when some are left,
 * 6310 with next set for the command asking for the next ones (P2 b1). */
uint16_t isd_get_status(struct isd *d, const struct vc_apdu *cmd, struct vc_response *rsp,
			struct isd_status_next *next);
uint16_t isd_install(struct isd *d, const struct vc_apdu *cmd, struct vc_response *rsp,
		     int *personalize_slot);
uint16_t isd_load_block(struct isd *d, const struct vc_apdu *cmd, struct vc_response *rsp);
uint16_t isd_delete(struct isd *d, const struct vc_apdu *cmd, struct vc_response *rsp);
uint16_t isd_set_status(struct isd *d, const struct vc_apdu *cmd);
/* The proprietary GET DATA DF70: progress of the load in progress. */
uint16_t isd_load_progress(struct isd *d, struct vc_response *rsp);

#endif
