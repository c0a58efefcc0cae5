// SPDX-FileCopyrightText: 2026 The ASIOS Authors
// SPDX-License-Identifier: MIT
//
// Model-loading reader: reads whole files (model shards) as fast as the storage allows and reports GB/s.
//   loader [--mode uring|buffered] [--block KIB] [--depth N] FILE...
// uring (default): io_uring with registered buffers and registered files, O_DIRECT, DEPTH reads in flight
// spread over all files at once (a loader reads many shards in parallel); each buffer is reused as soon as its
// read completes. buffered: what a naive loader does — read(2) of each file in turn through the page cache,
// BLOCK at a time. Prints one JSON object: bytes, seconds, GB/s.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

struct file {
	int fd;
	off_t size, next; /* bytes in the file, offset of the next read to issue */
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int open_all(struct file *f, char **paths, int n, int flags)
{
	for (int i = 0; i < n; i++) {
		struct stat st;

		f[i].fd = open(paths[i], O_RDONLY | O_CLOEXEC | flags);
		if (f[i].fd < 0 || fstat(f[i].fd, &st) < 0) {
			fprintf(stderr, "loader: %s: %s\n", paths[i], strerror(errno));
			return -1;
		}
		f[i].size = st.st_size;
		f[i].next = 0;
	}
	return 0;
}

static long long read_buffered(struct file *f, int n, size_t block)
{
	char *buf = malloc(block);
	long long total = 0;

	if (!buf)
		return -ENOMEM;
	for (int i = 0; i < n; i++) {
		for (;;) {
			ssize_t r = read(f[i].fd, buf, block);

			if (r < 0) {
				free(buf);
				return -errno;
			}
			if (r == 0)
				break;
			total += r;
		}
	}
	free(buf);
	return total;
}

/* the next file with bytes left to request, round robin from *cursor */
static int next_file(struct file *f, int n, int *cursor)
{
	for (int k = 0; k < n; k++) {
		int i = (*cursor + k) % n;

		if (f[i].next < f[i].size) {
			*cursor = (i + 1) % n;
			return i;
		}
	}
	return -1;
}

static int queue_read(struct io_uring *ring, struct file *f, int n, int *cursor, int slot, char *buf,
		      size_t block)
{
	int i = next_file(f, n, cursor);
	struct io_uring_sqe *sqe;

	if (i < 0)
		return 0;
	sqe = io_uring_get_sqe(ring);
	if (!sqe)
		return -EBUSY;
	/* O_DIRECT: whole blocks; the last read of a file returns short */
	io_uring_prep_read_fixed(sqe, i, buf, (unsigned)block, (unsigned long long)f[i].next, slot);
	sqe->flags |= IOSQE_FIXED_FILE;
	io_uring_sqe_set_data64(sqe, (unsigned long long)slot);
	f[i].next += (off_t)block;
	return 1;
}

static long long read_uring(struct file *f, int n, size_t block, unsigned depth)
{
	struct io_uring ring;
	struct iovec *iov = calloc(depth, sizeof(*iov));
	int *fds = calloc((size_t)n, sizeof(*fds));
	long long total = 0;
	int r, inflight = 0, cursor = 0;

	if (!iov || !fds) {
		free(iov);
		free(fds);
		return -ENOMEM;
	}
	r = io_uring_queue_init(depth, &ring, 0);
	if (r < 0) {
		free(iov);
		free(fds);
		return r;
	}
	for (unsigned s = 0; s < depth; s++) {
		iov[s].iov_len = block;
		if (posix_memalign(&iov[s].iov_base, 4096, block)) {
			r = -ENOMEM;
			goto out;
		}
	}
	for (int i = 0; i < n; i++)
		fds[i] = f[i].fd;
	r = io_uring_register_buffers(&ring, iov, depth);
	if (r == 0)
		r = io_uring_register_files(&ring, fds, (unsigned)n);
	if (r < 0)
		goto out;
	for (unsigned s = 0; s < depth; s++) {
		r = queue_read(&ring, f, n, &cursor, (int)s, iov[s].iov_base, block);
		if (r < 0)
			goto out;
		inflight += r;
	}
	while (inflight > 0) {
		struct io_uring_cqe *cqe;
		int slot;

		r = io_uring_submit_and_wait(&ring, 1);
		if (r < 0)
			goto out;
		r = io_uring_wait_cqe(&ring, &cqe);
		if (r < 0)
			goto out;
		slot = (int)io_uring_cqe_get_data64(cqe);
		if (cqe->res < 0) {
			r = cqe->res;
			io_uring_cqe_seen(&ring, cqe);
			goto out;
		}
		total += cqe->res;
		io_uring_cqe_seen(&ring, cqe);
		inflight--;
		r = queue_read(&ring, f, n, &cursor, slot, iov[slot].iov_base, block);
		if (r < 0)
			goto out;
		inflight += r;
	}
	r = 0;
out:
	io_uring_queue_exit(&ring);
	for (unsigned s = 0; s < depth; s++)
		free(iov[s].iov_base);
	free(iov);
	free(fds);
	return r < 0 ? r : total;
}

int main(int argc, char **argv)
{
	const char *mode = "uring";
	size_t block = 1 << 20;
	unsigned depth = 32;
	int i, n;
	struct file *f;
	long long bytes, want = 0;
	double t0, t;
	int rc = 0;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--mode") && i + 1 < argc)
			mode = argv[++i];
		else if (!strcmp(argv[i], "--block") && i + 1 < argc)
			block = strtoul(argv[++i], NULL, 10) << 10;
		else if (!strcmp(argv[i], "--depth") && i + 1 < argc)
			depth = (unsigned)strtoul(argv[++i], NULL, 10);
		else
			break;
	}
	n = argc - i;
	if (n < 1 || (strcmp(mode, "uring") && strcmp(mode, "buffered")) || block < 4096 || block % 4096 ||
	    depth < 1 || depth > 4096) {
		fprintf(stderr, "usage: loader [--mode uring|buffered] [--block KIB (multiple of 4)] "
				"[--depth 1-4096] FILE...\n");
		return 2;
	}
	f = calloc((size_t)n, sizeof(*f));
	if (!f) {
		fprintf(stderr, "loader: out of memory\n");
		return 1;
	}
	for (int k = 0; k < n; k++)
		f[k].fd = -1;
	if (open_all(f, argv + i, n, strcmp(mode, "uring") ? 0 : O_DIRECT) < 0) {
		rc = 1;
		goto out;
	}
	t0 = now();
	bytes = strcmp(mode, "uring") ? read_buffered(f, n, block) : read_uring(f, n, block, depth);
	t = now() - t0;
	if (bytes < 0) {
		fprintf(stderr, "loader: %s read: %s\n", mode, strerror((int)-bytes));
		rc = 1;
		goto out;
	}
	for (int k = 0; k < n; k++)
		want += f[k].size;
	if (bytes != want) {
		fprintf(stderr, "loader: read %lld bytes of %lld\n", bytes, want);
		rc = 1;
		goto out;
	}
	printf("{\"mode\": \"%s\", \"files\": %d, \"bytes\": %lld, \"seconds\": %.4f, \"gbs\": %.3f}\n", mode, n,
	       bytes, t, (double)bytes / t / 1e9);
out:
	for (int k = 0; k < n; k++)
		if (f[k].fd >= 0)
			close(f[k].fd);
	free(f);
	return rc;
}
