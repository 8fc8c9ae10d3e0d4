#!/usr/bin/env bash
# A Debian bookworm base image for `docker build --build-arg BASE=...`, for a build machine that reaches a Debian
# mirror but not Docker Hub: debootstrap's minimal system, with this machine's extra CA certificates
# (/usr/local/share/ca-certificates, e.g. a TLS-inspecting proxy's) trusted by apt's ca-certificates and by pip.
#   sudo scripts/debian-base-image.sh [TAG]        (default TAG: local/debian:bookworm; needs debootstrap, docker)
set -euo pipefail
tag=${1:-local/debian:bookworm}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
chmod 755 "$root"  # the image's / (mktemp makes it private, and the service does not run as root)
debootstrap --variant=minbase bookworm "$root" "$mirror" >/dev/null
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
mkdir -p "$root/usr/local/share/ca-certificates"
find /usr/local/share/ca-certificates -maxdepth 1 -name '*.crt' -exec cp {} "$root/usr/local/share/ca-certificates/" \;
printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' >"$root/etc/pip.conf"
tar -C "$root" -c . | docker import - "$tag"
