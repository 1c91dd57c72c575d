"""The web application of ``edc serve``: server-rendered pages and the JSON API under
``/api/v1/``, faces over ``edc.actions``. ``edc.web.app.create_app`` builds it (nothing runs at
import; this package imports none of its modules, so ``python -m edc.web.assets`` can run in a
build environment without the web stack)."""
