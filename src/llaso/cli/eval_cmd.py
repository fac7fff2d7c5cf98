"""`llaso eval score|run|compare`: the LLaSO-Eval harness."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("eval", help="LLaSO-Eval: score predictions, run a model, compare systems")
    commands = parser.add_subparsers(dest="eval_command", metavar="{score,run,compare}")
    parser.set_defaults(handler=lambda args: _usage(parser))

    score = commands.add_parser("score", help="score prediction files in the official layout")
    score.add_argument("path", type=Path, help="a folder of prediction files, or one file")
    score.add_argument("--prediction-key", default=None,
                       help="record key holding the model's output (default: detect answer|prediction|result)")
    score.add_argument("--system", default=None, help="system name in reports (default: the folder name)")
    score.add_argument("--json", action="store_true", help="print results.json's content instead of tables")
    score.add_argument("--out", type=Path, default=None, help="write results.json, results.md (and judge verdicts) here")
    _add_judge_options(score)
    score.set_defaults(handler=run_score)

    run = commands.add_parser("run", help="run a model over LLaSO test files, then score")
    source = run.add_mutually_exclusive_group(required=True)
    source.add_argument("--model", default=None, help="our model: catalog name (llaso-tiny) or checkpoint")
    source.add_argument("--endpoint", default=None, help="OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1")
    run.add_argument("--api-model", default=None, help="model name to request from --endpoint")
    run.add_argument("--api-key-env", default="LLASO_API_KEY", help="environment variable with the endpoint's key")
    run.add_argument("--data", type=Path, required=True, help="folder of LLaSO-format test files")
    run.add_argument("--audio-root", type=Path, default=None, help="audio paths are relative to this (default: --data)")
    run.add_argument("--out", type=Path, required=True, help="output folder (rerun the same command to resume)")
    run.add_argument("--tasks", nargs="+", default=[], metavar="CODE", help="only these task codes (e.g. ASR SGC)")
    run.add_argument("--limit", type=int, default=None, help="first N samples of each file")
    run.add_argument("--batch-size", type=int, default=8)
    run.add_argument("--max-new-tokens", type=int, default=256)
    run.add_argument("--temperature", type=float, default=0.0, help="0 = greedy (default)")
    run.add_argument("--top-p", type=float, default=1.0)
    run.add_argument("--seed", type=int, default=0, help="recorded in run.json (default 0)")
    run.add_argument("--device", default=None)
    run.add_argument("--dtype", default=None)
    run.add_argument("--no-score", action="store_true", help="write predictions only")
    run.add_argument("--json", action="store_true", help="print results as JSON")
    _add_judge_options(run)
    run.set_defaults(handler=run_run)

    compare = commands.add_parser("compare", help="side-by-side table and radar chart of several systems")
    compare.add_argument("systems", nargs="+", type=Path,
                         help="results.json files, or folders holding results.json or prediction files")
    compare.add_argument("--out", type=Path, required=True, help="write comparison.json, comparison.md, radar.png here")
    _add_judge_options(compare)
    compare.set_defaults(handler=run_compare)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _add_judge_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("LLM judge (open-ended tasks)")
    group.add_argument("--judge-base-url", default=None, help="OpenAI-compatible base URL of the judge")
    group.add_argument("--judge-model", default=None, help="judge model name")
    group.add_argument("--judge-api-key-env", default="LLASO_JUDGE_API_KEY",
                       help="environment variable holding the judge's API key (default LLASO_JUDGE_API_KEY)")
    group.add_argument("--judge-rubric", default="open_ended", help="packaged rubric name or a .txt file")
    group.add_argument("--judge-cache", type=Path, default=None,
                       help="verdict cache file (default ~/.cache/llaso/judge_verdicts.sqlite)")
    group.add_argument("--judge-concurrency", type=int, default=4)
    group.add_argument("--verdicts", type=Path, default=None,
                       help="folder of existing verdicts <stem>.jsonl (default: <predictions>/gpt_result)")
    group.add_argument("--no-judge", action="store_true",
                       help="score open-ended files only from existing verdicts; never call a judge")


def _score_options(args: argparse.Namespace, system: str | None = None, write_verdicts_to: Path | None = None):
    from llaso.errors import LlasoError
    from llaso.eval.judge import JudgeConfig
    from llaso.eval.score import ScoreOptions

    judge = None
    if args.judge_base_url or args.judge_model:
        if not (args.judge_base_url and args.judge_model):
            raise LlasoError("the judge needs both --judge-base-url and --judge-model")
        judge = JudgeConfig(base_url=args.judge_base_url, model=args.judge_model,
                            api_key_env=args.judge_api_key_env, rubric=args.judge_rubric,
                            cache_path=args.judge_cache, concurrency=args.judge_concurrency)
    return ScoreOptions(
        prediction_key=getattr(args, "prediction_key", None), system=system, judge=judge,
        use_judge=not args.no_judge, verdict_dir=args.verdicts, write_verdicts_to=write_verdicts_to,
        progress=sys.stderr.isatty(),
    )


def _warn_problems(results: dict) -> None:
    """Unscored records are never silent: a count on stderr, the list in the report."""
    total = results["problems_total"]
    if total:
        files = sorted({p["file"] for p in results["problems"]})
        print(f"warning: {total} record(s) not scored, in {', '.join(files)} "
              "(reasons under 'problems' / '## Problems')", file=sys.stderr)


def run_score(args: argparse.Namespace) -> int:
    from llaso.eval.report import to_markdown, write_reports
    from llaso.eval.score import score_path

    results = score_path(args.path, _score_options(args, args.system, args.out))
    if args.out is not None:
        for path in write_reports(results, args.out):
            print(f"wrote {path}", file=sys.stderr)
    _warn_problems(results)
    print(json.dumps(results, ensure_ascii=False, indent=2) if args.json else to_markdown(results))
    return 0


def run_run(args: argparse.Namespace) -> int:
    from llaso.eval.report import to_markdown, write_reports
    from llaso.eval.run import RunConfig, check_judge_available, run
    from llaso.eval.score import score_path

    config = RunConfig(
        data=args.data, out=args.out, model=args.model, endpoint=args.endpoint, api_model=args.api_model,
        api_key_env=args.api_key_env, audio_root=args.audio_root, tasks=tuple(args.tasks), limit=args.limit,
        batch_size=args.batch_size, max_new_tokens=args.max_new_tokens, temperature=args.temperature,
        top_p=args.top_p, seed=args.seed, device=args.device, dtype=args.dtype, progress=sys.stderr.isatty(),
    )
    options = _score_options(args, args.model or args.api_model, args.out)
    if not args.no_score:
        check_judge_available(config, options)
    summary = run(config)
    rate = summary.samples_per_second
    print(f"{summary.samples} samples in {summary.files} files: {summary.generated} answered now, "
          f"{summary.resumed} resumed, {summary.failed} failed"
          + (f", {rate:.2f} samples/s" if rate else ""), file=sys.stderr)
    if args.no_score:
        return 0
    results = score_path(args.out, options)
    for path in write_reports(results, args.out):
        print(f"wrote {path}", file=sys.stderr)
    _warn_problems(results)
    print(json.dumps(results, ensure_ascii=False, indent=2) if args.json else to_markdown(results))
    return 0


def run_compare(args: argparse.Namespace) -> int:
    from llaso.eval.compare import compare, comparison_markdown, load_results, write_comparison
    from llaso.eval.score import score_path

    options = _score_options(args)
    systems = [load_results(path, score=lambda p: score_path(p, options)) for path in args.systems]
    comparison = compare(systems)
    for path in write_comparison(comparison, args.out):
        print(f"wrote {path}", file=sys.stderr)
    print(comparison_markdown(comparison))
    return 0
