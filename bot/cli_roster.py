"""`zsbot members [--squad NAME]` and `zsbot teams`: the district's roster from the command line.

The role printed is the one the bot acts on: admin and leader from the settings (any of the person's
identities listed, as handlers.dispatch computes it on every message), else the role given in chat.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the database is loaded by the command itself: `zsbot --help` stays quick
    from bot.settings import Settings
    from storage.roster_queries import MemberLine

ROLE_ZH = {"admin": "管理员", "leader": "领导", "captain": "队长", "member": "队员"}


def add_roster_commands(add_parser: Callable[..., argparse.ArgumentParser]) -> None:
    """Register `members` and `teams` with the CLI's `add_parser` (of its subcommands)."""
    members = add_parser("members", help="list the members, their squads, roles and identities")
    members.add_argument("--squad", help="only this squad's members")
    add_parser("teams", help="list the squads, their member counts, captains and bound chats")


def role_of(line: MemberLine, settings: Settings) -> str:
    """A member's role as the bot computes it: the settings first, then the role given in chat."""
    identities = set(line.identities.split(", ")) if line.identities else set()
    if identities & set(settings.admins):
        return "admin"
    if identities & set(settings.leaders) or line.role == "leader":
        return "leader"
    return line.role


async def roster_command(settings: Settings, args: argparse.Namespace) -> int:
    """Print the members (`members`) or the squads (`teams`); 2 for a squad that does not exist."""
    from bot.app import ZsBot
    from storage import people_queries, roster_queries

    async with ZsBot(settings) as bot, bot.sessions() as session:
        if args.command == "teams":
            teams = await roster_queries.team_lines(session)
            print(f"小分队 {len(teams)} 个 / {len(teams)} squads")
            for team in teams:
                print(f"{team.id}\t{team.name}\t{team.kind}\t队员 {team.members}\t"
                      f"队长 {team.captains or '-'}\t绑定群 {team.bound_chats}")
            return 0
        squad = args.squad
        if squad is not None and await people_queries.team_by_name(session, name=squad) is None:
            print(f"没有名为「{squad}」的小分队 / no squad named {squad!r}", file=sys.stderr)
            return 2
        lines = [line for line in await roster_queries.member_lines(session) if squad is None or line.team == squad]
    print(f"队员 {len(lines)} 人 / {len(lines)} members")
    for line in lines:
        role = role_of(line, settings)
        print(f"{line.id}\t{line.name}\t{line.team or '-'}\t{ROLE_ZH.get(role, role)}\t{line.identities}")
    return 0
