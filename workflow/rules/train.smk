# Stage 3: ensemble DeePMD training on all labelled data (lpsflow.dataset, lpsflow.training).


# ---- training and held-out test data of one iteration ----
rule build_dataset:
    input:
        labels=labels_before,
        failures=rules.summarize_labels.output.failures,  # named when a composition has no data
    output:
        data=directory("results/iter_{iter}/data"),
        table="results/iter_{iter}/dataset.csv",
    log:
        "logs/iter_{iter}/build_dataset.log",
    conda:
        "../../envs/analysis.yaml"
    params:
        type_map=TYPE_MAP,
        dataset=S.train.dataset.params(),
    script:
        "../scripts/build_dataset.py"


# ---- descriptor sel from neighbour statistics of the first data (fixed afterwards) ----
rule compute_sel:
    input:
        data=filled(rules.build_dataset.output.data, iter=it(0)),
        template=S.train.template,
    output:
        sel="results/iter_000/train/sel.json",
    log:
        "logs/iter_000/compute_sel.log",
    conda:
        "../../envs/deepmd.yaml"
    params:
        type_map=TYPE_MAP,
        factor=S.train.sel_factor,
    script:
        "../scripts/compute_sel.py"


# ---- one ensemble member: dp --tf train, then freeze ----
rule train_model:
    input:
        data=rules.build_dataset.output.data,
        sel=rules.compute_sel.output.sel,
        init=init_graph,
        template=S.train.template,
    output:
        graph="results/iter_{iter}/train/model_{model}/graph.pb",
    log:
        "logs/iter_{iter}/train/model_{model}.log",
    benchmark:
        "benchmarks/iter_{iter}/train/model_{model}.tsv"
    conda:
        "../../envs/deepmd.yaml"
    threads: S.train.threads
    resources:
        **lpsres.rule_resources("train_model", config),
    params:
        type_map=TYPE_MAP,
        member=S.train.member.params(),
    script:
        "../scripts/train_model.py"


# ---- energy, force and virial RMSE of every member, per composition ----
rule test_models:
    input:
        models=models_of,
        data=rules.build_dataset.output.data,
    output:
        rmse="results/iter_{iter}/train/rmse.csv",
    log:
        "logs/iter_{iter}/test_models.log",
    conda:
        "../../envs/deepmd.yaml"
    script:
        "../scripts/test_models.py"
