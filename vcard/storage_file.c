/*
 * storage_file.c - the card image as a file.
 *
 * Each write is one pwrite() of the whole range, so a kill -9 of the daemon
 * loses at most the write in progress; the journal in nvm.c makes that safe.
 * sync is fdatasync(), used at commit when the daemon runs with --sync.
 */
#include "storage.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct file_storage {
	struct vc_storage base;
	int fd;
};

/* pread/pwrite until the whole range is done (they may do less). */
static enum vc_status file_io(struct vc_storage *s, size_t off, void *buf, size_t len, bool write)
{
	struct file_storage *fs = (struct file_storage *)s;
	uint8_t *p = buf;

	if (off > s->size || len > s->size - off)
		return VC_ERR_ARG;
	while (len > 0) {
		ssize_t n = write ? pwrite(fs->fd, p, len, (off_t)off) : pread(fs->fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return VC_ERR_IO;
		p += n;
		off += (size_t)n;
		len -= (size_t)n;
	}
	return VC_OK;
}

static enum vc_status file_read(struct vc_storage *s, size_t off, void *buf, size_t len)
{
	return file_io(s, off, buf, len, false);
}

static enum vc_status file_write(struct vc_storage *s, size_t off, const void *buf, size_t len)
{
	/* file_io only reads from buf when writing. */
	return file_io(s, off, (void *)buf, len, true);
}

static enum vc_status file_sync(struct vc_storage *s)
{
	struct file_storage *fs = (struct file_storage *)s;
	return fdatasync(fs->fd) == 0 ? VC_OK : VC_ERR_IO;
}

static void file_destroy(struct vc_storage *s)
{
	struct file_storage *fs = (struct file_storage *)s;
	close(fs->fd);
	free(fs);
}

static const struct vc_storage_ops file_ops = {
	.read = file_read,
	.write = file_write,
	.sync = file_sync,
	.destroy = file_destroy,
};

/*
 * The image's lock. An open file description lock on byte 0 keeps out a
 * second opener, even one in this process (which a per-process lock would
 * let through); a classic record lock on byte 1 only names this process
 * to a second opener (F_GETLK gives no process for the other kind).
 */
static enum vc_status lock_image(int fd)
{
	struct flock excl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 1 };
	if (fcntl(fd, F_OFD_SETLK, &excl) != 0)
		return errno == EAGAIN || errno == EACCES ? VC_ERR_IN_USE : VC_ERR_IO;
	struct flock who = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 1, .l_len = 1 };
	(void)fcntl(fd, F_SETLK, &who);
	return VC_OK;
}

long vc_storage_file_holder(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	struct flock who = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 1, .l_len = 1 };
	long pid = 0;
	if (fcntl(fd, F_GETLK, &who) == 0 && who.l_type != F_UNLCK && who.l_pid > 0)
		pid = who.l_pid;
	close(fd);
	return pid;
}

static enum vc_status wrap_fd(int fd, size_t size, struct vc_storage **out)
{
	enum vc_status st = lock_image(fd);
	if (st != VC_OK) {
		close(fd);
		return st;
	}
	struct file_storage *fs = calloc(1, sizeof(*fs));
	if (!fs) {
		close(fd);
		return VC_ERR_NO_MEMORY;
	}
	fs->base.ops = &file_ops;
	fs->base.size = size;
	fs->fd = fd;
	*out = &fs->base;
	return VC_OK;
}

enum vc_status vc_storage_file_create(const char *path, size_t size, struct vc_storage **out)
{
	/* The image holds keys and PINs: readable by its owner only. */
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return errno == EEXIST ? VC_ERR_EXISTS : VC_ERR_IO;
	if (ftruncate(fd, (off_t)size) != 0) {
		close(fd);
		unlink(path);
		return VC_ERR_IO;
	}
	return wrap_fd(fd, size, out);
}

enum vc_status vc_storage_file_open(const char *path, struct vc_storage **out)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? VC_ERR_NOT_FOUND : VC_ERR_IO;
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return VC_ERR_FORMAT;
	}
	return wrap_fd(fd, (size_t)st.st_size, out);
}

void vc_storage_destroy(struct vc_storage *s)
{
	if (s)
		s->ops->destroy(s);
}

const char *vc_status_str(enum vc_status st)
{
	switch (st) {
	case VC_OK: return "success";
	case VC_ERR_IO: return "input/output error on the card image";
	case VC_ERR_POWER_LOST: return "the card lost power (tear)";
	case VC_ERR_FORMAT: return "not a valid card image";
	case VC_ERR_ARG: return "invalid argument or access out of bounds";
	case VC_ERR_STATE: return "operation not allowed in this state";
	case VC_ERR_JOURNAL_FULL: return "the transaction does not fit in the journal";
	case VC_ERR_NO_SPACE: return "persistent memory is full";
	case VC_ERR_NOT_FOUND: return "not found";
	case VC_ERR_EXISTS: return "already exists";
	case VC_ERR_NO_MEMORY: return "out of memory";
	case VC_ERR_IN_USE: return "the card image is in use by another program";
	case VC_ERR_OLD_FORMAT:
		return "a card image made by an older ecard, whose certificates did not name their kind (card or merchant): it cannot be used safely, make a new card image";
	}
	return "unknown status";
}
