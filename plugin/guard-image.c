// SPDX-License-Identifier: MIT
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guard-image.h"
#include "guard-log.h"
#include "guard.pb-c.h"

void guard_image_name(char *buf, size_t size, int vpid)
{
	snprintf(buf, size, GUARD_IMG_NAME_FMT, vpid);
}

void guard_buf_free(struct guard_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

static uint8_t *guard_buf_reserve(struct guard_buf *b, size_t len)
{
	if (b->len + len > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		uint8_t *d;

		while (cap < b->len + len)
			cap *= 2;
		d = realloc(b->data, cap);
		if (!d)
			return NULL;
		b->data = d;
		b->cap = cap;
	}
	return b->data + b->len;
}

static int put_u32(struct guard_buf *b, uint32_t v)
{
	uint8_t *p = guard_buf_reserve(b, sizeof(v));

	if (!p)
		return -ENOMEM;
	memcpy(p, &v, sizeof(v));
	b->len += sizeof(v);
	return 0;
}

/* One CRIU image entry: a u32 size, then the packed message */
static int put_entry(struct guard_buf *b, const ProtobufCMessage *msg)
{
	size_t size = protobuf_c_message_get_packed_size(msg);
	uint8_t *p;

	if (put_u32(b, size))
		return -ENOMEM;
	p = guard_buf_reserve(b, size);
	if (!p)
		return -ENOMEM;
	b->len += protobuf_c_message_pack(msg, p);
	return 0;
}

static uint8_t *put_varint(uint8_t *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t)v | 0x80;
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}

static size_t varint_len(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

/* Wire tags of guard_ranges_entry (proto/guard.proto): field << 3 | type */
#define TAG_VMA_START 0x08 /* 1, varint */
#define TAG_ORIGIN    0x10 /* 2, varint */
#define TAG_PAGES     0x1a /* 3, length-delimited (packed) */
#define TAG_REMOVE    0x20 /* 4, varint */

/* Room for one entry of @nr ranges: 3 tags, 3 varints, 2 per range, a bool */
#define ENTRY_MAX(nr) (4 + 3 * 10 + 2 * 10 * (nr) + 2)

/*
 * Write ranges [first, first + nr) of @s, all inside the VMA at @vma_start,
 * as one entry; gaps count from @origin. @remove: the removals of a
 * difference image (otherwise the field is absent, as in version 1).
 *
 * Encoded here rather than by protobuf-c, whose generic packer cost a
 * 64-thread task more than the scan of its stacks: the bytes are those
 * protobuf-c writes for a guard_ranges_entry (fields in number order,
 * pages packed), as the unit test image checks.
 */
static int put_ranges(struct guard_buf *b, const struct guard_set *s, uint64_t vma_start, uint64_t origin,
		      size_t first, size_t nr, unsigned int page_shift, bool remove)
{
	const struct guard_range *r = s->ranges.r + first;
	uint64_t pos = origin;
	uint8_t *start, *p;
	size_t i, len = 0;
	uint32_t size;

	start = guard_buf_reserve(b, sizeof(size) + ENTRY_MAX(nr));
	if (!start)
		return -ENOMEM;
	p = start + sizeof(size);
	*p++ = TAG_VMA_START;
	p = put_varint(p, vma_start);
	*p++ = TAG_ORIGIN;
	p = put_varint(p, origin);
	for (i = 0; i < nr; pos = r[i].end, i++)
		len += varint_len((r[i].start - pos) >> page_shift) + varint_len((r[i].end - r[i].start) >> page_shift);
	*p++ = TAG_PAGES;
	p = put_varint(p, len);
	for (i = 0, pos = origin; i < nr; pos = r[i].end, i++) {
		p = put_varint(p, (r[i].start - pos) >> page_shift);
		p = put_varint(p, (r[i].end - r[i].start) >> page_shift);
	}
	if (remove) {
		*p++ = TAG_REMOVE;
		*p++ = 1;
	}
	size = p - start - sizeof(size);
	memcpy(start, &size, sizeof(size));
	b->len += sizeof(size) + size;
	return 0;
}

static int put_group(struct guard_buf *b, const struct guard_set *s, const struct guard_group *g,
		     unsigned int page_shift, bool remove)
{
	uint64_t base = g->vma_start;
	size_t done;

	for (done = 0; done < g->nr; done += GUARD_IMG_RANGES_PER_ENTRY) {
		size_t nr = g->nr - done;

		if (nr > GUARD_IMG_RANGES_PER_ENTRY)
			nr = GUARD_IMG_RANGES_PER_ENTRY;
		if (put_ranges(b, s, g->vma_start, base, g->first + done, nr, page_shift, remove))
			return -ENOMEM;
		base = s->ranges.r[g->first + done + nr - 1].end;
	}
	return 0;
}

/*
 * The groups of @s and, in a difference image, of its removals, in order
 * of their VMA: a VMA's removals come before its additions.
 */
static int put_groups(struct guard_buf *out, const struct guard_set *s, unsigned int page_shift)
{
	const struct guard_set *del = s->removed;
	size_t i = 0, j = 0;

	while (i < s->nr_groups || (del && j < del->nr_groups)) {
		bool rm = del && j < del->nr_groups &&
			  (i == s->nr_groups || del->groups[j].vma_start <= s->groups[i].vma_start);

		if (rm ? put_group(out, del, &del->groups[j++], page_shift, true) : put_group(out, s, &s->groups[i++], page_shift, false))
			return -ENOMEM;
	}
	return 0;
}

static int encode(const struct guard_set *s, unsigned int page_shift, uint64_t nr_pages, struct guard_buf *out)
{
	GuardHeadEntry head = GUARD_HEAD_ENTRY__INIT;
	const struct guard_set *del = s->parent ? s->removed : NULL;

	head.version = GUARD_IMG_VERSION;
	head.page_shift = page_shift;
	head.has_pid = true;
	head.pid = s->pid;
	head.nr_ranges = s->ranges.nr;
	head.nr_pages = nr_pages;
	if (s->parent) {
		head.has_parent = head.has_full_ranges = head.has_full_pages = true;
		head.parent = s->parent;
		head.full_ranges = s->full_ranges;
		head.full_pages = s->full_pages;
		if (del) {
			head.nr_ranges += del->ranges.nr;
			head.nr_pages += guard_ranges_pages(&del->ranges, page_shift);
		}
	}

	/* The whole image at once: one allocation for a typical task */
	if (!guard_buf_reserve(out, 64 + ENTRY_MAX(s->ranges.nr + (del ? del->ranges.nr : 0))))
		return -ENOMEM;
	if (put_u32(out, GUARD_IMG_COMMON_MAGIC) || put_u32(out, GUARD_IMG_MAGIC) || put_entry(out, &head.base))
		return -ENOMEM;
	return put_groups(out, s, page_shift);
}

int guard_image_encode(const struct guard_set *s, unsigned int page_shift, struct guard_buf *out)
{
	return encode(s, page_shift, guard_ranges_pages(&s->ranges, page_shift), out);
}

struct img_reader {
	const uint8_t *buf;
	size_t len;
	size_t pos;
	const char *name;
	unsigned int entry; /* index of the entry being read, 0 = head */
	unsigned int page_shift;
	uint64_t prev_end;    /* end of the last range, or of the last VMA start */
	uint64_t prev_end_rm; /* the same for the removals of a difference image */
	uint64_t nr_ranges;
	uint64_t nr_pages;
	const GuardHeadEntry *head;
	bool oom; /* an allocation of protobuf-c failed */
};

#define img_err(rd, fmt, ...) pr_err("%s: entry %u: " fmt "\n", (rd)->name, (rd)->entry, ##__VA_ARGS__)

/* protobuf-c says NULL both for bad input and for no memory: tell them apart */
static void *pb_alloc(void *data, size_t size)
{
	struct img_reader *rd = data;
	void *p = malloc(size);

	if (!p)
		rd->oom = true;
	return p;
}

static void pb_free(void *data, void *p)
{
	free(p);
}

static int get_u32(struct img_reader *rd, uint32_t *v)
{
	if (rd->len - rd->pos < sizeof(*v))
		return -1;
	memcpy(v, rd->buf + rd->pos, sizeof(*v));
	rd->pos += sizeof(*v);
	return 0;
}

/*
 * Returns 1 with the next entry (rd->entry is then its index), 0 at the
 * end of the image, -1 if it is cut short or too large.
 */
static int get_entry(struct img_reader *rd, const uint8_t **msg, uint32_t *size, size_t max)
{
	size_t at = rd->pos;

	if (rd->pos == rd->len)
		return 0;
	if (at > sizeof(uint32_t) * 2)
		rd->entry++;
	if (get_u32(rd, size) || rd->len - rd->pos < *size) {
		img_err(rd, "truncated at offset %zu (the entry starts at %zu)", rd->len, at);
		return -1;
	}
	if (*size > max) {
		img_err(rd, "%u bytes at offset %zu, more than the %zu an entry may have", *size, at, max);
		return -1;
	}
	*msg = rd->buf + rd->pos;
	rd->pos += *size;
	return 1;
}

static int check_magic(struct img_reader *rd)
{
	uint32_t common, magic;

	if (get_u32(rd, &common) || get_u32(rd, &magic)) {
		pr_err("%s: %zu bytes, too short for its magic\n", rd->name, rd->len);
		return -1;
	}
	if (common != GUARD_IMG_COMMON_MAGIC || (magic != GUARD_IMG_MAGIC && magic != GUARD_IMG_MAGIC_OLD)) {
		pr_err("%s: bad magic %#x/%#x, expected %#x/%#x\n", rd->name, common, magic, GUARD_IMG_COMMON_MAGIC,
		       GUARD_IMG_MAGIC);
		return -1;
	}
	return 0;
}

/*
 * Walk the entry sizes before unpacking anything: a cut or an oversized
 * entry is refused naming the entry it hits, and the checks that follow
 * can rely on whole entries.
 */
static int check_framing(const struct img_reader *rd)
{
	struct img_reader walk = *rd;
	const uint8_t *msg;
	uint32_t size;
	int ret;

	while ((ret = get_entry(&walk, &msg, &size, GUARD_IMG_ENTRY_MAX)) == 1)
		;
	return ret;
}

static int check_head(struct img_reader *rd, const GuardHeadEntry *head)
{
	if (head->version < GUARD_IMG_VERSION_MIN || head->version > GUARD_IMG_VERSION) {
		img_err(rd, "version %u, this plugin reads versions %u to %u", head->version, GUARD_IMG_VERSION_MIN,
			GUARD_IMG_VERSION);
		return -1;
	}
	if (head->page_shift != rd->page_shift) {
		img_err(rd, "page shift %u, this system's is %u", head->page_shift, rd->page_shift);
		return -1;
	}
	if (head->version >= GUARD_IMG_VERSION_PID && (!head->has_pid || !head->pid || head->pid > INT32_MAX)) {
		img_err(rd, "version %u records no valid pid", head->version);
		return -1;
	}
	if (head->has_parent && head->parent) {
		if (head->version < GUARD_IMG_VERSION_PARENT) {
			img_err(rd, "version %u cannot be a difference from a parent", head->version);
			return -1;
		}
		if (head->parent > INT32_MAX || head->parent == head->pid) {
			img_err(rd, "parent %u is not another task", head->parent);
			return -1;
		}
		if (!head->has_full_ranges || !head->has_full_pages || head->full_ranges > GUARD_IMG_MAX_RANGES) {
			img_err(rd, "a difference from parent %u without valid totals of the whole set", head->parent);
			return -1;
		}
	}
	/* Every range takes at least two bytes: refuse before allocating */
	if (head->nr_ranges > (rd->len - rd->pos) / 2 || head->nr_ranges > GUARD_IMG_MAX_RANGES) {
		img_err(rd, "%" PRIu64 " ranges, but %zu bytes hold at most %zu (and an image at most %lu)",
			head->nr_ranges, rd->len - rd->pos, (rd->len - rd->pos) / 2, GUARD_IMG_MAX_RANGES);
		return -1;
	}
	return 0;
}

static int read_head(struct img_reader *rd, GuardHeadEntry **head)
{
	ProtobufCAllocator pa = {.alloc = pb_alloc, .free = pb_free, .allocator_data = rd};
	const uint8_t *msg;
	uint32_t size;

	if (get_entry(rd, &msg, &size, GUARD_IMG_ENTRY_MAX) != 1) {
		pr_err("%s: entry 0: no head entry\n", rd->name);
		return -1;
	}
	*head = guard_head_entry__unpack(&pa, size, msg);
	if (!*head) {
		img_err(rd, "%s", rd->oom ? "out of memory unpacking the head" : "malformed head");
		return -1;
	}
	return check_head(rd, *head);
}

static int aligned(const struct img_reader *rd, uint64_t v)
{
	return !(v & ((1ULL << rd->page_shift) - 1));
}

/* Turn a page count into bytes, refusing what would overflow @pos */
static int pages_to_addr(const struct img_reader *rd, uint64_t pos, uint64_t pages, uint64_t *addr)
{
	if (pages > (UINT64_MAX - pos) >> rd->page_shift)
		return -1;
	*addr = pos + (pages << rd->page_shift);
	return 0;
}

static int decode_pairs(struct img_reader *rd, const GuardRangesEntry *e, struct guard_set *s)
{
	uint64_t pos = e->origin, start, end;
	size_t i;

	for (i = 0; i < e->n_pages; i += 2) {
		if (e->pages[i + 1] == 0) {
			img_err(rd, "range %zu is empty", i / 2);
			return -1;
		}
		if (pages_to_addr(rd, pos, e->pages[i], &start) || pages_to_addr(rd, start, e->pages[i + 1], &end)) {
			img_err(rd, "range %zu overflows the address space", i / 2);
			return -1;
		}
		if (guard_set_add(s, start, end)) {
			img_err(rd, "out of memory at range %zu", i / 2);
			return -1;
		}
		rd->nr_pages += e->pages[i + 1];
		rd->nr_ranges++;
		pos = end;
	}
	rd->prev_end = pos;
	return 0;
}

static int check_ranges_entry(struct img_reader *rd, const GuardRangesEntry *e)
{
	if (!e->n_pages || e->n_pages % 2) {
		img_err(rd, "%zu page counts, expected a non-zero even number", e->n_pages);
		return -1;
	}
	if (e->n_pages > 2 * GUARD_IMG_RANGES_PER_ENTRY) {
		img_err(rd, "%zu ranges, more than the %u an entry may hold", e->n_pages / 2, GUARD_IMG_RANGES_PER_ENTRY);
		return -1;
	}
	if (rd->nr_ranges + e->n_pages / 2 > rd->head->nr_ranges) {
		img_err(rd, "brings the ranges to %" PRIu64 ", its head says %" PRIu64, rd->nr_ranges + e->n_pages / 2,
			rd->head->nr_ranges);
		return -1;
	}
	if (!aligned(rd, e->vma_start) || !aligned(rd, e->origin)) {
		img_err(rd, "VMA start %#" PRIx64 " or origin %#" PRIx64 " is not page aligned", e->vma_start, e->origin);
		return -1;
	}
	if (e->origin < e->vma_start || e->origin < rd->prev_end) {
		img_err(rd, "origin %#" PRIx64 " is below its VMA %#" PRIx64 " or the previous range end %#" PRIx64,
			e->origin, e->vma_start, rd->prev_end);
		return -1;
	}
	return 0;
}

static int decode_ranges(struct img_reader *rd, const GuardRangesEntry *e, struct guard_set *s)
{
	const struct guard_group *g = s->nr_groups ? &s->groups[s->nr_groups - 1] : NULL;

	if (check_ranges_entry(rd, e))
		return -1;
	if (!g || g->vma_start != e->vma_start) {
		if (e->vma_start < rd->prev_end || (g && e->vma_start < g->vma_start)) {
			img_err(rd, "VMA %#" PRIx64 " is out of order", e->vma_start);
			return -1;
		}
		if (guard_set_begin_vma(s, e->vma_start)) {
			img_err(rd, "out of memory");
			return -1;
		}
	}
	if (guard_set_begin_entry(s, rd->entry)) {
		img_err(rd, "out of memory");
		return -1;
	}
	return decode_pairs(rd, e, s);
}

/*
 * A removal entry of a difference image goes to s->removed, which keeps
 * its own order: swap in its end of the last range while decoding it.
 */
static int decode_entry(struct img_reader *rd, const GuardRangesEntry *e, struct guard_set *s)
{
	uint64_t prev = rd->prev_end;
	int ret;

	if (!(e->has_remove && e->remove))
		return decode_ranges(rd, e, s);
	if (!s->parent) {
		img_err(rd, "removes ranges, but the image is not a difference from a parent");
		return -1;
	}
	if (!s->removed) {
		s->removed = calloc(1, sizeof(*s->removed));
		if (!s->removed) {
			img_err(rd, "out of memory");
			return -1;
		}
	}
	rd->prev_end = rd->prev_end_rm;
	ret = decode_ranges(rd, e, s->removed);
	rd->prev_end_rm = rd->prev_end;
	rd->prev_end = prev;
	return ret;
}

static int read_ranges(struct img_reader *rd, struct guard_set *s)
{
	ProtobufCAllocator pa = {.alloc = pb_alloc, .free = pb_free, .allocator_data = rd};
	GuardRangesEntry *e;
	const uint8_t *msg;
	uint32_t size;
	int ret;

	while ((ret = get_entry(rd, &msg, &size, GUARD_IMG_ENTRY_MAX)) == 1) {
		e = guard_ranges_entry__unpack(&pa, size, msg);
		if (!e) {
			img_err(rd, "%s (%u bytes)", rd->oom ? "out of memory unpacking it" : "malformed ranges entry",
				size);
			return -1;
		}
		ret = decode_entry(rd, e, s);
		guard_ranges_entry__free_unpacked(e, &pa);
		if (ret)
			return -1;
	}
	return ret;
}

int guard_image_decode(const uint8_t *buf, size_t len, const char *name, unsigned int page_shift,
		       struct guard_set *s)
{
	struct img_reader rd = {.buf = buf, .len = len, .name = name, .page_shift = page_shift};
	ProtobufCAllocator pa = {.alloc = pb_alloc, .free = pb_free, .allocator_data = &rd};
	GuardHeadEntry *head = NULL;
	int ret = -1;

	if (check_magic(&rd) || check_framing(&rd) || read_head(&rd, &head))
		goto out;
	rd.head = head;
	if (head->has_parent && head->parent) {
		s->parent = head->parent;
		s->full_ranges = head->full_ranges;
		s->full_pages = head->full_pages;
	}
	/* Room for all ranges at once: check_head() bounded the count by @len */
	if (guard_ranges_reserve(&s->ranges, head->nr_ranges)) {
		pr_err("%s: entry 0: no memory for %" PRIu64 " ranges\n", name, head->nr_ranges);
		goto out;
	}
	if (read_ranges(&rd, s))
		goto out;

	if (rd.nr_ranges != head->nr_ranges || rd.nr_pages != head->nr_pages) {
		pr_err("%s: entry 0: holds %" PRIu64 " ranges of %" PRIu64 " pages, its head says %" PRIu64
		       " of %" PRIu64 "\n",
		       name, rd.nr_ranges, rd.nr_pages, head->nr_ranges, head->nr_pages);
		goto out;
	}
	s->pid = head->version >= GUARD_IMG_VERSION_PID ? (int)head->pid : 0;
	ret = 0;
out:
	if (head)
		guard_head_entry__free_unpacked(head, &pa);
	if (ret)
		guard_set_free(s);
	return ret;
}

/* Returns 0, or -1 with errno set */
static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0) {
			/* No progress and no error: retrying would spin forever */
			errno = EIO;
			return -1;
		}
		p += n;
		len -= n;
	}
	return 0;
}

static const char *file_type(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFLNK:
		return "a symlink";
	case S_IFIFO:
		return "a FIFO";
	case S_IFDIR:
		return "a directory";
	case S_IFSOCK:
		return "a socket";
	case S_IFCHR:
	case S_IFBLK:
		return "a device";
	}
	return "not a regular file";
}

/*
 * Make room for a new @name: a regular file (an earlier dump's image) is
 * replaced, anything else is refused rather than written through.
 */
static int clear_name(int dirfd, const char *name)
{
	struct stat st;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW)) {
		if (errno == ENOENT)
			return 0;
		pr_perror("Can't stat %s", name);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		pr_err("%s exists and is %s: refusing to write the image through it\n", name, file_type(st.st_mode));
		return -1;
	}
	if (unlinkat(dirfd, name, 0) && errno != ENOENT) {
		pr_perror("Can't replace %s", name);
		return -1;
	}
	return 0;
}

static int write_file(int dirfd, const char *name, const struct guard_buf *b)
{
	const int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
	int fd;

	/*
	 * O_EXCL: whatever is under the name is not ours to write into. CRIU's
	 * own images are 0644 (CR_FD_PERM): a restore into a user namespace
	 * reads them as a user that does not own them. The name is usually
	 * free (a fresh images directory): only when it is taken is it
	 * checked and cleared, which keeps a syscall out of the freeze window.
	 */
	fd = openat(dirfd, name, flags, 0644);
	if (fd < 0 && errno == EEXIST) {
		if (clear_name(dirfd, name))
			return -1;
		fd = openat(dirfd, name, flags, 0644);
	}
	if (fd < 0) {
		pr_perror("Can't create %s", name);
		return -1;
	}
	if (write_all(fd, b->data, b->len)) {
		pr_perror("Can't write %zu bytes to %s", b->len, name);
		goto err;
	}
	if (close(fd)) {
		fd = -1;
		pr_perror("Can't close %s", name);
		goto err;
	}
	return 0;
err:
	if (fd >= 0)
		close(fd);
	/* A partial image must not be mistaken for a whole one */
	unlinkat(dirfd, name, 0);
	return -1;
}

int guard_image_write(int dirfd, int vpid, const struct guard_set *s, unsigned int page_shift, size_t *bytes,
		      uint64_t *pages)
{
	struct guard_buf b = {};
	char name[GUARD_IMG_NAME_MAX];
	int ret = -1;

	guard_image_name(name, sizeof(name), vpid);
	*pages = guard_ranges_pages(&s->ranges, page_shift);
	if (encode(s, page_shift, *pages, &b)) {
		pr_err("%s: out of memory encoding %zu ranges\n", name, s->ranges.nr);
		goto out;
	}
	if (write_file(dirfd, name, &b))
		goto out;
	if (s->parent)
		*pages = s->full_pages;
	*bytes = b.len;
	ret = 0;
out:
	guard_buf_free(&b);
	return ret;
}

static int read_all(int fd, const char *name, size_t size, struct guard_buf *b)
{
	ssize_t n;

	if (!guard_buf_reserve(b, size ? size : 1)) {
		pr_err("%s: no memory for its %zu bytes\n", name, size);
		return -1;
	}
	while (b->len < size) {
		n = read(fd, b->data + b->len, size - b->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			pr_perror("Can't read %s", name);
			return -1;
		}
		if (n == 0) {
			pr_err("%s: shrank to %zu bytes while being read (was %zu)\n", name, b->len, size);
			return -1;
		}
		b->len += n;
	}
	return 0;
}

int guard_file_read(int dirfd, const char *name, size_t max, struct guard_buf *b)
{
	struct stat st;
	int fd, ret = -1;

	/* O_NONBLOCK: opening a FIFO must not wait for a writer */
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return -ENOENT;
		if (errno == ELOOP)
			pr_err("%s is a symlink: refusing to read an image through it\n", name);
		else
			pr_perror("Can't open %s", name);
		return -1;
	}
	if (fstat(fd, &st)) {
		pr_perror("Can't stat %s", name);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		pr_err("%s is %s: refusing to read it as an image\n", name, file_type(st.st_mode));
		goto out;
	}
	if ((uint64_t)st.st_size > max) {
		pr_err("%s: %lld bytes, more than the %zu an image may have\n", name, (long long)st.st_size, max);
		goto out;
	}
	ret = read_all(fd, name, st.st_size, b);
out:
	close(fd);
	return ret;
}

int guard_image_read(int dirfd, int vpid, unsigned int page_shift, struct guard_set *s)
{
	struct guard_buf b = {};
	char name[GUARD_IMG_NAME_MAX];
	int ret;

	guard_image_name(name, sizeof(name), vpid);
	ret = guard_file_read(dirfd, name, GUARD_IMG_MAX_SIZE, &b);
	if (!ret)
		ret = guard_image_decode(b.data, b.len, name, page_shift, s);
	guard_buf_free(&b);
	if (ret)
		return ret;

	/* An image copied from another task would restore the wrong guards */
	if (s->pid && s->pid != vpid) {
		pr_err("%s: entry 0: records pid %d, not %d: it belongs to another task\n", name, s->pid, vpid);
		guard_set_free(s);
		return -1;
	}
	if (!s->pid)
		pr_info("%s: version 1 image, it records no pid to check\n", name);
	return 0;
}
