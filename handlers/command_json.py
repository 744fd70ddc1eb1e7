"""Commands as JSON: a proposed reading is kept in the database until the sender answers it.

The stored form is the typed Command itself, not its text: the grammar may change between the question
and the answer (a restart with a new version), and a confirmed reading must be replayed exactly.
"""

from __future__ import annotations

import json
from dataclasses import asdict, fields
from datetime import date
from typing import Any

from handlers.commands import Amount, Command, ProjectRef

_FIELDS = {f.name for f in fields(Command)}


def command_to_data(command: Command) -> dict[str, Any]:
    """A Command as JSON-ready data (only the fields that differ from the defaults)."""
    default = Command(verb=command.verb)
    data: dict[str, Any] = {}
    for name, value in asdict(command).items():
        if value == getattr(default, name) and name != "verb":
            continue
        if isinstance(value, date):
            value = value.isoformat()
        elif isinstance(value, tuple):
            value = [list(item) if isinstance(item, tuple) else item for item in value]
        data[name] = value
    return data


def command_from_data(data: dict[str, Any]) -> Command:
    """The Command `command_to_data` wrote (unknown keys are ignored, so old rows stay readable)."""
    values: dict[str, Any] = {key: value for key, value in data.items() if key in _FIELDS}
    if isinstance(values.get("project"), dict):
        values["project"] = ProjectRef(**values["project"])
    if isinstance(values.get("amount"), dict):
        values["amount"] = Amount(**values["amount"])
    if isinstance(values.get("when"), str):
        values["when"] = date.fromisoformat(values["when"])
    if isinstance(values.get("targets"), list):
        values["targets"] = tuple((str(stage), int(number)) for stage, number in values["targets"])
    return Command(**values)


def options_to_json(options: list[list[Command]], labels: list[str]) -> str:
    """The options of a question (each a list of commands to run, with its label) as stored JSON."""
    return json.dumps({"v": 2, "labels": labels,
                       "options": [[command_to_data(c) for c in option] for option in options]},
                      ensure_ascii=False)


def options_from_json(raw: str) -> tuple[list[list[Command]], list[str]] | None:
    """The options stored by `options_to_json`; None for the older format (a list of project ids)."""
    data = json.loads(raw)
    if not isinstance(data, dict) or data.get("v") != 2:
        return None
    options = [[command_from_data(item) for item in option] for option in data["options"]]
    return options, [str(label) for label in data.get("labels", [])]
