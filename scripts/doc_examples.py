#!/usr/bin/env python3
"""Counts the public items of a crate's sources and how many carry a doc example.

Usage: scripts/doc_examples.py crates/presence-proto [--missing]

A public item is a `pub` (not `pub(crate)`/`pub(super)`) fn, struct, enum, trait, type, const,
static or union declared in src/ (test modules and files excluded; `pub use` re-exports are
not items). It has an example when its doc comment (the `///` or `#[doc]` lines right above it,
attributes in between allowed) contains a ``` fence. Struct fields and enum variants are not
counted. It is a source scan, not rustdoc's view: private-module items that are never
re-exported are counted too, which only makes the figure stricter.
"""
import pathlib
import re
import sys

ITEM = re.compile(r'^\s*pub\s+(?:const\s+fn|async\s+fn|unsafe\s+fn|fn|struct|enum|trait|type|const|static|union)\s+([A-Za-z_][A-Za-z0-9_]*)')


def scan(path):
    lines = path.read_text().splitlines()
    out = []
    in_tests = False
    for i, line in enumerate(lines):
        if re.match(r'^\s*#\[cfg\(test\)\]', line):
            in_tests = True  # the rest of the file after a test module is rarely public API
        if in_tests:
            continue
        m = ITEM.match(line)
        if not m:
            continue
        j = i - 1
        doc = []
        while j >= 0:
            prev = lines[j].strip()
            if prev.startswith('///') or prev.startswith('#[doc'):
                doc.append(prev)
            elif prev.startswith('#[') or prev.startswith('#!') or prev == '' and False:
                pass
            else:
                break
            j -= 1
        has = any('```' in d for d in doc)
        out.append((path, i + 1, m.group(1), has))
    return out


def main():
    crate = pathlib.Path(sys.argv[1])
    items = []
    for path in sorted((crate / 'src').rglob('*.rs')):
        if path.name.startswith('tests') or 'tests' in path.parts[len(crate.parts) + 1:-1]:
            continue
        items.extend(scan(path))
    with_examples = sum(1 for *_, has in items if has)
    total = len(items)
    pct = 100.0 * with_examples / total if total else 100.0
    print(f'{crate.name}: {with_examples} of {total} public items have an example ({pct:.0f} %)')
    if '--missing' in sys.argv:
        for path, line, name, has in items:
            if not has:
                print(f'  {path}:{line} {name}')


if __name__ == '__main__':
    main()
