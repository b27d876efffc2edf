"""Amaranth RTL of the chip: one unit per file, the stream fabric, the host port and the top."""
