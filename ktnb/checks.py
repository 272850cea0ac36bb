"""Checks on the values a user passes in, each failing with one line that names the setting
and what it accepts. Strings are never coerced into numbers: ``batch_size="32"`` is a mistake
worth pointing out, not guessing at.

>>> whole_number("epochs", 3)
3
>>> whole_number("epochs", 2.7)
Traceback (most recent call last):
...
ktnb.errors.TrainingError: epochs must be a whole number of at least 1, got 2.7
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from .errors import KtnbError, TrainingError


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def plain(value: Any) -> Any:
    """A numpy number (``np.float32(0.3)``, ``np.int64(5)``, as arrays and DataFrames hand them
    out) as the Python number it is, so every check below takes it as a number; anything else
    comes back as it is.

    >>> plain(np.float32(0.5)), plain(np.int64(3)), plain("3")
    (0.5, 3, '3')
    """
    return value.item() if isinstance(value, (np.number, np.bool_)) else value


def whole_number(name: str, value: Any, minimum: int = 1, maximum: int | None = None, *,
                 error: type[KtnbError] = TrainingError) -> int:
    """`value` as an int in [minimum, maximum]; bools, floats and strings are refused."""
    if isinstance(value, np.integer):
        value = int(value)
    bounds = f"between {minimum} and {maximum}" if maximum is not None else f"of at least {minimum}"
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum or \
            (maximum is not None and value > maximum):
        raise error(f"{name} must be a whole number {bounds}, got {_shown(value)}")
    return value


def positive_number(name: str, value: Any, *, error: type[KtnbError] = TrainingError) -> float:
    """A finite number above zero (an int or float, not a string)."""
    value = plain(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise error(f"{name} must be a positive number, got {_shown(value)}")
    return float(value)


def number_at_least(name: str, value: Any, minimum: float, *, error: type[KtnbError] = TrainingError) -> float:
    """A finite number >= `minimum`."""
    value = plain(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < minimum:
        raise error(f"{name} must be a number of at least {minimum:g}, got {_shown(value)}")
    return float(value)


def number_between(name: str, value: Any, low: float, high: float, *,
                   error: type[KtnbError] = TrainingError) -> float:
    """A finite number strictly between `low` and `high` (a Python or numpy number, not a string)."""
    value = plain(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low < value < high:
        raise error(f"{name} must be a number between {low:g} and {high:g}, got {_shown(value)}")
    return float(value)


def texts(value: Any, what: str = "predict") -> tuple[list[str], bool]:
    """A text or a sequence of texts, as (list, was_single). Anything that is not a string is
    named by its position rather than silently turned into one ("None", "b'x'")."""
    if isinstance(value, str):
        return [value], True
    if value is None or isinstance(value, (bytes, dict)) or not hasattr(value, "__iter__"):
        raise KtnbError(f"{what} needs a text or a list of texts, got {_shown(value)}")
    items = list(value)
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise KtnbError(f"{what}: item {i} is {_shown(item)} ({type(item).__name__}), not a text; "
                            "give strings only")
    return items, False


def unique_names(name: str, values: Sequence[Any], *, error: type[KtnbError] = KtnbError) -> list[str]:
    """A list of distinct, non-empty names (class names, label names). A lone string is
    refused rather than split into its letters."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise error(f"{name} must be a list of names, e.g. [neg, pos], got {_shown(values)}")
    names = [str(v) for v in values]
    seen: set[str] = set()
    for item in names:
        if not item.strip():
            raise error(f"{name} has an empty name; every name must be non-empty")
        if item in seen:
            raise error(f"{name} has {item!r} twice; each name must appear once")
        seen.add(item)
    return names
