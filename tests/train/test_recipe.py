"""The recipe end to end on a tiny real model: it learns, resumes exactly after a kill, runs
as two gloo processes, chains stages and exports weights."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from llaso.errors import LlasoError
from llaso.train.config import load_config
from llaso.train.recipe import run_stage

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]


def _log(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "llaso.cli.main", "train", *args]


def test_loss_decreases_and_stage_output_is_written(stage_config) -> None:
    cfg = load_config(stage_config("learn", schedule={"kind": "constant", "max_steps": 30},
                                   trainable={"projector": True, "llm": "full"}))
    out = run_stage(cfg, progress=False)
    losses = [e["lm_loss"] for e in _log(out) if "lm_loss" in e]
    assert len(losses) == 30
    assert sum(losses[-5:]) / 5 < 0.7 * sum(losses[:5]) / 5
    for name in ("projector.safetensors", "language_model.safetensors", "ctc_head.safetensors",
                 "training.json", "curves.png"):
        assert (out / name).is_file(), name
    info = json.loads((out / "training.json").read_text())
    assert info["stack_factor"] == 4 and info["steps"] == 30 and info["evals"]
    assert set(info["evals"][-1]["eval"]) >= {"ASR", "SGC", "ctc_wer_normalized"}
    # the projector file holds the projector alone
    assert all(k.startswith("mlp.") for k in load_file(str(out / "projector.safetensors")))
    # frozen-encoder outputs were cached once per clip (20 train clips + nothing else)
    cached = list((Path(cfg.data.cache_dir) / "encoder").rglob("*.safetensors"))
    assert len(cached) == 20


def test_labels_cover_only_assistant_turns(stage_config, tiny_parts) -> None:
    from llaso.train.config import ModelSection
    from llaso.train.dataset import PrepareOptions, prepare_records
    from llaso.train.model_setup import build_model

    cfg = load_config(stage_config("labels"))
    model, processor = build_model(ModelSection(encoder=str(tiny_parts["encoder"]), llm=str(tiny_parts["llm"])))
    records = prepare_records(cfg.data.train, processor, PrepareOptions(ctc_tasks=["ASR"]), None, None, None, progress=False)
    asr = next(r for r in records if r.task == "ASR")
    answer = processor.tokenizer.decode([t for t in asr.labels if t != -100])
    assert answer.startswith(json.loads(Path(cfg.data.train[0].replace("*.json", "ASR_ta_train.json")).read_text())[0]
                             ["conversations"][1]["value"])
    assert "Transcribe" not in answer and "user" not in answer
    assert processor.tokenizer.decode(asr.ctc_target).strip() == answer.split("<|im_end|>")[0].strip()
    assert all(r.ctc_target is None for r in records if r.task == "SGC")


def test_resume_after_kill_matches_uninterrupted_run(stage_config, tmp_path: Path) -> None:
    common = {"schedule": {"kind": "cosine", "warmup_steps": 3, "max_steps": 40}, "checkpoint": {"every": 4, "keep_last": 20}}
    straight = load_config(stage_config("straight", **common))
    run_stage(straight, progress=False)

    killed_yaml = stage_config("killed", **common)
    killed = load_config(killed_yaml)
    ckpts = killed.output_path / "checkpoints"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(_cli("--config", str(killed_yaml), "--no-progress"), env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    while not (ckpts / "checkpoint-0000004").is_dir():
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        assert time.monotonic() < deadline
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    done = sorted(p.name for p in ckpts.glob("checkpoint-*"))
    assert "checkpoint-0000040" not in done

    with pytest.raises(Exception, match="--resume"):
        run_stage(killed, progress=False)
    run_stage(killed, resume=True, progress=False)
    a = load_file(str(straight.output_path / "checkpoints" / "checkpoint-0000040" / "trainable.safetensors"))
    b = load_file(str(ckpts / "checkpoint-0000040" / "trainable.safetensors"))
    assert a.keys() == b.keys()
    for k in a:
        assert torch.allclose(a[k], b[k], atol=1e-6, rtol=0), k
    sa = json.loads((straight.output_path / "checkpoints" / "checkpoint-0000040" / "state.json").read_text())
    sb = json.loads((ckpts / "checkpoint-0000040" / "state.json").read_text())
    assert (sa["epoch"], sa["consumed"], sa["samples"]) == (sb["epoch"], sb["consumed"], sb["samples"])


def test_two_gloo_processes(stage_config) -> None:
    """Two CPU processes started by torchrun; Accelerate sets up DDP over gloo."""
    path = stage_config("ddp", schedule={"kind": "constant", "max_steps": 4},
                        objective={"lm_weight": 1.0, "ctc_weight": 0.0}, batch={"size": 2, "grad_accum": 1})
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port", "29533",
           "-m", "llaso.cli.main", "train", "--config", str(path), "--no-progress"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    out = load_config(path).output_path
    assert "2 process(es)" in done.stdout
    info = json.loads((out / "training.json").read_text())
    assert info["processes"] == 2 and info["samples_seen"] == 4 * 2 * 2
    assert (out / "projector.safetensors").is_file()


def test_stage_chain_init_from_export_and_merge(stage_config, tmp_path: Path) -> None:
    s1 = load_config(stage_config("s1", schedule={"kind": "constant", "max_steps": 3}))
    out1 = run_stage(s1, progress=False)
    s2_yaml = stage_config(
        "s2",
        model={**s1.model.model_dump(), "init_from": str(out1)},
        objective={"lm_weight": 1.0, "ctc_weight": 0.0},
        schedule={"kind": "constant", "max_steps": 2},
    )
    s2 = load_config(s2_yaml)
    out2 = run_stage(s2, progress=False)
    info = json.loads((out2 / "training.json").read_text())
    assert info["init_from_loaded"] == {"projector": True, "lora": True, "summary_widened": False}

    shipped = tmp_path / "shipped"
    done = subprocess.run(_cli("--export", str(out2), "--to", str(shipped)), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in shipped.iterdir()) == ["lora", "projector.safetensors", "training.json"]
    total = sum(p.stat().st_size for p in shipped.rglob("*") if p.is_file())
    assert total < 30 * 2**20

    half = tmp_path / "half"
    done = subprocess.run(_cli("--export", str(out2), "--to", str(half), "--dtype", "float16"),
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    for name in ("projector.safetensors", "lora/adapter_model.safetensors"):
        full, small = load_file(str(shipped / name)), load_file(str(half / name))
        assert small.keys() == full.keys()
        assert all(small[k].dtype == torch.float16 for k in small)
        assert all(torch.equal(small[k], full[k].half()) for k in small)
        assert (half / name).stat().st_size < 0.6 * (shipped / name).stat().st_size

    merged = tmp_path / "merged"
    done = subprocess.run(_cli("--export", str(out2), "--to", str(merged), "--merge"), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    from llaso import Llaso

    m = Llaso.from_pretrained(str(merged), device="cpu")
    proj = load_file(str(out2 / "projector.safetensors"))
    assert torch.equal(m.model.multi_modal_projector.state_dict()["mlp.0.weight"], proj["mlp.0.weight"])
    assert not hasattr(m.model.language_model, "peft_config")


def test_a_later_stage_can_add_a_summary_token(stage_config) -> None:
    s1 = load_config(stage_config("plain", schedule={"kind": "constant", "max_steps": 2}))
    out1 = run_stage(s1, progress=False)
    s2 = load_config(stage_config(
        "summary",
        model={**s1.model.model_dump(), "init_from": str(out1), "summary_token": True},
        objective={"lm_weight": 1.0, "ctc_weight": 0.0, "lm_average": "sample"},
        schedule={"kind": "constant", "max_steps": 2},
    ))
    out2 = run_stage(s2, progress=False)
    before, after = load_file(str(out1 / "projector.safetensors")), load_file(str(out2 / "projector.safetensors"))
    assert any(k.startswith("summary.") for k in after) and not any(k.startswith("summary.") for k in before)
    assert json.loads((out2 / "training.json").read_text())["summary_token"] is True
    assert all(row["lm_loss"] > 0 for row in _log(out2) if "lm_loss" in row)

    back = load_config(stage_config("back", model={**s1.model.model_dump(), "init_from": str(out2)}))
    with pytest.raises(LlasoError, match="summary_token"):  # a summary projector into a plain model
        run_stage(back, progress=False)


def test_a_later_stage_can_pool_earlier_encoder_layers_into_the_summary(stage_config, tiny_parts) -> None:
    model = {"encoder": str(tiny_parts["encoder"]), "llm": str(tiny_parts["llm"]), "stack_factor": 4,
             "summary_token": True}
    s1 = load_config(stage_config("one", model=model, schedule={"kind": "constant", "max_steps": 2}))
    out1 = run_stage(s1, progress=False)
    s2 = load_config(stage_config(
        "layers", model={**model, "init_from": str(out1), "summary_layers": [0, 1]},
        schedule={"kind": "constant", "max_steps": 2},
    ))
    out2 = run_stage(s2, progress=False)
    info = json.loads((out2 / "training.json").read_text())
    assert info["summary_layers"] == [0, 1] and info["init_from_loaded"]["summary_widened"] is True
    before, after = load_file(str(out1 / "projector.safetensors")), load_file(str(out2 / "projector.safetensors"))
    assert after["summary.0.weight"].shape[1] == 3 * before["summary.0.weight"].shape[1]  # 3 layers pooled
    assert after["mlp.0.weight"].shape == before["mlp.0.weight"].shape  # the stack still reads one layer
    # The wider frames live in a cache of their own, beside the first stage's.
    assert len(list((Path(s2.data.cache_dir) / "encoder").iterdir())) == 2


def test_mix_of_text_only_two_turn_and_capped_tasks_trains(stage_config, tiny_parts, tiny_corpus: Path,
                                                           tmp_path: Path) -> None:
    from llaso.train.config import ModelSection
    from llaso.train.dataset import PrepareOptions, prepare_records
    from llaso.train.model_setup import build_model

    extra = tmp_path / "extra"
    extra.mkdir()
    clip = str((tiny_corpus / "audio" / "s0_1.wav").resolve())
    (extra / "TXT_t_train.json").write_text(json.dumps([
        {"task": "TXT", "layout": "t", "voice": [], "conversations": [
            {"from": "human", "value": q}, {"from": "gpt", "value": a}]}
        for q, a in [("Say hi.", "Hi there!"), ("What is two plus two?", "Two plus two is four.")]]))
    (extra / "MT_ta_train.json").write_text(json.dumps([
        {"task": "MT", "layout": "ta", "voice": [clip], "conversations": [
            {"from": "human", "value": "<audio>\nIs the speaker male or female?"}, {"from": "gpt", "value": "female"},
            {"from": "human", "value": "Transcribe the audio."}, {"from": "gpt", "value": "the cat sat on the mat"}]}] * 2))
    data = {"train": [str(tiny_corpus / "train" / "*.json"), str(extra / "*.json")], "eval": [],
            "cache_dir": str(tmp_path / "cache"), "max_samples": 4, "max_samples_by_task": {"ASR": 3}}
    cfg = load_config(stage_config("mix", data=data, schedule={"kind": "constant", "max_steps": 3}))
    model, processor = build_model(ModelSection(encoder=str(tiny_parts["encoder"]), llm=str(tiny_parts["llm"])))
    options = PrepareOptions(max_samples=4, max_samples_by_task={"ASR": 3})
    records = prepare_records(cfg.data.train, processor, options, None, None, None, progress=False)
    assert {t: sum(r.task == t for r in records) for t in ("ASR", "SGC", "TXT", "MT")} == {
        "ASR": 3, "SGC": 4, "TXT": 2, "MT": 2}
    text_only = next(r for r in records if r.task == "TXT")
    assert text_only.n_windows == 0 and text_only.audio_key is None
    two_turn = next(r for r in records if r.task == "MT")
    answers = processor.tokenizer.decode([t for t in two_turn.labels if t != -100])
    assert "female" in answers and "the cat sat on the mat" in answers and "Transcribe" not in answers
    out = run_stage(cfg, progress=False)
    losses = [e["lm_loss"] for e in _log(out) if "lm_loss" in e]
    assert len(losses) == 3 and all(loss == loss and loss > 0 for loss in losses)


def test_a_later_stage_can_widen_the_lora_adapter_to_more_modules(stage_config, tiny_parts) -> None:
    from peft import get_peft_model_state_dict

    from llaso.train.config import ModelSection
    from llaso.train.model_setup import build_model, load_stage_output

    s1 = load_config(stage_config("attn", schedule={"kind": "constant", "max_steps": 2}))
    out1 = run_stage(s1, progress=False)
    wide = {"r": 4, "alpha": 8, "dropout": 0.1, "target_modules": ["q_proj", "v_proj", "gate_proj", "down_proj"]}

    # Loaded into a model with the wider adapter, the old modules keep their weights and the new
    # ones add nothing: the model answers exactly as the previous stage's.
    section = ModelSection(encoder=str(tiny_parts["encoder"]), llm=str(tiny_parts["llm"]), stack_factor=4)
    plain, _ = build_model(section)
    load_stage_output(plain, out1, want_lora=True)
    widened, _ = build_model(section)
    info = load_stage_output(widened, out1, want_lora=True, lora_section=load_config(
        stage_config("w", lora=wide)).lora)
    assert info["lora_widened"] is True
    state = get_peft_model_state_dict(widened.language_model)
    assert any("gate_proj.lora_B" in k for k in state) and any("q_proj.lora_B" in k for k in state)
    ids = torch.tensor([[1, 5, 9, 14, 3]])
    plain.eval(), widened.eval()  # LoRA dropout off
    with torch.no_grad():
        assert torch.allclose(plain.language_model(input_ids=ids).logits,
                              widened.language_model(input_ids=ids).logits, atol=1e-5)

    s2 = load_config(stage_config("mlp", model={**s1.model.model_dump(), "init_from": str(out1)}, lora=wide,
                                  schedule={"kind": "constant", "max_steps": 2}))
    out2 = run_stage(s2, progress=False)
    saved = json.loads((out2 / "lora" / "adapter_config.json").read_text())
    assert set(saved["target_modules"]) == set(wide["target_modules"])

    narrower = {**wide, "r": 8}
    s3 = load_config(stage_config("bad", model={**s1.model.model_dump(), "init_from": str(out1)}, lora=narrower))
    with pytest.raises(LlasoError, match="same r and alpha"):
        run_stage(s3, progress=False)


def test_a_stage_that_trains_the_encoder_and_llm_in_full_passes_them_on(stage_config, tiny_parts, tiny_corpus: Path,
                                                                          tmp_path: Path) -> None:
    from llaso.train.config import ModelSection
    from llaso.train.export import ship
    from llaso.train.model_setup import build_model, load_stage_output

    data = {"train": [str(tiny_corpus / "train" / "*.json")], "eval": [], "cache_encoder": False,
            "cache_dir": str(tmp_path / "cache-full")}
    s1 = load_config(stage_config("full", trainable={"projector": True, "encoder": True, "llm": "full"},
                                  data=data, schedule={"kind": "constant", "max_steps": 2},
                                  optim={"lr": 3e-3, "projector_lr": 1e-2, "encoder_lr": 1e-4}))
    out1 = run_stage(s1, progress=False)
    encoder_file, llm_file = out1 / "audio_tower.safetensors", out1 / "language_model.safetensors"
    assert encoder_file.is_file() and llm_file.is_file()

    section = ModelSection(encoder=str(tiny_parts["encoder"]), llm=str(tiny_parts["llm"]), stack_factor=4)
    base, _ = build_model(section)
    started, _ = build_model(section)
    info = load_stage_output(started, out1, want_lora=False)
    assert info["full"] == ["audio_tower.safetensors", "language_model.safetensors"]
    trained_encoder, trained_llm = load_file(str(encoder_file)), load_file(str(llm_file))
    name = next(k for k in trained_encoder if k.endswith("layers.0.fc1.weight"))
    assert torch.equal(started.audio_tower.state_dict()[name], trained_encoder[name])
    assert not torch.equal(base.audio_tower.state_dict()[name], trained_encoder[name])  # it did learn
    name = next(k for k in trained_llm if k.endswith("layers.0.mlp.up_proj.weight"))
    assert torch.equal(started.language_model.state_dict()[name], trained_llm[name])
    assert not torch.equal(base.language_model.state_dict()[name], trained_llm[name])

    from llaso.train.model_setup import apply_trainable
    from llaso.train.recipe import TrainingModule, build_optimizer

    apply_trainable(base, s1.trainable, s1.lora)
    groups = {g["name"]: g for g in build_optimizer(TrainingModule(base, None, 1.0, 0.0), s1).param_groups}
    assert {name: g["lr"] for name, g in groups.items()} == {"projector": 1e-2, "encoder": 1e-4, "other": 3e-3}
    assert sum(p.numel() for p in groups["encoder"]["params"]) == sum(p.numel() for p in base.audio_tower.parameters())

    shipped = ship(out1, tmp_path / "shipped-full")
    assert {p.name for p in shipped} >= {"audio_tower.safetensors", "language_model.safetensors"}


def test_a_grounded_stage_trains_on_transcript_prompts_and_loads_grounded(stage_config, tiny_corpus: Path) -> None:
    """`transcript_grounding`: records carry their Whisper transcripts (computed once, cached),
    the stage folder says so, and loading it renders the same grounded prompts."""
    from llaso.inference.api import Llaso

    cfg = load_config(stage_config(
        "grounded", schedule={"kind": "constant", "max_steps": 3},
        model={**load_config(stage_config()).model.model_dump(), "transcript_grounding": True},
        objective={"lm_weight": 1.0, "ctc_weight": 0.0},
        trainable={"projector": True, "encoder": False, "llm": "lora"},
    ))
    out = run_stage(cfg, progress=False)
    assert json.loads((out / "training.json").read_text())["transcript_grounding"] is True
    # the frames decoded into transcripts are the ones cached: each train clip encoded once
    assert len(list((Path(cfg.data.cache_dir) / "encoder").rglob("*.safetensors"))) == 20
    assert all(row["lm_loss"] > 0 for row in _log(out) if "lm_loss" in row)
    model = Llaso.from_pretrained(out, device="cpu")
    assert model.model.config.transcript_grounding
    clip = sorted((tiny_corpus / "audio").glob("*.wav"))[0]
    prompt = model.processor.tokenizer.decode(model.encode(
        [{"role": "user", "content": [{"type": "text", "text": "Transcribe the audio."},
                                      {"type": "audio", "path": str(clip)}]}]).input_ids)
    assert "(transcript:" in prompt or model.processor.settings.no_speech_text in prompt
