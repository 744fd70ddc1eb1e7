"""Properties of understanding, through Core.handle on both backends (issue 13).

Messages are put together from the pieces squads use — verbs (canonical and in sentences), particles and
adverbs, names good and bad, amounts in every spoken form (vague ones too), dates, places, `#id`s, filler —
in any order, glued or spaced, and sent to the corpus district; some questions are answered 1. Whatever
comes of it, two things never happen:

- a project is stored with a name that is a particle, pronoun, verb, adverb, date or amount;
- an amount-like word ends in a note without the sender having been asked.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text
from sqlmodel import func

from handlers.amounts import looks_like_amount
from handlers.understand.guards import bad_name
from storage.db import create_engine, session_factory
from storage.models import Event, Project
from tests.corpus_support import CASE_TIME, TODAY, Sender, build_seed, is_question, make_corpus_core
from tests.helpers import DISTRICT_TZ, MovableClock

VERBS = ["签约", "签了", "落地", "开工", "洽谈", "谋划", "进展", "拜访", "问题", "解决", "放弃", "改", "预计", "请假",
         "签约了", "已经签约", "也签了", "有意向", "想投", "卡在", "来访", "见了", "sign", "plan", "note"]
PARTICLES = ["了", "也", "已经", "都", "正式", "过", "啦", "吗", "呢", "的", "那个", "这个", "我们", "对方", "一下"]
NAMES = ["网易", "海康", "仲景", "万达", "比亚迪项目", "宁德时代储能项目", "中原数据集团", "新项目甲", "锅圈食汇",
         "#19", "#29", "#7", "了", "签约", "明天", "2亿", "宁", "Tesla Service Center", "杉杉那个项目"]
AMOUNTS = ["2个亿", "两个亿", "1.5个亿", "十来个亿", "3个多亿", "3kw", "3000w", "5000万", "约2亿", "2亿左右",
           "USD 30m", "总投资10亿一期3亿", "几千万", "投资5 亿", "金额3亿", "6000万元人民币", "一期3亿"]
DATES = ["昨天", "今天", "下周三", "12月5号", "月底", "明年3月", "春节后", "8点半", "上周五", "到下周五"]
OTHERS = ["@深圳", "在上海", "公司:比亚迪集团", "汽车", "土地", "环评已批", "对方很满意", "，", "；", "\n", "👍", "【进展】"]
PIECES = st.sampled_from(VERBS + PARTICLES + NAMES + AMOUNTS + DATES + OTHERS)
_OPTIONAL = [""]
# Shaped like reports (verb first, or the subject first), and pieces in any order.
SHAPED = st.one_of(
    st.tuples(st.sampled_from(_OPTIONAL + PARTICLES[:6] + DATES), st.sampled_from(VERBS),
              st.sampled_from([*_OPTIONAL, "了", "也"]), st.sampled_from(NAMES), st.sampled_from(_OPTIONAL + AMOUNTS),
              st.sampled_from(_OPTIONAL + DATES + OTHERS), st.sampled_from(_OPTIONAL + AMOUNTS + ["对方很满意"])),
    st.tuples(st.sampled_from(NAMES), st.sampled_from(_OPTIONAL + PARTICLES[:6]), st.sampled_from(VERBS),
              st.sampled_from(_OPTIONAL + AMOUNTS + DATES)),
).map(list)
MESSAGES = st.one_of(SHAPED, st.lists(PIECES, min_size=1, max_size=7)).flatmap(
    lambda parts: st.sampled_from([" ", ""]).map(lambda glue: glue.join(part for part in parts if part)))
_WORD = re.compile(r"[\s,，。;；:：]+")
_PROSE_EVENTS = ("create", "stage", "note", "visit", "problem", "resolve", "drop")  # text is the sender's


class District:
    """The corpus district on a private event loop (Hypothesis drives plain functions)."""

    def __init__(self, url: str) -> None:
        self.runner = asyncio.Runner()
        self.engine = create_engine(url)
        self.sessions = session_factory(self.engine, tz=DISTRICT_TZ)
        self.clock = MovableClock()
        self.sender = Sender(make_corpus_core(self.sessions, self.clock))
        self.runner.run(build_seed(self.sender, self.clock))
        self.clock.now = CASE_TIME

    def close(self) -> None:
        """Dispose of the engine and the loop."""
        self.runner.run(self.engine.dispose())
        self.runner.close()

    def last_event(self) -> int:
        """The newest event id."""
        async def read() -> int:
            async with self.sessions() as session:
                return int((await session.exec(text("SELECT COALESCE(MAX(id), 0) FROM event"))).scalar_one())
        return self.runner.run(read())

    def events_after(self, event_id: int) -> list[Event]:
        """Events stored after `event_id`."""
        async def read() -> list[Event]:
            async with self.sessions() as session:
                return list((await session.exec(select(Event).where(Event.id > event_id))).scalars())
        return self.runner.run(read())

    def names_after(self, project_id: int) -> list[str]:
        """The names of the live projects created after `project_id`."""
        async def read() -> list[str]:
            async with self.sessions() as session:
                statement = select(Project.name).where(Project.id > project_id, Project.removed.is_(False))
                return list((await session.exec(statement)).scalars())
        return self.runner.run(read())

    def project_count(self) -> int:
        """How many projects there are."""
        async def read() -> int:
            async with self.sessions() as session:
                return int((await session.exec(select(func.count()).select_from(Project))).scalar_one())
        return self.runner.run(read())


@pytest.fixture
def district(db_url: str) -> Iterator[District]:
    """The corpus district on each backend."""
    made = District(db_url)
    try:
        yield made
    finally:
        made.close()


def _amount_words(note: str) -> list[str]:
    return [word for word in _WORD.split(note) if word and looks_like_amount(word)]


def test_nothing_is_ever_stored_wrong(district: District) -> None:
    seeded = district.project_count()

    @settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                       HealthCheck.function_scoped_fixture])
    @given(MESSAGES, st.booleans(), st.sampled_from(["张伟", "刘洋", "王局"]), st.booleans())
    def check(message: str, confirm: bool, user: str, group: bool) -> None:
        before = district.last_event()
        reply = district.runner.run(district.sender.say(user, message, group=group))
        assert "系统出错" not in reply.text, (message, reply.text)  # never a crash
        asked = is_question(reply)
        stored = district.events_after(before)
        if not asked:
            for event in stored:
                if event.kind in _PROSE_EVENTS:
                    assert not _amount_words(event.text), (message, event.kind, event.text)
                    data = json.loads(event.data or "{}")
                    assert not _amount_words(str(data.get("company", ""))), (message, data)
        elif confirm:
            district.runner.run(district.sender.say(user, "1", group=group))
        for name in district.names_after(seeded):
            assert not bad_name(name, TODAY), (message, name)

    check()
