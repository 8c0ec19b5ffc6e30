"""Django admin over the desk's SQLite file, for bench/compare_bench.py (#14): the demand table
mapped with managed=False models (Django never creates or alters it), a stock ModelAdmin."""
