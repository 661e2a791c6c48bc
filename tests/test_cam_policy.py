"""`python -m sts_tools cam-policy`: the identity that signs STS calls gets exactly
what the function can hand out. Decided by the local COS's CAM evaluator: every
statement the function would send for any user (and the ticket signer's) falls
inside the printed policy, and nothing outside the configured roots does."""

from __future__ import annotations

import json
import os

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from sts_core.config_validation import parse_config
from sts_core.cos_actions import CREATE_ACTIONS, LENGTH_ACTIONS
from sts_core.credential_request import CredentialRequest
from sts_core.grant import plan_grant
from sts_core.policy import PIN, render
from sts_core.ticket_signing_key import signer_policy
from sts_tools.commands import cam_policy
from sts_tools.emulators.cos import cam
from tests.support import BUCKET, REGION, ROOT, make_env, run_python, shipped_config
from tests.support.examples import examples

ROLE_ARN = "qcs::cam::uin/100000000001:roleName/cos-sts-vending"


def example(name):
    with open(os.path.join(ROOT, "examples", name), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def listing_on_bucket():
    document = shipped_config()
    document["listing"] = {"bucket_resource": True}
    return document


CONFIGS = {"shipped": shipped_config, "amplify": lambda: example("amplify.yml"),
           "listing-on-bucket": listing_on_bucket}  # fmt: skip
# IDs the function accepts (one rejected gets no grant at all, so nothing to cover).
users = st.text("abcdefghijklmnopqrstuvwxyz0123456789_-.", min_size=1, max_size=12).filter(
    lambda u: u != "." and ".." not in u
)


def role_policy(config):
    return cam.parse_policy(render({"version": "2.0",
                                    "statement": cam_policy.cos_statements(config)}))  # fmt: skip


def inside(pattern: str) -> str:
    """A concrete resource a statement's resource pattern covers."""
    return pattern[:-1] + "deep/x.bin" if pattern.endswith("*") else pattern


def covered(role, policy, values=None, size=5 * 1024**3):
    """Each (action, resource) of `policy`, decided against the role's policy, for
    requests at the statement's edges: each ACL and storage class it pins, the
    largest body it allows (`size` where it sets no cap, e.g. the signing key's)."""
    for statement in policy["statement"]:
        condition = statement.get("condition", {})
        pins = condition.get(PIN, {})
        cap = condition.get("numeric_less_than_equal", {}).get("cos:content-length", size)
        for action in statement["action"]:
            edges = [dict(values or {})]
            if action in LENGTH_ACTIONS:
                edges = [{**edge, "cos:content-length": str(cap)} for edge in edges]
            if action in CREATE_ACTIONS:
                edges = [{**edge, "cos:x-cos-acl": acl, "cos:x-cos-storage-class": kind}
                         for edge in edges for acl in pins["cos:x-cos-acl"]
                         for kind in pins["cos:x-cos-storage-class"]]  # fmt: skip
            for resource in statement["resource"]:
                for edge in edges:
                    decision = cam.decide(role, action, inside(resource), edge)
                    assert decision.allowed, (action, resource, edge, decision.reason)


@pytest.mark.parametrize("name", sorted(CONFIGS))
@settings(max_examples=examples(30))
@given(user=users, tenant=users)
def test_every_grant_for_any_user_is_inside_the_printed_policy(name, user, tenant):
    config = parse_config(CONFIGS[name](), make_env())
    role = role_policy(config)
    for profile in config.profiles.values():
        if profile.tickets_only:  # no keys: its tickets' signing key is checked below
            continue
        ask = CredentialRequest(profile, config.default_duration, None)
        grant = plan_grant(config, user, ask, None, {"tenant": tenant})
        values = {"cos:prefix": f"users%2F{user}%2F"} if config.listing_on_bucket else {}
        covered(role, grant.policy, values)


def test_the_ticket_signers_policy_is_inside_it_too():
    config = parse_config(shipped_config(), make_env())
    largest = max(p.tickets.max_size for p in config.profiles.values() if p.tickets)
    for kind in ("upload", "download"):
        covered(role_policy(config), signer_policy(config, kind=kind), size=largest)


@pytest.mark.parametrize("key", ["x.txt", "public/x.txt", "usersx/a.txt", ""])
def test_nothing_outside_the_roots(key):
    config = parse_config(shipped_config(), make_env())
    role = role_policy(config)
    resource = f"qcs::cos:{REGION}:uid/1250000000:{BUCKET}/{key}"
    for action in ("name/cos:PutObject", "name/cos:GetObject", "name/cos:GetBucket"):
        assert not cam.decide(role, action, resource, {}).allowed, (action, key)
    inside_root = f"qcs::cos:{REGION}:uid/1250000000:{BUCKET}/users/a/x"
    for action in ("name/cos:PutBucketACL", "name/cos:PutObjectACL", "name/cos:DeleteBucket"):
        assert not cam.decide(role, action, inside_root, {}).allowed, action


def test_assume_role_documents_name_both_roles():
    config = parse_config(shipped_config(), make_env())
    docs = cam_policy.documents(config, {"STS_ROLE_ARN": ROLE_ARN, "SCF_ROLE": "cos-sts-exec"})
    trust = docs["vending role trust policy"]["statement"][0]
    assert trust["principal"] == {"qcs": ["qcs::cam::uin/100000000001:roleName/cos-sts-exec"]}
    assert trust["action"] == ["name/sts:AssumeRole"]
    execution = docs["execution role policy (SCF_ROLE)"]["statement"]
    assert execution == [{"effect": "allow", "action": ["name/sts:AssumeRole"],
                          "resource": [ROLE_ARN]}]  # fmt: skip
    assert docs["execution role trust policy"]["statement"][0]["principal"] == {
        "service": ["scf.qcloud.com"]
    }
    assert docs["vending role policy (STS_ROLE_ARN)"]["statement"] == (
        cam_policy.cos_statements(config)
    )


def test_get_federation_token_gets_one_sub_account_policy():
    config = parse_config(shipped_config(), make_env())
    only, _deployer = cam_policy.documents(config, {}).values()  # + the COS triggers' rights
    assert only["statement"][0]["action"] == ["name/sts:GetFederationToken"]
    assert only["statement"][1:] == cam_policy.cos_statements(config)


def test_the_command_reads_dotenv_and_prints_json(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STS_", "COS_", "SCF_"))}
    env.update(COS_BUCKET="photos-1250000000", COS_REGION="ap-shanghai",
               STS_ROLE_ARN=ROLE_ARN, SCF_ROLE="cos-sts-exec")  # fmt: skip
    result = run_python("-m", "sts_tools", "cam-policy", "--json", env=env)
    docs = json.loads(result.stdout)
    assert len(docs) == 5  # the four roles' documents and the deployer's COS trigger rights
    resources = docs["vending role policy (STS_ROLE_ARN)"]["statement"][0]["resource"]
    assert resources == ["qcs::cos:ap-shanghai:uid/1250000000:photos-1250000000/users/*"]
    text = run_python("-m", "sts_tools", "cam-policy", env=env).stdout
    assert text.startswith("# vending role policy (STS_ROLE_ARN)\n{")


# -- the ceiling itself: what no issued key can do, the role cannot either ----------------


def decide(config, action, key, **values):
    resource = f"qcs::cos:{REGION}:uid/1250000000:{BUCKET}/{key}"
    return cam.decide(role_policy(config), action, resource, values).allowed


@pytest.mark.parametrize(
    ("values", "allowed"),
    [
        ({"cos:x-cos-acl": "private", "cos:x-cos-storage-class": "STANDARD"}, True),
        ({"cos:x-cos-acl": "public-read", "cos:x-cos-storage-class": "STANDARD"}, False),
        ({"cos:x-cos-acl": "private", "cos:x-cos-storage-class": "ARCHIVE"}, False),
        ({"cos:content-length": str(100 * 1024**2)}, True),  # the largest configured size
        ({"cos:content-length": str(100 * 1024**2 + 1)}, False),
        ({"cos:content-length": str(1024**4)}, False),
    ],
)
@pytest.mark.parametrize("action", ["name/cos:PutObject", "name/cos:PostObject"])
def test_the_role_pins_uploads_as_every_issued_policy_does(action, values, allowed):
    config = parse_config(shipped_config(), make_env())
    values = {"cos:content-length": "1", **values}
    assert decide(config, action, "users/a/x.jpg", **values) is allowed
    initiate = {k: v for k, v in values.items() if k != "cos:content-length"}
    if "cos:x-cos-acl" in values:
        assert decide(config, "name/cos:InitiateMultipartUpload", "users/a/x.jpg",
                      **initiate) is allowed  # fmt: skip


def test_an_uncapped_profile_leaves_the_role_uncapped():
    document = shipped_config()
    del document["profiles"]["upload"]["max_content_length"]
    config = parse_config(document, make_env())
    assert decide(config, "name/cos:PutObject", "users/a/x", **{"cos:content-length": str(10**12)})


def test_only_the_configured_actions_reach_each_root():
    document = shipped_config()
    del document["profiles"]["read-write"]  # the only profile that deletes
    config = parse_config(document, make_env())
    assert not decide(config, "name/cos:DeleteObject", "users/a/x.jpg")
    assert decide(config, "name/cos:GetObject", "users/a/x.jpg")
    full = parse_config(shipped_config(), make_env())
    assert decide(full, "name/cos:DeleteObject", "users/a/x.jpg")


def test_listings_on_the_bucket_only_where_a_profile_lists():
    document = listing_on_bucket()
    document["shared_roots"] = ["public/"]
    document["profiles"] = {
        "reader": {"grants": [{"root": "users/{uid}/", "actions": ["name/cos:GetBucket"]},
                              {"root": "public/", "actions": ["name/cos:GetObject"]}]},
    }  # fmt: skip
    document["default_profile"] = "reader"
    config = parse_config(document, make_env())
    listed = {"cos:prefix": "users%2Fa%2F"}
    assert decide(config, "name/cos:GetBucket", "", **listed)
    assert not decide(config, "name/cos:ListMultipartUploads", "", **listed)
    assert not decide(config, "name/cos:GetBucket", "", **{"cos:prefix": "public%2F"})
