/*
 * host_fixture.c - an in-memory card behind libecard's transport, and a
 * fresh issuer (see host_fixture.h).
 */
#include "host_fixture.h"

#include <criterion/criterion.h>

#include "applets.h"
#include "inproc.h"
#include "test_support.h"

#define DEFAULT_SIZE (256u * 1024u)
#define EUR 978

void ts_card_open(struct ts_card *c, size_t size, const struct vc_card_options *opt)
{
	cr_assert_eq(vc_storage_mem_create(size ? size : DEFAULT_SIZE, &c->storage), VC_OK);
	cr_assert_eq(vc_card_create(c->storage, opt, ecard_applets, ecard_applet_count, NULL),
		     VC_OK);
	vc_card_init(&c->card, c->storage, NULL);
	for (size_t i = 0; i < ecard_applet_count; i++)
		cr_assert_eq(vc_card_register(&c->card, ecard_applets[i]), VC_OK);
	cr_assert_eq(vc_card_power_up(&c->card), VC_OK);
	ec_pcsc_init(&c->pc, NULL);
	vc_inproc_attach(&c->pc, &c->card);
}

void ts_card_close(struct ts_card *c)
{
	vc_card_free(&c->card);
	vc_storage_destroy(c->storage);
	c->storage = NULL;
}

struct ts_card ts_test_card;

void ts_card_init(void)
{
	ts_card_open(&ts_test_card, 0, NULL);
}

void ts_card_fini(void)
{
	ts_card_close(&ts_test_card);
}

void ts_issuer_new(const char *name, struct ec_issuer *is, char *dir, size_t cap)
{
	struct ec_error err = { 0 };
	ts_tmp_path(dir, cap, name);
	cr_assert_eq(ec_issuer_init(dir, EUR, 50000, &err), EC_OK, "%s", err.text);
	cr_assert_eq(ec_issuer_load(dir, is, &err), EC_OK, "%s", err.text);
}
