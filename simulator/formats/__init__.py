"""The source formats the simulator writes, one module each with `encode(event) -> dict`:
`canonical` (kpiwatch's own), `segment` (Segment e-commerce spec v2), `ga4` (GA4
Measurement Protocol). `simulator.encoding` picks the module for an event. With
``--shape spec``, `spec_shape` reshapes the Segment and GA4 messages as real sources send
them."""
