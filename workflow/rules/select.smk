# Stage 5: candidate selection and the convergence verdict (lpsflow.selection).
# A checkpoint: the number of frames to label is known only when it has run.


# ---- candidates of one iteration, with ratios and verdict ----
checkpoint select_candidates:
    input:
        devi=lambda wc: explore_runs(wc, "model_devi.out"),
        traj=lambda wc: explore_runs(wc, "traj.dump"),
        status=lambda wc: explore_runs(wc, "status.json"),
        graph="results/iter_{iter}/train/model_0/graph.pb",
    output:
        candidates="results/iter_{iter}/select/candidates.extxyz",
        frames="results/iter_{iter}/select/frames.csv",
        ratios="results/iter_{iter}/select/ratios.csv",
        verdict="results/iter_{iter}/select/verdict.json",
    log:
        "logs/iter_{iter}/select.log",
    conda:
        "../../envs/deepmd.yaml"
    params:
        select=config["select"],
        loop=config["loop"],
        jobs=EXPLORE_JOBS,
        compositions=list(COMPOSITIONS),
        type_map=TYPE_MAP,
    script:
        "../scripts/select_candidates.py"
