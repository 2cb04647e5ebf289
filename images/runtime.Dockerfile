# The runtime image: orchestrator and tool server (`fathom orchestrator`, `fathom toolserver`), with Debian's
# Chromium for the Crawl4AI fetcher (no browser download at build or run time).
#   docker build -f images/runtime.Dockerfile -t fathom-stack/runtime:0.1.0 .
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY fathom_runtime ./fathom_runtime
COPY operator ./operator
RUN pip wheel --no-cache-dir --wheel-dir /wheels ".[browser,postgres,redis]"

FROM python:3.11-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends chromium fonts-liberation ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --uid 1000 --user-group --create-home fathom
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
ENV FATHOM_CHROMIUM_PATH=/usr/bin/chromium HOME=/tmp
USER 1000:1000
EXPOSE 8900 8904
ENTRYPOINT ["fathom"]
