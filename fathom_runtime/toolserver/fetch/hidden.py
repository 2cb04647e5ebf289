"""Removes what a person reading the page would not see, before text extraction, so that instructions planted in
hidden text are never read as evidence: the `hidden` attribute, `aria-hidden`, <template>, and elements whose inline
style or a simple class/id rule of the page's own <style> hides them (display or visibility off, zero opacity or
font size, zero-size boxes with their overflow hidden, clipping, off-screen positions, text the colour of its
background). Pure: HTML in, HTML out."""

from __future__ import annotations

import re

import lxml.etree
import lxml.html

_HIDING_DECLARATIONS = (
    re.compile(r"display:none"),
    re.compile(r"visibility:(hidden|collapse)"),
    re.compile(r"(^|;)opacity:0*(\.0+)?(;|$)"),
    re.compile(r"font-size:0+(\.0+)?(px|em|rem|pt|%)?(;|$)"),
    re.compile(r"clip:rect\(0"),
    re.compile(r"clip-path:inset\(50%|clip-path:inset\(100%"),
    re.compile(r"(left|top|right|text-indent|margin-left):-\d{3,}"),
    re.compile(r"transform:scale\(0\)"),
)
_ZERO_BOX = re.compile(r"(width|height|max-width|max-height):0+(px|em|%)?(;|$)")
_COLOR = re.compile(r"(?:^|;)color:([^;!]+)")
_BACKGROUND = re.compile(r"(?:^|;)background(?:-color)?:([^;!]+)")
_RULE = re.compile(r"([^{}]+)\{([^{}]*)\}")
_SIMPLE_SELECTOR = re.compile(r"^[.#][A-Za-z_][\w-]*$")


def _compact(style: str) -> str:
    return re.sub(r"\s+", "", style.lower())


def is_hiding(style: str) -> bool:
    """Whether a declaration block hides its element's text."""
    css = _compact(style)
    if any(pattern.search(css) for pattern in _HIDING_DECLARATIONS):
        return True
    if _ZERO_BOX.search(css) and "overflow:hidden" in css:
        return True
    color, background = _COLOR.search(css), _BACKGROUND.search(css)
    return bool(color and background and color.group(1) == background.group(1).split()[0])


def _hidden_selectors(root: lxml.html.HtmlElement) -> tuple[set[str], set[str]]:
    """(classes, ids) that the page's own <style> blocks hide with a simple .class or #id rule."""
    classes: set[str] = set()
    ids: set[str] = set()
    for style in root.iter("style"):
        for selectors, body in _RULE.findall(style.text or ""):
            if not is_hiding(body):
                continue
            for selector in (s.strip() for s in selectors.split(",")):
                if _SIMPLE_SELECTOR.match(selector):
                    (classes if selector[0] == "." else ids).add(selector[1:])
    return classes, ids


def _is_hidden(element: lxml.html.HtmlElement, classes: set[str], ids: set[str]) -> bool:
    if element.tag == "template" or element.get("hidden") is not None:
        return True
    if (element.get("aria-hidden") or "").strip().lower() == "true":
        return True
    if element.get("id") in ids or classes.intersection((element.get("class") or "").split()):
        return True
    return is_hiding(element.get("style") or "")


def strip_hidden(html: str) -> str:
    """The page without its hidden elements (unparseable input comes back unchanged)."""
    try:
        root = lxml.html.fromstring(html)
    except (ValueError, lxml.etree.ParserError):
        return html
    classes, ids = _hidden_selectors(root)
    doomed = [el for el in root.iter() if isinstance(el, lxml.html.HtmlElement) and _is_hidden(el, classes, ids)]
    for element in doomed:
        if element.getparent() is not None:
            element.drop_tree()
    return str(lxml.html.tostring(root, encoding="unicode"))
