/*
 * ota_fixture.h - the over-the-air tests' world: ecard-server's HTTP side
 * on loopback with an SQLite store in the test's temporary directory, and
 * a card in memory whose storage tears on demand, for `ecard agent`
 * (host/agent.h) to relay between them in the same process. Failures fail
 * the test.
 */
#ifndef ECARD_TEST_OTA_FIXTURE_H
#define ECARD_TEST_OTA_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent.h"
#include "db.h"
#include "host_fixture.h"
#include "http.h"
#include "issuer.h"
#include "ota.h"
#include "store.h"

/* The test CAP file's package, applet module and instance. */
extern const uint8_t pkg[6], module[7], instance[8];

extern struct ts_card card;	/* its storage tears on demand */
extern struct http_server *srv;
extern struct store *db;	/* the server's store, opened by the test too */
extern char db_url[600], base[64], card_id[32];
extern char cap_path[512];	/* make_cap() writes it */
extern size_t loads_at_card;	/* LOAD commands that reached the card */
extern bool no_df70;		/* play a card that does not know GET DATA DF70 */
/* Set with_issuer before start() for a server with the keys of a fresh
 * issuer, in issuer (the test wipes it). */
extern struct ec_issuer issuer;
extern bool with_issuer;

/* A new card, store and server taking orders of up to batch_bytes of
 * APDUs (0: the server's default); stop() ends them. */
void start(size_t batch_bytes);
void stop(void);

/* A CAP file of about size bytes at cap_path, and a job to load it. */
void make_cap(size_t size);
long long queue_load(uint8_t level, bool install);

void agent_options(struct ec_agent_options *opt);
/* The job's record (db_job_free() it). */
void job(long long id, struct db_job *j);
void assert_selectable(const uint8_t *aid, size_t len);

/* A link cut (ec_agent_options.cut) at exchange `at`, before the request
 * reaches the server (answered false) or after it answered (true); once,
 * or for every exchange from then on. */
struct cut_plan {
	size_t at;
	bool answered;
	bool done;
	bool from_then_on;
};
bool cut_once(void *arg, size_t exchange, bool answered);

/* The agent's way back after a tear: power the card up again (recovery
 * runs), as a reader does when the card comes back. */
enum ec_status power_cycle(void *arg, struct ec_pcsc *pc);

/* Every byte the agent relays, both ways (ec_agent_options.tap). */
struct recording {
	uint8_t *bytes;
	size_t len;
};
void record(void *arg, bool command, uint8_t *apdu, size_t *len, size_t cap);
bool seen(const struct recording *r, const uint8_t *key, size_t len);

#endif
