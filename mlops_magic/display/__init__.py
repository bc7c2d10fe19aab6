"""Text and HTML renderings shared by every face; escaping lives here."""
