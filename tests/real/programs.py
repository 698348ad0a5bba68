"""The real programs of the suite: how to start one chrooted in the rootfs,
ask it a real request, write a state before the dump and check it after.

Every program listens on 127.0.0.1:PORT of the test's own network namespace
and keeps its files in a directory of its own under the rootfs's /tmp.
"""

import ctypes
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import time


def deny_io_uring():
    """seccomp filter: io_uring_setup() fails with ENOSYS, all else runs."""
    nr_io_uring_setup, enosys = 425, 38
    prog = [(0x20, 0, 0, 0),                   # ld [nr]
            (0x15, 0, 1, nr_io_uring_setup),   # jeq io_uring_setup
            (0x06, 0, 0, 0x00050000 | enosys), # ret ERRNO(ENOSYS)
            (0x06, 0, 0, 0x7FFF0000)]          # ret ALLOW
    raw = b"".join(struct.pack("HBBI", *insn) for insn in prog)
    buf = ctypes.create_string_buffer(raw, len(raw))
    fprog = struct.pack("HxxxxxxQ", len(prog), ctypes.addressof(buf))
    fbuf = ctypes.create_string_buffer(fprog, len(fprog))
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_no_new_privs, pr_set_seccomp, seccomp_mode_filter = 38, 22, 2
    if libc.prctl(pr_set_no_new_privs, 1, 0, 0, 0) or \
       libc.prctl(pr_set_seccomp, seccomp_mode_filter, ctypes.c_void_p(ctypes.addressof(fbuf)), 0, 0):
        raise OSError(ctypes.get_errno(), "seccomp filter")


class ServiceError(Exception):
    pass


def tcp(port, data, done, timeout=10):
    """Send data to 127.0.0.1:port, read until done(reply) or EOF."""
    buf = b""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(data)
            while not done(buf):
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
    except OSError as e:
        raise ServiceError(f"127.0.0.1:{port}: {e}") from None
    return buf


class Program:
    name = None
    # the state written before the dump, read back after the restore
    key, value = "criu-guard-key", "kept-across-restore"

    def __init__(self, rootfs, port):
        self.rootfs = rootfs
        self.port = port
        self.proc = None

    def setup(self):
        self.host_dir = tempfile.mkdtemp(prefix=f"real-{self.name}.", dir=f"{self.rootfs}/tmp")
        os.chmod(self.host_dir, 0o755)
        self.dir = "/tmp/" + os.path.basename(self.host_dir)

    def write(self, name, text):
        with open(os.path.join(self.host_dir, name), "w") as f:
            f.write(text)

    def preexec(self):
        pass

    def chroot(self, argv, out):
        """Start argv in the rootfs, in its own session, output to out."""
        with open(os.path.join(self.host_dir, out), "w") as f:
            self.proc = subprocess.Popen(["chroot", self.rootfs] + argv, cwd=self.host_dir,
                                         stdin=subprocess.DEVNULL, stdout=f,
                                         stderr=subprocess.STDOUT, start_new_session=True,
                                         env=self.env(), preexec_fn=self.preexec)
        return self.proc.pid

    def env(self):
        return {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "HOME": self.dir, "LANG": "C.UTF-8"}

    def client(self, argv, timeout=30):
        """Run a client of the rootfs (redis-cli, curl, mariadb)."""
        try:
            r = subprocess.run(["chroot", self.rootfs] + argv, capture_output=True, text=True,
                               timeout=timeout, env=self.env())
        except subprocess.TimeoutExpired:
            raise ServiceError(f"{argv[0]} timed out") from None
        if r.returncode:
            raise ServiceError(f"{' '.join(argv)}: exit {r.returncode}: {r.stderr.strip()}")
        return r.stdout

    def wait_ready(self, timeout=90):
        deadline = time.time() + timeout
        while True:
            if self.proc.poll() is not None:
                raise ServiceError(f"{self.name} exited with {self.proc.returncode}: "
                                   f"{self.output_tail()}")
            try:
                self.ping()
                return
            except ServiceError as e:
                if time.time() > deadline:
                    raise ServiceError(f"{self.name} not ready after {timeout} s: {e}") from None
            time.sleep(0.2)

    def output_tail(self):
        try:
            with open(os.path.join(self.host_dir, "out.log"), errors="replace") as f:
                return f.read()[-1500:]
        except OSError:
            return ""

    def ping(self):
        self.check_state(ping=True)

    @staticmethod
    def expect(what, got, want):
        if got != want:
            raise ServiceError(f"{what}: {got!r}, expected {want!r}")

    def cleanup(self):
        shutil.rmtree(self.host_dir, ignore_errors=True)


class KeyValue(Program):
    """A program whose state is a key: set_key() answers ok_reply, and
    get_key() the value (the ready check reads the key too)."""
    ok_reply = "OK"

    def write_state(self):
        self.expect(f"set {self.key}", self.set_key(self.key, self.value), self.ok_reply)

    def check_state(self, ping=False):
        got = self.get_key(self.key)
        if not ping:
            self.expect(f"get {self.key}", got, self.value)


class Python(KeyValue):
    """python3: 16 sleeping threads and a line protocol server (SET/GET)."""
    name = "python3"
    SERVER = """
import socket, threading, time
data = {}
def sleeper():
    while True:
        time.sleep(3600)
for i in range(16):
    threading.Thread(target=sleeper, daemon=True).start()
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", %d))
srv.listen(16)
while True:
    c, _ = srv.accept()
    with c, c.makefile("rw") as f:
        words = f.readline().split()
        if words[:1] == ["SET"]:
            data[words[1]] = words[2]
            f.write("OK\\n")
        elif words[:1] == ["GET"]:
            f.write(data.get(words[1], "(nil)") + "\\n")
"""

    def start(self):
        self.write("server.py", self.SERVER % self.port)
        return self.chroot(["python3", f"{self.dir}/server.py"], "out.log")

    def ask(self, line):
        return tcp(self.port, line.encode() + b"\n", lambda b: b.endswith(b"\n")).decode().strip()

    def set_key(self, k, v):
        return self.ask(f"SET {k} {v}")

    def get_key(self, k):
        return self.ask(f"GET {k}")


class PythonFork(Python):
    """python3 forking 2 children with 8 threads each, a tree stock CRIU can
    dump (all root): stock's own restore differences on a forked tree."""
    name = "python3-fork"
    SERVER = Python.SERVER.replace("""for i in range(16):""", """import os
for child in range(2):
    if os.fork() == 0:
        for i in range(8):
            threading.Thread(target=sleeper, daemon=True).start()
        while True:
            time.sleep(3600)
for i in range(16):""")

    def wait_ready(self, timeout=90):
        super().wait_ready(timeout)
        deadline = time.time() + timeout
        while sum(1 for _ in os.scandir(f"/proc/{self.proc.pid}/task")) < 17 or \
                len(children(self.proc.pid)) < 2 or \
                any(len(os.listdir(f"/proc/{c}/task")) < 9 for c in children(self.proc.pid)):
            if time.time() > deadline:
                raise ServiceError("python3-fork: children or threads not all up")
            time.sleep(0.1)


def children(pid):
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(c) for c in f.read().split()]


class Redis(KeyValue):
    """redis-server with 4 I/O threads; redis-cli SET/GET."""
    name = "redis"

    def start(self):
        return self.chroot(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                            "--io-threads", "4", "--save", "", "--appendonly", "no",
                            "--dir", self.dir, "--daemonize", "no"], "out.log")

    def cli(self, *args):
        return self.client(["redis-cli", "-p", str(self.port)] + list(args)).strip()

    def set_key(self, k, v):
        return self.cli("SET", k, v)

    def get_key(self, k):
        return self.cli("GET", k)


class Memcached(KeyValue):
    """memcached with 8 worker threads; text protocol set/get."""
    name = "memcached"
    ok_reply = "STORED\r\n"

    def start(self):
        return self.chroot(["memcached", "-t", "8", "-p", str(self.port), "-l", "127.0.0.1",
                            "-U", "0", "-m", "64", "-u", "root"], "out.log")

    def ask(self, req, end):
        return tcp(self.port, req.encode(), lambda b: b.endswith(end)).decode()

    def set_key(self, k, v):
        return self.ask(f"set {k} 0 0 {len(v)}\r\n{v}\r\n", b"\r\n")

    def get_key(self, k):
        got = self.ask(f"get {k}\r\n", b"END\r\n")
        # VALUE <key> <flags> <bytes>\r\n<data>\r\nEND\r\n
        lines = got.split("\r\n")
        return lines[1] if len(lines) == 4 and lines[0].startswith(f"VALUE {k} 0 ") else got


class Apache(Program):
    """apache2 mpm_event: a parent and 2 forked children with 25 threads each
    (Debian's ThreadsPerChild).
    The state: the scoreboard's request counter (shared memory)."""
    name = "apache2"
    CONF = """
ServerRoot /etc/apache2
ServerName localhost
Listen 127.0.0.1:{port}
PidFile {dir}/apache2.pid
ErrorLog {dir}/error.log
LogLevel warn
Mutex pthread default
User www-data
Group www-data
LoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so
LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so
LoadModule status_module /usr/lib/apache2/modules/mod_status.so
StartServers 2
ServerLimit 2
ThreadLimit 25
ThreadsPerChild 25
MinSpareThreads 1
MaxSpareThreads 50
MaxRequestWorkers 50
MaxConnectionsPerChild 0
ExtendedStatus On
DocumentRoot {dir}/htdocs
<Directory {dir}/htdocs>
    Require all granted
</Directory>
<Location /server-status>
    SetHandler server-status
    Require all granted
</Location>
"""

    def start(self):
        os.makedirs(os.path.join(self.host_dir, "htdocs"))
        self.write("htdocs/index.html", "criu-guard\n")
        self.write("apache2.conf", self.CONF.format(port=self.port, dir=self.dir))
        return self.chroot(["apache2", "-f", f"{self.dir}/apache2.conf", "-DFOREGROUND"],
                           "out.log")

    def wait_ready(self, timeout=90):
        super().wait_ready(timeout)
        # both children up, each with its thread pool
        deadline = time.time() + timeout
        while self.status().get("BusyWorkers", 0) + self.status().get("IdleWorkers", 0) < 50:
            if time.time() > deadline:
                raise ServiceError(f"apache2 workers not all up: {self.status()}")
            time.sleep(0.2)

    def get(self, path):
        return self.client(["curl", "-sS", "--fail", f"http://127.0.0.1:{self.port}{path}"])

    def status(self):
        out = {}
        for line in self.get("/server-status?auto").splitlines():
            k, _, v = line.partition(": ")
            if v.strip().isdigit():
                out[k] = int(v)
        return out

    def write_state(self):
        for _ in range(5):
            self.expect("/index.html", self.get("/index.html"), "criu-guard\n")
        self.accesses = self.status()["Total Accesses"]

    def check_state(self, ping=False):
        self.expect("/index.html", self.get("/index.html"), "criu-guard\n")
        if ping:
            return
        got = self.status()["Total Accesses"]
        # one more: our index.html (the status request counts once done)
        if got < self.accesses + 1:
            raise ServiceError(f"scoreboard Total Accesses {got}, was {self.accesses} before "
                               "the dump: the state was lost")


class MariaDB(Program):
    """mariadbd (a thread per connection plus InnoDB's background threads);
    the state: a row of a MEMORY table, which lives only in the process."""
    name = "mariadb"

    def start(self):
        db = f"{self.dir}/db"
        self.client(["mariadb-install-db", "--no-defaults", "--user=root", f"--datadir={db}",
                     "--skip-test-db", "--auth-root-authentication-method=normal",
                     # no resolvable host name in the test's network namespace
                     "--force", "--skip-name-resolve"], timeout=120)
        return self.chroot(["mariadbd", "--no-defaults", "--user=root", f"--datadir={db}",
                            # abstract: CRIU binds a unix socket by its path outside the chroot
                            "--socket=@criu-guard-real-mariadb", f"--port={self.port}",
                            "--bind-address=127.0.0.1", f"--pid-file={self.dir}/mysqld.pid",
                            "--skip-grant-tables", "--skip-name-resolve",
                            # no io_uring/libaio: CRIU dumps neither
                            "--innodb-use-native-aio=0", "--innodb-buffer-pool-size=32M",
                            "--skip-log-bin"], "out.log")

    def sql(self, q):
        return self.client(["mariadb", "-h", "127.0.0.1", "-P", str(self.port), "-u", "root",
                            "-N", "-B", "-e", q]).strip()

    def write_state(self):
        self.sql("CREATE DATABASE t; CREATE TABLE t.kv (k VARCHAR(32) PRIMARY KEY, "
                 "v VARCHAR(64)) ENGINE=MEMORY; "
                 f"INSERT INTO t.kv VALUES ('{self.key}', '{self.value}')")

    def check_state(self, ping=False):
        if ping:
            self.expect("SELECT 1", self.sql("SELECT 1"), "1")
        else:
            self.expect("the MEMORY table's row",
                        self.sql(f"SELECT v FROM t.kv WHERE k = '{self.key}'"), self.value)


class Node(KeyValue):
    """Node.js: an http server with a Map; the libuv thread pool is started."""
    name = "nodejs"
    SERVER = """
const http = require('http');
const crypto = require('crypto');
const m = new Map();
// start libuv's thread pool (4 threads)
crypto.pbkdf2('x', 'y', 1000, 32, 'sha256', () => {});
http.createServer((req, res) => {
    const u = new URL(req.url, 'http://localhost');
    const k = u.searchParams.get('k');
    if (u.pathname === '/set') {
        m.set(k, u.searchParams.get('v'));
        res.end('OK\\n');
    } else {
        res.end((m.has(k) ? m.get(k) : '(nil)') + '\\n');
    }
}).listen(%d, '127.0.0.1');
"""

    def preexec(self):
        # libuv >= 1.50 always sets up an io_uring (epoll_ctl batching), and
        # CRIU (stock and ours) cannot dump one: deny io_uring_setup as the
        # default seccomp profiles of Docker and containerd do; libuv falls
        # back to plain epoll_ctl.
        deny_io_uring()

    def start(self):
        self.write("server.js", self.SERVER % self.port)
        return self.chroot(["node", f"{self.dir}/server.js"], "out.log")

    def get(self, path):
        return self.client(["curl", "-sS", "--fail", f"http://127.0.0.1:{self.port}{path}"]).strip()

    def set_key(self, k, v):
        return self.get(f"/set?k={k}&v={v}")

    def get_key(self, k):
        return self.get(f"/get?k={k}")


PROGRAMS = {p.name: p for p in (Python, PythonFork, Redis, Memcached, Apache, MariaDB, Node)}
