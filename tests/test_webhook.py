"""sts_core/webhook.py and its configuration: Standard Webhooks' own library is the
oracle for every signature; a bad secret or URL fails at cold start naming the key."""

from __future__ import annotations

import base64
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from sts_core.config_section import ConfigError
from sts_core.config_validation import parse_config
from sts_core.webhook import message_id, secret_bytes, signed_request
from tests.support import make_env, shipped_config

KEY = b"0123456789abcdef0123456789abcdef"
SECRET = "whsec_" + base64.b64encode(KEY).decode()
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


@given(st.dictionaries(st.text(), JSON, max_size=5), st.text(min_size=1, max_size=40))
@settings(max_examples=150)
def test_the_library_verifies_every_payload(payload, identity):
    msg_id = message_id(identity)
    body, headers = signed_request(KEY, msg_id, int(time.time()), payload)
    assert Webhook(SECRET).verify(body, headers) == payload


def test_the_library_refuses_a_changed_body_id_or_old_timestamp():
    now = int(time.time())
    body, headers = signed_request(KEY, "msg_a", now, {"data": {"key": "users/alice/a"}})
    hook = Webhook(SECRET)
    with pytest.raises(WebhookVerificationError):
        hook.verify(body.replace(b"alice", b"bob"), headers)
    with pytest.raises(WebhookVerificationError):
        hook.verify(body, {**headers, "webhook-id": "msg_b"})
    old_body, old_headers = signed_request(KEY, "msg_a", now - 600, {"a": 1})
    with pytest.raises(WebhookVerificationError):
        hook.verify(old_body, old_headers)


def test_the_id_depends_only_on_the_event():
    assert message_id("a\nb") == message_id("a\nb") != message_id("a\nc")


@pytest.mark.parametrize(
    "secret",
    ["", "0123", "whsec_", "whsec_not base64!", "whsec_" + base64.b64encode(b"short").decode()],
)
def test_malformed_secrets(secret):
    with pytest.raises(ValueError, match=r"whsec_|random bytes"):
        secret_bytes(secret)


@pytest.mark.parametrize(("env", "key"), [
    ({"STS_WEBHOOK_URL": "https://app.example/hook"}, "STS_WEBHOOK_SECRET"),
    ({"STS_WEBHOOK_SECRET": SECRET}, "STS_WEBHOOK_URL"),
    ({"STS_WEBHOOK_URL": "http://app.example/hook", "STS_WEBHOOK_SECRET": SECRET},
     "STS_WEBHOOK_URL"),
    ({"STS_WEBHOOK_URL": "https://app.example/hook", "STS_WEBHOOK_SECRET": "whsec_x"},
     "STS_WEBHOOK_SECRET"),
])  # fmt: skip
def test_a_bad_webhook_setting_fails_at_cold_start_naming_it(env, key):
    with pytest.raises(ConfigError) as error:
        parse_config(shipped_config(), make_env(**env))
    assert error.value.key == key
    assert SECRET not in str(error.value)
    assert SECRET[6:] not in str(error.value)


def test_a_quota_needs_redis():
    document = shipped_config()
    document["quota"] = {"bytes": 1000}
    with pytest.raises(ConfigError) as error:
        parse_config(document, make_env())
    assert error.value.key == "quota"
    assert "STS_REDIS_URL" in str(error.value)
    document["quota"] = {}
    assert parse_config(document, make_env()).quota is None
    document["quota"] = {"bytes": 0}
    with pytest.raises(ConfigError):
        parse_config(document, make_env())


def test_loopback_http_is_allowed_for_local_runs():
    env = make_env(STS_WEBHOOK_URL="http://127.0.0.1:8080/hook", STS_WEBHOOK_SECRET=SECRET)
    assert parse_config(shipped_config(), env).webhook is True
