"""The store: typed models, migrations, sessions and queries shared by every process."""
