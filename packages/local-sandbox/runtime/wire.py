"""JSON for the runtime's protocol lines without importing `json`.

`json` imports `re`, which pulls in `enum` and `functools`: several milliseconds at every sandbox
start, before the first result. The protocol only needs what the C accelerator `_json` does alone,
configured like `json.dumps()` and `json.loads()` with their defaults.
"""

try:
    import _json
except ImportError:  # an interpreter without the accelerator: the full module, same results
    _json = None


def _not_serializable(value):
    raise TypeError("Object of type %s is not JSON serializable" % type(value).__name__)


class _DecoderContext:
    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int

    @staticmethod
    def parse_constant(name):
        return {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}[name]


if _json is not None:
    _scan = _json.make_scanner(_DecoderContext())

    def dumps(value):
        """Like `json.dumps(value)` (ASCII only, so any string is safe on the wire)."""
        encoder = _json.make_encoder(
            {}, _not_serializable, _json.encode_basestring_ascii, None, ": ", ", ", False, False, True
        )
        return "".join(encoder(value, 0))

    def loads(text):
        """Like `json.loads(text)` for str or UTF-8 bytes."""
        if isinstance(text, (bytes, bytearray)):
            text = bytes(text).decode("utf-8")
        whitespace = " \t\n\r"
        start = len(text) - len(text.lstrip(whitespace))
        try:
            value, end = _scan(text, start)
        except StopIteration as error:
            raise ValueError("Expecting value: char %d" % error.value) from None
        if text[end:].strip(whitespace):
            raise ValueError("Extra data: char %d" % end)
        return value

else:  # pragma: no cover - CPython always has _json
    import json

    dumps = json.dumps
    loads = json.loads
