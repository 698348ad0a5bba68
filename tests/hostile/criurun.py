# SPDX-License-Identifier: MIT
"""Running real process trees under the real criu for the hostile suite:
a reaping child subreaper, the integration workload, dump and restore, and
the guards of a live process read with PAGEMAP_SCAN."""
import ctypes
import fcntl
import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

import criuimg

PR_SET_CHILD_SUBREAPER = 36
PAGEMAP_SCAN = 0xC0606610  # _IOWR('f', 16, struct pm_scan_arg)
PAGE_IS_GUARD = 1 << 8
TASK_END = (1 << 47) - 4096  # TASK_SIZE_MAX: access_ok() refuses more
VEC_LEN = 512  # more trips over a kernel bug (docs: environment notes)
CRIU_TIMEOUT = 60


def private_pid_namespace():
    """Re-run this program as PID 1 of a new PID (and mount, for /proc)
    namespace: restores need the dumped pids free, and on a busy machine
    with pid_max 32768 another process takes a freed pid now and then
    ("Can't fork for N: File exists"). In here only our trees take pids."""
    if os.getpid() == 1:
        return
    argv = ["unshare", "--pid", "--fork", "--mount", "--mount-proc", sys.executable] + sys.argv
    os.execvp(argv[0], argv)


def become_subreaper():
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0):
        raise OSError(ctypes.get_errno(), "PR_SET_CHILD_SUBREAPER")


def reap():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if not pid:
            return


def alive(pid):
    """Exists and is not a zombie"""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def task_state(pid):
    """State, parent and kernel stack of a task, for a failure message"""
    out = []
    for name in ("status", "stack"):
        try:
            text = open("/proc/%d/%s" % (pid, name)).read()
        except OSError:
            continue
        if name == "status":
            out += [x for x in text.split("\n") if x.startswith(("State", "PPid", "SigPnd", "ShdPnd", "SigBlk"))]
        else:
            out += [x.split()[-1] for x in text.split("\n")[:6] if x]
    return ", ".join(out)


def wait_gone(pids, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        reap()
        left = [p for p in pids if os.path.exists("/proc/%d" % p)]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.005)


def kill_all(pids):
    for p in pids:
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return wait_gone(pids)


def scan_guards(pid):
    """The guard ranges of a live process, merged, as the kernel reports them"""
    vec = (ctypes.c_uint64 * (3 * VEC_LEN))()
    out = []
    fd = os.open("/proc/%d/pagemap" % pid, os.O_RDONLY)
    try:
        start = 0
        while start < TASK_END:
            arg = bytearray(struct.pack("12Q", 96, 0, start, TASK_END, 0, ctypes.addressof(vec), VEC_LEN,
                                        0, 0, PAGE_IS_GUARD, 0, PAGE_IS_GUARD))
            n = fcntl.ioctl(fd, PAGEMAP_SCAN, arg, True)
            out += [(vec[3 * i], vec[3 * i + 1]) for i in range(n)]
            walk_end = struct.unpack_from("Q", arg, 32)[0]
            if walk_end <= start:
                break
            start = walk_end
    finally:
        os.close(fd)
    return criuimg.merge(out)


class Criu:
    def __init__(self, criu, libdir, env=None):
        self.criu, self.libdir, self.env = criu, libdir, env

    def run(self, action, imgdir, extra=(), env=None, log=None, timeout=CRIU_TIMEOUT, preload=None):
        log = log or action + ".log"
        argv = [self.criu, action, "-D", imgdir, "-o", log, "-v4"]
        if self.libdir:
            argv += ["--libdir", self.libdir]
        argv += list(extra)
        e = dict(os.environ)
        e.update(self.env or {})
        e.update(env or {})
        if preload:
            e["LD_PRELOAD"] = preload
        with open(os.path.join(imgdir, action + ".out"), "ab") as out:
            p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                 env=e, start_new_session=True)
            try:
                rc = p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                rc = "timeout"
        return rc

    def dump(self, imgdir, root, extra=(), **kw):
        return self.run("dump", imgdir, ["-t", str(root)] + list(extra), **kw)

    def restore(self, imgdir, stopped=False, **kw):
        """@stopped: the tasks stay stopped, as restored, until killed"""
        return self.run("restore", imgdir, ["-d"] + (["--leave-stopped"] if stopped else []), **kw)


class Tree:
    """An integration workload's process tree (tests/integration/workload.c)"""

    def __init__(self, workload, scenario, top):
        self.dir = tempfile.mkdtemp(prefix="tree-%s." % scenario, dir=top)
        self.results = os.path.join(self.dir, "results")
        self.work = os.path.join(self.dir, "work")
        os.mkdir(self.results)
        os.mkdir(self.work)
        with open(os.path.join(self.dir, "workload.out"), "ab") as out:
            self.proc = subprocess.Popen([workload, scenario, self.results], cwd=self.work,
                                         stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        self.procs = self._ready()

    def _ready(self, timeout=30):
        path = os.path.join(self.results, "ready")
        deadline = time.monotonic() + timeout
        while not os.path.exists(path):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("workload did not get ready: %s" % self.dir)
            time.sleep(0.005)
        procs = []
        for line in open(path).read().split("\n"):
            if line.strip():
                role, pid, pages = line.split()
                procs.append((role, int(pid), int(pages)))
        return procs

    @property
    def root(self):
        return self.proc.pid

    def pids(self):
        return [p for _, p, _ in self.procs]

    def check(self, timeout=30):
        """Every process checks its own guards and contents (SIGUSR1)"""
        for _, pid, _ in self.procs:
            r = os.path.join(self.results, "%s.result" % self.role_of(pid))
            if os.path.exists(r):
                os.unlink(r)
        for _, pid, _ in self.procs:
            os.kill(pid, signal.SIGUSR1)
        bad = []
        deadline = time.monotonic() + timeout
        for role, pid, _ in self.procs:
            r = os.path.join(self.results, role + ".result")
            while not os.path.exists(r):
                reap()
                if time.monotonic() > deadline:
                    return ["%s: no result" % role]
                time.sleep(0.005)
            text = open(r).read().strip()
            if text != "ok":
                bad.append("%s: %s" % (role, text))
        return bad

    def role_of(self, pid):
        return [r for r, p, _ in self.procs if p == pid][0]

    def kill(self):
        left = kill_all(self.pids())
        self.proc.returncode = 0
        return left

    def remove(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def copy_images(src, dst):
    """Hard links to the images of @src (never written through), no logs"""
    if os.path.exists(dst):
        shutil.rmtree(dst)
    os.mkdir(dst)
    for name in os.listdir(src):
        if name.endswith(".img"):
            os.link(os.path.join(src, name), os.path.join(dst, name))


def replace_file(path, data):
    os.unlink(path)
    with open(path, "wb") as f:
        f.write(data)


# Harmless on these machines (no CAP_SYS_RESOURCE): logged by every restore
HARMLESS = ("Can't setup RLIMIT_NOFILE",)


def log_errors(path):
    try:
        text = open(path, errors="replace").read()
    except OSError:
        return []
    return [line for line in text.split("\n") if ("Error" in line or "BUG" in line) and
            not any(h in line for h in HARMLESS)]
