# The Fathom operator image: the `fathom` command with the operator package, non-root, no build tools.
#   docker build -f images/operator.Dockerfile -t fathom-stack/operator:0.1.0 .
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY fathom_runtime ./fathom_runtime
COPY operator ./operator
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
RUN useradd --uid 1000 --user-group --no-create-home fathom
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER 1000:1000
EXPOSE 8080
ENTRYPOINT ["fathom"]
CMD ["operator", "--all-namespaces", "--host", "0.0.0.0"]
