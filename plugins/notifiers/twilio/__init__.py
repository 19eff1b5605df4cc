"""SMS to customers through Twilio's Programmable Messaging, on the official ``twilio``
client.

A ``[notifiers.NAME]`` section with ``type = "twilio"``::

    [notifiers.sms]
    type = "twilio"
    account_sid = "AC..."
    auth_token = "${TWILIO_AUTH_TOKEN}"
    from_number = "+15017122661"     # or messaging_service_sid = "MG..."

Each message is one ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` (To, From
or MessagingServiceSid, Body, StatusCallback); the answer's ``sid`` is stored as the
message's provider id. Twilio then posts the message's status (``sent``, ``delivered``,
``undelivered``, ``failed``) to the StatusCallback URL, signed in ``X-Twilio-Signature``
(HMAC-SHA1 of the URL and the sorted form fields, keyed with the Auth Token; Twilio's
"Webhooks security" page), which :meth:`TwilioNotifier.verify_callback` checks with the
library's ``RequestValidator`` over the URL the hub gave, not the one the request came
in at (a proxy may change it).

Refusals that sending again cannot cure are :class:`hub.NotificationRefused`: 21211 (not
a valid phone number), 21610 (the recipient replied STOP), 21612 and 21614 (cannot
reach it, not a mobile number), 21408 (no permission for the region). 429 (20429), 5xx
and lost connections are retried by the hub. ``api_base`` points the client at another
host (the sandbox in :mod:`hub_plugins.notifiers.twilio.sandbox`) through the client's
``http_client`` setting, without touching the library.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import Field, SecretStr, model_validator
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from hub import (
    DeliveryReport,
    NotificationRefused,
    Notifier,
    OutgoingMessage,
    PluginConfig,
    hookimpl,
)

HUB_PLUGIN_API = ">=1,<2"
TWILIO_API = "https://api.twilio.com"
#: Error codes after which sending the same message again cannot succeed.
REFUSALS = {21211, 21408, 21610, 21612, 21614}
#: Twilio's MessageStatus -> the hub's delivery status (others are not reported on).
STATUSES = {
    "sent": "sent",
    "delivered": "delivered",
    "read": "delivered",
    "undelivered": "undelivered",
    "failed": "failed",
}


class TwilioConfig(PluginConfig):
    account_sid: str = Field(pattern=r"^AC[0-9a-fA-F]{32}$")
    auth_token: SecretStr = Field(min_length=1)
    from_number: str = Field(default="", pattern=r"^(\+[1-9]\d{6,14})?$")
    messaging_service_sid: str = Field(default="", pattern=r"^(MG[0-9a-fA-F]{32})?$")
    # Another address for the API (a sandbox); unset: https://api.twilio.com
    api_base: str = Field(default="", pattern=r"^(https?://[^/\s]+)?$")
    timeout: float = Field(default=15.0, gt=0, le=120)  # seconds per request

    @model_validator(mode="after")
    def _a_sender(self) -> TwilioConfig:
        if not self.from_number and not self.messaging_service_sid:
            raise ValueError("give from_number or messaging_service_sid")
        return self


class _ElsewhereHttpClient(TwilioHttpClient):
    """The library's HTTP client, sending what it addresses to api.twilio.com to ``base``."""

    def __init__(self, base: str, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self.base = base.rstrip("/")

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        if url.startswith(TWILIO_API):
            url = self.base + url[len(TWILIO_API) :]
        return super().request(method, url, *args, **kwargs)


class TwilioNotifier(Notifier):
    """Sends SMS; thread-safe (one client per thread)."""

    type_name: ClassVar[str] = "twilio"
    Config = TwilioConfig
    kind: ClassVar[str] = "sms"
    config: TwilioConfig

    def __init__(self, name: str, config: TwilioConfig) -> None:  # type: ignore[override]
        super().__init__(name, config)
        self._local = threading.local()

    def _client(self) -> Client:
        client = getattr(self._local, "client", None)
        if client is None:
            timeout = self.config.timeout
            http = (
                _ElsewhereHttpClient(self.config.api_base, timeout)
                if self.config.api_base
                else TwilioHttpClient(timeout=timeout)
            )
            client = Client(
                self.config.account_sid,
                self.config.auth_token.get_secret_value(),
                http_client=http,
            )
            self._local.client = client
        return client

    def send(self, message: OutgoingMessage) -> str:
        """Create the message at Twilio; returns its sid (``SM...``)."""
        fields: dict[str, Any] = {"to": message.to, "body": message.body}
        if self.config.messaging_service_sid:
            fields["messaging_service_sid"] = self.config.messaging_service_sid
        else:
            fields["from_"] = self.config.from_number
        if message.status_callback:
            fields["status_callback"] = message.status_callback
        try:
            created = self._client().messages.create(**fields)
        except TwilioRestException as error:
            if error.code in REFUSALS:
                raise NotificationRefused(f"Twilio error {error.code}: {error.msg}") from None
            raise RuntimeError(
                f"Twilio answered {error.status} (error {error.code}): {error.msg}"
            ) from None
        return str(created.sid)

    def verify_callback(
        self, url: str, headers: Mapping[str, str], form: Mapping[str, str]
    ) -> bool:
        """True when ``X-Twilio-Signature`` signs ``url`` and ``form`` with our token."""
        signature = next((v for k, v in headers.items() if k.lower() == "x-twilio-signature"), "")
        if not signature:
            return False
        validator = RequestValidator(self.config.auth_token.get_secret_value())
        return bool(validator.validate(url, dict(form), signature))

    def parse_callback(self, form: Mapping[str, str]) -> DeliveryReport:
        """MessageSid and MessageStatus (with ErrorCode when it failed) as a report."""
        sid, status = form["MessageSid"], form["MessageStatus"]
        if status not in STATUSES:
            raise ValueError(f"status {status!r} is not one the hub records")
        detail = f"Twilio: {status}"
        if form.get("ErrorCode"):
            detail += f" (error {form['ErrorCode']})"
        return DeliveryReport(provider_id=sid, status=STATUSES[status], detail=detail)


def _sandbox() -> Any:
    """A new local Twilio (``hub demo`` sends its SMS there), imported when asked for: the
    hub loads every plugin for every command, and only demos and tests need it."""
    from hub_plugins.notifiers.twilio.sandbox import TwilioSandbox

    return TwilioSandbox()


#: a zero-argument factory of the local Twilio
TwilioNotifier.sandbox = staticmethod(_sandbox)  # type: ignore[attr-defined]


@hookimpl
def register_notifiers(register):  # type: ignore[no-untyped-def]
    register(TwilioNotifier)
