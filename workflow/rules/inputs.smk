# Input functions: what each rule reads, as the outputs of the rules that make it
# (rules.<producer>.output, expanded here). Evaluated when the DAG is built, after every rule
# is defined, so a function may name a rule of any stage file.
# The loop's own functions (verdicts, final iteration) are in loop.smk.


# ---- stage 2: labelling ----
def frame_manifests(wildcards):
    """Manifests of a composition's initial labels: one per perturbed frame (job count =
    frames; batching is the profile's) and/or one per AIMD run (init.method)."""
    comp = COMPOSITIONS[wildcards.comp]
    n = 0 if LABEL_IN_STAGE else lpsconfig.n_frames(config, comp)
    manifests = expand(
        rules.label_frame.output.manifest, comp=wildcards.comp, frame=range(n)
    )
    if INIT_METHOD in ("aimd", "both"):
        manifests += expand(
            rules.aimd_init.output.manifest,
            comp=wildcards.comp,
            replica=range(comp["replicas"]),
        )
    return manifests


def perturbed_frames(wildcards):
    """The perturbed frames of a composition, when init.method labels any."""
    if lpsconfig.n_frames(config, COMPOSITIONS[wildcards.comp]) == 0:
        return []
    return [filled(rules.perturb_structures.output.frames, comp=wildcards.comp)]


# ---- stage 3: training ----
def labels_before(wildcards):
    """Label tables that feed the training data of iteration ``iter``."""
    before = [it(j) for j in range(int(wildcards.iter))]
    return INIT_TABLES + expand(
        rules.collect_candidate_labels.output.labels, iter=before
    )


def init_graph(wildcards):
    """Previous iteration's model of the same member, unless training from scratch."""
    i = int(wildcards.iter)
    if i == 0 or S.train.from_scratch:
        return []
    return filled(rules.train_model.output.graph, iter=it(i - 1), model=wildcards.model)


def models_of(wildcards):
    return models(wildcards.iter)


# ---- stage 4: exploration ----
def start_frames(wildcards):
    """Iteration 0 starts from the sampled cells, or from the last frame of each cell's
    initial-data MD when there is one (init.method aimd or both: an equilibrated start);
    later iterations from each run's last trusted frame."""
    i, comp = int(wildcards.iter), wildcards.comp
    if i == 0:
        n = COMPOSITIONS[comp]["replicas"]
        cells = (
            rules.aimd_init.output.last
            if INIT_METHOD in ("aimd", "both")
            else rules.sample_structure.output.cell
        )
        return [
            filled(cells, comp=comp, replica=j % n) for j in range(len(EXPLORE_JOBS))
        ]
    return expand(rules.explore_md.output.final, iter=it(i - 1), comp=comp)


# ---- stage 5: selection ----
def run_temperature(job):
    """A schedule job's temperature as a label: 600, or 1200-300 for a ramp (K)."""
    t0, t1 = job["t_start"], job["t_end"]
    return str(t0) if t0 == t1 else f"{t0}-{t1}"


def explore_runs(wildcards):
    """Every exploration job of an iteration, keyed by meaning (composition, job, K)."""
    return [
        {"composition": comp, "job": j, "temperature": run_temperature(job)}
        for comp in COMPOSITIONS
        for j, job in enumerate(EXPLORE_JOBS)
    ]


def explore_files(name):
    """Output ``name`` of explore_md for every job of explore_runs, in its order."""

    def files(wildcards):
        pattern = getattr(rules.explore_md.output, name)
        return [
            p
            for comp in COMPOSITIONS
            for p in expand(pattern, iter=wildcards.iter, comp=comp)
        ]

    return files


# ---- stage 6: production ----
def glass_start_cell(wildcards):
    """Replica r of a production glass starts from sampled cell r (cycled if there are fewer)."""
    n_cells = COMPOSITIONS[wildcards.comp]["replicas"]
    replica = int(wildcards.replica) % n_cells
    return filled(
        rules.sample_structure.output.cell, comp=wildcards.comp, replica=replica
    )


def rate_transport_runs():
    """With quench-rate sensitivity: every transport run's transport.json at the production
    rate and at each further rate, with its rate (K/ps); none without."""
    if not QUENCH_RATES:
        return []
    runs = [
        {"rate": S.production.glass.quench_rate, "path": path}
        for path in each_run(rules.analyze_transport.output.transport)
    ]
    at_rate = rules.analyze_transport_at_rate.output.transport
    return runs + [
        {"rate": float(q), "path": filled(at_rate, rate=rate_label(q), **run)}
        for q in QUENCH_RATES
        for run in PRODUCTION_RUNS
    ]


# ---- stage 6t: the teacher's ground truth ----
def teacher_runs(pattern):
    """``pattern`` (a per-run teacher output) for every composition and compared temperature."""
    return expand(
        pattern,
        zip,
        comp=[c for c, _ in TEACHER_RUNS],
        temp=[temp_label(t) for _, t in TEACHER_RUNS],
    )


# ---- stage 7: the report ----
def teacher_report_inputs():
    """Extra report inputs of a teacher-labelled campaign (none otherwise)."""
    if not TEACHER:
        return {}
    return {
        "teacher_comparison": rules.summarize_teacher.output.comparison,
        "teacher_arrhenius": rules.summarize_teacher.output.arrhenius,
        "teacher_speed": rules.summarize_teacher.output.speed,
        "teacher_test": rules.teacher_test_errors.output.rmse,
        "teacher_msd": teacher_runs(rules.analyze_teacher_transport.output.msd),
        "teacher_structure": expand(
            rules.analyze_teacher_structure.output.structure, comp=COMPOSITIONS
        ),
    }


def report_inputs(wildcards):
    """Tables the report reads; the per-iteration ones are listed in results/loop/tables.json
    by summarize_iterations (so this function needs no walk over the checkpoints).
    """
    comps = list(COMPOSITIONS)
    replica_0 = [
        r for r in PRODUCTION_RUNS if r["replica"] == 0
    ]  # runs of the first glass
    glasses = rules.summarize_glasses.output
    transport = rules.summarize_transport.output
    return {
        "summary": rules.summarize_labels.output.summary,
        "init_failures": rules.summarize_labels.output.failures,
        "theory": rules.summarize_labels.output.theory,
        "iterations": rules.summarize_iterations.output.table,
        "loop_tables": rules.summarize_iterations.output.index,
        "manifest": rules.export_model.output.manifest,
        "parity": rules.parity_data.output.parity,
        "conductivity": transport.table,
        "arrhenius": transport.arrhenius,
        "msd": each_run(rules.analyze_transport.output.msd),
        "transport_runs": transport.runs,
        "structure": expand(rules.analyze_glass.output.structure, comp=comps),
        "melt_quench": expand(
            rules.make_glass.output.devi, comp=comps, replica=REPLICAS
        ),
        # replica 0 of each composition: densities and structure over each run
        "densities": expand(rules.make_glass.output.density, comp=comps, replica=0),
        # glass and crystal densities against experiment, Tg, quench-rate sensitivity
        "glass_density": glasses.density,
        "glass_tg": glasses.tg,
        "quench_rates": glasses.rates,
        "quench_rates_sigma": glasses.rates_sigma,
        "npt": each_run(rules.run_production.output.npt, replica_0),
        "structure_runs": each_run(rules.analyze_structure.output.structure, replica_0),
        "samples": expand(rules.sample_structure.output.cell, comp=comps, replica=0),
        **teacher_report_inputs(),
    }
