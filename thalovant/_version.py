"""Package version, the single source of the user agent string."""

__version__ = "0.1.0"

#: Default user agent for both planes: ``ThalovantPythonSDK/<version>``.
DEFAULT_USER_AGENT = f"ThalovantPythonSDK/{__version__}"
