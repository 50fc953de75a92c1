/*
 * test_ccid_sim.c - the CCID reader simulator's logic (ccid-sim/ccid_sim.c),
 * driven the way the driver drives it: PC_to_RDR messages made by the
 * builders of ifd/codec/ccid.h in, RDR_to_PC messages decoded by the same codec
 * out.
 *
 * Every test builds its own reader from a configuration and puts fresh
 * cards in it (a 256 KiB memory image made by the factory with ecard's
 * applets), so the diagnostic applet (F0 45 43 41 52 44 44 01: ECHO,
 * GENERATE, INCREMENT...) answers the APDUs. The T=1 tests run the
 * driver's own T=1 engine (ifd/t1.c) against the card's (ccid-sim/t1_card.c)
 * through XfrBlocks; the last test throws random bytes at every exchange
 * level and asks only that every answer is a well-formed message.
 */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "applets.h"
#include "atr.h"
#include "card.h"
#include "ccid.h"
#include "ccid_sim.h"
#include "cursor.h"
#include "hex.h"
#include "sim_proto.h"
#include "t1.h"
#include "test_support.h"

#define IMAGE_SIZE 262144u
#define SELECT_DIAG "00 A4 04 00 08 F0 45 43 41 52 44 44 01"

static struct vc_ccid_sim *sim;
static struct vc_ccid_out *out;
static struct vc_storage *torn_storage;	/* the tearing wrapper of slot 0, when asked */
static uint8_t seq;
static uint8_t msg[CCID_MAX_MSG];
static uint8_t big[70000];
static uint8_t gathered[70000];
static const struct logger *sim_log;	/* the reader's, NULL: silent */

/* ---- set-up ---- */

static void teardown(void)
{
	if (sim) {
		vc_ccid_sim_free(sim);
		free(sim);
		sim = NULL;
	}
	free(out);
	out = NULL;
	torn_storage = NULL;
}

TestSuite(ccid_sim, .fini = teardown);

static struct vc_storage *new_card(bool tearing)
{
	struct vc_storage *st, *tear;
	struct vc_card_options opts = {
		.serial = { 1, 2, 3, 4, 5, 6, 7, 8 },
		.serial_set = true,
	};

	cr_assert_eq(vc_storage_mem_create(IMAGE_SIZE, &st), VC_OK);
	cr_assert_eq(vc_card_create(st, &opts, ecard_applets, ecard_applet_count, NULL), VC_OK);
	if (!tearing)
		return st;
	cr_assert_eq(vc_storage_tear_create(st, &tear), VC_OK);
	return tear;
}

static void config(struct vc_ccid_config *cfg, enum ccid_level level, unsigned protocols)
{
	vc_ccid_config_default(cfg);
	cfg->level = level;
	cfg->protocols = protocols;
}

/* A reader with cards in its first `cards` slots; slot 0 on a tearing
 * storage when tearing is set. */
static void start_ex(const struct vc_ccid_config *cfg, unsigned cards, bool tearing)
{
	sim = calloc(1, sizeof(*sim));
	out = calloc(1, sizeof(*out));
	cr_assert(sim && out);
	seq = 0;
	cr_assert_eq(vc_ccid_sim_init(sim, cfg, sim_log), VC_OK);
	for (unsigned i = 0; i < cards; i++) {
		struct vc_storage *st = new_card(tearing && i == 0);
		if (tearing && i == 0)
			torn_storage = st;
		cr_assert_eq(vc_ccid_sim_attach(sim, i, st, ecard_applets, ecard_applet_count),
			     VC_OK);
	}
}

static void start(const struct vc_ccid_config *cfg, unsigned cards)
{
	start_ex(cfg, cards, false);
}

static void start_level(enum ccid_level level, unsigned protocols)
{
	struct vc_ccid_config cfg;
	config(&cfg, level, protocols);
	start(&cfg, 1);
}

/* ---- exchanges ---- */

/* Send one message; the answer (last message out) decoded. */
static struct ccid_msg exchange(const uint8_t *m, size_t len)
{
	struct ccid_msg r;
	vc_ccid_sim_handle(sim, m, len, out);
	cr_assert_gt(out->count, 0, "no answer");
	unsigned last = out->count - 1;
	cr_assert_eq(ccid_msg_decode(vc_ccid_out_msg(out, last), out->len[last], &r), 0,
		     "the answer is not one well-formed message");
	return r;
}

static void expect_ok(const struct ccid_msg *m, uint8_t type, uint8_t icc)
{
	cr_assert_eq(m->type, type, "type %02X, want %02X", m->type, type);
	cr_assert_eq(CCID_CMD_STATUS(ccid_msg_status(m)), CCID_CMD_OK,
		     "command failed with bError %02X", ccid_msg_error(m));
	cr_assert_eq(CCID_ICC_STATUS(ccid_msg_status(m)), icc, "ICC status %u, want %u",
		     CCID_ICC_STATUS(ccid_msg_status(m)), icc);
}

static void expect_fail(const struct ccid_msg *m, uint8_t type, uint8_t icc, uint8_t error)
{
	cr_assert_eq(m->type, type, "type %02X, want %02X", m->type, type);
	cr_assert_eq(CCID_CMD_STATUS(ccid_msg_status(m)), CCID_CMD_FAILED, "command did not fail");
	cr_assert_eq(ccid_msg_error(m), error, "bError %02X, want %02X", ccid_msg_error(m), error);
	cr_assert_eq(CCID_ICC_STATUS(ccid_msg_status(m)), icc, "ICC status %u, want %u",
		     CCID_ICC_STATUS(ccid_msg_status(m)), icc);
}

static struct ccid_msg power_on_select(uint8_t slot, uint8_t select)
{
	size_t n = ccid_build_power_on(slot, seq++, select, msg, sizeof(msg));
	return exchange(msg, n);
}

static struct ccid_msg power_on(uint8_t slot)
{
	struct ccid_msg m = power_on_select(slot, CCID_POWER_AUTO);
	expect_ok(&m, RDR_TO_PC_DATA_BLOCK, CCID_ICC_ACTIVE);
	return m;
}

static struct ccid_msg xfr(uint8_t slot, uint16_t level, const uint8_t *data, size_t len)
{
	size_t n = ccid_build_xfr_block(slot, seq++, 0, level, data, len, msg, sizeof(msg));
	cr_assert_gt(n, 0);
	return exchange(msg, n);
}

static struct ccid_msg slot_status(uint8_t slot)
{
	size_t n = ccid_build_get_slot_status(slot, seq++, msg, sizeof(msg));
	return exchange(msg, n);
}

static size_t hex(const char *text, uint8_t *buf, size_t cap)
{
	long n = hex_decode(text, buf, cap);
	cr_assert_geq(n, 0, "bad hex in the test: %s", text);
	return (size_t)n;
}

static uint16_t sw_of(const struct ccid_msg *m)
{
	cr_assert_geq(m->len, 2);
	return load_be16(m->data + m->len - 2);
}

/* One APDU (or T=0 TPDU) in one XfrBlock; expects a DataBlock. */
static struct ccid_msg command(const char *text)
{
	uint8_t apdu[300];
	size_t n = hex(text, apdu, sizeof(apdu));
	struct ccid_msg m = xfr(0, 0, apdu, n);
	expect_ok(&m, RDR_TO_PC_DATA_BLOCK, CCID_ICC_ACTIVE);
	return m;
}

static void expect_sw(const char *text, uint16_t sw)
{
	struct ccid_msg m = command(text);
	cr_assert_eq(sw_of(&m), sw, "%s: SW %04X, want %04X", text, sw_of(&m), sw);
}

/* GENERATE's bytes: i & FF from offset first. */
static void expect_generated(const uint8_t *data, size_t len, size_t first)
{
	for (size_t i = 0; i < len; i++)
		cr_assert_eq(data[i], (uint8_t)(first + i), "byte %zu", first + i);
}

/* ---- the device description ---- */

Test(ccid_sim, descriptor_tpdu)
{
	struct vc_ccid_config cfg;
	config(&cfg, CCID_LEVEL_TPDU, IFD_PROTOCOL_T1);
	cfg.max_ifsd = 200;
	start(&cfg, 1);
	const struct ccid_descriptor *d = vc_ccid_sim_descriptor(sim);

	cr_assert_eq(d->bcd_ccid, 0x0110);
	cr_assert_eq(d->max_slot_index, 0);
	cr_assert_eq(d->voltage_support, 0x07);
	cr_assert_eq(d->protocols, 0x02);
	cr_assert_eq(d->features, CCID_FEAT_LEVEL_TPDU | CCID_FEAT_AUTO_VOLTAGE |
					  CCID_FEAT_AUTO_CLOCK | CCID_FEAT_AUTO_BAUD);
	cr_assert_eq(d->max_message_length, 271);
	cr_assert_eq(d->max_ifsd, 200);
	cr_assert_eq(ccid_descriptor_level(d), CCID_LEVEL_TPDU);
}

Test(ccid_sim, descriptor_extended_four_slots)
{
	struct vc_ccid_config cfg;
	config(&cfg, CCID_LEVEL_EXTENDED_APDU, IFD_PROTOCOL_T0 | IFD_PROTOCOL_T1);
	cfg.slots = 4;
	cfg.voltage_support = CCID_VOLTAGE_5V;
	cfg.max_message_length = 1034;
	start(&cfg, 0);
	const struct ccid_descriptor *d = vc_ccid_sim_descriptor(sim);

	cr_assert_eq(d->max_slot_index, 3);
	cr_assert_eq(d->voltage_support, 0x01);
	cr_assert_eq(d->protocols, 0x03);
	cr_assert_eq(d->features, CCID_FEAT_LEVEL_EXTENDED_APDU | CCID_FEAT_AUTO_VOLTAGE |
					  CCID_FEAT_AUTO_CLOCK | CCID_FEAT_AUTO_BAUD |
					  CCID_FEAT_AUTO_PPS_PROP | CCID_FEAT_AUTO_IFSD);
	cr_assert_eq(d->max_message_length, 1034);
	cr_assert_eq(ccid_descriptor_level(d), CCID_LEVEL_EXTENDED_APDU);
}

Test(ccid_sim, sim_info_payload)
{
	struct vc_ccid_config cfg;
	struct ifd_device_info info;
	uint8_t buf[512];

	config(&cfg, CCID_LEVEL_SHORT_APDU, IFD_PROTOCOL_T1);
	cfg.vendor_id = 0x1234;
	cfg.product_id = 0xABCD;
	snprintf(cfg.serial, sizeof(cfg.serial), "S-42");
	cfg.slots = 2;
	start(&cfg, 1);

	size_t n = vc_ccid_sim_info(sim, buf, sizeof(buf));
	cr_assert_gt(n, 0);
	cr_assert_eq(sim_info_decode(buf, n, &info), 0);
	cr_assert_eq(info.vendor_id, 0x1234);
	cr_assert_eq(info.product_id, 0xABCD);
	cr_assert(info.has_interrupt);
	cr_assert_str_eq(info.manufacturer, "ecard");
	cr_assert_str_eq(info.product, "ecard CCID reader simulator");
	cr_assert_str_eq(info.serial, "S-42");
	cr_assert_eq(info.desc.bcd_ccid, 0x0110);
	cr_assert_eq(info.desc.max_slot_index, 1);
	cr_assert_eq(ccid_descriptor_level(&info.desc), CCID_LEVEL_SHORT_APDU);
	cr_assert_eq(info.desc.max_message_length, 271);
	cr_assert_eq(vc_ccid_sim_info(sim, buf, 20), 0, "a short buffer is refused");
}

Test(ccid_sim, config_refused)
{
	struct vc_ccid_config cfg;
	struct vc_ccid_sim *s = calloc(1, sizeof(*s));
	cr_assert_not_null(s);

	config(&cfg, CCID_LEVEL_TPDU, IFD_PROTOCOL_T1);
	cfg.slots = 0;
	cr_assert_eq(vc_ccid_sim_init(s, &cfg, NULL), VC_ERR_ARG);
	cfg.slots = 5;
	cr_assert_eq(vc_ccid_sim_init(s, &cfg, NULL), VC_ERR_ARG);
	config(&cfg, CCID_LEVEL_CHARACTER, IFD_PROTOCOL_T1);
	cr_assert_eq(vc_ccid_sim_init(s, &cfg, NULL), VC_ERR_ARG);
	config(&cfg, CCID_LEVEL_TPDU, 0);
	cr_assert_eq(vc_ccid_sim_init(s, &cfg, NULL), VC_ERR_ARG);
	config(&cfg, CCID_LEVEL_TPDU, IFD_PROTOCOL_T1);
	cfg.ifsc = 255;
	cr_assert_eq(vc_ccid_sim_init(s, &cfg, NULL), VC_ERR_ARG);
	config(&cfg, CCID_LEVEL_TPDU, IFD_PROTOCOL_T1);
	cfg.ta1 = 0x70;	/* Fi index 7 is RFU */
	cr_assert_eq(vc_ccid_sim_init(s, &cfg, NULL), VC_ERR_ARG);
	config(&cfg, CCID_LEVEL_TPDU, IFD_PROTOCOL_T1);
	cfg.max_message_length = 64;	/* only the extended level chains */
	cr_assert_eq(vc_ccid_sim_init(s, &cfg, NULL), VC_ERR_ARG);
	cfg.level = CCID_LEVEL_EXTENDED_APDU;
	cr_assert_eq(vc_ccid_sim_init(s, &cfg, NULL), VC_OK);
	config(&cfg, CCID_LEVEL_TPDU, IFD_PROTOCOL_T1);
	cfg.time_extensions = VC_CCID_MAX_TIME_EXTENSIONS + 1;
	cr_assert_eq(vc_ccid_sim_init(s, &cfg, NULL), VC_ERR_ARG);
	config(&cfg, CCID_LEVEL_TPDU, IFD_PROTOCOL_T1);
	cfg.voltage_support = 0;
	cr_assert_eq(vc_ccid_sim_init(s, &cfg, NULL), VC_ERR_ARG);
	vc_ccid_sim_free(s);
	free(s);
}

/* ---- power on and the ATR ---- */

/* The ATR parses, and carries the card's own historical bytes. */
static void parse_atr(const struct ccid_msg *m, struct ifd_atr *atr)
{
	uint8_t card[VC_ATR_MAX];
	struct ifd_atr card_atr;
	size_t n = vc_card_atr(card);

	cr_assert_eq(ifd_atr_parse(m->data, m->len, atr), IFD_ATR_OK, "ATR does not parse");
	cr_assert_eq(ifd_atr_parse(card, n, &card_atr), IFD_ATR_OK);
	cr_assert_eq(atr->historical_len, card_atr.historical_len);
	cr_assert_arr_eq(m->data + atr->historical_offset, card + card_atr.historical_offset,
			 card_atr.historical_len);
}

Test(ccid_sim, atr_t1)
{
	struct ifd_atr atr;
	start_level(CCID_LEVEL_TPDU, IFD_PROTOCOL_T1);
	struct ccid_msg m = power_on(0);

	cr_assert_eq(m.data[0], 0x3B);
	cr_assert_eq(m.data[1], 0x80 | 11, "T0: TD1 and 11 historical bytes");
	cr_assert_eq(m.data[2], 0x81, "TD1: TD2 follows, T=1");
	cr_assert_eq(m.data[3], 0x11, "TD2: TA3 follows, T=1");
	cr_assert_eq(m.data[4], 254, "TA3 = IFSC");
	parse_atr(&m, &atr);
	cr_assert_eq(atr.protocols, IFD_PROTOCOL_T1);
	cr_assert_eq(atr.t1_ifsc, 254);
	cr_assert_eq(atr.t1_edc, IFD_T1_EDC_LRC);
	cr_assert(atr.tck_present && atr.tck_valid);
	cr_assert_not(atr.ta1_present);
	uint8_t same[IFD_ATR_MAX];
	cr_assert_eq(vc_ccid_sim_atr(sim, same), m.len);
	cr_assert_arr_eq(same, m.data, m.len);
}

Test(ccid_sim, atr_t0)
{
	struct ifd_atr atr;
	start_level(CCID_LEVEL_TPDU, IFD_PROTOCOL_T0);
	struct ccid_msg m = power_on(0);

	cr_assert_eq(m.data[1], 11, "T0: no interface bytes, 11 historical bytes");
	cr_assert_eq(m.len, 2 + 11, "no TCK with T=0 alone");
	parse_atr(&m, &atr);
	cr_assert_eq(atr.protocols, IFD_PROTOCOL_T0);
	cr_assert_not(atr.tck_present);
}

Test(ccid_sim, atr_both_with_ta1_and_crc)
{
	struct vc_ccid_config cfg;
	struct ifd_atr atr;
	config(&cfg, CCID_LEVEL_TPDU, IFD_PROTOCOL_T0 | IFD_PROTOCOL_T1);
	cfg.ta1 = 0x96;
	cfg.ifsc = 128;
	cfg.edc = IFD_T1_EDC_CRC;
	start(&cfg, 1);
	struct ccid_msg m = power_on(0);

	cr_assert_eq(m.data[1], 0x90 | 11, "T0: TA1, TD1, 11 historical bytes");
	cr_assert_eq(m.data[2], 0x96);
	cr_assert_eq(m.data[3], 0x80, "TD1: TD2 follows, T=0 first");
	cr_assert_eq(m.data[4], 0x51, "TD2: TA3 and TC3 follow, T=1");
	cr_assert_eq(m.data[5], 128);
	cr_assert_eq(m.data[6], 0x01, "TC3: CRC");
	parse_atr(&m, &atr);
	cr_assert_eq(atr.protocols, IFD_PROTOCOL_T0 | IFD_PROTOCOL_T1);
	cr_assert_eq(atr.first_protocol, 0);
	cr_assert(atr.ta1_present);
	cr_assert_eq(atr.ta1, 0x96);
	cr_assert_eq(atr.t1_ifsc, 128);
	cr_assert_eq(atr.t1_edc, IFD_T1_EDC_CRC);
	cr_assert(atr.tck_valid);
	cr_assert(ifd_atr_needs_pps(&atr));
}

Test(ccid_sim, power_on_voltage)
{
	struct vc_ccid_config cfg;
	config(&cfg, CCID_LEVEL_SHORT_APDU, IFD_PROTOCOL_T1);
	cfg.voltage_support = CCID_VOLTAGE_5V;
	start(&cfg, 1);

	struct ccid_msg m = power_on_select(0, CCID_POWER_3V);
	expect_fail(&m, RDR_TO_PC_DATA_BLOCK, CCID_ICC_INACTIVE, CCID_ERR_ICC_CLASS_NOT_SUPPORTED);
	m = power_on_select(0, CCID_POWER_1_8V);
	expect_fail(&m, RDR_TO_PC_DATA_BLOCK, CCID_ICC_INACTIVE, CCID_ERR_ICC_CLASS_NOT_SUPPORTED);
	m = power_on_select(0, 4);
	expect_fail(&m, RDR_TO_PC_DATA_BLOCK, CCID_ICC_INACTIVE, 7);
	m = power_on_select(0, CCID_POWER_5V);
	expect_ok(&m, RDR_TO_PC_DATA_BLOCK, CCID_ICC_ACTIVE);
	m = power_on_select(0, CCID_POWER_AUTO);
	expect_ok(&m, RDR_TO_PC_DATA_BLOCK, CCID_ICC_ACTIVE);
	cr_assert_eq(m.seq, (uint8_t)(seq - 1), "bSeq echoed");
}

Test(ccid_sim, power_on_absent_card)
{
	struct vc_ccid_config cfg;
	uint8_t note[8];
	size_t n;
	config(&cfg, CCID_LEVEL_TPDU, IFD_PROTOCOL_T1);
	cfg.slots = 2;
	start(&cfg, 1);

	struct ccid_msg m = power_on_select(1, CCID_POWER_AUTO);
	expect_fail(&m, RDR_TO_PC_DATA_BLOCK, CCID_ICC_ABSENT, CCID_ERR_ICC_MUTE);
	cr_assert_eq(vc_ccid_sim_remove(sim, 0, note, sizeof(note), &n), VC_OK);
	m = power_on_select(0, CCID_POWER_AUTO);
	expect_fail(&m, RDR_TO_PC_DATA_BLOCK, CCID_ICC_ABSENT, CCID_ERR_ICC_MUTE);
}

Test(ccid_sim, slot_status_and_power_off)
{
	struct vc_ccid_config cfg;
	uint8_t note[8];
	size_t n;
	config(&cfg, CCID_LEVEL_TPDU, IFD_PROTOCOL_T1);
	cfg.slots = 2;
	start(&cfg, 1);

	struct ccid_msg m = slot_status(0);
	expect_ok(&m, RDR_TO_PC_SLOT_STATUS, CCID_ICC_INACTIVE);
	m = slot_status(1);
	expect_ok(&m, RDR_TO_PC_SLOT_STATUS, CCID_ICC_ABSENT);
	power_on(0);
	m = slot_status(0);
	expect_ok(&m, RDR_TO_PC_SLOT_STATUS, CCID_ICC_ACTIVE);
	cr_assert_eq(ccid_msg_specific(&m), 0, "clock running");
	n = ccid_build_power_off(0, seq++, msg, sizeof(msg));
	m = exchange(msg, n);
	expect_ok(&m, RDR_TO_PC_SLOT_STATUS, CCID_ICC_INACTIVE);
	cr_assert_neq(ccid_msg_specific(&m), 0, "clock stopped");
	power_on(0);
	cr_assert_eq(vc_ccid_sim_remove(sim, 0, note, sizeof(note), &n), VC_OK);
	m = slot_status(0);
	expect_ok(&m, RDR_TO_PC_SLOT_STATUS, CCID_ICC_ABSENT);
	m = slot_status(2);
	expect_fail(&m, RDR_TO_PC_SLOT_STATUS, CCID_ICC_ABSENT, 5);
}

/* ---- parameters ---- */

static struct ccid_msg set_params(uint8_t protocol, const char *data)
{
	uint8_t bytes[16];
	size_t len = hex(data, bytes, sizeof(bytes));
	/* Built by hand: the builder would not make the malformed ones. */
	size_t n = ccid_build_response(PC_TO_RDR_SET_PARAMETERS, 0, seq++, protocol, 0, 0, bytes,
				       len, msg, sizeof(msg));
	return exchange(msg, n);
}

Test(ccid_sim, parameters)
{
	start_level(CCID_LEVEL_TPDU, IFD_PROTOCOL_T0 | IFD_PROTOCOL_T1);
	power_on(0);

	size_t n = ccid_build_get_parameters(0, seq++, msg, sizeof(msg));
	struct ccid_msg m = exchange(msg, n);
	expect_ok(&m, RDR_TO_PC_PARAMETERS, CCID_ICC_ACTIVE);
	cr_assert_eq(ccid_msg_specific(&m), 0, "T=0 after power-on");
	cr_assert_eq(m.len, CCID_PARAMS_T0_LEN);
	cr_assert_eq(m.data[0], 0x11);

	struct ccid_params p = { .protocol = 1, .fi_di = 0x13, .tcck = 0x10, .waiting = 0x45,
				 .ifsc = 0xFE };
	n = ccid_build_set_parameters(0, seq++, &p, msg, sizeof(msg));
	m = exchange(msg, n);
	expect_ok(&m, RDR_TO_PC_PARAMETERS, CCID_ICC_ACTIVE);
	cr_assert_eq(ccid_msg_specific(&m), 1);
	struct ccid_params back;
	cr_assert_eq(ccid_params_decode(1, m.data, m.len, &back), 0);
	cr_assert_eq(back.fi_di, 0x13);
	cr_assert_eq(back.ifsc, 0xFE);
	cr_assert_eq(back.waiting, 0x45);

	m = set_params(1, "70 10 00 45 00 FE 00");	/* Fi index 7: RFU */
	expect_fail(&m, RDR_TO_PC_PARAMETERS, CCID_ICC_ACTIVE, 10);
	m = set_params(1, "11 00 00 45 00 FE 00");	/* bmTCCKST1 without 0x10 */
	expect_fail(&m, RDR_TO_PC_PARAMETERS, CCID_ICC_ACTIVE, 11);
	m = set_params(1, "11 10 00 A5 00 FE 00");	/* BWI 10 */
	expect_fail(&m, RDR_TO_PC_PARAMETERS, CCID_ICC_ACTIVE, 13);
	m = set_params(1, "11 10 00 45 00 FF 00");	/* IFSC FF */
	expect_fail(&m, RDR_TO_PC_PARAMETERS, CCID_ICC_ACTIVE, 15);
	m = set_params(1, "11 10 00 45 00");		/* T=1 with 5 bytes */
	expect_fail(&m, RDR_TO_PC_PARAMETERS, CCID_ICC_ACTIVE, 1);
	m = set_params(2, "11 10 00 45 00");
	expect_fail(&m, RDR_TO_PC_PARAMETERS, CCID_ICC_ACTIVE, 7);
	m = set_params(0, "11 00 00 0A 00");
	expect_ok(&m, RDR_TO_PC_PARAMETERS, CCID_ICC_ACTIVE);
	cr_assert_eq(ccid_msg_specific(&m), 0);

	n = ccid_build_reset_parameters(0, seq++, msg, sizeof(msg));
	m = exchange(msg, n);
	expect_ok(&m, RDR_TO_PC_PARAMETERS, CCID_ICC_ACTIVE);
	cr_assert_eq(ccid_msg_specific(&m), 0);
	cr_assert_eq(m.data[0], 0x11);
}

/* --model qemu: the reader QEMU 7.2 emulates as usb-ccid, as met by the
 * driver - its identity and dwFeatures, a T=0 card that answers without
 * any PPS or SetParameters (the reader negotiated), and Parameters answers
 * that say dwLength 0 and carry 7 bytes. */
Test(ccid_sim, qemu_model)
{
	struct vc_ccid_config cfg;
	vc_ccid_config_qemu(&cfg);
	start(&cfg, 1);
	const struct ccid_descriptor *d = vc_ccid_sim_descriptor(sim);

	cr_expect_eq(cfg.vendor_id, 0x08E6);
	cr_expect_eq(cfg.product_id, 0x4433);
	cr_expect_eq(d->features, 0x000104FE, "dwFeatures %08X", d->features);
	cr_expect_eq(d->protocols, 0x01);
	cr_expect_eq(d->max_message_length, 65554);
	struct ccid_msg m = power_on(0);
	struct ifd_atr atr;
	cr_assert_eq(ifd_atr_parse(m.data, m.len, &atr), IFD_ATR_OK);
	cr_expect_eq(atr.first_protocol, 0);
	/* The first TPDU right after the ATR: the card hears it. */
	expect_sw(SELECT_DIAG, 0x9000);

	size_t n = ccid_build_get_parameters(0, seq++, msg, sizeof(msg));
	vc_ccid_sim_handle(sim, msg, n, out);
	cr_assert_eq(out->count, 1);
	const uint8_t *a = vc_ccid_out_msg(out, 0);
	cr_assert_eq(out->len[0], CCID_HEADER_LEN + CCID_PARAMS_T1_LEN);
	cr_expect_eq(a[0], RDR_TO_PC_PARAMETERS);
	cr_expect_eq(load_le32(a + 1), 0, "dwLength");
	cr_expect_eq(a[9], 0, "bProtocolNum");
	cr_expect_eq(a[10], 0x11, "bmFindexDindex");
	cr_expect_neq(ccid_msg_decode(a, out->len[0], &m), 0, "strictly, a malformed message");
	size_t trailing = 0;
	cr_assert_eq(ccid_answer_decode(a, out->len[0], &m, &trailing), 0);
	cr_expect_eq(trailing, CCID_PARAMS_T1_LEN);
}

Test(ccid_sim, parameters_protocol_not_offered)
{
	start_level(CCID_LEVEL_TPDU, IFD_PROTOCOL_T1);
	struct ccid_msg m = set_params(0, "11 00 00 0A 00");
	expect_fail(&m, RDR_TO_PC_PARAMETERS, CCID_ICC_INACTIVE, 7);
}

/* ---- short APDU level ---- */

Test(ccid_sim, short_apdu_select_echo)
{
	start_level(CCID_LEVEL_SHORT_APDU, IFD_PROTOCOL_T1);
	power_on(0);

	expect_sw(SELECT_DIAG, 0x9000);
	struct ccid_msg m = command("80 10 00 00 05 01 02 03 04 05");
	cr_assert_eq(m.len, 7);
	cr_assert_eq(memcmp(m.data, "\x01\x02\x03\x04\x05\x90\x00", 7), 0);
	cr_assert_eq(sim->stats.apdus, 2);
}

Test(ccid_sim, short_apdu_generate_300)
{
	start_level(CCID_LEVEL_SHORT_APDU, IFD_PROTOCOL_T1);
	power_on(0);
	expect_sw(SELECT_DIAG, 0x9000);

	struct ccid_msg m = command("80 12 01 2C 00");
	cr_assert_eq(m.len, 256 + 2, "at most 256 bytes at short APDU level");
	cr_assert_eq(sw_of(&m), 0x612C);
	expect_generated(m.data, 256, 0);
	m = command("00 C0 00 00 2C");
	cr_assert_eq(m.len, 44 + 2);
	cr_assert_eq(sw_of(&m), 0x9000);
	expect_generated(m.data, 44, 256);
}

/* ---- extended APDU level ---- */

/* Send an APDU in parts of at most chunk bytes; returns the whole
 * response, gathered from its parts, and checks every chain marker. */
static size_t extended_exchange(const uint8_t *apdu, size_t len, size_t chunk)
{
	size_t off = 0;
	struct ccid_msg m;

	if (len <= chunk) {
		m = xfr(0, CCID_CHAIN_BEGIN_AND_END, apdu, len);
	} else {
		for (;;) {
			size_t n = len - off < chunk ? len - off : chunk;
			uint16_t level = off == 0 ? CCID_CHAIN_BEGIN
				       : off + n == len ? CCID_CHAIN_END : CCID_CHAIN_CONTINUE;
			m = xfr(0, level, apdu + off, n);
			off += n;
			if (level == CCID_CHAIN_END)
				break;
			expect_ok(&m, RDR_TO_PC_DATA_BLOCK, CCID_ICC_ACTIVE);
			cr_assert_eq(ccid_msg_specific(&m), CCID_CHAIN_EMPTY,
				     "a command part is answered with bChainParameter 10");
			cr_assert_eq(m.len, 0);
		}
	}

	size_t got = 0;
	uint8_t chain = ccid_msg_specific(&m);
	expect_ok(&m, RDR_TO_PC_DATA_BLOCK, CCID_ICC_ACTIVE);
	cr_assert(chain == CCID_CHAIN_BEGIN_AND_END || chain == CCID_CHAIN_BEGIN,
		  "first response part: chain %02X", chain);
	for (;;) {
		cr_assert_leq(m.len, chunk);
		memcpy(gathered + got, m.data, m.len);
		got += m.len;
		if (chain == CCID_CHAIN_BEGIN_AND_END || chain == CCID_CHAIN_END)
			break;
		m = xfr(0, CCID_CHAIN_EMPTY, NULL, 0);
		expect_ok(&m, RDR_TO_PC_DATA_BLOCK, CCID_ICC_ACTIVE);
		chain = ccid_msg_specific(&m);
		cr_assert(chain == CCID_CHAIN_CONTINUE || chain == CCID_CHAIN_END,
			  "next response part: chain %02X", chain);
	}
	return got;
}

Test(ccid_sim, extended_apdu_chaining_both_ways)
{
	struct vc_ccid_config cfg;
	config(&cfg, CCID_LEVEL_EXTENDED_APDU, IFD_PROTOCOL_T1);
	cfg.max_message_length = 64;
	start(&cfg, 1);
	power_on(0);

	uint8_t apdu[16];
	size_t n = hex(SELECT_DIAG, apdu, sizeof(apdu));
	cr_assert_eq(extended_exchange(apdu, n, 54), 2);
	cr_assert_eq(load_be16(gathered), 0x9000);

	/* ECHO of 1000 bytes, extended Lc and Le. */
	size_t len = 0;
	big[len++] = 0x80;
	big[len++] = 0x10;
	big[len++] = 0x00;
	big[len++] = 0x00;
	big[len++] = 0x00;
	big[len++] = 0x03;
	big[len++] = 0xE8;
	for (size_t i = 0; i < 1000; i++)
		big[len++] = (uint8_t)(i * 7);
	big[len++] = 0x00;
	big[len++] = 0x00;
	size_t got = extended_exchange(big, len, 64 - CCID_HEADER_LEN);
	cr_assert_eq(got, 1002);
	cr_assert_arr_eq(gathered, big + 7, 1000);
	cr_assert_eq(load_be16(gathered + 1000), 0x9000);

	/* GENERATE 4000 bytes: only the response is chained. */
	n = hex("80 12 0F A0 00 00 00", apdu, sizeof(apdu));
	got = extended_exchange(apdu, n, 54);
	cr_assert_eq(got, 4002);
	expect_generated(gathered, 4000, 0);
}

Test(ccid_sim, extended_apdu_chain_overflow)
{
	struct vc_ccid_config cfg;
	config(&cfg, CCID_LEVEL_EXTENDED_APDU, IFD_PROTOCOL_T1);
	cfg.max_message_length = CCID_MAX_MSG;
	start(&cfg, 1);
	power_on(0);

	memset(big, 0x80, CCID_MAX_DATA);
	struct ccid_msg m = xfr(0, CCID_CHAIN_BEGIN, big, CCID_MAX_DATA);
	expect_ok(&m, RDR_TO_PC_DATA_BLOCK, CCID_ICC_ACTIVE);
	m = xfr(0, CCID_CHAIN_CONTINUE, big, CCID_MAX_DATA);
	expect_fail(&m, RDR_TO_PC_DATA_BLOCK, CCID_ICC_ACTIVE, CCID_ERR_XFR_OVERRUN);
	m = xfr(0, CCID_CHAIN_END, big, 4);
	expect_fail(&m, RDR_TO_PC_DATA_BLOCK, CCID_ICC_ACTIVE, 8);
	expect_sw(SELECT_DIAG, 0x9000);
}

Test(ccid_sim, extended_apdu_chain_errors)
{
	struct vc_ccid_config cfg;
	config(&cfg, CCID_LEVEL_EXTENDED_APDU, IFD_PROTOCOL_T1);
	cfg.max_message_length = 64;
	start(&cfg, 1);
	power_on(0);
	uint8_t part[4] = { 0x80, 0x10, 0x00, 0x00 };

	struct ccid_msg m = xfr(0, CCID_CHAIN_CONTINUE, part, 4);
	expect_fail(&m, RDR_TO_PC_DATA_BLOCK, CCID_ICC_ACTIVE, 8);
	m = xfr(0, CCID_CHAIN_END, part, 4);
	expect_fail(&m, RDR_TO_PC_DATA_BLOCK, CCID_ICC_ACTIVE, 8);
	m = xfr(0, CCID_CHAIN_EMPTY, NULL, 0);
	expect_fail(&m, RDR_TO_PC_DATA_BLOCK, CCID_ICC_ACTIVE, 8);
	m = xfr(0, 0x0005, part, 4);
	expect_fail(&m, RDR_TO_PC_DATA_BLOCK, CCID_ICC_ACTIVE, 8);
	/* A new command abandons a response still being handed out. */
	m = xfr(0, 0, (const uint8_t *)"\x00\xA4\x04\x00\x08\xF0\x45\x43\x41\x52\x44\x44\x01", 13);
	expect_ok(&m, RDR_TO_PC_DATA_BLOCK, CCID_ICC_ACTIVE);
	m = command("80 12 01 00 00");
	cr_assert_eq(ccid_msg_specific(&m), CCID_CHAIN_BEGIN);
	m = command("80 00 00 00");
	cr_assert_eq(ccid_msg_specific(&m), CCID_CHAIN_BEGIN_AND_END);
	m = xfr(0, CCID_CHAIN_EMPTY, NULL, 0);
	expect_fail(&m, RDR_TO_PC_DATA_BLOCK, CCID_ICC_ACTIVE, 8);
}

/* ---- TPDU level, T=0 ---- */

static void t0_start(void)
{
	start_level(CCID_LEVEL_TPDU, IFD_PROTOCOL_T0);
	power_on(0);
	expect_sw(SELECT_DIAG, 0x9000);	/* case 3 */
}

Test(ccid_sim, t0_case1_and_3)
{
	t0_start();
	expect_sw("80 00 00 00 00", 0x9000);		/* NOP, case 1 */
	expect_sw("80 24 00 00 02 AA BB", 0x9000);	/* WRITE, case 3 */
	expect_sw("80 99 00 00 00", 0x6D00);		/* unknown INS */
	/* P3 = 00 also means Le 256: RANDOM sizes its answer by it. */
	struct ccid_msg m = command("80 84 00 00 00");
	cr_assert_eq(m.len, 256 + 2);
	cr_assert_eq(sw_of(&m), 0x9000);
}

Test(ccid_sim, t0_case2_wrong_le)
{
	t0_start();

	struct ccid_msg m = command("80 12 00 10 10");
	cr_assert_eq(m.len, 16 + 2);
	cr_assert_eq(sw_of(&m), 0x9000);
	expect_generated(m.data, 16, 0);

	/* Le too long: 6Cxx with the real length; the repeated command gets
	 * the kept answer without running again. */
	expect_sw("80 12 00 10 20", 0x6C10);
	unsigned long apdus = sim->stats.apdus;
	m = command("80 12 00 10 10");
	cr_assert_eq(sim->stats.apdus, apdus, "the kept answer, not a second run");
	cr_assert_eq(m.len, 16 + 2);
	expect_generated(m.data, 16, 0);

	/* Le too short: the same. */
	expect_sw("80 12 00 10 08", 0x6C10);
	m = command("80 12 00 10 10");
	cr_assert_eq(m.len, 16 + 2);
	cr_assert_eq(sw_of(&m), 0x9000);

	/* An error without data passes unchanged, whatever Le said. */
	expect_sw("80 99 00 00 10", 0x6D00);
}

Test(ccid_sim, t0_case2_longer_than_256)
{
	t0_start();

	expect_sw("80 12 01 2C 10", 0x6C00);
	struct ccid_msg m = command("80 12 01 2C 00");
	cr_assert_eq(m.len, 256 + 2);
	cr_assert_eq(sw_of(&m), 0x612C);
	expect_generated(m.data, 256, 0);
	m = command("00 C0 00 00 2C");
	cr_assert_eq(m.len, 44 + 2);
	cr_assert_eq(sw_of(&m), 0x9000);
	expect_generated(m.data, 44, 256);
}

Test(ccid_sim, t0_case4_get_response)
{
	t0_start();

	expect_sw("80 10 00 00 05 0A 0B 0C 0D 0E", 0x6105);
	expect_sw("00 C0 00 00 08", 0x6C05);
	struct ccid_msg m = command("00 C0 00 00 03");
	cr_assert_eq(m.len, 3 + 2);
	cr_assert_eq(sw_of(&m), 0x6102);
	cr_assert_eq(memcmp(m.data, "\x0A\x0B\x0C", 3), 0);
	m = command("00 C0 00 00 02");
	cr_assert_eq(m.len, 2 + 2);
	cr_assert_eq(sw_of(&m), 0x9000);
	cr_assert_eq(memcmp(m.data, "\x0D\x0E", 2), 0);
	/* Nothing left: the card itself has nothing pending either. */
	expect_sw("00 C0 00 00 02", 0x6985);
}

Test(ccid_sim, t0_malformed_tpdu)
{
	t0_start();
	uint8_t three[3] = { 0x80, 0x00, 0x00 };
	struct ccid_msg m = xfr(0, 0, three, 3);
	expect_fail(&m, RDR_TO_PC_DATA_BLOCK, CCID_ICC_ACTIVE, CCID_ERR_ICC_MUTE);
	uint8_t wrong_p3[7] = { 0x80, 0x10, 0x00, 0x00, 0x05, 0x01, 0x02 };
	m = xfr(0, 0, wrong_p3, sizeof(wrong_p3));
	expect_fail(&m, RDR_TO_PC_DATA_BLOCK, CCID_ICC_ACTIVE, CCID_ERR_ICC_MUTE);
	expect_sw("80 00 00 00 00", 0x9000);
}

/* ---- TPDU level, T=1 through the driver's T=1 engine ---- */

struct t1_link {
	uint8_t slot;
	unsigned time_extensions;	/* seen in DataBlocks */
	unsigned bad_answers;		/* garbled, truncated, wrong bSeq */
	unsigned timeouts;		/* dropped or mute */
};

static int t1_xfr(void *arg, const uint8_t *block, size_t len, uint8_t *rsp, size_t cap,
		  size_t *rsp_len, uint8_t wtx)
{
	struct t1_link *link = arg;
	uint8_t s = seq++;
	size_t n = ccid_build_xfr_block(link->slot, s, wtx, 0, block, len, msg, sizeof(msg));
	cr_assert_gt(n, 0);
	vc_ccid_sim_handle(sim, msg, n, out);
	*rsp_len = 0;
	if (out->count == 0) {
		link->timeouts++;
		return T1_XFR_TIMEOUT;
	}
	for (unsigned i = 0; i < out->count; i++) {
		struct ccid_msg m;
		if (ccid_msg_decode(vc_ccid_out_msg(out, i), out->len[i], &m) != 0 ||
		    m.type != RDR_TO_PC_DATA_BLOCK || m.seq != s) {
			link->bad_answers++;
			return T1_XFR_INVALID;
		}
		uint8_t status = CCID_CMD_STATUS(ccid_msg_status(&m));
		if (status == CCID_CMD_TIME_EXTENSION) {
			link->time_extensions++;
			continue;
		}
		if (status != CCID_CMD_OK) {
			link->timeouts++;
			return T1_XFR_TIMEOUT;
		}
		if (m.len > cap)
			return T1_XFR_INVALID;
		memcpy(rsp, m.data, m.len);
		*rsp_len = m.len;
		return 0;
	}
	return T1_XFR_INVALID;
}

static void t1_start(struct ifd_t1 *t, struct t1_link *link, const struct vc_ccid_config *cfg)
{
	struct ifd_atr atr;
	start(cfg, 1);
	struct ccid_msg m = power_on(0);
	cr_assert_eq(ifd_atr_parse(m.data, m.len, &atr), IFD_ATR_OK);
	memset(link, 0, sizeof(*link));
	ifd_t1_init(t, atr.t1_ifsc, atr.t1_edc, t1_xfr, link, NULL);
}

static size_t t1_apdu(struct ifd_t1 *t, const char *text)
{
	uint8_t apdu[300];
	size_t n = hex(text, apdu, sizeof(apdu)), got = 0;
	int rc = ifd_t1_transceive(t, apdu, n, gathered, sizeof(gathered), &got);
	cr_assert_eq(rc, 0, "%s: T=1 error %d", text, rc);
	cr_assert_geq(got, 2);
	return got;
}

Test(ccid_sim, t1_engine_against_the_card)
{
	struct vc_ccid_config cfg;
	struct ifd_t1 t;
	struct t1_link link;
	config(&cfg, CCID_LEVEL_TPDU, IFD_PROTOCOL_T1);
	cfg.ifsc = 32;	/* commands chained by the driver */
	t1_start(&t, &link, &cfg);

	cr_assert_eq(ifd_t1_negotiate_ifsd(&t, 64), 0);
	size_t got = t1_apdu(&t, SELECT_DIAG);
	cr_assert_eq(load_be16(gathered + got - 2), 0x9000);

	/* ECHO of 200 bytes: chained both ways. */
	size_t len = 0;
	big[len++] = 0x80;
	big[len++] = 0x10;
	big[len++] = 0x00;
	big[len++] = 0x00;
	big[len++] = 200;
	for (size_t i = 0; i < 200; i++)
		big[len++] = (uint8_t)(255 - i);
	big[len++] = 0x00;
	cr_assert_eq(ifd_t1_transceive(&t, big, len, gathered, sizeof(gathered), &got), 0);
	cr_assert_eq(got, 202);
	cr_assert_arr_eq(gathered, big + 5, 200);

	/* An extended APDU over T=1: GENERATE 1000 bytes. */
	got = t1_apdu(&t, "80 12 03 E8 00 00 00");
	cr_assert_eq(got, 1002);
	expect_generated(gathered, 1000, 0);
	cr_assert_eq(t.stats.retransmissions, 0);
	cr_assert_eq(link.bad_answers + link.timeouts, 0);
}

Test(ccid_sim, t1_crc_wtx_and_time_extensions)
{
	struct vc_ccid_config cfg;
	struct ifd_t1 t;
	struct t1_link link;
	config(&cfg, CCID_LEVEL_TPDU, IFD_PROTOCOL_T1);
	cfg.edc = IFD_T1_EDC_CRC;
	cfg.wtx = 2;
	cfg.time_extensions = 1;
	t1_start(&t, &link, &cfg);
	cr_assert_eq(t.edc, IFD_T1_EDC_CRC);

	size_t got = t1_apdu(&t, SELECT_DIAG);
	cr_assert_eq(load_be16(gathered + got - 2), 0x9000);
	cr_assert_eq(t.stats.wtx_requests, 2, "two S(WTX) per command");
	cr_assert_gt(link.time_extensions, 0);
	cr_assert_eq(sim->stats.time_extensions, link.time_extensions);
}

Test(ccid_sim, t1_recovers_from_wire_faults)
{
	struct vc_ccid_config cfg;
	struct ifd_t1 t;
	struct t1_link link;
	config(&cfg, CCID_LEVEL_TPDU, IFD_PROTOCOL_T1);
	cfg.ifsc = 32;
	t1_start(&t, &link, &cfg);
	size_t got = t1_apdu(&t, SELECT_DIAG);

	static const enum vc_ccid_fault kinds[] = {
		VC_CCID_FAULT_FLIP, VC_CCID_FAULT_DROP, VC_CCID_FAULT_SEQ,
		VC_CCID_FAULT_GARBAGE, VC_CCID_FAULT_TRUNCATE,
	};
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		unsigned long before = t.stats.retransmissions + t.stats.resyncs;
		vc_ccid_sim_arm_fault(sim, kinds[k], 2);
		got = t1_apdu(&t, "80 12 00 64 00");
		cr_assert_eq(got, 102, "%s: answer %zu bytes", vc_ccid_fault_name(kinds[k]), got);
		expect_generated(gathered, 100, 0);
		cr_assert_eq(sim->stats.fault_by_kind[kinds[k]], 1, "%s fired once",
			     vc_ccid_fault_name(kinds[k]));
		cr_assert_gt(t.stats.retransmissions + t.stats.resyncs, before,
			     "%s: the engine had to recover", vc_ccid_fault_name(kinds[k]));
	}
	cr_assert_eq(sim->stats.faults, 5);
}

/* ---- PPS ---- */

static struct ccid_msg pps(const char *text)
{
	uint8_t req[8];
	size_t n = hex(text, req, sizeof(req));
	return xfr(0, 0, req, n);
}

Test(ccid_sim, pps_then_t1)
{
	struct vc_ccid_config cfg;
	struct ifd_t1 t;
	struct t1_link link = { 0 };
	config(&cfg, CCID_LEVEL_TPDU, IFD_PROTOCOL_T0 | IFD_PROTOCOL_T1);
	cfg.ta1 = 0x96;
	start(&cfg, 1);
	power_on(0);

	/* T=1 at TA1's rate: echoed. */
	struct ccid_msg m = pps("FF 11 96 78");
	expect_ok(&m, RDR_TO_PC_DATA_BLOCK, CCID_ICC_ACTIVE);
	cr_assert_eq(m.len, 4);
	cr_assert_eq(memcmp(m.data, "\xFF\x11\x96\x78", 4), 0);
	uint8_t proto = 0, ta1 = 0;
	uint8_t req[4] = { 0xFF, 0x11, 0x96, 0x78 };
	cr_assert_eq(ifd_pps_check_response(req, 4, m.data, m.len, &proto, &ta1), IFD_ATR_OK);
	cr_assert_eq(proto, 1);
	cr_assert_eq(ta1, 0x96);

	/* The reader still runs T=0 at the default rate: the card hears
	 * nothing it understands. */
	uint8_t sel[16], blk[T1_MAX_BLOCK], rsp[16];
	size_t sel_len = hex(SELECT_DIAG, sel, sizeof(sel)), got = 0;
	size_t blen = t1_block_build(0, 0, sel, sel_len, IFD_T1_EDC_LRC, blk);
	m = xfr(0, 0, blk, blen);
	expect_fail(&m, RDR_TO_PC_DATA_BLOCK, CCID_ICC_ACTIVE, CCID_ERR_ICC_MUTE);

	/* The reader set to the PPS's outcome: the card answers. */
	struct ccid_params p = { .protocol = 1, .fi_di = 0x96, .tcck = 0x10, .waiting = 0x4D,
				 .ifsc = 0xFE };
	size_t n = ccid_build_set_parameters(0, seq++, &p, msg, sizeof(msg));
	m = exchange(msg, n);
	expect_ok(&m, RDR_TO_PC_PARAMETERS, CCID_ICC_ACTIVE);
	ifd_t1_init(&t, 254, IFD_T1_EDC_LRC, t1_xfr, &link, NULL);
	cr_assert_eq(ifd_t1_transceive(&t, sel, sel_len, rsp, sizeof(rsp), &got), 0);
	cr_assert_eq(got, 2);
	cr_assert_eq(load_be16(rsp), 0x9000);
}

Test(ccid_sim, pps_refused_or_reduced)
{
	struct vc_ccid_config cfg;
	config(&cfg, CCID_LEVEL_TPDU, IFD_PROTOCOL_T0 | IFD_PROTOCOL_T1);
	cfg.ta1 = 0x96;
	start(&cfg, 1);

	power_on(0);
	struct ccid_msg m = pps("FF 11 96 00");	/* bad PCK */
	expect_fail(&m, RDR_TO_PC_DATA_BLOCK, CCID_ICC_ACTIVE, CCID_ERR_ICC_MUTE);

	power_on(0);
	m = pps("FF 12 ED");	/* T=2 is not offered */
	expect_fail(&m, RDR_TO_PC_DATA_BLOCK, CCID_ICC_ACTIVE, CCID_ERR_ICC_MUTE);

	power_on(0);
	m = pps("FF 31 96 00 58");	/* PPS2 is not supported: left out of the answer */
	expect_ok(&m, RDR_TO_PC_DATA_BLOCK, CCID_ICC_ACTIVE);
	cr_assert_eq(m.len, 4);
	cr_assert_eq(memcmp(m.data, "\xFF\x11\x96\x78", 4), 0);

	power_on(0);
	m = pps("FF 10 18 F7");	/* T=0 at a rate not offered: PPS1 left out */
	expect_ok(&m, RDR_TO_PC_DATA_BLOCK, CCID_ICC_ACTIVE);
	cr_assert_eq(m.len, 3);
	cr_assert_eq(memcmp(m.data, "\xFF\x00\xFF", 3), 0);
	/* The card stays at the default rate and T=0, like the reader. */
	expect_sw(SELECT_DIAG, 0x9000);

	/* Once the protocol is in use, FF is just a class byte (the card
	 * refuses it as a T=0 command). */
	m = pps("FF 11 96 78 00");
	expect_ok(&m, RDR_TO_PC_DATA_BLOCK, CCID_ICC_ACTIVE);
	cr_assert_eq(m.len, 2);
	cr_assert_eq(sw_of(&m), 0x6E00);
}

/* ---- time extensions ---- */

Test(ccid_sim, time_extensions_before_the_answer)
{
	struct vc_ccid_config cfg;
	config(&cfg, CCID_LEVEL_SHORT_APDU, IFD_PROTOCOL_T1);
	cfg.time_extensions = 3;
	cfg.time_extension_multiplier = 5;
	start(&cfg, 1);
	power_on(0);
	cr_assert_eq(out->count, 1, "no time extension for power-on");

	struct ccid_msg m = command(SELECT_DIAG);
	cr_assert_eq(out->count, 4);
	for (unsigned i = 0; i < 3; i++) {
		struct ccid_msg te;
		cr_assert_eq(ccid_msg_decode(vc_ccid_out_msg(out, i), out->len[i], &te), 0);
		cr_assert_eq(te.type, RDR_TO_PC_DATA_BLOCK);
		cr_assert_eq(CCID_CMD_STATUS(ccid_msg_status(&te)), CCID_CMD_TIME_EXTENSION);
		cr_assert_eq(ccid_msg_error(&te), 5, "bError is the multiplier");
		cr_assert_eq(te.seq, m.seq);
		cr_assert_eq(te.len, 0);
	}
	cr_assert_eq(sw_of(&m), 0x9000);
	cr_assert_eq(sim->stats.time_extensions, 3);
}

/* ---- the debug trace ---- */

static struct ts_log_capture log_capture;	/* the reader keeps its logger */
static const char *const trace = log_capture.text;

/* The messages that carry APDUs show their header, never the APDU: the
 * card traces it, with the PIN hidden. */
Test(ccid_sim, trace_hides_apdu_data)
{
	ts_log_capture_init(&log_capture);
	sim_log = &log_capture.logger;
	start_level(CCID_LEVEL_SHORT_APDU, IFD_PROTOCOL_T1);
	power_on(0);
	expect_sw("00 20 00 81 08 31 32 33 34 FF FF FF FF", 0x9000);
	expect_sw(SELECT_DIAG, 0x9000);

	cr_assert_null(strstr(trace, "31323334"), "the PIN is traced: %s", trace);
	cr_assert(strstr(trace, "in : 6F0D00000000"), "the header is traced: %s", trace);
	cr_assert(strstr(trace, "+ 13 bytes of abData not shown"), "%s", trace);
	cr_assert(strstr(trace, "C: 00200081 [PIN data hidden]  R: 9000"), "%s", trace);
	cr_assert(strstr(trace, "F045434152444401"), "the card traces the rest: %s", trace);
	cr_assert(strstr(trace, "in : 62000000000000"), "IccPowerOn whole: %s", trace);
}

/* ---- wire faults, each visible in the output ---- */

Test(ccid_sim, faults_in_the_output)
{
	start_level(CCID_LEVEL_SHORT_APDU, IFD_PROTOCOL_T1);
	power_on(0);
	size_t n, normal_len;

	/* The 2nd answer from now is dropped, the 1st is untouched. */
	vc_ccid_sim_arm_fault(sim, VC_CCID_FAULT_DROP, 2);
	struct ccid_msg m = slot_status(0);
	expect_ok(&m, RDR_TO_PC_SLOT_STATUS, CCID_ICC_ACTIVE);
	normal_len = out->len[0];
	n = ccid_build_get_slot_status(0, seq++, msg, sizeof(msg));
	vc_ccid_sim_handle(sim, msg, n, out);
	cr_assert_eq(out->count, 0, "dropped");
	m = slot_status(0);
	expect_ok(&m, RDR_TO_PC_SLOT_STATUS, CCID_ICC_ACTIVE);

	vc_ccid_sim_arm_fault(sim, VC_CCID_FAULT_SEQ, 1);
	m = slot_status(0);
	cr_assert_eq(m.seq, (uint8_t)seq, "bSeq one past the command's");

	vc_ccid_sim_arm_fault(sim, VC_CCID_FAULT_TRUNCATE, 1);
	n = ccid_build_get_slot_status(0, seq++, msg, sizeof(msg));
	vc_ccid_sim_handle(sim, msg, n, out);
	cr_assert_eq(out->count, 1);
	cr_assert_lt(out->len[0], normal_len);
	struct ccid_msg bad;
	cr_assert_neq(ccid_msg_decode(vc_ccid_out_msg(out, 0), out->len[0], &bad), 0);

	vc_ccid_sim_arm_fault(sim, VC_CCID_FAULT_GARBAGE, 1);
	n = ccid_build_get_slot_status(0, seq++, msg, sizeof(msg));
	vc_ccid_sim_handle(sim, msg, n, out);
	cr_assert_eq(out->count, 1);
	cr_assert_geq(out->len[0], 1);
	cr_assert_leq(out->len[0], 64);

	/* FLIP waits for a T=1 block: at short APDU level it never fires. */
	vc_ccid_sim_arm_fault(sim, VC_CCID_FAULT_FLIP, 1);
	m = command(SELECT_DIAG);
	cr_assert_eq(sw_of(&m), 0x9000);
	cr_assert_eq(sim->stats.fault_by_kind[VC_CCID_FAULT_FLIP], 0);
	cr_assert_eq(sim->stats.faults, 4);

	for (int k = 0; k < VC_CCID_FAULT_KINDS; k++)
		cr_assert_eq(vc_ccid_fault_parse(vc_ccid_fault_name((enum vc_ccid_fault)k)), k);
	cr_assert_eq(vc_ccid_fault_parse("melt"), -1);
}

Test(ccid_sim, flip_changes_one_bit_of_a_t1_block)
{
	start_level(CCID_LEVEL_TPDU, IFD_PROTOCOL_T1);
	power_on(0);
	uint8_t sel[16], blk[T1_MAX_BLOCK], first[T1_MAX_BLOCK];
	size_t n = hex(SELECT_DIAG, sel, sizeof(sel));
	size_t blen = t1_block_build(0, 0, sel, n, IFD_T1_EDC_LRC, blk);
	struct ccid_msg m = xfr(0, 0, blk, blen);
	expect_ok(&m, RDR_TO_PC_DATA_BLOCK, CCID_ICC_ACTIVE);
	size_t first_len = m.len;
	memcpy(first, m.data, m.len);

	/* An R-block saying the card's block 0 arrived damaged: the card
	 * resends it, this time with one bit flipped on the wire. */
	vc_ccid_sim_arm_fault(sim, VC_CCID_FAULT_FLIP, 1);
	blen = t1_block_build(0, T1_R_BLOCK | T1_R_EDC_ERROR, NULL, 0, IFD_T1_EDC_LRC, blk);
	m = xfr(0, 0, blk, blen);
	expect_ok(&m, RDR_TO_PC_DATA_BLOCK, CCID_ICC_ACTIVE);
	cr_assert_eq(m.len, first_len);
	unsigned bits = 0;
	for (size_t i = 0; i < m.len; i++)
		bits += (unsigned)__builtin_popcount(m.data[i] ^ first[i]);
	cr_assert_eq(bits, 1, "exactly one bit differs");
	struct t1_block b;
	cr_assert_neq(t1_block_parse(m.data, m.len, IFD_T1_EDC_LRC, &b), 0, "LRC catches it");
}

/* ---- errors a real reader reports ---- */

Test(ccid_sim, wrong_slot)
{
	start_level(CCID_LEVEL_TPDU, IFD_PROTOCOL_T1);
	struct ccid_msg m = slot_status(1);
	expect_fail(&m, RDR_TO_PC_SLOT_STATUS, CCID_ICC_ABSENT, 5);
	m = power_on_select(3, CCID_POWER_AUTO);
	expect_fail(&m, RDR_TO_PC_DATA_BLOCK, CCID_ICC_ABSENT, 5);
	uint8_t d[5] = { 0 };
	m = xfr(200, 0, d, sizeof(d));
	expect_fail(&m, RDR_TO_PC_DATA_BLOCK, CCID_ICC_ABSENT, 5);
	cr_assert_eq(m.slot, 200);
}

Test(ccid_sim, unsupported_commands)
{
	start_level(CCID_LEVEL_TPDU, IFD_PROTOCOL_T1);
	static const struct {
		uint8_t type, answer;
	} cases[] = {
		{ 0x99, RDR_TO_PC_SLOT_STATUS },
		{ PC_TO_RDR_ICC_CLOCK, RDR_TO_PC_SLOT_STATUS },
		{ PC_TO_RDR_T0_APDU, RDR_TO_PC_SLOT_STATUS },
		{ PC_TO_RDR_MECHANICAL, RDR_TO_PC_SLOT_STATUS },
		{ PC_TO_RDR_SECURE, RDR_TO_PC_DATA_BLOCK },
		{ PC_TO_RDR_SET_DATA_RATE, RDR_TO_PC_DATA_RATE },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = ccid_build_response(cases[i].type, 0, seq++, 0, 0, 0, NULL, 0, msg,
					       sizeof(msg));
		struct ccid_msg m = exchange(msg, n);
		expect_fail(&m, cases[i].answer, CCID_ICC_INACTIVE, CCID_ERR_CMD_NOT_SUPPORTED);
	}
}

Test(ccid_sim, escape_answers_the_firmware_version)
{
	start_level(CCID_LEVEL_TPDU, IFD_PROTOCOL_T1);
	size_t n = ccid_build_escape(0, seq++, (const uint8_t *)"\x01\x02", 2, msg, sizeof(msg));
	struct ccid_msg m = exchange(msg, n);
	expect_ok(&m, RDR_TO_PC_ESCAPE, CCID_ICC_INACTIVE);
	cr_assert_eq(m.len, strlen("ecard-ccid-sim 1"));
	cr_assert_eq(memcmp(m.data, "ecard-ccid-sim 1", m.len), 0);
}

Test(ccid_sim, oversized_and_inconsistent_messages)
{
	start_level(CCID_LEVEL_SHORT_APDU, IFD_PROTOCOL_T1);
	power_on(0);
	memset(big, 0, 300);
	struct ccid_msg m = xfr(0, 0, big, 300);	/* 310 > 271 */
	expect_fail(&m, RDR_TO_PC_DATA_BLOCK, CCID_ICC_ACTIVE, 1);

	/* dwLength says 20, the transfer holds 5. */
	size_t n = ccid_build_xfr_block(0, seq++, 0, 0, big, 20, msg, sizeof(msg));
	m = exchange(msg, n - 15);
	expect_fail(&m, RDR_TO_PC_DATA_BLOCK, CCID_ICC_ACTIVE, 1);
	cr_assert_eq(sim->stats.malformed, 1);

	/* Fewer than 10 bytes: nothing to answer to. */
	vc_ccid_sim_handle(sim, msg, 9, out);
	cr_assert_eq(out->count, 0);

	/* A command that carries no data, with data. */
	n = ccid_build_response(PC_TO_RDR_GET_SLOT_STATUS, 0, seq++, 0, 0, 0, big, 3, msg,
				sizeof(msg));
	m = exchange(msg, n);
	expect_fail(&m, RDR_TO_PC_SLOT_STATUS, CCID_ICC_ACTIVE, 1);
}

Test(ccid_sim, xfr_block_without_an_active_card)
{
	uint8_t note[8];
	size_t n;
	start_level(CCID_LEVEL_SHORT_APDU, IFD_PROTOCOL_T1);
	uint8_t nop[4] = { 0x80, 0x00, 0x00, 0x00 };

	struct ccid_msg m = xfr(0, 0, nop, 4);
	expect_fail(&m, RDR_TO_PC_DATA_BLOCK, CCID_ICC_INACTIVE, CCID_ERR_HW_ERROR);
	cr_assert_eq(vc_ccid_sim_remove(sim, 0, note, sizeof(note), &n), VC_OK);
	m = xfr(0, 0, nop, 4);
	expect_fail(&m, RDR_TO_PC_DATA_BLOCK, CCID_ICC_ABSENT, CCID_ERR_ICC_MUTE);
}

static void power_loss_at(enum ccid_level level)
{
	struct vc_ccid_config cfg;
	config(&cfg, level, IFD_PROTOCOL_T1);
	start_ex(&cfg, 1, true);
	power_on(0);

	uint8_t sel[16], inc[5] = { 0x80, 0x20, 0x00, 0x00, 0x04 }, blk[T1_MAX_BLOCK];
	size_t n = hex(SELECT_DIAG, sel, sizeof(sel));
	struct ccid_msg m;
	if (level == CCID_LEVEL_TPDU) {
		size_t blen = t1_block_build(0, 0, sel, n, IFD_T1_EDC_LRC, blk);
		m = xfr(0, 0, blk, blen);
	} else {
		m = xfr(0, 0, sel, n);
	}
	expect_ok(&m, RDR_TO_PC_DATA_BLOCK, CCID_ICC_ACTIVE);

	struct vc_tear_plan plan = { .tear_at = 1, .partial = 0 };
	vc_tear_arm(torn_storage, &plan);
	if (level == CCID_LEVEL_TPDU) {
		size_t blen = t1_block_build(0, T1_I_NS, inc, sizeof(inc), IFD_T1_EDC_LRC, blk);
		m = xfr(0, 0, blk, blen);
	} else {
		m = xfr(0, 0, inc, sizeof(inc));
	}
	expect_fail(&m, RDR_TO_PC_DATA_BLOCK, CCID_ICC_INACTIVE, CCID_ERR_ICC_MUTE);
	cr_assert_eq(sim->stats.power_losses, 1);
	m = slot_status(0);
	expect_ok(&m, RDR_TO_PC_SLOT_STATUS, CCID_ICC_INACTIVE);
	m = xfr(0, 0, sel, n);
	expect_fail(&m, RDR_TO_PC_DATA_BLOCK, CCID_ICC_INACTIVE, CCID_ERR_HW_ERROR);

	/* Power comes back: recovery, then a working card. */
	power_on(0);
	if (level == CCID_LEVEL_TPDU) {
		size_t blen = t1_block_build(0, 0, sel, n, IFD_T1_EDC_LRC, blk);
		m = xfr(0, 0, blk, blen);
		cr_assert_eq(load_be16(m.data + 3), 0x9000);
	} else {
		m = xfr(0, 0, sel, n);
		cr_assert_eq(sw_of(&m), 0x9000);
	}
}

Test(ccid_sim, power_loss_short_apdu)
{
	power_loss_at(CCID_LEVEL_SHORT_APDU);
}

Test(ccid_sim, power_loss_t1)
{
	power_loss_at(CCID_LEVEL_TPDU);
}

/* ---- abort (CCID §5.3.1) ---- */

Test(ccid_sim, abort_in_either_order)
{
	start_level(CCID_LEVEL_SHORT_APDU, IFD_PROTOCOL_T1);
	power_on(0);

	/* Control request first: other commands fail until the bulk Abort. */
	vc_ccid_sim_abort_request(sim, 0, 0x40, out);
	cr_assert_eq(out->count, 0);
	struct ccid_msg m = slot_status(0);
	expect_fail(&m, RDR_TO_PC_SLOT_STATUS, CCID_ICC_ACTIVE, CCID_ERR_CMD_ABORTED);
	size_t n = ccid_build_abort(0, 0x40, msg, sizeof(msg));
	m = exchange(msg, n);
	expect_ok(&m, RDR_TO_PC_SLOT_STATUS, CCID_ICC_ACTIVE);
	cr_assert_eq(m.seq, 0x40);
	m = slot_status(0);
	expect_ok(&m, RDR_TO_PC_SLOT_STATUS, CCID_ICC_ACTIVE);

	/* Bulk Abort first: its answer comes with the control request. */
	n = ccid_build_abort(0, 0x41, msg, sizeof(msg));
	vc_ccid_sim_handle(sim, msg, n, out);
	cr_assert_eq(out->count, 0);
	vc_ccid_sim_abort_request(sim, 0, 0x41, out);
	cr_assert_eq(out->count, 1);
	cr_assert_eq(ccid_msg_decode(vc_ccid_out_msg(out, 0), out->len[0], &m), 0);
	expect_ok(&m, RDR_TO_PC_SLOT_STATUS, CCID_ICC_ACTIVE);
	cr_assert_eq(m.seq, 0x41);

	/* A control request for a slot that does not exist changes nothing. */
	vc_ccid_sim_abort_request(sim, 3, 0x42, out);
	cr_assert_eq(out->count, 0);
	expect_sw(SELECT_DIAG, 0x9000);
}

Test(ccid_sim, abort_ends_a_command_chain)
{
	struct vc_ccid_config cfg;
	config(&cfg, CCID_LEVEL_EXTENDED_APDU, IFD_PROTOCOL_T1);
	cfg.max_message_length = 64;
	start(&cfg, 1);
	power_on(0);
	uint8_t part[4] = { 0x80, 0x10, 0x00, 0x00 };
	struct ccid_msg m = xfr(0, CCID_CHAIN_BEGIN, part, 4);
	expect_ok(&m, RDR_TO_PC_DATA_BLOCK, CCID_ICC_ACTIVE);

	vc_ccid_sim_abort_request(sim, 0, 7, out);
	size_t n = ccid_build_abort(0, 7, msg, sizeof(msg));
	m = exchange(msg, n);
	expect_ok(&m, RDR_TO_PC_SLOT_STATUS, CCID_ICC_ACTIVE);
	m = xfr(0, CCID_CHAIN_END, part, 4);
	expect_fail(&m, RDR_TO_PC_DATA_BLOCK, CCID_ICC_ACTIVE, 8);
}

/* ---- insertion, removal, interrupts ---- */

static void expect_slot(const uint8_t *note, size_t len, unsigned slot, bool present,
			bool changed)
{
	bool p, c;
	cr_assert_eq(ccid_notify_slot(note, len, slot, &p, &c), 0);
	cr_assert_eq(p, present, "slot %u present %d", slot, p);
	cr_assert_eq(c, changed, "slot %u changed %d", slot, c);
}

Test(ccid_sim, insert_remove_notify)
{
	struct vc_ccid_config cfg;
	uint8_t note[8];
	size_t n;
	config(&cfg, CCID_LEVEL_TPDU, IFD_PROTOCOL_T1);
	cfg.slots = 3;
	start(&cfg, 2);

	n = vc_ccid_sim_notify(sim, note, sizeof(note));
	cr_assert_eq(n, 2);
	cr_assert_eq(note[0], RDR_TO_PC_NOTIFY_SLOT_CHANGE);
	expect_slot(note, n, 0, true, true);
	expect_slot(note, n, 1, true, true);
	expect_slot(note, n, 2, false, false);

	power_on(1);
	cr_assert_eq(vc_ccid_sim_remove(sim, 1, note, sizeof(note), &n), VC_OK);
	cr_assert_eq(n, 2);
	expect_slot(note, n, 0, true, false);
	expect_slot(note, n, 1, false, true);
	struct ccid_msg m = slot_status(1);
	expect_ok(&m, RDR_TO_PC_SLOT_STATUS, CCID_ICC_ABSENT);
	cr_assert_eq(vc_ccid_sim_remove(sim, 1, note, sizeof(note), &n), VC_OK);
	cr_assert_eq(n, 0, "no change, no interrupt");

	cr_assert_eq(vc_ccid_sim_insert(sim, 1, note, sizeof(note), &n), VC_OK);
	expect_slot(note, n, 1, true, true);
	m = slot_status(1);
	expect_ok(&m, RDR_TO_PC_SLOT_STATUS, CCID_ICC_INACTIVE);

	cr_assert_eq(vc_ccid_sim_insert(sim, 2, note, sizeof(note), &n), VC_ERR_NOT_FOUND);
	cr_assert_eq(vc_ccid_sim_insert(sim, 3, note, sizeof(note), &n), VC_ERR_ARG);
	struct vc_storage *spare = new_card(false);
	cr_assert_eq(vc_ccid_sim_attach(sim, 1, spare, ecard_applets, ecard_applet_count),
		     VC_ERR_EXISTS);
	vc_storage_destroy(spare);	/* refused: still ours */
}

Test(ccid_sim, unusable_image)
{
	struct vc_ccid_config cfg;
	struct vc_storage *blank;
	config(&cfg, CCID_LEVEL_SHORT_APDU, IFD_PROTOCOL_T1);
	start(&cfg, 0);
	cr_assert_eq(vc_storage_mem_create(IMAGE_SIZE, &blank), VC_OK);
	cr_assert_eq(vc_ccid_sim_attach(sim, 0, blank, ecard_applets, ecard_applet_count), VC_OK);

	struct ccid_msg m = power_on_select(0, CCID_POWER_AUTO);
	expect_fail(&m, RDR_TO_PC_DATA_BLOCK, CCID_ICC_INACTIVE, CCID_ERR_HW_ERROR);
}

Test(ccid_sim, unplug_deactivates_the_cards)
{
	start_level(CCID_LEVEL_TPDU, IFD_PROTOCOL_T1);
	power_on(0);
	vc_ccid_sim_unplug(sim);
	struct ccid_msg m = slot_status(0);
	expect_ok(&m, RDR_TO_PC_SLOT_STATUS, CCID_ICC_INACTIVE);
	power_on(0);
}

/* ---- garbage in: never a crash, always a well-formed answer ---- */

static uint64_t test_rng = 42;

static uint32_t rnd(uint32_t bound)
{
	test_rng ^= test_rng << 13;
	test_rng ^= test_rng >> 7;
	test_rng ^= test_rng << 17;
	return (uint32_t)(test_rng % bound);
}

static void garbage_run(enum ccid_level level, unsigned protocols, unsigned rounds)
{
	static const uint8_t types[] = {
		PC_TO_RDR_SET_PARAMETERS, PC_TO_RDR_ICC_POWER_ON, PC_TO_RDR_ICC_POWER_OFF,
		PC_TO_RDR_GET_SLOT_STATUS, PC_TO_RDR_SECURE, PC_TO_RDR_T0_APDU, PC_TO_RDR_ESCAPE,
		PC_TO_RDR_GET_PARAMETERS, PC_TO_RDR_RESET_PARAMETERS, PC_TO_RDR_ICC_CLOCK,
		PC_TO_RDR_XFR_BLOCK, PC_TO_RDR_XFR_BLOCK, PC_TO_RDR_XFR_BLOCK,
		PC_TO_RDR_MECHANICAL, PC_TO_RDR_ABORT, PC_TO_RDR_SET_DATA_RATE,
	};
	struct vc_ccid_config cfg;
	config(&cfg, level, protocols);
	cfg.slots = 2;
	if (level == CCID_LEVEL_EXTENDED_APDU)
		cfg.max_message_length = 40;
	start(&cfg, 1);

	for (unsigned i = 0; i < rounds; i++) {
		size_t len;
		uint8_t *m = big;
		unsigned shape = rnd(8);
		if (shape == 0) {
			/* Raw bytes. */
			len = rnd(40);
			for (size_t k = 0; k < len; k++)
				m[k] = (uint8_t)rnd(256);
		} else {
			/* A plausible header with random fields and payload,
			 * the card powered most of the time. */
			size_t data = rnd(4) == 0 ? rnd(300) : rnd(12);
			uint8_t type = types[rnd(sizeof(types))];
			if (shape == 1)
				type = PC_TO_RDR_ICC_POWER_ON;
			for (size_t k = 0; k < data; k++)
				gathered[k] = (uint8_t)rnd(256);
			len = ccid_build_response(type, (uint8_t)(rnd(5) ? 0 : rnd(3)),
						  (uint8_t)rnd(256), (uint8_t)rnd(shape == 1 ? 4 : 256),
						  (uint8_t)(rnd(3) ? 0 : rnd(256)),
						  (uint8_t)(rnd(3) ? 0 : rnd(256)), gathered, data, m,
						  sizeof(big));
			if (rnd(10) == 0)
				len = rnd((uint32_t)len + 1);	/* cut anywhere */
		}
		if (rnd(50) == 0)
			vc_ccid_sim_abort_request(sim, (uint8_t)rnd(3), (uint8_t)rnd(256), out);
		vc_ccid_sim_handle(sim, m, len, out);
		cr_assert_leq(out->count, VC_CCID_OUT_MSGS);
		for (unsigned k = 0; k < out->count; k++) {
			struct ccid_msg a;
			cr_assert_eq(ccid_msg_decode(vc_ccid_out_msg(out, k), out->len[k], &a), 0,
				     "round %u: answer %u is not a message", i, k);
			cr_assert(ccid_is_rdr_to_pc(a.type), "round %u: type %02X", i, a.type);
		}
	}
}

Test(ccid_sim, garbage_tpdu_t1, .timeout = 120)
{
	garbage_run(CCID_LEVEL_TPDU, IFD_PROTOCOL_T1, 4000);
}

Test(ccid_sim, garbage_tpdu_t0, .timeout = 120)
{
	garbage_run(CCID_LEVEL_TPDU, IFD_PROTOCOL_T0 | IFD_PROTOCOL_T1, 4000);
}

Test(ccid_sim, garbage_short_apdu, .timeout = 120)
{
	garbage_run(CCID_LEVEL_SHORT_APDU, IFD_PROTOCOL_T1, 4000);
}

Test(ccid_sim, garbage_extended_apdu, .timeout = 120)
{
	garbage_run(CCID_LEVEL_EXTENDED_APDU, IFD_PROTOCOL_T1, 4000);
}
