import sys


def pytest_terminal_summary(terminalreporter):
    """How much the Schemathesis run sent, for the record (operations and requests)."""
    module = sys.modules.get("tests.contract.test_schemathesis")
    sent = getattr(module, "SENT", None) or {}
    for phase in ("fuzzing", "stateful"):
        counts = [
            n for label, n in sent.items() if label.startswith("stateful ") == (phase == "stateful")
        ]
        if counts:
            terminalreporter.write_line(
                f"schemathesis {phase}: {len(counts)} operations, {sum(counts)} requests "
                f"({min(counts)} to {max(counts)} per operation)"
            )
