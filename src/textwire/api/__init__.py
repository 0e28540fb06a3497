"""HTTP front doors: the Twilio-compatible API and the native ``/v1`` API."""
