# The end of the loop: per-iteration tables and the exported final model.


# ---- one iteration's table, written when its selection is done (progress) ----
rule summarize_iteration:
    input:
        rmse=rules.test_models.output.rmse,
        ratios=rules.select_candidates.output.ratios,
        dataset=rules.build_dataset.output.table,
        verdict=rules.select_candidates.output.verdict,
    output:
        table="results/iter_{iter}/summary.csv",
    log:
        "logs/iter_{iter}/summarize.log",
    priority: 10  # before the next iteration's jobs (a table, a second on the main node)
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/summarize_iteration.py"


# ---- one table of every iteration: data size, RMSE, selection ratios ----
rule summarize_iterations:
    input:
        unpack(loop_tables),
    output:
        table="results/loop/iterations.csv",
        index="results/loop/tables.json",
    log:
        "logs/loop/summarize.log",
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/summarize_iterations.py"


# ---- the final ensemble, its compressed model and its data in results/model/ ----
rule export_model:
    input:
        unpack(final_model_inputs),
    output:
        manifest="results/model/manifest.json",
    log:
        "logs/loop/export_model.log",
    conda:
        "../../envs/deepmd.yaml"
    threads: S.train.threads
    params:
        iteration=final_model_params,
        type_map=TYPE_MAP,
        compress=True,
    script:
        "../scripts/export_model.py"
