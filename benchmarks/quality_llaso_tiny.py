"""LLaSO-Tiny against the quality bars of the training issue, on the llaso-mini test split.

    .venv/bin/python benchmarks/quality_llaso_tiny.py [--data data/llaso-mini/test] [--limit 100]
        [--out runs/quality] [--model llaso-tiny]

1. The evaluation harness (`llaso eval run`, then scoring without a judge) on ASR, SGC, SCR, IP,
   AC, IC, PP and AQA: the first --limit samples of each file, greedy.
2. Whisper tiny.en alone (the `llaso transcribe` engine) on the same ASR clips: the WER bar is
   1.5x its WER.
3. No forgetting: the 50 held-out text questions (`llaso/train/prompts/text_heldout.txt`),
   answered by the model and by SmolLM2-135M-Instruct alone; agreement = same answer, or same
   first sentence after normalisation. A model that routes text-only conversations to its base
   LLM (`base_llm_for_text_only`) is measured twice: as it answers, and through its adapter
   (what a text follow-up inside an audio conversation goes through).
4. Two turns (`MT_ta_test.json`, from `llaso data two-turn` on the SGC and AC test files): the
   voice question (gender or accent) asked as the first turn, and asked as the second turn
   after the model's own transcript of the clip (first --limit clips of each).
Writes OUT/quality.json and OUT/quality.md and prints the table. Needs the llaso-mini test split
(`llaso data build-mini --scale full`).
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from machine import describe_machine  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
TASKS = ("ASR", "SGC", "SCR", "IP", "AC", "IC", "PP", "AQA")
CLOSED = {"SGC": "speaker gender", "SCR": "speech command", "IP": "intent", "AC": "accent", "IC": "instrument"}
BARS = {"SGC": 0.95, "SCR": 0.90, "IP": 0.80, "AC": 0.70, "IC": 0.80}


def harness(model, name: str, data: Path, out: Path, limit: int, batch_size: int) -> dict:
    from llaso.eval.run import RunConfig, model_backend, run
    from llaso.eval.score import ScoreOptions, score_path

    config = RunConfig(data=data, out=out, model=name, tasks=TASKS, limit=limit,
                       batch_size=batch_size, max_new_tokens=64)
    run(config, backend=model_backend(config, model=model))
    return score_path(out, ScoreOptions(use_judge=False, progress=False))


def whisper_wer(data: Path, limit: int) -> float:
    from llaso.data.schema import iter_samples, reference_text, resolve_audio_path
    from llaso.eval.metrics import word_error_rate_normalized
    from llaso.inference.transcribe import WhisperTranscriber

    path = data / "ASR_ta_test.json"
    samples = list(iter_samples(path))[:limit]
    clips = [resolve_audio_path(s["voice"][0], path.parent) for s in samples]
    hyps = [t.text for t in WhisperTranscriber.from_pretrained().transcribe(clips)]
    return word_error_rate_normalized(hyps, [reference_text(s) or "" for s in samples])


def first_sentence(text: str) -> str:
    from llaso.eval.text_normalize import normalize_transcript

    return normalize_transcript(text.strip().split("\n")[0].split(". ")[0])


def agreement(ours: list[str], base: list[str], questions: list[str]) -> dict:
    same = [a.strip() == b.strip() for a, b in zip(ours, base)]
    agree = [s or first_sentence(a) == first_sentence(b) for s, a, b in zip(same, ours, base)]
    return {
        "n": len(questions), "identical": sum(same), "agree": sum(agree), "rate": sum(agree) / len(questions),
        "mean_words": {"ours": sum(len(a.split()) for a in ours) / len(ours),
                       "base": sum(len(b.split()) for b in base) / len(base)},
        "answers": [{"q": q, "ours": a, "base": b} for q, a, b in zip(questions, ours, base)],
    }


def text_agreement(model) -> dict:
    from llaso import Llaso
    from llaso.generation.sampling import SamplingParams
    from llaso.model.adapter import routes_text_to_base
    from llaso.train.replay import base_engine, heldout_prompts

    questions = heldout_prompts()
    params = SamplingParams(max_new_tokens=48)

    def answers(m) -> list[str]:
        return [r.text or "" for r in m.chat_batch([[{"role": "user", "content": q}] for q in questions], params, batch_size=10)]

    engine = base_engine()
    base = answers(Llaso(engine.model, engine.processor))
    result = agreement(answers(model), base, questions)
    if routes_text_to_base(model.model):
        model.model.config.base_llm_for_text_only = False
        try:
            result["through_adapter"] = agreement(answers(model), base, questions)
        finally:
            model.model.config.base_llm_for_text_only = True
    return result


def _text_of(message: dict) -> str:
    content = message["content"]
    if isinstance(content, str):
        return content.strip()
    return " ".join(p.get("text", "") for p in content if p.get("type") == "text").strip()


def two_turns(model, data: Path, limit: int) -> dict:
    """Voice-question accuracy as a first turn vs as a second turn about the same clip."""
    from llaso.data.schema import iter_samples, sample_to_messages
    from llaso.eval.metrics import closed_set_accuracy, label_set
    from llaso.generation.sampling import SamplingParams

    path = data / "MT_ta_test.json"
    samples, taken = [], {}
    for sample in iter_samples(path):  # the first `limit` of each source task (gender, accent)
        source = sample["meta"]["source_task"]
        if taken.get(source, 0) < limit:
            taken[source] = taken.get(source, 0) + 1
            samples.append(sample)
    params = SamplingParams(max_new_tokens=48)
    first, second, refs, sources = [], [], [], []
    for sample in samples:
        messages = sample_to_messages(sample, path.parent)
        audio = [p for p in messages[0]["content"] if p.get("type") == "audio"]
        voice_at = 0 if sample["meta"]["voice_first"] else 2
        voice_q, transcribe_q = _text_of(messages[voice_at]), _text_of(messages[2 - voice_at])
        first.append([{"role": "user", "content": [*audio, {"type": "text", "text": voice_q}]}])
        second.append([{"role": "user", "content": [*audio, {"type": "text", "text": transcribe_q}]}])
        refs.append(messages[voice_at + 1]["content"])
        sources.append(sample["meta"]["source_task"])
    single_answers = [r.text or "" for r in model.chat_batch(first, params, batch_size=8)]
    transcripts = [r.text or "" for r in model.chat_batch(second, params, batch_size=8)]
    follow_ups = [
        conv + [{"role": "assistant", "content": t}, {"role": "user", "content": q[0]["content"][-1]["text"]}]
        for conv, t, q in zip(second, transcripts, first)
    ]
    second_answers = [r.text or "" for r in model.chat_batch(follow_ups, params, batch_size=8)]
    result = {"n": len(samples)}
    for task in sorted(set(sources)):
        idx = [i for i, s in enumerate(sources) if s == task]
        r = [refs[i] for i in idx]
        labels = label_set(r)
        result[task] = {
            "n": len(idx),
            "first_turn_accuracy": closed_set_accuracy([single_answers[i] for i in idx], r, labels),
            "second_turn_accuracy": closed_set_accuracy([second_answers[i] for i in idx], r, labels),
        }
    return result


def metric(results: dict, stem: str, name: str):
    return (results["files"].get(stem) or {}).get("metrics", {}).get(name)


def table(q: dict) -> str:
    r = q["harness"]
    rows = ["| bar | measured | met |", "|---|---|---|"]
    wer, bar_wer = metric(r, "ASR_ta_test", "wer_normalized"), 1.5 * q["whisper_wer"]
    rows.append(f"| ASR WER <= 1.5 x Whisper tiny.en ({q['whisper_wer']:.3f}) = {bar_wer:.3f} | {wer:.3f} | {'yes' if wer <= bar_wer else 'no'} |")
    for task, name in CLOSED.items():
        stems = [s for s in r["files"] if s.startswith(f"{task}_")]
        accs = [metric(r, s, "accuracy") for s in sorted(stems)]
        shown = " / ".join(f"{a:.0%} ({s.split('_')[1]})" for a, s in zip(accs, sorted(stems)) if a is not None)
        met = all(a is not None and a >= BARS[task] for a in accs)
        rows.append(f"| {name} >= {BARS[task]:.0%} | {shown} | {'yes' if met else 'no'} |")
    mae = metric(r, "PP_ta_test", "mae")
    rows.append(f"| pitch MAE <= 3 semitones | {mae:.2f} | {'yes' if mae is not None and mae <= 3 else 'no'} |")
    qa = {s.split("_")[1]: metric(r, s, "exact_match") for s in r["files"] if s.startswith("AQA_")}
    qa_met = all(qa.get(k) is not None and abs(qa["ta"] - qa[k]) <= 0.10 for k in ("a", "at")) if "ta" in qa else False
    rows.append(f"| spoken QA exact match (t,a / a,t / a); a and a,t within 10 points of t,a | "
                f"{qa.get('ta', 0):.0%} / {qa.get('at', 0):.0%} / {qa.get('a', 0):.0%} | {'yes' if qa_met else 'no'} |")
    abst = {s: metric(r, s, "abstention_rate") for s in r["files"] if metric(r, s, "abstention_rate") is not None}
    worst = max(abst.values()) if abst else None
    rows.append(f"| abstention <= 5 % (closed set, worst file) | {worst:.0%} | {'yes' if worst is not None and worst <= 0.05 else 'no'} |")
    t = q["text_only"]
    words = t["mean_words"]
    rows.append(f"| text-only agreement with SmolLM2 >= 80 % (same answer or first sentence) | {t['rate']:.0%} "
                f"({t['agree']}/{t['n']}; {t['identical']} identical; mean {words['ours']:.0f} vs {words['base']:.0f} words) "
                f"| {'yes' if t['rate'] >= 0.8 else 'no'} |")
    if "through_adapter" in t:
        a = t["through_adapter"]
        rows.append(f"| the same through the LLM adapter (text-only turns skip it by default) | {a['rate']:.0%} "
                    f"({a['agree']}/{a['n']}; {a['identical']} identical) | - |")
    for task, v in q["two_turn"].items():
        if isinstance(v, dict):
            ok = v["second_turn_accuracy"] >= v["first_turn_accuracy"] - 0.05
            rows.append(f"| two turns, {CLOSED.get(task, task)}: 2nd turn as good as 1st | 1st {v['first_turn_accuracy']:.0%}, "
                        f"2nd {v['second_turn_accuracy']:.0%} (n={v['n']}) | {'yes' if ok else 'no'} |")
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO / "data" / "llaso-mini" / "test")
    parser.add_argument("--limit", type=int, default=100, help="samples per test file")
    parser.add_argument("--out", type=Path, default=REPO / "runs" / "quality")
    parser.add_argument("--model", default="llaso-tiny")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    args = parser.parse_args()
    if not (args.data / "ASR_ta_test.json").is_file():
        sys.exit(f"{args.data}: no llaso-mini test split (build it with `llaso data build-mini --scale full`)")
    if not (args.data / "MT_ta_test.json").is_file():
        sys.exit(f"{args.data}: no two-turn test file; make it with `llaso data two-turn {args.data}/SGC_ta_test.json "
                 f"{args.data}/AC_ta_test.json --split test --per-file 150 --out {args.data}/MT_ta_test.json`")

    warnings.simplefilter("ignore")
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    from llaso import Llaso
    from llaso.atomic import write_json_atomic, write_text_atomic

    started = time.perf_counter()
    model = Llaso.from_pretrained(args.model, device="cpu")
    quality = {"machine": describe_machine(), "model": args.model, "limit": args.limit}
    quality["harness"] = harness(model, args.model, args.data, args.out / "predictions", args.limit, args.batch_size)
    quality["whisper_wer"] = whisper_wer(args.data, args.limit)
    quality["text_only"] = text_agreement(model)
    quality["two_turn"] = two_turns(model, args.data, args.limit)
    quality["seconds"] = round(time.perf_counter() - started, 1)
    md = (f"# {args.model} on the llaso-mini test split (first {args.limit} per file)\n\n"
          f"machine: {quality['machine']}; {quality['seconds']} s\n\n{table(quality)}\n")
    write_json_atomic(args.out / "quality.json", quality)
    write_text_atomic(args.out / "quality.md", md)
    print(md)


if __name__ == "__main__":
    main()
