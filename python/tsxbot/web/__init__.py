"""tsxbot's web pages: static files shipped in the package (``static/``, vendored libraries in
``static/vendor/`` with their licences) and what every page server adds to its application:
the page at ``/``, the files under ``/static/``, and security headers (a strict
Content-Security-Policy: nothing from another origin, no inline script; inline styles are
allowed because lightweight-charts sets style attributes on the elements it creates)."""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from tsxbot.config.secrets import Secret
from tsxbot.runtime.auth import Auth, Handler, Keyring, Role

STATIC = Path(__file__).resolve().parent / "static"
PUBLIC_PREFIXES = ("/static/",)
PUBLIC_PAGES = frozenset({"/", "/favicon.ico"})
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


def is_public_page(request: web.Request) -> bool:
    """The page and its files carry no data and no secret: anyone may load them (the data behind
    them needs a session)."""
    return request.path in PUBLIC_PAGES or request.path.startswith(PUBLIC_PREFIXES)


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await handler(request)
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("Cache-Control", "no-store")
    return response


@dataclass(frozen=True)
class Page:
    title: str
    chart: bool = False  # draws with the vendored lightweight-charts


PAGES = {
    "dashboard": Page("monitoring", chart=True),
    "manual": Page("manual trading", chart=True),
    "control": Page("control panel"),
}
CHART_LIBRARY = "/static/vendor/lightweight-charts.standalone.production.js"


def render_page(name: str) -> str:
    """The document every page shares (its head: the style, the chart library when it draws one,
    ``common.js`` and its own script), around its content ``static/<name>.html``."""
    page = PAGES.get(name)
    content = STATIC / f"{name}.html"
    if page is None or not content.is_file():
        raise FileNotFoundError(f"page {name!r} missing from the package: {content}")
    scripts = [*([CHART_LIBRARY] if page.chart else []), "/static/common.js", f"/static/{name}.js"]
    title = html.escape(page.title)
    head = "\n".join(
        [
            "<!doctype html>",
            '<html lang="en">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>tsxbot · {title}</title>",
            '<link rel="stylesheet" href="/static/style.css">',
            *(f'<script src="{src}" defer></script>' for src in scripts),
            "</head>",
            f'<body data-title="{title}">',
        ]
    )
    return f"{head}\n{content.read_text(encoding='utf-8')}</body>\n</html>\n"


def add_page(app: web.Application, page: str) -> None:
    """``/`` serves the page (``render_page``); ``/static/`` the shared files."""
    document = render_page(page)

    async def index(_request: web.Request) -> web.Response:
        return web.Response(text=document, content_type="text/html", charset="utf-8")

    async def no_icon(_request: web.Request) -> web.Response:
        return web.Response(status=204)

    app.router.add_get("/", index)
    app.router.add_get("/favicon.ico", no_icon)
    app.router.add_static("/static/", STATIC, follow_symlinks=False)


def page_application(
    api_key: Secret, page: str, required: Callable[[web.Request], Role], max_body: int
) -> tuple[web.Application, Auth]:
    """A page server's application: security headers, login and the role checks (the internal
    key and the role keys), the page at ``/`` and its files."""
    auth = Auth(Keyring(api_key), public=is_public_page, required=required)
    app = web.Application(middlewares=[security_headers, auth.middleware], client_max_size=max_body)
    auth.install(app)
    add_page(app, page)
    return app, auth
