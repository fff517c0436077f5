# Stage 2: DFT labelling through the content-addressed store (lpsflow.store).
# One job per frame: the job count depends on the frames only, never on how a cluster
# batches them (the Slurm profile may group label jobs; see slurm/config.yaml), so
# changing the batching reruns nothing. A cheap in-process engine (the teacher, ~0.1 s per
# frame) labels each stage in its collecting job instead (LABEL_IN_STAGE).


# ---- label one initial frame (stored labels reused) ----
rule label_frame:
    input:
        frames=rules.perturb_structures.output.frames,
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
        cell=rules.sample_structure.output.cell,
    output:
        manifest="results/init/{comp}/aimd/replica_{replica}.csv",
        last="results/init/{comp}/aimd/replica_{replica}.extxyz",  # iteration 0 explores from here
    log:
        "logs/init/{comp}/aimd_{replica}.log",
    benchmark:
        "benchmarks/init/{comp}/aimd_{replica}.tsv"
    conda:
        "../../envs/cp2k.yaml"
    threads: S.dft.execution.threads
    resources:
        **lpsres.rule_resources("aimd_init", config),
    params:
        dft=S.dft.science.params(),
        steps=S.init.aimd.steps,
        every=S.init.aimd.every,
        temperature=S.init.aimd.temperature,
        timestep_fs=S.init.aimd.timestep_fs,
        thermostat_fs=S.init.aimd.thermostat_fs,
        seed=S.init.aimd.seed,
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


# the label tables of the initial data: every composition's, then every import's
INIT_TABLES = expand(rules.collect_labels.output.labels, comp=COMPOSITIONS) + expand(
    rules.import_labels.output.labels, imp=IMPORTS
)


# ---- one table of labelled and failed frames for all compositions ----
rule summarize_labels:
    input:
        labels=INIT_TABLES,
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
        frames=lambda wc: filled(
            rules.select_candidates.output.candidates, iter=wc.iter
        ),
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
        frames=lambda wc: [
            filled(rules.select_candidates.output.candidates, iter=wc.iter)
        ],
    output:
        labels="results/iter_{iter}/label/labels.csv",
    log:
        "logs/iter_{iter}/label/collect.log",
    conda:
        "../../envs/cp2k.yaml"
    threads: S.dft.execution.threads if LABEL_IN_STAGE else 1
    script:
        "../scripts/collect_candidate_labels.py"
