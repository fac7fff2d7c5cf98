from __future__ import annotations

import gzip

import pytest

from llaso.features.retrieval.readers import DocumentError, iter_document_paths, read_document


def test_text_headings_lines_and_title(docs_dir):
    doc = read_document(docs_dir / "lighthouse.txt")
    assert doc.kind == "text" and doc.title == "The Harbour Lighthouse"
    first, second = doc.blocks
    assert first.heading == "The Harbour Lighthouse" and first.line == 4 and first.end_line == 5
    assert second.heading == "Keepers" and "Agnes Morrow" in second.text and second.line == 10


def test_markdown_sections(docs_dir):
    doc = read_document(docs_dir / "bakery.md")
    assert [b.heading for b in doc.blocks] == ["Sourdough at the Corner Bakery", "Opening hours"]
    assert doc.blocks[1].line == 8 and "Mondays" in doc.blocks[1].text


def test_html_skips_scripts_styles_and_navigation(docs_dir):
    doc = read_document(docs_dir / "garden.html")
    text = " ".join(b.text for b in doc.blocks)
    assert doc.title == "Community Garden"
    assert "forty raised beds" in text and "eight thousand litres" in text
    assert "secret" not in text and "color" not in text and "lighthouse" not in text
    assert doc.blocks[-1].heading == "Watering"


def test_gzip_is_read_through(tmp_path):
    path = tmp_path / "notes.txt.gz"
    path.write_bytes(gzip.compress(b"Compressed notes mention the harbour ferry timetable."))
    assert "ferry timetable" in read_document(path).blocks[0].text


@pytest.mark.parametrize("name,data,reason", [
    ("image.png", b"\x89PNG", "unsupported file type"),
    ("binary.txt", b"abc\x00\x01\x02", "looks binary"),
    ("broken.txt.gz", b"not gzip at all", "not a readable gzip"),
    ("broken.pdf", b"%PDF-1.4 garbage", "PDF"),
])
def test_bad_files_name_the_file_and_the_reason(tmp_path, name, data, reason):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(DocumentError, match=reason) as caught:
        read_document(path)
    assert str(path) in str(caught.value)


def test_too_large_file_is_refused(tmp_path):
    path = tmp_path / "big.txt"
    path.write_text("word " * 1000)
    with pytest.raises(DocumentError, match="limit"):
        read_document(path, max_bytes=100)


def test_folder_walk_skips_hidden_and_unknown(docs_dir):
    (docs_dir / ".hidden.txt").write_text("hidden")
    (docs_dir / "photo.jpg").write_bytes(b"\xff\xd8")
    assert sorted(p.name for p in iter_document_paths([docs_dir])) == ["bakery.md", "garden.html", "lighthouse.txt"]
    with pytest.raises(DocumentError, match="no such file"):
        list(iter_document_paths([docs_dir / "missing"]))


def test_pdf_pages(tmp_path):
    pypdf = pytest.importorskip("pypdf")
    # A one-page PDF with a text object, written by hand (no PDF writer needed).
    content = b"BT /F1 12 Tf 72 720 Td (The ferry leaves at noon from pier four.) Tj ET"
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    path = tmp_path / "ferry.pdf"
    path.write_bytes(bytes(out))
    assert pypdf  # imported for the skip
    doc = read_document(path)
    assert doc.kind == "pdf" and doc.blocks[0].page == 1 and "pier four" in doc.blocks[0].text


def test_lxml_and_standard_library_parsers_agree(docs_dir):
    from llaso.features.retrieval import readers

    pytest.importorskip("lxml")
    text = (docs_dir / "garden.html").read_text().replace(
        "</body>", "<p>After <!-- note --> the comment<br>and a break.</p></body>")
    fast, fast_title = readers._lxml_html_blocks(text)
    slow, slow_title = readers._stdlib_html_blocks(text)
    assert fast == slow and fast_title == slow_title == "Community Garden"
    assert fast[-2:] == [readers.Block("After the comment", "Watering"), readers.Block("and a break.", "Watering")]
