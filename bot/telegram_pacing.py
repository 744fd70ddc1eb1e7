"""Telegram flood limits: each group's budget of messages, shared by requests and webhook-body answers.

PTB's AIORateLimiter paces requests (30 a second overall, 20 a minute per group, 429s retried), but its
per-group limiters are private, and an answer returned in the webhook response is no request: it must
still take a slot of its group's budget, or a busy group earns 429s. So the group budgets live here
(aiolimiter, which PTB's rate-limiter extra uses too), and `GroupPacedRateLimiter` puts every request
to a group through them before handing it to an AIORateLimiter that keeps the overall pace and the 429
retries (its own group limiting off).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

from aiolimiter import AsyncLimiter
from telegram.ext import AIORateLimiter, BaseRateLimiter

KEEP = 512  # budgets kept before idle ones (full capacity again) are forgotten


def group_of(chat_id: object) -> int | str | None:
    """The budget key of a request's chat: a negative id or an @username is a group (or channel), as PTB
    counts them; a private chat (positive id) or no chat has no group budget."""
    if isinstance(chat_id, bool) or chat_id is None:
        return None
    try:
        number = int(chat_id)  # type: ignore[call-overload]  # int, or a numeric string
    except (TypeError, ValueError):
        return chat_id if isinstance(chat_id, str) else None
    return number if number < 0 else None


class GroupBudgets:
    """`rate` messages per `period` seconds for each group chat, in bursts of up to `rate`."""

    def __init__(self, rate: float, period: float) -> None:
        self.rate = rate
        self.period = period
        self._limiters: dict[int | str, AsyncLimiter] = {}

    @property
    def enabled(self) -> bool:
        """Whether groups are limited at all (a zero rate or period turns it off, as in PTB)."""
        return bool(self.rate and self.period)

    def _limiter(self, group: int | str) -> AsyncLimiter:
        limiter = self._limiters.get(group)
        if limiter is None:
            if len(self._limiters) > KEEP:  # a budget back to full remembers nothing worth keeping
                self._limiters = {key: kept for key, kept in self._limiters.items()
                                  if not kept.has_capacity(kept.max_rate)}
            limiter = self._limiters[group] = AsyncLimiter(self.rate, self.period)
        return limiter

    async def take_now(self, group: int | str) -> bool:
        """Take one slot of the group's budget if one is free now; False (nothing taken) if not."""
        if not self.enabled:
            return True
        limiter = self._limiter(group)
        if not limiter.has_capacity():
            return False
        await limiter.acquire()  # immediate: the capacity is there
        return True

    @contextlib.asynccontextmanager
    async def slot(self, group: int | str | None) -> AsyncIterator[None]:
        """Wait for a slot of the group's budget (none for a private chat) for the block."""
        if group is None or not self.enabled:
            yield
            return
        async with self._limiter(group):
            yield


class GroupPacedRateLimiter(BaseRateLimiter[int]):
    """PTB's rate-limiter interface: the group's budget first, then AIORateLimiter for the rest.

    The group slot is taken once per request, before AIORateLimiter's overall pace and its 429 retries
    (a request Telegram refused with 429 was not delivered, so its retry needs no second slot).
    """

    def __init__(self, budgets: GroupBudgets, *, overall_max_rate: float, overall_time_period: float,
                 max_retries: int) -> None:
        self.budgets = budgets
        self._inner = AIORateLimiter(overall_max_rate=overall_max_rate, overall_time_period=overall_time_period,
                                     group_max_rate=0, max_retries=max_retries)

    async def initialize(self) -> None:
        """Initialize the inner AIORateLimiter."""
        await self._inner.initialize()

    async def shutdown(self) -> None:
        """Shut the inner AIORateLimiter down."""
        await self._inner.shutdown()

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        """Hold the request until its group has a slot, then let AIORateLimiter pace and send it."""
        # A paid broadcast has its own pace in AIORateLimiter, outside the group limits.
        group = None if data.get("allow_paid_broadcast") else group_of(data.get("chat_id"))
        async with self.budgets.slot(group):
            return await self._inner.process_request(callback, args, kwargs, endpoint, data, rate_limit_args)
