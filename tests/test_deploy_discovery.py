"""`make deploy`'s preflight with ``auth.discovery: true`` (issue 24): the function
accepts the provider's OpenID configuration only if its issuer equals STS_JWT_ISSUER
exactly, so an issuer that differs by a trailing slash (Auth0 writes one) would make
every request a 503. The preflight reads the document over HTTPS, as the function
will, and refuses the deploy saying which issuer to use.

The provider is tests/support/idp.py served over TLS with a throwaway CA (trustme),
trusted through REQUESTS_CA_BUNDLE as a deployer's own CA settings would be.
"""

from __future__ import annotations

import json
import os
import shutil
import ssl

import pytest
import yaml

import index
from sts_tools.commands import deploy
from tests.support import ROOT, context, event, make_service, shipped_config
from tests.support.idp import AUDIENCE, FakeIdP, Key, key_set_env

ENV = {
    "SCF_REGION": "ap-shanghai",
    "COS_BUCKET": "photos-1250000000",
    "COS_REGION": "ap-shanghai",
    "STS_SECRET_ID": "AKIDpreflight00000000000000000",
    "STS_SECRET_KEY": "preflight-key",
    "STS_JWT_AUDIENCE": AUDIENCE,
}


@pytest.fixture(scope="module")
def authority(tmp_path_factory):
    trustme = pytest.importorskip("trustme")  # requirements-bench.txt, in the dev set
    ca = trustme.CA()
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return ca, str(path)


@pytest.fixture
def idp(authority, monkeypatch):
    ca, ca_path = authority
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", ca_path)
    provider = FakeIdP(tls=context)
    yield provider
    provider.stop()


@pytest.fixture
def root(tmp_path):
    """This project's serverless.yml and config.yml, with discovery on."""
    shutil.copy(os.path.join(ROOT, "serverless.yml"), tmp_path)
    with open(os.path.join(ROOT, "config.yml"), encoding="utf-8") as handle:
        document = yaml.safe_load(handle)
    document["auth"]["discovery"] = True
    (tmp_path / "config.yml").write_text(yaml.safe_dump(document))
    return str(tmp_path)


def preflight(root, issuer):
    return deploy.preflight({**ENV, "STS_JWT_ISSUER": issuer}, "prod", root,
                            check_cli=False, dotenv=False)  # fmt: skip


@pytest.mark.parametrize("configured_slash", [False, True], ids=["add-slash", "drop-slash"])
def test_an_issuer_differing_by_a_trailing_slash_is_refused_saying_which(
    idp, root, configured_slash
):
    assert idp.issuer.startswith("https://")
    provider = idp.issuer if configured_slash else idp.issuer + "/"
    configured = provider + "/" if configured_slash else idp.issuer
    idp.discovery_issuer = provider
    result = preflight(root, configured)
    assert idp.hits["discovery"] == 1
    (problem,) = [p for p in result.problems if p.variable == "STS_JWT_ISSUER"]
    assert "trailing slash" in problem.message
    assert f"to {provider!r}" in problem.message  # which one to use


def test_the_exact_issuer_passes(idp, root):
    result = preflight(root, idp.issuer)
    assert result.ok, result.problems
    assert idp.hits["discovery"] == 1


def test_another_issuer_altogether_is_refused(idp, root):
    idp.discovery_issuer = "https://evil.example.com"
    (problem,) = preflight(root, idp.issuer).problems
    assert problem.variable == "STS_JWT_ISSUER"
    assert "another issuer" in problem.message


def test_an_unreadable_document_is_a_note_not_a_refusal(root):
    gone = FakeIdP()
    gone.stop()
    issuer = gone.issuer.replace("http://", "https://")
    result = preflight(root, issuer)
    assert result.ok, result.problems
    assert any("could not read" in note and issuer in note for note in result.notes)


def test_the_function_refuses_the_same_document_at_request_time(emulator, capsys):
    """What the preflight prevents: the deployed function with the slash-less issuer
    answers 503, and its log line says which issuer to use. (Plain http on loopback
    here: the function trusts only the system's CAs.)"""
    provider = FakeIdP()
    provider.discovery_issuer = provider.issuer + "/"
    provider.keys = [Key("rsa-1", "RSA")]
    document = shipped_config()
    document["auth"]["discovery"] = True
    env = key_set_env(emulator.endpoint, provider, STS_JWKS_URL=None)
    try:
        response = index.handle(
            make_service(env, document), event(provider.token(provider.keys[0])), context()
        )
    finally:
        provider.stop()
    assert response["statusCode"] == 503
    line = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert "trailing slash" in line["detail"]
    assert repr(provider.issuer + "/") in line["detail"]
