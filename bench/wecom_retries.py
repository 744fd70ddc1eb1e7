"""How old a WeCom callback is when it reaches the bot, and what its retries cost, when the bot is slow.

WeCom waits five seconds for the answer to a callback, then drops the connection and sends the same signed
request again, three retries in all (接收消息与事件: "五秒内收不到响应会断掉连接，并且重新发起请求，总共重试三次").
This drives the real WeComAdapter over loopback HTTP with a client doing exactly that, against a core that
takes `--stall` seconds on the message, and prints for each attempt its age as the adapter checked it (our
clock minus the signed timestamp), the answer it got, and how often the core ran. The oldest age is what
ZSBOT_WECOM_CALLBACK_WINDOW_SECONDS must cover on top of the clocks' disagreement.

    python -m bench.wecom_retries [--stall 12]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import time

import aiohttp
from aiohttp import web

from bot.settings import Settings
from bot.wecom_adapter import WeComAdapter
from bot.wecom_api import WeComClient
from bot.wecom_crypto import WeComCrypto
from handlers.messages import Incoming, Reply

CORP_ID, AGENT_ID, TOKEN = "wwbench0000000000", 1000002, "bench-token"
AES_KEY = base64.b64encode(bytes(range(32))).decode().rstrip("=")
WECOM_TIMEOUT, WECOM_RETRIES = 5.0, 3


def _inner(msg_id: str) -> str:
    return (f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName><FromUserName><![CDATA[zhangwei]]></FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[排行]]></Content><MsgId>{msg_id}</MsgId><AgentID>{AGENT_ID}</AgentID></xml>")


async def run(stall: float) -> None:
    """One message, its retries, the figures."""
    checked: list[float] = []
    ran: list[str] = []

    def wall() -> float:
        now = time.time()
        checked.append(now)
        return now

    async def core(incoming: Incoming) -> Reply:
        ran.append(incoming.message_id or "")
        await asyncio.sleep(stall)
        return Reply(text="排行", silent=True)

    settings = Settings.model_validate({"wecom_corp_id": CORP_ID, "wecom_agent_id": str(AGENT_ID),
                                        "wecom_secret": "s", "wecom_token": TOKEN, "wecom_aes_key": AES_KEY})
    async with aiohttp.ClientSession() as session:
        client = WeComClient(session, api_url="http://127.0.0.1:9", corp_id=CORP_ID, secret="s", agent_id=AGENT_ID)
        adapter = WeComAdapter(settings, core, client, wall=wall)
        app = web.Application()
        app.add_routes(adapter.routes())
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        crypto = WeComCrypto(TOKEN, AES_KEY, CORP_ID)
        signed = int(time.time())
        envelope = crypto.encrypt_message(_inner("bench-1"), "4242", str(signed))
        encrypted = envelope.split("<Encrypt><![CDATA[")[1].split("]]>")[0]
        query = {"msg_signature": crypto.signature(str(signed), "4242", encrypted), "timestamp": str(signed),
                 "nonce": "4242"}
        body = f"<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>".encode()
        answers: list[str] = []
        timeout = aiohttp.ClientTimeout(total=WECOM_TIMEOUT)
        for _ in range(1 + WECOM_RETRIES):
            try:
                async with aiohttp.ClientSession(timeout=timeout) as wecom, \
                        wecom.post(f"http://127.0.0.1:{port}/wecom/callback", params=query, data=body) as response:
                    answers.append(str(response.status))
                    break
            except TimeoutError:
                answers.append("no answer in 5 s")
        await adapter.aclose()
        await runner.cleanup()
    ages = [f"{at - signed:.1f} s" for at in checked]
    print(f"core takes {stall:.0f} s; WeCom waits {WECOM_TIMEOUT:.0f} s, retries {WECOM_RETRIES} times")
    print(f"ages when checked: {', '.join(ages)}")
    print(f"answers:           {', '.join(answers)}")
    print(f"core runs:         {len(ran)}")


def main() -> None:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stall", type=float, default=12.0, help="seconds the core takes on the message")
    asyncio.run(run(parser.parse_args().stall))


if __name__ == "__main__":
    main()
