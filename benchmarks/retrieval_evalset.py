"""Build the spoken-question evaluation set for `bench_retrieval.py`, with known truth.

    apt-get install debian-faq python3.11-doc sqlite3-doc     # the documents (Debian packages)
    python benchmarks/retrieval_evalset.py --out runs/retrieval-eval     # resumable

The collection is documentation nobody here wrote, installed offline from Debian: the Debian
FAQ (HTML chapters) and the Python 3.11 FAQ plus its glossary. Questions:
- `faq`: the FAQs' own questions (their section headings, written by the FAQs' authors); the
  gold passages are those of that section, the gold answer the key words of its first
  sentence that the question does not already contain;
- `glossary`: "What does TERM mean in Python?" for each glossary term (a template); gold:
  the passages holding the definition's start;
- `unanswerable`: the questions of FAQ chapters kept out of the index (Debian FAQ chapters
  10 and 14, Python's GUI, Windows and extending FAQs) and of the SQLite FAQ (another
  package): plausible questions whose answers are in no indexed document.
Filters: the question is 3-25 words of plain text (no code), the gold answer has at least
two key words, no question text repeats. Every question is spoken by one of eight voices of
four engines (Piper, flite, festival, espeak-ng) in rotation; every third clip gets coloured
noise at 10-20 dB SNR, half of those also sox reverberation. A stable hash puts each
question in the `calibration` half (refusal threshold) or the `test` half (reported).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

DEBIAN_FAQ = Path("/usr/share/doc/debian/FAQ")
PYTHON_HTML = Path("/usr/share/doc/python3.11/html")
SQLITE_FAQ = Path("/usr/share/doc/sqlite3/faq.html")
PACKAGES = "debian-faq python3.11-doc sqlite3-doc"
HELD_OUT = {"kernel.en.html", "redistributing.en.html", "gui.html", "windows.html", "extending.html"}
VOICES = ("piper:joe", "flite:slt", "festival:cmu_us_slt_arctic_hts", "flite:awb", "piper:joe-bright",
          "flite:rms", "festival:kal_diphone", "espeak-ng:en-us+m3")
_SPEAKABLE = re.compile(r"^[A-Za-z0-9 ,.'’‘\"“”?/!-]+$")
_NUMBERING = re.compile(r"^\s*\(?\d+(?:\.\d+)*\.?\)?\s*")
_TERM = re.compile(r"^[A-Za-z][A-Za-z -]{1,40}$")


def check_documents() -> None:
    missing = [str(p) for p in (DEBIAN_FAQ, PYTHON_HTML / "faq", PYTHON_HTML / "glossary.html", SQLITE_FAQ)
               if not p.exists()]
    if missing:
        raise SystemExit(f"missing {', '.join(missing)}: apt-get install {PACKAGES}")


def faq_files() -> list[Path]:
    return sorted(DEBIAN_FAQ.glob("*.en.html")) + sorted((PYTHON_HTML / "faq").glob("*.html"))


def collection_files() -> list[Path]:
    """The indexed documents."""
    return [p for p in faq_files() if p.name not in HELD_OUT] + [PYTHON_HTML / "glossary.html"]


def split_of(question_id: str) -> str:
    return "calibration" if int(hashlib.sha256(question_id.encode()).hexdigest(), 16) % 2 == 0 else "test"


def gold_words(answer: str, question: str, limit: int = 8) -> list[str]:
    from llaso.features.retrieval.words import content_words, key_words, normalise

    asked = key_words(question)
    chosen: list[str] = []
    for word in content_words(answer):
        if normalise(word) not in asked and word not in chosen:
            chosen.append(word)
    return chosen[:limit]


def usable(question: str) -> bool:
    return bool(_SPEAKABLE.match(question)) and 3 <= len(question.split()) <= 25


def faq_questions(path: Path, kind: str) -> list[dict]:
    from llaso.features.retrieval.passages import split_sentences
    from llaso.features.retrieval.readers import read_document

    document = read_document(path)
    found, seen = [], set()
    for block in document.blocks:
        heading = block.heading
        if not heading or heading in seen or not heading.endswith("?"):
            continue
        seen.add(heading)
        question = " ".join(_NUMBERING.sub("", heading).split())
        first = split_sentences(block.text)[0][1] if split_sentences(block.text) else ""
        words = gold_words(first, question)
        if usable(question) and (kind == "unanswerable" or len(words) >= 2):
            found.append({"kind": kind, "question": question, "source": str(path.resolve()), "heading": heading,
                          "answer": first, "answer_words": words})
    return found


def glossary_questions(path: Path) -> list[dict]:
    import lxml.html

    from llaso.features.retrieval.passages import split_sentences

    root = lxml.html.parse(str(path)).getroot()
    found = []
    for term_element in root.iter("dt"):
        term = " ".join(term_element.text_content().replace("¶", "").split())
        definition = term_element.getnext()
        if definition is None or definition.tag != "dd" or not _TERM.match(term):
            continue
        text = " ".join(definition.text_content().split())
        sentences = split_sentences(text)
        if not sentences:
            continue
        question = f"What does {term} mean in Python?"
        words = gold_words(sentences[0][1], question)
        if len(words) >= 2:
            found.append({"kind": "glossary", "question": question, "source": str(path.resolve()), "term": term,
                          "definition_start": " ".join(text.split()[:8]), "answer": sentences[0][1],
                          "answer_words": words})
    return found


def sqlite_questions(path: Path) -> list[dict]:
    html = path.read_text(encoding="utf-8", errors="replace")
    found = []
    for raw in re.findall(r'<a href="#q\d+">(.*?)</a>', html, flags=re.S):
        question = " ".join(re.sub(r"<[^>]+>", "", raw).split())
        if question.endswith("?") and usable(question):
            found.append({"kind": "unanswerable", "question": question, "source": str(path.resolve()),
                          "answer": "", "answer_words": []})
    return found


def make_questions() -> list[dict]:
    questions: list[dict] = []
    for path in faq_files():
        questions += faq_questions(path, "unanswerable" if path.name in HELD_OUT else "faq")
    questions += glossary_questions(PYTHON_HTML / "glossary.html")
    questions += sqlite_questions(SQLITE_FAQ)
    unique, seen = [], set()
    for item in questions:
        key = item["question"].lower()
        if key not in seen:
            seen.add(key)
            unique.append(item)
    for number, item in enumerate(unique):
        item["id"] = f"{item['kind']}-{number:04d}"
        item["split"] = split_of(item["question"])
        item["voice"] = VOICES[number % len(VOICES)]
    return unique


def speak(questions: list[dict], out: Path, seed: int) -> None:
    import numpy as np
    import soundfile as sf
    from tqdm import tqdm

    from llaso.data.augment import AugmentSpec, apply_augment
    from llaso.data.tts import get_backend
    from llaso.data.tts.voices import voice_catalogue

    voices = {v.id: v for v in voice_catalogue()}
    (out / "audio").mkdir(parents=True, exist_ok=True)
    for number, item in enumerate(tqdm(questions, desc="speaking", unit="question")):
        rng = np.random.default_rng([seed, number])
        spec = AugmentSpec(pad_start=0.2, pad_end=0.3)
        if number % 3 == 2:
            spec.noise = str(rng.choice(["white", "pink", "brown"]))
            spec.snr_db = float(rng.uniform(10, 20))
            if number % 2:
                spec.reverb, spec.room_scale = float(rng.uniform(20, 60)), float(rng.uniform(30, 80))
        item["augment"] = spec.to_dict()
        item["audio"] = f"audio/{item['id']}.wav"
        target = out / item["audio"]
        if target.exists():
            continue
        voice = voices[item["voice"]]
        speech = get_backend(voice.engine).synthesize(item["question"], voice)
        samples = apply_augment(speech.samples, speech.sampling_rate, spec, rng)
        tmp = target.with_suffix(".tmp.wav")
        sf.write(tmp, samples, 16_000, subtype="PCM_16")
        tmp.replace(target)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "retrieval-eval")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    check_documents()
    from llaso.atomic import write_json_atomic

    questions = make_questions()
    speak(questions, args.out, args.seed)
    manifest = {"collection": [str(p.resolve()) for p in collection_files()],
                "held_out": sorted(HELD_OUT) + [str(SQLITE_FAQ)], "seed": args.seed, "questions": questions}
    write_json_atomic(args.out / "manifest.json", manifest)
    counts: dict[str, int] = {}
    for item in questions:
        counts[f"{item['kind']}/{item['split']}"] = counts.get(f"{item['kind']}/{item['split']}", 0) + 1
    print(f"{len(questions)} questions ({json.dumps(counts, sort_keys=True)}) -> {args.out / 'manifest.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
