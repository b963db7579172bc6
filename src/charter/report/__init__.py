"""Self-contained reports (HTML with inline SVG plots, plus JSON) that open offline."""
