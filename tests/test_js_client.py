"""Run the browser client's JavaScript tests (node:test) as part of pytest."""

import shutil
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
JS_TEST_DIR = REPO_ROOT / "tests" / "js"


def test_js_client_suite_passes():
    node = shutil.which("node")
    assert node is not None, "node (v20.4+) must be on PATH to run the JS client tests"

    # Node 20's --test is picky about directory arguments, so pass each file.
    test_files = sorted(str(p.relative_to(REPO_ROOT)) for p in JS_TEST_DIR.glob("*.test.mjs"))
    assert test_files, f"no *.test.mjs files found in {JS_TEST_DIR}"

    result = subprocess.run(
        [node, "--test", *test_files],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, (
        f"node --test failed with exit code {result.returncode}\n"
        f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"
    )
