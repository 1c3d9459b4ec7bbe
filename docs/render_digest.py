"""Render docs/digest.png: the demo's digest as a phone shows it (390 CSS px wide), by
headless Chromium, as tests/test_digest_chromium.py renders the digest.

    .venv/bin/python docs/render_digest.py                    # docs/digest.png, 390 x 2400
    .venv/bin/python docs/render_digest.py --height 9000 --out /tmp/all.png --html /tmp/d.html

The demo's bundled feeds are served on a loopback port and run through the library's pipeline
(ingest, clustering, detection; no Prefect), then the digest the demo would mail is rendered
with a fixed date, so the picture changes only when the digest does. Needs Chromium
(`apt-get install chromium`).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from storywatch.config.config import load_config
from storywatch.demo import serve_demo_feeds, write_demo_config
from storywatch.pipeline.detect import detect_storyline
from storywatch.pipeline.digests import preview_digest
from storywatch.pipeline.ingest import ingest_once
from storywatch.store.repository import Store

PHONE_WIDTH = 390  # CSS px: an iPhone 12-15's viewport
DATE = datetime(2025, 5, 2, 7, 0, tzinfo=UTC)  # the day after the demo's last article
BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def demo_digest_html(folder: Path) -> str:
    """The HTML of the digest `storywatch demo` mails, dated ``DATE``."""
    with serve_demo_feeds() as base_url:
        config = load_config(write_demo_config(folder, base_url))
        store = Store.open(config.database_url)
        try:
            report = ingest_once(config, store, kind="demo", workers=1)
            for storyline in config.storylines:
                detect_storyline(config, storyline.id, store, run_id=report.run_id)
            return preview_digest(config, store, now=DATE).html
        finally:
            store.close()


def screenshot(page: Path, png: Path, width: int, height: int, profile: Path) -> None:
    browser = next((found for name in BROWSERS if (found := shutil.which(name))), None)
    if browser is None:
        sys.exit("no Chromium on PATH: apt-get install chromium")
    done = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            f"--user-data-dir={profile}",
            f"--window-size={width},{height}",
            f"--screenshot={png}",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0:
        sys.exit(done.stderr[-2000:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    here = Path(__file__).parent
    parser.add_argument("--out", type=Path, default=here / "digest.png")
    parser.add_argument("--width", type=int, default=PHONE_WIDTH)
    parser.add_argument("--height", type=int, default=2400)
    parser.add_argument("--html", type=Path, help="also keep the rendered HTML here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="storywatch-docs-") as tmp:
        folder = Path(tmp)
        page = folder / "digest.html"
        page.write_text(demo_digest_html(folder / "demo"), encoding="utf-8")
        if args.html:
            shutil.copyfile(page, args.html)
        screenshot(page, args.out.resolve(), args.width, args.height, folder / "profile")
    print(f"{args.out} ({args.width} x {args.height} CSS px)")


if __name__ == "__main__":
    main()
