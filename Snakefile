# Concurrent-learning DeePMD force fields and ionic conductivities of Li2S-P2S5 glasses.
# Stages live in workflow/rules/ (one file each); science lives in src/lpsflow/.


# ---- configuration ----
import yaml

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
include: "workflow/rules/loop.smk"
include: "workflow/rules/sample.smk"
include: "workflow/rules/label.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/explore.smk"
include: "workflow/rules/select.smk"
include: "workflow/rules/export.smk"
include: "workflow/rules/production.smk"
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
        final_targets,
