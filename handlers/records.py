"""What every project update writes and answers: the undo snapshot, the event, the evidence, the card."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from typing import Any

from handlers.attachments import kept_note
from handlers.context import Context
from handlers.format import format_amount, project_label, stage_name, undo_hint
from handlers.messages import Reply
from handlers.refusal import refuse_key
from handlers.undo_button import undo_button
from handlers.wording import key
from storage import event_queries, people_queries
from storage.limits import clip_to, table_limits, violations
from storage.models import Evidence, Project

# --- snapshots for undo ---------------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def snapshot(project: Project, fields: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """The values of `fields` before a change, as JSON-ready data for the undo."""
    return {name: _jsonable(getattr(project, name)) for name in fields}


def restore(project: Project, before: dict[str, Any]) -> None:
    """Put back the values a snapshot recorded."""
    for name, value in before.items():
        if isinstance(value, str) and name.endswith("_at") and value:
            value = datetime.fromisoformat(value)
        elif isinstance(value, str) and name == "expected_date" and value:
            value = date.fromisoformat(value)
        setattr(project, name, value)


# --- events ---------------------------------------------------------------------------------------

_FIELD_LABELS = {
    "name": key("field.name"), "name_key": key("field.name"), "place": key("field.place"),
    "company": key("field.company"), "amount_text": key("field.amount"), "industry": key("field.industry"),
    "zone": key("field.zone"), "drop_reason": key("field.reason"), "aliases": key("field.aliases"),
}


def check_fits(ctx: Context, project: Project) -> None:
    """Refuse a value longer than its field's limit (`storage.limits`) before anything is written.

    PostgreSQL rejects an overlong VARCHAR mid-transaction (the sender would get the internal-error
    answer, and resending would fail again); SQLite stores it whole, which would break a later move to
    PostgreSQL by backup and restore. The same limit on both, refused with the field and its limit.
    """
    row = {column: getattr(project, column, None) for column in table_limits("project")}
    for found in violations("project", [row]):
        label = ctx.say(_FIELD_LABELS[found.column]) if found.column in _FIELD_LABELS else found.column
        raise refuse_key(ctx, "check_fits.too_long_characters_most", field=label, length=found.length,
                         limit=found.limit)


async def record_event(
    ctx: Context, *, project: Project | None, kind: str, from_stage: str = "", to_stage: str = "",
    text: str = "", data: dict[str, Any] | None = None, undoes: int | None = None, team_id: int | None = None,
) -> int:
    """Append an event (the audit trail), attributed and tied to the platform message; returns its id."""
    if project is not None:
        check_fits(ctx, project)
        if data and isinstance(data.get("before"), dict):
            # Undo restores only what this change changed: a snapshot also holding fields it left alone
            # (a 签约 snapshots the amount in case it sets one) would take back a colleague's later edit.
            data = {**data, "before": {name: value for name, value in data["before"].items()
                                       if _jsonable(getattr(project, name)) != value}}
    if ctx.batch:
        data = {**(data or {}), "batch": ctx.batch}
    incoming = ctx.incoming
    event_id = await event_queries.add_event(
        ctx.session,
        project_id=project.id if project else None,
        member_id=ctx.member.id if ctx.member else None,
        team_id=project.team_id if project else (team_id or (ctx.member.team_id if ctx.member else None)),
        kind=kind, from_stage=from_stage, to_stage=to_stage, text=text,
        data=json.dumps(data or {}, ensure_ascii=False), undoes_event_id=undoes,
        source_platform=incoming.platform, source_chat=incoming.chat_id,
        source_message_id=incoming.message_id or "", created_at=ctx.now,
    )
    if project is not None and kind != "undo":
        await event_queries.touch_project(ctx.session, project=project, now=ctx.now)
    _keep_evidence(ctx, project, event_id)
    return event_id


def _keep_evidence(ctx: Context, project: Project | None, event_id: int) -> None:
    """The message's files become evidence rows; their copies are downloaded by the adapter only after this
    transaction commits (bot.evidence), and only under the size limit."""
    if project is None or project.id is None:
        if ctx.incoming.files:
            ctx.notes.append(ctx.say("keep_evidence.file_was_kept_record"))
        return
    limit = ctx.settings.files_max_bytes
    for item in ctx.incoming.files:
        state = "stored" if item.local_path else ("too_large" if item.size > limit else "pending")
        ctx.session.add(Evidence(
            project_id=project.id, event_id=event_id, platform=ctx.incoming.platform,
            file_ref=clip_to("evidence", "file_ref", item.file_ref),
            file_name=clip_to("evidence", "file_name", item.file_name),
            mime_type=clip_to("evidence", "mime_type", item.mime_type), stored_path=item.local_path,
            created_at=ctx.now, size_bytes=item.size, fetch_state=state,
        ))
    if ctx.incoming.files:
        too_large = sum(1 for item in ctx.incoming.files if item.size > limit and not item.local_path)
        ctx.notes.append(kept_note(ctx.lang, len(ctx.incoming.files), too_large, ctx.settings.files_max_mb))


# --- cards ----------------------------------------------------------------------------------------

_DONE = re.compile(r"^(\S+ )?已")  # "✅ 已签约" → "✅ 签约": a preview says what would be stored


def headline_for(ctx: Context, headline: str) -> str:
    """The headline as written, or in a preview without the 已 (nothing is stored yet)."""
    return _DONE.sub(r"\1", headline, count=1) if ctx.preview else headline


def project_line(ctx: Context, project: Project) -> str:
    """`#12 名称`, or `新项目 名称` for one this message would create (a preview has no id for it yet)."""
    if ctx.preview and project.id in ctx.created:
        return ctx.say("project_line.new_project") + project.name
    return project_label(project.id, project.name)


def undo_line(ctx: Context) -> str:
    """How to undo what was just stored."""
    return undo_hint(ctx.lang, ctx.settings.undo_window_minutes)


async def card(ctx: Context, project: Project, headline: str, details: list[str], event_id: int) -> Reply:
    """The short card every update gets: what was stored, #id, squad, stage, amount, how to undo."""
    team = await people_queries.team_by_id(ctx.session, team_id=project.team_id)
    facts = [stage_name(project.stage, ctx.lang), format_amount(project.amount_yuan, ctx.lang)]
    if team:
        facts.append(team.name)
    lines = [headline_for(ctx, headline), project_line(ctx, project) + " · " + " · ".join(facts), *details,
             *ctx.notes]
    if ctx.preview:
        return Reply(text="\n".join(line for line in lines if line))
    lines.append(undo_line(ctx))
    return Reply(text="\n".join(line for line in lines if line),
                 buttons=[undo_button(ctx.say("card.undo"), event_id)])
