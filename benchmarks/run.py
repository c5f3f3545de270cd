"""Benchmark our delivery engine against django-aws-api-gateway-websockets 4.1.0, in one run.

    python benchmarks/run.py [--quick]

Starts the local Management API (a child process), recreates the PostgreSQL databases
``bench_ours`` and ``bench_theirs`` with the same sessions, runs each side in its own
processes against the same gateway with the same injected latency, prints the comparison
table and writes it to ``benchmarks/results.md`` (``results-quick.md`` for ``--quick``).
See ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import datetime
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"


def ensure_project_interpreter() -> None:
    """Re-run under the project's virtualenv when started with another Python."""
    try:
        import celery  # noqa: F401
        import django  # noqa: F401
        import psycopg  # noqa: F401
        import redis  # noqa: F401
    except ImportError:
        if VENV_PYTHON.exists() and Path(sys.executable) != VENV_PYTHON:
            os.execv(str(VENV_PYTHON), [str(VENV_PYTHON), *sys.argv])
        raise


# Before the project's modules are imported: they need the project's packages.
if __name__ == "__main__":
    ensure_project_interpreter()
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import common, report, services  # noqa: E402
from benchmarks.harness import Bench  # noqa: E402
from benchmarks.services import log  # noqa: E402

KEPT_MARKER = "<!-- lanes-and-scale -->"


def git_commit() -> str:
    """This checkout's commit, noting uncommitted changes to the package measured."""

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout

    dirty = git("status", "--porcelain", "--", "django_aws_api_gateway_websockets").strip()
    return git("rev-parse", "--short", "HEAD").strip() + (
        " with uncommitted changes" if dirty else ""
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1/10 scale; skips 100k and 1M")
    parser.add_argument("--pool", default="prefork", help="Celery pool of our workers")
    parser.add_argument(
        "--concurrency", type=int, default=os.cpu_count() or 2, help="Celery worker processes"
    )
    parser.add_argument("--output", type=Path, help="where to write the markdown results")
    parser.add_argument("--keep-databases", action="store_true")
    args = parser.parse_args()
    output = args.output or services.BENCH_DIR / (
        "results-quick.md" if args.quick else "results.md"
    )

    started = time.monotonic()
    services.ensure_competitor_venv()
    workdir = Path(tempfile.mkdtemp(prefix="ws-bench-"))
    log(f"logs in {workdir}")
    bench = Bench(args, workdir)
    try:
        bench.results["meta"] = {
            "quick": args.quick,
            "command": "python benchmarks/run.py" + (" --quick" if args.quick else ""),
            "started": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "cpus": os.cpu_count(),
            "load_average_at_start": Path("/proc/loadavg").read_text().split()[:3],
            "speed_check_ns_at_start": common.speed_check(),
            "scale": bench.scale,
            "workers": {"pool": args.pool, "concurrency": args.concurrency},
            "websockets_overrides": os.environ.get("BENCH_WEBSOCKETS_OVERRIDES") or None,
            "ours_commit": git_commit(),
            "competitor": bench.side("theirs", "facts", {}),
            "logs": str(workdir),
        }
        bench.setup()
        bench.messages()
        bench.caller()
        bench.delivery()
        bench.cleanup()
    finally:
        bench.close()
        services.flush_broker()
        if not args.keep_databases:
            for database in services.DATABASES.values():
                services.drop_database(database)
    bench.results["meta"]["speed_check_ns_at_end"] = common.speed_check()
    bench.results["meta"]["duration_seconds"] = round(time.monotonic() - started, 1)
    rows = report.build_rows(bench.results)
    print(report.markdown_table(rows))
    print(f"\nTook {bench.results['meta']['duration_seconds']:.0f} s; written to {output}")
    # The figures of lanes.py and scale.py, kept below their marker across runs of this one.
    kept = output.read_text().partition(KEPT_MARKER) if output.exists() else ("", "", "")
    text = report.write_markdown(bench.results, rows)
    output.write_text(text + (f"\n{KEPT_MARKER}{kept[2]}" if kept[1] else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
