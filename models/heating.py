"""The heating season (供暖期): while heating is supplied, a decoration's heating pressure test
may be skipped (R-PASS-4).

HEATING_SEASON in the config gives the season as "MM-DD..MM-DD" (it may cross New Year), or ""
where the estate has no central heating.
"""

from __future__ import annotations

import datetime as dt
import re

from flask import current_app, has_app_context

# Northern China's usual heating season; the config's HEATING_SEASON overrides it.
DEFAULT_HEATING_SEASON = "11-15..03-15"


def _setting(name: str, default):
    return current_app.config.get(name, default) if has_app_context() else default


def parse_season(text: str | None) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """"11-15..03-15" → ((11, 15), (3, 15)); empty → None (no heating season)."""
    if not text:
        return None
    match = re.fullmatch(r"\s*(\d{1,2})-(\d{1,2})\s*\.\.\s*(\d{1,2})-(\d{1,2})\s*", text)
    if not match:
        raise ValueError(f"HEATING_SEASON 格式应为 MM-DD..MM-DD，如 11-15..03-15：{text!r}")
    a, b, c, d = map(int, match.groups())
    return (a, b), (c, d)


def in_heating_season(day: dt.date, season: str | None = None) -> bool:
    """Whether a day falls in the heating season (inclusive; a season may cross New Year)."""
    bounds = parse_season(_setting("HEATING_SEASON", DEFAULT_HEATING_SEASON)
                          if season is None else season)
    if bounds is None:
        return False
    start, end = bounds
    key = (day.month, day.day)
    if start <= end:
        return start <= key <= end
    return key >= start or key <= end
