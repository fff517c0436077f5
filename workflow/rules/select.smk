# Stage 5: candidate selection and the convergence verdict (lpsflow.selection).
# A checkpoint: the number of frames to label is known only when it has run.


# ---- candidates of one iteration, with ratios and verdict ----
checkpoint select_candidates:
    input:
        devi=explore_files("devi"),
        traj=explore_files("traj"),
        status=explore_files("status"),
        graph=lambda wc: filled(rules.train_model.output.graph, iter=wc.iter, model=0),
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
        select=S.select.params(),
        accurate_ratio=S.loop.accurate_ratio,
        min_distance=S.train.dataset.min_distance,  # never label what training would refuse
        runs=explore_runs,
        type_map=TYPE_MAP,
    script:
        "../scripts/select_candidates.py"
