"""A plan file's text -> plain data: YAML (python3-yaml), TOML (tomllib) or JSON.

YAML is read with yaml.safe_load's rules but without YAML 1.1's base-60 numbers, so a MAC such
as 12:34:56:00:00:01 stays a string, and with duplicate keys refused. Errors name the file and
the line. The YAML and TOML modules are imported only when such a plan is read: JSON plans need
nothing beyond the standard library's core (the test VM image carries no more).
"""

import json
import re

from .errors import VswError

INT = re.compile(r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)"
                 r"|[-+]?0x[0-9a-fA-F_]+)$")
FLOAT = re.compile(r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?"
                   r"|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$")
_loader = None


def yaml_loader():
    """yaml.SafeLoader without sexagesimal ints/floats and with duplicate keys refused."""
    global _loader
    if _loader is None:
        try:
            import yaml
        except ImportError:
            raise VswError("YAML plans need python3-yaml (apt install python3-yaml); "
                           "or write the plan as JSON") from None
        int_tag, float_tag = "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"

        class PlanLoader(yaml.SafeLoader):
            def construct_mapping(self, node, deep=False):
                seen = set()  # safe_load keeps the last of two equal keys silently
                for key_node, _ in node.value:
                    key = self.construct_object(key_node, deep=deep)
                    if isinstance(key, (str, int)) and key in seen:
                        raise yaml.constructor.ConstructorError(
                            None, None, f"duplicate key '{key}'", key_node.start_mark)
                    if isinstance(key, (str, int)):
                        seen.add(key)
                return super().construct_mapping(node, deep)

        PlanLoader.yaml_implicit_resolvers = {
            first: [(tag, rx) for tag, rx in resolvers if tag not in (int_tag, float_tag)]
            for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
        PlanLoader.add_implicit_resolver(float_tag, FLOAT, list("-+0123456789."))
        PlanLoader.add_implicit_resolver(int_tag, INT, list("-+0123456789"))
        _loader = (yaml, PlanLoader)
    return _loader


def load_yaml(text, name):
    yaml, loader = yaml_loader()
    try:
        return yaml.load(text, Loader=loader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f"line {mark.line + 1}: " if mark else ""
        raise VswError(f"{name}: bad YAML at {where}{e.problem or e.context}") from None
    except yaml.YAMLError as e:
        raise VswError(f"{name}: bad YAML: {str(e).splitlines()[0]}") from None


def load_toml(text, name):
    import tomllib
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:  # its message ends "(at line N, column M)"
        raise VswError(f"{name}: bad TOML: {e}") from None


def parse(text, name):
    """Plain data from a plan's text; the format from the name (.toml, .json) or the text."""
    if name.endswith(".toml"):
        return load_toml(text, name)
    if name.endswith(".json") or text.lstrip().startswith("{"):
        try:
            return json.loads(text)
        except json.JSONDecodeError as e:
            raise VswError(f"{name}: bad JSON at line {e.lineno}: {e.msg}") from None
    return load_yaml(text, name)
