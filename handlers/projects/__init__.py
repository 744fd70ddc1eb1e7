"""Handlers for project updates: the four pools, notes, visits, problems, drop, edit, verify, expect, find,
funds in place (到位) and 转交.

Each handler is `(command, context) -> Reply`. It checks everything before it writes, so a refusal leaves
nothing behind; the dispatcher commits the whole message in one transaction after a successful reply.
"""

from handlers.projects.edit import handle_edit, handle_expect
from handlers.projects.find import handle_find, handle_mine
from handlers.projects.funds import handle_funds
from handlers.projects.notes import handle_note, handle_visit
from handlers.projects.problems import handle_problem, handle_resolve
from handlers.projects.stages import handle_drop, handle_stage
from handlers.projects.transfer import handle_transfer
from handlers.projects.verify import handle_verify

__all__ = ["handle_drop", "handle_edit", "handle_expect", "handle_find", "handle_funds", "handle_mine", "handle_note",
           "handle_problem", "handle_resolve", "handle_stage", "handle_transfer", "handle_verify", "handle_visit"]
