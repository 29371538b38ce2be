# -*- coding: utf-8 -*-
"""Read course files from disk into entries for course_model.validate_courses.

course_model is pure; this module is the part that touches the file system.
It is used by bin/coursectl, the tests and the benchmark -- Ansible loads
group_vars itself and hands the result to course_model.courses_from_vars.

Why a custom loader: the YAML safe loader silently keeps the last of two
equal keys, and it forgets line numbers.  Here each file is composed into a
node tree first; one walk over the nodes records the line of every dotted
field and reports duplicate keys and merge keys (``<<``), then the same tree
is constructed with the safe constructor.  libyaml's CSafeLoader is used when
PyYAML has it, for speed; it builds the same nodes.

Which files: for a directory, every file Ansible would load as group_vars
(extension .yml, .yaml, .json or none; not hidden), recursively, sorted.  The
model then insists on ``<slug>.yml``, so a stray ``foo.yaml`` is reported
rather than silently loaded by Ansible.
"""

import os

import yaml

from module_utils.course_model import Problem, type_name, validate_courses

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
ANSIBLE_VARS_EXTENSIONS = (".yml", ".yaml", ".json", "")
DOCUMENT = "(document)"
YAML_SYNTAX = "(yaml)"


def find_course_files(paths):
    """Expand files and directories into the sorted list of course files, and problems for missing paths."""
    files, problems = [], []
    for path in paths:
        if os.path.isdir(path):
            files.extend(_files_below(path))
        elif os.path.isfile(path):
            files.append(path)
        else:
            problems.append(Problem(path, None, DOCUMENT, "no such file or directory"))
    return sorted(set(files)), problems


def _files_below(directory):
    for root, dirs, names in os.walk(directory):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in names:
            if not name.startswith(".") and os.path.splitext(name)[1] in ANSIBLE_VARS_EXTENSIONS:
                yield os.path.normpath(os.path.join(root, name))


def load_paths(paths):
    """Load every course file under paths: (entries, problems) for validate_courses."""
    files, problems = find_course_files(paths)
    entries = []
    for path in files:
        file_entries, file_problems = load_file(path)
        entries.extend(file_entries)
        problems.extend(file_problems)
    return entries, problems


def load_file(path, display=None):
    """Load one course file: (entries, problems).  display is the name used in messages (default: path)."""
    display = display or path
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        return [], [Problem(display, None, DOCUMENT, "cannot read: %s" % exc)]
    return parse_text(text, display)


def parse_text(text, display):
    """Parse the text of one course file into (entries, problems); see the module docstring."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return [], [Problem(display, None, DOCUMENT, "the file is empty; it should hold one key, course_<slug>")]
        lines, problems = {}, []
        _index(node, "", lines, problems, display, set())
        if problems:
            return [], problems
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        return [], [_syntax_problem(display, exc)]
    except yaml.YAMLError as exc:
        return [], [Problem(display, None, YAML_SYNTAX, str(exc))]
    finally:
        loader.dispose()
    return _entries(display, data, lines)


def _syntax_problem(display, exc):
    mark = exc.problem_mark or exc.context_mark
    message = " ".join(part for part in (exc.context, exc.problem) if part)
    return Problem(display, mark.line + 1 if mark else None, YAML_SYNTAX, message or "invalid YAML")


def _index(node, path, lines, problems, display, seen):
    """Record the line of each field below node; report duplicate and merge keys.

    seen holds the ids of nodes already walked: an alias is walked once, so a
    'billion laughs' file cannot make this walk explode.
    """
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        keys = {}
        for key_node, value_node in node.value:
            name = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else "?"
            child = "%s.%s" % (path, name) if path else name
            line = key_node.start_mark.line + 1
            if key_node.tag == "tag:yaml.org,2002:merge":
                problems.append(Problem(display, line, child, "merge keys (<<) are not allowed; write the keys out"))
            elif (key_node.tag, name) in keys:
                problems.append(Problem(display, line, child, "duplicate key (first on line %d)"
                                        % keys[(key_node.tag, name)]))
            else:
                keys[(key_node.tag, name)] = line
                lines[child] = line
            _index(value_node, child, lines, problems, display, seen)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            child = "%s[%d]" % (path, i)
            lines[child] = item.start_mark.line + 1
            _index(item, child, lines, problems, display, seen)
    elif node.tag == _TIMESTAMP:
        # An unquoted 2026-13-45 looks like a date to YAML, which then fails to build it.
        try:
            yaml.constructor.SafeConstructor().construct_yaml_timestamp(node)
        except ValueError as exc:
            problems.append(Problem(display, node.start_mark.line + 1, path or DOCUMENT,
                                    "%r is not a date: %s" % (node.value, exc)))


def _entries(display, data, lines):
    """Check the file holds exactly one key and turn it into an entry."""
    if not isinstance(data, dict):
        return [], [Problem(display, 1, DOCUMENT, "expected a mapping with one key, course_<slug>, got %s"
                            % type_name(data))]
    keys = sorted(data, key=lambda k: lines.get(str(k), 0))
    if len(keys) != 1:
        return [], [Problem(display, lines.get(str(key)), str(key),
                            "a course file holds exactly one key, course_<slug>; put this course in its own file")
                    for key in keys[1:]]
    key = keys[0]
    return [{"file": display, "key": str(key), "data": data[key], "lines": lines}], []


def ansible_course_dirs(playbook_dir, inventory_sources):
    """The group_vars/courses directories Ansible loads for a run, in its order: the
    playbook's own first, then each inventory source's."""
    bases = [playbook_dir] + [s if os.path.isdir(s) else os.path.dirname(s) for s in inventory_sources]
    directories = dict.fromkeys(os.path.realpath(os.path.join(b, "group_vars", "courses")) for b in bases)
    return [d for d in directories if os.path.isdir(d)]


def check_ansible_dirs(playbook_dir, inventory_sources, settings=None):
    """Read those directories as files and validate them together: (number of courses, problems).

    Entries keep the directories' order, so a clash between two files is
    reported on the later one, as coursectl reports it within a directory.
    """
    entries, problems = [], []
    for order, directory in enumerate(ansible_course_dirs(playbook_dir, inventory_sources)):
        directory_entries, directory_problems = load_paths([directory])
        entries.extend(dict(entry, order=order) for entry in directory_entries)
        problems.extend(directory_problems)
    _, model_problems = validate_courses(entries, settings or {})
    return len(entries), sorted(problems + model_problems, key=lambda p: p.sort_key())
