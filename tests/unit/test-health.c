/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/* The health engine's pure parts: the signature catalogue and its errors, kernel-log records and Xid lines,
 * learned baselines (consensus, persistence, persistence across restarts, the hour of a weekday or weekend day),
 * forecasts, the healing state. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "asios/health.h"
#include "asios/root.h"
#include "testutil.h"

#define SIGNATURES "packages/asios-healthd/signatures.conf"

static void read_shipped(struct asios_health_policy *p, const char *conf)
{
	char *error = NULL;
	int r = asios_health_policy_read(p, SIGNATURES, conf, NULL, &error);

	if (r < 0)
		fail_msg("%s", error ? error : "cannot read the catalogue");
}

static void test_catalogue(void **state)
{
	struct asios_health_policy p;
	const struct asios_health_signature *s;

	(void)state;
	read_shipped(&p, "/nonexistent/etc/asios/health.conf");
	assert_true(p.n_sigs >= 40);
	s = asios_health_signature_find(&p, "gpu-xid-79");
	assert_non_null(s);
	assert_int_equal(s->source, ASIOS_HEALTH_XID);
	assert_int_equal(s->xid, 79);
	assert_int_equal(s->severity, ASIOS_HEALTH_CRITICAL);
	assert_int_equal(s->n_ladder, 2);
	assert_int_equal(s->ladder[0], ASIOS_HEAL_DRAIN);
	assert_false(s->act); /* advising is the default */
	for (size_t i = 0; i < p.n_sigs; i++)
		assert_false(p.sigs[i].act);
	s = asios_health_signature_find(&p, "memory-pressure");
	assert_non_null(s);
	assert_string_equal(s->match, "memory");
	assert_true(s->threshold == 20);
	asios_health_policy_clear(&p);
}

static void expect_error(const char *text, const char *want)
{
	struct asios_health_policy p;
	char *error = NULL;

	assert_int_equal(asios_health_policy_init(&p), 0);
	assert_int_equal(asios_health_policy_parse(&p, text, "t.conf", &error), -EINVAL);
	assert_non_null(error);
	if (!strstr(error, want))
		fail_msg("error \"%s\" does not say \"%s\"", error, want);
	free(error);
	asios_health_policy_clear(&p);
}

static void test_policy_errors(void **state)
{
	(void)state;
	expect_error("[health]\ninterval = 0\n", "t.conf:2: interval: expected seconds between 1 and 3600");
	expect_error("[health]\nbogus = 1\n", "t.conf:2: unknown key \"bogus\"");
	expect_error("[signature a]\nsource = nowhere\n", "t.conf:2: source: unknown value \"nowhere\"");
	expect_error("[signature a]\nsource = kmsg\nmatch = [x\n", "t.conf:3: match:");
	expect_error("[signature a]\nsource = kmsg\n", "t.conf:2: [signature a]: a kmsg signature needs a match");
	expect_error("[signature a]\nsource = psi\nmatch = disk\nthreshold = 5\n", "a psi signature needs match = memory");
	expect_error("[signature a]\nsource = drift\nheal = reapply, drain, compact, advise, node-label\n",
		     "t.conf:3: heal: at most 4 actions");
	expect_error("[signature a]\nsource = drift\nheal = reboot\n", "heal: unknown action \"reboot\"");
	expect_error("[signature a]\nact = maybe\n", "t.conf:2: act: expected yes or no");
	expect_error("[nonsense]\nx = 1\n", "t.conf:2: unknown section [nonsense]");
	expect_error("[health]\nbaseline_k = 0.5\n", "baseline_k: expected a number between 1 and 100");
	expect_error("[signature a]\nsource = unit\n", "t.conf:2: [signature a]: a unit signature needs match");
	expect_error("[signature a]\nsource = unit\nmatch = ../x y\n", "a unit signature needs match");
}

static void test_override(void **state)
{
	struct asios_health_policy p;
	const struct asios_health_signature *s;
	char path[] = "/tmp/asios-health-XXXXXX";
	int fd = mkstemp(path);
	static const char conf[] = "[health]\nbaseline_k = 4.5\n[signature drift]\nact = yes\nheal = advise\n";

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(write(fd, conf, strlen(conf)), (int)strlen(conf));
	close(fd);
	read_shipped(&p, path);
	unlink(path);
	assert_int_equal(p.baseline_k10, 45);
	s = asios_health_signature_find(&p, "drift");
	assert_true(s->act);
	assert_int_equal(s->n_ladder, 1);
	assert_int_equal(s->ladder[0], ASIOS_HEAL_ADVISE);
	asios_health_policy_clear(&p);
}

static void test_xid(void **state)
{
	char pci[32];
	unsigned code;

	(void)state;
	assert_true(asios_health_parse_xid("NVRM: Xid (PCI:0000:3b:00): 79, pid=1, GPU has fallen off the bus.", pci,
					   sizeof(pci), &code));
	assert_string_equal(pci, "0000:3b:00");
	assert_int_equal(code, 79);
	assert_true(asios_health_parse_xid("NVRM: Xid (PCI:0000:10:1c.0): 63, pid=1896, Row Remapper", pci, sizeof(pci),
					   &code));
	assert_int_equal(code, 63);
	assert_false(asios_health_parse_xid("NVRM: Xid (PCI:0000:3b:00): , nothing", pci, sizeof(pci), &code));
	assert_false(asios_health_parse_xid("NVRM: Xid (PCI:zz): 79, x", pci, sizeof(pci), &code));
	assert_false(asios_health_parse_xid("NVRM: Xid (PCI:0000:3b:00): 0, x", pci, sizeof(pci), &code));
	assert_false(asios_health_parse_xid("NVRM: Xid (PCI:0000:3b:00): 99999999, x", pci, sizeof(pci), &code));
	assert_false(asios_health_parse_xid("usb 1-1: new device", pci, sizeof(pci), &code));
}

static void test_kmsg(void **state)
{
	static const char log[] =
		"6,10,100,-;Linux version 6.12.0\n"
		"4,11,200,-;NVRM: Xid (PCI:0000:3b:00): 48, pid=7, DBE\n"
		" SUBSYSTEM=pci\n"
		" DEVICE=+pci:0000:3b:00.0\n"
		"4,12,300,-;NVRM: Xid (PCI:0000:3b:00): 4242, unknown\n"
		"3,13,400,-;pcieport 0000:00:01.0: AER: Uncorrected (Fatal) error received: 0000:00:01.0\n"
		"3,14,401,-;pcieport 0000:00:01.0: AER: Uncorrected (Fatal) error received: 0000:00:01.0\n"
		"not a record\n"
		"3,15,500,-;INFO: task python3:99 blocked for more than 122 seconds.";
	struct asios_health_policy p;
	struct asios_health_incidents l = { 0 };
	struct asios_kmsg_cursor cur = { .next_seq = 11 };

	(void)state;
	read_shipped(&p, "/nonexistent/etc/asios/health.conf");
	assert_int_equal(asios_health_scan_kmsg(&p, log, strlen(log), &cur, &l), 0);
	assert_int_equal(l.n, 4);
	assert_string_equal(l.v[0].sig->name, "gpu-xid-48");
	assert_string_equal(l.v[0].object, "GPU 0000:3b:00");
	assert_string_equal(l.v[1].sig->name, "gpu-xid"); /* a code the catalogue lacks */
	assert_string_equal(l.v[2].sig->name, "pcie-aer-uncorrected");
	assert_string_equal(l.v[2].object, "device 0000:00:01.0");
	assert_int_equal(l.v[2].repeats, 1); /* the same error again in one read: one incident, counted */
	assert_string_equal(l.v[3].sig->name, "hung-task");
	assert_int_equal(cur.next_seq, 16);
	asios_health_incidents_clear(&l);
	/* read again from the cursor: nothing new */
	assert_int_equal(asios_health_scan_kmsg(&p, log, strlen(log), &cur, &l), 0);
	assert_int_equal(l.n, 0);
	asios_health_policy_clear(&p);
}

/* a steady metric with small deterministic noise */
static double noise(unsigned i)
{
	return 100 + ((i * 7919u) % 11u) - 5.0;
}

static void test_baseline(void **state)
{
	struct asios_health_policy p;
	struct asios_baseline b, c;
	double score, m1, d1, m2, d2;
	unsigned clock_ = 0;
	char *line = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	assert_int_equal(asios_health_policy_init(&p), 0);
	p.baseline_min = 30;
	p.baseline_persist = 3;
	asios_baseline_init(&b, "load", 100);
	for (unsigned i = 0; i < 60; i++)
		assert_false(asios_baseline_add(&b, clock_++ * 10.0, noise(i), &p, &score));
	/* two outliers are not persistent; the third in a row is an incident, and only once */
	assert_false(asios_baseline_add(&b, clock_++ * 10.0, 400, &p, &score));
	assert_false(asios_baseline_add(&b, clock_++ * 10.0, 400, &p, &score));
	assert_false(asios_baseline_add(&b, clock_++ * 10.0, noise(1), &p, &score));
	assert_false(asios_baseline_add(&b, clock_++ * 10.0, 400, &p, &score));
	assert_false(asios_baseline_add(&b, clock_++ * 10.0, 400, &p, &score));
	assert_true(asios_baseline_add(&b, clock_++ * 10.0, 400, &p, &score));
	assert_true(score > 6);
	assert_false(asios_baseline_add(&b, clock_++ * 10.0, 400, &p, &score));
	/* within the noise: never */
	for (unsigned i = 0; i < 10; i++)
		assert_false(asios_baseline_add(&b, clock_++ * 10.0, noise(i + 3), &p, &score));
	/* a restart keeps it */
	f = open_memstream(&line, &len);
	assert_int_equal(asios_baseline_write(&b, f), 0);
	fclose(f);
	assert_non_null(strchr(line, '\n'));
	*strchr(line, '\n') = 0;  /* the first line; the second is the seasonal model (test_season) */
	assert_int_equal(asios_baseline_parse(&c, line, 100), 0);
	asios_baseline_stats(&b, &m1, &d1);
	asios_baseline_stats(&c, &m2, &d2);
	assert_true(m1 == m2 && d1 == d2 && b.seen == c.seen && b.ewma == c.ewma);
	assert_int_equal(asios_baseline_parse(&c, "load 1 0 nan 0 1 2", 100), -EINVAL);
	assert_int_equal(asios_baseline_parse(&c, "load x", 100), -EINVAL);
	free(line);
	asios_baseline_clear(&b);
	asios_baseline_clear(&c);
	asios_health_policy_clear(&p);
}

static void test_flat_baseline(void **state)
{
	struct asios_health_policy p;
	struct asios_baseline b;
	double score;
	bool hit = false;
	unsigned clock_ = 0;

	(void)state;
	assert_int_equal(asios_health_policy_init(&p), 0);
	p.baseline_min = 10;
	p.baseline_persist = 2;
	asios_baseline_init(&b, "flat", 50);
	for (unsigned i = 0; i < 20; i++)
		assert_false(asios_baseline_add(&b, clock_++ * 10.0, 1000, &p, &score));
	/* MAD 0: a change under 1% of the level is noise, a large one is not */
	for (unsigned i = 0; i < 5; i++)
		assert_false(asios_baseline_add(&b, clock_++ * 10.0, 1005, &p, &score));
	for (unsigned i = 0; i < 3; i++)
		hit |= asios_baseline_add(&b, clock_++ * 10.0, 2000, &p, &score);
	assert_true(hit);
	asios_baseline_clear(&b);
	asios_health_policy_clear(&p);
}


/* Monday 2026-11-30 00:00 UTC; the tests run with TZ=UTC */
#define MONDAY 1795996800.0

/* DAYS weekdays of a metric sampled each minute, 100 with noise, and 400 from 02:00 to 03:00 each night (a
 * nightly batch); on the last day also 400 from 14:00 to 15:00. The incidents each day at 02:00 and at 14:00. */
static void nightly(struct asios_baseline *b, const struct asios_health_policy *p, unsigned days,
		    unsigned at2[], unsigned *at14)
{
	double score;

	*at14 = 0;
	for (unsigned d = 0; d < days; d++) {
		at2[d] = 0;
		for (unsigned m = 0; m < 24 * 60; m++) {
			unsigned hour = m / 60;
			bool odd = hour == 2 || (hour == 14 && d == days - 1);
			bool hit = asios_baseline_add(b, MONDAY + d * 86400.0 + m * 60, odd ? 400 + noise(m) - 100 :
						      noise(d * 1440 + m), p, &score);

			if (hit && hour == 2)
				at2[d]++;
			if (hit && hour == 14)
				(*at14)++;
		}
	}
}

static void test_season(void **state)
{
	struct asios_health_policy p;
	struct asios_baseline b, c;
	unsigned at2[4], at14;
	double level, spread;
	char *text = NULL, *second;
	size_t len = 0;
	FILE *f;

	(void)state;
	assert_int_equal(asios_season_bucket(MONDAY + 2 * 3600 + 59), 2);
	assert_int_equal(asios_season_bucket(MONDAY + 5 * 86400 + 3600), 25);  /* Saturday 01:00 */
	assert_int_equal(asios_health_policy_init(&p), 0);
	assert_true(p.baseline_season);
	asios_baseline_init(&b, "interrupts", 360);
	nightly(&b, &p, 4, at2, &at14);
	/* the first three nights are news; from the fourth (three days learned) the batch is usual at 02:00 */
	assert_true(at2[0] >= 1 && at2[1] >= 1 && at2[2] >= 1);
	assert_int_equal(at2[3], 0);
	/* the same jump at an hour it never happened is still an incident */
	assert_true(at14 >= 1);
	assert_true(asios_season_usual(b.season, 2, &level, &spread));
	assert_true(fabs(level - 400) < 5);
	assert_false(asios_season_usual(b.season, 26, &level, &spread));  /* no weekend learned */
	/* a restart keeps the seasonal model (a second line) */
	f = open_memstream(&text, &len);
	assert_int_equal(asios_baseline_write(&b, f), 0);
	fclose(f);
	second = strchr(text, '\n') + 1;
	assert_true(!strncmp(second, "season interrupts ", 18));
	second[-1] = 0;
	assert_int_equal(asios_baseline_parse(&c, text, 360), 0);
	assert_int_equal(asios_baseline_parse_season(&c, second), 0);
	assert_true(asios_season_usual(c.season, 2, &level, &spread) && fabs(level - 400) < 5);
	assert_int_equal(memcmp(b.season, c.season, sizeof(*b.season)), 0);
	assert_int_equal(asios_baseline_parse_season(&c, "season other -1 0 0 0 0"), -EINVAL);
	assert_int_equal(asios_baseline_parse_season(&c, "season interrupts -1 0 0 0 0 2 6 1 1"), -EINVAL);
	assert_int_equal(asios_baseline_parse_season(&c, "season interrupts -1 0 0 0 0 49 1 1 1"), -EINVAL);
	assert_int_equal(asios_baseline_parse_season(&c, "season interrupts -1 0 0 0 0 2 1 nan 1"), -EINVAL);
	assert_int_equal(asios_baseline_parse(&c, "season 1 0 0 0", 360), -EINVAL);
	free(text);
	asios_baseline_clear(&b);
	asios_baseline_clear(&c);
	/* the control: without the seasonal model the fourth night is an incident again */
	p.baseline_season = false;
	asios_baseline_init(&b, "interrupts", 360);
	nightly(&b, &p, 4, at2, &at14);
	assert_true(at2[3] >= 1);
	asios_baseline_clear(&b);
	asios_health_policy_clear(&p);
}

static void test_forecast(void **state)
{
	struct asios_series s;
	double sec = -1, slope = 0, r2 = 0;

	(void)state;
	asios_series_init(&s, "free", 10);
	asios_series_add(&s, 0, 1000);
	asios_series_add(&s, 10, 900);
	assert_false(asios_series_exhaustion(&s, &sec, &slope, &r2)); /* two points are no trend */
	for (unsigned t = 20; t <= 200; t += 10)
		asios_series_add(&s, t, 1000 - 10.0 * t + (t % 20 ? 3 : -3));
	assert_int_equal(s.n, 10); /* the last ten */
	assert_true(asios_series_exhaustion(&s, &sec, &slope, &r2));
	assert_true(fabs(slope + 10) < 0.5);
	assert_true(sec >= 0 && sec < 10);
	assert_true(r2 > 0.99);  /* a steady fall: the line fits */
	asios_series_clear(&s);
	asios_series_init(&s, "growing", 10);
	for (unsigned t = 0; t < 10; t++)
		asios_series_add(&s, t, 100 + t);
	assert_false(asios_series_exhaustion(&s, &sec, &slope, NULL));
	asios_series_clear(&s);
	/* a model load: 40 samples flat, 5 falling fast, 15 flat again near empty: it falls, but no line fits */
	asios_series_init(&s, "gpu", 60);
	for (unsigned t = 0; t < 60; t++)
		asios_series_add(&s, t * 10.0, t < 40 ? 140e9 : t < 45 ? 140e9 - (t - 39) * 26e9 : 10e9 + (t % 3) * 1e6);
	assert_true(asios_series_exhaustion(&s, &sec, &slope, &r2));
	assert_true(r2 < ASIOS_FORECAST_MIN_R2);
	asios_series_clear(&s);
}

static void test_state_roundtrip(void **state)
{
	char dir[] = "/tmp/asios-health-state-XXXXXX", cmd[128], *bad = NULL;
	struct asios_root *root;
	struct asios_health_state a = { 0 }, b;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(asios_root_open(dir, &root), 0);
	snprintf(a.cursor.boot_id, sizeof(a.cursor.boot_id), "b0f1");
	a.cursor.next_seq = 77;
	a.breaker_open = true;
	a.breaker_since = 1234.5;
	a.actions[a.n_actions++] = 1200;
	a.pending[a.n_pending++] = (struct asios_heal_pending){ .signature = "drift", .object = "domain irq",
								 .action = ASIOS_HEAL_REAPPLY, .at = 1230, .before = 3 };
	a.keys[a.n_keys++] = (struct asios_heal_key){ .signature = "drift", .action = ASIOS_HEAL_REAPPLY, .demoted = true,
						      .incidents = 4, .outcomes = { [ASIOS_HEAL_IMPROVED] = 2 } };
	a.keys[a.n_keys++] = (struct asios_heal_key){ .signature = "drift", .object = "domain irq",
						      .action = ASIOS_HEAL_REAPPLY, .last_action = 1230 };
	a.xids[a.n_xids++] = (struct asios_health_xid_count){ .device = "0000:3b:00.0", .code = 79, .n = 3 };
	assert_int_equal(asios_health_state_write(root, &a), 0);
	assert_int_equal(asios_health_state_read(root, &b, &bad), 0);
	assert_string_equal(b.cursor.boot_id, "b0f1");
	assert_true(b.cursor.next_seq == 77 && b.breaker_open && b.n_actions == 1 && b.n_pending == 1);
	assert_string_equal(b.pending[0].object, "domain irq");
	assert_int_equal(b.n_keys, 2);
	assert_true(b.keys[0].demoted && b.keys[0].outcomes[ASIOS_HEAL_IMPROVED] == 2 && b.keys[0].incidents == 4);
	assert_string_equal(b.keys[1].object, "domain irq");
	assert_true(b.n_xids == 1 && b.xids[0].code == 79 && b.xids[0].n == 3);
	assert_string_equal(b.xids[0].device, "0000:3b:00.0");
	asios_health_state_reset(&b, true);
	assert_false(b.breaker_open || b.keys[0].demoted);
	assert_int_equal(b.n_xids, 1);  /* counters are never reset */
	/* a damaged state file is named, not half read */
	snprintf(cmd, sizeof(cmd), "echo 'key drift x' >> %s/var/lib/asios/health/state", dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(asios_health_state_read(root, &b, &bad), -EINVAL);
	assert_non_null(strstr(bad, "state:"));
	free(bad);
	asios_root_free(root);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* restart-unit: what it runs, how its outcome is judged, and that a restart that did not last is not repeated */
static void test_uevent(void **state)
{
	static const char removed[] = "remove@/devices/pci0000:3a/0000:3a:00.0/0000:3b:00.0\0ACTION=remove\0"
				      "DEVPATH=/devices/pci0000:3a/0000:3a:00.0/0000:3b:00.0\0SUBSYSTEM=pci\0"
				      "DRIVER=nvidia\0SEQNUM=4711\0";
	static const char added[] = "add@/devices/pci0000:00/0000:00:03.0\0ACTION=add\0"
				    "DEVPATH=/devices/pci0000:00/0000:00:03.0\0SUBSYSTEM=pci\0";
	static const char veth[] = "add@/devices/virtual/net/veth0\0ACTION=add\0DEVPATH=/devices/virtual/net/veth0\0"
				   "SUBSYSTEM=net\0INTERFACE=veth0\0";
	static const char udev[] = "libudev\0\xfe\xed\xca\xfe";
	struct asios_health_policy p;
	struct asios_health_incidents l = { 0 };
	bool add = true;
	char *error = NULL;

	(void)state;
	read_shipped(&p, "/nonexistent/etc/asios/health.conf");
	assert_int_equal(asios_health_scan_uevent(&p, removed, sizeof(removed) - 1, &l, &add), 0);
	assert_false(add);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].sig->name, "pci-device-removed");
	assert_string_equal(l.v[0].object, "pci 0000:3b:00.0");
	assert_non_null(strstr(l.v[0].detail, "driver nvidia"));
	asios_health_incidents_clear(&l);
	/* a device added: no incident, a drift pass due; a container's veth: neither */
	assert_int_equal(asios_health_scan_uevent(&p, added, sizeof(added) - 1, &l, &add), 0);
	assert_true(add);
	assert_int_equal(l.n, 0);
	assert_int_equal(asios_health_scan_uevent(&p, veth, sizeof(veth) - 1, &l, &add), 0);
	assert_false(add);
	/* udev's own messages, a truncated one, no header */
	assert_int_equal(asios_health_scan_uevent(&p, udev, sizeof(udev) - 1, &l, &add), -EINVAL);
	assert_int_equal(asios_health_scan_uevent(&p, removed, 20, &l, NULL), -EINVAL);
	assert_int_equal(asios_health_scan_uevent(&p, "ACTION=remove", 13, &l, NULL), -EINVAL);
	assert_int_equal(l.n, 0);
	asios_health_policy_clear(&p);
	/* a signature's match is checked */
	assert_int_equal(asios_health_policy_init(&p), 0);
	assert_int_equal(asios_health_policy_parse(&p, "[signature x]\nsource = uevent\nmatch = unplug:pci\n", "t.conf",
						   &error), -EINVAL);
	assert_non_null(strstr(error, "ACTION:SUBSYSTEM"));
	free(error);
	asios_health_policy_clear(&p);
}

struct runs {
	char cmds[4][160];
	size_t n;
	int status;
	int first;            /* the first call's status when not 0 (a tool that is missing) */
};

static int record_run(void *userdata, char *const argv[])
{
	struct runs *r = userdata;
	size_t off = 0;

	for (size_t i = 0; argv[i] && r->n < 4; i++)
		off += (size_t)snprintf(r->cmds[r->n] + off, sizeof(r->cmds[0]) - off, "%s%s", i ? " " : "", argv[i]);
	r->n++;
	return r->n == 1 && r->first ? r->first : r->status;
}

/* a tool-running action against a throwaway root: the shipped catalogue with signature NAME opted in, and a
 * runner that records what would be run */
struct tool_fixture {
	char dir[40];
	struct asios_root *root;
	struct asios_health_policy p;
	struct asios_health_state st;
	struct asios_health_incidents l;
	struct runs r;
	struct asios_heal_ctx c;
	const struct asios_health_signature *s;
};

static void tool_fixture_open(struct tool_fixture *f, const char *name)
{
	*f = (struct tool_fixture){ .dir = "/tmp/asios-health-tool-XXXXXX" };
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(asios_root_open(f->dir, &f->root), 0);
	read_shipped(&f->p, "/nonexistent/etc/asios/health.conf");
	f->s = asios_health_signature_find(&f->p, name);
	assert_non_null(f->s);
	assert_false(f->s->act);                                   /* advise-only as shipped */
	((struct asios_health_signature *)f->s)->act = true;       /* as health.conf's `act = yes` */
	f->c = (struct asios_heal_ctx){ .root = f->root, .root_path = f->dir, .policy = &f->p, .state = &f->st,
					.now = 1000, .run = record_run, .userdata = &f->r };
}

static void tool_fixture_close(struct tool_fixture *f)
{
	char cmd[128];

	asios_health_incidents_clear(&f->l);
	asios_health_policy_clear(&f->p);
	asios_root_free(f->root);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
}

static void test_gpu_persistence(void **state)
{
	struct tool_fixture f;
	struct asios_heal_ctx *c = &f.c;

	(void)state;
	tool_fixture_open(&f, "gpu-persistence-off");
	assert_int_equal(f.s->source, ASIOS_HEALTH_GPU);
	assert_int_equal(f.s->ladder[0], ASIOS_HEAL_GPU_PERSISTENCE);
	assert_int_equal(asios_health_incident_add(&f.l, f.s, "GPU 0000:17:00.0", 1, "off"), 0);
	/* nvidia-persistenced's unit is installed: started, nothing else */
	assert_int_equal(asios_health_heal(c, &f.l.v[0]), ASIOS_HEAL_PENDING);
	assert_int_equal(f.r.n, 1);
	assert_string_equal(f.r.cmds[0], "systemctl start nvidia-persistenced.service");
	c->now += f.p.verify_after;
	assert_int_equal(asios_health_verify(c, &(struct asios_health_incidents){ 0 }), 1);
	/* no such unit (systemctl: 5): nvidia-smi on the GPU named */
	f.r = (struct runs){ .first = 5 };
	c->now += f.p.rate_limit;
	assert_int_equal(asios_health_heal(c, &f.l.v[0]), ASIOS_HEAL_PENDING);
	assert_int_equal(f.r.n, 2);
	assert_string_equal(f.r.cmds[1], "nvidia-smi -i 0000:17:00.0 -pm 1");
	c->now += f.p.verify_after;
	assert_int_equal(asios_health_verify(c, &(struct asios_health_incidents){ 0 }), 1);
	/* both refuse (no CAP_SYS_ADMIN): a failed action */
	f.r = (struct runs){ .first = 5, .status = 4 };
	c->now += f.p.rate_limit;
	assert_int_equal(asios_health_heal(c, &f.l.v[0]), ASIOS_HEAL_FAILED);
	asios_health_incidents_clear(&f.l);
	assert_int_equal(asios_health_incident_add(&f.l, f.s, "memory", 1, "not a GPU"), 0);
	c->now += f.p.rate_limit;
	f.r = (struct runs){ 0 };
	assert_int_equal(asios_health_heal(c, &f.l.v[0]), ASIOS_HEAL_FAILED);
	assert_int_equal(f.r.n, 0);
	tool_fixture_close(&f);
}

static void test_restart_unit(void **state)
{
	struct tool_fixture f;
	struct asios_heal_ctx *c = &f.c;

	(void)state;
	tool_fixture_open(&f, "unit-failed");
	assert_int_equal(f.s->source, ASIOS_HEALTH_UNIT);
	assert_string_equal(f.s->match, "asios-*.service");
	assert_int_equal(f.s->ladder[0], ASIOS_HEAL_RESTART_UNIT);
	assert_int_equal(asios_health_incident_add(&f.l, f.s, "unit asios-irqd.service", 1, "failed"), 0);
	assert_int_equal(asios_health_heal(c, &f.l.v[0]), ASIOS_HEAL_PENDING);
	assert_int_equal(f.r.n, 2);
	assert_string_equal(f.r.cmds[0], "systemctl reset-failed asios-irqd.service");
	assert_string_equal(f.r.cmds[1], "systemctl start --no-block asios-irqd.service");
	/* failed again when verified: the restart did not help, so the next failure is only advised */
	c->now += f.p.verify_after;
	assert_int_equal(asios_health_verify(c, &f.l), 1);
	assert_int_equal(asios_health_heal(c, &f.l.v[0]), ASIOS_HEAL_ADVISED);
	assert_int_equal(f.r.n, 2);
	/* after a reset it acts again; systemctl refusing is a failed action */
	asios_health_state_reset(&f.st, true);
	f.r.status = 1;
	c->now += f.p.rate_limit;
	assert_int_equal(asios_health_heal(c, &f.l.v[0]), ASIOS_HEAL_FAILED);
	assert_int_equal(f.r.n, 3);
	asios_health_incidents_clear(&f.l);
	assert_int_equal(asios_health_incident_add(&f.l, f.s, "domain irq", 1, "not a unit"), 0);
	c->now += f.p.rate_limit;
	assert_int_equal(asios_health_heal(c, &f.l.v[0]), ASIOS_HEAL_FAILED);
	assert_int_equal(f.r.n, 3);
	tool_fixture_close(&f);
}

/* a new cause (a device added) for a condition whose action awaits verification: acted on within rate_limit,
 * and one wait from then for both; without a cause the same condition is rate limited and counts against the
 * action (rolled back and demoted) */
static void test_cause(void **state)
{
	struct tool_fixture f;
	struct asios_heal_ctx *c = &f.c;
	struct asios_heal_key *k;

	(void)state;
	tool_fixture_open(&f, "unit-failed");
	assert_int_equal(asios_health_incident_add(&f.l, f.s, "unit asios-irqd.service", 1, "failed"), 0);
	assert_int_equal(asios_health_heal(c, &f.l.v[0]), ASIOS_HEAL_PENDING);
	c->now += f.p.verify_after / 2;
	c->cause = "device added (add@/devices/pci0000:00/0000:00:03.0)";
	assert_int_equal(asios_health_heal(c, &f.l.v[0]), ASIOS_HEAL_PENDING);
	assert_int_equal(f.r.n, 4);
	assert_int_equal(f.st.n_pending, 1);
	assert_false(f.st.pending[0].recurred);
	/* the first action's window has passed, the second's not: nothing verified yet; then both, improved */
	c->now += f.p.verify_after / 2 + 1;
	assert_int_equal(asios_health_verify(c, &(struct asios_health_incidents){ 0 }), 0);
	c->now += f.p.verify_after;
	assert_int_equal(asios_health_verify(c, &(struct asios_health_incidents){ 0 }), 1);
	k = NULL;
	for (size_t i = 0; i < f.st.n_keys; i++)
		if (f.st.keys[i].action == ASIOS_HEAL_RESTART_UNIT && !f.st.keys[i].object[0])
			k = &f.st.keys[i];
	assert_non_null(k);
	assert_int_equal(k->outcomes[ASIOS_HEAL_IMPROVED], 1);
	assert_false(k->demoted);
	/* the control: the same condition again without a cause is rate limited, and its action did not help */
	c->cause = NULL;
	c->now += f.p.rate_limit;
	assert_int_equal(asios_health_heal(c, &f.l.v[0]), ASIOS_HEAL_PENDING);
	c->now += f.p.verify_after / 2;
	assert_int_equal(asios_health_heal(c, &f.l.v[0]), ASIOS_HEAL_RATE_LIMITED);
	assert_true(f.st.pending[0].recurred);
	c->now += f.p.verify_after;
	assert_int_equal(asios_health_verify(c, &(struct asios_health_incidents){ 0 }), 1);
	assert_int_equal(k->outcomes[ASIOS_HEAL_ROLLED_BACK], 1);
	assert_true(k->demoted);
	tool_fixture_close(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_catalogue),   cmocka_unit_test(test_policy_errors),
		cmocka_unit_test(test_override),    cmocka_unit_test(test_xid),
		cmocka_unit_test(test_kmsg),        cmocka_unit_test(test_baseline),
		cmocka_unit_test(test_flat_baseline), cmocka_unit_test(test_forecast),
		cmocka_unit_test(test_state_roundtrip), cmocka_unit_test(test_restart_unit),
		cmocka_unit_test(test_season),     cmocka_unit_test(test_gpu_persistence),
		cmocka_unit_test(test_uevent),      cmocka_unit_test(test_cause),
	};

	setenv("TZ", "UTC", 1);
	tzset();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
