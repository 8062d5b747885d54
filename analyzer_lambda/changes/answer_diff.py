"""Which answer fields changed since the previous capture, field by field (issue #12).

The output is SPEC.md's ``answer`` field of ``changes.jsonl``: ``{"field.path": {"before": v,
"after": v}}`` for the fields that changed, e.g. ``pricing[Starter].price: 49 → 59``. The
prompt's JSON Schema says what a field is:

- objects are compared key by key, in the schema's order;
- a list of objects is matched by an identifying key, never by position (a plan that moved in
  the list did not change; a plan that appeared is ``pricing[Enterprise]: null → {...}``). The
  key is the item schema's ``x-key`` when given, else the first of ``IDENTITY_KEYS`` that the
  item schema lists (required ones first), else the first one every item carries; without one,
  identical items pair first and the rest by the most equal fields;
- a list of scalars (claims) is a multiset: order does not count; when it changed the entry also
  says which items were ``removed`` and ``added``, so a dropped claim stands out;
- scalars are equal when their values are (49 == 49.0; strings with whitespace collapsed).

Pure: two answers (any JSON values) and a schema in, a dict out.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

IDENTITY_KEYS = ("id", "key", "name", "plan", "title", "label", "sku", "url")
_SPACES = re.compile(r"\s+")
Schema = dict[str, Any]


def diff_answers(
    before: Any, after: Any, schema: Mapping[str, Any] | None = None
) -> dict[str, dict[str, Any]]:
    """The changed fields of ``after`` against ``before``; ``{}`` when nothing changed."""
    changes: dict[str, dict[str, Any]] = {}
    root = dict(schema or {})
    _diff(before, after, _resolve(root, root), root, "", changes)
    return changes


def _diff(
    before: Any, after: Any, schema: Schema, root: Schema, path: str, out: dict[str, Any]
) -> None:
    if isinstance(before, dict) and isinstance(after, dict):
        properties = schema.get("properties") or {}
        keys = [k for k in properties if k in before or k in after]
        keys += sorted(k for k in {*before, *after} if k not in properties)
        for key in keys:
            sub = _resolve(properties.get(key) or {}, root)
            _diff(before.get(key), after.get(key), sub, root, _join(path, key), out)
    elif isinstance(before, list) and isinstance(after, list):
        items = _resolve(schema.get("items") or {}, root)
        if all(isinstance(v, dict) for v in [*before, *after]):
            _diff_objects(before, after, items, root, path, out)
        else:
            _diff_scalars(before, after, path, out)
    elif not _same(before, after):
        out[path or "."] = {"before": before, "after": after}


def _diff_objects(
    before: Sequence[dict[str, Any]],
    after: Sequence[dict[str, Any]],
    items: Schema,
    root: Schema,
    path: str,
    out: dict[str, Any],
) -> None:
    key = _identity_key(items, [*before, *after])
    if key is not None:
        old, new = _by_identity(before, key), _by_identity(after, key)
        for ident in list(old) + [ident for ident in new if ident not in old]:
            label, value = old[ident] if ident in old else new[ident]
            sub_path = f"{path}[{label}]"
            if ident not in new:
                out[sub_path] = {"before": value, "after": None}
            elif ident not in old:
                out[sub_path] = {"before": None, "after": value}
            else:  # the key itself can only differ in case or spacing here: not a change
                old_rest = {k: v for k, v in value.items() if k != key}
                new_rest = {k: v for k, v in new[ident][1].items() if k != key}
                _diff(old_rest, new_rest, items, root, sub_path, out)
        return
    pairs, gone, came = _pair_by_content(before, after)
    for i, j in pairs:
        _diff(before[i], after[j], items, root, f"{path}[{j}]", out)
    for i in gone:
        out[f"{path}[{i}]"] = {"before": before[i], "after": None}
    for j in came:
        out[f"{path}[{j}]"] = {"before": None, "after": after[j]}


def _diff_scalars(before: list[Any], after: list[Any], path: str, out: dict[str, Any]) -> None:
    old = Counter(_normal(v) for v in before)
    new = Counter(_normal(v) for v in after)
    if old == new:
        return
    gone, came = old - new, new - old
    out[path or "."] = {
        "before": before,
        "after": after,
        "removed": [v for v in before if _take(gone, _normal(v))],
        "added": [v for v in after if _take(came, _normal(v))],
    }


def _identity_key(items: Schema, values: Sequence[dict[str, Any]]) -> str | None:
    explicit = items.get("x-key")
    if isinstance(explicit, str):
        return explicit
    properties = items.get("properties") or {}
    required = [k for k in items.get("required") or [] if k in properties]
    for candidates in (required, list(properties)):
        for name in IDENTITY_KEYS:
            if name in candidates:
                return name
    for name in IDENTITY_KEYS:
        if values and all(_is_scalar(v.get(name)) and v.get(name) is not None for v in values):
            return name
    return None


def _by_identity(
    values: Sequence[dict[str, Any]], key: str
) -> dict[str, tuple[str, dict[str, Any]]]:
    """Items by their key, case and spacing aside, as (label for the path, item); repeats of a
    key get ``#2``, ``#3``... in order."""
    out: dict[str, tuple[str, dict[str, Any]]] = {}
    seen: Counter[str] = Counter()
    for value in values:
        label = _label(value.get(key))
        norm = label.casefold()
        seen[norm] += 1
        suffix = "" if seen[norm] == 1 else f"#{seen[norm]}"
        out[norm + suffix] = (label + suffix, value)
    return out


def _pair_by_content(
    before: Sequence[dict[str, Any]], after: Sequence[dict[str, Any]]
) -> tuple[list[tuple[int, int]], list[int], list[int]]:
    """Identical items first, then greedily by the number of equal fields (at least one)."""
    free_old, free_new = list(range(len(before))), list(range(len(after)))
    pairs: list[tuple[int, int]] = []
    for i in list(free_old):
        j = next((j for j in free_new if _normal(before[i]) == _normal(after[j])), None)
        if j is not None:
            pairs.append((i, j))
            free_old.remove(i)
            free_new.remove(j)
    scored = sorted(
        ((-_shared(before[i], after[j]), i, j) for i in free_old for j in free_new),
    )
    for negative, i, j in scored:
        if negative == 0:
            break
        if i in free_old and j in free_new:
            pairs.append((i, j))
            free_old.remove(i)
            free_new.remove(j)
    return sorted(pairs, key=lambda p: p[1]), free_old, free_new


def _shared(a: dict[str, Any], b: dict[str, Any]) -> int:
    return sum(1 for k in a if k in b and _is_scalar(a[k]) and _same(a[k], b[k]))


def _resolve(schema: Mapping[str, Any], root: Schema) -> Schema:
    """Follow a local ``$ref`` and take the non-null branch of ``anyOf``/``oneOf``."""
    for _ in range(16):  # refs that loop are not followed forever
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/"):
            target: Any = root
            for part in ref[2:].split("/"):
                target = target.get(part, {}) if isinstance(target, dict) else {}
            schema = target if isinstance(target, dict) else {}
            continue
        branches = schema.get("anyOf") or schema.get("oneOf")
        if isinstance(branches, list):
            typed = [b for b in branches if isinstance(b, dict) and b.get("type") != "null"]
            if typed:
                schema = typed[0]
                continue
        break
    return dict(schema)


def _same(a: Any, b: Any) -> bool:
    return _normal(a) == _normal(b)


def _normal(value: Any) -> str:
    """A comparable form: numbers by value, strings with whitespace collapsed, JSON otherwise."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int | float):
        return repr(float(value))
    if isinstance(value, str):
        return "s:" + _SPACES.sub(" ", value).strip()
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def _label(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return _SPACES.sub(" ", text).strip()


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _take(budget: Counter[str], key: str) -> bool:
    if budget[key] <= 0:
        return False
    budget[key] -= 1
    return True
