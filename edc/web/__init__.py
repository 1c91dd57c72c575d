"""The web application of ``edc serve``: server-rendered pages and the JSON API under
``/api/v1/``, faces over ``edc.actions`` (``create_app`` builds it; nothing runs at import)."""

from edc.web.app import create_app

__all__ = ["create_app"]
