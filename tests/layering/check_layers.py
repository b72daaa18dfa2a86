#!/usr/bin/env python3
"""The layering the build enforces, checked by reading the includes too (a quoted relative include
such as "../channels/mpsc.hpp" is found by the compiler next to the file, whatever the include
path, so only reading catches it). redis may include channels and runtime; channels may include
runtime; runtime only itself. Also: the umbrella weft.hpp includes every public header.

    check_layers.py [root]      prints each violation; exit status 1 if any
    check_layers.py --self-test plants violations in a copy and checks each is reported
    check_layers.py --compile   checks that each layer's include path (include/layers/NAME, what
                                the build compiles that layer with) refuses the layers above it and
                                accepts its own and those below: an upward include fails to build
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

LAYERS = {"runtime": {"runtime"}, "channels": {"runtime", "channels"}, "redis": {"runtime", "channels", "redis"}}
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]', re.M)


def layer_of_include(root, source, kind, target):
    """The top-level folder an include lands in, or None when it is not weft's."""
    if kind == "<":
        parts = target.split("/")
        return parts[1] if parts[0] == "weft" and len(parts) > 1 else None
    resolved = os.path.normpath(os.path.join(os.path.dirname(source), target))
    rel = os.path.relpath(resolved, root)
    if rel.startswith(".."):
        return "outside the repository"
    top = rel.split(os.sep)[0]
    if top == "include":  # include/weft/<layer>/... or include/layers/<layer>/weft/<layer>/...
        parts = rel.split(os.sep)
        return parts[2] if len(parts) > 2 and parts[1] == "weft" else "include/"
    return top


def violations(root):
    found = []
    for layer, allowed in LAYERS.items():
        for folder, _, files in os.walk(os.path.join(root, layer)):
            for name in files:
                if not name.endswith((".hpp", ".cpp", ".h")):
                    continue
                path = os.path.join(folder, name)
                with open(path, encoding="utf-8") as f:
                    text = f.read()
                for match in INCLUDE.finditer(text):
                    kind, target = match.groups()
                    landed = layer_of_include(root, path, kind, target)
                    if landed is not None and landed not in allowed:
                        line = text.count("\n", 0, match.start()) + 1
                        found.append(f"{os.path.relpath(path, root)}:{line}: {layer}/ includes {kind}{target} "
                                     f"({landed}; {layer} may use only {', '.join(sorted(allowed))})")
    # The umbrella header includes every public header.
    with open(os.path.join(root, "weft.hpp"), encoding="utf-8") as f:
        umbrella = set(t for _, t in INCLUDE.findall(f.read()))
    for layer in LAYERS:
        for folder, _, files in os.walk(os.path.join(root, layer)):
            if "detail" in os.path.relpath(folder, root).split(os.sep):
                continue
            for name in files:
                if name.endswith(".hpp"):
                    header = "weft/" + os.path.relpath(os.path.join(folder, name), root)
                    if header not in umbrella:
                        found.append(f"weft.hpp: does not include <{header}>")
    return found


def self_test(root):
    plants = [
        ("runtime/yield.hpp", '#include <weft/channels/mpsc.hpp>\n'),
        ("runtime/scheduler.cpp", '#include "../channels/mpsc.hpp"\n'),
        ("runtime/net/tcp_stream.hpp", '#include "../../redis/value.hpp"\n'),
        ("channels/mpsc.hpp", '#include <weft/redis/client.hpp>\n'),
        ("channels/detail/receive.hpp", '#include "../../redis/client.hpp"\n'),
        ("runtime/new_public.hpp", '#pragma once\n'),  # not in weft.hpp
    ]
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for layer in list(LAYERS) + ["weft.hpp"]:
            src = os.path.join(root, layer)
            (shutil.copytree if os.path.isdir(src) else shutil.copy)(src, os.path.join(tmp, layer))
        if violations(tmp):
            print("self-test: the clean copy already has violations")
            return False
        for path, line in plants:
            target = os.path.join(tmp, path)
            original = open(target).read() if os.path.exists(target) else None
            with open(target, "w") as f:
                f.write(line + (original or ""))
            if not violations(tmp):
                print(f"self-test: planting {line.strip()} in {path} was not reported")
                ok = False
            if original is None:
                os.remove(target)
            else:
                with open(target, "w") as f:
                    f.write(original)
    print("self-test: every planted violation was reported" if ok else "self-test failed")
    return ok


def compiles(root, layer, header):
    source = f"#include <weft/{header}>\n"
    cxx = os.environ.get("CXX", "g++").split()
    result = subprocess.run(cxx + ["-std=c++20", "-fsyntax-only", "-x", "c++", "-",
                                   "-I", os.path.join(root, "include", "layers", layer)],
                            input=source, capture_output=True, text=True)
    return result.returncode == 0


def compile_test(root):
    one_header = {"runtime": "runtime/runtime.hpp", "channels": "channels/mpsc.hpp", "redis": "redis/client.hpp"}
    ok = True
    for layer, allowed in LAYERS.items():
        for other, header in one_header.items():
            expected = other in allowed
            if compiles(root, layer, header) != expected:
                print(f"the {layer} layer's include path {'refuses' if expected else 'accepts'} <weft/{header}>")
                ok = False
    print("compile: each layer builds with its own and lower layers only" if ok else "compile test failed")
    return ok


def main():
    args = sys.argv[1:]
    here = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
    if args and args[0] == "--self-test":
        return 0 if self_test(here) else 1
    if args and args[0] == "--compile":
        return 0 if compile_test(here) else 1
    root = args[0] if args else here
    found = violations(root)
    for v in found:
        print(v)
    print(f"layering: {len(found)} violations")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
