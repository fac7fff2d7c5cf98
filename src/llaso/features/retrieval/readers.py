"""Reading the user's documents into blocks of plain text that remember where they came from.

Text and Markdown are read with the standard library, HTML with lxml (the `retrieval`
extra; the standard library's slower parser otherwise), PDF with `pypdf` (same extra). A `.gz` suffix on any of them is decompressed first (Debian ships its
documentation that way). Each block keeps its section heading and its line (text,
Markdown) or page (PDF), which is what a citation prints.
"""

from __future__ import annotations

import gzip
import io
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from llaso.errors import LlasoError

TEXT_SUFFIXES = (".txt", ".text", ".rst")
MARKDOWN_SUFFIXES = (".md", ".markdown")
HTML_SUFFIXES = (".html", ".htm", ".xhtml")
PDF_SUFFIXES = (".pdf",)
SUPPORTED_SUFFIXES = TEXT_SUFFIXES + MARKDOWN_SUFFIXES + HTML_SUFFIXES + PDF_SUFFIXES
DEFAULT_MAX_BYTES = 64 * 1024 * 1024


class DocumentError(LlasoError, ValueError):
    """A document that cannot be read; names the file and the reason."""

    def __init__(self, path: str | os.PathLike, reason: str) -> None:
        self.path = os.fspath(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


@dataclass
class Block:
    """A paragraph of a document. `line` is 1-based in the source (text, Markdown), `page`
    1-based (PDF); HTML has neither, only its heading."""

    text: str
    heading: str | None = None
    line: int | None = None
    end_line: int | None = None
    page: int | None = None


@dataclass
class Document:
    path: str
    kind: str  # "text", "markdown", "html", "pdf"
    title: str | None
    blocks: list[Block] = field(default_factory=list)


def document_kind(path: str | os.PathLike) -> str | None:
    """The reader for `path` by its suffix (".gz" looked through), or None."""
    name = os.fspath(path).lower()
    if name.endswith(".gz"):
        name = name[:-3]
    for kind, suffixes in (("text", TEXT_SUFFIXES), ("markdown", MARKDOWN_SUFFIXES),
                           ("html", HTML_SUFFIXES), ("pdf", PDF_SUFFIXES)):
        if name.endswith(suffixes):
            return kind
    return None


def iter_document_paths(paths: Iterable[str | os.PathLike]) -> Iterator[Path]:
    """Files to index: each file given, and the readable files under each folder (sorted;
    hidden files and folders skipped). A path that does not exist is an error."""
    for item in paths:
        path = Path(item).expanduser()
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if not name.startswith(".") and document_kind(name) is not None:
                        yield Path(root) / name
        elif path.is_file():
            yield path
        else:
            raise DocumentError(path, "no such file or folder")


def read_bytes(path: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise DocumentError(path, f"file is {size / 2**20:.1f} MiB; the limit is "
                                      f"{max_bytes / 2**20:.0f} MiB (pass a larger max_bytes to read it)")
        data = path.read_bytes()
    except OSError as exc:
        raise DocumentError(path, exc.strerror or str(exc)) from None
    if path.name.lower().endswith(".gz"):
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as handle:
                data = handle.read(max_bytes + 1)
        except (OSError, EOFError) as exc:
            raise DocumentError(path, f"not a readable gzip file ({exc})") from None
        if len(data) > max_bytes:
            raise DocumentError(path, f"decompresses to more than {max_bytes / 2**20:.0f} MiB")
    return data


def decode_text(data: bytes, path: Path) -> str:
    """UTF-8 (with or without BOM), else UTF-16 with a BOM, else Latin-1; binary is refused."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    if b"\x00" in data[:8192]:
        raise DocumentError(path, "looks binary (NUL bytes), not a text document")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def read_document(path: str | os.PathLike, max_bytes: int = DEFAULT_MAX_BYTES) -> Document:
    """Read one file into blocks; raises DocumentError naming the file and the reason."""
    path = Path(path)
    kind = document_kind(path)
    if kind is None:
        raise DocumentError(path, f"unsupported file type; readable: {', '.join(SUPPORTED_SUFFIXES)} "
                                  "(optionally .gz)")
    data = read_bytes(path, max_bytes)
    if kind == "pdf":
        blocks, title = _pdf_blocks(data, path)
    else:
        text = decode_text(data, path)
        if kind == "html":
            blocks, title = _html_blocks(text)
        elif kind == "markdown":
            blocks, title = _markdown_blocks(text)
        else:
            blocks, title = _text_blocks(text)
    return Document(path=os.fspath(path), kind=kind, title=title, blocks=[b for b in blocks if b.text.strip()])


# -- plain text and Markdown --------------------------------------------------------------

def _paragraphs(text: str) -> Iterator[tuple[int, int, list[str]]]:
    """(first line, last line, lines) of each run of non-blank lines; lines are 1-based."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    start, run = None, []
    for number, line in enumerate(lines, 1):
        if line.strip():
            if start is None:
                start = number
            run.append(line)
        elif run:
            yield start, number - 1, run
            start, run = None, []
    if run:
        yield start, len(lines), run


_UNDERLINE = re.compile(r"^\s*([=\-~^*#])\1{2,}\s*$")
_NUMBERED_TITLE = re.compile(r"^\s*(?:chapter\s+)?\d+(?:\.\d+)*\.?\s+\S", re.IGNORECASE)


def _looks_like_title(lines: list[str]) -> bool:
    """Numbered ("1.2. What is ...?", up to three lines), or one short line; neither ends
    with . , ; or : (a list item or a sentence does)."""
    joined = " ".join(x.strip() for x in lines)
    if not joined or len(joined) > 240 or joined[-1] in ".,;:":
        return False
    if _NUMBERED_TITLE.match(joined):
        return True
    return len(lines) == 1 and len(joined) <= 90 and len(joined.split()) <= 12 and joined[0].isupper()


def _text_blocks(text: str) -> tuple[list[Block], str | None]:
    """Paragraphs separated by blank lines. A paragraph that reads like a title (one short
    line without closing punctuation, or up to three lines numbered like "1.2. What is ...?")
    or is underlined (===, ---) becomes the heading of what follows."""
    blocks: list[Block] = []
    heading = title = None
    for first, last, lines in _paragraphs(text):
        if len(lines) == 2 and _UNDERLINE.match(lines[1]):
            heading = lines[0].strip()
        elif len(lines) <= 3 and _looks_like_title(lines):
            heading = " ".join(x.strip() for x in lines)
        else:
            body = [x for x in lines if not _UNDERLINE.match(x)]
            blocks.append(Block(" ".join(x.strip() for x in body), heading, first, last))
            continue
        title = title or heading
    return blocks, title


_MD_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")


def _markdown_blocks(text: str) -> tuple[list[Block], str | None]:
    """Paragraphs; ATX (`# Title`) and setext (underlined) headings set the section."""
    blocks: list[Block] = []
    heading = title = None
    for first, last, lines in _paragraphs(text):
        body: list[str] = []
        body_first = first
        for offset, line in enumerate(lines):
            match = _MD_HEADING.match(line)
            setext = offset + 1 < len(lines) and re.match(r"^\s*(=+|-+)\s*$", lines[offset + 1]) and line.strip()
            if match or setext:
                if body:
                    blocks.append(Block(" ".join(body), heading, body_first, first + offset - 1))
                    body = []
                heading = (match.group(2) if match else line).strip()
                title = title or heading
                body_first = first + offset + (1 if match else 2)
            elif re.match(r"^\s*(=+|-+)\s*$", line) and offset > 0 and lines[offset - 1].strip():
                continue  # a setext underline, handled with its line
            else:
                body.append(line.strip())
        if body:
            blocks.append(Block(" ".join(body), heading, body_first, last))
    return blocks, title


# -- HTML ---------------------------------------------------------------------------------

_BLOCK_TAGS = frozenset("""address article aside blockquote br dd details div dl dt fieldset
figcaption figure footer form header hr li main nav ol p pre section summary table tbody td
tfoot th thead tr ul""".split())
_SKIP_TAGS = frozenset({"script", "style", "noscript", "template", "svg", "head", "nav"})
_VOID_TAGS = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link",
                        "meta", "source", "track", "wbr"})
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
# Page furniture by class (DocBook, Sphinx and common site themes): navigation bars, tables
# of contents and sidebars repeat every page's headings and would crowd out real passages.
_SKIP_CLASSES = frozenset({"toc", "navheader", "navfooter", "sphinxsidebar", "related",
                           "breadcrumb", "breadcrumbs", "sidebar", "navigation", "menu",
                           "headerlink", "skip-link", "list-of-tables", "list-of-figures"})


class _BlockSink:
    """Collects visible text into blocks; a heading's text becomes the heading of what follows."""

    def __init__(self) -> None:
        self.blocks: list[Block] = []
        self.heading: str | None = None
        self.in_heading = False
        self._parts: list[str] = []

    def text(self, data: str | None) -> None:
        if data:
            self._parts.append(data)

    def flush(self) -> None:
        text = " ".join("".join(self._parts).split())
        self._parts = []
        if not text:
            return
        if self.in_heading:
            self.heading = text
        else:
            self.blocks.append(Block(text, self.heading))

    def start(self, tag: str) -> None:
        if tag in _HEADINGS:
            self.flush()
            self.in_heading = True
        elif tag in _BLOCK_TAGS:
            self.flush()

    def end(self, tag: str) -> None:
        if tag in _HEADINGS and self.in_heading:
            self.flush()
            self.in_heading = False
        elif tag in _BLOCK_TAGS:
            self.flush()


def _hides(tag: str, classes: str | None) -> bool:
    return tag in _SKIP_TAGS or bool(set((classes or "").split()) & _SKIP_CLASSES)


class _HTMLText(HTMLParser):
    """The standard library's parser feeding a _BlockSink (used when lxml is missing)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.sink = _BlockSink()
        self.title: str | None = None
        self._stack: list[tuple[str, bool]] = []  # open tags and whether each hides its text
        self._skipping = 0
        self._in_title = False
        self._title_parts: list[str] = []

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag == "title":
            self._in_title = True
        if not self._skipping:
            self.sink.start(tag)
        if tag in _VOID_TAGS:
            return
        hides = _hides(tag, dict(attrs).get("class"))
        self._stack.append((tag, hides))
        self._skipping += hides

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
            self.title = " ".join("".join(self._title_parts).split()) or None
        if any(open_tag == tag for open_tag, _ in self._stack):  # close it and anything left open inside
            while self._stack:
                open_tag, hides = self._stack.pop()
                self._skipping -= hides
                if open_tag == tag:
                    break
        if not self._skipping:
            self.sink.end(tag)

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self._title_parts.append(data)
        elif not self._skipping:
            self.sink.text(data)


def _stdlib_html_blocks(text: str) -> tuple[list[Block], str | None]:
    parser = _HTMLText()
    parser.feed(text)
    parser.close()
    parser.sink.flush()
    return parser.sink.blocks, parser.title


def _lxml_html_blocks(text: str) -> tuple[list[Block], str | None]:
    """lxml (libxml2) builds the tree about 50 times faster than html.parser."""
    import lxml.etree
    import lxml.html

    try:
        root = lxml.html.document_fromstring(text.encode("utf-8"), parser=lxml.html.HTMLParser(encoding="utf-8"))
    except (lxml.etree.ParserError, ValueError):
        return [], None  # an empty or markup-free page
    title_element = root.find(".//title")
    title = " ".join(title_element.text_content().split()) or None if title_element is not None else None
    sink = _BlockSink()
    walker = lxml.etree.iterwalk(root, events=("start", "end", "comment", "pi"))
    for event, element in walker:
        if event in ("comment", "pi"):
            sink.text(element.tail)
        elif event == "start":
            tag = element.tag if isinstance(element.tag, str) else ""
            if _hides(tag, element.get("class")):
                walker.skip_subtree()
                continue
            sink.start(tag)
            sink.text(element.text)
        else:
            tag = element.tag if isinstance(element.tag, str) else ""
            if not _hides(tag, element.get("class")):
                sink.end(tag)
            sink.text(element.tail)
    sink.flush()
    return sink.blocks, title


def _html_blocks(text: str) -> tuple[list[Block], str | None]:
    try:
        import lxml.html  # noqa: F401
    except ImportError:
        blocks, title = _stdlib_html_blocks(text)
    else:
        blocks, title = _lxml_html_blocks(text)
    first_heading = next((b.heading for b in blocks if b.heading), None)
    return blocks, title or first_heading


# -- PDF ----------------------------------------------------------------------------------

def _pdf_blocks(data: bytes, path: Path) -> tuple[list[Block], str | None]:
    try:
        from pypdf import PdfReader
        from pypdf.errors import PdfReadError
    except ImportError:
        raise DocumentError(path, "reading PDF needs pypdf: pip install 'llaso[retrieval]'") from None
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise DocumentError(path, "the PDF is encrypted")
        pages = [page.extract_text() or "" for page in reader.pages]
        meta_title = (reader.metadata or {}).get("/Title") if reader.metadata else None
    except DocumentError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise DocumentError(path, f"not a readable PDF ({exc})") from None
    blocks: list[Block] = []
    for number, page_text in enumerate(pages, 1):
        for _, _, lines in _paragraphs(page_text):
            blocks.append(Block(" ".join(x.strip() for x in lines), None, page=number))
    if not any(b.text.strip() for b in blocks):
        raise DocumentError(path, "the PDF has no extractable text (scanned images need OCR first)")
    return blocks, str(meta_title) if meta_title else None
