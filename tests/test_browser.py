"""The web path for real: the playground page in headless Chromium (selenium with
the Debian chromedriver), on the local stack.

The page, the credential endpoint and the local COS are three origins, so every
call is cross-origin and preflighted as for a deployed web app: the page's fetch
to /sts (Bearer, JSON), then the official cos-js-sdk-v5 (vendored) with keys from
the getAuthorization adapter in docs/clients.md, against `{Bucket}.cos.{Region}.localhost`
(Chromium resolves it to loopback, so the bucket arrives in Host).

No Chromium: skipped here with how to install it, a failure under CI=true.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil

import pytest

from tests.support import BUCKET, ROOT
from tests.support.playground import (
    ARTIFACTS,
    chromium,
    chromium_paths,
    local_stack,
    other_playground,
    wait_for,
)
from tests.support.tickets import webhooks_match_uploads

# Builds, benchmarks or an external runtime: left out of `make test-fast`.
pytestmark = pytest.mark.slow

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def browser():
    chromium_paths()  # skip or fail first, before any server starts
    with chromium() as driver:
        driver.set_script_timeout(30)
        yield driver


@pytest.fixture(scope="module")
def stack(sts_emulator, local_cos_server):
    with local_stack(sts_emulator, local_cos_server) as running:
        yield running


@pytest.fixture
def page(browser, stack, local_cos):
    """The playground freshly loaded (a token for alice minted), the COS and STS reset."""
    stack.calls.clear()
    stack.renew()
    open_page(browser, stack.playground.url)
    return browser


def open_page(driver, url):
    driver.get(url)
    # The SDK keeps multipart UploadIds in localStorage; each test starts clean.
    driver.execute_script("localStorage.clear()")
    driver.get_log("browser")  # drop earlier entries
    wait_for(lambda: by_id(driver, "body") == "true", what="the page to start")


def by_id(driver, element_id, attribute=None):
    """An element's text, or an attribute (body: its data-ready flag)."""
    from selenium.webdriver.common.by import By

    if element_id == "body":
        return driver.find_element(By.TAG_NAME, "body").get_attribute("data-ready")
    element = driver.find_element(By.ID, element_id)
    return element.get_attribute(attribute) if attribute else element.text


def click(driver, element_id):
    from selenium.webdriver.common.by import By

    driver.find_element(By.ID, element_id).click()


def settled(driver, element_id, timeout=20.0):
    """Wait for a status line to leave its busy states; returns (state, text)."""
    wait_for(
        lambda: by_id(driver, element_id, "data-state") in ("ok", "error"),
        timeout,
        f"#{element_id} to settle",
    )
    return by_id(driver, element_id, "data-state"), by_id(driver, element_id)


def upload(driver, path, method="uploadFile", key=None):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    driver.find_element(By.ID, "file").send_keys(str(path))
    Select(driver.find_element(By.ID, "method")).select_by_value(method)
    if key is not None:
        field = driver.find_element(By.ID, "key")
        field.clear()
        field.send_keys(key)
    click(driver, "upload")
    return settled(driver, "upload-status")


def make_file(tmp_path, name, size):
    path = tmp_path / name
    path.write_bytes(os.urandom(size) if size > 64 else b"hello world"[:size])
    return path


def severe_logs(driver, allowed=()):
    """Console errors, except resource loads the test provoked (e.g. a 403)."""
    return [
        entry["message"]
        for entry in driver.get_log("browser")
        if entry["level"] == "SEVERE" and not any(text in entry["message"] for text in allowed)
    ]


def apis(cos, key):
    return [(record.api, record.decision) for record in cos.records if record.key == key]


# -- the page gets keys through the CORS preflight ------------------------------------------


def test_page_gets_keys_through_the_cors_preflight(browser, sts_emulator, local_cos, emulator):
    # A stack of its own: a new origin, so no preflight answer is cached in the browser.
    with local_stack(sts_emulator, local_cos) as own:
        open_page(browser, own.playground.url)
        page = browser
        assert "alice" in by_id(page, "claims")  # the minted token's claims, decoded
        click(page, "get-keys")
        state, text = settled(page, "keys-status")
        assert state == "ok", text
        assert "keys for users/alice/" in text
        origin = own.playground.origins[0]
        # Chromium asked first (Authorization is not a simple header), then POSTed.
        assert own.calls == [("OPTIONS", origin), ("POST", origin)]
        assert len(emulator.calls) == 1
        check_keys_shown(page, emulator)


def test_uploads_from_the_page_reach_the_apps_server_as_webhooks(
    browser, sts_emulator, local_cos, emulator, tmp_path
):
    """cos-js-sdk-v5 in Chromium: a PUT and a multipart upload with keys, and a ticket
    form; one verified webhook per object, naming alice as owner and uploader."""
    from sts_tools.support.webhook_receiver import WebhookReceiver

    secret = "whsec_" + base64.b64encode(b"browser-end-to-end-webhook-key-32").decode()
    with WebhookReceiver(secret) as receiver, \
            local_stack(sts_emulator, local_cos, receiver=receiver) as own:  # fmt: skip
        open_page(browser, own.playground.url)
        assert upload(browser, make_file(tmp_path, "a.txt", 11), method="putObject")[0] == "ok"
        assert upload(browser, make_file(tmp_path, "big.bin", int(2.5 * MIB)))[0] == "ok"
        assert ticket_upload(browser, make_file(tmp_path, "me.png", 2048), "post")[0] == "ok"
        data = webhooks_match_uploads(local_cos, receiver, ("alice",))
        # The playground lists each event with what the function made of it.
        wait_for(lambda: by_id(browser, "events").count("delivered") == 3, what="the events")
    assert len(data) == 3
    by_event = {d["eventName"]: d for d in data}
    assert by_event["cos:ObjectCreated:Post"]["ticketId"]
    assert by_event["cos:ObjectCreated:CompleteMultipartUpload"]["size"] == int(2.5 * MIB)


def check_keys_shown(page, emulator):
    assert by_id(page, "keys-prefix") == "users/alice/"
    assert by_id(page, "keys-id").startswith("AKIDEMULATOR")
    wait_for(lambda: "left" in by_id(page, "countdown"), what="the countdown")
    # The exact policy the local STS attached, with the user's root highlighted.
    wait_for(lambda: "statement[0]" in by_id(page, "policy"), what="the policy")
    marks = page.execute_script(
        "return [...document.querySelectorAll('#policy mark')].map(m => m.textContent)"
    )
    assert marks
    assert set(marks) == {"users/alice/"}
    policy = json.loads(
        page.execute_script("return document.getElementById('policy-json').textContent")
    )
    assert (
        json.dumps(policy, separators=(",", ":"))
        == emulator.keyring.get(by_id(page, "keys-id")).policy_text
    )
    assert severe_logs(page) == []


# -- uploads inside the user's folder ----------------------------------------------------------


def test_put_object_into_the_users_folder(page, local_cos, tmp_path):
    state, text = upload(page, make_file(tmp_path, "hello.txt", 11), method="putObject")
    assert state == "ok", text
    assert local_cos.store.get_object(BUCKET, "users/alice/hello.txt").body == b"hello world"
    assert apis(local_cos, "users/alice/hello.txt") == [("PutObject", "allow")]
    # The preflight for the PUT asked for what docs/tencent/cos-api.md §6 says and got it.
    assert any(record.api == "OptionsObject" for record in local_cos.records)
    wait_for(lambda: "users/alice/hello.txt" in by_id(page, "files"), what="the file list")
    assert severe_logs(page) == []


def test_multipart_upload_file_into_the_users_folder(page, local_cos, tmp_path):
    source = make_file(tmp_path, "big.bin", int(2.5 * MIB))
    state, text = upload(page, source)
    assert state == "ok", text
    assert "multipart: 3 parts" in text
    stored = local_cos.store.get_object(BUCKET, "users/alice/big.bin")
    assert hashlib.sha256(stored.body).digest() == hashlib.sha256(source.read_bytes()).digest()
    assert stored.etag.endswith("-3")
    calls = apis(local_cos, "users/alice/big.bin")
    assert ("InitiateMultipartUpload", "allow") in calls
    assert calls.count(("UploadPart", "allow")) == 3
    assert ("CompleteMultipartUpload", "allow") in calls
    assert by_id(page, "progress", "style").replace(" ", "") == "width:100%;"
    assert severe_logs(page) == []


# -- refused outside it, and the page shows the local COS's reason -------------------------------


def test_upload_into_another_users_folder_is_refused_with_the_reason(page, local_cos, tmp_path):
    from selenium.webdriver.common.by import By

    page.find_element(By.ID, "file").send_keys(str(make_file(tmp_path, "note.txt", 11)))
    click(page, "other-folder")
    assert by_id(page, "key", "value") == "users/bob/note.txt"
    click(page, "upload")
    state, text = settled(page, "upload-status")
    assert state == "error", text
    assert "403 AccessDenied" in text
    reason = wait_for(lambda: by_id(page, "upload-reason"), what="the reason")
    assert "denied by default" in reason
    assert "users/bob/note.txt" in reason
    assert "users/alice/*" in reason
    assert local_cos.store.objects(BUCKET) == []
    wait_for(lambda: "DENY" in by_id(page, "requests"), what="the denied request in the list")
    assert severe_logs(page, allowed=("403 (Forbidden)",)) == []


def refuse_an_upload_to_bob(page, tmp_path):
    from selenium.webdriver.common.by import By

    page.find_element(By.ID, "file").send_keys(str(make_file(tmp_path, "note.txt", 11)))
    click(page, "other-folder")
    click(page, "upload")
    state, text = settled(page, "upload-status")
    assert state == "error", text
    return text, wait_for(lambda: by_id(page, "upload-reason"), what="the reason")


def test_a_refusals_reason_is_shown_once(page, local_cos, tmp_path):
    text, reason = refuse_an_upload_to_bob(page, tmp_path)
    assert "denied by default" in reason
    assert "403 AccessDenied" in text
    assert "denied by default" not in text
    assert "local COS" not in text


def test_a_ticket_upload_clears_card_4s_older_refusal(page, local_cos, tmp_path):
    from selenium.webdriver.common.by import By

    refuse_an_upload_to_bob(page, tmp_path)
    state, text = ticket_upload(page, make_file(tmp_path, "me.png", 2048), "post")
    assert state == "ok", text
    assert by_id(page, "upload-status") == ""
    assert not page.find_element(By.ID, "upload-reason").is_displayed()


def test_a_bad_token_fails_the_upload_instead_of_hanging(page, tmp_path):
    from selenium.webdriver.common.by import By

    token = page.find_element(By.ID, "token")
    token.clear()
    token.send_keys("not-a-token")
    state, text = upload(page, make_file(tmp_path, "hello.txt", 11), method="putObject")
    assert state == "error"
    assert "No keys for this upload: 401 invalid_token" in text


# -- a ticket: FormData POST and fetch PUT, no keys in the page ---------------------------------


def ticket_upload(driver, path, method):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    driver.find_element(By.ID, "file").send_keys(str(path))
    Select(driver.find_element(By.ID, "ticket-method")).select_by_value(method)
    click(driver, "ticket-upload")
    return settled(driver, "ticket-status")


@pytest.mark.parametrize(("method", "api"), [("post", "PostObject"), ("put", "PutObject")])
def test_a_ticket_uploads_from_the_page_without_keys(page, stack, local_cos, tmp_path, method,
                                                     api):  # fmt: skip
    source = make_file(tmp_path, "me.png", 2048)
    state, text = ticket_upload(page, source, method)
    assert state == "ok", text
    (stored,) = local_cos.store.objects(BUCKET)
    assert stored.key.startswith("users/alice/")
    assert stored.key.endswith(".png")
    assert stored.body == source.read_bytes()
    assert stored.content_type == "image/png"
    assert apis(local_cos, stored.key) == [(api, "allow")]
    assert stored.key in text
    assert by_id(page, "keys-id") == ""  # the page never held a key
    assert severe_logs(page) == []


def test_a_ticket_for_a_type_the_profile_refuses_shows_why(page, local_cos, tmp_path):
    state, text = ticket_upload(page, make_file(tmp_path, "run.exe", 100), "post")
    assert state == "error"
    assert "No upload: 403 ticket_denied" in text
    assert "jpg (image/jpeg)" in text
    assert local_cos.store.objects(BUCKET) == []


# -- an origin the function does not list gets no keys -------------------------------------------


def test_a_page_from_an_unlisted_origin_cannot_get_keys(browser, stack, local_cos, emulator):
    stack.calls.clear()
    with other_playground(stack) as foreign:
        assert foreign.origins[0] not in stack.service.config.cors_origins
        open_page(browser, foreign.url)
        click(browser, "get-keys")
        state, text = settled(browser, "keys-status")
    assert state == "error"
    assert "CORS" in text
    assert foreign.origins[0] in text
    # The endpoint answered the preflight without a grant, so Chromium never POSTed.
    assert stack.calls == [("OPTIONS", foreign.origins[0])]
    assert emulator.calls == []
    assert any("blocked by CORS policy" in line for line in severe_logs(browser))


# -- the documented adapter, exactly as the page loads it ----------------------------------------

SCOPED_ROUND = """
const [token, done] = [arguments[0], arguments[arguments.length - 1]];
const config = window.playground.config;
let calls = 0;
const cos = new COS({
  Domain: config.cosDomain, Protocol: 'http:',
  getAuthorization: cosStsAuthorization({
    url: config.stsUrl, loginToken: () => token, profile: 'upload', scopePerRequest: true,
    onKeys: () => { calls += 1; },
  }),
});
const steps = [['putObject', 'users/alice/a.txt', 11], ['putObject', 'users/alice/b.txt', 11],
               ['uploadFile', 'users/alice/c.bin', 2621440]];
const results = [];
(function next(i) {
  if (i === steps.length) return done({results, calls});
  const [method, key, size] = steps[i];
  cos[method](
    {Bucket: config.bucket, Region: config.region, Key: key, SliceSize: 1048576,
     Body: new Blob([new Uint8Array(size)])},
    (error) => { results.push(error ? error.code || error.message : 'ok'); next(i + 1); });
})(0);
"""


def test_adapter_with_per_request_scope_caches_keys_per_scope(page, local_cos):
    """scopePerRequest sends the SDK's options.Scope and sets ScopeLimit: keys for one
    request are never reused for another key or action (the old documented adapter sent
    the scope without ScopeLimit: the second upload and every multipart one got 403)."""
    token = by_id(page, "token", "value")
    outcome = page.execute_async_script(SCOPED_ROUND, token)
    assert outcome["results"] == ["ok", "ok", "ok"]
    # One key per distinct scope: a, b, then the multipart requests' own scopes.
    assert outcome["calls"] >= 4
    assert {r.decision for r in local_cos.records if r.api != "OptionsObject"} == {"allow"}


# -- the README's screenshot, and as a test artifact ---------------------------------------


def test_screenshot_after_uploads(page, local_cos, tmp_path):
    from selenium.webdriver.common.by import By

    click(page, "get-keys")
    assert settled(page, "keys-status")[0] == "ok"
    assert upload(page, make_file(tmp_path, "notes.txt", 11), method="putObject")[0] == "ok"
    assert upload(page, make_file(tmp_path, "holiday.mp4", int(2.5 * MIB)))[0] == "ok"
    page.find_element(By.ID, "file").send_keys(str(make_file(tmp_path, "notes.txt", 11)))
    click(page, "other-folder")
    click(page, "upload")
    assert settled(page, "upload-status")[0] == "error"
    wait_for(lambda: by_id(page, "upload-reason"), what="the reason")
    wait_for(lambda: "holiday.mp4" in by_id(page, "files"), what="the file list")
    wait_for(lambda: "DENY" in by_id(page, "requests"), what="the request list")
    os.makedirs(ARTIFACTS, exist_ok=True)
    path = os.path.join(ARTIFACTS, "playground.png")
    assert page.save_screenshot(path)
    with open(path, "rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"
    assert os.path.getsize(path) > 50_000
    if os.environ.get("UPDATE_DOCS_SCREENSHOT"):  # refresh the README's copy on purpose
        shutil.copyfile(path, os.path.join(ROOT, "docs", "playground.png"))
