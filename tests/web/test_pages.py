"""The pages' shared document: each page's content in one head (its title, the style, the chart
library only where it draws one, common.js and its own script), every script a file shipped in
the package, and no page without its content."""

from __future__ import annotations

import re

import pytest

from tsxbot.web import CHART_LIBRARY, PAGES, STATIC, render_page


@pytest.mark.parametrize("name", sorted(PAGES))
def test_each_page_is_its_content_in_the_shared_head(name: str) -> None:
    document = render_page(name)
    assert document.startswith("<!doctype html>") and document.count("<head>") == 1
    assert f"<title>tsxbot · {PAGES[name].title}</title>" in document
    assert f'<body data-title="{PAGES[name].title}">' in document
    scripts = re.findall(r'<script src="([^"]+)" defer></script>', document)
    assert scripts[-2:] == ["/static/common.js", f"/static/{name}.js"]
    assert (CHART_LIBRARY in scripts) is PAGES[name].chart
    for src in scripts:
        assert (STATIC / src.removeprefix("/static/")).is_file(), src
    content = (STATIC / f"{name}.html").read_text()
    assert content in document and "<head>" not in content
    assert document.endswith("</main>\n</body>\n</html>\n")


def test_a_page_without_its_content_is_an_error() -> None:
    with pytest.raises(FileNotFoundError):
        render_page("nowhere")
