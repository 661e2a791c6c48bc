"""The client adapters in clients/, checked as text for what a text check can hold:
no constructor that freezes the request, one Authorization header set per fetch, a
fresh login token read inside every fetch, bounded time, our error code, message and
Retry-After surfaced, an early refresh, and an error path on every exit (the SDK's
callback or continue block always called).

Android and iOS cannot be built here (no SDKs, no Xcode): these checks and the
request/response contract (tests/test_mobile_contract.py) are what they are tested
by. The JS adapter runs in Chromium and Node, the wx one in the wx SDK test.

Each check strips comments first where a property is about code, so the headers'
explanations (which name the things the code avoids) do not count.
"""

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parent.parent / "clients"
JS = (ROOT / "js" / "cos-auth.js").read_text(encoding="utf-8")
WX = (ROOT / "wx" / "cos-auth-wx.js").read_text(encoding="utf-8")
JAVA = (ROOT / "android" / "CosStsCredentialProvider.java").read_text(encoding="utf-8")
KT = (ROOT / "android" / "CosStsCredentialProvider.kt").read_text(encoding="utf-8")
H = (ROOT / "ios" / "CosStsCredentialProvider.h").read_text(encoding="utf-8")
M = (ROOT / "ios" / "CosStsCredentialProvider.m").read_text(encoding="utf-8")
SWIFT = (ROOT / "ios" / "CosStsCredentialProvider.swift").read_text(encoding="utf-8")


def code(text):
    """The text without /* */ and // comments (no string here holds a comment marker
    but a URL)."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"(?<![:\"])//[^\n]*", "", text)


def body_of(text, start):
    """The brace-balanced block that follows the first occurrence of `start`."""
    i = text.index(start)
    i = text.index("{", i)
    depth = 0
    for j in range(i, len(text)):
        depth += {"{": 1, "}": -1}.get(text[j], 0)
        if depth == 0:
            return text[i : j + 1]
    raise AssertionError("unbalanced block after " + start)


# ---- Android (Java and Kotlin) -------------------------------------------------------------


def test_android_header_names_sdk_version_and_usage():
    for text in (JAVA, KT):
        head = text[:6000]
        assert "5.9.51" in head
        assert "CosXmlService(" in head
        assert "TransferManager(" in head
        assert "name/cos:ListMultiUploads" in head
        assert "TransferService" in head


def test_android_never_uses_the_sdk_session_provider():
    for text in (code(JAVA), code(KT)):
        assert "SessionCredentialProvider(" not in text
        assert "HttpRequest.Builder" not in text


def test_android_extends_the_sdk_base_providers():
    assert "extends BasicLifecycleCredentialProvider" in JAVA
    assert "extends BasicScopeLimitCredentialProvider" in JAVA
    assert ": BasicLifecycleCredentialProvider()" in KT
    assert ": BasicScopeLimitCredentialProvider()" in KT


def test_android_one_authorization_header_set_not_added():
    java, kt = code(JAVA), code(KT)
    assert '.header("Authorization"' in java
    assert '.addHeader("Authorization"' not in java
    assert 'setRequestProperty("Authorization"' in kt
    assert "addRequestProperty" not in kt


def test_android_login_token_read_inside_every_fetch():
    assert "tokens.loginToken()" in body_of(code(JAVA), "Keys fetch(String body)")
    assert "loginToken()" in body_of(code(KT), "fun fetch(body: String)")


def test_android_bounded_time():
    java, kt = code(JAVA), code(KT)
    for call in (
        "connectTimeout(",
        "readTimeout(",
        "callTimeout(",
        "retryOnConnectionFailure(false)",
        "followRedirects(false)",
    ):
        assert call in java, call
    for text in (
        "connectTimeout =",
        "readTimeout =",
        "call.get(totalTimeoutMs",
        "instanceFollowRedirects = false",
    ):
        assert text in kt, text
    assert re.search(r"totalTimeoutMs = 15_000", java)
    assert re.search(r"totalTimeoutMs = 15_000L", kt)


def test_android_reads_the_body_for_every_status():
    fetch = body_of(code(JAVA), "Keys fetch(String body)")
    assert fetch.index("peekBody(") < fetch.index("code() == 200")
    assert "errorStream" in code(KT)


def test_android_surfaces_our_error_fields():
    for text in (code(JAVA), code(KT)):
        for needle in (
            'optJSONObject("error")',
            'optString("code"',
            'optString("message"',
            '"Retry-After"',
            '"X-Request-Id"',
            'optString("requestId"',
        ):
            assert needle in text, needle
    assert "extends QCloudClientException" in JAVA
    assert ": QCloudClientException(" in KT
    assert "new QCloudAuthenticationException(" in JAVA
    assert "QCloudAuthenticationException(" in KT


def test_android_validity_is_monotonic_and_early():
    java_valid = body_of(code(JAVA), "public boolean isValid()")
    kt_valid = code(KT).split("override fun isValid()", 1)[1].split("\n", 1)[0]
    for valid in (java_valid, kt_valid):
        assert "SystemClock.elapsedRealtime()" in valid
        assert "currentTimeMillis" not in valid
    assert "refreshMarginSeconds = 60" in JAVA
    assert "Math.max(60, seconds)" in JAVA
    assert "refreshMarginSeconds = 60L" in KT
    assert "maxOf(60L, seconds)" in KT
    for text in (code(JAVA), code(KT)):
        assert 'getDate("Date"' in text or 'getHeaderFieldDate("Date"' in text
        assert "startTime" in text
        assert "Math.max(serverNow, startTime)" in text or "maxOf(dateSeconds, startTime)" in text


def test_android_scope_body_is_the_sdks_jsonify_and_profile_in_query():
    for text in (code(JAVA), code(KT)):
        assert "STSCredentialScope.jsonify(scopes)" in text
        assert '"profile="' in text
        assert "URLEncoder.encode(" in text


def test_android_retry_after_gate_checked_before_any_request():
    for fetch in (
        body_of(code(JAVA), "Keys fetch(String body)"),
        body_of(code(KT), "fun fetch(body: String)"),
    ):
        assert fetch.index("quietUntilElapsedMs") < fetch.index("loginToken()")


# ---- iOS (Objective-C and Swift) -------------------------------------------------------------


def test_ios_header_names_sdk_version_protocols_and_usage():
    assert "6.5.5" in H[:3000]
    assert "6.5.5" in SWIFT[:3000]
    assert "<QCloudSignatureProvider, QCloudCredentailFenceQueueDelegate>" in H
    assert "QCloudSignatureProvider, QCloudCredentailFenceQueueDelegate" in SWIFT
    for text in (H, SWIFT):
        assert "signatureProvider = keys" in text
        assert "registerDefaultCOSXML" in text


def test_ios_implements_the_sdk_selectors():
    m = code(M)
    assert "- (void)signatureWithFields:(QCloudSignatureFields *)fileds" in m
    assert "compelete:(QCloudHTTPAuthentationContinueBlock)" in m
    assert "- (void)fenceQueue:(QCloudCredentailFenceQueue *)queue" in m
    assert "requestCreatorWithContinue:" in m
    assert "_fenceQueue.delegate = self" in m
    assert "fence.delegate = self" in code(SWIFT)
    assert "performAction:" in m
    assert "fence.performAction" in SWIFT


def _fence_method(text, start):
    return body_of(code(text), start)


def test_ios_every_exit_of_the_fence_delegate_calls_continue_block():
    for method in (
        _fence_method(
            M, "requestCreatorWithContinue:(QCloudCredentailFenceQueueContinue)continueBlock"
        ),
        _fence_method(SWIFT, "requestCreatorWithContinue continueBlock"),
    ):
        statements = [s.strip() for s in re.split(r"[;\n]", method) if s.strip()]
        for i, statement in enumerate(statements):
            if statement in ("return", "return;"):
                before = " ".join(statements[max(0, i - 8) : i])
                assert "continueBlock(" in before, before
        assert "continueBlock(nil, nil)" not in method.replace(" ", "").replace(
            "continueBlock(nil,nil)", "continueBlock(nil, nil)"
        )
        assert "resume" in method  # the asynchronous path
    completion = code(M).split("completionHandler:^(NSData *data", 1)[1]
    completion = completion[: completion.index("[task resume]")]
    assert completion.count("continueBlock(") == 1  # exactly one call in the completion handler
    assert "if (!creator && !failure)" in completion
    # ... and it is unconditional: the handler's last statement, at the handler's own depth.
    tail = completion[completion.index("continueBlock(") :]
    assert re.match(r"continueBlock\([^;]*\);\s*\}\]", tail), tail[:80]
    before = completion[: completion.index("continueBlock(")]
    assert before.count("{") - before.count("}") == 1, "continueBlock sits inside a branch"
    assert before.rsplit("\n", 1)[-1].strip() == "", "continueBlock is not a statement of its own"


def test_ios_signature_provider_calls_continue_block_on_every_branch():
    for method in (
        body_of(code(M), "compelete:(QCloudHTTPAuthentationContinueBlock)continueBlock"),
        body_of(code(SWIFT), "compelete continueBlock"),
    ):
        assert method.count("continueBlock(") == 3  # error, no signature, signature


def test_ios_request_shape_and_bounds():
    m, swift = code(M), code(SWIFT)
    assert 'forHTTPHeaderField:@"Authorization"' in m
    assert "addValue:" not in m
    assert 'forHTTPHeaderField: "Authorization"' in swift
    assert "addValue(" not in swift
    assert "timeoutInterval:self.timeout" in m
    assert "timeoutInterval: timeout" in swift
    assert "_timeout = 10;" in m
    assert "timeout: TimeInterval = 10" in swift
    assert "self.loginToken()" in _fence_method(
        M, "requestCreatorWithContinue:(QCloudCredentailFenceQueueContinue)continueBlock"
    )
    assert "loginToken()" in _fence_method(SWIFT, "requestCreatorWithContinue continueBlock")
    assert 'queryItemWithName:@"profile"' in m
    assert 'URLQueryItem(name: "profile"' in swift


def test_ios_key_times():
    m, swift = code(M), code(SWIFT)
    assert "credential.startDate = [NSDate dateWithTimeIntervalSince1970:startTime]" in m
    assert "expiredTime - margin" in m
    assert "expiredTime - margin" in swift
    assert "credential.startDate = Date(timeIntervalSince1970: TimeInterval(startTime))" in swift
    assert "- (BOOL)valid" in m
    assert "override var valid: Bool" in swift
    assert "CLOCK_MONOTONIC" in m
    assert "CLOCK_MONOTONIC" in swift
    assert "_refreshMargin = 60;" in m
    assert "MAX(60, refreshMargin)" in m


def test_ios_error_carries_code_message_status_retry_after():
    for key in (
        "CosStsErrorCodeKey",
        "CosStsErrorMessageKey",
        "CosStsHTTPStatusKey",
        "CosStsRetryAfterKey",
        "CosStsRequestIdKey",
    ):
        assert key in H
        assert key in M
    assert "errorWithDomain:CosStsErrorDomain code:status" in M
    assert "NSError(domain: errorDomain, code: status" in SWIFT
    assert '@"Retry-After"' in M
    assert '"Retry-After"' in SWIFT


# ---- JavaScript (browser, Node) and WeChat mini program --------------------------------------


def test_js_adapters_read_the_token_per_fetch_and_always_call_back():
    for text in (code(JS), code(WX)):
        adapter = body_of(text, "getAuthorization(options, callback)")
        assert "loginToken" in adapter  # read inside the SDK's call, every time
        assert "callback(" in adapter
    js = body_of(code(JS), "getAuthorization(options, callback)")
    assert ".catch(" in js
    assert "finish({})" in js  # the error path: the SDK call fails instead of hanging
    assert "if (!done)" in js  # and exactly once (tests/test_js_adapters.py runs every path)
    wx = body_of(code(WX), "getAuthorization(options, callback)")
    assert "fail: function" in wx
    assert "success: function" in wx
    assert "statusCode" in wx  # wx.request calls success for every HTTP status
    assert "setTimeout(" in wx  # a watchdog: the callback comes even if wx never answers
    assert "if (done) return" in wx  # and exactly once


def test_js_adapters_pass_the_servers_times_and_surface_our_errors():
    for text in (code(JS), code(WX)):
        assert "StartTime: " in text
        assert "ExpiredTime: " in text
        assert "error.code" in text or "reason.code" in text
    assert "retry-after" in code(WX).lower()
