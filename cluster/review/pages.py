"""The HTML and JavaScript templates of the review pages, shipped as package data in
`cluster/review/templates/`.

A template marks each slot as `{{name}}`; everything else (CSS and script braces included) is
taken literally. `fill` replaces the slots in one pass, so text put into one slot is never
scanned for another.
"""

from __future__ import annotations

import re
from functools import cache
from importlib.resources import files

_SLOT = re.compile(r"\{\{(\w+)\}\}")


@cache
def read_template(name: str) -> str:
    """A file from `cluster/review/templates/`, as text."""
    return (files("cluster.review") / "templates" / name).read_text(encoding="utf-8")


def fill(template: str, **values: str) -> str:
    """`template` with every `{{name}}` replaced by `values[name]`; a slot without a value is an
    error, a value without a slot is ignored."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise KeyError(f"no value for the template slot {{{{{name}}}}}")
        return values[name]

    return _SLOT.sub(value, template)
