"""The Simplified Chinese catalog: complete, well-formed, compiled, and actually served.

Refresh the catalog after adding or changing a UI string (then translate the new entries in
backoffice/translations/zh_Hans_CN/LC_MESSAGES/messages.po and compile again):

    make translations
"""
from __future__ import annotations

import ast
import io
import re
from collections import Counter
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_keywords, parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po
from babel.util import pathmatch

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "backoffice" / "translations"
PO = TRANSLATIONS / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"
MO = PO.with_suffix(".mo")
LOCALE = "zh_Hans_CN"


def _shown(path: Path) -> str:
    return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)


# As the Makefile's `pybabel extract -k _l -k lazy_gettext`: Babel's defaults (`_`, `gettext`,
# `ngettext`, ...) plus the lazy forms the code imports.
EXTRA_KEYWORDS = ("_", "_l", "gettext", "lazy_gettext")
KEYWORDS = {**DEFAULT_KEYWORDS, **parse_keywords(list(EXTRA_KEYWORDS))}

# A python-format placeholder: %(name)s, %(n)d, %(max).2f, ... or a positional %s / %d.
PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(?:\d+|\*)?(?:\.\d+)?[diouxXeEfFgGcrsa]")


def _mapping():
    with open(ROOT / "babel.cfg", encoding="utf-8") as fileobj:
        method_map, options_map = parse_mapping_cfg(fileobj, str(ROOT / "babel.cfg"))
    # pybabel's Jinja extractor skips a template it cannot parse without a word (its strings
    # simply vanish from the catalog); here such a template fails the test instead.
    for pattern, method in method_map:
        if method == "jinja2":
            options_map[pattern] = {**options_map.get(pattern, {}), "silent": "false"}
    return method_map, options_map


@pytest.fixture(scope="module")
def source_messages() -> dict[str, list[str]]:
    """msgid -> where it is used, extracted from the tree as `make translations` does."""
    method_map, options_map = _mapping()
    found: dict[str, list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=KEYWORDS):
        msgid = message[0] if isinstance(message, (list, tuple)) else message
        if msgid:
            found.setdefault(msgid, []).append(f"{filename}:{lineno}")
    return found


@pytest.fixture(scope="module")
def po_catalog():
    with open(PO, "rb") as fileobj:
        return read_po(fileobj, locale=LOCALE)


def _entries(catalog):
    return [m for m in catalog if m.id]


def _msgid(message) -> str:
    return message.id[0] if isinstance(message.id, (list, tuple)) else message.id


def _strings(value) -> list[str]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


# --- (a) every string of the source is in the catalog -----------------------------------------

def test_extraction_finds_the_ui_strings(source_messages):
    # Guards the extraction itself: Python gettext, lazy_gettext with keyword arguments,
    # and a Jinja template must all be seen.
    assert "Wrong username or password." in source_messages  # views/auth.py, _()
    assert "Tickets" in source_messages  # views/__init__.py, _l()
    assert "The password must have at least %(n)d characters." in source_messages  # _l(..., n=)
    assert any("views/templates/" in where for where in source_messages["Sign in"])  # {{ _() }}


def test_every_source_string_is_in_the_po(source_messages, po_catalog):
    in_po = {_msgid(m) for m in _entries(po_catalog)}
    missing = {msgid: where for msgid, where in source_messages.items() if msgid not in in_po}
    assert not missing, (
        f"{len(missing)} UI string(s) are not in {_shown(PO)}; run `make translations` "
        "and translate them:\n" + "\n".join(f"  {msgid!r}  ({', '.join(where[:3])})"
                                            for msgid, where in sorted(missing.items())))


def _literal_calls(path: Path) -> set[str]:
    """First-argument string literals of _()/_l()/gettext()/lazy_gettext() calls, anywhere in
    the syntax tree (including inside f-strings, which Babel cannot read on Python < 3.12)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in EXTRA_KEYWORDS and node.args
                and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
            found.add(node.args[0].value)
    return found


def test_no_gettext_call_is_hidden_from_the_extractor(source_messages):
    method_map, _options = _mapping()
    patterns = [pattern for pattern, method in method_map if method == "python"]
    hidden = {}
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith(".") or not any(pathmatch(p, relative) for p in patterns):
            continue
        for msgid in _literal_calls(path) - source_messages.keys():
            hidden.setdefault(msgid, relative)
    assert not hidden, (
        "pybabel cannot see these gettext calls (inside an f-string?); move the call out of "
        "the f-string, or list the msgid in backoffice/translations/extra_messages.py:\n"
        + "\n".join(f"  {msgid!r}  ({where})" for msgid, where in sorted(hidden.items())))


# --- (b) every entry is translated, not fuzzy, and keeps its placeholders ---------------------

def test_every_entry_is_translated(po_catalog):
    assert not po_catalog.fuzzy, "the catalog header is marked fuzzy: pybabel compile skips it"
    untranslated = [_msgid(m) for m in _entries(po_catalog)
                    if not all(s and s.strip() for s in _strings(m.string))]
    assert not untranslated, "empty msgstr for:\n" + "\n".join(f"  {m!r}" for m in untranslated)
    fuzzy = [_msgid(m) for m in _entries(po_catalog) if m.fuzzy]
    assert not fuzzy, "fuzzy (unchecked) entries:\n" + "\n".join(f"  {m!r}" for m in fuzzy)
    assert len(_entries(po_catalog)) > 100


def test_placeholders_are_kept(po_catalog):
    wrong = []
    for message in _entries(po_catalog):
        expected = Counter(PLACEHOLDER.findall(" ".join(_strings(message.id))))
        for text in _strings(message.string):
            if text and Counter(PLACEHOLDER.findall(text)) != expected:  # empty: see above
                wrong.append(f"  {_msgid(message)!r} -> {text!r}")
    assert not wrong, "placeholders differ between msgid and msgstr:\n" + "\n".join(wrong)


def test_python_format_flag_matches_the_msgid(po_catalog):
    # Flask-Babel %-formats the translation with the call's keyword arguments: a translation
    # must not introduce a placeholder its msgid lacks (checked above), nor a stray "%".
    for message in _entries(po_catalog):
        if not message.python_format:
            continue
        for text in _strings(message.string):
            stripped = PLACEHOLDER.sub("", text).replace("%%", "")
            assert "%" not in stripped, f"stray % in translation of {_msgid(message)!r}: {text!r}"


def test_translations_read_as_chinese(po_catalog):
    """No English left over in a translation (placeholders, ¥, IP and digits aside)."""
    # As Chinese UIs write them:
    allowed = {"IP", "MB", "PDF", "JPEG", "PNG", "WebP", "JSON", "ISO", "CSV", "XLSX", "API", "NUL"}
    allowed |= {"GZ", "TH", "Asia", "Shanghai"}  # values the user types as they are: an outlet code, a zone name
    leftovers = []
    for message in _entries(po_catalog):
        for text in _strings(message.string):
            words = set(re.findall(r"[A-Za-z]{2,}", PLACEHOLDER.sub("", text))) - allowed
            if words:
                leftovers.append(f"  {_msgid(message)!r} -> {text!r}")
    assert not leftovers, "English words in translations:\n" + "\n".join(leftovers)


# --- (c) the compiled .mo matches the .po -----------------------------------------------------

def _mo_messages(catalog) -> dict:
    return {(m.id, m.context): m.string for m in catalog if m.id}


def test_mo_is_compiled_from_the_current_po(po_catalog):
    assert MO.exists(), f"{_shown(MO)} is missing: run pybabel compile -d {_shown(TRANSLATIONS)}"
    buffer = io.BytesIO()
    write_mo(buffer, po_catalog)
    buffer.seek(0)
    expected = _mo_messages(read_mo(buffer))
    with open(MO, "rb") as fileobj:
        actual = _mo_messages(read_mo(fileobj))
    differing = sorted(str(key[0]) for key in expected.keys() | actual.keys()
                       if expected.get(key) != actual.get(key))
    assert expected == actual, (
        f"{_shown(MO)} is out of date with the .po (run "
        f"`pybabel compile -d {_shown(TRANSLATIONS)}`); differing msgids:\n"
        + "\n".join(f"  {m!r}" for m in differing[:30]))


# --- (d) the application serves the catalog ---------------------------------------------------

def _page(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def test_login_page_in_chinese(client):
    page = _page(client.get("/login", headers={"Accept-Language": "zh-CN,zh;q=0.9"}))
    assert "登录" in page
    assert "售后服务管理系统" in page
    assert ">Sign in<" not in page


def test_login_page_in_english(client):
    page = _page(client.get("/login", headers={"Accept-Language": "en"}))
    assert "Sign in" in page
    assert "登录" not in page


def test_admin_menu_in_chinese_for_a_clerk(login_as):
    clerk = login_as("clerk")
    page = _page(clerk.get("/admin/", headers={"Accept-Language": "zh-CN"}))
    assert re.search(r'href="/admin/ticket/"[^>]*>\s*服务单\s*</a>', page), \
        "the Tickets menu item is not labelled 服务单"
    assert "退出登录" in page
    assert "Sign out" not in page
