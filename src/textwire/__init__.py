"""textwire: a self-hosted SMS messaging platform with a Twilio-compatible API."""

__version__ = "0.1.0"
