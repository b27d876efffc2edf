"""cocotb testbenches, drivers, monitors and scoreboards."""
