"""Calibration of local estimates against billed input tokens."""

from __future__ import annotations

from pathlib import Path

import pytest
from switchboard.providers.catalog.calibration import WINDOW, Calibration


def test_ratio_moves_to_the_billed_input_and_persists(tmp_path: Path) -> None:
    path = tmp_path / "calibration.json"
    calibration = Calibration(path)
    assert calibration.apply("box/m", 1_000) == 1_000
    for _ in range(3):
        calibration.record("box/m", 1_000, 1_100)
    assert calibration.apply("box/m", 2_000) == 2_200
    reloaded = Calibration(path)
    ratio = reloaded.ratio("box/m")
    assert ratio is not None and ratio.samples == 3 and ratio.value == pytest.approx(1.1)
    assert reloaded.apply("other/m", 500) == 500


def test_the_ratio_follows_a_change_within_its_window(tmp_path: Path) -> None:
    calibration = Calibration(None)
    for _ in range(50):
        calibration.record("m", 1_000, 1_000)
    for _ in range(3 * WINDOW):
        calibration.record("m", 1_000, 1_200)
    ratio = calibration.ratio("m")
    assert ratio is not None and ratio.value == pytest.approx(1.2, abs=0.01)


def test_implausible_or_tiny_samples_are_ignored() -> None:
    calibration = Calibration(None)
    calibration.record("m", 1_000, 5_000)  # a cached prefix or a different request
    calibration.record("m", 1_000, 100)
    calibration.record("m", 5, 6)
    calibration.record("m", 1_000, 0)
    assert calibration.ratio("m") is None


def test_a_damaged_file_starts_afresh(tmp_path: Path) -> None:
    path = tmp_path / "calibration.json"
    path.write_text("{not json")
    calibration = Calibration(path)
    assert calibration.ratio("m") is None
    calibration.record("m", 1_000, 1_050)
    assert Calibration(path).ratio("m") is not None
