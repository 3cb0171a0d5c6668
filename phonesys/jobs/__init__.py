"""The application layer, beside the flows and tasks: what a command or a flow coordinates.

Uploads, reports and exports, the drop-folder contract and its requests, running and following a
bulk job, and everything that talks to the Prefect server (API checks, hand-off to served
deployments, concurrency limits, run states, events, alerts, serving ``prefect.yaml``). It imports
``phonesys.storage`` and ``phonesys.rules``; only ``phonesys.cli`` imports it from above.
"""
