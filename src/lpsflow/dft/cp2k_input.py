"""User overrides of the generated CP2K input (``dft.overrides``): parse, merge, render, check.

The overrides are CP2K sections and keywords merged into the ``&FORCE_EVAL/&DFT`` section of
the input that :func:`lpsflow.dft.cp2k.input_text` writes, as a YAML mapping in CP2K's own
names (case does not matter)::

    overrides:
      SCF:
        EPS_SCF: 1.0e-7         # a keyword: replaces the generated value, or is added
        OUTER_SCF: {MAX_SCF: 10} # a section: merged into the generated one, or added
        SMEAR: null             # null removes a keyword or a whole section
      XC:
        XC_GRID: {XC_DERIV: NN10_SMOOTH}
      POISSON: {PERIODIC: XYZ}
      KPOINTS: {SCHEME: GAMMA}

A section's own parameter (``&SMEAR ON``, ``&XC_FUNCTIONAL PBE``) is the key ``_``. Lists
become space-separated values; ``true``/``false`` become CP2K's ``T``/``F``. Only the
``&DFT`` section can be changed: coordinates, cell, kinds (``dft.basis``, ``dft.potential``),
the run type and the printed forces and stress are what the workflow reads back. Whether a
name exists is CP2K's to say: :func:`check_with_cp2k` runs ``cp2k --check`` on an input with
the overrides, before any job, and names the key it rejects.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

#: a CP2K section or keyword name
NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
#: sections under &DFT that the workflow writes from other keys, or reads back
OWNED = {
    "BASIS_SET_FILE_NAME": "dft.basis_file",
    "POTENTIAL_FILE_NAME": "dft.potential_file",
}


class OverrideError(ValueError):
    """An override that cannot be applied; the message names the key (dft.overrides.X.Y)."""


@dataclass
class Section:
    """One ``&NAME param`` ... ``&END`` block: keywords (in order) and subsections."""

    name: str
    param: str = ""
    items: list = field(default_factory=list)  # [name, value] keywords and Section objects

    def find(self, name: str):
        """The first keyword ([name, value]) or subsection called ``name``, else None."""
        for item in self.items:
            key = item.name if isinstance(item, Section) else item[0]
            if key.upper() == name:
                return item
        return None


def parse(text: str) -> Section:
    """A CP2K input text as a tree (comments dropped; one keyword per line)."""
    root = Section("")
    stack = [root]
    for raw in text.splitlines():
        line = raw.split("!", 1)[0].split("#", 1)[0].strip()
        if not line:
            continue
        if line.upper().startswith("&END"):
            stack.pop()
            continue
        if line.startswith("&"):
            name, _, param = line[1:].partition(" ")
            section = Section(name.upper(), param.strip())
            stack[-1].items.append(section)
            stack.append(section)
            continue
        name, _, value = line.partition(" ")
        stack[-1].items.append([name, value.strip()])
    if len(stack) != 1:
        raise ValueError(f"CP2K input: {len(stack) - 1} section(s) not closed")
    return root


def render(section: Section, indent: int = 0) -> str:
    """The text of a tree made by :func:`parse` (two spaces per level)."""
    pad = "  " * indent
    lines = []
    for item in section.items:
        if isinstance(item, Section):
            head = f"{pad}&{item.name}" + (f" {item.param}" if item.param else "")
            lines.append(head)
            body = render(item, indent + 1)
            if body:
                lines.append(body)
            lines.append(f"{pad}&END {item.name}")
        else:
            lines.append(f"{pad}{item[0]} {item[1]}".rstrip())
    return "\n".join(lines)


def value_text(value) -> str:
    """A YAML value as CP2K input text."""
    if isinstance(value, bool):
        return "T" if value else "F"
    if isinstance(value, list):
        return " ".join(value_text(v) for v in value)
    if isinstance(value, float):
        return repr(value)
    return str(value)


def check_overrides(overrides: dict, where: str = "dft.overrides") -> None:
    """Names are CP2K names, sections are mappings, nothing the workflow owns is touched."""
    if not isinstance(overrides, dict):
        raise OverrideError(f"{where}: must be a mapping of CP2K sections and keywords")
    for key, value in overrides.items():
        name = str(key).upper()
        here = f"{where}.{key}"
        if name == "_":
            if isinstance(value, (dict, list)):
                raise OverrideError(f"{here}: a section parameter is one value")
            continue
        if not NAME.match(name):
            raise OverrideError(f"{here}: {key!r} is not a CP2K section or keyword name")
        if where == "dft.overrides" and name in OWNED:
            raise OverrideError(f"{here}: set by {OWNED[name]}, not by an override")
        if isinstance(value, dict):
            check_overrides(value, here)
        elif isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
            raise OverrideError(
                f"{here}: a keyword takes plain values (repeated sections are not supported)"
            )


def merge(section: Section, overrides: dict) -> None:
    """Merge ``overrides`` into ``section`` in place (see the module docstring)."""
    for key, value in overrides.items():
        name = str(key).upper()
        if name == "_":
            section.param = value_text(value)
            continue
        found = section.find(name)
        if value is None:
            if found is not None:
                section.items.remove(found)
        elif isinstance(value, dict):
            if not isinstance(found, Section):
                if found is not None:  # a keyword of that name becomes a section
                    section.items.remove(found)
                found = Section(name)
                section.items.append(found)
            merge(found, value)
        elif isinstance(found, list):
            found[1] = value_text(value)
        else:
            if found is not None:
                section.items.remove(found)
            section.items.append([name, value_text(value)])


def apply_overrides(text: str, overrides: dict | None) -> str:
    """The CP2K input ``text`` with ``overrides`` merged into its &FORCE_EVAL/&DFT section
    (``text`` itself when there are none)."""
    if not overrides:
        return text
    check_overrides(overrides)
    root = parse(text)
    dft = root.find("FORCE_EVAL").find("DFT")
    merge(dft, overrides)
    return render(root) + "\n"


def abort_message(text: str) -> str:
    """The message of CP2K's last ``[ABORT]`` box as one line ("" if there is none)."""
    lines = text.splitlines()
    starts = [i for i, ln in enumerate(lines) if "[ABORT]" in ln]
    if not starts:
        return ""
    words = []
    for ln in lines[starts[-1] + 1 :]:
        if ".F:" in ln or set(ln.strip()) <= {"*"}:
            break
        body = re.sub(r"^\s*\*\s*", "", ln).rstrip().rstrip("*")
        body = re.sub(r"^(\\___/|O/\||/\| \||/ \\|\|)\s*", "", body.strip())
        words.append(body.strip())
    return " ".join(" ".join(words).split())


def check_with_cp2k(text: str, executable: str, timeout: float = 120) -> str:
    """CP2K's own verdict on an input: "" if ``executable --check`` accepts it, else the
    message of its abort (which names the unknown section or keyword)."""
    with tempfile.TemporaryDirectory() as tmp:
        inp = Path(tmp) / "check.inp"
        inp.write_text(text)
        proc = subprocess.run(
            [executable, "--check", "-i", inp.name],
            cwd=tmp,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        out = proc.stdout + proc.stderr
    if proc.returncode == 0 and "[ABORT]" not in out:
        return ""
    return abort_message(out) or " ".join(out.split()[-40:])


def _paths(overrides: dict, where: str):
    for key, value in overrides.items():
        here = f"{where}.{key}"
        yield str(key).upper(), here
        if isinstance(value, dict):
            yield from _paths(value, here)


def offending_key(message: str, overrides: dict, text: str = "") -> str:
    """The override key a CP2K message is about: the name it mentions, or the name on the
    input line it points at (``Line: 22``); ``dft.overrides`` when neither is an override."""
    names = {m.upper() for m in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", message)}
    line = re.search(r"Line: (\d+)", message)
    if line and text:
        lines = text.splitlines()
        n = int(line.group(1))
        if 0 < n <= len(lines) and lines[n - 1].strip():
            names = {lines[n - 1].split()[0].lstrip("&").upper()}
    found = [here for name, here in _paths(overrides, "dft.overrides") if name in names]
    return max(found, key=lambda h: h.count("."), default="dft.overrides")


def overrides_text(overrides: dict, prefix: str = "") -> str:
    """The overrides as one line, ``SCF/EPS_SCF=1e-07, SCF/SMEAR=none`` (for the level-of-theory
    record and its label), in a fixed order."""
    parts = []
    for key in sorted(overrides, key=lambda k: str(k).upper()):
        value = overrides[key]
        name = f"{prefix}{str(key).upper()}"
        if isinstance(value, dict):
            parts.append(overrides_text(value, f"{name}/"))
        else:
            parts.append(f"{name}={'none' if value is None else value_text(value)}")
    return ", ".join(p for p in parts if p)
