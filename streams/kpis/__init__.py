"""The KPI engine: one module per KPI family, driven by streams/kpis/engine.py.

Every family has the same shape: ``apply(ctx, event)`` reads and changes the entity states it
owns through the working set and adds its increments to window aggregates; a family whose
entities resolve later (a session's end, a cart's abandonment) also has timer handlers, called
by the engine when the timer comes due in event time (``TIMERS`` in engine.py). Families never
talk to Kafka or Faust: the engine hands them events of one settled minute in event-time
order, which makes every KPI equal to a batch recomputation over the same events.
"""
