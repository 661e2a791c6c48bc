"""Configuration: the shipped file works, and every dangerous or mistyped value fails
closed with a message that names the key."""

from __future__ import annotations

import copy
import json
import os
import pathlib

import pytest

from sts_core.config_loading import load_config
from sts_core.config_section import ConfigError
from sts_core.config_validation import parse_config
from tests.support import JWT_SECRET, ROOT, make_env, shipped_config


def parse(mutate=None, **env):
    document = copy.deepcopy(shipped_config())
    if mutate:
        mutate(document)
    return parse_config(document, make_env(**env))


def refused(mutate=None, **env):
    with pytest.raises(ConfigError) as caught:
        parse(mutate, **env)
    return caught.value


def test_shipped_config_works_with_env_only():
    config = load_config(f"{ROOT}/config.yml", make_env())
    assert config.bucket == "examplebucket-1250000000"
    assert config.appid == "1250000000"
    assert config.region == "ap-guangzhou"
    assert config.prefix_template == "users/{uid}/"
    assert set(config.profiles) == {"upload", "download", "avatar", "read-write"}
    assert config.default_profile == "upload"
    upload = config.profiles["upload"].actions
    assert "name/cos:AbortMultipartUpload" in upload
    assert "name/cos:PostObject" in upload
    assert config.profiles["download"].actions == (
        "name/cos:GetObject",
        "name/cos:HeadObject",
        "name/cos:GetBucket",
    )
    assert config.sts.action == "GetFederationToken"
    assert config.auth.algorithms == ("HS256",)


def test_env_overrides_the_file():
    def set_values(doc):
        doc.update(bucket="filebucket-1250000001", region="ap-beijing")
        doc["auth"].update(issuer="https://file", audience="file-aud")

    config = parse(
        set_values,
        COS_BUCKET="envbucket-1250000002",
        COS_REGION="ap-shanghai",
        STS_JWT_ISSUER="https://env",
        STS_JWT_AUDIENCE="env-aud",
    )
    assert (config.bucket, config.appid, config.region) == (
        "envbucket-1250000002",
        "1250000002",
        "ap-shanghai",
    )
    assert (config.auth.issuer, config.auth.audience) == ("https://env", "env-aud")
    file_only = parse(set_values, COS_BUCKET=None, COS_REGION=None)
    assert (file_only.bucket, file_only.region) == ("filebucket-1250000001", "ap-beijing")


def test_role_arn_switches_to_assume_role_and_its_limits():
    arn = "qcs::cam::uin/100000000001:roleName/cos-vendor"
    config = parse(STS_ROLE_ARN=arn)
    assert (config.sts.action, config.sts.role_arn) == ("AssumeRole", arn)
    error = refused(lambda d: d["duration"].update(max=43201), STS_ROLE_ARN=arn)
    assert error.key == "duration.max"
    assert parse(lambda d: d["duration"].update(max=129600)).max_duration == 129600
    assert refused(STS_ROLE_ARN="arn:aws:iam::1:role/x").key == "STS_ROLE_ARN"


def profile_actions(*actions):
    return lambda d: d["profiles"]["upload"].update(actions=list(actions))


@pytest.mark.parametrize(
    ("mutate", "key", "words"),
    [
        (profile_actions("*"), "profiles.upload.actions[0]", "wildcard"),
        (profile_actions("name/cos:*"), "profiles.upload.actions[0]", "wildcard"),
        (profile_actions("name/cos:Get*"), "profiles.upload.actions[0]", "wildcard"),
        (profile_actions("cos:PutObject"), "profiles.upload.actions[0]", "name/cos:<Action>"),
        (profile_actions("name/cvm:RunInstances"), "profiles.upload.actions[0]",
         "not a COS action"),
        (profile_actions("name/cos:PutObject", "name/cos:GetBucketACL"),
         "profiles.upload.actions[1]", "bucket-level"),
        (profile_actions("name/cos:PutObject", "name/cos:GetBucketAcl"),
         "profiles.upload.actions[1]", "GetBucketACL exists but is never granted"),
        (profile_actions("name/cos:PutObjcet"), "profiles.upload.actions[0]",
         "did you mean name/cos:PutObject?"),
        (profile_actions("PutObject"), "profiles.upload.actions[0]",
         "did you mean name/cos:PutObject?"),
        (profile_actions("name/cos:PutObjectACL"), "profiles.upload.actions[0]",
         "make objects public"),
        (profile_actions("name/cos:GetService"), "profiles.upload.actions[0]", "bucket-level"),
        (profile_actions(), "profiles.upload.actions", "at least one"),
        (lambda d: d["prefix"].update(user_id_pattern="(unclosed"), "prefix.user_id_pattern",
         "regex"),
        (lambda d: d.update(default_profile="admin"), "default_profile", "no profile"),
        (lambda d: d["duration"].update(max=129601), "duration.max", "between"),
        (lambda d: d["duration"].update(default=100), "duration", "min <= default"),
        (lambda d: d["duration"].update(min="900"), "duration.min", "integer"),
        (lambda d: d["profiles"]["download"].update(max_content_length=10),
         "profiles.download.max_content_length", "no action"),
        (lambda d: d["profiles"]["download"].update(content_types=["image/png"]),
         "profiles.download.content_types", "no action"),
        (lambda d: d["profiles"]["upload"].update(content_types=["image/*;x"]),
         "profiles.upload.content_types[0]", "media type"),
        (lambda d: d["profiles"]["upload"].update(max_duration=99999),
         "profiles.upload.max_duration", "between"),
        (lambda d: d["profiles"].update({"Bad Name": {"actions": ["name/cos:GetObject"]}}),
         "profiles.Bad Name", "profile names"),
        (lambda d: d.update(profiles={}), "profiles", "at least one"),
        (lambda d: d["profiles"]["upload"].update(action=["x"]), "profiles.upload.action",
         "unknown key"),
        (lambda d: d.update(bukcet="x"), "bukcet", "unknown key"),
        (lambda d: d["auth"].update(algorithms=["none"]), "auth.algorithms", "unsigned"),
        (lambda d: d["auth"].update(algorithms=["RS256"]), "auth.algorithms", "needs a key set"),
        (lambda d: d["auth"].update(algorithms=[]), "auth.algorithms", "at least one"),
        (lambda d: d["auth"].update(leeway=3600), "auth.leeway", "between"),
        (lambda d: d["cors"].update(allowed_origins=["https://app.example.com/"]),
         "cors.allowed_origins[0]", "without a path"),
        (lambda d: d["limits"].update(max_policy_chars=100000), "limits.max_policy_chars",
         "between"),
        (lambda d: d["sts"].update(max_attempts=True), "sts.max_attempts", "integer"),
        (lambda d: d.update(path="sts"), "path", "start with"),
        (lambda d: d.update(sts=[1, 2]), "sts", "mapping"),
        (lambda d: d["profiles"].update({1: {"actions": ["name/cos:GetObject"]}}), "profiles.1",
         "strings"),
    ],
)  # fmt: skip
def test_refusals_name_the_key(mutate, key, words):
    error = refused(mutate)
    assert error.key == key
    assert words in str(error)


@pytest.mark.parametrize(
    ("template", "words"),
    [
        ("*", "{uid}"),
        ("users/{uid}/*", "end with"),
        ("users/", "{uid}"),
        ("users/{uid}", "end with '/'"),
        ("/users/{uid}/", "start"),
        ("users/u-{uid}/", "segment"),
        ("{uid}/{uid}/", "exactly once"),
        ("a/../{uid}/", ".."),
        ("a//{uid}/", "empty"),
        ("${uin}/{uid}/", "braced"),
        ("cash$/{uid}/", "$"),
        ("a/{x}/{uid}/", "braced"),
        ("", "must be set"),
    ],
)
def test_unsafe_prefix_templates_are_refused(template, words):
    error = refused(lambda d: d["prefix"].update(template=template))
    assert error.key == "prefix.template"
    assert words in str(error)


@pytest.mark.parametrize(
    ("env", "key"),
    [
        ({"COS_BUCKET": None}, "bucket"),
        ({"COS_BUCKET": "NoAppId"}, "bucket"),
        ({"COS_BUCKET": "bucket-12ab"}, "bucket"),
        ({"COS_REGION": None}, "region"),
        ({"COS_REGION": "Guangzhou"}, "region"),
        ({"STS_JWT_SECRET": None}, "STS_JWT_SECRET"),
        ({"STS_JWT_SECRET": "short-secret"}, "STS_JWT_SECRET"),
        ({"STS_ENDPOINT": "sts.tencentcloudapi.com"}, "STS_ENDPOINT"),
        ({"STS_ENDPOINT": "http://sts.tencentcloudapi.com"}, "STS_ENDPOINT"),
    ],
)
def test_environment_problems_name_the_variable(env, key):
    assert refused(**env).key == key


def test_endpoint_from_the_file_is_validated_too():
    error = refused(lambda d: d["sts"].update(endpoint="ftp://sts"), STS_ENDPOINT=None)
    assert error.key == "sts.endpoint"
    config = parse(
        lambda d: d["sts"].update(endpoint="https://sts.internal.tencentcloudapi.com"),
        STS_ENDPOINT=None,
    )
    assert config.sts.endpoint == "https://sts.internal.tencentcloudapi.com"


def test_hmac_secret_must_match_the_longest_configured_hash():
    hs512 = lambda d: d["auth"].update(algorithms=["HS256", "HS512"])  # noqa: E731
    error = refused(hs512, STS_JWT_SECRET="k" * 63)
    assert (error.key, "64" in str(error)) == ("STS_JWT_SECRET", True)
    assert parse(hs512, STS_JWT_SECRET="k" * 64).auth.algorithms == ("HS256", "HS512")


def test_secret_value_never_appears_in_errors():
    error = refused(STS_JWT_SECRET="tooshort-but-secret")
    assert "tooshort-but-secret" not in str(error)
    assert JWT_SECRET not in str(refused(lambda d: d.update(bukcet=1)))


def test_unreadable_and_invalid_files(tmp_path):
    with pytest.raises(ConfigError, match="cannot read") as caught:
        load_config(str(tmp_path / "missing.yml"), make_env())
    assert caught.value.key == "STS_CONFIG"
    bad = tmp_path / "bad.yml"
    bad.write_text("profiles: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML at line"):
        load_config(str(bad), make_env())
    top = tmp_path / "list.yml"
    top.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(str(top), make_env())


def test_minimal_config_gets_safe_defaults():
    document = {"profiles": {"download": {"actions": ["name/cos:GetObject"]}}}
    config = parse_config(document, make_env())
    assert config.prefix_template == "users/{uid}/"
    assert config.default_profile == "download"
    assert (config.min_duration, config.default_duration, config.max_duration) == (900, 1800, 3600)
    assert config.cors_origins == ()
    assert config.path == "/sts"


# -- the compiled copy that lets cold starts skip PyYAML -------------------------------


def test_compiled_config_is_used_only_while_it_matches_the_yaml(tmp_path):
    from sts_core.config_loading import compile_config, compiled_path

    source = tmp_path / "config.yml"
    source.write_text((pathlib.Path(ROOT) / "config.yml").read_text(encoding="utf-8"))
    assert compile_config(str(source)) is True
    compiled = json.loads(pathlib.Path(compiled_path(str(source))).read_text(encoding="utf-8"))
    assert compiled["document"] == shipped_config()

    # Prove which one is read: change the compiled document, keep its hash.
    compiled["document"]["path"] = "/from-json"
    with open(compiled_path(str(source)), "w", encoding="utf-8") as handle:
        json.dump(compiled, handle)
    assert load_config(str(source), make_env()).path == "/from-json"

    # Editing config.yml (say, in SCF's online editor) makes the copy stale.
    source.write_text(source.read_text().replace("path: /sts", "path: /edited"))
    assert load_config(str(source), make_env()).path == "/edited"


def test_corrupt_compiled_copy_falls_back_to_yaml(tmp_path):
    from sts_core.config_loading import compiled_path

    source = tmp_path / "config.yml"
    source.write_text((pathlib.Path(ROOT) / "config.yml").read_text(encoding="utf-8"))
    for junk in ("not json", "[1, 2]", '{"source_sha256": 5}'):
        with open(compiled_path(str(source)), "w", encoding="utf-8") as handle:
            handle.write(junk)
        assert load_config(str(source), make_env()).path == "/sts"


def test_documents_json_cannot_represent_faithfully_are_not_compiled(tmp_path):
    from sts_core.config_loading import compile_config, compiled_path

    source = tmp_path / "config.yml"
    source.write_text("profiles:\n  1:\n    actions: [name/cos:GetObject]\n")
    assert compile_config(str(source)) is False  # JSON would turn the key 1 into "1"
    assert not os.path.exists(compiled_path(str(source)))
    with pytest.raises(ConfigError, match="strings"):
        load_config(str(source), make_env())
