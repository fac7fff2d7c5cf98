"""The demo: a model on bundled clips in LLaSO's three layouts and a second turn, each answer
checked against what a right answer contains."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from llaso.generation.sampling import SamplingParams
from llaso.inference.api import Llaso, user_message


def clip(name: str) -> str:
    return str(Path(str(resources.files("llaso.demo").joinpath("clips", name))))


@dataclass(frozen=True)
class Expect:
    """A right answer contains every group of `all_of` (any word of a group, whole words,
    case-insensitive) and none of `none_of`."""

    all_of: tuple[tuple[str, ...], ...]
    none_of: tuple[str, ...] = ()

    def check(self, answer: str) -> bool:
        text = answer.lower()

        def has(word: str) -> bool:
            return re.search(rf"(?<![a-z0-9]){re.escape(word.lower())}(?![a-z0-9])", text) is not None

        return all(any(has(w) for w in group) for group in self.all_of) and not any(has(w) for w in self.none_of)

    def describe(self) -> str:
        groups = " and ".join("/".join(g) for g in self.all_of)
        return groups + (f", not {'/'.join(self.none_of)}" if self.none_of else "")


@dataclass
class DemoCase:
    title: str
    messages: list[dict]
    note: str
    expect: Expect
    follow_up: str | None = None
    follow_expect: Expect | None = None


@dataclass
class DemoResult:
    title: str
    answers: list[str] = field(default_factory=list)
    right: list[bool] = field(default_factory=list)


REMINDER = Expect((("remind",), ("sister",), ("six", "6"), ("tomorrow",)))


def demo_cases() -> list[DemoCase]:
    """Each case is what a user would send; the clips' words are in the notes."""
    reminder, question, instruction = clip("reminder.wav"), clip("question.wav"), clip("instruction.wav")
    first_turn = user_message("Transcribe the audio.", reminder, layout="t,a")
    return [
        DemoCase("text instruction + audio (t,a)", [first_turn],
                 'clip says: "Please remind me to call my sister at six tomorrow evening."', REMINDER),
        DemoCase("audio instruction + text (a,t)",
                 [user_message("What is the colour of a clear daytime sky?", instruction, layout="a,t")],
                 'spoken instruction: "Answer the question in the text with one word."', Expect((("blue",),))),
        DemoCase("pure audio (a)", [user_message(None, question, layout="a")],
                 'spoken question: "What is the capital of France?"', Expect((("paris",),))),
        DemoCase("two turns about one clip", [first_turn], "turn 2 asks about the same clip", REMINDER,
                 follow_up="Who should be called, and when?",
                 follow_expect=Expect((("sister",), ("six", "6", "evening", "tomorrow")))),
    ]


def run_demo(model: Llaso, params: SamplingParams | None = None, out: Callable[[str], None] = print,
             cases: Sequence[DemoCase] | None = None) -> list[DemoResult]:
    """Answer every case (and its follow-up), printing each answer and whether it is right."""
    params = params or SamplingParams(max_new_tokens=48)
    results = []
    for case in cases or demo_cases():
        out(f"\n== {case.title}  ({case.note})")
        started = time.perf_counter()
        result = DemoResult(case.title)
        answer = model.chat(case.messages, params)
        _record(result, answer, case.expect, out)
        if case.follow_up and case.follow_expect:
            follow = case.messages + [{"role": "assistant", "content": answer},
                                      {"role": "user", "content": case.follow_up}]
            out(f"   user:   {case.follow_up}")
            _record(result, model.chat(follow, params), case.follow_expect, out)
        out(f"   ({time.perf_counter() - started:.2f} s)")
        results.append(result)
    right = sum(r for result in results for r in result.right)
    total = sum(len(result.right) for result in results)
    out(f"\n{right} of {total} answers right")
    return results


def _record(result: DemoResult, answer: str, expect: Expect, out: Callable[[str], None]) -> None:
    ok = expect.check(answer)
    result.answers.append(answer)
    result.right.append(ok)
    out(f"   answer: {answer}")
    out(f"   {'RIGHT' if ok else 'WRONG'} (a right answer contains {expect.describe()})")
