"""The core's single entry point: understand, authorise, run the handlers, commit once, answer.

`Core.handle` is the `MessageHandler` every adapter calls. One message is one transaction: every update
it holds, and the inbox row (which makes a redelivered message get the same answer and store nothing),
commit together before the reply leaves; a refusal or error rolls everything back.

A message the bot is not sure of (`handlers.understand`: a reading in doubt; a handler: a loose name, two
problems that fit) is not stored: the handlers run once in preview, in a transaction that is rolled back,
and the sender gets that card as a numbered question. The question is stored (`PendingChoice`) with its
options as typed commands; the answer runs the option chosen as a message of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import uuid
from collections.abc import Awaitable, Collection, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from handlers import access, attachments, codes
from handlers.asking import Asking
from handlers.catalog import Catalog
from handlers.choices import NeedsChoice
from handlers.commands import Command, ProjectRef
from handlers.context import Clock, Context, utc_now
from handlers.messages import Incoming, IncomingFile, Reply
from handlers.outcomes import SILENT, Ask, Previewed, Rollback, hint_reply, refusal_reply
from handlers.ports import Charts, DashLinks, Notifier
from handlers.proposals import combined
from handlers.refusal import Refusal
from handlers.routes import HANDLERS, policy_verb, reads_only, storable
from handlers.understand.reader import Understanding, understand
from handlers.understand.segments import UPDATE_VERBS, starts_command
from handlers.wording import say
from storage import event_queries, inbox, people_queries, roster_queries
from storage.db import SessionFactory, lost_a_race, session_zone, transaction
from storage.limits import clip_to
from storage.models import Member, Team
from storage.tallies import zone_name

if TYPE_CHECKING:
    from handlers.rules import Rules

log = logging.getLogger(__name__)

# Messages handled at once. More only queue on the database and its connections (a burst of 40 webhooks
# opened and closed overflow connections, each a new server process, and contended for row locks); the
# work is CPU-bound on both sides, so a few at a time answer the burst sooner.
MAX_CONCURRENT_MESSAGES = 8
_PROJECT_ID = re.compile(r"#\d")
# A message whose transaction PostgreSQL aborted to break a deadlock runs again, up to this many times in all.
RACE_ATTEMPTS = 3


class Core(Asking):
    """Understands, authorises, runs and stores one message at a time; safe to share between adapters."""

    def __init__(
        self, *, settings: Rules, sessions: SessionFactory, catalog: Catalog, clock: Clock = utc_now,
        bot_names: Collection[str] = (), notifier: Notifier | None = None, charts: Charts | None = None,
        dash: DashLinks | None = None,
    ) -> None:
        # The year counters (storage.tallies) are bucketed in the sessions' zone; reports read them by the
        # settings' zone, so the two must agree.
        zone = session_zone(sessions)
        if zone is None or zone_name(zone) != zone_name(settings.tz):
            raise ValueError(f"sessions bucket years in {zone}, settings say {settings.tz}")
        self.settings = settings
        self.sessions = sessions
        self.catalog = catalog
        self.clock = clock
        self.bot_names = {*settings.bot_names, *bot_names}
        self.notifier = notifier  # None: notices are dropped (a test or a CLI run without platforms)
        self.charts = charts  # None: reports answer without their charts
        self.dash = dash  # None: `看板` says the dashboard is not served here
        self._slots = asyncio.Semaphore(MAX_CONCURRENT_MESSAGES)

    async def handle(self, incoming: Incoming) -> Reply:
        """Answer one incoming message (the MessageHandler port)."""
        try:
            async with self._slots:
                for attempt in range(1, RACE_ATTEMPTS + 1):
                    try:
                        return await self._handle(incoming)
                    except DBAPIError as err:
                        if lost_a_race(err) and attempt < RACE_ATTEMPTS:
                            # PostgreSQL broke a lock cycle by aborting this transaction: nothing was stored.
                            log.warning("transaction aborted by a deadlock; handling the %s message again",
                                        incoming.platform)
                            continue
                        # A pooled connection the server dropped (a database restart) fails at its first use,
                        # and the pool is then renewed. Running the message again is a redelivery: the inbox
                        # row makes it store once even if the lost connection's COMMIT landed. Without a
                        # message id there is no inbox row, so only then is it not retried.
                        if not (err.connection_invalidated and incoming.message_id):
                            raise
                        log.warning("database connection lost; handling the %s message once more",
                                    incoming.platform)
                        return await self._handle(incoming)
                raise AssertionError("unreachable: the last attempt returns or raises")
        except Exception:
            log.exception("handling a %s message failed", incoming.platform)
            # Honest wording: a connection lost during COMMIT may still have stored it, and a resend is safe
            # (the inbox row makes a repeated message store nothing twice).
            return refusal_reply("⚠️ 系统出错，本条可能没有保存，请稍后重发（重发不会重复记录）。\n"
                            "⚠️ Internal error: this may not have been stored. Please resend; it will not be stored twice.")

    # --- one message -----------------------------------------------------------------------------------

    async def _handle(self, incoming: Incoming) -> Reply:
        incoming = storable(incoming)
        now = self.clock()
        today = now.astimezone(self.settings.tz).date()
        if not incoming.text.strip() and incoming.files:
            return await self._hold_files(incoming, now)
        understood = understand(incoming.text, catalog=self.catalog, usd_rate=self.settings.usd_cny_rate,
                                bot_names=self.bot_names, today=today)
        group = incoming.chat_kind == "group"
        # In a group, a message is for the bot when it says so (a mention, a reply, a /command), starts with a
        # command, or names a project by #id; a report in words (网易签了) is answered too, chatter never.
        addressed = (not group or incoming.addressed or starts_command(understood.text)
                     or _PROJECT_ID.search(understood.text) is not None)
        if understood.chatter:
            return SILENT if group else hint_reply(understood.lang)
        if incoming.forwarded:
            return await self._forwarded(understood, incoming, now, quiet=group and not incoming.addressed)
        if understood.error is not None:
            return SILENT if group and not addressed else refusal_reply(understood.error.message())
        if understood.answer is not None:
            return await self._answer(understood, incoming, now, quiet=group and not addressed)
        commands = [reading.command for reading in understood.readings]
        return await self._message(understood, commands, incoming, now)

    async def _message(self, understood: Understanding, commands: list[Command], incoming: Incoming,
                       now: datetime) -> Reply:
        """Store the updates at once when sure; otherwise preview them and ask."""
        if len(commands) == 1 and commands[0].verb == "undo" and commands[0].number is None:
            cancelled = await self._cancel_pending(incoming)  # 撤销 while a question is open drops it
            if cancelled is not None:
                return cancelled
        inbox_id = incoming.message_id if not all(reads_only(c) for c in commands) else None
        return await self._answered(self._store_or_ask(understood, commands, incoming, now, inbox_id),
                                    commands, incoming, now, inbox_id)

    async def _store_or_ask(self, understood: Understanding, commands: list[Command], incoming: Incoming,
                            now: datetime, inbox_id: str | None) -> Reply:
        try:
            if understood.sure:
                return await self._commit(commands, incoming, now, inbox_id)
            return await self._propose_reading(understood, commands, incoming, now, inbox_id)
        except Ask as ask:
            asked = await self._propose_choice(commands, ask, incoming, now, inbox_id)
            assert asked is not None  # not quiet: a refusal or a question
            return asked

    async def _answered(self, work: Awaitable[Reply], commands: Sequence[Command], incoming: Incoming,
                        now: datetime, inbox_id: str | None, *, settles: bool = False) -> Reply:
        """Run `work` (storing a message, or asking about it) and turn what stops it into an answer: a
        refusal (remembered as a message that changed nothing), or, for a message handled before (a
        redelivery, or one racing its original), the answer it got then. `settles`: a refusal also drops
        the question this message answered."""
        try:
            return await work
        except Rollback as rollback:
            if settles:
                async with transaction(self.sessions) as session:
                    await inbox.drop_choice(session, identity=incoming.identity, chat_id=incoming.chat_id)
            return await self._rolled_back(rollback, commands, incoming, now, inbox_id)
        except IntegrityError:
            # The first commit wins (its inbox row); this one answers with what that one stored.
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

    async def _rolled_back(self, rollback: Rollback, commands: Sequence[Command], incoming: Incoming,
                           now: datetime, inbox_id: str | None) -> Reply:
        stored = await self._stored_reply(incoming) if inbox_id else None
        if stored is not None:
            return stored
        if rollback.attempt is not None:  # a wrong code: counted (once per platform message), however refused
            async with transaction(self.sessions) as session:
                notices = await codes.count_wrong(session, identity=incoming.identity, kind=rollback.attempt,
                                                  now=now, admins=self.settings.admins,
                                                  message_id=clip_to("codeattempt", "message_id", incoming.message_id or ""))
            await self._tell(notices)
        if rollback.member_id is not None and any(c.verb in UPDATE_VERBS for c in commands):
            # Remembered so that a 撤销 right after it says this message changed nothing.
            async with transaction(self.sessions) as session:
                await event_queries.mark_unchanged(session, member_id=rollback.member_id, text=incoming.text[:60], now=now)
        return rollback.reply

    async def _commit(self, commands: Sequence[Command], incoming: Incoming, now: datetime, inbox_id: str | None,
                      *, answering: bool = False) -> Reply:
        notices: list[tuple[int, str]] = []
        async with transaction(self.sessions) as session:
            replies, _, files = await self._run(commands, incoming, session, now, preview=False, notices=notices)
            reply = combined(commands[0].lang, replies, undo_minutes=self.settings.undo_window_minutes)
            if files:
                reply = replace(reply, evidence=True)  # the adapter downloads the copies once this commits
            if answering:
                await inbox.drop_choice(session, identity=incoming.identity, chat_id=incoming.chat_id)
            if inbox_id:
                await inbox.add_inbox_row(session, platform=incoming.platform, message_id=inbox_id,
                                            identity=incoming.identity, reply=reply.to_json(), now=now)
        if notices:
            await self._tell(notices)
        return reply

    async def _tell(self, notices: Sequence[tuple[int, str]]) -> None:
        """Send the notices a stored message left, each to the first of the person's identities that a running
        platform can reach; a notice that cannot go out is logged, never raised (the message is stored)."""
        if self.notifier is None:
            return
        async with self.sessions() as session:
            targets = [(await roster_queries.identities_of(session, member_id=member_id), text)
                       for member_id, text in notices]
        for identities, text in targets:
            for identity in identities:
                with contextlib.suppress(Exception):
                    if await self.notifier(identity, Reply(text=text)):
                        break
            else:
                log.info("a notice found none of %d identities reachable", len(identities))

    async def _preview(self, commands: Sequence[Command], incoming: Incoming, now: datetime) -> list[Reply]:
        """The cards the commands would store, from a run whose transaction is rolled back."""
        try:
            async with transaction(self.sessions) as session:
                replies, _, _ = await self._run(commands, incoming, session, now, preview=True)
                raise Previewed(replies)
        except Previewed as previewed:
            return previewed.replies

    async def _run(self, commands: Sequence[Command], incoming: Incoming, session: AsyncSession, now: datetime,
                   *, preview: bool, notices: list[tuple[int, str]] | None = None
                   ) -> tuple[list[Reply], Member | None, bool]:
        """Authorise the sender and run every command in order, in the caller's transaction; also says whether
        the message's files (or those it took from the sender's held files) went to its first update."""
        member, team, role = await self._sender(incoming, session, now)
        batch = uuid.uuid4().hex[:12] if len(commands) > 1 else ""
        locked: set[int] = set()
        created: set[int] = set()
        replies: list[Reply] = []
        held: tuple[IncomingFile, ...] = ()
        if member is not None and not incoming.files and commands[0].verb in UPDATE_VERBS:
            held = await attachments.take_held(session, incoming, member, now)  # a photo sent just before
        for index, command in enumerate(commands):
            # Files are evidence of the message's first update only (not copied onto every part).
            part = (replace(incoming, files=held) if held else incoming) if index == 0 else replace(incoming, files=())
            ctx = Context(incoming=part, session=session, settings=self.settings, catalog=self.catalog, now=now,
                          lang=command.lang, member=member, team=team, role=role, preview=preview,
                          batch=batch, locked=locked, created=created, charts=self.charts, dash=self.dash,
                          notices=notices if notices is not None else [])
            try:
                # The access policy first: a verb the sender's role may not use is refused before its handler.
                access.check_verb(ctx, policy_verb(command))
                if command.verb == "edit" and command.project is None:
                    command = await self._correction_target(command, ctx)
                reply = await HANDLERS[command.verb](command, ctx)
            except Refusal as refusal:
                text = refusal.text
                if len(commands) > 1:
                    text = say(command.lang, "dispatch.part_refused", part=index + 1, reason=text)
                raise Rollback(refusal_reply(text), member_id=member.id if member else None,
                                unchanged=refusal.unchanged, attempt=refusal.attempt) from None
            except NeedsChoice as question:
                raise Ask(index, question, command.lang) from None
            if not reply.ok:
                raise Rollback(reply, member_id=member.id if member else None)
            replies.append(reply)
        if held and member is not None and not preview:
            await attachments.release_held(session, incoming, member)
        return replies, member, bool(incoming.files or held) and commands[0].verb in UPDATE_VERBS

    async def _sender(self, incoming: Incoming, session: AsyncSession,
                      now: datetime) -> tuple[Member | None, Team | None, str]:
        """The sender, their squad and their role (handlers.access): from the settings on every message, or
        given in chat (a stored captain or leader)."""
        identity = incoming.identity
        member, team, admin, leader = await people_queries.member_team_roles(
            session, identity=identity, admins=self.settings.admins, leaders=self.settings.leaders)
        if member is None and (identity in self.settings.admins or identity in self.settings.leaders):
            # Named in the settings: known without an invite (a leader belongs to no squad).
            member = await people_queries.add_member(session, identity=identity, now=now,
                                              name=incoming.display_name or incoming.user_id)
            admin, leader = identity in self.settings.admins, identity in self.settings.leaders
        if member is None:
            return None, None, "stranger"
        return member, team, access.role_of(member.role, admin=admin, leader=leader)

    async def _correction_target(self, command: Command, ctx: Context) -> Command:
        """A correction in words edits the sender's last updated project (within the undo window)."""
        since = ctx.now - timedelta(minutes=self.settings.undo_window_minutes)
        last = None
        if ctx.member is not None and ctx.member.id is not None:
            last = await event_queries.last_undoable_event(ctx.session, member_id=ctx.member.id, since=since)
        if last is None or last.project_id is None:
            raise Refusal(ctx.say("correction_target.recent_update_yours_correct"))
        return replace(command, project=ProjectRef(id=last.project_id))

    async def _hold_files(self, incoming: Incoming, now: datetime) -> Reply:
        """A bare photo or file: a member's is held for their next update (handlers.attachments)."""
        if (stored := await self._stored_reply(incoming)) is not None:
            return stored
        try:
            async with transaction(self.sessions) as session:
                member, _ = await people_queries.member_and_team(session, identity=incoming.identity)
                if member is None:  # (an admin becomes a member with the first command)
                    return refusal_reply(attachments.stranger_file())
                reply = await attachments.hold(session, incoming, member, now)
                if incoming.message_id:
                    await inbox.add_inbox_row(session, platform=incoming.platform, message_id=incoming.message_id,
                                                identity=incoming.identity, reply=reply.to_json(), now=now)
        except IntegrityError:  # the same message, handled meanwhile by another worker
            if (stored := await self._stored_reply(incoming)) is not None:
                return stored
            raise
        return reply

    async def _stored_reply(self, incoming: Incoming) -> Reply | None:
        """The answer already given to this platform message, if it was handled before."""
        if not incoming.message_id:
            return None
        async with self.sessions() as session:
            stored = await inbox.stored_reply(session, platform=incoming.platform, message_id=incoming.message_id)
        return Reply.from_json(stored) if stored is not None else None
