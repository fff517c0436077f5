# The loop's mechanics: verdicts, candidate frames, the final iteration (input functions;
# the loop's rules live in their stage files, its end in export.smk).
#
# One iteration i (each arrow is a rule; the checkpoint decides how the DAG grows):
#   labels of init + iterations < i -> build_dataset -> train_model x N -> explore_md
#   -> checkpoint select_candidates (verdict.json) -> label_candidate x n_selected
#   -> collect_candidate_labels -> iteration i+1 ... until a verdict says stop or
#   loop.max_iterations; final_iteration() walks the verdicts 0, 1, ... once per consumer.
# Progress: rule all asks for each selected iteration's summary table (iteration_summaries),
# so a table is written as soon as its iteration's selection is done.
from snakemake.exceptions import IncompleteCheckpointException

from lpsflow.loop import Verdict


def verdict(iteration):
    """Selection verdict of an iteration (waits for its checkpoint)."""
    path = checkpoints.select_candidates.get(iter=it(iteration)).output.verdict
    return Verdict.read(path)


def candidate_manifests(wildcards):
    """One label manifest per selected candidate of the iteration (none when the engine
    labels in-stage: the collecting job labels them)."""
    n = 0 if LABEL_IN_STAGE else verdict(wildcards.iter).n_selected
    return expand(
        rules.label_candidate.output.manifest, iter=wildcards.iter, frame=range(n)
    )


def final_iteration():
    """First converged (or stalled) iteration, or the last allowed one (walks the checkpoints)."""
    for i in range(S.loop.max_iterations):
        if verdict(i).stop:
            return i
    return S.loop.max_iterations - 1


def iteration_summaries(wildcards):
    """Summary tables of the iterations whose selection is done, plus the output of the
    selection in progress: rule all asks for them, so each table is written as soon as its
    iteration is selected, not when the loop ends (one walk over the checkpoints).

    The selection in progress is returned as an ordinary input (the checkpoint's target, as
    Snakemake itself does), not raised, so the tables already known are kept; when that
    checkpoint finishes Snakemake re-evaluates its dependents, this rule among them.
    """
    tables = []
    for i in range(S.loop.max_iterations):
        try:
            stop = verdict(i).stop
        except IncompleteCheckpointException as waiting:
            return tables + [waiting.targetfile]
        tables.append(filled(rules.summarize_iteration.output.table, iter=it(i)))
        if stop:
            break
    return tables


def final_model_inputs(wildcards):
    """The ensemble and data of the final iteration (one walk over the checkpoints)."""
    last = final_iteration()
    return {
        "models": models(last),
        "data": filled(rules.build_dataset.output.data, iter=it(last)),
    }


def final_model_params(wildcards):
    return final_iteration()


def all_iteration_models(wildcards):
    """The ensembles of iterations 0 .. final (one walk over the checkpoints)."""
    return {"models": [g for i in range(final_iteration() + 1) for g in models(i)]}


def loop_tables(wildcards):
    """Every table of iterations 0 .. final (one walk over the checkpoints)."""
    last = final_iteration()
    done = [it(i) for i in range(last + 1)]
    select = rules.select_candidates.output
    return {
        "rmse": expand(rules.test_models.output.rmse, iter=done),
        "ratios": expand(select.ratios, iter=done),
        "frames": expand(select.frames, iter=done),
        "datasets": expand(rules.build_dataset.output.table, iter=done),
        "verdicts": expand(select.verdict, iter=done),
        "labels": expand(rules.collect_candidate_labels.output.labels, iter=done[:-1]),
    }


def models(iteration):
    """The ensemble of an iteration (every member's frozen graph)."""
    return expand(
        rules.train_model.output.graph, iter=it(iteration), model=range(N_MODELS)
    )
