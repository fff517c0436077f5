"""Random seeds of every stochastic job, derived in one place from the seed of a config section.

A job adds the index of what it runs for, times that index's stride, to its section's seed::

    derive(explore.md.seed, iteration=i, composition=c)   # seed + 7919 i + 13 c
    derive(production.seed, replica=r)                     # seed + 1000 r
    derive(train.seed, member=m)                           # seed + 10 m

The strides are the ones the campaign has always used, so a finished campaign keeps its seeds
and numbers. ``scale`` multiplies the section's seed first: the perturbations of the initial
data take ``1000 * init.seed + structure`` and the packing of a sampled structure
``1000 * composition seed + replica`` (a block of 1000 seeds per config seed).

Known overlap, kept for the same reason: temperature has stride 1 and replica 1000, so
replica 0 at 1300 K and replica 1 at 300 K start from the same velocity seed (different
glasses, so the runs still differ).
"""

from __future__ import annotations

#: what a seed is derived for, and its stride
STRIDES = {
    "temperature": 1,  # K, rounded down
    "structure": 1,  # sampled structure of a composition (packing, initial perturbations)
    "member": 10,  # ensemble member
    "job": 101,  # exploration job of one iteration and composition
    "composition": 13,  # position of the composition in the config
    "replica": 1000,  # glass replica
    "iteration": 7919,  # concurrent-learning iteration
}


def derive(seed: int, *, scale: int = 1, **index: float) -> int:
    """``scale * seed`` plus each index times its stride (:data:`STRIDES`)."""
    unknown = set(index) - set(STRIDES)
    if unknown:
        raise KeyError(f"no seed stride for {sorted(unknown)}; known: {sorted(STRIDES)}")
    return scale * int(seed) + sum(STRIDES[k] * int(v) for k, v in index.items())
