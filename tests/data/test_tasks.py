"""The task registry."""

from __future__ import annotations

import json

import pytest

from llaso.cli.main import main
from llaso.data.tasks import (
    CATEGORIES,
    Task,
    TaskRegistry,
    all_tasks,
    get_task,
    load_task_file,
    register_task,
)
from llaso.errors import LlasoError

OFFICIAL = ["ASR", "PR", "AQA", "SGC", "AC", "AR", "EIE", "ER", "SSD", "SV", "VSC", "IC", "ISC",
            "VC", "PP", "SCR", "IP", "EE", "PSWL", "PSSL"]


def test_the_twenty_llaso_tasks():
    official = [t for t in all_tasks() if t.official]
    assert [t.code for t in official] == OFFICIAL
    by_category = {c: {t.code for t in official if t.category == c} for c in CATEGORIES}
    assert by_category["linguistic"] == {"ASR", "PR"}
    assert by_category["semantic"] == {"AQA", "IP", "EE", "SCR"}
    assert get_task("AQA").layouts == ("t,a", "a,t", "a")
    assert get_task("PP").metric == "mae" and get_task("ASR").metric == "wer"
    assert get_task("VC").labels == ("127", "100", "75", "50", "25")
    assert len(get_task("ASR").templates) >= 18


def test_every_task_has_ten_distinct_phrasings():
    for task in all_tasks():
        assert len(set(task.templates)) >= 10, task.code
        if task.labels:
            text = task.instruction(0)
            assert "{labels}" not in text


def test_instruction_fills_labels():
    assert get_task("SGC").instruction(0) == "Identify the speaker's gender. Choose from Male or Female."


def test_register_new_task_without_touching_the_core(tmp_path):
    registry = TaskRegistry()
    registry.register(Task("DEMO", "demo", "semantic", ("a",), "judge", templates=("Do it.",)))
    assert registry.get("DEMO").instruction(5) == "Do it."
    with pytest.raises(LlasoError, match="already registered"):
        registry.register(Task("DEMO", "demo", "semantic", ("a",), "judge"))
    with pytest.raises(LlasoError, match="unknown task 'NOPE'"):
        registry.get("NOPE")
    with pytest.raises(LlasoError, match="category"):
        Task("X", "x", "musical", ("t,a",), "accuracy")
    spec = [{"code": "LANGID", "name": "language identification", "category": "paralinguistic",
             "layouts": ["t,a"], "metric": "accuracy", "labels": ["English", "French"],
             "templates": ["Which language is spoken? {labels}."]}]
    (tmp_path / "tasks.json").write_text(json.dumps(spec))
    (task,) = load_task_file(tmp_path / "tasks.json")
    assert get_task("LANGID") is task
    assert task.instruction(0) == "Which language is spoken? English or French."
    register_task(task, replace=True)


def test_cli_lists_tasks(capsys):
    assert main(["tasks", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["code"] for r in rows} >= set(OFFICIAL)
    assert main(["tasks", "PR"]) == 0
    assert "IPA" in capsys.readouterr().out
    assert main(["tasks", "NOPE"]) == 2
