"""The cryptography of WeCom's 智能机器人, written here from the official documents, independently of the bot's
own code (bot/wecom_crypto.py, aibot.decrypt_file), so that tests check one against the other.

- Media: AES-256-CBC with the message's aeskey (base64 of the key), IV = the key's first 16 bytes, PKCS#7
  padding to 32 bytes (智能机器人 接收消息, 多媒体资源解密).
- Callbacks and passive replies (回调和回复的加解密方案): 16 random bytes, a 4-byte big-endian length, the
  message and the receive id ("" for an enterprise's own bot), PKCS#7 to 32 bytes, AES-256-CBC with the key
  base64(EncodingAESKey + "="); msg_signature = sha1 of the sorted token, timestamp, nonce and ciphertext.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
from typing import Any

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


def _pad32(data: bytes) -> bytes:
    pad = 32 - len(data) % 32
    return data + bytes([pad]) * pad


def _unpad32(data: bytes) -> bytes:
    pad = data[-1]
    if not 1 <= pad <= 32 or data[-pad:] != bytes([pad]) * pad:
        raise ValueError("bad padding")
    return data[:-pad]


def encrypt_media(data: bytes, aeskey: str) -> bytes:
    """Encrypt a media file as WeCom does for the AI bot: AES-256-CBC, key = base64(aeskey), IV = key[:16]."""
    key = base64.b64decode(aeskey + "=" * (-len(aeskey) % 4))
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return encryptor.update(_pad32(data)) + encryptor.finalize()


def new_aeskey() -> str:
    """A per-file key as WeCom hands them out (base64 of 32 bytes, without its padding)."""
    return base64.b64encode(os.urandom(32)).decode().rstrip("=")


class CallbackCrypto:
    """Token + EncodingAESKey; receive id "" (an enterprise's own AI bot)."""

    def __init__(self, token: str, encoding_aes_key: str, receive_id: str = "") -> None:
        self.token = token
        self.key = base64.b64decode(encoding_aes_key + "=")
        self.receive_id = receive_id.encode()

    def signature(self, timestamp: str, nonce: str, encrypted: str) -> str:
        """sha1 of the sorted token, timestamp, nonce and ciphertext."""
        return hashlib.sha1("".join(sorted([self.token, timestamp, nonce, encrypted])).encode()).hexdigest()

    def encrypt(self, plain: str) -> str:
        """16 random bytes, a 4-byte big-endian length, the message and the receive id; PKCS#7 to 32."""
        message = plain.encode()
        raw = os.urandom(16) + struct.pack(">I", len(message)) + message + self.receive_id
        encryptor = Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16])).encryptor()
        return base64.b64encode(encryptor.update(_pad32(raw)) + encryptor.finalize()).decode()

    def decrypt(self, encrypted: str) -> str:
        """The message inside a ciphertext (the receive id checked)."""
        decryptor = Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16])).decryptor()
        raw = _unpad32(decryptor.update(base64.b64decode(encrypted)) + decryptor.finalize())
        (length,) = struct.unpack(">I", raw[16:20])
        if raw[20 + length:] != self.receive_id:
            raise ValueError("receive id")
        return raw[20:20 + length].decode()

    def callback(self, body: dict[str, Any], *, timestamp: str = "1700000000",
                 nonce: str = "1372623149") -> tuple[dict[str, str], bytes]:
        """The query and JSON body WeCom POSTs for `body` (接收回调)."""
        encrypted = self.encrypt(json.dumps(body, ensure_ascii=False))
        query = {"msg_signature": self.signature(timestamp, nonce, encrypted), "timestamp": timestamp,
                 "nonce": nonce}
        return query, json.dumps({"encrypt": encrypted}).encode()

    def verify_query(self, echo: str, *, timestamp: str = "1700000000",
                     nonce: str = "9931") -> dict[str, str]:
        """The URL-verification GET's query for the plain `echo` (验证URL有效性)."""
        echostr = self.encrypt(echo)
        return {"msg_signature": self.signature(timestamp, nonce, echostr), "timestamp": timestamp,
                "nonce": nonce, "echostr": echostr}

    def open_reply(self, data: dict[str, Any]) -> dict[str, Any]:
        """Check and decrypt a passive reply ({encrypt, msgsignature, timestamp, nonce})."""
        expected = self.signature(str(data["timestamp"]), str(data["nonce"]), data["encrypt"])
        if data["msgsignature"] != expected:
            raise ValueError("bad reply signature")
        result: dict[str, Any] = json.loads(self.decrypt(data["encrypt"]))
        return result
