"""The model: configuration, modules and checkpoint I/O. Imports nothing from data/train/eval/serve."""
