# The Fathom operator image: the `fathom` command with the operator package, non-root (UID 1000 with a passwd entry,
# which Kopf needs), no build tools.
#   docker build -f images/operator.Dockerfile -t fathom-stack/operator:0.1.0 .
#   make images     (the same steps without Docker, for the local node)
FROM python:3.11-slim AS build
WORKDIR /src
# Dependencies first, pinned by the lock file CI installs from too; a source change rebuilds only the last steps.
# (The placeholder packages and setuptools' build directory go away, or the real build would reuse stale copies.)
COPY pyproject.toml requirements.lock README.md ./
RUN mkdir -p fathom_runtime operator/fathom_operator \
 && touch fathom_runtime/__init__.py operator/fathom_operator/__init__.py \
 && pip wheel --no-cache-dir --wheel-dir /deps -c requirements.lock . \
 && rm -rf /deps/fathom_stack-*.whl build *.egg-info fathom_runtime operator
COPY fathom_runtime ./fathom_runtime
COPY operator ./operator
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /app .

FROM python:3.11-slim
RUN useradd --uid 1000 --user-group --no-create-home fathom
COPY --from=build /deps /deps
RUN pip install --no-cache-dir --no-index --find-links /deps /deps/*.whl && rm -rf /deps
COPY --from=build /app /app
RUN pip install --no-cache-dir --no-index --no-deps /app/*.whl && rm -rf /app
ENV HOME=/tmp
USER 1000:1000
EXPOSE 8080
ENTRYPOINT ["fathom"]
CMD ["operator", "--all-namespaces", "--host", "0.0.0.0"]
