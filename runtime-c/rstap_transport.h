/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rstap runtime: the transport between the module and staprun.
 *
 * Input: framed messages written by probe handlers (any context but NMI).
 * Output: a byte stream read by staprun from /proc/rstap_<module>; each
 * message is a struct rstap_msg_header followed by len bytes of payload.
 * Invariants: a message is written whole or not at all (a message that does
 * not fit is dropped and counted); the reader never sleeps holding the ring
 * lock; writers never sleep and never wake anybody (the reader polls), so a
 * probe in the scheduler cannot deadlock on the transport.
 */
#ifndef RSTAP_TRANSPORT_H
#define RSTAP_TRANSPORT_H

enum rstap_msg_type {
	RSTAP_MSG_OUTPUT = 1,	/* script output, for stdout (or -o FILE) */
	RSTAP_MSG_STDERR = 2,	/* ERROR:/WARNING: lines, for stderr */
	RSTAP_MSG_EXIT = 3,	/* the script asked to stop (exit(), errors) */
	RSTAP_MSG_DONE = 4,	/* end probes ran; payload: counters as text */
};

struct rstap_msg_header {
	u32 type;
	u32 len;
};

static struct {
	raw_spinlock_t lock;
	char *buf;
	u64 head;		/* total bytes ever written */
	u64 tail;		/* total bytes ever read */
	atomic_t dropped;	/* messages that did not fit */
	char *bounce;		/* reader's copy, outside the lock */
	struct mutex read_mutex;
	int done;		/* DONE was queued: EOF once drained */
	atomic_t exit_pending;	/* an EXIT notice for the reader */
} rstap_ring;

/*
 * Script output may not fill the last part of the ring: it is kept for
 * error messages and DONE, so that they survive an output flood.
 */
#define RSTAP_RING_RESERVE (RSTAP_RING_BUFSIZE / 8)

#define RSTAP_BOUNCE_SIZE 65536

static __maybe_unused int rstap_ring_init(void)
{
	raw_spin_lock_init(&rstap_ring.lock);
	mutex_init(&rstap_ring.read_mutex);
	rstap_ring.buf = vzalloc(RSTAP_RING_BUFSIZE);
	rstap_ring.bounce = vzalloc(RSTAP_BOUNCE_SIZE);
	if (!rstap_ring.buf || !rstap_ring.bounce) {
		vfree(rstap_ring.buf);
		vfree(rstap_ring.bounce);
		return -ENOMEM;
	}
	return 0;
}

static __maybe_unused void rstap_ring_free(void)
{
	vfree(rstap_ring.buf);
	vfree(rstap_ring.bounce);
	rstap_ring.buf = NULL;
	rstap_ring.bounce = NULL;
}

static __maybe_unused void rstap_ring_copy_in(u64 pos, const void *src, size_t len)
{
	size_t off = pos & (RSTAP_RING_BUFSIZE - 1);
	size_t first = min_t(size_t, len, RSTAP_RING_BUFSIZE - off);

	memcpy(rstap_ring.buf + off, src, first);
	if (len > first)
		memcpy(rstap_ring.buf, (const char *)src + first, len - first);
}

/*
 * Asks staprun to stop. This never goes through the ring, so a full ring
 * cannot lose it: the reader hands out the EXIT notice itself.
 */
static __maybe_unused void rstap_ring_notify_exit(void)
{
	atomic_set(&rstap_ring.exit_pending, 1);
}

/* Queues one message; returns 0, or -ENOSPC when it was dropped. */
static __maybe_unused int rstap_ring_write(u32 type, const char *data, size_t len)
{
	struct rstap_msg_header h = { .type = type, .len = (u32)len };
	unsigned long flags;
	int rc = 0;

	raw_spin_lock_irqsave(&rstap_ring.lock, flags);
	if (RSTAP_RING_BUFSIZE - (rstap_ring.head - rstap_ring.tail) <
	    sizeof(h) + len + (type == RSTAP_MSG_OUTPUT ? RSTAP_RING_RESERVE : 0)) {
		atomic_inc(&rstap_ring.dropped);
		rc = -ENOSPC;
		goto out_unlock;
	}
	rstap_ring_copy_in(rstap_ring.head, &h, sizeof(h));
	rstap_ring_copy_in(rstap_ring.head + sizeof(h), data, len);
	rstap_ring.head += sizeof(h) + len;
	if (type == RSTAP_MSG_DONE)
		rstap_ring.done = 1;
out_unlock:
	raw_spin_unlock_irqrestore(&rstap_ring.lock, flags);
	return rc;
}

/* Copies up to max bytes out of the ring into the bounce buffer. */
static __maybe_unused size_t rstap_ring_take(size_t max, int *done)
{
	unsigned long flags;
	size_t n, off, first;

	raw_spin_lock_irqsave(&rstap_ring.lock, flags);
	n = min_t(u64, rstap_ring.head - rstap_ring.tail, max);
	off = rstap_ring.tail & (RSTAP_RING_BUFSIZE - 1);
	first = min_t(size_t, n, RSTAP_RING_BUFSIZE - off);
	memcpy(rstap_ring.bounce, rstap_ring.buf + off, first);
	if (n > first)
		memcpy(rstap_ring.bounce + first, rstap_ring.buf, n - first);
	rstap_ring.tail += n;
	*done = rstap_ring.done && rstap_ring.head == rstap_ring.tail;
	raw_spin_unlock_irqrestore(&rstap_ring.lock, flags);
	return n;
}

/*
 * read(2) on the proc file: blocks (polling every 20 ms) until there is
 * output, returns 0 once DONE has been read, -EINTR on a signal.
 */
static __maybe_unused ssize_t rstap_proc_read(struct file *file, char __user *ubuf,
			       size_t count, loff_t *ppos)
{
	ssize_t rc;
	size_t n;
	int done = 0;

	if (mutex_lock_interruptible(&rstap_ring.read_mutex))
		return -EINTR;
	for (;;) {
		if (count >= sizeof(struct rstap_msg_header) &&
		    atomic_xchg(&rstap_ring.exit_pending, 0)) {
			struct rstap_msg_header h = { .type = RSTAP_MSG_EXIT, .len = 0 };

			rc = copy_to_user(ubuf, &h, sizeof(h)) ? -EFAULT : (ssize_t)sizeof(h);
			goto out_unlock;
		}
		n = rstap_ring_take(min_t(size_t, count, RSTAP_BOUNCE_SIZE), &done);
		if (n > 0) {
			rc = copy_to_user(ubuf, rstap_ring.bounce, n) ? -EFAULT : (ssize_t)n;
			goto out_unlock;
		}
		if (done) {
			rc = 0;
			goto out_unlock;
		}
		if (signal_pending(current)) {
			rc = -EINTR;
			goto out_unlock;
		}
		schedule_timeout_interruptible(msecs_to_jiffies(20));
	}
out_unlock:
	mutex_unlock(&rstap_ring.read_mutex);
	return rc;
}

static __maybe_unused int rstap_start(void);
static __maybe_unused void rstap_stop(void);

/* write(2) on the proc file: "start" or "stop" from staprun. */
static __maybe_unused ssize_t rstap_proc_write(struct file *file, const char __user *ubuf,
				size_t count, loff_t *ppos)
{
	char cmd[16];
	size_t n = min_t(size_t, count, sizeof(cmd) - 1);
	int rc;

	if (copy_from_user(cmd, ubuf, n))
		return -EFAULT;
	cmd[n] = '\0';
	if (n > 0 && cmd[n - 1] == '\n')
		cmd[n - 1] = '\0';
	if (strcmp(cmd, "start") == 0) {
		rc = rstap_start();
		return rc ? rc : (ssize_t)count;
	}
	if (strcmp(cmd, "stop") == 0) {
		rstap_stop();
		return count;
	}
	return -EINVAL;
}

static const struct proc_ops rstap_proc_ops = {
	.proc_read = rstap_proc_read,
	.proc_write = rstap_proc_write,
	.proc_lseek = noop_llseek,
};

#endif /* RSTAP_TRANSPORT_H */
