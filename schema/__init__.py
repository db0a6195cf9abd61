"""Strawberry types, inputs, enums and typed errors; `from_model` converters. Never imports resolvers."""
