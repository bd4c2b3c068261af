"""Go-style durations, as Atlas's flags take and print them: ``parse_duration`` (``10s``,
``500ms``, ``1m30s`` or plain seconds, to seconds) and ``go_duration`` (nanoseconds rendered as
Go's ``time.Duration.String``).

Shared by the CLI (``--lock-timeout``, the ``apply`` timings) and the providers (the
``lock_timeout`` input); imports only ``re``, so it costs nothing at start-up.
"""

from __future__ import annotations

import re

_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "\u00b5s": 1e-6, "\u03bcs": 1e-6, "ms": 1e-3, "s": 1.0,
             "m": 60.0, "h": 3600.0}
_GO_PART = r"(\d+\.?\d*|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)"   # compiled on first use


def parse_duration(text: str) -> float:
    """Parse a Go duration (``10s``, ``500ms``, ``1m30s``) or plain seconds (``2.5``) to seconds.

    Raises ValueError for anything else (negative values included).
    """
    s = text.strip()
    if s.startswith("-") and s[1:2] != "-":
        try:
            parse_duration(s[1:])
        except ValueError:
            raise ValueError(f"{text!r} is not a duration like 10s, 500ms, 1m30s or 2.5") from None
        raise ValueError(f"{text!r} is negative; give a duration of 0 or more, like 10s, "
                         "500ms, 1m30s or 2.5")
    try:
        value = float(s)
    except ValueError:
        pos, value = 0, 0.0
        while pos < len(s):
            m = re.compile(_GO_PART).match(s, pos)
            if m is None:
                raise ValueError(f"{text!r} is not a duration like 10s, 500ms, 1m30s or 2.5")
            value += float(m.group(1)) * _GO_UNITS[m.group(2)]
            pos = m.end()
        if not s:
            raise ValueError("empty duration") from None
    if not 0 <= value < float("inf"):
        raise ValueError(f"{text!r} is not a duration like 10s, 500ms, 1m30s or 2.5")
    return value


def go_duration(ns: int) -> str:
    """Render nanoseconds as Go's ``time.Duration.String`` does (``1.5ms``, ``2m3.04s``)."""
    if ns == 0:
        return "0s"
    sign, u = ("-" if ns < 0 else ""), abs(ns)

    def frac(value: int, unit: int) -> str:
        whole, rest = divmod(value, unit)
        digits = str(rest).rjust(len(str(unit)) - 1, "0").rstrip("0")
        return f"{whole}.{digits}" if digits else str(whole)

    if u < 1_000:
        return f"{sign}{u}ns"
    if u < 1_000_000:
        return f"{sign}{frac(u, 1_000)}\u00b5s"
    if u < 1_000_000_000:
        return f"{sign}{frac(u, 1_000_000)}ms"
    minutes, secs = divmod(u, 60_000_000_000)
    out = frac(secs, 1_000_000_000) + "s"
    if minutes:
        hours, minutes = divmod(minutes, 60)
        out = f"{minutes}m{out}" if not hours else f"{hours}h{minutes}m{out}"
    return sign + out
