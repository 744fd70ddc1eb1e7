"""`zsbot backup FILE` and `zsbot restore FILE` on the command line; the copy itself is storage.backup."""

from __future__ import annotations

import sys
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from bot.settings import Settings
from storage.backup import backup_to, restore_from


async def backup_database(settings: Settings, path: Path) -> int:
    """CLI: `zsbot backup FILE`."""
    counts = await backup_to(settings.database_url, path)
    print(f"已备份 / backed up → {path}: " + ", ".join(f"{name} {n}" for name, n in counts.items() if n))
    return 0


async def restore_database(settings: Settings, path: Path) -> int:
    """CLI: `zsbot restore FILE` (into an empty database)."""
    try:
        counts = await restore_from(settings.database_url, path, tz=settings.tz)
    except ValueError as error:
        print(f"恢复失败，未做任何更改 / restore failed, nothing changed: {error}", file=sys.stderr)
        return 2
    except (SQLAlchemyError, OSError) as error:  # the database refused a row, or could not be reached
        reason = str(getattr(error, "orig", None) or error).splitlines()[0]
        print(f"恢复失败，未做任何更改 / restore failed, nothing changed: {type(error).__name__}: {reason}",
              file=sys.stderr)
        return 2
    print(f"已恢复 / restored from {path}: " + ", ".join(f"{name} {n}" for name, n in counts.items() if n))
    return 0
