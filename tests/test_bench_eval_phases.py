"""bench/eval_phases.py: the engine's busy time and requests in flight, from request intervals."""

import sys

from conftest import REPO

sys.path.insert(0, str(REPO / "bench"))
from eval_phases import in_flight, union_seconds  # noqa: E402


def test_busy_seconds_and_requests_in_flight_count_overlaps_once_and_clip_to_the_window():
    requests = [(0.0, 2.0), (1.0, 3.0), (5.0, 9.0)]  # two overlap; the last runs past the window's end
    assert union_seconds(requests, 0.0, 6.0) == 4.0  # 0-3 and 5-6; 3-5 the engine had nothing
    assert in_flight(requests, 0.0, 6.0) == {0: 2.0, 1: 3.0, 2: 1.0}
    assert sum(in_flight(requests, 0.0, 6.0).values()) == 6.0
