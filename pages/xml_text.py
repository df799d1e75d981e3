"""Text made fit for an XML document (the Atom feed, SVG badges).

XML 1.0 has no way to write most control characters, not even escaped, so a
name or a remote server's error message holding one would make the whole
document unparseable (lxml refuses to build it). They are shown as U+FFFD.
"""

from __future__ import annotations

import re

# Everything outside XML 1.0's Char production.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    """``text`` with each character XML cannot hold replaced by U+FFFD."""
    return _NOT_XML.sub("\ufffd", text)
