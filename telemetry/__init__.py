"""Process telemetry (Prometheus metrics); imported by every layer, importing none."""
