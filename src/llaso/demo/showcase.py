"""Run llaso-tiny over the three LLaSO input layouts and a two-turn conversation."""

from __future__ import annotations

import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from llaso.inference.api import Llaso, user_message
from llaso.generation.sampling import SamplingParams


def clip(name: str) -> str:
    return str(Path(str(resources.files("llaso.demo").joinpath("clips", name))))


@dataclass
class DemoCase:
    title: str
    messages: list[dict]
    note: str


def demo_cases() -> list[DemoCase]:
    """Each case is what a user would send; the clips' words are in the notes."""
    reminder, question, instruction = clip("reminder.wav"), clip("question.wav"), clip("instruction.wav")
    first_turn = user_message("Transcribe the audio.", reminder, layout="t,a")
    return [
        DemoCase("text instruction + audio (t,a)", [first_turn],
                 'clip says: "Please remind me to call my sister at six tomorrow evening."'),
        DemoCase("audio instruction + text (a,t)",
                 [user_message("What is the colour of a clear daytime sky?", instruction, layout="a,t")],
                 'spoken instruction: "Answer the question in the text with one word."'),
        DemoCase("pure audio (a)", [user_message(None, question, layout="a")],
                 'spoken question: "What is the capital of France?"'),
        DemoCase("two turns about one clip", [first_turn], "turn 2 asks about the same clip"),
    ]


def run_demo(model: Llaso, params: SamplingParams | None = None, out=print) -> list[str]:
    params = params or SamplingParams(max_new_tokens=48)
    answers = []
    for case in demo_cases():
        out(f"\n== {case.title}  ({case.note})")
        started = time.perf_counter()
        answer = model.chat(case.messages, params)
        out(f"   answer: {answer}")
        answers.append(answer)
        if case.title.startswith("two turns"):
            follow = case.messages + [{"role": "assistant", "content": answer},
                                      {"role": "user", "content": "Who should be called, and when?"}]
            second = model.chat(follow, params)
            out("   user:   Who should be called, and when?")
            out(f"   answer: {second}")
            answers.append(second)
        out(f"   ({time.perf_counter() - started:.2f} s)")
    return answers
