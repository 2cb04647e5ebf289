"""One real kubelet node, `real-node-0`, beside the simulated ones: containerd (Debian, cgroupfs), runc, the CNI bridge,
kubelet and kube-proxy (iptables), kube-router enforcing NetworkPolicy, and CoreDNS as a pod. Everything runs inside
the node's own network namespace (network.py), which has no route off the machine; the guard is checked before
containerd starts, so no pod ever runs without it. Images come only from local archives: the node cannot pull.

The node is tainted (fathom.dev/real-node=true:NoSchedule); pods that want it tolerate the taint and select the
label fathom.dev/real-node=true. `down()` stops every process, kills the pods, unmounts what the kubelet mounted and
removes the namespace, the host's rules and routes, and the node's cgroups."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import tarfile
import time
from pathlib import Path
from typing import Any

import yaml

from localcluster import daemons, network, oci, pki
from localcluster.tools import cache_root, kubectl, log, missing_commands, run, wait_for

NODE_NAME = "real-node-0"
NODE_LABEL = "fathom.dev/real-node"
TAINT = {"key": NODE_LABEL, "value": "true", "effect": "NoSchedule"}
# What a pod spec (or a stack component) adds to run on the real node.
POD_PLACEMENT: dict[str, Any] = {
    "nodeSelector": {NODE_LABEL: "true"},
    "tolerations": [{"key": NODE_LABEL, "operator": "Exists", "effect": "NoSchedule"}],
}
PAUSE_IMAGE = "docker.io/fathom-stack/pause:local"
COREDNS_IMAGE = "docker.io/fathom-stack/coredns:local"
CGROUP_ROOT = "/fathom"
REQUIRED_COMMANDS = (
    "containerd",
    "containerd-shim-runc-v2",
    "runc",
    "ctr",
    "iptables",
    "ipset",
    "nsenter",
    "openssl",
    "ip",
)
DAEMONS = ("containerd", "kubelet", "kube-proxy", "kube-router")


def state_dir() -> Path:
    """Runtime state of the node, removed by down()."""
    return cache_root() / "node"


def containerd_root() -> Path:
    """containerd's content and snapshots: kept across restarts so imported images stay (a warm start)."""
    return cache_root() / "containerd"


def socket() -> Path:
    return Path("/run/fathom-node/containerd.sock")


def unavailable_reason() -> str | None:
    """Why this machine cannot run the real node, or None."""
    if os.geteuid() != 0:
        return "the real node needs root (containerd, network namespaces, iptables)"
    missing = missing_commands(REQUIRED_COMMANDS)
    if missing:
        return f"missing commands: {', '.join(missing)} (make node-deps)"
    if not Path("/proc/sys/net/bridge").exists():
        return "the kernel has no bridge netfilter (br_netfilter)"
    return None


def _start(name: str, *command: str | Path) -> None:
    daemons.start(state_dir(), name, *command, netns=network.NETNS)


def _stop(name: str) -> None:
    daemons.stop(state_dir(), name)


def build_containerd_config() -> str:
    """containerd 1.6 for the kubelet: cgroupfs, the local pause image, CNI from Debian's plugins, and registries
    pointed at a closed loopback port so that nothing is ever pulled. Pure."""
    state = state_dir()
    return f"""version = 2
root = "{containerd_root()}"
state = "/run/fathom-node/containerd"
[grpc]
  address = "{socket()}"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{PAUSE_IMAGE}"
  # This kernel denies raising oom_score_adj (no CAP_SYS_RESOURCE); without this every sandbox fails to start.
  restrict_oom_score_adj = true
  # Pod network namespaces under our state directory, not the host's /run/netns: down() cleans them up.
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "{state}/cni"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "{state}/registries"
"""


def build_cni_config() -> dict[str, object]:
    """A bridge with host-local addresses from POD_CIDR and no masquerading: pods reach each other, the node and,
    through the node, the host side of the veth; nothing else exists for them. Pure."""
    return {
        "cniVersion": "1.0.0",
        "name": "fathom",
        "plugins": [
            {
                "type": "bridge",
                "bridge": network.BRIDGE,
                "isGateway": True,
                "ipMasq": False,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": network.POD_CIDR}]],
                    "routes": [{"dst": "0.0.0.0/0"}],
                    "dataDir": str(state_dir() / "ipam"),
                },
            },
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ],
    }


def build_kubelet_config(ca: Path) -> dict[str, object]:
    """The kubelet's configuration. Pure."""
    state = state_dir()
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "address": network.NODE_IP,
        "port": 10250,
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": 10248,
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": str(ca)},
        },
        "authorization": {"mode": "Webhook"},
        "cgroupDriver": "cgroupfs",
        "cgroupRoot": CGROUP_ROOT,
        # This machine runs cgroup v1; kubelet 1.37 still supports it when told to.
        "failCgroupV1": False,
        "failSwapOn": False,
        "containerRuntimeEndpoint": f"unix://{socket()}",
        "clusterDNS": [network.DNS_SERVICE_IP],
        "clusterDomain": "cluster.local",
        # No upstream resolvers for pods: names outside the cluster do not resolve, so nothing is looked up outside.
        "resolvConf": str(state / "resolv.conf"),
        "podLogsDir": str(state / "pod-logs"),
        "registerWithTaints": [TAINT],
        # Imported images cannot be pulled again: never collect them, and evict only in real trouble.
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "evictionHard": {"memory.available": "100Mi", "nodefs.available": "1%", "imagefs.available": "1%"},
        "serializeImagePulls": False,
        "maxPods": 60,
        "staticPodPath": "",
        "rotateCertificates": False,
    }


def build_kube_proxy_config(kubeconfig: Path) -> dict[str, object]:
    return {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "clientConnection": {"kubeconfig": str(kubeconfig)},
        "mode": "iptables",
        "clusterCIDR": network.POD_CIDR,
        "hostnameOverride": NODE_NAME,
        "healthzBindAddress": "127.0.0.1:10256",
        "metricsBindAddress": "127.0.0.1:10249",
        "nodePortAddresses": [f"{network.NODE_IP}/32"],
        # Leave the machine-wide conntrack settings alone.
        "conntrack": {"maxPerCore": 0, "tcpEstablishedTimeout": "0s", "tcpCloseWaitTimeout": "0s"},
    }


def _write(path: Path, text: str) -> None:
    """Only when the content changed: kube-proxy exits when its configuration file is rewritten."""
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def _write_configs(pki_dir: Path, server: str) -> dict[str, Path]:
    state = state_dir()
    for sub in ("cni", "registries/_default", "ipam", "pod-logs", "kubelet", "certs"):
        (state / sub).mkdir(parents=True, exist_ok=True)
    _write(state / "resolv.conf", "")
    _write(state / "containerd.toml", build_containerd_config())
    # Any registry a pull might name leads to a closed port on the node's own loopback.
    _write(state / "registries/_default/hosts.toml", 'server = "http://127.0.0.1:1"\n')
    _write(state / "cni/10-fathom.conflist", json.dumps(build_cni_config(), indent=2))
    certs, ca = state / "certs", pki_dir / "ca.crt"
    identities = {
        "kubelet": (f"system:node:{NODE_NAME}", "system:nodes"),
        "kube-proxy": ("system:kube-proxy", "system:node-proxier"),
        "kube-router": ("fathom:kube-router", "fathom:netpol"),
    }
    paths = {}
    for name, (common_name, organization) in identities.items():
        pki.issue_client_cert(pki_dir, certs, name, common_name=common_name, organization=organization)
        paths[name] = state / f"{name}.kubeconfig"
        pki.write_kubeconfig(paths[name], server=server, ca=ca, cert=certs / f"{name}.crt",
                             key=certs / f"{name}.key", user=name)  # fmt: skip
    _write(state / "kubelet.yaml", yaml.safe_dump(build_kubelet_config(ca)))
    _write(state / "kube-proxy.yaml", yaml.safe_dump(build_kube_proxy_config(paths["kube-proxy"])))
    return paths


def _ctr(*args: str | Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    return run("ctr", "--address", socket(), "--namespace", "k8s.io", *args, check=check, quiet=not check)


def image_ids() -> dict[str, str]:
    """{image name: digest} of what the node's containerd holds."""
    out = _ctr("images", "ls").stdout.splitlines()[1:]
    return {line.split()[0]: line.split()[2] for line in out if line.strip()}


def import_archive(archive: Path) -> None:
    _ctr("images", "import", archive)


def archive_images(archive: Path) -> dict[str, str]:
    """{image name: manifest digest} an OCI archive holds, read from its index.json."""
    with tarfile.open(archive) as tar:
        member = tar.extractfile("index.json")
        index = json.load(member) if member is not None else {"manifests": []}
    out = {}
    for manifest in index["manifests"]:
        annotations = manifest.get("annotations", {})
        name = annotations.get("io.containerd.image.name") or annotations.get("org.opencontainers.image.ref.name")
        if name:
            out[name] = manifest["digest"]
    return out


def import_if_changed(archive: Path) -> None:
    """Import unless the node already holds every image of the archive at the same digest (imports take seconds)."""
    present = image_ids()
    if any(present.get(name) != digest for name, digest in archive_images(archive).items()) or not archive_images(
        archive
    ):
        import_archive(archive)


def _ensure_node_images(bins: Path) -> None:
    """The pause and CoreDNS images, packed from the binaries hack/k8s-bins.sh built."""
    present = image_ids()
    archives = state_dir().parent / "images"
    archives.mkdir(parents=True, exist_ok=True)
    wanted = {
        PAUSE_IMAGE: ({"/pause": bins / "pause"}, {"Entrypoint": ["/pause"], "User": "65535:65535"}),
        COREDNS_IMAGE: ({"/coredns": bins / "coredns"}, {"Entrypoint": ["/coredns"], "User": "65532:65532"}),
    }
    for name, (files, config) in wanted.items():
        if name in present:
            continue
        archive = archives / (name.rsplit("/", 1)[1].replace(":", "_") + ".oci.tar")
        oci.write_image(archive, name, files, config)
        import_archive(archive)


def _ready_condition(admin: Path) -> dict[str, str] | None:
    out = kubectl(admin, "get", "node", NODE_NAME, "-o", "json", check=False)
    try:
        conditions = json.loads(out)["status"]["conditions"]
    except (ValueError, KeyError):
        return None
    return next((c for c in conditions if c["type"] == "Ready"), None)


def _node_ready(admin: Path) -> bool:
    condition = _ready_condition(admin)
    return condition is not None and condition["status"] == "True"


def _why_not_ready(admin: Path) -> str:
    """What a failed start reports: the node's own reason, which daemons died, and the kubelet's last words."""
    condition = _ready_condition(admin)
    lines = [f"node condition: {condition.get('message', '') if condition else 'the node never registered'}"]
    dead = [name for name in DAEMONS if name != "kube-router" and not daemons.alive(state_dir(), name)]
    if dead:
        lines.append(f"not running: {', '.join(dead)}")
    for name in ("containerd", "kubelet"):
        log_file = state_dir() / "logs" / f"{name}.log"
        if log_file.exists():
            tail = log_file.read_text(errors="replace").splitlines()[-15:]
            lines += [f"last lines of {log_file}:", *tail]
    return "\n".join(lines)


def rbac_and_dns_manifests() -> list[dict[str, object]]:
    """kube-router's read access, and CoreDNS (no forwarding: only cluster names resolve). Pure."""
    netpol_reader: dict[str, object] = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": "fathom:kube-router"},
        "rules": [
            {"apiGroups": [""], "resources": ["pods", "namespaces", "nodes", "services", "endpoints"],
             "verbs": ["get", "list", "watch"]},
            {"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"], "verbs": ["get", "list", "watch"]},
            {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["get", "list", "watch"]},
        ],
    }  # fmt: skip
    dns_reader: dict[str, object] = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": "fathom:coredns"},
        "rules": [
            {
                "apiGroups": [""],
                "resources": ["endpoints", "services", "pods", "namespaces"],
                "verbs": ["list", "watch"],
            },
            {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["list", "watch"]},
        ],
    }

    def binding(name: str, subject: dict[str, str]) -> dict[str, object]:
        return {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
            "subjects": [subject],
        }

    labels = {"k8s-app": "kube-dns"}
    corefile = (
        ".:53 {\n    errors\n    health 127.0.0.1:8080\n    ready :8181\n"
        "    kubernetes cluster.local in-addr.arpa ip6.arpa {\n        pods insecure\n    }\n    cache 30\n}\n"
    )
    container = {
        "name": "coredns",
        "image": COREDNS_IMAGE,
        "imagePullPolicy": "Never",
        "args": ["-conf", "/etc/coredns/Corefile"],
        "ports": [{"containerPort": 53, "protocol": "UDP", "name": "dns"},
                  {"containerPort": 53, "protocol": "TCP", "name": "dns-tcp"}],
        "readinessProbe": {"httpGet": {"path": "/ready", "port": 8181}, "periodSeconds": 2},
        "resources": {"requests": {"cpu": "20m", "memory": "32Mi"}, "limits": {"memory": "128Mi"}},
        "volumeMounts": [{"name": "config", "mountPath": "/etc/coredns"}],
        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                            "capabilities": {"drop": ["ALL"]}},
    }  # fmt: skip
    pod = {
        "serviceAccountName": "coredns",
        "nodeSelector": {NODE_LABEL: "true"},
        "tolerations": [{"key": NODE_LABEL, "operator": "Exists", "effect": "NoSchedule"}],
        # Port 53 as in real clusters (NetworkPolicies name it), without root or capabilities: a safe sysctl.
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 65532,
            "seccompProfile": {"type": "RuntimeDefault"},
            "sysctls": [{"name": "net.ipv4.ip_unprivileged_port_start", "value": "0"}],
        },
        "containers": [container],
        "volumes": [{"name": "config", "configMap": {"name": "coredns"}}],
    }
    system = {"namespace": "kube-system"}
    return [
        netpol_reader,
        binding("fathom:kube-router", {"kind": "User", "name": "fathom:kube-router"}),
        dns_reader,
        binding("fathom:coredns", {"kind": "ServiceAccount", "name": "coredns", "namespace": "kube-system"}),
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "coredns", **system}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "coredns", **system},
         "data": {"Corefile": corefile}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "coredns", "labels": labels, **system},
         "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                  "template": {"metadata": {"labels": labels}, "spec": pod}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "kube-dns", "labels": labels, **system},
         "spec": {"clusterIP": network.DNS_SERVICE_IP, "selector": labels,
                  "ports": [{"name": "dns", "port": 53, "targetPort": 53, "protocol": "UDP"},
                            {"name": "dns-tcp", "port": 53, "targetPort": 53, "protocol": "TCP"}]}},
    ]  # fmt: skip


def is_running() -> bool:
    return all(daemons.alive(state_dir(), name) for name in DAEMONS)


def owner() -> str | None:
    """The cluster the running node belongs to (there is one node, in one network namespace, per machine)."""
    marker = state_dir() / "cluster"
    return marker.read_text().strip() if is_running() and marker.exists() else None


def up(*, cluster: str, admin: Path, pki_dir: Path, server: str, bins: Path) -> None:
    """Start (or keep) the node for `cluster`; returns when it is Ready and CoreDNS answers."""
    reason = unavailable_reason()
    if reason:
        raise RuntimeError(f"cannot start the real node: {reason}")
    current = owner()
    if current not in (None, cluster):
        raise RuntimeError(
            f"the real node already belongs to cluster {current!r}: stop it first "
            f"(python -m localcluster down --name {current}), or use that cluster (KUBECONFIG)"
        )
    if current is None and state_dir().exists():
        log("the real node did not stop cleanly last time (killed, or a reboot): clearing what it left")
        down()
    started = time.monotonic()
    network.up()
    problems = network.guard_problems()
    if problems:  # never start a pod while a packet could leave the machine
        raise RuntimeError("the node's no-egress guard is not in place: " + "; ".join(problems))
    paths = _write_configs(pki_dir, server)
    state = state_dir()
    (state / "cluster").write_text(cluster)
    socket().parent.mkdir(parents=True, exist_ok=True)
    _start("containerd", "containerd", "--config", state / "containerd.toml")
    wait_for(lambda: _ctr("version", check=False).returncode == 0, "containerd", timeout=30)
    _ensure_node_images(bins)
    for controller in Path("/sys/fs/cgroup").iterdir():  # the kubelet wants its cgroup root in every hierarchy
        if controller.is_dir() and controller.name != "unified":
            (controller / CGROUP_ROOT.strip("/")).mkdir(exist_ok=True)
    if not daemons.alive(state_dir(), "kubelet"):  # a fresh kubelet registers afresh: no stale Ready status counts
        kubectl(admin, "delete", "node", NODE_NAME, "--ignore-not-found", "--wait=false")
    _start("kubelet", bins / "kubelet", "--config", state / "kubelet.yaml", "--kubeconfig", paths["kubelet"],
           "--root-dir", state / "kubelet", "--cert-dir", state / "kubelet/pki", "--node-ip", network.NODE_IP,
           "--hostname-override", NODE_NAME, "--node-labels", f"{NODE_LABEL}=true", "--v=1")  # fmt: skip
    _start("kube-proxy", bins / "kube-proxy", "--config", state / "kube-proxy.yaml")
    kubectl(admin, "apply", "--server-side", "--force-conflicts", "-f", "-",
            stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": rbac_and_dns_manifests()}))  # fmt: skip
    try:
        wait_for(lambda: _node_ready(admin), f"node {NODE_NAME} to be Ready", timeout=120)
    except TimeoutError as error:
        raise TimeoutError(f"{error}\n{_why_not_ready(admin)}") from None
    # kube-router looks its node up at start, so it comes once the kubelet has registered it.
    _start("kube-router", bins / "kube-router", "--kubeconfig", paths["kube-router"], "--run-firewall=true",
           "--run-router=false", "--run-service-proxy=false", "--enable-cni=false", "--enable-ipv6=false",
           f"--hostname-override={NODE_NAME}", f"--service-cluster-ip-range={network.SERVICE_CIDR}",
           "--metrics-port=0", "--health-port=20244", "--v=1")  # fmt: skip
    kubectl(admin, "-n", "kube-system", "rollout", "status", "deployment/coredns", "--timeout=120s")
    log(f"real node {NODE_NAME} ready in {time.monotonic() - started:.1f}s")


def _kill_pods() -> None:
    """Every container and sandbox the kubelet left, killed and removed."""
    if not socket().exists():
        return
    for line in _ctr("tasks", "ls", check=False).stdout.splitlines()[1:]:
        if line.strip():
            _ctr("tasks", "kill", "--signal", "SIGKILL", line.split()[0], check=False)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and len(_ctr("tasks", "ls", check=False).stdout.splitlines()) > 1:
        time.sleep(0.2)
    for line in _ctr("containers", "ls", "-q", check=False).stdout.splitlines():
        _ctr("tasks", "delete", "--force", line.strip(), check=False)
        _ctr("containers", "delete", line.strip(), check=False)


def _pids_in_cgroups() -> set[int]:
    pids: set[int] = set()
    for procs in Path("/sys/fs/cgroup").glob(f"*/{CGROUP_ROOT.strip('/')}/**/cgroup.procs"):
        pids.update(int(pid) for pid in procs.read_text().split())
    return pids


def _kill_leftovers() -> None:
    """What outlived a containerd that was killed rather than stopped: its shims (found by our socket in their command
    line) and every process left in the kubelet's cgroups."""
    marker = str(socket()).encode()
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and b"containerd-shim" in (cmdline := (proc / "cmdline").read_bytes()):
                if marker in cmdline:
                    os.kill(int(proc.name), signal.SIGKILL)
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    for pid in _pids_in_cgroups():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _pids_in_cgroups():
        time.sleep(0.1)


def _unmount_under(*roots: Path) -> None:
    """Unmount (deepest first) whatever is mounted below these directories."""
    prefixes = tuple(str(root) + "/" for root in roots) + tuple(str(root) for root in roots)
    mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
    for mount in sorted((m for m in mounts if m.startswith(prefixes)), key=len, reverse=True):
        run("umount", "-l", mount, check=False, quiet=True)


def _remove_cgroups() -> None:
    """The kubelet's cgroup tree under CGROUP_ROOT in every hierarchy, deepest first (empty once the pods are gone)."""
    for controller in Path("/sys/fs/cgroup").iterdir():
        root = controller / CGROUP_ROOT.strip("/")
        if not root.is_dir():
            continue
        for directory in sorted((p for p in root.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
            _rmdir(directory)
        _rmdir(root)


def _rmdir(directory: Path) -> None:
    try:
        directory.rmdir()
    except OSError as exc:  # a process still in it: say so, the rest of the teardown goes on
        log(f"could not remove cgroup {directory}: {exc.strerror}")


def down() -> None:
    """Stop everything and leave the host's mounts, iptables and routes as they were (images stay cached)."""
    for name in ("kube-router", "kube-proxy", "kubelet"):
        _stop(name)
    _kill_pods()
    _stop("containerd")
    _kill_leftovers()
    _unmount_under(state_dir(), Path("/run/fathom-node"), containerd_root())
    _remove_cgroups()
    network.down()
    run("rm", "-rf", state_dir(), "/run/fathom-node", check=False)
