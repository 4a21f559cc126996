"""The hub's listeners: WSS, HTTPS polling, MQTT (and the embedded broker), their gates, TLS.

Independent of the hub's control plane; above the responder (docs/architecture.md, "The hub").
"""

from __future__ import annotations

from thalovant.hub.servers.broker import BrokerAccount, EmbeddedBroker
from thalovant.hub.servers.gate import ConnectionGate
from thalovant.hub.servers.http import HTTPServer
from thalovant.hub.servers.listeners import Listeners
from thalovant.hub.servers.mqtt import MQTTHubServer
from thalovant.hub.servers.tls import DevCertificates, dev_certificates
from thalovant.hub.servers.wss import WSSServer

__all__ = [
    "BrokerAccount",
    "ConnectionGate",
    "DevCertificates",
    "EmbeddedBroker",
    "HTTPServer",
    "Listeners",
    "MQTTHubServer",
    "WSSServer",
    "dev_certificates",
]
