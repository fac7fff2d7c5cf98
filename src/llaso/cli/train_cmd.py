"""`llaso train`: run a training stage from a YAML config, resume it, or export its weights.

    llaso train --config configs/train/llaso-tiny-stage1.yaml [--resume] [--set schedule.max_steps=100]
    llaso train --export runs/llaso-tiny/stage2 --to src/llaso/model/weights/llaso-tiny [--dtype float16]
    llaso train --export runs/llaso-tiny/stage2 --to my-checkpoint --merge
    llaso train --make-replay data/llaso-mini/train/TXT_t_train.json --replay-n 640
    accelerate launch --config_file configs/accelerate/ddp.yaml -m llaso.cli.main train --config X.yaml
"""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "train",
        help="train a stage (alignment, instruction tuning) from a YAML config",
        description="Train one LLaSO stage from a YAML config; resumable; exports shipped or merged weights.",
    )
    p.add_argument("--config", "-c", type=Path, help="stage config (see configs/train/)")
    p.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in output_dir")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, e.g. --set schedule.max_steps=200 (repeatable)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (logs still go to log.jsonl)")
    p.add_argument("--export", type=Path, metavar="STAGE_DIR", help="export a finished stage's weights")
    p.add_argument("--to", type=Path, metavar="DIR", help="export target folder")
    p.add_argument("--merge", action="store_true",
                   help="with --export: write a full checkpoint with LoRA merged, instead of the few-MB files")
    p.add_argument("--dtype", choices=["float32", "float16", "bfloat16"], default="float32",
                   help="with --export (not --merge): store the shipped weights in this precision "
                        "(float16 halves them; loaders cast back)")
    p.add_argument("--make-replay", type=Path, metavar="OUT.json",
                   help="write text-only replay samples: the base LLM's own answers to text prompts")
    p.add_argument("--replay-n", type=int, default=640, help="with --make-replay: number of prompts")
    p.add_argument("--replay-max-new-tokens", type=int, default=64)
    p.add_argument("--replay-seed", type=int, default=0)
    p.add_argument("--replay-llm", default=None,
                   help="base LLM name or Hugging Face causal LM folder (default: smollm2-135m-instruct)")
    p.add_argument("--make-teacher", type=Path, metavar="SAMPLES.json",
                   help="answer the text version of spoken samples with the base LLM (targets); needs --out")
    p.add_argument("--out", type=Path, default=None, help="with --make-teacher: the output sample file")
    p.add_argument("--teacher-limit", type=int, default=None, help="with --make-teacher: the first N samples")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from llaso.errors import LlasoError

    if args.export is not None:
        if args.to is None:
            raise LlasoError("--export needs --to DIR")
        from llaso.train.export import merge, ship

        if args.merge:
            print(merge(args.export, args.to))
        else:
            for path in ship(args.export, args.to, dtype=args.dtype):
                print(path)
        return 0
    if args.make_replay is not None:
        from llaso.train.replay import write_replay

        print(write_replay(args.make_replay, n=args.replay_n, seed=args.replay_seed, llm=args.replay_llm,
                           max_new_tokens=args.replay_max_new_tokens, progress=not args.no_progress))
        return 0
    if args.make_teacher is not None:
        if args.out is None:
            raise LlasoError("--make-teacher needs --out OUT.json")
        from llaso.train.teacher import write_teacher_file

        print(write_teacher_file(args.make_teacher, args.out, llm=args.replay_llm, limit=args.teacher_limit,
                                 max_new_tokens=args.replay_max_new_tokens, progress=not args.no_progress))
        return 0
    if args.config is None:
        raise LlasoError("give --config STAGE.yaml (or --export STAGE_DIR --to DIR, or --make-replay OUT)")
    from llaso.train.config import load_config
    from llaso.train.recipe import run_stage

    cfg = load_config(args.config, args.overrides)
    out = run_stage(cfg, resume=args.resume, progress=not args.no_progress)
    print(out)
    return 0
