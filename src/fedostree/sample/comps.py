"""Read the sample's groups from the Fedora 20 comps (`.xml.in` form) and write the
comps.xml that the sample repository registers as its `group` metadata."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from xml.sax.saxutils import escape

from fedostree.errors import FedostreeError

COMPS_EXTRACT = Path(__file__).with_name("comps-f20-extract.xml")
ARCH = "x86_64"
DOCTYPE = '<!DOCTYPE comps PUBLIC "-//Red Hat, Inc.//DTD Comps info//EN" "comps.dtd">'

MemberType = Literal["mandatory", "default"]
MEMBER_TYPES: dict[str, MemberType] = {"mandatory": "mandatory", "default": "default"}


@dataclass(frozen=True)
class GroupMember:
    name: str
    type: MemberType


@dataclass(frozen=True)
class CompsGroup:
    id: str
    name: str
    description: str
    default: bool
    uservisible: bool
    members: tuple[GroupMember, ...]


@dataclass(frozen=True)
class CompsCategory:
    id: str
    name: str
    description: str
    display_order: str | None
    group_ids: tuple[str, ...]


def parse_comps(path: Path) -> ET.Element:
    try:
        return ET.parse(path).getroot()
    except (OSError, ET.ParseError) as exc:
        raise FedostreeError(f"cannot read comps {path}: {exc}") from exc


def translatable(element: ET.Element, tag: str) -> str:
    """`name` or, in the `.xml.in` form, `_name` (likewise for description)."""
    text = element.findtext(tag)
    return (text if text is not None else element.findtext(f"_{tag}", "")).strip()


def member_type(req: ET.Element) -> MemberType | None:
    """mandatory/default members (no type means mandatory); None for optional,
    conditional and other-architecture members."""
    arches = req.get("arch")
    if arches is not None and ARCH not in arches.replace(",", " ").split():
        return None
    return MEMBER_TYPES.get(req.get("type", "mandatory"))


def read_group(element: ET.Element) -> CompsGroup:
    members = []
    for req in element.iterfind("packagelist/packagereq"):
        kind = member_type(req)
        if kind is not None and req.text:
            members.append(GroupMember(req.text.strip(), kind))
    return CompsGroup(
        id=element.findtext("id", "").strip(),
        name=translatable(element, "name"),
        description=translatable(element, "description"),
        default=element.findtext("default", "false").strip() == "true",
        uservisible=element.findtext("uservisible", "true").strip() == "true",
        members=tuple(members),
    )


def load_groups(group_ids: Sequence[str], path: Path = COMPS_EXTRACT) -> tuple[CompsGroup, ...]:
    """The named groups, in the order asked for, with their mandatory and default members."""
    found = {group.id: group for group in map(read_group, parse_comps(path).iterfind("group"))}
    missing = [gid for gid in group_ids if gid not in found]
    if missing:
        raise FedostreeError(f"comps {path} has no group(s): {', '.join(missing)}")
    return tuple(found[gid] for gid in group_ids)


def load_categories(
    group_ids: Sequence[str], path: Path = COMPS_EXTRACT
) -> tuple[CompsCategory, ...]:
    """The categories that list any of the groups, their group lists cut down to those."""
    categories = []
    for element in parse_comps(path).iterfind("category"):
        listed = [g.text.strip() for g in element.iterfind("grouplist/groupid") if g.text]
        kept = tuple(gid for gid in listed if gid in group_ids)
        if kept:
            order = element.findtext("display_order")
            categories.append(
                CompsCategory(
                    id=element.findtext("id", "").strip(),
                    name=translatable(element, "name"),
                    description=translatable(element, "description"),
                    display_order=order.strip() if order else None,
                    group_ids=kept,
                )
            )
    return tuple(categories)


def _tag(tag: str, text: str, indent: int) -> str:
    return f"{' ' * indent}<{tag}>{escape(text)}</{tag}>"


def render_group(group: CompsGroup) -> Iterable[str]:
    yield "  <group>"
    yield _tag("id", group.id, 4)
    yield _tag("name", group.name, 4)
    yield _tag("description", group.description, 4)
    yield _tag("default", str(group.default).lower(), 4)
    yield _tag("uservisible", str(group.uservisible).lower(), 4)
    yield "    <packagelist>"
    for member in group.members:
        yield f'      <packagereq type="{member.type}">{escape(member.name)}</packagereq>'
    yield "    </packagelist>"
    yield "  </group>"


def render_category(category: CompsCategory) -> Iterable[str]:
    yield "  <category>"
    yield _tag("id", category.id, 4)
    yield _tag("name", category.name, 4)
    yield _tag("description", category.description, 4)
    if category.display_order is not None:
        yield _tag("display_order", category.display_order, 4)
    yield "    <grouplist>"
    yield from (_tag("groupid", gid, 6) for gid in category.group_ids)
    yield "    </grouplist>"
    yield "  </category>"


def render_comps(groups: Sequence[CompsGroup], categories: Sequence[CompsCategory]) -> str:
    """A comps.xml valid per comps.dtd: groups, then categories, every packagereq typed."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', DOCTYPE, "<comps>"]
    for group in groups:
        lines.extend(render_group(group))
    for category in categories:
        lines.extend(render_category(category))
    lines.append("</comps>")
    return "\n".join(lines) + "\n"
