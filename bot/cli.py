"""The `zsbot` command line (DESIGN §6): run, console, demo, migrate, jobs, files, export, import, backup."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.app import ZsBot
from bot.cli_roster import add_roster_commands, roster_command
from bot.settings import Settings


def _settings() -> Settings:
    return Settings()


async def _migrate(settings: Settings) -> int:
    async with ZsBot(settings):
        pass
    print(f"数据库已是最新结构 / schema is up to date: {_safe_url(settings.database_url)}")
    return 0


def _safe_url(url: str) -> str:
    """The database URL without its password, for printing."""
    if "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in credentials else url


async def _console(settings: Settings, user: str | None) -> int:
    from bot.console import run_console

    name = user or "admin"
    if user is None and f"console:{name}" not in settings.admins:
        settings.admins.append(f"console:{name}")  # without --user the console user is an admin
    async with ZsBot(settings) as bot:
        await run_console(bot.core.handle, user=name, messengers=bot.messengers)
    return 0


async def _demo(settings: Settings, *, fresh: bool = False) -> int:
    from bot.console import run_console
    from bot.demo import DEMO_ADMIN, build_demo, demo_state, demo_summary
    from storage.db import wipe

    admin = f"console:{DEMO_ADMIN}"
    if admin not in settings.admins:
        settings.admins.append(admin)
    async with ZsBot(settings) as bot:
        state = await demo_state(bot)
        if state == "other":
            print("这个数据库里已有非演示数据，演示不会改动它：用 zsbot console 打开它，或用 ZSBOT_DATABASE_URL 指定一个新的数据库。\n"
                  "This database already holds other data; the demo will not touch it: open it with `zsbot console`, "
                  "or point ZSBOT_DATABASE_URL at a new database.", file=sys.stderr)
            return 2
        if state == "demo" and fresh:
            await wipe(bot.engine)
            state = "empty"
        if state == "empty":
            count = await build_demo(bot)
            print(f"已生成演示数据（{count} 条报送）/ demo database built: {_safe_url(settings.database_url)}")
        else:
            print("继续上次的演示数据（zsbot demo --fresh 重新开始）/ reopening the demo (zsbot demo --fresh starts over)")
        print(await demo_summary(bot))
        await run_console(bot.core.handle, user=DEMO_ADMIN, messengers=bot.messengers)
    return 0


async def _export(settings: Settings, path: Path) -> int:
    from bot.ledger_files import export_ledger

    async with ZsBot(settings) as bot:
        count = await export_ledger(bot, path)
    print(f"已导出 {count} 个项目 / exported {count} projects → {path}")
    return 0


async def _import(settings: Settings, path: Path) -> int:
    from bot.ledger_files import import_ledger
    from handlers.ledger import LedgerFormatError

    async with ZsBot(settings) as bot:
        try:
            created, updated = await import_ledger(bot, path)
        except LedgerFormatError as error:
            print(f"导入失败，未做任何更改 / import failed, nothing changed: {error}", file=sys.stderr)
            return 2
    print(f"已导入：新建 {created}，更新 {updated} / imported: {created} new, {updated} updated")
    return 0


async def _files_prune(settings: Settings) -> int:
    async with ZsBot(settings) as bot:
        report = await bot.evidence.prune()
    keep = (f"保留 {settings.files_retention_days} 天" if settings.files_retention_days
            else "长期保留 / kept while their project exists")
    print(f"已清理 {settings.files_dir}：孤立文件 {report.orphans}，已撤销更新的佐证 {report.undone}，"
          f"超过保留期 {report.expired}（{keep}），过期的待用附件 {report.held}；释放 {report.bytes_freed} 字节 / "
          f"pruned: {report.orphans} orphans, {report.undone} undone, {report.expired} past retention, "
          f"{report.held} stale held files; {report.bytes_freed} bytes freed")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and --help)."""
    parser = argparse.ArgumentParser(prog="zsbot", description="招商助手 zsbot")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="start the platforms, the web server and the scheduler")
    run.add_argument("--worker", type=int, default=0, help=argparse.SUPPRESS)  # a secondary: bot.workers
    console = commands.add_parser("console", help="chat with the bot in the terminal")
    console.add_argument("--user", help="who is typing (default: an admin)")
    demo = commands.add_parser("demo", help="build the demo district and open the console (reopens it next time)")
    demo.add_argument("--fresh", action="store_true", help="throw the demo's data away and build it again")
    commands.add_parser("migrate", help="bring the database schema up to date")
    export = commands.add_parser("export", help="write the ledger to FILE (.xlsx, .csv or .json)")
    export.add_argument("file", type=Path)
    importer = commands.add_parser("import", help="read a ledger FILE (.xlsx, .csv or .json)")
    importer.add_argument("file", type=Path)
    backup = commands.add_parser("backup", help="write a consistent copy of the database to FILE")
    backup.add_argument("file", type=Path)
    restore = commands.add_parser("restore", help="load a backup FILE into an empty database")
    restore.add_argument("file", type=Path)
    files = commands.add_parser("files", help="evidence files (contracts, licences) kept on disk")
    file_commands = files.add_subparsers(dest="files_command", required=True)
    file_commands.add_parser("prune", help="delete orphaned, undone and (ZSBOT_FILES_RETENTION_DAYS) old copies")
    jobs = commands.add_parser("jobs", help="scheduled posts")
    job_commands = jobs.add_subparsers(dest="jobs_command", required=True)
    job_commands.add_parser("list", help="each job, its next run per chat and its last result")
    run_job = job_commands.add_parser("run", help="run one job now")
    run_job.add_argument("name")
    run_job.add_argument("--chat", help="only this chat (binding id or platform chat id)")
    run_job.add_argument("--dry-run", action="store_true", help="print the cards instead of sending")
    add_roster_commands(commands.add_parser)  # members, teams (bot.cli_roster)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `zsbot` console script."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # httpx logs every request URL at INFO, and Telegram's URLs carry the bot token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    settings = _settings()
    if args.command == "migrate":
        return asyncio.run(_migrate(settings))
    if args.command == "console":
        return asyncio.run(_console(settings, args.user))
    if args.command == "demo":
        return asyncio.run(_demo(settings, fresh=args.fresh))
    if args.command == "export":
        return asyncio.run(_export(settings, args.file))
    if args.command == "import":
        return asyncio.run(_import(settings, args.file))
    if args.command == "run":
        from bot.runner import run_forever

        logging.getLogger().setLevel(logging.DEBUG if args.verbose else logging.INFO)
        if args.worker:  # started by the primary, which sends its settings first
            from bot.workers import settings_from_line

            settings = settings_from_line(sys.stdin.buffer.readline())
        return asyncio.run(run_forever(settings, worker=args.worker))
    if args.command == "backup":
        from bot.backup import backup_database

        return asyncio.run(backup_database(settings, args.file))
    if args.command == "restore":
        from bot.backup import restore_database

        return asyncio.run(restore_database(settings, args.file))
    if args.command == "files":
        return asyncio.run(_files_prune(settings))
    if args.command == "jobs":
        from jobs.cli import jobs_command

        return asyncio.run(jobs_command(settings, args))
    if args.command in ("members", "teams"):
        return asyncio.run(roster_command(settings, args))
    raise AssertionError(args.command)


if __name__ == "__main__":
    raise SystemExit(main())
