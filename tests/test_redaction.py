"""Secrets never reach repr/str, default as_dict, exception text, tracebacks or debug logs."""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from thalovant.errors import ThalovantError, ThalovantIdentityError
from thalovant.identity.model import ThalovantIdentity
from thalovant.identity.parse import safe_url
from thalovant.redact import REDACTED, redact_deep

ACCESS = "AKs3cr3tACCESS"
PASSWORD = "PWs3cr3tPASSWORD"
MQTT_USER = "MUs3cr3tMQTTUSER"
MQTT_PASS = "MPs3cr3tMQTTPASS"
PREFIX = "TPs3cr3tPREFIX"
TOKEN = "TOKs3cr3tTOKEN"
NESTED = "NESTs3cr3tNESTED"
UI_USER = "UIs3cr3tUSER"
UI_PASS = "UIs3cr3tPASS"
QUERY = "QRs3cr3tQUERY"
SECRETS = (ACCESS, PASSWORD, MQTT_USER, MQTT_PASS, PREFIX, TOKEN, NESTED, UI_USER, UI_PASS, QUERY)

USERINFO = f"{UI_USER}:{UI_PASS}@"

MAPPING: dict[str, Any] = {
    "access_key": ACCESS,
    "password": PASSWORD,
    "site_id": "site-1",
    "default_master": f"wss://{USERINFO}hub.example.com",
    "crypto_key": "CKs3cr3t-ignored",
    "data_plane_endpoints": {
        "wss": f"wss://{USERINFO}w.example.com/ws?authorization={QUERY}",
        "https": f"https://{USERINFO}h.example.com",
        "mqtt": f"mqtts://{USERINFO}m.example.com:8883",
    },
    "protocols": {"http": True, "mqtt": True},
    "mqtt": {
        "endpoint": f"mqtts://{USERINFO}broker.example.com:8883",
        "username": MQTT_USER,
        "password": MQTT_PASS,
        "topic_prefix": f"hubs/{PREFIX}/clients/c1",
    },
    "metadata": {
        "tenant": "acme",
        "api_token": TOKEN,
        "nested": {"db_password": NESTED, "list": [{"secret": NESTED}]},
        "link": f"https://{USERINFO}example.com/x?sig={QUERY}",
    },
}


def assert_clean(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text, f"secret {secret!r} leaked into: {text[:300]}"


def views(identity: ThalovantIdentity) -> Iterator[str]:
    yield repr(identity)
    yield str(identity)
    yield f"{identity}"
    yield "{!r}".format(identity)  # noqa: UP032
    yield json.dumps(identity.as_dict())
    yield json.dumps(identity.as_dict(include_secrets=False))
    yield repr(identity.__rich_repr__())
    yield repr(identity.data_plane_endpoints)
    yield json.dumps(identity.data_plane_endpoints.as_dict())
    yield repr(identity.protocols)
    if identity.mqtt is not None:
        yield repr(identity.mqtt)
        yield str(identity.mqtt)
        yield repr(identity.mqtt.__rich_repr__())
        yield json.dumps(identity.mqtt.as_dict())
        yield repr(identity.mqtt_topics())
        yield repr(identity.mqtt_topics().__rich_repr__())


def error_texts(exc: BaseException) -> Iterator[str]:
    yield str(exc)
    yield repr(exc)
    yield "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    caplog.set_level(logging.DEBUG, logger="thalovant")
    yield caplog
    assert_clean(caplog.text, *(str(r.args) for r in caplog.records))


def private(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


# ----------------------------------------------------------------------------- loaders


def load_mapping(tmp_path: Path) -> ThalovantIdentity:
    return ThalovantIdentity.from_mapping(MAPPING)


def load_file(tmp_path: Path) -> ThalovantIdentity:
    return ThalovantIdentity.from_file(private(tmp_path / "id.json", json.dumps(MAPPING)))


def load_config(tmp_path: Path) -> ThalovantIdentity:
    data = {"profile": "prod", "profiles": {"prod": {"identity": MAPPING}}}
    return ThalovantIdentity.from_config(private(tmp_path / "c.yaml", yaml.safe_dump(data)))


def load_env(tmp_path: Path) -> ThalovantIdentity:
    environ = {
        "THALOVANT_ACCESS_KEY": ACCESS,
        "THALOVANT_PASSWORD": PASSWORD,
        "THALOVANT_SITE_ID": "site-1",
        "THALOVANT_HUB_HTTP_HOST": f"https://{USERINFO}hub.example.com",
        "THALOVANT_HUB_WSS_HOST": f"wss://{USERINFO}w.example.com?authorization={QUERY}",
        "THALOVANT_HUB_MQTT_HOST": f"mqtts://{USERINFO}m.example.com",
        "THALOVANT_MQTT_USERNAME": MQTT_USER,
        "THALOVANT_MQTT_PASSWORD": MQTT_PASS,
        "THALOVANT_MQTT_TOPIC_PREFIX": PREFIX,
        "THALOVANT_CRYPTO_KEY": "CKs3cr3t",
    }
    return ThalovantIdentity.from_env(environ=environ)


LOADERS: dict[str, Callable[[Path], ThalovantIdentity]] = {
    "mapping": load_mapping,
    "file": load_file,
    "config": load_config,
    "env": load_env,
}


@pytest.mark.parametrize("loader", list(LOADERS))
def test_loaded_identity_never_shows_secrets(
    loader: str, tmp_path: Path, debug_logs: pytest.LogCaptureFixture
) -> None:
    identity = LOADERS[loader](tmp_path)
    assert_clean(*views(identity))
    # the secrets are really there, only hidden
    full = json.dumps(identity.as_dict(include_secrets=True))
    for secret in (ACCESS, PASSWORD, MQTT_USER, MQTT_PASS, PREFIX, UI_USER, QUERY):
        assert secret in full
    assert identity.access_key == ACCESS
    assert identity.mqtt is not None
    assert PREFIX in identity.mqtt_topics().inbound


def test_default_as_dict_redacts_exactly() -> None:
    out = ThalovantIdentity.from_mapping(MAPPING).as_dict()
    assert out["access_key"] == out["password"] == REDACTED
    assert out["mqtt"]["username"] == out["mqtt"]["password"] == REDACTED
    assert out["mqtt"]["topic_prefix"] == REDACTED
    assert out["mqtt"]["endpoint"] == f"mqtts://{REDACTED}@broker.example.com:8883"
    assert out["default_master"] == f"wss://{REDACTED}@hub.example.com"
    assert out["data_plane_endpoints"]["wss"] == f"wss://{REDACTED}@w.example.com/ws?{REDACTED}"
    assert out["metadata"]["api_token"] == REDACTED
    assert out["metadata"]["tenant"] == "acme"
    assert out["metadata"]["nested"]["db_password"] == REDACTED
    assert out["metadata"]["nested"]["list"] == [{"secret": REDACTED}]
    assert "crypto_key" not in out


def test_schemeless_userinfo_master_is_redacted() -> None:
    identity = ThalovantIdentity.from_mapping({**MAPPING, "default_master": f"{USERINFO}hub:443"})
    assert_clean(*views(identity))
    assert safe_url(f"{USERINFO}hub:443") == f"{REDACTED}@hub:443"


# -------------------------------------------------------------------------- error paths


def bad_mapping(**changes: Any) -> Callable[[Path], object]:
    def run(tmp_path: Path) -> object:
        return ThalovantIdentity.from_mapping({**MAPPING, **changes})

    return run


def bad_file(text: str, mode: int = 0o600, name: str = "id.json") -> Callable[[Path], object]:
    def run(tmp_path: Path) -> object:
        return ThalovantIdentity.from_file(private(tmp_path / name, text, mode))

    return run


def bad_config(
    text: str, mode: int = 0o600, profile: str | None = None
) -> Callable[[Path], object]:
    def run(tmp_path: Path) -> object:
        path = private(tmp_path / "c.yaml", text, mode)
        return ThalovantIdentity.from_config(path, profile=profile)

    return run


def bad_env(**values: str) -> Callable[[Path], object]:
    def run(tmp_path: Path) -> object:
        environ = {
            "THALOVANT_ACCESS_KEY": ACCESS,
            "THALOVANT_PASSWORD": PASSWORD,
            "THALOVANT_SITE_ID": "s",
            "THALOVANT_HUB_HTTP_HOST": f"https://{USERINFO}hub.example.com",
            "THALOVANT_MQTT_ENDPOINT": f"mqtts://{USERINFO}b",
            "THALOVANT_MQTT_USERNAME": MQTT_USER,
            "THALOVANT_MQTT_PASSWORD": MQTT_PASS,
        }
        environ.update({f"THALOVANT_{k}": v for k, v in values.items()})
        return ThalovantIdentity.from_env(environ={k: v for k, v in environ.items() if v})

    return run


YAML_IDENTITY = yaml.safe_dump(MAPPING)
JSON_IDENTITY = json.dumps(MAPPING)

ERROR_CASES: dict[str, Callable[[Path], object]] = {
    "missing field": bad_mapping(site_id=None),
    "port is a secret": bad_mapping(default_port=PASSWORD),
    "port is a list": bad_mapping(default_port=[ACCESS]),
    "access key wrong type": bad_mapping(access_key=[ACCESS]),
    "password wrong type": bad_mapping(password={"value": PASSWORD}),
    "wildcard prefix": bad_mapping(mqtt={**MAPPING["mqtt"], "topic_prefix": f"{PREFIX}/#"}),
    "plus prefix": bad_mapping(mqtt={**MAPPING["mqtt"], "topic_prefix": f"{PREFIX}/+/x"}),
    "control prefix": bad_mapping(mqtt={**MAPPING["mqtt"], "topic_prefix": f"{PREFIX}\x07"}),
    "tls garbage": bad_mapping(mqtt={**MAPPING["mqtt"], "tls": PASSWORD}),
    "mqtt username wrong type": bad_mapping(mqtt={**MAPPING["mqtt"], "username": [MQTT_USER]}),
    "flag garbage": bad_mapping(protocols={"http": PASSWORD}),
    "endpoint wrong type": bad_mapping(data_plane_endpoints={"wss": [f"wss://{USERINFO}x"]}),
    "endpoint map wrong type": bad_mapping(data_plane_endpoints=[f"wss://{USERINFO}x"]),
    "metadata wrong type": bad_mapping(metadata=[TOKEN]),
    "metadata nan": bad_mapping(metadata={"api_token": float("nan")}),
    "metadata bytes": bad_mapping(metadata={"x": TOKEN.encode()}),
    "invalid json": bad_file(JSON_IDENTITY[:-1] + f', "oops": {PASSWORD}}}'),
    "truncated json": bad_file(JSON_IDENTITY[:60]),
    "json list": bad_file(json.dumps([ACCESS, PASSWORD])),
    "json field error": bad_file(json.dumps({**MAPPING, "default_port": PASSWORD})),
    "permissive file": bad_file(JSON_IDENTITY, 0o644),
    "permissive config": bad_config(YAML_IDENTITY, 0o640),
    "yaml syntax on a secret line": bad_config(f"access_key: {ACCESS}: {PASSWORD}\n"),
    "yaml bad indent": bad_config(f"password: {PASSWORD}\n  token: {TOKEN}\n -x"),
    "yaml unknown tag": bad_config(f"password: !!python/name:os.{PASSWORD}\n"),
    "yaml unclosed": bad_config(f'password: "{PASSWORD}\n'),
    "yaml list": bad_config(yaml.safe_dump([ACCESS, PASSWORD])),
    "missing profile": bad_config(
        yaml.safe_dump({"profiles": {"prod": {"identity": MAPPING}}}), profile="dev"
    ),
    "profile field error": bad_config(
        yaml.safe_dump({"profiles": {"default": {**MAPPING, "default_port": ACCESS}}})
    ),
    "env missing": bad_env(SITE_ID=""),
    "env port": bad_env(HUB_HTTP_PORT=PASSWORD),
    "env wildcard prefix": bad_env(MQTT_TOPIC_PREFIX=f"{PREFIX}/#"),
}


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_errors_never_show_secrets(
    case: str, tmp_path: Path, debug_logs: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(ThalovantIdentityError) as info:
        ERROR_CASES[case](tmp_path)
    assert_clean(*error_texts(info.value))


def test_protocol_errors_never_show_secrets(debug_logs: pytest.LogCaptureFixture) -> None:
    identity = ThalovantIdentity.from_mapping(
        {k: v for k, v in MAPPING.items() if k not in ("mqtt", "data_plane_endpoints")}
        | {"default_master": f"https://{USERINFO}hub.example.com?authorization={QUERY}"}
    )
    nothing_usable = ThalovantIdentity.from_mapping(
        {
            **MAPPING,
            "default_master": "hub.example.com",  # no scheme: no https:// fallback either
            "protocols": {"wss": False},
            "mqtt": None,
            "data_plane_endpoints": {},
        }
    )
    attempts: list[Callable[[], object]] = [
        lambda: identity.select_protocol("mqtt"),
        lambda: identity.select_protocol("wss"),
        nothing_usable.select_protocol,
    ]
    for attempt in attempts:
        with pytest.raises(ThalovantError) as info:
            attempt()
        assert_clean(*error_texts(info.value))
    with pytest.raises(ThalovantError) as info:
        identity.mqtt_topics()
    assert_clean(*error_texts(info.value))


def test_discarded_endpoints_are_logged_without_userinfo(
    debug_logs: pytest.LogCaptureFixture,
) -> None:
    identity = ThalovantIdentity.from_mapping(
        {
            **MAPPING,
            "data_plane_endpoints": {
                "wss": f"wss://{USERINFO}",
                "https": f"{UI_USER}://{UI_PASS}@x",
                "mqtt": f"mqtts://{USERINFO}h:{PASSWORD}",
            },
            "mqtt": {"endpoint": f"mqtts://{USERINFO}b", "username": MQTT_USER},
        }
    )
    assert identity.data_plane_endpoints.is_empty
    assert identity.mqtt is None
    assert "Discarding" in debug_logs.text
    assert "Ignoring incomplete mqtt block (missing password)" in debug_logs.text


# ----------------------------------------------------------------------------- helpers


def test_redact_deep() -> None:
    value = {
        "token": "t",
        "empty_token": "",
        "ok": [f"see https://{USERINFO}x/?{QUERY}", {"password": 1}],
        "n": None,
    }
    out = redact_deep(value)
    assert out == {
        "token": REDACTED,
        "empty_token": "",
        "ok": [f"see https://{REDACTED}@x/?{REDACTED}", {"password": REDACTED}],
        "n": None,
    }
    assert value["token"] == "t"  # input untouched


# -- loggers handed to libraries (issue #11: websockets, aiomqtt/paho) -------------------------


def _library_logger(**kwargs: Any) -> Any:
    from thalovant.redact import RedactingLogger

    return RedactingLogger(logging.getLogger("tests.redaction.library"), **kwargs)


def test_redacting_logger_scrubs_secrets_in_every_encoding(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import base64
    from urllib.parse import quote

    secret = "k3y+with=odd~chars/é"
    log = _library_logger(secrets=(secret, None, ""))
    with caplog.at_level(logging.DEBUG, logger="tests.redaction.library"):
        log.debug("> GET /?authorization=%s HTTP/1.1", "dG9rZW4=")
        log.debug("topic %r", f"hivemind/{secret}/in".encode())
        log.info("encoded %s and %s", quote(secret, safe=""), base64.b64encode(secret.encode()))
        log.debug("bad format %d", "not a number")  # formatting errors do not raise
    assert "dG9rZW4" not in caplog.text
    assert quote(secret, safe="") not in caplog.text
    assert base64.b64encode(secret.encode()).decode() not in caplog.text
    assert secret not in caplog.text
    assert caplog.text.count(REDACTED) >= 4
    assert all(record.args in ((), None) for record in caplog.records)


def test_redacting_logger_scrubs_tracebacks_and_keeps_pattern_groups(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import re

    log = _library_logger(patterns=(re.compile(r"(hivemind/)(?![+#]/)[^/\s']+(?=/)"),))
    with caplog.at_level(logging.DEBUG, logger="tests.redaction.library"):
        try:
            raise RuntimeError("failed on hivemind/AKs3cr3t/out")
        except RuntimeError:
            log.exception("publish failed")
        log.debug("subscribed hivemind/+/in and hivemind/AKs3cr3t/status")
    assert "AKs3cr3t" not in caplog.text
    assert "RuntimeError" in caplog.text  # the traceback is kept, scrubbed
    assert "hivemind/+/in" in caplog.text
    assert f"hivemind/{REDACTED}/status" in caplog.text
    assert all(record.exc_info is None for record in caplog.records)


def test_redacting_logger_formats_nothing_when_the_level_is_off() -> None:
    class Loud:
        def __str__(self) -> str:
            raise AssertionError("formatted although DEBUG is off")

    log = _library_logger()
    log.logger.setLevel(logging.INFO)
    try:
        log.debug("%s", Loud())
    finally:
        log.logger.setLevel(logging.NOTSET)
