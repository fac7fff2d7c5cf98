"""Streamed text pieces: never taken back, cut at stop strings, adding up to the answer."""

from __future__ import annotations

from llaso.serve.textstream import TextStream, cut_at_stop, held_back


def _stream(steps: list[str], stops: tuple[str, ...] = ()) -> tuple[list[str], str, bool]:
    stream = TextStream(stops)
    pieces, hit = [], False
    for text in steps:
        piece, hit = stream.update(text)
        pieces.append(piece)
        if hit:
            break
    pieces.append(stream.finish())
    return [p for p in pieces if p], stream.answer, hit


def test_pieces_add_up_to_the_stripped_answer() -> None:
    pieces, answer, hit = _stream([" Hel", " Hello", " Hello wor", " Hello world ", " Hello world \n"])
    assert "".join(pieces) == answer == "Hello world" and not hit
    assert pieces[0] == "Hel"  # leading space dropped, trailing space held until more text


def test_stop_string_is_never_sent_even_in_part() -> None:
    pieces, answer, hit = _stream(["The cat", "The cat sa", "The cat sat.", "The cat sat. END", "The cat sat. END more"],
                                  stops=("END",))
    assert hit and answer == "The cat sat." and "".join(pieces) == answer
    assert all("E" not in p for p in pieces)


def test_half_decoded_characters_wait() -> None:
    pieces, answer, _ = _stream(["caf\ufffd", "café", "café!"])
    assert pieces == ["caf", "é", "!"] and answer == "café!"  # never a replacement character


def test_helpers() -> None:
    assert cut_at_stop("a STOP b STOP", ("STOP",)) == ("a ", True)
    assert cut_at_stop("abc", ("x", "")) == ("abc", False)
    assert held_back("hello ST", ("STOP",)) == 2
    assert held_back("hello", ("STOP",)) == 0
