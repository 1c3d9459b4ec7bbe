"""The runner layer: each step reads the store, calls the pure stages and writes back."""
