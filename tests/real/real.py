#!/usr/bin/python3
"""Checkpoint and restore one real program from the Debian sid rootfs.

    real.py --program NAME --rootfs DIR --criu CRIU --libdir DIR \
            --stock STOCK_CRIU --out DIR

Runs as PID 1 of a fresh PID, mount and network namespace (run.sh sets that
up): it reaps what it orphans, and everything dies with it. Steps:

 1. start NAME chrooted in the rootfs, wait until it answers, write a state
    (a key, a row, a counter) and read it back;
 2. snapshot every process of the tree: smaps VMAs with VmFlags, and the
    guard pages (PAGEMAP_SCAN, PAGE_IS_GUARD) of the whole address space;
 3. dump with stock CRIU 4.2.1 --leave-running (images "stock"), snapshot
    again, dump with the patched criu and the plugin (images "guard");
 4. restore "guard", snapshot, check the service answers with the state,
    compare; kill it; restore "stock" with stock CRIU, snapshot, check,
    compare;
 5. per process, the restore with the plugin must give the exact guard page
    set and the exact list of VMAs with `gu` of the process it was dumped
    from, and may differ in other VmFlags only where stock's restore of the
    same process differs the same way.

Exit 0: all checks passed; 1: a check failed; 77: cannot run here.
"""

import argparse
import ctypes
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

from programs import PROGRAMS, ServiceError

CRIU_TIMEOUT = 180
TASK_SIZE = 0x7FFFFFFFF000
PAGE_IS_GUARD = 1 << 8
# struct pm_scan_arg is 12 u64; _IOWR('f', 16, struct pm_scan_arg)
PAGEMAP_SCAN = (3 << 30) | (96 << 16) | (ord("f") << 8) | 16
# the kernel's bounce buffer: more entries per call can re-report ranges
SCAN_VEC = 512


class PmScanArg(ctypes.Structure):
    _fields_ = [(n, ctypes.c_uint64) for n in (
        "size", "flags", "start", "end", "walk_end", "vec", "vec_len",
        "max_pages", "category_inverted", "category_mask",
        "category_anyof_mask", "return_mask")]


class PageRegion(ctypes.Structure):
    _fields_ = [("start", ctypes.c_uint64), ("end", ctypes.c_uint64),
                ("categories", ctypes.c_uint64)]


libc = ctypes.CDLL(None, use_errno=True)
libc.ioctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p]


def log(msg):
    print(msg, flush=True)


class CheckFailed(Exception):
    pass


def guard_ranges(pid):
    """The guard page ranges of pid, merged: [(start, end)]."""
    regs = (PageRegion * SCAN_VEC)()
    arg = PmScanArg(size=ctypes.sizeof(PmScanArg), end=TASK_SIZE,
                    vec=ctypes.addressof(regs), vec_len=SCAN_VEC,
                    category_mask=PAGE_IS_GUARD, return_mask=PAGE_IS_GUARD)
    out = []
    fd = os.open(f"/proc/{pid}/pagemap", os.O_RDONLY)
    try:
        while True:
            arg.start = arg.walk_end
            n = libc.ioctl(fd, PAGEMAP_SCAN, ctypes.byref(arg))
            if n < 0:
                raise OSError(ctypes.get_errno(), f"PAGEMAP_SCAN of pid {pid}")
            out.extend((regs[i].start, regs[i].end) for i in range(n))
            if arg.walk_end >= TASK_SIZE:
                break
    finally:
        os.close(fd)
    merged = []
    for s, e in sorted(out):
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(e, merged[-1][1]))
        else:
            merged.append((s, e))
    return merged


SMAPS_HEAD = re.compile(r"^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$")


def vmas(pid):
    """[(start, end, perms, path, frozenset(VmFlags))] of pid."""
    out, cur = [], None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            m = SMAPS_HEAD.match(line)
            if m:
                cur = [int(m[1], 16), int(m[2], 16), m[3], m[4]]
            elif line.startswith("VmFlags:") and cur:
                out.append((*cur, frozenset(line.split()[1:])))
                cur = None
    return out


def tree_pids(root):
    """root and all its descendant processes (thread group leaders)."""
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(d))
    pids, todo = [], [root]
    while todo:
        p = todo.pop()
        pids.append(p)
        todo.extend(children.get(p, []))
    return sorted(pids)


def snapshot(root):
    snap = {}
    for pid in tree_pids(root):
        with open(f"/proc/{pid}/comm") as f:
            comm = f.read().strip()
        snap[pid] = {"comm": comm, "vmas": vmas(pid), "guards": guard_ranges(pid)}
    return snap


def save(out, name, snap):
    """The snapshot as smaps-like text, for the failure analysis."""
    with open(os.path.join(out, f"{name}.maps"), "w") as f:
        for pid, proc in sorted(snap.items()):
            f.write(f"pid {pid} {proc['comm']} guards {fmt_ranges(proc['guards'], 1 << 30)}\n")
            for s, e, perms, path, fl in proc["vmas"]:
                f.write(f"{s:x}-{e:x} {perms} {' '.join(sorted(fl))} {path}\n")


def gu_list(proc):
    return [(s, e) for s, e, _, _, fl in proc["vmas"] if "gu" in fl]


def guard_pages(proc):
    return sum((e - s) >> 12 for s, e in proc["guards"])


def other_flags(proc):
    return {(s, e): (perms, path, fl - {"gu"}) for s, e, perms, path, fl in proc["vmas"]}


def flag_diffs(before, after):
    """Every VMA whose (perms, path, VmFlags without gu) differs, by range."""
    a, b = other_flags(before), other_flags(after)
    return {k: (a.get(k), b.get(k)) for k in a.keys() | b.keys() if a.get(k) != b.get(k)}


def normalized(proc):
    """The VMA list without the differences every CRIU restore makes, for a
    program stock CRIU cannot dump: `ac` (VM_ACCOUNT) on private file
    mappings (CRIU maps them writable to fill them), the merges of adjacent
    segments of one file that follow, and shared anonymous memory shown as
    the memfd CRIU restores it from. Measured on the programs stock dumps."""
    out = []
    for s, e, perms, path, fl in proc["vmas"]:
        fl = fl - {"gu"}
        if perms.endswith("s") and path.startswith("/memfd:"):
            path = path[len("/memfd:"):]
        if perms.endswith("p") and path.startswith("/"):
            fl = fl - {"ac"}
        if out and out[-1][1] == s and out[-1][2:] == (perms, path, fl) and path.startswith("/"):
            out[-1] = (out[-1][0], e, perms, path, fl)
        else:
            out.append((s, e, perms, path, fl))
    return out


def fmt_vma(k, v):
    if v is None:
        return f"{k[0]:x}-{k[1]:x} (none)"
    perms, path, fl = v
    return f"{k[0]:x}-{k[1]:x} {perms} {' '.join(sorted(fl))} {path}"


def fmt_ranges(rs, limit=8):
    s = " ".join(f"{a:x}-{b:x}" for a, b in rs[:limit])
    return s + (f" ... ({len(rs)} in all)" if len(rs) > limit else "")


def first_error(err):
    """The cause in a CRIU log's error lines, past the harmless ones."""
    for line in err.splitlines():
        if "RLIMIT_NOFILE for self" not in line:
            return line.split("Error ", 1)[-1]
    return err.strip() or "failed"


class Reaper:
    """PID 1 of our namespace: collects every process we started or orphaned."""

    def __init__(self):
        self.procs = []

    def kill_tree(self, root):
        pids = tree_pids(root) if root and os.path.exists(f"/proc/{root}") else []
        for p in pids:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.wait_gone(pids)

    def wait_gone(self, pids, timeout=30):
        deadline = time.time() + timeout
        for p in pids:
            while os.path.exists(f"/proc/{p}"):
                try:
                    os.waitpid(p, os.WNOHANG)
                except ChildProcessError:
                    pass
                if time.time() > deadline:
                    raise CheckFailed(f"pid {p} does not go away")
                time.sleep(0.02)


class Run:
    def __init__(self, args):
        self.a = args
        self.prog = PROGRAMS[args.program](args.rootfs, args.port)
        self.reaper = Reaper()
        self.failures = []
        self.result = {"program": args.program}

    def criu(self, binary, action, imgdir, extra, libdir):
        os.makedirs(imgdir, exist_ok=True)
        cmd = [binary, action, "-D", imgdir, "-o", f"{action}.log", "-v4",
               "--libdir", libdir, "--tcp-established", "--ext-unix-sk",
               "--file-locks"] + extra
        t0 = time.time()
        r = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.STDOUT, timeout=CRIU_TIMEOUT)
        dt = time.time() - t0
        if r.returncode:
            tail = open(os.path.join(imgdir, f"{action}.log"), errors="replace").read()
            errs = [l for l in tail.splitlines() if "Error" in l][-8:]
            return False, dt, "\n".join(errs) or tail[-2000:]
        return True, dt, ""

    def fail(self, what):
        log(f"FAIL: {what}")
        self.failures.append(what)

    def check_service(self, when):
        try:
            self.prog.check_state()
            log(f"service {when}: answers, state kept")
            return True
        except ServiceError as e:
            self.fail(f"service {when}: {e}")
            return False

    def compare(self, system, before, after):
        """The checks of one system's restore; returns its differences."""
        res = {}
        if sorted(before) != sorted(after):
            self.fail(f"{system}: processes {sorted(before)} -> {sorted(after)}")
        for pid in sorted(before):
            b, a = before[pid], after.get(pid)
            if a is None:
                continue
            name = f"{system}: pid {pid} ({b['comm']})"
            res[pid] = {
                "gu": [len(gu_list(b)), len(gu_list(a))],
                "guard_pages": [guard_pages(b), guard_pages(a)],
                "vmas": [len(b["vmas"]), len(a["vmas"])],
                "flag_diffs": flag_diffs(b, a),
                "unexplained": sorted(set(normalized(b)) ^ set(normalized(a))),
            }
            if system != "guard":
                continue
            if b["guards"] != a["guards"]:
                self.fail(f"{name}: guard pages differ: before {fmt_ranges(b['guards'])}; "
                          f"after {fmt_ranges(a['guards'])}")
            gb, ga = gu_list(b), gu_list(a)
            if gb != ga:
                gained = [r for r in ga if r not in gb]
                lost = [r for r in gb if r not in ga]
                self.fail(f"{name}: gu VMAs {len(gb)} -> {len(ga)}; gained {fmt_ranges(gained)}; "
                          f"lost {fmt_ranges(lost)}")
                for s, e in gained:
                    log(f"  gained gu: {fmt_vma((s, e), other_flags(a)[(s, e)])}")
        return res

    def check_flags(self, guard, stock, stock_ok):
        """Other VmFlags: where stock restored the same tree, only its own
        differences; else only the differences every CRIU restore makes."""
        for pid, g in guard.items():
            if not stock_ok:
                for s, e, perms, path, fl in g["unexplained"]:
                    self.fail(f"guard: pid {pid}: VMA differs beyond CRIU's usual restore "
                              f"differences (stock cannot dump this program): "
                              f"{fmt_vma((s, e), (perms, path, fl))}")
                continue
            theirs = stock.get(pid, {}).get("flag_diffs", {})
            ours = {k: v for k, v in g["flag_diffs"].items() if theirs.get(k) != v}
            for k, (b, a) in sorted(ours.items()):
                # stock may differ otherwise there (e.g. merge the VMA with
                # its neighbour): ours still must be a usual restore difference
                if not any(s < k[1] and k[0] < e for s, e, *_ in g["unexplained"]):
                    continue
                self.fail(f"guard: pid {pid}: VMA differs where stock's restore does not: "
                          f"before {fmt_vma(k, b)}; after {fmt_vma(k, a)}")
            if stock[pid]["unexplained"]:
                log(f"note: stock: pid {pid}: {len(stock[pid]['unexplained'])} differences "
                    "beyond the usual ones (see normalized() in real.py)")

    def restore_and_check(self, system, binary, imgdir, libdir, before):
        ok, dt, err = self.criu(binary, "restore", imgdir, ["-d"], libdir)
        if not ok:
            self.fail(f"{system}: restore failed:\n{err}")
            # a failed restore leaves zombies of the pids the next one needs
            self.reaper.wait_gone(sorted(before))
            return None
        self.result[f"{system}_restore_s"] = round(dt, 2)
        after = snapshot(self.root)
        save(self.a.out, f"after-{system}", after)
        res = self.compare(system, before, after)
        if system == "guard":
            self.check_service(f"after {system} restore")
        else:
            # stock's service check informs: stock is the peer, not the subject
            try:
                self.prog.check_state()
                self.result[f"{system}_service"] = "ok"
            except ServiceError as e:
                self.result[f"{system}_service"] = f"failed: {e}"
                log(f"note: {system} restore: service: {e}")
        self.reaper.kill_tree(self.root)
        return res

    def main(self):
        out = self.a.out
        empty = os.path.join(out, "no-plugins")
        os.makedirs(empty, exist_ok=True)
        self.prog.setup()
        self.root = self.prog.start()
        self.prog.wait_ready()
        self.prog.write_state()
        self.check_service("before dump")
        a0 = snapshot(self.root)
        self.result["processes"] = len(a0)
        log(f"{self.a.program}: {len(a0)} processes, threads "
            f"{[len(os.listdir(f'/proc/{p}/task')) for p in sorted(a0)]}")

        # stock first, leaving the tree running: both dumps see one process
        sdir = os.path.join(out, "img-stock")
        sok, dt, err = self.criu(self.a.stock, "dump", sdir,
                                 ["-t", str(self.root), "--leave-running"], empty)
        if sok:
            self.result["stock_dump_s"] = round(dt, 2)
        else:
            self.result["stock_dump"] = "failed: " + first_error(err)
            log(f"note: stock CRIU 4.2.1 cannot dump {self.a.program}:\n{err}")
        a1 = snapshot(self.root)
        save(out, "before-stock", a0)
        save(out, "before-guard", a1)

        gdir = os.path.join(out, "img-guard")
        gok, dt, err = self.criu(self.a.criu, "dump", gdir, ["-t", str(self.root)],
                                 self.a.libdir)
        if not gok:
            self.fail(f"guard: dump failed:\n{err}")
            self.reaper.kill_tree(self.root)
            return
        self.result["guard_dump_s"] = round(dt, 2)
        self.reaper.wait_gone(sorted(a1))

        guard = self.restore_and_check("guard", self.a.criu, gdir, self.a.libdir, a1)
        stock = None
        if sok:
            stock = self.restore_and_check("stock", self.a.stock, sdir, empty, a0)
            if stock is None:
                self.failures.pop()  # stock's failure is reported, not ours
                self.result["stock_restore"] = "failed"
                sok = False
        if guard is not None:
            self.check_flags(guard, stock or {}, sok)
        self.report(guard, stock, a0, a1)

    def report(self, guard, stock, a0, a1):
        if a0 != a1:
            changed = [p for p in a0 if a0[p] != a1.get(p)]
            log(f"note: stock's --leave-running dump changed pids {changed}; "
                "the plugin's restore is compared with the tree it dumped")
        for system, res in (("guard", guard), ("stock", stock)):
            if not res:
                continue
            for pid, r in sorted(res.items()):
                log(f"{system:5} pid {pid:5} {a1[pid]['comm']:16} gu VMAs {r['gu'][0]:3} -> "
                    f"{r['gu'][1]:3}  guard pages {r['guard_pages'][0]:5} -> "
                    f"{r['guard_pages'][1]:5}  VMAs {r['vmas'][0]:4} -> {r['vmas'][1]:4}  "
                    f"other-flag diffs {len(r['flag_diffs'])}")
            tot = [sum(r[k][i] for r in res.values()) for k in ("gu", "guard_pages") for i in (0, 1)]
            self.result[system] = {"gu": tot[:2], "guard_pages": tot[2:]}
        if not stock:
            self.result["other_flags_compared_with"] = "CRIU's usual restore differences"
        if stock:
            shown = set()
            for r in stock.values():
                for k, (b, a) in sorted(r["flag_diffs"].items()):
                    d = (tuple(sorted(b[2] ^ a[2])) if b and a else "layout")
                    if d not in shown:
                        shown.add(d)
                        log(f"  stock's own difference ({d}): before {fmt_vma(k, b)}; "
                            f"after {fmt_vma(k, a)}")
        self.result["failures"] = self.failures
        with open(os.path.join(self.a.out, "result.json"), "w") as f:
            json.dump(self.result, f, indent=1, default=str)
        log("RESULT " + json.dumps({k: v for k, v in self.result.items() if k != "failures"}))


def kill_all():
    """Everything in our PID namespace but us."""
    pids = [int(d) for d in os.listdir("/proc") if d.isdigit() and d != "1"]
    for p in pids:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        Reaper().wait_gone(pids)
    except CheckFailed as e:
        log(f"cleanup: {e}")


def lo_up():
    # ioctl(SIOCSIFFLAGS, IFF_UP|IFF_LOOPBACK|IFF_RUNNING) on "lo"
    import fcntl
    import struct
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    fcntl.ioctl(s, 0x8914, struct.pack("16sH14x", b"lo", 0x1 | 0x8 | 0x40))
    s.close()


def main():
    p = argparse.ArgumentParser()
    for opt in ("program", "rootfs", "criu", "libdir", "stock", "out"):
        p.add_argument("--" + opt, required=True)
    p.add_argument("--port", type=int, required=True)
    args = p.parse_args()
    if os.getpid() != 1:
        print("real.py: must run as PID 1 of its own PID namespace (run.sh)", file=sys.stderr)
        return 2
    lo_up()
    subprocess.run(["mount", "-t", "proc", "proc", os.path.join(args.rootfs, "proc")], check=True)
    run = Run(args)
    try:
        run.main()
    except (CheckFailed, ServiceError, subprocess.TimeoutExpired, OSError) as e:
        run.fail(f"{type(e).__name__}: {e}")
    finally:
        kill_all()
        run.prog.cleanup()
    if run.failures:
        log(f"{args.program}: {len(run.failures)} check(s) failed")
        return 1
    log(f"{args.program}: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
