"""The input guard: JSON bodies too deep, or with text no database stores, are refused."""
from backoffice import input_guard


def test_json_deeper_than_the_limit_or_with_unstorable_text_is_refused(app):
    with app.app_context():
        deep = current = []
        for _ in range(input_guard.MAX_JSON_DEPTH + 1):
            current.append([])
            current = current[0]
        assert input_guard.json_problem(deep)
        assert input_guard.json_problem({"customer": {"name": "王\x00芳"}})
        assert input_guard.json_problem({"fault\ud800": "x"})
        assert input_guard.json_problem({"customer": {"name": "王芳"}, "unit": [{"serial": "SN-1"}]}) is None
