"""The project's application tasks that enqueue broadcasts."""
