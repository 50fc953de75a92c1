/*
 * fake_card.c - a scripted card behind struct ec_pcsc (see fake_card.h).
 */
#include "fake_card.h"

#include <criterion/criterion.h>
#include <string.h>

#include "hex.h"

struct fake_card fake;
struct ec_pcsc pc;

static long fake_transmit(struct ec_pcsc *p, const uint8_t *cmd, size_t cmd_len,
			  uint8_t *resp, size_t *resp_len)
{
	struct fake_card *fc = p->raw_arg;

	cr_assert_lt(fc->n_sent, FAKE_MAX_EXCHANGES, "the fake card was called too often");
	cr_assert_leq(cmd_len, FAKE_MAX_CMD);
	memcpy(fc->sent[fc->n_sent], cmd, cmd_len);
	fc->sent_len[fc->n_sent++] = cmd_len;
	fc->last_capacity = *resp_len;

	if (fc->next >= fc->n_script) {
		cr_assert(fc->repeat_last && fc->n_script > 0,
			  "the fake card was sent more commands than scripted");
		fc->next = fc->n_script - 1;
	}
	const struct fake_answer *a = &fc->script[fc->next++];
	if (a->rv != SCARD_S_SUCCESS)
		return a->rv;
	if (a->len > *resp_len)
		return SCARD_E_INSUFFICIENT_BUFFER;
	memcpy(resp, a->bytes, a->len);
	*resp_len = a->len;
	return SCARD_S_SUCCESS;
}

void fake_card_setup(void)
{
	memset(&fake, 0, sizeof(fake));
	ec_pcsc_init(&pc, NULL);
	pc.raw_transmit = fake_transmit;
	pc.raw_arg = &fake;
}

size_t fake_unhex(const char *text, uint8_t *out, size_t cap)
{
	long n = hex_decode(text, out, cap);
	cr_assert_geq(n, 0, "bad hex in the test itself: %s", text);
	return (size_t)n;
}

/* Script an answer given in hex. */
void fake_answer(const char *hex)
{
	cr_assert_lt(fake.n_script, FAKE_MAX_SCRIPT);
	struct fake_answer *a = &fake.script[fake.n_script++];
	a->rv = SCARD_S_SUCCESS;
	a->len = fake_unhex(hex, a->bytes, sizeof(a->bytes));
}

/* Script an answer of len bytes counting up from first, then a status word. */
void fake_answer_data(size_t len, uint8_t first, uint16_t sw)
{
	cr_assert_lt(fake.n_script, FAKE_MAX_SCRIPT);
	cr_assert_leq(len + 2, FAKE_MAX_RESP);
	struct fake_answer *a = &fake.script[fake.n_script++];
	a->rv = SCARD_S_SUCCESS;
	for (size_t i = 0; i < len; i++)
		a->bytes[i] = (uint8_t)(first + i);
	a->bytes[len] = (uint8_t)(sw >> 8);
	a->bytes[len + 1] = (uint8_t)sw;
	a->len = len + 2;
}

void fake_answer_error(long rv)
{
	cr_assert_lt(fake.n_script, FAKE_MAX_SCRIPT);
	fake.script[fake.n_script++].rv = rv;
}

void fake_assert_sent(size_t index, const char *hex)
{
	uint8_t want[FAKE_MAX_CMD];
	size_t n = fake_unhex(hex, want, sizeof(want));
	cr_assert_lt(index, fake.n_sent, "command %zu was never sent", index);
	cr_assert_eq(fake.sent_len[index], n, "command %zu has %zu bytes, expected %zu",
		     index, fake.sent_len[index], n);
	cr_assert_arr_eq(fake.sent[index], want, n, "command %zu differs from %s",
			 index, hex);
}
