#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The hostile-image suite: mutate real dumps by class, restore every mutant
with the real criu and plugin, classify each restore.

  mutants.py --criu build/criu/criu --libdir build/plugin \\
             --workload build/tests/integration/it-workload [--class C]... [--keep]

Every mutant must end one of two ways:
  refused   criu fails, an error line names the mutated file and an entry,
            and no task of the tree is left behind;
  exact     criu restores, and every restored process holds exactly the
            guard pages its (mutated) guard image says, none elsewhere.
Anything else fails the suite: crash (criu or a restored task killed by a
signal), foreign (an error that names neither), dropped (fewer guards than
the image says), unjustified (guards the image does not say), malformed
(an image the oracle cannot read was restored), left (tasks left behind).
"""
import argparse
import re
import collections
import os
import struct
import sys
import tempfile
import time

import criuimg as ci
import criurun as cr

PAGE = ci.PAGE
BASES = ["private-anon", "three-gen", "aio"]
# criu kills the rest of the tree with SIGKILL when a task fails: not a crash
CRASH_RE = re.compile(r"killed by signal (?!9:)\d+|BUG at|Segmentation fault|core dumped")


class Base:
    """One real dump of a workload, restored many times"""

    def __init__(self, args, scenario, top):
        self.scenario = scenario
        self.tree = cr.Tree(args.workload, scenario, top)
        self.img = os.path.join(self.tree.dir, "img")
        os.mkdir(self.img)
        rc = args.criu.dump(self.img, self.tree.root)
        if rc != 0:
            raise RuntimeError("%s: dump failed (%s), see %s" % (scenario, rc, self.img))
        self.tree.kill()
        self.procs = self.tree.procs

    def path(self, kind, pid):
        return os.path.join(self.img, "%s-%d.img" % (kind, pid))

    def read(self, kind, pid):
        return open(self.path(kind, pid), "rb").read()

    def guard(self, pid):
        return ci.decode_guard(self.read("guard-regions", pid))

    def pid(self, role):
        return [p for r, p, _ in self.procs if r == role][0]


class Mutant:
    def __init__(self, cls, name, files, what=None):
        self.cls, self.name = cls, name
        self.files = files  # {file name: bytes}
        self.what = what or next(iter(files))  # the file a refusal must name


# --- generators ---------------------------------------------------------

def gen_trunc(b, pid):
    data = b.read("guard-regions", pid)
    name = "guard-regions-%d.img" % pid
    for cut in range(len(data)):
        yield Mutant("trunc", "%s/%s cut at %d" % (b.scenario, name, cut), {name: data[:cut]})


def with_head(b, pid, tag, fn):
    img = ci.Image(b.read("guard-regions", pid))
    img.entries[0] = ci.build(fn(ci.fields(img.entries[0])))
    name = "guard-regions-%d.img" % pid
    return Mutant("header", "%s/%s %s" % (b.scenario, name, tag), {name: img.bytes()})


def gen_header(b, pid, other_pid):
    data = b.read("guard-regions", pid)
    name = "guard-regions-%d.img" % pid
    for i in range(8):
        m = bytearray(data)
        m[i] ^= 0x41
        yield Mutant("header", "%s/%s magic byte %d" % (b.scenario, name, i), {name: bytes(m)})
    sf = ci.set_field
    for v in (0, 3, 0xFFFFFFFF):
        yield with_head(b, pid, "version %d" % v, lambda f, v=v: sf(f, ci.HEAD_VERSION, v))
    for s in (0, 11, 13, 63):
        yield with_head(b, pid, "page_shift %d" % s, lambda f, s=s: sf(f, ci.HEAD_SHIFT, s))
    for p in (0, other_pid, pid + 1, 1 << 31, (1 << 32) - 1):
        yield with_head(b, pid, "pid %d" % p, lambda f, p=p: sf(f, ci.HEAD_PID, p))
    yield with_head(b, pid, "pid missing", lambda f: sf(f, ci.HEAD_PID, None))
    yield with_head(b, pid, "version 1, pid missing",
                    lambda f: sf(sf(f, ci.HEAD_PID, None), ci.HEAD_VERSION, 1))
    for num in (ci.HEAD_VERSION, ci.HEAD_SHIFT, ci.HEAD_NR_RANGES, ci.HEAD_NR_PAGES):
        yield with_head(b, pid, "field %d missing" % num, lambda f, n=num: sf(f, n, None))
    yield with_head(b, pid, "unknown field 15", lambda f: f + [(15, 0, 1234)])
    yield with_head(b, pid, "field 2 as bytes", lambda f: sf(f, ci.HEAD_SHIFT, b"\x0c", wire=2))
    img = ci.Image(data)
    if len(img.entries) > 1:
        img.entries = img.entries[1:]
        yield Mutant("header", "%s/%s no head" % (b.scenario, name), {name: img.bytes()})
    for delta in (1, -1, 1 << 20):
        m = bytearray(data)
        struct.pack_into("<I", m, 8, (struct.unpack_from("<I", m, 8)[0] + delta) & 0xFFFFFFFF)
        yield Mutant("header", "%s/%s head size %+d" % (b.scenario, name, delta), {name: bytes(m)})


def gen_totals(b, pid):
    g = b.guard(pid)
    nr = ci.first(g.head, ci.HEAD_NR_RANGES)
    pages = ci.first(g.head, ci.HEAD_NR_PAGES)
    name = "guard-regions-%d.img" % pid
    for field, v in ((ci.HEAD_NR_RANGES, nr + 1), (ci.HEAD_NR_RANGES, nr - 1), (ci.HEAD_NR_PAGES, pages + 1),
                     (ci.HEAD_NR_PAGES, pages - 1), (ci.HEAD_NR_RANGES, 1 << 40), (ci.HEAD_NR_PAGES, 1 << 63),
                     (ci.HEAD_NR_RANGES, 0)):
        h = ci.set_field(g.head, field, v & ci.U64)
        data = ci.GuardImage(h, g.groups).encode(fix_totals=False)
        yield Mutant("totals", "%s/%s field %d = %d" % (b.scenario, name, field, v), {name: data})


def with_entry(b, pid, cls, tag, fn, idx=1):
    img = ci.Image(b.read("guard-regions", pid))
    img.entries[idx] = ci.build(fn(ci.fields(img.entries[idx])))
    name = "guard-regions-%d.img" % pid
    return Mutant(cls, "%s/%s %s" % (b.scenario, name, tag), {name: img.bytes()})


def pages_field(vals):
    return (ci.RANGES_PAGES, 2, b"".join(ci.varint(v) for v in vals))


def gen_overflow(b, pid):
    sf = ci.set_field
    for gap, n in ((1 << 52, 1), (0, 1 << 52), (1 << 63, 1), (0, ci.U64), (ci.U64, ci.U64), (1, (1 << 52) - 1)):
        yield with_entry(b, pid, "overflow", "pages %#x,%#x" % (gap, n),
                         lambda f, g=gap, n=n: sf(f, ci.RANGES_PAGES, pages_field([g, n])[2], wire=2))
    top = ci.U64 - PAGE + 1
    yield with_entry(b, pid, "overflow", "origin at the top",
                     lambda f: sf(f, ci.RANGES_ORIGIN, top))
    yield with_entry(b, pid, "overflow", "vma_start and origin at the top",
                     lambda f: sf(sf(f, ci.RANGES_VMA, top), ci.RANGES_ORIGIN, top))
    yield with_entry(b, pid, "overflow", "vma_start unaligned",
                     lambda f: sf(f, ci.RANGES_VMA, ci.first(f, ci.RANGES_VMA) + 8))


def gen_ordering(b, pid):
    data = b.read("guard-regions", pid)
    name = "guard-regions-%d.img" % pid
    img = ci.Image(data)
    ents = img.entries
    variants = []
    if len(ents) > 2:
        variants.append(("first two entries swapped", [ents[0], ents[2], ents[1]] + ents[3:]))
        variants.append(("last entry first", [ents[0], ents[-1]] + ents[1:-1]))
    variants.append(("first entry twice", [ents[0], ents[1]] + ents[1:]))
    variants.append(("no ranges entry", [ents[0]]))
    for tag, e in variants:
        m = ci.Image(data)
        m.entries = e
        yield Mutant("ordering", "%s/%s %s" % (b.scenario, name, tag), {name: m.bytes()})
    sf = ci.set_field
    f1 = ci.fields(ents[1])
    pages = ci.packed_varints(f1, ci.RANGES_PAGES)
    yield with_entry(b, pid, "ordering", "odd page count",
                     lambda f: sf(f, ci.RANGES_PAGES, pages_field(pages[:-1])[2], wire=2))
    yield with_entry(b, pid, "ordering", "empty range",
                     lambda f: sf(f, ci.RANGES_PAGES, pages_field(pages[:1] + [0] + pages[2:])[2], wire=2))
    yield with_entry(b, pid, "ordering", "origin below vma_start",
                     lambda f: sf(f, ci.RANGES_ORIGIN, ci.first(f, ci.RANGES_VMA) - PAGE))
    yield with_entry(b, pid, "ordering", "pages unpacked",
                     lambda f: [x for x in f if x[0] != ci.RANGES_PAGES] +
                     [(ci.RANGES_PAGES, 0, v) for v in pages])
    if len(ents) > 2:
        f2 = ci.fields(ents[2])
        yield with_entry(b, pid, "ordering", "second entry's origin below the first's end",
                         lambda f: sf(sf(f, ci.RANGES_VMA, ci.first(f1, ci.RANGES_VMA)),
                                      ci.RANGES_ORIGIN, ci.first(f1, ci.RANGES_ORIGIN)), idx=2)
        if ci.first(f2, ci.RANGES_VMA) != ci.first(f1, ci.RANGES_VMA):
            yield with_entry(b, pid, "ordering", "second entry's VMA below the first's",
                             lambda f: sf(sf(f, ci.RANGES_VMA, ci.first(f1, ci.RANGES_VMA) - 16 * PAGE),
                                          ci.RANGES_ORIGIN, ci.first(f1, ci.RANGES_VMA) - 16 * PAGE), idx=2)


def semantic(b, pid, cls, tag, groups, what=None):
    g = b.guard(pid)
    name = "guard-regions-%d.img" % pid
    data = ci.GuardImage(g.head, sorted(groups)).encode()
    return Mutant(cls, "%s/%s %s" % (b.scenario, name, tag), {name: data}, what)


def vma_label(v):
    for bit, label in ci.SPECIAL.items():
        if v[2] & bit:
            return label
    return "status %#x" % v[2]


def gen_vma(b, pid, special_only=False):
    g = b.guard(pid)
    vmas = ci.mm_vmas(b.read("mm", pid))
    guarded = {vma for vma, _ in g.groups}
    vma0, rs0 = g.groups[0]
    rest = [x for x in g.groups[1:]]
    if not special_only:
        yield semantic(b, pid, "vma", "group moved a page up",
                       [(vma0 + PAGE, [(max(s, vma0 + PAGE), e) for s, e in rs0 if e > vma0 + PAGE])] + rest)
        yield semantic(b, pid, "vma", "group moved a page down", [(vma0 - PAGE, rs0)] + rest)
        end0 = [v for v in vmas if v[0] == vma0][0][1]
        yield semantic(b, pid, "vma", "range past its VMA's end", [(vma0, rs0[:-1] + [(rs0[-1][0], end0 + PAGE)])]
                       + rest)
        yield semantic(b, pid, "vma", "guard on the page after its VMA", [(vma0, rs0 + [(end0, end0 + PAGE)])] + rest)
    for v in vmas:
        if v[0] in guarded or v[2] & ci.VMA_AREA_GUARD:
            continue
        special = any(v[2] & bit for bit in ci.SPECIAL)
        if special_only != special:
            continue
        cls = "special" if special else "vma"
        others = [x for x in g.groups]
        for at in sorted({v[0], max(v[0], (v[1] - PAGE))}):
            yield semantic(b, pid, cls, "guard at %#x in VMA %#x-%#x (%s)" % (at, v[0], v[1], vma_label(v)),
                           others + [(v[0], [(at, at + PAGE)])])


def vma_of(vmas, addr):
    for v in vmas:
        if v[0] <= addr < v[1]:
            return v
    return None


def gen_conflict(b, pid, limit=4):
    g = b.guard(pid)
    vmas = ci.mm_vmas(b.read("mm", pid))
    runs = ci.pagemap_runs(b.read("pagemap", pid))
    pm_name = "pagemap-%d.img" % pid
    n = 0
    for vaddr, nr in runs:
        v = vma_of(vmas, vaddr)
        if not v or not v[2] & ci.VMA_ANON_PRIVATE or n >= limit:
            continue
        n += 1
        groups = {vma: list(rs) for vma, rs in g.groups}
        for at in (vaddr, vaddr + (nr - 1) * PAGE):
            gs = {k: list(x) for k, x in groups.items()}
            gs[v[0]] = ci.merge(gs.get(v[0], []) + [(at, at + PAGE)])
            yield semantic(b, pid, "conflict", "guard over dumped page %#x" % at, list(gs.items()),
                           what="guard-regions-%d.img" % pid)
    # The pagemap instead: a run grown or moved onto a guard page
    img = ci.Image(b.read("pagemap", pid))
    guards = g.ranges()
    for i in range(1, len(img.entries)):
        f = ci.fields(img.entries[i])
        vaddr = ci.first(f, ci.PM_VADDR)
        nr = ci.first(f, ci.PM_NR, ci.first(f, ci.PM_COMPAT_NR))
        end = vaddr + nr * PAGE
        hit = [r for r in guards if r[0] == end]
        if hit:
            m = ci.Image(b.read("pagemap", pid))
            m.entries[i] = ci.build(ci.set_field(ci.set_field(f, ci.PM_NR, nr + 1), ci.PM_COMPAT_NR, nr + 1))
            yield Mutant("conflict", "%s/%s entry %d grown onto the guard at %#x" % (b.scenario, pm_name, i, end),
                         {pm_name: m.bytes()})
        for s, e in guards:
            v = vma_of(vmas, s)
            if v and v[2] & ci.VMA_ANON_PRIVATE and not [r for r in runs if r[0] <= s < r[0] + r[1] * PAGE]:
                m = ci.Image(b.read("pagemap", pid))
                m.entries[i] = ci.build(ci.set_field(ci.set_field(f, ci.PM_VADDR, s), ci.PM_NR, 1))
                m.entries[i] = ci.build(ci.set_field(ci.fields(m.entries[i]), ci.PM_COMPAT_NR, 1))
                yield Mutant("conflict", "%s/%s entry %d moved onto the guard at %#x" % (b.scenario, pm_name, i, s),
                             {pm_name: m.bytes()})
                break
        if i >= 2:
            break


def gen_mm(b, pid):
    """Old-style VMA_AREA_GUARD entries in mm.img beside the plugin's image"""
    name = "mm-%d.img" % pid
    g = b.guard(pid)
    vmas = ci.mm_vmas(b.read("mm", pid))
    guards = g.ranges()
    anon = [v for v in vmas if v[2] & ci.VMA_ANON_PRIVATE and not v[2] & ci.VMA_AREA_GUARD and
            not any(v[2] & bit for bit in ci.SPECIAL) and not any(s <= v[1] - PAGE < e for s, e in guards)]
    picks = [("a guard VMA over the plugin's first guard", guards[0])]
    for v in anon[-2:]:
        picks.append(("a guard VMA on the last page of VMA %#x" % v[0], (v[1] - PAGE, v[1])))
    for tag, (s, e) in picks:
        img = ci.Image(b.read("mm", pid))
        flds = ci.fields(img.entries[0])
        vma = ci.build([(ci.VMA_START, 0, s), (ci.VMA_END, 0, s + PAGE), (3, 0, 0), (4, 0, 0), (5, 0, 0),
                        (6, 0, 0x22), (ci.VMA_STATUS, 0, ci.VMA_AREA_GUARD), (8, 0, 1)])
        # Keep the vmas sorted, as CRIU writes them
        out, done = [], False
        for f in flds:
            if f[0] == ci.MM_VMAS and not done and ci.first(ci.fields(f[2]), ci.VMA_START) > s:
                out.append((ci.MM_VMAS, 2, vma))
                done = True
            out.append(f)
        img.entries[0] = ci.build(out)
        yield Mutant("mm", "%s/%s %s" % (b.scenario, name, tag), {name: img.bytes()})


def gen_inventory(b):
    data = open(os.path.join(b.img, "inventory.img"), "rb").read()
    img = ci.Image(data)
    flds = ci.fields(img.entries[0])
    for tag, new in (("plugins list empty", ci.set_field(flds, ci.INV_PLUGINS, b"", wire=2)),
                     ("no plugins list (old dumps: every plugin enabled)", ci.set_field(flds, ci.INV_PLUGINS, None))):
        m = ci.Image(data)
        m.entries[0] = ci.build(new)
        yield Mutant("inventory", "%s/inventory.img %s" % (b.scenario, tag), {"inventory.img": m.bytes()})


def gen_swap(b, a, c):
    na, nc = "guard-regions-%d.img" % a, "guard-regions-%d.img" % c
    da, dc = b.read("guard-regions", a), b.read("guard-regions", c)
    yield Mutant("swap", "%s: %s and %s swapped" % (b.scenario, na, nc), {na: dc, nc: da})
    yield Mutant("swap", "%s: %s copied over %s" % (b.scenario, na, nc), {nc: da})


def gen_delta(b):
    """Version 3: a child's image as the difference from its parent's"""
    sf = ci.set_field
    pids = [p for _, p, _ in b.procs]
    for role, pid, _ in b.procs:
        img = ci.Image(b.read("guard-regions", pid))
        head = ci.fields(img.entries[0])
        parent = ci.first(head, ci.HEAD_PARENT)
        if not parent:
            continue
        name = "guard-regions-%d.img" % pid
        others = [p for p in pids if p not in (pid, parent)]
        for tag, fn in (("parent = itself", lambda f: sf(f, ci.HEAD_PARENT, pid)),
                        ("parent = a task not dumped", lambda f: sf(f, ci.HEAD_PARENT, 4000000)),
                        ("parent = another task %d" % others[0], lambda f: sf(f, ci.HEAD_PARENT, others[0])),
                        ("parent dropped", lambda f: sf(f, ci.HEAD_PARENT, None)),
                        ("version 2 with a parent", lambda f: sf(f, ci.HEAD_VERSION, 2)),
                        ("full_ranges + 1", lambda f: sf(f, ci.HEAD_FULL_RANGES, (ci.first(f, 7) or 0) + 1)),
                        ("full_pages - 1", lambda f: sf(f, ci.HEAD_FULL_PAGES, (ci.first(f, 8) or 0) - 1)),
                        ("full_ranges dropped", lambda f: sf(f, ci.HEAD_FULL_RANGES, None))):
            m = ci.Image(b.read("guard-regions", pid))
            m.entries[0] = ci.build(fn(ci.fields(m.entries[0])))
            yield Mutant("delta", "%s/%s %s" % (b.scenario, name, tag), {name: m.bytes()})
        for i in range(1, len(img.entries)):
            f = ci.fields(img.entries[i])
            m = ci.Image(b.read("guard-regions", pid))
            m.entries[i] = ci.build(sf(f, ci.RANGES_REMOVE, 0 if ci.first(f, ci.RANGES_REMOVE) else 1))
            yield Mutant("delta", "%s/%s entry %d: remove flipped" % (b.scenario, name, i), {name: m.bytes()})
        pname = "guard-regions-%d.img" % parent
        if os.path.exists(os.path.join(b.img, pname)):
            yield Mutant("delta", "%s/%s: its parent's image %s deleted" % (b.scenario, name, pname),
                         {pname: None})
        # A loop: the parent's image made a difference from this one
        pm = ci.Image(b.read("guard-regions", parent))
        ph = ci.fields(pm.entries[0])
        if not ci.first(ph, ci.HEAD_PARENT):
            ph = sf(sf(sf(ph, ci.HEAD_PARENT, pid), ci.HEAD_FULL_RANGES, ci.first(ph, ci.HEAD_NR_RANGES)),
                    ci.HEAD_FULL_PAGES, ci.first(ph, ci.HEAD_NR_PAGES))
            pm.entries[0] = ci.build(sf(ph, ci.HEAD_VERSION, 3))
            yield Mutant("delta", "%s/%s: parent %s made a difference from it (a loop)" % (b.scenario, name, pname),
                         {pname: pm.bytes()}, what=pname)


def generate(bases):
    pa, tg, aio = bases["private-anon"], bases["three-gen"], bases["aio"]
    root, child1 = pa.pid("root"), tg.pid("child1")
    gens = {
        "trunc": lambda: [m for b, p in ((pa, root), (tg, child1)) for m in gen_trunc(b, p)],
        "header": lambda: list(gen_header(pa, root, child1)) + list(gen_header(tg, child1, tg.pid("root"))),
        "totals": lambda: list(gen_totals(pa, root)) + list(gen_totals(tg, tg.pid("grandchild"))),
        "overflow": lambda: list(gen_overflow(pa, root)) + list(gen_overflow(tg, child1)),
        "ordering": lambda: list(gen_ordering(pa, root)) + list(gen_ordering(tg, child1)),
        "vma": lambda: list(gen_vma(pa, root)) + list(gen_vma(tg, child1)),
        "special": lambda: [m for b in (pa, aio) for _, p, _ in b.procs for m in gen_vma(b, p, special_only=True)],
        "conflict": lambda: [m for b in (pa, tg) for _, p, _ in b.procs for m in gen_conflict(b, p)],
        "mm": lambda: list(gen_mm(pa, root)) + list(gen_mm(tg, child1)),
        "inventory": lambda: list(gen_inventory(pa)) + list(gen_inventory(tg)),
        "delta": lambda: list(gen_delta(tg)),
        "swap": lambda: list(gen_swap(tg, tg.pid("root"), child1)) + list(gen_swap(aio, aio.pid("root"),
                                                                               aio.pid("child"))),
    }
    return gens


# --- classification ---------------------------------------------------------

def pages_of(ranges):
    return {a for s, e in ranges for a in range(s, e, PAGE)}


def expected_guards(imgdir, pid, depth=0):
    path = os.path.join(imgdir, "guard-regions-%d.img" % pid)
    if not os.path.exists(path):
        return []
    img = ci.decode_guard(open(path, "rb").read())
    if not img.parent:
        return img.ranges()
    if depth > 64:
        raise ci.Malformed("a loop of parents")
    # Version 3: (the parent's pages - removed) | added
    base = pages_of(expected_guards(imgdir, img.parent, depth + 1))
    rm = pages_of(r for _, rs in img.removed for r in rs)
    add = pages_of(r for _, rs in img.groups for r in rs)
    return ci.merge((a, a + PAGE) for a in (base - rm) | add)


def classify(args, b, m, mdir):
    """(outcome, detail) of restoring mutant @m prepared in @mdir"""
    # Stopped: what the program does with its guards afterwards is its business
    rc = args.criu.restore(mdir, stopped=True)
    log = os.path.join(mdir, "restore.log")
    pids = [p for _, p, _ in b.procs]
    text = open(log, errors="replace").read() if os.path.exists(log) else ""
    if rc != 0:
        left = cr.wait_gone(pids)
        stuck = ["%d %s" % (p, cr.task_state(p)) for p in left]
        if left:
            cr.kill_all(left)
        if rc == "timeout":
            return "crash", "criu restore hung"
        if rc < 0 or CRASH_RE.search(text):
            line = [x for x in text.split("\n") if CRASH_RE.search(x)]
            return "crash", (line or ["criu killed by signal %d" % -rc])[0]
        errs = cr.log_errors(log)
        # The file and where in it: an entry or its magic (or that it is gone)
        named = [e for e in errs if m.what in e and ("entry" in e or "magic" in e or "missing" in e)]
        if left:
            return "left", "tasks left behind: %s" % "; ".join(stuck)
        if not named:
            return "foreign", (errs or ["no error line"])[0]
        return "refused", named[0]
    try:
        dead = [p for p in pids if not cr.alive(p)]
        if dead:
            return "crash", "restored tasks %s died" % dead
        for _, pid, _ in b.procs:
            try:
                want = expected_guards(mdir, pid)
            except ci.Malformed as e:
                return "malformed", "restored although guard-regions-%d.img is unreadable (%s)" % (pid, e)
            have = cr.scan_guards(pid)
            if have != want:
                extra = [r for r in have if r not in want]
                return ("unjustified" if extra else "dropped",
                        "pid %d: guards %s, image says %s" % (pid, fmt(have), fmt(want)))
        return "exact", ""
    finally:
        cr.kill_all(pids)


def fmt(ranges, n=4):
    s = ", ".join("%#x-%#x" % r for r in ranges[:n])
    return "[%s%s]" % (s, ", ..." if len(ranges) > n else "")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--criu", required=True)
    ap.add_argument("--libdir", required=True)
    ap.add_argument("--workload", required=True)
    ap.add_argument("--class", dest="classes", action="append")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    if os.geteuid():
        print("SKIP: needs root (criu dump/restore)")
        return 77
    args.criu = cr.Criu(os.path.abspath(args.criu), os.path.abspath(args.libdir))
    args.workload = os.path.abspath(args.workload)
    cr.private_pid_namespace()
    cr.become_subreaper()
    top = tempfile.mkdtemp(prefix="criu-guard-hostile.", dir=os.environ.get("TMPDIR", "/tmp"))
    t0 = time.monotonic()
    bases = {s: Base(args, s, top) for s in BASES}
    gens = generate(bases)
    classes = args.classes or list(gens)
    counts = collections.OrderedDict()
    failures = []
    n = 0
    for cls in classes:
        counts[cls] = collections.Counter()
        for m in gens[cls]():
            b = [x for x in bases.values() if m.name.startswith(x.scenario)][0]
            mdir = os.path.join(top, "mutant")
            cr.copy_images(b.img, mdir)
            for name, data in m.files.items():
                if data is None:
                    os.unlink(os.path.join(mdir, name))
                else:
                    cr.replace_file(os.path.join(mdir, name), data)
            outcome, detail = classify(args, b, m, mdir)
            counts[cls][outcome] += 1
            n += 1
            if args.verbose or outcome not in ("refused", "exact"):
                print("# %-9s %-11s %s: %s" % (cls, outcome, m.name, detail))
            if outcome not in ("refused", "exact"):
                keep = os.path.join(top, "failed-%d" % len(failures))
                os.rename(mdir, keep)
                failures.append((cls, outcome, m.name, detail, keep))
        c = counts[cls]
        print("ok %d - %s: %d mutants: %d refused, %d exact%s" % (
            len(counts), cls, sum(c.values()), c["refused"], c["exact"],
            "".join(", %d %s" % (v, k) for k, v in c.items() if k not in ("refused", "exact")))
            if all(k in ("refused", "exact") for k in c) else
            "not ok %d - %s: %s" % (len(counts), cls, dict(c)), flush=True)
    total = collections.Counter()
    for c in counts.values():
        total.update(c)
    print("# %d mutants in %.1f s: %s" % (n, time.monotonic() - t0, dict(total)))
    print("# crashes %d, foreign errors %d, silent drops %d, unjustified guards %d" % (
        total["crash"], total["foreign"], total["dropped"], total["unjustified"]))
    print("1..%d" % len(counts))
    if failures:
        print("# failed mutants kept in %s" % top)
    elif not args.keep:
        import shutil
        shutil.rmtree(top, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
