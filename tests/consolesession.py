"""A console session over HTTP for the tests: sign in with a token like a browser (cookies, the CSRF
token each page's forms carry) and post forms; the codes a refused page shows."""

from __future__ import annotations

import re

import httpx

CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')
CODE = re.compile(r"<td><code>([a-z0-9-]+)</code></td>")


class ConsoleSession:
    """One browser's cookie jar against the console of ``base_url``."""

    def __init__(self, base_url: httpx.URL | str):
        self.http = httpx.Client(base_url=base_url, timeout=60)

    def sign_in(self, secret: str) -> httpx.Response:
        form = self.http.get("/console/sign-in")
        return self.http.post("/console/sign-in", data={"token": secret, "csrf_token": csrf_of(form)})

    def get(self, path: str, **kwargs) -> httpx.Response:
        return self.http.get(path, **kwargs)

    def post_form(self, page: str, action: str, data: dict | None = None, **kwargs) -> httpx.Response:
        """Load ``page`` as a browser would, then post ``data`` to ``action`` with the page's CSRF token."""
        token = csrf_of(self.http.get(page))
        return self.http.post(action, data={"csrf_token": token, **(data or {})}, **kwargs)

    def close(self) -> None:
        self.http.close()


def csrf_of(page: httpx.Response) -> str:
    found = CSRF.search(page.text)
    assert found, f"no CSRF token on {page.url} ({page.status_code}):\n{page.text[:2000]}"
    return found.group(1)


def codes_of(page: httpx.Response) -> list[str]:
    """The codes of the problems a refused page lists (its table of file, row, column, code, message)."""
    return CODE.findall(page.text)
