"""Operation polling and admission waits (contract item 21), with a fake clock."""

from __future__ import annotations

from typing import Any

import pytest

from thalovant.control.client import AsyncThalovantControlPlane, BootstrapIdentityResult
from thalovant.control.models import OperationResource
from thalovant.errors import (
    ThalovantAdmissionFailedError,
    ThalovantAdmissionTimeoutError,
    ThalovantAPIError,
    ThalovantAPIUnreachableError,
    ThalovantAuthError,
    ThalovantTimeoutError,
)
from thalovant.identity.model import ThalovantIdentity

from .conftest import Canned, FakeAPI, FakeTime

pytestmark = pytest.mark.anyio

OP_PATH = "/v1/operations/op_1"


def op(status: str, **extra: Any) -> Canned:
    return Canned(200, {"id": "op_1", "kind": "client.create", "status": status, **extra})


def result_with(operation: dict[str, Any] | None) -> BootstrapIdentityResult:
    identity = ThalovantIdentity.from_mapping(
        {
            "access_key": "k" * 43,
            "password": "p" * 43,
            "site_id": "s",
            "default_master": "wss://hub.example",
            "default_port": 443,
        }
    )
    return BootstrapIdentityResult(
        identity=identity,
        client={"id": "cl_1", "operation": operation},
        operation=OperationResource.from_mapping(operation) if operation else None,
        client_id="cl_1",
    )


async def test_get_operation(api: AsyncThalovantControlPlane, fake_api: FakeAPI) -> None:
    fake_api.on("GET", OP_PATH, op("committed", links={"self": OP_PATH}, details={"a": 1}))
    found = await api.get_operation("op_1")
    assert (found.id, found.status, found.self_link, found.details) == (
        "op_1",
        "committed",
        OP_PATH,
        {"a": 1},
    )
    assert not found.is_terminal
    assert fake_api.last.headers["authorization"].startswith("Bearer ")


async def test_wait_for_operation_polls_until_ready(
    api: AsyncThalovantControlPlane, fake_api: FakeAPI, fake_time: FakeTime
) -> None:
    fake_api.on("GET", OP_PATH, op("requested"), op("committed"), op("applied"), op("ready"))
    done = await api.wait_for_operation("op_1")
    assert done.is_ready
    assert fake_time.sleeps == [2.0, 2.0, 2.0]
    assert len(fake_api.requests) == 4


async def test_wait_for_operation_returns_failure_for_the_caller(
    api: AsyncThalovantControlPlane, fake_api: FakeAPI
) -> None:
    fake_api.on("GET", OP_PATH, op("failed", error_code="git_push_failed", error_message="no"))
    done = await api.wait_for_operation({"id": "op_1", "status": "requested"}, poll_interval=1)
    assert done.is_failed
    with pytest.raises(ThalovantAPIError, match="git_push_failed"):
        done.raise_for_failure()


async def test_wait_for_operation_rides_out_429_and_5xx(
    api: AsyncThalovantControlPlane, fake_api: FakeAPI, fake_time: FakeTime
) -> None:
    fake_api.on(
        "GET",
        OP_PATH,
        Canned(503, {"detail": "busy"}),
        Canned(429, {"code": "token_rate_limited"}, {"Retry-After": "7"}),
        op("ready"),
    )
    assert (await api.wait_for_operation("op_1")).is_ready
    assert fake_time.sleeps == [2.0, 7.0]


async def test_wait_for_operation_timeout(
    api: AsyncThalovantControlPlane, fake_api: FakeAPI, fake_time: FakeTime
) -> None:
    fake_api.on("GET", OP_PATH, op("applied"))
    with pytest.raises(ThalovantTimeoutError, match="last status: applied"):
        await api.wait_for_operation("op_1", timeout=5, poll_interval=2)
    assert fake_time.sleeps == [2.0, 2.0, 1.0]


async def test_wait_for_operation_raises_other_errors(
    api: AsyncThalovantControlPlane, fake_api: FakeAPI
) -> None:
    fake_api.on("GET", OP_PATH, Canned(401, {"detail": "Invalid token"}))
    with pytest.raises(ThalovantAuthError):
        await api.wait_for_operation("op_1")
    fake_api.on("GET", OP_PATH, Canned(404, {"detail": "Not Found"}))
    with pytest.raises(ThalovantAPIError) as caught:
        await api.wait_for_operation("op_1")
    assert caught.value.status_code == 404
    with pytest.raises(ThalovantAPIError, match="Nothing to wait for"):
        await api.wait_for_operation({"status": "requested"})


async def test_admission_ready(
    api: AsyncThalovantControlPlane, fake_api: FakeAPI, fake_time: FakeTime
) -> None:
    fake_api.on("GET", OP_PATH, op("committed"), op("applied"), op("ready"))
    result = result_with({"id": "op_1", "status": "requested", "links": {"self": OP_PATH}})
    admitted = await api.wait_for_admission(result)
    assert admitted is not None
    assert admitted.is_ready
    assert fake_time.sleeps == [2.0, 2.0]
    assert {r.path for r in fake_api.requests} == {OP_PATH}


async def test_admission_follows_same_origin_absolute_link(
    api: AsyncThalovantControlPlane, fake_api: FakeAPI
) -> None:
    fake_api.on("GET", "/v1/operations/op_1/status", op("ready"))
    link = fake_api.url + "/v1/operations/op_1/status"
    assert await api.wait_for_admission(
        {"id": "op_1", "status": "requested", "links": {"self": link}}
    )
    assert fake_api.last.path == "/v1/operations/op_1/status"


@pytest.mark.parametrize(
    "link",
    [
        "https://evil.example/v1/operations/op_1",
        "//evil.example/v1/operations/op_1",
        "http://127.0.0.1:1/v1/operations/op_1",
    ],
)
async def test_admission_never_fetches_a_foreign_link(
    api: AsyncThalovantControlPlane, fake_api: FakeAPI, link: str
) -> None:
    fake_api.on("GET", OP_PATH, op("ready"))
    result = result_with({"id": "op_1", "status": "requested", "links": {"self": link}})
    await api.wait_for_admission(result)
    assert [r.path for r in fake_api.requests] == [OP_PATH]


async def test_admission_foreign_link_without_id_is_not_fetched(
    api: AsyncThalovantControlPlane, fake_api: FakeAPI
) -> None:
    target = {"status": "requested", "links": {"self": "https://evil.example/op"}}
    assert (await api.wait_for_admission(target)) is not None
    assert fake_api.requests == []


@pytest.mark.parametrize("status", ["failed", "timed_out"])
async def test_admission_failed(
    api: AsyncThalovantControlPlane, fake_api: FakeAPI, status: str
) -> None:
    fake_api.on(
        "GET",
        OP_PATH,
        op("committed"),
        op(status, error_code="hub_unreachable", error_message="hub did not ack"),
    )
    with pytest.raises(ThalovantAdmissionFailedError) as caught:
        await api.wait_for_admission("op_1")
    assert caught.value.error_code == "hub_unreachable"
    assert "hub_unreachable" in str(caught.value)
    assert status in str(caught.value)


async def test_admission_already_terminal_needs_no_request(
    api: AsyncThalovantControlPlane, fake_api: FakeAPI
) -> None:
    ready = await api.wait_for_admission(result_with({"id": "op_1", "status": "ready"}))
    assert ready is not None
    with pytest.raises(ThalovantAdmissionFailedError):
        await api.wait_for_admission({"operation": {"id": "op_1", "status": "failed"}})
    assert fake_api.requests == []


async def test_admission_404_means_admitted(
    api: AsyncThalovantControlPlane, fake_api: FakeAPI, fake_time: FakeTime
) -> None:
    fake_api.on("GET", OP_PATH, op("applied"), Canned(404, {"detail": "Not Found"}))
    admitted = await api.wait_for_admission("op_1")
    assert admitted is not None
    assert admitted.status == "applied"
    assert fake_time.sleeps == [2.0]


@pytest.mark.parametrize("target", [None, result_with(None), {"id": "cl_1", "operation": None}])
async def test_admission_without_operation_is_immediate(
    api: AsyncThalovantControlPlane, fake_api: FakeAPI, fake_time: FakeTime, target: Any
) -> None:
    assert await api.wait_for_admission(target) is None
    assert fake_api.requests == []
    assert fake_time.sleeps == []


async def test_admission_rides_out_5xx(
    api: AsyncThalovantControlPlane, fake_api: FakeAPI, fake_time: FakeTime
) -> None:
    fake_api.on(
        "GET",
        OP_PATH,
        Canned(500, raw=b"oops"),
        Canned(502, {"detail": "bad gateway"}),
        op("ready"),
    )
    assert await api.wait_for_admission("op_1")
    assert fake_time.sleeps == [2.0, 2.0]


async def test_admission_rides_out_an_unreachable_api(fake_time: FakeTime) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with AsyncThalovantControlPlane(
        f"http://127.0.0.1:{port}",
        access_token="t" * 20,
        sleep=fake_time.sleep,
        clock=fake_time.clock,
    ) as api:
        with pytest.raises(ThalovantAdmissionTimeoutError) as caught:
            await api.wait_for_admission("op_1", timeout=4)
    assert fake_time.sleeps == [2.0, 2.0]
    assert isinstance(caught.value.__cause__, ThalovantAPIUnreachableError)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (Canned(429, {"code": "token_rate_limited"}, {"Retry-After": "11"}), 11.0),
        (Canned(429, {"retry_after_seconds": 4}), 4.0),
        (Canned(429, {"detail": {"retry_after_seconds": 6}}), 6.0),
        (Canned(429, {}, {"RateLimit-Reset": "9"}), 9.0),
        (Canned(429, {}), 2.0),
    ],
)
async def test_admission_honours_rate_limits(
    api: AsyncThalovantControlPlane,
    fake_api: FakeAPI,
    fake_time: FakeTime,
    answer: Canned,
    expected: float,
) -> None:
    fake_api.on("GET", OP_PATH, answer, op("ready"))
    assert await api.wait_for_admission("op_1")
    assert fake_time.sleeps == [expected]


async def test_admission_timeout(
    api: AsyncThalovantControlPlane, fake_api: FakeAPI, fake_time: FakeTime
) -> None:
    fake_api.on("GET", OP_PATH, op("committed"))
    with pytest.raises(ThalovantAdmissionTimeoutError, match="last status: committed") as caught:
        await api.wait_for_admission("op_1", timeout=7)
    assert isinstance(caught.value, ThalovantTimeoutError)
    assert isinstance(caught.value, TimeoutError)
    assert fake_time.sleeps == [2.0, 2.0, 2.0, 1.0]
    assert sum(fake_time.sleeps) == 7


async def test_admission_timeout_capped_by_long_retry_after(
    api: AsyncThalovantControlPlane, fake_api: FakeAPI, fake_time: FakeTime
) -> None:
    fake_api.on("GET", OP_PATH, Canned(429, {"retry_after_seconds": 3600}))
    with pytest.raises(ThalovantAdmissionTimeoutError) as caught:
        await api.wait_for_admission("op_1", timeout=180)
    assert fake_time.sleeps == [180.0]
    assert isinstance(caught.value.__cause__, ThalovantAPIError)


async def test_admission_raises_auth_errors(
    api: AsyncThalovantControlPlane, fake_api: FakeAPI
) -> None:
    fake_api.on("GET", OP_PATH, Canned(403, {"detail": "Insufficient scopes"}))
    with pytest.raises(ThalovantAuthError):
        await api.wait_for_admission("op_1")


def test_operation_resource_parsing() -> None:
    parsed = OperationResource.from_mapping(
        {
            "data": {
                "id": "op_9",
                "status": "READY",
                "links": {"self": "/v1/operations/op_9", "bad": 3},
                "details": "not a mapping",
                "error_code": None,
                "extra": True,
            }
        }
    )
    assert parsed.id == "op_9"
    assert parsed.is_ready
    assert parsed.links == {"self": "/v1/operations/op_9"}
    assert parsed.details is None
    assert parsed.raw["extra"] is True
    assert "op_9" in repr(parsed)
    parsed.raise_for_failure()  # not failed: no error
