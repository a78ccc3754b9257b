# syntax=docker/dockerfile:1
# playout's three images from one file; the build context is the repo root:
#   docker build --target streamer -t playout/streamer:0.1.0 .   (`playout run`, with ffmpeg)
#   docker build --target prober   -t playout/prober:0.1.0 .     (`playout probe`, with ffmpeg)
#   docker build --target operator -t playout/operator:0.1.0 .   (`playout operator`; the default)
# `make images` builds all three (hack/images.sh). The web player's hls.js must be present
# first: `make player-assets`.
# Pin BASE by digest for reproducible builds (debian:bookworm-slim@sha256:...); the tag is
# pinned here because no registry was reachable when this was written. Without Docker,
# hack/images.sh passes a debootstrapped BASE instead.
ARG BASE=debian:bookworm-slim

# One build stage for all three images: a venv per image, each with its extra only, built at
# the path it runs from (/opt/playout: its scripts' shebangs and compiled paths point there)
# and moved aside until its image copies it back.
FROM ${BASE} AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 python3-venv \
 && rm -rf /var/lib/apt/lists/*
# Behind a TLS-intercepting proxy, pass its CA: --build-arg PIP_CERT=/path (mounted with -v).
ARG PIP_CERT
COPY pyproject.toml README.md /src/
COPY operator /src/operator
RUN test -s /src/operator/playout/streamer/static/hls.min.js \
      || { echo "hls.min.js missing: run 'make player-assets' first" >&2; exit 1; } \
 && for image in streamer prober operator; do \
      python3 -m venv /opt/playout \
      && /opt/playout/bin/pip install --no-cache-dir --disable-pip-version-check --no-compile "/src[$image]" \
      && find /opt/playout -name __pycache__ -prune -exec rm -rf {} + \
      && /opt/playout/bin/python -m compileall -q /opt/playout/lib \
      && mv /opt/playout "/opt/$image" || exit 1; \
    done

# What every image runs on: Python, a fixed non-root user (65532, as distroless; it has a
# passwd entry because kopf's peering identity calls getpass.getuser()), no shell needed.
FROM ${BASE} AS runtime
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /usr/share/doc/* /usr/share/man/* \
 && groupadd --system --gid 65532 playout \
 && useradd --system --uid 65532 --gid 65532 --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin playout
ENV PATH=/opt/playout/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PLAYOUT_LOG_FORMAT=json
ENTRYPOINT ["playout"]

# The engines' shared layer: Debian's ffmpeg, the same build the tests run against, and the
# CA certificates the prober verifies https sources against.
FROM runtime AS media
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ffmpeg ca-certificates \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /usr/share/doc/* /usr/share/man/*

FROM media AS prober
COPY --from=build /opt/prober /opt/playout
USER 65532:65532
CMD ["--help"]

# The streamer also draws text (slate, up-next bumpers), so it carries a font.
FROM media AS streamer
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /usr/share/doc/* /usr/share/man/*
COPY --from=build /opt/streamer /opt/playout
USER 65532:65532
EXPOSE 8080
CMD ["--help"]

# Last, so a plain `docker build .` makes the operator.
FROM runtime AS operator
COPY --from=build /opt/operator /opt/playout
USER 65532:65532
EXPOSE 8080 9090
CMD ["operator"]
