"""A report in words (`网易签了`, `今天去中原数据集团拜访了，对方有意向追加投资2个亿`) read into a command.

The sentence is cut at what the bot recognises — dates, amounts, places, `#id`s, the verb phrases of
`words.SENTENCE_VERBS`, cue words (去, 和, 跟 …) and punctuation — and what is left are the content pieces:
the one before the verb is the subject (the project), one ending in 集团/公司/科技 … is the company. The
result is always a reading in doubt: the dispatcher proposes it and stores it only when confirmed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from handlers.amounts import find_amounts
from handlers.catalog import Catalog
from handlers.commands import STAGE_VERBS, Command, Lang, ProjectRef, Verb
from handlers.dates import find_dates
from handlers.places import find_places
from handlers.understand.reading import Reading
from handlers.understand.words import (
    ADVERBS_BEFORE,
    CATEGORY_HINTS,
    COMPANY_SUFFIXES,
    EVENT_TYPES,
    FUNCTION_WORDS,
    FUTURE_MARKERS,
    GENERIC_NOUNS,
    NEGATIONS,
    PARTICLES_AFTER,
    PERSON_TITLES,
    PRONOUNS,
    QUESTION_ENDINGS,
    SENTENCE_VERBS,
    SIGN_ENDINGS,
    STRENGTH,
    SUBJECT_PREFIXES,
    SUBJECT_SUFFIXES,
    VISITOR_SUFFIXES,
    strip_edges,
)
from handlers.wording import both

_ID = re.compile(r"#(\d{1,9})")
_PHRASES: list[tuple[str, Verb]] = sorted(
    ((phrase, verb) for verb, phrases in SENTENCE_VERBS.items() for phrase in phrases),
    key=lambda item: len(item[0]), reverse=True,
)
_PHRASE = re.compile("|".join(re.escape(phrase) for phrase, _ in _PHRASES))
_PHRASE_VERB = dict(_PHRASES)
# Words that join or lead into a name without being part of it.
_CUES = ("一起去", "去了", "前往", "来自", "我们", "今天", "对方", "他们", "和", "跟", "与", "同", "对", "向", "去",
         "到", "赴", "在", "找", "见", "把", "给", "被", "让", "将", "并", "后", "也", "都", "又", "还", "再", "就",
         "说", "表示", "称", "已经", "已", "正在", "准备", "计划", "打算", "拟", "想", "要", "会", "能", "可以",
         "有", "是", "为", "于", "的", "了", "啦", "吧", "呢", "吗", "追加", "一个", "这个", "那个", "该", "咱们",
         "那边", "这边", "方面", "领导好", "报一下", "报告一下", "汇报一下", "上午", "下午", "晚上", "中午", "早上",
         "刚才", "刚刚", "陪", "一起", "一趟", "一下", "初步", "正式", "顺利", "终于", "目前", "现在", "嗯", "哦",
         "老板", "负责人", "董事长", "总经理", "首笔", "第一笔", "第二笔")
# Cues of two or more characters cut a piece anywhere; a one-character cue only at a piece's edge (去深圳,
# 了), since inside a word it is part of it (储能, 合同, 成都), except 的/和/跟/与, which join two names.
_CUE = re.compile("|".join(re.escape(cue) for cue in sorted(_CUES, key=len, reverse=True) if len(cue) > 1)
                  + "|[的和跟与说]")
_EDGE_CUES = tuple(cue for cue in _CUES if len(cue) == 1)
_PUNCTUATION = re.compile(r"[\s,.!?;:()\[\]{}\"'“”‘’「」『』【】、，。！？；：（）…~—·]+")
# What a company is built for: `建华中区域总部` → the project "<company>华中区域总部".
_BUILDS = re.compile(r"(?:建|建设|设立|成立|布局|投建|落户)([\u4e00-\u9fffA-Za-z0-9]{2,12}?)(?=[,，。;；\s]|$)")
_COMPANY = re.compile(  # greedy: the longest company name in the piece (卫龙食品公司, not 卫龙食品)
    r"[\u4e00-\u9fffA-Za-z0-9&]{1,14}(?:" + "|".join(re.escape(s) for s in COMPANY_SUFFIXES) + r")"
)
_COMERS = ("visit", "reception")  # verbs whose subject is the company met, not a project
_ATTENDING = re.compile(r"(\d{1,5})\s*家")  # 来了30家企业
_PERSON = re.compile(r"^[\u4e00-\u9fff]{1,3}?(?:" + "|".join(re.escape(t) for t in PERSON_TITLES) + r")$")


@dataclass(frozen=True)
class _Piece:
    text: str
    start: int
    end: int


def _blank(text: str, spans: list[tuple[int, int]]) -> str:
    """Text with the spans replaced by a separator, so nothing read later crosses them."""
    chars = list(text)
    for start, end in spans:
        for k in range(start, end):
            chars[k] = "\x00"
    return "".join(chars)


def _pieces(text: str) -> list[_Piece]:
    """The content left between separators (\\x00, punctuation, cue words), trimmed of particles and of
    the words around a name (那个项目, 一行, 的王总). Spans are the piece as written, trimmings included."""
    found: list[_Piece] = []
    for match in re.finditer(r"[^\x00]+", text):
        chunk, offset = match.group(), match.start()
        position = 0
        for cut in re.finditer(_PUNCTUATION.pattern + "|" + _CUE.pattern, chunk):
            if cut.start() > position:
                found.append(_Piece(chunk[position:cut.start()], offset + position, offset + cut.start()))
            position = cut.end()
        if position < len(chunk):
            found.append(_Piece(chunk[position:], offset + position, offset + len(chunk)))
    cleaned = []
    for piece in found:
        word = strip_edges(piece.text, _EDGE_CUES, suffix=False)
        lead = len(piece.text) - len(word)
        for _ in range(3):
            word = strip_edges(word, SUBJECT_SUFFIXES, suffix=True)
            word = strip_edges(word, PARTICLES_AFTER, suffix=True)
            word = strip_edges(word, VISITOR_SUFFIXES, suffix=True)
            word = strip_edges(word, ADVERBS_BEFORE, suffix=True)  # 比亚迪项目已|签约
        stripped = strip_edges(word, SUBJECT_PREFIXES, suffix=False)
        lead += len(word) - len(stripped)
        word = stripped
        if (len(word) < 2 and not word.isascii()) or word in FUNCTION_WORDS or word in PRONOUNS or word in GENERIC_NOUNS:
            continue
        if _PERSON.match(word) or not word.strip():  # 张总, 王局: who said it, not what it is about
            continue
        cleaned.append(_Piece(word, piece.start + lead, piece.end))
    return cleaned


def _negated_or_future(text: str, start: int) -> tuple[bool, bool]:
    """Whether the words right before a verb deny it (没签) or put it ahead (准备签, 明年可以签)."""
    before = text[:start].replace(" ", "").rstrip("\x00")
    negated = any(before.endswith(word) for word in NEGATIONS)
    before = strip_edges(before, ADVERBS_BEFORE, suffix=True).rstrip("\x00")
    future = any(before.endswith(word) for word in FUTURE_MARKERS)
    return negated, future


def is_question(text: str) -> bool:
    """Whether the words ask something (签了吗, 落地了没有) rather than report it."""
    stripped = text.rstrip(" 。.!！~")
    return any(stripped.endswith(ending) for ending in QUESTION_ENDINGS)


def find_verb(text: str) -> tuple[Verb, int, int, bool] | None:
    """The strongest report verb phrase in text: (verb, start, end, future), skipping negated ones."""
    best: tuple[int, Verb, int, int, bool] | None = None
    for match in _PHRASE.finditer(text):
        negated, future = _negated_or_future(text, match.start())
        if negated or (match.group() == "签" and text[match.end():match.end() + 1] not in SIGN_ENDINGS):
            continue
        verb = _PHRASE_VERB[match.group()]
        # A move still ahead (明年可以签约) is weaker than what happened today (拜访了).
        rank = STRENGTH.index(verb) + (len(STRENGTH) if future and verb in STAGE_VERBS else 0)
        if best is None or rank < best[0]:
            best = (rank, verb, match.start(), match.end(), future)
    return None if best is None else (best[1], best[2], best[3], best[4])


def reads_as_update(text: str) -> bool:
    """Whether a clause reports something of its own (a verb phrase that is not negated or asked)."""
    return not is_question(text) and find_verb(text) is not None


def _category(text: str) -> str | None:
    """The problem category the words point at most (用地规划…卡在规划上 is 规划, not 土地)."""
    counts = {category: sum(text.count(hint) for hint in hints) for category, hints in CATEGORY_HINTS.items()}
    best = max(counts, key=lambda category: counts[category])
    return best if counts[best] else None


def _company(pieces: list[_Piece]) -> _Piece | None:
    """The first piece that names a company by its suffix (中原数据集团, 京东集团总部 → 京东集团)."""
    for piece in pieces:
        match = _COMPANY.match(piece.text)
        if match and len(match.group()) >= 3:
            return _Piece(match.group(), piece.start, piece.start + match.end())
    return None


def read_sentence(text: str, *, catalog: Catalog, usd_rate: float, today: date) -> Reading | None:
    """The update a sentence reports, as a reading in doubt; None when it reports nothing readable."""
    if is_question(text):
        return None
    ids = [(m.start(), m.end(), int(m.group(1))) for m in _ID.finditer(text)]
    dates = find_dates(text, today)
    amounts = find_amounts(text, usd_rate=usd_rate)
    places = find_places(text)
    cuts = [(s, e) for s, e, _ in ids] + [(d.start, d.end) for d in dates]
    cuts += [(max(0, a.start - len(a.label)), a.end) for a in amounts] + [(p.start, p.end) for p in places]
    blanked = _blank(text, cuts)
    verb_found = find_verb(blanked)
    if verb_found is None:
        return None
    verb, v_start, v_end, future = verb_found
    pieces = _pieces(_blank(blanked, [(m.start(), m.end()) for m in _PHRASE.finditer(blanked)]))
    before = [p for p in pieces if p.end <= v_start]
    after = [p for p in pieces if p.start >= v_end]
    company = _company(pieces)
    amount = next((a.amount for a in amounts if a.amount is not None), None)
    place = places[0].name if places else None
    past = [d for d in dates if d.past]
    coming = [d for d in dates if d.day > today]
    future = future or (bool(coming) and not past)
    removed: list[tuple[int, int]] = [(v_start, v_end), *cuts[: len(ids)]]
    removed += [(d.start, d.end) for d in dates] + [(p.start, p.end) for p in places]
    project: ProjectRef | None = None
    if ids:
        project = ProjectRef(id=ids[0][2])
    else:
        subject = before[0] if before else (after[0] if after else None)
        if subject is not None and company is not None and subject.start == company.start and verb in _COMERS:
            subject = None
        if subject is None and company is not None and verb in STAGE_VERBS:
            built = _BUILDS.search(text)
            project = ProjectRef(name=company.text + built.group(1) if built else company.text)
        elif subject is not None:
            project = ProjectRef(name=subject.text)
            removed.append((subject.start, subject.end))
    if company is None and verb in _COMERS:  # 见了海康威视的王总: the one visited, with or without a suffix
        company = after[0] if after else (before[0] if before else None)
    if company is not None:
        removed.append((company.start, company.end))
    lang: Lang = "en" if text.isascii() else "zh"
    doubt = both("doubt.read_from_words")
    if verb in STAGE_VERBS and future:
        if coming:
            command = Command(verb="expect", lang=lang, text=text, project=project, stage=STAGE_VERBS[verb],
                              when=coming[0].day)
            as_note = Command(verb="note", lang=lang, text=text, project=project, note=text)
            return None if project is None else Reading(command, alternatives=(as_note,)).doubted(*doubt)
        if project is None:
            return None
        return Reading(Command(verb="note", lang=lang, text=text, project=project, note=text)).doubted(*both("doubt.plan_as_progress"))
    if verb in STAGE_VERBS or verb == "funds":
        removed += [(a.start - len(a.label), a.end) for a in amounts[:1]]
    note = _rest(text, removed)
    when = past[0].day if past else None
    if verb == "visit":
        visited = company.text if company else (project.name if project is not None and not ids else None)
        command = Command(verb="visit", lang=lang, text=text, project=project if ids else None, place=place,
                          company=visited, note=note, when=when)
        return Reading(command).doubted(*doubt)
    if verb in ("reception", "promo"):
        return _activity(verb, text, lang, ids, company, place, note)
    if verb == "funds":  # 5000万到账了, #12 到账5000万: an exact amount that arrived, not one still ahead
        if amount is None or amount.vague or future:
            return None
        command = Command(verb="funds", lang=lang, text=text, project=project, amount=amount, when=when, note=note)
        return Reading(command).doubted(*doubt)
    if project is None:
        return None
    if verb in STAGE_VERBS:
        command = Command(verb=verb, lang=lang, text=text, project=project, amount=amount, place=place,
                          company=company.text if company else None, note=note, when=when)
    elif verb == "problem":
        command = Command(verb="problem", lang=lang, text=text, project=project,
                          category=_category(text) or "其他", note=note or text)
    elif verb == "resolve":
        command = Command(verb="resolve", lang=lang, text=text, project=project, category=_category(text),
                          note=note)
    elif verb == "drop":
        command = Command(verb="drop", lang=lang, text=text, project=project, note=note or text)
    else:
        command = Command(verb="note", lang=lang, text=text, project=project, note=note or text)
    return Reading(command).doubted(*doubt)


def _activity(verb: Verb, text: str, lang: Lang, ids: list[tuple[int, int, int]], company: _Piece | None,
              place: str | None, note: str) -> Reading | None:
    """接待 (a company that came: 今天接待了中原数据集团来访) or 活动 (下午在深圳办了场推介会，来了30家企业), proposed."""
    doubt = both("doubt.read_from_words")
    note = _tidy(note, SENTENCE_VERBS[verb])
    if verb == "reception":
        if company is None and not ids:
            return None
        project = ProjectRef(id=ids[0][2]) if ids else None
        command = Command(verb="reception", lang=lang, text=text, project=project,
                          company=company.text if company else None, place=place, note=note)
        return Reading(command).doubted(*doubt)
    kind = next((word for word in EVENT_TYPES if word in text), None)
    if kind is None:
        return None
    count = _ATTENDING.search(text)
    note = " ".join(word for word in note.split() if kind not in word and (count is None or count.group() not in word))
    command = Command(verb="promo", lang=lang, text=text, kind=kind, place=place,
                      number=int(count.group(1)) if count else None, note=note)
    return Reading(command).doubted(*doubt)


def _tidy(note: str, phrases: tuple[str, ...]) -> str:
    """A note without the verb's own phrases (来访) and the cue words left around them (下午在)."""
    for phrase in sorted(phrases, key=len, reverse=True):
        note = note.replace(phrase, " ")
    words = [word for word in note.split() if word.rstrip("在了场一") and word.rstrip("在了场一") not in _CUES]
    return " ".join(words)


def _rest(text: str, removed: list[tuple[int, int]]) -> str:
    """What the sentence says besides the parts read into fields, as written."""
    rest = _PUNCTUATION.sub(" ", _blank(text, removed).replace("\x00", " ")).strip()
    rest = strip_edges(rest, PARTICLES_AFTER, suffix=False).strip()
    words = [w for w in rest.split() if w not in FUNCTION_WORDS and w not in PRONOUNS]
    rest = " ".join(words)
    return "" if len(rest) < 2 else rest
