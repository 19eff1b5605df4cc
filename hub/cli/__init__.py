"""The ``hub`` command."""
