"""Chinese wording of what the parser refuses (handlers/parse/, handlers/commands.ParseError, handlers/vocabulary), by
key: a part of handlers.wording.zh."""

MESSAGES: dict[str, str] = {
    # handlers/commands.py: ParseError, a reason and the right form
    "parse.reason_usage": "{reason}\n正确格式：{usage}",
    # handlers/vocabulary.py, handlers/parse/verbs.py: a message that starts with no verb
    "usage.common_verbs": "常用指令：{verbs}",
    "parse.unknown_verb": "不认识的指令“{word}”。消息要以指令开头，常用指令：{common}。",
    "parse.did_you_mean": "你是不是想用“{word}”？",
    "parse.find_hint": "查看项目请用：查 #12",
    # handlers/parse/common.py
    "parse.which_project": "缺少项目：请写项目名或 #编号。",
    # handlers/parse/activity.py
    "parse.which_company_came": "接待了哪家企业？请写 公司:企业名（或 #项目编号）。",
    "parse.what_event": "什么活动？请写活动类型，如 推介会、招商会、对接会。",
    "parse.companies_above_zero": "参会企业数要大于零。",
    "parse.lead_company": "缺少企业名：线索 企业 [行业] [@城市]。",
    "parse.what_publicity": "宣传了什么？请写媒体或事项，如：宣传 河南日报 报道我区招商成果。",
    "parse.which_lead": "立项哪条线索？请写线索编号，如：线索 立项 12。",
    # handlers/parse/admin.py
    "parse.dashboard_only_revoke": "看板后面只能跟「作废」，没看懂「{word}」。",
    "parse.away_until": "请假到哪一天？",
    "parse.day_past": "日期 {day} 已经过去了。",
    "parse.target_number": "缺少目标数量，如 签约 80。",
    "parse.team_name": "缺少队名。",
    "parse.invite_code": "缺少邀请码。",
    "parse.bind_to": "绑定到哪个队？或写 领导。",
    "parse.which_setting": "设置哪一项？",
    "parse.appoint_who": "请写上是谁，例如 设为队长 小李。",
    "parse.remove_who": "请写上移出谁，例如 移出 小李。",
    "parse.rename_names": "请写上原队名和新队名，例如 改名 德化街 德化街道。",
    "parse.no_such_date": "日期“{text}”不存在。",
    "parse.number_after": "“{text}”后面缺少数量。",
    "parse.amount_after": "“{text}”后面缺少金额，如 到位 20亿。",
    "parse.bad_time": "时间“{text}”不对。",
    "parse.cannot_read": "看不懂“{text}”。",
    "parse.webhook_no_key": "群机器人地址里没有 key。",
    # handlers/parse/assess.py
    "parse.one_period": "只能写一个期间，例如“本季度”。",
    "parse.activity_period_only": "活跃后面只能写期间（本周、上周、本月、本季度、本年……），不认识“{rest}”。",
    "parse.assess_rank_period_only": "考核 排行 后面只能写期间，例如“考核 排行 本月”。",
    # handlers/parse/scoring.py
    "parse.funds_amount": "缺少到位金额，如 5000万、2亿。",
    "parse.funds_exact": "到位资金要写确切金额，“{text}”是估计。",
    "parse.funds_above_zero": "到位金额要大于零。",
    "parse.funds_future": "{day} 还没到：到位资金登记已经到账的钱，请到账后再报。",
    "parse.transfer_to": "转交给哪个小分队？请写队名。",
    "parse.clashes_only_all": "撞单后面只能写“全部”。",
    # handlers/parse/updates.py
    "parse.note_text": "缺少进展内容。",
    "parse.visit_where": "拜访了哪里？请写 @城市 或 公司:企业名。",
    "parse.problem_text": "缺少问题描述：请写明卡在哪里。",
    "parse.which_problem": "解决哪个问题？请写项目名、#编号或问题编号（如 问题3）。",
    "parse.drop_reason": "请写明放弃的原因。",
    "parse.which_field": "改哪一项？字段：金额 名称 别名 行业 区域 地点 公司。",
    "parse.new_value": "缺少新的值。",
    "parse.expect_stage": "预计进入哪个阶段？请写 签约 或 落地 等。",
    "parse.expect_date": "缺少预计日期，如 2027-03、下个月、12月5号。",
    "parse.bad_amount": "看不懂金额“{value}”，请写如 3亿、5000万、300万美元。",
    "parse.no_such_event": "没有这条记录，无法撤销。",
    "parse.unknown_industry": "没有“{value}”这个行业。可选：{known}",
    "parse.unknown_zone": "没有“{value}”这个区域。可选：{known}",
}
