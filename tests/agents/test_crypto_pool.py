"""The worker-process crypto backend against the inline one."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time

import pytest

from agents import (
    CryptoError,
    CryptoPool,
    InlineCrypto,
    SecretKey,
    from_residue,
    layout_for,
    to_residue,
)

INSECURE_TEST_BITS = 512
"""Small keys, named as such: these tests check plumbing, not security."""

WAIT_BOUND = 5.0


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def wait_gone(pids: list[int]) -> list[int]:
    """The PIDs still alive after a bounded wait."""
    deadline = time.monotonic() + WAIT_BOUND
    alive = [p for p in pids if pid_alive(p)]
    while alive and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
        alive = [p for p in alive if pid_alive(p)]
    return alive


@pytest.mark.asyncio
async def test_pool_agrees_with_inline_crypto() -> None:
    inline = InlineCrypto()
    async with CryptoPool(2) as pool:
        assert len(pool.pids) == 2
        # keys made by the pool work inline, and the other way around
        pool_key = await pool.keygen(INSECURE_TEST_BITS, insecure=True)
        inline_key = await inline.keygen(INSECURE_TEST_BITS, insecure=True)
        assert isinstance(pool_key, SecretKey)
        assert pool_key.public.bits == INSECURE_TEST_BITS
        for key in (pool_key, inline_key):
            n = key.public.n
            xi, xj, weights = [5, -7, 0, 2**40], [-3, 11, 0, -(2**40)], [1, 2, 65535, 7]
            residues = [to_residue(-v, n) for v in xi]
            by_pool = await pool.encrypt(key, residues)
            by_inline = await inline.encrypt(key, residues)
            assert await inline.decrypt(key, by_pool) == residues
            assert await pool.decrypt(key, by_inline) == residues
            served_pool = await pool.serve(
                key.public, by_pool, [to_residue(v, n) for v in xj], weights
            )
            served_inline = await inline.serve(
                key.public, by_inline, [to_residue(v, n) for v in xj], weights
            )
            expected = [a * (b - c) for a, b, c in zip(weights, xj, xi, strict=True)]
            for served in (served_pool, served_inline):
                opened = await pool.decrypt(key, served)
                assert [from_residue(m, n) for m in opened] == expected
                assert await inline.decrypt(key, served) == opened


@pytest.mark.asyncio
async def test_pool_runs_calls_concurrently_and_keeps_them_apart() -> None:
    inline = InlineCrypto()
    key = await inline.keygen(INSECURE_TEST_BITS, insecure=True)
    async with CryptoPool(2) as pool:
        batches = [[i, i + 1, i + 2] for i in range(0, 60, 3)]
        ciphertexts = await asyncio.gather(*(pool.encrypt(key, b) for b in batches))
        opened = await asyncio.gather(*(pool.decrypt(key, c) for c in ciphertexts))
    assert opened == batches


@pytest.mark.asyncio
async def test_worker_processes_are_gone_after_the_block() -> None:
    async with CryptoPool(2) as pool:
        pids = pool.pids
        assert len(set(pids)) == 2
        assert all(pid_alive(p) for p in pids)
        assert os.getpid() not in pids
    assert await wait_gone(pids) == []


@pytest.mark.asyncio
async def test_worker_processes_are_gone_after_an_error_in_the_block() -> None:
    pids: list[int] = []

    class Boom(Exception):
        pass

    async def fail_inside() -> None:
        async with CryptoPool(2) as pool:
            pids.extend(pool.pids)
            raise Boom

    with pytest.raises(Boom):
        await fail_inside()
    assert len(pids) == 2
    assert await wait_gone(pids) == []


@pytest.mark.asyncio
async def test_worker_errors_become_crypto_errors_and_the_pool_survives() -> None:
    inline = InlineCrypto()
    key = await inline.keygen(INSECURE_TEST_BITS, insecure=True)
    async with CryptoPool(2) as pool:
        ciphertexts = await pool.encrypt(key, [1, 2, 3])
        with pytest.raises(CryptoError, match="positive"):
            await pool.serve(key.public, ciphertexts, [4, 5, 6], [1, 0, 1])
        # a corrupt private key (q overwritten with p) fails inside the worker
        corrupt = SecretKey(key.p, key.q)
        object.__setattr__(corrupt, "q", key.p)
        with pytest.raises(CryptoError, match="crypto worker"):
            await pool.decrypt(corrupt, ciphertexts)
        with pytest.raises(CryptoError):
            await pool.keygen(INSECURE_TEST_BITS)  # insecure size without the flag
        # both workers still answer correctly
        results = await asyncio.gather(*(pool.decrypt(key, ciphertexts) for _ in range(6)))
        assert results == [[1, 2, 3]] * 6
        pids = pool.pids
        assert all(pid_alive(p) for p in pids)


@pytest.mark.asyncio
async def test_pool_cannot_be_entered_twice() -> None:
    pool = CryptoPool(1)
    async with pool:
        with pytest.raises(CryptoError):
            async with pool:
                pass  # pragma: no cover
    with pytest.raises(CryptoError):
        async with pool:
            pass  # pragma: no cover


def test_pool_refuses_zero_workers() -> None:
    with pytest.raises(CryptoError):
        CryptoPool(0)


@pytest.mark.asyncio
async def test_a_cancelled_call_does_not_hand_its_reply_to_the_next_caller() -> None:
    # Agents cancel their serve tasks when they leave, while other agents of the same
    # process keep using the shared pool. A call cancelled after its request reached
    # the worker must not leave that worker's reply to be read by the next call.
    inline = InlineCrypto()
    key = await inline.keygen(INSECURE_TEST_BITS, insecure=True)
    small = await inline.encrypt(key, [1, 2, 3])
    big = await inline.encrypt(key, list(range(50))) * 80  # 4000 decryptions: busy a while
    async with CryptoPool(1) as pool:
        pending = asyncio.create_task(pool.decrypt(key, big))
        await asyncio.sleep(0.05)  # the request is written; the worker is computing
        assert not pending.done()
        pending.cancel()
        with pytest.raises(asyncio.CancelledError):
            await pending
        async with asyncio.timeout(WAIT_BOUND):
            assert await pool.decrypt(key, small) == [1, 2, 3]
            assert await pool.decrypt(key, small[:1]) == [1]


@pytest.mark.asyncio
async def test_pool_serve_packed_agrees_with_inline_crypto() -> None:
    inline = InlineCrypto()
    key = await inline.keygen(INSECURE_TEST_BITS, insecure=True)
    n = key.public.n
    layout = layout_for(value_bound=2**52, weight_bound=2**15, modulus_bits=key.public.bits - 1)
    dim = layout.slots + 2  # two ciphertexts, the second one short
    xi = [(-1) ** k * (2**51 + 7 * k) for k in range(dim)]
    xj = [3 * k - 2**50 for k in range(dim)]
    weights = [2**14 + 17 * k for k in range(dim)]
    request = await inline.encrypt(key, [to_residue(-v, n) for v in xi])
    residues = [to_residue(v, n) for v in xj]
    async with CryptoPool(2) as pool:
        by_pool = await pool.serve_packed(key.public, request, residues, weights, layout)
    by_inline = await inline.serve_packed(key.public, request, residues, weights, layout)
    assert len(by_pool) == len(by_inline) == 2
    assert by_pool != by_inline  # each re-randomized
    expected = [a * (b - c) for a, b, c in zip(weights, xj, xi, strict=True)]
    for served in (by_pool, by_inline):
        opened = [from_residue(m, n) for m in await inline.decrypt(key, served)]
        assert layout.unpack(opened, dim) == expected


@pytest.mark.asyncio
async def test_echo_round_trips_bytes_through_a_worker() -> None:
    async with CryptoPool(1) as pool:
        for data in (b"", b"\x00\xff" * 1000, os.urandom(100_000)):
            assert await pool.echo(data) == data
        assert pool.stats.as_dict() == CryptoPool(1).stats.as_dict()  # counted as no op


def test_pool_refuses_a_depth_below_one() -> None:
    with pytest.raises(CryptoError, match="depth"):
        CryptoPool(1, depth=0)


@pytest.mark.asyncio
async def test_calls_written_ahead_to_one_worker_each_get_their_own_reply() -> None:
    # depth 4: up to four calls sit in the worker's pipe at once; replies come back in
    # the order written and each goes to its own caller, whatever their sizes
    inline = InlineCrypto()
    key = await inline.keygen(INSECURE_TEST_BITS, insecure=True)
    batches = [list(range(i, i + 1 + (7 * i) % 23)) for i in range(30)]
    async with CryptoPool(1, depth=4) as pool:
        ciphertexts = await asyncio.gather(*(pool.encrypt(key, b) for b in batches))
        opened = await asyncio.gather(*(pool.decrypt(key, c) for c in reversed(ciphertexts)))
    assert opened == batches[::-1]
    assert pool.stats.encryptions == pool.stats.decryptions == sum(map(len, batches))


@pytest.mark.asyncio
async def test_calls_pending_on_a_worker_that_dies_fail_as_crypto_errors() -> None:
    inline = InlineCrypto()
    key = await inline.keygen(INSECURE_TEST_BITS, insecure=True)
    big = await inline.encrypt(key, list(range(50))) * 80  # busy a while
    async with CryptoPool(1, depth=2) as pool:
        (pid,) = pool.pids
        pending = [asyncio.create_task(pool.decrypt(key, big)) for _ in range(2)]
        await asyncio.sleep(0.05)  # both written; the worker computes the first
        os.kill(pid, signal.SIGKILL)
        async with asyncio.timeout(WAIT_BOUND):
            results = await asyncio.gather(*pending, return_exceptions=True)
            assert all(isinstance(r, CryptoError) and "died" in str(r) for r in results)
            with pytest.raises(CryptoError, match="died"):
                await pool.decrypt(key, big[:1])  # later calls too, at once


@pytest.mark.skipif(sys.platform != "linux", reason="SCHED_BATCH is Linux's")
@pytest.mark.asyncio
async def test_workers_run_as_batch_tasks() -> None:
    async with CryptoPool(2) as pool:
        assert [os.sched_getscheduler(pid) for pid in pool.pids] == [os.SCHED_BATCH] * 2
    assert os.sched_getscheduler(0) != os.SCHED_BATCH  # this process keeps its policy
