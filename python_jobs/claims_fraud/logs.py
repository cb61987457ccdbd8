"""Library warnings to a file, not the terminal: MLflow's UserWarnings and its pip/cloudpickle
notices say nothing a reader of `make run` can act on, but they belong somewhere.

:func:`route_library_warnings` sends Python warnings (``logging.captureWarnings``) and the
WARNING records of the chatty libraries' loggers to one file, the one
$CLAIMS_FRAUD_WARNINGS_LOG names. The local bundle runner sets it for every task (`make run`:
.local/logs/warnings.log), so the CLI's jobs and the dbt Python models, which import this
package, route there; unset (Databricks, tests, a plain `dbt build`), nothing changes.
Standard library only: every layer of the package may be imported after it.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

ENV = "CLAIMS_FRAUD_WARNINGS_LOG"
# py.warnings is where logging.captureWarnings sends warnings.warn(); the rest log their own.
LIBRARY_LOGGERS = ("py.warnings", "mlflow", "alembic", "sqlalchemy", "urllib3")
_FORMAT = "%(asctime)s pid %(process)d %(levelname)s %(name)s: %(message)s"


def route_library_warnings(path: Path | str | None = None) -> Path | None:
    """Route warnings to ``path`` (default: $CLAIMS_FRAUD_WARNINGS_LOG); returns the file, or
    None when neither names one. Safe to call twice."""
    target = path or os.environ.get(ENV)
    if not target:
        return None
    log_file = Path(target).resolve()
    log_file.parent.mkdir(parents=True, exist_ok=True)
    if "mlflow" not in sys.modules:
        # MLflow gives its logger a stderr handler at import unless told not to; ours stays.
        os.environ.setdefault("MLFLOW_CONFIGURE_LOGGING", "false")
    handler = logging.FileHandler(log_file, encoding="utf-8", delay=True)
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter(_FORMAT))
    logging.captureWarnings(True)
    for name in LIBRARY_LOGGERS:
        logger = logging.getLogger(name)
        if any(getattr(h, "baseFilename", None) == str(log_file) for h in logger.handlers):
            continue
        logger.handlers = [handler]
        logger.setLevel(logging.WARNING)
        logger.propagate = False
    return log_file
