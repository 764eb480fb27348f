"""Headline text for labels: tidying a headline (wire slugs, kickers, publisher tails, "...",
wrapping quotes, ALL CAPS) and the shorter phrases it can be compressed to. Pure string work;
`cluster.headline_label` scores and chooses among them."""

from __future__ import annotations

import re
from collections import Counter

TOKEN = re.compile(r"(?u)\b\w\w+\b")  # as scikit-learn's CountVectorizer, which c-TF-IDF uses
_WORD = re.compile(r"[\w'’.&-]+")
_WIRE_SLUG = re.compile(r"^(?:[A-Z][A-Z0-9&/.]*(?: [A-Z][A-Z0-9&/.]*)*(?: \d+)?-)+(?=[A-Z0-9'\"‘“])")
# a section or format tag before the headline; not an attribution ("Report:", "Study:", "Police:"),
# which says whose claim the headline is and stays
_KICKER = re.compile(
    r"^(?:watch|video|videos|photos?|pics|gallery|slideshow|in pictures|update|updated|exclusive|breaking|"
    r"breaking news|analysis|opinion|editorial|column|live|listen|audio|interview|infographic|quiz|factbox|"
    r"timeline|first look|just in|developing|in brief|news|review|movie review|film review|tv review|recap|"
    r"q&a|forex|new)\s*[:|-]\s+",
    re.IGNORECASE,
)
_VERSION = re.compile(r"\s+(?:\(\d\)|--?\s+\d(?:st|nd|rd|th)? update)$", re.IGNORECASE)  # a wire story's version
_FORMAT_TAG = re.compile(  # "(VIDEO)", "[PHOTOS]", "(See Video!)"
    r"\s*[(\[](?:(?:see|watch) (?:the )?)?(?:video|videos|photos?|pics|watch|updated?|audio|live|infographic)!?[)\]]",
    re.IGNORECASE,
)
_ELLIPSIS = re.compile(r"\s*(?:\.\.\.|…)\s*$")
_TAIL_SEPARATOR = re.compile(r"\s+(?:[-–—|]|--|::)\s+")
_SEPARATOR = re.compile(r"\s+(?:[-–—|]|--|::)\s+|(?<=\S)[:;]\s+")
_CLAUSE = re.compile(
    r",\s+|\s+(?=(?:as|after|amid|while|despite|but|following|ahead of|because|since|before|"
    r"says|said|according to)\s)",
    re.IGNORECASE,
)
_PUBLISHER_WORDS = re.compile(
    r"\b(?:news|times|post|journal|herald|tribune|gazette|daily|online|today|tv|radio|channel|reuters|"
    r"ap|afp|bbc|cnn|bloomberg|forbes|wire|press|magazine|network|blog|weather|sports|fm|am|com|net|"
    r"co\.uk|org|report|examiner|observer|chronicle|telegraph|guardian|independent|express|mirror|"
    r"standard|register|review|dispatch|star|sun|bulletin|inquirer|courier|wsj|nbc|abc|cbs|fox|wptv)\b",
    re.IGNORECASE,
)
_DANGLING = frozenset(
    "a an and are as at by for from has have her his in is its of on or our the their to was were will with "
    "who which that this".split()
)
_UPPER = re.compile(r"[A-ZÀ-ÖØ-Þ]")  # upper-case letters (ASCII and Latin-1)
_LOWER = re.compile(r"[a-zß-öø-ÿ]")
_FORMAT = re.compile(r"[\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")  # invisible characters


def content_terms(text: str, stop_words: frozenset[str]) -> set[str]:
    """The text's words and word pairs as c-TF-IDF counts them (lower case, stop words out)."""
    tokens = [t for t in TOKEN.findall(text.lower()) if t not in stop_words]
    return set(tokens) | {f"{a} {b}" for a, b in zip(tokens, tokens[1:])}


def is_shouting(text: str) -> bool:
    """Mostly capital letters (at least 8 letters)."""
    upper, lower = len(_UPPER.findall(text)), len(_LOWER.findall(text))
    return upper + lower >= 8 and upper >= 0.8 * (upper + lower)


def unquote(text: str) -> str:
    """Drop quotes that wrap the whole text and open or close nowhere else in it."""
    if len(text) < 3:
        return text
    inner = text[1:-1]
    for opening, closing in (('"', '"'), ("“", "”"), ("'", "'"), ("‘", "’")):
        if text[0] != opening or text[-1] != closing:
            continue
        quote = re.escape(opening) + "|" + re.escape(closing)
        # an apostrophe inside a word ("Kim's") is no quote
        if not re.search(rf"(?:^|\s)(?:{quote})|(?:{quote})(?:\s|$|[,:;.!?])", inner):
            return inner.strip()
    return text


def unbalanced(text: str) -> bool:
    """Has a double quote or a bracket without its partner."""
    return text.count('"') % 2 == 1 or text.count("(") != text.count(")") or text.count("“") != text.count("”")


def is_publisher_tail(part: str, separator: str) -> bool:
    """A part after a separator that names a publisher or site rather than news: a few words
    after a pipe, or words such as "News", "Times" or ".com"."""
    words = part.split()
    if separator.strip() == "|" and len(words) <= 5:
        return True
    return len(words) <= 8 and bool(_PUBLISHER_WORDS.search(part) or re.search(r"\.\w{2,3}\b", part))


def tidy(text: str) -> tuple[str, bool]:
    """The headline without wire slug, kicker, publisher tail, ellipsis or wrapping quotes, and
    whether it was cut off ("...")."""
    text = re.sub(r"\s+", " ", _FORMAT.sub("", text)).strip()
    truncated = bool(_ELLIPSIS.search(text))
    text = _FORMAT_TAG.sub("", _VERSION.sub("", _ELLIPSIS.sub("", text))).replace(" : ", ": ")
    slug = _WIRE_SLUG.match(text)
    if slug and (sum(c.isalpha() for c in slug.group(0)) >= 4 or any(c.isdigit() for c in slug.group(0))):
        text = text[slug.end() :]  # "UPDATE 2-", "US STOCKS-", but not the "UK-" of "UK-Based"
    for _ in range(2):
        text = _KICKER.sub("", text)
    text, truncated = drop_tails(drop_repeated_subject(text), truncated)
    return unquote(trim_end(text, dangling=truncated)), truncated


def drop_tails(text: str, truncated: bool) -> tuple[str, bool]:
    """The text without its trailing publisher tails (" - Reuters", "| The Republic"), and
    whether it is still cut off: when the headline was cut off ("..."), a short last part is the
    stub of a tail ("- NBC29 WVIR Charlottesville, VA News") and goes too."""
    parts, separators = _TAIL_SEPARATOR.split(text), _TAIL_SEPARATOR.findall(text)
    while len(parts) > 1 and len(" ".join(parts[:-1]).split()) >= 3:
        cut_off_tail = truncated and len(parts[-1].split()) <= 6
        if not (cut_off_tail or is_publisher_tail(parts[-1], separators[-1])):
            break
        truncated = truncated and not cut_off_tail
        parts, separators = parts[:-1], separators[:-1]
    return "".join(p + s for p, s in zip(parts, separators + [""])), truncated


def display_text(headline: str) -> str:
    """A headline as a reviewer reads it: without a publisher tail or a trailing "...", every
    word of the headline's own kept (no slug, kicker or quote is removed, unlike `tidy`)."""
    text = " ".join(headline.split())
    truncated = bool(_ELLIPSIS.search(text))
    return drop_tails(_ELLIPSIS.sub("", text), truncated)[0] or headline


def drop_repeated_subject(text: str) -> str:
    """Without a leading "Name - " that the rest repeats ("Anita Baker - Warrant issued for Anita Baker")."""
    parts = _TAIL_SEPARATOR.split(text, maxsplit=1)
    if len(parts) == 2 and len(parts[0].split()) <= 4 and parts[0].casefold() in parts[1].casefold():
        return parts[1]
    return text


def trim_end(text: str, dangling: bool = False) -> str:
    """Without trailing punctuation and, where the text was cut off (`dangling`), small words
    left hanging ("... for the"; a complete headline may end in one: "Fears set in")."""
    words = text.rstrip(" ,;:-–—|/").split()
    while dangling and len(words) > 1 and words[-1].lower().strip(",;:") in _DANGLING:
        words.pop()
    return " ".join(words).rstrip(" ,;:-–—|/")


def recase(text: str, forms: dict[str, str]) -> str:
    """An ALL CAPS text in the spelling the topic's other headlines use, else in title case."""

    def word(match: re.Match[str]) -> str:
        token = match.group(0)
        return forms.get(token.casefold(), token[:1] + token[1:].lower())

    return _WORD.sub(word, text)


def surface_forms(texts: list[str]) -> dict[str, str]:
    """Each word's most common spelling in the texts that are not ALL CAPS."""
    counts = Counter(w for t in texts if not is_shouting(t) for w in _WORD.findall(t))
    forms: dict[str, str] = {}
    for spelling, _ in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        forms.setdefault(spelling.casefold(), spelling)
    return forms


def compressions(text: str, truncated: bool, min_words: int = 3) -> list[tuple[str, int, bool]]:
    """(candidate, cuts, truncated) for the tidied headline, its parts and runs of parts, and the
    leading clauses of each. A short lead before a colon ("Study:", "GM recall:") says whose
    claim or which story it is, so no candidate drops it."""
    parts = _SEPARATOR.split(text)
    separators = _SEPARATOR.findall(text)
    protected = len(parts) > 1 and separators[0].strip() == ":" and len(parts[0].split()) <= 3
    spans: list[tuple[str, int, bool]] = []
    for first in [0] if protected else range(min(len(parts), 5)):
        for last in range(first, min(len(parts), first + 5)):
            joined = "".join(p + s for p, s in zip(parts[first:last], separators[first:last])) + parts[last]
            cuts = int(first > 0) + int(last < len(parts) - 1)
            spans.append((joined, cuts, truncated and last == len(parts) - 1))
    result = []
    for span, cuts, cut_off in spans:
        span = unquote(trim_end(span, dangling=cut_off))
        result.append((span, cuts, cut_off))
        for match in _CLAUSE.finditer(span):
            head = trim_end(span[: match.start()])
            if len(head.split()) >= min_words and not in_list_of_names(span, match):
                result.append((head, cuts + 1, False))
    return [(t, c, k) for t, c, k in result if len(t.split()) >= min_words or (c == 0 and t)]


def in_list_of_names(text: str, match: re.Match[str]) -> bool:
    """A comma between two capitalised words ("Peter Criss, Ace Frehley"): a list, not a clause."""
    if not match.group(0).startswith(","):
        return False
    before, after = text[: match.start()].split()[-1:], text[match.end() :].split()[:1]
    return bool(before and after and before[0][:1].isupper() and after[0][:1].isupper())


def comparable(text: str) -> str:
    """The text as compared for duplicates: case and punctuation ignored."""
    return " ".join(re.findall(r"\w+", text.casefold()))
