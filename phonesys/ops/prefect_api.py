"""Which Prefect API phonesys talks to, and whether it answers: one check for serve, notify, hand-off.

Serving and notifying need a lasting Prefect server: with no ``PREFECT_API_URL`` Prefect would start
a temporary one that dies with the process, taking schedules, triggers, events and the UI with it.
So the API must be named and answer ``/health`` first; both failures get a message saying what to do.
"""

from __future__ import annotations

from phonesys.rules.errors import PhonesysError, Problem, Refused

HEALTH_TIMEOUT = 10.0  # seconds; a healthy local server answers in milliseconds


class PrefectUnavailable(PhonesysError):
    """The Prefect API did not answer (or dropped a delivery); safe to retry later."""

    def __init__(self, problem: Problem):
        self.problem = problem
        super().__init__(str(problem))


def configured_api_url() -> str | None:
    """PREFECT_API_URL from the environment or the active Prefect profile (None when unset)."""
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value() or None


def require_api() -> str:
    """The API URL, checked: Refused when unset, PrefectUnavailable when it does not answer."""
    url = configured_api_url()
    if not url:
        raise Refused(Problem("prefect-api-not-set", "PREFECT_API_URL is not set; point it at a Prefect "
                              "server (e.g. http://127.0.0.1:4200/api) or run `make serve` to start one.",
                              "PREFECT_API_URL"))
    problem = health_problem(url)
    if problem:
        raise unavailable(url, f"did not answer its health check ({problem}); is the server running?")
    return url


def check_configured_api() -> None:
    """When PREFECT_API_URL is set it must answer before a command changes anything that needs it
    (``template start`` takes holds, then hands its run to that server): PrefectUnavailable if not."""
    url = configured_api_url()
    if url and (problem := health_problem(url)):
        raise unavailable(url, f"did not answer its health check ({problem}); nothing changed: start the "
                               "server, or unset PREFECT_API_URL to run the flow in this process")


def lost_api(template_uuid: str) -> PrefectUnavailable | None:
    """PrefectUnavailable naming the resume command when the configured API no longer answers (a run
    that failed after the template's holds were taken because its server went away); else None."""
    url = configured_api_url()
    problem = health_problem(url) if url else None
    if url is None or problem is None:
        return None
    return unavailable(url, f"stopped answering ({problem}) after template {template_uuid} was started; "
                            "its rows stay held and pending: once the server answers, run "
                            f"`phonesys template start {template_uuid} --resume`")


def unavailable(url: str, what: str) -> PrefectUnavailable:
    return PrefectUnavailable(Problem("prefect-api-unreachable", f"The Prefect API at {url} {what}",
                                      "PREFECT_API_URL", url))


def health_problem(url: str) -> str | None:
    """Why ``url``'s /health did not answer 200, or None when it did."""
    import httpx

    try:
        response = httpx.get(f"{url.rstrip('/')}/health", timeout=HEALTH_TIMEOUT)
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return None if response.status_code == 200 else f"HTTP {response.status_code}"
