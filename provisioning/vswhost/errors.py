"""The one exception type a user sees: its message is printed as a single `vsw-host: error:` line."""


class VswError(Exception):
    """A problem the user can act on (bad input, a host that is not ready, a kernel refusal)."""
