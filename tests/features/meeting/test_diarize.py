"""Clustering and turns: the logic on exact embeddings, the encoder on real voices."""

import numpy as np
import pytest

from llaso.features.meeting.diarize import SpeakerTurn, cluster, smooth, speaker_at, turns_from_windows
from llaso.features.meeting.evaluate import der, speaker_mapping


def voices(counts, seed=0, spread=0.15):
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((len(counts), 256))
    rows, truth = [], []
    for k, n in enumerate(counts):
        rows.append(centres[k] + spread * np.linalg.norm(centres[k]) / 16 * rng.standard_normal((n, 256)))
        truth += [k] * n
    x = np.concatenate(rows)
    return x / np.linalg.norm(x, axis=1, keepdims=True), np.array(truth)


@pytest.mark.parametrize("speakers", [None, 3])
def test_cluster_finds_the_speakers(speakers):
    x, truth = voices([30, 20, 12])
    labels = cluster(x, speakers=speakers)
    assert len(set(labels)) == 3
    for k in range(3):  # each true voice maps to one cluster
        assert len(set(labels[truth == k])) == 1


def test_known_count_is_respected_and_tiny_clusters_fold():
    x, _ = voices([30, 30])
    assert len(set(cluster(x, speakers=1))) == 1
    y, _ = voices([40, 40, 1], seed=1)
    assert len(set(cluster(y))) == 2


def test_windows_become_turns_inside_their_regions():
    times = [(0.0, 1.5, 0), (0.75, 2.25, 0), (1.5, 3.0, 0), (2.25, 3.75, 0), (5.0, 6.5, 1), (5.75, 7.0, 1)]
    labels = np.array([0, 0, 1, 1, 1, 0])
    turns = turns_from_windows(times, labels)
    assert turns[0] == SpeakerTurn(0.0, 1.875, "SPEAKER_1")
    assert turns[1].speaker == "SPEAKER_2" and turns[1].start == 1.875 and turns[1].end == 3.75
    assert turns[2].start == 5.0 and turns[-1].end == 7.0  # the pause 3.75-5.0 is nobody's
    assert smooth(np.array([0, 1, 0, 0]), [0, 0, 0, 0]).tolist() == [0, 0, 0, 0]
    assert speaker_at(turns, 0.2, 0.6) == "SPEAKER_1" and speaker_at(turns, 4.0, 4.1) in ("SPEAKER_1", "SPEAKER_2")


def test_der_and_mapping():
    ref = [("ann", 0.0, 5.0), ("bob", 5.0, 10.0)]
    assert der(ref, [("x", 0.0, 5.0), ("y", 5.0, 10.0)]) == pytest.approx(0.0)
    assert der(ref, [("x", 0.0, 10.0)]) == pytest.approx(0.5)
    assert speaker_mapping(ref, [("x", 0.0, 4.0), ("y", 4.0, 10.0)]) == {"x": "ann", "y": "bob"}


def test_encoder_tells_voices_apart(short_meeting):
    from llaso.audio.stream import read_span
    from llaso.features.meeting.speakers import SpeakerEncoder

    path, labels = short_meeting
    encoder = SpeakerEncoder()
    clips = [(t.speaker, read_span(path, t.start, t.end)) for t in labels.turns if t.end - t.start > 1.5]
    embeds = {}
    for speaker, samples in clips:
        embeds.setdefault(speaker, []).append(encoder.embed_windows(samples, [(0, len(samples))])[0])
    a, b = (np.stack(v) for v in embeds.values())
    same = min(float(np.min(a @ a.T)), float(np.min(b @ b.T)))
    other = float(np.max(a @ b.T))
    assert same > other  # every same-voice pair is closer than any cross-voice pair
