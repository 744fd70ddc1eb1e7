"""People, squads and settings: 请假, 目标, 建队, 邀请码, 加入, 绑定, 设置, 帮助, roles, 移出, 改名, 解绑."""

from __future__ import annotations

from datetime import timedelta

from handlers.amounts import amount_at
from handlers.commands import Command, ParseError
from handlers.dates import find_dates, read_date
from handlers.normalize import Token
from handlers.parse.common import (
    _EDGE_CHARS,
    _ROBOT_URL_KEY,
    _STAGE_NUMBER,
    _TIME,
    _YEAR,
    _Ctx,
    _impossible_date,
    _is_word,
    _lookup,
)
from handlers.parse.verbs import match_verb
from handlers.times import read_time
from handlers.vocabulary import (
    CANCEL_WORDS,
    KIND_WORDS,
    LEADER_WORDS,
    OFF_WORDS,
    ON_WORDS,
    ROTATE_WORDS,
    SETTING_JOBS,
    STAGE_WORDS,
)


def _parse_away(ctx: _Ctx) -> Command | ParseError:
    """away: the last day away (`至12月5日`, `到下周五`, `到月底`, `2026-12-05`), or `取消`."""
    for token in ctx.tokens:
        if _is_word(token, CANCEL_WORDS):
            return ctx.command(value="cancel")
    found = [d for d in find_dates(ctx.rest, ctx.today)] or [
        d for token in ctx.tokens if (d := read_date(token.text, ctx.today)) is not None
    ]
    if not found:
        if (bad := _impossible_date(ctx.tokens)) is not None:
            return ctx.error(ctx.say("parse.no_such_date", text=bad.text))
        return ctx.error(ctx.say("parse.away_until"))
    last = max(found, key=lambda reading: reading.day)  # 下周一到周三: until the Wednesday
    day, approximate = last.day, last.approximate
    if last.granularity == "week":  # 请假 下周: the whole week, probably
        day, approximate = last.day + timedelta(days=6 - last.day.weekday()), True
    elif last.granularity == "month":  # 出差 下个月: to its end, probably
        day, approximate = (last.day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1), True
    if day < ctx.today:
        return ctx.error(ctx.say("parse.day_past", day=day.isoformat()))
    return ctx.command(when=day, flag="approximate" if approximate else None,
                       note=last.text if approximate else "")


FUNDS_TARGET_WORDS = frozenset({"到位", "到位资金", "资金到位", "funds", "inplace"})


def _parse_target(ctx: _Ctx) -> Command | ParseError:
    """target: [team] [year] then stage/number pairs, and `到位 20亿` (funds in place, in yuan)."""
    tokens = ctx.tokens
    pairs: dict[str, int] = {}
    year: int | None = None
    team: list[str] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if not token.quoted and token.text.lower() in FUNDS_TARGET_WORDS:
            texts = [t.text if not t.quoted else "\0" for t in tokens]
            found = amount_at(texts, i + 1, usd_rate=ctx.usd_rate) if i + 1 < len(tokens) else None
            if found is None or found[0].vague:
                return ctx.error(ctx.say("parse.amount_after", text=token.text))
            pairs["funds"] = found[0].yuan
            i += 1 + found[1]
            continue
        stage = _lookup(token, STAGE_WORDS)
        glued = None if token.quoted else _STAGE_NUMBER.fullmatch(token.text)
        if stage is not None:
            if i + 1 < len(tokens) and tokens[i + 1].text.isdigit() and tokens[i + 1].text.isascii():
                pairs[stage] = int(tokens[i + 1].text[:6])
                i += 2
                continue
            return ctx.error(
                ctx.say("parse.number_after", text=token.text)
            )
        glued_stage = _lookup(Token(glued.group(1), 0, 0), STAGE_WORDS) if glued else None
        if glued and glued_stage is not None:
            pairs[glued_stage] = int(glued.group(2))
        elif year is None and not token.quoted and (match := _YEAR.fullmatch(token.text)):
            year = int(match.group(1))
        elif pairs or (year is not None and team):
            return ctx.error(ctx.say("parse.cannot_read", text=token.text[:30]))
        else:
            team.append(token.text)
        i += 1
    if not pairs:
        return ctx.error(ctx.say("parse.target_number"))
    return ctx.command(value=" ".join(team) or None, year=year, targets=tuple(pairs.items()))


def _parse_newteam(ctx: _Ctx) -> Command | ParseError:
    """newteam: team name and an optional kind word (default squad)."""
    kind = "squad"
    name: list[str] = []
    for token in ctx.tokens:
        found = _lookup(token, KIND_WORDS)
        if found is not None and name:
            kind = found
        else:
            name.append(token.text)
    if not name:
        return ctx.error(ctx.say("parse.team_name"))
    return ctx.command(value=" ".join(name), kind=kind)


def _parse_invite(ctx: _Ctx) -> Command | ParseError:
    """invite: optional team name, optional rotate word."""
    flag: str | None = None
    team: list[str] = []
    for token in ctx.tokens:
        if _is_word(token, ROTATE_WORDS):
            flag = "rotate"
        else:
            team.append(token.text)
    return ctx.command(value=" ".join(team) or None, flag=flag)


def _parse_join(ctx: _Ctx) -> Command | ParseError:
    """join: the invite code."""
    if not ctx.tokens:
        return ctx.error(ctx.say("parse.invite_code"))
    return ctx.command(value=ctx.tokens[0].text)


def _parse_bind(ctx: _Ctx) -> Command | ParseError:
    """bind: a team name or 领导/leaders, optionally a WeCom group-robot key or webhook URL."""
    secret: str | None = None
    name: list[str] = []
    expect_key = False  # `robot: KEY` written with a space after the colon
    for token in ctx.tokens:
        lowered = token.text.lower()
        if expect_key and not token.quoted:
            secret, expect_key = token.text, False
        elif not token.quoted and lowered.startswith(("robot:", "key:")):
            secret = token.text.split(":", 1)[1].strip() or None
            expect_key = secret is None
        elif not token.quoted and lowered.startswith(("http://", "https://")):
            match = _ROBOT_URL_KEY.search(token.text)
            if match is None:
                return ctx.error(
                    ctx.say("parse.webhook_no_key")
                )
            secret = match.group(1)
        else:
            name.append(token.text)
    value = " ".join(name)
    if not value and secret is not None and ctx.verb == "bind":
        return ctx.error(ctx.say("parse.bind_to"))
    if value.lower() in LEADER_WORDS:
        value = "leaders"
    return ctx.command(value=value or None, secret=secret)  # bind alone: what this chat is bound to


def _parse_settings(ctx: _Ctx) -> Command | ParseError:
    """settings: job word and a time (HH:MM) or on/off; both optional (none shows the settings)."""
    value: str | None = None
    flag: str | None = None
    for token in ctx.tokens:
        time = None if token.quoted else _TIME.fullmatch(token.text)
        spoken = None if token.quoted or time else read_time(token.text)
        if time:
            hour, minute = int(time.group(1)), int(time.group(2))
            if hour > 23 or minute > 59:
                return ctx.error(ctx.say("parse.bad_time", text=token.text))
            flag = f"{hour:02d}:{minute:02d}"
        elif spoken is not None:  # 8点半, 早上九点
            flag = f"{spoken.hour:02d}:{spoken.minute:02d}"
        elif _is_word(token, ON_WORDS):
            flag = "on"
        elif _is_word(token, OFF_WORDS):
            flag = "off"
        elif value is None:
            value = _lookup(token, SETTING_JOBS) or token.text
        else:
            return ctx.error(ctx.say("parse.cannot_read", text=token.text[:30]))
    if flag is not None and value is None:
        return ctx.error(ctx.say("parse.which_setting"))
    return ctx.command(value=value, flag=flag)


def _parse_help(ctx: _Ctx) -> Command | ParseError:
    """help: optionally the verb to explain (value = its key)."""
    found = match_verb(ctx.rest.strip(_EDGE_CHARS))
    return ctx.command(value=found[1] if found else None)


def _parse_start(ctx: _Ctx) -> Command | ParseError:
    """start / link: one optional code (a Telegram deep-link payload, a link code)."""
    return ctx.command(value=ctx.tokens[0].text if ctx.tokens else None)


_REVOKE_WORDS = frozenset({"作废", "撤销", "注销", "revoke"})


def _parse_dashboard(ctx: _Ctx) -> Command | ParseError:
    """dashboard: nothing (a link), or 作废 / revoke (void the sender's links); anything else is asked again."""
    words = [token.text.lower() for token in ctx.tokens]
    if not words:
        return ctx.command()
    if len(words) == 1 and words[0] in _REVOKE_WORDS:
        return ctx.command(flag="revoke")
    return ctx.error(ctx.say("parse.dashboard_only_revoke", word=ctx.rest.strip()))


def _person(token: Token) -> str:
    return token.text.lstrip("@").strip()


def _parse_role_change(ctx: _Ctx) -> Command | ParseError:
    """appoint / dismiss: a person, and captain (the default) or leader — from the verb word or a word."""
    kind = "leader" if "领导" in ctx.text[: len(ctx.text) - len(ctx.rest)] else "captain"
    names: list[str] = []
    for token in ctx.tokens:
        word = token.text.lower()
        if not token.quoted and word in ("captain", "队长"):
            kind = "captain"
        elif not token.quoted and word in ("leader", "领导"):
            kind = "leader"
        elif _person(token):
            names.append(_person(token))
    if not names:
        return ctx.error(ctx.say("parse.appoint_who"))
    return ctx.command(value=" ".join(names), kind=kind)


def _parse_remove(ctx: _Ctx) -> Command | ParseError:
    """remove: the person to take out of their squad."""
    names = [_person(token) for token in ctx.tokens if _person(token)]
    if not names:
        return ctx.error(ctx.say("parse.remove_who"))
    return ctx.command(value=" ".join(names))


def _parse_rename(ctx: _Ctx) -> Command | ParseError:
    """rename: the squad, then its new name."""
    if len(ctx.tokens) != 2:
        return ctx.error(ctx.say("parse.rename_names"))
    return ctx.command(value=ctx.tokens[0].text, note=ctx.tokens[1].text)


def _parse_unbind(ctx: _Ctx) -> Command | ParseError:
    """unbind: this chat (nothing written), a WeCom robot (robot:KEY or its URL), or a squad (to choose)."""
    return _parse_bind(ctx)
