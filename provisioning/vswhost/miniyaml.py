"""A parser for the small YAML subset a plan needs (Python's standard library has no YAML).

Supported: block mappings (`key: value`, `key:` + indented block), block sequences (`- value`,
`- key: value` starting a mapping, `-` + indented block), comments (`# ...`), a leading `---`,
and scalars: 'single' or "double" quoted strings, integers, true/false/yes/no/on/off, null/~,
flow lists of scalars `[a, b]`, `{}` and `[]`; anything else is a plain string (so a MAC such as
02:00:00:00:01:00 stays a string, unlike YAML 1.1's base-60 numbers).
Not supported (an error names the line): anchors/aliases, tags, block scalars (| >), flow
mappings with content, multiple documents, tabs for indentation.
"""

import re

KEY_RE = re.compile(r"^([A-Za-z0-9_.\-]+|\"[^\"]*\"|'[^']*')\s*:(?:\s+(.*))?$")
BOOLS = {"true": True, "yes": True, "on": True, "false": False, "no": False, "off": False}


class YamlError(ValueError):
    pass


def _strip_comment(text):
    quote = None
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or text[i - 1] in " \t"):
            return text[:i].rstrip()
    return text.rstrip()


def _lines(text):
    out = []
    for number, raw in enumerate(text.splitlines(), 1):
        body = _strip_comment(raw)
        if not body.strip() or (not out and body.strip() == "---"):
            continue
        stripped = body.lstrip(" ")
        if stripped.startswith("\t"):
            raise YamlError(f"line {number}: tabs are not allowed for indentation")
        if stripped[0] in "&*!|>" or stripped.startswith("---"):
            raise YamlError(f"line {number}: '{stripped[:20]}' is outside the supported YAML subset")
        out.append([len(body) - len(stripped), stripped, number])
    return out


def scalar(text, number=0):
    t = text.strip()
    if not t:
        return None
    if t[0] in "'\"":
        if len(t) < 2 or t[-1] != t[0]:
            raise YamlError(f"line {number}: unterminated quoted string {t}")
        body = t[1:-1]
        return body.replace("''", "'") if t[0] == "'" else \
            body.encode().decode("unicode_escape")
    if t[0] in "&*!|>":
        raise YamlError(f"line {number}: '{t[:20]}' is outside the supported YAML subset")
    if t == "{}":
        return {}
    if t[0] == "{":
        raise YamlError(f"line {number}: flow mappings are not supported; use a block mapping")
    if t[0] == "[":
        if t[-1] != "]":
            raise YamlError(f"line {number}: unterminated list {t}")
        inner = t[1:-1].strip()
        return [scalar(x, number) for x in inner.split(",")] if inner else []
    if re.fullmatch(r"[-+]?\d+", t):
        return int(t)
    if t.lower() in BOOLS:
        return BOOLS[t.lower()]
    if t in ("null", "Null", "NULL", "~"):
        return None
    return t


def _is_item(text):
    return text == "-" or text.startswith("- ")


def _block(lines, i, indent):
    if _is_item(lines[i][1]):
        return _sequence(lines, i, indent)
    return _mapping(lines, i, indent)


def _child(lines, i, indent, number, allow_same_seq=False):
    """Value of a `key:` or `-` with nothing after it: the indented block below, or null."""
    if i < len(lines) and (lines[i][0] > indent or
                           (allow_same_seq and lines[i][0] == indent and _is_item(lines[i][1]))):
        return _block(lines, i, lines[i][0])
    return None, i


def _sequence(lines, i, indent):
    out = []
    while i < len(lines) and lines[i][0] == indent and _is_item(lines[i][1]):
        _, text, number = lines[i]
        rest = text[1:].lstrip(" ")
        if not rest:
            value, i = _child(lines, i + 1, indent, number)
        elif KEY_RE.match(rest) or _is_item(rest):
            lines[i] = [indent + len(text) - len(rest), rest, number]
            value, i = _block(lines, i, lines[i][0])
        else:
            value, i = scalar(rest, number), i + 1
        out.append(value)
    if i < len(lines) and lines[i][0] > indent:
        raise YamlError(f"line {lines[i][2]}: unexpected indentation")
    return out, i


def _mapping(lines, i, indent):
    out = {}
    while i < len(lines) and lines[i][0] == indent and not _is_item(lines[i][1]):
        _, text, number = lines[i]
        m = KEY_RE.match(text)
        if not m:
            raise YamlError(f"line {number}: expected 'key: value', got '{text[:40]}'")
        key = scalar(m.group(1), number) if m.group(1)[0] in "'\"" else m.group(1)
        if key in out:
            raise YamlError(f"line {number}: duplicate key '{key}'")
        if m.group(2):
            out[key], i = scalar(m.group(2), number), i + 1
        else:
            out[key], i = _child(lines, i + 1, indent, number, allow_same_seq=True)
    if i < len(lines) and lines[i][0] > indent:
        raise YamlError(f"line {lines[i][2]}: unexpected indentation")
    return out, i


def loads(text):
    """Parse TEXT (the subset above) into dicts, lists and scalars."""
    lines = _lines(text)
    if not lines:
        return None
    if lines[0][0] != 0:
        raise YamlError(f"line {lines[0][2]}: the document must start at column 0")
    value, i = _block(lines, 0, 0)
    if i < len(lines):
        raise YamlError(f"line {lines[i][2]}: unexpected content '{lines[i][1][:40]}'")
    return value
