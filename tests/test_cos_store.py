"""The local COS's state (sts_tools/emulators/cos/store.py), without HTTP.

Oracles are written here independently: md5 via hashlib, the multipart ETag
from its definition, listings from a naive grouping of the sorted keys.
"""

from __future__ import annotations

import hashlib
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sts_tools.emulators.cos import errors
from sts_tools.emulators.cos.request import byte_range
from sts_tools.emulators.cos.store import CosStore, Part, Upload
from tests.support import Clock

B = "examplebucket-1250000000"
MIN = 8  # a small minimum part size keeps the tests' bodies short


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(clock: Clock) -> CosStore:
    return CosStore(clock=clock, min_part_size=MIN)


def md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def multipart_etag(*bodies: bytes) -> str:
    digests = b"".join(hashlib.md5(body, usedforsecurity=False).digest() for body in bodies)
    return f"{md5(digests)}-{len(bodies)}"


# -- objects -----------------------------------------------------------------------


def test_put_then_get_returns_body_etag_type_metadata_and_time(store, clock):
    clock.now = 1_700_000_123.5
    put = store.put_object(B, "a/b.txt", b"hello", "text/plain", {"X-Cos-Meta-Owner": "alice"})
    got = store.get_object(B, "a/b.txt")
    assert got == put
    assert got.key == "a/b.txt"
    assert got.body == b"hello"
    assert got.etag == md5(b"hello")
    assert got.content_type == "text/plain"
    assert got.metadata == {"x-cos-meta-owner": "alice"}
    assert got.last_modified == 1_700_000_123.5


def test_put_overwrites_and_takes_the_new_time(store, clock):
    store.put_object(B, "k", b"one")
    clock.now += 60
    store.put_object(B, "k", b"two")
    got = store.get_object(B, "k")
    assert (got.body, got.etag, got.last_modified) == (b"two", md5(b"two"), clock.now)


def test_returned_metadata_cannot_change_the_store(store):
    store.put_object(B, "k", b"x", metadata={"x-cos-meta-a": "1"})
    store.get_object(B, "k").metadata["x-cos-meta-a"] = "changed"
    assert store.get_object(B, "k").metadata == {"x-cos-meta-a": "1"}


def test_body_is_copied_from_a_mutable_buffer(store):
    buffer = bytearray(b"abc")
    store.put_object(B, "k", buffer)
    buffer[:] = b"xyz"
    assert store.get_object(B, "k").body == b"abc"


def test_missing_key_and_other_bucket_are_no_such_key(store):
    store.put_object(B, "k", b"x")
    with pytest.raises(errors.NoSuchKey) as raised:
        store.get_object(B, "other")
    assert raised.value.status == 404
    with pytest.raises(errors.NoSuchKey):
        store.get_object("otherbucket-1250000000", "k")


def test_delete_removes_and_is_silent_when_absent(store):
    store.put_object(B, "k", b"x")
    store.delete_object(B, "k")
    with pytest.raises(errors.NoSuchKey):
        store.get_object(B, "k")
    store.delete_object(B, "k")
    store.delete_object("never-used-1250000000", "k")


def test_objects_lists_one_bucket_sorted(store):
    for key in ("b", "a/2", "a/1"):
        store.put_object(B, key, key.encode())
    store.put_object("other-1250000000", "z", b"")
    assert [stored.key for stored in store.objects(B)] == ["a/1", "a/2", "b"]
    assert store.objects("empty-1250000000") == []


def test_put_larger_than_the_limit_is_entity_too_large():
    store = CosStore(max_object_size=4)
    store.put_object(B, "k", b"1234")
    with pytest.raises(errors.EntityTooLarge):
        store.put_object(B, "k", b"12345")


def test_reset_forgets_objects_and_uploads(store):
    store.put_object(B, "k", b"x")
    upload_id = store.initiate_multipart_upload(B, "big")
    store.reset()
    assert store.objects(B) == []
    assert store.list_multipart_uploads(B) == []
    with pytest.raises(errors.NoSuchUpload):
        store.upload_part(B, "big", upload_id, 1, b"x")


# -- multipart ---------------------------------------------------------------------


def upload_parts(store: CosStore, key: str, *bodies: bytes) -> tuple[str, list[tuple[int, str]]]:
    upload_id = store.initiate_multipart_upload(B, key)
    listed = [
        (number, store.upload_part(B, key, upload_id, number, body))
        for number, body in enumerate(bodies, 1)
    ]
    return upload_id, listed


def test_complete_joins_parts_with_the_md5_n_etag(store, clock):
    parts = (b"A" * MIN, b"B" * (MIN + 3), b"tail")
    upload_id, listed = upload_parts(store, "big.bin", *parts)
    assert [etag for _, etag in listed] == [md5(body) for body in parts]
    clock.now += 5
    stored = store.complete_multipart_upload(B, "big.bin", upload_id, listed)
    assert stored.body == b"".join(parts)
    assert stored.etag == multipart_etag(*parts)
    assert stored.etag.endswith("-3")
    assert stored.last_modified == clock.now
    assert store.get_object(B, "big.bin") == stored


def test_complete_keeps_type_and_metadata_from_initiate(store):
    upload_id = store.initiate_multipart_upload(B, "k", "video/mp4", {"X-Cos-Meta-Id": "7"})
    etag = store.upload_part(B, "k", upload_id, 1, b"only")
    stored = store.complete_multipart_upload(B, "k", upload_id, [(1, etag)])
    assert (stored.content_type, stored.metadata) == ("video/mp4", {"x-cos-meta-id": "7"})


def test_etags_match_with_quotes_and_whitespace(store):
    upload_id, listed = upload_parts(store, "k", b"1" * MIN, b"2")
    quoted = [(number, f' "{etag}" ') for number, etag in listed]
    assert store.complete_multipart_upload(B, "k", upload_id, quoted).body == b"1" * MIN + b"2"


def test_parts_not_listed_are_dropped(store):
    upload_id, listed = upload_parts(store, "k", b"1" * MIN, b"2" * MIN, b"3")
    stored = store.complete_multipart_upload(B, "k", upload_id, [listed[0], listed[2]])
    assert stored.body == b"1" * MIN + b"3"
    assert stored.etag == multipart_etag(b"1" * MIN, b"3")


def test_gaps_in_part_numbers_are_allowed(store):
    upload_id = store.initiate_multipart_upload(B, "k")
    first = store.upload_part(B, "k", upload_id, 2, b"a" * MIN)
    last = store.upload_part(B, "k", upload_id, 10_000, b"z")
    stored = store.complete_multipart_upload(B, "k", upload_id, [(2, first), (10_000, last)])
    assert stored.body == b"a" * MIN + b"z"


def test_reupload_of_a_part_number_overwrites(store):
    upload_id = store.initiate_multipart_upload(B, "k")
    old = store.upload_part(B, "k", upload_id, 1, b"old-body")
    new = store.upload_part(B, "k", upload_id, 1, b"new")
    parts, _ = store.list_parts(B, "k", upload_id)
    assert [(part.number, part.etag, part.size) for part in parts] == [(1, new, 3)]
    with pytest.raises(errors.InvalidPart):
        store.complete_multipart_upload(B, "k", upload_id, [(1, old)])
    assert store.complete_multipart_upload(B, "k", upload_id, [(1, new)]).body == b"new"


@pytest.mark.parametrize(
    "order",
    [[2, 1], [1, 1], [1, 3, 2]],
    ids=["descending", "repeated", "out-of-place"],
)
def test_parts_out_of_ascending_order_are_invalid_part_order(store, order):
    upload_id, listed = upload_parts(store, "k", b"1" * MIN, b"2" * MIN, b"3" * MIN)
    by_number = dict(listed)
    with pytest.raises(errors.InvalidPartOrder) as raised:
        store.complete_multipart_upload(B, "k", upload_id, [(n, by_number[n]) for n in order])
    assert raised.value.status == 400


def test_unknown_part_or_wrong_etag_is_invalid_part(store):
    upload_id, listed = upload_parts(store, "k", b"1" * MIN, b"2")
    with pytest.raises(errors.InvalidPart):
        store.complete_multipart_upload(B, "k", upload_id, [listed[0], (3, listed[1][1])])
    with pytest.raises(errors.InvalidPart):
        store.complete_multipart_upload(B, "k", upload_id, [listed[0], (2, md5(b"other"))])
    with pytest.raises(errors.InvalidPart):
        store.complete_multipart_upload(B, "k", upload_id, [listed[0], (2, "")])


def test_a_short_part_before_the_last_is_entity_too_small(store):
    upload_id, listed = upload_parts(store, "k", b"1" * MIN, b"2" * (MIN - 1), b"3")
    with pytest.raises(errors.EntityTooSmall) as raised:
        store.complete_multipart_upload(B, "k", upload_id, listed)
    assert raised.value.status == 400
    assert "part 2" in raised.value.detail


def test_a_short_last_part_and_a_single_short_part_are_fine(store):
    upload_id, listed = upload_parts(store, "k", b"1" * MIN, b"2" * (MIN - 1))
    assert len(store.complete_multipart_upload(B, "k", upload_id, listed).body) == 2 * MIN - 1
    upload_id, listed = upload_parts(store, "one", b"x")
    assert store.complete_multipart_upload(B, "one", upload_id, listed).etag == multipart_etag(b"x")


def test_the_default_minimum_part_size_is_one_mib():
    store = CosStore()
    upload_id = store.initiate_multipart_upload(B, "k")
    first = store.upload_part(B, "k", upload_id, 1, b"a" * (1024 * 1024 - 1))
    last = store.upload_part(B, "k", upload_id, 2, b"b")
    with pytest.raises(errors.EntityTooSmall):
        store.complete_multipart_upload(B, "k", upload_id, [(1, first), (2, last)])
    first = store.upload_part(B, "k", upload_id, 1, b"a" * (1024 * 1024))
    assert store.complete_multipart_upload(B, "k", upload_id, [(1, first), (2, last)])


def test_an_empty_part_list_is_malformed(store):
    upload_id, _ = upload_parts(store, "k", b"x")
    with pytest.raises(errors.MalformedXML):
        store.complete_multipart_upload(B, "k", upload_id, [])


def test_a_failed_complete_leaves_the_upload_in_place(store):
    upload_id, listed = upload_parts(store, "k", b"1", b"2")
    with pytest.raises(errors.EntityTooSmall):
        store.complete_multipart_upload(B, "k", upload_id, listed)
    with pytest.raises(errors.NoSuchKey):
        store.get_object(B, "k")
    assert store.complete_multipart_upload(B, "k", upload_id, listed[:1]).body == b"1"


def test_a_completed_upload_is_gone(store):
    upload_id, listed = upload_parts(store, "k", b"x")
    store.complete_multipart_upload(B, "k", upload_id, listed)
    assert store.list_multipart_uploads(B) == []
    assert_upload_gone(store, "k", upload_id, listed)


def test_an_aborted_upload_is_gone_and_leaves_no_object(store):
    upload_id, listed = upload_parts(store, "k", b"x")
    store.abort_multipart_upload(B, "k", upload_id)
    assert store.list_multipart_uploads(B) == []
    with pytest.raises(errors.NoSuchKey):
        store.get_object(B, "k")
    assert_upload_gone(store, "k", upload_id, listed)


def assert_upload_gone(store: CosStore, key: str, upload_id: str, listed, bucket: str = B) -> None:
    with pytest.raises(errors.NoSuchUpload):
        store.upload_part(bucket, key, upload_id, 1, b"x")
    with pytest.raises(errors.NoSuchUpload):
        store.complete_multipart_upload(bucket, key, upload_id, listed)
    with pytest.raises(errors.NoSuchUpload):
        store.abort_multipart_upload(bucket, key, upload_id)
    with pytest.raises(errors.NoSuchUpload):
        store.list_parts(bucket, key, upload_id)


@pytest.mark.parametrize(
    ("bucket", "key", "upload_id"),
    [(B, "k", "made-up"), (B, "other-key", None), ("other-1250000000", "k", None)],
    ids=["unknown-id", "id-of-another-key", "id-of-another-bucket"],
)
def test_an_upload_is_found_only_by_its_bucket_key_and_id(store, bucket, key, upload_id):
    real, listed = upload_parts(store, "k", b"x")
    upload_id = upload_id or real
    assert_upload_gone(store, key, upload_id, listed, bucket)
    # ...and the real upload was not touched by those attempts.
    assert store.complete_multipart_upload(B, "k", real, listed).body == b"x"


@pytest.mark.parametrize("number", [0, -1, 10_001])
def test_part_numbers_outside_1_to_10000_are_invalid_argument(store, number):
    upload_id = store.initiate_multipart_upload(B, "k")
    with pytest.raises(errors.InvalidArgument) as raised:
        store.upload_part(B, "k", upload_id, number, b"x")
    assert raised.value.status == 400
    assert "10000" in raised.value.message


def test_a_part_larger_than_the_limit_is_entity_too_large():
    store = CosStore(max_object_size=4)
    upload_id = store.initiate_multipart_upload(B, "k")
    store.upload_part(B, "k", upload_id, 1, b"1234")
    with pytest.raises(errors.EntityTooLarge):
        store.upload_part(B, "k", upload_id, 2, b"12345")


def test_upload_ids_are_distinct_random_and_sort_in_creation_order(clock):
    first, second = CosStore(clock=clock), CosStore(clock=clock)
    ids = [first.initiate_multipart_upload(B, "same") for _ in range(50)]
    assert len(set(ids)) == 50
    assert sorted(ids) == ids  # same clock second, still creation order
    assert [upload.upload_id for upload in first.list_multipart_uploads(B)] == ids
    # Same clock, same position in the sequence, different store: a different id,
    # so the id is not derivable from what a client can know.
    twin = second.initiate_multipart_upload(B, "same")
    assert twin != ids[0]
    assert len(twin) >= 40


def test_list_parts_pages_by_marker(store, clock):
    upload_id = store.initiate_multipart_upload(B, "k")
    for number in (3, 1, 5, 2):
        clock.now = 1_700_000_000 + number
        store.upload_part(B, "k", upload_id, number, b"p" * number)
    page, truncated = store.list_parts(B, "k", upload_id)
    assert page == [Part(n, md5(b"p" * n), n, 1_700_000_000 + n) for n in (1, 2, 3, 5)]
    assert truncated is False
    page, truncated = store.list_parts(B, "k", upload_id, marker=1, max_parts=2)
    assert ([part.number for part in page], truncated) == ([2, 3], True)
    page, truncated = store.list_parts(B, "k", upload_id, marker=3, max_parts=2)
    assert ([part.number for part in page], truncated) == ([5], False)
    assert store.list_parts(B, "k", upload_id, marker=5) == ([], False)
    with pytest.raises(errors.InvalidArgument):
        store.list_parts(B, "k", upload_id, marker=-1)
    with pytest.raises(errors.InvalidArgument):
        store.list_parts(B, "k", upload_id, max_parts=-1)


def test_list_multipart_uploads_filters_by_prefix_and_sorts_by_key(store, clock):
    ids = {}
    for key in ("users/bob/x", "users/alice/b", "users/alice/a", "other"):
        clock.now += 1
        ids[key] = store.initiate_multipart_upload(B, key)
    store.initiate_multipart_upload("other-1250000000", "users/alice/z")
    uploads = store.list_multipart_uploads(B, "users/alice/")
    assert uploads == [
        Upload("users/alice/a", ids["users/alice/a"], 1_700_000_003.0),
        Upload("users/alice/b", ids["users/alice/b"], 1_700_000_002.0),
    ]
    assert [upload.key for upload in store.list_multipart_uploads(B)] == [
        "other",
        "users/alice/a",
        "users/alice/b",
        "users/bob/x",
    ]


def test_parts_uploaded_from_many_threads_all_land(clock):
    store = CosStore(clock=clock, min_part_size=MIN)
    upload_id = store.initiate_multipart_upload(B, "k")
    bodies = {number: bytes([number]) * (MIN + number) for number in range(1, 65)}
    start = threading.Barrier(8)
    failures: list[BaseException] = []

    def worker(numbers: list[int]) -> None:
        try:
            start.wait()
            for number in numbers:
                # Each number twice: the second upload must win, whatever the interleaving.
                store.upload_part(B, "k", upload_id, number, b"stale")
                store.upload_part(B, "k", upload_id, number, bodies[number])
        except BaseException as error:  # surfaced in the main thread below
            failures.append(error)

    threads = [threading.Thread(target=worker, args=(list(range(i, 65, 8)),)) for i in range(1, 9)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    parts, truncated = store.list_parts(B, "k", upload_id)
    assert [part.number for part in parts] == list(range(1, 65))
    assert not truncated
    listed = [(number, md5(bodies[number])) for number in range(1, 65)]
    stored = store.complete_multipart_upload(B, "k", upload_id, listed)
    assert stored.body == b"".join(bodies[number] for number in range(1, 65))
    assert stored.etag == multipart_etag(*(bodies[number] for number in range(1, 65)))


def test_concurrent_uploads_to_different_keys_stay_apart(store):
    start = threading.Barrier(4)

    def worker(index: int) -> None:
        start.wait()
        key = f"k{index}"
        upload_id, listed = upload_parts(store, key, bytes([index]) * MIN, b"end")
        store.complete_multipart_upload(B, key, upload_id, listed)

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [stored.body for stored in store.objects(B)] == [
        bytes([index]) * MIN + b"end" for index in range(4)
    ]


# -- byte ranges ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        (None, 10, None),
        ("", 10, None),
        ("bytes=0-0", 10, (0, 0)),
        ("bytes=0-9", 10, (0, 9)),
        ("bytes=2-5", 10, (2, 5)),
        ("bytes=2-500", 10, (2, 9)),  # the end is clamped
        ("bytes=9-", 10, (9, 9)),
        ("bytes=3-", 10, (3, 9)),
        ("bytes=-3", 10, (7, 9)),
        ("bytes=-10", 10, (0, 9)),
        ("bytes=-500", 10, (0, 9)),  # a suffix longer than the object is all of it
        ("Bytes=1-2", 10, (1, 2)),  # the unit is case-insensitive (RFC 7233 §2)
        (" bytes=1-2 ", 10, (1, 2)),
        ("bytes=01-02", 10, (1, 2)),
        # Forms that are ignored: the whole object is sent.
        ("bytes=5-2", 10, None),  # last < first
        ("bytes=0-1,4-5", 10, None),  # several ranges
        ("bytes=-", 10, None),
        ("bytes=", 10, None),
        ("bytes=a-b", 10, None),
        ("bytes=+1-2", 10, None),
        ("bytes=1-+2", 10, None),
        ("bytes=1_0-20", 10, None),
        ("bytes=\u00b2-3", 10, None),  # superscript two: isdigit() says yes
        ("bytes=1 - 2", 10, None),
        ("bytes=1", 10, None),
        ("items=0-1", 10, None),
        ("bytes 0-1", 10, None),
        ("0-1", 10, None),
    ],
)
def test_byte_range(header, size, expected):
    assert byte_range(header, size) == expected


@pytest.mark.parametrize(
    ("header", "size"),
    [
        ("bytes=10-", 10),
        ("bytes=10-20", 10),
        ("bytes=100-", 10),
        ("bytes=-0", 10),
        ("bytes=0-", 0),
        ("bytes=0-0", 0),
        ("bytes=-1", 0),
    ],
)
def test_unsatisfiable_ranges_are_invalid_range(header, size):
    with pytest.raises(errors.InvalidRange) as raised:
        byte_range(header, size)
    assert raised.value.status == 416


@given(size=st.integers(0, 50), first=st.integers(0, 60), last=st.integers(0, 60))
def test_a_satisfiable_range_selects_what_slicing_selects(size, first, last):
    data = bytes(range(size))
    header = f"bytes={first}-{last}"
    if last < first:
        assert byte_range(header, size) is None
    elif first >= size:
        with pytest.raises(errors.InvalidRange):
            byte_range(header, size)
    else:
        start, end = byte_range(header, size)
        assert data[start : end + 1] == data[first : last + 1]


# -- listing ---------------------------------------------------------------------------


def keys_and_prefixes(page) -> tuple[list[str], list[str]]:
    return [stored.key for stored in page.objects], page.common_prefixes


def test_list_objects_by_prefix_and_delimiter(store):
    keys = ["users/alice/a.txt", "users/alice/docs/1", "users/alice/docs/2",
            "users/alice/pics/x", "users/bob/b", "users/alice.txt", "readme"]  # fmt: skip
    for key in keys:
        store.put_object(B, key, b"")
    page = store.list_objects(B, prefix="users/alice/", delimiter="/")
    assert keys_and_prefixes(page) == (
        ["users/alice/a.txt"],
        ["users/alice/docs/", "users/alice/pics/"],
    )
    assert (page.truncated, page.next_marker) == (False, "")
    page = store.list_objects(B, delimiter="/")
    assert keys_and_prefixes(page) == (["readme"], ["users/"])
    page = store.list_objects(B, prefix="users/alice")
    assert keys_and_prefixes(page)[0] == [
        "users/alice.txt",
        "users/alice/a.txt",
        "users/alice/docs/1",
        "users/alice/docs/2",
        "users/alice/pics/x",
    ]
    assert page.common_prefixes == []


def test_list_objects_returns_copies_with_bodies(store, clock):
    store.put_object(B, "k", b"abc", "text/plain")
    (stored,) = store.list_objects(B).objects
    assert (stored.body, stored.etag, stored.last_modified) == (b"abc", md5(b"abc"), clock.now)


def test_a_multi_character_delimiter(store):
    for key in ("a--b--c", "a--d", "a-e"):
        store.put_object(B, key, b"")
    page = store.list_objects(B, delimiter="--")
    assert keys_and_prefixes(page) == (["a-e"], ["a--"])
    page = store.list_objects(B, prefix="a--", delimiter="--")
    assert keys_and_prefixes(page) == (["a--d"], ["a--b--"])


def test_truncation_counts_prefixes_and_sets_next_marker(store):
    for key in ("a/1", "a/2", "b", "c/1", "d"):
        store.put_object(B, key, b"")
    page = store.list_objects(B, delimiter="/", max_keys=2)
    assert keys_and_prefixes(page) == (["b"], ["a/"])
    assert (page.truncated, page.next_marker) == (True, "b")
    page = store.list_objects(B, delimiter="/", max_keys=2, marker=page.next_marker)
    assert keys_and_prefixes(page) == (["d"], ["c/"])
    assert (page.truncated, page.next_marker) == (False, "")


def test_a_marker_on_a_common_prefix_skips_that_prefix(store):
    for key in ("a/1", "a/2", "b"):
        store.put_object(B, key, b"")
    page = store.list_objects(B, delimiter="/", max_keys=1)
    assert (keys_and_prefixes(page), page.next_marker) == (([], ["a/"]), "a/")
    page = store.list_objects(B, delimiter="/", marker="a/")
    assert keys_and_prefixes(page) == (["b"], [])
    # A marker inside a prefix (e.g. from a listing without delimiter) skips it too.
    page = store.list_objects(B, delimiter="/", marker="a/1")
    assert keys_and_prefixes(page) == (["b"], [])


def test_exactly_max_keys_entries_is_not_truncated(store):
    for key in ("a", "b"):
        store.put_object(B, key, b"")
    page = store.list_objects(B, max_keys=2)
    assert (keys_and_prefixes(page)[0], page.truncated) == (["a", "b"], False)


def test_max_keys_zero_negative_and_above_1000(store):
    for index in range(1001):
        store.put_object(B, f"k{index:04d}", b"")
    assert store.list_objects(B, max_keys=0) == ([], [], False, "")
    with pytest.raises(errors.InvalidArgument):
        store.list_objects(B, max_keys=-1)
    page = store.list_objects(B, max_keys=5000)
    assert (len(page.objects), page.truncated, page.next_marker) == (1000, True, "k0999")


def test_keys_are_listed_in_utf8_byte_order(store):
    # UTF-16 order would put U+10000 (a surrogate pair, 0xD800...) before U+FF61.
    keys = ["\U00010000", "\uff61", "~", "a", "\u00e9", "A", "a/b", "a b", "\u4e2d"]
    for key in keys:
        store.put_object(B, key, b"")
    listed = keys_and_prefixes(store.list_objects(B))[0]
    assert listed == sorted(keys, key=lambda key: key.encode("utf-8"))
    assert listed.index("\uff61") < listed.index("\U00010000")
    assert [stored.key for stored in store.objects(B)] == listed


def naive_listing(keys: set[str], prefix: str, delimiter: str) -> list[str]:
    """Every entry of a full listing, in order: a key, or a common prefix once."""
    entries: list[str] = []
    for key in sorted(keys, key=lambda key: key.encode("utf-8")):
        if not key.startswith(prefix):
            continue
        rest = key[len(prefix) :]
        if delimiter and delimiter in rest:
            common = prefix + rest[: rest.index(delimiter) + len(delimiter)]
            if common not in entries:
                entries.append(common)
        else:
            entries.append(key)
    return entries


@given(
    keys=st.sets(st.text("ab/", min_size=1, max_size=5), max_size=25),
    prefix=st.text("ab/", max_size=2),
    delimiter=st.sampled_from(["", "/", "b", "/a"]),
    max_keys=st.integers(1, 4),
)
def test_paging_with_next_marker_walks_the_naive_listing(keys, prefix, delimiter, max_keys):
    store = CosStore(clock=Clock())
    for key in keys:
        store.put_object(B, key, b"")
    walked: list[str] = []
    marker = ""
    for _ in range(len(keys) + 1):
        page = store.list_objects(B, prefix, delimiter, marker, max_keys)
        entries = [stored.key for stored in page.objects] + page.common_prefixes
        assert len(entries) <= max_keys
        walked.extend(sorted(entries, key=lambda entry: entry.encode("utf-8")))
        if not page.truncated:
            break
        assert page.next_marker == max(entries, key=lambda entry: entry.encode("utf-8"))
        marker = page.next_marker
    else:
        pytest.fail("the listing never ended")
    assert walked == naive_listing(keys, prefix, delimiter)
