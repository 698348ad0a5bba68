#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Real programs side by side: dump freeze time and restore wall time of
the apache2 tree and of redis holding ~1 GiB of keys, criu-guard against
stock CRIU 4.2.1, the systems alternating run by run.

  real-bench.py --rootfs DIR --criu CRIU --libdir DIR --stock CRIU
                [--stock-rlimits CRIU] --runs N --csv FILE --tools DIR

Runs as PID 1 of a fresh PID, mount and network namespace (bench.sh starts
it with unshare): it reaps what dumps orphan, the pids a restore needs are
free, and the programs listen on the namespace's own loopback. The programs
and their requests are the real-program suite's (tests/real/programs.py).
Stock CRIU 4.2.1 cannot dump apache2 here (its children run as www-data,
and reading their rlimits needs CAP_SYS_RESOURCE, which this machine lacks);
--stock-rlimits is stock plus only the patch that reads /proc/PID/limits
instead, which then stands in for stock on apache2.
"""
import argparse
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "real"))
sys.path.insert(0, os.path.join(HERE, "..", "hostile"))
import programs  # noqa: E402  (tests/real/programs.py)
from criurun import reap  # noqa: E402  (tests/hostile/criurun.py)

REDIS_KEYS = 1 << 20  # of 1 KiB: ~1 GiB of values
PORTS = {"redis": 17601, "apache2": 17602}
TIMEOUT = 600


class BigRedis(programs.Redis):
    """redis-server with 4 I/O threads, filled with REDIS_KEYS keys of 1 KiB"""

    def chroot(self, argv, out):
        return super().chroot(argv + ["--enable-debug-command", "yes"], out)

    def write_state(self):
        super().write_state()
        # DEBUG POPULATE: the keys are made inside redis, not sent over the socket
        self.expect("populate", self.cli("DEBUG", "POPULATE", str(REDIS_KEYS), "bench", "1024"), "OK")
        n = int(self.cli("DBSIZE"))
        if n < REDIS_KEYS:
            raise programs.ServiceError(f"redis holds {n} keys, expected {REDIS_KEYS}")


def log(msg):
    print("real-bench: " + msg, file=sys.stderr, flush=True)


def tree_pids(root):
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        out.append(p)
        for t in os.listdir(f"/proc/{p}/task"):
            try:
                with open(f"/proc/{p}/task/{t}/children") as f:
                    todo += [int(c) for c in f.read().split()]
            except OSError:
                pass
    return out


def kill_all():
    pids = [int(d) for d in os.listdir("/proc") if d.isdigit() and d != "1"]
    for p in pids:
        try:
            os.kill(p, 9)
        except ProcessLookupError:
            pass
    deadline = time.time() + 30
    while any(os.path.exists(f"/proc/{p}") for p in pids) and time.time() < deadline:
        reap()
        time.sleep(0.02)


def criu(binary, action, imgdir, libdir, extra, tools):
    """(ok, wall_us) of one criu run, its log in imgdir"""
    cmd = [binary, action, "-D", imgdir, "-o", f"{action}.log", "-v2", "--libdir", libdir,
           "--tcp-established", "--ext-unix-sk", "--file-locks"] + extra
    tfile = os.path.join(imgdir, f"{action}.time")
    r = subprocess.run([os.path.join(tools, "bench-tool"), "time", tfile] + cmd, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=TIMEOUT)
    reap()
    wall = int(open(tfile).read().split()[0]) if os.path.exists(tfile) else 0
    return r.returncode == 0, wall


def frozen_us(imgdir, tools):
    out = subprocess.run([os.path.join(tools, "bench-tool"), "stats", os.path.join(imgdir, "stats-dump")],
                         capture_output=True, text=True).stdout
    for line in out.splitlines():
        k, _, v = line.partition(" ")
        if k == "frozen_time":
            return int(v)
    return 0


def first_error(imgdir, action):
    try:
        lines = open(os.path.join(imgdir, f"{action}.log"), errors="replace").read().splitlines()
    except OSError:
        return "no log"
    errs = [x for x in lines if "Error" in x and "RLIMIT_NOFILE" not in x]
    return (errs or ["?"])[0].strip()


def cycle(a, name, system, binary, libdir, run, work):
    """Start the program, dump it, restore it, check it answers: one CSV row"""
    cls = BigRedis if name == "redis" else programs.Apache
    prog = cls(a.rootfs, PORTS[name])
    imgdir = os.path.join(work, "img")
    subprocess.run(["rm", "-rf", imgdir])
    os.makedirs(imgdir)
    row = {"program": name, "system": system, "run": run, "frozen_us": 0, "dump_wall_us": 0,
           "restore_wall_us": 0, "rss_kib": 0, "procs": 0, "status": "ok"}
    prog.setup()
    try:
        root = prog.start()
        prog.wait_ready()
        prog.write_state()
        pids = tree_pids(root)
        row["procs"] = len(pids)
        row["rss_kib"] = sum(int(l.split()[1]) for p in pids for l in open(f"/proc/{p}/status")
                             if l.startswith("VmRSS:"))
        ok, row["dump_wall_us"] = criu(binary, "dump", imgdir, libdir, ["-t", str(root)], a.tools)
        if not ok:
            row["status"] = "dump-failed"
            log(f"{system} {name}: dump failed: {first_error(imgdir, 'dump')}")
            return row
        row["frozen_us"] = frozen_us(imgdir, a.tools)
        deadline = time.time() + 30
        while any(os.path.exists(f"/proc/{p}") for p in pids) and time.time() < deadline:
            reap()
            time.sleep(0.01)
        ok, row["restore_wall_us"] = criu(binary, "restore", imgdir, libdir, ["-d"], a.tools)
        if not ok:
            row["status"] = "restore-failed"
            log(f"{system} {name}: restore failed: {first_error(imgdir, 'restore')}")
            return row
        try:
            prog.check_state()
        except programs.ServiceError as e:
            row["status"] = "no-answer"
            log(f"{system} {name}: restored, but: {e}")
        return row
    except (programs.ServiceError, subprocess.TimeoutExpired, OSError) as e:
        row["status"] = "setup-failed"
        log(f"{system} {name}: {type(e).__name__}: {e}")
        return row
    finally:
        kill_all()
        prog.cleanup()
        subprocess.run(["rm", "-rf", imgdir])


def main():
    ap = argparse.ArgumentParser()
    for opt in ("rootfs", "criu", "libdir", "stock", "csv", "tools", "work"):
        ap.add_argument("--" + opt, required=True)
    ap.add_argument("--stock-rlimits", default="")
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    if os.getpid() != 1:
        print("real-bench.py: must run as PID 1 of its own PID namespace", file=sys.stderr)
        return 2
    # loopback up: ioctl(SIOCSIFFLAGS, IFF_UP | IFF_LOOPBACK | IFF_RUNNING)
    import fcntl
    import socket
    import struct
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    fcntl.ioctl(s, 0x8914, struct.pack("16sH14x", b"lo", 0x1 | 0x8 | 0x40))
    s.close()
    subprocess.run(["mount", "-t", "proc", "proc", os.path.join(a.rootfs, "proc")], check=True)
    empty = os.path.join(a.work, "no-plugins")
    os.makedirs(empty, exist_ok=True)
    systems = {"stock": (a.stock, empty), "plugin": (a.criu, a.libdir)}
    new = not os.path.exists(a.csv)
    with open(a.csv, "a") as out:
        if new:
            out.write("program,system,run,frozen_us,dump_wall_us,restore_wall_us,rss_kib,procs,status\n")
        for name in ("apache2", "redis"):
            for run in range(1, a.runs + 1):
                order = ("stock", "plugin") if run % 2 else ("plugin", "stock")
                for system in order:
                    binary, libdir = systems[system]
                    label = system
                    if name == "apache2" and system == "stock" and a.stock_rlimits:
                        binary, label = a.stock_rlimits, "stock-rlimits"
                    row = cycle(a, name, label, binary, libdir, run, a.work)
                    out.write("{program},{system},{run},{frozen_us},{dump_wall_us},{restore_wall_us},"
                              "{rss_kib},{procs},{status}\n".format(**row))
                    out.flush()
                    log("%-8s %-13s run %d: frozen %8d us, restore %8d us, %d procs, %d MiB, %s" % (
                        name, label, run, row["frozen_us"], row["restore_wall_us"], row["procs"],
                        row["rss_kib"] // 1024, row["status"]))
    subprocess.run(["umount", os.path.join(a.rootfs, "proc")])
    return 0


if __name__ == "__main__":
    sys.exit(main())
