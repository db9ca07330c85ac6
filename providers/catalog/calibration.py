"""Calibrated estimates: how far the local token estimate is from what each model bills.

After a chat, the input tokens the provider reported are compared with the
local estimate of the same request; the running ratio per model (a mean over
the last samples, so it follows a change) scales later estimates for that
model. The ratios persist as JSON in the data dir: no prompt, no key, only
model ids and numbers.
"""

from __future__ import annotations

import json
import logging
import math
import os
import threading
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger("switchboard.tokens")

FILE_NAME = "calibration.json"
#: The ratio is the mean of about this many recent samples.
WINDOW = 20
#: Ratios outside this band are a different request (a cache hit, a mismatch), not a calibration.
PLAUSIBLE = (0.5, 2.0)
#: Estimates this small carry too much fixed overhead to say anything about the ratio.
MIN_ESTIMATE = 16


@dataclass(frozen=True)
class Ratio:
    value: float
    samples: int


class Calibration:
    def __init__(self, path: Path | None) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._ratios: dict[str, Ratio] = self._load()

    def __repr__(self) -> str:
        return f"<Calibration {len(self._ratios)} models>"

    def ratio(self, model_id: str) -> Ratio | None:
        return self._ratios.get(model_id)

    def apply(self, model_id: str, estimate: int) -> int:
        ratio = self._ratios.get(model_id)
        return estimate if ratio is None else max(0, round(estimate * ratio.value))

    def record(self, model_id: str, estimate: int, reported: int) -> None:
        if estimate < MIN_ESTIMATE or reported <= 0:
            return
        sample = reported / estimate
        if not PLAUSIBLE[0] <= sample <= PLAUSIBLE[1]:
            logger.debug("calibration sample %.2f for %s ignored", sample, model_id)
            return
        with self._lock:
            previous = self._ratios.get(model_id)
            if previous is None:
                updated = Ratio(sample, 1)
            else:
                weight = min(previous.samples, WINDOW - 1)
                value = (previous.value * weight + sample) / (weight + 1)
                updated = Ratio(value, previous.samples + 1)
            self._ratios[model_id] = updated
            self._save()

    def _load(self) -> dict[str, Ratio]:
        if self._path is None or not self._path.exists():
            return {}
        try:
            data = json.loads(self._path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            logger.warning("calibration file unreadable, starting afresh: %s", error)
            return {}
        ratios = {}
        for model_id, entry in (data.get("models", {}) if isinstance(data, dict) else {}).items():
            value, samples = entry.get("ratio"), entry.get("samples")
            if isinstance(value, int | float) and math.isfinite(value) and isinstance(samples, int):
                ratios[model_id] = Ratio(float(value), samples)
        return ratios

    def _save(self) -> None:
        if self._path is None:
            return
        data = {
            "version": 1,
            "about": "reported input tokens / local estimate, per model",
            "models": {
                model_id: {"ratio": round(r.value, 5), "samples": r.samples}
                for model_id, r in sorted(self._ratios.items())
            },
        }
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            temporary = self._path.with_suffix(".tmp")
            temporary.write_text(json.dumps(data, indent=1), encoding="utf-8")
            os.replace(temporary, self._path)
        except OSError as error:
            logger.warning("could not save the calibration: %s", error)
