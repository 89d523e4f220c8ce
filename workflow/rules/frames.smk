rule extract_frames:
    input:
        videos="results/{dataset}/videos/seed{seed}",
        manifest="results/{dataset}/videos/seed{seed}.manifest.json",
    output:
        frames=directory("results/{dataset}/frames/seed{seed}"),
        manifest="results/{dataset}/frames/seed{seed}.manifest.json",
    log:
        "logs/extract_frames/{dataset}/seed{seed}.log",
    benchmark:
        "benchmarks/extract_frames/{dataset}/seed{seed}.tsv"
    conda:
        "../../envs/ffmpeg.yaml"
    params:
        fps=lookup(dpath="datasets/{dataset}/frames/fps", within=config),
    script:
        "../scripts/extract_frames.py"
