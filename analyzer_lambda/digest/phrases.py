"""The sentences of the digest, in each language the offline digest speaks (``en``, ``ja``).

``DIGEST_LANGUAGE`` is a BCP 47 tag (validated in ``config.py``). Its primary subtag picks the
sentences here (``en-GB`` → ``en``, ``ja-JP`` → ``ja``). A well-formed tag that this module does
not speak (``de``) is not an error: Gemini writes the points in it, and the offline digest falls
back to English, says so in one line of the digest and logs a warning — a digest in the wrong
language is more use than none on the day a run completes.

Words are counted as a reader would: a run of Latin letters or digits is one word, and two
Japanese characters count as one (a common rule of thumb for translation budgets), so the
~300-word cap means the same length in both languages. Pure."""

from __future__ import annotations

import math
import re
from typing import Any

SUPPORTED = ("en", "ja")
MAX_WORDS = 300

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")
_WORD = re.compile(r"[^\s\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
                   r"\uac00-\ud7af\uff01-\uff60]+")  # fmt: skip

PHRASES: dict[str, dict[str, str]] = {
    "en": {
        "title": "rivalscope digest · run {run}",
        "headline": "{changed} changed, {new} new, {removed} removed, {failed} failed and "
        "{blocked} blocked, of {pages} pages across {competitors} competitors.",
        "quiet": "No change across {competitors} competitors ({pages} pages) since the "
        "previous run.",
        "first": "First capture: {pages} pages of {competitors} competitors recorded; changes "
        "are reported from the next run.",
        "more": "…and {n} more change(s): see report.html.",
        "by_gemini": "Written by {model} from the run's changes.",
        "offline": "Summary built from the run's changes, without a model.",
        "fallback": "Gemini could not write this digest ({reason}); this is the summary built "
        "from the run's changes.",
        "language": "DIGEST_LANGUAGE={tag} is not a language the offline summary speaks: "
        "written in English.",
        "high": "high",
        "medium": "medium",
        "low": "low",
        "price": "price changed: {fields}",
        "plan": "plans changed: {fields}",
        "answer": "{fields}",
        "price_text": "price text changed: {lines}",
        "wording": "wording changed ({added} line(s) added, {removed} removed): {lines}",
        "visual": "the screenshot changed ({percent}% of the page), the text did not.",
        "visual_renderer": "the screenshot changed ({percent}% of the page), the text did not;"
        " the browser that draws it changed too ({before} → {after}): it may be rendering"
        " alone.",
        "new": "new page.",
        "new_titled": "new page: {title}.",
        "removed_page": "page gone (last seen {when}).",
        "blocked": "blocked by the site (a bot check was served); not analysed.",
        "failed": "could not be crawled ({error}).",
        "field": "{path}: {before} → {after}",
        "field_added": "{path} added: {after}",
        "field_removed": "{path} removed (was {before})",
        "items": "{path}: {changes}",
        "item_added": "added {value}",
        "item_removed": "dropped {value}",
        "and_more": "and {n} more",
        "none": "none",
        "sep": "; ",
        "quote": "“{text}”",
    },
    "ja": {
        "title": "rivalscope ダイジェスト・実行 {run}",
        "headline": "{competitors} 社・{pages} ページのうち、変更 {changed} 件、新規 {new} 件、"
        "削除 {removed} 件、失敗 {failed} 件、ブロック {blocked} 件。",
        "quiet": "前回の実行から、{competitors} 社（{pages} ページ）に変更はありません。",
        "first": "初回の取得です。{competitors} 社・{pages} ページを記録しました。変更は次回の"
        "実行から報告します。",
        "more": "ほか {n} 件の変更は report.html を参照してください。",
        "by_gemini": "{model} が今回の変更から作成しました。",
        "offline": "今回の変更から自動で作成した要約です（モデルは使っていません）。",
        "fallback": "Gemini で作成できなかったため（{reason}）、変更から自動で作成した要約です。",
        "high": "重要",
        "medium": "中",
        "low": "低",
        "price": "価格が変わりました: {fields}",
        "plan": "プランが変わりました: {fields}",
        "answer": "回答の項目が変わりました: {fields}",
        "price_text": "価格の表記が変わりました: {lines}",
        "wording": "文言が変わりました（追加 {added} 行、削除 {removed} 行）: {lines}",
        "visual": "スクリーンショットが変わりました（ページの {percent}%）。本文は同じです。",
        "visual_renderer": "スクリーンショットが変わりました（ページの {percent}%）。"
        "本文は同じです。描画するブラウザも変わったため（{before} → {after}）、"
        "表示の違いだけかもしれません。",
        "new": "新しいページです。",
        "new_titled": "新しいページです: {title}。",
        "removed_page": "ページがなくなりました（前回の取得 {when}）。",
        "blocked": "サイトにブロックされました（ボット確認の画面）。分析していません。",
        "failed": "取得できませんでした（{error}）。",
        "field": "{path}: {before} → {after}",
        "field_added": "{path} が追加されました: {after}",
        "field_removed": "{path} がなくなりました（以前: {before}）",
        "items": "{path}: {changes}",
        "item_added": "{value} を追加",
        "item_removed": "{value} を削除",
        "and_more": "ほか {n} 件",
        "none": "なし",
        "sep": "、",
        "quote": "「{text}」",
    },
}


def offline_language(tag: str) -> tuple[str, bool]:
    """The language the offline digest writes for ``tag``, and whether that is a fallback."""
    primary = tag.split("-", 1)[0].lower()
    if primary in SUPPORTED:
        return primary, False
    return "en", True


def phrase(language: str, key: str, **values: Any) -> str:
    return PHRASES[language][key].format(**values)


def count_words(text: str) -> int:
    """Latin-script words plus half the CJK characters (rounded up)."""
    return len(_WORD.findall(text)) + math.ceil(len(_CJK.findall(text)) / 2)


def clip(text: str, limit: int) -> str:
    """``text`` on one line, at most ``limit`` characters (an ellipsis marks the cut)."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: max(limit - 1, 1)].rstrip() + "…"
