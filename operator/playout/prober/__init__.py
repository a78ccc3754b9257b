"""The media QC engine: what a file or stream is, and whether it is fit to air.

Pure core, thin edges: the catalogue, command and filter-graph building, the parsers of
ffmpeg's output and the verdicts are pure functions; `engine` runs ffprobe and ffmpeg (one
decode for every content check) and `termination` hands the report to Kubernetes."""
