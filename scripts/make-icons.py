#!/usr/bin/env python3
"""Draws the app and tray icons (RGBA PNG, plus icon.ico for Windows and icon.icns for macOS)
with the standard library only, from one drawing.

App icon: a purple rounded square with a white "play" triangle and a small broadcast dot.
Tray icons (32 px, plus @2x): a disc whose colour tells the state -
grey offline, blue OBS connected, red live, amber trouble (with a white "!").
Run: python3 scripts/make-icons.py  (writes into icons/)
"""
import os
import struct
import zlib

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "icons")
SS = 4  # supersampling per axis


def png(path, size, pixel):
    data = png_bytes(size, pixel)
    with open(path, "wb") as f:
        f.write(data)
    return data


def png_bytes(size, pixel):
    rows = []
    for y in range(size):
        row = bytearray([0])
        for x in range(size):
            acc = [0.0, 0.0, 0.0, 0.0]
            for sy in range(SS):
                for sx in range(SS):
                    u = (x + (sx + 0.5) / SS) / size
                    v = (y + (sy + 0.5) / SS) / size
                    r, g, b, a = pixel(u, v)
                    acc[0] += r * a
                    acc[1] += g * a
                    acc[2] += b * a
                    acc[3] += a
            n = SS * SS
            alpha = acc[3] / n
            if alpha > 0:
                rgb = [min(255, int(round(c / acc[3]))) for c in acc[:3]]
            else:
                rgb = [0, 0, 0]
            row += bytes(rgb + [int(round(alpha * 255))])
        rows.append(bytes(row))
    raw = b"".join(rows)

    def chunk(kind, data):
        c = struct.pack(">I", len(data)) + kind + data
        return c + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def ico(path, images):
    """Windows .ico holding PNG images (Vista and later), `images` = [(size, png bytes)]."""
    header = struct.pack("<HHH", 0, 1, len(images))
    offset = 6 + 16 * len(images)
    entries, blobs = b"", b""
    for size, data in images:
        dim = 0 if size >= 256 else size  # 0 means 256
        entries += struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(data), offset + len(blobs))
        blobs += data
    with open(path, "wb") as f:
        f.write(header + entries + blobs)


# macOS .icns element types holding PNG data, by pixel size.
ICNS_TYPES = [(16, b"icp4"), (32, b"icp5"), (64, b"icp6"), (128, b"ic07"), (256, b"ic08"), (512, b"ic09"), (1024, b"ic10")]


def icns(path, images):
    """macOS .icns: an 'icns' header then (type, length, PNG) elements; `images` = {size: png}."""
    body = b""
    for size, kind in ICNS_TYPES:
        if size in images:
            body += kind + struct.pack(">I", 8 + len(images[size])) + images[size]
    with open(path, "wb") as f:
        f.write(b"icns" + struct.pack(">I", 8 + len(body)) + body)


def in_rounded_square(u, v, radius=0.22, margin=0.04):
    lo, hi = margin, 1 - margin
    if not (lo <= u <= hi and lo <= v <= hi):
        return False
    cx = min(max(u, lo + radius), hi - radius)
    cy = min(max(v, lo + radius), hi - radius)
    return (u - cx) ** 2 + (v - cy) ** 2 <= radius ** 2


def in_triangle(u, v, x0=0.36, x1=0.72, y0=0.28, y1=0.72):
    if u < x0 or u > x1:
        return False
    half = (y1 - y0) / 2 * (1 - (u - x0) / (x1 - x0))
    mid = (y0 + y1) / 2
    return abs(v - mid) <= half


def app_pixel(u, v):
    if not in_rounded_square(u, v):
        return (0, 0, 0, 0.0)
    if in_triangle(u, v):
        return (255, 255, 255, 1.0)
    if (u - 0.78) ** 2 + (v - 0.22) ** 2 <= 0.07 ** 2:
        return (255, 80, 80, 1.0)
    # vertical gradient, violet to indigo
    t = v
    return (int(124 - 40 * t), int(58 + 10 * t), int(237 - 30 * t), 1.0)


def tray_pixel(color, mark):
    def pixel(u, v):
        d2 = (u - 0.5) ** 2 + (v - 0.5) ** 2
        if d2 > 0.46 ** 2:
            return (0, 0, 0, 0.0)
        if mark == "play" and in_triangle(u, v, 0.38, 0.7, 0.3, 0.7):
            return (255, 255, 255, 1.0)
        if mark == "bang" and ((abs(u - 0.5) < 0.07 and 0.22 < v < 0.6) or (u - 0.5) ** 2 + (v - 0.74) ** 2 < 0.075 ** 2):
            return (255, 255, 255, 1.0)
        if mark == "ring" and 0.16 ** 2 < d2 < 0.26 ** 2:
            return (255, 255, 255, 1.0)
        if mark == "dot" and d2 < 0.14 ** 2:
            return (255, 255, 255, 1.0)
        return color + (1.0,)
    return pixel


TRAY = {
    "offline": ((120, 120, 128), "ring"),
    "obs": ((37, 99, 235), "dot"),
    "live": ((220, 38, 38), "play"),
    "trouble": ((217, 119, 6), "bang"),
}


def main():
    os.makedirs(OUT, exist_ok=True)
    sizes = {}
    for name, size in [("32x32.png", 32), ("128x128.png", 128), ("128x128@2x.png", 256), ("icon.png", 512)]:
        sizes[size] = png(os.path.join(OUT, name), size, app_pixel)
    for size in (16, 24, 48, 64, 1024):
        sizes[size] = png_bytes(size, app_pixel)
    # Windows wants 16, 24, 32, 48, 64 and 256 in the .ico (taskbar, title bar, Explorer).
    ico(os.path.join(OUT, "icon.ico"), [(s, sizes[s]) for s in (16, 24, 32, 48, 64, 256)])
    icns(os.path.join(OUT, "icon.icns"), sizes)
    for state, (color, mark) in TRAY.items():
        png(os.path.join(OUT, f"tray-{state}.png"), 32, tray_pixel(color, mark))
        png(os.path.join(OUT, f"tray-{state}@2x.png"), 64, tray_pixel(color, mark))


if __name__ == "__main__":
    main()
