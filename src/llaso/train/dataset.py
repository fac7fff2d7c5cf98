"""LLaSO-format samples -> training items, through the same processor as inference.

Preparation runs once per data/processor combination: every sample is turned into chat
messages (`llaso.data.schema.sample_to_messages`), encoded by `LlasoProcessor.encode` with
labels masked to assistant turns, and, with a frozen encoder, its audio is encoded once and
stored in the `EncoderCache`. The prepared token records are kept as JSON Lines next to the
cache, so a resumed or second run starts training within seconds. Batches are grouped by
length so padding (and thus LLM compute) is not wasted.
"""

from __future__ import annotations

import glob
import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from llaso.atomic import atomic_path
from llaso.errors import LlasoError
from llaso.train.encoder_cache import EncoderCache, conversation_audio_key

log = logging.getLogger(__name__)

IGNORE_INDEX = -100


@dataclass
class Record:
    """One prepared conversation. `messages` is kept to re-encode when nothing is cached."""

    source: str
    task: str
    layout: str
    input_ids: list[int]
    labels: list[int]
    messages: list[dict[str, Any]]
    audio_key: str | None = None
    n_windows: int = 0
    ctc_target: list[int] | None = None
    prompt_ids: list[int] = field(default_factory=list)
    reference: str = ""

    def __len__(self) -> int:
        return len(self.input_ids)


def expand_files(patterns: Sequence[str]) -> list[Path]:
    """Globs -> sorted existing files; a pattern matching nothing is an error naming it."""
    files: list[Path] = []
    for pattern in patterns:
        matched = sorted(glob.glob(os.path.expanduser(pattern), recursive=True))
        if not matched:
            raise LlasoError(f"data: {pattern!r} matches no file")
        files += [Path(m).resolve() for m in matched if Path(m).is_file()]
    return list(dict.fromkeys(files))


def task_and_layout(path: Path, sample: dict[str, Any]) -> tuple[str, str]:
    """From the sample's own fields when present, else from the file's name
    (`llaso.data.file_names`); a file that names no task is its own task, in layout t,a."""
    from llaso.data.file_names import file_stem, sample_task_layout
    from llaso.data.layout import Layout

    task, layout = sample_task_layout(sample, path)
    return str(task or file_stem(path)), (layout or Layout.TEXT_AUDIO).value


def default_audio_root(path: Path) -> Path:
    """Relative `voice` paths are taken from the sample file's own folder (llaso-mini writes
    `../audio/...`); pass `data.audio_root` for corpora laid out otherwise."""
    return path.parent


def audio_paths(messages: list[dict[str, Any]]) -> list[str]:
    paths = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, list):
            for part in content:
                if isinstance(part, dict) and part.get("type") == "audio":
                    if "path" not in part:
                        raise LlasoError("training audio must be given as files (an audio part has no 'path')")
                    paths.append(str(part["path"]))
    return paths


def transcript_target(labels: Sequence[int], tokenizer: Any) -> list[int]:
    """The assistant's tokens without special and whitespace-only tokens: the CTC target."""
    special = set(tokenizer.all_special_ids)
    return [
        t for t in labels
        if t != IGNORE_INDEX and t not in special and tokenizer.decode([t]).strip() != ""
    ]


def files_fingerprint(files: Sequence[Path], extra: dict[str, Any]) -> str:
    h = hashlib.sha1(json.dumps(extra, sort_keys=True, default=str).encode())
    for f in files:
        st = f.stat()
        h.update(f"{f}|{st.st_size}|{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


def select_evenly(records: list[Record], n: int, by: Callable[[Record], str]) -> list[Record]:
    """Up to n records spread over the groups `by` returns, deterministic."""
    groups: dict[str, list[Record]] = {}
    for r in records:
        groups.setdefault(by(r), []).append(r)
    picked: list[Record] = []
    i = 0
    while len(picked) < n and any(i < len(g) for g in groups.values()):
        for g in groups.values():
            if i < len(g) and len(picked) < n:
                # stride through each group so the pick spans its whole file
                stride = max(1, len(g) // max(1, n // max(1, len(groups))))
                j = (i * stride) % len(g)
                picked.append(g[j])
        i += 1
    return list({id(r): r for r in picked}.values())


@dataclass
class PrepareOptions:
    tasks: list[str] | None = None
    layouts: list[str] | None = None
    max_samples: int | None = None
    max_samples_by_task: dict[str, int] = field(default_factory=dict)
    max_length: int = 512
    audio_root: str | None = None
    ctc_tasks: list[str] = field(default_factory=list)
    for_generation: bool = False


def prepare_records(
    patterns: Sequence[str],
    processor: Any,
    options: PrepareOptions,
    cache: EncoderCache | None,
    encode_batch: Callable[[list[torch.Tensor]], list[torch.Tensor]] | None,
    prepared_dir: Path | None,
    progress: bool = True,
    transcribe: Callable[[str, Any], tuple[list[str], list[torch.Tensor] | None]] | None = None,
) -> list[Record]:
    """Read, filter, encode (and cache encoder frames for) every sample of the given files.

    `transcribe(audio_key, encoded) -> (one transcript per audio, the encoder frames it decoded
    them from or None)`: for a transcript-grounded model, each prompt is encoded again with its
    audios' transcripts beside them, as at inference; frames it returns fill the encoder cache."""
    from llaso.data.schema import iter_samples, prompt_and_reference, sample_to_messages

    files = expand_files(patterns)
    fingerprint = files_fingerprint(
        files,
        {
            "options": asdict(options),
            "template": processor.chat_template,
            "settings": processor.settings.__dict__,
            "vocab": len(processor.tokenizer),
            "cache": str(cache.folder) if cache else None,
        },
    )
    stored = prepared_dir / f"records-{fingerprint}.jsonl" if prepared_dir else None
    if stored is not None and stored.is_file():
        records = [Record(**json.loads(line)) for line in stored.read_text(encoding="utf-8").splitlines()]
        log.info("using %d prepared records from %s", len(records), stored)
        return records

    tok = processor.tokenizer
    records: list[Record] = []
    pending: list[tuple[str, list[torch.Tensor]]] = []
    dropped_long = 0

    def flush() -> None:
        if not pending or cache is None or encode_batch is None:
            pending.clear()
            return
        windows = [w for _, ws in pending for w in ws]
        frames = encode_batch(windows)
        at = 0
        for key, ws in pending:
            cache.put(key, frames[at : at + len(ws)])
            at += len(ws)
        pending.clear()

    from tqdm import tqdm

    bar = tqdm(desc="prepare", unit="sample", disable=not progress)
    from llaso.data.layout import Layout

    layouts = {Layout.parse(layout).value for layout in options.layouts} if options.layouts else None
    for path in files:
        root = Path(options.audio_root).resolve() if options.audio_root else default_audio_root(path)
        count = 0
        for index, sample in enumerate(iter_samples(path)):
            task, layout = task_and_layout(path, sample)
            if options.tasks and task not in options.tasks:
                break  # a file holds one task
            if layouts and layout not in layouts:
                break
            cap = options.max_samples_by_task.get(task, options.max_samples)
            if cap and count >= cap:
                break
            where = f"{path.name}[{index}]"
            fresh: list[torch.Tensor] | None = None  # frames the transcriber computed already
            try:
                messages = sample_to_messages(sample, root)
                if options.for_generation:
                    prompt, answer = prompt_and_reference(sample, root)
                    enc = processor.encode(prompt, add_generation_prompt=True, with_labels=False)
                    if transcribe is not None and enc.audio_features:
                        texts, fresh = transcribe("|".join(audio_paths(prompt)), enc)
                        enc = processor.encode(prompt, add_generation_prompt=True, transcripts=texts,
                                               audio=processor.audio_windows(enc))
                    reference = answer or ""
                    prompt_ids, input_ids, labels = enc.input_ids, enc.input_ids, [IGNORE_INDEX] * len(enc.input_ids)
                else:
                    enc = processor.encode(messages, add_generation_prompt=False, with_labels=True)
                    if transcribe is not None and enc.audio_features:
                        texts, fresh = transcribe("|".join(audio_paths(messages)), enc)
                        enc = processor.encode(messages, add_generation_prompt=False, with_labels=True,
                                               transcripts=texts, audio=processor.audio_windows(enc))
                    prompt_ids, input_ids, labels, reference = [], enc.input_ids, enc.labels, ""
            except (LlasoError, ValueError, OSError) as exc:
                raise LlasoError(f"{where}: {exc}") from exc
            if len(input_ids) > options.max_length:
                dropped_long += 1
                continue
            paths = audio_paths(messages)
            key = conversation_audio_key(paths) if (paths and cache is not None) else None
            if key is not None and key not in cache and fresh is not None:
                cache.put(key, [f.cpu() for f in fresh])
            elif key is not None and key not in cache and all(k != key for k, _ in pending):
                pending.append((key, enc.audio_features))
                if sum(len(ws) for _, ws in pending) >= 16:
                    flush()
            ctc = None
            if task in options.ctc_tasks and len(paths) == 1 and not options.for_generation:
                ctc = transcript_target(labels, tok) or None
            records.append(
                Record(
                    source=where, task=task, layout=layout, input_ids=list(input_ids), labels=list(labels),
                    messages=messages, audio_key=key, n_windows=len(enc.audio_features),
                    ctc_target=ctc, prompt_ids=list(prompt_ids), reference=reference,
                )
            )
            count += 1
            bar.update(1)
    flush()
    bar.close()
    if dropped_long:
        log.warning("dropped %d samples longer than max_length=%d tokens", dropped_long, options.max_length)
    if not records:
        raise LlasoError(f"data: no usable samples in {list(patterns)} (check tasks/layouts filters)")
    if stored is not None:
        with atomic_path(stored) as tmp, open(tmp, "w", encoding="utf-8") as fh:
            for r in records:
                fh.write(json.dumps(asdict(r), default=str) + "\n")
    return records


class LlasoTrainDataset(torch.utils.data.Dataset):
    """Prepared records -> items with cached encoder frames, or log-mel features if uncached."""

    def __init__(self, records: list[Record], processor: Any, cache: EncoderCache | None) -> None:
        self.records = records
        self.processor = processor
        self.cache = cache

    def __len__(self) -> int:
        return len(self.records)

    def lengths(self) -> list[int]:
        return [len(r) for r in self.records]

    def __getitem__(self, index: int) -> dict[str, Any]:
        r = self.records[index]
        item: dict[str, Any] = {"input_ids": r.input_ids, "labels": r.labels, "ctc_target": r.ctc_target}
        if r.n_windows == 0:
            item["frames"] = []
        elif self.cache is not None and r.audio_key is not None:
            item["frames"] = self.cache.get(r.audio_key)
        else:
            enc = self.processor.encode(r.messages, add_generation_prompt=False, with_labels=True)
            item["features"] = enc.audio_features
        return item


def collate_items(items: list[dict[str, Any]], pad_token_id: int) -> dict[str, Any]:
    """Right-pad ids/labels; audio as a flat list of cached frames or padded log-mel features."""
    width = max(len(it["input_ids"]) for it in items)
    ids = torch.full((len(items), width), pad_token_id, dtype=torch.long)
    mask = torch.zeros((len(items), width), dtype=torch.long)
    labels = torch.full((len(items), width), IGNORE_INDEX, dtype=torch.long)
    for row, it in enumerate(items):
        n = len(it["input_ids"])
        ids[row, :n] = torch.tensor(it["input_ids"])
        mask[row, :n] = 1
        labels[row, :n] = torch.tensor(it["labels"])
    batch: dict[str, Any] = {"input_ids": ids, "attention_mask": mask, "labels": labels}
    windows_per_sample: list[int] = []
    if all("frames" in it for it in items):
        frames = [f for it in items for f in it["frames"]]
        windows_per_sample = [len(it["frames"]) for it in items]
        batch["encoder_outputs"] = frames
    else:
        from llaso.processing.features import pad_features

        mels = [m for it in items for m in it.get("features", [])]
        windows_per_sample = [len(it.get("features", [])) for it in items]
        batch["input_features"], batch["feature_attention_mask"] = pad_features(mels)
    batch["windows_per_sample"] = windows_per_sample
    batch["ctc_targets"] = [it["ctc_target"] for it in items]
    return batch


class LengthGroupedBatchSampler(torch.utils.data.Sampler[list[int]]):
    """Batches of similar length, in an order fixed by (seed, epoch).

    Indices are shuffled, cut into mega-batches of `batch_size * group` samples, each sorted
    by length and cut into batches; batch order is then shuffled. Same seed and epoch give
    the same batches, which is what lets a resumed run continue exactly where it stopped.
    """

    def __init__(self, lengths: Sequence[int], batch_size: int, seed: int, group: int = 32,
                 by_length: bool = True) -> None:
        self.lengths = list(lengths)
        self.batch_size = batch_size
        self.seed = seed
        self.group = group
        self.by_length = by_length
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def batches(self, epoch: int) -> list[list[int]]:
        g = torch.Generator().manual_seed(self.seed * 100_003 + epoch)
        order = torch.randperm(len(self.lengths), generator=g).tolist()
        mega = self.batch_size * self.group if self.by_length else self.batch_size
        out: list[list[int]] = []
        for start in range(0, len(order), mega):
            chunk = order[start : start + mega]
            if self.by_length:
                chunk.sort(key=lambda i: -self.lengths[i])
            out += [chunk[i : i + self.batch_size] for i in range(0, len(chunk), self.batch_size)]
        perm = torch.randperm(len(out), generator=g).tolist()
        return [out[i] for i in perm]

    def __iter__(self) -> Iterator[list[int]]:
        return iter(self.batches(self.epoch))

    def __len__(self) -> int:
        return -(-len(self.lengths) // self.batch_size)
