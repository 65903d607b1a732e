#!/usr/bin/env python3
"""Writes the constructed machine trees used by the probe tests (see README.md for sources).

Each tree mirrors the kernel's documented layout: sys/ (PCI functions, DRM and accel class links, modules),
dev/ (placeholder node files), proc/ (cpuinfo, meminfo, self/limits, sys/kernel/osrelease) and ioctl/ (recorded
DRM_IOCTL_AMDXDNA_GET_INFO answers). Run it from this directory; it replaces the four machine directories.
"""
import json
import os
import shutil

GiB = 1 << 30
MiB = 1 << 20


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def link(path, target):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    os.symlink(target, path)


def pci_function(root, bridge, addr, vendor, device, revision, cls, subsys, driver, extra=None):
    """One PCI function under sys/devices/pci0000:00/<bridge>/<addr> plus its sys/bus/pci/devices link."""
    rel = f"devices/pci0000:00/{bridge}/{addr}"
    d = f"{root}/sys/{rel}"
    write(f"{d}/vendor", f"0x{vendor:04x}\n")
    write(f"{d}/device", f"0x{device:04x}\n")
    write(f"{d}/revision", f"0x{revision:02x}\n")
    write(f"{d}/class", f"0x{cls:06x}\n")
    write(f"{d}/subsystem_vendor", f"0x{subsys[0]:04x}\n")
    write(f"{d}/subsystem_device", f"0x{subsys[1]:04x}\n")
    uevent = ""
    if driver:
        uevent += f"DRIVER={driver}\n"
        write(f"{root}/sys/bus/pci/drivers/{driver}/uevent", "")
        link(f"{d}/driver", os.path.relpath(f"{root}/sys/bus/pci/drivers/{driver}", d))
    uevent += (f"PCI_CLASS={cls:X}\nPCI_ID={vendor:04X}:{device:04X}\n"
               f"PCI_SUBSYS_ID={subsys[0]:04X}:{subsys[1]:04X}\nPCI_SLOT_NAME={addr}\n")
    write(f"{d}/uevent", uevent)
    link(f"{root}/sys/bus/pci/devices/{addr}", f"../../../{rel}")
    for name, value in (extra or {}).items():
        write(f"{d}/{name}", f"{value}\n")
    return rel


def drm_nodes(root, rel, card, render):
    d = f"{root}/sys/{rel}"
    write(f"{d}/drm/card{card}/dev", f"226:{card}\n")
    write(f"{d}/drm/renderD{render}/dev", f"226:{render}\n")
    link(f"{root}/sys/class/drm/card{card}", f"../../{rel}/drm/card{card}")
    link(f"{root}/sys/class/drm/renderD{render}", f"../../{rel}/drm/renderD{render}")
    write(f"{root}/dev/dri/card{card}", "")
    write(f"{root}/dev/dri/renderD{render}", "")


def accel_node(root, rel, n):
    d = f"{root}/sys/{rel}"
    write(f"{d}/accel/accel{n}/dev", f"261:{n}\n")
    link(f"{root}/sys/class/accel/accel{n}", f"../../{rel}/accel/accel{n}")
    write(f"{root}/dev/accel/accel{n}", "")


def amdgpu_mem(vram, vram_used, vis_vram, gtt, gtt_used):
    return {"mem_info_vram_total": vram, "mem_info_vram_used": vram_used, "mem_info_vis_vram_total": vis_vram,
            "mem_info_gtt_total": gtt, "mem_info_gtt_used": gtt_used}


def proc(root, model, vendor, cores, threads, flags, mem_total_kb, mem_avail_kb, memlock, release):
    blocks = []
    for cpu in range(threads):
        core = cpu % cores
        blocks.append(
            f"processor\t: {cpu}\nvendor_id\t: {vendor}\nmodel name\t: {model}\nphysical id\t: 0\n"
            f"siblings\t: {threads}\ncore id\t\t: {core}\ncpu cores\t: {cores}\nflags\t\t: {flags}\n")
    write(f"{root}/proc/cpuinfo", "\n".join(blocks) + "\n")
    write(f"{root}/proc/meminfo",
          f"MemTotal:       {mem_total_kb} kB\nMemFree:        {mem_avail_kb - 1048576} kB\n"
          f"MemAvailable:   {mem_avail_kb} kB\n")
    lock = memlock if memlock == "unlimited" else str(memlock)
    write(f"{root}/proc/self/limits",
          "Limit                     Soft Limit           Hard Limit           Units     \n"
          "Max cpu time              unlimited            unlimited            seconds   \n"
          f"Max locked memory         {lock:<20} {lock:<20} bytes     \n"
          "Max open files            1024                 524288               files     \n")
    write(f"{root}/proc/sys/kernel/osrelease", release + "\n")


def module(root, name):
    write(f"{root}/sys/module/{name}/initstate", "live\n")


ZEN_BASE = ("fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ht "
            "syscall nx mmxext fxsr_opt pdpe1gb rdtscp lm constant_tsc rep_good nopl nonstop_tsc cpuid "
            "extd_apicid aperfmperf pni pclmulqdq monitor ssse3 fma cx16 sse4_1 sse4_2 movbe popcnt aes xsave "
            "avx f16c rdrand lahf_lm cmp_legacy svm extapic cr8_legacy abm sse4a misalignsse 3dnowprefetch "
            "osvw ibs skinit wdt tce topoext perfctr_core perfctr_nb bpext perfctr_llc mwaitx cpb cat_l3 cdp_l3 "
            "hw_pstate ssbd mba ibrs ibpb stibp vmmcall fsgsbase bmi1 avx2 smep bmi2 erms invpcid cqm rdt_a")
ZEN4_FLAGS = ZEN_BASE + (" avx512f avx512dq rdseed adx smap avx512ifma clflushopt clwb avx512cd sha_ni avx512bw "
                         "avx512vl xsaveopt xsavec xgetbv1 xsaves avx512_bf16 clzero irperf xsaveerptr rdpru "
                         "avx512vbmi umip pku ospke avx512_vbmi2 gfni vaes vpclmulqdq avx512_vnni avx512_bitalg "
                         "avx512_vpopcntdq rdpid fsrm")
ZEN5_FLAGS = ZEN4_FLAGS + " avx_vnni movdiri movdir64b avx512_vp2intersect"

NPU1_AIE = {"col_size": 1 << 25, "cols": 5, "rows": 6, "version": {"major": 2, "minor": 0},
            "core": {"row_count": 4, "row_start": 2, "dma_channel_count": 4, "lock_count": 16, "event_reg_count": 128},
            "mem": {"row_count": 1, "row_start": 1, "dma_channel_count": 12, "lock_count": 64, "event_reg_count": 128},
            "shim": {"row_count": 1, "row_start": 0, "dma_channel_count": 4, "lock_count": 16, "event_reg_count": 128}}
NPU4_AIE = dict(NPU1_AIE, cols=8)


def answers(root, n, fw, aie, mp_mhz, h_mhz, power_mode, note):
    doc = {"comment": note,
           "version": {"name": "amdxdna_accel_driver", "version": "0.0.0"},
           "QUERY_FIRMWARE_VERSION": dict(zip(("major", "minor", "patch", "build"), fw)),
           "QUERY_AIE_METADATA": aie,
           "QUERY_AIE_VERSION": aie["version"],
           "QUERY_CLOCK_METADATA": {"mp_npu_clock": {"name": "MP-NPU Clock", "freq_mhz": mp_mhz},
                                    "h_clock": {"name": "H Clock", "freq_mhz": h_mhz}},
           "GET_POWER_MODE": {"power_mode": power_mode} if power_mode is not None else {"errno": 95}}
    write(f"{root}/ioctl/accel{n}.json", json.dumps(doc, indent=2) + "\n")


def phoenix_laptop():
    root = "phoenix-laptop"
    proc(root, "AMD Ryzen 7 7840U w/ Radeon 780M Graphics", "AuthenticAMD", 8, 16, ZEN4_FLAGS,
         32031744, 27262976, 8 * MiB, "6.14.2-arch1-1")
    gpu = pci_function(root, "0000:00:08.1", "0000:c4:00.0", 0x1002, 0x15bf, 0xc1, 0x030000, (0xf111, 0x0005),
                       "amdgpu", amdgpu_mem(512 * MiB, 187 * MiB, 512 * MiB, 15640 * MiB, 52 * MiB))
    drm_nodes(root, gpu, 1, 128)
    npu = pci_function(root, "0000:00:08.2", "0000:c5:00.1", 0x1022, 0x1502, 0x00, 0x118000, (0xf111, 0x0005),
                       "amdxdna")
    accel_node(root, npu, 0)
    module(root, "amdgpu")
    module(root, "amdxdna")
    answers(root, 0, (1, 5, 2, 380), NPU1_AIE, 600, 1024, 0,
            "constructed test input in the amdxdna UAPI layout, not captured from hardware")


def strix_laptop():
    root = "strix-laptop"
    proc(root, "AMD Ryzen AI 9 HX 370 w/ Radeon 890M", "AuthenticAMD", 12, 24, ZEN5_FLAGS,
         32212254, 28311552, "unlimited", "6.15.4-200.fc42.x86_64")
    gpu = pci_function(root, "0000:00:08.1", "0000:c3:00.0", 0x1002, 0x150e, 0xc1, 0x030000, (0x1043, 0x1f63),
                       "amdgpu", amdgpu_mem(4 * GiB, 312 * MiB, 4 * GiB, 13824 * MiB, 96 * MiB))
    drm_nodes(root, gpu, 1, 128)
    npu = pci_function(root, "0000:00:08.2", "0000:c4:00.1", 0x1022, 0x17f0, 0x10, 0x118000, (0x1043, 0x1f63),
                       "amdxdna")
    accel_node(root, npu, 0)
    module(root, "amdgpu")
    module(root, "amdxdna")
    answers(root, 0, (1, 0, 0, 166), NPU4_AIE, 1267, 1800, 0,
            "constructed test input in the amdxdna UAPI layout, not captured from hardware")


def hawkpoint_no_driver():
    root = "hawkpoint-no-amdxdna"
    proc(root, "AMD Ryzen 7 8845HS w/ Radeon 780M Graphics", "AuthenticAMD", 8, 16, ZEN4_FLAGS,
         65011712, 60817408, 8 * MiB, "6.8.0-45-generic")
    gpu = pci_function(root, "0000:00:08.1", "0000:c5:00.0", 0x1002, 0x1900, 0xc4, 0x030000, (0x1f4c, 0xb026),
                       "amdgpu", amdgpu_mem(2 * GiB, 402 * MiB, 2 * GiB, 31 * GiB, 64 * MiB))
    drm_nodes(root, gpu, 0, 128)
    pci_function(root, "0000:00:08.2", "0000:c6:00.1", 0x1022, 0x1502, 0x00, 0x118000, (0x1f4c, 0xb026), None)
    module(root, "amdgpu")


def desktop_dgpu():
    root = "desktop-radeon-nvidia"
    proc(root, "AMD Ryzen 9 7950X 16-Core Processor", "AuthenticAMD", 16, 32, ZEN4_FLAGS,
         65536000, 58720256, 8 * MiB, "6.12.9-amd64")
    amd = pci_function(root, "0000:00:01.1/0000:01:00.0/0000:02:00.0", "0000:03:00.0", 0x1002, 0x744c, 0xc8,
                       0x030000, (0x1da2, 0x471e), "amdgpu",
                       amdgpu_mem(24560 * MiB, 1240 * MiB, 24560 * MiB, 32000 * MiB, 20 * MiB))
    drm_nodes(root, amd, 1, 128)
    nv = pci_function(root, "0000:00:01.2", "0000:0a:00.0", 0x10de, 0x2684, 0xa1, 0x030000, (0x10de, 0x167c),
                      "nvidia")
    drm_nodes(root, nv, 0, 129)
    module(root, "amdgpu")
    module(root, "nvidia")


if __name__ == "__main__":
    for d in ("phoenix-laptop", "strix-laptop", "hawkpoint-no-amdxdna", "desktop-radeon-nvidia"):
        shutil.rmtree(d, ignore_errors=True)
    phoenix_laptop()
    strix_laptop()
    hawkpoint_no_driver()
    desktop_dgpu()
