"""The core's single entry point: parse, authorise, run the handler, commit once, answer.

`Core.handle` is the `MessageHandler` every adapter calls. One message is one transaction: the handler's
writes and the inbox row (which makes a redelivered message get the same answer and store nothing) commit
together before the reply leaves, and a refusal or error rolls everything back.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import Awaitable, Callable, Collection
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from handlers import chat_settings, people, projects, questions
from handlers.catalog import Catalog
from handlers.commands import Command, ParseError
from handlers.context import Clock, Context, utc_now
from handlers.messages import Incoming, Reply
from handlers.parse import parse
from handlers.projects import Refusal
from storage import queries
from storage.db import SessionFactory, transaction
from storage.tallies import zone_name

if TYPE_CHECKING:
    from bot.settings import Settings

log = logging.getLogger(__name__)

Handler = Callable[[Command, Context], Awaitable[Reply]]

HANDLERS: dict[str, Handler] = {
    "plan": projects.handle_stage,
    "pursue": projects.handle_stage,
    "sign": projects.handle_stage,
    "land": projects.handle_stage,
    "note": projects.handle_note,
    "visit": projects.handle_visit,
    "problem": projects.handle_problem,
    "resolve": projects.handle_resolve,
    "drop": projects.handle_drop,
    "undo": projects.handle_undo,
    "edit": projects.handle_edit,
    "verify": projects.handle_verify,
    "expect": projects.handle_expect,
    "find": projects.handle_find,
    "mine": projects.handle_mine,
    "rank": questions.handle_rank,
    "status": questions.handle_status,
    "problems": questions.handle_problems,
    "export": questions.handle_export,
    "away": people.handle_away,
    "newteam": people.handle_newteam,
    "invite": people.handle_invite,
    "join": people.handle_join,
    "link": people.handle_link,
    "start": people.handle_start,
    "bind": people.handle_bind,
    "target": people.handle_target,
    "settings": chat_settings.handle_settings,
    "help": people.handle_help,
}
READ_ONLY_VERBS = frozenset({"find", "mine", "rank", "status", "problems", "export", "help"})
OPEN_TO_STRANGERS = frozenset({"join", "link", "start", "help"})
CHOICE_LIFETIME = timedelta(hours=24)
# Messages handled at once. More only queue on the database and its connections (a burst of 40 webhooks
# opened and closed overflow connections, each a new server process, and contended for row locks); the
# work is CPU-bound on both sides, so a few at a time answer the burst sooner.
MAX_CONCURRENT_MESSAGES = 8


def _reads_only(command: Command) -> bool:
    """Questions store nothing, so they need no inbox row (bare 核实/预计 and a bare /start are questions too)."""
    return (command.verb in READ_ONLY_VERBS or (command.verb in ("verify", "expect") and command.project is None)
            or (command.verb == "start" and not command.value))


# NUL and lone surrogates cannot be stored (PostgreSQL refuses NUL in text; neither backend can encode a
# surrogate), and they mean nothing in a message, so they are dropped before the raw text is kept anywhere
# (a pending question stores it whole).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
MAX_DISPLAY_NAME = 100  # Member.name; Telegram's first + last name can reach 129 characters


def _storable(incoming: Incoming) -> Incoming:
    """The message with what no database column can hold removed, and the sender's name cut to fit."""
    text = _UNSTORABLE.sub("", incoming.text)
    name = _UNSTORABLE.sub("", incoming.display_name)[:MAX_DISPLAY_NAME]
    if text == incoming.text and name == incoming.display_name:
        return incoming
    return replace(incoming, text=text, display_name=name)


class _Rollback(Exception):
    """Leave the transaction without committing, answering with `reply`."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.text)
        self.reply = reply


def _refusal(text: str) -> Reply:
    return Reply(text=text, ok=False)


class Core:
    """Parses, authorises, runs and stores one message at a time; safe to share between adapters."""

    def __init__(
        self, *, settings: Settings, sessions: SessionFactory, catalog: Catalog, clock: Clock = utc_now,
        bot_names: Collection[str] = (),
    ) -> None:
        # The year counters (storage.tallies) are bucketed in the sessions' zone; reports read them by the
        # settings' zone, so the two must agree.
        session_zone = sessions.kw.get("info", {}).get("tz")
        if session_zone is None or zone_name(session_zone) != zone_name(settings.tz):
            raise ValueError(f"sessions bucket years in {session_zone}, settings say {settings.tz}")
        self.settings = settings
        self.sessions = sessions
        self.catalog = catalog
        self.clock = clock
        self.bot_names = set(bot_names)
        self._slots = asyncio.Semaphore(MAX_CONCURRENT_MESSAGES)

    async def handle(self, incoming: Incoming) -> Reply:
        """Answer one incoming message (the MessageHandler port)."""
        try:
            async with self._slots:
                try:
                    return await self._handle(incoming)
                except DBAPIError as err:
                    # A pooled connection the server dropped (a database restart) fails at its first use,
                    # and the pool is then renewed. Running the message again is a redelivery: the inbox
                    # row makes it store once even if the lost connection's COMMIT landed. Without a
                    # message id there is no inbox row, so only then is it not retried.
                    if not (err.connection_invalidated and incoming.message_id):
                        raise
                    log.warning("database connection lost; handling the %s message once more", incoming.platform)
                    return await self._handle(incoming)
        except Exception:
            log.exception("handling a %s message failed", incoming.platform)
            # Honest wording: a connection lost during COMMIT may still have stored it, and a resend is safe
            # (the inbox row makes a repeated message store nothing twice).
            return _refusal("⚠️ 系统出错，本条可能没有保存，请稍后重发（重发不会重复记录）。\n"
                            "⚠️ Internal error: this may not have been stored. Please resend; it will not be stored twice.")

    async def _handle(self, incoming: Incoming) -> Reply:
        incoming = _storable(incoming)
        now = self.clock()
        today = now.astimezone(self.settings.tz).date()
        if not incoming.text.strip() and incoming.files:
            return _refusal("收到附件。请在附件说明里写上命令，例如「签约 #12」，附件会作为佐证保存到项目。\n"
                            "File received: add a caption with the command, e.g. `sign #12`.")
        parsed = parse(incoming.text, catalog=self.catalog, usd_rate=self.settings.usd_cny_rate,
                       bot_names=self.bot_names, today=today)
        if isinstance(parsed, ParseError):
            return _refusal(parsed.message())
        # Only a message that stores something can have been answered before (questions leave no inbox
        # row). Redeliveries are rare, so none is looked for up front (a query on every message): a
        # redelivered message runs again, and its inbox row then collides with the first one's at commit,
        # rolling the rerun back; a rerun that is refused or fails is checked the same way. Either way the
        # sender gets the first answer and nothing is stored twice.
        inbox_id = incoming.message_id if not _reads_only(parsed) else None
        try:
            async with transaction(self.sessions) as session:
                reply = await self._run(parsed, incoming, session, now)
                if inbox_id:
                    await queries.add_inbox_row(session, platform=incoming.platform, message_id=inbox_id,
                                                identity=incoming.identity, reply=reply.to_json(), now=now)
            return reply
        except _Rollback as rollback:
            stored = await self._stored_reply(incoming) if inbox_id else None
            return stored if stored is not None else rollback.reply
        except IntegrityError:
            # The same message handled before, or concurrently (a redelivery racing the original): the
            # first commit wins and this one answers with what it stored.
            stored = await self._stored_reply(incoming) if inbox_id else None
            if stored is not None:
                return stored
            raise
        except Exception:
            # A rerun of a message already handled that failed for another reason still gets its answer.
            if inbox_id:
                with contextlib.suppress(Exception):  # the database itself may be what failed
                    stored = await self._stored_reply(incoming)
                    if stored is not None:
                        return stored
            raise

    async def _stored_reply(self, incoming: Incoming) -> Reply | None:
        """The answer already given to this platform message, if it was handled before."""
        if not incoming.message_id:
            return None
        async with self.sessions() as session:
            stored = await queries.stored_reply(session, platform=incoming.platform, message_id=incoming.message_id)
        return Reply.from_json(stored) if stored is not None else None

    async def _run(self, command: Command, incoming: Incoming, session: AsyncSession, now: datetime) -> Reply:
        identity = incoming.identity
        is_admin = identity in self.settings.admins
        member, team = await queries.member_and_team(session, identity=identity)
        if member is None and is_admin:
            member = await queries.add_member(session, identity=identity, now=now, role="admin",
                                              name=incoming.display_name or incoming.user_id)
        if member is None and command.verb not in OPEN_TO_STRANGERS:
            raise _Rollback(_refusal(
                "你还不是小分队成员，暂时不能使用。请向队长索取邀请码，然后发送「加入 邀请码」。\n"
                "You are not a squad member yet. Ask your leader for the invite code and send `join <code>`."
            ))
        if member is not None and identity in self.settings.leaders and member.role == "member":
            member.role = "leader"  # ZSBOT_LEADERS promotes; the stored role then shows in reports
            session.add(member)
        ctx = Context(incoming=incoming, session=session, settings=self.settings, catalog=self.catalog,
                      now=now, lang=command.lang, member=member, team=team,
                      is_admin=is_admin or (member is not None and member.role == "admin"))
        if command.verb == "choose":
            command = await self._chosen_command(command, ctx)
            ctx.lang = command.lang
        handler = HANDLERS[command.verb]
        try:
            reply = await handler(command, ctx)
        except Refusal as refusal:
            raise _Rollback(_refusal(refusal.text)) from None
        if not reply.ok:
            raise _Rollback(reply)
        return reply

    async def _chosen_command(self, command: Command, ctx: Context) -> Command:
        """Turn `1`, `2` … into the command the numbered question was about."""
        pending = await queries.pending_choice(ctx.session, identity=ctx.incoming.identity,
                                               chat_id=ctx.incoming.chat_id)
        if pending is None or pending.created_at < ctx.now - CHOICE_LIFETIME:
            raise _Rollback(_refusal("没有等待你选择的问题。请直接发送命令，例如「签约 #12」。\n"
                                     "There is no open question to answer. Send a command, e.g. `sign #12`."))
        options: list[int] = json.loads(pending.options)
        number = command.number or 0
        if not 1 <= number <= len(options):
            raise _Rollback(_refusal(f"请回复 1 到 {len(options)} 之间的序号。\nReply with a number from 1 to {len(options)}."))
        original = parse(pending.command_text, catalog=self.catalog, usd_rate=self.settings.usd_cny_rate,
                         bot_names=self.bot_names, today=ctx.today)
        await ctx.session.delete(pending)
        await ctx.session.flush()
        if isinstance(original, ParseError):  # the grammar changed since the question was asked
            raise _Rollback(_refusal(original.message()))
        chosen = options[number - 1]
        if chosen == 0:
            ctx.force_create = True
            return original
        return projects.with_project_id(original, chosen)
