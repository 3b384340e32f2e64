#!/usr/bin/env python3
"""lint_arch.py: finds architecture-specific code outside its architecture's preprocessor guards.

    python3 Tests/KernelsC/lint_arch.py              # scans Sources/, Tests/, examples/, fuzz/
    python3 Tests/KernelsC/lint_arch.py DIR_OR_FILE...
    python3 Tests/KernelsC/lint_arch.py --self-test  # must flag deliberately unguarded snippets

Exit status 0 when nothing is found, 1 when something is (one line per finding), 2 on misuse.

What it looks for, in C and C headers (.c, .h) and Swift (.swift), comments and string literals
left out:

  x86   __m128/__m256/__m512 types, _mm_/_mm256_/_mm512_ intrinsics, <immintrin.h> and the other
        <*intrin.h> x86 headers, <cpuid.h>, __get_cpuid/__cpuid, __builtin_ia32_*, xgetbv,
        target("avx...") / target("sse...") / target("fma...") attributes, Swift's
        _Builtin_intrinsics.intel
  ARM   <arm_neon.h>, <arm_acle.h>, NEON vector types (float32x4_t, int8x16_t, ...), NEON
        intrinsics (vdotq_s32, vld1q_f32, ...), HWCAP_ASIMD*, __builtin_neon*, target("dotprod")
        and other ARM feature attributes
  any   inline assembly (asm, __asm__): it is always some architecture's

Each finding must sit inside a conditional that selects its architecture: C `#if`/`#elif` with
`defined(__x86_64__)`, `__i386__`, `_M_X64`, `__SSE2__`, `__AVX2__`, ... (x86) or `__aarch64__`,
`__ARM_NEON`, `__arm64__`, `_M_ARM64` (ARM), not negated, or with a macro that the scanned files
define to a nonzero value only under such a guard (RNNK_X86_VARIANTS, RNNK_NEON_VARIANTS: found,
not listed); Swift `#if arch(x86_64)` / `arch(i386)` or `arch(arm64)`. The `#else` of a guard is
not guarded. Inline assembly needs either guard.
"""

import os
import re
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_DIRS = ["Sources", "Tests", "examples", "fuzz"]
EXTENSIONS = (".c", ".h", ".swift")

X86_MACROS = ["__x86_64__", "__x86_64", "__amd64__", "__amd64", "__i386__", "__i386", "_M_X64", "_M_IX86",
              "_M_AMD64", "__SSE__", "__SSE2__", "__AVX__", "__AVX2__", "__AVX512F__", "__FMA__"]
ARM_MACROS = ["__aarch64__", "__arm64__", "__arm64", "_M_ARM64", "__ARM_NEON", "__ARM_NEON__", "__arm__",
              "__ARM_ARCH", "__ARM_FEATURE_DOTPROD"]

X86_PATTERNS = [
    (r"\b__m(64|128|256|512)[a-z]*\b", "x86 vector type"),
    (r"\b_mm(256|512)?_\w+", "x86 intrinsic"),
    (r"#\s*include\s*[<\"](x86|imm|emm|xmm|pmm|tmm|smm|nmm|wmm|amm|avx\w*|zmm|ia32)intrin\.h[>\"]", "x86 intrinsics header"),
    (r"#\s*include\s*[<\"]cpuid\.h[>\"]", "x86 cpuid header"),
    (r"\b__get_cpuid(_count|_max)?\b|\b__cpuid(_count)?\b", "x86 cpuid"),
    (r"\b__builtin_ia32_\w+", "x86 builtin"),
    (r"\b_?xgetbv\b", "x86 xgetbv"),
    (r"\btarget\s*\(\s*\"[^\"]*\b(avx|sse|fma|bmi|f16c|popcnt|vnni|amx)", "x86 target attribute"),
    (r"\b_Builtin_intrinsics\.intel\b", "x86 intrinsics module"),
]
ARM_PATTERNS = [
    (r"#\s*include\s*[<\"]arm_(neon|acle|sve|fp16|bf16)\.h[>\"]", "ARM intrinsics header"),
    (r"\b(u?int|float|poly|bfloat)(8|16|32|64)x(1|2|4|8|16)(x[234])?_t\b", "NEON vector type"),
    (r"\bv[a-z0-9]+q?_(s|u|f|p|bf)(8|16|32|64)\b|\bv[a-z]+q?_lane[q]?_\w+", "NEON intrinsic"),
    (r"\bHWCAP2?_(ASIMD\w*|SVE\w*|FP\b|CRC32|AES|SHA\w*)", "ARM hardware capability"),
    (r"\b__builtin_(neon|arm|aarch64)_\w+", "ARM builtin"),
    (r"\btarget\s*\(\s*\"[^\"]*(dotprod|\+simd|\bneon\b|armv8|\bsve|i8mm|fp16fml|\+fp16)", "ARM target attribute"),
]
ASM_PATTERNS = [
    (r"\b(__asm__|__asm|asm)\s*(volatile|__volatile__|goto)?\s*\(", "inline assembly"),
]


# ---------------------------------------------------------------------------------------------
# Comments and literals out, line structure kept.

def strip_c(text):
    """C and Swift: comments and string/char literals replaced by spaces (newlines kept).
    #include lines keep their <...> or "..." so the header patterns still see them."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c in "\"'":
            # An #include "file" keeps its name (see above).
            line_start = text.rfind("\n", 0, i) + 1
            if c == '"' and re.match(r"\s*#\s*include\s*$", text[line_start:i]):
                j = text.find('"', i + 1)
                j = n if j < 0 else j + 1
                out.append(text[i:j])
                i = j
                continue
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            # Keep a literal's text where an attribute takes it: target("avx2") must stay visible.
            before = text[max(0, i - 40):i]
            if re.search(r"\btarget\s*\(\s*$", before):
                out.append(text[i:j])
            else:
                out.append(c + " " * max(0, j - i - 2) + (c if j - i >= 2 else ""))
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def joined_lines(text):
    """Lines with backslash continuations joined (each piece keeps the first line's number)."""
    lines, result, start, buf = text.split("\n"), [], None, ""
    for number, line in enumerate(lines, 1):
        if start is None:
            start = number
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        result.append((start, buf + line))
        start, buf = None, ""
    if buf:
        result.append((start, buf))
    return result


# ---------------------------------------------------------------------------------------------
# Guards.

def mentions(condition, macros):
    """Whether `condition` requires one of `macros` (named without a `!` before it)."""
    for m in macros:
        for match in re.finditer(r"(!\s*)?(defined\s*\(?\s*)?\b" + re.escape(m) + r"\b", condition):
            if not match.group(1):
                return True
    return False


def c_regions(lines, x86, arm):
    """Per line, the guards in force: a set of {"x86", "arm"}. Also yields #define lines with
    their guards, for finding guard macros. `lines` are (number, text) with comments stripped."""
    stack = []  # per open conditional: the set of guards its current branch adds
    result = []
    for number, text in lines:
        m = re.match(r"\s*#\s*(if|ifdef|ifndef|elif|else|endif)\b(.*)", text)
        if m:
            kind, condition = m.group(1), m.group(2)
            if kind == "ifndef":
                condition = "!" + condition.strip()
            if kind in ("if", "ifdef", "ifndef"):
                stack.append(branch_guards(condition, x86, arm))
            elif kind == "elif" and stack:
                stack[-1] = branch_guards(condition, x86, arm)
            elif kind == "else" and stack:
                stack[-1] = set()
            elif kind == "endif" and stack:
                stack.pop()
        in_force = set().union(*stack) if stack else set()
        result.append((number, text, in_force))
    return result


def branch_guards(condition, x86, arm):
    guards = set()
    if mentions(condition, x86):
        guards.add("x86")
    if mentions(condition, arm):
        guards.add("arm")
    return guards


def swift_regions(lines):
    stack, result = [], []
    for number, text in lines:
        m = re.match(r"\s*#(if|elseif|else|endif)\b(.*)", text)
        if m:
            kind, condition = m.group(1), m.group(2)
            guards = set()
            for arch, name in (("x86_64", "x86"), ("i386", "x86"), ("arm64", "arm"), ("arm", "arm")):
                for match in re.finditer(r"(!\s*)?arch\(\s*" + arch + r"\s*\)", condition):
                    if not match.group(1):
                        guards.add(name)
            if kind == "if":
                stack.append(guards)
            elif kind == "elseif" and stack:
                stack[-1] = guards
            elif kind == "else" and stack:
                stack[-1] = set()
            elif kind == "endif" and stack:
                stack.pop()
        result.append((number, text, set().union(*stack) if stack else set()))
    return result


def guard_macros(sources):
    """Macros the C files define nonzero only under an x86 (or ARM) guard: (x86 set, arm set).
    Iterated, since one such macro can guard the next."""
    x86, arm = set(X86_MACROS), set(ARM_MACROS)
    while True:
        definitions = {}  # name -> list of (nonzero, guards)
        for path, lines in sources:
            if path.endswith(".swift"):
                continue
            for _, text, guards in c_regions(lines, x86, arm):
                m = re.match(r"\s*#\s*define\s+(\w+)\b(?!\()\s*(.*)", text)
                if m:
                    value = m.group(2).strip()
                    nonzero = value not in ("0", "(0)")
                    definitions.setdefault(m.group(1), []).append((nonzero, guards))
        new_x86, new_arm = set(x86), set(arm)
        for name, defs in definitions.items():
            live = [g for nonzero, g in defs if nonzero]
            if live and all("x86" in g for g in live):
                new_x86.add(name)
            if live and all("arm" in g for g in live):
                new_arm.add(name)
        if new_x86 == x86 and new_arm == arm:
            return x86, arm
        x86, arm = new_x86, new_arm


# ---------------------------------------------------------------------------------------------

def findings_in(sources):
    x86, arm = guard_macros(sources)
    found = []
    for path, lines in sources:
        regions = swift_regions(lines) if path.endswith(".swift") else c_regions(lines, x86, arm)
        for number, text, guards in regions:
            # The guard lines themselves name macros, never constructs.
            if re.match(r"\s*#\s*(if|ifdef|ifndef|elif|elseif|else|endif)\b", text):
                continue
            for patterns, need in ((X86_PATTERNS, "x86"), (ARM_PATTERNS, "arm"), (ASM_PATTERNS, None)):
                for pattern, what in patterns:
                    match = re.search(pattern, text)
                    if not match:
                        continue
                    ok = (need in guards) if need else bool(guards)
                    if not ok:
                        where = "an x86 guard" if need == "x86" else "an ARM guard" if need == "arm" else "an architecture guard"
                        found.append(f"{path}:{number}: {what} `{match.group(0).strip()}` outside {where}")
    return found


def load(paths):
    sources = []
    for top in paths:
        files = []
        if os.path.isfile(top):
            files = [top]
        else:
            for directory, subdirs, names in os.walk(top):
                subdirs[:] = sorted(d for d in subdirs if not d.startswith(".") and d not in ("node_modules", ".venv"))
                files += [os.path.join(directory, name) for name in sorted(names) if name.endswith(EXTENSIONS)]
        for f in files:
            with open(f, encoding="utf-8", errors="replace") as handle:
                text = strip_c(handle.read())
            sources.append((os.path.relpath(f, ROOT) if f.startswith(ROOT) else f, joined_lines(text)))
    return sources


# ---------------------------------------------------------------------------------------------
# Self-test: each snippet with the number of findings it must give.

SNIPPETS = [
    ("unguarded_intrinsic.c", "#include <immintrin.h>\nvoid f(float *p) { __m256 v = _mm256_loadu_ps(p); (void)v; }\n", 3),
    ("guarded_intrinsic.c", "#if defined(__x86_64__)\n#include <immintrin.h>\n__m256 f(const float *p) { return _mm256_loadu_ps(p); }\n#endif\n", 0),
    ("else_branch.c", "#ifdef __x86_64__\nint a;\n#else\n#include <cpuid.h>\n#endif\n", 1),
    ("negated.c", "#if !defined(__x86_64__)\nunsigned long long x(void) { return __builtin_ia32_rdtsc(); }\n#endif\n", 1),
    ("comment_only.c", "// _mm256_add_ps and __m512 in a comment, \"xgetbv\" in a string\nconst char *s = \"_mm_add_ps\";\n", 0),
    ("derived_guard.c", "#if defined(__x86_64__) && defined(__clang__)\n#define MY_X86 1\n#else\n#define MY_X86 0\n#endif\n"
                        "#if MY_X86\n#define T __attribute__((target(\"avx2,fma\")))\nT void f(void) {}\n#endif\n", 0),
    ("attribute.c", "__attribute__((target(\"avx512f\"))) void f(void) {}\n", 1),
    ("asm.c", "void f(void) { __asm__ volatile(\"pause\"); }\n", 1),
    ("asm_guarded.c", "#if defined(__aarch64__)\nvoid f(void) { __asm__ volatile(\"yield\"); }\n#endif\n", 0),
    ("neon_unguarded.c", "#include <arm_neon.h>\nint32x4_t f(int32x4_t a, int8x16_t b) { return vdotq_s32(a, b, b); }\n", 3),
    ("neon_guarded.c", "#if defined(__aarch64__)\n#include <arm_neon.h>\nint32x4_t f(int32x4_t a, int8x16_t b) { return vdotq_s32(a, b, b); }\n#endif\n", 0),
    ("neon_in_x86.c", "#if defined(__x86_64__)\nfloat32x4_t g;\n#endif\n", 1),
    ("unguarded.swift", "import _Builtin_intrinsics.intel\nlet v = _mm_setzero_ps()\n", 2),
    ("guarded.swift", "#if arch(x86_64)\nimport _Builtin_intrinsics.intel\n#else\nlet v = 0\n#endif\n", 0),
    ("swift_else.swift", "#if arch(arm64)\nlet a = 1\n#else\nlet v = _mm_setzero_ps()\n#endif\n", 1),
    ("continued.c", "#define LOAD(p) \\\n    _mm256_loadu_ps(p)\n", 1),
]


def self_test():
    failures = 0
    with tempfile.TemporaryDirectory() as directory:
        for name, text, expected in SNIPPETS:
            path = os.path.join(directory, name)
            with open(path, "w") as handle:
                handle.write(text)
            got = findings_in(load([path]))
            if len(got) != expected:
                failures += 1
                print(f"lint_arch self-test: {name}: {len(got)} findings, expected {expected}: {got}")
        # The whole directory at once, as a scan of the tree runs: the unguarded ones must fail it.
        total = findings_in(load([directory]))
        if len(total) != sum(e for _, _, e in SNIPPETS):
            failures += 1
            print(f"lint_arch self-test: directory scan found {len(total)}, expected {sum(e for _, _, e in SNIPPETS)}")
    print(f"lint_arch self-test: {len(SNIPPETS)} snippets, {'all as expected' if not failures else f'{failures} wrong'}")
    return 1 if failures else 0


def main(argv):
    if argv[1:] == ["--self-test"]:
        return self_test()
    if any(a.startswith("-") for a in argv[1:]):
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        return 2
    paths = argv[1:] or [os.path.join(ROOT, d) for d in DEFAULT_DIRS if os.path.isdir(os.path.join(ROOT, d))]
    sources = load(paths)
    found = findings_in(sources)
    for line in found:
        print(line)
    x86, arm = guard_macros(sources)
    derived = sorted((x86 - set(X86_MACROS)) | (arm - set(ARM_MACROS)))
    print(f"lint_arch: {len(sources)} files, {len(found)} findings (guard macros found: {', '.join(derived) or 'none'})")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
