"""llaso-mini: layout on disk, exact labels, held-out voices and texts, checksums, resume."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest

from llaso.cli.main import main
from llaso.data.build_mini import Builder, Unit, build_mini
from llaso.data.schema import iter_samples, sample_to_messages
from llaso.data.tasks import all_tasks
from llaso.data.text_sources import normalise_key
from llaso.data.tts.voices import voice_catalogue
from llaso.data.validate import validate_path
from llaso.errors import LlasoError

pytestmark = pytest.mark.slow
TAGS = {"ta": "t,a", "at": "a,t", "a": "a"}


def _samples(out: Path, split: str) -> list[tuple[Path, dict]]:
    return [(path, s) for path in sorted((out / split).glob("*.json")) for s in iter_samples(path)]


def test_files_names_and_records(mini_small):
    out, manifest = mini_small
    official = {t.code for t in all_tasks() if t.official}
    assert len(set(manifest["tasks"]) & official) >= 12
    assert set(manifest["layouts"]) == {"t,a", "a,t", "a"}
    for split in ("train", "test"):
        for path, sample in _samples(out, split):
            task, tag, file_split = path.stem.rsplit("_", 2)
            assert (sample["task"], sample["layout"], file_split) == (task, TAGS[tag], split)
            assert sample["id"].startswith(f"{task}_{tag}_{split}_")
            for part in sum((m["content"] for m in sample_to_messages(sample, path.parent)
                             if isinstance(m["content"], list)), []):
                if part["type"] == "audio":
                    assert Path(part["path"]).is_file()
                    assert Path(part["path"]).resolve().is_relative_to(out / "audio")
    assert (out / "README.md").read_text().startswith("# llaso-mini")


def test_build_validates(mini_small):
    out, manifest = mini_small
    report = validate_path(out)
    assert report.ok, report.format()
    assert report.records == manifest["samples"] and report.audio_checked == manifest["clips"]
    assert report.skipped_files == []  # .parts/ (build state) and manifest.json are not samples
    assert main(["data", "validate", str(out)]) == 0


def test_manifest_checksums(mini_small):
    out, manifest = mini_small
    for name, entry in manifest["files"].items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == entry["sha256"]
        assert len(json.loads((out / name).read_text())) == entry["samples"]
    lines = (out / "checksums.sha256").read_text().splitlines()
    assert len(lines) == manifest["clips"]
    for line in lines:
        digest, name = line.split("  ", 1)
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest
    assert manifest["versions"]["espeak-ng"]


def _voices(sample: dict) -> list[str]:
    tts = sample.get("tts")
    return [t["voice"] for t in (tts if isinstance(tts, list) else [tts] if tts else [])]


def _texts(sample: dict) -> set[str]:
    meta = sample.get("meta", {})
    keys = ("text", "question", "utterance")
    if sample.get("layout") == "a,t":  # the spoken text is the instruction: a shared template, like typed ones
        keys = ("question", "utterance")
    texts = {meta.get(k) for k in keys if meta.get(k)}
    if sample["task"] == "ASR":
        texts.add(sample["conversations"][-1]["value"])
    return {normalise_key(t) for t in texts}


def test_test_split_holds_out_voices_and_texts(mini_small):
    out, _ = mini_small
    found = {}
    for split in ("train", "test"):
        samples = [s for _, s in _samples(out, split)]
        found[split] = (
            {v for s in samples for v in _voices(s)},
            set().union(*(_texts(s) for s in samples)),
            {s["synth"]["preset"] for s in samples if "synth" in s},
        )
    catalogue = {v.id: v for v in voice_catalogue()}
    for split in ("train", "test"):
        assert all(catalogue[v].split == split for v in found[split][0])
    assert not found["train"][0] & found["test"][0]
    assert not found["train"][1] & found["test"][1]
    assert not found["train"][2] & found["test"][2]
    assert len(found["test"][0]) >= 3 and len(found["train"][0]) >= 10


def test_labels_are_exact(mini_small):
    from llaso.data.tts.espeak import espeak_ipa

    out, _ = mini_small
    catalogue = {v.id: v for v in voice_catalogue()}
    checked = 0
    for _, sample in _samples(out, "train") + _samples(out, "test"):
        label = sample["conversations"][-1]["value"]
        task = sample["task"]
        if task == "SGC":
            assert catalogue[sample["tts"]["voice"]].gender == label
        elif task == "AC":
            assert catalogue[sample["tts"]["voice"]].accent == label
        elif task == "SV":
            first, second = (catalogue[t["voice"]] for t in sample["tts"])
            assert (label == "Same") == (first.id == second.id)
            assert label == "Same" or first.speaker != second.speaker
        elif task == "SSC":
            assert catalogue[sample["tts"]["voice"]].style == label
        elif task == "PR" and sample["tts"]["engine"] == "espeak-ng":
            voice = catalogue[sample["tts"]["voice"]]
            assert label == espeak_ipa(sample["meta"]["text"], voice.ipa_language)
        elif task in ("PP", "VC", "IC", "ISC"):
            key = {"PP": "midi", "VC": "velocity", "IC": "family", "ISC": "source"}[task]
            assert label == str(sample["synth"][key])
        elif task == "EE":  # tags are [slot : value]; untagged text has no brackets left
            assert "[" not in re.sub(r"\[\w+ : [^\[\]]+\]", "", label)
        else:
            continue
        checked += 1
    assert checked >= 20


def test_resume_rebuilds_only_missing_units_identically(mini_small, tmp_path):
    out, manifest = mini_small
    copy = tmp_path / "mini"
    shutil.copytree(out, copy)
    removed = sorted((copy / ".parts").glob("SGC_ta_*.jsonl")) + sorted((copy / ".parts").glob("VC_ta_*.jsonl"))
    assert removed
    for part in removed:
        part.unlink()
    shutil.rmtree(copy / "train")
    again = build_mini(copy, scale="small", seed=0, workers=1, progress=False)
    assert again["samples_built_last_run"] == sum(
        manifest["files"][f"{p.stem.rsplit('_', 2)[1]}/{p.stem.rsplit('_', 1)[0]}.json"]["samples"]
        for p in removed)
    for name, entry in manifest["files"].items():  # same records for the same seed
        assert again["files"][name]["samples"] == entry["samples"]
        assert (copy / name).read_text() == (out / name).read_text()
    with pytest.raises(LlasoError, match="holds a build"):
        build_mini(copy, scale="small", seed=1, progress=False)
    # the command: nothing left to build, the corpus is re-assembled and reported
    assert main(["data", "build-mini", "--out", str(copy), "--scale", "small", "--no-progress"]) == 0
    assert main(["data", "build-mini", "--out", str(copy), "--seed", "3", "--no-progress"]) == 2


def test_seed_changes_the_samples(tmp_path):
    unit = Unit("AQA", "a", "train", 0, 1)
    a = Builder(tmp_path, seed=0, engines=("espeak-ng",)).make(unit, 0)[0]
    b = Builder(tmp_path, seed=1, engines=("espeak-ng",)).make(unit, 0)[0]
    again = Builder(tmp_path, seed=0, engines=("espeak-ng",)).make(unit, 0)[0]
    assert a == again and a != b


def test_join_partial_writes_what_an_unfinished_build_has(mini_small, tmp_path):
    """Files from the units done so far, each identical to its finished file; a stem whose first
    unit is missing gets no file (rerunning the build finishes them)."""
    import shutil

    from llaso.data.build_mini import join_partial

    out, _ = mini_small
    shutil.copytree(out / ".parts", tmp_path / ".parts")
    (tmp_path / ".parts" / "SV_ta_train_000000.jsonl").unlink()
    counts = join_partial(tmp_path, scale="small")
    assert "train/SV_ta_train.json" not in counts and not (tmp_path / "train" / "SV_ta_train.json").exists()
    assert counts["train/ASR_ta_train.json"] == 6
    for name in counts:
        assert json.loads((tmp_path / name).read_text()) == json.loads((out / name).read_text())
    assert not (tmp_path / "manifest.json").exists()
