"""Models of the channels app (built by its own issue; see DESIGN.md)."""
