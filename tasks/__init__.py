"""Prefect tasks: one side-effecting step each, wrapping a plain function tests call directly."""
