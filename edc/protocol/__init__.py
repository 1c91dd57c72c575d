"""The protocol file: strict models, loading with file:line errors, and cross-reference checks."""

from edc.protocol.load import LoadedProtocol, load_protocol, parse_protocol
from edc.protocol.model import Protocol

__all__ = ["LoadedProtocol", "Protocol", "load_protocol", "parse_protocol"]
