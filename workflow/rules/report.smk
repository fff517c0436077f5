# Stage 7: the self-contained HTML report (lpsflow.report).


# ---- DFT vs DP energies and forces of the final model (held-out test set) ----
rule parity_data:
    input:
        manifest=rules.export_model.output.manifest,
    output:
        parity="results/model/parity.csv",
    log:
        "logs/report/parity.log",
    conda:
        "../../envs/deepmd.yaml"
    script:
        "../scripts/parity_data.py"


# ---- results/report.html ----
rule make_report:
    input:
        unpack(report_inputs),
        environment_mobility=rules.summarize_environment.output.mobility,
        environment_units=rules.summarize_environment.output.units,
    output:
        html="results/report.html",
    log:
        "logs/report/report.log",
    conda:
        "../../envs/analysis.yaml"
    params:
        science=S.science(),
        type_map=TYPE_MAP,
        msd_runs=run_metadata(),  # what each of input.msd is
        compositions=list(COMPOSITIONS),  # the order of input.structure, teacher_structure
    script:
        "../scripts/make_report.py"
