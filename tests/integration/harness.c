/*
 * harness.c - processes for the integration tests (see harness.h).
 */
#include "harness.h"

#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <pwd.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <winscard.h>

#include "control.h"

static struct harness *current;

/* Can a listener be bound on this TCP port of the loopback right now? */
static bool port_free(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return false;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_ANY) };
	bool ok = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

/*
 * Two free ports for vpcd's two slots, above the kernel's ephemeral range
 * (32768-60999 by default): there, a connection of an earlier test left
 * in TIME_WAIT can hold the port and pcscd would come up without reader.
 */
static int choose_port(void)
{
	int base = 61000 + (int)(getpid() % 2000) * 2;
	for (int i = 0; i < 2000; i++) {
		int port = 61000 + (base - 61000 + 2 * i) % 4000;
		if (port_free(port) && port_free(port + 1))
			return port;
	}
	cr_assert_fail("no two free TCP ports between 61000 and 65000 for vpcd");
	return 0;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static const char *env_or(const char *name, const char *fallback)
{
	const char *v = getenv(name);
	return v && *v ? v : fallback;
}

const char *harness_program(const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", env_or("top_builddir", "."), name);
	return buf;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	cr_assert(f, "cannot write %s", path);
	fputs(text, f);
	fclose(f);
}

static void cleanup_at_exit(void)
{
	if (current)
		harness_stop(current);
}

static pid_t spawn(const char *const *argv, const char *log_path)
{
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

/* Dirs, ports, reader.conf.d and the card image; with_issuer: issuer
 * keys in h->issuer and the image personalized for them. */
static void init_with(struct harness *h, bool with_issuer)
{
	memset(h, 0, sizeof(*h));
	strcpy(h->dir, "/tmp/ecard-it-XXXXXX");
	cr_assert(mkdtemp(h->dir), "mkdtemp: %s", strerror(errno));
	snprintf(h->confdir, sizeof(h->confdir), "%s/reader.conf.d", h->dir);
	snprintf(h->image, sizeof(h->image), "%s/card.img", h->dir);
	snprintf(h->control, sizeof(h->control), "%s/control", h->dir);
	mkdir(h->confdir, 0700);

	/* A port of our own: vpcd listens on it (and the next one). */
	h->port = choose_port();
	snprintf(h->reader, sizeof(h->reader), "ecard-it-%d 00 00", h->port);
	char conf[512], path[160];
	snprintf(conf, sizeof(conf),
		 "FRIENDLYNAME \"ecard-it-%d\"\nDEVICENAME /dev/null:0x%X\nLIBPATH %s\nCHANNELID 0x%X\n",
		 h->port, h->port, env_or("VPCD_DRIVER", "/usr/lib/pcsc/drivers/serial/libifdvpcd.so"),
		 h->port);
	snprintf(path, sizeof(path), "%s/vpcd", h->confdir);
	write_file(path, conf);

	/* Registered before anything that may fail, so the dir is removed. */
	current = h;
	static bool registered;
	if (!registered) {
		atexit(cleanup_at_exit);
		registered = true;
	}

	char prog[256], out[1024];
	int rc;
	if (with_issuer) {
		snprintf(h->issuer, sizeof(h->issuer), "%s/issuer", h->dir);
		const char *init[] = { "issuer", "init", h->issuer, NULL };
		rc = harness_run(harness_program("ecard", prog, sizeof(prog)), init, out, sizeof(out));
		cr_assert_eq(rc, 0, "ecard issuer init failed: %s", out);
	}
	const char *args[] = { "--new", "--image", h->image, "--serial", "0102030405060708",
			       with_issuer ? "--personalize" : NULL, h->issuer, NULL };
	rc = harness_run(harness_program("ecard-vcard", prog, sizeof(prog)), args, out, sizeof(out));
	cr_assert_eq(rc, 0, "ecard-vcard --new failed: %s", out);
}

void harness_init(struct harness *h)
{
	init_with(h, false);
}

void harness_init_issuer(struct harness *h)
{
	init_with(h, true);
}

static int stop_pid(pid_t *pid, int sig);

void harness_start_pcscd(struct harness *h)
{
	const char *pcscd = env_or("PCSCD", "/usr/sbin/pcscd");
	char log[128];
	snprintf(log, sizeof(log), "%s/pcscd.log", h->dir);
	const char *argv[] = { pcscd, "--foreground", "--config", h->confdir, NULL };
	h->pcscd = spawn(argv, log);

	/* Ready when a client can list our reader. */
	for (int i = 0; i < 100; i++) {
		SCARDCONTEXT ctx;
		if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx) == SCARD_S_SUCCESS) {
			char names[1024];
			DWORD len = sizeof(names);
			LONG rv = SCardListReaders(ctx, NULL, names, &len);
			SCardReleaseContext(ctx);
			if (rv == SCARD_S_SUCCESS)
				for (char *p = names; *p; p += strlen(p) + 1)
					if (strcmp(p, h->reader) == 0)
						return;
		}
		sleep_ms(50);
	}
	/* The assertion ends this process: leave no pcscd behind. */
	stop_pid(&h->pcscd, SIGTERM);
	cr_assert_fail("pcscd did not come up with reader %s (see %s)", h->reader, log);
}

static int stop_pid(pid_t *pid, int sig)
{
	if (*pid <= 0)
		return 0;
	kill(*pid, sig);
	int status = 0;
	for (int i = 0; i < 100; i++) {
		pid_t r = waitpid(*pid, &status, WNOHANG);
		if (r == *pid)
			break;
		if (i == 99) {
			kill(*pid, SIGKILL);
			waitpid(*pid, &status, 0);
		}
		sleep_ms(50);
	}
	*pid = 0;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

void harness_stop_pcscd(struct harness *h)
{
	stop_pid(&h->pcscd, SIGTERM);
	/* A new pcscd refuses to start while the old socket is there. */
	unlink("/run/pcscd/pcscd.comm");
	unlink("/run/pcscd/pcscd.pid");
}

void harness_start_vcard(struct harness *h, const char *const *extra)
{
	char prog[256], vpcd[64], log[128];
	const char *argv[24];
	int n = 0;
	snprintf(vpcd, sizeof(vpcd), "127.0.0.1:%d", h->port);
	snprintf(log, sizeof(log), "%s/vcard.log", h->dir);
	argv[n++] = harness_program("ecard-vcard", prog, sizeof(prog));
	argv[n++] = "--image";
	argv[n++] = h->image;
	argv[n++] = "--vpcd";
	argv[n++] = vpcd;
	argv[n++] = "--control";
	argv[n++] = h->control;
	argv[n++] = "--outage";
	argv[n++] = "1200";
	for (int i = 0; extra && extra[i] && n < 23; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	h->vcard = spawn(argv, log);
	for (int i = 0; i < 100 && access(h->control, F_OK) != 0; i++)
		sleep_ms(20);
}

int harness_stop_vcard(struct harness *h, int sig)
{
	return stop_pid(&h->vcard, sig);
}

static pid_t *other_slot(struct harness *h, pid_t pid)
{
	for (size_t i = 0; i < sizeof(h->others) / sizeof(h->others[0]); i++)
		if (h->others[i] == pid)
			return &h->others[i];
	return NULL;
}

pid_t harness_spawn(struct harness *h, const char *name, const char *const *args, const char *log)
{
	char prog[256], path[160];
	const char *argv[32];
	int n = 0;
	pid_t *slot = other_slot(h, 0);

	cr_assert_not_null(slot, "too many programs started");
	argv[n++] = strchr(name, '/') ? name : harness_program(name, prog, sizeof(prog));
	for (int i = 0; args && args[i] && n < 31; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	snprintf(path, sizeof(path), "%s/%s", h->dir, log);
	*slot = spawn(argv, path);
	return *slot;
}

int harness_kill(struct harness *h, pid_t pid, int sig)
{
	pid_t *slot = other_slot(h, pid);
	if (!slot)
		return 0;
	return stop_pid(slot, sig);
}

int harness_reap(struct harness *h, pid_t pid, int timeout_ms)
{
	pid_t *slot = other_slot(h, pid);
	int status;
	if (!slot)
		return 0;
	for (int waited = 0;; waited += 20) {
		if (waitpid(pid, &status, WNOHANG) == pid) {
			*slot = 0;
			return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
		}
		if (waited >= timeout_ms)
			return INT_MIN;
		sleep_ms(20);
	}
}

void harness_stop(struct harness *h)
{
	for (size_t i = 0; i < sizeof(h->others) / sizeof(h->others[0]); i++)
		stop_pid(&h->others[i], SIGTERM);
	harness_stop_vcard(h, SIGTERM);
	stop_pid(&h->sim, SIGTERM);
	harness_stop_pcscd(h);
	/* ECARD_KEEP_TEST_DIR=1 keeps the logs of pcscd and the card. */
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", h->dir);
	if (!getenv("ECARD_KEEP_TEST_DIR") && system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", h->dir);
	if (current == h)
		current = NULL;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool harness_wait_card(struct harness *h, bool present, int timeout_ms)
{
	return harness_wait_reader_card(h->reader, present, timeout_ms);
}

bool harness_wait_reader_card(const char *reader, bool present, int timeout_ms)
{
	SCARDCONTEXT ctx;
	if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx) != SCARD_S_SUCCESS)
		return false;
	SCARD_READERSTATE rs = { .szReader = reader, .dwCurrentState = SCARD_STATE_UNAWARE };
	long long deadline = now_ms() + timeout_ms;
	bool ok = false;
	while (!ok && now_ms() <= deadline) {
		LONG rv = SCardGetStatusChange(ctx, 200, &rs, 1);
		if (rv == SCARD_S_SUCCESS) {
			ok = ((rs.dwEventState & SCARD_STATE_PRESENT) != 0) == present;
			rs.dwCurrentState = rs.dwEventState & ~SCARD_STATE_CHANGED;
		} else if (rv != SCARD_E_TIMEOUT) {
			sleep_ms(100);
		}
	}
	SCardReleaseContext(ctx);
	return ok;
}

static const char *ctl_at(const char *path, const char *cmd)
{
	static char out[512];
	char prog[256];
	const char *args[] = { "ctl", path, cmd, NULL };
	out[0] = '\0';
	harness_run(harness_program("ecard-vcard", prog, sizeof(prog)), args, out, sizeof(out));
	size_t n = strlen(out);
	if (n && out[n - 1] == '\n')
		out[n - 1] = '\0';
	return out;
}

const char *harness_ctl(struct harness *h, const char *cmd)
{
	return ctl_at(h->control, cmd);
}

const char *harness_sim_ctl(struct harness *h, const char *cmd)
{
	return ctl_at(h->sim_control, cmd);
}

void harness_start_ccid_sim(struct harness *h, const char *const *args)
{
	char prog[256], log[128], conf[512], path[160], lib[256];
	const char *argv[40];
	int n = 0;
	snprintf(h->sim_socket, sizeof(h->sim_socket), "%s/ccid.sock", h->dir);
	snprintf(h->sim_control, sizeof(h->sim_control), "%s/ccid.ctl", h->dir);
	snprintf(h->sim_reader, sizeof(h->sim_reader), "ecard-sim-%d 00 00", h->port);
	snprintf(log, sizeof(log), "%s/ccid-sim.log", h->dir);
	argv[n++] = harness_program("ecard-ccid-sim", prog, sizeof(prog));
	argv[n++] = "--socket";
	argv[n++] = h->sim_socket;
	argv[n++] = "--control";
	argv[n++] = h->sim_control;
	for (int i = 0; args && args[i] && n < 39; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	h->sim = spawn(argv, log);
	/* Both sockets: the simulator opens its control socket first. */
	for (int i = 0; i < 250 && (access(h->sim_control, F_OK) != 0 ||
				    access(h->sim_socket, F_OK) != 0); i++)
		sleep_ms(20);
	cr_assert(access(h->sim_socket, F_OK) == 0, "ecard-ccid-sim did not start (see %s)", log);

	snprintf(conf, sizeof(conf), "FRIENDLYNAME \"ecard-sim-%d\"\nDEVICENAME sim:%s\nLIBPATH %s\n",
		 h->port, h->sim_socket, harness_program(".libs/libifd-ecard.so", lib, sizeof(lib)));
	snprintf(path, sizeof(path), "%s/ecard-sim", h->confdir);
	write_file(path, conf);
}

bool harness_reader_listed(const char *reader)
{
	SCARDCONTEXT ctx;
	if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx) != SCARD_S_SUCCESS)
		return false;
	char names[4096];
	DWORD len = sizeof(names);
	bool found = false;
	if (SCardListReaders(ctx, NULL, names, &len) == SCARD_S_SUCCESS)
		for (char *p = names; *p && !found; p += strlen(p) + 1)
			found = strcmp(p, reader) == 0;
	SCardReleaseContext(ctx);
	return found;
}

bool harness_wait_usable(struct harness *h, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	while (!strstr(harness_ctl(h, "status"), "connected=1")) {
		if (now_ms() > deadline)
			return false;
		sleep_ms(50);
	}
	long long left = deadline - now_ms();
	if (left < 0 || !harness_wait_card(h, true, (int)left))
		return false;

	/* Right after an insertion pcscd may still be resetting the card. */
	SCARDCONTEXT ctx;
	if (SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx) != SCARD_S_SUCCESS)
		return false;
	bool ok = false;
	while (!ok && now_ms() <= deadline) {
		SCARDHANDLE card;
		DWORD protocol;
		if (SCardConnect(ctx, h->reader, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1,
				 &card, &protocol) == SCARD_S_SUCCESS) {
			SCardDisconnect(card, SCARD_LEAVE_CARD);
			ok = true;
		} else {
			sleep_ms(50);
		}
	}
	SCardReleaseContext(ctx);
	return ok;
}

bool harness_wait_back(struct harness *h, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	if (!harness_wait_card(h, false, timeout_ms < 3000 ? timeout_ms : 3000))
		return false;
	long long left = deadline - now_ms();
	return left > 0 && harness_wait_usable(h, (int)left);
}

long harness_ctl_value(struct harness *h, const char *cmd, const char *key)
{
	return control_reply_value(harness_ctl(h, cmd), key);
}

long harness_sim_ctl_value(struct harness *h, const char *cmd, const char *key)
{
	return control_reply_value(harness_sim_ctl(h, cmd), key);
}

int harness_run(const char *program, const char *const *args, char *out, size_t out_len)
{
	return harness_run_input(program, args, NULL, out, out_len);
}

int harness_run_input(const char *program, const char *const *args, const char *input,
		      char *out, size_t out_len)
{
	int p[2], in[2] = { -1, -1 };
	if (input) {
		/* Small enough for the pipe's buffer: written before the child runs. */
		size_t n = strlen(input);
		cr_assert_lt(n, 4096, "input for %s too long", program);
		cr_assert_eq(pipe(in), 0);
		cr_assert_eq(write(in[1], input, n), (ssize_t)n);
		close(in[1]);
	}
	cr_assert_eq(pipe(p), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		const char *argv[64];
		int n = 0;
		argv[n++] = program;
		for (int i = 0; args && args[i] && n < 63; i++)
			argv[n++] = args[i];
		argv[n] = NULL;
		dup2(p[1], 1);
		dup2(p[1], 2);
		/* fd 3 becomes the input; whatever else was there is not needed. */
		if (input && in[0] != 3)
			dup2(in[0], 3);
		if (!input || p[0] != 3)
			close(p[0]);
		if (!input || p[1] != 3)
			close(p[1]);
		if (input && in[0] != 3)
			close(in[0]);
		execv(program, (char *const *)argv);
		_exit(127);
	}
	if (input)
		close(in[0]);
	close(p[1]);
	size_t got = 0;
	ssize_t r;
	char sink[256];
	while ((r = read(p[0], got + 1 < out_len ? out + got : sink,
			 got + 1 < out_len ? out_len - 1 - got : sizeof(sink))) > 0)
		if (got + 1 < out_len)
			got += (size_t)r;
	out[got] = '\0';
	close(p[0]);
	int status;
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* ---- browsers and ports ---- */

bool harness_browser_here(void)
{
	return access("/usr/bin/chromium", X_OK) == 0 && access("/usr/bin/chromedriver", X_OK) == 0 &&
	       system("/usr/bin/python3 -c 'import selenium' 2>/dev/null") == 0;
}

void harness_wait_port_file(const char *file, char *port, size_t cap)
{
	port[0] = '\0';
	for (int i = 0; i < 200 && !port[0]; i++) {
		FILE *f = fopen(file, "r");
		if (f) {
			if (!fgets(port, (int)cap, f))
				port[0] = '\0';
			fclose(f);
		}
		sleep_ms(20);
	}
	port[strcspn(port, "\n")] = '\0';
	cr_assert(port[0], "%s was written", file);
}

/* ---- PostgreSQL ---- */

int harness_free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	getsockname(fd, (struct sockaddr *)&a, &len);
	close(fd);
	return ntohs(a.sin_port);
}

/* Debian's PostgreSQL binaries, or NULL. */
static const char *pg_bin(char *buf, size_t len)
{
	glob_t g;
	if (glob("/usr/lib/postgresql/*/bin/initdb", 0, NULL, &g) != 0)
		return NULL;
	snprintf(buf, len, "%.*s", (int)(strlen(g.gl_pathv[g.gl_pathc - 1]) - strlen("/initdb")),
		 g.gl_pathv[g.gl_pathc - 1]);
	globfree(&g);
	return buf;
}

bool harness_pg_start(struct harness *h, struct harness_pg *pg)
{
	char bin[128], cmd[1024], data[96], initdb[160], postgres[160], port[16];

	memset(pg, 0, sizeof(*pg));
	if (!pg_bin(bin, sizeof(bin)))
		return false;
	/* Inside the test's directory, which harness_stop() removes. */
	snprintf(pg->dir, sizeof(pg->dir), "%s/pg", h->dir);
	cr_assert_eq(mkdir(pg->dir, 0700), 0);
	pg->as_nobody = geteuid() == 0;
	if (pg->as_nobody) {
		cr_assert_eq(chmod(h->dir, 0711), 0, "nobody may pass through to its directory");
		struct passwd *pw = getpwnam("nobody");
		cr_assert_not_null(pw);
		cr_assert_eq(chown(pg->dir, pw->pw_uid, pw->pw_gid), 0);
	}
	const char *as = pg->as_nobody ? "setpriv --reuid=nobody --regid=nogroup --clear-groups -- " : "";
	snprintf(data, sizeof(data), "%s/data", pg->dir);
	snprintf(initdb, sizeof(initdb), "%s/initdb", bin);
	snprintf(postgres, sizeof(postgres), "%s/postgres", bin);
	snprintf(cmd, sizeof(cmd), "%s%s -D %s -U ecard --auth=trust -E UTF8 --no-sync >%s/initdb.log 2>&1",
		 as, initdb, data, pg->dir);
	cr_assert_eq(system(cmd), 0, "initdb failed (see %s/initdb.log)", pg->dir);
	int p = harness_free_port();
	snprintf(port, sizeof(port), "%d", p);
	const char *root_args[] = { "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--",
				    postgres, "-D", data, "-k", pg->dir, "-p", port, "-c",
				    "listen_addresses=127.0.0.1", "-c", "fsync=off", NULL };
	const char *user_args[] = { "-D", data, "-k", pg->dir, "-p", port, "-c",
				    "listen_addresses=127.0.0.1", "-c", "fsync=off", NULL };
	pg->pid = pg->as_nobody ? harness_spawn(h, "/usr/bin/setpriv", root_args, "postgres.log")
				: harness_spawn(h, postgres, user_args, "postgres.log");
	snprintf(pg->url, sizeof(pg->url), "postgresql://ecard@127.0.0.1:%d/postgres", p);
	snprintf(cmd, sizeof(cmd), "%s/pg_isready -q -h 127.0.0.1 -p %d", bin, p);
	for (int i = 0; i < 150; i++) {
		if (system(cmd) == 0)
			return true;
		sleep_ms(100);
	}
	cr_assert_fail("PostgreSQL did not come up (see %s/postgres.log)", h->dir);
	return false;
}

void harness_pg_stop(struct harness *h, struct harness_pg *pg)
{
	harness_kill(h, pg->pid, SIGINT);	/* a fast shutdown */
}
