# Stage 6: production MD with the final model and Li transport (lpsflow.production, .transport).
# Each composition gets production.replicas independent glasses (own starting cell, melt-quench
# and seeds) under results/production/{comp}/replica_{replica}/.


# ---- a melt-quenched glass (NPT: its density is a result) or NPT-relaxed crystal, per replica ----
rule make_glass:
    input:
        manifest=rules.export_model.output.manifest,
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
        manifest=rules.export_model.output.manifest,
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
        quench=lambda wc: expand(
            rules.make_glass.output.quench, comp=wc.comp, replica=REPLICAS
        ),
        density=lambda wc: expand(
            rules.make_glass.output.density, comp=wc.comp, replica=REPLICAS
        ),
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
        quench=lambda wc: expand(
            rules.make_glass_at_rate.output.quench,
            comp=wc.comp,
            rate=wc.rate,
            replica=REPLICAS,
        ),
        density=lambda wc: expand(
            rules.make_glass_at_rate.output.density,
            comp=wc.comp,
            rate=wc.rate,
            replica=REPLICAS,
        ),
    output:
        tg="results/production/{comp}/quench_{rate}/tg.json",
    log:
        "logs/production/{comp}/quench_{rate}/tg.log",
    wildcard_constraints:
        rate=r"[0-9.]+",


# ---- each shipped crystal of the campaign's compositions: NPT at quench_to with the final DP ----
rule run_crystal_npt:
    input:
        manifest=rules.export_model.output.manifest,
        cell=lambda wc: str(lpscrystals.path(wc.phase)),  # a crystal shipped with lpsflow
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


# ---- NPT, then NVT at its mean box at one temperature: Li (dense) and all atoms (sparse) DCD ----
rule run_production:
    input:
        manifest=rules.export_model.output.manifest,
        glass=rules.make_glass.output.glass,
    output:
        li="results/production/{comp}/replica_{replica}/T{temp}/li.dcd",
        all="results/production/{comp}/replica_{replica}/T{temp}/all.dcd",
        npt="results/production/{comp}/replica_{replica}/T{temp}/npt.json",
        devi="results/production/{comp}/replica_{replica}/T{temp}/model_devi.out",
        status="results/production/{comp}/replica_{replica}/T{temp}/run_status.json",
        lammps_log="results/production/{comp}/replica_{replica}/T{temp}/md/log.lammps",
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
        li=rules.run_production.output.li,
        all=rules.run_production.output.all,
        devi=rules.run_production.output.devi,
        status=rules.run_production.output.status,
        npt=rules.run_production.output.npt,
        glass=rules.make_glass.output.glass,
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
        manifest=rules.export_model.output.manifest,
        glass=rules.make_glass_at_rate.output.glass,
    output:
        li="results/production/{comp}/quench_{rate}/replica_{replica}/T{temp}/li.dcd",
        all="results/production/{comp}/quench_{rate}/replica_{replica}/T{temp}/all.dcd",
        npt="results/production/{comp}/quench_{rate}/replica_{replica}/T{temp}/npt.json",
        devi="results/production/{comp}/quench_{rate}/replica_{replica}/T{temp}/model_devi.out",
        status="results/production/{comp}/quench_{rate}/replica_{replica}/T{temp}/run_status.json",
        lammps_log="results/production/{comp}/quench_{rate}/replica_{replica}/T{temp}/md/log.lammps",
    log:
        "logs/production/{comp}/quench_{rate}/replica_{replica}/T{temp}.log",
    benchmark:
        "benchmarks/production/{comp}/quench_{rate}/replica_{replica}/T{temp}.tsv"
    wildcard_constraints:
        rate=r"[0-9.]+",


use rule analyze_transport as analyze_transport_at_rate with:
    input:
        li=rules.run_production_at_rate.output.li,
        all=rules.run_production_at_rate.output.all,
        devi=rules.run_production_at_rate.output.devi,
        status=rules.run_production_at_rate.output.status,
        npt=rules.run_production_at_rate.output.npt,
        glass=rules.make_glass_at_rate.output.glass,
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


# ---- glass and crystal densities against experiment; Tg of every composition beside measured ----
rule summarize_glasses:
    input:
        density=expand(
            rules.make_glass.output.density, comp=COMPOSITIONS, replica=REPLICAS
        ),
        crystals=expand(rules.run_crystal_npt.output.density, phase=CRYSTAL_PHASES),
        tg=expand(rules.fit_glass_transition.output.tg, comp=COMPOSITIONS),
        rates=[  # quench-rate sensitivity glasses (production.quench_rate_sensitivity)
            path
            for c in COMPOSITIONS
            for q in QUENCH_RATES
            for path in expand(
                rules.fit_glass_transition_at_rate.output.tg,
                comp=c,
                rate=rate_label(q),
            )
            + expand(
                rules.make_glass_at_rate.output.density,
                comp=c,
                rate=rate_label(q),
                replica=REPLICAS,
            )
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


# ---- conductivity table and Arrhenius fits of all compositions ----
rule summarize_transport:
    input:
        transport=each_run(rules.analyze_transport.output.transport),
        tg=expand(rules.fit_glass_transition.output.tg, comp=COMPOSITIONS),  # below/above Tg
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
        glass=lambda wc: filled(rules.make_glass.output.glass, comp=wc.comp, replica=0),
    output:
        structure="results/production/{comp}/structure.json",
    log:
        "logs/production/{comp}/structure.log",
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/analyze_glass.py"


# ---- structure averaged over one transport run (all-atom DCD frames) ----
rule analyze_structure:
    input:
        frames=rules.run_production.output.all,
        glass=rules.make_glass.output.glass,
    output:
        structure="results/production/{comp}/replica_{replica}/T{temp}/structure.json",
    log:
        "logs/production/{comp}/replica_{replica}/T{temp}_structure.log",
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/analyze_structure.py"
