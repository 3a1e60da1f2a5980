"""tsxbot's web pages: static files shipped in the package (``static/``, vendored libraries in
``static/vendor/`` with their licences) and what every page server adds to its application:
the page at ``/``, the files under ``/static/``, and security headers (a strict
Content-Security-Policy: nothing from another origin, no inline script; inline styles are
allowed because lightweight-charts sets style attributes on the elements it creates)."""

from __future__ import annotations

from collections.abc import Callable
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


def add_page(app: web.Application, page: str) -> None:
    """``/`` serves ``static/<page>.html``; ``/static/`` the shared files."""
    html = STATIC / f"{page}.html"
    if not html.is_file():
        raise FileNotFoundError(f"page {page!r} missing from the package: {html}")

    async def index(_request: web.Request) -> web.FileResponse:
        return web.FileResponse(html)

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
