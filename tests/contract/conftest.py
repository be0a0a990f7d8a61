import sys


def pytest_terminal_summary(terminalreporter):
    """How much the Schemathesis run sent, for the record (operations and requests)."""
    module = sys.modules.get("tests.contract.test_schemathesis")
    sent = getattr(module, "SENT", None)
    if sent:
        terminalreporter.write_line(
            f"schemathesis: {len(sent)} operations, {sum(sent.values())} requests "
            f"({min(sent.values())} to {max(sent.values())} per operation)"
        )
