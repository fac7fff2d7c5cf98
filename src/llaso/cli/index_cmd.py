"""`llaso index build|add|remove|stats|search`: the document index that `llaso ask` reads."""

from __future__ import annotations

import argparse
import json
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("index", help="index your documents for `llaso ask` (SQLite FTS5, optional dense)")
    commands = parser.add_subparsers(dest="index_command", metavar="SUBCOMMAND", required=True)

    build = commands.add_parser("build", help="index files and folders into a new index (a rerun resumes)")
    build.add_argument("docs", nargs="+", help="text, Markdown, HTML or PDF files, or folders of them")
    build.add_argument("--out", required=True, help="the index file to write (SQLite)")
    build.add_argument("--dense", action="store_true",
                       help="also store sentence embeddings (all-MiniLM-L6-v2; needs llaso[retrieval])")
    build.add_argument("--embedder", default=None, help="embedding model: all-MiniLM-L6-v2 or a local folder")
    build.add_argument("--passage-words", type=int, default=120, help="words per passage (default 120)")
    build.add_argument("--overlap-words", type=int, default=30, help="words repeated between passages (default 30)")
    build.set_defaults(handler=run_build)

    add = commands.add_parser("add", help="add or update files (unchanged files and duplicates are skipped)")
    add.add_argument("index")
    add.add_argument("docs", nargs="+")
    add.set_defaults(handler=run_add)

    remove = commands.add_parser("remove", help="remove files, or every file under a folder")
    remove.add_argument("index")
    remove.add_argument("docs", nargs="*")
    remove.add_argument("--missing", action="store_true", help="also remove documents whose file is gone")
    remove.set_defaults(handler=run_remove)

    stats = commands.add_parser("stats", help="documents, passages, settings")
    stats.add_argument("index")
    stats.add_argument("--json", action="store_true")
    stats.add_argument("--documents", action="store_true", help="list the indexed documents")
    stats.set_defaults(handler=run_stats)

    search = commands.add_parser("search", help="show the passages a question retrieves (no model)")
    search.add_argument("index")
    search.add_argument("query")
    search.add_argument("--top-k", type=int, default=5)
    search.add_argument("--mode", default="auto", choices=["auto", "bm25", "dense", "fused"])
    search.add_argument("--json", action="store_true")
    search.set_defaults(handler=run_search)


def _add_with_progress(index, docs: list[str]) -> int:
    from tqdm import tqdm

    from llaso.features.retrieval.readers import iter_document_paths

    files = list(iter_document_paths(docs))
    with tqdm(total=len(files), unit="file", desc="indexing", disable=not sys.stderr.isatty()) as bar:
        report = index.add(files, progress=lambda _: bar.update(1))
    for path, reason in report.failed:
        print(f"skipped {path}: {reason}", file=sys.stderr)
    for path, twin in report.duplicates:
        print(f"skipped {path}: same content as {twin}", file=sys.stderr)
    rate = report.passages / report.seconds if report.seconds else 0.0
    print(f"{len(report.added)} added, {len(report.updated)} updated, {len(report.unchanged)} unchanged, "
          f"{len(report.duplicates)} duplicates, {len(report.failed)} failed; {report.passages} passages "
          f"in {report.seconds:.1f} s ({rate:.0f}/s)")
    return 1 if report.failed else 0


def run_build(args: argparse.Namespace) -> int:
    from llaso.errors import LlasoError
    from llaso.features.retrieval.embeddings import DEFAULT_EMBEDDER
    from llaso.features.retrieval.index import PassageIndex
    from llaso.features.retrieval.passages import PassageSettings

    try:
        settings = PassageSettings(args.passage_words, args.overlap_words)
    except ValueError as exc:
        raise LlasoError(str(exc)) from None
    embedder = args.embedder or (DEFAULT_EMBEDDER if args.dense else None)
    if embedder:  # fail before the index file is made if the model cannot load
        from llaso.features.retrieval.embeddings import check_model_folder, embedder_directory

        check_model_folder(embedder_directory(embedder))
    with PassageIndex.create(args.out, settings, embedder=embedder) as index:
        status = _add_with_progress(index, args.docs)
        index.optimize()
    return status


def run_add(args: argparse.Namespace) -> int:
    from llaso.features.retrieval.index import PassageIndex

    with PassageIndex.open(args.index) as index:
        return _add_with_progress(index, args.docs)


def run_remove(args: argparse.Namespace) -> int:
    from llaso.errors import LlasoError
    from llaso.features.retrieval.index import PassageIndex

    if not args.docs and not args.missing:
        raise LlasoError("name the files or folders to remove, or pass --missing")
    with PassageIndex.open(args.index) as index:
        removed = index.remove(args.docs, missing=args.missing)
    for path in removed:
        print(f"removed {path}")
    print(f"{len(removed)} documents removed")
    return 0


def run_stats(args: argparse.Namespace) -> int:
    from llaso.features.retrieval.index import PassageIndex

    with PassageIndex.open(args.index) as index:
        stats = index.stats()
        documents = index.documents() if args.documents else None
    if args.json:
        print(json.dumps({**stats.to_dict(), **({"documents_list": documents} if documents is not None else {})}))
        return 0
    kinds = ", ".join(f"{n} {k}" for k, n in sorted(stats.kinds.items())) or "none"
    print(f"{stats.path}: {stats.documents} documents ({kinds}), {stats.passages} passages, "
          f"{stats.words} words, {stats.bytes_on_disk / 2**20:.1f} MiB")
    print(f"passages of {stats.max_words} words, {stats.overlap_words} overlapping; "
          f"dense: {stats.embedder or 'no (BM25 only)'}")
    for doc in documents or []:
        print(f"  {doc['path']}  ({doc['kind']}, {doc['passages']} passages)")
    return 0


def run_search(args: argparse.Namespace) -> int:
    from llaso.features.retrieval.index import PassageIndex
    from llaso.features.retrieval.search import retrieve

    with PassageIndex.open(args.index) as index:
        result = retrieve(index, args.query, k=args.top_k, mode=args.mode)
    if args.json:
        print(json.dumps({"query": result.query, "mode": result.mode, "relevance": result.relevance,
                          "hits": [{"score": h.score, "coverage": h.coverage, "cosine": h.cosine,
                                    **h.passage.to_dict()} for h in result.hits]}))
        return 0
    print(f"mode {result.mode}, relevance {result.relevance:.2f}, {result.seconds * 1000:.1f} ms")
    for rank, hit in enumerate(result.hits, 1):
        text = " ".join(hit.passage.text.split()[:40])
        print(f"[{rank}] {hit.score:.3f}  {hit.passage.path}, {hit.passage.position}\n    {text} ...")
    return 0
