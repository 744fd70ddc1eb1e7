"""English wording of what the parser refuses (handlers/parse/, handlers/commands.ParseError, handlers/vocabulary), by
key: a part of handlers.wording.en."""

MESSAGES: dict[str, str] = {
    # handlers/commands.py: ParseError, a reason and the right form
    "parse.reason_usage": "{reason}\nUsage：{usage}",
    # handlers/vocabulary.py, handlers/parse/verbs.py: a message that starts with no verb
    "usage.common_verbs": "common verbs: {verbs}",
    "parse.unknown_verb": "Unknown command {word!r}. A message starts with a verb, e.g. {common}.",
    "parse.did_you_mean": " Did you mean {word!r}?",
    "parse.find_hint": " To see a project: find #12",
    # handlers/parse/common.py
    "parse.which_project": "Which project? Give its name or #id.",
    # handlers/parse/activity.py
    "parse.which_company_came": "Which company came? Add company:NAME (or a project #id).",
    "parse.what_event": "What kind of event? e.g. roadshow, fair, matchmaking.",
    "parse.companies_above_zero": "The number of companies must be more than zero.",
    "parse.lead_company": "Which company? lead COMPANY [industry] [@city].",
    "parse.what_publicity": "What publicity? Give the outlet or item, e.g. publicity Henan-Daily article.",
    "parse.which_lead": "Which lead? Give its number, e.g. lead promote 12.",
    # handlers/parse/admin.py
    "parse.dashboard_only_revoke": "dashboard takes only `revoke`, not {word!r}.",
    "parse.away_until": "Until which day?",
    "parse.day_past": "{day} is already past.",
    "parse.target_number": "Give stage and number, e.g. sign 80.",
    "parse.team_name": "Give the new team's name.",
    "parse.invite_code": "Give the invite code.",
    "parse.bind_to": "Bind to which team? Or say leaders.",
    "parse.which_setting": "Which setting?",
    "parse.appoint_who": "Who? e.g. appoint captain Li.",
    "parse.remove_who": "Who? e.g. remove Li.",
    "parse.rename_names": "Give the squad and its new name.",
    "parse.no_such_date": "{text!r} is not a valid date.",
    "parse.number_after": "How many for {text!r}? Put a number after it.",
    "parse.amount_after": "How much for {text!r}? Put an amount after it, e.g. funds 2b.",
    "parse.bad_time": "{text!r} is not a time of day.",
    "parse.cannot_read": "Cannot read {text!r}.",
    "parse.webhook_no_key": "The robot webhook URL has no key= parameter.",
    # handlers/parse/assess.py
    "parse.one_period": "Name one period only, e.g. `this quarter`.",
    "parse.activity_period_only": "activity takes a period only (this week, last month, …), not {rest!r}.",
    "parse.assess_rank_period_only": "assess rank takes a period only, e.g. `assess rank this month`.",
    # handlers/parse/scoring.py
    "parse.funds_amount": "How much arrived? e.g. 50m, 2b.",
    "parse.funds_exact": "Funds in place need an exact amount; {text!r} is an estimate.",
    "parse.funds_above_zero": "The amount must be more than zero.",
    "parse.funds_future": "{day} is in the future: record funds once they have arrived.",
    "parse.transfer_to": "To which squad? Give its name.",
    "parse.clashes_only_all": "clashes takes nothing, or `all`.",
    # handlers/parse/updates.py
    "parse.note_text": "What is the progress? Add the text after the project.",
    "parse.visit_where": "Where did you go? Add @city or company:NAME.",
    "parse.problem_text": "Describe the problem after the project (and category).",
    "parse.which_problem": "Which problem? Give the project (#id or name) or the problem id (p3).",
    "parse.drop_reason": "Give the reason for dropping the project.",
    "parse.which_field": "Which field? amount, name, alias, industry, zone, place or company.",
    "parse.new_value": "What is the new value?",
    "parse.expect_stage": "Which stage? e.g. sign or land.",
    "parse.expect_date": "When? Give a date such as 2027-03.",
    "parse.bad_amount": "Cannot read the amount {value!r}; write e.g. 300m, 2b, CNY 200,000,000.",
    "parse.no_such_event": "There is no such change to undo.",
    "parse.unknown_industry": "Unknown industry. Known: {known}",
    "parse.unknown_zone": "Unknown zone. Known: {known}",
}
