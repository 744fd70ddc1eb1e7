"""Understanding messages as squads write them (DESIGN §4b); `reader.understand` is the entry point."""
