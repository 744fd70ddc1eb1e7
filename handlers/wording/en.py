"""English wording of every reply, by key (see handlers.wording); the reports' and the parser's have their own
files (en_reports.py, en_parse.py)."""

from handlers.wording import en_parse, en_reports

REPLIES: dict[str, str] = {
    # shared: handlers/refusal.py (a refusal's right form), lists
    "refusal.usage": "\nUsage: {usage}",
    "list.separator": ", ",
    # handlers/projects/edit.py
    "expect.expected": "📅 Expected to be {stage} by {when:%Y-%m-%d}",
    "edit.editable_fields_amount_name": "Editable fields: amount, name, alias, industry, zone, place, company.",
    "expect.give_stage_date": "Give the stage and the date.",
    "expect.already": "#{id} is already {stage}.",
    "edit.read_amount": "Cannot read the amount \"{value}\".",
    "edit.give_new": "Give the new {label}.",
    "edit.set": "✏️ {label} set to {shown}",
    "expect.expected_date_has_slipped": "⚠️ The expected date has slipped {expected_slips} time(s)",
    "edit.name_too_long_characters": "The name is too long ({value_count} characters; 100 at most).",
    "edit.alias_too_long_characters": "The alias is too long ({value_count} characters; {ALIAS_LIMIT} at most).",
    "edit.unknown_industry_known": "Unknown industry \"{value}\". Known: {known}",
    # handlers/projects/fields.py
    "date_line.dated": "Dated {when:%Y-%m-%d}",
    "verification_note.awaiting_leader_verify_before": "⏳ Awaiting a leader's `verify #{id}` before it counts",
    "apply_fields.industry": "industry ",
    "apply_fields.zone": "zone ",
    "apply_fields.place": "place ",
    "apply_fields.company": "company ",
    "apply_fields.amount": "amount ",
    # handlers/projects/find.py
    "mine.squad_leaders_mine_squad": "You are not in a squad. Leaders can send `mine <squad>`.",
    "mine.projects": "📋 {name}: {projects_count} projects",
    "find.squad": "Squad: ",
    "find.industry": "Industry",
    "find.zone": "Zone",
    "find.place": "Place",
    "find.company": "Company",
    "find.history": "—— history ——",
    "find.undone": " (undone)",
    "mine.squad_named": "No squad named \"{value}\".",
    "mine.projects_yet_plan_name": "No projects yet. Send `plan <name>` to add one.",
    "find.stage": "Stage: ",
    "find.awaiting_verification": " (awaiting verification)",
    "find.amount": "Amount: ",
    "find.reached": "Reached: ",
    "find.dropped_because": "Dropped because: ",
    "find.p_days": "⚠️ p{id} ({category}, {days} days): {text}",
    "find.open_problem_details_squad": (
        "⚠️ {problems_count} open problem(s) ({kinds}); details for the squad and leaders"
    ),
    "mine.unverified": " (unverified)",
    "mine.more": "  … {more} more",
    "find.expected": "Expected: ",
    # handlers/projects/notes.py
    "note.write_what_happened": "Write what happened.",
    "visit.say_which_city_company": "Say which city or company you visited.",
    "visit.join_squad_first_join": "Join a squad first: `join <code>`.",
    "visit.logged_alone": "🚄 Visit logged: {where}",
    "note.progress_noted": "📝 Progress noted",
    "visit.logged_on_card": "🚄 Visit logged: {where}",
    "visit.undo": "Undo",
    # handlers/projects/problems.py
    "problem.problem_p_opened": "⚠️ Problem p{id} opened ({category})",
    "problem.when_solved_resolve": "When solved, send `resolve #{id}`",
    "resolve.problem_p_resolved_after": "✅ Problem p{id} ({category}) resolved after {days} days",
    "problem.describe_problem": "Describe the problem.",
    "resolve.there_open_problem_p": "There is no open problem p{number}.",
    "resolve.has_such_open_problem": "#{id} has no such open problem.",
    "resolve.more_open_problem": "{remaining} more open problem(s)",
    # handlers/projects/stages.py
    "stage.moved": "✅ Moved to {to_stage}: {arrow}",
    "create_project.new_project_pool": "🆕 New project, in the {stage} pool",
    "stage.already_go_back_undo": (
        "#{id} is already {from_stage}; it cannot go back to {to_stage}. Use `undo` for a mistake or `edit` "
        "to correct details."
    ),
    "stage.updated_still": "✏️ Updated (still {to_stage})",
    "create_project.squad_yet_so_create": (
        "You are not in a squad yet, so you cannot create projects. Send `join <invite code>` first."
    ),
    "create_project.project_name": "\"{name}\" cannot be a project name.",
    "create_project.project_name_too_long": "The project name is too long (100 characters at most).",
    "create_project.also_counted_earlier_stages": " (also counted in the earlier stages)",
    "drop.already_dropped": "#{id} is already dropped.",
    "drop.give_reason": "Give the reason.",
    "stage.already_nothing_changed": "#{id} is already {to_stage}; nothing changed.",
    "drop.dropped_history_kept": "🛑 Dropped (history kept)",
    # handlers/projects/verify.py
    "verify.only_signed_landed_moves": "#{id} is {stage}; only signed and landed moves are verified.",
    "verify_list.district": "the district",
    "verify_list.nothing_awaits_verification": "Nothing awaits verification in {where}.",
    "verify_list.verified": "☑️ Verified {verified_count}:",
    "verify_list.verifies_moves": "This verifies {moves_count} moves in {where}{more}:\n",
    "verify.already_verified": "#{id} is already verified.",
    "verify.verified_stages": "☑️ Verified: {stages}",
    "verify_list.more_next_time": " (+{more} more next time)",
    # handlers/people.py
    "named_team.did_mean": "; did you mean: {close}",
    "named_team.squad_named": "No squad named \"{name}\"{hint}",
    "newteam.give_squad_name_characters": "Give the squad a name (50 characters at most).",
    "newteam.squad_named_already_exists": "A squad named \"{name}\" already exists.",
    "newteam.created": "✅ Squad \"{name}\" created.\nInvite code: {code}\nMembers join with `join {code}`.",
    "invite.name_squad": "Name the squad.",
    "invite.new_code_old_one": "🔑 New code for \"{name}\": {code} (the old one no longer works)",
    "invite.invite_code_join_join": "🔑 \"{name}\" invite code: {invite_code}\nJoin with `join {invite_code}`",
    "join.give_invite_code": "Give the invite code.",
    "join.welcome": "👋 Welcome to \"{team_name}\", {name}!",
    "join.already": "You are already in \"{name}\".",
    "join.now": "✅ You are now in \"{name}\".",
    "join.try_pursue_project_name": "Try: `pursue \"Project name\" 200m`; send `help` for every command.",
    "link.link_from_platform_where": "Send `link` from the platform where you already joined a squad to get a code.",
    "link.link_code_valid_minutes": (
        "🔗 Link code: {code} (valid 15 minutes)\nSend `link {code}` from your other platform."
    ),
    "link.account_already_yours": "This account is already yours.",
    "link.account_already_has_reports": (
        "This account already has reports of its own and cannot be merged; ask an admin."
    ),
    "bind.say_which_squad_leaders": "Say which squad, or `leaders`.",
    "bind.group_bind_wecom_group": (
        "Send this in the group to bind; for a WeCom group add its robot: `bind <squad> robot:KEY`."
    ),
    "bind.leaders_group": "the leaders' group",
    "bind.topic": "this topic",
    "bind.group": "this group",
    "bind.group_robot": "group robot ",
    "bind.morning_leaderboard_red_projects": (
        "the morning leaderboard, red projects and overdue problems on workdays, and Monday's weekly summary "
        "will be posted here."
    ),
    "bind.morning_leaderboard_yellow_red": (
        "the morning leaderboard, yellow and red projects on workdays, and afternoon reminders to members "
        "who have not reported will be posted here."
    ),
    "bind.one_binding_was_updated": " (its one binding was updated, not duplicated)",
    "bind.bound": "🔗 Bound {where} to {who}{again}: {posts}",
    "target.give_stages_numbers": "Give stages and numbers.",
    "target.unreasonable_target": "Unreasonable target: {number}",
    "target.district": "district",
    "target.targets": "🎯 {year} targets for {who}: {parts}",
    "away.join_squad_first": "Join a squad first.",
    "away.reminders_back": "✅ Reminders are back on.",
    "away.say_until_which_day": "Say until which day.",
    "away.past": "{when:%Y-%m-%d} is in the past.",
    "away.most_year_ahead": "At most a year ahead.",
    "away.reminders_until_away_cancel": (
        "🧳 No reminders for you until {when:%Y-%m-%d}. Send `away cancel` to end it early."
    ),
    "help_reply.form": "Form: ",
    "help_reply.zsbot_report_projects_few": "🤖 zsbot: report projects in a few words.",
    "help_reply.all_commands": "All commands:",
    "help_reply.name_project_id_name": (
        "Name a project by #id or name; amounts like 200m, 2b. Send `help sign` for one command."
    ),
    "help_reply.squad_yet_join_code": "You are not in a squad yet: send `join <code>`.",
    # handlers/roster.py
    "person.member_called": "No member is called \"{value}\".",
    "team_label.squad": "no squad",
    "appoint.squad_yet": "{name} is in no squad yet.",
    "appoint.already": "{name} is already a {role}.",
    "appoint.leader_already_do_what": (
        "{name} is a leader and can already do what a captain does; an admin dismisses leaders first."
    ),
    "appoint.now": "👑 {name} ({squad}) is now a {role}",
    "dismiss.leader_server_settings_zsbot": (
        "{name} is a leader by the server settings (ZSBOT_LEADERS / ZSBOT_ADMINS); remove them there and "
        "restart."
    ),
    "dismiss.text": "{name} is not a {role}.",
    "dismiss.longer": "✅ {name} is no longer a {role}",
    "remove.squad": "{name} is in no squad.",
    "remove.left": "✅ {name} left \"{squad}\"",
    # notices to the person concerned (their language is not the sender's: Chinese first)
    "roster.an_admin": "an admin",
    "roster.told_captain": "👑 {by} made you captain of {squad}. Send `help` to see what you can do now.",
    "roster.told_leader": "👑 {by} made you a district leader. Send `help` to see what you can do now.",
    "roster.told_dismissed": "You are no longer {role} (taken back by {by}).",
    "roster.told_removed": "You were taken out of {squad}. To join another squad, ask its captain for an invite code and send `join <code>`.",
    # handlers/attachments.py (a bare file: answered in both languages)
    "attachments.stranger_file": "You are not a squad member yet; the file was not kept. Send `join <code>` first.",
    "attachments.held": "📎 File received ({count}). Send the update it belongs to within {minutes} minutes, e.g. `sign #12`, and it is kept as evidence on that project.",
    "rename.squad_named": "No squad named \"{value}\".",
    "rename.new_name_must_characters": "The new name must be 1 to 50 characters.",
    "rename.squad_named_already_exists": "A squad named \"{new}\" already exists.",
    "rename.renamed": "✅ Renamed: {old} → {new}",
    "binding_label.leaders": "the leaders",
    "binding_label.wecom_robot": "WeCom robot …{chat_id} → {who}",
    "binding_label.group": "group",
    "list_bindings.group_bound_admin_sends": (
        "This group is not bound. An admin sends `bind <squad>` or `bind leaders`."
    ),
    "list_bindings.group": "🔗 This group: ",
    "list_bindings.chat_bound_yet": "No chat is bound yet.",
    "list_bindings.bound": "🔗 {found_count} bound:",
    "unbind.squad_named": "No squad named \"{value}\".",
    "unbind.nothing_bound": "Nothing of that is bound.",
    "unbind.unbind_group_give_robot": "Send `unbind` in the group, or give robot:KEY or a squad.",
    "unbind.such_binding": "No such binding.",
    "unbind.unbound": "✅ Unbound: {label}",
    # handlers/undo.py
    "target.only_undo_own_changes": "You can only undo your own changes.",
    "target.change_was_already_undone": "That change was already undone.",
    "target.more_than_minutes_have": "More than {minutes} minutes have passed; use `edit` to correct it.",
    "target.nothing_yours_undo_last": "Nothing of yours to undo in the last {minutes} minutes.",
    "undo.nothing_undo": "Nothing to undo.",
    "undo.undone": "↩️ Undone: ",
    "undo.text": "; ",
    "reverse.project_already_removed": "That project is already removed.",
    "reverse.project_creation_removed_from": "project creation (removed from the pools, history kept)",
    # handlers/records.py
    "check_fits.too_long_characters_most": "The {field} is too long ({length} characters; {limit} at most).",
    "keep_evidence.file_was_kept_record": (
        "📎 The file was not kept: this record names no project. Name one, e.g. `visit #12 …`."
    ),
    "project_line.new_project": "new project ",
    "card.undo": "Undo",
    # handlers/codes.py
    "check_not_locked.too_many_wrong_try": "Too many wrong {code}s; try again in {minutes} minutes.",
    "wrong_code.invite_code_valid_check": "That invite code is not valid; check it with your captain.",
    "wrong_code.link_code_wrong_expired": "That link code is wrong or expired.",
    "link.linked": "✅ Linked: this {platform} account is {name}.",
    "builds_on.someone": "someone",
    "builds_on.you": "you",
    "builds_on.later_change": (
        "Cannot undo this {action}: {actor} made a later change on it ({what}, {when:%Y-%m-%d %H:%M}) that "
        "would be lost. Use `edit`, or have that change undone first."
    ),
    # handlers/report_requests.py
    "rank.number": "📍 {team_name} is number {rank} of {rows_count}",
    "problems.squad_named": "No squad named \"{value}\".",
    "export.ledger_exported_one_sheet": "📊 Ledger exported: {name} (one sheet per pool plus a summary)",
    # handlers/resolve.py
    "find_project.name_project_id_name": "Name the project: #id or its name.",
    "find_project.there_project": "There is no project #{id}.",
    "find_project.project_name_empty": "The project name is empty.",
    "find_project.project_name_write_project": "\"{name}\" cannot be a project name: write the project's name or #id.",
    "find_project.too_short_full_name": "\"{name}\" is too short: use the full name or #id.",
    "find_project.project_matches_mine_list": (
        "No project matches \"{name}\". Send `mine` to list your squad's projects, or use #id."
    ),
    # handlers/chat_settings.py
    "settings.settings_bound_group": "Send `settings` in a bound group.",
    "settings.group_bound_yet_admin": (
        "This group is not bound yet: an admin sends `bind <squad>` or `bind leaders` first."
    ),
    "settings.group_posts": "⚙️ This group's posts:",
    "settings.mentions_off": "Mentions are on or off.",
    "settings.give_time_off": "Give a time (08:30) or on/off.",
    "settings.off": "off",
    "settings.on": "on",
    "settings.mentions_set": "✅ Mentions in reminders: {state}",
    "settings.no_such_post": "No post called \"{word}\".",
    "settings.post_set": "✅ {post}: {state}",
    # handlers/dispatch.py
    "correction_target.recent_update_yours_correct": (
        "No recent update of yours to correct. Name the project, e.g. `edit #12 amount 350m`."
    ),
    # handlers/access.py
    "access.only_roles": "Only {roles} can {action}.",
    "access.and": " and ",
    "access.only_roles_for": "Only {roles} can {action} for {target}.",
    "access.not_your_squad": "{target} is not your squad: you may {action} of your own squad only.",
    "access.not_your_squads": "{target} is not your squad's: only its members, captains or a leader may do that.",
    # questions (handlers/choices.py NeedsChoice, Choice): handlers/projects/verify.py
    "verify_list.verify_these": "verify these {count}",
    # handlers/projects/problems.py
    "resolve.which_problem": "#{id} has {count} open problems; which one is solved?",
    "resolve.problem_choice": "p{id} ({category}): {text}",
    # handlers/roster.py
    "person.which_member": "{count} members are called \"{value}\"; which one?",
    "person.member_choice": "{name} ({squad})",
    "roster.confirm": "confirm",
    "appoint.confirm": "This makes {name} ({squad}) a {role}:",
    "dismiss.confirm": "This takes back {name}'s {role} role:",
    "remove.confirm": "This takes {name} out of \"{squad}\" (their reports stay):",
    "rename.confirm": "This renames \"{old}\" to \"{new}\":",
    "unbind.which": "Unbind which?",
    "unbind.confirm": "This unbinds {label}:",
    # handlers/undo.py
    "undo.earlier_change": (
        "Your last message ({text!r}) changed nothing, so there is nothing to undo from it.\n"
        "The change before it: {what} ({ago} min ago). Undo that?"
    ),
    "undo.undo_it": "undo it: {what}",
    # handlers/resolve.py
    "find_project.new_project": "create a new project \"{name}\"",
    "find_project.project_choice": "{label} ({team}, {stage})",
    "find_project.which": "Several projects match; reply with a number:",
    "find_project.other_squads": (
        "\"{name}\" is #{id} of {whose}; only its members or a leader may update it. "
        "Create a project \"{name}\" of your own squad?"
    ),
    "find_project.yes_that_one": "yes, #{id} {project}",
    "find_project.company_of": "\"{name}\" is the company of #{id} {project}; I read it as that project:",
    "find_project.one_character": "The project name \"{name}\" is a single character. Create it anyway?",
    "find_project.read_as": "No project is called \"{name}\"; I read it as #{id} {project}:",
    # handlers/people.py
    "join.move_squad": "You are in \"{old}\". Move to \"{new}\"? (your reports stay where they are)",
    "join.move_to": "move to \"{new}\"",
    # handlers/access.py: what a refusal names (access.require's target), and the stranger's answer (both languages)
    "access.squad": "\"{name}\"",
    "access.district": "The district",
    "access.ledger": "The ledger",
    "access.this_group": "This group",
    "access.stranger": "You are not a squad member yet. Ask your leader for the invite code and send `join <code>`.",
    # labels, said by a table's row: handlers/roster.py ROLE_WORDS, handlers/codes.py _NAMES, handlers/records.py
    "role.captain": "captain",
    "role.leader": "leader",
    "code.invite": "invite code",
    "code.link": "link code",
    "field.name": "name",
    "field.place": "place",
    "field.company": "company",
    "field.amount": "amount",
    "field.industry": "industry",
    "field.zone": "zone",
    "field.reason": "reason",
    "field.aliases": "aliases",
    # handlers/undo.py _KIND_NAMES: what an event was
    "event_kind.stage": "stage move",
    "event_kind.note": "note",
    "event_kind.visit": "visit",
    "event_kind.problem": "problem",
    "event_kind.resolve": "resolution",
    "event_kind.drop": "drop",
    "event_kind.edit": "edit",
    "event_kind.verify": "verification",
    "event_kind.expect": "expected date",
    "event_kind.create": "creation",
    "event_kind.funds": "funds in place",
    "event_kind.transfer": "transfer",
    "event_kind.reception": "reception",
    "event_kind.promo": "promotion event",
    "event_kind.lead": "lead",
    "event_kind.publicity": "publicity",
    # handlers/activity.py
    "activity.future": "{when} is still ahead: report a visit, reception, event or lead once it happened (a past day, or none for today).",
    "activity.undo": "Undo",
    "activity.from_place": " (from {place})",
    "reception.which_company": "Which company came? Add company:NAME, or a project #id.",
    "reception.logged": "🤝 Reception logged: {company}{where}",
    "promo.logged": "📣 Promotion event logged: {event_type}{where}",
    "promo.companies": "{companies} companies attended",
    "publicity.logged": "📰 Publicity logged: {outlet}",
    "lead.logged": "🎯 Lead {id} logged: {company}",
    "lead.promote_hint": "To make it a planned project, send `lead promote {id}`",
    "lead.promote_button": "Make it a project",
    "lead.no_such_lead": "There is no lead {id} (or it was undone).",
    "lead.not_your_squads": "Lead {id} is another squad's: only its members, captains or leaders can make it a project.",
    "lead.already_project": "{name!r} is already project #{id}.",
    "lead.from_lead": "from lead {id}",
    "lead.promote_question": "Make lead {id} ({company}) a planned project?",
    "lead.promote_choice": "plan {company}",
    # handlers/projects/funds.py
    "funds.only_signed_landed": "#{id} is {stage}: only a signed or landed project has funds in place.",
    "funds.amount_missing": "How much arrived? e.g. 50m.",
    "funds.future": "{when:%Y-%m-%d} is in the future: record funds once they have arrived.",
    "funds.recorded": "💰 Funds in place recorded: {amount}",
    "funds.arrived_on": "Arrived on {when:%Y-%m-%d}",
    "funds.total": "In place {total} of {signed} signed, {rate}",
    "funds.total_no_signed": "In place {total} (no signed amount, so no rate: edit #{id} amount 300m)",
    "funds.over_signed": "⚠️ More is in place than was signed ({rate}): check it; if the signed amount changed, send `edit #{id} amount …`",
    "funds.evidence_hint": "📎 You may send the bank slip (photo or file): it is kept on the project as evidence",
    "funds.card_arrivals": "Arrivals: {arrivals}{more}",
    "funds.card_more": " and {more} more",
    # handlers/projects/transfer.py
    "transfer.no_squad": "No squad is called {name!r}. Squads: {names}",
    "transfer.already": "#{id} already belongs to {team}.",
    "transfer.moved": "🔀 Transferred: {old} → {new}",
    "transfer.settled": "{count} clash(es) settled",
    "transfer.told_old": "🔀 {who} moved #{id} {project} from {old} to {new}.",
    "transfer.told_new": "🔀 {who} moved #{id} {project} from {old} to your squad {new}; please follow it up.",
    # handlers/ownership.py
    "ownership.sender": "⚠️ Clash: {company} has been courted by {team} since {since} ({held}). Under first-contact ownership it stays with {team}; their captain is told and it is on the leaders' clashes list. A leader can `transfer` it.",
    "ownership.captain": "⚠️ Clash: {who} of {team} just recorded a {what} {name!r}, the same company as your {held}. It stays with your squad; the leaders handle it in `clashes`.",
    "ownership.held_project": "#{id} {project}",
    "ownership.held_contact": "{what} {company!r}",
    "ownership.subject_project": "new project",
    "ownership.subject_visit": "visit",
    "ownership.subject_reception": "reception",
    "ownership.subject_lead": "lead",
    "clashes.none": "No clashes now.",
    "clashes.none_all": "No clashes recorded yet.",
    "clashes.title": "⚠️ Clashes ({count}, first-contact ownership)",
    "clashes.line": "· {company}: {first} {first_what} (since {since}) ← {second} {what} ({when}){state}",
    "clashes.resolved": " ✅ settled {when}",
    "clashes.more": "… {more} more",
    "clashes.how": "To settle: transfer #ID SQUAD (the project moves), or drop the duplicate project.",
    "target.funds": "funds in place {amount}",
    # handlers/proposals.py, handlers/asking.py (a question about a reading), handlers/dispatch.py
    "proposal.confirm": "Confirm",
    "proposal.several": " ({count} updates):",
    "proposal.one": ":",
    "proposal.cancel_line": "0. cancel",
    "proposal.how_to_confirm": "Reply 1 or `yes` to store it, 0 or `cancel` to drop it. (Nothing is stored yet.)",
    "proposal.how_to_choose": "Reply with a number 1–{count}, or 0 to cancel. (Nothing is stored yet.)",
    "proposal.yes_button": "1. Yes",
    "proposal.cancel_button": "Cancel",
    "proposal.stored": "✅ {count} updates stored:",
    "proposal.undo_button": "Undo",
    "proposal.unread": "Not understood, will not be stored: {parts}",
    "proposal.as_written": "as written: {command}",
    "proposal.cannot": "But it cannot be updated so: {reason}",
    "forwarded.not_run": "A forwarded message is never run as a command; send it yourself to run it.",
    "forwarded.offer": "This is a forwarded message and is not run as it is. Make this update in your own name?",
    "dispatch.part_refused": "Part {part}: {reason}\nNothing in this message was stored.",
    "hint.how_to_report": "🙂 Noted. To report, just say it, e.g. `sign #12`; send `help` for more.",
    # handlers/people.py: help
    "help.natural": "Just say it, for example:\n· sign #12 300m  ·  plan Tesla Zhengzhou showroom 200m  ·  note #15 third round done\n"
                    "· sign #29; land #30 (several updates in one message: lines or semicolons)\n"
                    "When I am not sure what you mean I show my reading first: reply 1 (or yes) to store it, 0 to cancel.",
    "help.group_privacy": "Groups: on Telegram the bot only sees /commands and @mentions in groups (privacy mode). To report "
                          "in plain words in a group, turn privacy mode off with @BotFather's /setprivacy, or make the bot a "
                          "group admin; chatter in the group gets no answer.",
    # handlers/format.py, handlers/attachments.py, handlers/chat_settings.py
    "amount.none": "no amount",
    "undo.hint": "To undo: send `undo` within {minutes} minutes",
    "undo.hint_whole": "To undo: send `undo` within {minutes} minutes (the whole message)",
    "evidence.kept": "📎 {count} file(s) kept as evidence",
    "evidence.too_large": " ({too_large} over {limit_mb:g} MB: name recorded, no copy kept)",
    "settings.mondays": "Mondays ",
    "settings.mentions": "· mentions in reminders: {state}",
    # handlers/understand: why a reading is proposed, not stored
    "doubt.place_company_read": "I read the place and company from your words:",
    "doubt.correcting_last": "You are correcting your last update:",
    "doubt.split_off": "I split this update off the one before:",
    "doubt.plan_as_progress": "This is a plan, not done yet; noted as progress:",
    "doubt.read_from_words": "I read this from your words; please confirm:",
    "doubt.project_read_as": "I read the project as {name!r}:",
    "doubt.amount_estimate": "The amount {text!r} is an estimate; read as {yuan:,} yuan:",
    "doubt.amount_in_text": "{words!r} looks like an amount; it stays in the text only:",
    "doubt.approximate_date": "That date is approximate; read as {when}:",
    "doubt.expected_past": "The expected date {when} is already past; are you sure?",
    "doubt.not_a_name": "{name!r} does not look like a project name:",
    "doubt.dated_as_written": "Dated {when} as you wrote:",
    "doubt.ahead_as_expected": "{when} is still ahead; read as expected by then:",
    "doubt.amount_from_note": "Read {amount} as the amount:",
    "doubt.amount_from_note_rest": "Read {amount} as the amount, the rest as a note:",
    "doubt.amount_in_note": "{words!r} in the note looks like an amount; it stays in the note:",
    "doubt.bare_as_yuan": "{number!r} has no unit; read as {number} yuan, the amount:",
    "doubt.bare_in_note": "{words!r} has no unit; it stays in the note (write amounts as 3亿, 5000万):",
    "doubt.note_mentions_amount": "The note mentions {amount}: record it and set the amount to it?",
    "doubt.amount_in_progress": "{words!r} looks like an amount; it stays in the note:",
}

# The reports and the parser's refusals say theirs from their own files (en_reports.py, en_parse.py); a key
# is in one of the three (tests/test_wording.py).
MESSAGES: dict[str, str] = {**REPLIES, **en_reports.MESSAGES, **en_parse.MESSAGES}
