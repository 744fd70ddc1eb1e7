"""The core end to end, on SQLite and PostgreSQL: every verb, roles, refusals, undo, redelivery."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import update
from sqlmodel import func, select

from handlers.messages import IncomingFile
from storage import name_lookup
from storage.models import Event, Evidence, InboundMessage, Member, PendingChoice, Problem, Project, Target, Team
from tests.helpers import ADMIN, Chat, make_core, squad_with_members


async def project_named(sessions, name: str) -> Project:
    async with sessions() as session:
        return (await session.exec(select(Project).where(Project.name == name))).one()


async def count(sessions, model) -> int:
    async with sessions() as session:
        return (await session.exec(select(func.count()).select_from(model))).one()


async def test_newcomer_walkthrough_through_all_four_pools(chat, sessions, clock) -> None:
    """The README's walk-through: squad, member, four pools with Chinese amounts, problem, undo."""
    await squad_with_members(chat, "德化街", "张伟")
    reply = await chat.ok("张伟", "谋划 比亚迪河南体验中心 两亿 汽车 @深圳 对接:比亚迪集团")
    assert "#1" in reply.text and "2亿元" in reply.text and "德化街" in reply.text
    assert reply.buttons and reply.buttons[0].command.startswith("撤销 event:")
    project = await project_named(sessions, "比亚迪河南体验中心")
    assert (project.stage, project.amount_yuan, project.industry, project.wheel) == ("planned", 200_000_000, "汽车", "工业")
    assert (project.place, project.company) == ("深圳", "比亚迪集团")

    clock.advance(days=3)
    reply = await chat.ok("张伟", "洽谈 #1 五千万元")
    assert "谋划 → 招引" in reply.text
    clock.advance(days=30)
    await chat.ok("张伟", "签约 比亚迪河南体验中心 1.5亿元")
    clock.advance(days=30)
    await chat.ok("张伟", "落地 #1")
    project = await project_named(sessions, "比亚迪河南体验中心")
    assert project.stage == "landed" and project.amount_yuan == 150_000_000
    assert project.planned_at < project.attracting_at < project.signed_at < project.landed_at

    reply = await chat.ok("张伟", "问题 #1 土地 用地指标未批")
    assert "土地" in reply.text
    reply = await chat.ok("张伟", "解决 #1 已获批")
    async with sessions() as session:
        problem = (await session.exec(select(Problem))).one()
    assert problem.resolved_at is not None and problem.resolution == "已获批"

    await chat.ok("张伟", "改 #1 金额 3亿")
    reply = await chat.ok("张伟", "撤销")
    assert "撤销" in reply.text
    assert (await project_named(sessions, "比亚迪河南体验中心")).amount_yuan == 150_000_000


async def test_skipping_stages_stamps_every_earlier_stage(chat, sessions) -> None:
    await squad_with_members(chat, "长江路", "刘洋")
    await chat.ok("刘洋", "签约 京东结算中心 5亿")
    project = await project_named(sessions, "京东结算中心")
    assert project.planned_at == project.attracting_at == project.signed_at
    assert project.landed_at is None


async def test_every_amount_form_is_stored_as_integer_yuan(chat, sessions) -> None:
    await squad_with_members(chat, "五里堡", "赵磊")
    cases = {
        "2亿": 200_000_000, "1.5亿元": 150_000_000, "5000万": 50_000_000, "两亿": 200_000_000,
        "五千万元": 50_000_000, "300万美元": 21_300_000, "200m": 200_000_000, "2b": 2_000_000_000,
        "CNY 200,000,000": 200_000_000,
    }
    for index, (written, yuan) in enumerate(cases.items()):
        await chat.ok("赵磊", f"谋划 项目{index} {written}")
        project = await project_named(sessions, f"项目{index}")
        assert project.amount_yuan == yuan, written
    usd = await project_named(sessions, "项目5")
    assert usd.amount_text == "300万美元"


async def test_english_verbs_answer_in_english(chat) -> None:
    await squad_with_members(chat, "Team A", "alice")
    reply = await chat.ok("alice", '/sign "Tesla Service Center" 2b')
    assert "Moved" in reply.text or "New project" in reply.text
    assert "2 billion yuan" in reply.text
    refusal = await chat.refused("alice", "drop #1")
    assert "reason" in refusal.text.lower()


async def test_fuzzy_names_ask_and_the_numbered_answer_survives_a_restart(chat, sessions, clock) -> None:
    await squad_with_members(chat, "马寨镇", "周强")
    await chat.ok("周强", "谋划 仲景医药健康产业园 15亿")
    await chat.ok("周强", "谋划 仲景食品加工基地 2亿")
    # A unique substring is the bot's reading, not a fact: it shows the card and asks before storing.
    reply = await chat.ok("周强", "进展 医药健康 完成第三轮洽谈，下周来郑考察")
    assert "仲景医药健康产业园" in reply.text and "尚未保存" in reply.text
    assert await count(sessions, Event) == 2
    reply = await chat.ok("周强", "1")
    assert "📝 已记录进展" in reply.text and await count(sessions, Event) == 3
    # An ambiguous name asks, numbered, with buttons, and a "new project" option for stage verbs.
    reply = await chat.ok("周强", "洽谈 仲景")
    assert "1." in reply.text and "2." in reply.text and "新建" in reply.text
    assert [b.command for b in reply.buttons] == ["1", "2", "3", "0"]
    assert await count(sessions, PendingChoice) == 1
    # A new core (a restart) still knows the question.
    restarted = Chat(make_core(sessions, clock), clock)
    chosen = reply.text.splitlines()[1]
    reply = await restarted.ok("周强", "1")
    target = "仲景医药健康产业园" if "医药" in chosen else "仲景食品加工基地"
    assert (await project_named(sessions, target)).stage == "attracting"
    assert await count(sessions, PendingChoice) == 0
    refusal = await restarted.refused("周强", "2")
    assert "没有等待你选择的问题" in refusal.text


async def test_choosing_new_creates_a_project(chat, sessions) -> None:
    await squad_with_members(chat, "马寨镇", "周强")
    await chat.ok("周强", "谋划 国际汽车产业园")
    await chat.ok("周强", "谋划 国际汽车城")
    reply = await chat.ok("周强", "谋划 国际汽车")
    last = len(reply.buttons) - 1  # the last button is 取消 (0)
    assert reply.buttons[-1].command == "0"
    await chat.ok("周强", str(last))
    assert (await project_named(sessions, "国际汽车")).stage == "planned"


async def test_unknown_users_may_only_join_and_help_and_nothing_is_stored(chat, sessions) -> None:
    code = await squad_with_members(chat, "德化街")
    before = await count(sessions, Event), await count(sessions, Member), await count(sessions, InboundMessage)
    refusal = await chat.refused("stranger", "签约 某项目 2亿")
    assert "加入" in refusal.text
    await chat.refused("stranger", "排行")
    assert (await chat.ok("stranger", "帮助")).text
    after = await count(sessions, Event), await count(sessions, Member), await count(sessions, InboundMessage)
    assert before == after
    await chat.refused("stranger", "加入 WRONG1")
    await chat.ok("stranger", f"加入 {code.lower()}")
    assert await count(sessions, Member) == before[1] + 1


async def test_members_change_only_their_own_squad_leaders_any(chat, sessions) -> None:
    await squad_with_members(chat, "德化街", "张伟")
    await squad_with_members(chat, "长江路", "刘洋")
    await chat.ok("张伟", "谋划 华润万象城二期 30亿")
    refusal = await chat.refused("刘洋", "签约 #1")
    assert "不属于你的小分队" in refusal.text
    await chat.refused("刘洋", "建队 新队")
    await chat.refused("刘洋", "目标 签约 80")
    await chat.refused("刘洋", "核实 #1")
    # An admin (a leader too) may change any project.
    await chat.ok(ADMIN, "签约 #1")
    assert (await project_named(sessions, "华润万象城二期")).stage == "signed"


async def test_leader_from_settings_can_verify_and_set_targets(sessions, clock) -> None:
    chat = Chat(make_core(sessions, clock, leaders=["console:李局长"], require_verification=True), clock)
    code = await squad_with_members(chat, "德化街", "张伟")
    await chat.ok("李局长", f"加入 {code}")
    reply = await chat.ok("张伟", "签约 杉杉奥特莱斯 20亿")
    assert "待核实" in reply.text
    await chat.refused("张伟", "核实 #1")
    await chat.ok("李局长", "核实 #1")
    assert (await project_named(sessions, "杉杉奥特莱斯")).signed_verified_at is not None
    await chat.ok("李局长", "目标 德化街 签约 10 落地 5")
    await chat.ok("李局长", "目标 2027 签约 90")
    async with sessions() as session:
        targets = (await session.exec(select(Target).order_by(Target.id))).all()
    assert [(t.year, t.scope, t.stage, t.number) for t in targets] == [
        (2026, "team:1", "signed", 10), (2026, "team:1", "landed", 5), (2027, "district", "signed", 90)]
    await chat.ok("李局长", "目标 德化街 签约 12")
    async with sessions() as session:
        assert (await session.exec(select(Target.number).where(Target.scope == "team:1",
                                                              Target.stage == "signed"))).one() == 12


async def test_redelivered_message_stores_once_and_gets_the_same_answer(chat, sessions) -> None:
    await squad_with_members(chat, "德化街", "张伟")
    first = await chat.ok("张伟", "谋划 胖东来二七店 3亿", message_id="console-42")
    events = await count(sessions, Event)
    again = await chat.say("张伟", "谋划 胖东来二七店 3亿", message_id="console-42")
    assert again.text == first.text and again.buttons == first.buttons
    assert await count(sessions, Event) == events
    assert await count(sessions, Project) == 1


async def test_refusals_write_nothing_and_show_the_right_form(chat, sessions) -> None:
    await squad_with_members(chat, "德化街", "张伟")
    events = await count(sessions, Event)
    for text in ("签约", "问题 #99 土地 没地", "解决 #1", "改 #1", "飞 #1", "落地 #1"):
        reply = await chat.refused("张伟", text)
        assert reply.text.strip()
    reply = await chat.refused("张伟", "签约")
    assert "正确格式" in reply.text
    assert await count(sessions, Event) == events


async def test_backward_moves_are_refused(chat, sessions) -> None:
    await squad_with_members(chat, "德化街", "张伟")
    await chat.ok("张伟", "签约 宜家体验店 6亿")
    reply = await chat.refused("张伟", "谋划 #1")
    assert "不能退回" in reply.text


async def test_undo_window_own_changes_and_creation(chat, sessions, clock) -> None:
    await squad_with_members(chat, "德化街", "张伟", "王芳")
    created = await chat.ok("张伟", "谋划 测试项目 1亿")
    await chat.refused("王芳", created.buttons[0].command)  # someone else's undo button
    clock.advance(minutes=31)
    reply = await chat.refused("张伟", "撤销")
    assert "30分钟" in reply.text
    clock.advance(minutes=1)
    moved = await chat.ok("张伟", "洽谈 #1")
    await chat.ok("张伟", "撤销")
    assert (await project_named(sessions, "测试项目")).stage == "planned"
    await chat.refused("张伟", moved.buttons[0].command)  # already undone
    again = await chat.ok("张伟", "谋划 另一个项目")
    await chat.ok("张伟", again.buttons[0].command)
    assert (await project_named(sessions, "另一个项目")).removed
    found = await chat.refused("张伟", "查 #2")
    assert "#2" in found.text


async def test_note_visit_drop_find_mine_expect_away(chat, sessions, clock) -> None:
    await squad_with_members(chat, "德化街", "张伟")
    await chat.ok("张伟", "洽谈 网易河南区域总部 3亿 总部经济 三环内")
    reply = await chat.ok("张伟", "进展 网易 完成第三轮洽谈，下周来郑考察")
    assert "完成第三轮洽谈" in reply.text
    reply = await chat.ok("张伟", "拜访 @上海 公司:盒马鲜生")
    assert "上海" in reply.text and "盒马鲜生" in reply.text
    await chat.ok("张伟", "拜访 #1 @杭州")
    await chat.ok("张伟", "预计 #1 签约 2027-03")
    reply = await chat.ok("张伟", "预计 #1 签约 2027-05")
    assert "推迟 1 次" in reply.text
    found = await chat.ok("张伟", "查 #1")
    assert "网易河南区域总部" in found.text and "总部经济" in found.text and "拜访" in found.text
    mine = await chat.ok("张伟", "我的")
    assert "招引" in mine.text and "#1" in mine.text
    await chat.ok("张伟", "放弃 #1 企业总部决定暂缓")
    project = await project_named(sessions, "网易河南区域总部")
    assert project.stage == "dropped" and project.drop_reason == "企业总部决定暂缓"
    reply = await chat.ok("张伟", "请假 至12月5日")
    async with sessions() as session:
        member = (await session.exec(select(Member).where(Member.name == "张伟"))).one()
    assert member.away_until is not None and member.away_until.isoformat() == "2026-12-05"
    await chat.ok("张伟", "请假 取消")


async def test_files_are_kept_as_evidence(chat, sessions) -> None:
    await squad_with_members(chat, "德化街", "张伟")
    await chat.ok("张伟", "谋划 杉杉奥特莱斯")
    photo = IncomingFile(kind="photo", file_ref="file-abc", file_name="contract.jpg", mime_type="image/jpeg")
    reply = await chat.ok("张伟", "签约 #1", files=(photo,))
    assert "附件" in reply.text
    async with sessions() as session:
        evidence = (await session.exec(select(Evidence))).one()
    assert evidence.file_ref == "file-abc" and evidence.project_id == 1


async def test_a_photo_sent_with_a_message_in_doubt_is_kept_once_it_is_confirmed(chat, sessions) -> None:
    """The confirming `1` carries no file: the photo of the message asked about becomes its evidence."""
    await squad_with_members(chat, "德化街", "张伟")
    await chat.ok("张伟", "招引 网易河南区域总部")
    photo = IncomingFile(kind="photo", file_ref="file-contract", file_name="contract.jpg", mime_type="image/jpeg")
    asked = await chat.ok("张伟", "网易签了", files=(photo,))
    assert "尚未保存" in asked.text
    assert await count(sessions, Evidence) == 0
    stored = await chat.ok("张伟", "1")
    assert "附件" in stored.text and stored.evidence
    async with sessions() as session:
        evidence = (await session.exec(select(Evidence))).one()
    assert evidence.file_ref == "file-contract" and evidence.project_id == 1


async def test_a_photo_with_a_visit_that_names_no_project_says_it_was_not_kept(chat, sessions) -> None:
    await squad_with_members(chat, "德化街", "张伟")
    photo = IncomingFile(kind="photo", file_ref="file-visit", file_name="visit.jpg", mime_type="image/jpeg")
    reply = await chat.ok("张伟", "拜访 @深圳 公司:比亚迪", files=(photo,))
    assert "附件没有保存" in reply.text
    assert await count(sessions, Evidence) == 0


async def test_admin_verbs_newteam_invite_bind(chat, sessions) -> None:
    code = await squad_with_members(chat, "德化街", "张伟")
    reply = await chat.ok(ADMIN, "邀请码 德化街")
    assert code in reply.text
    reply = await chat.ok(ADMIN, "邀请码 德化街 换")
    new_code = reply.text.split("：")[1].split("（")[0]
    assert new_code != code
    await chat.refused("新人", f"加入 {code}")
    await chat.ok("新人", f"加入 {new_code}")
    await chat.refused(ADMIN, "建队 德化街")
    await chat.refused(ADMIN, "绑定 德化街")  # private chat, no robot
    reply = await chat.ok(ADMIN, "绑定 德化街", group=True, chat="group-1")
    assert "绑定" in reply.text
    await chat.ok(ADMIN, "绑定 领导", group=True, chat="group-2")
    reply = await chat.ok(ADMIN, "绑定 德化街 robot:0123456789abcdef")
    assert "0123456789abcdef" not in reply.text
    await chat.refused("张伟", "绑定 德化街", group=True, chat="group-3")
    async with sessions() as session:
        teams = (await session.exec(select(Team))).all()
    assert len(teams) == 1


async def test_settings_verb_changes_a_bound_group(chat, sessions) -> None:
    await squad_with_members(chat, "德化街", "张伟")
    await chat.ok(ADMIN, "绑定 德化街", group=True, chat="g1")
    reply = await chat.ok(ADMIN, "设置 排行 07:45", group=True, chat="g1")
    assert "07:45" in reply.text
    await chat.ok(ADMIN, "设置 点名 关", group=True, chat="g1")
    reply = await chat.ok(ADMIN, "设置", group=True, chat="g1")
    assert "07:45" in reply.text and "提醒时点名：关" in reply.text
    await chat.refused("张伟", "设置 提醒 关", group=True, chat="g1")


async def test_all_writes_of_a_message_commit_together(chat, sessions, clock) -> None:
    """A message's project, event and inbox row are all there or none: counted after each message."""
    await squad_with_members(chat, "德化街", "张伟")
    await chat.ok("张伟", "谋划 原子性测试")
    assert await count(sessions, Project) == 1
    async with sessions() as session:
        event = (await session.exec(select(Event).where(Event.kind == "create"))).one()
        inbox = (await session.exec(select(InboundMessage).where(InboundMessage.message_id == event.source_message_id))).one()
    assert inbox.identity == "console:张伟"
    assert event.created_at == clock.now == datetime(2026, 11, 24, 2, 0, tzinfo=UTC)


async def test_bare_verify_and_expect_show_the_pending_list_and_the_forecast(sessions, clock) -> None:
    chat = Chat(make_core(sessions, clock, require_verification=True), clock)
    await squad_with_members(chat, "德化街", "张伟")
    await chat.ok("张伟", "签约 杉杉奥特莱斯 20亿")
    await chat.ok("张伟", "谋划 胖东来二七店 3亿")
    await chat.ok("张伟", "预计 #2 招引 2026-12-20")
    pending = await chat.ok(ADMIN, "核实")
    assert "待核实" in pending.text and "杉杉奥特莱斯" in pending.text
    forecast = await chat.ok(ADMIN, "预计")
    assert "胖东来二七店" in forecast.text or "招引" in forecast.text


async def test_one_person_links_telegram_and_wecom(chat, sessions) -> None:
    await squad_with_members(chat, "德化街", "张伟")
    await chat.ok("张伟", "谋划 比亚迪体验中心")
    code = (await chat.ok("张伟", "关联")).text.split("关联码：")[1].split("（")[0]
    # An unknown WeCom identity links with the code and reports as the same person.
    await chat.refused("zhangwei", "关联 WRONG1", platform="wecom")
    await chat.ok("zhangwei", f"关联 {code.lower()}", platform="wecom")
    reply = await chat.ok("zhangwei", "洽谈 #1", platform="wecom")
    assert "谋划 → 招引" in reply.text
    await chat.refused("someone", f"关联 {code}", platform="telegram")  # used once only
    async with sessions() as session:
        members = (await session.exec(select(Member).where(Member.name == "张伟"))).all()
        events = (await session.exec(select(Event).where(Event.project_id == 1))).all()
    assert len(members) == 1 and {e.member_id for e in events} == {members[0].id}
    # A member with history of their own is not merged away.
    await squad_with_members(chat, "长江路", "刘洋")
    await chat.ok("刘洋", "谋划 长江路物流园")
    code = (await chat.ok("张伟", "关联")).text.split("关联码：")[1].split("（")[0]
    await chat.refused("刘洋", f"关联 {code}")


async def test_a_project_removed_after_the_name_lookup_is_not_used(chat, monkeypatch) -> None:
    await squad_with_members(chat, "德化街", "张伟")
    await chat.ok("张伟", "谋划 华润万象城三期 2亿")
    assert "华润万象城三期" in (await chat.ok("张伟", "查 万象城")).text  # found as the one name containing it
    real = name_lookup.fuzzy_candidates

    async def removed_meanwhile(session, **kwargs):
        # Another message's undo of the creation commits between the candidates query and the load.
        found = await real(session, **kwargs)
        await (await session.connection()).execute(update(Project).values(removed=True))
        return found

    monkeypatch.setattr(name_lookup, "fuzzy_candidates", removed_meanwhile)
    refused = await chat.refused("张伟", "查 万象城")
    assert "#1" in refused.text and "华润万象城三期" not in refused.text
