"""WeCom callback crypto against Tencent's published WXBizMsgCrypt sample vectors, and round trips."""

from __future__ import annotations

import base64
import struct

import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.wecom_crypto import WeComCrypto, WeComCryptoError, parse_xml_fields

# Tencent's sample parameters (WXBizMsgCrypt samples, 加解密方案说明).
TOKEN = "QDG6eK"
CORP_ID = "wx5823bf96d3bd56c7"
AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"

# Sample 1, VerifyURL: GET /cgi-bin/wxpush?msg_signature=…&timestamp=…&nonce=…&echostr=…
VERIFY_SIGNATURE = "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3"
VERIFY_TIMESTAMP = "1409659589"
VERIFY_NONCE = "263014780"
VERIFY_ECHOSTR = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="
VERIFY_PLAIN = "1616140317555161061"

# Sample 2, DecryptMsg: POST /cgi-bin/wxpush?msg_signature=…&timestamp=…&nonce=…
MSG_SIGNATURE = "477715d11cdb4164915debcba66cb864d751f3e6"
MSG_TIMESTAMP = "1409659813"
MSG_NONCE = "1372623149"
MSG_ENCRYPT = (
    "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/"
    "sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZf"
    "JYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGU"
    "callcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA"
    "5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q=="
)
MSG_BODY = (
    "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>"
    f"<Encrypt><![CDATA[{MSG_ENCRYPT}]]></Encrypt></xml>"
).encode()
MSG_PLAIN = (
    "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>\n"
    "<FromUserName><![CDATA[mycreate]]></FromUserName>\n"
    "<CreateTime>1409659813</CreateTime>\n"
    "<MsgType><![CDATA[text]]></MsgType>\n"
    "<Content><![CDATA[hello]]></Content>\n"
    "<MsgId>4561255354251345929</MsgId>\n"
    "<AgentID>218</AgentID>\n"
    "</xml>"
)


@pytest.fixture
def crypto() -> WeComCrypto:
    return WeComCrypto(TOKEN, AES_KEY, CORP_ID)


def _raw_encrypt(plain: bytes, *, pad: bool = True) -> str:
    """Encrypt arbitrary framed bytes with the sample key (to build malformed ciphertexts)."""
    key = base64.b64decode(AES_KEY + "=")
    if pad:
        padder = padding.PKCS7(256).padder()
        plain = padder.update(plain) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()


# ---- Tencent's sample vectors ------------------------------------------------------------------
def test_sample_verify_url(crypto: WeComCrypto) -> None:
    assert crypto.verify_url(VERIFY_SIGNATURE, VERIFY_TIMESTAMP, VERIFY_NONCE, VERIFY_ECHOSTR) == VERIFY_PLAIN


def test_sample_message_signature_and_decryption(crypto: WeComCrypto) -> None:
    assert crypto.signature(MSG_TIMESTAMP, MSG_NONCE, MSG_ENCRYPT) == MSG_SIGNATURE
    plain = crypto.decrypt_message(MSG_BODY, MSG_SIGNATURE, MSG_TIMESTAMP, MSG_NONCE)
    assert plain == MSG_PLAIN
    fields = parse_xml_fields(plain)
    assert fields["FromUserName"] == "mycreate"
    assert fields["Content"] == "hello"
    assert fields["MsgId"] == "4561255354251345929"


def test_sample_with_wrong_receive_id_is_refused() -> None:
    other = WeComCrypto(TOKEN, AES_KEY, "wwsomeothercorp")
    with pytest.raises(WeComCryptoError) as info:
        other.decrypt_message(MSG_BODY, MSG_SIGNATURE, MSG_TIMESTAMP, MSG_NONCE)
    assert info.value.kind == "receive_id"
    assert info.value.http_status == 403


def test_sample_with_wrong_token_or_tampered_parts_is_refused(crypto: WeComCrypto) -> None:
    wrong_token = WeComCrypto("notQDG6eK", AES_KEY, CORP_ID)
    attempts = [
        lambda: wrong_token.verify_url(VERIFY_SIGNATURE, VERIFY_TIMESTAMP, VERIFY_NONCE, VERIFY_ECHOSTR),
        lambda: crypto.verify_url(VERIFY_SIGNATURE, "1409659590", VERIFY_NONCE, VERIFY_ECHOSTR),
        lambda: crypto.verify_url("0" * 40, VERIFY_TIMESTAMP, VERIFY_NONCE, VERIFY_ECHOSTR),
        lambda: crypto.decrypt_message(MSG_BODY, MSG_SIGNATURE, MSG_TIMESTAMP, "1372623148"),
        lambda: crypto.decrypt_message(
            MSG_BODY.replace(b"Ryp", b"Ryq"), MSG_SIGNATURE, MSG_TIMESTAMP, MSG_NONCE
        ),
    ]
    for attempt in attempts:
        with pytest.raises(WeComCryptoError) as info:
            attempt()
        assert info.value.kind == "signature"
        assert info.value.http_status == 403


# ---- round trips of our own encryption ---------------------------------------------------------
def test_round_trip_envelope(crypto: WeComCrypto) -> None:
    inner = "<xml><Content><![CDATA[签约 #12 比亚迪 2亿]]></Content></xml>"
    envelope = crypto.encrypt_message(inner, "987654", "1700000000")
    fields = parse_xml_fields(envelope)
    assert fields["TimeStamp"] == "1700000000"
    assert fields["Nonce"] == "987654"
    assert fields["MsgSignature"] == crypto.signature("1700000000", "987654", fields["Encrypt"])
    assert crypto.decrypt_message(envelope.encode(), fields["MsgSignature"], "1700000000", "987654") == inner


def test_encryption_is_randomised_and_padded_to_32_bytes(crypto: WeComCrypto) -> None:
    first, second = crypto.encrypt("hello"), crypto.encrypt("hello")
    assert first != second  # the 16 random bytes differ
    for ciphertext in (first, second):
        assert len(base64.b64decode(ciphertext)) % 32 == 0
        assert crypto.decrypt(ciphertext) == "hello"


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=300))
def test_round_trip_any_text(text: str) -> None:
    crypto = WeComCrypto(TOKEN, AES_KEY, CORP_ID)
    assert crypto.decrypt(crypto.encrypt(text)) == text


def test_full_block_of_padding_when_length_is_a_multiple_of_32(crypto: WeComCrypto) -> None:
    # 16 random bytes + 4 length bytes + the message + the 18-byte receive id = exactly 64 bytes.
    message = "x" * (64 - 16 - 4 - len(CORP_ID))
    ciphertext = crypto.encrypt(message, random=bytes(16))
    assert len(base64.b64decode(ciphertext)) == 96  # 64 bytes of data + a whole 32-byte block of padding
    assert crypto.decrypt(ciphertext) == message


# ---- malformed input -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "encrypted",
    [
        "not base64!!",
        base64.b64encode(b"short").decode(),  # not whole AES blocks
        _raw_encrypt(bytes(32), pad=False),  # last byte 0: bad PKCS#7 padding
        _raw_encrypt(bytes(16) + struct.pack(">I", 10_000) + b"hi" + CORP_ID.encode()),  # length too long
        _raw_encrypt(bytes(10)),  # shorter than random + length
        _raw_encrypt(bytes(16) + struct.pack(">I", 2) + b"\xff\xfe" + CORP_ID.encode()),  # not UTF-8
    ],
)
def test_malformed_ciphertexts(crypto: WeComCrypto, encrypted: str) -> None:
    with pytest.raises(WeComCryptoError) as info:
        crypto.decrypt(encrypted)
    assert info.value.kind == "malformed"
    assert info.value.http_status == 400


def test_a_correctly_framed_ciphertext_from_elsewhere_decrypts(crypto: WeComCrypto) -> None:
    # The same helper builds a valid one, so the malformed cases above fail for their stated reason.
    assert crypto.decrypt(_raw_encrypt(bytes(16) + struct.pack(">I", 2) + b"hi" + CORP_ID.encode())) == "hi"


@pytest.mark.parametrize(
    "body",
    [
        b"<xml><Encrypt>abc</Encrypt>",  # not well-formed
        b"<xml><ToUserName>x</ToUserName></xml>",  # no Encrypt
        b'<!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
        b"<xml><Encrypt>&b;</Encrypt></xml>",  # entity expansion
        b"<xml><Encrypt>" + b"A" * 70_000 + b"</Encrypt></xml>",  # over the size cap
    ],
)
def test_malformed_bodies(crypto: WeComCrypto, body: bytes) -> None:
    with pytest.raises(WeComCryptoError) as info:
        crypto.decrypt_message(body, MSG_SIGNATURE, MSG_TIMESTAMP, MSG_NONCE)
    assert info.value.kind == "malformed"


def test_bad_keys_are_refused_and_secrets_stay_out_of_repr(crypto: WeComCrypto) -> None:
    with pytest.raises(ValueError):
        WeComCrypto(TOKEN, AES_KEY[:-1], CORP_ID)
    with pytest.raises(ValueError):
        WeComCrypto(TOKEN, "!" * 43, CORP_ID)
    assert TOKEN not in repr(crypto) and AES_KEY not in repr(crypto)
