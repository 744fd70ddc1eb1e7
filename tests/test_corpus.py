"""The corpus of messages as squads write them (issue 13), on SQLite and PostgreSQL.

Every case of tests/corpus/messages.txt is sent to the district of tests/corpus/seed.txt and judged: the
bot must do what the case expects (store, ask, answer, stay silent, hint or refuse), what it stores (after
the sender confirms, for a question) must be what the case says, and nothing may ever be stored wrong — a
project named after a particle, verb, date or amount, or an amount-like word kept in a note unasked.
"""

from __future__ import annotations

from collections import Counter

from sqlmodel import func, select

from storage.models import Project
from tests.corpus_support import (
    CASE_TIME,
    Sender,
    build_seed,
    judge,
    load_cases,
    make_corpus_core,
    restore_snapshot,
    take_snapshot,
)
from tests.helpers import MovableClock


def test_the_corpus_is_large_and_well_formed() -> None:
    cases = load_cases()
    assert len(cases) >= 400
    assert {case.outcome for case in cases} >= {"stored", "asks", "answers", "silent", "hint", "refused"}


async def test_every_corpus_message_is_read_right_or_asked(engine, sessions) -> None:
    clock = MovableClock()
    sender = Sender(make_corpus_core(sessions, clock))
    await build_seed(sender, clock)
    async with sessions() as session:
        seed_max = (await session.exec(select(func.max(Project.id)))).one() or 0
    snapshot = await take_snapshot(engine)
    results = []
    for case in load_cases():
        await restore_snapshot(engine, snapshot)
        clock.now = CASE_TIME
        results.append(await judge(case, sender, sessions, seed_max))
    failures = [r for r in results if r.problems]
    counts = Counter(r.outcome for r in results)
    wrong = [r for r in results if r.stored_wrong]
    total = len(results)
    print(f"\ncorpus: {total} messages; read right {total - len(failures)} ({(total - len(failures)) / total:.1%}); "
          f"asked {counts['asks']} ({counts['asks'] / total:.1%}); stored wrong {len(wrong)} "
          f"({len(wrong) / total:.1%}); outcomes {dict(counts)}")
    report = "\n".join(f"line {r.case.line}: {'STORED WRONG ' if r.stored_wrong else ''}{r.case.message!r}: "
                       + "; ".join(r.problems) for r in failures)
    assert not failures, f"{len(failures)} of {total} cases not read as expected ({len(wrong)} stored wrong):\n{report}"
