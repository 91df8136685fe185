"""``debug`` shows tracebacks for true alone, the one value of it the settings' check takes:
``debug=1`` showed Hydra's traceback for a mistake Hydra caught, and was refused as
"debug=1 is not allowed: it must be true or false" where Hydra caught none."""

from __future__ import annotations

from conftest import assert_one_error_line


def test_debug_1_is_no_switch_for_hydras_tracebacks(cli, tmp_path):
    run = tmp_path / "run"
    result = cli("aegan.train", "debug=1", "model=nope", f"hydra.run.dir={run}")
    assert_one_error_line(result, "model=nope: no such option; choose one of: aae, autoencoder")
    assert not run.exists()
