/*
 * test_t0_card.c - the card's side of T=0 at TPDU level
 * (vcard/t0_card.c) against a scripted card: wrong Le answered 6Cxx
 * with the answer kept, so the repeated command runs once; case 4 answered
 * 61xx with the data waiting for GET RESPONSE, in pieces; a card that says
 * 61xx gathered into one answer; malformed TPDUs left unanswered; the
 * card's failures handed back.
 */
#include <criterion/criterion.h>

#include <string.h>

#include "hex.h"
#include "t0_card.h"

/* What the card answers next, and what it was sent. */
struct script {
	uint8_t answers[4][300];
	size_t lens[4];
	size_t n, next;
	unsigned calls;
	uint8_t last_cmd[300];
	size_t last_len;
	int fail;		/* returned instead of an answer when not 0 */
};

static struct script card;
static struct vc_t0_card t0;

static int process(void *arg, const uint8_t *apdu, size_t len, const uint8_t **rsp,
		   size_t *rsp_len)
{
	struct script *s = arg;
	s->calls++;
	cr_assert_leq(len, sizeof(s->last_cmd));
	memcpy(s->last_cmd, apdu, len);
	s->last_len = len;
	if (s->fail)
		return s->fail;
	cr_assert_lt(s->next, s->n, "the card was sent more commands than scripted");
	*rsp = s->answers[s->next];
	*rsp_len = s->lens[s->next];
	s->next++;
	return 0;
}

static void setup(void)
{
	memset(&card, 0, sizeof(card));
	vc_t0_card_init(&t0, process, &card);
}

TestSuite(t0_card, .init = setup);

/* The card's next answer: len data bytes counting from first, then sw. */
static void answer(size_t len, uint8_t first, uint16_t sw)
{
	cr_assert_lt(card.n, 4);
	uint8_t *a = card.answers[card.n];
	for (size_t i = 0; i < len; i++)
		a[i] = (uint8_t)(first + i);
	a[len] = (uint8_t)(sw >> 8);
	a[len + 1] = (uint8_t)sw;
	card.lens[card.n++] = len + 2;
}

static int tpdu(const char *hex, uint8_t *rsp, size_t *rsp_len)
{
	uint8_t cmd[300];
	long n = hex_decode(hex, cmd, sizeof(cmd));
	cr_assert_geq(n, 0);
	return vc_t0_card_tpdu(&t0, cmd, (size_t)n, rsp, rsp_len);
}

static void assert_answer(const uint8_t *rsp, size_t len, size_t data, uint8_t first,
			  uint16_t sw)
{
	cr_assert_eq(len, data + 2, "answer of %zu bytes, %zu expected", len, data + 2);
	for (size_t i = 0; i < data; i++)
		cr_assert_eq(rsp[i], (uint8_t)(first + i), "byte %zu", i);
	cr_assert_eq(rsp[data], (uint8_t)(sw >> 8));
	cr_assert_eq(rsp[data + 1], (uint8_t)sw);
}

Test(t0_card, case_2_with_the_right_le)
{
	uint8_t rsp[VC_T0_RSP_MAX];
	size_t n;
	answer(4, 0x10, 0x9000);
	cr_assert_eq(tpdu("80CA000004", rsp, &n), 0);
	assert_answer(rsp, n, 4, 0x10, 0x9000);
	cr_assert_eq(card.calls, 1);
}

Test(t0_card, wrong_le_gets_6cxx_and_the_repeat_runs_nothing)
{
	uint8_t rsp[VC_T0_RSP_MAX];
	size_t n;
	answer(5, 0x20, 0x9000);
	cr_assert_eq(tpdu("8020000010", rsp, &n), 0);
	assert_answer(rsp, n, 0, 0, 0x6C05);
	cr_assert_eq(tpdu("8020000005", rsp, &n), 0, "the command again with Le 05");
	assert_answer(rsp, n, 5, 0x20, 0x9000);
	cr_assert_eq(card.calls, 1, "the card ran the command once");
	/* Another command after it runs as usual. */
	answer(0, 0, 0x9000);
	cr_assert_eq(tpdu("8020000005", rsp, &n), 0);
	cr_assert_eq(card.calls, 2, "a repeat after the kept answer is a new command");
}

Test(t0_card, case_4_data_waits_for_get_response)
{
	uint8_t rsp[VC_T0_RSP_MAX];
	size_t n;
	answer(10, 0x30, 0x9000);
	cr_assert_eq(tpdu("801000000301020304", rsp, &n), VC_T0_MUTE, "more bytes than P3 = 3");
	cr_assert_eq(card.calls, 0, "a malformed TPDU does not reach the card");
	cr_assert_eq(tpdu("8010000003010203", rsp, &n), 0);
	assert_answer(rsp, n, 0, 0, 0x610A);
	cr_assert_eq(tpdu("00C0000004", rsp, &n), 0);
	assert_answer(rsp, n, 4, 0x30, 0x6106);
	cr_assert_eq(tpdu("00C0000008", rsp, &n), 0, "more than is left");
	assert_answer(rsp, n, 0, 0, 0x6C06);
	cr_assert_eq(tpdu("00C0000006", rsp, &n), 0);
	assert_answer(rsp, n, 6, 0x34, 0x9000);
	cr_assert_eq(card.calls, 1);
}

Test(t0_card, a_card_answering_61xx_is_gathered_for_6cxx)
{
	uint8_t rsp[VC_T0_RSP_MAX];
	size_t n;
	answer(2, 0x40, 0x6103);	/* two bytes, three more to come */
	answer(3, 0x42, 0x9000);
	cr_assert_eq(tpdu("80CA000002", rsp, &n), 0);
	assert_answer(rsp, n, 0, 0, 0x6C05);
	cr_assert_eq(card.last_cmd[1], 0xC0, "the adapter asked for the rest");
	cr_assert_eq(card.last_cmd[4], 0x03);
	cr_assert_eq(tpdu("80CA000005", rsp, &n), 0);
	assert_answer(rsp, n, 5, 0x40, 0x9000);
}

Test(t0_card, malformed_tpdus_are_not_answered)
{
	uint8_t rsp[VC_T0_RSP_MAX];
	size_t n;
	cr_assert_eq(tpdu("80CA00", rsp, &n), VC_T0_MUTE, "a header cut short");
	cr_assert_eq(tpdu("80CA0000020102FF", rsp, &n), VC_T0_MUTE, "more than P3");
	cr_assert_eq(tpdu("80CA00000301", rsp, &n), VC_T0_MUTE, "fewer than P3");
	cr_assert_eq(card.calls, 0);
}

Test(t0_card, the_cards_failures_are_handed_back)
{
	uint8_t rsp[VC_T0_RSP_MAX];
	size_t n;
	card.fail = 7;
	cr_assert_eq(tpdu("80CA000004", rsp, &n), 7);
	cr_assert_eq(tpdu("8010000001AA", rsp, &n), 7);
}

Test(t0_card, a_reset_forgets_the_kept_answer)
{
	uint8_t rsp[VC_T0_RSP_MAX];
	size_t n;
	answer(5, 0x20, 0x9000);
	answer(5, 0x50, 0x9000);
	cr_assert_eq(tpdu("8020000010", rsp, &n), 0);
	assert_answer(rsp, n, 0, 0, 0x6C05);
	vc_t0_card_reset(&t0);
	cr_assert_eq(tpdu("8020000005", rsp, &n), 0);
	assert_answer(rsp, n, 5, 0x50, 0x9000);
	cr_assert_eq(card.calls, 2, "after a reset the command runs again");
}
