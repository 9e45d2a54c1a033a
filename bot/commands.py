"""The chat command language: `help`, `status`, `investigate ALERT_ID | <JSON> | <attached file>`,
`paths FROM [TO]`, `whatif ACTION ...`, `approve ID` / `deny ID`, parsed robustly to quoting, code
fences, pasted JSON over many lines and the typography chat clients add. Apart from the bot so the
parser is tested (and fuzzed) on text alone; bot.core re-exports it."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from typing import Any

from graph.whatif.grammar import ARITY as WHATIF_ARITY
from graph.whatif.grammar import RANK_OPTIONS
from graph.whatif.grammar import USAGE as WHATIF_USAGE

COMMANDS = ("help", "status", "investigate", "paths", "whatif", "approve", "deny")
# `whatif` words follow the CLI's grammar (graph/whatif/grammar.py, contract section 7).


class ParseError(ValueError):
    """A command the bot understood well enough to say what is wrong with it."""


@dataclass(frozen=True)
class Command:
    name: str
    args: tuple[str, ...] = ()
    alert: dict[str, Any] | None = None  # investigate with pasted JSON


# What phones and rich-text editors do to typed quotes and spaces.
_TYPOGRAPHY = str.maketrans(
    {
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u2033": '"',
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u00a0": " ",
        "\u2007": " ",
        "\u202f": " ",
        "\u200b": "",
        "\u2060": "",
        "\ufeff": "",
    }
)
_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[ \t]*\n?(.*?)```", re.S)


def strip_fences(text: str) -> str:
    """The inside of ``` fences (and a language tag such as `json`), else the text itself.

    Chat clients wrap pasted code in fences, sometimes inline (```{...}```) and
    sometimes on their own lines; an unclosed fence is taken as running to the end.
    """
    stripped = text.strip()
    match = _FENCE.search(stripped)
    if match:
        lang, body = match.group(1), match.group(2)
        # "```json" then newline: a tag. "```{...}```": no tag, the body starts at once.
        if lang and not body.strip():
            body, lang = lang, ""
        return body.strip()
    if stripped.startswith("```"):
        body = stripped[3:]
        first, _, rest = body.partition("\n")
        if re.fullmatch(r"[A-Za-z0-9_+-]*", first.strip()) and rest:
            body = rest
        return body.strip()
    if stripped.startswith("`") and stripped.endswith("`") and len(stripped) >= 2:
        return stripped.strip("`").strip()
    return stripped


def split_args(text: str) -> list[str]:
    """Shell-like words: quotes group, but backslashes stay (`CORP\\alice` is a name)."""
    lexer = shlex.shlex(text.translate(_TYPOGRAPHY), posix=True)
    lexer.whitespace_split = True
    lexer.commenters = ""
    lexer.escape = ""
    try:
        return list(lexer)
    except ValueError as exc:
        raise ParseError(f"cannot split the arguments: {str(exc).lower()}") from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_alert_json(text: str, max_bytes: int) -> dict[str, Any]:
    """One alert object from pasted text or a file (JSON, or JSON Lines of one record)."""
    if len(text.encode("utf-8", "replace")) > max_bytes:
        raise ParseError(f"the alert is larger than {max_bytes} bytes")
    body = strip_fences(text)
    last_error: Exception | None = None
    for candidate in (body, body.translate(_TYPOGRAPHY)):
        try:
            doc = json.loads(candidate, parse_constant=_reject_constant)
            break
        except json.JSONDecodeError as exc:
            last_error = exc
            lines = [ln for ln in candidate.splitlines() if ln.strip()]
            if len(lines) > 1 and all(ln.lstrip().startswith("{") for ln in lines):
                raise ParseError("that holds several JSON records: investigate one alert at a time") from None
        except (ValueError, RecursionError) as exc:
            last_error = exc
    else:
        if isinstance(last_error, json.JSONDecodeError):
            raise ParseError(
                f"the alert is not valid JSON: {last_error.msg} at line {last_error.lineno} "
                f"column {last_error.colno}"
            ) from None
        raise ParseError(f"the alert is not valid JSON: {last_error}") from None
    if isinstance(doc, list):
        objects = [d for d in doc if isinstance(d, dict)]
        if len(doc) == 1 and objects:
            doc = objects[0]
        else:
            raise ParseError("give one alert object, not a list of several")
    if not isinstance(doc, dict):
        raise ParseError("the alert must be a JSON object")
    if not doc:
        raise ParseError("the alert is an empty object")
    return doc


def _check_whatif(args: list[str]) -> list[str]:
    if not args:
        raise ParseError("whatif needs an action: " + ", ".join(WHATIF_USAGE))
    action = args[0].lower()
    argv = [action, *args[1:]]
    if action == "rank":
        rest = args[1:]
        target, top = None, None
        i = 0
        while i < len(rest):
            word = rest[i]
            name, eq, value = word.partition("=")
            if name in RANK_OPTIONS:
                if not eq:
                    if i + 1 >= len(rest):
                        raise ParseError(f"{name} needs a value: whatif {WHATIF_USAGE['rank']}")
                    value = rest[i + 1]
                    i += 1
                if name == "--target":
                    target = value
                else:
                    if not value.isdigit() or int(value) < 1:
                        raise ParseError("--top takes a positive whole number")
                    top = value
            else:
                raise ParseError(f"unexpected {word!r}: whatif {WHATIF_USAGE['rank']}")
            i += 1
        if not target:
            raise ParseError(f"whatif {WHATIF_USAGE['rank']}")
        return ["rank", "--target", target] + (["--top", top] if top else [])
    if action not in WHATIF_ARITY:
        raise ParseError(f"unknown what-if action {args[0]!r}; one of: " + ", ".join(WHATIF_USAGE))
    if len(argv) - 1 != WHATIF_ARITY[action]:
        raise ParseError(f"usage: whatif {WHATIF_USAGE[action]}")
    return argv


def parse_command(text: str, *, max_json_bytes: int = 1_000_000) -> Command:
    """Parse a command (prefix or mention already removed by the transport).

    Raises ParseError with a message meant for the person who typed it.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n").translate(_TYPOGRAPHY).strip()
    if not text:
        return Command("help")
    head = re.match(r"\S+", text)
    assert head is not None
    verb = head.group(0).lower().lstrip("/")
    rest = text[head.end() :].strip()
    if verb not in COMMANDS:
        raise ParseError(f"unknown command {clip_word(verb)!r}; try `help`")
    if verb in ("help", "status"):
        return Command(verb)
    if verb == "investigate":
        body = strip_fences(rest) if rest else ""
        if not body:
            return Command("investigate")  # the alert comes as an attached file
        if body[0] in "{[":
            return Command("investigate", alert=parse_alert_json(body, max_json_bytes))
        words = split_args(body)
        if len(words) != 1:
            raise ParseError("investigate takes one alert id, a pasted alert JSON or an attached file")
        return Command("investigate", args=(words[0],))
    words = split_args(rest)
    if verb == "paths":
        if not 1 <= len(words) <= 2:
            raise ParseError("usage: paths FROM [TO]")
        return Command("paths", args=tuple(words))
    if verb == "whatif":
        return Command("whatif", args=tuple(_check_whatif(words)))
    # approve / deny: the id may be left out when replying to the prompt itself.
    if len(words) > 1:
        raise ParseError(f"usage: {verb} ACTION_ID")
    return Command(verb, args=tuple(words))


def clip_word(word: str, limit: int = 40) -> str:
    return word if len(word) <= limit else word[:limit] + "…"
