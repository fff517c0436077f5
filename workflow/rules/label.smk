# Stage 2: DFT labelling through the content-addressed store (lpsflow.store).
# One job per frame: the job count depends on the frames only, never on how a cluster
# batches them (the Slurm profile may group label jobs; see slurm/config.yaml), so
# changing the batching reruns nothing. A cheap in-process engine (the teacher, ~0.1 s per
# frame) labels each stage in its collecting job instead (LABEL_IN_STAGE).


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
    resources:
        **lpsres.rule_resources("label_frame", config),
    params:
        dft=S.dft.science.params(),
    script:
        "../scripts/label_frame.py"


# ---- the labelled initial data of one composition, in deepmd/npy ----
rule collect_labels:
    input:
        manifests=frame_manifests,
        frames=perturbed_frames,  # stale stored failures are labelled again from these
    output:
        data=directory("results/init/{comp}/data"),
        labels="results/init/{comp}/labels.csv",
    log:
        "logs/init/{comp}/collect.log",
    conda:
        "../../envs/cp2k.yaml"
    threads: S.dft.execution.threads if LABEL_IN_STAGE else 1
    params:
        type_map=TYPE_MAP,
    script:
        "../scripts/collect_labels.py"


# ---- initial data by a short CP2K AIMD of one starting cell (lpsflow.aimd) ----
rule aimd_init:
    input:
        cell=lambda wc: sample_path(wc.comp, wc.replica),
    output:
        manifest=aimd_manifest("{comp}", "{replica}"),
        last=aimd_last("{comp}", "{replica}"),  # iteration 0 explores from here
    log:
        "logs/init/{comp}/aimd_{replica}.log",
    benchmark:
        "benchmarks/init/{comp}/aimd_{replica}.tsv"
    conda:
        "../../envs/cp2k.yaml"
    threads: config["dft"]["threads"]
    resources:
        **lpsres.rule_resources("aimd_init", config),
    params:
        dft=S.dft.science.params(),
        steps=config["init"]["aimd"]["steps"],
        every=config["init"]["aimd"]["every"],
        temperature=config["init"]["aimd"]["temperature"],
        timestep_fs=config["init"]["aimd"]["timestep_fs"],
        thermostat_fs=config["init"]["aimd"]["thermostat_fs"],
        seed=config["init"]["aimd"]["seed"],
    script:
        "../scripts/aimd_init.py"


# ---- a user's labelled dataset written into the store (lpsflow.importing) ----
rule import_labels:
    input:
        data=lambda wc: IMPORTS[wc.imp]["path"],
    output:
        labels="results/init/import/{imp}/labels.csv",
    log:
        "logs/init/import/{imp}.log",
    conda:
        "../../envs/analysis.yaml"
    params:
        format=lambda wc: IMPORTS[wc.imp]["format"],
        composition=lambda wc: IMPORTS[wc.imp]["composition"],
        stride=lambda wc: IMPORTS[wc.imp]["stride"],
        cp2k_output=lambda wc: IMPORTS[wc.imp].get("cp2k_output", ""),
        theory=lambda wc: IMPORTS[wc.imp]["theory"],
        allow_mixed_theory=lambda wc: IMPORTS[wc.imp]["allow_mixed_theory"],
    script:
        "../scripts/import_labels.py"


# ---- one table of labelled and failed frames for all compositions ----
rule summarize_labels:
    input:
        labels=init_tables(),
    output:
        summary="results/init/summary.csv",
        failures="results/init/failures.csv",
        theory="results/init/theory.csv",
    log:
        "logs/init/summary.log",
    conda:
        "../../envs/analysis.yaml"
    params:
        theory=theory_label(engine_theory(resolve_dft(config["dft"]))),
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
    resources:
        **lpsres.rule_resources("label_candidate", config),
    params:
        dft=S.dft.science.params(),
    script:
        "../scripts/label_frame.py"


# ---- all labels of an iteration's candidates ----
rule collect_candidate_labels:
    input:
        manifests=candidate_manifests,
        frames=["results/iter_{iter}/select/candidates.extxyz"],
    output:
        labels="results/iter_{iter}/label/labels.csv",
    log:
        "logs/iter_{iter}/label/collect.log",
    conda:
        "../../envs/cp2k.yaml"
    threads: S.dft.execution.threads if LABEL_IN_STAGE else 1
    script:
        "../scripts/collect_candidate_labels.py"
