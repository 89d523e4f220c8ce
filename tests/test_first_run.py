"""A first run of the shipped config: it stops before any job with the missing site
setting named, while a dry run still plans every dataset."""

import shutil

import pytest

from conftest import ROOT
from synthdet.core.errors import ConfigError
from synthdet.setup.config import check_site_settings

CONFIG = {
    "cosmos": {"workdir": None},
    "datasets": {"demo": {"generator": "procedural"}, "cans": {"generator": "cosmos"}},
}


def test_only_planned_cosmos_jobs_need_the_cosmos_workdir():
    check_site_settings(CONFIG, "c.yaml", [("text2image", "demo"), ("export_voc", "cans")])
    with pytest.raises(ConfigError, match=r"c.yaml: cosmos.workdir: is not set, and cans would"):
        check_site_settings(CONFIG, "c.yaml", [("text2image", "demo"), ("video2world", "cans")])
    with_workdir = {**CONFIG, "cosmos": {"workdir": "/opt/cosmos-predict2"}}
    check_site_settings(with_workdir, "c.yaml", [("text2image", "cans")])


@pytest.mark.workflow
def test_plain_snakemake_on_the_shipped_config_stops_before_the_first_job(project):
    shutil.copytree(ROOT / "config", project.path("config"))
    code, output = project.snakemake("-n", "--quiet", "rules")
    assert code == 0 and "text2image" in output  # a dry run plans the Cosmos jobs too
    code, output = project.snakemake(check=False)
    assert code != 0
    assert "config/config.yaml: cosmos.workdir: is not set, and can_factory would run" in output
    assert not project.path("results").exists() and not project.path("logs").exists()
