"""The notification figures (bench/notifications.py) at a tiny size: they run, on both backends, and the digests
figure counts one message per thread."""

from __future__ import annotations

from pathlib import Path

from bench.notifications import bench_notifications


def test_the_notification_figures_run_at_a_tiny_size(store_url: str, tmp_path: Path) -> None:
    latency, digests, cost = bench_notifications(store_url, tmp_path, trials=2, threads=4)
    assert latency.name.startswith("(8a) interrupt -> webhook received, p95")
    assert latency.value_s is not None and 0 < latency.value_s < 30
    assert digests.name == "(8b) 12 new rows (4 threads) delivered as digests"
    assert digests.met and digests.note.startswith("4 messages sent (one per thread)")
    assert cost.name.startswith("(8c) the outbox's cost on a refresh") and cost.baseline_s and cost.value_s
    assert "(10 + 10, ABBA blocks)" in cost.name and "A/A control" in cost.note  # the noise is shown beside it
