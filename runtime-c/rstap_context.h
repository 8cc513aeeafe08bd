/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rstap runtime: session state, per-CPU probe contexts, errors and limits.
 *
 * Input: the generated module's probe handlers, which bracket their body
 * with rstap_enter() / rstap_leave(). Output: a context with a fresh action
 * budget and print buffer, or NULL when the probe must be skipped (wrong
 * session state, reentrancy). Invariants: a context is used by one handler at
 * a time (the busy count; a hit while it is busy is skipped and counted
 * against MAXSKIPPED); handlers run with preemption disabled; the first
 * error of a handler is kept and reported once by rstap_leave(). Every
 * statement, loop iteration and O(n) helper is charged against the budget
 * (rstap_action, RSTAP_LOOP_ITER, rstap_charge); script function calls are
 * bounded by MAXNESTING and by RSTAP_STACK_BUDGET bytes of kernel stack.
 * Whatever MAXACTION allows, a handler also ends (with an error) once it
 * has run for RSTAP_HANDLER_MAX_MS: an action is not a unit of time (a
 * sort or a statistic merge of 64 entries is one), and a handler with the
 * largest MAXACTION must still end long before the kernel's RCU-stall and
 * soft-lockup detectors (21 s and 20 s by default) fire.
 */
#ifndef RSTAP_CONTEXT_H
#define RSTAP_CONTEXT_H

enum rstap_state {
	RSTAP_STARTING,	/* begin probes run */
	RSTAP_RUNNING,	/* every other probe runs */
	RSTAP_STOPPING,	/* exit() was called; only end probes run */
	RSTAP_STOPPED,
};

static atomic_t rstap_state = ATOMIC_INIT(RSTAP_STARTING);
static atomic_t rstap_error_count = ATOMIC_INIT(0);
static atomic_t rstap_skipped_count = ATOMIC_INIT(0);
static atomic_t rstap_exit_sent = ATOMIC_INIT(0);
/* print/printf output cut because it did not fit the print buffer. */
static atomic_t rstap_truncated_count = ATOMIC_INIT(0);

/* -c CMD / -x PID: the target process, set by staprun at load time. */
static long rstap_target;
module_param(rstap_target, long, 0444);
MODULE_PARM_DESC(rstap_target, "pid of the -c/-x target process");

struct rstap_context_base {
	local_t busy;			/* this CPU's handlers only: no lock prefix */
	const char *probe_point;
	struct pt_regs *regs;
	long actionremaining;
	const char *action_loc;		/* the statement being run */
	u64 clock_start;		/* local_clock() at the first time check, 0 before */
	unsigned long stack_top;	/* the handler's stack position */
	int nesting;
	int nexted;			/* STAP_NEXT ran (rstap_embedded.h) */
	const char *last_error;		/* NULL while all is well */
	const char *error_location;	/* "operator '/' at <input>:1:30" */
	char error_buf[MAXSTRINGLEN];
	struct rstap_regex_last regex;	/* the last =~ (rstap_regex.h) */
	size_t print_len;
	char print_buf[RSTAP_PRINT_BUFSIZE];
};

static struct rstap_context_base *rstap_contexts[NR_CPUS];

static __maybe_unused int rstap_contexts_alloc(size_t size)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		rstap_contexts[cpu] = rstap_vzalloc(size);
		if (!rstap_contexts[cpu])
			return -ENOMEM;
	}
	return 0;
}

static __maybe_unused void rstap_contexts_free(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		vfree(rstap_contexts[cpu]);
		rstap_contexts[cpu] = NULL;
	}
}

/* Tells staprun to stop the script; safe from any probe context. */
static __maybe_unused void rstap_request_exit(void)
{
	atomic_cmpxchg(&rstap_state, RSTAP_RUNNING, RSTAP_STOPPING);
	atomic_cmpxchg(&rstap_state, RSTAP_STARTING, RSTAP_STOPPING);
	if (atomic_xchg(&rstap_exit_sent, 1) == 0)
		rstap_ring_notify_exit();
}

/*
 * Sends one line to staprun's stderr. The line lives on the stack, so its
 * size is fixed (not MAXSTRINGLEN): longer lines are cut.
 */
#define RSTAP_STDERR_LINE 512
#ifndef RSTAP_SUPPRESS_WARNINGS
#define RSTAP_SUPPRESS_WARNINGS 0	/* stap -w */
#endif
static __maybe_unused __printf(1, 2) void rstap_stderr(const char *fmt, ...)
{
	char line[RSTAP_STDERR_LINE];
	va_list ap;
	int n;

	/* man stap: -w disables all warning messages, the runtime's too. */
	if (RSTAP_SUPPRESS_WARNINGS && !strncmp(fmt, "WARNING", 7))
		return;
	va_start(ap, fmt);
	n = vscnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	rstap_ring_write(RSTAP_MSG_STDERR, line, n);
}

/*
 * Queues DONE with the session's counters for staprun. DONE must not be
 * lost: while a reader is there, give it time to drain a full ring; with
 * no reader (its file was closed) there is nobody to wait for.
 */
static __maybe_unused void rstap_send_done(void)
{
	char done[128];
	int n, tries;

	n = scnprintf(done, sizeof(done), "errors=%d skipped=%d dropped=%d truncated=%d nowarn=%d",
		      atomic_read(&rstap_error_count),
		      atomic_read(&rstap_skipped_count),
		      atomic_read(&rstap_ring.dropped),
		      atomic_read(&rstap_truncated_count), RSTAP_SUPPRESS_WARNINGS);
	for (tries = 0; tries < 500; tries++) {
		if (rstap_ring_write(RSTAP_MSG_DONE, done, n) == 0)
			break;
		atomic_dec(&rstap_ring.dropped);
		if (atomic_read(&rstap_ring.reader_gone))
			break;
		msleep(10);
	}
}

/* Why the kernel refused to register a probe, for the user. */
static __maybe_unused const char *rstap_register_error(int rc)
{
	switch (rc) {
	case -ENOENT:
		return "no such symbol in the running kernel";
	case -EINVAL:
		return "the kernel does not allow probing there (kprobe blacklist, or not an instruction boundary)";
	case -EILSEQ:
		return "the address is not on an instruction boundary";
	case -EBUSY:
		return "the address is already used by another probe mechanism";
	case -ENOMEM:
		return "out of memory";
	default:
		return "the kernel refused it";
	}
}

/* Records the handler's first error; the handler then unwinds to out. */
static __maybe_unused void rstap_error(struct rstap_context_base *c, const char *msg,
			const char *location)
{
	if (c->last_error)
		return;
	strscpy(c->error_buf, msg, MAXSTRINGLEN);
	c->last_error = c->error_buf;
	c->error_location = location;
}

static __maybe_unused void rstap_skip_probe(void)
{
	if (atomic_inc_return(&rstap_skipped_count) == MAXSKIPPED + 1) {
		rstap_stderr("ERROR: Skipped too many probes, check MAXSKIPPED or try again with stap -t for more details.\n");
		rstap_request_exit();
	}
}

/*
 * Starts a probe handler if the session is in state `when`; returns NULL
 * when the handler must not run. Call with preemption disabled.
 */
static inline struct rstap_context_base *rstap_enter(int when, const char *pp,
						     struct pt_regs *regs,
						     long budget)
{
	struct rstap_context_base *c;

	if (atomic_read(&rstap_state) != when)
		return NULL;
	c = rstap_contexts[smp_processor_id()];
	if (unlikely(!c))
		return NULL;
	/*
	 * The context is this CPU's and preemption is off: only an interrupt
	 * or NMI on this CPU can race, and local_t's single instruction is
	 * atomic against those.
	 */
	if (unlikely(local_inc_return(&c->busy) != 1)) {
		/* A probe hit inside another handler on this CPU. */
		local_dec(&c->busy);
		rstap_skip_probe();
		return NULL;
	}
	c->probe_point = pp;
	c->stack_top = (unsigned long)&c;
	c->action_loc = NULL;
	c->regs = regs;
	c->actionremaining = budget;
	c->clock_start = 0;
	c->nesting = 0;
	c->last_error = NULL;
	c->error_location = NULL;
	c->regex.state = 0;
	c->print_len = 0;
	return c;
}

/* Ships the print buffer in pieces small enough for any ring size. */
static __maybe_unused void rstap_flush(struct rstap_context_base *c)
{
	size_t off = 0;

	while (off < c->print_len) {
		size_t n = min_t(size_t, c->print_len - off, RSTAP_RING_BUFSIZE / 4);

		rstap_ring_write(RSTAP_MSG_OUTPUT, c->print_buf + off, n);
		off += n;
	}
	c->print_len = 0;
}

static inline void rstap_leave(struct rstap_context_base *c)
{
	if (c->print_len)
		rstap_flush(c);
	if (unlikely(c->last_error)) {
		if (c->error_location)
			rstap_stderr("ERROR: %s near %s\n", c->last_error,
				     c->error_location);
		else
			rstap_stderr("ERROR: %s\n", c->last_error);
		if (atomic_inc_return(&rstap_error_count) > MAXERRORS)
			rstap_request_exit();
	}
	local_dec(&c->busy);
}

/*
 * The time ceiling of one handler. The clock starts at the first check
 * (after RSTAP_CLOCK_EVERY actions, or at the first O(n) helper), so a
 * short handler never reads it; what runs before that first check is
 * bounded by the actions it took.
 */
#define RSTAP_HANDLER_MAX_MS 4000
#define RSTAP_CLOCK_EVERY 1024

/* 1 (after recording the error) when the handler has run too long. */
static __maybe_unused noinline int rstap_ran_too_long(struct rstap_context_base *c, const char *loc)
{
	u64 now = local_clock();

	if (!c->clock_start) {
		c->clock_start = now ? now : 1;
		return 0;
	}
	if (now - c->clock_start <= (u64)RSTAP_HANDLER_MAX_MS * NSEC_PER_MSEC)
		return 0;
	rstap_error(c, "probe handler ran longer than " __stringify(RSTAP_HANDLER_MAX_MS) " ms (its loops do too much work per hit; lower MAXACTION)", loc);
	return 1;
}

/* Charges one statement against the handler's budget. */
static inline int rstap_action(struct rstap_context_base *c, const char *loc)
{
	c->action_loc = loc;
	if (unlikely(--c->actionremaining < 0)) {
		rstap_error(c, "MAXACTION exceeded", loc);
		return 0;
	}
	if (unlikely((c->actionremaining & (RSTAP_CLOCK_EVERY - 1)) == 0) && rstap_ran_too_long(c, loc))
		return 0;
	return 1;
}

/*
 * Charges a runtime helper's work on n entries (cleared, scanned, sorted
 * or merged) to the statement that called it, one action per
 * RSTAP_ENTRIES_PER_ACTION entries begun: the work is bounded and counted,
 * and a script that sorts or clears a full default-size map (2048 entries)
 * in one probe still fits the default MAXACTION (1000), as in SystemTap,
 * whose helpers charge one statement. Returns 0 (after recording the
 * error) when the budget is exhausted. n may be 0.
 */
#define RSTAP_ENTRIES_PER_ACTION 64
static inline int rstap_charge(struct rstap_context_base *c, long n)
{
	c->actionremaining -= (n + RSTAP_ENTRIES_PER_ACTION - 1) / RSTAP_ENTRIES_PER_ACTION;
	if (unlikely(c->actionremaining < 0)) {
		rstap_error(c, "MAXACTION exceeded", c->action_loc);
		return 0;
	}
	if (n >= RSTAP_ENTRIES_PER_ACTION && rstap_ran_too_long(c, c->action_loc))
		return 0;
	return 1;
}

/*
 * The top of every loop body (while, for): one iteration is one action, so
 * that `while (1) {}` ends with MAXACTION instead of spinning.
 */
#define RSTAP_LOOP_ITER(c, loc, label)						\
	do {									\
		if (unlikely((c)->last_error) || !rstap_action((c), (loc)))	\
			goto label;						\
	} while (0)

/*
 * Before a script function call: 1 (after recording the error) when one
 * more level would pass MAXNESTING or RSTAP_STACK_BUDGET bytes of stack
 * below the handler's entry (the kernel stack is 16 KiB and the probe may
 * fire deep in it).
 */
static __maybe_unused int rstap_nesting_full(struct rstap_context_base *c, const char *loc)
{
	unsigned long here = (unsigned long)&here;

	if (unlikely(c->nesting + 1 > MAXNESTING)) {
		rstap_error(c, "MAXNESTING exceeded", loc);
		return 1;
	}
	if (unlikely(c->stack_top > here && c->stack_top - here > RSTAP_STACK_BUDGET)) {
		rstap_error(c, "MAXNESTING exceeded (kernel stack budget)", loc);
		return 1;
	}
	return 0;
}

/* Global variable locks, taken in index order at handler entry. */
struct rstap_lock_spec {
	rwlock_t *lock;
	int write;
};

/*
 * Handlers run with preemption disabled and never sleep while they hold
 * these locks, so the raw operations (inline, without the preempt count
 * and lockdep bookkeeping of read_trylock() and friends) are enough; every
 * user of rstap_global_locks goes through the two functions below. On
 * PREEMPT_RT an rwlock_t is a sleeping lock without them, and with
 * DEBUG_SPINLOCK they are functions modules cannot call.
 */
#if !defined(CONFIG_PREEMPT_RT) && !defined(CONFIG_DEBUG_SPINLOCK)
#define rstap_read_trylock(l) do_raw_read_trylock(l)
#define rstap_write_trylock(l) do_raw_write_trylock(l)
#define rstap_read_unlock(l) do_raw_read_unlock(l)
#define rstap_write_unlock(l) do_raw_write_unlock(l)
#else
#define rstap_read_trylock(l) read_trylock(l)
#define rstap_write_trylock(l) write_trylock(l)
#define rstap_read_unlock(l) read_unlock(l)
#define rstap_write_unlock(l) write_unlock(l)
#endif

static __always_inline void rstap_unlock_all(const struct rstap_lock_spec *specs, int n)
{
	while (n-- > 0) {
		if (specs[n].write)
			rstap_write_unlock(specs[n].lock);
		else
			rstap_read_unlock(specs[n].lock);
	}
}

/* The locks after the first `i` when one was busy: retries, then gives up. */
static noinline int rstap_lock_slow(const struct rstap_lock_spec *specs, int n, int i)
{
	int tries;

	for (; i < n; i++) {
		for (tries = 0;; tries++) {
			if (specs[i].write ? rstap_write_trylock(specs[i].lock) :
					     rstap_read_trylock(specs[i].lock))
				break;
			if (tries >= MAXTRYLOCK) {
				rstap_unlock_all(specs, i);
				rstap_skip_probe();
				return 0;
			}
			udelay(TRYLOCKDELAY);
		}
	}
	return 1;
}

/* 1 with every lock of specs taken; 0 (the hit skipped and counted) if not. */
static __always_inline int rstap_lock_all(const struct rstap_lock_spec *specs, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		if (!(specs[i].write ? rstap_write_trylock(specs[i].lock) :
				       rstap_read_trylock(specs[i].lock)))
			return rstap_lock_slow(specs, n, i);
	}
	return 1;
}

#endif /* RSTAP_CONTEXT_H */
