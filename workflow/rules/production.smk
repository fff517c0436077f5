# Stage 6: production MD with the final model and Li transport (lpsflow.production, .transport).


# ---- a melt-quenched glass (NPT: its density is a result) or NPT-relaxed crystal ----
rule make_glass:
    input:
        manifest="results/model/manifest.json",
        cell=lambda wc: sample_path(wc.comp, 0),
    output:
        glass="results/production/{comp}/glass.extxyz",
        devi="results/production/{comp}/melt_quench/model_devi.out",
        density="results/production/{comp}/density.json",
    log:
        "logs/production/{comp}/make_glass.log",
    benchmark:
        "benchmarks/production/{comp}/make_glass.tsv"
    conda:
        "../../envs/deepmd.yaml"
    threads: config["production"]["threads"]
    params:
        production=config["production"],
        type_map=TYPE_MAP,
        crystal=lambda wc: is_crystal(wc.comp),
    script:
        "../scripts/make_glass.py"


# ---- NPT, then NVT at its mean box at one temperature; Li and (sparse) all atoms recorded ----
rule run_production:
    input:
        manifest="results/model/manifest.json",
        glass="results/production/{comp}/glass.extxyz",
    output:
        li=temp("results/production/{comp}/T{temp}/li.dump"),
        frames="results/production/{comp}/T{temp}/all.dump",
        npt="results/production/{comp}/T{temp}/npt.json",
        devi="results/production/{comp}/T{temp}/model_devi.out",
    log:
        "logs/production/{comp}/T{temp}.log",
    benchmark:
        "benchmarks/production/{comp}/T{temp}.tsv"
    conda:
        "../../envs/deepmd.yaml"
    threads: config["production"]["threads"]
    params:
        production=config["production"],
        type_map=TYPE_MAP,
    script:
        "../scripts/run_production.py"


# ---- MSD, diffusion coefficient, conductivity, deviation check ----
rule analyze_transport:
    input:
        li="results/production/{comp}/T{temp}/li.dump",
        devi="results/production/{comp}/T{temp}/model_devi.out",
        glass="results/production/{comp}/glass.extxyz",
        npt="results/production/{comp}/T{temp}/npt.json",
    output:
        transport="results/production/{comp}/T{temp}/transport.json",
        msd="results/production/{comp}/T{temp}/msd.csv",
    log:
        "logs/production/{comp}/T{temp}_transport.log",
    conda:
        "../../envs/analysis.yaml"
    params:
        production=config["production"],
        trust_hi=config["select"]["trust_hi"],
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


# ---- structure averaged over one transport run (all-atom frames) ----
rule analyze_structure:
    input:
        frames="results/production/{comp}/T{temp}/all.dump",
    output:
        structure="results/production/{comp}/T{temp}/structure.json",
    log:
        "logs/production/{comp}/T{temp}_structure.log",
    conda:
        "../../envs/analysis.yaml"
    params:
        type_map=TYPE_MAP,
    script:
        "../scripts/analyze_structure.py"
