# -*- coding: utf-8 -*-
"""The course profiles as a KubeSpawner ``profile_list`` (Zero to JupyterHub).

Scale-out renders the same courses.json for Kubernetes: each choice the
systemd backend offers a user becomes one profile whose
``kubespawner_override`` carries the course's limits, image, environment and
its directories as NFS volumes from this project's exports. The choice of
courses comes from ``course_access.choices``, so both backends offer the same
courses to the same users. Pure: no system calls.
"""
try:  # in the repository and under Ansible
    from module_utils import course_access as access
except ImportError:  # on the hub, next to coursehub_spawner.py
    import course_access as access

DEFAULT_K8S_SETTINGS = {
    "nfs_server": "nfs.uni.example",
    "image_template": "quay.io/jupyter/scipy-notebook:2026-09-01",
    "course_image_template": "{image}",
}


def _volume_name(index, target):
    clean = "".join(ch if ch.isalnum() else "-" for ch in target.strip("/").lower()).strip("-")
    return f"v{index}-{clean}"[:63].rstrip("-")


def course_override(course, slug, mode, settings):
    """kubespawner_override for one course in one mode (see unit_settings for the systemd form)."""
    unit = access.unit_settings(course, slug, mode, settings)
    mounts = list(course["mounts"][access.INSTRUCTOR if mode == access.INSTRUCTOR else access.STUDENT])
    if course.get("shareddata"):
        mounts.append({"source": settings["shareddata_root"], "target": settings["shareddata_mount"],
                       "read_only": True})
    config_dir = unit["environment"]["JUPYTER_CONFIG_PATH"]
    mounts.append({"source": config_dir, "target": config_dir, "read_only": True})
    volumes, volume_mounts = [], []
    for index, mount in enumerate(mounts):
        name = _volume_name(index, mount["target"])
        volumes.append({"name": name, "nfs": {"server": settings["nfs_server"], "path": mount["source"],
                                              "readOnly": bool(mount["read_only"])}})
        volume_mounts.append({"name": name, "mountPath": mount["target"], "readOnly": bool(mount["read_only"])})
    image = settings["course_image_template"].format(
        image=settings["image_template"], environment=course.get("environment") or "default")
    return {
        "image": image,
        "mem_limit": unit["mem_limit"],
        "mem_guarantee": unit["mem_limit"],
        "cpu_limit": unit["cpu_limit"],
        "environment": dict(unit["environment"], JUPYTER_IMAGE_SPEC=image),
        "volumes": volumes,
        "volume_mounts": volume_mounts,
    }


def profile_slug(value):
    return value.replace(":", "-")


def kubespawner_profiles(courses, groups, settings):
    """The profile_list a user with these groups gets: personal first (the default)."""
    settings = dict(DEFAULT_K8S_SETTINGS, **settings)
    profiles = []
    for value, label in access.choices(courses, groups):
        if value == access.PERSONAL:
            profiles.append({"display_name": label, "slug": access.PERSONAL, "default": True,
                             "kubespawner_override": {"image": settings["image_template"],
                                                      "environment": {"COURSEHUB": "1"}}})
            continue
        slug, mode = access.decode(value)
        course = courses[slug]
        profiles.append({
            "display_name": label,
            "slug": profile_slug(value),
            "description": f"{course['resources']['memory']} memory, {course['resources']['cpus']:g} CPUs",
            "kubespawner_override": course_override(course, slug, mode, settings),
        })
    return profiles


def all_groups(courses):
    """Every course group: the static profile_list offers every live course in every mode."""
    names = set()
    for course in courses.values():
        names.add(course["instructors_group"])
        if course.get("students_group"):
            names.add(course["students_group"])
    return names
