"""A stand-in for the PZ Server's REST API on 127.0.0.1, for tests of ``pzmpi pzserver export --upload``.

It answers the requests the ``pzserver`` client makes, records each one (method,
path, query, token, JSON, form fields, files), keeps products, files and
column rows in memory, and enforces the server's rules that a client can break:
the token, no pz_code on a training set, the main file read by pandas at the
registry step, and the aliases a type needs before it is published (HTTP 406).
"""

from __future__ import annotations

import email.parser
import email.policy
import io
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pandas as pd

PRODUCT_TYPES = ["redshift_catalog", "training_set", "validation_results", "photoz_estimates", "training_results",
                 "object_catalog", "other"]  # ids 1..7, as the server's fixture
RELEASES = ["dr2", "dp1"]
REQUIRED_ALIASES = {"redshift_catalog": {"RA", "Dec", "z"}, "training_set": {"z"}, "object_catalog": {"RA", "Dec"}}
TABLE_TYPES = {"redshift_catalog", "training_set", "object_catalog"}
NO_PZ_CODE = {"training_set", "training_results", "redshift_catalog"}


class StandInPzServer:
    def __init__(self, token: str) -> None:
        self.token = token
        self.requests: list[dict[str, Any]] = []
        self.products: dict[int, dict[str, Any]] = {}
        self.files: dict[int, dict[str, Any]] = {}
        self.contents: dict[int, dict[str, Any]] = {}
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.api_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/api/"
        self._lock = threading.Lock()

    def __enter__(self) -> StandInPzServer:
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def reply(self, code: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def handle_any(self) -> None:
                with server._lock:
                    request = self.parse()
                    server.requests.append(request)
                    if request["token"] != f"Token {server.token}":
                        return self.reply(401, {"detail": "Invalid token."})
                    code, body = server.route(request)
                self.reply(code, body)

            def parse(self) -> dict[str, Any]:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                kind = self.headers.get("Content-Type", "")
                url = urlsplit(self.path)
                request = {"method": self.command, "path": url.path,
                           "query": {k: v[0] for k, v in parse_qs(url.query).items()},
                           "token": self.headers.get("Authorization"), "json": None, "form": {}, "files": {}}
                if kind.startswith("application/json") and raw:
                    request["json"] = json.loads(raw)
                elif kind.startswith("application/x-www-form-urlencoded"):
                    request["form"] = {k: v[0] for k, v in parse_qs(raw.decode(), keep_blank_values=True).items()}
                elif kind.startswith("multipart/form-data"):
                    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
                        b"Content-Type: " + kind.encode() + b"\r\n\r\n" + raw)
                    for part in message.iter_parts():
                        name = part.get_param("name", header="content-disposition")
                        if part.get_filename() is None:
                            request["form"][name] = part.get_payload(decode=True).decode()
                        else:
                            request["files"][name] = (part.get_filename(), part.get_payload(decode=True))
                return request

            do_GET = do_POST = do_PATCH = handle_any

        return Handler

    def route(self, request: dict[str, Any]) -> tuple[int, Any]:
        method, query = request["method"], request["query"]
        parts = [p for p in request["path"].removeprefix("/api/").split("/") if p]
        if method == "GET" and not parts:
            return 200, {"products": self.api_url + "products/"}
        if method == "GET" and parts in (["product-types"], ["releases"]):
            names = PRODUCT_TYPES if parts[0] == "product-types" else RELEASES
            rows = [{"id": i + 1, "name": n} for i, n in enumerate(names) if n == query.get("name", n)]
            return 200, {"count": len(rows), "results": rows}
        if method == "POST" and parts == ["products"]:
            return self.create_product(request["json"])
        if method == "POST" and parts == ["product-files"]:
            name, content = request["files"]["file"]
            file_id = len(self.files) + 1
            self.files[file_id] = {"product": int(request["form"]["product"]), "role": int(request["form"]["role"]),
                                   "type": request["form"].get("type"), "name": name, "content": content}
            return 201, {"id": file_id, "name": name}
        if parts[:1] == ["products"] and len(parts) >= 2 and int(parts[1]) in self.products:
            product = self.products[int(parts[1])]
            if parts[2:] == ["registry"]:
                return self.registry(product)
            if method == "PATCH":
                return self.publish(product, request["form"])
        if method == "GET" and parts == ["product-contents"]:
            rows = [row for row in self.contents.values() if str(row["product"]) == query.get("product")]
            return 200, {"count": len(rows), "results": rows}
        if method == "PATCH" and parts[:1] == ["product-contents"] and parts[1].isdigit():
            row = self.contents[int(parts[1])]
            row.update({key: request["form"].get(key) for key in ("ucd", "alias")})
            return 200, row
        return 404, {"detail": "Not found."}

    def create_product(self, data: dict[str, Any]) -> tuple[int, Any]:
        kind = PRODUCT_TYPES[data["product_type"] - 1]
        if data.get("pz_code") and kind in NO_PZ_CODE:
            return 400, {"pz_code": ["Pz Code must be null on this product type."]}
        product_id = len(self.products) + 1
        self.products[product_id] = {**data, "id": product_id, "type_name": kind}
        return 201, self.products[product_id]

    def registry(self, product: dict[str, Any]) -> tuple[int, Any]:
        mains = [f for f in self.files.values() if f["product"] == product["id"] and f["role"] == 0]
        if len(mains) != 1:
            return 500, {"error": "a product has exactly one main file"}
        try:
            columns = list(pd.read_parquet(io.BytesIO(mains[0]["content"])).columns)
        except Exception:  # the server registers free-format main files of other types without columns
            if product["type_name"] in TABLE_TYPES:
                return 500, {"error": "It was not possible to identify the product columns."}
            columns = []
        for order, name in enumerate(columns):
            row_id = len(self.contents) + 1
            self.contents[row_id] = {"id": row_id, "product": product["id"], "column_name": name, "order": order,
                                     "ucd": None, "alias": None}
        return 200, product

    def publish(self, product: dict[str, Any], form: dict[str, str]) -> tuple[int, Any]:
        aliases = {row["alias"] for row in self.contents.values() if row["product"] == product["id"]}
        missing = REQUIRED_ALIASES.get(product["type_name"], set()) - aliases
        if form.get("status") == "1" and missing:
            return 406, f"The column(s) was not filled in: {','.join(sorted(missing))}"
        product["status"] = int(form["status"])
        return 200, product
