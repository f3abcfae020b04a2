"""`GET /metrics` on `streamlit run serve.py`: Prometheus' text, parsed by its own parser, the store's figures."""

from __future__ import annotations

import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from review import ReviewConsole
from tests.insights.history import Past, record


def test_serve_py_answers_metrics_with_the_stores_figures(tmp_path: Path) -> None:
    from tests.e2e.conftest import serve

    db = tmp_path / "review.sqlite"
    console = ReviewConsole.open(db)
    try:
        record(console, [Past("create_circle", "approve", "ana", at=0, waited=3)] * 2)
    finally:
        console.close()
    with serve(tmp_path, tmp_path / "serve.log", db=str(db)) as server:
        response = urllib.request.urlopen(f"{server.url}/metrics", timeout=30)
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = response.read().decode()
    found = {family.name: family for family in text_string_to_metric_families(text)}
    assert [s.value for s in found["review_up"].samples] == [1.0]
    [applied] = [s for s in found["review_decisions"].samples if s.labels["status"] == "applied"]
    assert applied.value == 2 and applied.labels["channel"] == "console"
    assert "process_resident_memory_bytes" in found  # this process's own figures
