"""The ingest baseline: a bare python-telegram-bot echo bot behind the same aiohttp webhook route.

    python -m bench.echo_bot --port PORT --api-url URL

A PTB Application with one MessageHandler replying with the message's text (sendMessage), fed by
POST /telegram/webhook the way bot.telegram_adapter feeds the real bot (secret header checked,
Update.de_json, update queue). It gets the same update concurrency as the real bot (256) and no rate
limiter: the cheapest PTB bot that answers every message, which is what the real one is measured against.
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import signal
from typing import Any

from aiohttp import web
from telegram import Update
from telegram.ext import Application, ApplicationBuilder, ContextTypes, MessageHandler, filters

from bench.common import BOT_TOKEN, WEBHOOK_SECRET

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer a text message with its own text."""
    assert update.message is not None and update.message.text is not None
    await update.message.reply_text(update.message.text)


def web_app(application: Application[Any, Any, Any, Any, Any, Any]) -> web.Application:
    """The webhook route and a health check."""
    async def webhook(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), WEBHOOK_SECRET.encode()):
            return web.Response(status=403, text="forbidden")
        try:
            update = Update.de_json(await request.json(), application.bot)
        except Exception:
            return web.Response(status=400, text="bad update")
        await application.update_queue.put(update)
        return web.Response(text="ok")

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/telegram/webhook", webhook)
    app.router.add_get("/healthz", healthz)
    return app


async def serve(port: int, api_url: str) -> None:
    """Run the echo bot until SIGTERM/SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    application = (
        ApplicationBuilder().token(BOT_TOKEN).base_url(f"{api_url}/bot").concurrent_updates(256).build()
    )
    application.add_handler(MessageHandler(filters.TEXT, echo))
    await application.initialize()
    await application.start()
    runner = web.AppRunner(web_app(application), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
        await application.stop()
        await application.shutdown()


def main() -> int:
    """`python -m bench.echo_bot`."""
    parser = argparse.ArgumentParser(description="a bare PTB echo bot behind an aiohttp webhook")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--api-url", required=True)
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.api_url))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
