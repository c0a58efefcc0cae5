/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * asios-exporter: serves the exposition of asiosctl metrics (asios/metrics.h) over HTTP for Prometheus, with
 * libmicrohttpd. Started by systemd's socket (asios-exporter.socket: 127.0.0.1:9647), it takes the listening
 * socket from sd_listen_fds(); by hand it listens on --listen ADDRESS:PORT. Each scrape reads the machine
 * afresh: nothing is cached between scrapes, so what it says is what a plan would see now. Requests are served
 * one at a time by libmicrohttpd's own thread; the main thread runs the sd-event loop (signals, watchdog).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "asios/daemon.h"
#include "asios/metrics.h"
#include "asios/root.h"
#include "asios/snapshot.h"

#ifndef ASIOS_VERSION
#define ASIOS_VERSION "0.1"
#endif

#define NAME "asios-exporter"
#define DEFAULT_LISTEN "127.0.0.1:9647"
#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct exporter {
	const char *root_path;
	unsigned long long scrapes, errors;
	double seconds;              /* spent building expositions */
};

static void warn(void *userdata, const char *what)
{
	(void)userdata;
	fprintf(stderr, "<4>" NAME ": %s\n", what);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* the exporter's own families: what a scrape costs */
static void self_metrics(FILE *f, const struct exporter *x)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	fprintf(f, "# HELP asios_exporter_scrapes_total Scrapes served, this one included.\n"
		   "# TYPE asios_exporter_scrapes_total counter\nasios_exporter_scrapes_total %llu\n"
		   "# HELP asios_exporter_scrape_errors_total Scrapes whose machine could not be read.\n"
		   "# TYPE asios_exporter_scrape_errors_total counter\nasios_exporter_scrape_errors_total %llu\n"
		   "# HELP asios_exporter_scrape_seconds_total Time spent reading the machine for scrapes.\n"
		   "# TYPE asios_exporter_scrape_seconds_total counter\nasios_exporter_scrape_seconds_total %.6f\n"
		   "# HELP asios_exporter_max_resident_memory_bytes Peak resident memory of the exporter.\n"
		   "# TYPE asios_exporter_max_resident_memory_bytes gauge\nasios_exporter_max_resident_memory_bytes %ld\n",
		x->scrapes, x->errors, x->seconds, ru.ru_maxrss * 1024L);
}

/* the exposition, in *TEXT (to free()), or NULL when the machine could not be read (logged) */
static char *exposition(struct exporter *x, size_t *len)
{
	struct asios_metrics_opts o = { .root_path = x->root_path, .warn = warn };
	struct asios_snapshot *s = NULL;
	struct asios_root *root = NULL;
	char *text = NULL, *why = NULL;
	double start = now();
	FILE *f;
	int r;

	x->scrapes++;
	r = asios_root_open(x->root_path, &root);
	if (r >= 0)
		r = asios_snapshot_load_why(root, &s, &why);
	f = r >= 0 ? open_memstream(&text, len) : NULL;
	if (f) {
		r = asios_metrics_write(f, root, s, &o);
		x->seconds += now() - start;
		self_metrics(f, x);
		if (fclose(f) != 0 || r < 0) {
			free(text);
			text = NULL;
		}
	} else {
		fprintf(stderr, "<3>" NAME ": cannot read the machine under %s: %s\n", x->root_path,
			why ? why : strerror(r < 0 ? -r : ENOMEM));
	}
	if (!text)
		x->errors++;
	free(why);
	asios_snapshot_free(s);
	asios_root_free(root);
	return text;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type, char *body, size_t len,
			     enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, mode);
	enum MHD_Result r;

	if (!resp)
		return MHD_NO;
	(void)MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	r = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return r;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
			      const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	static char page[] = "<html><head><title>ASIOS exporter</title></head><body><h1>ASIOS exporter</h1>"
			     "<p><a href=\"/metrics\">Metrics</a></p></body></html>\n";
	static char not_found[] = "not found: the metrics are at /metrics\n";
	static char bad_method[] = "only GET and HEAD are served\n";
	static char unreadable[] = "the machine could not be read (the exporter's log says why)\n";
	size_t len = 0;
	char *text;

	(void)version;
	(void)upload;
	(void)upload_size;
	(void)con_cls;
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", bad_method, strlen(bad_method),
			     MHD_RESPMEM_PERSISTENT);
	if (!strcmp(url, "/"))
		return reply(c, MHD_HTTP_OK, "text/html", page, strlen(page), MHD_RESPMEM_PERSISTENT);
	if (strcmp(url, "/metrics"))
		return reply(c, MHD_HTTP_NOT_FOUND, "text/plain", not_found, strlen(not_found), MHD_RESPMEM_PERSISTENT);
	text = exposition(cls, &len);
	if (!text)
		return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain", unreadable, strlen(unreadable),
			     MHD_RESPMEM_PERSISTENT);
	return reply(c, MHD_HTTP_OK, CONTENT_TYPE, text, len, MHD_RESPMEM_MUST_FREE);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	fputs("<4>" NAME ": ", stderr);
	vfprintf(stderr, fmt, ap);
}

/* ADDRESS:PORT or [ADDRESS]:PORT, numeric, into *SS */
static int parse_listen(const char *arg, struct sockaddr_storage *ss, socklen_t *len)
{
	struct addrinfo hints = { .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV, .ai_socktype = SOCK_STREAM }, *ai = NULL;
	const char *colon = strrchr(arg, ':');
	char host[INET6_ADDRSTRLEN + 2];
	size_t n;

	if (!colon || !colon[1])
		return -EINVAL;
	n = (size_t)(colon - arg);
	if (n >= 2 && arg[0] == '[' && arg[n - 1] == ']') {
		arg++;
		n -= 2;
	}
	if (!n || n >= sizeof(host))
		return -EINVAL;
	memcpy(host, arg, n);
	host[n] = 0;
	if (getaddrinfo(host, colon + 1, &hints, &ai) != 0 || !ai)
		return -EINVAL;
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*len = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

static void usage(void)
{
	printf("Usage: " NAME " [--listen ADDRESS:PORT] [--root DIR]\n\n"
	       "Serve what ASIOS knows of the machine at http://ADDRESS:PORT/metrics in the Prometheus text format\n"
	       "(the exposition of `asiosctl metrics`), read afresh at each scrape. Under systemd the listening\n"
	       "socket comes from asios-exporter.socket; otherwise --listen (default " DEFAULT_LISTEN ").\n\n"
	       "  -l, --listen ADDRESS:PORT  where to listen when no socket is passed ([::1]:PORT for IPv6)\n"
	       "  -r, --root DIR             read a capture instead of the machine\n"
	       "  -h, --help                 this text\n"
	       "      --version              the version\n");
}

static int parse_args(int argc, char **argv, const char **listen_on, const char **root)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' }, { "root", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },         { "version", no_argument, NULL, 'V' },
		{},
	};
	int c;

	while ((c = getopt_long(argc, argv, "l:r:h", opts, NULL)) != -1) {
		if (c == 'l' || c == 'r') {
			if (!*optarg) {
				fprintf(stderr, NAME ": --%s needs a value\n", c == 'l' ? "listen" : "root");
				return 2;
			}
			*(c == 'l' ? listen_on : root) = optarg;
		} else if (c == 'h') {
			usage();
			return 0;
		} else if (c == 'V') {
			printf(NAME " %s\n", ASIOS_VERSION);
			return 0;
		} else {
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, NAME ": unexpected argument '%s' (see --help)\n", argv[optind]);
		return 2;
	}
	return -1;
}

static struct MHD_Daemon *serve(struct exporter *x, const char *listen_on, bool *passed)
{
	const unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	struct sockaddr_storage ss;
	socklen_t len;
	int n = sd_listen_fds(1);

	*passed = n == 1;
	if (n > 1) {
		fprintf(stderr, "<3>" NAME ": %d sockets passed, one expected\n", n);
		return NULL;
	}
	if (n == 1)
		return MHD_start_daemon(flags, 0, NULL, NULL, handle, x, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
					MHD_OPTION_LISTEN_SOCKET, SD_LISTEN_FDS_START, MHD_OPTION_CONNECTION_TIMEOUT, 10u,
					MHD_OPTION_CONNECTION_LIMIT, 16u, MHD_OPTION_END);
	if (parse_listen(listen_on, &ss, &len) < 0) {
		fprintf(stderr, "<3>" NAME ": --listen %s: not a numeric ADDRESS:PORT\n", listen_on);
		errno = EINVAL;
		return NULL;
	}
	errno = 0;
	return MHD_start_daemon(flags | (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0), 0, NULL, NULL, handle, x,
				MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_CONNECTION_LIMIT, 16u, MHD_OPTION_END);
}

static int no_reload(void *userdata)
{
	(void)userdata;
	return 0;
}

int main(int argc, char **argv)
{
	const char *listen_on = DEFAULT_LISTEN;
	struct exporter x = { .root_path = "/" };
	struct MHD_Daemon *d;
	sd_event *e = NULL;
	bool passed = false;
	char status[128];
	int r = parse_args(argc, argv, &listen_on, &x.root_path);

	if (r >= 0)
		return r;
	r = asios_daemon_event(&e, no_reload, &x);
	if (r < 0)
		return asios_daemon_start_failed(NAME, r);
	d = serve(&x, listen_on, &passed);
	if (!d) {
		if (errno != EINVAL)
			fprintf(stderr, "<3>" NAME ": cannot serve on %s: %s\n",
				passed ? "the passed socket" : listen_on, errno ? strerror(errno) : "libmicrohttpd refused");
		sd_event_unref(e);
		return 1;
	}
	snprintf(status, sizeof(status), "serving %s/metrics", passed ? "the socket's" : listen_on);
	fprintf(stderr, "<6>" NAME ": %s (machine under %s)\n", status, x.root_path);
	r = asios_daemon_loop(e, status);
	MHD_stop_daemon(d);
	sd_event_unref(e);
	return r < 0 ? 1 : 0;
}
