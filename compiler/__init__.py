"""Assembler, scheduler and cycle prediction."""
