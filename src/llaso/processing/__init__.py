"""Turning conversations into model inputs: one prompt builder for every caller."""

from llaso.processing.processor import EncodedConversation, LlasoProcessor, ProcessorSettings

__all__ = ["EncodedConversation", "LlasoProcessor", "ProcessorSettings"]
