"""The benchmark harness behind ``vecloss bench``: engines, peers, end-to-end tasks.

Plotting (matplotlib), DuckDB, psutil and tqdm are imported only when used.
"""
