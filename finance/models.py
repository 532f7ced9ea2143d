"""Models of the finance app (built by its own issue; see DESIGN.md)."""
