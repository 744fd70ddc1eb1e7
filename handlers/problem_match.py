"""Which open problem a 解决 means: by its number, by its category, or by the words of the resolution.

`解决 #15 环评已经批了` closes the 审批 problem about the 环评, not the project's oldest problem. With several
open and nothing in the words to tell them apart, the handler asks which.
"""

from __future__ import annotations

from collections.abc import Sequence

from rapidfuzz import fuzz

from handlers.understand.words import CATEGORY_HINTS
from storage.models import Problem

# A best match must lead the next by this many points to be taken without asking.
_MARGIN = 15.0


def _bigrams(text: str) -> set[str]:
    compact = "".join(text.split())
    return {compact[i:i + 2] for i in range(len(compact) - 1)}


def _categories(words: str) -> set[str]:
    return {category for category, hints in CATEGORY_HINTS.items() if any(hint in words for hint in hints)}


def score(problem: Problem, words: str) -> float:
    """How well the words of a resolution fit a problem (0 = nothing in common)."""
    if not words:
        return 0.0
    points = 50.0 if problem.category in _categories(words) else 0.0
    shared = _bigrams(words) & _bigrams(problem.text)
    points += 10.0 * len(shared)
    if len(words) >= 2:
        points += max(0.0, fuzz.partial_ratio(words, problem.text) - 50.0) / 2
    return points


def pick_problem(problems: Sequence[Problem], *, words: str, category: str | None,
                 number: int | None) -> Problem | list[Problem]:
    """The problem meant, or the candidates to ask about (an empty list when none fits)."""
    if number is not None:
        return next((p for p in problems if p.id == number), [])
    if category:
        problems = [p for p in problems if p.category == category]
    if len(problems) <= 1:
        return problems[0] if problems else []
    scored = sorted(((score(p, words), p) for p in problems), key=lambda item: -item[0])
    best, runner_up = scored[0][0], scored[1][0]
    if best > 0 and best - runner_up >= _MARGIN:
        return scored[0][1]
    return [p for _, p in scored]
