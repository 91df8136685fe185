"""Hydra's --experimental-rerun FILE is refused in one line, with debug=true too: Hydra
unpickles the file, which runs whatever code it names, and runs the task on the config it
holds past every check; a file in a run's folder would choose the code that runs."""

from __future__ import annotations

import pickle

import pytest

from conftest import Touch, assert_one_error_line


@pytest.mark.parametrize("flag", ["--experimental-rerun", "--exp"])
@pytest.mark.parametrize("debug", [[], ["debug=true"]])
def test_a_rerun_from_a_pickle_is_refused_before_it_is_read(cli, tmp_path, flag, debug):
    ran = tmp_path / "code-ran"
    payload = tmp_path / "config.pickle"
    payload.write_bytes(pickle.dumps(Touch(ran)))
    result = cli("aegan.train", flag, str(payload), *debug)
    assert_one_error_line(
        result, f"--experimental-rerun {payload} is not allowed: Hydra would unpickle the file"
    )
    assert not ran.exists()
