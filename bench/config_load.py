"""Config loading at scale: `load_config` on a generated sources.yaml of 2,000 sources, with
PyYAML's libyaml-backed CSafeLoader (what storywatch uses when PyYAML was built with it) and,
in the same process as a baseline, PyYAML's pure-Python SafeLoader. Every flow, task and CLI
command that opens the config pays this.

    python bench/config_load.py [--sources 2000] [--repeat 5]

Not a test: figures go to bench/RESULTS.md by hand.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import storywatch.config.config as config_module  # noqa: E402


def write_config(folder: Path, sources: int) -> Path:
    (folder / "seeds").mkdir()
    shutil.copy(ROOT / "seeds" / "ukraine-peace-talks.md", folder / "seeds" / "talks.md")
    data = {
        "storylines": [{"id": "talks", "title": "Talks", "seed": "seeds/talks.md"}],
        "sources": [
            {"name": f"Feed {n}", "url": f"http://127.0.0.1:8000/feeds/{n}.xml"}
            for n in range(sources)
        ],
        "digest": {"from": "storywatch@example.org", "to": ["desk@example.org"]},
    }
    path = folder / "sources.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def median_load(path: Path, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        config_module.load_config(path)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sources", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = write_config(Path(folder), args.sources)
        used = config_module._YAML_LOADER
        fast = median_load(path, args.repeat)
        config_module._YAML_LOADER = yaml.SafeLoader
        slow = median_load(path, args.repeat)
        config_module._YAML_LOADER = used
    print(f"load_config, {args.sources} sources, median of {args.repeat}:")
    print(f"  {used.__name__:<12} {fast:.3f} s")
    print(f"  {'SafeLoader':<12} {slow:.3f} s  (pure Python, baseline)")
    print(f"  ratio {fast / slow:.2f}")


if __name__ == "__main__":
    main()
