/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rstap runtime: the transport between the module and staprun.
 *
 * Input: framed messages written by probe handlers (any context but NMI).
 * Output: a byte stream read by staprun from /proc/rstap_<module>; each
 * message is a struct rstap_msg_header followed by len bytes of payload.
 * Invariants: a message is written whole or not at all (a message that does
 * not fit is dropped and counted); a read(2) hands out whole messages, and
 * splits one only when the reader's buffer is smaller than it (the rest
 * comes first in the next reads); the EXIT notice is handed out only between
 * messages, never inside one. The reader never sleeps holding the ring
 * lock; writers never sleep and never wake anybody (the reader polls), so a
 * probe in the scheduler cannot deadlock on the transport. The ring lock is
 * never taken twice on one CPU: a probe that fires while its CPU is inside
 * the ring's critical section (a kprobe on something the ring calls, or on
 * the lock's own code) drops its message and counts it instead of spinning.
 * One reader at a time may open the proc file; when it closes it (staprun
 * exits or is killed), the script is stopped and its probes disarmed.
 */
#ifndef RSTAP_TRANSPORT_H
#define RSTAP_TRANSPORT_H

enum rstap_msg_type {
	RSTAP_MSG_OUTPUT = 1,	/* script output, for stdout (or -o FILE) */
	RSTAP_MSG_STDERR = 2,	/* ERROR:/WARNING: lines, for stderr */
	RSTAP_MSG_EXIT = 3,	/* the script asked to stop (exit(), errors) */
	RSTAP_MSG_DONE = 4,	/* end probes ran; payload: counters as text */
	/* 5 is system.stp's RSTAP_MSG_SYSTEM */
	RSTAP_MSG_SWITCH = 6,	/* switch_file(): later output to the next -o file */
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
	u32 partial;		/* bytes of a split message still to hand out */
	atomic_t reader_open;	/* staprun holds the proc file open */
	atomic_t reader_gone;	/* ... and has closed it: nobody drains */
} rstap_ring;

/* Set while this CPU is inside the ring's critical section. */
static DEFINE_PER_CPU(int, rstap_ring_cpu_busy);

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
	rstap_ring.buf = rstap_vzalloc(RSTAP_RING_BUFSIZE);
	rstap_ring.bounce = rstap_vzalloc(RSTAP_BOUNCE_SIZE);
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

static __maybe_unused void rstap_ring_copy_out(u64 pos, void *dst, size_t len)
{
	size_t off = pos & (RSTAP_RING_BUFSIZE - 1);
	size_t first = min_t(size_t, len, RSTAP_RING_BUFSIZE - off);

	memcpy(dst, rstap_ring.buf + off, first);
	if (len > first)
		memcpy((char *)dst + first, rstap_ring.buf, len - first);
}

/*
 * Enters the ring's critical section with interrupts off; returns 0 (and
 * leaves interrupts as they were) when this CPU is already inside it.
 */
static __maybe_unused int rstap_ring_lock(unsigned long *flags)
{
	local_irq_save(*flags);
	if (unlikely(this_cpu_read(rstap_ring_cpu_busy))) {
		local_irq_restore(*flags);
		return 0;
	}
	this_cpu_write(rstap_ring_cpu_busy, 1);
	raw_spin_lock(&rstap_ring.lock);
	return 1;
}

static __maybe_unused void rstap_ring_unlock(unsigned long flags)
{
	raw_spin_unlock(&rstap_ring.lock);
	this_cpu_write(rstap_ring_cpu_busy, 0);
	local_irq_restore(flags);
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

	if (!rstap_ring_lock(&flags)) {
		atomic_inc(&rstap_ring.dropped);
		return -EDEADLK;
	}
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
	rstap_ring_unlock(flags);
	return rc;
}

/*
 * How many bytes from the tail a read of at most max bytes may take: the
 * rest of a split message, else as many whole messages as fit, else (the
 * first message is larger than max) the first max bytes of it.
 */
static size_t rstap_ring_take_len(size_t max)
{
	u64 avail = rstap_ring.head - rstap_ring.tail;
	struct rstap_msg_header h;
	size_t n = 0, msg;

	if (rstap_ring.partial)
		return min_t(size_t, rstap_ring.partial, max);
	while (avail - n >= sizeof(h)) {
		rstap_ring_copy_out(rstap_ring.tail + n, &h, sizeof(h));
		msg = sizeof(h) + h.len;
		if (n + msg <= max) {
			n += msg;
			continue;
		}
		if (n == 0)
			n = max;
		break;
	}
	return n;
}

/* Copies what a read of at most max bytes may take into the bounce buffer. */
static __maybe_unused size_t rstap_ring_take(size_t max, int *done)
{
	unsigned long flags;
	size_t n;

	if (!rstap_ring_lock(&flags))
		return 0;
	n = rstap_ring_take_len(max);
	if (rstap_ring.partial) {
		rstap_ring.partial -= n;
	} else if (n > 0) {
		struct rstap_msg_header h;
		size_t whole = 0;

		/* The last message of the read may be the start of a split one. */
		while (whole < n) {
			rstap_ring_copy_out(rstap_ring.tail + whole, &h, sizeof(h));
			if (whole + sizeof(h) + h.len > n) {
				rstap_ring.partial = whole + sizeof(h) + h.len - n;
				break;
			}
			whole += sizeof(h) + h.len;
		}
	}
	rstap_ring_copy_out(rstap_ring.tail, rstap_ring.bounce, n);
	rstap_ring.tail += n;
	*done = rstap_ring.done && rstap_ring.head == rstap_ring.tail;
	rstap_ring_unlock(flags);
	return n;
}

/*
 * read(2) on the proc file: blocks (polling every 20 ms) until there is
 * output, returns 0 once DONE has been read, -EINTR on a signal, -EINVAL
 * for a buffer smaller than a message header.
 */
static __maybe_unused ssize_t rstap_proc_read(struct file *file, char __user *ubuf,
			       size_t count, loff_t *ppos)
{
	ssize_t rc;
	size_t n;
	int done = 0;

	/* A message header never straddles two reads. */
	if (count < sizeof(struct rstap_msg_header))
		return -EINVAL;
	if (mutex_lock_interruptible(&rstap_ring.read_mutex))
		return -EINTR;
	for (;;) {
		/* EXIT goes between messages: never while one is half read. */
		if (count >= sizeof(struct rstap_msg_header) && !rstap_ring.partial &&
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

/* open(2): one reader at a time (a second staprun gets EBUSY). */
static __maybe_unused int rstap_proc_open(struct inode *inode, struct file *file)
{
	if (atomic_cmpxchg(&rstap_ring.reader_open, 0, 1) != 0)
		return -EBUSY;
	atomic_set(&rstap_ring.reader_gone, 0);
	return 0;
}

/*
 * The last close of the proc file: staprun is done, or was killed. Nobody
 * will drain the ring any more, so the script is stopped and its probes
 * disarmed now, not when somebody unloads the module.
 */
static __maybe_unused int rstap_proc_release(struct inode *inode, struct file *file)
{
	atomic_set(&rstap_ring.reader_gone, 1);
	rstap_stop();
	atomic_set(&rstap_ring.reader_open, 0);
	return 0;
}

static const struct proc_ops rstap_proc_ops = {
	.proc_open = rstap_proc_open,
	.proc_release = rstap_proc_release,
	.proc_read = rstap_proc_read,
	.proc_write = rstap_proc_write,
	.proc_lseek = noop_llseek,
};

#endif /* RSTAP_TRANSPORT_H */
