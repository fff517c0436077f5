# Stage 6t: the ground truth of a teacher-labelled campaign (dft.engine: mlip): MD with the
# teacher potential itself on the DP's glasses, its transport and structure, the DP against it
# (lpsflow.teacher). Included only then (TEACHER); make_report asks for its tables.

# the teacher temperatures that the DP production also ran (the compared ones)
TEACHER_TEMPS = S.teacher_md.compared_temperatures(S.production.temperatures)
TEACHER_RUNS = [(c, t) for c in COMPOSITIONS for t in TEACHER_TEMPS]
# the DP runs of the same glasses (replica 0) at the same temperatures
TEACHER_DP_RUNS = [
    {"comp": c, "replica": 0, "temp": temp_label(t)} for c, t in TEACHER_RUNS
]


# ---- ground truth (dft.engine: mlip): NVT MD with the teacher potential itself ----
rule teacher_md:
    input:
        glass=lambda wc: filled(rules.make_glass.output.glass, comp=wc.comp, replica=0),
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
        model=S.dft.science.physics["model"],
        dispersion=S.dft.science.physics["teacher_dispersion"],  # the labels' D3, if any
        type_map=TYPE_MAP,
        timestep_fs=S.teacher_md.timestep_fs,
        dump_every=S.teacher_md.dump_every,
        seed=S.teacher_md.seed,
        equilibration_steps=S.teacher_md.equilibration_steps,
        steps=S.teacher_md.steps,
        npt_steps=S.teacher_md.npt_steps,
        pressure_bar=S.teacher_md.pressure_bar,
        damping_fs=[
            S.teacher_md.thermostat_damping_fs,
            S.teacher_md.barostat_damping_fs,
        ],
        test_frames=S.teacher_md.test_frames,
    script:
        "../scripts/run_teacher_md.py"


# ---- every iteration's models on the fixed test set of teacher-MD frames ----
rule teacher_test_errors:
    input:
        unpack(all_iteration_models),
        test=teacher_runs(rules.teacher_md.output.test),
    output:
        rmse="results/teacher/test_rmse.csv",
    log:
        "logs/teacher/test_errors.log",
    benchmark:
        "benchmarks/teacher/test_errors.tsv"
    conda:
        "../../envs/deepmd.yaml"
    threads: S.train.threads
    params:  # models: iteration 0's members, then iteration 1's, ...; one test set per run
        n_models=N_MODELS,
        test_runs=[{"composition": c, "temperature_K": t} for c, t in TEACHER_RUNS],
    script:
        "../scripts/teacher_test_errors.py"


# ---- teacher's Li MSD, D and conductivity (same code and fit window as the DP runs) ----
rule analyze_teacher_transport:
    input:
        li=rules.teacher_md.output.li,
        cell=rules.teacher_md.output.final,  # the NVT box of the run
    output:
        transport="results/teacher/{comp}/T{temp}/transport.json",
        msd="results/teacher/{comp}/T{temp}/msd.csv",
    log:
        "logs/teacher/{comp}/T{temp}_transport.log",
    conda:
        "../../envs/analysis.yaml"
    params:  # the DP runs' MSD analysis settings, the teacher's own step and dump interval
        dump_every=S.teacher_md.dump_every,
        timestep_fs=S.teacher_md.timestep_fs,
        fit_window=S.production.fit.fit_window,
        haven_ratio=S.production.fit.haven_ratio,
    script:
        "../scripts/analyze_teacher_transport.py"


# ---- structure of the glass after the teacher's run at the lowest temperature ----
rule analyze_teacher_structure:
    input:
        glass=lambda wc: filled(
            rules.teacher_md.output.final,
            comp=wc.comp,
            temp=temp_label(min(TEACHER_TEMPS)),
        ),
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
        teacher=teacher_runs(rules.analyze_teacher_transport.output.transport),
        speed=teacher_runs(rules.teacher_md.output.speed),
        dp=each_run(rules.analyze_transport.output.transport, TEACHER_DP_RUNS),
        dp_log=each_run(rules.run_production.output.lammps_log, TEACHER_DP_RUNS),
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
    params:  # what each speed record is (the teacher's runs, then the DP runs of its glasses)
        teacher_runs=[
            {"composition": c, "run": f"T{temp_label(t)}"} for c, t in TEACHER_RUNS
        ],
        dp_runs=[
            {"composition": r["comp"], "run": f"T{r['temp']}"} for r in TEACHER_DP_RUNS
        ],
    script:
        "../scripts/summarize_teacher.py"
