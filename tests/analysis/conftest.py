"""Fixtures for the statistics tests: seeded synthetic panels."""
import numpy as np
import pytest


def synthetic_panel(seed: int, panellists: int = 60, statements: int = 25, missing: float = 0.1,
                    low: int = 1, high: int = 9) -> np.ndarray:
    """Whole-number ratings with NaN holes, including columns with one, two or no ratings and all-identical columns."""
    rng = np.random.default_rng(seed)
    centre = rng.integers(low, high + 1, size=statements)
    x = np.clip(centre + rng.integers(-2, 3, size=(panellists, statements)), low, high).astype(float)
    x[rng.random(x.shape) < missing] = np.nan
    x[:, 0] = np.nan  # nobody rated
    x[1:, 1] = np.nan  # one rating
    x[2:, 2] = np.nan  # two ratings
    x[:, 3] = 5.0  # all identical
    x[: panellists // 2, 4] = np.nan  # about half
    return x


@pytest.fixture
def panel():
    return synthetic_panel(20240601)


@pytest.fixture
def groups4():
    rng = np.random.default_rng(7)
    return rng.choice(np.array(["service_user", "family", "staff", "peer"]), size=60)


@pytest.fixture
def make_panel():
    """``make_panel(seed, panellists=60, statements=25, missing=0.1)``: a seeded synthetic panel."""
    return synthetic_panel
