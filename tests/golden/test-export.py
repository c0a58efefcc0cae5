#!/usr/bin/env python3
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
"""asiosctl export slurm|kubernetes|nccl on the fixtures ai-2s8g, gh200 and ws-2g-iso (nccl also on the real
POWER9 capture nvidiagpunumanodes, the real H200 virtual machine h200-1g16c and 32em64t-2n8c+dax+nvme+mic+dimms,
a real server with InfiniBand and no GPU).

  - goldens tests/golden/export/NAME.TARGET.txt (ASIOS_REGEN=1 rewrites; a missing one fails);
  - Slurm: each GPU's Cores= are logical cores whose CPUs are all on the GPU's NUMA node (and not housekeeping
    when CPUs are isolated); File= numbered in PCI order; Links= -1 on itself; the node line adds up
    (CPUs = sockets x cores x threads = online CPUs); CpuSpecList is the housekeeping CPUs (as Slurm abstract
    IDs, mapped back to OS CPUs) on ws-2g-iso and absent without isolation;
  - Kubernetes: every NFD line is asios.io/NAME=VALUE with a valid label value; the kubelet drop-in parses as
    YAML, names only KubeletConfiguration v1beta1 fields and its reservedSystemCPUs parses as a cpuset;
  - NCCL: the topology file parses as XML; every NVIDIA/AMD GPU and every NIC is in it once, under the <cpu>
    of its NUMA node (affinity = that node's CPUs) and nested in the PCI bridges of its sysfs path, in order;
    no <cpu> without a GPU; nccl.conf names NCCL_TOPO_FILE, NCCL_IB_HCA only RDMA devices of the machine's NICs
    (those paired with a GPU behind one PCIe switch when there are such pairs), NCCL_SOCKET_IFNAME only
    interfaces of NICs without RDMA;
  - --json and --output-dir carry the same files; bad input: a missing --root (exit 1, named), an unwritable
    --output-dir (exit 1, named), an unknown or missing target and an extra argument (exit 2).
TAP output.
"""
import json
import os
import re
import sys
import tempfile
import xml.etree.ElementTree as ET

import yaml

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from taplib import ASIOSCTL, FIXTURES, GOLDEN, SHARED, TOP, check, ctl, done, eq, export_files, golden, need, unpack_root, untar  # noqa: E402

MACHINES = ("ai-2s8g", "gh200", "ws-2g-iso")
# real machines for the nccl export: hwloc's captures (../shared) and ours (tests/machines)
NCCL_REAL = ("nvidiagpunumanodes", "32em64t-2n8c+dax+nvme+mic+dimms")
NCCL_CAPTURES = ("h200-1g16c",)
LABEL_VALUE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$")
CPUSET = re.compile(r"^\d+(-\d+)?(,\d+(-\d+)?)*$")

# The fields of KubeletConfiguration (kubelet.config.k8s.io/v1beta1) as the published API reference and its Go
# type (k8s.io/kubelet/config/v1beta1, types.go) name them, with the TypeMeta fields apiVersion and kind.
KUBELET_FIELDS = {
    "apiVersion", "kind",
    "enableServer", "staticPodPath", "podLogsDir", "syncFrequency", "fileCheckFrequency", "httpCheckFrequency",
    "staticPodURL", "staticPodURLHeader", "address", "port", "readOnlyPort", "tlsCertFile", "tlsPrivateKeyFile",
    "tlsCipherSuites", "tlsCurvePreferences", "tlsMinVersion", "rotateCertificates", "serverTLSBootstrap",
    "authentication", "authorization", "registryPullQPS", "registryBurst", "imagePullCredentialsVerificationPolicy",
    "preloadedImagesVerificationAllowlist", "eventRecordQPS", "eventBurst", "enableDebuggingHandlers",
    "enableContentionProfiling", "healthzPort", "healthzBindAddress", "oomScoreAdj", "clusterDomain", "clusterDNS",
    "streamingConnectionIdleTimeout", "nodeStatusUpdateFrequency", "nodeStatusReportFrequency",
    "nodeLeaseDurationSeconds", "imageMinimumGCAge", "imageMaximumGCAge", "imageGCHighThresholdPercent",
    "imageGCLowThresholdPercent", "volumeStatsAggPeriod", "kubeletCgroups", "systemCgroups", "cgroupRoot",
    "cgroupsPerQOS", "cgroupDriver", "cpuManagerPolicy", "singleProcessOOMKill", "cpuManagerPolicyOptions",
    "cpuManagerReconcilePeriod", "draManagerReconcilePeriod", "memoryManagerPolicy", "topologyManagerPolicy",
    "topologyManagerScope", "topologyManagerPolicyOptions", "qosReserved", "runtimeRequestTimeout", "hairpinMode",
    "maxPods", "podCIDR", "podPidsLimit", "resolvConf", "runOnce", "cpuCFSQuota", "cpuCFSQuotaPeriod",
    "nodeStatusMaxImages", "maxOpenFiles", "contentType", "kubeAPIQPS", "kubeAPIBurst", "serializeImagePulls",
    "maxParallelImagePulls", "evictionHard", "evictionSoft", "evictionSoftGracePeriod",
    "evictionPressureTransitionPeriod", "evictionMaxPodGracePeriod", "evictionMinimumReclaim",
    "mergeDefaultEvictionSettings", "podsPerCore", "enableControllerAttachDetach", "protectKernelDefaults",
    "makeIPTablesUtilChains", "iptablesMasqueradeBit", "iptablesDropBit", "featureGates", "failSwapOn",
    "memorySwap", "containerLogMaxSize", "containerLogMaxFiles", "containerLogMaxWorkers",
    "containerLogMonitorInterval", "configMapAndSecretChangeDetectionStrategy", "systemReserved", "kubeReserved",
    "reservedSystemCPUs", "showHiddenMetricsForVersion", "systemReservedCgroup", "kubeReservedCgroup",
    "enforceNodeAllocatable", "allowedUnsafeSysctls", "volumePluginDir", "providerID", "kernelMemcgNotification",
    "logging", "enableSystemLogHandler", "enableSystemLogQuery", "shutdownGracePeriod",
    "shutdownGracePeriodCriticalPods", "shutdownGracePeriodByPodPriority", "crashLoopBackOff", "reservedMemory",
    "enableProfilingHandler", "enableDebugFlagsHandler", "seccompDefault", "memoryThrottlingFactor",
    "memoryReservationPolicy", "registerWithTaints", "registerNode", "tracing", "localStorageCapacityIsolation",
    "containerRuntimeEndpoint", "imageServiceEndpoint", "failCgroupV1", "userNamespaces",
}


def parse_list(text):
    """'0-3,8' -> {0, 1, 2, 3, 8}"""
    out = set()
    for part in filter(None, text.split(",")):
        a, _, b = part.partition("-")
        out |= set(range(int(a), int(b or a) + 1))
    return out


def topo(root):
    return json.loads(ctl("topology", "--json", "--root", root).stdout)


def abstract_ids(t):
    """OS CPU -> Slurm abstract CPU ID (logical core x threads per core + rank of the thread in its core)"""
    online = sorted((c for c in t["cpus"] if c["online"]), key=lambda c: c["id"])
    per_core = {}
    for c in online:
        per_core.setdefault(c["core"], []).append(c["id"])
    tpc = max(len(v) for v in per_core.values())
    return {cpu: core * tpc + rank for core, cpus in per_core.items() for rank, cpu in enumerate(cpus)}


def fields(line):
    return dict(f.split("=", 1) for f in line.split("#")[0].split())


def check_gres(name, t, gres):
    gpus = sorted((d for d in t["devices"] if d["class"] in ("gpu", "accel") and d["vendor"] == "0x10de"),
                  key=lambda d: d["pci"])
    lines = [fields(x) for x in gres.splitlines() if x.startswith("Name=gpu")]
    eq("%s: a gres line per NVIDIA GPU" % name, len(gpus), len(lines))
    eq("%s: File= in PCI address order" % name, ["/dev/nvidia%d" % i for i in range(len(gpus))],
       [x.get("File") for x in lines])
    cpus_of_core = {}
    for c in t["cpus"]:
        if c["online"]:
            cpus_of_core.setdefault(c["core"], set()).add(c["id"])
    node_of = {c["id"]: c["node"] for c in t["cpus"]}
    hk = set(t["isolation"]["housekeeping"])
    iso = set(t["online"]) - hk if hk and set(t["online"]) - hk else set()
    bad = []
    for gpu, x in zip(gpus, lines):
        cpus = set().union(*(cpus_of_core[k] for k in parse_list(x.get("Cores", ""))))
        node_cpus = {c for c in t["online"] if node_of[c] == gpu["node"]}
        want = {c for c in node_cpus if not iso or c in iso}
        if not cpus or cpus != want:
            bad.append((gpu["pci"], sorted(cpus), sorted(want)))
    eq("%s: each GPU's Cores= are the (workload) CPUs of its NUMA node" % name, [], bad)
    links = [x.get("Links", "").split(",") for x in lines]
    eq("%s: Links= -1 on the device itself, 0 elsewhere" % name,
       [["-1" if i == j else "0" for j in range(len(gpus))] for i in range(len(gpus))], links)


def check_node(name, t, node):
    line = [x for x in node.splitlines() if x.startswith("NodeName=")]
    eq("%s: one NodeName line" % name, 1, len(line))
    f = fields(line[0] if line else "")
    n = len(t["online"])
    eq("%s: CPUs= the online CPUs" % name, str(n), f.get("CPUs"))
    eq("%s: sockets x cores x threads = CPUs" % name, n,
       int(f.get("SocketsPerBoard", 0)) * int(f.get("CoresPerSocket", 0)) * int(f.get("ThreadsPerCore", 0)))
    hk = set(t["isolation"]["housekeeping"])
    if hk == set(t["online"]) or not hk:
        check("CpuSpecList" not in f, "%s: no CpuSpecList without isolated CPUs" % name, line)
        return
    ab = abstract_ids(t)
    spec = parse_list(f.get("CpuSpecList", ""))
    eq("%s: CpuSpecList = the housekeeping CPUs as Slurm abstract IDs" % name, sorted(ab[c] for c in hk),
       sorted(spec))
    back = {cpu for cpu, a in ab.items() if a in spec}
    eq("%s: CpuSpecList mapped back to OS CPUs = the housekeeping CPUs" % name, sorted(hk), sorted(back))


def check_features(name, t, text):
    lines = [x for x in text.splitlines() if x and not x.startswith("#")]
    bad = [x for x in lines if not re.match(r"^asios\.io/[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?=", x) or
           not LABEL_VALUE.match(x.split("=", 1)[1])]
    eq("%s: every NFD line is asios.io/NAME=VALUE with a valid label value" % name, [], bad)
    labels = dict(x.split("=", 1) for x in lines)
    eq("%s: asios.io/gpu-count" % name, str(sum(d["class"] in ("gpu", "accel") for d in t["devices"])),
       labels.get("asios.io/gpu-count"))
    hk = set(t["isolation"]["housekeeping"])
    iso = set(t["online"]) - hk
    if iso:
        eq("%s: asios.io/isolated-cpus" % name, sorted(iso),
           sorted(parse_list(labels.get("asios.io/isolated-cpus", "").replace("_", ","))))
    else:
        check("asios.io/isolated-cpus" not in labels, "%s: no isolated-cpus label without isolation" % name)


def check_kubelet(name, t, text):
    try:
        k = yaml.safe_load(text)
    except yaml.YAMLError as e:
        check(False, "%s: the kubelet drop-in parses as YAML" % name, e)
        return
    check(isinstance(k, dict), "%s: the kubelet drop-in parses as YAML" % name, text)
    k = k if isinstance(k, dict) else {}
    eq("%s: kubelet apiVersion and kind" % name, ("kubelet.config.k8s.io/v1beta1", "KubeletConfiguration"),
       (k.get("apiVersion"), k.get("kind")))
    eq("%s: only KubeletConfiguration v1beta1 fields" % name, [], sorted(set(k) - KUBELET_FIELDS))
    r = k.get("reservedSystemCPUs", "")
    check(isinstance(r, str) and CPUSET.match(r) and all(
        int(a) <= int(b or a) for a, b in re.findall(r"(\d+)(?:-(\d+))?", r)),
        "%s: reservedSystemCPUs parses as a cpuset (%r)" % (name, r))
    hk = set(t["isolation"]["housekeeping"])
    if hk != set(t["online"]):
        eq("%s: reservedSystemCPUs = the housekeeping CPUs" % name, sorted(hk), sorted(parse_list(str(r))))
    numa = sum(1 for n in t["nodes"] if n["cpus"])
    eq("%s: topologyManagerPolicy" % name, "single-numa-node" if numa > 1 else "best-effort",
       k.get("topologyManagerPolicy"))


def nccl_gpu(d):
    return d["class"] in ("gpu", "accel") and d["vendor"] in ("0x10de", "0x1002", "0x0000")


def check_topo_xml(name, t, text):
    try:
        sysx = ET.fromstring(text)
    except ET.ParseError as e:
        check(False, "%s: nccl-topo.xml parses as XML" % name, e)
        return
    eq("%s: nccl-topo.xml is a <system version=1>" % name, ("system", "1"), (sysx.tag, sysx.get("version")))
    devs = [d for d in t["devices"] if nccl_gpu(d) or d["class"] == "nic"]
    has_gpu = any(nccl_gpu(d) for d in devs)
    cpus = sysx.findall("cpu")
    if not has_gpu:
        eq("%s: no <cpu> without a GPU" % name, 0, len(cpus))
        return
    node_cpus = {n["id"]: sorted(n["cpus"]) for n in t["nodes"]}
    seen, bad, aff = {}, [], []
    for cpu in cpus:
        numa = int(cpu.get("numaid"))
        words = cpu.get("affinity").split(",")
        bits = {32 * (len(words) - 1 - i) + b for i, w in enumerate(words) for b in range(32) if int(w, 16) >> b & 1}
        if sorted(bits) != node_cpus.get(numa):
            aff.append((numa, sorted(bits), node_cpus.get(numa)))

        def walk(el, chain):
            for p in el.findall("pci"):
                seen.setdefault(p.get("busid"), []).append((numa, chain + [p.get("busid")]))
                walk(p, chain + [p.get("busid")])
        walk(cpu, [])
    eq("%s: each <cpu>'s affinity is its NUMA node's CPUs" % name, [], aff)
    for d in devs:
        where = seen.get(d["pci"], [])
        path = [x for x in d["pci_path"].split("/") if not x.startswith("pci")]
        if len(where) != 1:
            bad.append((d["pci"], "in the file %d times" % len(where)))
        elif where[0][1] != path:
            bad.append((d["pci"], "nested in %s, sysfs path %s" % (where[0][1], path)))
        elif d["node"] >= 0 and where[0][0] != d["node"]:
            bad.append((d["pci"], "under <cpu numaid=%d>, node %d" % (where[0][0], d["node"])))
    eq("%s: every GPU and NIC once, under its node's <cpu>, in its PCI bridges" % name, [], bad)
    leaves = {b for b, w in seen.items() if b not in {x for v in seen.values() for x in v[0][1][:-1]}}
    eq("%s: the file's end points are the GPUs and NICs" % name, sorted(d["pci"] for d in devs), sorted(leaves))


def check_nccl_conf(name, t, text):
    kv = dict(x.split("=", 1) for x in text.splitlines() if x and not x.startswith("#"))
    eq("%s: NCCL_TOPO_FILE" % name, "/etc/nccl/asios-topo.xml", kv.get("NCCL_TOPO_FILE"))
    nics = [d for d in t["devices"] if d["class"] == "nic"]
    rdma = {r for d in nics for r in d["rdma"]}
    # each NCCL GPU's nearest NIC (nvidia-smi's order, the first in PCI order on a tie), when one PCIe switch
    # holds both
    order = ["X", "PIX", "PXB", "PHB", "NODE", "SYS"]
    gn, by_pci = t["gpu_nic"], {d["pci"]: d for d in t["devices"]}
    paired = set()
    for gpu, row in zip(gn["gpus"], gn["distance"]):
        if not nccl_gpu(by_pci[gpu]) or not row:
            continue
        k = min(range(len(row)), key=lambda i: (order.index(row[i]), i))
        if row[k] in ("PIX", "PXB"):
            paired |= set(by_pci[gn["nics"][k]]["rdma"])
    hca = kv.get("NCCL_IB_HCA")
    if not rdma:
        check(hca is None, "%s: no NCCL_IB_HCA without RDMA devices" % name, hca)
    else:
        check(hca is not None and hca.startswith("="), "%s: NCCL_IB_HCA with exact names (=)" % name, hca)
        got = set((hca or "=").lstrip("=").split(","))
        eq("%s: NCCL_IB_HCA = %s" % (name, "the RDMA devices paired with a GPU" if paired else "every RDMA device"),
           sorted(paired or rdma), sorted(got))
    plain = {n for d in nics if not d["rdma"] for n in d["netdevs"]}
    ifn = kv.get("NCCL_SOCKET_IFNAME")
    eq("%s: NCCL_SOCKET_IFNAME = the interfaces of the NICs without RDMA" % name, sorted(plain),
       sorted(ifn.lstrip("=").split(",")) if ifn else [])


def check_forms(tmp, name, root, target, files):
    """--json and --output-dir carry the files the plain output shows"""
    p = ctl("export", target, "--json", "--root", root)
    try:
        j = {f["name"]: f["content"] for f in json.loads(p.stdout)["files"]}
    except (ValueError, KeyError, TypeError) as e:
        j = {"error": str(e)}
    eq("%s: %s --json carries the same files" % (name, target), files, j)
    out = os.path.join(tmp, "out-%s-%s" % (name, target))
    os.mkdir(out)
    p = ctl("export", target, "--output-dir", out, "--root", root)
    written = {f: open(os.path.join(out, f)).read() for f in sorted(os.listdir(out))}
    check(p.returncode == 0 and written == files, "%s: %s --output-dir writes the same files" % (name, target),
          p.stderr + str(sorted(written)))


def bad_input(tmp, root):
    missing = os.path.join(tmp, "no-such-machine")
    p = ctl("export", "slurm", "--root", missing)
    check(p.returncode == 1 and missing in p.stderr and p.stderr.startswith("asiosctl: export: "),
          "a missing --root: exit 1 naming it", "%d %s" % (p.returncode, p.stderr))
    blocker = os.path.join(tmp, "a-file")
    open(blocker, "w").close()
    target = os.path.join(blocker, "sub")
    p = ctl("export", "kubernetes", "--root", root, "--output-dir", target)
    check(p.returncode == 1 and target in p.stderr, "an unwritable --output-dir: exit 1 naming it",
          "%d %s" % (p.returncode, p.stderr))
    for args, what in ((["lsf"], "an unknown export target"), ([], "no export target"),
                       (["slurm", "extra"], "an extra argument"), (["slurm", "--bogus"], "an unknown option"),
                       (["slurm", "--root", ""], "an empty --root")):
        p = ctl("export", *args)
        check(p.returncode == 2 and p.stderr.startswith("asiosctl"), "%s: exit 2" % what,
              "%d %s" % (p.returncode, p.stderr))
    p = ctl("export", "--help")
    check(p.returncode == 0 and "slurm|kubernetes|nccl" in p.stdout, "export --help")


def nccl(tmp, roots, folder):
    more = {n: unpack_root(tmp, os.path.join(SHARED, "fixtures", "hwloc-linux", n + ".tar.bz2"), "shared-" + n)
            for n in NCCL_REAL}
    more.update({n: unpack_root(tmp, os.path.join(TOP, "tests", "machines", n + ".tar.gz"), "capture-" + n)
                 for n in NCCL_CAPTURES})
    for name, root in {**roots, **more}.items():
        t = topo(root)
        p = ctl("export", "nccl", "--root", root)
        check(p.returncode == 0 and not p.stderr, "%s: export nccl" % name, p.stderr)
        golden("%s.nccl.txt" % name, p.stdout, folder)
        files = export_files(p.stdout)
        check_topo_xml(name, t, files.get("nccl-topo.xml", ""))
        check_nccl_conf(name, t, files.get("nccl.conf", ""))
        if name in roots:
            check_forms(tmp, name, root, "nccl", files)


def main():
    if not need(ASIOSCTL):
        return 1
    folder = os.path.join(GOLDEN, "export")
    with tempfile.TemporaryDirectory() as tmp:
        roots = {}
        for name in MACHINES:
            untar(os.path.join(FIXTURES, name + ".tar.gz"), os.path.join(tmp, name))
            roots[name] = os.path.join(tmp, name, name)
        for name, root in roots.items():
            t = topo(root)
            for target in ("slurm", "kubernetes"):
                p = ctl("export", target, "--root", root)
                check(p.returncode == 0 and not p.stderr, "%s: export %s" % (name, target), p.stderr)
                golden("%s.%s.txt" % (name, target), p.stdout, folder)
                files = export_files(p.stdout)
                if target == "slurm":
                    check_gres(name, t, files.get("gres.conf", ""))
                    check_node(name, t, files.get("slurm-node.conf", ""))
                else:
                    check_features(name, t, files.get("asios", ""))
                    check_kubelet(name, t, files.get("90-asios.conf", ""))
                check_forms(tmp, name, root, target, files)
        nccl(tmp, roots, folder)
        bad_input(tmp, roots["ws-2g-iso"])
    return done()


if __name__ == "__main__":
    sys.exit(main())
