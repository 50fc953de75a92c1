/*
 * applets.c - the list of applet types ecard's card platform carries.
 */
#include "applets.h"

const struct vc_applet *const ecard_applets[] = { &applet_diag, &applet_wallet, &applet_profile };
const size_t ecard_applet_count = sizeof(ecard_applets) / sizeof(ecard_applets[0]);
