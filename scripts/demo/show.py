"""Prints the demo's run reports and the notifications they published, for people.

Usage: show.py ENDPOINT_URL INBOX_QUEUE_URL REPORT.json [REPORT.json ...]
Each report file is named NN-<function>--<event>.json.
"""
import json
import os
import sys
import textwrap

import boto3

WIDTH = 100
MARK = {"done": "DONE", "planned": "PLAN", "skipped": "SKIP", "failed": "FAIL"}


def short(arn):
    """arn:aws:sagemaker:us-east-1:123456789012:endpoint/x -> endpoint/x; buckets -> s3://b."""
    if ", " in arn:  # one write to several resources (e.g. a TagResources batch)
        return ", ".join(short(a) for a in arn.split(", "))
    if arn.startswith("arn:aws:s3:::"):
        return "s3://" + arn[len("arn:aws:s3:::"):]
    parts = arn.split(":", 5)
    return parts[5] if len(parts) == 6 else arn


def wrap(text, indent):
    return textwrap.fill(text, WIDTH, initial_indent=indent, subsequent_indent=" " * len(indent))


def show_report(path):
    name = os.path.basename(path)[: -len(".json")].split("-", 1)[1]
    function, event = name.split("--", 1)
    with open(path) as f:
        report = json.load(f)
    if "runs" in report:  # one run per (account, region) of an organisation
        mode = "dry run" if report.get("dry_run") else "live"
        print(f"\n▶ {function}  ← events/{event}.json  ({len(report['runs'])} targets, {mode})")
        for run in sorted(report["runs"], key=lambda r: r.get("target", "")):
            show_run(run, f"  ◦ {run.get('target', '?')}", "  ")
        return
    mode = "dry run" if report.get("dry_run") else "live"
    show_run(report, f"\n▶ {function}  ← events/{event}.json  ({report.get('trigger', '?')}, {mode})", "")


def show_run(report, title, indent):
    s = report.get("summary", {})
    print(title)
    if report.get("headline"):
        print(f"{indent}  {report['headline']}")
    print(f"{indent}  {s.get('findings', 0)} findings · {s.get('actions_done', 0)} done · {s.get('actions_planned', 0)} planned"
          f" · {s.get('actions_skipped', 0)} skipped · {s.get('actions_failed', 0)} failed · {s.get('errors', 0)} errors")
    for a in report.get("actions", []):
        detail = f" — {a['detail']}" if a.get("detail") else ""
        print(wrap(f"{MARK.get(a['outcome'], a['outcome'])}  {a['action']} {short(a['resource'])}{detail}", indent + "    "))
    for f in sorted(report.get("findings", []), key=lambda f: f["severity"] != "info"):
        print(wrap(f"{f['severity'].upper():<8} {short(f['resource'])}  [{f['rule']}] {f['message']}", indent + "    "))
    for e in report.get("errors", []):
        print(wrap(f"ERROR    {e['kind']}: {e['message']}", indent + "    "))
    metrics = report.get("metrics") or {}
    if metrics:
        print(indent + "    metrics: " + ", ".join(f"{k}={v:g}" for k, v in metrics.items()))


def show_inbox(url, queue_url):
    sqs = boto3.client("sqs", endpoint_url=url, region_name="us-east-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    messages = []
    while True:
        batch = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not batch:
            break
        messages.extend(batch)
    print(f"\n✉ {len(messages)} SNS notification(s) published (one per run with something to say):")
    for m in messages:
        body = json.loads(m["Body"])
        severity = body.get("MessageAttributes", {}).get("severity", {}).get("Value", "?")
        print(f"    [{severity}] {body.get('Subject')}")


def main():
    url, inbox, reports = sys.argv[1], sys.argv[2], sys.argv[3:]
    print("=" * WIDTH)
    print(f"sagekeeper demo — local AWS emulator {url} (account 123456789012, us-east-1)")
    print("=" * WIDTH)
    for path in reports:
        show_report(path)
    show_inbox(url, inbox)


if __name__ == "__main__":
    main()
