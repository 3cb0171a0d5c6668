"""``phonesys web``: the HTTP API (``/api/v1``) over the same storage functions the CLI calls.

Stateless: every request opens its own transaction on the engine built from the settings, so several
processes can serve one PostgreSQL behind a load balancer. Callers authenticate with an API token
(``phonesys token create``); refusals are RFC 9457 problem documents carrying the CLI's codes.
"""
