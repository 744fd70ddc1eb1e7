"""The 智能机器人 adapter's parts on their own: reading callback bodies (and refusing anything else), the
mention, markdown escaping, button keys, cards, held files and the relay's encoding."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.wecom_bot import frames, relay, render
from bot.wecom_bot.media import HeldFiles
from handlers.messages import Button, IncomingFile, OutgoingFile, Reply

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5),
    max_leaves=20,
)
shaped = st.fixed_dictionaries({
    "msgid": st.one_of(st.text(max_size=10), st.integers()), "msgtype": st.sampled_from(
        ["text", "mixed", "image", "voice", "file", "event", "stream", "x"]),
    "from": st.one_of(st.fixed_dictionaries({"userid": st.text(max_size=10)}), json_values),
    "chattype": st.sampled_from(["single", "group", "other"]), "chatid": json_values, "text": json_values,
    "mixed": json_values, "image": json_values, "event": json_values, "response_url": json_values,
})


@settings(max_examples=200, deadline=None)
@given(st.one_of(json_values, shaped))
def test_any_body_is_read_or_refused_never_anything_else(body: Any) -> None:
    try:
        parsed = frames.read_callback(body, bot_id="aib1")
    except frames.FrameError as exc:
        assert exc.reason
        return
    assert frames.is_id(parsed.msgid) and frames.is_id(parsed.user) and frames.is_id(parsed.chat_id)


def test_a_message_and_a_click_are_read_into_their_parts() -> None:
    message = frames.read_callback({
        "msgid": "M1", "aibotid": "aib1", "chatid": "wrG", "chattype": "group", "from": {"userid": "zhangwei"},
        "msgtype": "mixed", "create_time": 1700000000, "response_url": "https://qyapi.weixin.qq.com/r?c=1",
        "mixed": {"msg_item": [{"msgtype": "text", "text": {"content": "@助手\u2005签约 #1"}},
                               {"msgtype": "image", "image": {"url": "https://x/y", "aeskey": "k"}}]}},
        bot_id="aib1")
    assert isinstance(message, frames.BotMessage)
    assert (message.user, message.chat_id, message.group, message.text) == ("zhangwei", "wrG", True, "@助手\u2005签约 #1")
    assert message.media == (frames.MediaRef("image", "https://x/y", "k"),)
    click = frames.read_callback({"msgid": "E1", "from": {"userid": "zhangwei"}, "msgtype": "event",
                                  "event": {"eventtype": "template_card_event",
                                            "template_card_event": {"event_key": "zs1|zhangwei|1", "task_id": "t_1"}}})
    assert isinstance(click, frames.BotEvent) and (click.event_key, click.task_id) == ("zs1|zhangwei|1", "t_1")
    flat = frames.read_callback({"msgid": "E2", "from": {"userid": "u"}, "msgtype": "event",
                                 "event": {"eventtype": "template_card_event", "event_key": "k", "task_id": "t"}})
    assert isinstance(flat, frames.BotEvent) and flat.event_key == "k"
    with pytest.raises(frames.FrameError, match="another bot"):
        frames.read_callback({"msgid": "M", "aibotid": "x", "from": {"userid": "u"}, "msgtype": "text"}, bot_id="aib1")
    with pytest.raises(frames.FrameError, match="response_url"):
        frames.read_callback({"msgid": "M", "from": {"userid": "u"}, "msgtype": "text", "response_url": "file:///etc"})


@pytest.mark.parametrize(("text", "expected"), [
    ("@招商小助手\u2005签约 #12", "签约 #12"),
    ("签约 #12 @招商小助手\u2005", "签约 #12"),
    ("@RobotA hello robot", "hello robot"),  # the docs' example: a plain space
    ("@张三\u2005@招商小助手\u2005拜访 网易 @上海", "拜访 网易 @上海"),
    ("@招商小助手 拜访 网易 @上海", "拜访 网易 @上海"),  # a city after the verb stays
    ("拜访 网易 @上海", "拜访 网易 @上海"),
])
def test_the_mention_is_stripped_and_a_city_is_not(text: str, expected: str) -> None:
    assert frames.strip_mentions(text) == expected


def test_plain_text_cannot_open_markdown() -> None:
    text = "# 标题\n#12 杉杉\n**粗** [链接](http://x) <font color=red>红</font> `代码`"
    escaped = render.escape(text)
    assert escaped.splitlines()[0] == "＃ 标题" and escaped.splitlines()[1] == "#12 杉杉"
    assert not any(mark in escaped for mark in ("**", "[", "](", "<font", "`"))
    assert render.markdown_of(Reply(text="提醒", mentions=["lisi", "bad id<>"])) == "提醒\n<@lisi>"


def test_button_keys_carry_their_owner_and_command() -> None:
    key = render.button_key("zhangwei", "撤销 event:12")
    assert key == "zs1|zhangwei|撤销 event:12"
    assert render.read_key(key) == ("zhangwei", "撤销 event:12")
    assert render.read_key("approve") is None and render.read_key("zs1|zhangwei|") is None
    assert render.button_key("u", "签" * 400) is None  # over WeCom's 1,024 bytes: no button


def test_cards_keep_within_wecoms_sizes() -> None:
    labels = [Button(f"{n}. 选项{n}很长很长很长很长", str(n)) for n in range(1, 9)] + [Button("取消", "0")]
    reply = Reply(text="🤔 " + "这是一个很长的问题" * 10 + "\n第二行", buttons=labels)
    card = render.card(reply, "u", task_id="zs_1", detail=True)
    assert len(card["main_title"]["title"]) <= render.TITLE_CHARS
    assert len(card["button_list"]) == 6 and card["button_list"][-1]["key"] == "zs1|u|0"
    assert all(len(b["text"]) <= render.BUTTON_CHARS for b in card["button_list"])
    assert not render.card_holds(reply) and render.card_holds(Reply(text="↩️ 已撤销"))
    outcome = render.card(Reply(text="↩️ 已撤销"), "u", task_id="zs_1", detail=True)
    assert outcome["card_type"] == "text_notice" and "button_list" not in outcome


def test_a_long_answer_goes_in_place_up_to_its_limit_and_the_rest_after() -> None:
    body, rest = render.reply_bodies(Reply(text="进展记录一行。\n" * 3000), "u")
    assert len(body["stream"]["content"].encode()) <= render.STREAM_LIMIT
    assert rest and all(len(piece.encode()) <= render.POST_LIMIT for piece in rest)


async def test_held_files_wait_expire_and_are_released(tmp_path: Path) -> None:
    now = [1000.0]
    held = HeldFiles(tmp_path / "held", lifetime=60, clock=lambda: now[0])
    photo = tmp_path / "a.png"
    await asyncio.to_thread(photo.write_bytes, b"\x89PNG....")
    item = IncomingFile("photo", "wecom-bot:a_0", "a.png", "image/png", 8, str(photo))
    assert await held.hold("zhangwei", (item,)) == 1
    assert await held.hold("zhangwei", (item,)) == 1  # redelivered: held once
    assert await held.peek("zhangwei") == (item,) and await held.peek("lisi") == ()
    await held.release("zhangwei", (item,))
    assert await held.peek("zhangwei") == ()
    assert await asyncio.to_thread(photo.exists)  # released files are evidence: kept
    await held.hold("zhangwei", (item,))
    now[0] += 61
    assert await held.peek("zhangwei") == ()
    assert not await asyncio.to_thread(photo.exists)  # expired unattached: deleted


def test_the_relay_carries_a_whole_reply() -> None:
    reply = Reply(text="排行", markdown="**排行**", image=b"\x89PNG", image_name="rank.png", mentions=["lisi"],
                  buttons=[Button("撤销", "撤销 event:1")], file=OutgoingFile("台账.xlsx", b"PK\x03\x04", "application/x"))
    again = relay.decode_reply(relay.encode_reply(reply))
    assert (again.text, again.markdown, again.image, again.image_name, again.mentions, again.buttons, again.file) == (
        reply.text, reply.markdown, reply.image, reply.image_name, reply.mentions, reply.buttons, reply.file)


async def test_a_socket_not_ours_is_never_posted_to(tmp_path: Path) -> None:
    impostor = tmp_path / "relay.sock"
    await asyncio.to_thread(impostor.write_text, "not a socket")
    used: list[str] = []

    class Own:
        platform = "wecom-bot"

        async def send(self, chat_id: str, reply: Reply) -> None:
            used.append(chat_id)

    async def own() -> Own:
        return Own()

    await relay.RelayMessenger(impostor, own).send("wrG", Reply(text="x"))
    assert used == ["wrG"]
