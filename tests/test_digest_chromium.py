"""The digest's HTML rendered by a real browser engine: headless Chromium (Debian's
`chromium`, installed by .ci/run) screenshots it; the page must paint and log nothing to the
console. Skips with the reason when no Chromium is installed."""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from storywatch.digest.render import render_digest
from tests.test_digest import fixed_digest

BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def chromium() -> str:
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("no headless Chromium (apt-get install chromium; .ci/run installs it)")


def screenshot(page: Path, png: Path, profile: Path) -> str:
    """Render ``page`` to ``png`` at a phone-to-desktop width; return Chromium's log."""
    done = subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",  # CI runs as root
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            f"--user-data-dir={profile}",
            "--window-size=700,1400",
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
