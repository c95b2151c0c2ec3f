#!/usr/bin/python3
"""Reads a Kubernetes Job manifest of packaging/kubernetes and runs its pod's container the way
a kubelet would, with podman: the same args, environment (field references and $(VAR)
expansion included), working directory, user and groups, security context, devices and volume
layout, so the container test exercises what the Job declares instead of a copy of it.

    job_pod.py configmap MANIFEST DIR        the ConfigMap's files into DIR (mode 0444)
    job_pod.py grace MANIFEST                the pod's terminationGracePeriodSeconds
    job_pod.py check MANIFEST VOLUMES        the Job's references resolve (below)
    job_pod.py podman-args MANIFEST --image TAG --index N --kvm-gid GID
               [--arg=ARG...] --volume NAME=HOSTDIR...
                                             podman run's arguments, NUL-separated

`--kvm-gid` replaces the manifest's supplementalGroups: the one value that belongs to a site
(the nodes' kvm group). `--arg`s replace the container's args (the test that sends SIGTERM to
a lab held in the foreground). Anything in the pod that podman cannot reproduce faithfully is
an error, never silently dropped.
"""
import argparse
import os
import re
import sys

import yaml

DEVICE_RESOURCES = {"devices.kubevirt.io/kvm", "squat.ai/kvm"}
INDEX_FIELD = "metadata.annotations['batch.kubernetes.io/job-completion-index']"


class Unsupported(Exception):
    pass


def documents(path):
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d]


def one(path, kind):
    found = [d for d in documents(path) if d.get("kind") == kind]
    if len(found) != 1:
        raise Unsupported(f"{path}: expected one {kind}, found {len(found)}")
    return found[0]


def pod_of(path):
    job = one(path, "Job")
    pod = job["spec"]["template"]["spec"]
    if len(pod.get("containers", [])) != 1 or pod.get("initContainers"):
        raise Unsupported(f"{path}: the pod must have exactly one container and no init containers")
    return job, pod, pod["containers"][0]


def expand(text, env):
    # Kubernetes' $(VAR) expansion: defined variables are replaced, $$ escapes, others stay.
    return re.sub(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)",
                  lambda m: "$" if m.group(0) == "$$" else env.get(m.group(1), m.group(0)), text)


def environment(container, index, pod_name):
    env = {}
    for var in container.get("env", []):
        if "value" in var:
            env[var["name"]] = expand(str(var["value"]), env)
            continue
        field = var.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath")
        if field == INDEX_FIELD:
            env[var["name"]] = str(index)
        elif field == "metadata.name":
            env[var["name"]] = pod_name
        else:
            raise Unsupported(f"environment variable {var['name']}: only values, the completion "
                              "index and metadata.name are reproduced")
    if index is not None:
        env.setdefault("JOB_COMPLETION_INDEX", str(index))  # the Job controller adds it
    return env


def quantity_bytes(q):
    units = {"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40, "k": 10**3, "M": 10**6,
             "G": 10**9}
    m = re.fullmatch(r"(\d+)([A-Za-z]*)", str(q))
    if not m or (m.group(2) and m.group(2) not in units):
        raise Unsupported(f"quantity {q}")
    return int(m.group(1)) * units.get(m.group(2), 1)


def security_args(pod, container, kvm_gid):
    args = []
    psc = dict(pod.get("securityContext", {}))
    user, group = psc.pop("runAsUser", None), psc.pop("runAsGroup", None)
    if psc.pop("runAsNonRoot", False) and not user:
        raise Unsupported("runAsNonRoot without a non-zero runAsUser")
    if user is not None:
        args += ["--user", f"{user}:{group if group is not None else user}"]
    psc.pop("fsGroup", None)  # the test gives the volumes to that group itself
    if psc.pop("supplementalGroups", None) is not None:
        args += ["--group-add", str(kvm_gid)]
    seccomp = psc.pop("seccompProfile", {}).get("type", "RuntimeDefault")
    if seccomp != "RuntimeDefault":  # podman's default profile is its RuntimeDefault
        raise Unsupported(f"seccompProfile {seccomp}")
    csc = dict(container.get("securityContext", {}))
    if csc.pop("allowPrivilegeEscalation", True) is False:
        args += ["--security-opt", "no-new-privileges"]
    if csc.pop("readOnlyRootFilesystem", False):
        args += ["--read-only", "--read-only-tmpfs=false"]  # no tmpfs the pod would not have
    caps = csc.pop("capabilities", {})
    args += [f"--cap-drop={c}" for c in caps.pop("drop", [])]
    args += [f"--cap-add={c}" for c in caps.pop("add", [])]
    for left in (psc, csc, caps):
        if left:
            raise Unsupported(f"security settings not reproduced: {sorted(left)}")
    return args


def resource_args(container):
    res = container.get("resources", {})
    limits, requests = res.get("limits", {}), res.get("requests", {})
    args = []
    if any(r in limits or r in requests for r in DEVICE_RESOURCES):
        args += ["--device", "/dev/kvm"]
    else:
        raise Unsupported("no /dev/kvm device-plugin resource (" + ", ".join(DEVICE_RESOURCES) + ")")
    if "memory" in limits:
        args += ["--memory", str(quantity_bytes(limits["memory"]))]
    if "cpu" in limits:
        cpu = str(limits["cpu"])
        args += ["--cpus", str(int(cpu[:-1]) / 1000 if cpu.endswith("m") else float(cpu))]
    return args


def volume_args(pod, container, env, hostdirs):
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    args = []
    for mount in container.get("volumeMounts", []):
        volume = volumes[mount["name"]]
        target = mount["mountPath"]
        ro = ":ro" if mount.get("readOnly") else ""
        if "emptyDir" in volume and volume["emptyDir"].get("medium") == "Memory":
            size = quantity_bytes(volume["emptyDir"].get("sizeLimit", "64Mi"))
            args += ["--tmpfs", f"{target}:rw,size={size},mode=1777"]
            continue
        if mount["name"] not in hostdirs:
            raise Unsupported(f"volume {mount['name']}: no host directory given (--volume)")
        source = hostdirs[mount["name"]]
        sub = mount.get("subPath") or expand(mount.get("subPathExpr", ""), env)
        if sub:
            # The kubelet creates a missing subPath with its volume root's mode and owners (which
            # fsGroup made the pod's group's), as Kubernetes PR 43775 does.
            root = os.stat(source)
            source = os.path.join(source, sub)
            if not os.path.isdir(source):
                os.makedirs(source)
                os.chmod(source, root.st_mode & 0o7777)
                os.chown(source, root.st_uid, root.st_gid)
        args += ["-v", f"{source}:{target}{ro}"]
    return args


def podman_args(path, image, index, kvm_gid, args_override, hostdirs):
    job, pod, container = pod_of(path)
    pod_name = f"{job['metadata']['name']}-{index if index is not None else 0}"
    env = environment(container, index, pod_name)
    out = ["--hostname", pod_name]
    out += security_args(pod, container, kvm_gid)
    out += resource_args(container)
    out += volume_args(pod, container, env, hostdirs)
    for name, value in env.items():
        out += ["--env", f"{name}={value}"]
    if "workingDir" in container:
        out += ["--workdir", container["workingDir"]]
    if "command" in container:
        raise Unsupported("command: the image's entrypoint (tini -- kvmrun) is what runs")
    out.append(image)
    out += [expand(a, env) for a in (args_override if args_override else container.get("args", []))]
    return out


def check(path, volumes_path):
    """The Job's references resolve: its ConfigMap is in the same file and holds the workload
    and, for every index, the lab file KVMRUN_CONFIG names; its claims are in volumes.yaml."""
    job, pod, container = pod_of(path)
    configmap = one(path, "ConfigMap")
    claims = {d["metadata"]["name"] for d in documents(volumes_path)
              if d.get("kind") == "PersistentVolumeClaim"}
    problems = []
    mounts = {m["name"]: m["mountPath"] for m in container.get("volumeMounts", [])}
    for v in pod.get("volumes", []):
        if "configMap" in v and v["configMap"]["name"] != configmap["metadata"]["name"]:
            problems.append(f"volume {v['name']} names ConfigMap {v['configMap']['name']}")
        if "persistentVolumeClaim" in v and v["persistentVolumeClaim"]["claimName"] not in claims:
            problems.append(f"volume {v['name']} claims {v['persistentVolumeClaim']['claimName']}, "
                            f"which {volumes_path} does not declare")
        if v["name"] not in mounts:
            problems.append(f"volume {v['name']} is not mounted")
    lab_mount = next((mounts[v["name"]] for v in pod.get("volumes", []) if "configMap" in v), None)
    indexed = job["spec"].get("completionMode") == "Indexed"
    for index in range(job["spec"].get("completions", 1)) if indexed else [None]:
        env = environment(container, index, "pod")
        wanted = [env.get("KVMRUN_CONFIG", "")] + [a for a in container.get("args", [])
                                                  if lab_mount and a.startswith(lab_mount + "/")]
        for file in wanted:
            if not file.startswith(f"{lab_mount}/") or \
                    file[len(lab_mount) + 1:] not in configmap.get("data", {}):
                problems.append(f"index {index}: {file} is not a file of the ConfigMap")
    for p in problems:
        print(f"{path}: {p}")
    if not problems:
        print(f"{path}: the Job's ConfigMap files and claims resolve")
    return 1 if problems else 0


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="what", required=True)
    c = sub.add_parser("configmap")
    c.add_argument("manifest")
    c.add_argument("dir")
    g = sub.add_parser("grace")
    g.add_argument("manifest")
    k = sub.add_parser("check")
    k.add_argument("manifest")
    k.add_argument("volumes")
    p = sub.add_parser("podman-args")
    p.add_argument("manifest")
    p.add_argument("--image", required=True)
    p.add_argument("--index", type=int)
    p.add_argument("--kvm-gid", required=True)
    p.add_argument("--volume", action="append", default=[])
    p.add_argument("--arg", action="append", dest="args")  # --arg=--attach: one each
    a = parser.parse_args()
    try:
        if a.what == "configmap":
            for name, text in one(a.manifest, "ConfigMap").get("data", {}).items():
                target = os.path.join(a.dir, name)
                with open(target, "w", encoding="utf-8") as f:
                    f.write(text)
                os.chmod(target, 0o444)
        elif a.what == "grace":
            print(pod_of(a.manifest)[1].get("terminationGracePeriodSeconds", 30))
        elif a.what == "check":
            return check(a.manifest, a.volumes)
        else:
            hostdirs = dict(v.split("=", 1) for v in a.volume)
            sys.stdout.write("\0".join(podman_args(a.manifest, a.image, a.index, a.kvm_gid,
                                                   a.args, hostdirs)) + "\0")
    except Unsupported as e:
        print(f"job_pod.py: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
