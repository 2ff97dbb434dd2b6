"""Messages that `pybabel extract` cannot see where they are used, listed here so it does.

Never imported: babel.cfg's `[python: backoffice/**.py]` pattern scans this file, so these
msgids stay in messages.pot / messages.po and are compiled into messages.mo.

- views/base.py `_stale_message` calls `_()` inside f-strings. On Python 3.11 the tokenizer
  hands Babel a whole f-string as one STRING token, so the calls inside it are invisible
  (Python 3.12+ tokenizes them and finds them as well; duplicates are harmless). Drop this
  entry once those calls are moved out of the f-strings.
"""
from flask_babel import lazy_gettext as _l

STALE_EDIT_TABLE_HEAD = (_l("Field"), _l("Before"), _l("Now"), _l("Changed by"), _l("At"))
