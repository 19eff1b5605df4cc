"""Cut the official wc/v3 documentation down to the sections the WooCommerce tests read.

Run by hand when a test starts reading another section::

    .venv/bin/python tools/reference/cut_woocommerce_docs.py [--reference DIR]

``DIR`` holds ``woocommerce/*.md`` (default: the ``shared/reference`` folder
beside the repository). Each slice in ``tests/reference/woocommerce`` keeps its file's
title line and the ``## ... ##`` sections listed in ``SECTIONS``, each copied line for
line from its heading to the next ``##`` heading, in the file's order.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HERE = REPO / "tests" / "reference"  # where the slices live
SLICES = HERE / "woocommerce"
#: file → the sections the tests read (tests/plugins/woocommerce/test_woo_*.py).
SECTIONS = {
    "authentication.md": ["## Authentication over HTTP ##"],  # the signature base string
    "orders.md": ["## Retrieve an order ##"],
    "products.md": ["## Retrieve a product ##"],
    "product-variations.md": ["## Retrieve a product variation ##"],
}


def sections(text: str, headings: Sequence[str]) -> str:
    """The title line and each of ``headings``' sections, verbatim."""
    lines = text.splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if line.startswith("## ")]
    kept = [lines[0], "\n"]
    for heading in headings:
        begin = next((i for i in starts if lines[i].rstrip("\n") == heading), None)
        if begin is None:
            raise SystemExit(f"no section {heading!r}")
        end = next((i for i in starts if i > begin), len(lines))
        kept.extend(lines[begin:end])
    return "".join(kept)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--reference",
        type=Path,
        default=REPO.parent / "shared/reference",
        help="folder holding woocommerce/*.md "
        "(default: the shared/reference folder beside the repository)",
    )
    args = parser.parse_args(argv)
    SLICES.mkdir(exist_ok=True)
    for name, headings in SECTIONS.items():
        source = args.reference / "woocommerce" / name
        if not source.is_file():
            sys.exit(f"no documentation at {source}: pass --reference DIR")
        cut = sections(source.read_text(), headings)
        (SLICES / name).write_text(cut)
        print(f"wrote {name}: {len(cut):,} characters of {source.stat().st_size:,}")


if __name__ == "__main__":
    main()
