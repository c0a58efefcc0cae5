/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once
/*
 * Health: detection of what goes wrong on the machine, and healing through the plan/apply engine.
 *
 *   detect (kernel log, PSI, drift of every domain, tasks on isolated CPUs, learned baselines, forecasts)
 *     → incidents, each matched to a SIGNATURE (data: signatures.conf, with the NVIDIA Xid catalogue)
 *     → guards (per-signature opt-in, rate limit, circuit breaker, what did not help before)
 *     → an action of the signature's ladder, applied with an undo journal (apply.h) where it changes state
 *     → verified after its window: its metric did not improve → rolled back, and demoted for that signature
 *     → history (incidents and outcomes, kept across reboots with a size cap) and counters for telemetry.
 *
 * Detection is a pure pass over a root (the live machine or a capture), so `asiosctl health check --root DIR`
 * finds on a captured machine what the daemon would. Healing only ever happens in asios-healthd, and only for
 * signatures whose `act` is on in health.conf: advising is the default.
 */
#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct asios_root;
struct asios_snapshot;

#define ASIOS_HEALTH_CONF "/etc/asios/health.conf"
#define ASIOS_HEALTH_CONF_D "/etc/asios/health.conf.d"
#define ASIOS_HEALTH_SIGNATURES "/usr/share/asios/health/signatures.conf"
#define ASIOS_HEALTH_DIR "/var/lib/asios/health"              /* state, history, baselines */
#define ASIOS_HEALTH_JOURNAL_DIR "/run/asios/health"          /* undo journals of healing, per signature */

enum asios_health_source {
	ASIOS_HEALTH_KMSG,       /* a kernel log line matching the signature's pattern */
	ASIOS_HEALTH_XID,        /* an NVIDIA Xid line: the catalogue says what it means */
	ASIOS_HEALTH_PSI,        /* /proc/pressure/RESOURCE "some avg10" above the signature's threshold */
	ASIOS_HEALTH_DRIFT,      /* a domain whose journal says applied has a non-empty fresh plan */
	ASIOS_HEALTH_ISOLATION,  /* a task outside the workload runs on an isolated CPU */
	ASIOS_HEALTH_BASELINE,   /* a metric far off its learned baseline, persistently (daemon) */
	ASIOS_HEALTH_FORECAST,   /* a resource predicted to run out within the horizon (daemon) */
	ASIOS_HEALTH_UNIT,       /* a systemd unit matching the signature's pattern is failed: systemd gave up on it */
	ASIOS_HEALTH_GPU,        /* a GPU's state (metrics.h: asios_gpu_read): match persistence-off */
	ASIOS_HEALTH_UEVENT,     /* a kernel uevent: match ACTION:SUBSYSTEM ("remove:pci") (daemon, live only) */
	_ASIOS_HEALTH_SOURCE_MAX,
};

enum asios_health_severity { ASIOS_HEALTH_INFO, ASIOS_HEALTH_WARNING, ASIOS_HEALTH_CRITICAL };

enum asios_health_action {
	ASIOS_HEAL_ADVISE,       /* log and count it, with the signature's advice: always allowed */
	ASIOS_HEAL_REAPPLY,      /* the drifted domain's fresh plan, applied (health journal) */
	ASIOS_HEAL_MOVE_TASK,    /* the offending task's affinity set to the housekeeping CPUs */
	ASIOS_HEAL_COMPACT,      /* /proc/sys/vm/compact_memory */
	ASIOS_HEAL_GPU_RESET,    /* nvidia-smi --gpu-reset on the GPU named by the incident */
	ASIOS_HEAL_DRAIN,        /* scontrol update NodeName=… State=DRAIN: Slurm moves work elsewhere */
	ASIOS_HEAL_NODE_LABEL,   /* a Node Feature Discovery features file: Kubernetes sees the incident */
	ASIOS_HEAL_RESTART_UNIT, /* systemctl reset-failed, then start, of the failed unit the incident names */
	ASIOS_HEAL_GPU_PERSISTENCE, /* nvidia-persistenced started, else nvidia-smi -i GPU -pm 1 (health-actions.c) */
	_ASIOS_HEAL_MAX,
};

#define ASIOS_HEALTH_LADDER 4

/* One known pattern, as data. */
struct asios_health_signature {
	char *name;                          /* "gpu-xid-79", "irq-drift" */
	enum asios_health_source source;
	char *match;                         /* KMSG: an extended regular expression; PSI/FORECAST: the resource;
					      * GPU: the condition (persistence-off);
					      * UEVENT: ACTION:SUBSYSTEM ("remove:pci");
					      * DRIFT: the domain ("" all); BASELINE: the series ("" all);
					      * UNIT: a unit name pattern (systemd's globs: "asios-*.service") */
	regex_t re;                          /* KMSG: compiled (COMPILED) once every file is read */
	bool compiled;
	double threshold;                    /* PSI: avg10 percent; FORECAST: seconds of horizon */
	enum asios_health_severity severity;
	char *meaning, *advice;
	enum asios_health_action ladder[ASIOS_HEALTH_LADDER]; /* tried in order: a step that did not help is skipped */
	size_t n_ladder;
	bool act;                            /* health.conf opts in: off, every step is only advised */
	unsigned xid;                        /* XID: its code */
};

struct asios_health_policy {
	unsigned interval;                   /* seconds between passes of the daemon */
	unsigned max_actions_per_hour;       /* the circuit breaker: more opens it (advise only until reset) */
	unsigned rate_limit;                 /* seconds between two actions for one signature and object */
	unsigned verify_after;               /* seconds after an action its metric is checked again */
	unsigned baseline_samples;           /* values a baseline keeps (median/MAD window) */
	unsigned baseline_min;               /* values it needs before it flags anything */
	unsigned baseline_persist;           /* consecutive deviating passes before an incident */
	unsigned baseline_k10;               /* deviation: k × 1.4826 MAD and k × EWMA σ, k in tenths */
	bool baseline_season;                /* a third model, the usual level at this hour of a weekday or weekend
					      * day, may say a deviation is usual (a nightly batch): no incident */
	unsigned forecast_samples;           /* values a forecast fits its line to */
	unsigned history_kib;                /* cap of the incident log (the older half is dropped) */
	char *workload_slice;                /* tasks of this cgroup may run on isolated CPUs */
	char *slurm_node;                    /* the node's name in Slurm ("" the host name) */
	char *node_label_file;               /* NFD features file */
	struct asios_health_signature *sigs;
	size_t n_sigs;
};

int asios_health_policy_init(struct asios_health_policy *p);
void asios_health_policy_clear(struct asios_health_policy *p);
/*
 * SIGNATURES (the shipped catalogue), then CONF and CONF_D/NAME.conf: [health] keys and [signature NAME]
 * sections (a new signature, or act/heal/severity of a shipped one). 0, or -EINVAL with *error =
 * "FILE:LINE: what" (free it) and the policy cleared.
 */
int asios_health_policy_read(struct asios_health_policy *p, const char *signatures, const char *conf,
			     const char *conf_d, char **error);
/* TEXT named ORIGIN into an initialised policy (tests, fuzzers); then the check every file gets. */
int asios_health_policy_parse(struct asios_health_policy *p, const char *text, const char *origin, char **error);
/* The catalogue to read: $ASIOS_HEALTH_SIGNATURES, else ASIOS_HEALTH_SIGNATURES when installed, else the copy a
 * build puts beside its programs (signatures.conf in the program's folder), else ASIOS_HEALTH_SIGNATURES. */
const char *asios_health_signatures_path(void);
const struct asios_health_signature *asios_health_signature_find(const struct asios_health_policy *p,
								 const char *name);

const char *asios_health_source_name(enum asios_health_source s);
const char *asios_health_severity_name(enum asios_health_severity s);
const char *asios_health_action_name(enum asios_health_action a);

/* What one detection found. */
struct asios_health_incident {
	const struct asios_health_signature *sig;
	char object[96];          /* "GPU 0000:3b:00.0", "domain irq", "cpu 5", "memory" */
	char detail[320];         /* the kernel line, the changes a fresh plan would make, the offending task */
	double value;             /* the signature's metric at detection: drift size, avg10, deviation, seconds */
	double t;                 /* seconds since the epoch */
	unsigned repeats;         /* kernel-log events: further lines of the same signature and object in this read */
	int pid;                  /* ISOLATION: the offending task (thread id), else 0 */
	unsigned cpu;             /* ISOLATION: its CPU */
};

struct asios_health_incidents {
	struct asios_health_incident *v;
	size_t n;
};
void asios_health_incidents_clear(struct asios_health_incidents *l);
int asios_health_incident_add(struct asios_health_incidents *l, const struct asios_health_signature *sig,
			      const char *object, double value, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/*
 * Where a pass resumes reading the kernel log: its sequence number, valid for one boot (/dev/kmsg numbers
 * restart at boot). A zeroed cursor reads from the oldest record still buffered.
 */
struct asios_kmsg_cursor {
	char boot_id[40];
	uint64_t next_seq;
};

/*
 * One detection pass over ROOT (S its snapshot): the kernel log from CURSOR on (advanced; NULL: all of it),
 * pressure, every domain's drift, the isolated CPUs and the GPUs' state. ROOT_PATH is the root as named on the
 * command line (policies are read under it). Objects that cannot be read are warned about through WARN and
 * skipped.
 */
int asios_health_detect(struct asios_root *root, const char *root_path, const struct asios_snapshot *s,
			const struct asios_health_policy *p, struct asios_kmsg_cursor *cursor,
			struct asios_health_incidents *out, void (*warn)(void *userdata, const char *msg),
			void *userdata);
/*
 * Failed units (UNIT signatures): systemd's ListUnitsByPatterns over BUS (NULL: a connection of its own, the
 * manager's private socket as root, else the system bus; none when systemd does not run). Live machine only:
 * asios_health_detect calls it when ROOT_PATH is "/". The number of incidents added, or -errno when systemd
 * cannot be asked.
 */
struct sd_bus;
int asios_health_detect_units(struct sd_bus *bus, const struct asios_health_policy *p,
			      struct asios_health_incidents *out);
/* A connection to the service manager (as `systemctl` makes one): 0, or -errno. */
int asios_health_systemd_open(struct sd_bus **ret);
/* The kernel log alone: TEXT (records "PRIO,SEQ,USEC,FLAGS;MESSAGE", one per line; continuation lines
 * start with a space and are skipped). For tests and the fuzzer. */
int asios_health_scan_kmsg(const struct asios_health_policy *p, const char *text, size_t len,
			   struct asios_kmsg_cursor *cursor, struct asios_health_incidents *out);
/*
 * One kernel uevent as NETLINK_KOBJECT_UEVENT's kernel group sends it: "ACTION@DEVPATH\0KEY=VALUE\0…" (LEN
 * bytes). Incidents of the UEVENT signatures it matches go to OUT (object "SUBSYSTEM NAME": "pci 0000:3b:00.0");
 * *ADDED (may be NULL) is set when it adds a PCI or a physical network device (new IRQs to place: a drift pass
 * is due; a virtual device, a container's veth, has none).
 * 0, or -EINVAL when it is not a uevent.
 */
int asios_health_scan_uevent(const struct asios_health_policy *p, const char *msg, size_t len,
			     struct asios_health_incidents *out, bool *added);
/* An Xid line's GPU and code: "NVRM: Xid (PCI:0000:3b:00): 79, pid=…" → "0000:3b:00", 79. false: none. */
bool asios_health_parse_xid(const char *msg, char *pci, size_t pci_size, unsigned *code);

/* ---- learning (health-learn.c): pure, persisted by the daemon ---- */

/*
 * Time of day and week: the usual level of a metric at each hour of a weekday and of a weekend day (48
 * buckets, local time), as the mean and standard deviation of each of the last ASIOS_SEASON_DAYS days that
 * had values in that hour. A bucket speaks once it has ASIOS_SEASON_MIN_DAYS days: the median of their means,
 * spread by the larger of the median within-hour deviation and the scaled MAD of the means — so a nightly
 * batch seen on most days is usual at its hour, and one bad night is not learned as usual.
 */
#define ASIOS_SEASON_BUCKETS 48
#define ASIOS_SEASON_DAYS 5
#define ASIOS_SEASON_MIN_DAYS 3
struct asios_season_hour {                /* one bucket: a ring of its last days */
	double mean[ASIOS_SEASON_DAYS], sd[ASIOS_SEASON_DAYS];
	unsigned n, head;
};
struct asios_season {
	struct asios_season_hour bucket[ASIOS_SEASON_BUCKETS];
	int acc_bucket;                      /* the hour being accumulated (-1: none), from ACC_T0 */
	double acc_t0, acc_n, acc_sum, acc_sq;
};
/* The bucket of T (seconds since the epoch): the local hour, + 24 on Saturday and Sunday. */
int asios_season_bucket(double t);
/* The usual level and spread at bucket B: false while it has fewer than ASIOS_SEASON_MIN_DAYS days. */
bool asios_season_usual(const struct asios_season *s, int b, double *level, double *spread);

/* A metric's learned baseline: its last values (median/MAD) and an EWMA of mean and variance; a value is
 * flagged only when both models agree that it deviates, only after PERSIST such values in a row, and not when
 * the seasonal model (policy baseline_season) says the value is usual at this hour. */
struct asios_baseline {
	char name[64];
	double *values;           /* ring of the last CAP values */
	size_t cap, n, head;
	double ewma, ewvar;
	unsigned seen, streak;
	struct asios_season *season;  /* NULL when it could not be allocated: two models only */
};
void asios_baseline_init(struct asios_baseline *b, const char *name, size_t cap);
void asios_baseline_clear(struct asios_baseline *b);
/* Add X seen at T (seconds since the epoch): true when it completes a persistent, consensus deviation (the
 * deviation in *SCORE, in MADs). */
bool asios_baseline_add(struct asios_baseline *b, double t, double x, const struct asios_health_policy *p,
			double *score);
/* Median and scaled MAD (1.4826 × MAD) of its values. */
void asios_baseline_stats(const struct asios_baseline *b, double *median, double *mad);
/* One line "NAME SEEN STREAK EWMA EWVAR V1 V2 …" (oldest first) and back; -EINVAL on a bad line. When it has
 * learned a season, a second line "season NAME ACC_BUCKET ACC_T0 ACC_N ACC_SUM ACC_SQ" followed by "B N M1 SD1
 * … MN SDN" for each bucket with days; asios_baseline_parse_season reads it into the baseline of that name. */
int asios_baseline_write(const struct asios_baseline *b, FILE *f);
int asios_baseline_parse(struct asios_baseline *b, const char *line, size_t cap);
int asios_baseline_parse_season(struct asios_baseline *b, const char *line);

/* A series for a forecast: (t, value) pairs, the last CAP. */
struct asios_series {
	char name[64];
	double *t, *v;
	size_t cap, n;
};
void asios_series_init(struct asios_series *s, const char *name, size_t cap);
void asios_series_clear(struct asios_series *s);
void asios_series_add(struct asios_series *s, double t, double v);
/*
 * Least-squares line through the series (Prometheus' predict_linear): the seconds from its last sample until
 * the fitted line reaches zero, its slope, and (R2, may be NULL) how much of the series' variance the line
 * explains (0–1: a steady leak near 1, a step such as a model load followed by a plateau far lower). false
 * when it does not fall (or has fewer than 3 samples over any time).
 */
#define ASIOS_FORECAST_MIN_R2 0.9
bool asios_series_exhaustion(const struct asios_series *s, double *seconds, double *slope, double *r2);

/* ---- healing (health-heal.c) ---- */

/* Outcomes of an incident, as the history keeps them. */
enum asios_heal_outcome {
	ASIOS_HEAL_ADVISED,       /* advise only: the signature does not act, or nothing on its ladder is left */
	ASIOS_HEAL_RATE_LIMITED,  /* acted on this signature and object within rate_limit */
	ASIOS_HEAL_BREAKER_OPEN,  /* the circuit breaker is open */
	ASIOS_HEAL_PENDING,       /* acted; verified after verify_after */
	ASIOS_HEAL_IMPROVED,      /* its metric improved */
	ASIOS_HEAL_ROLLED_BACK,   /* it did not: undone (where it changed state) and demoted */
	ASIOS_HEAL_FAILED,        /* the action itself failed */
	ASIOS_HEAL_HANDED_OVER,   /* to the engine that can fix it (Slurm, Kubernetes): not verified here */
	_ASIOS_HEAL_OUTCOME_MAX,
};
const char *asios_heal_outcome_name(enum asios_heal_outcome o);

/* The counters and memory of healing, kept in ASIOS_HEALTH_DIR/state under the root. */
#define ASIOS_HEALTH_MAX_PENDING 32
#define ASIOS_HEALTH_MAX_KEYS 256
struct asios_heal_pending {
	char signature[64], object[96];
	enum asios_health_action action;
	double at, before;
	bool recurred;            /* the same event came again after the action: it did not help */
};
struct asios_heal_key {                  /* one signature (and action, object) */
	char signature[64];
	char object[96];                  /* "" for per-signature counters */
	enum asios_health_action action;
	uint64_t incidents, outcomes[_ASIOS_HEAL_OUTCOME_MAX];
	double last_action;               /* rate limit */
	bool demoted;                     /* it did not help: the next incident skips it */
};
#define ASIOS_HEALTH_MAX_XIDS 64
struct asios_health_xid_count {          /* NVIDIA Xid events of the kernel log, by GPU and code (never reset) */
	char device[24];                  /* the GPU's PCI address as the metrics name it: "0000:3b:00.0" */
	unsigned code;
	uint64_t n;
};
struct asios_health_state {
	struct asios_kmsg_cursor cursor;
	struct asios_health_xid_count xids[ASIOS_HEALTH_MAX_XIDS];  /* the first GPU×code pairs seen */
	size_t n_xids;
	double actions[64];               /* times of the actions of the last hour (the breaker's window) */
	size_t n_actions;
	bool breaker_open;
	double breaker_since;
	struct asios_heal_pending pending[ASIOS_HEALTH_MAX_PENDING];
	size_t n_pending;
	struct asios_heal_key keys[ASIOS_HEALTH_MAX_KEYS];
	size_t n_keys;
};
/* The state under ROOT (zeroed when none yet). -EINVAL and *BAD (the file and line, to free) when malformed. */
int asios_health_state_read(const struct asios_root *root, struct asios_health_state *st, char **bad);
int asios_health_state_write(const struct asios_root *root, const struct asios_health_state *st);
/* Close the circuit breaker (asiosctl health reset): acting resumes; demotions are forgotten when ALL. */
void asios_health_state_reset(struct asios_health_state *st, bool all);

/* What healing needs besides the incident: the machine, its policy, and the log. */
struct asios_heal_ctx {
	struct asios_root *root;
	const char *root_path;
	const struct asios_snapshot *snapshot;
	const struct asios_health_policy *policy;
	struct asios_health_state *state;
	double now;
	void (*log)(void *userdata, int priority, const char *msg);   /* priority: LOG_* */
	void *userdata;
	/* how a program is run (scontrol, nvidia-smi): argv, NULL-terminated; its exit status or negative.
	 * NULL: posix_spawnp and wait */
	int (*run)(void *userdata, char *const argv[]);
	/* what newly explains this incident (a link up, a device added: a NIC's IRQs reset or new), or NULL. With a
	 * cause the action is taken within rate_limit, and an action awaiting verification on the same signature
	 * and object waits again from now instead of counting the condition against itself */
	const char *cause;
};
/* Decide and act on one incident; returns its outcome (also counted and written to the history). */
enum asios_heal_outcome asios_health_heal(struct asios_heal_ctx *c, const struct asios_health_incident *inc);
/* An event that repeats one handled moments ago (the daemon's hold-off): counted, nothing else. */
void asios_health_repeat(struct asios_heal_ctx *c, const struct asios_health_incident *inc);
/* Check the actions whose window has passed: improved, or rolled back and demoted. INCIDENTS is this pass's
 * detection (a signature still seen on its object has not improved). The number of actions verified. */
size_t asios_health_verify(struct asios_heal_ctx *c, const struct asios_health_incidents *incidents);

/* The incident log under ROOT (ASIOS_HEALTH_DIR/incidents): one JSON object per line. */
int asios_health_history_append(const struct asios_root *root, const struct asios_health_policy *p,
				const char *json_line);
