"""litert.logs: logging's default behaviour while ``logging`` is unimported, logging itself once it is."""
from __future__ import annotations

import logging
import subprocess
import sys

from litert.logs import INFO, WARNING, Log

_CHILD = '''
import sys
from litert.logs import Log
log = Log("litert.test")
log.info("quiet %s", 1)
log.debug("quiet %s", 2)
print("logging imported after info:", "logging" in sys.modules, flush=True)
log.warning("loud %s", 3)
'''


def test_unconfigured_process_drops_info_and_prints_warnings_without_importing_logging_first():
    result = subprocess.run([sys.executable, "-c", _CHILD], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "logging imported after info: False" in result.stdout
    assert "quiet" not in result.stderr
    assert result.stderr.strip() == "loud 3"  # logging's last-resort handler: the message alone


def test_defers_to_logging_levels_and_handlers_once_imported(caplog):
    log = Log("litert.test")
    with caplog.at_level(logging.INFO, logger="litert.test"):
        assert log.enabled(INFO)
        log.info("seen %d", 1)
    with caplog.at_level(logging.ERROR, logger="litert.test"):
        assert not log.enabled(WARNING)
        log.warning("filtered %d", 2)
    assert [r.getMessage() for r in caplog.records] == ["seen 1"]
    assert caplog.records[0].name == "litert.test"
