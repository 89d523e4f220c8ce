"""What a class name, a detector phrase and a prompt text may hold: one definition, checked
when the config and its templates are read, before any job.

A class name travels into XML (VOC, Edge Impulse), JSON, YAML (YOLO's data.yaml, the tuning
page's "Copy as config"), CSV, HTML and plot labels. XML 1.0 cannot hold control characters
or U+FFFE/U+FFFF even escaped, UTF-8 cannot hold a lone surrogate, and YAML reads U+0085,
U+2028 and U+2029 as line breaks. So a name is text with no Cc (control), Cs (surrogate),
Zl or Zp (line and paragraph separators) code point and no non-character, that is not only
whitespace; a class name also holds no ':', starts with no '#' and has no spaces at its ends
(VOC's labelmap.txt, which Datumaro and CVAT read, splits on ':' and strips lines). Every
writer escapes the rest for its own context.
"""

import unicodedata

REFUSED_CATEGORIES = {
    "Cc": "a control character",
    "Cs": "a lone surrogate (not encodable as UTF-8)",
    "Zl": "a line separator",
    "Zp": "a paragraph separator",
}
# "." and "?" separate phrases in Grounding DINO's caption.
PHRASE_SEPARATORS = ".?"
EXCERPT_LENGTH = 40


def is_noncharacter(code_point):
    """U+FDD0..U+FDEF and the last two code points of every plane (U+FFFE, U+1FFFF, ...)."""
    return 0xFDD0 <= code_point <= 0xFDEF or (code_point & 0xFFFE) == 0xFFFE


def excerpt(value):
    """A short, quoted view of a value for messages: never the whole of a long value (a
    file read by mistake, a dotenv file, must not end up in a log), and every character
    that does not print (controls, separators, surrogates) escaped."""
    if not isinstance(value, str):
        text = repr(value)
        return text if len(text) <= EXCERPT_LENGTH else text[:EXCERPT_LENGTH] + "..."
    shown = value if len(value) <= EXCERPT_LENGTH else value[:EXCERPT_LENGTH] + "..."
    return repr(shown)


def key_part(name):
    """A name as part of a dotted key in a message: as it is when short and printable,
    else as an escaped excerpt."""
    return name if name.isprintable() and len(name) <= EXCERPT_LENGTH else excerpt(name)


def refused_character(text, categories=REFUSED_CATEGORIES):
    """Why the first refused code point of `text` is refused (naming it), or None."""
    for position, char in enumerate(text):
        category = unicodedata.category(char)
        if category in categories:
            reason = categories[category]
        elif is_noncharacter(ord(char)):
            reason = "a Unicode non-character"
        else:
            continue
        return f"U+{ord(char):04X} at position {position} is {reason}"
    return None


def name_problem(name, what="class name"):
    """Why `name` cannot be a class name (or, with what="phrase", a phrase), or None."""
    if not isinstance(name, str):
        return f"{what} {name!r} is a {type(name).__name__}, not text (quote it in YAML)"
    if not name.strip():
        return f"{what} {excerpt(name)} is empty or only whitespace"
    refused = refused_character(name)
    if refused:
        return f"{what} {excerpt(name)} is refused: {refused}"
    if what == "class name" and (":" in name or name.startswith("#") or name != name.strip()):
        return (
            f"class name {excerpt(name)} holds ':', starts with '#' or has spaces at an end, "
            "which VOC's labelmap.txt (read by Datumaro and CVAT) cannot hold"
        )
    if what == "phrase" and any(sep in name for sep in PHRASE_SEPARATORS):
        return (
            f"phrase {excerpt(name)} holds '.' or '?', which separate phrases in the "
            "detector's caption"
        )
    return None


def prompt_text_problem(text):
    """Why a prompt text (template, value, negative prompt) cannot be written, or None.
    Line breaks and tabs are fine in a prompt; lone surrogates (UTF-8 cannot encode them)
    and non-characters are not."""
    refused = refused_character(text, {"Cs": REFUSED_CATEGORIES["Cs"]})
    return f"{excerpt(text)} is refused: {refused}" if refused else None


def name_key(name):
    """Names that read the same are the same name: NFKC, case-folded, single spaces."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def normalized_phrase(phrase):
    """A phrase as the detector reads it: lower-case, single spaces (ontology.build too)."""
    return " ".join(phrase.lower().split())
