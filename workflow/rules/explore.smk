# Stage 4: model-deviation MD with LAMMPS and the ensemble (lpsflow.exploration).


# ---- every schedule entry of one composition (concurrent LAMMPS runs, one per thread) ----
rule explore_md:
    input:
        models=models_of,
        starts=start_frames,
    output:
        devi=explore_outputs("model_devi.out"),
        traj=temp(explore_outputs("traj.dump")),
        final=explore_outputs("final.extxyz"),
        status=explore_outputs("status.json"),
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
