"""Worker processes, the claim loop, housekeeping jobs and the ``vigil`` CLI."""
