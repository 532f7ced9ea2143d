"""Models of the refunds app (built by its own issue; see DESIGN.md)."""
