"""Configuration: every mistake is an error naming the key and the file."""

from pathlib import Path

import pytest

from pzmpi.core.errors import ConfigError
from pzmpi.estimators.config import load_config

VALID = """
[input]
paths = "catalog"
flux_column = "{band}_cModelFlux"
flux_error_column = "{band}_cModelFluxErr"

[estimator]
name = "flexzboost"
model = "model.pkl"

[output]
folder = "run"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "run.toml"
    path.write_text(text)
    return path


def test_defaults_and_relative_paths(tmp_path):
    config = load_config(write(tmp_path, VALID))
    assert config.input.paths == [str(tmp_path / "catalog")]
    assert config.estimator.model == str(tmp_path / "model.pkl")
    assert config.output.folder == str(tmp_path / "run")
    assert config.output.pdf_dtype == "float32"
    assert config.estimator.nzbins == 301 and config.estimator.zmax == 3.0
    assert config.input.value_columns()[0] == "u_cModelFlux"
    assert config.input.error_columns()[-1] == "y_cModelFluxErr"
    assert config.run.threads_per_rank == 1


@pytest.mark.parametrize("extra, message", [
    ("[run]\nrows_per_chunck = 5\n", "unknown key 'run.rows_per_chunck'"),
    ("[run]\nrows_per_chunk = 'many'\n", "'run.rows_per_chunk' must be an integer"),
    ("[run]\nrows_per_chunk = true\n", "'run.rows_per_chunk' must be an integer, got a boolean"),
    ("[outputs]\nfolder = 'x'\n", "unknown section [outputs]"),
    ("[output]\npdf_dtype = 'float16'\n", "'output.pdf_dtype'"),
    ("[output]\npoint_estimates = ['zbest']\n", "'output.point_estimates'"),
    ("[output]\nestimator_columns = ['zmode']\n", "would overwrite pzmpi's own columns"),
    ("[output]\nestimator_columns = ['tb', 'tb']\n", "list of distinct names"),
    ("[cleaning]\nmag_limits = { u = 'deep' }\n", "'cleaning.mag_limits' has no number for band(s) u"),
    ("[estimator]\nzmin = 3.0\n", "'estimator.zmax'"),
    ("[input]\nmagnitude_column = 'mag_{band}'\n", "exactly one of 'input.flux_column'"),
    ("[output]\ncarry_columns = ['objectId']\n", "'output.carry_columns' ['objectId'] would overwrite"),
])
def test_mistakes_name_the_key_and_file(tmp_path, extra, message):
    text = VALID
    section = extra.split("]")[0] + "]"
    if section in text:  # merge into the existing table
        text = text.replace(section + "\n", extra, 1)
    else:
        text += extra
    with pytest.raises(ConfigError) as error:
        load_config(write(tmp_path, text))
    assert message in str(error.value)
    assert "run.toml" in str(error.value)


def test_equal_count_tomography_needs_its_point_estimate_stored(tmp_path):
    text = VALID.replace("[output]\n", "[output]\npoint_estimates = ['zmode']\n", 1)
    text += "[summary]\ntomography = 'equal_count'\npoint_estimate = 'zmedian'\n"
    with pytest.raises(ConfigError, match="must be among 'output.point_estimates' for equal-count tomography"):
        load_config(write(tmp_path, text))
    load_config(write(tmp_path, text.replace("point_estimate = 'zmedian'", "point_estimate = 'zmode'")))


def test_missing_required_key(tmp_path):
    with pytest.raises(ConfigError, match="missing required key 'estimator.model'"):
        load_config(write(tmp_path, VALID.replace('model = "model.pkl"\n', "")))


def test_missing_file_and_bad_toml(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "absent.toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(write(tmp_path, "[input\n"))


def test_overrides_are_typed_and_validated(tmp_path):
    path = write(tmp_path, VALID)
    config = load_config(path, ["run.rows_per_chunk=5000", "output.folder=elsewhere", "estimator.params={seed=3}"])
    assert config.run.rows_per_chunk == 5000
    assert config.output.folder == str(tmp_path / "elsewhere")
    assert config.estimator.params == {"seed": 3}
    with pytest.raises(ConfigError, match="'run.rows_per_chunk' must be an integer"):
        load_config(path, ["run.rows_per_chunk=lots"])
    with pytest.raises(ConfigError, match="must contain '{band}'"):
        load_config(path, ["input.flux_column=flux"])
    with pytest.raises(ConfigError, match="section.key=value"):
        load_config(path, ["rows_per_chunk=3"])


@pytest.mark.parametrize("paths, message", [
    ("[1, 'catalog']", "'input.paths' entry 1 must be a non-empty string, got int 1"),
    ("['a', ['b']]", "'input.paths' entry 2 must be a non-empty string, got list ['b']"),
    ("['a', '']", "'input.paths' entry 2 must be a non-empty string, got str ''"),
    ("[]", "set exactly one of 'input.paths' (folders, patterns or list files) and 'input.release'"),
])
def test_every_input_path_is_checked(tmp_path, paths, message):
    with pytest.raises(ConfigError) as error:
        load_config(write(tmp_path, VALID), [f"input.paths={paths}"])
    assert message in str(error.value) and "run.toml" in str(error.value)
    with pytest.raises(ConfigError, match="'input.bands' entry 3 must be a non-empty string, got float 1.5"):
        load_config(write(tmp_path, VALID), ["input.bands=['g', 'r', 1.5]"])


def test_nondetection_value_defaults_per_estimator(tmp_path):
    assert load_config(write(tmp_path, VALID)).cleaning.nondetect_val == 99.0
    lephare = load_config(write(tmp_path, VALID), ["estimator.name=lephare"])
    assert lephare.cleaning.nondetect_val != lephare.cleaning.nondetect_val  # NaN
    chosen = load_config(write(tmp_path, VALID), ["estimator.name=lephare", "cleaning.nondetect_val=99.0"])
    assert chosen.cleaning.nondetect_val == 99.0


def test_dotted_parameter_names_survive_the_round_trip(tmp_path):
    text = VALID + '[training]\nparams = { "lephare.Z_STEP" = "0.1,0.,3.", nested = { a = 1 } }\n'
    first = load_config(write(tmp_path, text))
    assert first.training.params == {"lephare.Z_STEP": "0.1,0.,3.", "nested": {"a": 1}}
    assert load_config(write(tmp_path, first.text)).training.params == first.training.params


def test_config_text_round_trips_and_hashes(tmp_path):
    first = load_config(write(tmp_path, VALID))
    again = load_config(write(tmp_path, first.text))
    assert again.text == first.text and again.sha256 == first.sha256
    changed = load_config(write(tmp_path, VALID), ["run.rows_per_chunk=7"])
    assert changed.sha256 != first.sha256


def test_a_release_in_place_of_paths_reads_its_skinny_magnitudes_by_default(tmp_path):
    config = load_config(write(tmp_path, VALID), ["input.paths=[]", "input.flux_column=''",
                                                  "input.flux_error_column=''", "input.release=dr1",
                                                  "input.table=test", "input.releases=recs"])
    assert config.input.value_columns()[0] == "mag_u" and config.input.error_columns()[-1] == "magerr_y"
    assert config.input.releases == str(tmp_path / "recs") and config.input.table == "test"
    with pytest.raises(ConfigError, match="set exactly one of 'input.paths'"):
        load_config(write(tmp_path, VALID), ["input.release=dr1"])
    with pytest.raises(ConfigError, match="'input.table' must be one of skinny, training, test, got 'spectra'"):
        load_config(write(tmp_path, VALID), ["input.paths=[]", "input.release=dr1", "input.table=spectra"])
