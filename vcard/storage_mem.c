/*
 * storage_mem.c - a card image in memory, for unit tests and benchmarks.
 *
 * It survives a simulated power cycle as long as the test keeps the backend
 * and re-opens the persistent memory on it, which is how tearing loops run
 * thousands of power losses without touching the disk.
 */
#include "storage.h"

#include <stdlib.h>
#include <string.h>

struct mem_storage {
	struct vc_storage base;
	uint8_t *bytes;
};

static enum vc_status mem_read(struct vc_storage *s, size_t off, void *buf, size_t len)
{
	struct mem_storage *ms = (struct mem_storage *)s;
	if (off > s->size || len > s->size - off)
		return VC_ERR_ARG;
	memcpy(buf, ms->bytes + off, len);
	return VC_OK;
}

static enum vc_status mem_write(struct vc_storage *s, size_t off, const void *buf, size_t len)
{
	struct mem_storage *ms = (struct mem_storage *)s;
	if (off > s->size || len > s->size - off)
		return VC_ERR_ARG;
	memcpy(ms->bytes + off, buf, len);
	return VC_OK;
}

static enum vc_status mem_sync(struct vc_storage *s)
{
	(void)s;
	return VC_OK;
}

static void mem_destroy(struct vc_storage *s)
{
	struct mem_storage *ms = (struct mem_storage *)s;
	free(ms->bytes);
	free(ms);
}

static const struct vc_storage_ops mem_ops = {
	.read = mem_read,
	.write = mem_write,
	.sync = mem_sync,
	.destroy = mem_destroy,
};

enum vc_status vc_storage_mem_create(size_t size, struct vc_storage **out)
{
	struct mem_storage *ms = calloc(1, sizeof(*ms));
	if (!ms)
		return VC_ERR_NO_MEMORY;
	ms->bytes = calloc(1, size ? size : 1);
	if (!ms->bytes) {
		free(ms);
		return VC_ERR_NO_MEMORY;
	}
	ms->base.ops = &mem_ops;
	ms->base.size = size;
	*out = &ms->base;
	return VC_OK;
}

uint8_t *vc_storage_mem_bytes(struct vc_storage *s)
{
	if (s->ops != &mem_ops)
		return NULL;
	return ((struct mem_storage *)s)->bytes;
}
