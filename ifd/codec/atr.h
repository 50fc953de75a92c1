/*
 * atr.h - the driver's reading of a card's Answer-To-Reset and its
 * Protocol and Parameters Selection (ISO/IEC 7816-3 §8 and §9).
 *
 * In TPDU mode the CCID reader only moves bytes; the driver itself has to
 * know which protocol the card offers, at which Fi/Di, with which guard
 * and waiting times and, for T=1, which IFSC, BWI/CWI and error detection
 * code. This unit turns the raw ATR into those numbers and builds and
 * checks the PPS exchange that selects them, the way libccid keeps its own
 * ATR and PPS code apart from the CCID message layer. It holds no state
 * and reads every byte through struct cursor.
 */
#ifndef ECARD_IFD_ATR_H
#define ECARD_IFD_ATR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ISO 7816-3 §8.1: TS, T0, at most 32 further characters. */
#define IFD_ATR_MAX 33
/* PPSS, PPS0, PPS1 and PCK: this driver never sends PPS2 or PPS3. */
#define IFD_PPS_MAX 4

/* Bits of struct ifd_atr.protocols. */
#define IFD_PROTOCOL_T0 (1u << 0)
#define IFD_PROTOCOL_T1 (1u << 1)
/* T=15 is not a transmission protocol but marks global interface bytes. */
#define IFD_PROTOCOL_T15 (1u << 15)

enum ifd_atr_error {
	IFD_ATR_OK = 0,
	IFD_ATR_ERR_TOO_SHORT = -1,
	IFD_ATR_ERR_TOO_LONG = -2,
	IFD_ATR_ERR_BAD_TS = -3,
	IFD_ATR_ERR_TRUNCATED_INTERFACE = -4,
	IFD_ATR_ERR_TRUNCATED_HISTORICAL = -5,
	IFD_ATR_ERR_TCK_MISSING = -6,
	IFD_ATR_ERR_TCK_WRONG = -7,
	IFD_ATR_ERR_TRAILING = -8,
	IFD_ATR_ERR_FI_RFU = -9,
	IFD_ATR_ERR_DI_RFU = -10,
	IFD_ATR_ERR_INVALID_ARGUMENT = -11,
	IFD_PPS_ERR_MALFORMED_REQUEST = -12,
	IFD_PPS_ERR_MALFORMED_RESPONSE = -13,
	IFD_PPS_ERR_PCK_WRONG = -14,
	IFD_PPS_ERR_PROTOCOL_MISMATCH = -15,
	IFD_PPS_ERR_PARAMETER_MISMATCH = -16,
};

enum ifd_atr_convention {
	IFD_CONVENTION_DIRECT,	/* TS = 3B */
	IFD_CONVENTION_INVERSE,	/* TS = 3F, as delivered decoded by the reader */
};

enum ifd_t1_edc {
	IFD_T1_EDC_LRC,
	IFD_T1_EDC_CRC,
};

struct ifd_atr {
	uint8_t raw[IFD_ATR_MAX];
	size_t raw_len;
	enum ifd_atr_convention convention;

	/* The historical bytes are raw[historical_offset..+historical_len). */
	size_t historical_offset;
	size_t historical_len;

	uint16_t protocols;	/* IFD_PROTOCOL_* bits, T=0 when no TD1 */
	uint8_t first_protocol;	/* T of TD1, or 0 without TD1 */

	/* TA1, or the defaults Fi index 1 and Di index 1 when absent. */
	bool ta1_present;
	uint8_t ta1;
	uint8_t fi_index;
	uint8_t di_index;
	uint16_t fi;		/* clock rate conversion integer */
	uint8_t di;		/* baud rate adjustment integer */
	uint32_t f_max_khz;	/* maximum clock frequency for this Fi */

	uint8_t extra_guard_time;	/* TC1, N; 0 when absent */
	uint8_t t0_wi;			/* TC2, waiting integer; 10 when absent */

	/* T=1: first TA, TB, TC after a TDi (i >= 2) indicating T=1. */
	uint8_t t1_ifsc;	/* 32 when absent */
	uint8_t t1_bwi;		/* 4 when absent */
	uint8_t t1_cwi;		/* 13 when absent */
	enum ifd_t1_edc t1_edc;	/* LRC when absent */

	/* TA2: the card stays in specific mode with this protocol. */
	bool specific_mode;
	uint8_t specific_protocol;
	bool specific_can_change;	/* TA2 bit 8 clear */
	bool specific_implicit;		/* TA2 bit 5 set: Fi/Di not from TA1 */

	bool tck_present;
	bool tck_valid;
};

/*
 * Parse len bytes of ATR into *out. Returns IFD_ATR_OK or a negative
 * enum ifd_atr_error; *out is only meaningful on success.
 */
int ifd_atr_parse(const uint8_t *atr, size_t len, struct ifd_atr *out);

/* One sentence for each enum ifd_atr_error value, never NULL. */
const char *ifd_atr_strerror(int err);

/*
 * Whether a PPS is needed to run at the card's announced rate: TA1 gives
 * an Fi/Di other than 372/1 and no TA2 puts the card in specific mode.
 */
bool ifd_atr_needs_pps(const struct ifd_atr *atr);

/*
 * Build a PPS request for protocol (0 to 14) with PPS1 = ta1_or_0 when it
 * is not 0. Returns its length (3 or 4), or 0 for an invalid protocol.
 */
size_t ifd_pps_build(uint8_t protocol, uint8_t ta1_or_0, uint8_t out[IFD_PPS_MAX]);

/*
 * Check a card's PPS response against the request that was sent
 * (ISO 7816-3 §9.3). On IFD_ATR_OK, *protocol is the selected protocol
 * and *ta1 the Fi/Di byte now in force (0x11, the default, when the card
 * left PPS1 out). Returns a negative enum ifd_atr_error otherwise.
 */
int ifd_pps_check_response(const uint8_t *req, size_t req_len,
			   const uint8_t *rsp, size_t rsp_len,
			   uint8_t *protocol, uint8_t *ta1);

#endif
