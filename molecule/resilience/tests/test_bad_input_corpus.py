"""The bad-input corpus (issue 9): every malformed course file and inventory
variable in molecule/resilience/corpus/ is rejected before anything on the
instance changes, naming the file and the field.

Course files (corpus/courses/) arrive the way a pull request delivers them: as
a real file in a group_vars/courses directory that Ansible loads.  Each case
gets an inventory source of its own (a temporary directory with a hosts.yml
that names the group courses, and group_vars/courses/<name> holding the case
verbatim), given to ansible-playbook after the instance's inventory; the
repository's own course files come from group_vars/ beside the playbook, as
always.  (A case must not reuse a sample's file name: the playbook's
group_vars outrank the inventory's, so the sample would hide it.)  Each one
goes through
  * the validator, ``bin/coursectl validate`` over the repository's course
    files and the case's: it must exit non-zero, with the case's file and
    field on one line, and without a traceback;
  * ``playbooks/courses.yml``: it must fail with the file and the field on one
    line, before the play that changes the host, with changed=0 in the recap
    (or no task started at all, when Ansible cannot load the file).

Inventory variables (corpus/inventory/) are not course files, so they go only
through the playbook, ``site.yml``, as group_vars/hub/bad-input.yml of their
own inventory source.  Ansible merges variables from every scope before a role
sees them, so the error names the variable, not a file; it must come from the
first play (the inputs check), with changed=0.

For every case the managed state (groups, directories, ACLs, courses.json:
conftest's snapshot) taken before the run must equal the one taken after, and
the state at the end of the corpus must equal the state at its start.  A case
counts as rejected cleanly only when all of that holds; the figures (cases
tried, rejected cleanly, state differences) are printed at the end.
"""
import dataclasses
import pathlib
import re
import subprocess
import sys

import pytest
from conftest import PROJECT, record
from recap import play_recap

CORPUS = pathlib.Path(__file__).resolve().parents[1] / "corpus"
SAMPLES = PROJECT / "group_vars" / "courses"
# The plays after the inputs check: reaching one means the check let the case through.
LATER_PLAYS = {"playbooks/courses.yml": "PLAY [Courses become groups", "site.yml": "PLAY [JupyterHub behind"}
MINIMUM_CASES = 40  # issue 9's acceptance
HEADER = re.compile(r"^# (\w+): (.*)$")


@dataclasses.dataclass(frozen=True)
class Case:
    """One corpus file: where it goes and what the rejection must name."""

    path: pathlib.Path
    kind: str           # courses | inventory
    why: str
    field: str          # what the validator (or, for inventory cases, the playbook) names
    file: str = ""      # course files: where the case is delivered, relative to its inventory source
    play: str = ""      # what the playbook names, when it differs from field ("a | b": either)

    @property
    def id(self):
        return self.path.name.removesuffix(".yml.bad")

    @property
    def text(self):
        return self.path.read_text()


def load(kind):
    """The cases of one corpus directory; the header comments say what each expects."""
    cases = []
    for path in sorted((CORPUS / kind).glob("*.yml.bad")):
        keys = {}
        for line in path.read_text().splitlines():
            match = HEADER.match(line)
            if not match:
                break
            keys[match.group(1)] = match.group(2).strip()
        cases.append(Case(path=path, kind=kind, **keys))
    return cases


COURSE_CASES, INVENTORY_CASES = load("courses"), load("inventory")
CORPUS_CASES = COURSE_CASES + INVENTORY_CASES


def names_both(output, *needles):
    """True if one line of output holds every needle."""
    return any(all(needle in line for needle in needles) for line in output.splitlines())


def deliver(case, directory):
    """An inventory source holding the case: hosts.yml (the group only) and the case's vars file."""
    group = "hub" if case.kind == "inventory" else "courses"
    (directory / "hosts.yml").write_text(f"---\nall:\n  children:\n    {group}: {{}}\n")
    target = directory / (case.file or "group_vars/hub/bad-input.yml")
    target.parent.mkdir(parents=True)
    target.write_text(case.text)
    return directory / "hosts.yml"


def validate(case, directory):
    """bin/coursectl validate over the repository's course files and the case's, from the case's directory."""
    return subprocess.run([sys.executable, str(PROJECT / "bin" / "coursectl"), "validate", str(SAMPLES),
                           "group_vars/courses"], cwd=directory, capture_output=True, text=True, timeout=120,
                          check=False)


def validator_failures(case, run):
    failures = []
    if run.returncode == 0:
        failures.append("validator: accepted it")
    if "Traceback" in run.stderr:
        failures.append(f"validator: crashed ({run.stderr.strip().splitlines()[-1]})")
    if not names_both(run.stdout, case.file, case.field):
        failures.append(f"validator: no line names both {case.file} and {case.field}")
    problems = [line for line in run.stdout.splitlines() if line.strip()]
    if any(case.file not in line for line in problems):
        failures.append("validator: a problem outside the case's file (the samples should be valid)")
    return failures


def playbook_failures(case, playbook, run):
    output = run.stdout + run.stderr
    failures = []
    if run.returncode == 0:
        failures.append("playbook: accepted it")
    fields = (case.play or case.field).split(" | ")
    if not any(names_both(output, case.file, field) for field in fields):
        failures.append(f"playbook: does not name {' and '.join(filter(None, (case.file, ' or '.join(fields))))}")
    changed = {host: counts["changed"] for host, counts in play_recap(output).items()}
    if not changed and "TASK [" in output:
        failures.append("playbook: tasks ran but there is no recap")
    if any(changed.values()):
        failures.append(f"playbook: changed something ({changed})")
    if LATER_PLAYS[playbook] in output:
        failures.append("playbook: the inputs check let it through to the next play")
    return failures


@dataclasses.dataclass
class Outcome:
    failures: list
    state_changed: bool
    output: str


@pytest.fixture(scope="module")
def corpus_run(host, run_playbook, snapshot, tmp_path_factory):
    """run(case): the case through the validator (course files) and the playbook, once; its Outcome."""
    outcomes, initial = {}, []

    def run(case):
        if case.id in outcomes:
            return outcomes[case.id]
        directory = tmp_path_factory.mktemp(case.id)
        hosts = deliver(case, directory)
        failures, shown = [], []
        if case.kind == "courses":
            checked = validate(case, directory)
            failures += validator_failures(case, checked)
            shown.append("validator:\n" + checked.stdout + checked.stderr[-1500:])
        playbook = "site.yml" if case.kind == "inventory" else "playbooks/courses.yml"
        before = snapshot()
        initial[:] = initial or [before]
        played = run_playbook(playbook, "-i", str(hosts), timeout=300)
        state_changed = snapshot() != before
        failures += playbook_failures(case, playbook, played)
        if state_changed:
            failures.append("the managed state changed")
        shown.append(f"{playbook}:\n" + (played.stdout + played.stderr)[-2500:])
        outcomes[case.id] = Outcome(failures, state_changed, "\n".join(shown))
        return outcomes[case.id]

    run.initial = initial
    return run


def test_corpus_is_large_and_each_case_says_what_it_expects():
    assert len(CORPUS_CASES) >= MINIMUM_CASES, f"only {len(CORPUS_CASES)} cases"
    assert len({case.id for case in CORPUS_CASES}) == len(CORPUS_CASES), "case ids repeat"
    for case in CORPUS_CASES:
        assert case.why and case.field, f"{case.path.name}: the header needs why: and field:"
        if case.kind != "inventory":
            assert case.file.startswith("group_vars/courses/"), f"{case.path.name}: file: must name a course file"


@pytest.mark.parametrize("case", COURSE_CASES, ids=lambda case: case.id)
def test_bad_course_file_is_rejected_cleanly(corpus_run, case):
    outcome = corpus_run(case)
    if outcome.failures:
        pytest.fail(f"{case.why}: " + "; ".join(outcome.failures) + "\n" + outcome.output, pytrace=False)


@pytest.mark.parametrize("case", INVENTORY_CASES, ids=lambda case: case.id)
def test_bad_inventory_variable_is_rejected_cleanly(corpus_run, case):
    outcome = corpus_run(case)
    if outcome.failures:
        pytest.fail(f"{case.why}: " + "; ".join(outcome.failures) + "\n" + outcome.output, pytrace=False)


def test_figures_and_state_over_the_whole_corpus(corpus_run, snapshot):
    """Every case, then the figures; the state after the corpus equals the state before it."""
    outcomes = [corpus_run(case) for case in CORPUS_CASES]
    differences = sum(outcome.state_changed for outcome in outcomes)
    whole_run_changed = snapshot() != corpus_run.initial[0]
    record("bad input", tried=len(outcomes), rejected_cleanly=sum(not o.failures for o in outcomes),
           state_differences=differences or int(whole_run_changed),
           course_files=len(COURSE_CASES), inventory_variables=len(INVENTORY_CASES))
    assert not whole_run_changed, "the managed state after the corpus differs from the state before it"
    unclean = [case.id for case, outcome in zip(CORPUS_CASES, outcomes, strict=True) if outcome.failures]
    assert not unclean, f"not rejected cleanly: {', '.join(unclean)}"
