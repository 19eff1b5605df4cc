"""A local Twilio for tests and demos: the Messages endpoint and its status callbacks.

Faithful to what the hub uses of Twilio's REST API (2010-04-01):

- ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json``, form-encoded (``To``,
  ``From`` or ``MessagingServiceSid``, ``Body``, ``StatusCallback``), HTTP Basic auth
  with the Account SID and Auth Token. Answers 201 with the message resource as JSON
  (``sid`` ``SM`` + 32 hex digits, ``status`` ``queued``, or ``accepted`` through a
  messaging service); errors as Twilio shapes them: ``{"code", "message", "more_info",
  "status"}`` (401 code 20003 for bad credentials, 400 code 21211 for an invalid To,
  21602 for an empty Body, 21604 for a missing To, 21610 for a number that replied STOP,
  429 code 20429).
- ``GET .../Messages/{Sid}.json``: the message as it stands.
- Status callbacks: each message with a ``StatusCallback`` gets ``sent`` then
  ``delivered`` (or ``undelivered`` with ErrorCode 30003 for numbers set with
  :meth:`TwilioSandbox.unreachable`), form-encoded, signed in ``X-Twilio-Signature`` with
  the library's ``RequestValidator`` (HMAC-SHA1 over the URL and the sorted fields, keyed
  with the Auth Token). They wait until :meth:`TwilioSandbox.deliver_callbacks` posts
  them, so tests decide when.

:class:`hub.sandbox.Faults` apply to the API (429, 503, time-outs, lost answers).
"""

from __future__ import annotations

import base64
import secrets
import threading
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any

import requests
from aiohttp import web
from twilio.request_validator import RequestValidator

from hub.sandbox import Faults, SandboxServer, fault_middleware

API = "/2010-04-01/Accounts/{account}/Messages"


@dataclass
class SandboxMessage:
    """A message as the sandbox holds it."""

    sid: str
    to: str
    sender: str
    body: str
    status: str
    status_callback: str = ""
    error_code: int | None = None
    date_created: str = ""


@dataclass
class Callback:
    """A status callback waiting to be posted, and the HTTP status it got (None: not yet)."""

    url: str
    form: dict[str, str]
    answer: int | None = None


@dataclass
class TwilioSandbox:
    """One Twilio account: its credentials, messages and pending status callbacks."""

    account_sid: str = field(default_factory=lambda: "AC" + secrets.token_hex(16))
    auth_token: str = field(default_factory=lambda: secrets.token_hex(16))
    faults: Faults = field(default_factory=Faults)
    messages: dict[str, SandboxMessage] = field(default_factory=dict)
    callbacks: list[Callback] = field(default_factory=list)
    opted_out: set[str] = field(default_factory=set)
    unreachable_numbers: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    # -- for tests -------------------------------------------------------------------------

    def serve(self) -> SandboxServer:
        """A server for the sandbox, not started."""
        return SandboxServer(self.app())

    def config_for(self, url: str, **extra: Any) -> dict[str, Any]:
        """The ``[notifiers.NAME]`` section connecting the hub to this sandbox at ``url``."""
        return {
            "type": "twilio",
            "account_sid": self.account_sid,
            "auth_token": self.auth_token,
            "from_number": "+15005550006",
            "api_base": url,
            **extra,
        }

    def unreachable(self, number: str) -> None:
        """Messages to ``number`` end ``undelivered`` (error 30003, unreachable handset)."""
        self.unreachable_numbers.add(number)

    def sent_to(self, number: str) -> list[SandboxMessage]:
        """Messages created for ``number``, oldest first."""
        with self._lock:
            return [m for m in self.messages.values() if m.to == number]

    def deliver_callbacks(self) -> list[Callback]:
        """Post every pending status callback now, in order; returns them with answers."""
        with self._lock:
            batch = [c for c in self.callbacks if c.answer is None]
        for callback in batch:
            headers = {"X-Twilio-Signature": self.sign(callback.url, callback.form)}
            try:
                answer = requests.post(
                    callback.url, data=callback.form, headers=headers, timeout=10
                )
                callback.answer = answer.status_code
            except requests.RequestException:
                callback.answer = 0
        return batch

    def sign(self, url: str, form: dict[str, str]) -> str:
        """``X-Twilio-Signature`` for a request to ``url`` with ``form``, as Twilio makes it."""
        return str(RequestValidator(self.auth_token).compute_signature(url, form))

    # -- the API ---------------------------------------------------------------------------

    def app(self) -> web.Application:
        """The aiohttp application answering Twilio's Messages API."""
        app = web.Application(middlewares=[fault_middleware(self.faults, _rate_limited)])
        app.router.add_post(API.format(account="{account}") + ".json", self._create)
        app.router.add_get(API.format(account="{account}") + "/{sid}.json", self._fetch)
        return app

    def _authorised(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        same_user = secrets.compare_digest(user, self.account_sid)
        same_token = secrets.compare_digest(password, self.auth_token)
        return same_user and same_token and request.match_info["account"] == self.account_sid

    async def _create(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return _error(401, 20003, "Authenticate")
        form = await request.post()
        to, body = str(form.get("To", "")), str(form.get("Body", ""))
        sender = str(form.get("From", "") or form.get("MessagingServiceSid", ""))
        if not to:
            return _error(400, 21604, "A 'To' phone number is required.")
        if not (to.startswith("+") and to[1:].isdigit() and 8 <= len(to) <= 16):
            return _error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if not sender:
            return _error(400, 21603, "A 'From' phone number is required.")
        if not body:
            return _error(400, 21602, "Message body is required.")
        if to in self.opted_out:
            return _error(400, 21610, "Attempt to send to unsubscribed recipient", more="21610")
        with self._lock:
            sid = "SM" + secrets.token_hex(16)
            message = SandboxMessage(
                sid=sid,
                to=to,
                sender=sender,
                body=body,
                status="accepted" if sender.startswith("MG") else "queued",
                status_callback=str(form.get("StatusCallback", "")),
                date_created=formatdate(usegmt=True),
            )
            self.messages[sid] = message
            if message.status_callback:
                self._queue_callbacks(message)
        return web.json_response(self._resource(message), status=201)

    def _queue_callbacks(self, message: SandboxMessage) -> None:
        final = "undelivered" if message.to in self.unreachable_numbers else "delivered"
        for status in ("sent", final):
            form = {
                "AccountSid": self.account_sid,
                "ApiVersion": "2010-04-01",
                "From": message.sender,
                "MessageSid": message.sid,
                "MessageStatus": status,
                "SmsSid": message.sid,
                "SmsStatus": status,
                "To": message.to,
            }
            if status == "undelivered":
                form["ErrorCode"] = "30003"
            self.callbacks.append(Callback(message.status_callback, form))
        message.status = final
        if final == "undelivered":
            message.error_code = 30003

    async def _fetch(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return _error(401, 20003, "Authenticate")
        message = self.messages.get(request.match_info["sid"])
        if message is None:
            return _error(404, 20404, "The requested resource was not found")
        return web.json_response(self._resource(message))

    def _resource(self, message: SandboxMessage) -> dict[str, Any]:
        uri = API.format(account=self.account_sid) + f"/{message.sid}.json"
        return {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": message.body,
            "date_created": message.date_created,
            "date_sent": None,
            "date_updated": message.date_created,
            "direction": "outbound-api",
            "error_code": message.error_code,
            "error_message": None,
            "from": message.sender if message.sender.startswith("+") else None,
            "messaging_service_sid": message.sender if message.sender.startswith("MG") else None,
            "num_media": "0",
            "num_segments": str(max(1, -(-len(message.body) // 153))),
            "price": None,
            "price_unit": "USD",
            "sid": message.sid,
            "status": "accepted" if message.sender.startswith("MG") else "queued",
            "subresource_uris": {"media": uri.replace(".json", "/Media.json")},
            "to": message.to,
            "uri": uri,
        }


def _error(status: int, code: int, message: str, more: str = "") -> web.Response:
    return web.json_response(
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{more or code}",
            "status": status,
        },
        status=status,
    )


def _rate_limited(faults: Faults) -> web.Response:
    response = _error(429, 20429, "Too Many Requests")
    response.headers["Retry-After"] = f"{faults.retry_after:g}"
    return response
