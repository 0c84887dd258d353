"""pzmpi pzserver export: the three products of the PZ Server made from real outputs (the demo's training set, a
run, its validation) open as the server reads them, and --upload sends them with the official client to a
stand-in server that checks every request; refusals are clear errors."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pandas as pd
import pytest
from conftest import object_input, run_pzmpi, write_config
from pzserver_standin import StandInPzServer

from pzmpi.train import pzserver_products as products

pytestmark = pytest.mark.mpi
EXAMPLES = Path(__file__).parent.parent / "docs" / "examples"
TOKEN = "s3cret-token"


def ok(result) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def outputs(tmp_path_factory, sample, models) -> Path:
    """The demo's training set, a GPz run of the sample catalog with its report, and its validation."""
    folder = tmp_path_factory.mktemp("pzserver")
    example = tomllib.loads((EXAMPLES / "training_set.toml").read_text())
    example["spectra"]["paths"] = [str(sample / "spectra.parquet")]
    example["photometry"]["paths"] = [str(sample / "field")]
    ok(run_pzmpi(["training-set", str(write_config(folder / "training_set.toml", **example))], ranks=2, cwd=folder))
    run = write_config(folder / "gpz.toml", input=object_input(str(sample / "catalog")),
                       estimator={"name": "gpz", "model": str(models["gpz"])}, output={"folder": "run"})
    ok(run_pzmpi(["run", str(run)], ranks=2, cwd=folder))
    ok(run_pzmpi(["report", str(folder / "run")]))
    for name, runs in (("validation", ["run"]), ("two", ["run", "run"])):
        config = write_config(folder / f"{name}.toml", output={"folder": name},
                              evaluate={"runs": runs, **({"names": ["gpz_a", "gpz_b"]} if len(runs) > 1 else {})})
        ok(run_pzmpi(["evaluate", str(config)], ranks=2, cwd=folder))
    return folder


def export(outputs: Path, kind: str, source: str, out: str, *extra: str, token: str | None = None):
    args = ["pzserver", "export", kind, str(outputs / source), "--out", str(outputs / out), *extra]
    if token is not None:
        args += ["--token", token]
    return run_pzmpi(args, cwd=outputs)


def test_the_products_open_as_the_server_reads_them(outputs):
    ok(export(outputs, "training_set", "training_set", "p_ts"))
    ok(export(outputs, "validation_results", "validation", "p_val"))
    ok(export(outputs, "photoz_estimates", "run", "p_pz"))
    training = pd.read_parquet(outputs / "p_ts" / "training.parquet")
    product = products.read_product(outputs / "p_ts")
    assert product.product_type == "training_set" and product.pz_code is None
    assert set(product.columns) <= set(training.columns) and product.columns["redshift"] == "z"
    assert product.name == "dc2_sample_training_set" and "8,1" in product.description
    assert len(training) + len(pd.read_parquet(outputs / "p_ts" / "test.parquet")) == \
        json.loads((outputs / "training_set" / "training_set.json").read_text())["counts"]["objects"]

    validation = products.read_product(outputs / "p_val")
    table = pd.read_parquet(outputs / "p_val" / validation.main_file)
    assert validation.pz_code == "gpz" and len(table) == 20449 and {"objectId", "z_true"} <= set(table.columns)

    pointer = json.loads((outputs / "p_pz" / "photoz_estimates.json").read_text())
    assert pointer["rows"] == 20449 == sum(entry["rows"] for entry in pointer["files"])
    assert all((outputs / "run" / entry["name"]).is_file() for entry in pointer["files"])
    assert products.read_product(outputs / "p_pz").columns == {}  # metadata only: no table for the server to read


def test_export_mistakes_are_clear(outputs):
    several = export(outputs, "validation_results", "two", "p_two")
    assert several.returncode == 2 and "choose one with --run" in several.stderr and "gpz_b" in several.stderr
    ok(export(outputs, "validation_results", "two", "p_two", "--run", "gpz_b"))
    wrong = export(outputs, "photoz_estimates", "training_set", "p_wrong")
    assert wrong.returncode == 2 and "run.json" in wrong.stderr
    no_token = export(outputs, "training_set", "training_set", "p_nt", "--upload")
    assert no_token.returncode == 2 and "PZSERVER_TOKEN" in no_token.stderr
    ok(export(outputs, "training_set", "training_set", "p_changed"))
    (outputs / "p_changed" / "test.parquet").write_bytes(b"not parquet")
    with pytest.raises(Exception, match="test.parquet changed since it was exported"):
        products.check_product(outputs / "p_changed")


def test_upload_sends_every_product_as_the_server_expects(outputs):
    with StandInPzServer(TOKEN) as server:
        out = ok(export(outputs, "training_set", "training_set", "u_ts", "--upload", "--host", server.api_url,
                        "--release", "dp1", token=TOKEN))
        assert "published on the PZ Server" in out
        assert all(request["token"] == f"Token {TOKEN}" for request in server.requests)
        created = next(r for r in server.requests if r["method"] == "POST" and r["path"] == "/api/products/")
        assert created["json"]["product_type"] == 2 and created["json"]["release"] == 2
        assert created["json"]["pz_code"] is None and created["json"]["display_name"] == "dc2_sample_training_set"
        sent = {f["name"]: f for f in server.files.values()}
        assert sent["training.parquet"]["role"] == 0 and sent["test.parquet"]["role"] == 2
        assert sent["training.parquet"]["content"] == (outputs / "u_ts" / "training.parquet").read_bytes()
        aliases = {row["column_name"]: (row["alias"], row["ucd"]) for row in server.contents.values()}
        assert aliases["objectId"] == ("ID", "meta.id;meta.main") and aliases["redshift"] == ("z", "src.redshift")
        assert aliases["coord_ra"][0] == "RA" and aliases["z_flag"][0] == "z_flag" and aliases["survey"][0] == "survey"
        steps = [(r["method"], r["path"]) for r in server.requests]
        assert steps.index(("GET", "/api/products/1/registry/")) < steps.index(("PATCH", "/api/products/1/"))
        assert server.products[1]["status"] == 1

        ok(export(outputs, "validation_results", "validation", "u_val", "--upload", "--host", server.api_url,
                  token=TOKEN))
        ok(export(outputs, "photoz_estimates", "run", "u_pz", "--upload", "--host", server.api_url, token=TOKEN))
        assert [(p["type_name"], p["pz_code"], p["status"]) for p in server.products.values()] == [
            ("training_set", None, 1), ("validation_results", "gpz", 1), ("photoz_estimates", "gpz", 1)]


def test_upload_refusals_name_the_step_and_the_servers_words(outputs):
    with StandInPzServer(TOKEN) as server:
        bad_token = export(outputs, "training_set", "training_set", "r1", "--upload", "--host", server.api_url,
                           token="wrong")
        assert bad_token.returncode == 1 and "connect failed" in bad_token.stderr
        assert "Invalid token" in bad_token.stderr
        no_release = export(outputs, "training_set", "training_set", "r2", "--upload", "--host", server.api_url,
                            "--release", "dr99", token=TOKEN)
        assert no_release.returncode == 1 and "register the product failed" in no_release.stderr
        assert "dr99" in no_release.stderr and not server.products
