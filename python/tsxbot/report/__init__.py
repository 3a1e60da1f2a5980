"""Reports over the journal (or any fills): rich terminal tables, one self-contained HTML file,
JSON and CSV."""

from tsxbot.report.exports import to_json, write_csv, write_json
from tsxbot.report.html import render_html, write_html
from tsxbot.report.model import SCHEMA_VERSION, Report, build_report
from tsxbot.report.terminal import print_report

__all__ = [
    "SCHEMA_VERSION",
    "Report",
    "build_report",
    "print_report",
    "render_html",
    "to_json",
    "write_csv",
    "write_html",
    "write_json",
]
