# Stage 6: production MD with the final model and Li transport (lpsflow.production, .transport).
# Each composition gets production.replicas independent glasses (own starting cell, melt-quench
# and seeds) under results/production/{comp}/replica_{replica}/.


# ---- a melt-quenched glass per composition and replica ----
rule make_glass:
    input:
        manifest="results/model/manifest.json",
        cell=glass_start_cell,
    output:
        glass="results/production/{comp}/replica_{replica}/glass.extxyz",
        devi="results/production/{comp}/replica_{replica}/melt_quench/model_devi.out",
    log:
        "logs/production/{comp}/replica_{replica}/make_glass.log",
    benchmark:
        "benchmarks/production/{comp}/replica_{replica}/make_glass.tsv"
    conda:
        "../../envs/deepmd.yaml"
    threads: S.production.threads
    params:
        glass=S.production.glass.params(),
        type_map=TYPE_MAP,
    script:
        "../scripts/make_glass.py"


# ---- NVT run at one temperature: unwrapped Li (dense) and all-atom (sparse) DCD trajectories ----
rule run_production:
    input:
        manifest="results/model/manifest.json",
        glass="results/production/{comp}/replica_{replica}/glass.extxyz",
    output:
        li="results/production/{comp}/replica_{replica}/T{temp}/li.dcd",
        all="results/production/{comp}/replica_{replica}/T{temp}/all.dcd",
        devi="results/production/{comp}/replica_{replica}/T{temp}/model_devi.out",
        status="results/production/{comp}/replica_{replica}/T{temp}/run_status.json",
    log:
        "logs/production/{comp}/replica_{replica}/T{temp}.log",
    benchmark:
        "benchmarks/production/{comp}/replica_{replica}/T{temp}.tsv"
    conda:
        "../../envs/deepmd.yaml"
    threads: S.production.threads
    params:
        run=S.production.run.params(),
        type_map=TYPE_MAP,
    script:
        "../scripts/run_production.py"


# ---- MSD, D, tracer and collective conductivity, diffusive check, deviation check ----
rule analyze_transport:
    input:
        li="results/production/{comp}/replica_{replica}/T{temp}/li.dcd",
        all="results/production/{comp}/replica_{replica}/T{temp}/all.dcd",
        devi="results/production/{comp}/replica_{replica}/T{temp}/model_devi.out",
        status="results/production/{comp}/replica_{replica}/T{temp}/run_status.json",
        glass="results/production/{comp}/replica_{replica}/glass.extxyz",
    output:
        transport="results/production/{comp}/replica_{replica}/T{temp}/transport.json",
        msd="results/production/{comp}/replica_{replica}/T{temp}/msd.csv",
        charge_msd="results/production/{comp}/replica_{replica}/T{temp}/charge_msd.csv",
    log:
        "logs/production/{comp}/replica_{replica}/T{temp}_transport.log",
    benchmark:
        "benchmarks/production/{comp}/replica_{replica}/T{temp}_transport.tsv"
    conda:
        "../../envs/analysis.yaml"
    params:
        fit=S.production.fit.params(),
    script:
        "../scripts/analyze_transport.py"


# ---- conductivity table and Arrhenius fits of all compositions ----
rule summarize_transport:
    input:
        transport=transport_results,
    output:
        runs="results/transport/runs.csv",
        table="results/transport/conductivity.csv",
        arrhenius="results/transport/arrhenius.csv",
    log:
        "logs/transport/summarize.log",
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/summarize_transport.py"


# ---- partial RDFs and anion speciation of the glass (first replica) ----
rule analyze_glass:
    input:
        glass="results/production/{comp}/replica_0/glass.extxyz",
    output:
        structure="results/production/{comp}/structure.json",
    log:
        "logs/production/{comp}/structure.log",
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/analyze_glass.py"
