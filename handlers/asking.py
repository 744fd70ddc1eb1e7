"""Asking instead of storing: a reading in doubt or a handler's question becomes a numbered question
(stored as a PendingChoice, its options as typed commands), and `1`/`好`/`取消` answers it. The dispatcher
(handlers.dispatch.Core) is an `Asking`: it provides the parts declared abstract here."""

from __future__ import annotations

import abc
import json
import logging
from collections.abc import Awaitable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from handlers import attachments
from handlers.catalog import Catalog
from handlers.command_json import options_from_json, options_to_json
from handlers.commands import Command, ParseError, ProjectRef
from handlers.context import Clock
from handlers.messages import Incoming, Reply
from handlers.outcomes import (
    CHOICE_LIFETIME,
    SILENT,
    WORD_ANSWER_LIFETIME,
    Ask,
    Rollback,
    hint_reply,
    refusal_reply,
)
from handlers.parse import parse, render
from handlers.proposals import proposal
from handlers.routes import reads_only
from handlers.understand.reader import Understanding
from handlers.understand.segments import UPDATE_VERBS
from handlers.wording import in_lang, say
from storage import event_queries, inbox, people_queries
from storage.db import SessionFactory, transaction

if TYPE_CHECKING:
    from sqlmodel.ext.asyncio.session import AsyncSession

    from handlers.rules import Rules

log = logging.getLogger(__name__)


class Asking(abc.ABC):
    """The question half of the dispatcher; `Core` runs, previews and commits what it asks about."""

    sessions: SessionFactory
    settings: Rules
    catalog: Catalog
    bot_names: set[str]
    clock: Clock

    @abc.abstractmethod
    async def _answered(self, work: Awaitable[Reply], commands: Sequence[Command], incoming: Incoming,
                        now: datetime, inbox_id: str | None, *, settles: bool = False) -> Reply:
        """Run `work` and turn what stops it into an answer (handlers.dispatch.Core)."""

    @abc.abstractmethod
    async def _commit(self, commands: Sequence[Command], incoming: Incoming, now: datetime, inbox_id: str | None,
                      *, answering: bool = False) -> Reply:
        """Store the commands in one transaction (handlers.dispatch.Core)."""

    @abc.abstractmethod
    async def _preview(self, commands: Sequence[Command], incoming: Incoming, now: datetime) -> list[Reply]:
        """Run the commands in a transaction that is rolled back (handlers.dispatch.Core)."""

    @abc.abstractmethod
    async def _stored_reply(self, incoming: Incoming) -> Reply | None:
        """The answer a message got before, when it is a redelivery (handlers.dispatch.Core)."""


    async def _forwarded(self, understood: Understanding, incoming: Incoming, now: datetime, *,
                         quiet: bool) -> Reply:
        """Someone else's words passed on are never run as the sender's command (`放弃 项目甲` forwarded by a
        colleague must not drop it). Updates in them are offered to the sender as a question, to store in
        the sender's own name once confirmed; anything else (a question, an answer like `1`) is left alone."""
        lang = understood.lang
        commands = [reading.command for reading in understood.readings] if understood.answer is None else []
        if quiet or not any(command.verb in UPDATE_VERBS for command in commands):
            return SILENT if quiet else refusal_reply(say(lang, "forwarded.not_run"))
        note = say(lang, "forwarded.offer")
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
            doubts.append(say(lang, "proposal.unread", parts="；".join(f"「{part[:30]}」" for part in understood.unread)))
        readings: list[list[Command]] = [commands]
        for index, reading in enumerate(understood.readings):
            if reading.alternatives:
                readings += [[*commands[:index], alternative, *commands[index + 1:]]
                             for alternative in reading.alternatives]
                break
        refused: Rollback | None = None
        for position, candidate in enumerate(readings):
            try:
                previews = await self._preview(candidate, incoming, now)
            except Rollback as rollback:
                refused = refused or rollback
                continue
            except Ask as ask:
                asked = await self._propose_choice(candidate, ask, incoming, now, inbox_id, doubts=doubts,
                                                   quiet=position + 1 < len(readings))
                if asked is None:
                    continue  # every choice would be refused: the next reading
                return asked
            options = readings[position:]
            if len(options) == 1 and all(reads_only(command) for command in candidate):
                # Questions store nothing, so there is nothing to confirm: answered now, the doubts above.
                lines = [f"🤔 {doubt}" for doubt in dict.fromkeys(doubts) if doubt]
                return replace(previews[0], text="\n".join([*lines, *(preview.text for preview in previews)]))
            labels = [say(lang, "proposal.as_written", command=render(option[0])) for option in options[1:]]
            reply = proposal(lang, doubts=doubts, previews=previews, first_label="", labels=labels)
            await self._store_question(options, ["", *labels], reply, incoming, now, inbox_id)
            return reply
        assert refused is not None  # every reading was refused (or asked nothing that could be stored)
        raise refused

    async def _propose_choice(self, commands: list[Command], ask: Ask, incoming: Incoming, now: datetime,
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
        labels = [in_lang(lang, choice.label_zh, choice.label_en) for choice in question.choices]
        said = [*doubts, in_lang(lang, question.zh, question.en)]
        previews: list[Reply] | None = None
        if question.confirm:
            for _ in range(len(commands) + len(options)):
                if not options:
                    break
                try:
                    previews = await self._preview(options[0], incoming, now)
                    break
                except Ask as further:
                    if not further.question.confirm or further.index == ask.index:
                        break  # a list to pick from: asked once this question is answered
                    pinned = further.question.choices[0].command
                    options[0] = [*options[0][:further.index], pinned, *options[0][further.index + 1:]]
                    said.append(in_lang(lang, further.question.zh, further.question.en))
                except Rollback as rollback:
                    if len(options) == 1 or rollback.unchanged:  # 网易签了, and #15 is signed already
                        if quiet and not rollback.unchanged:
                            return None
                        return refusal_reply("\n".join([*said[len(doubts):], rollback.reply.text]))
                    options.pop(0)
                    said.append(say(lang, "proposal.cannot", reason=rollback.reply.text.splitlines()[0]))
                    labels.pop(0)
        first = labels[0] if not previews or len(labels) > 1 else ""
        reply = proposal(lang, doubts=said, previews=previews, first_label=first, labels=labels[1:])
        await self._store_question(options, labels, reply, incoming, now, inbox_id)
        return reply

    async def _store_question(self, options: list[list[Command]], labels: list[str], reply: Reply,
                              incoming: Incoming, now: datetime, inbox_id: str | None) -> None:
        async with transaction(self.sessions) as session:
            if not await self._known(session, incoming.identity):
                # Someone who has not joined leaves nothing behind: they are shown the reading, to send as is.
                raise Rollback(refusal_reply(_stranger_question(reply, options)))
            await inbox.ask_choice(session, identity=incoming.identity, chat_id=incoming.chat_id,
                                     command_text=incoming.text, options=options_to_json(options, labels), now=now)
            if incoming.files:
                # The photo sent with a message in doubt is evidence of the update once it is confirmed.
                member, _ = await people_queries.member_and_team(session, identity=incoming.identity)
                if member is not None:
                    await attachments.keep_for_next_update(session, incoming, member, now)
            if inbox_id:
                await inbox.add_inbox_row(session, platform=incoming.platform, message_id=inbox_id,
                                            identity=incoming.identity, reply=reply.to_json(), now=now)

    async def _known(self, session: AsyncSession, identity: str) -> bool:
        """Whether the sender may leave a question behind: a member, or an admin or leader by the settings."""
        if identity in self.settings.admins or identity in self.settings.leaders:
            return True
        member, _ = await people_queries.member_and_team(session, identity=identity)
        return member is not None

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
                return SILENT if incoming.chat_kind == "group" else hint_reply(lang)  # 好 / 是 said in passing
            if quiet:
                return SILENT
            return refusal_reply("没有等待你选择的问题。请直接发送命令，例如「签约 #12」。\n"
                            "There is no open question to answer. Send a command, e.g. `sign #12`.")
        if understood.answer == "cancel":
            async with transaction(self.sessions) as session:
                await inbox.drop_choice(session, identity=incoming.identity, chat_id=incoming.chat_id)
            return Reply(text="已取消，没有保存任何内容。\nCancelled; nothing was stored.")
        options = self._options(pending.options, pending.command_text)
        if options is None:  # the grammar changed since the question was asked
            async with transaction(self.sessions) as session:
                await inbox.drop_choice(session, identity=incoming.identity, chat_id=incoming.chat_id)
            return refusal_reply("这个问题已失效，请重新发送原消息。\nThat question has expired; please send the message again.")
        number = understood.number or 1
        if not 1 <= number <= len(options):
            return refusal_reply(f"请回复 1 到 {len(options)} 之间的序号，或 0 取消。\n"
                            f"Reply with a number from 1 to {len(options)}, or 0 to cancel.")
        chosen = options[number - 1]
        return await self._answered(self._store_chosen(chosen, incoming, now), chosen, incoming, now,
                                    incoming.message_id, settles=True)

    async def _store_chosen(self, chosen: list[Command], incoming: Incoming, now: datetime) -> Reply:
        try:
            return await self._commit(chosen, incoming, now, incoming.message_id, answering=True)
        except Ask as ask:  # another part of the message needs a choice too
            asked = await self._propose_choice(chosen, ask, incoming, now, incoming.message_id)
            assert asked is not None
            return asked

    async def _moved_on(self, incoming: Incoming, asked_at: datetime) -> bool:
        """Whether the sender stored an update after the question was asked (checked when an answer comes,
        not on every update: the answer is the rare message)."""
        async with self.sessions() as session:
            member, _ = await people_queries.member_and_team(session, identity=incoming.identity)
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


def _stranger_question(reply: Reply, options: list[list[Command]]) -> str:
    """The question asked of someone who has not joined, as a refusal: the reading, and what to send."""
    question = [line for line in reply.text.splitlines() if not line.startswith(("0. ", "回复", "Reply"))]
    written = "；".join(render(command) for command in options[0])
    return "\n".join([*question, f"你还没有加入，问题不会保留；如果是这个意思，请直接发送：{written}",
                      f"You have not joined, so nothing is kept; if that is what you meant, send: {written}"])
