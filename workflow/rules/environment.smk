# Stage 6b: which anion units surround each Li+, Li mobility per environment, and whether the
# units of each production run survive it (lpsflow.li_environment; issue 23).


# ---- Li environments, mobility per environment, unit fractions over one transport run ----
rule analyze_environment:
    input:
        all=rules.run_production.output.all,
        glass=rules.make_glass.output.glass,
    output:
        environment="results/production/{comp}/replica_{replica}/T{temp}/environment.json",
        units="results/production/{comp}/replica_{replica}/T{temp}/environment_units.csv",
        mobility="results/production/{comp}/replica_{replica}/T{temp}/environment_mobility.csv",
    log:
        "logs/production/{comp}/replica_{replica}/T{temp}_environment.log",
    benchmark:
        "benchmarks/production/{comp}/replica_{replica}/T{temp}_environment.tsv"
    conda:
        "../../envs/analysis.yaml"
    params:  # the frame interval of all.dcd; the longest lag is the transport fit window's end
        dump_all_every=S.production.fit.dump_all_every,
        timestep_fs=S.production.fit.timestep_fs,
        longest_lag_fraction=S.production.fit.fit_window[1],
    script:
        "../scripts/analyze_environment.py"


# ---- mobility per environment and unit stability of every run ----
rule summarize_environment:
    input:
        environment=each_run(rules.analyze_environment.output.environment),
    output:
        mobility="results/environment/mobility.csv",
        units="results/environment/units.csv",
    log:
        "logs/environment/summarize.log",
    conda:
        "../../envs/analysis.yaml"
    script:
        "../scripts/summarize_environment.py"
