"""Verilog generation, Verilator/cocotb runner glue and the build cache."""
