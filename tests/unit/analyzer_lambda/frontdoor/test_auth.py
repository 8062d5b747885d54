"""Who may call the API: a bearer key whose SHA-256 digest is stored, compared in constant
time; an IAM principal the function URL authenticated; nobody else."""

from __future__ import annotations

import hmac

import pytest

from analyzer_lambda.frontdoor.auth import authenticate, hash_key, new_key
from analyzer_lambda.frontdoor.http import ApiError, Request

KEY = "rs_right-key"
DIGESTS = (hash_key("rs_other-key"), hash_key(KEY), hash_key("rs_third"))


def _request(**headers: str) -> Request:
    return Request("GET", "/runs", headers=headers)


def test_a_request_without_a_key_is_refused_with_a_bearer_challenge() -> None:
    with pytest.raises(ApiError) as info:
        authenticate(_request(), mode="key", digests=DIGESTS)
    assert info.value.status == 401
    assert info.value.code == "unauthenticated"
    assert "Authorization: Bearer" in info.value.message
    assert info.value.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", ["Bearer rs_wrong", "Bearer " + hash_key(KEY), "Basic " + KEY])
def test_a_wrong_key_or_scheme_is_refused(header: str) -> None:
    # the stored digest itself is not a key either
    with pytest.raises(ApiError) as info:
        authenticate(_request(authorization=header), mode="key", digests=DIGESTS)
    assert info.value.status == 401


def test_the_right_key_names_the_caller_by_its_digest_not_the_key() -> None:
    caller = authenticate(_request(authorization=f"bearer  {KEY} "), mode="key", digests=DIGESTS)
    assert caller.kind == "key"
    assert caller.id == f"key:{hash_key(KEY)[:12]}"
    assert KEY not in caller.id


def test_no_stored_digest_means_no_key_is_valid() -> None:
    with pytest.raises(ApiError):
        authenticate(_request(authorization=f"Bearer {KEY}"), mode="key", digests=())


def test_every_digest_is_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    authenticate(_request(authorization=f"Bearer {KEY}"), mode="key", digests=DIGESTS)
    # all three, not stopping at the match: the time does not tell which one matched
    assert [b.decode() for _, b in compared] == list(DIGESTS)
    assert {a for a, _ in compared} == {hash_key(KEY).encode()}


def test_iam_mode_trusts_the_principal_of_the_function_url_and_refuses_without_one() -> None:
    signed = Request("GET", "/runs", identity="arn:aws:iam::123456789012:user/ana")
    assert authenticate(signed, mode="iam", digests=()).id == signed.identity
    with pytest.raises(ApiError) as info:
        authenticate(_request(authorization=f"Bearer {KEY}"), mode="iam", digests=DIGESTS)
    assert info.value.status == 401
    assert "SigV4" in info.value.message


def test_new_keys_are_long_and_random() -> None:
    keys = {new_key() for _ in range(20)}
    assert len(keys) == 20
    assert all(len(k) > 40 for k in keys)
