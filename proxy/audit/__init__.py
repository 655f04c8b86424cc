"""The audit log: Merkle tree, proofs, signed notes and checkpoints, leaf records, verifier.

The modules ``merkle``, ``note``, ``checkpoint`` and ``proof_format`` are the pure core: bytes
in, bytes out, no I/O, so that the verifier a regulator runs shares them with the proxy.
"""
