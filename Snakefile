# Concurrent-learning DeePMD force fields and ionic conductivities of Li2S-P2S5 glasses.
# Stages live in workflow/rules/ (one file each); science lives in src/lpsflow/.


# ---- configuration ----
configfile: "config/config.yaml"


# ---- rules ----
include: "workflow/rules/common.smk"
include: "workflow/rules/sample.smk"
include: "workflow/rules/label.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/explore.smk"
include: "workflow/rules/select.smk"
include: "workflow/rules/loop.smk"


# ---- targets ----
rule all:
    default_target: True
    input:
        final_targets,
