"""The demo checks each answer against what a right one contains."""

import pytest

from llaso.demo.showcase import REMINDER, Expect, demo_cases, run_demo


def test_expectations_need_every_group_and_whole_words():
    assert REMINDER.check("Please remind me to call my sister at 6 tomorrow evening.")
    assert not REMINDER.check("Place or intend to place in a secure location.")
    paris = Expect((("paris",),), none_of=("budapest",))
    assert paris.check("The capital of France is Paris.") and not paris.check("Budapest")
    assert not Expect((("six",),)).check("sixty")  # whole words only
    assert "remind and sister and six/6 and tomorrow" == REMINDER.describe()


def test_every_case_and_follow_up_states_what_is_right():
    cases = demo_cases()
    assert [c.title.split(" (")[0] for c in cases][:3] == ["text instruction + audio", "audio instruction + text",
                                                          "pure audio"]
    assert all(c.expect.all_of for c in cases)
    assert any(c.follow_up and c.follow_expect for c in cases)


@pytest.mark.slow
def test_run_demo_prints_a_verdict_for_every_answer(tiny):
    from llaso.generation.sampling import SamplingParams

    lines: list[str] = []
    results = run_demo(tiny, SamplingParams(max_new_tokens=24), out=lines.append)
    answers = sum(len(r.answers) for r in results)
    verdicts = [line for line in lines if line.strip().startswith(("RIGHT", "WRONG"))]
    assert answers == len(verdicts) == 5
    assert lines[-1].strip() == f"{sum(sum(r.right) for r in results)} of 5 answers right"
