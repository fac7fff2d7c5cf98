"""Scoring of the held-out checks a stage logs during training."""

from llaso.train.config import load_config
from llaso.train.evaluate import declared_labels, prepare_eval_records, score

ACCENTS = ("American", "British", "Caribbean", "Scottish")


def test_a_valid_wrong_label_is_wrong_not_an_abstention_even_if_no_chosen_clip_carries_it():
    predictions = ["British", "Scottish", "I cannot tell", "Scottish", "British", "Caribbean"]
    # Six held-out clips that happen to be all Scottish: "British" is a wrong answer, not "no answer".
    assert score("AC", predictions, ["Scottish"] * 6, ACCENTS) == {"accuracy_strict": 2 / 6, "abstention_rate_strict": 1 / 6}
    # Without the file's labels only the references count as answers (what the step-0 log showed).
    assert score("AC", predictions, ["Scottish"] * 6)["abstention_rate_strict"] == 4 / 6
    assert score("SGC", ["Female"], ["Male"]) == {"accuracy_strict": 0.0, "abstention_rate_strict": 0.0}  # declared labels


def test_tasks_outside_the_registry_use_their_references():
    assert declared_labels("NOT_A_TASK") == ()
    assert "Male" in declared_labels("SGC")
    assert score("NOT_A_TASK", ["yes", "maybe"], ["yes", "no"]) == {"accuracy_strict": 0.5, "abstention_rate_strict": 0.5}


def test_eval_records_carry_their_files_label_set(stage_config, tiny_corpus):
    import json

    from llaso.train.model_setup import build_model

    cfg = load_config(stage_config("labels", eval={"every": 0, "num_samples": 1, "tasks": ["SGC"]}))
    _, processor = build_model(cfg.model)
    [record] = prepare_eval_records(cfg, processor)
    in_file = json.loads((tiny_corpus / "test" / "SGC_ta_test.json").read_text())
    assert record.file_labels == tuple(sorted({s["conversations"][-1]["value"] for s in in_file}))
    assert len(record.file_labels) == 2  # one clip chosen, both answers known
