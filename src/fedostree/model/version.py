"""`automatic-version-prefix` tags, as rpm-ostree renders them (src/libpriv/rpmostree-util.cxx
`util_next_version`): `<date:FORMAT>` becomes the current UTC time formatted by GLib's
g_date_time_format, so that `%Y %m %d %H %M %S %j %y %b ...` mean what they mean there.
engine/commit.py `next_version` builds the version from the rendered prefix."""

from __future__ import annotations

import logging
import re

from gi.repository import GLib

log = logging.getLogger(__name__)

# rpm-ostree's VERSION_TAG_REGEX; `.*` is greedy: one tag per line in practice.
_TAG = re.compile(r"<([a-zA-Z]+):(.*)?>")


class BadDateFormat(ValueError):
    pass


def render_prefix(prefix: str, now: GLib.DateTime) -> tuple[str, bool]:
    """The prefix with its `<date:FORMAT>` tags rendered, and whether it had one.
    Raise BadDateFormat when GLib cannot format one. An unknown tag is kept as written."""
    out = prefix
    dated = False
    now = now.to_utc()
    for m in _TAG.finditer(prefix):
        if m.group(1) != "date":
            log.warning("automatic-version-prefix: ignoring unknown tag %s", m.group(1))
            continue
        fmt = m.group(2) or ""
        text = now.format(fmt)
        if text is None:
            raise BadDateFormat(f"error in formatting date string ({fmt})")
        # As rpm-ostree: the match's offsets in the prefix as written.
        out = out[: m.start()] + text + out[m.end() :]
        dated = True
    return out, dated


def check_prefix(prefix: str) -> None:
    """Raise BadDateFormat now rather than when the tree is committed."""
    render_prefix(prefix, GLib.DateTime.new_utc(2000, 1, 1, 0, 0, 0))
