"""Learned decisions as plain data: logistic models read from JSON, applied in pure Python.

A ``LinearModel`` is a bias, a mapping feature name -> weight and a threshold. Features are
sparse (name -> value), so inference is a sum over the article's few features; no
scikit-learn or numpy at run time. ``contributions`` gives value x weight per feature, which
is what ``explain`` shows. ``ModelSet`` bundles every decision the engine takes and is what
storywatch/storyline/models/storyline.json holds.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from storywatch.storyline.features import Sparse

MODELS_DIR = Path(__file__).resolve().parent / "models"
DEFAULT_MODELS = MODELS_DIR / "storyline.json"
# Decision names, in the order the engine applies them.
ARTICLE_DECISIONS = ("relevant", "development", "known")


@dataclass
class LinearModel:
    """p = sigmoid(sum(weight[f] * value[f])); the decision is p >= threshold."""

    name: str
    weights: dict[str, float]
    threshold: float = 0.5

    def score(self, features: Sparse) -> float:
        weights = self.weights
        z = sum(weights.get(name, 0.0) * value for name, value in features.items())
        return _sigmoid(z)

    def decide(self, features: Sparse) -> bool:
        return self.score(features) >= self.threshold

    def contributions(self, features: Sparse, top: int = 5) -> list[tuple[str, float, float]]:
        """(feature, value, weight x value) of the strongest features, both signs."""
        parts = [
            (name, value, self.weights[name] * value)
            for name, value in features.items()
            if name in self.weights and name != "bias" and self.weights[name] * value
        ]
        parts.sort(key=lambda p: (-abs(p[2]), p[0]))
        return parts[:top]

    def top_weights(self, top: int = 15) -> list[tuple[str, float]]:
        ranked = sorted(self.weights.items(), key=lambda kv: (-abs(kv[1]), kv[0]))
        return ranked[:top]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "threshold": round(self.threshold, 4),
            "weights": {k: round(v, 5) for k, v in sorted(self.weights.items())},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LinearModel:
        return cls(data["name"], dict(data["weights"]), float(data["threshold"]))


@dataclass
class ModelSet:
    """Every learned decision: article models, one model per type, the pair model."""

    relevant: LinearModel
    development: LinearModel
    known: LinearModel
    types: dict[str, LinearModel]
    same: LinearModel
    meta: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "meta": self.meta,
            "relevant": self.relevant.to_dict(),
            "development": self.development.to_dict(),
            "known": self.known.to_dict(),
            "types": {k: m.to_dict() for k, m in sorted(self.types.items())},
            "same": self.same.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelSet:
        return cls(
            relevant=LinearModel.from_dict(data["relevant"]),
            development=LinearModel.from_dict(data["development"]),
            known=LinearModel.from_dict(data["known"]),
            types={k: LinearModel.from_dict(m) for k, m in data["types"].items()},
            same=LinearModel.from_dict(data["same"]),
            meta=dict(data.get("meta", {})),
        )

    def dumps(self) -> str:
        """Canonical JSON: sorted keys, fixed rounding, so equal models are equal bytes."""
        return json.dumps(self.to_dict(), sort_keys=True, indent=1, ensure_ascii=False) + "\n"

    def all_models(self) -> list[LinearModel]:
        return [self.relevant, self.development, self.known, *self.types.values(), self.same]


def load_models(path: Path | None = None) -> ModelSet:
    """The shipped models (or those at ``path``)."""
    return _load(str(path or DEFAULT_MODELS))


@lru_cache(maxsize=8)
def _load(path: str) -> ModelSet:
    return ModelSet.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)
