"""The Prefect side of phonesys: everything that talks to a Prefect server or shapes what it shows.

Which API and whether it answers, the temporary local server, serving ``prefect.yaml``, hand-off to a
served deployment, concurrency limits, run states and events, heartbeats and alerts, the drop folder's
``notify`` and S3 event feed, and the request's ``status.json`` that follows a run. Flows and tasks
import it; it imports ``phonesys.services`` and below, never a flow.
"""
