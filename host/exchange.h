/*
 * exchange.h - one command to the card, its answer taken apart: the data
 * into the caller's buffer (checked against its size), the status word
 * apart, and every failure turned into one sentence in struct ec_error.
 * The wallet, PIN, profile, merchant and GlobalPlatform clients all send
 * through these, in clear (over ec_transmit) or in a GlobalPlatform secure
 * channel (over ec_gp_transmit).
 *
 * The *_exchange functions succeed whatever the status word, which is the
 * caller's to judge; the *_command ones also want 9000 and give EC_ERR_CARD
 * with the status word and its meaning otherwise. name names the command
 * in messages ("GET PURSE DATA"). data may be NULL when the answer's data
 * does not matter (it is then discarded); an answer longer than cap is
 * EC_ERR_FORMAT. Answers are wiped from the intermediate buffers.
 */
#ifndef ECARD_EXCHANGE_H
#define ECARD_EXCHANGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gp_session.h"
#include "pcsc.h"

/* The longest answer taken through these functions: a GET STATUS of a full
 * card is a few KiB; every applet answer fits a short response. */
#define EC_EXCHANGE_RESP_MAX 4096

enum ec_status ec_exchange(struct ec_pcsc *pc, const char *name, const uint8_t *cmd,
			   size_t cmd_len, uint8_t *data, size_t cap, size_t *data_len,
			   uint16_t *sw, struct ec_error *err);
enum ec_status ec_command(struct ec_pcsc *pc, const char *name, const uint8_t *cmd,
			  size_t cmd_len, uint8_t *data, size_t cap, size_t *data_len,
			  struct ec_error *err);

/*
 * The same through the open secure channel s. A failed exchange or R-MAC
 * closes the session (gp_session.h); a transport failure is described as
 * one of name.
 */
enum ec_status ec_gp_exchange(struct ec_gp_session *s, const char *name, const uint8_t *cmd,
			      size_t cmd_len, uint8_t *data, size_t cap, size_t *data_len,
			      uint16_t *sw, struct ec_error *err);
enum ec_status ec_gp_command(struct ec_gp_session *s, const char *name, const uint8_t *cmd,
			     size_t cmd_len, uint8_t *data, size_t cap, size_t *data_len,
			     struct ec_error *err);

/*
 * Whether st is a failure of the link rather than of the card or the
 * channel (PC/SC, no connection, an answer cut short or too long): after
 * one, the card may or may not have run the command.
 */
bool ec_is_link_failure(enum ec_status st);

/*
 * SELECT by AID (00 A4 04 00, the class byte of logical channel 0-19) in
 * clear; aid_len 0 selects the default application. With fci the command
 * ends with Le 00 and the application's FCI is taken (and discarded). *sw
 * gets the status word, as with ec_exchange.
 */
enum ec_status ec_select(struct ec_pcsc *pc, uint8_t channel, const uint8_t *aid,
			 size_t aid_len, bool fci, const char *name, uint16_t *sw,
			 struct ec_error *err);

/*
 * SELECT one of ecard's applications on the basic channel, as its clients
 * do before their commands; what names it in messages ("wallet"). A card
 * without it (6A82) gets a sentence that says which card to use; any other
 * status word but 9000 is EC_ERR_CARD.
 */
enum ec_status ec_select_app(struct ec_pcsc *pc, const uint8_t *aid, size_t aid_len,
			     const char *what, struct ec_error *err);

#endif
