from weatheredge.model.buckets import parse_bucket_label


def test_package_imports() -> None:
    assert parse_bucket_label("44-45°F").hi == 45
