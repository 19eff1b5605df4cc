"""Customer notifiers: ``smtp`` (e-mail) and ``twilio`` (SMS), each a plugin of its own."""
