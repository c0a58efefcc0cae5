/* SPDX-FileCopyrightText: 2026 The ASIOS Authors
 * SPDX-License-Identifier: GPL-3.0-or-later */
/* A NIC's ethtool settings over the ethtool generic netlink family, with libmnl (ethtool.h). */
#define _GNU_SOURCE
#include "asios/ethtool.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/ethtool_netlink.h>
#include <linux/if.h>
#ifndef ASIOS_NO_NETLINK
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#endif

#include "asios/root.h"

static const struct asios_eth_field channels[] = {
	{ "rx_max", ETHTOOL_A_CHANNELS_RX_MAX, false, false },
	{ "tx_max", ETHTOOL_A_CHANNELS_TX_MAX, false, false },
	{ "other_max", ETHTOOL_A_CHANNELS_OTHER_MAX, false, false },
	{ "combined_max", ETHTOOL_A_CHANNELS_COMBINED_MAX, false, false },
	{ "rx", ETHTOOL_A_CHANNELS_RX_COUNT, false, true },
	{ "tx", ETHTOOL_A_CHANNELS_TX_COUNT, false, true },
	{ "other", ETHTOOL_A_CHANNELS_OTHER_COUNT, false, true },
	{ "combined", ETHTOOL_A_CHANNELS_COMBINED_COUNT, false, true },
};

static const struct asios_eth_field rings[] = {
	{ "rx_max", ETHTOOL_A_RINGS_RX_MAX, false, false },
	{ "rx_mini_max", ETHTOOL_A_RINGS_RX_MINI_MAX, false, false },
	{ "rx_jumbo_max", ETHTOOL_A_RINGS_RX_JUMBO_MAX, false, false },
	{ "tx_max", ETHTOOL_A_RINGS_TX_MAX, false, false },
	{ "rx", ETHTOOL_A_RINGS_RX, false, true },
	{ "rx_mini", ETHTOOL_A_RINGS_RX_MINI, false, true },
	{ "rx_jumbo", ETHTOOL_A_RINGS_RX_JUMBO, false, true },
	{ "tx", ETHTOOL_A_RINGS_TX, false, true },
};

static const struct asios_eth_field coalesce[] = {
	{ "rx_usecs", ETHTOOL_A_COALESCE_RX_USECS, false, true },
	{ "rx_max_frames", ETHTOOL_A_COALESCE_RX_MAX_FRAMES, false, true },
	{ "tx_usecs", ETHTOOL_A_COALESCE_TX_USECS, false, true },
	{ "tx_max_frames", ETHTOOL_A_COALESCE_TX_MAX_FRAMES, false, true },
	{ "adaptive_rx", ETHTOOL_A_COALESCE_USE_ADAPTIVE_RX, true, true },
	{ "adaptive_tx", ETHTOOL_A_COALESCE_USE_ADAPTIVE_TX, true, true },
};

static const struct {
	const char *name;
	const struct asios_eth_field *fields;
	unsigned n;
	uint8_t get, set;       /* ETHTOOL_MSG_*_GET / _SET */
	uint16_t header;        /* ETHTOOL_A_*_HEADER */
} groups[_ASIOS_ETH_GROUP_MAX] = {
	[ASIOS_ETH_CHANNELS] = { "channels", channels, sizeof(channels) / sizeof(channels[0]),
				 ETHTOOL_MSG_CHANNELS_GET, ETHTOOL_MSG_CHANNELS_SET, ETHTOOL_A_CHANNELS_HEADER },
	[ASIOS_ETH_RINGS] = { "rings", rings, sizeof(rings) / sizeof(rings[0]), ETHTOOL_MSG_RINGS_GET,
			      ETHTOOL_MSG_RINGS_SET, ETHTOOL_A_RINGS_HEADER },
	[ASIOS_ETH_COALESCE] = { "coalesce", coalesce, sizeof(coalesce) / sizeof(coalesce[0]),
				 ETHTOOL_MSG_COALESCE_GET, ETHTOOL_MSG_COALESCE_SET, ETHTOOL_A_COALESCE_HEADER },
};

const char *asios_eth_group_name(enum asios_eth_group g)
{
	return (unsigned)g < _ASIOS_ETH_GROUP_MAX ? groups[g].name : "?";
}

int asios_eth_group_find(const char *name)
{
	for (int g = 0; g < _ASIOS_ETH_GROUP_MAX; g++)
		if (!strcmp(groups[g].name, name))
			return g;
	return -1;
}

const struct asios_eth_field *asios_eth_fields(enum asios_eth_group g, unsigned *n)
{
	*n = groups[g].n;
	return groups[g].fields;
}

const struct asios_eth_field *asios_eth_field_find(enum asios_eth_group g, const char *name)
{
	for (unsigned i = 0; i < groups[g].n; i++)
		if (!strcmp(groups[g].fields[i].name, name))
			return &groups[g].fields[i];
	return NULL;
}

/* ---- the capture's emulation ---- */

void asios_ethtool_capture_path(const char *ifname, enum asios_eth_group g, char *buf, unsigned size)
{
	snprintf(buf, size, "%s/%s/%s", ASIOS_ETHTOOL_CAPTURE, ifname, groups[g].name);
}

char *asios_ethtool_capture_text(enum asios_eth_group g, const struct asios_eth_values *values)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return NULL;
	for (unsigned i = 0; i < groups[g].n; i++)
		if (values->has[groups[g].fields[i].attr])
			fprintf(f, "%s %ld\n", groups[g].fields[i].name, values->v[groups[g].fields[i].attr]);
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

static int capture_parse(enum asios_eth_group g, char *text, struct asios_eth_values *out, unsigned *line)
{
	char *save = NULL;
	unsigned n = 0;

	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char name[32], extra;
		long v;
		const struct asios_eth_field *f;

		n++;
		if (sscanf(l, "%31s %ld %c", name, &v, &extra) != 2 || !(f = asios_eth_field_find(g, name)) || v < 0 ||
		    v > UINT32_MAX || (f->u8 && v > 1)) {
			if (line)
				*line = n;
			return -EINVAL;
		}
		out->v[f->attr] = v;
		out->has[f->attr] = true;
	}
	return 0;
}

static int capture_get(struct asios_root *root, const char *ifname, enum asios_eth_group g,
		       struct asios_eth_values *out, unsigned *line)
{
	char path[256], *text = NULL;
	int r;

	memset(out, 0, sizeof(*out));
	snprintf(path, sizeof(path), "/sys/class/net/%s", ifname);
	if (!asios_exists(root, path))
		return -ENODEV;
	asios_ethtool_capture_path(ifname, g, path, sizeof(path));
	r = asios_read_file(root, path, &text, NULL);
	if (r >= 0)
		r = capture_parse(g, text, out, line);
	free(text);
	return r;
}

static int capture_set(struct asios_root *root, const char *ifname, enum asios_eth_group g,
		       const struct asios_eth_field *f, long value)
{
	struct asios_eth_values now;
	char path[256], *text;
	int r = capture_get(root, ifname, g, &now, NULL);

	if (r < 0)
		return r == -ENOENT ? -EOPNOTSUPP : r;
	/* as the kernel: an attribute the device does not report is one it does not support */
	if (!now.has[f->attr])
		return -EOPNOTSUPP;
	now.v[f->attr] = value;
	if (!(text = asios_ethtool_capture_text(g, &now)))
		return -ENOMEM;
	asios_ethtool_capture_path(ifname, g, path, sizeof(path));
	/* rewritten in place, as a sysfs file (its mode kept); the write adds the last line's newline back */
	text[strlen(text) - 1] = 0;
	r = asios_write_file(root, path, text);
	free(text);
	return r;
}

/* ---- netlink ---- */

#ifndef ASIOS_NO_NETLINK

struct nl {
	struct mnl_socket *sock;
	unsigned portid, seq;
	uint16_t family;
	char *buf;              /* MNL_SOCKET_BUFFER_SIZE */
};

static void nl_close(struct nl *nl)
{
	if (nl->sock)
		mnl_socket_close(nl->sock);
	free(nl->buf);
}

static struct nlmsghdr *nl_msg(struct nl *nl, uint16_t type, uint16_t flags, uint8_t cmd, uint8_t version)
{
	struct nlmsghdr *h = mnl_nlmsg_put_header(nl->buf);
	struct genlmsghdr *gh;

	h->nlmsg_type = type;
	h->nlmsg_flags = NLM_F_REQUEST | flags;
	h->nlmsg_seq = ++nl->seq;
	gh = mnl_nlmsg_put_extra_header(h, sizeof(*gh));
	gh->cmd = cmd;
	gh->version = version;
	return h;
}

/* send H and run CB over the replies until the ack: 0 or -errno (the kernel's error of an NLMSG_ERROR) */
static int nl_talk(struct nl *nl, struct nlmsghdr *h, mnl_cb_t cb, void *data)
{
	ssize_t len;
	int r;

	if (mnl_socket_sendto(nl->sock, h, h->nlmsg_len) < 0)
		return -errno;
	do {
		len = mnl_socket_recvfrom(nl->sock, nl->buf, MNL_SOCKET_BUFFER_SIZE);
		if (len < 0)
			return -errno;
		r = mnl_cb_run(nl->buf, (size_t)len, nl->seq, nl->portid, cb, data);
	} while (r > 0);
	return r < 0 ? -errno : 0;
}

static int family_attr(const struct nlattr *a, void *data)
{
	if (mnl_attr_get_type(a) == CTRL_ATTR_FAMILY_ID && mnl_attr_validate(a, MNL_TYPE_U16) >= 0)
		*(uint16_t *)data = mnl_attr_get_u16(a);
	return MNL_CB_OK;
}

static int family_cb(const struct nlmsghdr *h, void *data)
{
	return mnl_attr_parse(h, sizeof(struct genlmsghdr), family_attr, data) < 0 ? MNL_CB_ERROR : MNL_CB_OK;
}

static int nl_open(struct nl *nl)
{
	struct nlmsghdr *h;
	int r;

	memset(nl, 0, sizeof(*nl));
	if (!(nl->buf = malloc(MNL_SOCKET_BUFFER_SIZE)))
		return -ENOMEM;
	if (!(nl->sock = mnl_socket_open(NETLINK_GENERIC)) || mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		r = -errno;
		nl_close(nl);
		return r;
	}
	nl->portid = mnl_socket_get_portid(nl->sock);
	nl->seq = (unsigned)time(NULL);
	h = nl_msg(nl, GENL_ID_CTRL, NLM_F_ACK, CTRL_CMD_GETFAMILY, 1);
	mnl_attr_put_strz(h, CTRL_ATTR_FAMILY_NAME, ETHTOOL_GENL_NAME);
	r = nl_talk(nl, h, family_cb, &nl->family);
	if (r >= 0 && !nl->family)
		r = -EPROTONOSUPPORT;
	if (r < 0) {
		nl_close(nl);
		/* a kernel without ETHTOOL_NETLINK (before 5.6, or configured out) */
		return r == -ENOENT ? -EOPNOTSUPP : r;
	}
	return 0;
}

static struct nlmsghdr *nl_request(struct nl *nl, enum asios_eth_group g, bool set, const char *ifname)
{
	struct nlmsghdr *h = nl_msg(nl, nl->family, NLM_F_ACK, set ? groups[g].set : groups[g].get,
				    ETHTOOL_GENL_VERSION);
	struct nlattr *nest = mnl_attr_nest_start(h, groups[g].header);

	mnl_attr_put_strz(h, ETHTOOL_A_HEADER_DEV_NAME, ifname);
	mnl_attr_nest_end(h, nest);
	return h;
}

struct reply {
	enum asios_eth_group g;
	struct asios_eth_values *out;
};

static int reply_attr(const struct nlattr *a, void *data)
{
	struct reply *x = data;
	uint16_t t = mnl_attr_get_type(a);

	for (unsigned i = 0; i < groups[x->g].n && t < ASIOS_ETH_FIELDS; i++) {
		const struct asios_eth_field *f = &groups[x->g].fields[i];

		if (f->attr != t || mnl_attr_validate(a, f->u8 ? MNL_TYPE_U8 : MNL_TYPE_U32) < 0)
			continue;
		x->out->v[t] = f->u8 ? mnl_attr_get_u8(a) : (long)mnl_attr_get_u32(a);
		x->out->has[t] = true;
	}
	return MNL_CB_OK;
}

static int reply_cb(const struct nlmsghdr *h, void *data)
{
	return mnl_attr_parse(h, sizeof(struct genlmsghdr), reply_attr, data) < 0 ? MNL_CB_ERROR : MNL_CB_OK;
}

#endif /* ASIOS_NO_NETLINK */

int asios_ethtool_get(struct asios_root *root, const char *ifname, enum asios_eth_group g, struct asios_eth_values *out,
		      unsigned *line)
{
	memset(out, 0, sizeof(*out));
	if (strlen(ifname) >= IFNAMSIZ)
		return -ENODEV;
	if (!asios_root_is_host(root))
		return capture_get(root, ifname, g, out, line);
#ifdef ASIOS_NO_NETLINK /* the static guest programs: Debian ships libmnl as a shared library only */
	return -EOPNOTSUPP;
#else
	struct reply x = { g, out };
	struct nl nl;
	int r;

	if ((r = nl_open(&nl)) < 0)
		return r;
	r = nl_talk(&nl, nl_request(&nl, g, false, ifname), reply_cb, &x);
	nl_close(&nl);
	return r;
#endif
}

int asios_ethtool_set(struct asios_root *root, const char *ifname, enum asios_eth_group g,
		      const struct asios_eth_field *f, long value)
{
	if (strlen(ifname) >= IFNAMSIZ)
		return -ENODEV;
	if (value < 0 || value > UINT32_MAX || (f->u8 && value > 1) || !f->settable)
		return -EINVAL;
	if (!asios_root_is_host(root))
		return capture_set(root, ifname, g, f, value);
#ifdef ASIOS_NO_NETLINK
	return -EOPNOTSUPP;
#else
	struct nlmsghdr *h;
	struct nl nl;
	int r;

	if ((r = nl_open(&nl)) < 0)
		return r;
	h = nl_request(&nl, g, true, ifname);
	if (f->u8)
		mnl_attr_put_u8(h, (uint16_t)f->attr, (uint8_t)value);
	else
		mnl_attr_put_u32(h, (uint16_t)f->attr, (uint32_t)value);
	r = nl_talk(&nl, h, NULL, NULL);
	nl_close(&nl);
	return r;
#endif
}
