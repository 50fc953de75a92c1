/*
 * keyfile.c - reading and atomically writing key files (see keyfile.h).
 *
 * This is the only file of libecard that creates or opens key material on
 * disk, so the permission rules live here once: new secrets are created
 * 0600 whatever the umask, and loose permissions on an existing secret are
 * refused before a byte of it is read.
 */
#include "keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto.h"
#include "hex.h"

#define MODE_SECRET 0600
#define MODE_PUBLIC 0644

void ec_keyfile_init(struct ec_keyfile *kf)
{
	memset(kf, 0, sizeof(*kf));
}

/* Append raw text; marks the file overflowed when it does not fit. */
static void append(struct ec_keyfile *kf, const char *s, size_t n)
{
	if (kf->overflow || n >= sizeof(kf->text) - kf->len) {
		kf->overflow = true;
		return;
	}
	memcpy(kf->text + kf->len, s, n);
	kf->len += n;
	kf->text[kf->len] = '\0';
}

static void append_str(struct ec_keyfile *kf, const char *s)
{
	append(kf, s, strlen(s));
}

void ec_keyfile_add_comment(struct ec_keyfile *kf, const char *text)
{
	append_str(kf, "# ");
	append_str(kf, text);
	append_str(kf, "\n");
}

void ec_keyfile_add_hex(struct ec_keyfile *kf, const char *name, const uint8_t *value, size_t len)
{
	append_str(kf, name);
	append_str(kf, "=");
	/* Encode straight into the text so that no other copy of a secret exists. */
	if (kf->overflow || 2 * len + 1 >= sizeof(kf->text) - kf->len) {
		kf->overflow = true;
		return;
	}
	hex_encode(value, len, kf->text + kf->len);
	kf->len += 2 * len;
	append_str(kf, "\n");
}

void ec_keyfile_add_u32(struct ec_keyfile *kf, const char *name, uint32_t value)
{
	char number[16];
	snprintf(number, sizeof(number), "%lu", (unsigned long)value);
	append_str(kf, name);
	append_str(kf, "=");
	append_str(kf, number);
	append_str(kf, "\n");
}

static bool write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		buf += n;
		len -= (size_t)n;
	}
	return true;
}

/* Make a rename or link durable: sync the directory that holds path. */
static void sync_parent(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');

	if (!slash) {
		snprintf(dir, sizeof(dir), ".");
	} else if (slash == path) {
		snprintf(dir, sizeof(dir), "/");
	} else {
		size_t n = (size_t)(slash - path);
		if (n >= sizeof(dir))
			return;
		memcpy(dir, path, n);
		dir[n] = '\0';
	}
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
}

/* Create a fresh temporary file next to path, with exactly mode. */
static int create_temp(const char *path, mode_t mode, char *tmp, size_t tmp_cap)
{
	for (int attempt = 0; attempt < 8; attempt++) {
		uint8_t rnd[4];
		char suffix[2 * sizeof(rnd) + 1];
		if (crypto_random(rnd, sizeof(rnd)) != 0)
			return -1;
		hex_encode(rnd, sizeof(rnd), suffix);
		int n = snprintf(tmp, tmp_cap, "%s.tmp-%s", path, suffix);
		if (n < 0 || (size_t)n >= tmp_cap) {
			errno = ENAMETOOLONG;
			return -1;
		}
		int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
		if (fd >= 0) {
			/* The umask may have taken bits away; a public file needs them. */
			if (fchmod(fd, mode) != 0) {
				int saved = errno;
				close(fd);
				unlink(tmp);
				errno = saved;
				return -1;
			}
			return fd;
		}
		if (errno != EEXIST)
			return -1;
	}
	return -1;
}

/* Give tmp the name path without replacing an existing path. */
static int publish_exclusive(const char *tmp, const char *path)
{
	if (link(tmp, path) == 0) {
		unlink(tmp);
		return 0;
	}
	if (errno != EPERM && errno != EOPNOTSUPP && errno != ENOSYS)
		return -1;
	/* A file system without hard links: check, then rename. */
	struct stat st;
	if (lstat(path, &st) == 0) {
		errno = EEXIST;
		return -1;
	}
	return rename(tmp, path);
}

enum ec_status ec_keyfile_write(const struct ec_keyfile *kf, const char *path, unsigned flags,
				struct ec_error *err)
{
	char tmp[PATH_MAX];
	mode_t mode = (flags & EC_KEYFILE_SECRET) ? MODE_SECRET : MODE_PUBLIC;

	if (!kf || !path || !*path)
		return ec_error_set(err, EC_ERR_ARG, "no file name was given for the key file.");
	if (kf->overflow)
		return ec_error_set(err, EC_ERR_ARG,
				    "the key file for %s grew beyond %d bytes: this is a bug in ecard.",
				    path, EC_KEYFILE_MAX);

	struct stat st;
	if (!(flags & EC_KEYFILE_OVERWRITE) && lstat(path, &st) == 0)
		return ec_error_set(err, EC_ERR_EXISTS,
				    "%s exists already and was left as it is: remove it first or choose another name.",
				    path);

	int fd = create_temp(path, mode, tmp, sizeof(tmp));
	if (fd < 0)
		return ec_error_set(err, EC_ERR_FILE, "cannot create a file next to %s: %s.", path,
				    strerror(errno));
	bool ok = write_all(fd, kf->text, kf->len) && fsync(fd) == 0;
	int saved = errno;
	if (close(fd) != 0 && ok) {
		ok = false;
		saved = errno;
	}
	if (!ok) {
		unlink(tmp);
		return ec_error_set(err, EC_ERR_FILE, "cannot write %s: %s.", tmp, strerror(saved));
	}

	int rc = (flags & EC_KEYFILE_OVERWRITE) ? rename(tmp, path) : publish_exclusive(tmp, path);
	if (rc != 0) {
		saved = errno;
		unlink(tmp);
		if (saved == EEXIST)
			return ec_error_set(err, EC_ERR_EXISTS,
					    "%s exists already and was left as it is: remove it first or choose another name.",
					    path);
		return ec_error_set(err, EC_ERR_FILE, "cannot create %s: %s.", path,
				    strerror(saved));
	}
	sync_parent(path);
	return EC_OK;
}

static bool is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-';
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Split kf->text into entries, in place. */
static enum ec_status parse(struct ec_keyfile *kf, const char *path, struct ec_error *err)
{
	char *line = kf->text;
	unsigned lineno = 0;

	while (*line) {
		char *end = strchr(line, '\n');
		char *next = end ? end + 1 : line + strlen(line);
		if (end)
			*end = '\0';
		lineno++;

		while (is_space(*line))
			line++;
		char *tail = line + strlen(line);
		while (tail > line && is_space(tail[-1]))
			*--tail = '\0';
		if (*line == '\0' || *line == '#') {
			line = next;
			continue;
		}

		char *eq = line;
		while (is_name_char(*eq))
			eq++;
		if (eq == line || *eq != '=' || (size_t)(eq - line) >= EC_KEYFILE_NAME_MAX)
			return ec_error_set(err, EC_ERR_FORMAT,
					    "line %u of %s is not \"name=value\": the file is damaged or is not an ecard key file.",
					    lineno, path);
		*eq = '\0';
		if (ec_keyfile_get(kf, line))
			return ec_error_set(err, EC_ERR_FORMAT,
					    "%s gives \"%s\" twice (line %u): the file is damaged, restore it from a backup.",
					    path, line, lineno);
		if (kf->count >= EC_KEYFILE_ENTRIES)
			return ec_error_set(err, EC_ERR_FORMAT,
					    "%s has more than %d entries: it is not an ecard key file.",
					    path, EC_KEYFILE_ENTRIES);
		kf->entry[kf->count].name = line;
		kf->entry[kf->count].value = eq + 1;
		kf->count++;
		line = next;
	}
	return EC_OK;
}

enum ec_status ec_keyfile_read(struct ec_keyfile *kf, const char *path, bool secret,
			       struct ec_error *err)
{
	struct stat st;

	ec_keyfile_init(kf);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return ec_error_set(err, EC_ERR_FILE, "cannot open %s: %s.", path, strerror(errno));
	if (fstat(fd, &st) != 0) {
		int saved = errno;
		close(fd);
		return ec_error_set(err, EC_ERR_FILE, "cannot read %s: %s.", path, strerror(saved));
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return ec_error_set(err, EC_ERR_FORMAT, "%s is not a regular file: give the path of a key file.",
				    path);
	}
	if (secret && (st.st_mode & (S_IRWXG | S_IRWXO))) {
		close(fd);
		return ec_error_set(err, EC_ERR_INSECURE,
				    "permissions %04o for %s are too open: a secret key file must be accessible by its owner only; run \"chmod 600 %s\" (and consider the key exposed if others could read it).",
				    (unsigned)(st.st_mode & 07777), path, path);
	}
	if (st.st_size >= (off_t)sizeof(kf->text)) {
		close(fd);
		return ec_error_set(err, EC_ERR_FORMAT, "%s is larger than %d bytes: it is not an ecard key file.",
				    path, EC_KEYFILE_MAX - 1);
	}

	size_t len = 0;
	for (;;) {
		ssize_t n = read(fd, kf->text + len, sizeof(kf->text) - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int saved = errno;
			close(fd);
			ec_keyfile_wipe(kf);
			return ec_error_set(err, EC_ERR_FILE, "cannot read %s: %s.", path,
					    strerror(saved));
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == sizeof(kf->text) - 1) {
			close(fd);
			ec_keyfile_wipe(kf);
			return ec_error_set(err, EC_ERR_FORMAT,
					    "%s is larger than %d bytes: it is not an ecard key file.",
					    path, EC_KEYFILE_MAX - 1);
		}
	}
	close(fd);
	kf->text[len] = '\0';
	kf->len = len;
	if (strlen(kf->text) != len) {
		ec_keyfile_wipe(kf);
		return ec_error_set(err, EC_ERR_FORMAT, "%s holds binary data: it is not an ecard key file.",
				    path);
	}
	enum ec_status st_parse = parse(kf, path, err);
	if (st_parse != EC_OK)
		ec_keyfile_wipe(kf);
	return st_parse;
}

const char *ec_keyfile_get(const struct ec_keyfile *kf, const char *name)
{
	for (size_t i = 0; i < kf->count; i++)
		if (strcmp(kf->entry[i].name, name) == 0)
			return kf->entry[i].value;
	return NULL;
}

enum ec_status ec_keyfile_get_hex(const struct ec_keyfile *kf, const char *path,
				  const char *name, uint8_t *out, size_t len,
				  struct ec_error *err)
{
	const char *value = ec_keyfile_get(kf, name);
	if (!value)
		return ec_error_set(err, EC_ERR_FORMAT, "%s has no \"%s\": the file is incomplete or is not the right kind of key file.",
				    path, name);
	long n = hex_decode(value, out, len);
	if (n != (long)len) {
		crypto_wipe(out, len);
		return ec_error_set(err, EC_ERR_FORMAT, "\"%s\" in %s is not %zu bytes in hex: the file is damaged, restore it from a backup.",
				    name, path, len);
	}
	return EC_OK;
}

enum ec_status ec_keyfile_get_u32(const struct ec_keyfile *kf, const char *path,
				  const char *name, uint32_t *out, struct ec_error *err)
{
	const char *value = ec_keyfile_get(kf, name);
	uint64_t v = 0;

	if (!value)
		return ec_error_set(err, EC_ERR_FORMAT, "%s has no \"%s\": the file is incomplete or is not the right kind of key file.",
				    path, name);
	const char *p = value;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > UINT32_MAX)
			break;
	}
	if (p == value || *p != '\0' || v > UINT32_MAX)
		return ec_error_set(err, EC_ERR_FORMAT, "\"%s\" in %s is not a number from 0 to 4294967295: the file is damaged.",
				    name, path);
	*out = (uint32_t)v;
	return EC_OK;
}

void ec_keyfile_wipe(struct ec_keyfile *kf)
{
	crypto_wipe(kf, sizeof(*kf));
}
