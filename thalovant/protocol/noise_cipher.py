"""The symmetric half of the Noise engine (Noise rev 34 §4-§5.2): constants, X25519 and HKDF
primitives, :class:`CipherState` and :class:`SymmetricState`.

:mod:`thalovant.protocol.noise` builds the handshake (:class:`~thalovant.protocol.noise.
HandshakeState`) on them; see its docstring for the design decision (our own Noise on
``cryptography``). :class:`NoiseError` and :class:`NoiseDecryptError` are internal to the
protocol layer: the link turns them into a plain
:class:`~thalovant.errors.ThalovantProtocolError` before a caller sees one.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from collections.abc import Callable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from thalovant.errors import ThalovantProtocolError

__all__ = [
    "DHLEN",
    "HASHLEN",
    "MAX_MESSAGE_LEN",
    "MAX_NONCE",
    "PATTERNS",
    "PATTERN_KK",
    "PATTERN_XX",
    "SUITES",
    "SUITE_AESGCM",
    "SUITE_CHACHAPOLY",
    "TAGLEN",
    "CipherState",
    "NoiseDecryptError",
    "NoiseError",
    "SymmetricState",
    "dh",
    "generate_private_key",
    "load_private",
    "protocol_name",
    "public_key",
]

DHLEN = 32  # X25519 public key / DH output
HASHLEN = 32  # SHA-256
TAGLEN = 16  # both AEADs
MAX_MESSAGE_LEN = 65535  # every Noise message, handshake or transport (§3)
MAX_NONCE = 2**64 - 1  # reserved; a CipherState refuses to use it (§5.1)

SUITE_CHACHAPOLY = "25519_ChaChaPoly_SHA256"
SUITE_AESGCM = "25519_AESGCM_SHA256"
SUITES = (SUITE_CHACHAPOLY, SUITE_AESGCM)
"""Supported suites, in the SDK's preference order."""
PATTERN_XX = "XXpsk2"
PATTERN_KK = "KKpsk0"
PATTERNS = (PATTERN_XX, PATTERN_KK)
"""Supported handshake patterns."""

_AeadFactory = Callable[[bytes], AESGCM | ChaCha20Poly1305]

# Noise §12: ChaChaPoly encodes the 64-bit counter little-endian, AESGCM big-endian, both after
# 32 zero bits. A wrong byte order interoperates with itself and agrees with a correct peer
# only at nonce 0, so the tests check it against raw AEAD calls and noiseprotocol.
_CIPHERS: dict[str, tuple[_AeadFactory, Callable[[int], bytes]]] = {
    "ChaChaPoly": (ChaCha20Poly1305, struct.Struct("<4xQ").pack),
    "AESGCM": (AESGCM, struct.Struct(">4xQ").pack),
}


class NoiseError(ThalovantProtocolError):
    """A Noise message is malformed or cannot be processed; the session is unusable."""


class NoiseDecryptError(NoiseError):
    """A Noise message failed to authenticate (wrong key or PSK, or tampering)."""


def protocol_name(pattern: str, suite: str) -> str:
    """The Noise protocol name.

    Args:
        pattern: ``XXpsk2`` or ``KKpsk0``.
        suite: One of :data:`SUITES`.

    Returns:
        E.g. ``Noise_XXpsk2_25519_ChaChaPoly_SHA256``.
    """
    return f"Noise_{pattern}_{suite}"


def generate_private_key() -> bytes:
    """A fresh random X25519 private key.

    Returns:
        32 raw bytes.
    """
    return X25519PrivateKey.generate().private_bytes_raw()


def public_key(private: bytes) -> bytes:
    """The X25519 public key of a private key.

    Args:
        private: 32 raw bytes.

    Returns:
        32 raw bytes.

    Raises:
        ValueError: Not a 32-byte key.
    """
    return load_private(private).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def load_private(private: bytes) -> X25519PrivateKey:
    if not isinstance(private, (bytes, bytearray)) or len(private) != DHLEN:
        raise ValueError("an X25519 private key is 32 raw bytes")
    return X25519PrivateKey.from_private_bytes(bytes(private))


def dh(private: X25519PrivateKey, public: bytes) -> bytes:
    try:
        return private.exchange(X25519PublicKey.from_public_bytes(public))
    except ValueError:
        # cryptography rejects low-order points (all-zero shared secret).
        raise NoiseError("peer sent an invalid X25519 public key") from None


def _hkdf(chaining_key: bytes, input_key_material: bytes, num_outputs: int) -> list[bytes]:
    # Spelled out as in Noise §4.3 so it can be read against the spec line by line.
    temp_key = hmac.digest(chaining_key, input_key_material, "sha256")
    outputs: list[bytes] = []
    previous = b""
    for i in range(1, num_outputs + 1):
        previous = hmac.digest(temp_key, previous + bytes((i,)), "sha256")
        outputs.append(previous)
    return outputs


class CipherState:
    """Noise §5.1: an AEAD key plus a 64-bit nonce counter.

    After the handshake, :meth:`encrypt`/:meth:`decrypt` are the transport API (empty
    associated data, the 65535-byte message limit enforced). The AEAD object is created once
    per key, not per message.

    Args:
        cipher: ``ChaChaPoly`` or ``AESGCM``.
        key: The 32-byte key, if already known.

    Raises:
        ValueError: An unsupported cipher.
    """

    __slots__ = ("_aead", "_factory", "_n", "_pack_nonce")

    def __init__(self, cipher: str, key: bytes | None = None) -> None:
        if cipher not in _CIPHERS:
            raise ValueError(f"unsupported cipher {cipher!r}")
        self._factory, self._pack_nonce = _CIPHERS[cipher]
        self._aead: AESGCM | ChaCha20Poly1305 | None = None
        self._n = 0
        if key is not None:
            self.initialize_key(key)

    @property
    def nonce(self) -> int:
        """The next nonce this state will use."""
        return self._n

    def initialize_key(self, key: bytes) -> None:
        """Set a new key and reset the nonce to 0.

        Args:
            key: 32 bytes.
        """
        if len(key) != 32:
            raise ValueError("a Noise cipher key is 32 bytes")
        self._aead = self._factory(bytes(key))
        self._n = 0

    def has_key(self) -> bool:
        """Whether a key is set (before the first MixKey it is not).

        Returns:
            True once a key is set.
        """
        return self._aead is not None

    def set_nonce(self, nonce: int) -> None:
        """Noise's SetNonce(); used by tests to jump the counter.

        Args:
            nonce: The next nonce.
        """
        if not 0 <= nonce <= MAX_NONCE:
            raise ValueError("a Noise nonce is a 64-bit unsigned integer")
        self._n = nonce

    def encrypt_with_ad(self, ad: bytes | None, plaintext: bytes) -> bytes:
        """ENCRYPT(k, n++, ad, plaintext), or ``plaintext`` unchanged if there is no key.

        Args:
            ad: The associated data.
            plaintext: What to encrypt.

        Returns:
            The ciphertext (with its tag).

        Raises:
            NoiseError: The nonce is exhausted.
        """
        aead = self._aead
        if aead is None:
            return plaintext
        n = self._n
        if n >= MAX_NONCE:
            raise NoiseError("Noise nonce exhausted; the session must be replaced")
        ciphertext = aead.encrypt(self._pack_nonce(n), plaintext, ad)
        self._n = n + 1
        return ciphertext

    def decrypt_with_ad(self, ad: bytes | None, ciphertext: bytes) -> bytes:
        """DECRYPT(k, n++, ad, ciphertext); on failure the nonce does not advance.

        Args:
            ad: The associated data.
            ciphertext: What to decrypt (with its tag).

        Returns:
            The plaintext.

        Raises:
            NoiseDecryptError: It failed to authenticate.
            NoiseError: The nonce is exhausted.
        """
        aead = self._aead
        if aead is None:
            return ciphertext
        n = self._n
        if n >= MAX_NONCE:
            raise NoiseError("Noise nonce exhausted; the session must be replaced")
        try:
            plaintext = aead.decrypt(self._pack_nonce(n), ciphertext, ad)
        except InvalidTag:
            raise NoiseDecryptError("Noise message failed to authenticate") from None
        self._n = n + 1
        return plaintext

    # The transport methods repeat encrypt_with_ad/decrypt_with_ad inline: they run once per
    # message, and the saved call is a measurable share of a small message's cost.

    def encrypt(self, plaintext: bytes) -> bytes:
        """Encrypt one transport message.

        Args:
            plaintext: At most 65519 bytes.

        Returns:
            The Noise transport message.

        Raises:
            NoiseError: Too long, no key, or the nonce is exhausted.
        """
        aead, n = self._aead, self._n
        if aead is None or n >= MAX_NONCE or len(plaintext) > MAX_MESSAGE_LEN - TAGLEN:
            raise self._transport_error(len(plaintext) + TAGLEN)
        ciphertext = aead.encrypt(self._pack_nonce(n), plaintext, None)
        self._n = n + 1
        return ciphertext

    def decrypt(self, ciphertext: bytes) -> bytes:
        """Decrypt one transport message.

        Args:
            ciphertext: The Noise transport message.

        Returns:
            The plaintext.

        Raises:
            NoiseDecryptError: It was altered (failed to authenticate).
            NoiseError: Too long or short, no key, or the nonce is exhausted.
        """
        aead, n = self._aead, self._n
        if aead is None or n >= MAX_NONCE or not TAGLEN <= len(ciphertext) <= MAX_MESSAGE_LEN:
            raise self._transport_error(len(ciphertext))
        try:
            plaintext = aead.decrypt(self._pack_nonce(n), ciphertext, None)
        except InvalidTag:
            raise NoiseDecryptError("Noise message failed to authenticate") from None
        self._n = n + 1
        return plaintext

    def _transport_error(self, size: int) -> NoiseError:
        if size > MAX_MESSAGE_LEN:
            return NoiseError(f"Noise message of {size} bytes exceeds {MAX_MESSAGE_LEN}")
        if size < TAGLEN:
            return NoiseError(f"Noise message of {size} bytes is shorter than its tag")
        if self._aead is None:
            return NoiseError("transport cipher has no key")
        return NoiseError("Noise nonce exhausted; the session must be replaced")


class SymmetricState:
    """Noise §5.2: the chaining key ``ck``, the handshake hash ``h`` and a CipherState.

    Args:
        protocol_name: The full Noise protocol name (hashed into ``h``).
        cipher: ``ChaChaPoly`` or ``AESGCM``.
    """

    __slots__ = ("_cipher", "cipher_state", "ck", "h")

    def __init__(self, protocol_name: str, cipher: str) -> None:
        name = protocol_name.encode("ascii")
        # InitializeSymmetric: a name of at most HASHLEN bytes is zero-padded, a longer one
        # hashed. Both AESGCM names are exactly 32 bytes (padding branch); ChaChaPoly ones hash.
        self.h = name.ljust(HASHLEN, b"\0") if len(name) <= HASHLEN else _hash(name)
        self.ck = self.h
        self._cipher = cipher
        self.cipher_state = CipherState(cipher)

    def mix_key(self, input_key_material: bytes) -> None:
        """ck, temp_k = HKDF(ck, ikm, 2); InitializeKey(temp_k).

        Args:
            input_key_material: A DH output or the PSK.
        """
        self.ck, temp_k = _hkdf(self.ck, input_key_material, 2)
        self.cipher_state.initialize_key(temp_k)

    def mix_hash(self, data: bytes) -> None:
        """h = HASH(h || data).

        Args:
            data: What to hash in.
        """
        self.h = _hash(self.h + data)

    def mix_key_and_hash(self, input_key_material: bytes) -> None:
        """ck, temp_h, temp_k = HKDF(ck, ikm, 3); MixHash(temp_h); InitializeKey(temp_k).

        Args:
            input_key_material: The PSK.
        """
        self.ck, temp_h, temp_k = _hkdf(self.ck, input_key_material, 3)
        self.mix_hash(temp_h)
        self.cipher_state.initialize_key(temp_k)

    def encrypt_and_hash(self, plaintext: bytes) -> bytes:
        """ciphertext = EncryptWithAd(h, plaintext); MixHash(ciphertext).

        Args:
            plaintext: What to encrypt.

        Returns:
            The ciphertext.
        """
        ciphertext = self.cipher_state.encrypt_with_ad(self.h, plaintext)
        self.mix_hash(ciphertext)
        return ciphertext

    def decrypt_and_hash(self, ciphertext: bytes) -> bytes:
        """plaintext = DecryptWithAd(h, ciphertext); MixHash(ciphertext).

        Args:
            ciphertext: What to decrypt.

        Returns:
            The plaintext.

        Raises:
            NoiseDecryptError: It failed to authenticate.
        """
        plaintext = self.cipher_state.decrypt_with_ad(self.h, ciphertext)
        self.mix_hash(ciphertext)
        return plaintext

    def split(self) -> tuple[CipherState, CipherState]:
        """The two transport CipherStates.

        Returns:
            ``(initiator → responder, responder → initiator)``.
        """
        temp_k1, temp_k2 = _hkdf(self.ck, b"", 2)
        return CipherState(self._cipher, temp_k1), CipherState(self._cipher, temp_k2)


def _hash(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()
