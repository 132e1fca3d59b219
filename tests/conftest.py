"""Test-wide set-up: only litert's own plugins are loaded.

Third-party litert plugins installed on the machine must not leak into the
tests (as pytest's own PYTEST_DISABLE_PLUGIN_AUTOLOAD does for pytest);
tests that need a vendor plugin install and allow it explicitly.
"""
from __future__ import annotations

import os

OWN_PLUGINS = "litert-cpu,litert-formats,litert-ascend,litert-kirin-npu"


def pytest_configure(config):
    os.environ["LITERT_PLUGINS"] = OWN_PLUGINS
    os.environ.pop("LITERT_DISABLE_PLUGIN_AUTOLOAD", None)


def pytest_terminal_summary(terminalreporter):
    from helpers.conformance import SUMMARY

    for line in SUMMARY:
        terminalreporter.write_line(line)
