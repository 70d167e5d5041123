"""Working ResultExtractor for the standard calling convention."""

from __future__ import annotations

import logging

from routilux.builtin_routines import text_processing as upstream

from embedded_server.engine.builtins import _support as support

logger = logging.getLogger(__name__)


class ResultExtractor(support.HandlerInputAdapter, upstream.ResultExtractor):
    """Extract structured results from each input item.

    Slot ``input``. Each item's payload is its ``data`` key, else its only
    value, else the whole item. Event: ``output(extracted_result, format,
    metadata, confidence, extraction_path)`` per item.

    The payload is tried against extractors in order: code interpreter
    output (a list of ``{format, content}`` dicts), fenced ```json blocks
    (the last block that parses wins), a JSON string, other fenced code
    blocks (``code_block_languages``), then dicts and lists as they are.

    Config:
        strategy: ``auto``, ``first_match`` and ``priority`` take the first
            extractor that succeeds; ``all`` returns every success.
        extractor_priority: extractor names to try first.
        extract_json_blocks / extract_code_blocks / parse_json_strings /
            format_interpreter_output: switch extractors off (default on).
        extract_xml_blocks / extract_yaml_blocks / parse_yaml_strings:
            switch extractors on (default off).
        return_original_on_failure: when nothing matches, emit the payload
            with format set to its type name and confidence 0 (default True);
            False raises ValueError, which fails the job.
    """

    def __init__(self) -> None:
        super().__init__()
        self.adopt_standard_calling()
