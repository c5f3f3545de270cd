"""Run the browser client's JavaScript tests (node:test) and type-check its declarations."""

import shutil
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
JS_TEST_DIR = REPO_ROOT / "tests" / "js"
STATIC = (
    REPO_ROOT / "django_aws_api_gateway_websockets" / "static" / "django_aws_api_gateway_websockets"
)
# Pinned in tests/js/package.json and its lock file; .ci/run installs it with `npm ci`.
TSC = JS_TEST_DIR / "node_modules" / ".bin" / "tsc"


def run(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=180, check=False
    )


def failure(result: subprocess.CompletedProcess[str]) -> str:
    return (
        f"{result.args[0]} failed with exit code {result.returncode}\n"
        f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"
    )


def test_js_client_suite_passes():
    node = shutil.which("node")
    assert node is not None, "node (v20.4+) must be on PATH to run the JS client tests"

    # Node 20's --test is picky about directory arguments, so pass each file.
    test_files = sorted(str(p.relative_to(REPO_ROOT)) for p in JS_TEST_DIR.glob("*.test.mjs"))
    assert test_files, f"no *.test.mjs files found in {JS_TEST_DIR}"

    result = run([node, "--test", *test_files])
    assert result.returncode == 0, failure(result)


def test_typescript_declarations_ship_beside_the_client():
    assert (STATIC / "websocket-client.d.ts").is_file()


def test_typescript_declarations_compile_with_the_usage_example():
    assert TSC.exists(), (
        f"tsc is missing: run `npm ci --prefix {JS_TEST_DIR.relative_to(REPO_ROOT)}`"
    )
    result = run([str(TSC), "--project", str(JS_TEST_DIR / "tsconfig.json")])
    assert result.returncode == 0, failure(result)


def test_typescript_catches_a_misuse(tmp_path: Path):
    """The check can fail: a wrong call against the declarations is a tsc error."""
    assert TSC.exists(), (
        f"tsc is missing: run `npm ci --prefix {JS_TEST_DIR.relative_to(REPO_ROOT)}`"
    )
    misuse = tmp_path / "misuse.ts"
    client = STATIC / "websocket-client.js"
    misuse.write_text(
        f'import {{ WebSocketClient }} from "{client.as_posix()}";\n'
        'new WebSocketClient({ url: "wss://x/" }).subscribe("r", { recover: { offset: "3" } });\n'
    )
    result = run(
        [
            str(TSC),
            "--noEmit",
            "--strict",
            "--moduleResolution",
            "bundler",
            "--module",
            "esnext",
            "--target",
            "es2022",
            "--lib",
            "es2022,dom",
            str(misuse),
        ]
    )
    assert result.returncode != 0
    assert "misuse.ts(2," in result.stdout, failure(result)
