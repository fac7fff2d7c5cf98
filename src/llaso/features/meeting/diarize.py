"""Who spoke when: speaker embeddings of short windows of speech, clustered, smoothed into turns.

Windows of 1.5 s (hop 0.75 s) inside the VAD's speech regions are embedded as the pieces
stream past (`WindowCollector`), so the audio itself is never held whole; at the end the
embeddings are clustered (agglomerative, cosine, average linkage: a known number of speakers
or a distance threshold), each window is re-assigned to its nearest cluster centre, lone
windows between two of another speaker are smoothed away, and runs become turns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from llaso.audio import SAMPLING_RATE
from llaso.audio.vad import Piece

WINDOW_SECONDS = 1.5
HOP_SECONDS = 0.75
MIN_WINDOW_SECONDS = 0.4
DISTANCE_THRESHOLD = 0.35  # cosine distance between cluster means; see benchmarks/bench_long_audio.py
MAX_CLUSTERED = 4000  # windows clustered exactly; the rest join their nearest centre


@dataclass(frozen=True)
class SpeakerTurn:
    start: float
    end: float
    speaker: str


class WindowCollector:
    """Embeds windows of each piece's speech as it comes; keeps only times and embeddings."""

    def __init__(self, encoder) -> None:
        self.encoder = encoder
        self.times: list[tuple[float, float, int]] = []  # (start, end, region id)
        self.embeddings: list[np.ndarray] = []
        self._region = 0

    def add(self, piece: Piece) -> None:
        windows: list[tuple[int, int]] = []
        for a, b in piece.speech:
            if b - a < MIN_WINDOW_SECONDS:
                continue
            starts = np.arange(a, max(a, b - WINDOW_SECONDS) + 1e-6, HOP_SECONDS)
            for s in starts:
                e = min(b, s + WINDOW_SECONDS)
                if e - s >= MIN_WINDOW_SECONDS:
                    windows.append((int((s - piece.start) * SAMPLING_RATE), int((e - piece.start) * SAMPLING_RATE)))
                    self.times.append((float(s), float(e), self._region))
            self._region += 1
        if windows:
            self.embeddings.append(self.encoder.embed_windows(piece.samples, windows))

    def matrix(self) -> np.ndarray:
        return np.concatenate(self.embeddings) if self.embeddings else np.zeros((0, 256), np.float32)


def cluster(embeddings: np.ndarray, speakers: int | None = None,
            threshold: float = DISTANCE_THRESHOLD, seed: int = 0) -> np.ndarray:
    """Cluster ids (0..k-1) for unit-vector embeddings."""
    from scipy.cluster.hierarchy import fcluster, linkage

    n = len(embeddings)
    if n == 0:
        return np.zeros(0, int)
    if n == 1 or speakers == 1:
        return np.zeros(n, int)
    chosen = np.arange(n)
    if n > MAX_CLUSTERED:
        chosen = np.sort(np.random.default_rng(seed).choice(n, size=MAX_CLUSTERED, replace=False))
    tree = linkage(embeddings[chosen], method="average", metric="cosine")
    if speakers:
        labels = fcluster(tree, t=min(speakers, len(chosen)), criterion="maxclust") - 1
    else:
        labels = fcluster(tree, t=threshold, criterion="distance") - 1
    # Centres, then every window to its nearest centre (also those left out above).
    ids = np.unique(labels)
    centres = np.stack([embeddings[chosen][labels == k].mean(axis=0) for k in ids])
    centres /= np.linalg.norm(centres, axis=1, keepdims=True).clip(1e-8)
    assigned = np.argmax(embeddings @ centres.T, axis=1)
    if not speakers:  # clusters of a window or two are noise: fold them into the nearest big one
        counts = np.bincount(assigned, minlength=len(ids))
        big = counts >= max(2, int(0.03 * n))
        if big.any() and not big.all():
            scores = embeddings @ centres[big].T
            assigned = np.flatnonzero(big)[np.argmax(scores, axis=1)]
    _, relabelled = np.unique(assigned, return_inverse=True)
    return relabelled


def smooth(labels: np.ndarray, regions: list[int]) -> np.ndarray:
    """A single window labelled unlike both neighbours in the same region takes their label."""
    out = labels.copy()
    for i in range(1, len(labels) - 1):
        if regions[i - 1] == regions[i] == regions[i + 1] and labels[i - 1] == labels[i + 1] != labels[i]:
            out[i] = labels[i - 1]
    return out


def turns_from_windows(times: list[tuple[float, float, int]], labels: np.ndarray) -> list[SpeakerTurn]:
    """Each window owns the part of its region nearest its centre; runs of one label become
    turns. Turns stay inside speech regions (a pause is nobody's turn)."""
    if not times:
        return []
    order = sorted(range(len(times)), key=lambda i: (times[i][2], times[i][0]))
    first_seen: dict[int, int] = {}
    for i in order:
        first_seen.setdefault(int(labels[i]), len(first_seen))
    name = {label: f"SPEAKER_{rank + 1}" for label, rank in first_seen.items()}
    bounds: dict[int, tuple[float, float]] = {}
    for s, e, r in times:
        a, b = bounds.get(r, (s, e))
        bounds[r] = (min(a, s), max(b, e))
    cores = []
    for position, i in enumerate(order):
        s, e, r = times[i]
        centre = (s + e) / 2
        previous = order[position - 1] if position > 0 and times[order[position - 1]][2] == r else None
        following = order[position + 1] if position + 1 < len(order) and times[order[position + 1]][2] == r else None
        left = bounds[r][0] if previous is None else (sum(times[previous][:2]) / 2 + centre) / 2
        right = bounds[r][1] if following is None else (sum(times[following][:2]) / 2 + centre) / 2
        cores.append((left, right, r, name[int(labels[i])]))
    turns: list[SpeakerTurn] = []
    for left, right, _r, speaker in cores:
        if turns and turns[-1].speaker == speaker and abs(turns[-1].end - left) < 1e-6:
            turns[-1] = SpeakerTurn(turns[-1].start, round(right, 3), speaker)
        else:
            turns.append(SpeakerTurn(round(left, 3), round(right, 3), speaker))
    return [t for t in turns if t.end > t.start]


def diarize(collector: WindowCollector, speakers: int | None = None,
            threshold: float = DISTANCE_THRESHOLD) -> list[SpeakerTurn]:
    embeddings = collector.matrix()
    labels = cluster(embeddings, speakers=speakers, threshold=threshold)
    labels = smooth(labels, [r for _, _, r in collector.times])
    return turns_from_windows(collector.times, labels)


def speaker_at(turns: list[SpeakerTurn], start: float, end: float) -> str | None:
    """The speaker who talks most within [start, end] (the nearest turn if none overlaps)."""
    if not turns:
        return None
    best, best_overlap = None, 0.0
    for turn in turns:
        overlap = min(end, turn.end) - max(start, turn.start)
        if overlap > best_overlap:
            best, best_overlap = turn.speaker, overlap
    if best is not None:
        return best
    middle = (start + end) / 2
    return min(turns, key=lambda t: min(abs(t.start - middle), abs(t.end - middle))).speaker
