#!/usr/bin/env python3
"""Rebuild fonts/NotoSansSC-finepay-subset.otf from Debian's fonts-noto-cjk.

Usage (from the workspace root):

    python3 crates/finepay-documents/fonts/make-subset.py

Needs fontTools (`pip install fonttools`) and the Debian package
`fonts-noto-cjk` (/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc).
The Simplified Chinese face ("Noto Sans CJK SC") is located by name, not by a
hard-coded index, then subset with `pyftsubset` to:

  * printable ASCII (U+0020-007E) and Latin-1 punctuation/symbols (U+00A0-00BF, U+00D7, U+00F7)
  * general punctuation (U+2000-206F)
  * CJK symbols and punctuation (U+3000-303F)
  * fullwidth forms (U+FF00-FFEF)
  * the yuan sign (U+00A5)
  * every character of GB2312 level 1 (rows 0xB0-0xD7, 3755 hanzi)
  * every non-ASCII character in crates/finepay-authority/data/*.json and
    crates/finepay-authority/src/**/*.rs (city names, payees, violations) and in
    crates/finepay-documents/src/**/*.rs (the receipt's own labels)

Outlines stay CFF (OpenType, not woff) with their subroutines; hinting is
dropped; pyftsubset's default layout features are kept (`*` adds ~40 KB for
nothing we use); the name table keeps IDs 0-6 plus 13/14 (the licence text
and URL, as the OFL asks), English only.
"""

import glob
import os
import subprocess
import sys
import tempfile

from fontTools.ttLib import TTCollection

TTC = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
FACE = "Noto Sans CJK SC"

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
OUT = os.path.join(HERE, "NotoSansSC-finepay-subset.otf")


def face_number():
    coll = TTCollection(TTC, lazy=True)
    for i, font in enumerate(coll.fonts):
        if font["name"].getDebugName(1) == FACE:
            return i
    sys.exit(f"no face named {FACE!r} in {TTC}")


def gb2312_level1():
    chars = set()
    for hi in range(0xB0, 0xD8):
        for lo in range(0xA1, 0xFF):
            try:
                chars.add(bytes([hi, lo]).decode("gb2312"))
            except UnicodeDecodeError:
                pass  # undefined cell (end of row 0xD7)
    return chars


def project_chars():
    chars = set()
    authority = os.path.join(ROOT, "crates", "finepay-authority")
    documents = os.path.join(ROOT, "crates", "finepay-documents")
    files = glob.glob(os.path.join(authority, "data", "*.json"))
    files += glob.glob(os.path.join(authority, "src", "**", "*.rs"), recursive=True)
    if not files:
        sys.exit(f"no finepay-authority sources under {authority}")
    files += glob.glob(os.path.join(documents, "src", "**", "*.rs"), recursive=True)
    for path in sorted(files):
        with open(path, encoding="utf-8") as f:
            chars.update(c for c in f.read() if ord(c) > 0x7E and c.isprintable())
    return chars


def main():
    chars = gb2312_level1() | project_chars()
    ranges = [
        "U+0020-007E",  # printable ASCII
        "U+00A0-00BF",  # Latin-1 punctuation and symbols (includes U+00A5 ¥)
        "U+00D7",
        "U+00F7",
        "U+2000-206F",  # general punctuation
        "U+3000-303F",  # CJK symbols and punctuation
        "U+FF00-FFEF",  # fullwidth forms
        "U+00A5",  # ¥
    ]
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".txt", delete=False) as t:
        t.write("".join(sorted(chars)))
        text_file = t.name
    cmd = [
        "pyftsubset",
        TTC,
        f"--font-number={face_number()}",
        f"--unicodes={','.join(ranges)}",
        f"--text-file={text_file}",
        "--no-hinting",
        "--name-IDs=0,1,2,3,4,5,6,13,14",
        "--name-languages=0x0409",
        f"--output-file={OUT}",
    ]
    print(" ".join(cmd))
    try:
        subprocess.run(cmd, check=True)
    finally:
        os.unlink(text_file)
    print(f"{OUT}: {os.path.getsize(OUT)} bytes, {len(chars)} extra characters")


if __name__ == "__main__":
    main()
