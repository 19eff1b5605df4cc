"""The import page: upload a CSV or XLSX of orders; every bad row is listed (nothing is
imported then), or what was imported. The work is :func:`hub.core.importer.import_file`,
the same as ``hub orders import``; the template files are offered for download."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from hub.core import desk, importer
from hub.core.importer import ImportRejected
from hub.errors import HubError
from hub.web.pages.common import USER, field_message, hub_of, page, render

SHOWN_ERRORS = 500  # bad rows listed on the page (the count says how many more)


def _context(request: web.Request, **more: Any) -> dict[str, Any]:
    return {"channels": desk.manual_channels(hub_of(request).settings), "values": {}, **more}


@page("sales")
async def import_form(request: web.Request) -> web.Response:
    return render(request, "import.html", _context(request))


@page("sales")
async def upload(request: web.Request) -> web.Response:
    hub = hub_of(request)
    form = await request.post()
    channel = str(form.get("channel", "") or "")
    file = form.get("file")
    context = _context(request, values={"channel": channel})
    if not isinstance(file, web.FileField) or not file.filename:
        context["error"] = "choose a CSV or XLSX file to import"
        return render(request, "import.html", context, status=400)
    context["filename"] = name = file.filename
    actor = desk.Actor(request[USER].username, "import")
    try:  # aiohttp keeps the upload in a temporary file: read it in the thread too
        report = await asyncio.to_thread(
            lambda: importer.import_file(hub, file.file.read(), name, channel=channel, actor=actor)
        )
    except ImportRejected as rejected:
        rows = rejected.bad_rows
        context["error"] = (
            f"{rows} bad rows: fix them and upload the file again"
            if rows != 1
            else "1 bad row: fix it and upload the file again"
        )
        context["bad_rows"] = rejected.errors[:SHOWN_ERRORS]
        context["more_errors"] = max(0, len(rejected.errors) - SHOWN_ERRORS)
        return render(request, "import.html", context, status=400)
    except HubError as error:
        context["error"] = field_message(error)
        return render(request, "import.html", context, status=400)
    context["report"] = report
    return render(request, "import.html", context)


@page("viewer")
async def template_file(request: web.Request) -> web.Response:
    """The documented template with an example row, as CSV or XLSX."""
    suffix = request.match_info["kind"]
    if suffix == "xlsx":
        body = await asyncio.to_thread(importer.template_xlsx)
        kind = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        body = importer.template_csv().encode()
        kind = "text/csv"
    return web.Response(
        body=body,
        content_type=kind,
        headers={"Content-Disposition": f'attachment; filename="orders-template.{suffix}"'},
    )


def routes(app: web.Application) -> None:
    app.router.add_get("/import", import_form)
    app.router.add_post("/import", upload)
    app.router.add_get(r"/import/template.{kind:csv|xlsx}", template_file)
