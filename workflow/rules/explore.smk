# Stage 4: model-deviation MD with LAMMPS and the ensemble (lpsflow.exploration).


# ---- one schedule entry of one composition ----
rule explore_md:
    input:
        models=models_of,
        start=start_frame,
    output:
        devi="results/iter_{iter}/explore/{comp}/job_{job}/model_devi.out",
        traj=temp("results/iter_{iter}/explore/{comp}/job_{job}/traj.dump"),
        final="results/iter_{iter}/explore/{comp}/job_{job}/final.extxyz",
    params:
        explore=config["explore"],
        select=config["select"],
        jobs=EXPLORE_JOBS,
        type_map=TYPE_MAP,
        comp_index=lambda wc: list(COMPOSITIONS).index(wc.comp),
    threads: config["explore"]["threads"]
    log:
        "logs/iter_{iter}/explore/{comp}/job_{job}.log",
    benchmark:
        "benchmarks/iter_{iter}/explore/{comp}/job_{job}.tsv"
    conda:
        "../../envs/deepmd.yaml"
    script:
        "../scripts/explore_md.py"
