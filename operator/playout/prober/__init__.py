"""The media QC engine: what a file or stream is, and whether it is fit to air.

Pure core, thin edges: the catalogue, command and filter-graph building, the parsers of
ffmpeg's output and the verdicts are pure functions; `engine` runs ffprobe and ffmpeg (one
decode for every content check) over a file, or over each file of a folder's shard
(`library` deals them and adds up the results); `run` hands the report to Kubernetes: the
whole of it into the ProbeJob's report ConfigMaps (`store`), the gist as the pod's
termination message, which the operator reads."""
