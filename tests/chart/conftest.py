"""The chart tier: the chart rendered and linted by the real helm, and installed into the
local cluster (the tests marked e2e), with the e2e tier's cluster fixtures."""

from tests.e2e.conftest import admin, kubeconfig

__all__ = ["admin", "kubeconfig"]
