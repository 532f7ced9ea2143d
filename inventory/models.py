"""Models of the inventory app (built by its own issue; see DESIGN.md)."""
