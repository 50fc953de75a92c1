/*
 * apdu_trace.c - the trace line of an exchange, secrets hidden (see
 * apdu_trace.h).
 */
#include "apdu_trace.h"

#include <stdio.h>

#include "gp_proto.h"
#include "iso7816.h"
#include "log.h"
#include "profile_proto.h"
#include "wallet_proto.h"

static const struct {
	uint8_t ins;
	const char *marker;
} secret_data[] = {
	{ ISO_INS_VERIFY, " [PIN data hidden]" },
	{ ISO_INS_CHANGE_REFERENCE_DATA, " [PIN data hidden]" },
	{ ISO_INS_RESET_RETRY_COUNTER, " [PIN data hidden]" },
	{ PROFILE_INS_PUT_FIELD, " [field data hidden]" },
	{ GP_INS_STORE_DATA, " [personalization data hidden]" },
	{ WALLET_INS_STORE_DATA, " [personalization data hidden]" },
	{ PROFILE_INS_STORE_DATA, " [personalization data hidden]" },
	{ GP_INS_PUT_KEY, " [key data hidden]" },
};

const char *apdu_trace_line(const uint8_t *cmd, size_t cmd_len, const uint8_t *rsp,
			    size_t rsp_len, char *out, size_t cap)
{
	char hin[80], hout[80];
	size_t shown = cmd_len, answer = rsp ? rsp_len : 0;
	const char *cmd_marker = "", *rsp_marker = "";

	for (size_t i = 0; i < sizeof(secret_data) / sizeof(secret_data[0]); i++) {
		if (cmd_len > 4 && cmd[1] == secret_data[i].ins) {
			shown = 4;
			cmd_marker = secret_data[i].marker;
			break;
		}
	}
	if (cmd_len >= 4 && answer > 2) {
		if (cmd[1] == PROFILE_INS_GET_FIELD && cmd[2] == PROFILE_FIELD_P1)
			rsp_marker = "[personal data hidden] ";
		else if (cmd[1] == ISO_INS_GET_RESPONSE)
			rsp_marker = "[continued data hidden] ";
		if (*rsp_marker)
			answer = 2;	/* the status word alone */
	}
	log_hex(hin, sizeof(hin), cmd, shown);
	log_hex(hout, sizeof(hout), answer ? rsp + rsp_len - answer : rsp, answer);
	snprintf(out, cap, "C: %s%s  R: %s%s", hin, cmd_marker, rsp_marker,
		 answer ? hout : "(none)");
	return out;
}
