"""The Kubernetes rendering loads into a real KubeSpawner (no cluster) and
offers the same courses as the systemd backend."""
import asyncio
import json
import os
import subprocess
import sys

import tempfile

import pytest

# KubeSpawner loads a client configuration when it is built, and the
# Kubernetes client reads $KUBECONFIG when it is imported. This one names no
# real cluster, and nothing here talks to one.
KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: none, cluster: {server: "https://127.0.0.1:6443"}}]
users: [{name: none, user: {token: unused}}]
contexts: [{name: none, context: {cluster: none, user: none, namespace: coursehub}}]
current-context: none
"""
_KUBECONFIG_PATH = os.path.join(tempfile.mkdtemp(prefix="coursehub-kube-"), "config")
with open(_KUBECONFIG_PATH, "w", encoding="utf-8") as _handle:
    _handle.write(KUBECONFIG)
os.environ["KUBECONFIG"] = _KUBECONFIG_PATH
os.environ.pop("KUBERNETES_SERVICE_HOST", None)

from kubespawner import KubeSpawner  # noqa: E402

from module_utils import course_access, course_files, course_k8s, course_model

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GROUP_SETS = {
    "outsider": set(),
    "listed student": {"jupyter-privsec2026-students", "jupyter-deeplearn2026-students"},
    "instructor": {"jupyter-mlbp2026"},
    "two courses": {"jupyter-privsec2026", "jupyter-deeplearn2026"},
}


@pytest.fixture(scope="module")
def profiles():
    entries, problems = course_files.load_paths([os.path.join(REPO, "group_vars", "courses")])
    courses, problems = course_model.validate_courses(entries)
    assert not problems
    return course_model.desired_profiles(courses)["courses"]


@pytest.fixture(scope="module")
def settings():
    return dict(course_model.merged_settings(), **course_k8s.DEFAULT_K8S_SETTINGS)


@pytest.mark.parametrize("who", sorted(GROUP_SETS))
def test_same_courses_as_systemd_backend(profiles, settings, who):
    groups = GROUP_SETS[who]
    systemd = {value for value, _ in course_access.choices(profiles, groups)}
    kube = {p["slug"] for p in course_k8s.kubespawner_profiles(profiles, groups, settings)}
    assert kube == {course_k8s.profile_slug(v) for v in systemd}


def load_each_profile(profile_list):
    """Build a KubeSpawner for each profile and apply its overrides, as a spawn
    does (KubeSpawner needs a running event loop, but no cluster)."""
    async def run():
        spawners = {}
        initialized = KubeSpawner(_mock=True)._get_initialized_profile_list(profile_list)
        for profile in initialized:
            spawner = KubeSpawner(_mock=True)
            spawner.profile_list = profile_list
            spawner.user_options = {"profile": profile["slug"]}
            spawner._load_profile(profile["slug"], initialized)  # setattr on each traitlet: validates
            spawners[profile["slug"]] = spawner
        return spawners
    return asyncio.run(run())


@pytest.mark.parametrize("who", sorted(GROUP_SETS))
def test_profiles_pass_kubespawner_validation(profiles, settings, who):
    spawners = load_each_profile(course_k8s.kubespawner_profiles(profiles, GROUP_SETS[who], settings))
    for profile_slug, spawner in spawners.items():
        if profile_slug == course_access.PERSONAL:
            continue
        slug = profile_slug.split("-")[0]
        course = profiles[slug]
        assert spawner.mem_limit == course["resources"]["memory_bytes"]
        assert spawner.cpu_limit == course["resources"]["cpus"]
        assert spawner.environment["COURSEHUB_COURSE"] == slug
        mounted = {m["mountPath"]: m["readOnly"] for m in spawner.volume_mounts}
        assert mounted["/coursedata"] is not profile_slug.endswith("-instructor")
        assert ("/course" in mounted) is profile_slug.endswith("-instructor")
        names = {v["name"] for v in spawner.volumes}
        assert names == {m["name"] for m in spawner.volume_mounts}
        assert all(v["nfs"]["path"].startswith("/") for v in spawner.volumes)


def test_bad_override_is_caught_by_kubespawner():
    """The validation above can fail: a wrong type is refused by the traitlet."""
    bad = [{"display_name": "x", "slug": "x", "default": True, "kubespawner_override": {"cpu_limit": "lots"}}]
    with pytest.raises(Exception, match="cpu_limit"):
        load_each_profile(bad)


def test_coursectl_render_kubespawner():
    run = subprocess.run([sys.executable, os.path.join(REPO, "bin", "coursectl"), "render", "kubespawner",
                          "--user-groups", "jupyter-mlbp2026"], capture_output=True, text=True, check=True)
    slugs = [p["slug"] for p in json.loads(run.stdout)["singleuser"]["profileList"]]
    assert slugs == ["personal", "deeplearn2026", "mlbp2026", "mlbp2026-instructor"]
