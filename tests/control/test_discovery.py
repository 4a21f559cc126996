"""Hub and client discovery, and the page iterators."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web

from thalovant.control.client import AsyncThalovantControlPlane
from thalovant.control.pages import next_page_cursor

from .conftest import Canned, FakeAPI

pytestmark = pytest.mark.anyio

HUB = {"id": "hub_1", "slug": "joke-garden", "title": "Joke Garden", "public_ref": "joke-garden"}


async def test_list_public_hubs(anon: AsyncThalovantControlPlane, fake_api: FakeAPI) -> None:
    page = {"data": [HUB], "meta": {"count": 1, "next": None}, "links": {"next": None}}
    fake_api.reply("GET", "/v1/public/hubs", page)
    assert await anon.list_public_hubs() == page
    assert fake_api.last.query == {"limit": "24"}
    await anon.list_public_hubs(limit=12, cursor="c2")
    assert fake_api.last.query == {"limit": "12", "cursor": "c2"}


@pytest.mark.parametrize(
    "ref",
    [
        "joke-garden",
        "https://thalovant.com/hubs/joke-garden/",
        {"public_ref": "joke-garden", "id": "hub_1"},
        {"slug": "joke-garden"},
    ],
)
async def test_get_public_hub_reference_forms(
    anon: AsyncThalovantControlPlane, fake_api: FakeAPI, ref: Any
) -> None:
    fake_api.reply("GET", "/v1/public/hubs/joke-garden", HUB)
    assert (await anon.get_public_hub(ref))["title"] == "Joke Garden"
    assert "authorization" not in fake_api.last.headers


async def test_list_and_get_hubs(api: AsyncThalovantControlPlane, fake_api: FakeAPI) -> None:
    fake_api.reply("GET", "/v1/hubs", {"data": [HUB]})
    await api.list_hubs(limit=10, cursor="abc", owner_id="u1")
    assert fake_api.last.query == {"limit": "10", "cursor": "abc", "owner_id": "u1"}
    fake_api.reply("GET", "/v1/hubs/hub_1", {**HUB, "etag": "W/1"})
    assert (await api.get_hub("hub_1"))["etag"] == "W/1"


async def test_list_and_get_clients(api: AsyncThalovantControlPlane, fake_api: FakeAPI) -> None:
    fake_api.reply("GET", "/v1/clients", {"data": []})
    await api.list_clients("hub_1", limit=3, owner_id="u1", include_spec=True)
    assert fake_api.last.query == {
        "hub_id": "hub_1",
        "limit": "3",
        "owner_id": "u1",
        "include_spec": "true",
    }
    fake_api.reply("GET", "/v1/clients/cl_1", {"id": "cl_1", "spec": {"apiKeyRef": "vault:x"}})
    assert (await api.get_client("cl_1"))["id"] == "cl_1"


def _three_pages(request: web.Request) -> Canned:
    cursor = request.query.get("cursor")
    if cursor is None:  # cursor in meta.next
        return Canned(200, {"data": [{"id": 1}, {"id": 2}], "meta": {"next": "p2"}})
    if cursor == "p2":  # cursor only in links.next, as a full URL
        next_url = "https://api.thalovant.com/v1/hubs?limit=2&cursor=p3%2B%3D"
        return Canned(200, {"data": [{"id": 3}, {"id": 4}], "links": {"next": next_url}})
    if cursor == "p3+=":  # top-level next_cursor absent: last page
        return Canned(200, {"data": [{"id": 5}], "meta": {"next": None}, "next_cursor": None})
    return Canned(400, {"detail": "bad cursor"})


async def test_iter_hubs_follows_three_pages(
    api: AsyncThalovantControlPlane, fake_api: FakeAPI
) -> None:
    fake_api.on("GET", "/v1/hubs", _three_pages)
    ids = [hub["id"] async for hub in api.iter_hubs(limit=2, owner_id="u1")]
    assert ids == [1, 2, 3, 4, 5]
    assert [r.query.get("cursor") for r in fake_api.requests] == [None, "p2", "p3+="]
    assert all(r.query["limit"] == "2" and r.query["owner_id"] == "u1" for r in fake_api.requests)
    # the links.next URL is never fetched: only our own host was asked
    assert all(r.path == "/v1/hubs" for r in fake_api.requests)


async def test_iter_public_hubs_with_next_cursor(
    anon: AsyncThalovantControlPlane, fake_api: FakeAPI
) -> None:
    fake_api.on(
        "GET",
        "/v1/public/hubs",
        Canned(200, {"data": [{"id": "a"}], "next_cursor": "n2"}),
        Canned(200, {"data": [{"id": "b"}, "junk"], "next_cursor": "n3"}),
        Canned(200, {"data": []}),
    )
    assert [h["id"] async for h in anon.iter_public_hubs(limit=1)] == ["a", "b"]
    assert len(fake_api.requests) == 3


async def test_iter_clients_stops_on_repeated_cursor(
    api: AsyncThalovantControlPlane, fake_api: FakeAPI
) -> None:
    fake_api.reply("GET", "/v1/clients", {"data": [{"id": "x"}], "meta": {"next": "same"}})
    items = [c async for c in api.iter_clients(hub_id="hub_1", include_spec=True)]
    assert len(items) == 2  # first page, then the page at "same", whose next is "same" again
    assert fake_api.requests[0].query == {"hub_id": "hub_1", "limit": "100", "include_spec": "true"}


def test_next_page_cursor_sources() -> None:
    assert next_page_cursor({}) is None
    assert next_page_cursor({"next_cursor": "a"}) == "a"
    assert next_page_cursor({"meta": {"next_cursor": "b"}}) == "b"
    assert next_page_cursor({"meta": {"next": "/v1/hubs?cursor=c"}}) == "c"
    assert next_page_cursor({"links": {"next": {"href": "https://x/v1?cursor=d"}}}) == "d"
    assert next_page_cursor({"links": {"next": "https://x/v1/hubs?limit=2"}}) is None
    assert next_page_cursor({"meta": {"next": ""}, "links": {"next": "?cursor=e"}}) == "e"
