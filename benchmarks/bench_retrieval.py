"""Spoken knowledge retrieval, measured: `llaso index` + `llaso ask` on the evaluation set.

    python benchmarks/retrieval_evalset.py --out runs/retrieval-eval      # once (resumable)
    python benchmarks/bench_retrieval.py --evalset runs/retrieval-eval     # resumable too

Prints, with the machine it ran on:
1. retrieval recall@1 / @5, spoken (Whisper tiny.en transcript) vs typed, BM25 / dense / fused;
2. the refusal threshold per mode, calibrated on the calibration half (balanced accuracy),
   and refusal precision / recall on the test half;
3. answers on the test half (spoken, fused retrieval, 3 passages): llaso-tiny (audio + the
   transcript in the turn) vs the cascade (the transcript into its LLM as text, same
   passages): answer accuracy (at least half of the gold answer's key words in the answer),
   citation precision (cited passages that are gold ones), how often the model cited
   anything itself, supported answers, end-to-end refusal precision / recall;
4. index build speed and query latency p50 / p95 at about 1k and 100k passages.
Results also go to OUT/results.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

MODES = ("bm25", "dense", "fused")
EMBEDDER = "all-MiniLM-L6-v2"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def build_index(path: Path, files: list[str], embedder: str | None):
    from llaso.features.retrieval import PassageIndex

    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    index = PassageIndex.create(path, embedder=embedder)
    began = time.perf_counter()
    report = index.add(files)
    index.optimize()
    seconds = time.perf_counter() - began
    return index, report.passages, seconds


def gold_ids(index, question: dict) -> set[int]:
    """Passages that answer the question: its FAQ section, or the glossary definition."""
    db = index.db
    if question["kind"] == "faq":
        rows = db.execute("SELECT p.id FROM passages p JOIN documents d ON d.id = p.doc_id "
                          "WHERE d.path = ? AND p.heading = ?", (question["source"], question["heading"]))
        return {r[0] for r in rows}
    if question["kind"] == "glossary":
        start = " ".join(question["definition_start"].split())
        rows = db.execute("SELECT p.id, f.text FROM passages p JOIN documents d ON d.id = p.doc_id "
                          "JOIN passages_fts f ON f.rowid = p.id WHERE d.path = ?", (question["source"],))
        return {pid for pid, text in rows if start in " ".join(text.split())}
    return set()


def transcripts(questions: list[dict], evalset: Path, cache: Path) -> dict[str, str]:
    from tqdm import tqdm

    from llaso.inference.transcribe import WhisperTranscriber

    done = json.loads(cache.read_text()) if cache.exists() else {}
    todo = [q for q in questions if q["id"] not in done]
    if todo:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            whisper = WhisperTranscriber.from_pretrained(device="cpu")
        from llaso.atomic import write_json_atomic

        for start in tqdm(range(0, len(todo), 8), desc="transcribing", unit="batch"):
            chunk = todo[start : start + 8]
            for question, result in zip(chunk, whisper.transcribe([str(evalset / q["audio"]) for q in chunk])):
                done[question["id"]] = result.text or ""
            write_json_atomic(cache, done)
    return done


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def retrieval_eval(index, questions, spoken, k=5):
    """Per question, mode and input: ranked ids and relevance."""
    from tqdm import tqdm

    from llaso.features.retrieval import retrieve

    rows = []
    for question in tqdm(questions, desc="retrieving", unit="question"):
        for source, text in (("typed", question["question"]), ("spoken", spoken[question["id"]])):
            for mode in MODES:
                result = retrieve(index, text, k=k, mode=mode)
                rows.append({"id": question["id"], "input": source, "mode": mode,
                             "ranked": [h.passage.id for h in result.hits], "relevance": result.relevance})
    return rows


def answers_eval(model, index, chosen, spoken, evalset, threshold, cache: Path, max_new_tokens: int, gold):
    """llaso-tiny and the cascade on the same passages; resumable through `cache` (JSON lines)."""
    from tqdm import tqdm

    from llaso.features.retrieval import retrieve
    from llaso.features.retrieval.ask import Answer, finish_answer
    from llaso.features.retrieval.metrics import answer_correct, answer_word_share
    from llaso.features.retrieval.prompt import REFUSAL, build_messages
    from llaso.generation.sampling import SamplingParams

    # The cache keeps what the model said; scoring is redone on every run, so a change in
    # the citation checker never needs the (slow) generations again.
    said: dict[tuple[str, str], tuple[str | None, float]] = {}
    if cache.exists():
        for line in cache.read_text().splitlines():
            if line.strip():
                record = json.loads(line)
                raw = None if record.get("refusal_reason") == "retrieval" else record["raw"]
                said[(record["id"], record["pipeline"])] = (raw, record.get("seconds", 0.0))

    def score(question, pipeline, result, raw, seconds):
        answer = Answer(question=spoken[question["id"]], text=REFUSAL, refused=True, supported=False,
                        hits=result.hits, relevance=result.relevance, mode="fused", pipeline=pipeline)
        if raw is None:
            answer.refusal_reason = "retrieval"
        else:
            finish_answer(answer, raw, [h.passage for h in result.hits])
        return {"id": question["id"], "pipeline": pipeline, "kind": question["kind"],
                "raw": answer.raw, "text": answer.text, "refused": answer.refused,
                "refusal_reason": answer.refusal_reason, "supported": answer.supported,
                "cited": [c.passage.id for c in answer.citations], "by_model": [c.by_model for c in answer.citations],
                "gold": sorted(gold[question["id"]]), "seconds": seconds,
                "correct": (not answer.refused) and answer_correct(answer.text, question["answer_words"]),
                "word_share": 0.0 if answer.refused else answer_word_share(answer.text, question["answer_words"])}

    params = SamplingParams(max_new_tokens=max_new_tokens)
    done, jobs = {}, []
    for question in chosen:
        result = retrieve(index, spoken[question["id"]], k=3, mode="fused")
        for pipeline in ("lslm", "cascade"):
            if (question["id"], pipeline) in said:
                done[(question["id"], pipeline)] = score(question, pipeline, result, *said[(question["id"], pipeline)])
            else:
                jobs.append((question, pipeline, result))
    with open(cache, "a") as out:
        for start in tqdm(range(0, len(jobs), 8), desc="answering", unit="batch"):
            batch = jobs[start : start + 8]
            generate = [(q, p, r) for q, p, r in batch if r.hits and r.relevance >= threshold]
            conversations = [build_messages(spoken[q["id"]], [h.passage for h in r.hits],
                                            audio=str(evalset / q["audio"]) if p == "lslm" else None)
                             for q, p, r in generate]
            began = time.perf_counter()
            outputs = model.chat_batch(conversations, params, batch_size=8) if conversations else []
            share = (time.perf_counter() - began) / max(1, len(conversations))
            texts = {(q["id"], p): o.text or "" for (q, p, _), o in zip(generate, outputs)}
            for question, pipeline, result in batch:
                raw = texts.get((question["id"], pipeline))
                record = score(question, pipeline, result, raw, share if raw is not None else 0.0)
                done[(question["id"], pipeline)] = record
                out.write(json.dumps(record) + "\n")
            out.flush()
    return [done[(q["id"], p)] for q in chosen for p in ("lslm", "cascade")]


def scale_eval(out: Path, collection: list[str], questions: list[dict], sizes: list[int], n_queries: int, dense_index):
    """Build speed and query latency on Python 3.11's HTML documentation, topped up to the
    size with text files of its sentences drawn at random (real vocabulary, more of it)."""
    import numpy as np

    from llaso.features.retrieval import retrieve
    from llaso.features.retrieval.passages import split_passages, split_sentences
    from llaso.features.retrieval.readers import iter_document_paths, read_document

    scale_dir = out / "scale"
    scale_dir.mkdir(parents=True, exist_ok=True)
    docs = sorted(str(p) for p in iter_document_paths(["/usr/share/doc/python3.11/html"]))
    counts, sentences = [], []
    for path in docs:
        passages = split_passages(read_document(path))
        counts.append(len(passages))
        for passage in passages[::3]:
            sentences += [s for _, s in split_sentences(passage.text)]
    queries = [q["question"] for q in questions][:n_queries]
    results = []
    _, query_matrix = dense_index.dense_matrix()
    for size in sizes:
        files, total = [], 0
        for path, count in zip(docs, counts):
            if total >= size:
                break
            files.append(path)
            total += count
        filler = scale_dir / f"filler-{size}"
        if total < size:
            filler.mkdir(exist_ok=True)
            rng = random.Random(size)
            number = 0
            while total < size:
                target = filler / f"part-{number:05d}.txt"
                if not target.exists():
                    blocks = []
                    for _ in range(100):
                        chosen, words = [], 0
                        while words < 110:
                            sentence = rng.choice(sentences)
                            chosen.append(sentence)
                            words += len(sentence.split())
                        blocks.append(" ".join(chosen))
                    target.write_text("\n\n".join(blocks) + "\n")
                files.append(str(target))
                total += 100  # about one passage per block
                number += 1
        log(f"scale {size}: building the BM25 index from {len(files)} files")
        index, passages, seconds = build_index(scale_dir / f"index-{size}.sqlite", files, None)
        row = {"target": size, "passages": passages, "build_seconds": seconds, "build_rate": passages / seconds}
        if size <= 2000:  # dense build speed where embedding every passage takes minutes, not hours
            _, dense_passages, dense_seconds = build_index(scale_dir / f"dense-{size}.sqlite", files, EMBEDDER)
            row["dense_build_rate"] = dense_passages / dense_seconds
        # Dense search cost depends on the matrix's size, not its values: the real vectors of
        # the collection, tiled with noise to one per passage of this index.
        ids = [r[0] for r in index.db.execute("SELECT id FROM passages ORDER BY id")]
        noise = np.random.default_rng(0).normal(0, 0.02, (len(ids), query_matrix.shape[1])).astype(np.float32)
        tiled = query_matrix[np.arange(len(ids)) % len(query_matrix)] + noise
        tiled /= np.linalg.norm(tiled, axis=1, keepdims=True)
        index.db.execute("BEGIN")
        index.db.executemany("INSERT OR REPLACE INTO embeddings(passage_id, vector) VALUES (?, ?)",
                             ((pid, tiled[i].astype(np.float16).tobytes()) for i, pid in enumerate(ids)))
        index.db.execute("UPDATE meta SET value = ? WHERE key = 'embedder'", (EMBEDDER,))
        index.db.execute("COMMIT")
        index._meta["embedder"] = EMBEDDER
        index.set_embedder(dense_index.embedder())
        for mode in MODES:
            retrieve(index, queries[0], k=5, mode=mode)  # warm: matrix loaded, caches filled
            times = []
            for query in queries:
                began = time.perf_counter()
                retrieve(index, query, k=5, mode=mode)
                times.append((time.perf_counter() - began) * 1000)
            row[f"{mode}_p50_ms"] = percentile(times, 0.5)
            row[f"{mode}_p95_ms"] = percentile(times, 0.95)
        index.close()
        results.append(row)
        log(f"scale {size}: {row}")
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="spoken knowledge retrieval figures")
    parser.add_argument("--evalset", type=Path, default=ROOT / "runs" / "retrieval-eval")
    parser.add_argument("--out", type=Path, default=None, help="default: EVALSET/bench")
    parser.add_argument("--answers", type=int, default=40, help="answerable test questions to generate for")
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--scale", type=int, nargs="*", default=[1000, 100000])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--only-scale", action="store_true", help="just the build speed and latency figures")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads (on a shared, loaded machine 1 is many times faster than 2)")
    args = parser.parse_args(argv)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    from machine import describe_machine

    from llaso.features.retrieval.metrics import (
        calibrate_threshold,
        citation_precision,
        recall_at_k,
        refusal_precision_recall,
    )

    out = args.out or args.evalset / "bench"
    out.mkdir(parents=True, exist_ok=True)
    manifest = json.loads((args.evalset / "manifest.json").read_text())
    questions = manifest["questions"]
    results: dict = {"machine": describe_machine(), "load_average": os.getloadavg()}

    built = out / "collection.json"
    if built.exists() and (out / "collection.sqlite").exists():  # a rerun (more answers, scale) reuses it
        from llaso.features.retrieval import PassageIndex

        results["collection"] = json.loads(built.read_text())
        index = PassageIndex.open(out / "collection.sqlite")
    else:
        log("indexing the collection (BM25, then BM25 + dense)")
        bm25_index, n_passages, bm25_seconds = build_index(out / "collection-bm25.sqlite", manifest["collection"], None)
        bm25_index.close()
        index, _, dense_seconds = build_index(out / "collection.sqlite", manifest["collection"], EMBEDDER)
        results["collection"] = {"documents": len(manifest["collection"]), "passages": n_passages,
                                 "bm25_build_rate": n_passages / bm25_seconds,
                                 "dense_build_rate": n_passages / dense_seconds}
        built.write_text(json.dumps(results["collection"]))
    if args.only_scale:
        results["scale"] = scale_eval(out, manifest["collection"], questions, args.scale, args.queries, index)
        index.close()
        from llaso.atomic import write_json_atomic

        write_json_atomic(out / "results-scale.json", results)
        print_scale(results["scale"])
        return 0
    gold = {q["id"]: gold_ids(index, q) for q in questions}
    missing = [q["id"] for q in questions if q["kind"] != "unanswerable" and not gold[q["id"]]]
    if missing:
        log(f"{len(missing)} answerable questions have no gold passage and are left out: {missing[:5]}")
    questions = [q for q in questions if q["kind"] == "unanswerable" or gold[q["id"]]]

    log("transcribing the spoken questions")
    spoken = transcripts(questions, args.evalset, out / "transcripts.json")
    rows = retrieval_eval(index, questions, spoken)
    by_id = {q["id"]: q for q in questions}

    table = {}
    for source in ("typed", "spoken"):
        for mode in MODES:
            chosen = [r for r in rows if r["input"] == source and r["mode"] == mode and by_id[r["id"]]["kind"] != "unanswerable"]
            table[(source, mode)] = {f"recall@{k}": statistics.mean(recall_at_k(r["ranked"], gold[r["id"]], k) for r in chosen)
                                     for k in (1, 5)}
            for kind in ("faq", "glossary"):
                part = [r for r in chosen if by_id[r["id"]]["kind"] == kind]
                table[(source, mode)][f"recall@5 {kind}"] = statistics.mean(recall_at_k(r["ranked"], gold[r["id"]], 5) for r in part)
    results["retrieval"] = {f"{s}/{m}": v for (s, m), v in table.items()}

    thresholds, refusal = {}, {}
    for mode in MODES:
        for split in ("calibration", "test"):
            part = [r for r in rows if r["input"] == "spoken" and r["mode"] == mode and by_id[r["id"]]["split"] == split]
            unanswerable = [by_id[r["id"]]["kind"] == "unanswerable" for r in part]
            relevance = [r["relevance"] for r in part]
            if split == "calibration":
                thresholds[mode] = calibrate_threshold(relevance, unanswerable)
            else:
                refused = [v < thresholds[mode] for v in relevance]
                refusal[mode] = refusal_precision_recall(refused, unanswerable)
    results["thresholds"], results["refusal_retrieval"] = thresholds, refusal

    answers = []
    if args.answers > 0:
        import hashlib

        from llaso import Llaso

        log("answering with llaso-tiny and the cascade")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = Llaso.from_pretrained("llaso-tiny", device="cpu")
        test = sorted((q for q in questions if q["split"] == "test"),
                      key=lambda q: hashlib.sha256(q["id"].encode()).hexdigest())
        chosen = [q for q in test if q["kind"] != "unanswerable"][: args.answers]
        chosen += [q for q in test if q["kind"] == "unanswerable"]
        answers = answers_eval(model, index, chosen, spoken, args.evalset, thresholds["fused"],
                               out / "answers.jsonl", args.max_new_tokens, gold)
    summary = {}
    for pipeline in ("lslm", "cascade"):
        part = [a for a in answers if a["pipeline"] == pipeline]
        if not part:
            continue
        answerable = [a for a in part if a["kind"] != "unanswerable"]
        precisions = [p for p in (citation_precision(a["cited"], set(a["gold"])) for a in answerable if not a["refused"]) if p is not None]
        model_cited = [a for a in part if not a["refused"] and any(a["by_model"])]
        answered = [a for a in part if not a["refused"]]
        summary[pipeline] = {
            "answerable": len(answerable),
            "accuracy": statistics.mean(a["correct"] for a in answerable),
            "word_share": statistics.mean(a["word_share"] for a in answerable),
            "citation_precision": statistics.mean(precisions) if precisions else None,
            "model_cited_share": len(model_cited) / len(answered) if answered else 0.0,
            "supported_share": statistics.mean(a["supported"] for a in answered) if answered else 0.0,
            "refusal": refusal_precision_recall([a["refused"] for a in part], [a["kind"] == "unanswerable" for a in part]),
            "seconds_per_answer": statistics.mean(a["seconds"] for a in part if a["seconds"]) if any(a["seconds"] for a in part) else None,
        }
    results["answers"] = summary

    if args.scale:
        results["scale"] = scale_eval(out, manifest["collection"], questions, args.scale, args.queries, index)
    index.close()
    from llaso.atomic import write_json_atomic

    write_json_atomic(out / "results.json", results)
    print_report(results, questions, spoken)
    return 0


def print_report(results: dict, questions: list[dict], spoken: dict) -> None:
    counts = {}
    for q in questions:
        counts[q["kind"]] = counts.get(q["kind"], 0) + 1
    col = results["collection"]
    print(f"Machine: {results['machine']} (load average {', '.join(f'{x:.1f}' for x in results['load_average'])})")
    print(f"Collection: {col['documents']} documents (Debian FAQ, Python 3.11 FAQ and glossary), {col['passages']} passages; "
          f"questions: {counts} ({len(questions)} spoken by 8 voices of 4 engines, a third with noise)")
    print("\n| retrieval (answerable questions) | recall@1 | recall@5 | recall@5 FAQ | recall@5 glossary |")
    print("|---|---|---|---|---|")
    for key, value in results["retrieval"].items():
        print(f"| {key} | {value['recall@1']:.3f} | {value['recall@5']:.3f} | {value['recall@5 faq']:.3f} | {value['recall@5 glossary']:.3f} |")
    print("\n| refusal by retrieval (spoken, test half) | threshold (calibration half) | precision | recall |")
    print("|---|---|---|---|")
    for mode, (p, r) in results["refusal_retrieval"].items():
        print(f"| {mode} | {results['thresholds'][mode]:.3f} | {p:.3f} | {r:.3f} |")
    if results.get("answers"):
        print("\n| answers (spoken, fused, 3 passages, test half) | llaso-tiny (audio + transcript) | cascade (transcript, no audio) |")
        print("|---|---|---|")
        lslm, cascade = results["answers"].get("lslm", {}), results["answers"].get("cascade", {})

        def cell(row, key, fmt="{:.3f}"):
            value = row.get(key)
            return "n/a" if value is None else fmt.format(value)

        for key, label in (("answerable", "answerable questions"), ("accuracy", "answer accuracy (>= half the gold words)"),
                           ("word_share", "gold words in the answer (mean share)"),
                           ("citation_precision", "citation precision (cited passages that are gold)"),
                           ("model_cited_share", "answers where the model cited a passage itself"),
                           ("supported_share", "answers marked supported"), ("seconds_per_answer", "seconds per answer")):
            fmt = "{:d}" if key == "answerable" else "{:.3f}"
            print(f"| {label} | {cell(lslm, key, fmt)} | {cell(cascade, key, fmt)} |")
        print(f"| refusal precision / recall (end to end) | {lslm['refusal'][0]:.3f} / {lslm['refusal'][1]:.3f} | "
              f"{cascade['refusal'][0]:.3f} / {cascade['refusal'][1]:.3f} |")
    if results.get("scale"):
        print_scale(results["scale"])


def print_scale(scale: list[dict]) -> None:
    if scale:
        print("\n| passages | BM25 build (passages/s) | dense build (passages/s) | BM25 p50 / p95 ms | dense p50 / p95 ms | fused p50 / p95 ms |")
        print("|---|---|---|---|---|---|")
        for row in scale:
            dense_rate = f"{row['dense_build_rate']:.0f}" if "dense_build_rate" in row else "-"
            print(f"| {row['passages']:,} | {row['build_rate']:.0f} | {dense_rate} | "
                  + " | ".join(f"{row[f'{m}_p50_ms']:.1f} / {row[f'{m}_p95_ms']:.1f}" for m in MODES) + " |")
        print("(dense vectors at scale: the collection's real vectors tiled with noise, one per passage;"
              " dense build speed measured at the smaller size)")


if __name__ == "__main__":
    sys.exit(main())
