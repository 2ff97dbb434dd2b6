"""Messages that `pybabel extract` cannot see where they are used, listed here so it does.

Never imported: babel.cfg's `[python: backoffice/**.py]` pattern scans this file, so a msgid
marked here with `_l()` (from flask_babel's lazy_gettext) stays in messages.pot / messages.po
and is compiled into messages.mo.

Nothing needs listing at present. Prefer making a call visible to listing it here: keep
`_()` / `_l()` calls out of f-strings (on Python 3.11 pybabel reads a whole f-string as one
token and misses the calls inside it) and pass run-time values as %(name)s keyword arguments.
"""
