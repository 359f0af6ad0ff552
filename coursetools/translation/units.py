"""Translation units of a notebook: what the Japanese edition translates, and where it sits.

A cell's source is cut into segments whose texts, joined, give the source back exactly; a segment
that is a translation unit carries its catalogue context and its normalised English (``msgid``):

- markdown: one unit per block (blocks are separated by blank lines; a fenced code block is one
  block even with blank lines inside). Soft line breaks inside a paragraph or a list item are
  collapsed to one space, so re-wrapping the English changes no ``msgid``; headings, list items,
  table rows, HTML lines and hard breaks keep their line breaks; tables and fenced code stay
  verbatim. Context ``{cell_id}:md:{n}``.
- code: one unit per comment (consecutive full-line comments at one column are one comment, their
  lines collapsed like a paragraph) and one per prose string literal. Contexts
  ``{cell_id}:comment:{n}`` and ``{cell_id}:str:{n}``. A string's ``msgid`` is its body as written
  (escapes included, quotes and prefix not), so the translation is pasted back as source text.

Which text is prose (``is_prose``): outside ``{fields}``, two words in a row, letters only,
either the first not in capitals and the second in lowercase (``still alive``, ``Session not
found``, ``memory (dict)``) or the first in lowercase and the second capitalised (``the SCAN
output``, ``phone GET /me``); and it does not start like SQL (``DELETE FROM …``). So
``POST /login ->``, ``SET demo v1 EX 60 NX``, ``theme=dark; Path=/``, SQL statements, key
patterns, URLs, format specs and identifiers are not prose
and stay as they are; nor are bytes literals, ``# noqa``-style pragmas, or comments already in
Japanese (``# TTL を延長`` has no two English words in a row). An f-string's ``{expr}`` fields
are placeholders: a translation keeps every one of them (the check says so when one is lost).

Comments and strings are found with ``tokenize`` (its columns count characters; ``ast`` counts
UTF-8 bytes, which breaks on ``…``, ``→`` or Japanese). ``%magic`` and ``!shell`` lines are opaque:
blanked before tokenizing, never translated. An f-string is one span on every Python version
(3.12+ tokenizes it as FSTRING_START … FSTRING_END). The lesson's own code cells (first line a
comment saying "from the lesson" or "as written") keep their strings and the lesson's Japanese
comments; only the course's English comments in them (their first line, notes on what changed)
are units: the lesson's code stays exactly as the lesson wrote it.
"""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Segment",
    "cell_segments",
    "code_signature",
    "is_lesson_cell",
    "is_prose",
    "normalise_markdown",
    "placeholders",
]

FSTRING_START = getattr(tokenize, "FSTRING_START", -1)
FSTRING_END = getattr(tokenize, "FSTRING_END", -2)
FSTRING_MIDDLE = getattr(tokenize, "FSTRING_MIDDLE", -3)

_PROSE = re.compile(
    r"(?<![\w/.=-])[A-Za-z][a-z]*,?\s+\(?[a-z]{2,}(?![\w/=])"
    r"|(?<![\w/.=-])[a-z]{2,},?\s+\(?[A-Z][A-Za-z0-9_-]*(?![\w/=])"
)
_SQL = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|CREATE|DROP|ALTER|WITH)\s+[A-Z*]")
_FIELD = re.compile(r"\{[^{}]*(?:\{[^{}]*\}[^{}]*)*\}")
_PRAGMA = re.compile(r"^\s*(noqa|type:|pragma|fmt:|isort:|ruff:|mypy:)")
_PREFIX = re.compile(r"^([A-Za-z]*)('''|\"\"\"|'|\")")
_LESSON = re.compile(r"^#.*\b(from the lesson|as written)\b", re.IGNORECASE)
_STRUCTURE = re.compile(r"^\s*([-*+]\s|\d+[.)]\s|#{1,6}\s|>|\||<|```|~~~)")
_FENCE = re.compile(r"^\s*(```|~~~)")


@dataclass(frozen=True)
class Segment:
    """A piece of a cell's source; ``ctx``/``msgid`` are set when it is a translation unit."""

    text: str
    ctx: str = ""
    msgid: str = ""
    kind: str = ""  # "md", "comment" or "str"
    indent: str = ""  # comment: what comes before "#" on its first line
    marker: str = ""  # comment: "#" and the spaces after it


def placeholders(text: str) -> list[str]:
    """The ``{…}`` fields of a text (``{{``/``}}`` are literal braces, not fields), sorted."""
    return sorted(_FIELD.findall(text.replace("{{", "").replace("}}", "")))


def is_prose(text: str) -> bool:
    """True when the text has, outside ``{fields}``, two words in a row (see the module doc)."""
    bare = _FIELD.sub(" ", text.replace("{{", "").replace("}}", ""))
    return bool(_PROSE.search(bare)) and not _SQL.match(bare)


def is_lesson_cell(cell: Any) -> bool:
    """A code cell holding the lesson's own code: its first line says "from the lesson"."""
    first = cell.source.lstrip().split("\n", 1)[0]
    return cell.cell_type == "code" and bool(_LESSON.match(first))


# ---------------------------------------------------------------- markdown
def _blocks(source: str) -> list[tuple[str, bool]]:
    """(text, is_block) pieces of a markdown source: blocks and the blank lines between them."""
    pieces: list[tuple[str, bool]] = []
    block: list[str] = []
    gap: list[str] = []
    fence: str | None = None
    for line in source.splitlines(keepends=True):
        blank = not line.strip()
        if blank and fence is None:
            if block:
                pieces.append(("".join(block), True))
                block = []
            gap.append(line)
            continue
        if gap:
            pieces.append(("".join(gap), False))
            gap = []
        block.append(line)
        match = _FENCE.match(line)
        if match:
            fence = None if fence == match.group(1) else (fence or match.group(1))
    if block:
        pieces.append(("".join(block), True))
    if gap:
        pieces.append(("".join(gap), False))
    # a block's trailing newline belongs to the gap, so a translation needs none
    out: list[tuple[str, bool]] = []
    for text, is_block in pieces:
        if is_block and text.endswith("\n"):
            out += [(text[:-1], True), ("\n", False)]
        else:
            out.append((text, is_block))
    return out


def normalise_markdown(block: str) -> str:
    """Collapse soft line breaks; keep the breaks that mean something (see the module doc)."""
    lines = block.split("\n")
    if _FENCE.match(lines[0]) or all(line.lstrip().startswith("|") for line in lines):
        return block
    out: list[str] = []
    for line in lines:
        if out:
            prev = out[-1]
            hard = prev.endswith(("  ", "\\")) or _STRUCTURE.match(line) is not None
            keeps = prev.lstrip().startswith(("#", "|", "<"))
            if not hard and not keeps and line.strip():
                out[-1] = prev.rstrip() + " " + line.strip()
                continue
        out.append(line.rstrip() if not line.endswith(("  ", "\\")) else line)
    return "\n".join(out)


def _markdown_segments(cell_id: str, source: str) -> list[Segment]:
    segments, n = [], 0
    for text, is_block in _blocks(source):
        fenced = _FENCE.match(text) is not None
        wanted = is_block and (is_prose(text) if fenced else re.search(r"[A-Za-z]{2,}", text))
        if wanted:
            segments.append(Segment(text, f"{cell_id}:md:{n}", normalise_markdown(text), "md"))
            n += 1
        else:
            segments.append(Segment(text))
    return segments


# ---------------------------------------------------------------- code
def blank_magics(source: str) -> str:
    """The source with ``%magic`` / ``!shell`` / ``?help`` lines emptied (lines keep their rows)."""
    return "\n".join("" if line.lstrip().startswith(("%", "!", "?")) else line for line in source.split("\n"))


def _tokens(source: str) -> list[tokenize.TokenInfo]:
    return list(tokenize.generate_tokens(io.StringIO(blank_magics(source)).readline))


def _literal_spans(tokens: list[tokenize.TokenInfo]) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """(start, end) of every string literal, an f-string (any Python version) as one span."""
    spans, depth, start = [], 0, (0, 0)
    for tok in tokens:
        if tok.type == FSTRING_START:
            if depth == 0:
                start = tok.start
            depth += 1
        elif tok.type == FSTRING_END:
            depth -= 1
            if depth == 0:
                spans.append((start, tok.end))
        elif tok.type == tokenize.STRING and depth == 0:
            spans.append((tok.start, tok.end))
    return spans


def code_signature(source: str) -> list[tuple[int, str]]:
    """The cell's tokens without comments, string literals (f-strings whole) and line breaks,
    plus its magic lines as written: two cells with one signature differ only in comments and
    strings. Raises ``tokenize.TokenError`` / ``SyntaxError`` on code that does not tokenize."""
    if source.lstrip().startswith("%%"):
        return [(-1, source)]
    skip = {
        tokenize.COMMENT,
        tokenize.NL,
        tokenize.NEWLINE,
        tokenize.STRING,
        tokenize.ENDMARKER,
        FSTRING_MIDDLE,
    }
    out, depth = [], 0
    for tok in _tokens(source):
        if tok.type == FSTRING_START:
            depth += 1
        elif tok.type == FSTRING_END:
            depth -= 1
        elif depth == 0 and tok.type not in skip:
            out.append((tok.type, tok.string))
    magics = [(-1, line.strip()) for line in source.split("\n") if line.lstrip().startswith(("%", "!", "?"))]
    return out + magics


def _offsets(source: str) -> list[int]:
    starts = [0]
    for line in source.split("\n"):
        starts.append(starts[-1] + len(line) + 1)
    return starts


def _comment_blocks(tokens: list[tokenize.TokenInfo], lines: list[str]) -> list[list[tokenize.TokenInfo]]:
    """Comments grouped: consecutive full-line comments at one column form one group."""
    groups: list[list[tokenize.TokenInfo]] = []
    for tok in (t for t in tokens if t.type == tokenize.COMMENT):
        row, col = tok.start
        full_line = not lines[row - 1][:col].strip()
        if groups and full_line:
            last = groups[-1][-1]
            last_full = not lines[last.start[0] - 1][: last.start[1]].strip()
            if last_full and last.start[0] == row - 1 and last.start[1] == col:
                groups[-1].append(tok)
                continue
        groups.append([tok])
    return groups


def _comment_text(tok: tokenize.TokenInfo) -> tuple[str, str]:
    """("#" and its spaces, the text) of one comment token."""
    match = re.match(r"#+\s*", tok.string)
    marker = match.group(0) if match else "#"
    return marker, tok.string[len(marker) :]


def _code_segments(cell_id: str, source: str, lesson: bool) -> list[Segment]:
    if source.lstrip().startswith("%%"):
        return [Segment(source)]
    try:
        tokens = _tokens(source)
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return [Segment(source)]
    lines, starts = source.split("\n"), _offsets(source)

    def at(pos: tuple[int, int]) -> int:
        return starts[pos[0] - 1] + pos[1]

    found: list[tuple[int, int, Segment]] = []
    for group in _comment_blocks(tokens, lines):
        marker, first = _comment_text(group[0])
        texts = [first] + [_comment_text(t)[1] for t in group[1:]]
        msgid = normalise_markdown("\n".join(texts))
        if _PRAGMA.match(first) or not is_prose(msgid):
            continue
        indent = " " * group[0].start[1]
        found.append(
            (at(group[0].start), at(group[-1].end), Segment("", "comment", msgid, "comment", indent, marker))
        )
    if not lesson:
        for lo, hi in _literal_spans(tokens):
            literal = source[at(lo) : at(hi)]
            match = _PREFIX.match(literal)
            if not match or "b" in match.group(1).lower():
                continue
            head, quote = len(match.group(0)), match.group(2)
            body = literal[head : len(literal) - len(quote)]
            if is_prose(body):
                found.append((at(lo) + head, at(hi) - len(quote), Segment("", "str", body, "str")))
    found.sort(key=lambda item: item[0])
    segments, pos, counts = [], 0, {"comment": 0, "str": 0}
    for begin, end, seg in found:
        segments.append(Segment(source[pos:begin]))
        kind = seg.kind
        segments.append(
            Segment(
                source[begin:end], f"{cell_id}:{kind}:{counts[kind]}", seg.msgid, kind, seg.indent, seg.marker
            )
        )
        counts[kind] += 1
        pos = end
    segments.append(Segment(source[pos:]))
    return [s for s in segments if s.text or s.ctx]


def cell_segments(cell: Any) -> list[Segment]:
    """The cell's source cut into segments (see the module doc); raw cells have no units."""
    if cell.cell_type == "markdown":
        return _markdown_segments(cell.id, cell.source)
    if cell.cell_type == "code":
        return _code_segments(cell.id, cell.source, is_lesson_cell(cell))
    return [Segment(cell.source)]
