# Stage 6: production MD with the final model and Li transport (lpsflow.production, .transport).


# ---- a melt-quenched glass per composition ----
rule make_glass:
    input:
        manifest="results/model/manifest.json",
        cell=lambda wc: sample_path(wc.comp, 0),
    output:
        glass="results/production/{comp}/glass.extxyz",
        devi="results/production/{comp}/melt_quench/model_devi.out",
    log:
        "logs/production/{comp}/make_glass.log",
    benchmark:
        "benchmarks/production/{comp}/make_glass.tsv"
    conda:
        "../../envs/deepmd.yaml"
    threads: S.production.threads
    params:
        glass=S.production.glass.params(),
        type_map=TYPE_MAP,
    script:
        "../scripts/make_glass.py"


# ---- NVT run at one temperature, unwrapped Li positions recorded ----
rule run_production:
    input:
        manifest="results/model/manifest.json",
        glass="results/production/{comp}/glass.extxyz",
    output:
        li=temp("results/production/{comp}/T{temp}/li.dump"),
        devi="results/production/{comp}/T{temp}/model_devi.out",
        status="results/production/{comp}/T{temp}/run_status.json",
    log:
        "logs/production/{comp}/T{temp}.log",
    benchmark:
        "benchmarks/production/{comp}/T{temp}.tsv"
    conda:
        "../../envs/deepmd.yaml"
    threads: S.production.threads
    params:
        run=S.production.run.params(),
        type_map=TYPE_MAP,
    script:
        "../scripts/run_production.py"


# ---- MSD, diffusion coefficient, conductivity, deviation check ----
rule analyze_transport:
    input:
        li="results/production/{comp}/T{temp}/li.dump",
        devi="results/production/{comp}/T{temp}/model_devi.out",
        status="results/production/{comp}/T{temp}/run_status.json",
        glass="results/production/{comp}/glass.extxyz",
    output:
        transport="results/production/{comp}/T{temp}/transport.json",
        msd="results/production/{comp}/T{temp}/msd.csv",
    log:
        "logs/production/{comp}/T{temp}_transport.log",
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
        table="results/transport/conductivity.csv",
        arrhenius="results/transport/arrhenius.csv",
    log:
        "logs/transport/summarize.log",
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/summarize_transport.py"


# ---- partial RDFs and anion speciation of the glass ----
rule analyze_glass:
    input:
        glass="results/production/{comp}/glass.extxyz",
    output:
        structure="results/production/{comp}/structure.json",
    log:
        "logs/production/{comp}/structure.log",
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/analyze_glass.py"
