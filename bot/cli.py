"""The `zsbot` command line (DESIGN §6): run, console, demo, migrate, jobs, files, export, import, backup."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli_roster import add_roster_commands, roster_command

if TYPE_CHECKING:
    from bot.settings import Settings

# The database, the platforms and the reports are imported by the commands that use them, not here:
# `zsbot --help` and a mistyped argument answer at once (bench/README.md, start-up).


def _settings() -> Settings:
    """The settings from the environment, checked before any command runs: a bad value (ZSBOT_RANKING_BY)
    or an unusable ZSBOT_ASSESSMENT_FILE is one line (ValueError), never a traceback."""
    from pydantic import ValidationError

    from bot.settings import Settings

    try:
        settings = Settings()
    except ValidationError as error:
        first = error.errors()[0]
        name = "ZSBOT_" + "_".join(str(part) for part in first["loc"]).upper()
        raise ValueError(f"设置 {name} 无效 / invalid setting {name}: {first['msg']}") from None
    settings.rules()  # loads and checks the assessment scheme
    return settings


async def _migrate(settings: Settings) -> int:
    from bot.app import ZsBot

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
    from bot.app import ZsBot
    from bot.console import run_console

    name = user or "admin"
    if user is None and f"console:{name}" not in settings.admins:
        settings.admins.append(f"console:{name}")  # without --user the console user is an admin
    async with ZsBot(settings) as bot:
        await run_console(bot.core.handle, user=name, started=bot.platform_started)
    return 0


async def _demo(settings: Settings, *, fresh: bool = False) -> int:
    from bot.app import ZsBot
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
        await run_console(bot.core.handle, user=DEMO_ADMIN, started=bot.platform_started)
    return 0


async def _export(settings: Settings, path: Path) -> int:
    from bot.app import ZsBot
    from bot.ledger_files import export_ledger

    async with ZsBot(settings) as bot:
        count = await export_ledger(bot, path)
    print(f"已导出 {count} 个项目 / exported {count} projects → {path}")
    return 0


MAX_SHOWN = 40  # detail lines printed after an import (a dry run prints them all)


async def _import(settings: Settings, path: Path, *, mapping: dict[str, str], dry_run: bool) -> int:
    from bot.app import ZsBot
    from bot.ledger_load import import_ledger

    async with ZsBot(settings) as bot:
        report = await import_ledger(bot, path, mapping=mapping, dry_run=dry_run)
    shown = report.details if dry_run else report.details[:MAX_SHOWN]
    for line in shown:
        print(line)
    if len(report.details) > len(shown):
        print(f"……另有 {len(report.details) - len(shown)} 条（--dry-run 列出全部）")
    for line in report.warnings[:MAX_SHOWN]:
        print("⚠️ " + line)
    if len(report.warnings) > MAX_SHOWN:
        print(f"⚠️ ……另有 {len(report.warnings) - MAX_SHOWN} 条提示")
    counts = (f"新建 {report.created}，更新 {report.updated}，未变 {report.unchanged}，进展 {report.notes} / "
              f"{report.created} new, {report.updated} updated, {report.unchanged} unchanged, {report.notes} notes")
    if dry_run:
        print(f"试运行，未保存任何更改 / dry run, nothing stored: {counts}")
    else:
        print(f"已导入：{counts} / imported")
    return 0


async def _files_prune(settings: Settings) -> int:
    from bot.app import ZsBot

    async with ZsBot(settings) as bot:
        report = await bot.evidence.prune()
    keep = (f"保留 {settings.files_retention_days} 天" if settings.files_retention_days
            else "长期保留 / kept while their project exists")
    print(f"已清理 {settings.files_dir}：孤立文件 {report.orphans}，已撤销更新的佐证 {report.undone}，"
          f"超过保留期 {report.expired}（{keep}），过期的待用附件 {report.held}；释放 {report.bytes_freed} 字节 / "
          f"pruned: {report.orphans} orphans, {report.undone} undone, {report.expired} past retention, "
          f"{report.held} stale held files; {report.bytes_freed} bytes freed")
    return 0


SETTINGS_HELP = """\
settings (environment variables or a .env file in the working folder):
  ZSBOT_DATABASE_URL   the database (default sqlite:///zsbot.db; postgresql://… for PostgreSQL)
  ZSBOT_TIMEZONE       the district's time zone (Asia/Shanghai): years, days and posting times
  ZSBOT_ADMINS         admin identities, comma-separated (telegram:123, wecom:zhangwei, console:admin)
  ZSBOT_LEADERS        leader identities, comma-separated
  ZSBOT_TELEGRAM_TOKEN, ZSBOT_WECOM_*   the platforms `zsbot run` starts (see README)
  ZSBOT_REQUIRE_VERIFICATION   签约/落地 count only after a leader's 核实
  ZSBOT_FILES_DIR      where evidence files are kept (zsbot_files)

exit codes: 0 done; 1 failed (a chat not reached, an unexpected error); 2 bad input (a file that
cannot be read or written, unknown squads in an import, a wrong argument); 130 interrupted."""


def _job_names() -> str:
    from handlers.job_defaults import JOB_DEFAULTS

    return "\n".join(f"  {key:<20}{job.zh}" for key, job in JOB_DEFAULTS.items())


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and --help)."""
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="zsbot", formatter_class=raw,
        description="招商助手 zsbot: squads report their investment-promotion projects in chat (Telegram, "
                    "WeCom, the console);\nthe bot keeps the ledger (台账), ranks squads and posts reminders "
                    "and reports.",
        epilog=SETTINGS_HELP,
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging, and full details of errors")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, summary: str, details: str = "", **kwargs: object) -> argparse.ArgumentParser:
        return commands.add_parser(name, help=summary, description=summary + ("\n\n" + details if details else ""),
                                   formatter_class=raw, epilog=SETTINGS_HELP, **kwargs)  # type: ignore[arg-type]

    run = command("run", "start the platforms, the web server (dashboard, webhooks) and the scheduler",
                  "Every platform whose settings are present starts (ZSBOT_TELEGRAM_TOKEN, ZSBOT_WECOM_*);\n"
                  "ZSBOT_HOST/ZSBOT_PORT for the web server, ZSBOT_WORKERS for more web processes.")
    run.add_argument("--worker", type=int, default=0, help=argparse.SUPPRESS)  # a secondary: bot.workers
    console = command("console", "chat with the bot in the terminal (one input line = one message)",
                      "Console commands: :user NAME, :group / :private, :quit. Charts and files are saved in\n"
                      "the working folder under new names.")
    console.add_argument("--user", help="who is typing (default: an admin)")
    demo = command("demo", "build the demo district and open the console (reopens it next time)")
    demo.add_argument("--fresh", action="store_true", help="throw the demo's data away and build it again")
    command("migrate", "bring the database schema up to date (ZSBOT_DATABASE_URL)")
    export = command(
        "export", "write the ledger (台账) to FILE: .xlsx for people, .csv or .json for machines",
        "The .xlsx has a 汇总 sheet (targets, 序时进度, squads in ranking order, 合计), one sheet per pool\n"
        "(最新进展, 存在问题, 合计 row), a 说明 sheet with the counting rule, and prints landscape.")
    export.add_argument("file", type=Path, help="the file to write (its folder must exist)")
    importer = command(
        "import", "read a ledger FILE (.xlsx, .csv incl. GBK, .json) into the database, all rows or none",
        "Reads our own export or a district office's 台账 (title rows, 序号, 投资额（亿元）, 责任单位,\n"
        "所属产业, 项目进展, 备注, 签约时间 …; 合计 rows skipped). Never creates a squad: an unknown 责任单位\n"
        "stops the import (exit 2) with the closest squads; map it with --map or --map-file.")
    importer.add_argument("file", type=Path, help="the ledger file")
    importer.add_argument("--map", action="append", default=[], metavar="原名=小分队",
                          help="treat a 责任单位 of the file as an existing squad (repeatable), e.g. 德化街办事处=德化街")
    importer.add_argument("--map-file", type=Path, metavar="FILE", help="a file of such mappings, one a=b per line")
    importer.add_argument("--dry-run", action="store_true", help="print what would be created and changed; store nothing")
    backup = command("backup", "write a consistent copy of the database to FILE (safe while the bot runs)")
    backup.add_argument("file", type=Path)
    restore = command("restore", "load a backup FILE into an empty database (either backend)")
    restore.add_argument("file", type=Path)
    files = command("files", "evidence files (contracts, licences) kept on disk (ZSBOT_FILES_DIR)")
    file_commands = files.add_subparsers(dest="files_command", required=True, metavar="COMMAND")
    file_commands.add_parser("prune", help="delete orphaned, undone and (ZSBOT_FILES_RETENTION_DAYS) old copies")
    jobs_text = "jobs:\n" + _job_names()
    jobs = command("jobs", "scheduled posts: list them, or run one now", jobs_text)
    job_commands = jobs.add_subparsers(dest="jobs_command", required=True, metavar="COMMAND")
    job_commands.add_parser("list", help="each job, its next run per chat and its last result")
    run_job = job_commands.add_parser("run", help="run one job now", formatter_class=raw,
                                      description="Run one scheduled post now.\n\n" + jobs_text)
    run_job.add_argument("name", help="the job (its key or Chinese name, e.g. daily_rank or 排行)")
    run_job.add_argument("--chat", help="only this chat (binding id or platform chat id)")
    run_job.add_argument("--dry-run", action="store_true", help="print the cards instead of sending")
    run_job.add_argument("--out", type=Path, metavar="DIR",
                         help="with --dry-run: also write every card (.txt) and image (.png) into DIR")
    add_roster_commands(commands.add_parser)  # members, teams (bot.cli_roster)
    return parser


def _dispatch(args: argparse.Namespace) -> int:
    settings = _settings()
    if args.command == "migrate":
        return asyncio.run(_migrate(settings))
    if args.command == "console":
        return asyncio.run(_console(settings, args.user))
    if args.command == "demo":
        return asyncio.run(_demo(settings, fresh=args.fresh))
    if args.command == "export":
        from bot.ledger_files import check_target

        check_target(args.file)  # before opening (and perhaps creating) the database
        return asyncio.run(_export(settings, args.file))
    if args.command == "import":
        from bot.ledger_load import parse_mapping, read_mapping_file

        if not args.file.is_file():
            raise FileNotFoundError(2, "文件不存在 / no such file", str(args.file))
        mapping = read_mapping_file(args.map_file) if args.map_file is not None else {}
        mapping |= parse_mapping(args.map)
        return asyncio.run(_import(settings, args.file, mapping=mapping, dry_run=args.dry_run))
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
        from bot.jobs_cli import jobs_command

        return asyncio.run(jobs_command(settings, args))
    if args.command in ("members", "teams"):
        return asyncio.run(roster_command(settings, args))
    raise AssertionError(args.command)


def _error(line: str) -> None:
    print(line, file=sys.stderr)


_BAD_INPUT_OS_ERRORS = (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError, FileExistsError)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `zsbot` console script: every error is one line on stderr and an exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)  # bad usage: argparse prints usage and one line, exit 2
    if args.command == "jobs" and getattr(args, "out", None) is not None and not args.dry_run:
        parser.error("--out 只能与 --dry-run 一起使用 / --out needs --dry-run")
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # httpx logs every request URL at INFO, and Telegram's URLs carry the bot token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        code = _dispatch(args)
        sys.stdout.flush()  # here, not at exit: a closed pipe must reach the handler below
        return code
    except KeyboardInterrupt:
        _error("已中断 / interrupted")
        return 130
    except BrokenPipeError:
        # The reader went away (`zsbot demo | head`): nothing more can be printed; silence the final flush.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except _BAD_INPUT_OS_ERRORS as error:
        _error(f"{error.strerror or type(error).__name__}：{error.filename or error}")
        return 2
    except ValueError as error:  # bad input found deeper (a ledger, a backup, a mapping, a setting)
        from handlers.ledger import LedgerFormatError  # loaded already when a ledger raised it

        if isinstance(error, LedgerFormatError):
            what = "导入失败，未做任何更改 / import failed, nothing changed" if args.command == "import" else \
                "无法完成 / failed"
            _error(f"{what}：{error}")
        else:
            _error(f"错误 / error：{error}")
        return 2
    except Exception as error:  # the last word: one line, the details with -v
        if args.verbose:
            traceback.print_exc()
        _error(f"意外错误 / unexpected error：{type(error).__name__}: {error}".splitlines()[0][:300]
               + ("" if args.verbose else "（加 -v 查看详情 / run with -v for details）"))
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
