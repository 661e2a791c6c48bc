"""Sign-in with WeChat (and QQ) through the public handler, on both triggers, against
the local jscode2session stand-in: the answer, its token at /sts for keys and
tickets, bad bodies, every WeChat errcode's mapping, the single retry within the
invocation's time, the per-address attempt bound (per instance and on Redis), and
that neither the AppSecret nor session_key ever reaches a log line or a body."""

from __future__ import annotations

import json

import pytest

import index
from sts_tools.emulators.wechat import DEV_WX_APPID, WxEmulator, WxFault, make_code
from tests.support import body_of, context, event, free_port
from tests.support.login import SECRETS, login_document, login_env, login_service, sign_in_event
from tests.support.redis import log_lines

SAMPLES = ("apigw_official.json", "function_url.json")


@pytest.fixture(scope="module")
def wx_server():
    with WxEmulator() as server:
        yield server


@pytest.fixture
def wx(wx_server):
    wx_server.backend.reset()
    yield wx_server
    wx_server.backend.reset()


@pytest.fixture
def service(emulator, wx):
    return login_service(login_env(emulator.endpoint, wx.endpoint))


def call(service, evt, ctx=None):
    return index.handle(service, evt, context() if ctx is None else ctx)


def error(response, status, code):
    assert response["statusCode"] == status, response["body"]
    assert body_of(response)["error"]["code"] == code, response["body"]
    return response


@pytest.mark.parametrize("sample", SAMPLES)
@pytest.mark.parametrize("path", ["/sts/login/wechat", "/release/sts/login/wechat/"])
def test_a_code_signs_in_and_the_token_gets_keys_and_tickets(service, emulator, wx, sample, path):
    response = call(service, sign_in_event(make_code("oAbc-123_x"), sample=sample, path=path))
    assert response["statusCode"] == 200, response["body"]
    answer = body_of(response)
    assert set(answer) == {"token", "expiresIn", "userId", "prefix"}
    assert answer["userId"] == "oAbc-123_x"
    assert answer["prefix"] == "users/oAbc-123_x/"
    assert answer["expiresIn"] == 7200
    assert response["headers"]["Cache-Control"] == "no-store"
    assert response["headers"]["X-Request-Id"]
    (exchange,) = wx.backend.exchanges
    assert exchange.appid == DEV_WX_APPID

    keys = call(service, event(answer["token"], {"profile": "upload"}, sample=sample))
    assert keys["statusCode"] == 200, keys["body"]
    assert body_of(keys)["prefix"] == "users/oAbc-123_x/"
    resources = {r for s in emulator.calls[-1].policy["statement"] for r in s["resource"]}
    assert all("/users/oAbc-123_x/" in r for r in resources)

    put = {"profile": "avatar", "ticket": {"method": "put", "extension": "png", "size": 10}}
    ticket = call(service, event(answer["token"], put, sample=sample))
    assert ticket["statusCode"] == 200, ticket["body"]
    assert body_of(ticket)["ticket"]["key"].startswith("users/oAbc-123_x/")


def test_qq_signs_in_at_its_own_route(service, wx):
    response = call(service, sign_in_event(make_code("qqUser1"), path="/sts/login/qq"))
    assert body_of(response)["userId"] == "qqUser1"
    assert wx.backend.exchanges[0].appid != DEV_WX_APPID  # the QQ AppID was sent


def test_unionid_when_the_operator_chooses_it(emulator, wx):
    service = login_service(login_env(emulator.endpoint, wx.endpoint),
                            login_document(user_id="unionid"))  # fmt: skip
    answer = body_of(call(service, sign_in_event(make_code("oOpen1", unionid="uUnion1"))))
    assert answer["userId"] == "uUnion1"
    assert answer["prefix"] == "users/uUnion1/"
    error(call(service, sign_in_event(make_code("oOpen2"))), 403, "wx_no_unionid")


def test_an_openid_the_prefix_rules_refuse_is_403(service):
    error(call(service, sign_in_event(make_code("o..evil"))), 403, "user_id_rejected")


@pytest.mark.parametrize(
    "body",
    ["", "not json", "[]", '{"code": 5}', '{"code": ""}', '{"code": "a b"}', '{"code": "x/y"}',
     json.dumps({"code": "a" * 257}), '{"nocode": "abc"}'],
)  # fmt: skip
def test_a_missing_or_malformed_code_is_400_and_wechat_is_not_asked(service, wx, body):
    evt = event(None, body, path="/sts/login/wechat")
    response = call(service, evt)
    assert response["statusCode"] == 400, response["body"]
    assert wx.backend.requests_seen == 0


def test_an_unknown_field_beside_the_code_is_400_as_for_sts(service, wx):
    body = json.dumps({"code": make_code("oOpen1"), "openid": "oSomeoneElse"})
    response = call(service, event(None, body, path="/sts/login/wechat"))
    error(response, 400, "invalid_field")
    assert "'openid'" in body_of(response)["error"]["message"]
    assert wx.backend.requests_seen == 0


def test_preflight_and_methods_as_for_sts(emulator, wx):
    document = login_document()
    document["cors"] = {"allowed_origins": ["https://app.example.com"]}
    service = login_service(login_env(emulator.endpoint, wx.endpoint), document)
    origin = {"Origin": "https://app.example.com"}
    preflight = call(service, event(None, "", method="OPTIONS", path="/sts/login/wechat",
                                    headers=origin))  # fmt: skip
    assert preflight["statusCode"] == 204
    assert preflight["headers"]["Access-Control-Allow-Origin"] == "https://app.example.com"
    signed = call(service, sign_in_event(make_code("oA"), headers=origin))
    assert signed["headers"]["Access-Control-Allow-Origin"] == "https://app.example.com"
    error(call(service, event(None, "", method="GET", path="/sts/login/wechat")), 405,
          "method_not_allowed")  # fmt: skip


def test_routes_that_are_not_turned_on_are_404(emulator, wx):
    service = login_service(
        login_env(emulator.endpoint, wx.endpoint), login_document(providers=["qq"])
    )
    error(call(service, sign_in_event(make_code("oA"))), 404, "not_found")
    error(call(service, sign_in_event(make_code("oA"), path="/sts/login/github")), 404, "not_found")
    error(call(service, sign_in_event(make_code("oA"), path="/other/login/qq")), 404, "not_found")
    assert wx.backend.requests_seen == 0


# -- WeChat's answers -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("errcode", "status", "code", "asked"),
    [
        (40029, 401, "wx_code_invalid", 1),
        (40163, 401, "wx_code_invalid", 1),
        (45011, 429, "wx_rate_limited", 1),
        (40226, 403, "wx_user_blocked", 1),  # never retried
        (-1, 503, "wx_unavailable", 2),  # one retry, then give up
        (40125, 502, "wx_error", 1),
        (12345, 502, "wx_error", 1),
    ],
)
def test_each_errcode_becomes_its_error(service, wx, capsys, errcode, status, code, asked):
    response = error(call(service, sign_in_event(make_code("oA", errcode=errcode))), status, code)
    assert wx.backend.requests_seen == asked
    if errcode == 45011:
        assert response["headers"]["Retry-After"] == "60"
    if status == 503:
        assert response["headers"]["Retry-After"] == "1"
    line = log_lines(capsys)[-1]
    assert line["error"] == code
    if status == 502:  # the errcode is the operator's, in the log only
        assert str(errcode) in line["detail"]
        assert str(errcode) not in response["body"]


def test_a_made_up_code_and_a_code_used_twice_are_401(service, wx):
    error(call(service, sign_in_event("0a3XyZmadeUpCode0123456789abcdef")), 401, "wx_code_invalid")
    code = make_code("oOnce")
    assert call(service, sign_in_event(code))["statusCode"] == 200
    error(call(service, sign_in_event(code)), 401, "wx_code_invalid")


@pytest.mark.parametrize(
    "fault",
    [WxFault("errcode", errcode=-1), WxFault("http", status=502), WxFault("drop")],
)
def test_one_retry_after_the_platforms_own_trouble(service, wx, capsys, fault):
    wx.script(fault)
    response = call(service, sign_in_event(make_code("oRetry")))
    assert response["statusCode"] == 200, response["body"]
    assert wx.backend.requests_seen == 2
    assert log_lines(capsys)[-1]["loginAttempts"] == 2


def test_timeouts_and_5xx_end_in_503_after_at_most_one_retry(emulator, wx):
    service = login_service(login_env(emulator.endpoint, wx.endpoint), login_document(timeout=0.2))
    wx.script(
        WxFault("delay", seconds=0.5), WxFault("delay", seconds=0.5), WxFault("delay", seconds=0.5)
    )
    error(call(service, sign_in_event(make_code("oSlow"))), 503, "wx_unavailable")
    assert wx.backend.requests_seen == 2
    wx.backend.reset()
    wx.script(*[WxFault("http", status=500)] * 3)
    error(call(service, sign_in_event(make_code("o5xx"))), 503, "wx_unavailable")
    assert wx.backend.requests_seen == 2


def test_no_retry_that_could_not_finish_within_the_invocation(emulator, wx):
    service = login_service(login_env(emulator.endpoint, wx.endpoint), login_document(timeout=0.3))
    wx.script(WxFault("delay", seconds=1), WxFault("delay", seconds=1))
    # 0.75 s limit less the 0.3 s margin: 0.45 s; after a 0.3 s attempt 0.15 s is left.
    error(call(service, sign_in_event(make_code("oTight")), context(750)), 503, "wx_unavailable")
    assert wx.backend.requests_seen == 1


def test_an_unreachable_endpoint_is_503(emulator):
    env = login_env(emulator.endpoint, f"http://127.0.0.1:{free_port()}/sns/jscode2session")
    error(call(login_service(env), sign_in_event(make_code("oA"))), 503, "wx_unavailable")


# -- the attempt bound --------------------------------------------------------------


def bounded(**limits):
    return login_document(per_address={"rate": 0.001, "burst": 2}, **limits)


@pytest.mark.parametrize("sample", SAMPLES)
def test_attempts_are_bounded_per_client_address_before_wechat_is_asked(emulator, wx, sample):
    service = login_service(login_env(emulator.endpoint, wx.endpoint), bounded())
    for _ in range(2):
        call(service, sign_in_event("bogus-code-123", sample=sample, address="203.0.113.7"))
    asked = wx.backend.requests_seen
    again = sign_in_event(make_code("oReal"), sample=sample, address="203.0.113.7")
    refused = error(call(service, again), 429, "rate_limited")
    assert int(refused["headers"]["Retry-After"]) >= 1
    assert wx.backend.requests_seen == asked  # WeChat was not asked
    other = call(service, sign_in_event(make_code("oReal"), sample=sample, address="198.51.100.9"))
    assert other["statusCode"] == 200


def test_the_bound_holds_across_instances_with_redis(emulator, wx, redis_server, redis_db):
    env = login_env(emulator.endpoint, wx.endpoint, STS_REDIS_URL=redis_server.url,
                    STS_CACHE_KEY="cache-KEY-for-tests-0123456789abcdefghijklmnop")  # fmt: skip
    first, second = login_service(env, bounded()), login_service(env, bounded())
    call(first, sign_in_event("bogus-code-1", address="203.0.113.7"))
    call(second, sign_in_event("bogus-code-2", address="203.0.113.7"))
    error(call(first, sign_in_event("bogus-code-3", address="203.0.113.7")), 429, "rate_limited")
    error(call(second, sign_in_event("bogus-code-4", address="203.0.113.7")), 429, "rate_limited")
    assert call(second, sign_in_event(make_code("oB"), address="192.0.2.1"))["statusCode"] == 200
    assert any(b"{rllogin}" in key for key in redis_db.scan_iter())  # its own buckets


# -- secrets --------------------------------------------------------------------------


def test_neither_appsecret_nor_session_key_reaches_a_log_or_a_body(service, wx, capsys):
    responses = [call(service, sign_in_event(make_code("oS", unionid="uS")))]
    for errcode in (40029, 45011, 40226, -1, 40125):
        responses.append(call(service, sign_in_event(make_code("oS", errcode=errcode))))
    wx.script(WxFault("http", status=500), WxFault("drop"))
    responses.append(call(service, sign_in_event(make_code("oS"))))
    session_keys = [
        e.answer["session_key"] for e in wx.backend.exchanges if "session_key" in e.answer
    ]
    assert session_keys
    out = capsys.readouterr()
    texts = [out.out, out.err] + [json.dumps(r) for r in responses]
    for text in texts:
        for secret in (*SECRETS, *session_keys):
            assert secret not in text
    assert "session_key" not in " ".join(texts)
    assert not any(secret in repr(service.login) for secret in SECRETS)


COLD_START = """
import json, sys
from tests.support import make_env, shipped_config
from sts_core.config_validation import parse_config
from sts_core.service import service_for
import index
env = make_env()
service_for(parse_config(shipped_config(), env), env)
print(json.dumps(sorted(m for m in sys.modules if m.startswith("sts_core."))))
"""


def test_the_sign_in_code_is_not_loaded_when_it_is_off():
    from tests.support import run_python

    loaded = set(json.loads(run_python("-c", COLD_START).stdout.splitlines()[-1]))
    assert "sts_core.handler" in loaded
    for module in ("login", "jscode2session", "session_tokens", "revocation"):
        assert f"sts_core.{module}" not in loaded
