"""The cdata-oauth command, the demo and table rendering."""
