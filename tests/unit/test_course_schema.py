"""schemas/course.schema.json, the model's field tables and docs/courses.md describe the same course file."""

import datetime
import json
import os
import re

import jsonschema
import pytest
import yaml

from course_helpers import REPO_ROOT, SAMPLES_DIR
from module_utils import course_model
from module_utils.course_model import REQUIRED
from test_course_model import INVALID_CASES

with open(os.path.join(REPO_ROOT, "schemas", "course.schema.json"), encoding="utf-8") as _handle:
    SCHEMA = json.load(_handle)
COURSE = SCHEMA["$defs"]["course"]
NESTED = {"resources": COURSE["properties"]["resources"], "load": COURSE["properties"]["load"],
          "schedule": COURSE["properties"]["schedule"]["items"]}
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)


def as_json(value):
    """YAML data as an editor's YAML language server hands it to the schema: dates as strings."""
    if isinstance(value, datetime.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): as_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_json(v) for v in value]
    return value


def schema_errors(text):
    return list(VALIDATOR.iter_errors(as_json(yaml.safe_load(text))))


def test_schema_is_a_valid_schema():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def test_same_keys_at_every_level():
    assert set(COURSE["properties"]) == set(course_model.COURSE_FIELDS)
    for name, fields in course_model.NESTED_FIELDS.items():
        assert set(NESTED[name]["properties"]) == set(fields), name


def test_same_required_keys():
    assert set(COURSE["required"]) == set(course_model.REQUIRED_FIELDS)
    for name, fields in course_model.NESTED_FIELDS.items():
        assert set(NESTED[name].get("required", [])) == {k for k, f in fields.items() if f.default is REQUIRED}, name


def test_unknown_keys_are_rejected_at_every_level():
    assert COURSE["additionalProperties"] is False
    assert all(node["additionalProperties"] is False for node in NESTED.values())


def test_same_enums():
    assert tuple(COURSE["properties"]["state"]["enum"]) == course_model.STATES
    assert tuple(NESTED["schedule"]["properties"]["kind"]["enum"]) == course_model.SCHEDULE_KINDS


@pytest.mark.parametrize("schema_node, regex", [
    (lambda p: p["owner"], course_model.USERNAME_RE),
    (lambda p: p["instructors"]["items"], course_model.USERNAME_RE),
    (lambda p: p["shareddata"]["items"], course_model.DATASET_RE),
    (lambda p: p["environment"], course_model.ENVIRONMENT_RE),
    (lambda p: p["announce"]["items"], course_model.EMAIL_RE),
    (lambda p: p["packages"]["items"], course_model.PACKAGE_RE),
    (lambda p: p["test_file"], course_model.TEST_FILE_RE),
    (lambda p: p["start"], course_model.DATE_RE),
    (lambda p: p["resources"]["properties"]["memory"], course_model.MEMORY_RE),
    (lambda p: p["schedule"]["items"]["properties"]["date"], course_model.SCHEDULE_DATE_RE),
], ids=["owner", "instructors", "shareddata", "environment", "announce", "packages", "test_file", "start",
        "memory", "schedule-date"])
def test_same_patterns(schema_node, regex):
    assert schema_node(COURSE["properties"])["pattern"] == regex.pattern


def test_key_pattern_and_length_follow_the_model():
    settings = course_model.DEFAULT_SETTINGS
    longest_slug = settings["max_group_name"] - len(settings["group_prefix"] + settings["students_group_suffix"])
    assert SCHEMA["propertyNames"]["pattern"] == "^" + course_model.KEY_PREFIX + course_model.SLUG_RE.pattern[1:]
    assert SCHEMA["propertyNames"]["maxLength"] == len(course_model.KEY_PREFIX) + longest_slug


def test_same_static_defaults():
    settings = course_model.DEFAULT_SETTINGS
    resources = NESTED["resources"]["properties"]
    assert resources["memory"]["default"] == settings["default_memory"]
    assert resources["cpus"]["default"] == settings["default_cpus"]
    assert resources["cpus"]["maximum"] == settings["max_cpus"]
    assert COURSE["properties"]["environment"]["default"] == settings["default_environment"]
    for name, field in course_model.COURSE_FIELDS.items():
        if "default" in COURSE["properties"][name] and field.default is not None:
            assert COURSE["properties"][name]["default"] == field.default, name


def sample_texts():
    names = sorted(n for n in os.listdir(SAMPLES_DIR) if n.endswith(".yml"))
    assert len(names) >= 4
    return [pytest.param(open(os.path.join(SAMPLES_DIR, n), encoding="utf-8").read(), id=n) for n in names]


@pytest.mark.parametrize("text", sample_texts())
def test_samples_pass_the_schema(text):
    assert text.startswith("# yaml-language-server: $schema=../../schemas/course.schema.json\n")
    assert schema_errors(text) == []


SCHEMA_CASES = [p for p in INVALID_CASES if p.values[3]]


def test_schema_covers_most_cases():
    assert len(SCHEMA_CASES) >= 40


@pytest.mark.parametrize("files, file, field, schema, line", SCHEMA_CASES)
def test_schema_rejects_what_it_can_express(files, file, field, schema, line):
    """The model rejects every case (test_course_model); the schema must reject these too, at the same
    field or one of its parents (a schema reports unknown and missing keys on the mapping)."""
    places = [dotted(error.absolute_path) for error in schema_errors(files[file])]
    top_level = "." not in field and "[" not in field
    assert any(field == place or (place and field.startswith(place)) or (top_level and place == "")
               for place in places), (field, places)


def dotted(path):
    out = ""
    for part in path:
        out += "[%d]" % part if isinstance(part, int) else ("." if out else "") + part
    return out


# --- docs/courses.md -----------------------------------------------------------------------------------

def documented_fields():
    """Rows of the field table in docs/courses.md: {field: default column}."""
    with open(os.path.join(REPO_ROOT, "docs", "courses.md"), encoding="utf-8") as handle:
        text = handle.read()
    table = text.split("| field | type | default | meaning | example |", 1)[1].split("\n\n", 1)[0]
    rows = [line.split(" | ") for line in table.splitlines() if line.startswith("| `")]
    return {re.match(r"\| `([^`]+)`", row[0]).group(1): row[2] for row in rows}


def schema_fields():
    """Every key of the course file, nested ones as resources.memory and schedule[].date."""
    names = set(COURSE["properties"])
    for parent, node in NESTED.items():
        separator = "[]." if parent == "schedule" else "."
        names |= {parent + separator + child for child in node["properties"]}
    return names


def test_docs_list_every_field_and_no_other():
    assert set(documented_fields()) == schema_fields()


def test_docs_mark_the_required_fields():
    documented = {name for name, default in documented_fields().items() if default.startswith("required")}
    required = set(COURSE["required"])
    required |= {"load." + k for k in NESTED["load"]["required"]}
    required |= {"schedule[]." + k for k in NESTED["schedule"]["required"]}
    assert documented == required
