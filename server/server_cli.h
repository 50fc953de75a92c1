/*
 * server_cli.h - what the commands of ecard-server share (main.c): one
 * way to fail, to complain about usage, and to open the database.
 */
#ifndef ECARD_SERVER_CLI_H
#define ECARD_SERVER_CLI_H

#include "error.h"
#include "store.h"

/* Print err and return code. */
int fail(const struct ec_error *err, int code);
/* Print text and the usage; return 2. */
int usage_error(const char *text, const char *usage);
/* Open the database at url (NULL: the environment's) and migrate it; 0 or
 * the exit status. */
int open_db(const char *url, struct store **st);

/* The issuer centre's commands (cli_centre.c). */
int cmd_card(int argc, char **argv);
int cmd_merchant(int argc, char **argv);
int cmd_settle(int argc, char **argv);
int cmd_fraud(int argc, char **argv);
int cmd_holder(int argc, char **argv);

#endif
