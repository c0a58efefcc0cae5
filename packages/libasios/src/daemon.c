/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>
#include <time.h>

#include "asios/config.h"
#include "asios/daemon.h"
#include "asios/domain.h"
#include "asios/root.h"

#ifndef ASIOS_VERSION
#define ASIOS_VERSION "0.1"
#endif

int asios_daemon_parse_args(const char *name, int argc, char **argv, void (*usage)(void), struct asios_daemon_args *a)
{
	static const struct option opts[] = {
		{ "root", required_argument, NULL, 'r' }, { "config", required_argument, NULL, 'c' },
		{ "config-dir", required_argument, NULL, 'd' }, { "once", no_argument, NULL, '1' },
		{ "dry-run", no_argument, NULL, 'n' },   { "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },   {},
	};
	int c;

	if (!a->root)
		a->root = "/";
	while ((c = getopt_long(argc, argv, "r:c:d:nh", opts, NULL)) != -1) {
		if (c > 0 && strchr("rcd", c) && !*optarg) {
			/* an unset variable in a script must not mean the live machine or the default files */
			fprintf(stderr, "%s: --%s: an empty value is not allowed (leave the option out for %s)\n", name,
				c == 'r' ? "root" : c == 'c' ? "config" : "config-dir",
				c == 'r' ? "the running machine, /" : "the default");
			return 2;
		}
		switch (c) {
		case 'r':
			a->root = optarg;
			break;
		case 'c':
			a->conf = optarg;
			break;
		case 'd':
			a->conf_d = optarg;
			break;
		case '1':
			a->once = true;
			break;
		case 'n':
			a->dry_run = true;
			break;
		case 'h':
			usage();
			return 0;
		case 'V':
			printf("%s %s\n", name, ASIOS_VERSION);
			return 0;
		default:
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", name, argv[optind]);
		return 2;
	}
	return -1;
}

static struct {
	int (*reload)(void *userdata);
	void *userdata;
} hup;

static int on_sighup(sd_event_source *src, const struct signalfd_siginfo *si, void *userdata)
{
	(void)src, (void)si, (void)userdata;
	sd_notify(0, "RELOADING=1");
	if (hup.reload(hup.userdata) < 0)
		fprintf(stderr, SD_ERR "configuration not reloaded; keeping the previous one\n");
	sd_notify(0, "READY=1");
	return 0;
}

int asios_daemon_event(sd_event **ret, int (*reload)(void *userdata), void *userdata)
{
	sd_event *e = NULL;
	sigset_t mask;
	int r;

	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	if ((r = sd_event_default(&e)) < 0)
		return r;
	if ((r = sd_event_add_signal(e, NULL, SIGTERM, NULL, NULL)) < 0 ||
	    (r = sd_event_add_signal(e, NULL, SIGINT, NULL, NULL)) < 0 ||
	    (r = sd_event_add_signal(e, NULL, SIGHUP, on_sighup, NULL)) < 0 || (r = sd_event_set_watchdog(e, true)) < 0) {
		sd_event_unref(e);
		return r;
	}
	hup.reload = reload;
	hup.userdata = userdata;
	*ret = e;
	return 0;
}

int asios_daemon_add_timer(sd_event *e, sd_event_source **ret, unsigned interval_s, sd_event_time_handler_t cb,
			   void *userdata)
{
	uint64_t now;
	int r;

	if ((r = sd_event_now(e, CLOCK_MONOTONIC, &now)) < 0)
		return r;
	if ((r = sd_event_add_time(e, ret, CLOCK_MONOTONIC, now + (uint64_t)interval_s * 1000000, 0, cb, userdata)) < 0)
		return r;
	return sd_event_source_set_enabled(*ret, SD_EVENT_ON);
}

void asios_daemon_rearm(sd_event_source *src, uint64_t usec, unsigned interval_s)
{
	sd_event_source_set_time(src, usec + (uint64_t)interval_s * 1000000);
}

int asios_daemon_start_failed(const char *name, int r)
{
	if (r == -EINVAL)
		fprintf(stderr, SD_ERR "%s: not started: fix the configuration\n", name);
	else
		fprintf(stderr, SD_ERR "%s: cannot start: %s\n", name, strerror(-r));
	return 1;
}

int asios_daemon_loop(sd_event *e, const char *status)
{
	char msg[256];
	int r;

	snprintf(msg, sizeof(msg), "READY=1\nSTATUS=%s", status);
	sd_notify(0, msg);
	r = sd_event_loop(e);
	sd_notify(0, "STOPPING=1");
	return r;
}

bool asios_daemon_need(const struct asios_root *root, const char *root_path, const char *name, const char *path,
		       const char *why)
{
	if (asios_exists(root, path))
		return true;
	fprintf(stderr, SD_ERR "%s: %s%s is missing: %s\n", name, strcmp(root_path, "/") ? root_path : "", path, why);
	return false;
}

/* ---- the skeleton ---- */

static const struct asios_daemon_spec *usage_spec; /* one daemon per process */

static void daemon_usage(void)
{
	printf("Usage: %s [--root DIR] [--config FILE] [--config-dir DIR] [--once] [--dry-run]\n\n%s\n"
	       "  --once      plan and apply once, then exit\n"
	       "  --dry-run   log what would change, change nothing\n",
	       usage_spec->name, usage_spec->usage);
}

static int policy_load(struct asios_daemon *d, void *policy)
{
	char *error = NULL;
	int r = asios_conf_format_read(d->domain->format, policy, d->args.conf, d->args.conf_d, &error);

	if (r < 0)
		fprintf(stderr, SD_ERR "%s\n", error ? error : strerror(-r));
	free(error);
	return r;
}

int asios_daemon_replan(struct asios_daemon *d, const char *why)
{
	d->replans++;
	return d->spec->replan(d, why);
}

/* SIGHUP: the policy afresh, taken only when it loads (asios_daemon_event() says when it did not) */
static int daemon_reload(void *userdata)
{
	struct asios_daemon *d = userdata;
	void *fresh = calloc(1, d->domain->policy_size);

	if (!fresh || policy_load(d, fresh) < 0) {
		free(fresh);
		return -EINVAL;
	}
	d->domain->format->clear(d->policy);
	memcpy(d->policy, fresh, d->domain->policy_size);
	free(fresh);
	asios_daemon_replan(d, "configuration reloaded");
	return 0;
}

static unsigned daemon_interval(const struct asios_daemon *d)
{
	return *(const unsigned *)((const char *)d->policy + d->spec->interval_at);
}

static int daemon_timer(sd_event_source *src, uint64_t usec, void *userdata)
{
	struct asios_daemon *d = userdata;

	if (d->spec->tick)
		d->spec->tick(d, usec);
	else
		asios_daemon_replan(d, "check");
	asios_daemon_rearm(src, usec, daemon_interval(d));
	return 0;
}

/* root, policy, loop, the daemon's own open(), timer; *OPENED once open() was called */
static int daemon_open(struct asios_daemon *d, bool *opened)
{
	int r;

	d->policy = calloc(1, d->domain->policy_size);
	d->self = calloc(1, d->spec->self_size ? d->spec->self_size : 1);
	if (!d->policy || !d->self)
		return -ENOMEM;
	if ((r = asios_root_open(d->args.root, &d->root)) < 0 || (r = policy_load(d, d->policy)) < 0 ||
	    (r = asios_daemon_event(&d->event, daemon_reload, d)) < 0)
		return r;
	*opened = true;
	if (d->spec->open && (r = d->spec->open(d)) < 0)
		return r;
	return asios_daemon_add_timer(d->event, &d->timer, daemon_interval(d), daemon_timer, d);
}

static void daemon_close(struct asios_daemon *d, bool opened, bool ran)
{
	if (ran && d->spec->stopped)
		fprintf(stderr, SD_NOTICE "stopping after %u plans%s\n", d->replans, d->spec->stopped);
	if (opened && d->spec->stop)
		d->spec->stop(d, ran);
	sd_event_source_unref(d->timer);
	sd_event_unref(d->event);
	asios_root_free(d->root);
	if (d->policy)
		d->domain->format->clear(d->policy);
	free(d->policy);
	free(d->self);
}

int asios_daemon_main(const struct asios_daemon_spec *spec, int argc, char **argv)
{
	struct asios_daemon d = { .spec = spec, .domain = asios_domain_find(spec->domain) };
	bool opened = false;
	int r;

	if (!d.domain) {
		fprintf(stderr, SD_ERR "%s: no domain %s\n", spec->name, spec->domain);
		return 1;
	}
	d.args.conf = d.domain->conf;
	d.args.conf_d = d.domain->conf_d;
	usage_spec = spec;
	if ((r = asios_daemon_parse_args(spec->name, argc, argv, daemon_usage, &d.args)) >= 0)
		return r;
	if ((r = daemon_open(&d, &opened)) < 0) {
		daemon_close(&d, opened, false);
		return asios_daemon_start_failed(spec->name, r);
	}
	if (!asios_daemon_need(d.root, d.args.root, spec->name, spec->need, spec->need_why) ||
	    (spec->start && spec->start(&d) < 0)) {
		daemon_close(&d, true, false);
		return 1;
	}
	r = asios_daemon_replan(&d, "start");
	/* --once: the exit status tells whether the machine was read, planned and changed as planned */
	if (!d.args.once)
		r = asios_daemon_loop(d.event, d.status ? d.status : spec->status);
	daemon_close(&d, true, !d.args.once);
	return r < 0 ? 1 : 0;
}
