import os

from devhost.processes import cpu_placement


def test_one_cpu_per_process_only_when_there_are_several_and_enough_cpus():
    cpus = sorted(os.sched_getaffinity(0))
    assert cpu_placement(1) == [None]
    assert cpu_placement(len(cpus) + 1) == [None] * (len(cpus) + 1)
    if len(cpus) >= 2:
        assert cpu_placement(2) == cpus[:2]
