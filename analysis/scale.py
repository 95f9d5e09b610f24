"""The rating scale and the checks every function applies to a ratings matrix before it computes anything."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Scale", "check_ratings"]


def _is_whole(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


@dataclass(frozen=True)
class Scale:
    """A rating scale of whole numbers ``min..max`` with an agreement band and a disagreement band.

    Bands are inclusive, lie inside ``[min, max]`` and do not overlap; *neutral* is what lies strictly between them
    (possibly nothing, when the bands touch).

    Parameters
    ----------
    min, max : int
        The lowest and highest rating.
    agree, disagree : tuple of int
        ``(low, high)`` of the band counted by ``pct_agree`` and ``pct_disagree``.

    Examples
    --------
    >>> scale = Scale(min=1, max=9, agree=(7, 9), disagree=(1, 3))
    >>> scale.neutral, scale.n_points
    ((4, 6), 9)
    >>> Scale(min=1, max=5, agree=(4, 5), disagree=(1, 2)).neutral
    (3, 3)
    """

    min: int = 1
    max: int = 9
    agree: tuple[int, int] = (7, 9)
    disagree: tuple[int, int] = (1, 3)

    def __post_init__(self):
        if not (_is_whole(self.min) and _is_whole(self.max)):
            raise ValueError(f"scale: min and max must be whole numbers, got {self.min!r} and {self.max!r}")
        if self.min >= self.max:
            raise ValueError(f"scale: min ({self.min}) must be smaller than max ({self.max})")
        for name in ("agree", "disagree"):
            band = getattr(self, name)
            if (not isinstance(band, (tuple, list)) or len(band) != 2
                    or not all(_is_whole(v) for v in band)):
                raise ValueError(f"scale: {name} must be two whole numbers (low, high), got {band!r}")
            if band[0] > band[1]:
                raise ValueError(f"scale: the {name} band {tuple(band)} has its low end above its high end")
            if band[0] < self.min or band[1] > self.max:
                raise ValueError(f"scale: the {name} band {tuple(band)} must lie on the scale {self.min}-{self.max}")
            object.__setattr__(self, name, (int(band[0]), int(band[1])))
        if not (self.agree[1] < self.disagree[0] or self.disagree[1] < self.agree[0]):
            raise ValueError(f"scale: the agree band {self.agree} and the disagree band {self.disagree} overlap")
        object.__setattr__(self, "min", int(self.min))
        object.__setattr__(self, "max", int(self.max))

    @property
    def n_points(self) -> int:
        """Number of points on the scale, ``max - min + 1``."""
        return self.max - self.min + 1

    @property
    def points(self) -> np.ndarray:
        """The scale points as a float array."""
        return np.arange(self.min, self.max + 1, dtype=float)

    @property
    def neutral(self) -> tuple[int, int]:
        """``(low, high)`` of the ratings strictly between the two bands; ``low > high`` when the bands touch."""
        lower, upper = sorted((self.agree, self.disagree))
        return (lower[1] + 1, upper[0] - 1)


def check_ratings(ratings, scale: Scale | None = None, name: str = "ratings") -> np.ndarray:
    """Return ``ratings`` as a 2-D float array, or raise ``ValueError`` saying what is wrong with it.

    Every value must be finite or NaN (no rating); with a ``scale``, every rating must also be a whole number on it.

    Examples
    --------
    >>> check_ratings([[1, 9], [np.nan, 5]], Scale()).shape
    (2, 2)
    >>> check_ratings([[1, 10]], Scale())
    Traceback (most recent call last):
    ...
    ValueError: ratings: 10 (panellist row 1, statement column 2) is off the scale 1-9
    """
    try:
        x = np.asarray(ratings, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: must be numbers (NaN for no rating)") from None
    if x.ndim != 2:
        raise ValueError(f"{name}: must be a 2-D array of shape (panellists, statements), got {x.ndim} dimension(s)")
    if np.isinf(x).any():
        row, col = np.argwhere(np.isinf(x))[0]
        raise ValueError(f"{name}: infinite value at panellist row {row + 1}, statement column {col + 1}")
    if scale is not None:
        if not isinstance(scale, Scale):
            raise ValueError(f"scale: expected an analysis.Scale, got {type(scale).__name__}")
        with np.errstate(invalid="ignore"):
            bad = ~np.isnan(x) & ((x < scale.min) | (x > scale.max) | (x != np.round(x)))
        if bad.any():
            row, col = np.argwhere(bad)[0]
            value = x[row, col]
            where = f"(panellist row {row + 1}, statement column {col + 1})"
            if scale.min <= value <= scale.max:
                raise ValueError(f"{name}: {value:g} {where} is not a whole number")
            raise ValueError(f"{name}: {value:g} {where} is off the scale {scale.min}-{scale.max}")
    return x
