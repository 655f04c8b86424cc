"""The token vault: encrypted originals per order, restored by order or by token, erased."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from proxy.actions.base import Context, Env, IssuedToken, Keys
from proxy.actions.tokenise import Tokenise
from proxy.errors import VaultError
from proxy.keys import KeyMaterial
from proxy.storage import Store, open_store
from proxy.storage.memory import MemoryStore
from proxy.vault import TokenVault

KEYS = Keys(commit=b"c" * 32, token=b"t" * 32, hash=b"h" * 32)
VAULT_KEY = KeyMaterial(Ed25519PrivateKey.generate(), b"s" * 32).derive("vault")
OTHER_KEY = KeyMaterial(Ed25519PrivateKey.generate(), b"x" * 32).derive("vault")


def issue(order_ref: str, value: str, fmt: str = "opaque") -> IssuedToken:
    """The token the ``tokenise`` action mints for ``value`` in ``order_ref``."""
    change = Tokenise(fmt).apply(value, Env(Context(KEYS, order_ref=order_ref)))
    assert change.token is not None
    return change.token


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    """An open, empty store of each kind."""
    s = open_store(store_url)
    await s.open()
    yield s
    await s.close()


@pytest.fixture
def vault(store: Store) -> TokenVault:
    """A vault on each kind of store."""
    return TokenVault(store, VAULT_KEY)


async def test_round_trip_of_every_format(vault: TokenVault, store: Store) -> None:
    """What is remembered comes back as token -> original, for every token format and for
    text that is not plain ASCII; the store holds neither the originals nor the order ref."""
    ref = "ORD-2026-000123"
    tokens = [
        issue(ref, "Maria Rossi"),
        issue(ref, "+39 347 555 0199", "digits"),
        issue(ref, "RSSMRA80A01H501U", "codice_fiscale"),
        issue(ref, "Zoë d\u0301 🦉"),  # combining accent and a character beyond the BMP
    ]
    await vault.remember(ref, tokens)
    assert await vault.mapping(ref) == {t.token: t.original for t in tokens}
    stored = await store.tokens_for(vault.order_key(ref))
    assert set(stored) == {t.token for t in tokens}
    for token in tokens:
        plain = token.original.encode()
        assert plain not in stored[token.token]
        assert len(stored[token.token]) == 12 + len(plain) + 16  # nonce, ciphertext, tag
    assert ref.encode() not in vault.order_key(ref) and len(vault.order_key(ref)) == 32


async def test_remembering_again_changes_nothing(vault: TokenVault, store: Store) -> None:
    """A second remember of the same tokens (fresh nonces) keeps the stored ciphertexts."""
    ref = "ORD-1"
    tokens = [issue(ref, "Maria Rossi"), issue(ref, "maria@example.it")]
    await vault.remember(ref, tokens)
    first = await store.tokens_for(vault.order_key(ref))
    await vault.remember(ref, tokens)
    await vault.remember(ref, [])
    assert await store.tokens_for(vault.order_key(ref)) == first
    assert await vault.mapping(ref) == {t.token: t.original for t in tokens}


async def test_a_value_is_one_token_within_an_order_and_unlinkable_across(
    vault: TokenVault,
) -> None:
    """The same value on two messages of an order is one vault entry; in another order it is
    another token, and each order restores only its own."""
    first, again = issue("ORD-A", "Maria Rossi"), issue("ORD-A", "Maria Rossi")
    other = issue("ORD-B", "Maria Rossi")
    assert first.token == again.token != other.token
    await vault.remember("ORD-A", [first])
    await vault.remember("ORD-A", [again, issue("ORD-A", "Luca Bianchi")])
    await vault.remember("ORD-B", [other])
    assert await vault.mapping("ORD-A") == {
        first.token: "Maria Rossi",
        issue("ORD-A", "Luca Bianchi").token: "Luca Bianchi",
    }
    assert await vault.mapping("ORD-B") == {other.token: "Maria Rossi"}
    assert vault.order_key("ORD-A") != vault.order_key("ORD-B")


async def test_resolve_finds_tokens_of_any_order(vault: TokenVault) -> None:
    """resolve restores tokens from several orders at once; unknown tokens are left out."""
    a, b = issue("ORD-A", "Maria Rossi"), issue("ORD-B", "+39 06 1234567", "digits")
    await vault.remember("ORD-A", [a])
    await vault.remember("ORD-B", [b])
    got = await vault.resolve(iter([a.token, b.token, a.token, "tok_unknown"]))
    assert got == {a.token: "Maria Rossi", b.token: "+39 06 1234567"}
    assert await vault.resolve([]) == {}


async def test_forget_erases_one_order(vault: TokenVault) -> None:
    """forget erases an order's tokens (count returned) and leaves other orders alone."""
    a = [issue("ORD-A", "Maria Rossi"), issue("ORD-A", "maria@example.it")]
    b = issue("ORD-B", "Luca Bianchi")
    await vault.remember("ORD-A", a)
    await vault.remember("ORD-B", [b])
    assert await vault.forget("ORD-A") == 2
    assert await vault.forget("ORD-A") == 0
    assert await vault.mapping("ORD-A") == {}
    assert await vault.resolve([t.token for t in a] + [b.token]) == {b.token: "Luca Bianchi"}


async def _replace_stored(store: Store, order_key: bytes, rows: dict[str, bytes]) -> None:
    await store.erase_tokens(order_key)
    await store.put_tokens(order_key, list(rows.items()))


@pytest.mark.parametrize("how", ["flipped-byte", "truncated", "moved"])
async def test_an_altered_ciphertext_is_a_vault_error(
    vault: TokenVault, store: Store, how: str
) -> None:
    """A stored ciphertext with a flipped byte, cut short, or moved to another token does not
    open: mapping and resolve raise VaultError, whose message names no value."""
    ref = "ORD-1"
    tokens = [issue(ref, "Maria Rossi"), issue(ref, "Luca Bianchi")]
    await vault.remember(ref, tokens)
    key = vault.order_key(ref)
    rows = await store.tokens_for(key)
    first, second = (t.token for t in tokens)
    if how == "flipped-byte":
        rows[first] = rows[first][:20] + bytes([rows[first][20] ^ 1]) + rows[first][21:]
    elif how == "truncated":
        rows[first] = rows[first][:8]
    else:
        rows[first], rows[second] = rows[second], rows[first]
    await _replace_stored(store, key, rows)
    with pytest.raises(VaultError) as mapped:
        await vault.mapping(ref)
    with pytest.raises(VaultError) as resolved:
        await vault.resolve([first])
    for exc in (mapped.value, resolved.value):
        assert exc.status == 503
        assert not any(s in str(exc) for s in ("Maria", "Luca", first, second, ref))


async def test_a_vault_with_another_key_cannot_open(vault: TokenVault, store: Store) -> None:
    """Under another key, tokens found by text do not open (VaultError); the order key
    differs too, so the order's tokens are not even found."""
    token = issue("ORD-1", "Maria Rossi")
    await vault.remember("ORD-1", [token])
    stranger = TokenVault(store, OTHER_KEY)
    with pytest.raises(VaultError, match="sealed under another key"):
        await stranger.resolve([token.token])
    assert stranger.order_key("ORD-1") != vault.order_key("ORD-1")
    assert await stranger.mapping("ORD-1") == {}


async def test_two_values_for_one_token_are_refused() -> None:
    """Two originals under one token in one call are refused before anything is stored."""
    store = MemoryStore()
    await store.open()
    vault = TokenVault(store, VAULT_KEY)
    clash = IssuedToken("id", "123", "Maria Rossi", "digits")
    with pytest.raises(VaultError, match="one original per token"):
        await vault.remember("ORD-1", [clash, IssuedToken("id", "123", "Luca Bianchi", "digits")])
    assert await store.tokens_for(vault.order_key("ORD-1")) == {}


async def test_store_failures_are_vault_errors() -> None:
    """Each operation on a store that fails raises VaultError (503) naming the failure's kind."""
    store = MemoryStore()
    vault = TokenVault(store, VAULT_KEY)  # never opened: every call fails
    token = issue("ORD-1", "Maria Rossi")
    calls: list[Callable[[], Awaitable[object]]] = [
        lambda: vault.remember("ORD-1", [token]),
        lambda: vault.mapping("ORD-1"),
        lambda: vault.resolve([token.token]),
        lambda: vault.forget("ORD-1"),
    ]
    for call in calls:
        with pytest.raises(VaultError, match="got StoreError") as caught:
            await call()
        assert caught.value.status == 503 and "Maria" not in str(caught.value)


def test_a_key_of_the_wrong_size_is_refused() -> None:
    """The vault key is 32 bytes (KeyMaterial.derive); anything else is a configuration bug."""
    with pytest.raises(VaultError, match="expected a 32-byte vault key, got 16 bytes"):
        TokenVault(MemoryStore(), b"k" * 16)


def sqlite_bytes(path: Path) -> bytes:
    """Every byte of a SQLite database: the file, its WAL and its shared-memory index."""
    files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
    return b"".join(f.read_bytes() for f in files if f.exists())


async def test_canary_original_is_in_no_byte_of_the_sqlite_files(tmp_path: Path) -> None:
    """A unique planted original and order ref appear nowhere in the database, its WAL or
    its shm, while open and after closing; the token text, stored in clear, is found (so the
    scan does see what was written). After forget, not even the token is left, open or closed."""
    path = tmp_path / "data" / "civetta.db"
    canary = f"Canary {uuid.uuid4().hex} Rossi"
    ref = f"ORD-{uuid.uuid4().hex}"
    store = open_store(f"sqlite:///{path}")
    await store.open()
    vault = TokenVault(store, VAULT_KEY)
    token = issue(ref, canary)
    await vault.remember(ref, [token])
    assert await vault.mapping(ref) == {token.token: canary}
    assert path.with_name(path.name + "-wal").exists()
    planted = (canary.encode(), canary.encode("utf-16-le"), ref.encode())
    while_open = sqlite_bytes(path)
    assert token.token.encode() in while_open
    assert not any(s in while_open for s in planted)
    await store.close()
    after_close = sqlite_bytes(path)
    assert token.token.encode() in after_close
    assert not any(s in after_close for s in planted)
    await store.open()
    assert await vault.forget(ref) == 1
    assert token.token.encode() not in sqlite_bytes(path)  # not even in an old WAL frame
    await store.close()
    assert token.token.encode() not in sqlite_bytes(path)
