# Stage 2: DFT labelling through the content-addressed store (lpsflow.store).


# ---- label one batch of frames (one CP2K run per frame, stored labels reused) ----
rule label_batch:
    input:
        frames="results/init/{comp}/frames.extxyz",
    output:
        manifest="results/init/{comp}/labels/batch_{batch}.csv",
    log:
        "logs/label/{comp}/batch_{batch}.log",
    benchmark:
        "benchmarks/label/{comp}/batch_{batch}.tsv"
    conda:
        "../../envs/cp2k.yaml"
    threads: config["dft"]["threads"]
    params:
        dft=DFT,
        frames_per_job=config["dft"]["frames_per_job"],
    script:
        "../scripts/label_batch.py"


# ---- the labelled initial data of one composition, in deepmd/npy ----
rule collect_labels:
    input:
        manifests=batches_of,
    output:
        data=directory("results/init/{comp}/data"),
        labels="results/init/{comp}/labels.csv",
    log:
        "logs/init/{comp}/collect.log",
    conda:
        "../../envs/analysis.yaml"
    params:
        store=DFT["store"],
        type_map=TYPE_MAP,
    script:
        "../scripts/collect_labels.py"


# ---- one table of labelled and failed frames for all compositions ----
rule summarize_labels:
    input:
        labels=expand("results/init/{comp}/labels.csv", comp=COMPOSITIONS),
    output:
        summary="results/init/summary.csv",
        failures="results/init/failures.csv",
    log:
        "logs/init/summary.log",
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/summarize_labels.py"


# ---- label one batch of an iteration's candidates (same store, same script) ----
rule label_candidates:
    input:
        frames="results/iter_{iter}/select/candidates.extxyz",
    output:
        manifest="results/iter_{iter}/label/batch_{batch}.csv",
    log:
        "logs/iter_{iter}/label/batch_{batch}.log",
    benchmark:
        "benchmarks/iter_{iter}/label/batch_{batch}.tsv"
    conda:
        "../../envs/cp2k.yaml"
    threads: config["dft"]["threads"]
    params:
        dft=DFT,
        frames_per_job=config["dft"]["frames_per_job"],
    script:
        "../scripts/label_batch.py"


# ---- all labels of an iteration's candidates ----
rule collect_candidate_labels:
    input:
        manifests=candidate_batches,
    output:
        labels="results/iter_{iter}/label/labels.csv",
    log:
        "logs/iter_{iter}/label/collect.log",
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/collect_candidate_labels.py"
