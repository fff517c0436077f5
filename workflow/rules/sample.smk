# Stage 1: composition sampling (amorphous or crystal starting cells, perturbed frames).


# ---- one starting cell per composition and replica ----
rule sample_structure:
    output:
        cell="results/sample/{comp}/replica_{replica}.extxyz",
    log:
        "logs/sample/{comp}/replica_{replica}.log",
    conda:
        "../../envs/analysis.yaml"
    params:
        composition=lambda wc: COMPOSITIONS[wc.comp],
        sampling=S.sampling.params(),
    script:
        "../scripts/sample_structure.py"


# ---- DP-GEN init_bulk style perturbed copies of every starting cell ----
rule perturb_structures:
    input:
        cells=lambda wc: expand(
            rules.sample_structure.output.cell,
            comp=wc.comp,
            replica=range(COMPOSITIONS[wc.comp]["replicas"]),
        ),
    output:
        frames="results/init/{comp}/frames.extxyz",
    log:
        "logs/init/{comp}/perturb.log",
    conda:
        "../../envs/analysis.yaml"
    params:
        init=S.init.perturbation(),
    script:
        "../scripts/perturb_structures.py"
