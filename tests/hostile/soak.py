#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Soak: consecutive dump/restore cycles of a tree that reshapes its guards
between cycles (soak-workload.c: install, remove, rewrite, map, unmap,
fork, exit). After every restore the guards of every process, read with
PAGEMAP_SCAN, must equal what they were before the dump, the set of
processes must be the same, and every process checks its own guards and
contents against its model.

  soak.py --criu build/criu/criu --libdir build/plugin \\
          --workload build/tests/hostile/soak-workload [--cycles 100] [--seed N]

meson's `soak` test runs 20 cycles; the 100-cycle soak is the command above
with --cycles 100 (docs/design.md).
"""
import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import criurun as cr

ACK_TIMEOUT = 30
# Known, reported apart (README): a parent installs its guards before it
# forks, so a child inherits VM_MAYBE_GUARD on areas where only the parent
# had guards; guards and contents are still exact.
GU_SPREAD = 'overlap no VMA that had "gu" before'


def tree_pids(root):
    """The root and its descendants, zombies left out"""
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        if not cr.alive(pid):
            continue
        out.append(pid)
        try:
            with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
                todo += [int(x) for x in f.read().split()]
        except OSError:
            pass
    return sorted(out)


def read(path):
    try:
        return open(path).read().strip()
    except OSError:
        return None


def wait_acks(results, pids, what, value):
    deadline = time.monotonic() + ACK_TIMEOUT
    for pid in pids:
        path = os.path.join(results, "%s-%d" % (what, pid))
        while read(path) != value:
            # A child may exit instead of answering
            if what == "mut" and not cr.alive(pid):
                break
            if time.monotonic() > deadline:
                raise RuntimeError("pid %d: no %s %s (%s)" % (pid, what, value, read(path)))
            cr.reap()
            time.sleep(0.002)


def mutate(results, root, n):
    pids = tree_pids(root)
    for pid in pids:
        os.kill(pid, signal.SIGUSR2)
    wait_acks(results, pids, "mut", str(n))
    # Children forked in this round have answered too
    pids = tree_pids(root)
    wait_acks(results, pids, "mut", str(n))
    return pids


def self_check(results, pids):
    for pid in pids:
        p = os.path.join(results, "check-%d" % pid)
        if os.path.exists(p):
            os.unlink(p)
        os.kill(pid, signal.SIGUSR1)
    bad = []
    deadline = time.monotonic() + ACK_TIMEOUT
    for pid in pids:
        path = os.path.join(results, "check-%d" % pid)
        while read(path) is None:
            if time.monotonic() > deadline:
                return ["pid %d: no check" % pid]
            time.sleep(0.002)
        if read(path) != "ok":
            bad.append("pid %d: %s" % (pid, read(path)))
    return bad


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--criu", required=True)
    ap.add_argument("--libdir", required=True)
    ap.add_argument("--workload", required=True)
    ap.add_argument("--cycles", type=int, default=100)
    ap.add_argument("--seed", type=int, default=12)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    if os.geteuid():
        print("SKIP: needs root (criu dump/restore)")
        return 77
    criu = cr.Criu(os.path.abspath(args.criu), os.path.abspath(args.libdir))
    cr.private_pid_namespace()
    cr.become_subreaper()
    top = tempfile.mkdtemp(prefix="criu-guard-soak.", dir=os.environ.get("TMPDIR", "/tmp"))
    results = os.path.join(top, "results")
    os.mkdir(results)
    with open(os.path.join(top, "workload.out"), "ab") as out:
        proc = subprocess.Popen([os.path.abspath(args.workload), results, str(args.seed)], cwd=top,
                                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    root = proc.pid
    divergent = failed = gu_spread = 0
    stats = {"procs": [], "ranges": [], "dump": [], "restore": []}
    t0 = time.monotonic()
    try:
        wait_acks(results, [root], "mut", "0")
        for n in range(1, args.cycles + 1):
            pids = mutate(results, root, n)
            before = {pid: cr.scan_guards(pid) for pid in pids}
            img = os.path.join(top, "img")
            shutil.rmtree(img, ignore_errors=True)
            os.mkdir(img)
            t = time.monotonic()
            rc = criu.dump(img, root)
            stats["dump"].append(time.monotonic() - t)
            if rc != 0:
                print("not ok %d - dump failed (%s), see %s" % (n, rc, img))
                failed += 1
                break
            cr.wait_gone(pids)
            t = time.monotonic()
            rc = criu.restore(img)
            stats["restore"].append(time.monotonic() - t)
            if rc != 0:
                print("not ok %d - restore failed (%s), see %s" % (n, rc, img))
                failed += 1
                break
            after_pids = tree_pids(root)
            diff = []
            if after_pids != pids:
                diff.append("processes %s, before the dump %s" % (after_pids, pids))
            for pid in pids:
                if pid in after_pids and cr.scan_guards(pid) != before[pid]:
                    diff.append("pid %d: guards differ" % pid)
            checks = self_check(results, after_pids)
            spread = [c for c in checks if GU_SPREAD in c]
            diff += [c for c in checks if GU_SPREAD not in c]
            if spread:
                gu_spread += 1
                print("# cycle %d: known VM_MAYBE_GUARD spread: %s" % (n, spread[0]))
            nr = sum(len(r) for r in before.values())
            stats["procs"].append(len(pids))
            stats["ranges"].append(nr)
            if diff:
                divergent += 1
                shutil.copytree(img, os.path.join(top, "divergent-%d" % n))
                print("not ok %d - %s" % (n, "; ".join(diff)), flush=True)
            else:
                print("ok %d - %d processes, %d guard ranges" % (n, len(pids), nr), flush=True)
    finally:
        cr.kill_all(tree_pids(root) or [root])
        proc.returncode = 0
    done = len(stats["procs"])
    secs = time.monotonic() - t0
    if done:
        print("# %d cycles with VM_MAYBE_GUARD (smaps gu) spread to a child's VMA (known, guards exact)" %
              gu_spread)
        print("# %d cycles in %.1f s: %d divergent; processes %d-%d, guard ranges %d-%d; dump %.0f ms, "
              "restore %.0f ms on average" % (done, secs, divergent, min(stats["procs"]), max(stats["procs"]),
                                             min(stats["ranges"]), max(stats["ranges"]),
                                             1000 * sum(stats["dump"]) / done,
                                             1000 * sum(stats["restore"]) / done))
    print("1..%d" % (done + failed))
    if divergent or failed:
        print("# kept in %s" % top)
        return 1
    if not args.keep:
        shutil.rmtree(top, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
