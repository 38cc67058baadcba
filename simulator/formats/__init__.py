"""The source formats the simulator writes, one module each with `encode(event) -> dict`:
`canonical` (kpiwatch's own), `segment` (Segment e-commerce spec v2), `ga4` (GA4
Measurement Protocol). `simulator.encoding` picks the module for an event."""
