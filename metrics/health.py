"""``/health``: whether this worker has joined its group and owns partitions (for tests, the
demo and container health checks). 200 when ready, 503 with the reason when not."""

from __future__ import annotations

from streams.app import app


@app.page("/health")
async def health_page(web, request):
    assigned = sorted(f"{tp.topic}[{tp.partition}]" for tp in app.assignor.assigned_actives())
    ready = bool(assigned) and not app.rebalancing
    body = {"ready": ready, "rebalancing": app.rebalancing, "assigned": assigned}
    return web.json(body, status=200 if ready else 503)
