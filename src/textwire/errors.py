"""The one error catalogue: Twilio's code where one exists, with its HTTP status.

Raise ``TextwireError(code, detail)``; every API renders it as
``{"code", "message", "more_info", "status"}``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class ErrorKind:
    code: int
    status: int
    title: str


CATALOGUE: Final[dict[int, ErrorKind]] = {
    k.code: k
    for k in [
        ErrorKind(20001, 400, "Invalid parameter"),
        ErrorKind(20003, 401, "Authenticate"),
        ErrorKind(20004, 405, "Method not allowed"),
        ErrorKind(20404, 404, "The requested resource was not found"),
        ErrorKind(20409, 409, "Conflict"),
        ErrorKind(20413, 413, "Request body too large"),
        ErrorKind(20415, 415, "Unsupported content type"),
        ErrorKind(20429, 429, "Too Many Requests"),
        ErrorKind(21211, 400, "Invalid 'To' Phone Number"),
        ErrorKind(21212, 400, "Invalid 'From' Phone Number"),
        ErrorKind(21408, 400, "Permission to send an SMS has not been enabled for the region"),
        ErrorKind(21602, 400, "Message body is required"),
        ErrorKind(21603, 400, "'From' phone number is required"),
        ErrorKind(21604, 400, "'To' phone number is required"),
        ErrorKind(21609, 400, "Invalid StatusCallback"),
        ErrorKind(21606, 400, "The 'From' phone number is not a valid, message-capable number"),
        ErrorKind(21610, 400, "Attempt to send to unsubscribed recipient"),
        ErrorKind(
            21611, 400, "This 'From' number has exceeded the maximum number of queued messages"
        ),
        ErrorKind(21612, 400, "The 'To' phone number is not currently reachable"),
        ErrorKind(21614, 400, "'To' number is not a valid mobile number"),
        ErrorKind(21617, 400, "The concatenated message body exceeds the 1600 character limit"),
        ErrorKind(21619, 400, "A text message body or media urls must be specified"),
        ErrorKind(21620, 400, "Invalid media URL(s)"),
        ErrorKind(21623, 400, "Number of media files exceeds allowed limit"),
        ErrorKind(21624, 400, "Invalid validity period value"),
        ErrorKind(21701, 400, "The Messaging Service does not exist"),
        ErrorKind(21703, 400, "The Messaging Service does not have a phone number available"),
        ErrorKind(21704, 400, "The Messaging Service contains no phone numbers"),
        ErrorKind(21710, 400, "The phone number is already in use by a Messaging Service"),
        ErrorKind(30001, 400, "Queue overflow"),
        ErrorKind(30003, 400, "Unreachable destination handset"),
        ErrorKind(30005, 400, "Unknown destination handset"),
        ErrorKind(30006, 400, "Landline or unreachable carrier"),
        ErrorKind(30007, 400, "Message filtered"),
        ErrorKind(30008, 400, "Unknown error"),
        ErrorKind(30036, 400, "Validity Period Expired"),
        ErrorKind(35111, 400, "If ScheduleType is set, SendAt must be set"),
        ErrorKind(35114, 400, "Scheduling does not support this timestamp"),
        ErrorKind(35115, 400, "SendAt is not within the allowed window"),
        ErrorKind(35118, 400, "MessagingServiceSid is required to schedule a message"),
        ErrorKind(35119, 400, "Only scheduled messages can be canceled"),
    ]
}


class TextwireError(Exception):
    """An error with a catalogued code; ``detail`` names the field and the rule broken."""

    def __init__(self, code: int, detail: str | None = None, *, status: int | None = None):
        kind = CATALOGUE.get(code)
        self.code = code
        self.status = status if status is not None else (kind.status if kind else 400)
        self.detail = detail or (kind.title if kind else "Error")
        super().__init__(f"{code}: {self.detail}")

    def to_body(self) -> dict[str, object]:
        return {
            "code": self.code,
            "message": self.detail,
            "more_info": f"https://www.twilio.com/docs/errors/{self.code}",
            "status": self.status,
        }


def invalid(field: str, rule: str) -> TextwireError:
    """A 400 (20001) naming the field and the rule it broke."""
    return TextwireError(20001, f"Invalid parameter '{field}': {rule}")


def not_found(what: str, sid: str) -> TextwireError:
    return TextwireError(20404, f"The requested resource {what} {sid} was not found")
