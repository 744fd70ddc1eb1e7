"""The company key first-contact ownership (首谈负责制) compares: a company name without its legal form.

"比亚迪集团", "比亚迪股份有限公司" and "比亚迪 Co., Ltd." all court the same company, so they share the key
"比亚迪". Kept on Project.company_key by a before_flush hook on every new or changed project, so a look-up
by company is one index probe on either backend.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import event, select, update
from sqlalchemy.engine import Connection
from sqlmodel import Session, col

from storage.counter_writes import LedgerSession
from storage.models import Project
from storage.name_lookup import name_key

# Legal forms and group words, longest first; stripped from the end again and again
# ("…集团股份有限公司" → "…"). English forms are matched on the key (case-folded, without punctuation).
_SUFFIXES: tuple[str, ...] = tuple(sorted((
    "股份有限公司", "有限责任公司", "集团有限公司", "控股有限公司", "有限公司", "分公司", "子公司", "总公司",
    "控股集团", "集团公司", "集团", "控股", "股份", "公司", "企业", "实业",
    "coltd", "ltd", "limited", "inc", "corp", "corporation", "co", "group", "holdings", "gmbh", "llc", "plc",
), key=len, reverse=True))
_BRACKETED = re.compile(r"[（(][^）)]*[）)]")  # "（中国）", "(河南)": a branch's region, not the company


def company_key(company: str) -> str:
    """The comparable key of a company name ("" for none): name_key without legal-form suffixes."""
    key = name_key(_BRACKETED.sub("", company or ""))
    stripped = True
    while stripped and key:
        stripped = False
        for suffix in _SUFFIXES:
            if key.endswith(suffix) and len(key) > len(suffix):
                key, stripped = key[: -len(suffix)], True
                break
    return key[:200]


def rebuild(connection: Connection) -> None:
    """Recompute every project's company key (sync: run it via run_sync), after writes that bypassed the
    ORM: a bulk load, a restore of a backup made before the key existed."""
    names = connection.execute(select(col(Project.company)).distinct()).scalars().all()
    for name in names:
        connection.execute(update(Project).where(col(Project.company) == name).values(company_key=company_key(name)))


@event.listens_for(LedgerSession, "before_flush")
def _keep_company_keys(session: Session, _flush_context: Any, _instances: Any) -> None:
    for obj in (*session.new, *session.dirty):
        if isinstance(obj, Project):
            key = company_key(obj.company)
            if obj.company_key != key:
                obj.company_key = key
