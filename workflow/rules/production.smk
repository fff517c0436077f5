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
    threads: config["production"]["threads"]
    params:
        production=config["production"],
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


# ---- ground truth (dft.engine: mlip): NVT MD with the teacher potential itself ----
rule teacher_md:
    input:
        glass="results/production/{comp}/glass.extxyz",
    output:
        li=temp("results/teacher/{comp}/T{temp}/li.dump"),
        final="results/teacher/{comp}/T{temp}/final.extxyz",
        speed="results/teacher/{comp}/T{temp}/speed.json",
    log:
        "logs/teacher/{comp}/T{temp}.log",
    benchmark:
        "benchmarks/teacher/{comp}/T{temp}.tsv"
    conda:
        "../../envs/cp2k.yaml"
    threads: config["production"]["threads"]
    params:
        model=config["dft"]["model"],
        type_map=TYPE_MAP,
        timestep_fs=config["production"]["timestep_fs"],
        dump_every=config["production"]["dump_every"],
        seed=config["production"]["seed"],
        equilibration_steps=teacher_setting("equilibration_steps"),
        steps=teacher_setting("steps"),
    script:
        "../scripts/run_teacher_md.py"


# ---- teacher's Li MSD, D and conductivity (same code and fit window as the DP runs) ----
rule analyze_teacher_transport:
    input:
        li="results/teacher/{comp}/T{temp}/li.dump",
        glass="results/production/{comp}/glass.extxyz",
    output:
        transport="results/teacher/{comp}/T{temp}/transport.json",
        msd="results/teacher/{comp}/T{temp}/msd.csv",
    log:
        "logs/teacher/{comp}/T{temp}_transport.log",
    conda:
        "../../envs/analysis.yaml"
    params:
        production=config["production"],
    script:
        "../scripts/analyze_teacher_transport.py"


# ---- structure of the glass after the teacher's run at the lowest temperature ----
rule analyze_teacher_structure:
    input:
        glass=lambda wc: f"results/teacher/{wc.comp}/T{temp_label(min(teacher_temperatures()))}/final.extxyz",
    output:
        structure="results/teacher/{comp}/structure.json",
    log:
        "logs/teacher/{comp}/structure.log",
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/analyze_glass.py"


# ---- teacher vs DP table, teacher Arrhenius fits, MD speed of both ----
rule summarize_teacher:
    input:
        teacher=teacher_runs("transport.json"),
        speed=teacher_runs("speed.json"),
        dp=[
            f"results/production/{comp}/T{temp_label(t)}/transport.json"
            for comp in COMPOSITIONS
            for t in teacher_temperatures()
        ],
    output:
        teacher="results/teacher/conductivity.csv",
        comparison="results/teacher/comparison.csv",
        arrhenius="results/teacher/arrhenius.csv",
        speed="results/teacher/speed.csv",
    log:
        "logs/teacher/summarize.log",
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/summarize_teacher.py"
