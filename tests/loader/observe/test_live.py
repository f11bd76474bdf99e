"""The live panel: the table's text, and its plain fallback off a terminal."""

from __future__ import annotations

import io

from rich.console import Console

from dali_pipelines.backends.profile import Profile, ProfileSnapshot
from dali_pipelines.loader.observe import LivePanel, figures, render_text


def test_table_text_is_deterministic(known: ProfileSnapshot) -> None:
    text = render_text(figures(known), width=60)
    lines = [line.rstrip() for line in text.splitlines()]
    rows = {line.split()[1]: line for line in lines if line.startswith("│   ")}
    assert "5.000" in rows["graph"] and "25.0%" in rows["graph"]
    assert "14.000" in rows["step"] and "70.0%" in rows["step"]
    assert "30.000" in rows["python"] and "150.0%" in rows["python"]
    body = "\n".join(lines)
    assert "critical path" in body and "background" in body
    assert "queue read_ahead" in body and "1.5 mean" in body and "3 max" in body
    for figure in ("30.0%", "50.0", "30.000", "512.0 MiB", "100 images, 4 batches, 2.00 s"):
        assert figure in body, figure
    assert text == render_text(figures(known), width=60)


def test_not_a_terminal_prints_plain_tables_now_and_then(known: ProfileSnapshot) -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, force_jupyter=False, width=80)
    profile = Profile()
    profile.start_epoch(0)
    profile.add("graph", 0.01)
    profile.batch_done(4)
    with LivePanel(profile, console=console, plain_every=3600) as panel:
        assert panel._live is None  # no redraw off a terminal
        panel.batch_done(profile)
        panel.batch_done(profile)  # within plain_every: nothing more
        snapshot = profile.end_epoch()
        assert snapshot is not None
        panel.epoch_done(profile, snapshot)
    text = out.getvalue()
    assert text.count("loader profile (epoch)") == 1
    assert text.count("loader profile: epoch 0") == 1
    assert "\x1b[" not in text  # plain: no terminal codes


def test_a_terminal_redraws_in_place() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=80)
    profile = Profile()
    profile.start_epoch(0)
    profile.batch_done(4)
    panel = LivePanel(profile, console=console, view="recent", refresh=1e-9)
    with panel:
        assert panel._live is not None
        panel.batch_done(profile)
    assert "loader profile (recent)" in out.getvalue()
    assert panel._live is None
