"""URL credentials are masked wherever a URL is quoted."""

from __future__ import annotations

from fathom_runtime.common.redact import mask_urls, mask_value


def test_userinfo_is_masked_in_any_url_in_any_text() -> None:
    text = ("model server at http://bob:s3cret@127.0.0.1:9 failed; cache redis://:hunter2@127.0.0.1:6379/0, "
            "db postgresql+asyncpg://fathom:p%40ss@db:5432/x")  # fmt: skip
    masked = mask_urls(text)
    assert "s3cret" not in masked and "hunter2" not in masked and "p%40ss" not in masked
    assert "http://***@127.0.0.1:9" in masked and "redis://***@127.0.0.1:6379/0" in masked
    assert mask_urls("http://127.0.0.1:8000/a@b and mailto@x") == "http://127.0.0.1:8000/a@b and mailto@x"


def test_settings_values_in_lists_are_masked_too() -> None:
    assert mask_value(["http://u:p@h/", "http://h/"]) == ["http://***@h/", "http://h/"]
    assert mask_value(8) == 8
