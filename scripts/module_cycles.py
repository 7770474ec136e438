#!/usr/bin/env python3
"""Fails when a module of a function crate imports, directly or through others, a module that
imports it back (a cycle), reading `crate::<module>` paths in each file's code. The crate
root (main.rs) declares every module and is left out."""
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent


def modules(src: pathlib.Path) -> dict[str, str]:
    found = {}
    for path in src.rglob("*.rs"):
        rel = path.relative_to(src)
        if rel.name == "main.rs":
            continue
        top = rel.parts[0].removesuffix(".rs")
        code = path.read_text()
        # Unit tests may use anything; only production code counts.
        code = re.split(r"#\[cfg\(test\)\]\s*mod tests", code)[0]
        found[top] = found.get(top, "") + code
    return found


def edges(code: str, names: set[str]) -> set[str]:
    used = set(re.findall(r"\bcrate::(\w+)", code))
    for group in re.findall(r"\buse crate::\{([^;]*)\};", code, re.S):
        used |= set(re.findall(r"(?:^|[,{\s])(\w+)", group))
    return used & names


def cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt == node:
                continue
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def main() -> int:
    failed = False
    for crate in sorted((ROOT / "functions").iterdir()):
        mods = modules(crate / "src")
        graph = {name: edges(code, set(mods)) for name, code in mods.items()}
        found = cycle(graph)
        if found:
            failed = True
            print(f"{crate.name}: module cycle {' -> '.join(found)}")
        else:
            print(f"{crate.name}: {len(graph)} modules, no cycle")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
