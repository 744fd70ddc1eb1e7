"""The message corpus (tests/corpus/): its seed district, its cases, and how a case is run and judged.

Every case is sent to the same district: the seed is built once through the core, its rows are kept, and
they are written back before each case (faster than building it again, identical on both backends).
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

from bot.settings import Settings
from handlers.amounts import looks_like_amount
from handlers.catalog import load_catalog
from handlers.dispatch import Core
from handlers.messages import Incoming, Reply
from handlers.understand.guards import bad_name
from storage.db import SessionFactory, follow_explicit_ids
from storage.models import Event, Member, Problem, Project
from tests.helpers import DISTRICT_TZ, MovableClock

CORPUS_DIR = Path(__file__).parent / "corpus"
TODAY = date(2026, 11, 24)
CASE_TIME = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)  # 10:00 in Asia/Shanghai
SEED_TIME = datetime(2026, 10, 1, 2, 0, tzinfo=UTC)
GROUP_CHAT = "corpus-group"
_LINE = re.compile(r"^(?P<options>(?:\[(?:group|user=|after=)[^\]]*\]\s*)*)(?P<message>.+?) => (?P<outcome>\S+)(?P<checks>.*)$")
_OPTION = re.compile(r"\[((?:group|user=|after=)[^\]]*)\]")
_PART = re.compile(r"\s*(group|user=\S+|after=.+)")
OUTCOMES = ("stored", "asks", "answers", "silent", "hint", "refused")
_ANSWER_MARKS = {
    "rank": ("比学赶超", "Leaderboard"), "status": ("进度", "progress"), "problems": ("问题", "problems"),
    "mine": ("项目", "projects"), "count": ("新增", "newly"), "help": ("招商助手", "格式", "zsbot", "Form"),
    "forecast": ("预计", "预测", "forecast", "Forecast"), "verify-list": ("核实", "verif"),
}


@dataclass
class Case:
    """One corpus line."""

    line: int
    message: str
    outcome: str
    kind: str = ""  # for answers: rank, status:德化街, find:#15 …
    checks: dict[str, str] = field(default_factory=dict)
    user: str = "张伟"
    group: bool = False
    after: list[str] = field(default_factory=list)


def load_cases(path: Path | None = None) -> list[Case]:
    """The cases of tests/corpus/messages.txt."""
    cases = []
    for number, raw in enumerate((path or CORPUS_DIR / "messages.txt").read_text(encoding="utf-8").splitlines(), 1):
        if not raw.strip() or raw.startswith("#"):
            continue
        match = _LINE.match(raw)
        assert match, f"line {number} is not a case: {raw!r}"
        case = Case(line=number, message=match["message"].replace("\\n", "\n"), outcome=match["outcome"])
        assert case.outcome in OUTCOMES, f"line {number}: unknown outcome {case.outcome!r}"
        for bracket in _OPTION.findall(match["options"]):
            for option in _PART.findall(bracket):
                if option == "group":
                    case.group = True
                elif option.startswith("user="):
                    case.user = option[5:]
                else:
                    case.after = [part.strip() for part in option[6:].split("|")]
        words = shlex.split(match["checks"])
        if case.outcome == "answers" and words:
            case.kind = words.pop(0)
        for word in words:
            key, _, value = word.partition("=")
            case.checks[key.rstrip("~") + ("~" if key.endswith("~") else "")] = value
        cases.append(case)
    return cases


def make_corpus_core(sessions: SessionFactory, clock: MovableClock) -> Core:
    """The core the corpus talks to: console:admin is an admin, console:王局 a leader."""
    settings = Settings(_env_file=None, admins=["console:admin"], leaders=["console:王局"])  # type: ignore[call-arg]
    return Core(settings=settings.rules(), sessions=sessions, catalog=load_catalog(None), clock=clock)


class Sender:
    """Sends corpus messages as console users, each with a fresh message id, a second apart."""

    def __init__(self, core: Core) -> None:
        self.core = core
        self.counter = 0

    async def say(self, user: str, message: str, *, group: bool = False) -> Reply:
        """One message; returns the reply."""
        self.counter += 1
        clock = self.core.clock
        if isinstance(clock, MovableClock):
            clock.advance(seconds=1)
        return await self.core.handle(Incoming(
            platform="console", user_id=user, display_name=user, text=message,
            chat_id=GROUP_CHAT if group else f"console:{user}", chat_kind="group" if group else "private",
            message_id=f"corpus-{self.counter}",
        ))


async def build_seed(sender: Sender, clock: MovableClock) -> None:
    """The district of tests/corpus/seed.txt, built through the core."""
    codes: dict[str, str] = {}
    clock.now = SEED_TIME
    for raw in (CORPUS_DIR / "seed.txt").read_text(encoding="utf-8").splitlines():
        if not raw.strip() or raw.startswith("#"):
            continue
        user, _, message = raw.partition(": ")
        message = re.sub(r"\{(.+?)\}", lambda m: codes[m.group(1)], message)
        reply = await sender.say(user, message)
        assert reply.ok and not is_question(reply), f"seed line {raw!r}: {reply.text}"
        if message.startswith("建队 "):
            codes[message.split()[1]] = reply.text.split("邀请码：")[1].split()[0]
        clock.advance(hours=6)


Snapshot = dict[str, list[dict[str, Any]]]


async def take_snapshot(engine: AsyncEngine) -> Snapshot:
    """Every row of every table."""
    snapshot: Snapshot = {}
    async with engine.connect() as connection:
        for table in SQLModel.metadata.sorted_tables:
            rows = (await connection.execute(select(table))).mappings().all()
            snapshot[table.name] = [dict(row) for row in rows]
    return snapshot


async def restore_snapshot(engine: AsyncEngine, snapshot: Snapshot) -> None:
    """Put the database back to the snapshot (rows and id sequences)."""
    tables = SQLModel.metadata.sorted_tables
    async with engine.begin() as connection:
        for table in reversed(tables):
            await connection.execute(delete(table))
        for table in tables:
            rows = snapshot[table.name]
            if rows:
                await connection.execute(insert(table), rows)
        for table in tables:
            if "id" in table.c and table.c.id.autoincrement is not False and table.c.id.primary_key:
                await follow_explicit_ids(connection, table.name)


def is_question(reply: Reply) -> bool:
    """Whether the reply is the bot's numbered question (its buttons end with 0 = cancel)."""
    return any(button.command == "0" for button in reply.buttons)


@dataclass
class Judged:
    """What happened to one case."""

    case: Case
    outcome: str  # what the bot did
    problems: list[str]
    stored_wrong: bool = False


async def _new_events(sessions: SessionFactory, after_id: int) -> list[Event]:
    async with sessions() as session:
        return list((await session.exec(select(Event).where(Event.id > after_id).order_by(Event.id))).scalars())


async def _max_event(sessions: SessionFactory) -> int:
    async with sessions() as session:
        return int((await session.exec(text("SELECT COALESCE(MAX(id), 0) FROM event"))).scalar_one())


async def _away(sessions: SessionFactory, user: str) -> str:
    async with sessions() as session:
        member = (await session.exec(select(Member).where(Member.name == user))).scalars().first()
    return member.away_until.isoformat() if member and member.away_until else ""


def _outcome(reply: Reply, events: list[Event], *, away_changed: bool) -> str:
    if reply.silent:
        return "silent"
    if is_question(reply):
        return "asks"
    if not reply.ok:
        return "refused"
    if events or away_changed:  # 请假 changes the sender, not a project
        return "stored"
    if reply.text.startswith("🙂"):
        return "hint"
    return "answers"


async def judge(case: Case, sender: Sender, sessions: SessionFactory, seed_max_project: int) -> Judged:
    """Send a case and compare what the bot did with what the case expects."""
    for before in case.after:
        await sender.say(case.user, before, group=case.group)
    start = await _max_event(sessions)
    away = await _away(sessions, case.user)
    reply = first = await sender.say(case.user, case.message, group=case.group)
    events = await _new_events(sessions, start)
    outcome = _outcome(reply, events, away_changed=await _away(sessions, case.user) != away)
    wanted_text = case.checks.get("reply~")
    if wanted_text is not None and wanted_text not in first.text:
        problems_text = [f"reply~: {wanted_text!r} not in {first.text[:200]!r}"]
    else:
        problems_text = []
    problems: list[str] = problems_text
    if outcome != case.outcome:
        problems.append(f"expected {case.outcome}, got {outcome}: {reply.text[:300]!r}")
    stored_wrong = outcome == "stored" and case.outcome != "stored"
    if outcome == "asks" and case.outcome == "asks":
        answer = "1" if case.checks else "取消"
        reply = await sender.say(case.user, answer, group=case.group)
        events = await _new_events(sessions, start)
        if case.checks and (not reply.ok or not events):
            problems.append(f"option 1 was not stored: {reply.text[:300]!r}")
        if not case.checks and events:
            problems.append("cancelled, yet something was stored")
    if case.outcome == "answers" and outcome == "answers" and case.kind:
        problems += _check_answer(case.kind, reply)
    state_checks = {k: v for k, v in case.checks.items() if k != "reply~"}
    if state_checks and outcome == case.outcome and outcome in ("stored", "asks"):
        failed = await _check_state(case, sessions, events)
        problems += failed
        stored_wrong = stored_wrong or bool(failed and outcome == "stored")
    invariant = await _invariants(sessions, events, seed_max_project, confirmed=outcome == "asks")
    problems += invariant
    return Judged(case, outcome, problems, stored_wrong or bool(invariant))


def _check_answer(kind: str, reply: Reply) -> list[str]:
    head, _, detail = kind.partition(":")
    if head == "find" or (head == "status" and detail):
        wanted = detail
    else:
        marks = _ANSWER_MARKS.get(head, ())
        if marks and not any(mark in reply.text for mark in marks):
            return [f"answer {kind}: none of {marks!r} in {reply.text[:200]!r}"]
        return []
    if wanted and wanted not in reply.text:
        return [f"answer {kind}: {wanted!r} not in {reply.text[:200]!r}"]
    return []


def _local_day(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone(DISTRICT_TZ).date().isoformat()


async def _check_state(case: Case, sessions: SessionFactory, events: list[Event]) -> list[str]:
    failed: list[str] = []
    async with sessions() as session:
        for key, wanted in case.checks.items():
            index = 0
            name = key
            if re.match(r"^\d+\.", key):
                number, _, name = key.partition(".")
                index = int(number) - 1
            if name == "events":
                if len(events) != int(wanted):
                    failed.append(f"events: {len(events)} != {wanted}")
                continue
            if name == "kinds":
                got = ",".join(e.kind for e in events)
                if got != wanted:
                    failed.append(f"kinds: {got} != {wanted}")
                continue
            if name == "away":
                member = (await session.exec(select(Member).where(Member.name == case.user))).scalars().first()
                got_day = member.away_until.isoformat() if member and member.away_until else ""
                if got_day != wanted:
                    failed.append(f"away: {got_day} != {wanted}")
                continue
            if name in ("reply~",):
                continue
            if index >= len(events):
                failed.append(f"{key}: no event {index + 1}")
                continue
            event = events[index]
            data = json.loads(event.data or "{}")
            project = await session.get(Project, event.project_id) if event.project_id else None
            got: str | None
            if name == "project":
                if wanted.startswith("new:"):
                    got = f"new:{project.name}" if project else None
                else:
                    got = f"#{event.project_id}" if event.project_id else None
            elif name == "kind":
                got = event.kind
            elif name == "stage":
                got = project.stage if project else None
            elif name == "amount":
                got = str(project.amount_yuan) if project and project.amount_yuan is not None else "none"
            elif name in ("place", "company"):
                got = data.get(name) if event.kind in ("visit", "reception", "lead") else (
                    getattr(project, name) if project else None)
            elif name == "note~":
                got = wanted if wanted in event.text else event.text
            elif name == "note":
                got = event.text
            elif name in ("problem", "category"):
                problem = await session.get(Problem, data.get("problem_id")) if data.get("problem_id") else None
                got = (str(problem.id) if name == "problem" else problem.category) if problem else None
            elif name == "expected":
                got = project.expected_date.isoformat() if project and project.expected_date else None
            elif name == "expected_stage":
                got = project.expected_stage if project else None
            elif name == "when":
                got = data.get("date") if event.kind == "visit" else (
                    _local_day(getattr(project, f"{event.to_stage}_at")) if project and event.to_stage else None)
            else:
                failed.append(f"unknown check {key}")
                continue
            if got != wanted:
                failed.append(f"{key}: got {got!r}, wanted {wanted!r}")
    return failed


async def _invariants(sessions: SessionFactory, events: list[Event], seed_max_project: int, *,
                      confirmed: bool) -> list[str]:
    """Never stored: a project named after a particle, verb, adverb, date or amount; an amount-like word in
    a note the sender was not asked about."""
    failed = []
    async with sessions() as session:
        for project in (await session.exec(select(Project).where(Project.id > seed_max_project))).scalars():
            if bad_name(project.name, TODAY):
                failed.append(f"project named {project.name!r}")
    if not confirmed:
        for event in events:
            if event.kind in ("edit", "undo", "expect", "verify"):
                continue  # their text is the bot's own summary, not a note
            for word in re.split(r"[\s,，。;；:：]+", event.text):
                if word and looks_like_amount(word):
                    failed.append(f"amount-like {word!r} in a note stored without asking")
    return failed

