"""WeCom (企业微信) callback crypto: the 加解密方案 of a self-built app's "接收消息" callback.

The scheme (WeCom's 加解密方案说明, the same as Tencent's WXBizMsgCrypt samples):
- msg_signature = sha1 of the sorted concatenation of token, timestamp, nonce and the ciphertext;
- the AES-256 key is base64(EncodingAESKey + "="), the IV is the key's first 16 bytes, mode CBC;
- the plaintext is 16 random bytes + a 4-byte network-order length + the message + the receive id
  (the CorpID for a self-built app), PKCS#7-padded to 32-byte blocks.

AES and the padding come from the `cryptography` package; only the framing is written here, because it
is WeCom's own and no maintained library for it exists in our dependencies.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import struct
import xml.etree.ElementTree as ET
from typing import Literal

import defusedxml.ElementTree as DefusedET
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from defusedxml import DefusedXmlException

ErrorKind = Literal["signature", "receive_id", "malformed", "stale"]

# WeCom pads to 32-byte blocks (not AES's 16), so PKCS#7 is configured for 256 bits.
_PAD_BITS = 256
# A callback body is a few hundred bytes (text messages are at most 2048 bytes before encryption); a cap
# well above that bounds the memory and CPU an unauthenticated request can make us spend.
MAX_XML_BYTES = 64 * 1024
_ENCODING = re.compile(r"""\ufeff?\s*<\?xml[^>]*?\bencoding\s*=\s*["']([^"']*)["']""")


class WeComCryptoError(Exception):
    """A callback that failed verification or could not be read.

    `kind` is "signature" or "receive_id" (forged: answer 403), "stale" (signed, but its timestamp is
    outside the accepted window: a replay or a clock gone wrong, answer 403) or "malformed" (answer 400).
    """

    def __init__(self, kind: ErrorKind, detail: str = "") -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind: ErrorKind = kind
        self.detail = detail

    @property
    def http_status(self) -> int:
        """The HTTP status to answer: 403 for a forgery or a stale envelope, 400 for a malformed request."""
        return 400 if self.kind == "malformed" else 403


def parse_xml_fields(data: bytes | str) -> dict[str, str]:
    """Parse a flat WeCom XML document into {tag: text} for the root's children.

    WeCom sends UTF-8 and nothing else, so the bytes are first decoded strictly as UTF-8 (a UTF-16 or GBK
    body, which a byte-level check for `<!DOCTYPE` would not even see, is refused here) and any XML
    declaration naming another encoding is refused; then defusedxml parses it with DTDs forbidden, so no
    entity (internal "billion laughs" or external) is ever expanded. The size is capped before either.
    Raises WeComCryptoError("malformed") on anything else unexpected.
    """
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if len(raw) > MAX_XML_BYTES:
        raise WeComCryptoError("malformed", "XML too large")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WeComCryptoError("malformed", "XML is not UTF-8") from exc
    declared = _ENCODING.match(text)
    if declared is not None and declared.group(1).lower().replace("_", "-") not in ("utf-8", "utf8"):
        raise WeComCryptoError("malformed", "XML declares an encoding other than UTF-8")
    try:
        root = DefusedET.fromstring(raw, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise WeComCryptoError("malformed", "XML declarations are not accepted") from exc
    except (ET.ParseError, ValueError, LookupError) as exc:
        raise WeComCryptoError("malformed", "not well-formed XML") from exc
    fields: dict[str, str] = {}
    for child in root:
        fields[child.tag] = (child.text or "").strip()
    return fields


class WeComCrypto:
    """Signs, verifies, encrypts and decrypts WeCom callback payloads for one app."""

    def __init__(self, token: str, encoding_aes_key: str, receive_id: str) -> None:
        """Build from the app's Token, its 43-character EncodingAESKey and the expected receive id."""
        if len(encoding_aes_key) != 43:
            raise ValueError("EncodingAESKey must be 43 characters")
        try:
            key = base64.b64decode(encoding_aes_key + "=", validate=True)
        except binascii.Error as exc:
            raise ValueError("EncodingAESKey is not valid base64") from exc
        if len(key) != 32:
            raise ValueError("EncodingAESKey must decode to 32 bytes")
        self._token = token
        self._key = key
        self._iv = key[:16]
        self._receive_id = receive_id

    def __repr__(self) -> str:
        # Never show the token or the key, even in a debugger or a log of locals.
        return f"WeComCrypto(receive_id={self._receive_id!r})"

    def signature(self, timestamp: str, nonce: str, encrypted: str) -> str:
        """The msg_signature WeCom computes: sha1 over the sorted token, timestamp, nonce and ciphertext."""
        parts = sorted([self._token, timestamp, nonce, encrypted])
        return hashlib.sha1("".join(parts).encode("utf-8")).hexdigest()

    def _check_signature(self, msg_signature: str, timestamp: str, nonce: str, encrypted: str) -> None:
        expected = self.signature(timestamp, nonce, encrypted)
        if not hmac.compare_digest(expected.encode("ascii"), msg_signature.lower().encode("utf-8")):
            raise WeComCryptoError("signature", "msg_signature does not match")

    def verify_url(self, msg_signature: str, timestamp: str, nonce: str, echostr: str) -> str:
        """Check a URL-verification GET and return the decrypted echostr to answer with."""
        self._check_signature(msg_signature, timestamp, nonce, echostr)
        return self.decrypt(echostr)

    def decrypt_message(self, body_xml: bytes, msg_signature: str, timestamp: str, nonce: str) -> str:
        """Verify and decrypt a callback POST body; return the inner message XML."""
        fields = parse_xml_fields(body_xml)
        encrypted = fields.get("Encrypt", "")
        if not encrypted:
            raise WeComCryptoError("malformed", "no Encrypt element")
        self._check_signature(msg_signature, timestamp, nonce, encrypted)
        return self.decrypt(encrypted)

    def decrypt(self, encrypted: str) -> str:
        """Decrypt one base64 ciphertext and check its receive id (no signature check)."""
        try:
            data = base64.b64decode(encrypted, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise WeComCryptoError("malformed", "ciphertext is not base64") from exc
        if not data or len(data) % 16:
            raise WeComCryptoError("malformed", "ciphertext is not whole AES blocks")
        decryptor = Cipher(algorithms.AES(self._key), modes.CBC(self._iv)).decryptor()
        padded = decryptor.update(data) + decryptor.finalize()
        unpadder = padding.PKCS7(_PAD_BITS).unpadder()
        try:
            plain = unpadder.update(padded) + unpadder.finalize()
        except ValueError as exc:
            raise WeComCryptoError("malformed", "bad padding") from exc
        if len(plain) < 20:
            raise WeComCryptoError("malformed", "plaintext too short")
        (length,) = struct.unpack(">I", plain[16:20])
        if 20 + length > len(plain):
            raise WeComCryptoError("malformed", "length field out of range")
        message = plain[20 : 20 + length]
        receive_id = plain[20 + length :]
        if not hmac.compare_digest(receive_id, self._receive_id.encode("utf-8")):
            raise WeComCryptoError("receive_id", "receive id does not match this app")
        try:
            return message.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise WeComCryptoError("malformed", "message is not UTF-8") from exc

    def encrypt(self, plain: str, random: bytes | None = None) -> str:
        """Encrypt `plain` the way WeCom does; `random` (16 bytes) is fixed only by tests."""
        prefix = random if random is not None else os.urandom(16)
        if len(prefix) != 16:
            raise ValueError("random prefix must be 16 bytes")
        message = plain.encode("utf-8")
        framed = prefix + struct.pack(">I", len(message)) + message + self._receive_id.encode("utf-8")
        padder = padding.PKCS7(_PAD_BITS).padder()
        padded = padder.update(framed) + padder.finalize()
        encryptor = Cipher(algorithms.AES(self._key), modes.CBC(self._iv)).encryptor()
        return base64.b64encode(encryptor.update(padded) + encryptor.finalize()).decode("ascii")

    def encrypt_message(self, plain_xml: str, nonce: str, timestamp: str) -> str:
        """Encrypt and sign `plain_xml` into the envelope XML of a passive reply (also used by tests)."""
        encrypted = self.encrypt(plain_xml)
        signature = self.signature(timestamp, nonce, encrypted)
        return (
            "<xml>"
            f"<Encrypt><![CDATA[{encrypted}]]></Encrypt>"
            f"<MsgSignature><![CDATA[{signature}]]></MsgSignature>"
            f"<TimeStamp>{timestamp}</TimeStamp>"
            f"<Nonce><![CDATA[{nonce}]]></Nonce>"
            "</xml>"
        )
