from __future__ import annotations

import pytest

from llaso.train.config import ScheduleSection
from llaso.train.schedule import lr_factor


def test_warmup_then_cosine_to_floor() -> None:
    s = ScheduleSection(kind="cosine", warmup_steps=10, max_steps=110, min_lr_ratio=0.1)
    assert lr_factor(0, s) == pytest.approx(0.1)
    assert lr_factor(9, s) == pytest.approx(1.0)
    assert lr_factor(10, s) == pytest.approx(1.0)
    assert lr_factor(60, s) == pytest.approx(0.55)
    assert lr_factor(110, s) == pytest.approx(0.1)
    values = [lr_factor(i, s) for i in range(10, 111)]
    assert all(a >= b for a, b in zip(values, values[1:]))


def test_linear_and_constant() -> None:
    assert lr_factor(50, ScheduleSection(kind="linear", max_steps=100)) == pytest.approx(0.5)
    assert lr_factor(99, ScheduleSection(kind="constant", max_steps=100)) == 1.0
