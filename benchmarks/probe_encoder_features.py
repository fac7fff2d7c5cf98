"""How much speaker and sound information the frozen Whisper tiny.en encoder passes on: linear
probes on clip-pooled encoder states (mean and standard deviation over time), trained on the
llaso-mini train split and scored on the test split (held-out voices), for the last layer's
output (what the stacked tokens read), for each earlier layer, and for the sets of layers a
summary token can pool (`model.summary_layers`).

    .venv/bin/python benchmarks/probe_encoder_features.py [--data data/llaso-mini] [--train-per-task 600]
        [--train-file SGC=data/llaso-mini/derived/SGC_ta_train.json ...] [--mlp 256]

A probe near a quality bar says the encoder is not what limits llaso-tiny on that task; the
LLM path (projector, LoRA, training steps) is. Gender, accent and instrument: logistic
regression (accuracy); pitch: ridge regression (MAE in semitones, best of a few penalties).
Layer 0 is the convolutions' output, layer i the output of encoder layer i (layer-normalised
without weights, as the summary token sees it); "last" is the encoder's final output.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from machine import describe_machine  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
TASKS = {"SGC": "speaker gender", "AC": "accent", "IC": "instrument", "PP": "pitch (MIDI)"}
# Feature sets: "last" and layer numbers, pooled and concatenated.
FEATURE_SETS = {"last": ["last"], "layer 0": [0], "layer 1": [1], "layer 2": [2], "layer 3": [3],
                "last + 1, 2": ["last", 1, 2], "last + 1, 2, 3": ["last", 1, 2, 3],
                "last + 0, 1, 2, 3": ["last", 0, 1, 2, 3],
                # the log-mel input itself: would the summary gain from reading it?
                "log-mel": ["mel"], "last + 1, 2, 3 + log-mel": ["last", 1, 2, 3, "mel"]}


def pooled_features(model, processor, path: Path, limit: int):
    """Per clip: {"last" or layer number: [2D] mean and std over time}, and the labels."""
    import torch

    from llaso.audio.load import load_audio
    from llaso.data.schema import iter_samples, reference_text, resolve_audio_path

    layers = list(range(len(model.audio_tower.layers)))
    width = model.config.audio_config.d_model
    rows, labels = [], []
    for sample in list(iter_samples(path))[:limit]:
        mel, _ = processor.featurize(load_audio(resolve_audio_path(sample["voice"][0], path.parent)))[0]
        with torch.no_grad():
            wide = model.encoder_family.encode(model.audio_tower, mel.unsqueeze(0), [mel.shape[-1]],
                                               extra_layers=layers)[0].float()
        states = {"last": wide[:, :width], **{i: wide[:, (1 + i) * width : (2 + i) * width] for i in layers},
                  "mel": mel.float().T}
        rows.append({k: torch.cat([v.mean(0), v.std(0)]) for k, v in states.items()})
        labels.append(reference_text(sample) or "")
    return rows, labels


def feature_matrix(rows: list[dict], keys: list):
    import torch

    return torch.stack([torch.cat([row[k] for k in keys]) for row in rows])


def logistic_probe(x_train, y_train, x_test, y_test, steps: int = 300, hidden: int = 0) -> float:
    """Logistic regression, or with `hidden` > 0 a one-hidden-layer MLP (dropout, weight decay):
    is what the encoder passes on linearly readable, or only non-linearly?"""
    import torch

    names = sorted(set(y_train))
    target = torch.tensor([names.index(y) for y in y_train])
    truth = torch.tensor([names.index(y) if y in names else -1 for y in y_test])
    torch.manual_seed(0)
    if hidden:
        net = torch.nn.Sequential(torch.nn.Dropout(0.2), torch.nn.Linear(x_train.shape[1], hidden), torch.nn.GELU(),
                                  torch.nn.Dropout(0.2), torch.nn.Linear(hidden, len(names)))
        optimiser = torch.optim.AdamW(net.parameters(), lr=3e-3, weight_decay=1e-2)
        penalty = lambda: 0.0  # noqa: E731
    else:
        net = torch.nn.Linear(x_train.shape[1], len(names))
        torch.nn.init.zeros_(net.weight)
        optimiser = torch.optim.Adam(net.parameters(), lr=1e-2)
        penalty = lambda: 1e-3 * net.weight.pow(2).sum()  # noqa: E731
    for _ in range(steps):
        net.train()
        loss = torch.nn.functional.cross_entropy(net(x_train), target) + penalty()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    net.eval()
    with torch.no_grad():
        return float((net(x_test).argmax(1) == truth).float().mean())


def ridge_probe(x_train, y_train, x_test, y_test) -> tuple[float, float]:
    import torch

    t_train = torch.tensor([float(y) for y in y_train])
    t_test = torch.tensor([float(y) for y in y_test])
    a_train = torch.cat([x_train, torch.ones(len(x_train), 1)], 1)
    a_test = torch.cat([x_test, torch.ones(len(x_test), 1)], 1)
    best = min(
        float((a_test @ torch.linalg.solve(a_train.T @ a_train + lam * torch.eye(a_train.shape[1]), a_train.T @ t_train)
               - t_test).abs().mean())
        for lam in (1.0, 10.0, 100.0)
    )
    return best, float((t_test - t_train.mean()).abs().mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO / "data" / "llaso-mini")
    parser.add_argument("--train-per-task", type=int, default=600)
    parser.add_argument("--test-per-task", type=int, default=150)
    parser.add_argument("--train-file", action="append", default=[], metavar="TASK=FILE",
                        help="train a task's probes on another file, e.g. SGC=data/llaso-mini/derived/SGC_ta_train.json "
                             "(`llaso data relabel`: more distinct clips)")
    parser.add_argument("--mlp", type=int, default=0, metavar="HIDDEN",
                        help="also an MLP probe with this many hidden units (classification tasks)")
    args = parser.parse_args()
    train_files = dict(item.split("=", 1) for item in args.train_file)
    warnings.simplefilter("ignore")
    from llaso.checkpoints import load

    model, processor = load("llaso-tiny")
    print(f"machine: {describe_machine()}")
    results = {}
    for task, name in TASKS.items():
        started = time.perf_counter()
        train_file = Path(train_files.get(task, args.data / "train" / f"{task}_ta_train.json"))
        train_rows, y_train = pooled_features(model, processor, train_file, args.train_per_task)
        test_rows, y_test = pooled_features(model, processor, args.data / "test" / f"{task}_ta_test.json",
                                            args.test_per_task)
        scores = {}
        for set_name, keys in FEATURE_SETS.items():
            x_train, x_test = feature_matrix(train_rows, keys), feature_matrix(test_rows, keys)
            mean, std = x_train.mean(0), x_train.std(0) + 1e-5
            x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
            if task == "PP":
                mae, constant = ridge_probe(x_train, y_train, x_test, y_test)
                scores[set_name] = round(mae, 2)
                baseline = {"predict_the_mean_mae": round(constant, 2)}
            else:
                majority = max(set(y_test), key=y_test.count)
                scores[set_name] = round(logistic_probe(x_train, y_train, x_test, y_test), 3)
                if args.mlp:
                    scores[f"{set_name} (MLP)"] = round(
                        logistic_probe(x_train, y_train, x_test, y_test, hidden=args.mlp, steps=400), 3)
                baseline = {"majority_class": round(y_test.count(majority) / len(y_test), 3)}
        results[task] = {"mae" if task == "PP" else "accuracy": scores, **baseline, "train": len(y_train),
                         "test": len(y_test), "seconds": round(time.perf_counter() - started, 1)}
        print(f"{name}: {json.dumps(results[task])}", flush=True)
    print("\n| features | " + " | ".join(TASKS.values()) + " |\n|---|" + "---|" * len(TASKS))
    names = list(FEATURE_SETS) + ([f"{n} (MLP)" for n in FEATURE_SETS] if args.mlp else [])
    for set_name in names:
        scores = {t: results[t].get("mae", results[t].get("accuracy")).get(set_name) for t in TASKS}
        cells = ["-" if v is None else f"{v:.2f}" if t == "PP" else f"{100 * v:.1f} %" for t, v in scores.items()]
        print(f"| {set_name} | " + " | ".join(cells) + " |")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
