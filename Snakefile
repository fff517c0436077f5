# Concurrent-learning DeePMD force fields and ionic conductivities of Li2S-P2S5 glasses.
# Stages live in workflow/rules/ (one file each); science lives in src/lpsflow/.


# ---- configuration ----
# A campaign is a folder of its own (Snakemake's working directory, `-d CAMPAIGN`) holding
# config/config.yaml; this workflow can be installed once elsewhere (`-s .../Snakefile`).
# Relative input paths in the config are looked up in the campaign folder first, then here
# (common.smk, lpsflow.config.resolve_paths). Site settings (CP2K launcher) come from the
# profile's `configfile:` (slurm/site.yaml), so a `--config` on the command line keeps them.
from pathlib import Path

import yaml

if not Path("config/config.yaml").exists() and not workflow.config_settings.configfiles:
    raise ValueError(
        f"no config/config.yaml in the campaign folder {Path.cwd()}: start a campaign with "
        f"`mkdir -p {Path.cwd()}/config && cp {workflow.basedir}/config/config.yaml "
        f"{Path.cwd()}/config/` (then edit it), or give --configfile"
    )

for _path in ["config/config.yaml", *workflow.config_settings.configfiles]:
    try:  # Snakemake's own message would not say where the YAML is broken
        yaml.safe_load(open(_path))
    except FileNotFoundError:
        pass
    except yaml.YAMLError as err:
        raise ValueError(f"config file {_path} is not valid YAML:\n{err}") from None


configfile: "config/config.yaml"


# ---- rules ----
include: "workflow/rules/common.smk"
include: "workflow/rules/inputs.smk"
include: "workflow/rules/loop.smk"
include: "workflow/rules/sample.smk"
include: "workflow/rules/label.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/explore.smk"
include: "workflow/rules/select.smk"
include: "workflow/rules/export.smk"
include: "workflow/rules/production.smk"


if TEACHER:  # dft.engine mlip: MD with the teacher itself is the ground truth

    include: "workflow/rules/teacher.smk"


include: "workflow/rules/environment.smk"
include: "workflow/rules/report.smk"


# ---- handlers ----
onerror:
    from lpsflow.cluster import diagnose

    for message in diagnose("logs/slurm"):
        print(message, file=sys.stderr)


# ---- targets ----
rule all:
    default_target: True
    input:
        rules.make_report.output.html,
        iteration_summaries,  # results/iter_NNN/summary.csv as each iteration ends
