"""bot.telegram_pacing: which chats have a group budget, and what a budget gives."""

from __future__ import annotations

import pytest

from bot import telegram_pacing
from bot.telegram_pacing import GroupBudgets, group_of


@pytest.mark.parametrize(("chat_id", "group"), [
    (-100123, -100123), ("-100123", -100123), ("@squad_one", "@squad_one"),  # groups and channels, as PTB counts
    (1001, None), ("1001", None), (None, None), (True, None), (1.5, None),
])
def test_group_of(chat_id: object, group: int | str | None) -> None:
    assert group_of(chat_id) == group


async def test_a_budget_gives_its_slots_and_then_none() -> None:
    budgets = GroupBudgets(3, 60.0)
    taken = [await budgets.take_now(-1) for _ in range(4)]
    assert taken == [True, True, True, False]
    assert await budgets.take_now(-2)  # another group has its own budget
    async with budgets.slot(None):  # a private chat waits for nothing
        pass


async def test_no_rate_means_no_limit() -> None:
    budgets = GroupBudgets(0, 0)
    assert not budgets.enabled
    assert all([await budgets.take_now(-1) for _ in range(50)])


async def test_a_spent_budget_survives_the_pruning_of_idle_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(telegram_pacing, "KEEP", 2)
    budgets = GroupBudgets(2, 60.0)
    assert await budgets.take_now(-1) and await budgets.take_now(-1)  # spent
    assert await budgets.take_now(-2) and await budgets.take_now(-2)
    assert await budgets.take_now(-3) and await budgets.take_now(-3)
    assert await budgets.take_now(-4)  # a fourth group: nothing idle to forget, the spent budgets stay
    assert not await budgets.take_now(-1)
