"""The import page: upload a CSV or XLSX of orders; every bad row is listed, or what was
imported. The work is hub.core.importer's (the same as ``hub orders import``)."""

from __future__ import annotations

import asyncio
import importlib
from typing import Any

from aiohttp import web

from hub.core import desk
from hub.errors import HubError
from hub.web.pages.common import USER, hub_of, page, render

MAX_UPLOAD = 8 * 1024 * 1024  # the app's request limit


def _importer() -> Any:
    try:
        return importlib.import_module("hub.core.importer")
    except ImportError:
        return None


def _bad_rows(error: BaseException) -> list[Any]:
    for name in ("rows", "problems", "errors", "bad_rows"):
        rows = getattr(error, name, None)
        if isinstance(rows, list | tuple) and rows:
            return list(rows)
    return []


def _row(problem: Any) -> dict[str, Any]:
    if isinstance(problem, dict):
        get = problem.get
    else:

        def get(name: str, default: Any = "") -> Any:
            return getattr(problem, name, default)

    return {
        "row": get("row", get("line", "")),
        "column": get("column", ""),
        "reason": get("reason", get("message", str(problem))),
    }


def _report(report: Any) -> dict[str, Any]:
    """What the page says of an import that went through."""
    out: dict[str, Any] = {}
    for name in ("orders", "created", "imported", "lines", "skipped", "existing", "rows"):
        value = getattr(report, name, None)
        if isinstance(value, int | list | tuple):
            out[name] = value if isinstance(value, int) else len(value)
    return out or {"result": str(report)}


def _channels(hub: Any) -> list[str]:
    return desk.manual_channels(hub.settings)


@page("sales")
async def import_form(request: web.Request) -> web.Response:
    hub = hub_of(request)
    return render(
        request,
        "import.html",
        {"channels": _channels(hub), "ready": _importer() is not None, "values": {}},
    )


@page("sales")
async def upload(request: web.Request) -> web.Response:
    hub = hub_of(request)
    form = await request.post()
    channel = str(form.get("channel", "") or "")
    file = form.get("file")
    context: dict[str, Any] = {
        "channels": _channels(hub),
        "ready": _importer() is not None,
        "values": {"channel": channel},
    }
    if not isinstance(file, web.FileField) or not file.filename:
        context["error"] = "choose a CSV or XLSX file to import"
        return render(request, "import.html", context, status=400)
    importer = _importer()
    if importer is None:
        context["error"] = "importing is not available in this installation"
        return render(request, "import.html", context, status=400)
    data = file.file.read(MAX_UPLOAD + 1)
    context["filename"] = file.filename
    actor = desk.Actor(request[USER].username, "web")
    try:
        report = await asyncio.to_thread(
            importer.import_file,
            hub,
            data,
            filename=file.filename,
            channel=channel or None,
            actor=actor,
        )
    except HubError as error:
        context["bad_rows"] = [_row(p) for p in _bad_rows(error)]
        context["error"] = str(error).splitlines()[0] if str(error) else "the file was refused"
        return render(request, "import.html", context, status=400)
    context["report"] = _report(report)
    context["report_text"] = str(report)
    return render(request, "import.html", context)


def routes(app: web.Application) -> None:
    app.router.add_get("/import", import_form)
    app.router.add_post("/import", upload)
