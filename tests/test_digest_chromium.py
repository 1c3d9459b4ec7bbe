"""The digest's HTML rendered by a real browser engine: headless Chromium (Debian's
`chromium`, installed by .ci/run) screenshots it; the page must paint, log nothing to the
console, and fit a phone's width (390 and 320 CSS px) without scrolling sideways
(docs/render_digest.py renders docs/digest.png the same way). Skips with the reason when no
Chromium is installed."""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from storywatch.digest.render import render_digest
from tests.test_digest import fixed_digest
from tests.test_digest_size import rendered

BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def chromium() -> str:
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("no headless Chromium (apt-get install chromium; .ci/run installs it)")


def screenshot(page: Path, png: Path, profile: Path, size: tuple[int, int] = (700, 1400)) -> str:
    """Render ``page`` to ``png`` at ``size`` (CSS px); return Chromium's log."""
    done = subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",  # CI runs as root
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            f"--user-data-dir={profile}",
            f"--window-size={size[0]},{size[1]}",
            "--enable-logging=stderr",
            "--v=0",
            f"--screenshot={png}",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stderr


def console_messages(log: str) -> list[str]:
    return [line for line in log.splitlines() if ":CONSOLE" in line]


def png_pixels(png: Path) -> tuple[int, int, bytes]:
    """Width, height and the decompressed scanlines of a PNG (no imaging library needed)."""
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    chunks, offset = [], 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        if kind == b"IDAT":
            chunks.append(data[offset + 8 : offset + 8 + length])
        offset += 12 + length
    return width, height, zlib.decompress(b"".join(chunks))


def test_digest_html_renders_in_chromium_without_console_errors(tmp_path: Path) -> None:
    page = tmp_path / "digest.html"
    page.write_text(render_digest(fixed_digest()).html, encoding="utf-8")
    png = tmp_path / "digest.png"
    log = screenshot(page, png, tmp_path / "profile")
    assert console_messages(log) == []
    width, height, pixels = png_pixels(png)
    assert (width, height) == (700, 1400)
    assert len(set(pixels)) > 16  # painted text and colours, not a blank page


def test_the_console_check_does_catch_errors(tmp_path: Path) -> None:
    page = tmp_path / "bad.html"
    page.write_text("<p>x</p><script>missingFunction()</script>", encoding="utf-8")
    log = screenshot(page, tmp_path / "bad.png", tmp_path / "profile")
    assert any("missingFunction" in line for line in console_messages(log))


def pixel(png: Path, x: int, y: int) -> tuple[int, ...]:
    """The colour at (x, y) of an 8-bit RGB or RGBA PNG, its rows unfiltered."""
    width, _, data = png_pixels(png)
    depth = {2: 3, 6: 4}[png.read_bytes()[25]]
    stride, previous, offset = width * depth, bytearray(width * depth), 0
    for _ in range(y + 1):
        kind, row = data[offset], bytearray(data[offset + 1 : offset + 1 + stride])
        offset += 1 + stride
        for i in range(stride):
            left = row[i - depth] if i >= depth else 0
            up, corner = previous[i], previous[i - depth] if i >= depth else 0
            if kind == 1:
                row[i] = (row[i] + left) & 255
            elif kind == 2:
                row[i] = (row[i] + up) & 255
            elif kind == 3:
                row[i] = (row[i] + (left + up) // 2) & 255
            elif kind == 4:
                guess = left + up - corner
                near = min((abs(guess - v), n, v) for n, v in enumerate((left, up, corner)))
                row[i] = (row[i] + near[2]) & 255
        previous = row
    return tuple(previous[x * depth : x * depth + 3])


# Paints a box at the top left: red when the page is wider than the window (a phone would
# scroll sideways), green when it fits.
OVERFLOW_PROBE = """<script>
var wide = document.documentElement.scrollWidth > window.innerWidth;
var box = document.createElement("div");
box.style.cssText = "position:fixed;top:0;left:0;width:40px;height:40px;z-index:9;background:"
  + (wide ? "#ff0000" : "#00ff00");
document.body.appendChild(box);
</script></body>"""


@pytest.mark.parametrize("width", [390, 320])
def test_the_digest_fits_a_phone_without_scrolling_sideways(tmp_path: Path, width: int) -> None:
    page = tmp_path / "digest.html"
    html = rendered(15).html  # full blocks, the summary and compact blocks
    page.write_text(html.replace("</body>", OVERFLOW_PROBE), encoding="utf-8")
    png = tmp_path / "phone.png"
    screenshot(page, png, tmp_path / "profile", (width, 800))
    assert png_pixels(png)[:2] == (width, 800)
    assert pixel(png, 5, 5) == (0, 255, 0)  # red: wider than the phone


def test_the_overflow_probe_does_catch_a_page_too_wide(tmp_path: Path) -> None:
    page = tmp_path / "wide.html"
    page.write_text(f"<body><div style='width:600px'>x</div>{OVERFLOW_PROBE}", encoding="utf-8")
    png = tmp_path / "wide.png"
    screenshot(page, png, tmp_path / "profile", (390, 400))
    assert pixel(png, 5, 5) == (255, 0, 0)
