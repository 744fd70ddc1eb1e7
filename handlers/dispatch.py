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
import json
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
from handlers.catalog import Catalog
from handlers.choices import NeedsChoice
from handlers.command_json import options_from_json, options_to_json
from handlers.commands import Command, Lang, ParseError, ProjectRef
from handlers.context import Clock, Context, utc_now
from handlers.messages import Incoming, IncomingFile, Reply
from handlers.parse import parse, render
from handlers.ports import Charts, Notifier
from handlers.proposals import combined, proposal
from handlers.refusal import Refusal
from handlers.routes import HANDLERS, policy_verb, reads_only, storable
from handlers.understand.reader import Understanding, understand
from handlers.understand.segments import UPDATE_VERBS, starts_command
from storage import event_queries, inbox, queries, roster_queries
from storage.db import SessionFactory, transaction
from storage.models import Member, Team
from storage.tallies import zone_name

if TYPE_CHECKING:
    from handlers.rules import Rules

log = logging.getLogger(__name__)

CHOICE_LIFETIME = timedelta(hours=24)
# A bare 好/是/对 answers a question only soon after it was asked: later it is more likely said to someone
# else in the group than meant for a question the sender has forgotten.
WORD_ANSWER_LIFETIME = timedelta(minutes=30)
# Messages handled at once. More only queue on the database and its connections (a burst of 40 webhooks
# opened and closed overflow connections, each a new server process, and contended for row locks); the
# work is CPU-bound on both sides, so a few at a time answer the burst sooner.
MAX_CONCURRENT_MESSAGES = 8
SILENT = Reply(text="", silent=True)
_PROJECT_ID = re.compile(r"#\d")


class _Rollback(Exception):
    """Leave the transaction without committing, answering with `reply`."""

    def __init__(self, reply: Reply, *, member_id: int | None = None, unchanged: bool = False,
                 attempt: str | None = None) -> None:
        super().__init__(reply.text)
        self.reply = reply
        self.member_id = member_id  # the sender, when known: a refused update "changed nothing"
        self.unchanged = unchanged  # it is already so: the sender meant this (see Refusal)
        self.attempt = attempt  # a wrong code (handlers.codes): counted after the rollback


class _Ask(Exception):
    """A handler needs the sender to choose (NeedsChoice) while running command `index` of the message."""

    def __init__(self, index: int, question: NeedsChoice, lang: Lang) -> None:
        super().__init__(question.zh)
        self.index = index
        self.question = question
        self.lang = lang


class _Previewed(Exception):
    """The preview ran: leave its transaction without committing, with the cards it built."""

    def __init__(self, replies: list[Reply]) -> None:
        super().__init__("preview")
        self.replies = replies


def _refusal(text: str) -> Reply:
    return Reply(text=text, ok=False)


def _t(lang: Lang, zh: str, en: str) -> str:
    return en if lang == "en" else zh


def _hint(lang: Lang) -> Reply:
    return Reply(text=_t(lang, "🙂 收到。报项目直接说就行，例如「签约 #12」「网易签了」；发送「帮助」查看用法。",
                         "🙂 Noted. To report, just say it, e.g. `sign #12`; send `help` for more."))


class Core:
    """Understands, authorises, runs and stores one message at a time; safe to share between adapters."""

    def __init__(
        self, *, settings: Rules, sessions: SessionFactory, catalog: Catalog, clock: Clock = utc_now,
        bot_names: Collection[str] = (), notifier: Notifier | None = None, charts: Charts | None = None,
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
        self.bot_names = {*settings.bot_names, *bot_names}
        self.notifier = notifier  # None: notices are dropped (a test or a CLI run without platforms)
        self.charts = charts  # None: reports answer without their charts
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
            return SILENT if group else _hint(understood.lang)
        if incoming.forwarded:
            return await self._forwarded(understood, incoming, now, quiet=group and not incoming.addressed)
        if understood.error is not None:
            return SILENT if group and not addressed else _refusal(understood.error.message())
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
        except _Ask as ask:
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
        except _Rollback as rollback:
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

    async def _rolled_back(self, rollback: _Rollback, commands: Sequence[Command], incoming: Incoming,
                           now: datetime, inbox_id: str | None) -> Reply:
        stored = await self._stored_reply(incoming) if inbox_id else None
        if stored is not None:
            return stored
        if rollback.attempt is not None:  # a wrong code: counted (once per platform message), however refused
            async with transaction(self.sessions) as session:
                notices = await codes.count_wrong(session, identity=incoming.identity, kind=rollback.attempt,
                                                  now=now, admins=self.settings.admins,
                                                  message_id=(incoming.message_id or "")[:300])
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
                raise _Previewed(replies)
        except _Previewed as previewed:
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
                          batch=batch, locked=locked, created=created, charts=self.charts,
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
                    text = _t(command.lang, f"第{index + 1}项：", f"Part {index + 1}: ") + text + _t(
                        command.lang, "\n整条消息都没有保存。", "\nNothing in this message was stored.")
                raise _Rollback(_refusal(text), member_id=member.id if member else None,
                                unchanged=refusal.unchanged, attempt=refusal.attempt) from None
            except NeedsChoice as question:
                raise _Ask(index, question, command.lang) from None
            if not reply.ok:
                raise _Rollback(reply, member_id=member.id if member else None)
            replies.append(reply)
        if held and member is not None and not preview:
            await attachments.release_held(session, incoming, member)
        return replies, member, bool(incoming.files or held) and commands[0].verb in UPDATE_VERBS

    async def _sender(self, incoming: Incoming, session: AsyncSession,
                      now: datetime) -> tuple[Member | None, Team | None, str]:
        """The sender, their squad and their role (handlers.access): from the settings on every message, or
        given in chat (a stored captain or leader)."""
        identity = incoming.identity
        member, team, admin, leader = await queries.member_team_roles(
            session, identity=identity, admins=self.settings.admins, leaders=self.settings.leaders)
        if member is None and (identity in self.settings.admins or identity in self.settings.leaders):
            # Named in the settings: known without an invite (a leader belongs to no squad).
            member = await queries.add_member(session, identity=identity, now=now,
                                              name=incoming.display_name or incoming.user_id)
            admin, leader = identity in self.settings.admins, identity in self.settings.leaders
        if member is None:
            return None, None, "stranger"
        if admin:
            return member, team, "admin"
        if leader or member.role == "leader":
            return member, team, "leader"
        return member, team, "captain" if member.role == "captain" else "member"

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
                member, _ = await queries.member_and_team(session, identity=incoming.identity)
                if member is None:  # (an admin becomes a member with the first command)
                    return _refusal(attachments.STRANGER_FILE)
                reply = await attachments.hold(session, incoming, member, now)
                if incoming.message_id:
                    await inbox.add_inbox_row(session, platform=incoming.platform, message_id=incoming.message_id,
                                                identity=incoming.identity, reply=reply.to_json(), now=now)
        except IntegrityError:  # the same message, handled meanwhile by another worker
            if (stored := await self._stored_reply(incoming)) is not None:
                return stored
            raise
        return reply

    # --- questions -------------------------------------------------------------------------------------

    async def _forwarded(self, understood: Understanding, incoming: Incoming, now: datetime, *,
                         quiet: bool) -> Reply:
        """Someone else's words passed on are never run as the sender's command (`放弃 项目甲` forwarded by a
        colleague must not drop it). Updates in them are offered to the sender as a question, to store in
        the sender's own name once confirmed; anything else (a question, an answer like `1`) is left alone."""
        lang = understood.lang
        commands = [reading.command for reading in understood.readings] if understood.answer is None else []
        if quiet or not any(command.verb in UPDATE_VERBS for command in commands):
            return SILENT if quiet else _refusal(_t(
                lang, "转发的消息不会当作命令执行。要执行，请自己发送这条命令。",
                "A forwarded message is never run as a command; send it yourself to run it."))
        note = _t(lang, "这是转发的消息，不会直接执行。要以你的名义这样更新吗？",
                  "This is a forwarded message and is not run as it is. Make this update in your own name?")
        inbox_id = incoming.message_id
        return await self._answered(self._propose_reading(understood, commands, incoming, now, inbox_id,
                                                          first_doubt=note),
                                    commands, incoming, now, inbox_id)

    async def _propose_reading(self, understood: Understanding, commands: list[Command], incoming: Incoming,
                               now: datetime, inbox_id: str | None, *, first_doubt: str = "") -> Reply:
        """Ask about a reading in doubt: option 1 is it (its cards), then the other readings. A reading whose
        store would be refused gives way to the next (`万达二期方案调整了 下周再对接`: a note, not a move)."""
        lang = understood.lang
        doubts = [first_doubt] if first_doubt else []
        doubts += [doubt.text(lang) for reading in understood.readings for doubt in reading.doubts]
        if understood.unread:
            doubts.append(_t(lang, "这几句没看懂，不会保存：", "Not understood, will not be stored: ")
                          + "；".join(f"「{part[:30]}」" for part in understood.unread))
        readings: list[list[Command]] = [commands]
        for index, reading in enumerate(understood.readings):
            if reading.alternatives:
                readings += [[*commands[:index], alternative, *commands[index + 1:]]
                             for alternative in reading.alternatives]
                break
        refused: _Rollback | None = None
        for position, candidate in enumerate(readings):
            try:
                previews = await self._preview(candidate, incoming, now)
            except _Rollback as rollback:
                refused = refused or rollback
                continue
            except _Ask as ask:
                asked = await self._propose_choice(candidate, ask, incoming, now, inbox_id, doubts=doubts,
                                                   quiet=position + 1 < len(readings))
                if asked is None:
                    continue  # every choice would be refused: the next reading
                return asked
            options = readings[position:]
            labels = [_t(lang, "按原文：", "as written: ") + render(option[0]) for option in options[1:]]
            reply = proposal(lang, doubts=doubts, previews=previews, first_label="", labels=labels)
            await self._store_question(options, ["", *labels], reply, incoming, now, inbox_id)
            return reply
        assert refused is not None  # every reading was refused (or asked nothing that could be stored)
        raise refused

    async def _propose_choice(self, commands: list[Command], ask: _Ask, incoming: Incoming, now: datetime,
                              inbox_id: str | None, *, doubts: Sequence[str] = (),
                              quiet: bool = False) -> Reply | None:
        """Ask a handler's question: each choice replaces the command that asked.

        For a confirmation (万达 → #6), option 1 is previewed as its card; a part further on that needs a
        confirmation too is confirmed in the same option 1 (签约 蜜雪 落地 瑞幸 asks once). A choice whose
        store would be refused is dropped (万达广场三期 → #6, which cannot go back to 谋划: only "new
        project" is left). With nothing left, the refusal is the answer (None when `quiet`).
        """
        question, lang = ask.question, ask.lang
        options = [[*commands[:ask.index], choice.command, *commands[ask.index + 1:]] for choice in question.choices]
        labels = [_t(lang, choice.label_zh, choice.label_en) for choice in question.choices]
        said = [*doubts, _t(lang, question.zh, question.en)]
        previews: list[Reply] | None = None
        if question.confirm:
            for _ in range(len(commands) + len(options)):
                if not options:
                    break
                try:
                    previews = await self._preview(options[0], incoming, now)
                    break
                except _Ask as further:
                    if not further.question.confirm or further.index == ask.index:
                        break  # a list to pick from: asked once this question is answered
                    pinned = further.question.choices[0].command
                    options[0] = [*options[0][:further.index], pinned, *options[0][further.index + 1:]]
                    said.append(_t(lang, further.question.zh, further.question.en))
                except _Rollback as rollback:
                    if len(options) == 1 or rollback.unchanged:  # 网易签了, and #15 is signed already
                        if quiet and not rollback.unchanged:
                            return None
                        return _refusal("\n".join([*said[len(doubts):], rollback.reply.text]))
                    options.pop(0)
                    said.append(_t(lang, "但它不能这样更新：", "But it cannot be updated so: ")
                                + rollback.reply.text.splitlines()[0])
                    labels.pop(0)
        first = labels[0] if not previews or len(labels) > 1 else ""
        reply = proposal(lang, doubts=said, previews=previews, first_label=first, labels=labels[1:])
        await self._store_question(options, labels, reply, incoming, now, inbox_id)
        return reply

    async def _store_question(self, options: list[list[Command]], labels: list[str], reply: Reply,
                              incoming: Incoming, now: datetime, inbox_id: str | None) -> None:
        async with transaction(self.sessions) as session:
            await inbox.ask_choice(session, identity=incoming.identity, chat_id=incoming.chat_id,
                                     command_text=incoming.text, options=options_to_json(options, labels), now=now)
            if incoming.files:
                # The photo sent with a message in doubt is evidence of the update once it is confirmed.
                member, _ = await queries.member_and_team(session, identity=incoming.identity)
                if member is not None:
                    await attachments.keep_for_next_update(session, incoming, member, now)
            if inbox_id:
                await inbox.add_inbox_row(session, platform=incoming.platform, message_id=inbox_id,
                                            identity=incoming.identity, reply=reply.to_json(), now=now)

    async def _cancel_pending(self, incoming: Incoming) -> Reply | None:
        async with transaction(self.sessions) as session:
            pending = await inbox.pending_choice(session, identity=incoming.identity, chat_id=incoming.chat_id)
            if pending is None or pending.created_at < self.clock() - CHOICE_LIFETIME:
                return None
            await inbox.drop_choice(session, identity=incoming.identity, chat_id=incoming.chat_id)
        return Reply(text="已取消刚才的问题，没有保存任何内容。\nThe open question is cancelled; nothing was stored.")

    async def _answer(self, understood: Understanding, incoming: Incoming, now: datetime, *, quiet: bool) -> Reply:
        """`1`, `2` …, 好/是 or 取消/0: the answer to the sender's open question in this chat."""
        async with self.sessions() as session:
            pending = await inbox.pending_choice(session, identity=incoming.identity, chat_id=incoming.chat_id)
        lifetime = WORD_ANSWER_LIFETIME if understood.answer == "accept" else CHOICE_LIFETIME
        lang = understood.lang
        if pending is None and (stored := await self._stored_reply(incoming)) is not None:
            return stored  # a redelivered answer: the question is gone because this answer settled it
        if pending is not None and await self._moved_on(incoming, pending.created_at):
            pending = None  # an update since the question settles it: 1 or 好 now means nothing old
        if pending is None or pending.created_at < now - lifetime:
            if understood.answer == "accept":
                return SILENT if incoming.chat_kind == "group" else _hint(lang)  # 好 / 是 said in passing
            if quiet:
                return SILENT
            return _refusal("没有等待你选择的问题。请直接发送命令，例如「签约 #12」。\n"
                            "There is no open question to answer. Send a command, e.g. `sign #12`.")
        if understood.answer == "cancel":
            async with transaction(self.sessions) as session:
                await inbox.drop_choice(session, identity=incoming.identity, chat_id=incoming.chat_id)
            return Reply(text="已取消，没有保存任何内容。\nCancelled; nothing was stored.")
        options = self._options(pending.options, pending.command_text)
        if options is None:  # the grammar changed since the question was asked
            async with transaction(self.sessions) as session:
                await inbox.drop_choice(session, identity=incoming.identity, chat_id=incoming.chat_id)
            return _refusal("这个问题已失效，请重新发送原消息。\nThat question has expired; please send the message again.")
        number = understood.number or 1
        if not 1 <= number <= len(options):
            return _refusal(f"请回复 1 到 {len(options)} 之间的序号，或 0 取消。\n"
                            f"Reply with a number from 1 to {len(options)}, or 0 to cancel.")
        chosen = options[number - 1]
        return await self._answered(self._store_chosen(chosen, incoming, now), chosen, incoming, now,
                                    incoming.message_id, settles=True)

    async def _store_chosen(self, chosen: list[Command], incoming: Incoming, now: datetime) -> Reply:
        try:
            return await self._commit(chosen, incoming, now, incoming.message_id, answering=True)
        except _Ask as ask:  # another part of the message needs a choice too
            asked = await self._propose_choice(chosen, ask, incoming, now, incoming.message_id)
            assert asked is not None
            return asked

    async def _moved_on(self, incoming: Incoming, asked_at: datetime) -> bool:
        """Whether the sender stored an update after the question was asked (checked when an answer comes,
        not on every update: the answer is the rare message)."""
        async with self.sessions() as session:
            member, _ = await queries.member_and_team(session, identity=incoming.identity)
            if member is None or member.id is None:
                return False
            latest = await event_queries.last_undoable_event(session, member_id=member.id, since=asked_at)
        return latest is not None and latest.created_at > asked_at

    def _options(self, raw: str, command_text: str) -> list[list[Command]] | None:
        """The stored options, also from questions asked before proposals existed (a list of project ids)."""
        stored = options_from_json(raw)
        if stored is not None:
            return stored[0]
        original = parse(command_text, catalog=self.catalog, usd_rate=self.settings.usd_cny_rate,
                         bot_names=self.bot_names)
        if isinstance(original, ParseError) or original.project is None:
            return None
        ids: list[int] = json.loads(raw)
        name = original.project.name or ""
        return [[replace(original, project=ProjectRef(id=i) if i else ProjectRef(name=name, new=True))] for i in ids]

    async def _stored_reply(self, incoming: Incoming) -> Reply | None:
        """The answer already given to this platform message, if it was handled before."""
        if not incoming.message_id:
            return None
        async with self.sessions() as session:
            stored = await inbox.stored_reply(session, platform=incoming.platform, message_id=incoming.message_id)
        return Reply.from_json(stored) if stored is not None else None
