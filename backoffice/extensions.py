"""Extension objects, created once and bound in create_app()."""
from flask_babel import Babel
from flask_compress import Compress
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect

from models import db

login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
migrate = Migrate()
# Pages and static files leave compressed (issue 18: an engineer's phone on a slow connection).
compress = Compress()

__all__ = ["babel", "compress", "csrf", "db", "login_manager", "migrate"]
