"""The local Kubernetes cluster for development, tests, benchmarks and the demo, with no Docker: a real control plane
(kwokctl's binary runtime), simulated GPU and CPU nodes (kwok), and one real kubelet node (containerd) that runs
this project's own images. Not shipped in the distribution; `python -m localcluster --help`."""
