"""The text diff of a page against its previous capture, with the noise a watcher's users
complain about suppressed (issue #12), and the model-input fingerprint of the reuse test.

The input is the page's reduced main text — the text the model reads — one block per line; this
module takes it as a string and never runs the reducer itself. Lines are compared by a *key*:
whitespace collapsed and dates/times/relative times masked (``rules.mask_dates``); lines that an
``ignore_text`` rule matches are left out entirely. Then:

- lines are aligned with rapidfuzz's Indel (LCS) opcodes: 7x faster than difflib's
  SequenceMatcher on 6,000 lines and optimal, with no "popular line" junk heuristic
  (bench/RESULTS.md, ``python -m bench.changes``); consecutive non-equal opcodes form a hunk;
- a line removed in one place and added in another only *moved* (a reordered block): not a
  change; counted in ``moved``;
- inside a hunk, a line that enters in place of another is a *rotation* (a testimonial carousel)
  when it was already seen in a capture before the previous one (``seen``, line fingerprints):
  it and the most similar removed line of its hunk are not a change; counted in ``rotated``.
  Two lines that differ only in their digits are an edit of one item (a price, a count), never
  a rotation, so a price that returns to an earlier value is always reported;
- what is left is ``added``/``removed``; removed and added lines that resemble each other are
  paired into ``edits`` with word-level segments for the report's highlights (rapidfuzz ratio;
  CJK text is split per character, since it has no spaces).

``seen`` must not include the previous capture's own lines: a line of the previous capture is in
``before`` already, and counting it as seen would make every replacement look like a rotation.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from rapidfuzz import fuzz, process
from rapidfuzz.distance import Indel

from analyzer_lambda.changes.rules import ChangeRules, mask_dates

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

FINGERPRINT_VERSION = "v1"  # bump when keys change: stored fingerprints then stop matching
EDIT_SIMILARITY = 50.0  # rapidfuzz ratio (0-100) from which a removed/added pair is one edit
_MAX_PAIRED = 500  # lines of each side considered for word highlights (a rewrite has no pairs)
_SPACES = re.compile(r"\s+")
_DIGITS = re.compile(r"\d+")
_CJK = r"\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f"
_WORDS = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+|\s+|[^\w\s]")

Op = Literal["=", "-", "+"]


@dataclass(frozen=True)
class LineEdit:
    """A line changed in place: ``segments`` are (op, text), ``-`` only in ``before``, ``+`` only
    in ``after``, ``=`` in both; joining the ``=``/``-`` texts gives ``before``."""

    before: str
    after: str
    segments: tuple[tuple[Op, str], ...]


@dataclass(frozen=True)
class TextDiff:
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    edits: tuple[LineEdit, ...] = ()
    moved: int = 0  # lines that only changed place
    rotated: int = 0  # lines that rotated among variants seen before
    variants: frozenset[str] = field(default_factory=frozenset)  # fingerprints in any hunk

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed)

    def to_record(self) -> dict[str, list[str]]:
        """SPEC.md's ``text`` field of ``changes.jsonl``."""
        return {"added": list(self.added), "removed": list(self.removed)}


def line_key(line: str) -> str:
    """What two lines must share to be "the same line": whitespace and dates do not count."""
    return mask_dates(_SPACES.sub(" ", line).strip())


def line_fingerprint(line: str) -> str:
    return _fingerprint_of_key(line_key(line))


def comparable_lines(text: str, rules: ChangeRules) -> list[str]:
    """The lines of ``text`` that take part in the diff: non-empty and not ignored."""
    lines = (line.strip() for line in text.splitlines())
    return [line for line in lines if line and not rules.ignores_line(line)]


def line_fingerprints(text: str, rules: ChangeRules | None = None) -> frozenset[str]:
    """Fingerprints of a capture's lines, as a history stores them for the rotation test."""
    return frozenset(line_fingerprint(line) for line in comparable_lines(text, rules or _NONE))


def model_input_fingerprint(text: str, rules: ChangeRules) -> str:
    """A stable hash of the reduced text after the noise rules: equal for two captures whose
    text differs only in dates, ignored lines, whitespace or the order of its lines."""
    keys = sorted(line_key(line) for line in comparable_lines(text, rules))
    digest = hashlib.sha256("\n".join([FINGERPRINT_VERSION, *keys]).encode("utf-8"))
    return digest.hexdigest()[:32]


def diff_text(
    before: str,
    after: str,
    rules: ChangeRules | None = None,
    seen: Iterable[str] = (),
) -> TextDiff:
    """``after`` (this capture) against ``before`` (the previous one); ``seen`` holds line
    fingerprints of the captures before the previous one (see the module docstring)."""
    rules = rules or _NONE
    old, new = comparable_lines(before, rules), comparable_lines(after, rules)
    old_keys, new_keys = [line_key(x) for x in old], [line_key(x) for x in new]
    hunks = _hunks(old_keys, new_keys)
    removed_idx = [i for (a0, a1, _, _) in hunks for i in range(a0, a1)]
    added_idx = [j for (_, _, b0, b1) in hunks for j in range(b0, b1)]
    variants = frozenset(
        _fingerprint_of_key(k)
        for k in [old_keys[i] for i in removed_idx] + [new_keys[j] for j in added_idx]
    )
    moved_out, moved_in = _moves(old_keys, removed_idx, new_keys, added_idx)
    seen_set = frozenset(seen)
    removed: list[int] = []
    added: list[int] = []
    rotated = 0
    for a0, a1, b0, b1 in hunks:
        out = [i for i in range(a0, a1) if i not in moved_out]
        into = [j for j in range(b0, b1) if j not in moved_in]
        gone, came = _rotations(old_keys, out, new_keys, into, seen_set)
        rotated += len(gone)
        removed += [i for i in out if i not in gone]
        added += [j for j in into if j not in came]
    return TextDiff(
        added=tuple(new[j] for j in added),
        removed=tuple(old[i] for i in removed),
        edits=_edits([old[i] for i in removed], [new[j] for j in added]),
        moved=len(moved_out),
        rotated=rotated,
        variants=variants,
    )


def word_segments(before: str, after: str) -> tuple[tuple[Op, str], ...]:
    """Word-level diff of one line (CJK per character), adjacent segments of one op merged."""
    old, new = _WORDS.findall(before), _WORDS.findall(after)
    segments: list[tuple[Op, str]] = []
    gone: list[str] = []  # a run of non-equal opcodes: its removals shown before its additions
    came: list[str] = []
    for op in Indel.opcodes(old, new):
        if op.tag != "equal":
            gone += old[op.src_start : op.src_end]
            came += new[op.dest_start : op.dest_end]
            continue
        _append(segments, "-", "".join(gone))
        _append(segments, "+", "".join(came))
        gone, came = [], []
        _append(segments, "=", "".join(old[op.src_start : op.src_end]))
    _append(segments, "-", "".join(gone))
    _append(segments, "+", "".join(came))
    return tuple(segments)


_NONE = ChangeRules()


def _hunks(old: Sequence[str], new: Sequence[str]) -> list[tuple[int, int, int, int]]:
    """Runs of consecutive non-equal opcodes as (a0, a1, b0, b1)."""
    hunks: list[tuple[int, int, int, int]] = []
    current: list[int] | None = None
    for op in Indel.opcodes(old, new):
        if op.tag == "equal":
            if current is not None:
                hunks.append((current[0], current[1], current[2], current[3]))
                current = None
            continue
        if current is None:
            current = [op.src_start, op.src_end, op.dest_start, op.dest_end]
        else:
            current[1], current[3] = op.src_end, op.dest_end
    if current is not None:
        hunks.append((current[0], current[1], current[2], current[3]))
    return hunks


def _moves(
    old_keys: Sequence[str], removed: Sequence[int], new_keys: Sequence[str], added: Sequence[int]
) -> tuple[set[int], set[int]]:
    """Removed and added line indexes whose keys cancel out: the line only changed place."""
    common = Counter(old_keys[i] for i in removed) & Counter(new_keys[j] for j in added)
    out_left, in_left = Counter(common), Counter(common)
    moved_out = {i for i in removed if _take(out_left, old_keys[i])}
    moved_in = {j for j in added if _take(in_left, new_keys[j])}
    return moved_out, moved_in


def _take(budget: Counter[str], key: str) -> bool:
    if budget[key] <= 0:
        return False
    budget[key] -= 1
    return True


def _rotations(
    old_keys: Sequence[str],
    out: Sequence[int],
    new_keys: Sequence[str],
    into: Sequence[int],
    seen: frozenset[str],
) -> tuple[set[int], set[int]]:
    """(removed, added) line indexes of one hunk that rotated: an added line seen before, with
    the most similar removed line it took the place of. Lines whose only difference is in
    their digits pair first, as edits of one item, and never rotate."""
    if not seen:
        return set(), set()
    free = list(out)
    edited: set[int] = set()
    for j in into:
        shape = _DIGITS.sub("#", new_keys[j])
        twin = next((i for i in free if _DIGITS.sub("#", old_keys[i]) == shape), None)
        if twin is not None:
            free.remove(twin)
            edited.add(j)
    gone: set[int] = set()
    came: set[int] = set()
    for j in into:
        if not free:
            break
        if j in edited or _fingerprint_of_key(new_keys[j]) not in seen:
            continue
        partner = max(free, key=lambda i: fuzz.ratio(old_keys[i], new_keys[j]))
        free.remove(partner)
        gone.add(partner)
        came.add(j)
    return gone, came


def _fingerprint_of_key(key: str) -> str:
    return hashlib.blake2b(key.encode("utf-8"), digest_size=8).hexdigest()


def _edits(removed: Sequence[str], added: Sequence[str]) -> tuple[LineEdit, ...]:
    """Pair removed and added lines that resemble each other (best first) into edits."""
    removed, added = removed[:_MAX_PAIRED], added[:_MAX_PAIRED]
    if not removed or not added:
        return ()
    scores = process.cdist(removed, added, scorer=fuzz.ratio, score_cutoff=EDIT_SIMILARITY)
    pairs = sorted(
        ((float(scores[i, j]), int(i), int(j)) for i, j in zip(*scores.nonzero(), strict=True)),
        key=lambda item: (-item[0], item[1], item[2]),
    )
    used_old: set[int] = set()
    used_new: set[int] = set()
    chosen: list[tuple[int, int]] = []
    for score, i, j in pairs:
        if score < EDIT_SIMILARITY:
            break
        if i in used_old or j in used_new:
            continue
        used_old.add(i)
        used_new.add(j)
        chosen.append((i, j))
    chosen.sort()
    return tuple(
        LineEdit(removed[i], added[j], word_segments(removed[i], added[j])) for i, j in chosen
    )


def _append(segments: list[tuple[Op, str]], op: Op, text: str) -> None:
    if not text:
        return
    if segments and segments[-1][0] == op:
        segments[-1] = (op, segments[-1][1] + text)
    else:
        segments.append((op, text))
