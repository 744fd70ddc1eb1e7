"""Per-chat post settings (which scheduled posts a bound group gets, and when): defaults and the `设置` verb."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import time

from handlers import access
from handlers.commands import Command, Lang
from handlers.context import Context
from handlers.job_defaults import JOB_DEFAULTS
from handlers.messages import Reply
from handlers.refusal import refuse_key
from handlers.wording import in_lang, say
from storage import bindings
from storage.models import ChatBinding

MENTION_WORDS = ("点名", "@", "mentions", "mention")
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def job_key(word: str) -> str | None:
    """The job a `设置` word names."""
    lowered = word.lower()
    for job in JOB_DEFAULTS.values():
        if lowered in job.words:
            return job.key
    return None


@dataclass(frozen=True)
class JobSetting:
    """One job's effective setting in one chat."""

    enabled: bool
    at: time


def job_setting(binding: ChatBinding, key: str) -> JobSetting:
    """The effective setting of job `key` in a bound chat (stored override or the default)."""
    default = JOB_DEFAULTS[key]
    stored = json.loads(binding.settings or "{}").get(key, {})
    at = default.time
    if isinstance(stored.get("time"), str) and _TIME.match(stored["time"]):
        hours, minutes = stored["time"].split(":")
        at = time(int(hours), int(minutes))
    return JobSetting(enabled=bool(stored.get("enabled", True)), at=at)


def describe_settings(binding: ChatBinding, lang: Lang = "zh") -> list[str]:
    """The chat's posts, one line each, for the reply to `设置`."""
    lines = []
    for key, default in JOB_DEFAULTS.items():
        setting = job_setting(binding, key)
        state = setting.at.strftime("%H:%M") if setting.enabled else say(lang, "settings.off")
        day = say(lang, "settings.mondays") if default.weekday == 0 else ""
        lines.append(f"· {in_lang(lang, default.zh, key)}：{day}{state}")
    mentions = say(lang, "settings.on") if binding.mentions else say(lang, "settings.off")
    lines.append(say(lang, "settings.mentions", state=mentions))
    return lines


async def handle_settings(cmd: Command, ctx: Context) -> Reply:
    """settings: leaders and admins switch a bound group's posts on/off or move their time."""
    if ctx.incoming.chat_kind != "group":
        raise refuse_key(ctx, "settings.settings_bound_group", 'settings')
    binding = await bindings.binding_of(ctx.session, platform=ctx.incoming.chat_platform, chat_id=ctx.incoming.chat_id)
    if binding is None:
        raise refuse_key(ctx, "settings.group_bound_yet_admin")
    # A squad's group: its captains, leaders and admins; the leaders' group: leaders and admins.
    access.require(ctx, "settings", team_id=binding.team_id, target=ctx.say("access.this_group"))
    word, flag = (cmd.value or "").strip(), (cmd.flag or "").strip()
    if not word:
        header = ctx.say("settings.group_posts")
        return Reply(text="\n".join([header, *describe_settings(binding, ctx.lang)]))
    if word.lower() in MENTION_WORDS:
        if flag not in ("on", "off"):
            raise refuse_key(ctx, "settings.mentions_off", 'settings')
        binding.mentions = flag == "on"
        ctx.session.add(binding)
        state = ctx.say("settings.on") if binding.mentions else ctx.say("settings.off")
        return Reply(text=ctx.say("settings.mentions_set", state=state))
    key = job_key(word)
    if key is None:
        known = "、".join(job.words[0] for job in JOB_DEFAULTS.values())
        raise refuse_key(ctx, "settings.no_such_post", "settings", word=word, known=known)
    stored = json.loads(binding.settings or "{}")
    entry = dict(stored.get(key, {}))
    if flag in ("on", "off"):
        entry["enabled"] = flag == "on"
    elif _TIME.match(flag):
        hours, minutes = flag.split(":")
        entry["time"], entry["enabled"] = f"{int(hours):02d}:{minutes}", True
    else:
        raise refuse_key(ctx, "settings.give_time_off", 'settings')
    stored[key] = entry
    binding.settings = json.dumps(stored, ensure_ascii=False)
    ctx.session.add(binding)
    setting = job_setting(binding, key)
    state = setting.at.strftime("%H:%M") if setting.enabled else ctx.say("settings.off")
    post = in_lang(ctx.lang, JOB_DEFAULTS[key].zh, key)  # a post's name: its Chinese word, or its key in English
    return Reply(text=ctx.say("settings.post_set", post=post, state=state))
