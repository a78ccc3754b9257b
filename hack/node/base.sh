#!/usr/bin/env bash
# A local stand-in for debian:bookworm-slim: debootstrap (minbase) from Debian's mirror,
# cached as a tarball, imported into buildah's storage as localhost/playout/debian:bookworm-slim.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${CACHE:-$ROOT/.cache/base}; IMAGE=${BASE_IMAGE:-localhost/playout/debian:bookworm-slim}
mkdir -p "$CACHE/debs"
if [[ ! -s $CACHE/rootfs.tar ]]; then
  rm -rf "$CACHE/rootfs"
  debootstrap --variant=minbase --cache-dir="$CACHE/debs" bookworm "$CACHE/rootfs" ${MIRROR:+"$MIRROR"} > "$CACHE/debootstrap.log"
  # slim it like the Docker image: no apt lists, cached .debs, docs, man pages, locales,
  # and dpkg told to skip them in later installs too (as debian:bookworm-slim does)
  r=$CACHE/rootfs
  rm -rf "$r"/var/lib/apt/lists/* "$r"/var/cache/apt/*.bin "$r"/var/cache/apt/archives/*.deb \
         "$r"/usr/share/{doc,man,info}/* "$r"/usr/share/locale/* "$r"/var/log/*.log
  printf '%s\n' 'path-exclude /usr/share/doc/*' 'path-include /usr/share/doc/*/copyright' \
    'path-exclude /usr/share/man/*' 'path-exclude /usr/share/info/*' 'path-exclude /usr/share/locale/*' \
    > "$r/etc/dpkg/dpkg.cfg.d/01-slim"
  tar --numeric-owner -C "$CACHE/rootfs" -cf "$CACHE/rootfs.tar.tmp" . && mv "$CACHE/rootfs.tar.tmp" "$CACHE/rootfs.tar"
  rm -rf "$CACHE/rootfs"
fi
if ! buildah inspect --type image "$IMAGE" >/dev/null 2>&1; then
  c=$(buildah from scratch); trap 'buildah rm "$c" >/dev/null' EXIT
  buildah add "$c" "$CACHE/rootfs.tar" / >/dev/null
  buildah config --cmd /bin/bash --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$c"
  buildah commit -q "$c" "$IMAGE" >/dev/null
fi
echo "$IMAGE"
