"""`llaso data validate|stats|build-mini|convert-layout|two-turn|relabel`: check, describe, make and derive LLaSO data."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Set as AbstractSet
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("data", help="validate, describe and build LLaSO-format data",
                                   description=__doc__)
    commands = parser.add_subparsers(dest="data_command", metavar="SUBCOMMAND")
    parser.set_defaults(handler=lambda args: (parser.print_help(), 2)[1])

    validate = commands.add_parser("validate", help="check sample files; non-zero exit on problems")
    validate.add_argument("path", help="a .json/.jsonl file or a folder of them")
    validate.add_argument("--audio-root", help="folder audio paths are relative to (default: each file's folder)")
    validate.add_argument("--no-audio", action="store_true", help="skip audio checks (e.g. prediction files without audio)")
    validate.add_argument("--decode", action="store_true", help="decode every clip fully, not just its header")
    validate.add_argument("--min-seconds", type=float, default=0.1)
    validate.add_argument("--max-seconds", type=float, default=120.0)
    validate.add_argument("--global-ids", action="store_true", help="ids must be unique across all files, not just within each")
    validate.add_argument("--examples", type=int, default=5, help="offending records shown per kind")
    validate.add_argument("--json", action="store_true", help="print the report as JSON")
    validate.set_defaults(handler=_validate)

    stats = commands.add_parser("stats", help="tasks, layouts, durations and lengths of a corpus")
    stats.add_argument("path")
    stats.add_argument("--audio-root")
    stats.add_argument("--no-audio", action="store_true", help="skip audio durations")
    stats.add_argument("--json", action="store_true")
    stats.set_defaults(handler=_stats)

    build = commands.add_parser("build-mini", help="build the llaso-mini corpus offline (resumable)")
    build.add_argument("--out", required=True, help="output folder")
    build.add_argument("--scale", choices=("small", "medium", "full"), default="small")
    build.add_argument("--seed", type=int, default=0)
    build.add_argument("--workers", type=int, default=None, help="processes (default: CPU count)")
    build.add_argument("--no-progress", action="store_true")
    build.add_argument("--join-partial", action="store_true",
                       help="write the files from the units an unfinished build has made so far (each the "
                            "leading samples of its full file; no manifest) and stop")
    build.set_defaults(handler=_build)

    convert = commands.add_parser("convert-layout",
                                  help="speak text-only samples into the (t,a), (a,t) or (a) layout")
    convert.add_argument("input", help="text-only samples (.json/.jsonl; LLaSO or Alpaca fields)")
    convert.add_argument("output", help="output sample file; audio goes to OUTPUT's folder/audio/")
    convert.add_argument("--layout", choices=("t,a", "a,t", "a"), required=True)
    convert.add_argument("--engine", default="espeak-ng", help="piper, espeak-ng, flite, festival")
    convert.add_argument("--voice", default="en-us", help="engine voice name (espeak 'en-gb-scotland+f2', flite 'slt', ...)")
    convert.add_argument("--rate", type=float, default=1.0)
    convert.add_argument("--augment", action="store_true")
    convert.add_argument("--seed", type=int, default=0)
    convert.set_defaults(handler=_convert)

    open_ = commands.add_parser("open-prompts", help="open questions about what clips say (answers: "
                                "`llaso train --make-teacher`)")
    open_.add_argument("inputs", nargs="+", help="sample files whose one-clip samples carry meta.text")
    open_.add_argument("--out", required=True)
    open_.add_argument("--limit", type=int, default=None)
    open_.add_argument("--seed", type=int, default=0)
    open_.set_defaults(handler=_open_prompts)

    quiet = commands.add_parser("no-speech", help="clips without speech (silence, hum, noise) and the honest reply")
    quiet.add_argument("--out", required=True, help="output sample file; clips go to OUT's folder/audio/NOSPEECH/")
    quiet.add_argument("--count", type=int, default=400)
    quiet.add_argument("--seed", type=int, default=0)
    quiet.set_defaults(handler=_no_speech)

    two = commands.add_parser("two-turn", help="derive two-turn conversations about one clip "
                              "(a voice question and its transcript) from SGC/AC-style samples")
    two.add_argument("inputs", nargs="+", help="sample files whose samples carry meta.text")
    two.add_argument("--out", required=True, help="output sample file (.json)")
    two.add_argument("--per-file", type=int, default=None, help="at most this many per input file")
    two.add_argument("--split", default="train", help="split name used in the ids")
    two.add_argument("--seed", type=int, default=0)
    two.add_argument("--text-follow-ups", metavar="TEXT.json", default=None,
                     help="instead of the transcript, follow each audio sample (any task) with a "
                          "text-only question and answer from this file (`llaso train --make-replay`)")
    two.set_defaults(handler=_two_turn)

    relabel = commands.add_parser("relabel", help="ask llaso-mini clips another question their build record "
                                  "answers (gender/accent from the TTS voice, instrument family/source from the note)")
    relabel.add_argument("inputs", nargs="+", help="llaso-mini sample files (their samples carry tts or synth)")
    relabel.add_argument("--task", choices=("SGC", "AC", "IC", "ISC"), required=True)
    relabel.add_argument("--out", required=True, help="output sample file (.json)")
    relabel.add_argument("--limit", type=int, default=None, help="at most this many samples (balanced by answer)")
    relabel.add_argument("--split", default="train", help="split name used in the ids")
    relabel.add_argument("--seed", type=int, default=0)
    relabel.add_argument("--exclude", nargs="+", default=[], metavar="FILE",
                         help="skip clips these sample files already use (e.g. an earlier round's relabelled set)")
    relabel.set_defaults(handler=_relabel)


def _validate(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from llaso.data.validate import ValidateOptions, validate_path

    options = ValidateOptions(audio_root=args.audio_root, check_audio=not args.no_audio,
                              decode=args.decode, min_seconds=args.min_seconds,
                              max_seconds=args.max_seconds, max_examples=args.examples,
                              global_ids=args.global_ids)
    with tqdm(unit="record", desc="validate", disable=not sys.stderr.isatty(),
              mininterval=0.5) as bar:
        report = validate_path(args.path, options, on_record=bar.update)
    print(json.dumps(report.to_dict(), indent=2) if args.json else report.format())
    return 0 if report.ok else 1


def _stats(args: argparse.Namespace) -> int:
    from llaso.data.stats import corpus_stats, format_stats

    stats = corpus_stats(args.path, audio_root=args.audio_root, with_audio=not args.no_audio)
    print(json.dumps(stats, indent=2) if args.json else format_stats(stats))
    return 0


def _build(args: argparse.Namespace) -> int:
    from llaso.data.build_mini import build_mini, join_partial

    if args.join_partial:
        counts = join_partial(args.out, scale=args.scale)
        print(f"{len(counts)} files, {sum(counts.values())} samples so far (rerun without --join-partial to finish):")
        for name, n in counts.items():
            print(f"  {name}: {n}")
        return 0
    manifest = build_mini(args.out, scale=args.scale, seed=args.seed, workers=args.workers,
                          progress=not args.no_progress)
    print(f"llaso-mini ({args.scale}, seed {args.seed}) in {args.out}: {manifest['samples']} samples, "
          f"{manifest['clips']} clips, {manifest['hours']} h; "
          f"{len(manifest['tasks'])} tasks, layouts {manifest['layouts']}")
    return 0


def _convert(args: argparse.Namespace) -> int:
    from pathlib import Path

    from tqdm import tqdm

    from llaso.data.layout_convert import convert_sample, layout_tag, make_speaker
    from llaso.data.schema import iter_samples, write_samples

    output = Path(args.output)
    speak = make_speaker(args.engine, args.voice, augment=args.augment, seed=args.seed,
                         rate=args.rate)
    tag = layout_tag(args.layout)
    audio_dir = output.parent / "audio" / f"{output.stem}"

    def converted():
        for i, sample in enumerate(tqdm(iter_samples(args.input), desc="convert", unit="sample",
                                        disable=not sys.stderr.isatty())):
            new = convert_sample(sample, args.layout, speak, audio_dir=audio_dir,
                                 json_dir=output.parent, name=f"{tag}_{i:06d}")
            new.setdefault("id", f"{output.stem}_{i:06d}")
            yield new

    count = write_samples(output, converted())
    print(f"wrote {count} ({args.layout}) samples to {output}, audio in {audio_dir}")
    return 0


def _clips(path: str) -> set[str]:
    """The absolute audio paths a sample file uses."""
    from llaso.data.schema import iter_samples, resolve_audio_path

    root = Path(path).parent.resolve()
    return {resolve_audio_path(v, root) for sample in iter_samples(path) for v in sample.get("voice") or []}


def _rebased_samples(source: str, out: str, skip: AbstractSet[str] = frozenset()):
    """The samples of `source` with voice paths re-rooted at `out`'s folder (they are relative
    to their own file), less those using a clip in `skip` (absolute paths, as `_clips` gives)."""
    from llaso.data.schema import iter_samples, resolve_audio_path

    source_dir, out_dir = Path(source).parent.resolve(), Path(out).parent.resolve()
    for sample in iter_samples(source):
        paths = [resolve_audio_path(v, source_dir) for v in sample.get("voice") or []]
        if not skip.isdisjoint(paths):
            continue
        yield {**sample, "voice": [os.path.relpath(p, out_dir) for p in paths]}


def _two_turn(args: argparse.Namespace) -> int:
    from pathlib import Path

    from llaso.data.schema import iter_samples, write_samples
    from llaso.data.tasks import load_templates
    from llaso.data.two_turn import follow_up_samples, two_turn_samples

    out = Path(args.out)
    text = list(iter_samples(args.text_follow_ups)) if args.text_follow_ups else None
    transcribe = load_templates()["ASR"]
    samples: list[dict] = []
    for n, path in enumerate(args.inputs):
        rebased = list(_rebased_samples(path, args.out))
        common = {"seed": args.seed + n, "split": args.split, "limit": args.per_file, "start": len(samples)}
        if text is not None:
            samples += follow_up_samples(rebased, text, **common)
        else:
            samples += two_turn_samples(rebased, transcribe, **common)
    count = write_samples(out, samples)
    print(f"wrote {count} two-turn samples to {out}")
    return 0


def _relabel(args: argparse.Namespace) -> int:
    import itertools
    from collections import Counter

    from llaso.data.relabel import relabelled_samples
    from llaso.data.schema import write_samples

    used = {clip for path in args.exclude for clip in _clips(path)}
    sources = itertools.chain.from_iterable(_rebased_samples(path, args.out, skip=used) for path in args.inputs)
    samples = relabelled_samples(sources, args.task, args.seed, split=args.split, limit=args.limit)
    if not samples:
        print(f"error: no clip in {', '.join(args.inputs)} records an answer to {args.task}", file=sys.stderr)
        return 1
    count = write_samples(args.out, samples)
    answers = Counter(s["conversations"][1]["value"] for s in samples)
    print(f"wrote {count} {args.task} samples to {args.out}: " + ", ".join(f"{a} {n}" for a, n in sorted(answers.items())))
    return 0


def _open_prompts(args: argparse.Namespace) -> int:
    from pathlib import Path

    from llaso.data.open_prompts import interleave, open_samples
    from llaso.data.schema import iter_samples, resolve_audio_path, write_samples

    out = Path(args.out).resolve()
    groups = []
    for path in args.inputs:  # voice paths re-rooted at the output's folder
        root = Path(path).resolve().parent
        groups.append([{**s, "voice": [os.path.relpath(resolve_audio_path(v, root), out.parent) for v in s.get("voice") or []]}
                       for s in iter_samples(path)])
    count = write_samples(out, open_samples(interleave(groups), args.seed, limit=args.limit))
    print(f"wrote {count} open prompts to {args.out} (answers still empty: run `llaso train --make-teacher`)")
    return 0


def _no_speech(args: argparse.Namespace) -> int:
    from pathlib import Path

    from llaso.data.no_speech import no_speech_samples
    from llaso.data.schema import write_samples

    out = Path(args.out)
    samples = no_speech_samples(args.count, out.parent / "audio" / "NOSPEECH", out.parent, args.seed)
    print(f"wrote {write_samples(out, samples)} no-speech samples to {out}")
    return 0
