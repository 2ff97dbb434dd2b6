"""WSGI entry point: gunicorn 'app:app' or flask --app app ..."""
import gc

from backoffice import create_app

app = create_app()

# What the app built at start (models, routes, templates, translations: ~190,000 objects) lives as
# long as the worker: kept out of the garbage collector's full passes, which otherwise walk it all
# every few requests (5 ms a request on the ticket list, issue 16).
gc.freeze()
