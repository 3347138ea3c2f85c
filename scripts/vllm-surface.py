#!/usr/bin/env python3
"""The `vllm serve` surface of one vLLM release, as data, read from vLLM itself.

Run it with the Python of the venv scripts/vllm-venv.sh makes (vLLM from PyPI, on CPU):

    "$(scripts/vllm-venv.sh)" scripts/vllm-surface.py src/models/vllm-surface/0.33.0.json

It builds the serve subcommand's argument parser through vLLM's own CLI code (the CPU platform
stands in for the GPU one, as `vllm bench` does), then writes every option with its type,
choices, default, aliases and deprecation, and the environment names vLLM reads (vllm/envs.py).
The plan checks serveArgv and the VLLM_* environment against this file (src/plan/vllm-surface.ts).

    ... scripts/vllm-surface.py parse < argvs.json

instead reads a JSON list of argvs (["vllm", "serve", MODEL, "--flag", ...]) and prints, as
JSON, what vLLM's own parser makes of each: the AsyncEngineArgs, or the parser's error, and the
names in vllm/envs.py (the test in test/vllm uses it).
"""

import argparse
import json
import os
import re
import sys
from pathlib import Path

# What replaced the recipe-era variables, where released vLLM names it. Each entry is checked
# against the surface below: the option and the value must exist, or the script fails.
ENV_REPLACEMENTS = {
    "VLLM_USE_B12X_MOE": {
        "option": "--moe-backend",
        "value": "b12x",
        "source": 'vllm/config/kernel.py MoEBackend: "b12x": Use b12x FP4 MoE kernels on SM12x',
    },
    "VLLM_USE_B12X_FP8_GEMM": {
        "option": "--linear-backend",
        "value": "b12x",
        "source": 'vllm/config/kernel.py LinearBackend: "b12x": Use native B12X FP8 and FP4 linear kernels on SM12x',
    },
}
# Named in no option, but their kernel family is chosen by these options in released vLLM.
ENV_HINTS = {
    "VLLM_USE_B12X_": "B12X kernels are chosen with --moe-backend b12x, --linear-backend b12x and --attention-backend B12X (vllm/config/kernel.py)",
    "VLLM_TRITON_MLA_SPARSE": "attention kernels are chosen with --attention-backend (vllm/v1/attention/backends/registry.py)",
}


def cpu_platform():
    """vLLM's CPU platform as the current one, so that the parser builds without a GPU."""
    os.environ.setdefault("VLLM_TARGET_DEVICE", "cpu")
    from vllm import platforms
    from vllm.platforms.cpu import CpuPlatform

    p = CpuPlatform()
    platforms.current_platform = p
    platforms._current_platform = p


def serve_parser():
    """The `vllm` parser with the serve subcommand, as vllm/entrypoints/cli/main.py builds it."""
    cpu_platform()
    import vllm.entrypoints.cli.serve
    from vllm.utils.argparse_utils import FlexibleArgumentParser

    parser = FlexibleArgumentParser(description="vLLM CLI")
    subparsers = parser.add_subparsers(required=False, dest="subparser")
    (cmd,) = vllm.entrypoints.cli.serve.cmd_init()
    serve = cmd.subparser_init(subparsers)
    serve.set_defaults(dispatch_function=cmd.cmd)
    return parser, serve, cmd


def jsonable(v):
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    if isinstance(v, (list, tuple, set, frozenset)):
        return [jsonable(x) for x in v]
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    if hasattr(v, "value") and isinstance(getattr(v, "value"), (str, int)):
        return v.value  # an enum member
    return repr(v)


def kind(action):
    name = type(action).__name__
    return {
        "_StoreAction": "value",
        "_StoreTrueAction": "true",
        "_StoreFalseAction": "false",
        "_StoreConstAction": "const",
        "_AppendAction": "append",
        "_CountAction": "count",
        "_HelpAction": "help",
        "_VersionAction": "version",
        "BooleanOptionalAction": "boolean",
        "EnableDisableAction": "boolean",
    }.get(name, "value" if action.nargs != 0 else "flag")


def takes_value(action):
    return action.nargs != 0


def type_name(t):
    if t is None:
        return "str"
    return getattr(t, "__name__", None) or type(t).__name__


def option_entry(action, deprecated, registered):
    """One option. `registered`: every spelling the parser accepts for it, including the ones
    vLLM hides from --help (the legacy `--no-enable-x` of a paired `--enable-x/--disable-x`)."""
    shown = list(action.option_strings)
    negative = set(getattr(action, "negative_option_strings", None) or [])
    if type(action).__name__ == "BooleanOptionalAction":
        negative |= {s for s in registered if s.startswith("--no-")}
    positive = [s for s in shown if s not in negative]
    name = next((s for s in positive if s.startswith("--")), positive[0] if positive else shown[0])
    help_text = (action.help or "").strip()
    deprecation = None
    if deprecated or getattr(action, "deprecated", False) is True:
        deprecation = "deprecated"
    if re.search(r"\bis deprecated\b", help_text) or "Deprecated" in type(action).__name__:
        m = re.search(r"[^.]*?\bdeprecated\b.*?\.(?=\s|$)", help_text, re.S)
        deprecation = m.group(0).strip() if m else "deprecated"
    entry = {
        "name": name,
        "aliases": [s for s in positive if s != name],
        "negations": sorted(negative),
        # Accepted but left out of --help (kept for backward compatibility).
        "hidden": sorted(set(registered) - set(shown)),
        "dest": action.dest,
        "kind": kind(action),
        "takesValue": takes_value(action),
        "nargs": jsonable(action.nargs),
        "type": type_name(action.type) if takes_value(action) else None,
        "choices": [jsonable(c) for c in action.choices] if action.choices is not None else None,
        "default": jsonable(action.default) if action.default is not argparse.SUPPRESS else None,
        "required": bool(action.required),
    }
    norm = normalizer(action)
    if norm:
        entry["normalize"] = norm
    if deprecation:
        entry["deprecated"] = deprecation
    return entry


def normalizer(action):
    """How a value is rewritten before vLLM compares it with the choices (None: as written)."""
    t = action.type
    if action.choices is None or t is None or t in (str, int, float):
        return None
    try:
        probe = t("Ab-C")
    except Exception:
        return None
    return {"ab_c": "lower, - to _", "ab-c": "lower", "AB-C": "upper"}.get(probe)


def later_checked():
    """Values vLLM checks after parsing (in its config classes), for options that have no choices."""
    from vllm.config.cache import KV_CACHE_DTYPES
    from vllm.v1.attention.backends.registry import AttentionBackendEnum

    return {
        "--kv-cache-dtype": {
            "values": list(KV_CACHE_DTYPES),
            "normalize": None,
            "source": "vllm/config/cache.py CacheDType (KV_CACHE_DTYPES, with the CPU platform's registrations)",
        },
        "--attention-backend": {
            "values": ["auto", *(e.name for e in AttentionBackendEnum)],
            "normalize": "upper",
            "source": "vllm/config/attention.py AttentionConfig.validate_backend_before (AttentionBackendEnum[value.upper()])",
        },
    }


def deprecated_actions(parser):
    return set(getattr(parser, "_deprecated", set()) or set())


def env_names():
    import vllm.envs as envs

    return sorted(envs.environment_variables.keys())


def env_mentioned_elsewhere(registered):
    """VLLM_* names read with os.environ/os.getenv outside envs.py, per file (relative)."""
    import vllm

    root = Path(vllm.__file__).parent
    read = re.compile(r"""(?:getenv|environ\.get|environ\[|environ\.setdefault|os\.environ\.pop)\(?\s*["'](VLLM_[A-Z0-9_]+)["']""")
    found = {}
    for f in sorted(root.rglob("*.py")):
        rel = f.relative_to(root.parent).as_posix()
        if rel == "vllm/envs.py":
            continue
        try:
            text = f.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for name in read.findall(text):
            if name not in registered:
                found.setdefault(name, rel)
    return dict(sorted(found.items()))


def surface(out_path):
    import importlib.metadata

    import vllm

    _, serve, _ = serve_parser()
    dep = deprecated_actions(serve)
    options = []
    positionals = []
    for a in serve._actions:
        if not a.option_strings:
            positionals.append({"dest": a.dest, "nargs": jsonable(a.nargs), "default": jsonable(a.default)})
            continue
        registered = sorted(k for k, v in serve._option_string_actions.items() if v is a)
        options.append(option_entry(a, a in dep, registered))
    options.sort(key=lambda o: o["name"])
    by_name = {}
    for o in options:
        for s in [o["name"], *o["aliases"], *o["negations"], *o["hidden"]]:
            by_name[s] = o
    for env, r in ENV_REPLACEMENTS.items():
        o = by_name.get(r["option"])
        if o is None or (o["choices"] is not None and r["value"] not in o["choices"]):
            sys.exit(f"vllm-surface: replacement for {env}: {r['option']} {r['value']} is not in vLLM {vllm.__version__}")
    registered = env_names()
    version = vllm.__version__
    rel_out = os.path.relpath(out_path, Path(__file__).resolve().parent.parent)
    doc = {
        "$comment": "Generated from vLLM itself; do not edit. Regenerate: "
        f'"$(scripts/vllm-venv.sh)" scripts/vllm-surface.py {rel_out}',
        "vllm": version,
        "generator": {
            "command": f'"$(scripts/vllm-venv.sh)" scripts/vllm-surface.py {rel_out}',
            "script": "scripts/vllm-surface.py",
            "torch": importlib.metadata.version("torch"),
            "python": ".".join(map(str, sys.version_info[:3])),
            "platform": "cpu (vllm.platforms.cpu.CpuPlatform; platform-dependent defaults are the CPU ones)",
            "parser": "vllm/entrypoints/cli/serve.py ServeSubcommand.subparser_init (make_arg_parser)",
        },
        "serve": {
            "usage": "vllm serve [model_tag] [options]",
            "positionals": positionals,
            "allowAbbrev": bool(serve.allow_abbrev),
            "options": options,
            "laterChecked": later_checked(),
        },
        "env": {
            "source": "vllm/envs.py environment_variables",
            "names": registered,
            "readElsewhere": env_mentioned_elsewhere(set(registered)),
            "replacements": ENV_REPLACEMENTS,
            "hints": ENV_HINTS,
        },
    }
    Path(out_path).parent.mkdir(parents=True, exist_ok=True)
    Path(out_path).write_text(json.dumps(doc, indent=1) + "\n")
    print(f"vllm-surface: vLLM {version}: {len(options)} serve options, {len(registered)} env names -> {out_path}", file=sys.stderr)


def config_checks(engine):
    """The checks vLLM's config classes make after parsing that need no model files: the KV cache
    dtype and block size (CacheConfig) and the attention backend (AttentionConfig). The rest of
    create_engine_config reads the model's config from the hub, which the tests do not reach."""
    from vllm.config import AttentionConfig, CacheConfig

    CacheConfig(cache_dtype=engine.kv_cache_dtype, block_size=engine.block_size)
    if engine.attention_backend is not None:
        AttentionConfig(backend=engine.attention_backend)


def parse_many(argvs):
    """What vLLM's own parser makes of each `vllm serve ...` argv: the engine args, or the error."""
    parser, _, cmd = serve_parser()
    import io
    import logging
    from contextlib import redirect_stderr

    import vllm

    logging.disable(logging.WARNING)
    out = []
    for argv in argvs:
        if argv[:2] != ["vllm", "serve"]:
            out.append({"ok": False, "error": f"not a vllm serve argv: {argv[:2]}"})
            continue
        err = io.StringIO()
        try:
            with redirect_stderr(err):
                args = parser.parse_args(argv[1:])
                cmd.validate(args)
        except SystemExit:
            out.append({"ok": False, "error": (err.getvalue().strip().splitlines() or ["exit"])[-1]})
            continue
        except (ValueError, TypeError) as e:
            out.append({"ok": False, "error": f"{type(e).__name__}: {e}"})
            continue
        if getattr(args, "model_tag", None) is not None:
            args.model = args.model_tag  # as ServeSubcommand.cmd does
        engine = vllm.AsyncEngineArgs.from_cli_args(args)
        try:
            config_checks(engine)
        except Exception as e:  # pydantic's ValidationError, KeyError from an enum lookup
            out.append({"ok": False, "error": f"{type(e).__name__}: {' '.join(str(e).split())}"})
            continue
        fields = {k: jsonable(v) for k, v in vars(engine).items()}
        out.append({"ok": True, "engine": fields, "headless": bool(args.headless)})
    print(json.dumps({"vllm": vllm.__version__, "results": out, "envs": env_names()}))


def main():
    if sys.argv[1:] == ["parse"]:
        return parse_many(json.load(sys.stdin))
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    return surface(sys.argv[1])


if __name__ == "__main__":
    main()
