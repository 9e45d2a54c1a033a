"""Version order for packages: dpkg's for OS packages, semver / PEP 440 / Maven read
through the same tokeniser for libraries, Trivy's `fixed_version` lists and recorded
version constraints. It knows nothing of the twin, so any connector can use it."""

from __future__ import annotations

import re

# Package types whose versions compare as dpkg does (epoch:upstream-revision).
OS_TYPES = {"deb", "rpm", "apk", "alpm", "opkg"}
_PRE_MARKER = re.compile(r"(?<=[0-9])[.-]?(alpha|beta|preview|pre|rc|a|b|c|dev)(?=[0-9]|$)", re.IGNORECASE)
_DIGITS = "0123456789"


def _order(c: str) -> int:
    if c in _DIGITS:
        return 0
    if c.isalpha():
        return ord(c)
    if c == "~":
        return -1
    return ord(c) + 256


def _verrevcmp(a: str, b: str) -> int:
    """dpkg's comparison of one version part: runs of non-digits compared character by
    character (letters before other marks, `~` before everything, even the end), runs
    of digits compared as numbers."""
    i = j = 0
    while i < len(a) or j < len(b):
        while (i < len(a) and a[i] not in _DIGITS) or (j < len(b) and b[j] not in _DIGITS):
            ac = _order(a[i]) if i < len(a) else 0
            bc = _order(b[j]) if j < len(b) else 0
            if ac != bc:
                return -1 if ac < bc else 1
            i += 1
            j += 1
        while i < len(a) and a[i] == "0":
            i += 1
        while j < len(b) and b[j] == "0":
            j += 1
        first_diff = 0
        while i < len(a) and a[i] in _DIGITS and j < len(b) and b[j] in _DIGITS:
            if not first_diff and a[i] != b[j]:
                first_diff = -1 if a[i] < b[j] else 1
            i += 1
            j += 1
        if i < len(a) and a[i] in _DIGITS:
            return 1
        if j < len(b) and b[j] in _DIGITS:
            return -1
        if first_diff:
            return first_diff
    return 0


def _split_debian(v: str) -> tuple[int, str, str]:
    epoch = 0
    m = re.match(r"^(\d+):(.*)$", v)
    if m:
        epoch, v = int(m.group(1)), m.group(2)
    upstream, sep, revision = v.rpartition("-")
    if not sep:
        upstream, revision = v, ""
    return epoch, upstream, revision


def _normalise_lang(v: str) -> str:
    """Library versions (semver, PEP 440, Maven): build metadata ignored, a pre-release
    (`-rc.1`, `rc1`, `.dev0`, `-SNAPSHOT`) made to sort before its release with dpkg's
    `~`; a purely numeric qualifier (`1.0-1`) is a further release number."""
    v = v.strip()
    if v[:1] in "vV" and v[1:2].isdigit():
        v = v[1:]
    v = v.split("+", 1)[0]
    main, sep, pre = v.partition("-")
    if sep:
        v = f"{main}.{pre}" if pre.replace(".", "").isdigit() else f"{main}~{pre}"
    return _PRE_MARKER.sub(lambda m: "~" + m.group(1).lower(), v)


def compare_versions(a: str, b: str, ecosystem: str | None = None) -> int:
    """-1, 0 or 1. OS packages (deb, rpm, apk) compare as dpkg does (epoch, upstream,
    revision); everything else as semver-ish text through the same tokeniser."""
    a, b = str(a).strip(), str(b).strip()
    if (ecosystem or "").lower() in OS_TYPES:
        ea, ua, ra = _split_debian(a)
        eb, ub, rb = _split_debian(b)
        if ea != eb:
            return -1 if ea < eb else 1
        return _verrevcmp(ua, ub) or _verrevcmp(ra, rb)
    return _verrevcmp(_normalise_lang(a), _normalise_lang(b))


def release_numbers(v: str) -> list[int]:
    """The leading numeric release parts (`1:2.4.51-1` -> [2, 4, 51, 1]): branches and majors."""
    v = re.sub(r"^\d+:", "", v.strip())
    v = v[1:] if v[:1] in "vV" else v
    out = []
    for part in re.split(r"[.\-+~_]", v):
        m = re.match(r"\d+", part)
        if not m:
            break
        out.append(int(m.group()))
    return out


def _branch(v: str) -> tuple[int, ...]:
    return tuple(release_numbers(v)[:2])


def fixed_in(version: str, fixed_version: str | None, ecosystem: str | None = None) -> bool | None:
    """Does `version` carry the fix Trivy names in `fixed_version` (one version, or a
    comma-separated list, one per release branch)? None when that cannot be told.

    With several fixes, the one on `version`'s branch (major.minor) decides; a version
    newer than every fix has it, one older than every fix has not, one between branches
    is unknown (its branch may never have been fixed)."""
    if not fixed_version:
        return None
    fixes = [f for f in (x.strip() for x in re.split(r"[,|\s]+", fixed_version)) if f]
    fixes = [f for f in fixes if re.search(r"\d", f)]
    if not fixes:
        return None
    same = [f for f in fixes if _branch(f) == _branch(version)]
    if same:
        return any(compare_versions(version, f, ecosystem) >= 0 for f in same)
    cmp = [compare_versions(version, f, ecosystem) for f in fixes]
    if all(c >= 0 for c in cmp):
        return True
    if all(c < 0 for c in cmp):
        return False
    return None


_OP = re.compile(r"^(===|==|!=|~=|>=|<=|>|<|=|\^|~)?\s*(.+)$")


def _wild_range(ver: str) -> tuple[str | None, str | None] | None:
    """`1.2.*`, `1.x`, `*` -> (lower inclusive, upper exclusive); None if not a wildcard."""
    parts = re.split(r"\.", ver)
    if not any(p in ("*", "x", "X") for p in parts):
        return None
    fixed = []
    for p in parts:
        if p in ("*", "x", "X"):
            break
        if not p.isdigit():
            return None
        fixed.append(int(p))
    if not fixed:
        return None, None
    upper = fixed[:-1] + [fixed[-1] + 1]
    return ".".join(map(str, fixed)), ".".join(map(str, upper))


def _comparator(token: str, version: str, eco: str | None) -> bool | None:
    m = _OP.match(token.strip())
    if not m:
        return None
    op, ver = m.group(1) or "", m.group(2).strip()
    if not re.search(r"\d|\*|^[xX]$", ver):
        return None
    wild = _wild_range(ver)
    if wild is not None:
        lo, hi = wild
        inside = (lo is None or compare_versions(version, lo, eco) >= 0) and (
            hi is None or compare_versions(version, hi, eco) < 0)
        return (not inside) if op == "!=" else inside
    cmp = compare_versions(version, ver, eco)
    nums = release_numbers(ver)
    if op == "^":
        if not nums:
            return None
        idx = next((i for i, n in enumerate(nums) if n != 0), len(nums) - 1)
        upper = nums[: idx + 1]
        upper[-1] += 1
        return cmp >= 0 and compare_versions(version, ".".join(map(str, upper)), eco) < 0
    if op in ("~", "~="):
        if not nums:
            return None
        keep = nums[:-1] if op == "~=" and len(nums) > 1 else nums[: max(1, min(2, len(nums)))]
        if op == "~" and len(nums) == 1:
            keep = nums[:1]
        upper = keep[:-1] + [keep[-1] + 1] if op == "~" else keep[:-1] + [keep[-1] + 1]
        if op == "~" and len(nums) >= 2:
            upper = [nums[0], nums[1] + 1]
        return cmp >= 0 and compare_versions(version, ".".join(map(str, upper)), eco) < 0
    return {"": cmp == 0, "=": cmp == 0, "==": cmp == 0, "===": cmp == 0, "!=": cmp != 0,
            ">=": cmp >= 0, "<=": cmp <= 0, ">": cmp > 0, "<": cmp < 0}[op]


_INTERVAL = re.compile(r"([\[(])\s*([^,\])]*?)\s*(?:,\s*([^\])]*?)\s*)?([\])])")


def satisfies(version: str, constraint: str | None, ecosystem: str | None = None) -> bool | None:
    """Does `version` meet a recorded version constraint? npm ranges (`^1.2`, `~1.2.3`,
    `1.x`, `a - b`, `||`), PEP 440 specifiers (`>=1.0,<2`, `~=1.4`), Maven / NuGet
    intervals (`[1.0,2.0)`). None when the constraint cannot be read."""
    if constraint is None or not str(constraint).strip():
        return None
    text = str(constraint).strip()
    results = []
    for alt in text.split("||"):
        alt = alt.strip()
        if not alt:
            continue
        if alt[0] in "[(":
            found = list(_INTERVAL.finditer(alt))
            if not found:
                return None
            ok = False
            for m in found:
                lo_b, lo, hi, hi_b = m.group(1), m.group(2), m.group(3), m.group(4)
                if hi is None:  # [1.0] exact
                    ok |= compare_versions(version, lo, ecosystem) == 0
                    continue
                good = True
                if lo:
                    c = compare_versions(version, lo, ecosystem)
                    good &= c > 0 or (c == 0 and lo_b == "[")
                if hi:
                    c = compare_versions(version, hi, ecosystem)
                    good &= c < 0 or (c == 0 and hi_b == "]")
                ok |= good
            results.append(ok)
            continue
        hyphen = re.match(r"^(\S+)\s+-\s+(\S+)$", alt)
        if hyphen:
            alt = f">={hyphen.group(1)} <={hyphen.group(2)}"
        alt = re.sub(r"(===|==|!=|~=|>=|<=|>|<|=|\^|~)\s+", r"\1", alt)
        tokens = [t for t in re.split(r"[,\s]+", alt) if t]
        if not tokens:
            return None
        if (ecosystem or "").lower() == "maven" and len(tokens) == 1 and _OP.match(tokens[0]).group(1) is None:
            results.append(True)  # a bare Maven version is a soft requirement
            continue
        verdicts = [_comparator(t, version, ecosystem) for t in tokens]
        if any(v is None for v in verdicts):
            return None
        results.append(all(verdicts))
    if not results:
        return None
    return any(results)

