"""The home page's activity chart, drawn as SVG on the server."""

from __future__ import annotations

import re

from passerelle.web.charts import activity_svg


def test_one_line_per_space_and_a_dot_when_there_is_one_month() -> None:
    many = activity_svg(
        {"a": {"2020-01": 3, "2020-03": 1}, "b <x>": {"2020-02": 2}}, ["2020-01", "2020-02", "2020-03"]
    )
    assert many.count("<polyline") == 2 and "<circle" not in many
    assert "b &lt;x&gt;" in many  # titles escaped
    one = activity_svg({"a": {"2020-01": 3}, "b": {"2020-01": 1}}, ["2020-01"])
    dots = re.findall(r'<circle cx="([\d.]+)" cy="([\d.]+)"', one)
    assert len(dots) == 2 and dots[0][0] == dots[1][0] and float(dots[0][1]) < float(dots[1][1])  # 3 above 1
    assert activity_svg({}, []) == ""
