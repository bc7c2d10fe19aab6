"""The HTTP model server and the checks on what it is sent."""
