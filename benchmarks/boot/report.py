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
    got = {'chain': [], 'blame': [], 'time': [], 'failed': [], 'cpu': []}
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


def cpu_of(got):
    """{cgroup: CPU seconds} of the "cpu USEC CGROUP" lines (system.slice: every service, the stopped ones
    included; init.scope: systemd itself; NAME.service: one still running), and the busy CPU seconds of the boot
    from the /proc/stat line (user, nice, system, irq, softirq, steal; USER_HZ 100) with its hard and soft interrupt
    parts ({'busy', 'irq', 'softirq'}): None where none was printed."""
    units_cpu = {}
    for line in got['cpu']:
        f = line.split()
        if len(f) == 2 and f[0].isdigit():
            units_cpu[f[1]] = int(f[0]) / 1e6
    stat = None
    f = got.get('stat', '').split()
    if len(f) >= 9 and f[0] == 'cpu':
        v = [int(x) for x in f[1:9]]
        stat = {'busy': (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / 100, 'irq': v[5] / 100, 'softirq': v[6] / 100}
    return units_cpu, stat


def cpu_section(runs):
    """Medians over the rounds: the boot's busy CPU per image, and the units that cost the most CPU (ASIOS's own,
    and any other one whose median differs by more than 0.5 s between the images)."""
    med = {}
    busy = {}
    for k, v in runs.items():
        per = [cpu_of(r) for _, r in v]
        b = [x for _, x in per if x is not None]
        busy[k] = {f: round(statistics.median(x[f] for x in b), 2) for f in ('busy', 'irq', 'softirq')} if b else None
        names = set().union(*(u for u, _ in per))
        med[k] = {u: round(statistics.median(d.get(u, 0.0) for d, _ in per), 2) for u in names}
    keys = set(med['asios']) | set(med['debian'])
    rows = sorted((u for u in keys if u in ('system.slice', 'init.scope') or u.startswith('asios') or
                   abs(med['asios'].get(u, 0.0) - med['debian'].get(u, 0.0)) > 0.5),
                  key=lambda u: (u != 'system.slice', u != 'init.scope',
                                 -(med['asios'].get(u, 0.0) - med['debian'].get(u, 0.0))))
    md = []
    if busy['asios'] is not None and busy['debian'] is not None:
        d, a_ = busy['debian'], busy['asios']
        md += [f'CPU busy during the boot (all vCPUs, medians, /proc/stat at the end): Debian {d["busy"]:.2f} s, '
               f'ASIOS {a_["busy"]:.2f} s ({a_["busy"] - d["busy"]:+.2f} s); of it in hard interrupts Debian '
               f'{d["irq"]:.2f} s, ASIOS {a_["irq"]:.2f} s, in soft interrupts Debian {d["softirq"]:.2f} s, ASIOS '
               f'{a_["softirq"]:.2f} s (a kernel without IRQ_TIME_ACCOUNTING only samples these at its tick, and '
               'charges most of them to what they interrupted).', '']
    if rows:
        md += ['CPU time (cgroup cpu.stat at the end, medians, s): all services (`system.slice`), systemd '
               "(`init.scope`), ASIOS's services still running and any other one differing by more than 0.5 s:", '',
               '| unit | Debian | ASIOS | ASIOS − Debian |', '|---|---|---|---|']
        for u in rows:
            d, a_ = med['debian'].get(u), med['asios'].get(u)
            md.append(f'| `{u}` | {"–" if d is None else f"{d:.2f}"} | {"–" if a_ is None else f"{a_:.2f}"} | '
                      f'{(a_ or 0.0) - (d or 0.0):+.2f} |')
        md.append('')
    return {'busy_s': busy, 'units_s': med}, md


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
    res['cpu'], cpu_md = cpu_section(runs)
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
    md += cpu_md
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
