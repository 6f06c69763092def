"""Submit a key URL the way a browser does: open the page, keep its cookie, post its form.

The demo's scripted customer uses this, so the demo goes through the page's CSRF check too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import aiohttp

_CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]*)"')
_NOTICE = re.compile(r'<div id="notice" class="notice (\w+)">(.*?)</div>', re.S)


@dataclass(frozen=True)
class FormAnswer:
    http_status: int
    # "ok" or "error" from the page's notice; None when the page showed none.
    notice_kind: str | None
    notice: str | None


async def submit_key_url(
    link: str, key_url: str, *, note: str = "", session: aiohttp.ClientSession | None = None
) -> FormAnswer:
    """GET the page at `link`, POST its form with `key_url`; the page's notice in return."""
    # unsafe=True: keep cookies for IP hosts such as 127.0.0.1, as a browser does.
    own = session is None
    session = session or aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    try:
        async with session.get(link) as page:
            text = await page.text()
            if page.status != 200:
                return FormAnswer(page.status, None, None)
        found = _CSRF_FIELD.search(text)
        if found is None:
            raise ValueError(f"the page at the link shows no form; it says: {text[:200]}")
        form = {"csrf_token": found.group(1), "key_url": key_url, "note": note}
        async with session.post(link, data=form) as answer:
            body = await answer.text()
            notice = _NOTICE.search(body)
            return FormAnswer(
                answer.status,
                notice.group(1) if notice else None,
                notice.group(2) if notice else None,
            )
    finally:
        if own:
            await session.close()
