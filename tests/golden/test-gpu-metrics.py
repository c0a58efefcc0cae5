#!/usr/bin/env python3
# SPDX-FileCopyrightText: 2026 The ASIOS Authors
# SPDX-License-Identifier: MIT
"""The GPU families of the exposition: through NVML (a stand-in libnvidia-ml.so.1 with the ABI of nvml.h,
tests/fixtures/nvml/fake-nvml.c, found by dlopen through LD_LIBRARY_PATH as the driver's is through ld.so.conf)
in `asiosctl metrics` and in asios-exporter's scrape; a driver that is not loaded and a GPU without ECC leave
out what they cannot tell; a capture never asks NVML (it is not the running machine); AMD GPUs of a capture
from amdgpu's sysfs files (written into ws-2g-iso). Every exposition promtool-clean. TAP output."""
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from taplib import ASIOSCTL, BUILD, FIXTURES, check, ctl, done, eq, need, skip, untar, write  # noqa: E402

FAKE = os.path.join(BUILD, "fake-nvml")
EXPORTER = os.path.join(BUILD, "asios-exporter")
NVML_WANT = """asios_gpu_info{device="0000:17:00.0",source="nvml"} 1
asios_gpu_info{device="0000:65:00.0",source="nvml"} 1
asios_gpu_memory_used_bytes{device="0000:17:00.0"} 42949672960
asios_gpu_memory_used_bytes{device="0000:65:00.0"} 1073741824
asios_gpu_memory_total_bytes{device="0000:17:00.0"} 151397597184
asios_gpu_memory_total_bytes{device="0000:65:00.0"} 151397597184
asios_gpu_utilization_ratio{device="0000:17:00.0"} 0.37
asios_gpu_utilization_ratio{device="0000:65:00.0"} 0
asios_gpu_temperature_celsius{device="0000:17:00.0"} 41
asios_gpu_temperature_celsius{device="0000:65:00.0"} 30
asios_gpu_temperature_limit_celsius{device="0000:17:00.0"} 87
asios_gpu_temperature_limit_celsius{device="0000:65:00.0"} 87
asios_gpu_power_watts{device="0000:17:00.0"} 312.5
asios_gpu_power_watts{device="0000:65:00.0"} 75
asios_gpu_ecc_errors_total{device="0000:17:00.0",type="corrected"} 3
asios_gpu_ecc_errors_total{device="0000:17:00.0",type="uncorrected"} 1
asios_gpu_ecc_errors_total{device="0000:65:00.0",type="corrected"} 0
asios_gpu_ecc_errors_total{device="0000:65:00.0",type="uncorrected"} 0
asios_gpu_pcie_replays_total{device="0000:17:00.0"} 12
asios_gpu_pcie_replays_total{device="0000:65:00.0"} 0
asios_gpu_persistence_mode{device="0000:17:00.0"} 1
asios_gpu_persistence_mode{device="0000:65:00.0"} 1
"""
AMD_GPU = "0000:00:1e.0"
AMD_WANT = """asios_gpu_info{device="0000:00:1e.0",source="sysfs"} 1
asios_gpu_memory_used_bytes{device="0000:00:1e.0"} 1073741824
asios_gpu_memory_total_bytes{device="0000:00:1e.0"} 68702699520
asios_gpu_utilization_ratio{device="0000:00:1e.0"} 0.63
asios_gpu_temperature_celsius{device="0000:00:1e.0"} 55
asios_gpu_temperature_limit_celsius{device="0000:00:1e.0"} 100
asios_gpu_power_watts{device="0000:00:1e.0"} 212
"""


def gpu_lines(text):
    """the GPU families that NVML or sysfs answer; the Xid counts are asios-healthd's state of this machine
    (tests/daemons/test-healthd.py checks them), the NIC distances the topology's"""
    return "".join(line + "\n" for line in text.splitlines() if line.startswith("asios_gpu_") and
                   not line.startswith(("asios_gpu_nic_distance_info", "asios_gpu_xid_errors_total")))


def check_promtool(text, name):
    """promtool check metrics of TEXT: a check, or a skip without promtool (never a pass)"""
    if not shutil.which("promtool"):
        skip(name, "no promtool (the prometheus package)")
        return
    p = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, text=True)
    check(p.returncode == 0 and not p.stdout.strip() and not p.stderr.strip(), name, p.stdout + p.stderr)


def with_nvml(**extra):
    env = {"LD_LIBRARY_PATH": FAKE}
    env.update(extra)
    return env


def add_amd_gpu(root, busy=True):
    """a made-up AMD Instinct PCI function on node 0 with amdgpu's files (busy: gpu_busy_percent too)"""
    dev = os.path.join(root, "sys/devices/pci0000:00", AMD_GPU)
    for f, v in (("vendor", "0x1002"), ("device", "0x74a1"), ("subsystem_vendor", "0x1002"),
                 ("subsystem_device", "0x74a1"), ("class", "0x038000"), ("numa_node", "0"),
                 ("local_cpulist", "0-31"), ("irq", "0"), ("mem_info_vram_used", "1073741824"),
                 ("mem_info_vram_total", "68702699520"), ("hwmon/hwmon3/temp1_input", "55000"),
                 ("hwmon/hwmon3/temp1_crit", "100000"),
                 ("hwmon/hwmon3/power1_average", "212000000")):
        write(os.path.join(dev, f), v + "\n")
    if busy:
        write(os.path.join(dev, "gpu_busy_percent"), "63\n")
    link = os.path.join(root, "sys/bus/pci/devices", AMD_GPU)
    if not os.path.lexists(link):
        os.symlink("../../../devices/pci0000:00/" + AMD_GPU, link)


def scrape_exporter():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, LD_LIBRARY_PATH=FAKE)
    d = subprocess.Popen([EXPORTER, "--listen", "127.0.0.1:%d" % port], env=env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=30) as r:
                    return r.read().decode()
            except OSError:
                time.sleep(0.1)
        return ""
    finally:
        d.terminate()
        d.wait(20)


def main():
    if not need(ASIOSCTL) or not need(EXPORTER) or not need(os.path.join(FAKE, "libnvidia-ml.so.1")):
        return 1
    p = ctl("metrics", env=with_nvml())
    eq("asiosctl metrics through NVML: each GPU by PCI address, memory, utilisation, temperature, power, ECC, "
       "PCIe replays", NVML_WANT, gpu_lines(p.stdout))
    check(p.returncode == 0, "... exit 0", p.stderr)
    check_promtool(p.stdout, "... promtool check metrics is clean")
    eq("asios-exporter's scrape has the same GPU lines", NVML_WANT, gpu_lines(scrape_exporter()))
    p = ctl("metrics", env=with_nvml(FAKE_NVML_NO_ECC="1"))
    got = gpu_lines(p.stdout)
    check("ecc" not in got and "asios_gpu_power_watts" in got,
          "a GPU without ECC (NVML_ERROR_NOT_SUPPORTED): no ECC family, the rest exported", got)
    p = ctl("metrics", env=with_nvml(FAKE_NVML_FAIL="1"))
    check(p.returncode == 0 and not gpu_lines(p.stdout) and "asios_domain_up" in p.stdout,
          "NVML without a loaded driver (nvmlInit fails): no GPU family, the rest exported", p.stderr)
    tmp = tempfile.mkdtemp(prefix="asios-gpu-")
    try:
        untar(os.path.join(FIXTURES, "ws-2g-iso.tar.gz"), tmp)
        root = os.path.join(tmp, "ws-2g-iso")
        p = ctl("metrics", "--root", root, env=with_nvml())
        check(p.returncode == 0 and not gpu_lines(p.stdout),
              "a capture is not the running machine: NVML is not asked (no nvml lines with it loadable)", p.stdout)
        add_amd_gpu(root)
        p = ctl("metrics", "--root", root)
        eq("an AMD GPU of a capture from amdgpu's sysfs: busy percent, VRAM, hwmon temperature and power", AMD_WANT,
           gpu_lines(p.stdout))
        check_promtool(p.stdout, "... promtool check metrics is clean")
        os.unlink(os.path.join(root, "sys/devices/pci0000:00", AMD_GPU, "gpu_busy_percent"))
        p = ctl("metrics", "--root", root)
        check(p.returncode == 0 and not gpu_lines(p.stdout),
              "an AMD GPU without gpu_busy_percent (not amdgpu): left out", gpu_lines(p.stdout))
        write(os.path.join(root, "sys/devices/pci0000:00", AMD_GPU, "gpu_busy_percent"), "sixty\n")
        p = ctl("metrics", "--root", root)
        check(p.returncode == 0 and not re.search(r"^asios_gpu_info", p.stdout, re.M),
              "a malformed gpu_busy_percent: that GPU left out, the exposition still served", gpu_lines(p.stdout))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return done()


if __name__ == "__main__":
    sys.exit(main())
