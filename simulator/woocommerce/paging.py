"""The collection headers of WordPress REST responses: X-WP-Total, X-WP-TotalPages and Link."""

from __future__ import annotations

import math
from urllib.parse import urlencode

from simulator.woocommerce.rest import CREDENTIAL_PARAMS, Call


def page_headers(call: Call, total: int, page: int, per_page: int) -> dict[str, str]:
    """`rel="prev"` / `rel="next"` links carry the request's own query with another page (credentials left out)."""
    pages = math.ceil(total / per_page) if total else 0
    headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)}
    rest_path = call.request.path.split("/wp-json/", 1)[-1]
    query = {
        name: values[-1]
        for name, values in call.request.query.items()
        if name not in CREDENTIAL_PARAMS and name != "page"
    }

    def url(number: int) -> str:
        return f"{call.site_url}/wp-json/{rest_path}?{urlencode({**query, 'page': number})}"

    links = []
    if page > 1:
        links.append(f'<{url(min(page - 1, pages) if pages else page - 1)}>; rel="prev"')
    if pages > page:
        links.append(f'<{url(page + 1)}>; rel="next"')
    if links:
        headers["Link"] = ", ".join(links)
    return headers
