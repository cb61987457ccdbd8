"""One long-lived dbt process per test worker, so a test's dbt command costs its own work only.

Importing dbt costs about 6 s of CPU and the dbt Python models import MLflow, XGBoost and
CatBoost again on every `dbt` command; the suites run ~70 of them. This server imports dbt once
and runs each request with dbt's documented programmatic entry point (``dbtRunner``) under the
request's own environment and working directory, exactly as the CLI would: same arguments, same
profiles, same exit codes (0 success, 1 a node or test failed, 2 dbt could not run).

Protocol, one JSON object per line: the client writes ``{"args", "env", "cwd", "stdout",
"stderr"}`` on the server's stdin; the server runs the command with its stdout and stderr
redirected to those two files and answers ``{"returncode": N}`` on the channel it was given
(file descriptor ``--reply-fd``). Requests run one at a time. Tests that need a real process
of their own (a build killed on purpose) still start the dbt CLI directly.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import traceback


def _redirect(path: str, fd: int) -> None:
    target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(target, fd)
    os.close(target)


def _close_duckdb() -> None:
    """dbt-duckdb keeps its database open in a class attribute between invocations (the CLI
    exits instead); close it, so the test, or the next project, can open the file."""
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:
        return
    environment = DuckDBConnectionManager._ENV
    DuckDBConnectionManager._ENV = None
    if environment is not None:
        environment.close()
    gc.collect()


def serve(reply_fd: int) -> None:
    from dbt.cli.main import dbtRunner  # the import this process exists to pay once

    reply = os.fdopen(reply_fd, "w")
    for line in sys.stdin:
        request = json.loads(line)
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(request["cwd"])
        sys.stdout.flush()
        sys.stderr.flush()
        _redirect(request["stdout"], 1)
        _redirect(request["stderr"], 2)
        try:
            result = dbtRunner().invoke(request["args"])
            returncode = 0 if result.success else (2 if result.exception is not None else 1)
            if result.exception is not None:
                print(f"dbt raised: {result.exception!r}", file=sys.stderr)
        except BaseException:
            traceback.print_exc()
            returncode = 2
        finally:
            _close_duckdb()
        sys.stdout.flush()
        sys.stderr.flush()
        reply.write(json.dumps({"returncode": returncode}) + "\n")
        reply.flush()


if __name__ == "__main__":
    serve(int(sys.argv[sys.argv.index("--reply-fd") + 1]))
