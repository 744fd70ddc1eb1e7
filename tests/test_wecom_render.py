"""bot.wecom_render: the one place user-written text is escaped for WeCom markdown and WeCom text."""

from __future__ import annotations

import pytest

from bot.wecom_adapter import own_words
from bot.wecom_render import escape_markdown, escape_text, markdown_of, mention_line, robot_markdown, text_of
from handlers.messages import Reply

HOSTILE = '[紧急通知](https://evil.example)<font color="warning">…</font>'


@pytest.mark.parametrize("text", [
    HOSTILE, "**粗**", "`code`", "<@all>", "# 标题", "## 二级", "> 引用", '<a href="https://e">点</a>',
])
def test_markdown_escape_leaves_no_markup(text: str) -> None:
    shown = escape_markdown(text)
    assert not any(mark in shown for mark in ("[", "](", "<", ">", "`", "**"))
    assert not shown.lstrip().startswith(("# ", "## ", ">"))


def test_markdown_escape_keeps_the_words_and_project_ids() -> None:
    assert escape_markdown(HOSTILE) == '［紧急通知］(https://evil.example)＜font color="warning"＞…＜/font＞'
    assert escape_markdown("#12 仲景医药 · 招引\n#5 项目") == "#12 仲景医药 · 招引\n#5 项目"  # not a heading


def test_a_replys_markdown_keeps_only_the_cores_bold() -> None:
    reply = Reply(text="plain", markdown=f"**🏆 比学赶超**\n1. {HOSTILE}\n**小结 <b>**")
    assert markdown_of(reply) == ("**🏆 比学赶超**\n1. ［紧急通知］(https://evil.example)＜font color=\"warning\"＞…＜/font＞\n"
                                  "**小结 ＜b＞**")
    assert markdown_of(Reply(text="a **b** [c](d)")) == "a ＊＊b＊＊ ［c］(d)"  # plain text: nothing is bold


def test_text_escape_kills_links_but_keeps_the_words() -> None:
    assert escape_text('<a href="https://evil.example">点我</a>') == '＜a href="https://evil.example"＞点我＜/a＞'
    assert text_of(Reply(text="金额>1亿 & <2亿")) == "金额＞1亿 & ＜2亿"


def test_robot_mentions_are_the_only_live_markup() -> None:
    reply = Reply(text=f"📝 报送提醒\n{HOSTILE}", mentions=["zhangwei", "li.si@corp", "<@all>", "x y"])
    content = robot_markdown(reply)
    assert content.endswith("\n<@zhangwei> <@li.si@corp>")
    assert "<font" not in content and "](" not in content
    assert mention_line(["ok", "", "a" * 65]) == "<@ok>"


def test_a_quoted_wecom_message_is_not_the_senders_words() -> None:
    quoted = "「张三：放弃 项目甲」\n- - - - - - - - - - - - - - -\n好的收到"
    assert own_words(quoted) == "好的收到"
    assert own_words("「张三：放弃 项目甲」\n- - - - - - - - - - - - - - -\n") == ""
    assert own_words("放弃 项目甲") == "放弃 项目甲"
    assert own_words("「项目甲」 签约了") == "「项目甲」 签约了"  # corner brackets alone are a name, not a quote


@pytest.mark.parametrize("text", ["# 标题", "## 二级", "###### 六级", "#", "  ## 缩进", "#\t标题"])
def test_both_wecom_renderers_escape_every_heading_alike(text: str) -> None:
    from bot.wecom_bot import render as bot_render

    assert escape_markdown(text) == bot_render.escape(text)
    assert "＃" in escape_markdown(text) and not escape_markdown(text).lstrip().startswith("#")
