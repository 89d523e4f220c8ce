rule extract_frames:
    input:
        videos=rules.video2world.output.videos,
        manifest=rules.video2world.output.manifest,
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
        fps=setting("frames", "fps"),
    script:
        "../scripts/extract_frames.py"
