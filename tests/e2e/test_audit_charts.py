"""The Audit page's three charts fit their columns at 1024 px and on a phone: no chart runs past the window,
no two time labels of one axis overlap."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.conftest import ARTIFACTS, Server
from tests.e2e.helpers import App

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def prepare_test_the_audit_charts_fit_at_1024_px_and_on_a_phone(db: Path) -> None:
    """Decisions of three reviewers and three kinds, so every chart has bars and a legend."""
    from review import ReviewConsole

    console = ReviewConsole.open(db)
    try:
        for n, (who, kind) in enumerate([("ana", "approve"), ("bo", "reject"), ("cy", "approve"), ("ana", "reject")]):
            console.start_run(f"Create a red circle c{n}").result(timeout=60)
            (row,) = [r for r in console.pending() if r.args.get("shape_id") == f"c{n}"]
            decision = {"type": kind} if kind == "approve" else {"type": "reject", "message": "not now"}
            result = console.submit([{"thread_id": row.thread_id, "row_id": row.row_id, "decision": decision}], who)
            assert result.exit_code == 0, result.to_dict()
    finally:
        console.close()


def _overflowing(app: App) -> list[str]:
    """Charts whose drawing runs past the window's right edge, and axes whose labels overlap."""
    return app.page.evaluate(
        """() => {
        const out = [];
        const width = document.documentElement.clientWidth;
        for (const chart of document.querySelectorAll('[data-testid=stVegaLiteChart]')) {
            const box = chart.getBoundingClientRect();
            if (box.width > 0 && box.right > width + 1) out.push(`chart ends at ${box.right} > ${width}`);
            for (const axis of chart.querySelectorAll('.role-axis-label')) {
                const labels = [...axis.querySelectorAll('text')]
                    .filter(t => t.getAttribute('opacity') !== '0' && t.textContent)
                    .map(t => [t.textContent, t.getBoundingClientRect()]);
                for (let i = 1; i < labels.length; i++) {
                    const [at, a] = labels[i - 1], [bt, b] = labels[i];
                    if (a.width && b.width && Math.abs(a.top - b.top) < 2 && a.right > b.left + 1)
                        out.push(`axis labels overlap: ${at} / ${bt}`);
                }
            }
        }
        return out;
    }"""
    )


@pytest.mark.parametrize("viewport", [{"width": 1024, "height": 768}, {"width": 390, "height": 844}])
def test_the_audit_charts_fit_at_1024_px_and_on_a_phone(
    fresh_server: Server, new_app: Callable[..., App], viewport: dict[str, int]
) -> None:
    app = new_app("audit?reviewer=ana", title="Audit", on=fresh_server, viewport=viewport)
    charts = app.page.get_by_test_id("stVegaLiteChart")
    charts.nth(2).wait_for()
    app.page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=stVegaLiteChart] .role-axis-label text').length >= 6"
        " && document.querySelectorAll('[data-testid=stVegaLiteChart] .mark-rect path').length >= 3"
    )
    app.screenshot(ARTIFACTS / f"audit-charts-{viewport['width']}.png")
    assert _overflowing(app) == []
