"""Stream records out of a JSON array or JSON Lines file without loading it whole.

A 1 GB LLaSO file must validate in constant memory, and one broken record must not hide the
rest: the reader decodes one record at a time from a sliding text window
(`json.JSONDecoder.raw_decode`), and after a syntax error it resynchronises at the next line
that starts a record at the same indentation as the first one. Every problem comes back as a
located `RawRecord` with `error` set; nothing is skipped without a record saying so.
"""

from __future__ import annotations

import codecs
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_WHITESPACE = " \t\r\n\ufeff"
_CHUNK_CHARS = 1 << 20


@dataclass
class RawRecord:
    """One decoded record (`value`) or one problem (`error`), with where it sits in the file."""

    index: int  # record number in the file (0-based), counting broken records too
    line: int  # 1-based line where the record starts
    value: Any = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class _Window:
    """A growing/shrinking text window over a UTF-8 file with a running line count."""

    def __init__(self, path: Path, chunk_chars: int) -> None:
        self._file = open(path, "rb")  # noqa: SIM115 - closed in close()
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._chunk = chunk_chars
        self.buf = ""
        self.pos = 0
        self.eof = False
        self.line = 1  # line number at self.pos
        self._line_pos = 0  # position up to which newlines are counted

    def close(self) -> None:
        self._file.close()

    def more(self) -> bool:
        """Append the next chunk; False at end of file."""
        if self.eof:
            return False
        data = self._file.read(self._chunk)
        if not data:
            self.buf += self._decoder.decode(b"", final=True)
            self.eof = True
            return False
        if self.pos > self._chunk:  # drop what was consumed, keep offsets consistent
            self._count_lines(self.pos)
            self.buf = self.buf[self.pos :]
            self._line_pos -= self.pos
            self.pos = 0
        self.buf += self._decoder.decode(data)
        return True

    def _count_lines(self, upto: int) -> None:
        if upto > self._line_pos:
            self.line += self.buf.count("\n", self._line_pos, upto)
            self._line_pos = upto

    def line_at(self, position: int) -> int:
        self._count_lines(position)
        return self.line

    def skip_whitespace(self) -> bool:
        """Advance past whitespace; False when the file ends first."""
        while True:
            while self.pos < len(self.buf) and self.buf[self.pos] in _WHITESPACE:
                self.pos += 1
            if self.pos < len(self.buf):
                return True
            if not self.more():
                return False


def _needs_more(error: json.JSONDecodeError, window: _Window) -> bool:
    """True when the error may only mean the window ends mid-record (a cut string, number,
    literal or escape); reading more then either completes the record or moves the error
    away from the window's end."""
    if window.eof:
        return False
    return error.pos >= len(window.buf) - 16 or error.msg.startswith("Unterminated string")


def _record_indent(window: _Window, start: int) -> str | None:
    """The whitespace before the first record on its line, or None if it shares the line."""
    line_start = window.buf.rfind("\n", 0, start) + 1
    prefix = window.buf[line_start:start]
    if prefix.strip(" \t\ufeff") == "":
        return prefix.replace("\ufeff", "")
    return None


def scan_records(path: str | os.PathLike, *, chunk_chars: int = _CHUNK_CHARS) -> Iterator[RawRecord]:
    """Yield every record of a JSON array / JSON Lines / concatenated-JSON file in order.

    Syntax errors are yielded as records with `error` (the reason and line) and reading
    resumes at the next record boundary; a file that cannot be resynchronised yields one
    final error saying how much was left unread.
    """
    path = Path(path)
    window = _Window(path, chunk_chars)
    decoder = json.JSONDecoder()
    index = 0
    try:
        if not window.skip_whitespace():
            yield RawRecord(0, 1, error="empty file (no JSON records)")
            return
        is_array = window.buf[window.pos] == "["
        if is_array:
            window.pos += 1
        indent: str | None = None
        first = True
        lines_mode: bool | None = None  # JSON Lines: after damage, resume at the very next line
        while True:
            if not window.skip_whitespace():
                if is_array:
                    yield RawRecord(index, window.line_at(window.pos),
                                    error="truncated file: the JSON array is not closed with ']'")
                return
            char = window.buf[window.pos]
            if is_array and char == "]":
                window.pos += 1
                if window.skip_whitespace():
                    yield RawRecord(index, window.line_at(window.pos),
                                    error="extra data after the closing ']' of the JSON array")
                return
            if is_array and char == "," and not first:
                window.pos += 1
                if not window.skip_whitespace():
                    yield RawRecord(index, window.line_at(window.pos),
                                    error="truncated file: the JSON array is not closed with ']'")
                    return
            start = window.pos
            if first:
                indent = _record_indent(window, start)
                first = False
            line = window.line_at(start)
            try:
                value, end = decoder.raw_decode(window.buf, start)
            except json.JSONDecodeError as exc:
                if _needs_more(exc, window) and window.more():
                    continue
                reason = exc.msg
                if window.eof and exc.pos >= len(window.buf) - 1:
                    reason = f"truncated record ({exc.msg})"
                err_line = window.line_at(max(exc.pos, start))
                yield RawRecord(index, line, error=f"invalid JSON at line {err_line}: {reason}")
                index += 1
                resume = _find_resync(window, start, "" if lines_mode else indent, any_line=bool(lines_mode))
                if resume is None and indent is not None:
                    return  # no later record start: the broken record runs to the end
                if resume is None:
                    rest = len(window.buf) - start
                    if not window.eof:
                        rest_bytes = os.path.getsize(path) - window._file.tell()
                        rest_text = f"{rest} characters plus {rest_bytes} bytes"
                    else:
                        rest_text = f"{rest} characters"
                    if window.buf[start:].strip(_WHITESPACE + "]"):
                        yield RawRecord(index, line,
                                        error=f"could not find the next record after line {line}; "
                                              f"{rest_text} left unread")
                    return
                window.pos = resume
                continue
            if lines_mode is None:  # the first record: JSON Lines when it sits on one line
                lines_mode = not is_array and "\n" not in window.buf[start:end]
            window.pos = end
            yield RawRecord(index, line, value=value)
            index += 1
    finally:
        window.close()


def _find_resync(window: _Window, start: int, indent: str | None, any_line: bool = False) -> int | None:
    """Position of the next record start after a broken record, reading more if needed.

    `start` is window.pos (the broken record); positions are kept relative to window.pos
    because reading more may drop the consumed prefix of the buffer. In JSON Lines
    (`any_line`) every line is a record, whatever it opens with.
    """
    if indent is None:
        return None
    marker = "\n" if any_line else "\n" + indent + "{"
    relative = start + 1 - window.pos
    while True:
        found = window.buf.find(marker, window.pos + relative)
        if found >= 0:
            return found + 1 + (0 if any_line else len(indent))
        relative = max(relative, len(window.buf) - len(marker) - window.pos)
        if not window.more():
            return None
