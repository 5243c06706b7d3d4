"""CloudWatch RPC-v2-CBOR <-> moto AWS-JSON-1.0 bridge for trimtab's adapter tests.

aws-sdk-cloudwatch >= 1.100 speaks only Smithy RPC v2 CBOR, which moto does not implement
(see docs/TESTING.md). This server sits in front of moto and translates, so the real Rust SDK
can be tested over real HTTP without pinning an old SDK:

    POST /service/GraniteServiceVersion20100801/operation/<Op>   (CBOR)
      -> POST / with X-Amz-Target: GraniteServiceVersion20100801.<Op>   (JSON 1.0) to moto
      <- moto's JSON reply, re-encoded as CBOR

Which members are timestamps, doubles, integers or blobs comes from botocore's copy of the
CloudWatch service model, because JSON and CBOR disagree on all four: JSON carries timestamps as
epoch numbers (or ISO strings, from moto) and doesn't distinguish 80 from 80.0, while the SDK's
CBOR decoder insists on tag 1 for timestamps and on a float for a double.

Usage: python cbor_bridge.py --port PORT --upstream http://127.0.0.1:MOTO_PORT
Standard library, cbor2 and botocore only.
"""

import argparse
import base64
import datetime
import gzip
import http.client
import json
import sys
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import botocore.session
import cbor2

TARGET_PREFIX = "GraniteServiceVersion20100801"
PATH_PREFIX = f"/service/{TARGET_PREFIX}/operation/"
UTC = datetime.timezone.utc

# Request headers that describe the CBOR request itself; everything else (notably Authorization,
# from whose credential scope moto takes the region and account) is forwarded unchanged.
HOP_HEADERS = {
    "host",
    "content-length",
    "content-type",
    "content-encoding",
    "accept",
    "accept-encoding",
    "smithy-protocol",
    "connection",
    "transfer-encoding",
}

# moto reports the query-protocol error code in this header; the SDK prefers it over __type
# because CloudWatch is @awsQueryCompatible.
PASSTHROUGH_RESPONSE_HEADERS = {"x-amzn-requestid", "x-amzn-query-error", "x-amz-request-id"}

MODEL = botocore.session.get_session().get_service_model("cloudwatch")


def to_json_value(value):
    """CBOR-decoded request -> JSON-encodable value (no model needed in this direction)."""
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.timestamp()
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dict):
        return {str(k): to_json_value(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [to_json_value(v) for v in value]
    if isinstance(value, cbor2.CBORTag):
        return to_json_value(value.value)
    return value


def parse_timestamp(value):
    if isinstance(value, datetime.datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, (int, float)):
        return datetime.datetime.fromtimestamp(value, tz=UTC)
    text = str(value)
    try:
        return datetime.datetime.fromtimestamp(float(text), tz=UTC)
    except ValueError:
        parsed = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def to_cbor_value(value, shape):
    """moto's JSON value -> the CBOR value the SDK expects for `shape`."""
    if value is None:
        return None
    if shape is None:
        return value
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            return value
        out = {}
        for key, item in value.items():
            converted = to_cbor_value(item, shape.members.get(key))
            if converted is not None:
                out[key] = converted
        return out
    if kind == "list":
        return [to_cbor_value(v, shape.member) for v in value if v is not None]
    if kind == "map":
        return {k: to_cbor_value(v, shape.value) for k, v in value.items() if v is not None}
    if kind == "timestamp":
        return parse_timestamp(value)
    if kind in ("double", "float"):
        return float(value)
    if kind in ("integer", "long", "short", "byte"):
        return int(value)
    if kind == "boolean":
        if isinstance(value, str):
            return value.lower() == "true"
        return bool(value)
    if kind == "blob":
        return base64.b64decode(value) if isinstance(value, str) else bytes(value)
    return value


def error_shape_for(code):
    for shape in MODEL.error_shapes:
        if shape.name == code or shape.error_code == code:
            return shape
    return None


class Bridge(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    upstream = None  # (host, port), set in main()

    def log_message(self, fmt, *args):  # quiet: test output is for test failures
        pass

    def reply(self, status, body, headers=None):
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        # Readiness probe for the test harness.
        if self.path == "/ping":
            self.reply(200, b"ok", {"Content-Type": "text/plain"})
        else:
            self.reply(404, b"", {})

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not self.path.startswith(PATH_PREFIX):
            self.reply(404, b"not a CloudWatch rpc-v2-cbor path", {"Content-Type": "text/plain"})
            return
        operation = urllib.parse.unquote(self.path[len(PATH_PREFIX):])
        try:
            # The SDK gzips large PutMetricData bodies (request compression).
            if (self.headers.get("Content-Encoding") or "").lower() == "gzip":
                raw = gzip.decompress(raw)
            request = to_json_value(cbor2.loads(raw)) if raw else {}
            status, headers, body = self.forward(operation, request)
            self.reply(status, *self.translate(operation, status, headers, body))
        except Exception as exc:  # report as a 500 the SDK can read, and say why on stderr
            print(f"cbor_bridge: {operation}: {exc!r}", file=sys.stderr, flush=True)
            payload = cbor2.dumps({"__type": "InternalFailure", "message": f"bridge: {exc!r}"})
            self.reply(500, payload, self.cbor_headers())

    def forward(self, operation, request):
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
        headers["X-Amz-Target"] = f"{TARGET_PREFIX}.{operation}"
        headers["Content-Type"] = "application/x-amz-json-1.0"
        body = json.dumps(request).encode("utf-8")
        conn = http.client.HTTPConnection(*self.upstream, timeout=60)
        try:
            conn.request("POST", "/", body=body, headers=headers)
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    @staticmethod
    def cbor_headers():
        return {"Content-Type": "application/cbor", "smithy-protocol": "rpc-v2-cbor"}

    def translate(self, operation, status, upstream_headers, body):
        headers = self.cbor_headers()
        for name, value in upstream_headers.items():
            if name.lower() in PASSTHROUGH_RESPONSE_HEADERS:
                headers[name] = value
        text = body.decode("utf-8") if body else ""
        try:
            document = json.loads(text) if text.strip() else {}
        except ValueError:
            # Not JSON (moto answered with HTML or plain text, e.g. an unknown route): keep the
            # status and carry the text as the error message.
            document = {"__type": "InternalFailure" if status >= 500 else "UnknownError",
                        "message": text[:2000]}
        if status >= 300:
            code = str(document.get("__type", "")).split("#")[-1]
            shape = error_shape_for(code)
            payload = to_cbor_value(document, shape) if shape is not None else dict(document)
            payload["__type"] = document.get("__type", code or "UnknownError")
            message = document.get("message") or document.get("Message")
            if message is not None:
                payload["message"] = message
            return cbor2.dumps(payload, datetime_as_timestamp=True, timezone=UTC), headers
        output_shape = MODEL.operation_model(operation).output_shape
        payload = to_cbor_value(document, output_shape) if output_shape is not None else {}
        return cbor2.dumps(payload, datetime_as_timestamp=True, timezone=UTC), headers


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True, help="moto's base URL, http://host:port")
    args = parser.parse_args()
    upstream = urllib.parse.urlsplit(args.upstream)
    Bridge.upstream = (upstream.hostname, upstream.port or 80)
    server = ThreadingHTTPServer((args.host, args.port), Bridge)
    server.daemon_threads = True
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
