"""Rendering replies for Telegram: escaping, splitting, mentions, buttons, and the order of parts."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from bot.telegram_render import (
    CALLBACK_DATA_LIMIT,
    CallbackCodec,
    keyboard,
    markdown_to_html,
    markdown_visible,
    mention_html,
    plan_parts,
    render_chunks,
    split_text,
    utf16_len,
)
from handlers.messages import Button, OutgoingFile, Reply
from tests.fakes.telegram_api import visible_text

PNG = b"\x89PNG\r\n\x1a\n"


def test_utf16_length_counts_astral_characters_twice() -> None:
    assert utf16_len("签约 #12") == 6
    assert utf16_len("🎉a") == 3


def test_short_text_is_one_chunk() -> None:
    assert split_text("签约 #12\n金额 2亿") == ["签约 #12\n金额 2亿"]


def test_split_happens_at_line_breaks() -> None:
    lines = [f"第{n}行" + "字" * 5 for n in range(10)]  # 8 or 9 characters each
    chunks = split_text("\n".join(lines), limit=30)
    assert all(utf16_len(c) <= 30 for c in chunks)
    assert "\n".join(chunks).split("\n") == lines  # whole lines only
    assert len(chunks) == 4


def test_an_overlong_line_is_cut_hard_but_never_inside_a_character() -> None:
    chunks = split_text("🎉" * 7, limit=5)
    assert chunks == ["🎉🎉", "🎉🎉", "🎉🎉", "🎉"]
    assert split_text("a" * 12 + "\nb", limit=5) == ["aaaaa", "aaaaa", "aa\nb"]


def test_blank_chunks_are_dropped() -> None:
    assert split_text("a" * 5 + "\n\n\n\n" + "b" * 5, limit=5) == ["a" * 5, "b" * 5]
    assert split_text("\n \n") == []


@given(st.text(alphabet=st.sampled_from("ab 签约\n🎉<&*"), max_size=300), st.integers(min_value=2, max_value=40))
def test_split_loses_nothing_and_respects_the_limit(text: str, limit: int) -> None:
    chunks = split_text(text, limit)
    assert all(0 < utf16_len(c) <= limit for c in chunks)
    assert re.sub(r"\s", "", "".join(chunks)) == re.sub(r"\s", "", text)


def test_markdown_bold_becomes_html_and_everything_else_is_escaped() -> None:
    assert markdown_to_html("**排行** <A&B> 1 > 0") == "<b>排行</b> &lt;A&amp;B&gt; 1 &gt; 0"
    assert markdown_to_html("a ** b") == "a ** b"
    assert markdown_visible("**排行** 第1") == "排行 第1"


@given(st.text(alphabet=st.sampled_from("ab 签\n🎉<>&*\"'"), max_size=400))
def test_every_rendered_chunk_parses_as_telegram_html(markdown: str) -> None:
    reply = Reply(text="x", markdown=markdown or None, mentions=["42:<张>"])
    for chunk in render_chunks(reply, limit=50):
        shown = visible_text(chunk.html, "HTML")  # raises where Telegram could not parse it
        assert utf16_len(shown) == chunk.length <= 50


def test_plain_text_is_escaped() -> None:
    (chunk,) = render_chunks(Reply(text="<b>不是粗体</b> & 2亿"))
    assert chunk.html == "&lt;b&gt;不是粗体&lt;/b&gt; &amp; 2亿"


def test_mentions_are_user_links() -> None:
    assert mention_html("123") == ('<a href="tg://user?id=123">@123</a>', "@123")
    assert mention_html("telegram:5:张<三>") == ('<a href="tg://user?id=5">@张&lt;三&gt;</a>', "@张<三>")
    (chunk,) = render_chunks(Reply(text="今天还没报的：张三、李四", mentions=["1:张三", "2:李四"]))
    assert chunk.html.endswith('\n<a href="tg://user?id=1">@张三</a> <a href="tg://user?id=2">@李四</a>')


def test_mentions_that_do_not_fit_get_their_own_message() -> None:
    chunks = render_chunks(Reply(text="x" * 20, mentions=["1:张三"]), limit=20)
    assert [c.length for c in chunks] == [20, 3]


def test_short_commands_travel_in_the_callback_data() -> None:
    codec = CallbackCodec()
    data = codec.encode("1001", "撤销 event:42")
    assert data == "1001|撤销 event:42"
    assert codec.decode(data) == ("1001", "撤销 event:42")


def test_long_commands_are_kept_in_a_small_map() -> None:
    codec = CallbackCodec(max_entries=2)
    long = "洽谈 比亚迪品牌形象河南体验中心 2亿 汽车 @深圳 对接:比亚迪集团"
    data = codec.encode("1001", long)
    assert len(data.encode()) <= CALLBACK_DATA_LIMIT and data.startswith("1001|~")
    assert codec.decode(data) == ("1001", long)
    tricky = codec.encode("*", "~looks like a token")
    assert codec.decode(tricky) == ("*", "~looks like a token")
    assert codec.decode(data) == ("1001", long)  # now the most recently used
    codec.encode("1001", long + " 另一个")  # evicts the least recently used entry
    assert codec.decode(data) == ("1001", long)  # kept
    assert codec.decode(tricky) == ("*", None)  # forgotten


def test_keyboard_puts_one_button_per_row() -> None:
    codec = CallbackCodec()
    markup = keyboard([Button("比亚迪一期", "签约 #12"), Button("撤销", "撤销 event:42")], "7", codec)
    assert markup is not None
    rows = [[(b.text, b.callback_data) for b in row] for row in markup.inline_keyboard]
    assert rows == [[("比亚迪一期", "7|签约 #12")], [("撤销", "7|撤销 event:42")]]
    assert keyboard([], "7", codec) is None


def _markup() -> object:
    return keyboard([Button("撤销", "撤销 event:1")], "7", CallbackCodec())


def test_text_reply_is_one_message_with_the_buttons() -> None:
    markup = _markup()
    (part,) = plan_parts(Reply(text="已记录"), markup)  # type: ignore[arg-type]
    assert (part.kind, part.html, part.markup) == ("text", "已记录", markup)


def test_chart_reply_is_a_captioned_photo_then_the_ledger() -> None:
    markup = _markup()
    reply = Reply(text="排行", image=PNG, image_name="rank.png", file=OutgoingFile("台账.xlsx", b"PK"))
    photo, document = plan_parts(reply, markup)  # type: ignore[arg-type]
    assert (photo.kind, photo.html, photo.markup, photo.content) == ("photo", "排行", markup, PNG)
    assert (document.kind, document.filename, document.markup) == ("document", "台账.xlsx", None)


def test_text_too_long_for_a_caption_follows_the_photo() -> None:
    markup = _markup()
    parts = plan_parts(Reply(text="行\n" * 800, image=PNG), markup)  # type: ignore[arg-type]
    assert [p.kind for p in parts] == ["photo", "text"]
    assert parts[0].html is None and parts[0].markup is None and parts[1].markup is markup


def test_a_file_alone_carries_the_buttons() -> None:
    markup = _markup()
    (part,) = plan_parts(Reply(text="", file=OutgoingFile("a.xlsx", b"PK")), markup)  # type: ignore[arg-type]
    assert part.kind == "document" and part.markup is markup
