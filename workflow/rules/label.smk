# Stage 2: DFT labelling through the content-addressed store (lpsflow.store).
# One job per frame: the job count depends on the frames only, never on how a cluster
# batches them (the Slurm profile may group label jobs; see slurm/config.yaml), so
# changing the batching reruns nothing.


# ---- label one initial frame (stored labels reused) ----
rule label_frame:
    input:
        frames="results/init/{comp}/frames.extxyz",
    output:
        manifest="results/init/{comp}/labels/frame_{frame}.csv",
    log:
        "logs/label/{comp}/frame_{frame}.log",
    benchmark:
        "benchmarks/label/{comp}/frame_{frame}.tsv"
    conda:
        "../../envs/cp2k.yaml"
    threads: S.dft.execution.threads
    params:
        dft=S.dft.science.params(),
    script:
        "../scripts/label_frame.py"


# ---- the labelled initial data of one composition, in deepmd/npy ----
rule collect_labels:
    input:
        manifests=frame_manifests,
    output:
        data=directory("results/init/{comp}/data"),
        labels="results/init/{comp}/labels.csv",
    log:
        "logs/init/{comp}/collect.log",
    conda:
        "../../envs/analysis.yaml"
    params:
        type_map=TYPE_MAP,
    script:
        "../scripts/collect_labels.py"


# ---- one table of labelled and failed frames for all compositions ----
rule summarize_labels:
    input:
        labels=[init_labels(comp) for comp in COMPOSITIONS],
    output:
        summary="results/init/summary.csv",
        failures="results/init/failures.csv",
    log:
        "logs/init/summary.log",
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/summarize_labels.py"


# ---- label one of an iteration's candidates (same store, same script) ----
rule label_candidate:
    input:
        frames="results/iter_{iter}/select/candidates.extxyz",
    output:
        manifest="results/iter_{iter}/label/frame_{frame}.csv",
    log:
        "logs/iter_{iter}/label/frame_{frame}.log",
    benchmark:
        "benchmarks/iter_{iter}/label/frame_{frame}.tsv"
    conda:
        "../../envs/cp2k.yaml"
    threads: S.dft.execution.threads
    params:
        dft=S.dft.science.params(),
    script:
        "../scripts/label_frame.py"


# ---- all labels of an iteration's candidates ----
rule collect_candidate_labels:
    input:
        manifests=candidate_manifests,
    output:
        labels="results/iter_{iter}/label/labels.csv",
    log:
        "logs/iter_{iter}/label/collect.log",
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/collect_candidate_labels.py"
