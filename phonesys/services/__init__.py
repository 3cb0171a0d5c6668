"""Domain services that need no Prefect: what a command, a task or a flow asks of the inventory and the files.

Uploads (fetch, validate, accept all or nothing), the bulk job as it travels between tasks, its report
and summary, the organization exports, the drop-folder contract and processing one request, and the
``--output`` copy. They import ``phonesys.storage`` and ``phonesys.rules``, never Prefect, so a new front
end (a script, an HTTP API) calls them as they are.
"""
