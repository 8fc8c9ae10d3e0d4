# maskwatch's live service in a container: docker build -t maskwatch .   (docs/install.md, "Docker")
# BASE may name any Debian bookworm image (the tests build on one made with debootstrap, for a machine without
# Docker Hub); the service needs Python 3.11, which bookworm's python3 is.
ARG BASE=debian:bookworm-slim

FROM ${BASE} AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY . /src
RUN python3 -m venv /opt/maskwatch \
 && /opt/maskwatch/bin/pip install --no-cache-dir --quiet '/src[serve]'

FROM ${BASE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 1000 maskwatch \
 && useradd --uid 1000 --gid 1000 --groups video --home-dir /data --no-create-home --shell /usr/sbin/nologin maskwatch \
 && mkdir -p /config /data && chown maskwatch:maskwatch /config /data
COPY --from=build /opt/maskwatch /opt/maskwatch
COPY examples/docker/config/maskwatch.yaml /config/maskwatch.yaml
ENV PATH=/opt/maskwatch/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin PYTHONUNBUFFERED=1
USER maskwatch
WORKDIR /data
VOLUME ["/config", "/data"]
EXPOSE 8080
# unhealthy when /healthz does not answer ok (the analysis loop stalled); it reads the port and TLS from the config
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s CMD ["maskwatch", "health", "--config", "/config/maskwatch.yaml"]
ENTRYPOINT ["maskwatch"]
CMD ["serve", "--config", "/config/maskwatch.yaml"]
