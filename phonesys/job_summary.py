"""What a finished bulk assignment tells people: the markdown summary shown in the Prefect UI."""

from __future__ import annotations


def summary_markdown(job: dict, counts: dict, before: dict, after: dict, report: dict, export: dict) -> str:
    lines = [f"# Bulk assignment: {job['template_name']}",
             f"Organization **{job['org_name']}** (`{job['org_uuid']}`), template `{job['template_uuid']}`, "
             f"policy `{job['policy']}`.", "",
             "| status | rows |", "|---|---|"]
    lines += [f"| {status} | {counts[status]} |" for status in ("assigned", "failed", "pending")]
    lines += ["", "| license pool | used before | used after | available after |", "|---|---|---|---|"]
    for label, pool_before, pool_after in _pools(before, after):
        lines.append(f"| {label} | {pool_before['used']} | {pool_after['used']} | {pool_after['available']} |")
    lines += ["", f"Report: `{report['location']}` ({report['rows']} rows)",
              f"Provisioned-extension export: `{export['location']}` ({export['rows']} rows)"]
    return "\n".join(lines) + "\n"


def _pools(before: dict, after: dict):
    yield "Phone System base licenses", before["base_licenses"], after["base_licenses"]
    for sku, pool in after["addons"].items():
        yield f"add-on: {sku}", before["addons"].get(sku, pool), pool
    numbers_before, numbers_after = before["numbers"], after["numbers"]
    yield ("numbers", {"used": numbers_before["assigned"]},
           {"used": numbers_after["assigned"], "available": numbers_after["available"]})
