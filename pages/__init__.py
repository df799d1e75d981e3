"""Public status pages: what they show, drawn on the server (HTML, SVG, JSON, feeds)."""
