/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * schedwatch: what happens on each CPU, and what disturbs the isolated ones.
 *
 * Run-queue latency: sched_wakeup and sched_wakeup_new stamp the woken task (by pid, in an LRU hash);
 * sched_switch, when it switches that task in, adds now - stamp to the histogram of the CPU it runs on
 * (log2 µs slots) and forgets the stamp. The same sched_switch counts context switches per CPU;
 * irq_handler_entry counts IRQs, hrtimer_expire_entry expired timers (the tick is one of them),
 * local_timer_entry (x86 only) local timer interrupts, tick_stop the times the tick was stopped,
 * workqueue_execute_start the work items run. sched_switch also counts preemptions (the task switched out was
 * still runnable: what a busy-polling workload feels) and switches to kernel threads (PF_KTHREAD). Each
 * counter lives in the array slot of the CPU the event runs on, so only that CPU writes it.
 * On CPUs the loader marks isolated, each disturbance is also counted by its source in a hash keyed by
 * (CPU, kind, id): the task or kernel thread switched in (not the idle task), the IRQ with its action's name,
 * the hrtimer and the work item by their function's address (named from kallsyms in user space).
 *
 * Raw tracepoints, attached by name: no tracefs needed, no fentry. The few kernel types read are declared
 * here with preserve_access_index (CO-RE relocates their fields against the running kernel's BTF), so the
 * object does not depend on the build host's kernel headers and builds the same everywhere.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#include "schedwatch.h"

char LICENSE[] SEC("license") = "GPL";

struct task_struct {
	unsigned int flags;
	int pid;
	char comm[16];
} __attribute__((preserve_access_index));

#define PF_KTHREAD 0x00200000

struct work_struct {
	void *func;
} __attribute__((preserve_access_index));

struct irqaction {
	const char *name;
} __attribute__((preserve_access_index));

struct hrtimer {
	void *function;
} __attribute__((preserve_access_index));

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, __u64);
} wakeup SEC(".maps");

/* max_entries is set to the number of possible CPUs by the loader */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct schedwatch_cpu);
} cpus SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u8);
} isolated SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct schedwatch_key);
	__type(value, struct schedwatch_source);
} sources SEC(".maps");

static __always_inline struct schedwatch_cpu *this_cpu(__u32 *cpu)
{
	*cpu = bpf_get_smp_processor_id();
	return bpf_map_lookup_elem(&cpus, cpu);
}

static __always_inline void source(__u32 cpu, __u32 kind, __u64 id, const char *name, int user_name)
{
	struct schedwatch_key k = { .cpu = cpu, .kind = kind, .id = id };
	struct schedwatch_source *s, zero = {};
	__u8 *iso = bpf_map_lookup_elem(&isolated, &cpu);

	if (!iso || !*iso)
		return;
	s = bpf_map_lookup_elem(&sources, &k);
	if (!s) {
		if (name && user_name)
			bpf_probe_read_kernel_str(zero.name, sizeof(zero.name), name);
		else if (name)
			__builtin_memcpy(zero.name, name, sizeof(zero.name));
		bpf_map_update_elem(&sources, &k, &zero, BPF_NOEXIST);
		s = bpf_map_lookup_elem(&sources, &k);
		if (!s)
			return;
	}
	__sync_fetch_and_add(&s->count, 1);
}

static __always_inline int stamp(struct task_struct *p)
{
	__u32 pid = BPF_CORE_READ(p, pid);
	__u64 now = bpf_ktime_get_ns();

	if (pid)
		bpf_map_update_elem(&wakeup, &pid, &now, BPF_ANY);
	return 0;
}

/* sched_wakeup(struct task_struct *p) */
SEC("raw_tp/sched_wakeup")
int on_wakeup(struct bpf_raw_tracepoint_args *ctx)
{
	return stamp((struct task_struct *)ctx->args[0]);
}

SEC("raw_tp/sched_wakeup_new")
int on_wakeup_new(struct bpf_raw_tracepoint_args *ctx)
{
	return stamp((struct task_struct *)ctx->args[0]);
}

static __always_inline __u32 slot(__u64 ns)
{
	__u64 us = ns / 1000;
	__u32 s = 0;

	for (int i = 0; i < SCHEDWATCH_SLOTS - 1; i++) {
		if (!us)
			break;
		us >>= 1;
		s++;
	}
	return s;
}

/* sched_switch(bool preempt, struct task_struct *prev, struct task_struct *next, unsigned int prev_state) */
SEC("raw_tp/sched_switch")
int on_switch(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *prev = (struct task_struct *)ctx->args[1], *next = (struct task_struct *)ctx->args[2];
	__u32 cpu, pid = BPF_CORE_READ(next, pid);
	struct schedwatch_cpu *c = this_cpu(&cpu);
	__u64 *ts, delta;

	if (!c)
		return 0;
	__sync_fetch_and_add(&c->switches, 1);
	/* preempted, or still TASK_RUNNING (a yield): it had more to do */
	if (BPF_CORE_READ(prev, pid) && (ctx->args[0] || !(__u32)ctx->args[3]))
		__sync_fetch_and_add(&c->preemptions, 1);
	if (!pid)
		return 0; /* the idle task */
	{
		char comm[16];
		int kthread = !!(BPF_CORE_READ(next, flags) & PF_KTHREAD);

		BPF_CORE_READ_STR_INTO(&comm, next, comm);
		if (kthread)
			__sync_fetch_and_add(&c->kthreads, 1);
		source(cpu, kthread ? SCHEDWATCH_KTHREAD : SCHEDWATCH_TASK, pid, comm, 0);
	}
	ts = bpf_map_lookup_elem(&wakeup, &pid);
	if (!ts)
		return 0;
	delta = bpf_ktime_get_ns() - *ts;
	bpf_map_delete_elem(&wakeup, &pid);
	{
		__u32 s = slot(delta);

		if (s < SCHEDWATCH_SLOTS)
			__sync_fetch_and_add(&c->lat[s], 1);
	}
	__sync_fetch_and_add(&c->lat_count, 1);
	__sync_fetch_and_add(&c->lat_sum_ns, delta);
	if (delta > c->lat_max_ns)
		c->lat_max_ns = delta;
	return 0;
}

/* irq_handler_entry(int irq, struct irqaction *action) */
SEC("raw_tp/irq_handler_entry")
int on_irq(struct bpf_raw_tracepoint_args *ctx)
{
	struct irqaction *action = (struct irqaction *)ctx->args[1];
	__u32 cpu;
	struct schedwatch_cpu *c = this_cpu(&cpu);

	if (!c)
		return 0;
	__sync_fetch_and_add(&c->irqs, 1);
	source(cpu, SCHEDWATCH_IRQ, (__u32)ctx->args[0], BPF_CORE_READ(action, name), 1);
	return 0;
}

/* hrtimer_expire_entry(struct hrtimer *hrtimer, ktime_t *now) */
SEC("raw_tp/hrtimer_expire_entry")
int on_hrtimer(struct bpf_raw_tracepoint_args *ctx)
{
	struct hrtimer *t = (struct hrtimer *)ctx->args[0];
	__u32 cpu;
	struct schedwatch_cpu *c = this_cpu(&cpu);

	if (!c)
		return 0;
	__sync_fetch_and_add(&c->timers, 1);
	source(cpu, SCHEDWATCH_TIMER, (__u64)BPF_CORE_READ(t, function), 0, 0);
	return 0;
}

/* local_timer_entry(int vector), x86 only: the loader does not attach it elsewhere */
SEC("raw_tp/local_timer_entry")
int on_local_timer(struct bpf_raw_tracepoint_args *ctx)
{
	__u32 cpu;
	struct schedwatch_cpu *c = this_cpu(&cpu);

	(void)ctx;
	if (c)
		__sync_fetch_and_add(&c->local_timer, 1);
	return 0;
}

/* tick_stop(int success, int dependency) */
SEC("raw_tp/tick_stop")
int on_tick_stop(struct bpf_raw_tracepoint_args *ctx)
{
	__u32 cpu;
	struct schedwatch_cpu *c = this_cpu(&cpu);

	if (c && ctx->args[0])
		__sync_fetch_and_add(&c->tick_stops, 1);
	return 0;
}

/* workqueue_execute_start(struct work_struct *work) */
SEC("raw_tp/workqueue_execute_start")
int on_work(struct bpf_raw_tracepoint_args *ctx)
{
	struct work_struct *work = (struct work_struct *)ctx->args[0];
	__u32 cpu;
	struct schedwatch_cpu *c = this_cpu(&cpu);

	if (!c)
		return 0;
	__sync_fetch_and_add(&c->work_items, 1);
	source(cpu, SCHEDWATCH_WORK, (__u64)BPF_CORE_READ(work, func), 0, 0);
	return 0;
}
