#!/usr/bin/env python3
"""Write the seed corpora of the fuzz targets (tests/fuzz/corpus/*): small valid files of every
format Kiln reads, crafted byte by byte so that the seeds do not depend on Kiln's own writers.
Run from the top of the source tree; the output is committed."""
import json, os, struct

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fuzz", "corpus")

def out(kind, name, data):
    d = os.path.join(root, kind)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)

# ---------------------------------------------------------------- MRC2014
def mrc(nx, ny, nz, mode, values, big=False, ext=b"", exttype=b"\0\0\0\0", px_A=10.4):
    e = ">" if big else "<"
    fmt = {0: "b", 1: "h", 2: "f", 6: "H", 12: "e"}[mode]
    h = bytearray(1024)
    struct.pack_into(e + "3i", h, 0, nx, ny, nz)
    struct.pack_into(e + "i", h, 12, mode)
    struct.pack_into(e + "3i", h, 28, nx, ny, nz)             # mx my mz
    struct.pack_into(e + "3f", h, 40, nx * px_A, ny * px_A, nz * px_A)
    struct.pack_into(e + "3f", h, 52, 90, 90, 90)
    struct.pack_into(e + "3i", h, 64, 1, 2, 3)
    struct.pack_into(e + "3f", h, 76, min(values), max(values), sum(values) / len(values))
    struct.pack_into(e + "i", h, 92, len(ext))
    h[104:108] = exttype
    struct.pack_into(e + "i", h, 108, 20140)
    h[208:212] = b"MAP "
    h[212:216] = b"\x11\x11\0\0" if big else b"\x44\x44\0\0"
    struct.pack_into(e + "i", h, 220, 1)
    h[224:224 + 20] = b"kiln fuzz seed".ljust(20)
    return bytes(h) + ext + struct.pack(e + fmt * len(values), *values)

vals = [float((x * 7 + y * 3 + z) % 11) for z in range(3) for y in range(4) for x in range(5)]
out("mrc", "mode2-le.mrc", mrc(5, 4, 3, 2, vals))
out("mrc", "mode2-be.mrc", mrc(5, 4, 3, 2, vals, big=True))
out("mrc", "mode1-le.mrc", mrc(5, 4, 3, 1, [int(v) - 5 for v in vals]))
out("mrc", "mode6-be.mrc", mrc(5, 4, 3, 6, [int(v) for v in vals], big=True))
out("mrc", "mode0-le.mrc", mrc(5, 4, 3, 0, [int(v) - 5 for v in vals]))
out("mrc", "mode12-le.mrc", mrc(5, 4, 3, 12, vals))
# FEI1 extended header: 3 sections, 128 bytes each (alpha tilt as a double at byte 100 of FEI1
# records in the metadata block; here a minimal block — loaders must at least not crash)
fei = b"".join(struct.pack("<4si", b"FEI1", 128) + b"\0" * 92 + struct.pack("<d", a) + b"\0" * 20
               for a in (-2.0, 0.0, 2.0))
out("mrc", "mode2-fei1.mrc", mrc(5, 4, 3, 2, vals, ext=fei, exttype=b"FEI1"))

# ---------------------------------------------------------------- TIFF (baseline, little-endian)
def tiff_pages(pages, bits, sample_format, le=True):
    e = "<" if le else ">"
    body = bytearray(b"II*\0" if le else b"MM\0*")
    body += struct.pack(e + "I", 0)  # patched
    offsets = []
    for (w, h, data) in pages:
        offsets.append(len(body))
        body += data
        if len(body) % 2:
            body += b"\0"
    ifd_offsets = []
    for i, (w, h, data) in enumerate(pages):
        entries = [
            (256, 3, 1, w), (257, 3, 1, h), (258, 3, 1, bits), (259, 3, 1, 1),
            (262, 3, 1, 1), (273, 4, 1, offsets[i]), (277, 3, 1, 1), (278, 3, 1, h),
            (279, 4, 1, len(data)), (339, 3, 1, sample_format),
        ]
        ifd_offsets.append(len(body))
        body += struct.pack(e + "H", len(entries))
        for tag, typ, cnt, val in entries:
            if typ == 3:
                body += struct.pack(e + "HHIHH", tag, typ, cnt, val, 0)
            else:
                body += struct.pack(e + "HHII", tag, typ, cnt, val)
        body += struct.pack(e + "I", 0)  # next, patched
    struct.pack_into(e + "I", body, 4, ifd_offsets[0])
    for i in range(len(ifd_offsets) - 1):
        nent = struct.unpack_from(e + "H", body, ifd_offsets[i])[0]
        struct.pack_into(e + "I", body, ifd_offsets[i] + 2 + 12 * nent, ifd_offsets[i + 1])
    return bytes(body)

w, h = 6, 5
out("tiff", "u8.tif", tiff_pages([(w, h, bytes((x * 9 + y) % 256 for y in range(h) for x in range(w)))], 8, 1))
out("tiff", "u16-2pages.tif", tiff_pages([(w, h, struct.pack("<%dH" % (w * h), *range(p, p + w * h))) for p in (0, 100)], 16, 1))
out("tiff", "i16-be.tif", tiff_pages([(w, h, struct.pack(">%dh" % (w * h), *range(-15, w * h - 15)))], 16, 2, le=False))
out("tiff", "f32-3pages.tif", tiff_pages([(w, h, struct.pack("<%df" % (w * h), *[p + i * 0.5 for i in range(w * h)])) for p in range(3)], 32, 3))

# ---------------------------------------------------------------- DM3 / DM4
def dm(version, image_values, dims, fmt="f", scale=2.0, origin=1.0):
    # the tag's element type (DM simple types: 6 float32, 4 uint16) differs from the image's
    # DataType (2 float32, 10 uint16)
    elem_code = {"f": 6, "H": 4}[fmt]
    dtype_code = {"f": 2, "H": 10}[fmt]
    big_sizes = version == 4
    def size(n):
        return struct.pack(">Q" if big_sizes else ">I", n)
    def tag_data(type_code, payload):
        # simple-type tag: "%%%%", ninfo, info..., data (little-endian data, byte order flag 1)
        info = [type_code]
        s = b"%%%%" + size(len(info)) + b"".join(size(i) for i in info) + payload
        return s
    def array_data(elem_code, fmtc, values):
        info = [20, elem_code, len(values)]
        payload = struct.pack("<%d%s" % (len(values), fmtc), *values)
        return b"%%%%" + size(len(info)) + b"".join(size(i) for i in info) + payload
    def entry(name, body, is_group=False):
        n = name.encode()
        head = bytes([20 if is_group else 21]) + struct.pack(">H", len(n)) + n
        if version == 4:
            head += struct.pack(">Q", len(body))
        return head + body
    def group(entries):
        return bytes([0, 0]) + size(len(entries)) + b"".join(entries)
    def f32(v):
        return tag_data(6, struct.pack("<f", v))
    def i32(v):
        return tag_data(3, struct.pack("<i", v))
    def string_tag(s):
        u = [ord(c) for c in s]
        return array_data(4, "H", u)
    cal = []
    for d, (sc, un, org) in enumerate([(scale, "nm", 0.0), (scale, "nm", 0.0), (2.0, "deg", origin)][:len(dims)]):
        cal.append(entry("", group([entry("Origin", f32(org)), entry("Scale", f32(sc)), entry("Units", string_tag(un))]), True))
    image_data = group([
        entry("Calibrations", group([entry("Dimension", group(cal), True)]), True),
        entry("Data", array_data(elem_code, fmt, image_values)),
        entry("DataType", i32(dtype_code)),
        entry("Dimensions", group([entry("", tag_data(5, struct.pack("<I", d))) for d in dims]), True),
    ])
    image = group([entry("ImageData", image_data, True), entry("Name", string_tag("seed"))])
    root_group = group([entry("ImageList", group([entry("", image, True)]), True)])
    root = bytes([1, 0]) + root_group[2:] if False else root_group
    head = struct.pack(">I", version) + size(len(root) + 4 + 4) + struct.pack(">I", 1)
    return head + root + b"\0" * 8

vals = [float(i % 13) for i in range(4 * 3 * 2)]
out("dm", "float-3d.dm3", dm(3, vals, [4, 3, 2]))
out("dm", "float-3d.dm4", dm(4, vals, [4, 3, 2]))
out("dm", "u16-2d.dm3", dm(3, [int(v) for v in vals[:12]], [4, 3], fmt="H"))

# ---------------------------------------------------------------- IMOD text
out("imod", "angles.tlt", "".join("%6.2f\n" % a for a in range(-40, 42, 2)).encode())
out("imod", "shifts.xf", b"".join(b"%10.7f %10.7f %10.7f %10.7f %10.3f %10.3f\n" % (1, 0, 0, 1, i * 0.5, -i * 0.25) for i in range(5)))
out("imod", "rotations.xf", b"   0.9998477  -0.0174524   0.0174524   0.9998477      1.500     -2.250\n")

# ---------------------------------------------------------------- experiment.json
exp = {
    "format_version": 1, "title": "seed", "pixel_size_nm": 1.04,
    "time_points": [
        {"name": "tp01", "pt_time_s": 0, "temperature_C": 372, "tilts": "tp01/tilts.mrc", "angles": "tp01/angles.tlt"},
        {"name": "tp02", "pt_time_s": 5, "temperature_C": 370, "tilts": "tp02/tilts.mrc", "angles": "tp02/angles.tlt", "truth": "tp02/truth"},
    ],
    "reference": {"raw": "reference/raw.tif", "average": "reference/average50.tif"},
    "steps": {"denoise": {"psd": "g4", "variance": 137}},
}
out("experiment", "experiment.json", json.dumps(exp, indent=2).encode())
out("experiment", "minimal.json", json.dumps({"format_version": 1, "pixel_size_nm": 1, "time_points": [{"name": "a", "pt_time_s": 0, "tilts": "a.mrc"}]}).encode())
