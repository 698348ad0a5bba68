#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Faults injected into real dumps and restores of a real tree (three-gen):
failed, stalled, interrupted and short writes of a guard image, a task
killed mid-dump, a task killed mid-restore, criu SIGKILLed mid-restore, and
CRIU's own fault injection (CRIU_FAULT).

  faults.py --criu build/criu/criu --libdir build/plugin \\
            --workload build/tests/integration/it-workload --shim build/tests/hostile/fault-shim.so

A dump either completes, and its restore is exact, or it fails naming the
image, leaves the tree running with its guards and contents (the tree
checks itself) and leaves nothing a restore accepts. A restore either
completes exactly or fails leaving no task behind, and the images still
restore exactly afterwards.
"""
import argparse
import os
import sys
import tempfile
import time

import criurun as cr

SCENARIO = "three-gen"


class Case:
    def __init__(self, name, dump_fault=None, restore_fault=None, criu_fault=None, dump_must=None,
                 victim=None, plant=None):
        self.name, self.dump_fault, self.restore_fault = name, dump_fault, restore_fault
        self.criu_fault = criu_fault
        self.dump_must = dump_must  # "fail", "pass" or None (either)
        self.victim = victim  # role whose pid fills %d in the fault
        self.plant = plant  # what waits under the root's image name: "symlink", "fifo"


CASES = [
    Case("write-returns-0", dump_fault="zero", dump_must="fail"),
    Case("enospc", dump_fault="enospc", dump_must="fail"),
    Case("eintr", dump_fault="eintr", dump_must="pass"),
    Case("short-writes", dump_fault="short", dump_must="pass"),
    Case("planted-symlink", plant="symlink", dump_must="fail"),
    Case("planted-fifo", plant="fifo", dump_must="fail"),
    Case("task-killed-mid-dump", dump_fault="kill:%d", victim="grandchild"),
    Case("criu-fault-dump-early", criu_fault="1", dump_must="fail"),
    Case("criu-fault-dump-pages", criu_fault="3"),
    Case("task-killed-mid-restore", restore_fault="rst-die:%d", victim="child1"),
    Case("root-killed-mid-restore", restore_fault="rst-die:%d", victim="root"),
    Case("criu-killed-mid-restore", restore_fault="rst-criu:%d", victim="child1"),
    Case("criu-fault-restore-root-only", criu_fault="2"),
]


NOTES = []  # what each case did, for the TAP line


def fault_env(case, tree, fault):
    if not fault:
        return {}
    if "%d" in fault:
        fault = fault % [p for r, p, _ in tree.procs if r == case.victim][0]
    return {"HOSTILE_FAULT": fault}


def run_case(args, case, top):
    """'' or why the case failed"""
    tree = cr.Tree(args.workload, SCENARIO, top)
    img = os.path.join(tree.dir, "img")
    os.mkdir(img)
    try:
        env = fault_env(case, tree, case.dump_fault)
        if case.criu_fault and not case.restore_fault:
            env["CRIU_FAULT"] = case.criu_fault
        victim_file = plant(case, tree, img)
        rc = args.criu.dump(img, tree.root, env=env, preload=args.shim if case.dump_fault else None)
        if victim_file and open(victim_file).read() != "keep":
            return "the dump wrote through the planted symlink"
        NOTES.append("dump %s" % ("ok" if rc == 0 else "failed"))
        if rc != 0:
            return dump_failed(args, case, tree, img, rc)
        if case.dump_must == "fail":
            return "dump succeeded under %s" % case.name
        return restore_after(args, case, tree, img)
    finally:
        tree.kill()
        cr.reap()
        if not args.keep:
            tree.remove()


def plant(case, tree, img):
    """Put a symlink (to a file we own) or a FIFO where the root's image goes"""
    if not case.plant:
        return None
    name = os.path.join(img, "guard-regions-%d.img" % tree.root)
    if case.plant == "fifo":
        os.mkfifo(name)
        return None
    victim = os.path.join(tree.dir, "victim")
    with open(victim, "w") as f:
        f.write("keep")
    os.symlink(victim, name)
    return victim


def dump_failed(args, case, tree, img, rc):
    if case.dump_must == "pass":
        return "dump failed (%s)" % rc
    errs = cr.log_errors(os.path.join(img, "dump.log"))
    if (case.dump_fault in ("zero", "enospc") or case.plant) and not [e for e in errs if "guard-regions-" in e]:
        return "dump.log names no guard image: %s" % (errs or ["no error"])[0]
    # The tree runs on, with its guards and contents (less a task we killed)
    victim = [p for r, p, _ in tree.procs if r == case.victim]
    tree.procs = [x for x in tree.procs if x[1] not in victim]
    time.sleep(0.05)
    stopped = [p for p in tree.pids() if not running(p)]
    if stopped:
        return "tasks %s not running after the failed dump" % stopped
    bad = tree.check()
    if bad:
        return "after the failed dump: %s" % bad[0]
    if case.dump_fault in ("zero", "enospc") or case.plant:
        left = [n for n in os.listdir(img) if n.startswith("guard-regions-")]
        if left and len(left) == len(tree.procs) and os.path.exists(os.path.join(img, "inventory.img")):
            return "a failed dump left a restorable image set"
    # Nothing in there restores (once the pids are free again)
    tree.kill()
    rc = args.criu.restore(img, log="restore-after-failed-dump.log")
    left = cr.wait_gone(tree.pids())
    if rc == 0 or left:
        cr.kill_all(tree.pids())
        return "the images of a failed dump restored" if rc == 0 else "tasks %s left behind" % left
    return ""


def running(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] in "RSD"
    except OSError:
        return False


def restore_after(args, case, tree, img):
    tree.kill()
    if case.restore_fault or (case.criu_fault and case.criu_fault == "2"):
        env = fault_env(case, tree, case.restore_fault)
        if case.criu_fault:
            env["CRIU_FAULT"] = case.criu_fault
        rc = args.criu.restore(img, env=env, preload=args.shim if case.restore_fault else None,
                               log="restore-faulted.log")
        left = cr.wait_gone(tree.pids(), timeout=15)
        NOTES.append("faulted restore %s" % ("ok" if rc == 0 else "failed, no task left" if not left else "failed"))
        if rc == 0:
            if case.restore_fault:
                return "restore succeeded although a task died"
            bad = tree.check()
            if bad:
                return "restored under CRIU_FAULT=%s: %s" % (case.criu_fault, bad[0])
            cr.kill_all(tree.pids())
        elif left:
            cr.kill_all(left)
            return "the failed restore left tasks %s behind" % left
    # The images are still whole: this restore is exact
    rc = args.criu.restore(img)
    if rc != 0:
        errs = cr.log_errors(os.path.join(img, "restore.log"))
        return "restore failed (%s): %s" % (rc, (errs or ["no error"])[0])
    bad = tree.check()
    NOTES.append("restore exact" if not bad else "restore differs")
    return "after restore: %s" % bad[0] if bad else ""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--criu", required=True)
    ap.add_argument("--libdir", required=True)
    ap.add_argument("--workload", required=True)
    ap.add_argument("--shim", required=True)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("cases", nargs="*")
    args = ap.parse_args()
    if os.geteuid():
        print("SKIP: needs root (criu dump/restore)")
        return 77
    args.criu = cr.Criu(os.path.abspath(args.criu), os.path.abspath(args.libdir))
    args.workload = os.path.abspath(args.workload)
    args.shim = os.path.abspath(args.shim)
    cr.private_pid_namespace()
    cr.become_subreaper()
    top = tempfile.mkdtemp(prefix="criu-guard-faults.", dir=os.environ.get("TMPDIR", "/tmp"))
    cases = [c for c in CASES if not args.cases or c.name in args.cases]
    failed = 0
    print("1..%d" % len(cases))
    for i, case in enumerate(cases, 1):
        t0 = time.monotonic()
        del NOTES[:]
        why = run_case(args, case, top)
        ms = (time.monotonic() - t0) * 1000
        print("%sok %d - %s: %s (%.0f ms)%s" % ("not " if why else "", i, case.name, ", ".join(NOTES), ms,
                                                  " # " + why if why else ""), flush=True)
        failed += bool(why)
    if failed:
        print("# kept in %s" % top)
    elif not args.keep and not os.listdir(top):
        os.rmdir(top)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
