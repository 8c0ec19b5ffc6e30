"""Google Sheets mirror."""
