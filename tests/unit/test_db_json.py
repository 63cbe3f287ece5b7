"""The JSON decoder given to psycopg returns what json.loads returns, for anything PostgreSQL may send."""

import json

import pytest

from services.adapters.db import json_loads

DOCUMENTS = ['{"rice": 2.5, "water": null, "eggs": 0}', '{}', '[]', '[1, 2.0, "ba", true, false, null]', '"Gạo"',
             '3', '-0.5e3', '{"a": {"b": [{"c": "\\u00e9\\n"}]}}', ' {"padded": 1} ', '{"x": 1}\n']


@pytest.mark.parametrize("document", DOCUMENTS)
def test_the_same_values_as_json_loads(document):
    for data in (document, document.encode(), memoryview(document.encode()), bytearray(document.encode())):
        assert json_loads(data) == json.loads(document)


@pytest.mark.parametrize("document", ['{"a": 1} x', '{"a": }', '', 'NaN x'])
def test_invalid_json_fails_as_json_loads_does(document):
    with pytest.raises(json.JSONDecodeError):
        json.loads(document)
    with pytest.raises(json.JSONDecodeError):
        json_loads(document.encode())
