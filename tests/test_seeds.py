"""One seed helper: the strides the campaign has always used, and no silent new stream."""

import pytest

from lpsflow.seeds import STRIDES, derive


def test_strides_keep_the_seeds_of_finished_campaigns():
    assert derive(5, iteration=2, composition=3) == 5 + 7919 * 2 + 13 * 3
    assert derive(5, replica=2) == 5 + 2000
    assert derive(5, member=3) == 35
    assert derive(5, job=2) == 5 + 202
    assert derive(7, temperature=800.7) == 807
    assert derive(3, scale=1000, structure=4) == 3004


def test_explored_jobs_never_share_a_seed():
    """30 iterations x 20 compositions x 8 jobs each: every LAMMPS run its own seed."""
    seeds = [
        derive(derive(0, iteration=i, composition=c), job=j)
        for i in range(30)
        for c in range(20)
        for j in range(8)
    ]
    assert len(set(seeds)) == len(seeds)


def test_an_unknown_stream_is_refused():
    with pytest.raises(KeyError, match="no seed stride for \\['walker'\\]"):
        derive(0, walker=1)
    assert set(STRIDES) >= {"replica", "member", "iteration", "composition", "temperature"}
