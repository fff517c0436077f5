# Stage 6: production MD with the final model and Li transport (lpsflow.production, .transport).
# Each composition gets production.replicas independent glasses (own starting cell, melt-quench
# and seeds) under results/production/{comp}/replica_{replica}/.


# ---- a melt-quenched glass (NPT: its density is a result) or NPT-relaxed crystal, per replica ----
rule make_glass:
    input:
        manifest="results/model/manifest.json",
        cell=glass_start_cell,
    output:
        glass="results/production/{comp}/replica_{replica}/glass.extxyz",
        devi="results/production/{comp}/replica_{replica}/melt_quench/model_devi.out",
        quench="results/production/{comp}/replica_{replica}/melt_quench/quench.dat",
        density="results/production/{comp}/replica_{replica}/density.json",
    log:
        "logs/production/{comp}/replica_{replica}/make_glass.log",
    benchmark:
        "benchmarks/production/{comp}/replica_{replica}/make_glass.tsv"
    conda:
        "../../envs/deepmd.yaml"
    threads: S.production.threads
    resources:
        **lpsres.rule_resources("make_glass", config),
    params:
        glass=S.production.glass.params(),
        type_map=TYPE_MAP,
        crystal=lambda wc: is_crystal(wc.comp),
    script:
        "../scripts/make_glass.py"


# ---- quench-rate sensitivity: the same glasses (same cells and seeds) at another rate ----
rule make_glass_at_rate:
    input:
        manifest="results/model/manifest.json",
        cell=glass_start_cell,
    output:
        glass="results/production/{comp}/quench_{rate}/replica_{replica}/glass.extxyz",
        devi="results/production/{comp}/quench_{rate}/replica_{replica}/melt_quench/model_devi.out",
        quench="results/production/{comp}/quench_{rate}/replica_{replica}/melt_quench/quench.dat",
        density="results/production/{comp}/quench_{rate}/replica_{replica}/density.json",
    log:
        "logs/production/{comp}/quench_{rate}/replica_{replica}/make_glass.log",
    benchmark:
        "benchmarks/production/{comp}/quench_{rate}/replica_{replica}/make_glass.tsv"
    wildcard_constraints:
        rate=r"[0-9.]+",
    conda:
        "../../envs/deepmd.yaml"
    threads: S.production.threads
    resources:
        **lpsres.rule_resources("make_glass_at_rate", config),
    params:
        glass=lambda wc: {**S.production.glass.params(), "quench_rate": float(wc.rate)},
        type_map=TYPE_MAP,
        crystal=lambda wc: is_crystal(wc.comp),
    script:
        "../scripts/make_glass.py"


# ---- the model's Tg: two-line fit of the density along the quench, per replica and pooled ----
rule fit_glass_transition:
    input:
        quench=lambda wc: quench_records(wc.comp, "quench.dat"),
        density=lambda wc: quench_records(wc.comp, "density.json"),
    output:
        tg="results/production/{comp}/tg.json",
    log:
        "logs/production/{comp}/tg.log",
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/fit_glass_transition.py"


use rule fit_glass_transition as fit_glass_transition_at_rate with:
    input:
        quench=lambda wc: quench_records(wc.comp, "quench.dat", wc.rate),
        density=lambda wc: quench_records(wc.comp, "density.json", wc.rate),
    output:
        tg="results/production/{comp}/quench_{rate}/tg.json",
    log:
        "logs/production/{comp}/quench_{rate}/tg.log",
    wildcard_constraints:
        rate=r"[0-9.]+",


# ---- each shipped crystal of the campaign's compositions: NPT at quench_to with the final DP ----
rule run_crystal_npt:
    input:
        manifest="results/model/manifest.json",
        cell=lambda wc: str(crystal_file(wc.phase)),
    output:
        density="results/production/crystals/{phase}/density.json",
        devi="results/production/crystals/{phase}/npt/model_devi.out",
    log:
        "logs/production/crystals/{phase}.log",
    benchmark:
        "benchmarks/production/crystals/{phase}.tsv"
    wildcard_constraints:
        phase="|".join(CRYSTAL_PHASES) or "no-phases",
    conda:
        "../../envs/deepmd.yaml"
    threads: S.production.threads
    params:
        glass=S.production.glass.params(),
        type_map=TYPE_MAP,
    script:
        "../scripts/run_crystal_npt.py"


# ---- glass and crystal densities against experiment; Tg of every composition beside measured ----
rule summarize_glasses:
    input:
        density=[
            f"{glass_dir(c, r)}/density.json"
            for c in COMPOSITIONS
            for r in range(S.production.replicas)
        ],
        crystals=[
            f"results/production/crystals/{p}/density.json" for p in CRYSTAL_PHASES
        ],
        tg=[f"results/production/{c}/tg.json" for c in COMPOSITIONS],
        rates=[  # quench-rate sensitivity glasses (production.quench_rate_sensitivity)
            f"results/production/{c}/quench_{rate_label(q)}/{name}"
            for c in COMPOSITIONS
            for q in QUENCH_RATES
            for name in ["tg.json"]
            + [f"replica_{r}/density.json" for r in range(S.production.replicas)]
        ],
        transport=[r["path"] for r in rate_transport_runs()],  # every rate's transport runs
    output:
        density="results/production/density.csv",
        tg="results/production/tg.csv",
        rates="results/production/quench_rates.csv",
        rates_sigma="results/production/quench_rates_sigma.csv",
    log:
        "logs/production/summarize_glasses.log",
    conda:
        "../../envs/analysis.yaml"
    params:
        compositions=list(COMPOSITIONS.values()),
        transport_rates=[r["rate"] for r in rate_transport_runs()],  # K/ps of each transport
    script:
        "../scripts/summarize_glasses.py"


# ---- NPT, then NVT at its mean box at one temperature: Li (dense) and all atoms (sparse) DCD ----
rule run_production:
    input:
        manifest="results/model/manifest.json",
        glass="results/production/{comp}/replica_{replica}/glass.extxyz",
    output:
        li="results/production/{comp}/replica_{replica}/T{temp}/li.dcd",
        all="results/production/{comp}/replica_{replica}/T{temp}/all.dcd",
        npt="results/production/{comp}/replica_{replica}/T{temp}/npt.json",
        devi="results/production/{comp}/replica_{replica}/T{temp}/model_devi.out",
        status="results/production/{comp}/replica_{replica}/T{temp}/run_status.json",
    log:
        "logs/production/{comp}/replica_{replica}/T{temp}.log",
    benchmark:
        "benchmarks/production/{comp}/replica_{replica}/T{temp}.tsv"
    conda:
        "../../envs/deepmd.yaml"
    threads: S.production.threads
    resources:
        **lpsres.rule_resources("run_production", config),
    params:
        run=S.production.run.params(),
        check=S.production.extension_check(),  # decides an extension ({}: none extended)
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
        npt="results/production/{comp}/replica_{replica}/T{temp}/npt.json",
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


# ---- quench-rate sensitivity: the same transport runs on the glasses of each further rate ----
use rule run_production as run_production_at_rate with:
    input:
        manifest="results/model/manifest.json",
        glass="results/production/{comp}/quench_{rate}/replica_{replica}/glass.extxyz",
    output:
        li="results/production/{comp}/quench_{rate}/replica_{replica}/T{temp}/li.dcd",
        all="results/production/{comp}/quench_{rate}/replica_{replica}/T{temp}/all.dcd",
        npt="results/production/{comp}/quench_{rate}/replica_{replica}/T{temp}/npt.json",
        devi="results/production/{comp}/quench_{rate}/replica_{replica}/T{temp}/model_devi.out",
        status="results/production/{comp}/quench_{rate}/replica_{replica}/T{temp}/run_status.json",
    log:
        "logs/production/{comp}/quench_{rate}/replica_{replica}/T{temp}.log",
    benchmark:
        "benchmarks/production/{comp}/quench_{rate}/replica_{replica}/T{temp}.tsv"
    wildcard_constraints:
        rate=r"[0-9.]+",


use rule analyze_transport as analyze_transport_at_rate with:
    input:
        li="results/production/{comp}/quench_{rate}/replica_{replica}/T{temp}/li.dcd",
        all="results/production/{comp}/quench_{rate}/replica_{replica}/T{temp}/all.dcd",
        devi="results/production/{comp}/quench_{rate}/replica_{replica}/T{temp}/model_devi.out",
        status="results/production/{comp}/quench_{rate}/replica_{replica}/T{temp}/run_status.json",
        npt="results/production/{comp}/quench_{rate}/replica_{replica}/T{temp}/npt.json",
        glass="results/production/{comp}/quench_{rate}/replica_{replica}/glass.extxyz",
    output:
        transport="results/production/{comp}/quench_{rate}/replica_{replica}/T{temp}/transport.json",
        msd="results/production/{comp}/quench_{rate}/replica_{replica}/T{temp}/msd.csv",
        charge_msd="results/production/{comp}/quench_{rate}/replica_{replica}/T{temp}/charge_msd.csv",
    log:
        "logs/production/{comp}/quench_{rate}/replica_{replica}/T{temp}_transport.log",
    benchmark:
        "benchmarks/production/{comp}/quench_{rate}/replica_{replica}/T{temp}_transport.tsv"
    wildcard_constraints:
        rate=r"[0-9.]+",


# ---- conductivity table and Arrhenius fits of all compositions ----
rule summarize_transport:
    input:
        transport=transport_results,
        tg=[f"results/production/{c}/tg.json" for c in COMPOSITIONS],  # runs below/above Tg
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


# ---- ground truth (dft.engine: mlip): NVT MD with the teacher potential itself ----
rule teacher_md:
    input:
        glass=lambda wc: f"{glass_dir(wc.comp, 0)}/glass.extxyz",  # replica 0's glass
    output:
        li="results/teacher/{comp}/T{temp}/li.dump",  # kept: new fit settings rerun only the analysis
        final="results/teacher/{comp}/T{temp}/final.extxyz",
        speed="results/teacher/{comp}/T{temp}/speed.json",
        test="results/teacher/{comp}/T{temp}/frames.extxyz",  # fixed test set
    log:
        "logs/teacher/{comp}/T{temp}.log",
    benchmark:
        "benchmarks/teacher/{comp}/T{temp}.tsv"
    conda:
        "../../envs/cp2k.yaml"
    threads: S.production.threads
    resources:
        **lpsres.rule_resources("teacher_md", config),
    params:
        model=config["dft"]["model"],
        dispersion=config["dft"]["teacher_dispersion"],  # the labels' D3, if any
        type_map=TYPE_MAP,
        timestep_fs=config["production"]["timestep_fs"],
        dump_every=config["production"]["dump_every"],
        seed=config["production"]["seed"],
        equilibration_steps=teacher_setting("equilibration_steps"),
        steps=teacher_setting("steps"),
        npt_steps=teacher_setting("npt_steps"),
        pressure_bar=config["production"]["pressure"],
        test_frames=config["teacher_md"]["test_frames"],
    script:
        "../scripts/run_teacher_md.py"


# ---- every iteration's models on the fixed test set of teacher-MD frames ----
rule teacher_test_errors:
    input:
        unpack(all_iteration_models),
        test=teacher_runs("frames.extxyz"),
    output:
        rmse="results/teacher/test_rmse.csv",
    log:
        "logs/teacher/test_errors.log",
    benchmark:
        "benchmarks/teacher/test_errors.tsv"
    conda:
        "../../envs/deepmd.yaml"
    threads: S.train.threads
    script:
        "../scripts/teacher_test_errors.py"


# ---- teacher's Li MSD, D and conductivity (same code and fit window as the DP runs) ----
rule analyze_teacher_transport:
    input:
        li="results/teacher/{comp}/T{temp}/li.dump",
        cell="results/teacher/{comp}/T{temp}/final.extxyz",  # the NVT box of the run
    output:
        transport="results/teacher/{comp}/T{temp}/transport.json",
        msd="results/teacher/{comp}/T{temp}/msd.csv",
    log:
        "logs/teacher/{comp}/T{temp}_transport.log",
    conda:
        "../../envs/analysis.yaml"
    params:  # the DP runs' MSD analysis settings (the teacher writes a Li text dump)
        dump_every=S.production.fit.dump_every,
        timestep_fs=S.production.fit.timestep_fs,
        fit_window=S.production.fit.fit_window,
        haven_ratio=S.production.fit.haven_ratio,
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
        dp=[  # the DP runs of the same glass (replica 0)
            transport_path(comp, 0, t, "transport.json")
            for comp in COMPOSITIONS
            for t in teacher_temperatures()
        ],
    output:
        teacher="results/teacher/conductivity.csv",
        comparison="results/teacher/comparison.csv",
        bias="results/teacher/bias.csv",  # pooled DP / teacher ratio of D and sigma
        arrhenius="results/teacher/arrhenius.csv",
        speed="results/teacher/speed.csv",
    log:
        "logs/teacher/summarize.log",
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/summarize_teacher.py"


# ---- structure averaged over one transport run (all-atom DCD frames) ----
rule analyze_structure:
    input:
        frames="results/production/{comp}/replica_{replica}/T{temp}/all.dcd",
        glass="results/production/{comp}/replica_{replica}/glass.extxyz",
    output:
        structure="results/production/{comp}/replica_{replica}/T{temp}/structure.json",
    log:
        "logs/production/{comp}/replica_{replica}/T{temp}_structure.log",
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/analyze_structure.py"
