# SPDX-License-Identifier: MIT
"""CRIU image framing, the protobuf wire format, and the guard image format,
written independently of the plugin: the hostile suite mutates images with
this and uses it as the oracle of what an image says.

Nothing here checks what the plugin checks: decode_guard() only refuses what
cannot be read at all, so that a mutant the plugin accepts can be compared
with what the image literally says.
"""
import struct

IMG_COMMON_MAGIC = 0x54564319
IMG_SERVICE_MAGIC = 0x55105940
GUARD_MAGIC = 0x59592946  # GUARD_REGIONS_MAGIC (Kronstadt), criu/include/magic.h of the series
PAGEMAP_MAGIC = 0x56084025

# criu/include/image.h
VMA_AREA_VSYSCALL = 1 << 2
VMA_AREA_VDSO = 1 << 3
VMA_ANON_PRIVATE = 1 << 9
VMA_AREA_VVAR = 1 << 12
VMA_AREA_AIORING = 1 << 13
VMA_AREA_GUARD = 1 << 16
SPECIAL = {VMA_AREA_VDSO: "vdso", VMA_AREA_VVAR: "vvar", VMA_AREA_AIORING: "aio-ring",
           VMA_AREA_VSYSCALL: "vsyscall"}

# Field numbers: images/mm.proto, vma.proto, inventory.proto, pagemap.proto
MM_VMAS = 14
VMA_START, VMA_END, VMA_STATUS = 1, 2, 7
INV_PLUGINS = 12
PM_VADDR, PM_COMPAT_NR, PM_NR = 1, 2, 5
# proto/guard.proto
HEAD_VERSION, HEAD_SHIFT, HEAD_NR_RANGES, HEAD_NR_PAGES, HEAD_PID = 1, 2, 3, 4, 5
HEAD_PARENT = 6  # version 3: the image is a difference from this vpid's set
HEAD_FULL_RANGES, HEAD_FULL_PAGES = 7, 8  # version 3: the totals of the set once applied
RANGES_VMA, RANGES_ORIGIN, RANGES_PAGES = 1, 2, 3
RANGES_REMOVE = 4  # version 3: ranges removed from the parent's set

PAGE = 4096
U64 = (1 << 64) - 1


class Malformed(Exception):
    pass


def varint(v):
    out = bytearray()
    v &= U64
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def get_varint(buf, pos):
    v = shift = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise Malformed("bad varint")
        b = buf[pos]
        pos += 1
        v |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return v & U64, pos


def fields(buf):
    """[(number, wire type, value)]: an int, or bytes for length-delimited"""
    out, pos = [], 0
    while pos < len(buf):
        key, pos = get_varint(buf, pos)
        num, wire = key >> 3, key & 7
        if wire == 0:
            v, pos = get_varint(buf, pos)
        elif wire == 1:
            if pos + 8 > len(buf):
                raise Malformed("cut fixed64")
            v, pos = struct.unpack_from("<Q", buf, pos)[0], pos + 8
        elif wire == 5:
            if pos + 4 > len(buf):
                raise Malformed("cut fixed32")
            v, pos = struct.unpack_from("<I", buf, pos)[0], pos + 4
        elif wire == 2:
            n, pos = get_varint(buf, pos)
            if pos + n > len(buf):
                raise Malformed("cut bytes")
            v, pos = bytes(buf[pos:pos + n]), pos + n
        else:
            raise Malformed("wire type %d" % wire)
        out.append((num, wire, v))
    return out


def build(flds):
    out = bytearray()
    for num, wire, v in flds:
        out += varint(num << 3 | wire)
        if wire == 0:
            out += varint(v)
        elif wire == 2:
            out += varint(len(v)) + v
        elif wire == 1:
            out += struct.pack("<Q", v)
        else:
            out += struct.pack("<I", v)
    return bytes(out)


def first(flds, num, default=None):
    for n, _, v in flds:
        if n == num:
            return v
    return default


def set_field(flds, num, value, wire=0):
    """Replace field @num (or drop it with value None), keeping the order"""
    out, done = [], False
    for f in flds:
        if f[0] == num:
            if value is not None and not done:
                out.append((num, wire, value))
            done = True
        else:
            out.append(f)
    if not done and value is not None:
        out.append((num, wire, value))
    return out


class Image:
    """Magics and entries of a CRIU image (the inventory has one magic)"""

    def __init__(self, data):
        if len(data) < 4:
            raise Malformed("no magic")
        m0 = struct.unpack_from("<I", data, 0)[0]
        nmag = 2 if m0 in (IMG_COMMON_MAGIC, IMG_SERVICE_MAGIC) else 1
        if len(data) < 4 * nmag:
            raise Malformed("cut magic")
        self.magics = list(struct.unpack_from("<%dI" % nmag, data, 0))
        self.entries = []
        pos = 4 * nmag
        while pos < len(data):
            if pos + 4 > len(data):
                raise Malformed("cut size")
            n = struct.unpack_from("<I", data, pos)[0]
            if pos + 4 + n > len(data):
                raise Malformed("cut entry")
            self.entries.append(bytes(data[pos + 4:pos + 4 + n]))
            pos += 4 + n

    def bytes(self):
        out = bytearray(struct.pack("<%dI" % len(self.magics), *self.magics))
        for e in self.entries:
            out += struct.pack("<I", len(e)) + e
        return bytes(out)


def packed_varints(flds, num):
    vals = []
    for n, wire, v in flds:
        if n != num:
            continue
        if wire == 2:
            pos = 0
            while pos < len(v):
                x, pos = get_varint(v, pos)
                vals.append(x)
        elif wire == 0:
            vals.append(v)
        else:
            raise Malformed("pages of wire type %d" % wire)
    return vals


class GuardImage:
    """What a guard image says: head fields and ranges per VMA start"""

    def __init__(self, head, groups, removed=None):
        self.head = head  # list of fields
        self.groups = groups  # [(vma_start, [(start, end)])] in image order
        self.removed = removed or []  # the same, of removal entries (version 3)
        self.parent = first(head, HEAD_PARENT) or 0

    def ranges(self):
        return merge(r for _, rs in self.groups for r in rs)

    def encode(self, fix_totals=True):
        """Canonical encoding (as the plugin writes it), totals recomputed"""
        head = self.head
        if fix_totals:
            rs = [r for _, g in self.groups for r in g]
            head = set_field(head, HEAD_NR_RANGES, len(rs))
            head = set_field(head, HEAD_NR_PAGES, sum((e - s) // PAGE for s, e in rs))
        img = Image(struct.pack("<II", IMG_COMMON_MAGIC, GUARD_MAGIC))
        img.entries.append(build(head))
        for vma, rs in self.groups:
            for i in range(0, len(rs), 65536):
                chunk = rs[i:i + 65536]
                base = vma if i == 0 else rs[i - 1][1]
                pages, pos = bytearray(), base
                for s, e in chunk:
                    pages += varint((s - pos) // PAGE) + varint((e - s) // PAGE)
                    pos = e
                img.entries.append(build([(RANGES_VMA, 0, vma), (RANGES_ORIGIN, 0, base),
                                          (RANGES_PAGES, 2, bytes(pages))]))
        return img.bytes()


def decode_guard(data):
    """GuardImage, or Malformed if the bytes cannot be read as one at all"""
    img = Image(data)
    if img.magics != [IMG_COMMON_MAGIC, GUARD_MAGIC] or not img.entries:
        raise Malformed("magic or head")
    head = fields(img.entries[0])
    groups, removed = [], []
    for e in img.entries[1:]:
        f = fields(e)
        into = removed if first(f, RANGES_REMOVE) else groups
        vma, origin = first(f, RANGES_VMA), first(f, RANGES_ORIGIN)
        if vma is None or origin is None:
            raise Malformed("ranges entry without vma_start/origin")
        pages = packed_varints(f, RANGES_PAGES)
        if len(pages) % 2:
            raise Malformed("odd pages")
        rs, pos = [], origin
        for gap, n in zip(pages[::2], pages[1::2]):
            s = pos + gap * PAGE
            e = s + n * PAGE
            if e > U64:
                raise Malformed("overflow")
            rs.append((s, e))
            pos = e
        if into and into[-1][0] == vma:
            into[-1][1].extend(rs)
        else:
            into.append((vma, rs))
    return GuardImage(head, groups, removed)


def merge(ranges):
    out = []
    for s, e in sorted(ranges):
        if s >= e:
            continue
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def mm_vmas(data):
    """[(start, end, status, index of the vma_entry)] of an mm image"""
    img = Image(data)
    out = []
    for i, (num, wire, v) in enumerate(fields(img.entries[0])):
        if num == MM_VMAS and wire == 2:
            f = fields(v)
            out.append((first(f, VMA_START), first(f, VMA_END), first(f, VMA_STATUS), len(out)))
    return out


def pagemap_runs(data):
    """[(vaddr, nr_pages)] of a pagemap image"""
    img = Image(data)
    out = []
    for e in img.entries[1:]:
        f = fields(e)
        nr = first(f, PM_NR)
        out.append((first(f, PM_VADDR), nr if nr is not None else first(f, PM_COMPAT_NR)))
    return out
