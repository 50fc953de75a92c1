/*
 * main.c - ecard-netfault: the fault-making TCP proxy (netfault.h) as a
 * program, with a control socket, and `ecard-netfault ctl PATH COMMAND`.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "control.h"
#include "daemon.h"
#include "log.h"
#include "netfault.h"
#include "port_file.h"

#define PROGRAM "ecard-netfault"

enum {
	OPT_LISTEN = DAEMON_OPT_OWN,
	OPT_CONNECT,
	OPT_CONTROL,
	OPT_PORT_FILE,
	OPT_DELAY_UP,
	OPT_DELAY_DOWN,
	OPT_JITTER,
	OPT_RATE_UP,
	OPT_RATE_DOWN,
	OPT_CUT,
	OPT_BLACKHOLE,
	OPT_TRUNCATE,
};

static void usage(FILE *out)
{
	fputs("Usage: ecard-netfault --listen ADDR:PORT --connect ADDR:PORT [--control PATH]\n"
	      "                      [--port-file FILE] [--delay-up MS] [--delay-down MS] [--jitter MS]\n"
	      "                      [--rate-up B/S] [--rate-down B/S] [--cut 'N KIND [BYTES]']\n"
	      "                      [--blackhole] [--truncate BYTES] [-v] [--log-level LEVEL]\n"
	      "       ecard-netfault ctl PATH COMMAND [ARGS]\n"
	      "\n"
	      "A TCP proxy that makes network faults on purpose, for testing SERAM agents\n"
	      "and servers (ecard agent, ecard-server) and anything else over TCP. It\n"
	      "listens on --listen and passes each connection on to --connect; both must\n"
	      "be loopback addresses (127.0.0.0/8 or [::1]). Port 0 picks a free port,\n"
	      "written to --port-file.\n"
	      "\n"
	      "  --delay-up MS, --delay-down MS   delay each chunk client->server, server->client\n"
	      "  --jitter MS                      plus a random 0..MS\n"
	      "  --rate-up B/S, --rate-down B/S   bandwidth per direction\n"
	      "  --cut 'N KIND [BYTES]'           cut the connection of the N-th request; KIND is\n"
	      "                                   request (before it), request-mid (after BYTES of it),\n"
	      "                                   answer (before its answer), answer-mid (after BYTES)\n"
	      "  --blackhole                      swallow everything\n"
	      "  --truncate BYTES                 cut every answer after BYTES\n"
	      "  -v, --log-level LEVEL            more or less on standard error\n"
	      "  --help, --version                this text; the version\n"
	      "\n"
	      "Control commands (ecard-netfault ctl PATH COMMAND): status, delay up|down MS,\n"
	      "jitter MS, rate up|down B/S, cut N KIND [BYTES], cut-byte up|down N,\n"
	      "blackhole on|off, truncate BYTES|off, reset, clear. Requests are counted as\n"
	      "HTTP/1.1 without pipelining runs them, from 1 over the proxy's life.\n",
	      out);
}

static const struct daemon_program program = { PROGRAM, PACKAGE_VERSION, usage };

static void on_control(void *arg, const char *line, char *reply, size_t reply_len)
{
	nf_command(arg, line, reply, reply_len);
}

static int apply(struct netfault *nf, const char *cmd)
{
	char reply[CONTROL_LINE_MAX];
	nf_command(nf, cmd, reply, sizeof(reply));
	if (strncmp(reply, "ok", 2) != 0)
		return daemon_fail(PROGRAM, "%s", reply + 6);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, OPT_LISTEN },
		{ "connect", required_argument, NULL, OPT_CONNECT },
		{ "control", required_argument, NULL, OPT_CONTROL },
		{ "port-file", required_argument, NULL, OPT_PORT_FILE },
		{ "delay-up", required_argument, NULL, OPT_DELAY_UP },
		{ "delay-down", required_argument, NULL, OPT_DELAY_DOWN },
		{ "jitter", required_argument, NULL, OPT_JITTER },
		{ "rate-up", required_argument, NULL, OPT_RATE_UP },
		{ "rate-down", required_argument, NULL, OPT_RATE_DOWN },
		{ "cut", required_argument, NULL, OPT_CUT },
		{ "blackhole", no_argument, NULL, OPT_BLACKHOLE },
		{ "truncate", required_argument, NULL, OPT_TRUNCATE },
		DAEMON_LONG_OPTIONS,
		{ NULL, 0, NULL, 0 },
	};
	const char *listen_text = NULL, *connect_text = NULL, *control_path = NULL,
		   *port_file = NULL;
	char commands[12][CONTROL_LINE_MAX];
	size_t ncommands = 0;
	int level = LOG_INFO, c;

	if (argc >= 2 && strcmp(argv[1], "ctl") == 0) {
		if (argc >= 3 && (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0)) {
			puts("Usage: ecard-netfault ctl PATH COMMAND [ARGS]\n"
			     "Send one command to a running ecard-netfault's control socket and print its\n"
			     "answer. Exit status 0 done, 1 refused, 2 not understood (usage).");
			return 0;
		}
		return control_cli(PROGRAM, argc - 1, argv + 1);
	}
	/* Fault options are control commands given at the start. */
	static const struct {
		int opt;
		const char *command;
	} as_command[] = {
		{ OPT_DELAY_UP, "delay up" }, { OPT_DELAY_DOWN, "delay down" },
		{ OPT_JITTER, "jitter" }, { OPT_RATE_UP, "rate up" },
		{ OPT_RATE_DOWN, "rate down" }, { OPT_CUT, "cut" },
		{ OPT_BLACKHOLE, "blackhole" }, { OPT_TRUNCATE, "truncate" },
	};
	while ((c = daemon_getopt(&program, argc, argv, longopts, &level)) >= DAEMON_OPT_OWN) {
		switch (c) {
		case OPT_LISTEN: listen_text = optarg; continue;
		case OPT_CONNECT: connect_text = optarg; continue;
		case OPT_CONTROL: control_path = optarg; continue;
		case OPT_PORT_FILE: port_file = optarg; continue;
		}
		for (size_t i = 0; i < sizeof(as_command) / sizeof(as_command[0]); i++)
			if (as_command[i].opt == c && ncommands < sizeof(commands) / sizeof(commands[0]))
				snprintf(commands[ncommands++], CONTROL_LINE_MAX, "%s %s",
					 as_command[i].command, c == OPT_BLACKHOLE ? "on" : optarg);
	}
	if (c != DAEMON_GO_ON)
		return c;
	struct sockaddr_storage la, ua;
	socklen_t ll, ul;
	if (!listen_text || !connect_text)
		return daemon_fail(PROGRAM, "give --listen ADDR:PORT and --connect ADDR:PORT.");
	if (!nf_parse_loopback(listen_text, &la, &ll))
		return daemon_fail(PROGRAM, "--listen %s is not a loopback ADDR:PORT (127.0.0.1:PORT or [::1]:PORT).",
				   listen_text);
	if (!nf_parse_loopback(connect_text, &ua, &ul))
		return daemon_fail(PROGRAM, "--connect %s is not a loopback ADDR:PORT: this proxy stays on loopback.",
				   connect_text);
	struct netfault nf;
	if (nf_open(&nf, &la, ll, &ua, ul) != 0)
		return daemon_fail(PROGRAM, "cannot listen on %s: %s.", listen_text, strerror(errno));
	for (size_t i = 0; i < ncommands; i++)
		if (apply(&nf, commands[i]) != 0) {
			nf_close(&nf);
			return DAEMON_EXIT_FAILURE;
		}
	struct control ctl;
	control_init(&ctl);
	if (control_path && control_open(&ctl, control_path) != 0) {
		nf_close(&nf);
		return daemon_fail(PROGRAM, "cannot open the control socket %s: %s.", control_path,
				   strerror(errno));
	}
	struct daemon_stop stop;
	if (daemon_stop_open(&stop) != 0) {
		nf_close(&nf);
		control_close(&ctl);
		return daemon_fail(PROGRAM, "cannot watch the stop signals: %s.", strerror(errno));
	}
	if (port_file) {
		if (port_file_write(port_file, nf_port(&nf)) != 0) {
			nf_close(&nf);
			control_close(&ctl);
			daemon_stop_close(&stop);
			return daemon_fail(PROGRAM, "%s could not be written.", port_file);
		}
	}
	if (level >= LOG_INFO)
		fprintf(stderr, "%s: port %u -> %s\n", PROGRAM, (unsigned)nf_port(&nf), connect_text);
	static struct pollfd fds[2 * NF_CONNECTIONS_MAX + CONTROL_MAX_CLIENTS + 4];
	int status = 0;
	while (!stop.signal) {
		int timeout, n = nf_fill_pollfds(&nf, fds, 2 * NF_CONNECTIONS_MAX + 1, &timeout);
		int m = control_fill_pollfds(&ctl, fds + n, CONTROL_MAX_CLIENTS + 1);
		int rc = daemon_poll(&stop, fds, n + m, timeout);
		if (rc < 0 && errno != EINTR) {
			status = daemon_fail(PROGRAM, "poll failed: %s.", strerror(errno));
			break;
		}
		nf_service(&nf, fds, n);
		control_service(&ctl, fds + n, m, on_control, &nf);
	}
	nf_close(&nf);
	control_close(&ctl);
	daemon_stop_close(&stop);
	return status;
}
