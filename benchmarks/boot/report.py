#!/usr/bin/env python3
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
"""Report of benchmarks/boot/boot-compare.sh: reads WORK/{asios,debian}-N.log (the guests' BOOTCMP: lines),
writes OUT/report.md and OUT/report.json and prints the table."""
import argparse
import json
import os
import re
import statistics
import sys

UNIT = re.compile(r'([A-Za-z0-9@_.\\:-]+\.(?:service|target|socket|mount|device|slice|path|timer|swap))')


def parse(path):
    """The BOOTCMP: lines of one console log, by kind."""
    got = {'chain': [], 'blame': [], 'time': [], 'failed': []}
    with open(path, 'rb') as f:
        for raw in f.read().decode('utf-8', 'replace').replace('\r', '').split('\n'):
            if not raw.startswith('BOOTCMP: '):
                continue
            kind, _, rest = raw[len('BOOTCMP: '):].partition(' ')
            if kind in got:
                got[kind].append(rest)
            else:
                got[kind] = rest
    if 'stamps' not in got or 'done' not in got:
        raise ValueError(f'{path}: no complete BOOTCMP report (the guest did not finish)')
    stamps = dict(kv.split('=', 1) for kv in got['stamps'].split())
    try:
        st = {k: int(v) / 1e6 for k, v in stamps.items()}
    except ValueError as e:
        raise ValueError(f'{path}: stamps line unreadable: {got["stamps"]!r}') from e
    initrd, user, finish, mu = st['initrd'], st['userspace'], st['finish'], st['multiuser']
    got['phases'] = {
        'kernel': initrd if initrd else user,
        'initrd': (user - initrd) if initrd else 0.0,
        'userspace': finish - user,
        'total': finish,
        'multi_user': mu,
    }
    return got


def units(lines):
    out = []
    for line in lines:
        m = UNIT.search(line)
        if m:
            out.append(m.group(1))
    return out


def blame_of(lines):
    """{unit: seconds} of systemd-analyze blame lines ("1.234s unit", "1min 2.3s unit", "345ms unit")."""
    res = {}
    for line in lines:
        m = re.match(r'\s*((?:\d+min )?[\d.]+(?:ms|s|us|µs))\s+(\S+)', line)
        if not m:
            continue
        t, u = m.group(1), m.group(2)
        secs = 0.0
        mm = re.match(r'(?:(\d+)min )?([\d.]+)(ms|s|us|µs)', t)
        if mm.group(1):
            secs += 60 * int(mm.group(1))
        v = float(mm.group(2))
        secs += {'s': v, 'ms': v / 1e3, 'us': v / 1e6, 'µs': v / 1e6}[mm.group(3)]
        res[u] = round(secs, 3)
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--work', required=True)
    ap.add_argument('--out', required=True)
    ap.add_argument('--accel', default='tcg')
    ap.add_argument('--asios-manifest', required=True)
    ap.add_argument('--debian-manifest', required=True)
    a = ap.parse_args()
    runs = {'asios': [], 'debian': []}
    errors = []
    for name in sorted(os.listdir(a.work)):
        m = re.fullmatch(r'(asios|debian)-(\d+)\.log', name)
        if not m:
            continue
        try:
            runs[m.group(1)].append((int(m.group(2)), parse(os.path.join(a.work, name))))
        except (ValueError, KeyError) as e:
            errors.append(str(e))
    for k in runs:
        runs[k].sort(key=lambda x: x[0])
        if not runs[k]:
            errors.append(f'no finished boot of the {k} image in {a.work}')
    if errors:
        for e in errors:
            print(f'boot report: {e}', file=sys.stderr)
        if any(not v for v in runs.values()):
            return 1
    phases = ('kernel', 'initrd', 'userspace', 'total', 'multi_user')
    med = {k: {p: round(statistics.median(r['phases'][p] for _, r in v), 2) for p in phases}
           for k, v in runs.items()}
    last = {k: v[-1][1] for k, v in runs.items()}
    chain = {k: units(last[k]['chain']) for k in last}
    added = [u for u in chain['asios'] if u not in chain['debian']]
    blame = {k: blame_of(last[k]['blame']) for k in last}
    asios_units = {u: t for u, t in blame['asios'].items()
                   if u.startswith('asios') or u not in blame['debian']}
    res = {
        'accel': a.accel, 'rounds': {k: len(v) for k, v in runs.items()},
        'kernel': {k: last[k].get('kernel', '') for k in last},
        'median_s': med,
        'ratio_asios_over_debian': {p: (round(med['asios'][p] / med['debian'][p], 3) if med['debian'][p] else None)
                                    for p in phases},
        'runs': {k: [dict(round=n, **r['phases']) for n, r in v] for k, v in runs.items()},
        'critical_chain': {k: last[k]['chain'] for k in last},
        'chain_units_only_in_asios': added,
        'blame_asios_units_not_in_debian_top25': asios_units,
        'failed_units': {k: last[k]['failed'] for k in last},
        'state': {k: last[k].get('state', '') for k in last},
        'manifests': {'asios': a.asios_manifest, 'debian': a.debian_manifest},
        'goal_multi_user_asios_le_debian': med['asios']['multi_user'] <= med['debian']['multi_user'],
    }
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, 'report.json'), 'w') as f:
        json.dump(res, f, indent=1, ensure_ascii=False)
    md = ['# Boot time: ASIOS cloud image vs the Debian reference image', '',
          f'qemu q35, 2 vCPUs, 2 GiB, {a.accel}; medians of {res["rounds"]["asios"]} (ASIOS) and '
          f'{res["rounds"]["debian"]} (Debian) boots in ABBA order; seconds since the kernel started.', '',
          '| phase | Debian reference | ASIOS | ASIOS / Debian |', '|---|---|---|---|']
    for p in phases:
        r = res['ratio_asios_over_debian'][p]
        md.append(f'| {p.replace("_", "-")} | {med["debian"][p]:.2f} | {med["asios"][p]:.2f} | '
                  f'{r if r is not None else "–"} |')
    md += ['', f'Kernels: Debian `{res["kernel"]["debian"]}`, ASIOS `{res["kernel"]["asios"]}`.',
           f'System state at the end: Debian {res["state"]["debian"]}, ASIOS {res["state"]["asios"]}.',
           f'Goal (multi-user.target reached no later than Debian\'s): '
           f'{"met" if res["goal_multi_user_asios_le_debian"] else "NOT met"}.', '',
           'Every boot (kernel, initrd, userspace, total, multi-user, s):', '']
    for k, v in res['runs'].items():
        for r in v:
            md.append(f'- {k} round {r["round"]}: ' + ', '.join(f'{r[p]:.2f}' for p in phases))
    md += ['', 'Units on the ASIOS critical chain that the Debian chain lacks: ' +
           (', '.join(f'`{u}`' for u in added) or 'none'), '',
           'Units in ASIOS\'s blame (top 25) that Debian\'s lacks, with their start-up time: ' +
           (', '.join(f'`{u}` {t:.2f} s' for u, t in asios_units.items()) or 'none'), '']
    for k in ('debian', 'asios'):
        md += [f'Critical chain of multi-user.target, {k} (last round):', '', '```']
        md += last[k]['chain'] + ['```', '']
    with open(os.path.join(a.out, 'report.md'), 'w') as f:
        f.write('\n'.join(md) + '\n')
    print('\n'.join(md[:12 + len(phases)]))
    print(f'report: {os.path.join(a.out, "report.md")}')
    return 1 if errors else 0


if __name__ == '__main__':
    sys.exit(main())
