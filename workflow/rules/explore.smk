# Stage 4: model-deviation MD with LAMMPS and the ensemble (lpsflow.exploration).

# one folder per schedule job of a composition and iteration
EXPLORE_JOB_DIRS = [
    f"results/iter_{{iter}}/explore/{{comp}}/job_{j}" for j in range(len(EXPLORE_JOBS))
]


# ---- every schedule entry of one composition (concurrent LAMMPS runs, one per thread) ----
rule explore_md:
    input:
        models=models_of,
        starts=start_frames,
    output:
        devi=[f"{d}/model_devi.out" for d in EXPLORE_JOB_DIRS],
        traj=temp([f"{d}/traj.dump" for d in EXPLORE_JOB_DIRS]),
        final=[f"{d}/final.extxyz" for d in EXPLORE_JOB_DIRS],
        status=[f"{d}/status.json" for d in EXPLORE_JOB_DIRS],
    log:
        "logs/iter_{iter}/explore/{comp}.log",
    benchmark:
        "benchmarks/iter_{iter}/explore/{comp}.tsv"
    conda:
        "../../envs/deepmd.yaml"
    threads: S.explore.threads
    resources:
        **lpsres.rule_resources("explore_md", config, len(EXPLORE_JOBS)),
    params:
        md=S.explore.md.params(),
        relative_level=S.select.md_relative_level,
        trust_lo=S.select.trust_lo,  # the next start is the last frame below it
        jobs=EXPLORE_JOBS,
        type_map=TYPE_MAP,
        comp_index=lambda wc: list(COMPOSITIONS).index(wc.comp),
    script:
        "../scripts/explore_md.py"
