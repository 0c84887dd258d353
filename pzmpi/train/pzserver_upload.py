"""A product folder sent to the PZ Server with its official client, ``pzserver`` (an optional dependency).

The steps are the server's: register the product, send its main then
auxiliary files, let the server read the main table's columns (registry),
associate the columns with their roles, and publish. pzserver 0.2.4's
``PzUpload`` publishes before any association, which the server refuses for a
training set, so the client's request layer (``PzRequests``) runs the steps in
the server's order, with the client's own role vocabulary (aliases and UCDs).
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any

from pzmpi.train.pzserver_products import Product, read_product


class UploadError(RuntimeError):
    """The server refused a step; the message names the step, the product id (when made) and the server's words."""


def upload_product(folder: Path, host: str, token: str) -> int:
    """Send the product in ``folder`` to the server at ``host`` (a pzserver host name or an API URL); its id."""
    try:
        import requests
        from pzserver.communicate import PzRequests
        from pzserver.upload import UploadData
    except ImportError:
        raise UploadError("the PZ Server client is not installed: pip install 'pzmpi[pzserver]'") from None
    product = read_product(folder)
    step, product_id = "connect", None
    try:
        api = PzRequests(token, host)
        step = "register the product"
        product_id = int(api.upload_basic_info(product.name, product.product_type, product.release,
                                               product.pz_code, product.description)["id"])
        for name, role in [(product.main_file, "main")] + [(name, "auxiliary") for name in product.auxiliary_files]:
            step = f"send {name}"
            api.upload_file(product_id, str(folder / name), role, mimetype=mimetypes.guess_type(name)[0])
        step = "registry (the server reads the main file)"
        api.registry_upload(product_id)
        step = "associate the columns"
        associate_columns(api, product_id, product, folder, UploadData)
        step = "publish"
        api.finish_upload(product_id)
    except (requests.exceptions.RequestException, ValueError) as error:
        where = f" (product {product_id}, left unpublished)" if product_id is not None else ""
        raise UploadError(f"PZ Server {host}: {step} failed{where}: {error}") from None
    return product_id


def associate_columns(api: Any, product_id: int, product: Product, folder: Path, upload_data: Any) -> None:
    """Give each associated column of the main table its role's alias and UCD, as the client's vocabulary says."""
    if not product.columns:
        return
    listed = api.get_by_attribute("product-contents", "product", product_id) or {}
    ids = {entry["column_name"]: entry["id"] for entry in listed.get("results", [])}
    vocabulary = upload_data(name=product.name, product_type=product.product_type,
                             main_file=str(folder / product.main_file)).system_columns
    for column, role in product.columns.items():
        if column not in ids:
            raise ValueError(f"the server lists no column {column} in {product.main_file} "
                             f"(it lists {', '.join(ids) or 'none'})")
        alias, ucd = vocabulary[role]
        api.update_upload_column(ids[column], {"ucd": ucd, "alias": alias})
