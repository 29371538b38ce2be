"""Read the PLAY RECAP of an ansible-playbook run, host by host.

Every playbook starts with a localhost play (playbooks/course-files.yml) that never
changes anything, so a bare "changed=0" substring says nothing about the instance:
tests ask for the counts of the host they mean.
"""

import re

_LINE = re.compile(r"^(\S+)\s*:\s*((?:\w+=\d+\s*)+)$", re.MULTILINE)


def play_recap(output):
    """{host: {"ok": n, "changed": n, "failed": n, ...}} from the last PLAY RECAP in output."""
    if "PLAY RECAP" not in output:
        return {}
    tail = output[output.rindex("PLAY RECAP"):]
    return {
        host: {key: int(value) for key, value in (pair.split("=") for pair in counts.split())}
        for host, counts in _LINE.findall(tail)
    }


def changed(output, host):
    """changed= of one host; KeyError (naming the host) when the recap lacks it."""
    recap = play_recap(output)
    if host not in recap:
        raise KeyError(f"{host} is not in the play recap: {sorted(recap)}")
    return recap[host]["changed"]
